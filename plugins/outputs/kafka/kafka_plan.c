/* outputs.kafka: a batch of metrics -> Kafka messages.
 *
 * Every accepted metric is serialized once, one after the other, into one
 * reused buffer (`scratch`): no allocation per metric once the buffers have
 * grown, except a clone when exclude_topic_tag has to remove a tag from a
 * shared metric. With batch_format off a message is one metric's slice.
 * With batch_format on, metrics that share topic and key are packed in
 * batch order into messages of at most max_message_bytes (payload + key):
 * for formats whose batch form is plain concatenation (influx) a message is
 * a slice of `scratch` again; for the others (json: {"metrics":[...]}) it is
 * serialized once more with tower_serialize_batch(), its size estimated from
 * the single serializations plus the envelope, then checked. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"

/* Two distinct metrics for the layout probe. */
static int probe_metrics(tower_metric *m[2]) {
  m[0] = tower_metric_new("probe", 1000000000);
  m[1] = tower_metric_new("probe2", 2000000000);
  if (!m[0] || !m[1] || tower_metric_add_int(m[0], "a", 1) ||
      tower_metric_add_tag(m[1], "t", "v") || tower_metric_add_float(m[1], "b", 2.5))
    return -ENOMEM;
  return 0;
}

/* Learns the batch layout: concatenation when batch(a, b) equals a then b.
 * The probe first writes one metric alone, so that a format that starts
 * with a header (csv) compares rows with rows. The envelope is what a batch
 * of nothing takes ({"metrics":[]} and a newline for json). */
static int probe_layout(kafka_plan *p, tower_serializer *probe) {
  tower_metric *m[2] = {NULL, NULL};
  tower_buf *one = tower_buf_new(256), *two = tower_buf_new(256);
  int rc = (!one || !two) ? -ENOMEM : probe_metrics(m);
  const tower_metric *const *mc = (const tower_metric *const *)m;
  if (rc == 0 && tower_serialize(probe, m[0], one) == -ENOMEM)
    rc = -ENOMEM;
  if (rc == 0) {
    tower_buf_reset(one);
    if (tower_serialize_batch(probe, mc, 0, two) < 0)
      rc = -ENOMEM;
    p->envelope = tower_buf_len(two);
    tower_buf_reset(two);
  }
  if (rc == 0 && (tower_serialize(probe, m[0], one) == -ENOMEM ||
                  tower_serialize(probe, m[1], one) == -ENOMEM ||
                  tower_serialize_batch(probe, mc, 2, two) < 0))
    rc = -ENOMEM;
  if (rc == 0)
    p->concat = tower_buf_len(one) == tower_buf_len(two) &&
                memcmp(tower_buf_data(one), tower_buf_data(two), tower_buf_len(one)) == 0;
  if (p->concat)
    p->envelope = 0;
  tower_metric_free(m[0]);
  tower_metric_free(m[1]);
  tower_buf_free(one);
  tower_buf_free(two);
  return rc;
}

int kafka_plan_init(kafka_plan *p, const kafka_plan_conf *conf, tower_serializer *ser,
                    tower_serializer *probe) {
  memset(p, 0, sizeof *p);
  p->conf = *conf;
  p->ser = ser;
  p->scratch = tower_buf_new(64 * 1024);
  p->payload = tower_buf_new(conf->batch_format ? 64 * 1024 : 0);
  if (!p->scratch || !p->payload)
    return -ENOMEM;
  return probe_layout(p, probe);
}

void kafka_plan_free(kafka_plan *p) {
  kafka_plan_reset(p);
  free(p->items);
  free(p->mv);
  free(p->msgs);
  free(p->rejected);
  tower_buf_free(p->scratch);
  tower_buf_free(p->payload);
  memset(p, 0, sizeof *p);
}

void kafka_plan_reset(kafka_plan *p) {
  for (size_t i = 0; i < p->nitems; i++) {
    tower_metric_free(p->items[i].clone);
    p->items[i].clone = NULL;
  }
  p->nitems = p->nmsgs = p->nrejected = 0;
  if (p->scratch)
    tower_buf_reset(p->scratch);
  if (p->payload)
    tower_buf_reset(p->payload);
}

/* ---- helpers ------------------------------------------------------------- */

static int grow(void *pp, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return 0;
  size_t c = *cap ? *cap : 64;
  while (c < need)
    c *= 2;
  void *n = realloc(*(void **)pp, c * elem);
  if (!n)
    return -ENOMEM;
  *(void **)pp = n;
  *cap = c;
  return 0;
}

bool kafka_topic_valid(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 249 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return false;
  for (const char *c = name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
          *c == '.' || *c == '_' || *c == '-'))
      return false;
  return true;
}

const char *kafka_reject_text(kafka_reject why) {
  switch (why) {
  case KAFKA_REJECT_FORMAT:
    return "the data format cannot represent them";
  case KAFKA_REJECT_SIZE:
    return "each alone is larger than max_message_bytes";
  case KAFKA_REJECT_TOPIC:
    return "topic_tag gives a topic name Kafka does not allow";
  default:
    return "unknown";
  }
}

