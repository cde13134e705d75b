/* inputs.kafka_lag: lag_seconds, the age of each group's first unconsumed
 * message.
 *
 * Kafka has no request that gives the timestamp of the message at an
 * offset: it takes a fetch. For every partition on which some group lags,
 * the client (a consumer without a group, through librdkafka's
 * partition-level consumer API, which needs no group.id) starts reading at
 * the lowest such committed offset and takes the first message at or past
 * it; the next group's offset on that partition is read on from there,
 * or sought to when it is far ahead. queued.min.messages = 1 and
 * fetch.message.max.bytes = 64 KiB keep each read to about one record
 * batch. So the cost is one fetch per lagging (group, partition) with
 * distinct offsets, and is paid only when lag_seconds is on.
 *
 * The first message at or past a committed offset is the one the group
 * reads next, even when compaction or transaction markers leave gaps; a
 * committed offset older than the log's start (deleted by retention) reads
 * the oldest message kept (auto.offset.reset = earliest). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_lag.h"

/* Past this many messages ahead, the next offset is sought to rather than
 * read up to. */
#define KL_SEEK_GAP 500

/* One partition being read: its entries are s->entries[next..end) (by
 * committed offset), those with lag only. */
typedef struct kl_read {
  rd_kafka_topic_t *rkt;
  const char *topic;
  int32_t partition;
  size_t next, end;
  bool started, done;
} kl_read;

static bool lags(const kl_entry *e) {
  return e->end > e->committed;
}

/* The next lagging entry of r from index i, or r->end. */
static size_t next_lagging(const kl_state *s, const kl_read *r, size_t i) {
  while (i < r->end && !lags(&s->entries[i]))
    i++;
  return i;
}

/* One kl_read per partition with lagging entries (entries sorted by
 * kl_offsets_end); returns how many, or -1 when out of memory. */
static long plan(kl_state *s, kl_read **out) {
  kl_read *reads = NULL;
  size_t n = 0, cap = 0;
  for (size_t i = 0, j; i < s->nentries; i = j) {
    const kl_entry *e = &s->entries[i];
    for (j = i + 1; j < s->nentries && s->entries[j].partition == e->partition &&
                    strcmp(s->entries[j].topic, e->topic) == 0;
         j++)
      ;
    kl_read r = {.topic = e->topic, .partition = e->partition, .end = j};
    r.next = next_lagging(s, &r, i);
    if (r.next == j)
      continue; /* nobody lags here */
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      kl_read *more = realloc(reads, cap * sizeof *more);
      if (!more) {
        free(reads);
        return -1;
      }
      reads = more;
    }
    reads[n++] = r;
  }
  *out = reads;
  return (long)n;
}

static int start(kl_state *s, kl_read *r, rd_kafka_queue_t *q) {
  r->rkt = rd_kafka_topic_new(s->rk, r->topic, NULL);
  if (!r->rkt)
    return -EINVAL;
  if (rd_kafka_consume_start_queue(r->rkt, r->partition, s->entries[r->next].committed, q) == -1)
    return -EINVAL;
  r->started = true;
  return 0;
}

static void stop(kl_read *r) {
  if (r->started)
    rd_kafka_consume_stop(r->rkt, r->partition);
  r->started = false;
  r->done = true;
}

static int by_topic_partition(const void *key, const void *elem) {
  const kl_read *k = key, *r = elem;
  int c = strcmp(k->topic, r->topic);
  return c ? c : (k->partition > r->partition) - (k->partition < r->partition);
}

/* A message of r: the entries whose first unconsumed message it is. */
static void on_message(kl_state *s, kl_read *r, const rd_kafka_message_t *m) {
  int64_t ts = rd_kafka_message_timestamp(m, NULL);
  while (r->next < r->end && s->entries[r->next].committed <= m->offset) {
    s->entries[r->next].first_ms = ts; /* -1 when the broker keeps none */
    r->next = next_lagging(s, r, r->next + 1);
  }
  if (r->next == r->end)
    stop(r);
  else if (s->entries[r->next].committed - m->offset > KL_SEEK_GAP)
    rd_kafka_seek(r->rkt, r->partition, s->entries[r->next].committed, 0);
}

/* Reads until every partition is done or the deadline; returns how many
 * are not done. */
static size_t read_all(kl_state *s, kl_read *reads, size_t n, rd_kafka_queue_t *q, int64_t deadline,
                       size_t open) {
  while (open && tower_mono_ns() < deadline && !tower_ctx_stopping(s->ctx)) {
    int wait = kl_ms_left(deadline);
    rd_kafka_message_t *m = rd_kafka_consume_queue(q, wait < 100 ? wait : 100);
    if (!m)
      continue;
    kl_read key = {.topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "", .partition = m->partition};
    kl_read *r = bsearch(&key, reads, n, sizeof *reads, by_topic_partition);
    if (r && !r->done && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      on_message(s, r, m);
      open -= r->done;
    } else if (r && !r->done && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      tower_debug(s->ctx, "lag_seconds: %s[%d]: %s", r->topic, (int)r->partition,
                  rd_kafka_message_errstr(m));
      stop(r);
      open--;
    }
    rd_kafka_message_destroy(m);
  }
  return open;
}

void kl_time_first(kl_state *s, int64_t deadline) {
  kl_read *reads = NULL;
  long n = plan(s, &reads);
  rd_kafka_queue_t *q = n > 0 ? rd_kafka_queue_new(s->rk) : NULL;
  size_t open = 0;
  for (long i = 0; q && i < n; i++) {
    if (start(s, &reads[i], q) == 0)
      open++;
    else
      tower_debug(s->ctx, "lag_seconds: cannot read %s[%d]: %s", reads[i].topic,
                  (int)reads[i].partition, rd_kafka_err2str(rd_kafka_last_error()));
  }
  open = q ? read_all(s, reads, (size_t)n, q, deadline, open) : 0;
  for (long i = 0; i < n; i++) {
    stop(&reads[i]);
    if (reads[i].rkt)
      rd_kafka_topic_destroy(reads[i].rkt);
  }
  if (q)
    rd_kafka_queue_destroy(q);
  if (open)
    tower_warn(s->ctx,
               "lag_seconds: no message read from %zu of %ld partition%s within the timeout; "
               "their lag_seconds is left out",
               open, n, n == 1 ? "" : "s");
  free(reads);
}