static int reject(kafka_plan *p, size_t index, kafka_reject why) {
  if (grow(&p->rejected, &p->rejected_cap, p->nrejected + 1, sizeof *p->rejected))
    return -ENOMEM;
  p->rejected[p->nrejected++] = (kafka_rejected){.index = index, .why = why};
  return 0;
}

const char *kafka_msg_data(const kafka_plan *p, const kafka_msg *m) {
  return tower_buf_data(m->in_payload ? p->payload : p->scratch) + m->off;
}

/* ---- routes -------------------------------------------------------------- */

/* Topic and key of `m` (Telegraf's rules): topic_tag's value, else the
 * topic; routing_tag's value, else routing_key (fixed or random), else no
 * key (librdkafka then picks a random partition). */
static void route(const kafka_plan_conf *c, const tower_metric *m, kafka_item *it) {
  const char *t = c->topic_tag ? tower_metric_tag(m, c->topic_tag) : NULL;
  it->topic = t ? t : c->topic;
  it->key = c->routing_tag ? tower_metric_tag(m, c->routing_tag) : NULL;
  it->random_key = !it->key && c->random_key;
  if (!it->key && !it->random_key)
    it->key = c->routing_key;
}

static int strcmp_null(const char *a, const char *b) {
  if (!a || !b)
    return (a != NULL) - (b != NULL);
  return strcmp(a, b);
}

/* Metrics of one route end up next to each other, in batch order. */
static int cmp_route(const void *pa, const void *pb) {
  const kafka_item *a = pa, *b = pb;
  int c = strcmp(a->topic, b->topic);
  if (!c)
    c = (int)a->random_key - (int)b->random_key;
  if (!c)
    c = strcmp_null(a->key, b->key);
  if (!c)
    c = (a->index > b->index) - (a->index < b->index);
  return c;
}

static bool same_route(const kafka_item *a, const kafka_item *b) {
  return strcmp(a->topic, b->topic) == 0 && a->random_key == b->random_key &&
         strcmp_null(a->key, b->key) == 0;
}

/* Routes every metric not skipped; topic names from topic_tag are checked
 * here (the configured topic was checked by init). */
static int collect(kafka_plan *p, const tower_metric *const *ms, size_t n, const bool *skip) {
  if (grow(&p->items, &p->items_cap, n, sizeof *p->items) ||
      grow(&p->mv, &p->mv_cap, n, sizeof *p->mv))
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    if (skip && skip[i])
      continue;
    kafka_item *it = &p->items[p->nitems];
    *it = (kafka_item){.index = i, .m = ms[i]};
    route(&p->conf, ms[i], it);
    if (it->topic != p->conf.topic && !kafka_topic_valid(it->topic)) {
      if (reject(p, i, KAFKA_REJECT_TOPIC))
        return -ENOMEM;
      continue;
    }
    p->nitems++;
  }
  bool routed = p->conf.topic_tag || p->conf.routing_tag;
  if (p->conf.batch_format && routed && p->nitems > 1)
    qsort(p->items, p->nitems, sizeof *p->items, cmp_route);
  return 0;
}

/* ---- serialization ------------------------------------------------------- */

static size_t key_len(const kafka_item *it) {
  return it->random_key ? 36 : it->key ? strlen(it->key) : 0;
}

/* The metric as it is to be written: without topic_tag when asked to
 * exclude it (a clone, since the batch's metrics are shared). */
static int view(const kafka_plan *p, kafka_item *it) {
  const char *tag = p->conf.topic_tag;
  if (!p->conf.exclude_topic_tag || !tag || !tower_metric_tag(it->m, tag))
    return 0;
  it->clone = tower_metric_clone(it->m);
  if (!it->clone || tower_metric_remove_tag(it->clone, tag))
    return -ENOMEM;
  it->m = it->clone;
  return 0;
}

/* Whether `it` fits in a message of its own: its serialization and key,
 * plus the batch envelope with batch_format on. The envelope estimate is an
 * upper bound, so when only it is in the way the real batch of one is
 * measured. */
static int alone_fits(kafka_plan *p, const kafka_item *it, bool *fits) {
  size_t room = p->conf.max_bytes, k = key_len(it);
  size_t envelope = p->conf.batch_format ? p->envelope : 0;
  *fits = k + it->len + envelope <= room;
  if (*fits || envelope == 0 || k + it->len > room)
    return 0;
  size_t mark = tower_buf_len(p->payload);
  int rc = tower_serialize_batch(p->ser, &it->m, 1, p->payload);
  *fits = rc >= 0 && k + tower_buf_len(p->payload) - mark <= room;
  tower_buf_truncate(p->payload, mark);
  return rc < 0 ? rc : 0;
}

/* Serializes `it` into scratch; drops it (rejected) when it cannot be
 * written or can never fit. Returns 1 when kept, 0 when dropped, or
 * -ENOMEM. */
static int serialize_item(kafka_plan *p, kafka_item *it) {
  int rc = view(p, it);
  if (rc)
    return rc;
  size_t mark = tower_buf_len(p->scratch);
  rc = tower_serialize(p->ser, it->m, p->scratch);
  if (rc == -ENOMEM)
    return rc;
  it->off = mark;
  it->len = tower_buf_len(p->scratch) - mark;
  bool fits = false;
  if (rc == 0 && (rc = alone_fits(p, it, &fits)) == -ENOMEM)
    return rc;
  if (rc == 0 && fits)
    return 1;
  tower_buf_truncate(p->scratch, mark);
  tower_metric_free(it->clone);
  it->clone = NULL;
  return reject(p, it->index, rc == 0 ? KAFKA_REJECT_SIZE : KAFKA_REJECT_FORMAT) ? -ENOMEM : 0;
}

/* Serializes the items in order, compacting away the rejected ones. */
static int serialize_all(kafka_plan *p) {
  size_t kept = 0;
  for (size_t i = 0; i < p->nitems; i++) {
    kafka_item it = p->items[i];
    int rc = serialize_item(p, &it);
    if (rc < 0) { /* keep its clone where reset frees it */
      p->items[kept] = it;
      p->nitems = kept + 1;
      return rc;
    }
    if (rc == 1) {
      p->items[kept] = it;
      p->mv[kept] = it.m;
      kept++;
    }
  }
  p->nitems = kept;
  return 0;
}

/* ---- messages ------------------------------------------------------------ */

static int new_msg(kafka_plan *p, size_t first, size_t count, kafka_msg **out) {
  if (grow(&p->msgs, &p->msgs_cap, p->nmsgs + 1, sizeof *p->msgs))
    return -ENOMEM;
  const kafka_item *it = &p->items[first];
  kafka_msg *m = &p->msgs[p->nmsgs++];
  *m = (kafka_msg){.topic = it->topic,
                   .key = it->random_key ? NULL : it->key,
                   .key_len = it->random_key || !it->key ? 0 : strlen(it->key),
                   .random_key = it->random_key,
                   .first = first,
                   .count = count,
                   .time_ns = INT64_MIN};
  for (size_t i = first; i < first + count; i++) {
    int64_t t = tower_metric_time(p->items[i].m);
    m->time_ns = t > m->time_ns ? t : m->time_ns;
  }
  *out = m;
  return 0;
}

/* A message made of the slices of items [first, first + count). */
static int slice_msg(kafka_plan *p, size_t first, size_t count) {
  kafka_msg *m;
  if (new_msg(p, first, count, &m))
    return -ENOMEM;
  const kafka_item *last = &p->items[first + count - 1];
  m->off = p->items[first].off;
  m->len = last->off + last->len - m->off;
  return 0;
}

/* A batch-form message of items [first, first + *count); shrinks *count
 * when the real size exceeds the estimate (never below one item, which
 * serialize_item() proved fits). */
static int envelope_msg(kafka_plan *p, size_t first, size_t *count) {
  size_t room = p->conf.max_bytes - key_len(&p->items[first]);
  size_t mark = tower_buf_len(p->payload);
  for (;;) {
    int rc = tower_serialize_batch(p->ser, p->mv + first, *count, p->payload);
    if (rc < 0)
      return rc;
    if (tower_buf_len(p->payload) - mark <= room || *count == 1)
      break;
    tower_buf_truncate(p->payload, mark);
    (*count)--;
  }
  kafka_msg *m;
  if (new_msg(p, first, *count, &m))
    return -ENOMEM;
  m->in_payload = true;
  m->off = mark;
  m->len = tower_buf_len(p->payload) - mark;
  return 0;
}

/* Packs items [first, end) (one route) into messages, greedily in order. */
static int pack_route(kafka_plan *p, size_t first, size_t end) {
  size_t base = key_len(&p->items[first]) + p->envelope;
  while (first < end) {
    size_t count = 1, size = base + p->items[first].len;
    while (first + count < end && size + p->items[first + count].len <= p->conf.max_bytes)
      size += p->items[first + count++].len;
    int rc = p->concat ? slice_msg(p, first, count) : envelope_msg(p, first, &count);
    if (rc)
      return rc;
    first += count;
  }
  return 0;
}

static int build_messages(kafka_plan *p) {
  if (!p->conf.batch_format) {
    for (size_t i = 0; i < p->nitems; i++)
      if (slice_msg(p, i, 1))
        return -ENOMEM;
    return 0;
  }
  for (size_t first = 0, end; first < p->nitems; first = end) {
    for (end = first + 1; end < p->nitems && same_route(&p->items[first], &p->items[end]); end++)
      ;
    int rc = pack_route(p, first, end);
    if (rc)
      return rc;
  }
  return 0;
}

int kafka_plan_build(kafka_plan *p, const tower_metric *const *ms, size_t n, const bool *skip) {
  kafka_plan_reset(p);
  int rc = collect(p, ms, n, skip);
  if (rc == 0)
    rc = serialize_all(p);
  if (rc == 0)
    rc = build_messages(p);
  return rc;
}
