/* outputs.kafka: metrics to Kafka topics, like Telegraf's kafka output but
 * on librdkafka, with delivery reports deciding what the core hears. See
 * README.md for the behaviour and why; kafka.h for the files.
 *
 * This file: the options, init/destroy, and write(): plan the batch,
 * produce it, then read the delivery reports:
 *  - every message acknowledged (or refused for good) -> TOWER_WRITE_OK,
 *    refused metrics counted as rejected;
 *  - anything else -> TOWER_WRITE_RETRY: the core keeps the batch. The
 *    metrics already acknowledged are remembered (a reference each) and
 *    left out when the core hands the same metrics again, so one failed
 *    message does not send its whole batch twice. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/plural.h"
#include "kafka_common.h"
#include "kafka_produce.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* write() waits this much past write_timeout (message.timeout.ms) for the
 * reports of messages that timed out, before purging them. */
#define REPORT_SLACK_NS 500000000LL

static const tower_option options[] = {
    TOWER_KAFKA_OPTIONS,
    {.name = "topic",
     .type = TOWER_OPT_STRING,
     .default_value = "telegraf",
     .help = "topic of the messages (Telegraf's default, so that existing consumers keep "
             "working)"},
    {.name = "topic_tag",
     .type = TOWER_OPT_STRING,
     .help = "a tag whose value is the topic of the metric's message (metrics without it go "
             "to `topic`)"},
    {.name = "exclude_topic_tag",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "leave topic_tag out of the written metric"},
    {.name = "routing_tag",
     .type = TOWER_OPT_STRING,
     .help = "a tag whose value is the message key (which picks the partition)"},
    {.name = "routing_key",
     .type = TOWER_OPT_STRING,
     .help = "message key when routing_tag is unset or absent; \"random\": a new UUID per "
             "message; unset: no key (a random partition)"},
    {.name = "batch_format",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "several metrics per message (same topic and key), each message at most "
             "max_message_bytes; false: one metric per message, as Telegraf"},
    {.name = "max_message_bytes",
     .type = TOWER_OPT_SIZE,
     .default_value = "1000000",
     .min = "64",
     .max = "100000000",
     .help = "largest message (payload + key); keep it at or below the broker's "
             "message.max.bytes"},
    {.name = "compression_codec",
     .type = TOWER_OPT_ANY,
     .help = "compression_codec = \"none\" (default), \"gzip\", \"snappy\", \"lz4\" or \"zstd\"; "
             "Telegraf's numbers 0..4 work too"},
    {.name = "required_acks",
     .type = TOWER_OPT_ANY,
     .help = "required_acks = \"all\" (default; or -1): every in-sync replica has the message; "
             "1: the leader has it; 0: no acknowledgement (at most once)"},
    {.name = "idempotent_writes",
     .type = TOWER_OPT_BOOL,
     .default_value = "true",
     .help = "idempotent producer: librdkafka's own retries never duplicate or reorder "
             "(needs required_acks = \"all\")"},
    {.name = "max_retry",
     .type = TOWER_OPT_INT,
     .default_value = "-1",
     .min = "-1",
     .max = "2147483647",
     .help = "librdkafka's retries of a message within write_timeout (-1: as many as fit)"},
    {.name = "write_timeout",
     .type = TOWER_OPT_DURATION,
     .default_value = "10s",
     .min = "100ms",
     .max = "1h",
     .help = "how long a write waits for every message to be acknowledged before the batch "
             "is retried (message.timeout.ms)"},
    {.name = "producer_timestamp",
     .type = TOWER_OPT_ENUM,
     .default_value = "metric",
     .choices = "metric|now",
     .help = "Kafka timestamp of a message: the (newest) metric's time or the time of sending"},
    TOWER_OPTION_END,
};

/* A metric of the batch being retried that needs no more sending. */
typedef struct done_entry {
  const tower_metric *m; /* a reference of ours */
  bool rejected;         /* refused for good (counted when the batch ends), else delivered */
  bool seen;             /* in the current batch */
} done_entry;

typedef struct kafka_state {
  tower_ctx *ctx;
  const tower_config *cfg;
  tower_serializer *ser;
  kafka_plan plan;
  kafka_producer prod;
  int64_t write_timeout;
  bool plan_ok, prod_ok;

  /* per write, reused */
  const tower_metric **ms;
  bool *skip;
  size_t ms_cap;
  done_entry *done; /* sorted by metric address */
  size_t ndone, done_cap;
  uint64_t late_logged;
} kafka_state;

/* ---- options -------------------------------------------------------------- */

static const char *nonempty(const tower_config *cfg, const char *key) {
  const char *v = tower_config_string(cfg, key);
  return v && *v ? v : NULL;
}

/* Telegraf writes numbers (0..4); names read better. */
static int parse_codec(const tower_config *cfg, const char **out) {
  static const char *const names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  const tower_setting *s = tower_config_setting(cfg, "compression_codec");
  *out = names[0];
  if (!s)
    return 0;
  tower_setting_type k = tower_setting_kind(s);
  for (int64_t i = 0; i < 5; i++)
    if ((k == TOWER_SETTING_INT && tower_setting_int(s) == i) ||
        (k == TOWER_SETTING_STRING && strcmp(tower_setting_string(s), names[i]) == 0)) {
      *out = names[i];
      return 0;
    }
  return tower_config_error(cfg, s,
                            "compression_codec must be \"none\", \"gzip\", \"snappy\", \"lz4\", "
                            "\"zstd\" or one of Telegraf's numbers 0..4 (in that order)");
}

/* Telegraf writes -1, 1 or 0; "all" reads better. */
static int parse_acks(const tower_config *cfg, const char **out) {
  const tower_setting *s = tower_config_setting(cfg, "required_acks");
  *out = "all";
  if (!s)
    return 0;
  tower_setting_type k = tower_setting_kind(s);
  const char *v = k == TOWER_SETTING_STRING ? tower_setting_string(s) : NULL;
  int64_t n = k == TOWER_SETTING_INT ? tower_setting_int(s) : 2;
  if (n == -1 || (v && (strcmp(v, "all") == 0 || strcmp(v, "-1") == 0)))
    return 0;
  if (n == 1 || n == 0 || (v && (strcmp(v, "1") == 0 || strcmp(v, "0") == 0))) {
    *out = (n == 1 || (v && *v == '1')) ? "1" : "0";
    return 0;
  }
  return tower_config_error(cfg, s, "required_acks must be \"all\" (or -1), 1 or 0");
}

/* The idempotent producer needs acks from every in-sync replica and
 * retries. An explicit conflict is an error; the default gives way to an
 * explicit required_acks = 1 or 0 (with a note in the log). */
static int check_idempotence(tower_ctx *ctx, const tower_config *cfg, kafka_settings *set) {
  const char *forced = kafka_passthrough(cfg, "enable.idempotence");
  set->idempotent =
      forced ? strcmp(forced, "true") == 0 : tower_config_bool(cfg, "idempotent_writes");
  if (!set->idempotent || forced)
    return 0;
  if (strcmp(set->acks, "all") != 0) {
    if (tower_config_isset(cfg, "idempotent_writes"))
      return tower_config_error(cfg, tower_config_setting(cfg, "required_acks"),
                                "idempotent_writes = true needs required_acks = \"all\": set "
                                "required_acks = \"all\", or idempotent_writes = false to keep "
                                "required_acks = %s",
                                set->acks);
    tower_info(ctx, "required_acks = %s: idempotent writes are off (they need \"all\")", set->acks);
    set->idempotent = false;
  } else if (set->max_retry == 0) {
    return tower_config_error(cfg, tower_config_setting(cfg, "max_retry"),
                              "max_retry = 0 is not possible with idempotent writes (librdkafka "
                              "needs retries): set max_retry to -1 or idempotent_writes = false");
  }
  return 0;
}

static int read_settings(tower_ctx *ctx, const tower_config *cfg, kafka_settings *set) {
  *set = (kafka_settings){
      .max_retry = tower_config_int(cfg, "max_retry"),
      .write_timeout_ns = tower_config_duration(cfg, "write_timeout"),
      .max_message_bytes = (size_t)tower_config_size(cfg, "max_message_bytes"),
      .metric_time = strcmp(tower_config_string(cfg, "producer_timestamp"), "metric") == 0,
  };
  int rc = parse_codec(cfg, &set->codec);
  if (!rc)
    rc = parse_acks(cfg, &set->acks);
  if (!rc)
    rc = check_idempotence(ctx, cfg, set);
  return rc;
}

static int read_plan_conf(tower_ctx *ctx, const tower_config *cfg, kafka_plan_conf *pc) {
  const char *key = nonempty(cfg, "routing_key");
  *pc = (kafka_plan_conf){
      .topic = tower_config_string(cfg, "topic"),
      .topic_tag = nonempty(cfg, "topic_tag"),
      .exclude_topic_tag = tower_config_bool(cfg, "exclude_topic_tag"),
      .routing_tag = nonempty(cfg, "routing_tag"),
      .random_key = key && strcmp(key, "random") == 0,
      .batch_format = tower_config_bool(cfg, "batch_format"),
      .max_bytes = (size_t)tower_config_size(cfg, "max_message_bytes"),
  };
  pc->routing_key = pc->random_key ? NULL : key;
  if (!kafka_topic_valid(pc->topic))
    return tower_config_error(cfg, tower_config_setting(cfg, "topic"),
                              "topic \"%s\" is not a Kafka topic name: 1 to 249 characters "
                              "among a-z A-Z 0-9 . _ -",
                              pc->topic);
  if (pc->exclude_topic_tag && !pc->topic_tag)
    tower_warn(ctx, "exclude_topic_tag is set without topic_tag: it has no effect");
  size_t klen = pc->routing_key ? strlen(pc->routing_key) : pc->random_key ? 36 : 0;
  if (klen >= pc->max_bytes)
    return tower_config_error(cfg, tower_config_setting(cfg, "routing_key"),
                              "routing_key takes %zu byte%s, max_message_bytes leaves no room for "
                              "a payload",
                              klen, plural_s(klen));
  return 0;
}

/* ---- init / destroy ------------------------------------------------------- */

static void kafka_destroy(void *state) {
  kafka_state *s = state;
  if (s->prod_ok)
    kafka_producer_close(&s->prod, 5000);
  if (s->plan_ok)
    kafka_plan_free(&s->plan);
  tower_serializer_free(s->ser);
  for (size_t i = 0; i < s->ndone; i++)
    tower_metric_release(s->done[i].m);
  free(s->done);
  free(s->ms);
  free(s->skip);
  free(s);
}

static int make_plan(kafka_state *s, const kafka_plan_conf *pc) {
  tower_serializer *probe = NULL;
  int rc = tower_serializer_new(s->ctx, s->cfg, &s->ser);
  if (!rc)
    rc = tower_serializer_new(s->ctx, s->cfg, &probe);
  if (!rc) {
    rc = kafka_plan_init(&s->plan, pc, s->ser, probe);
    s->plan_ok = true; /* kafka_plan_free() copes with a partial init */
  }
  tower_serializer_free(probe);
  return rc;
}

static void log_started(const kafka_state *s, const kafka_settings *set) {
  const kafka_plan_conf *pc = &s->plan.conf;
  char tag[160] = "";
  if (pc->topic_tag)
    snprintf(tag, sizeof tag, " (or tag %s's value)", pc->topic_tag);
  tower_info(
      s->ctx, "producing to topic %s%s on %s: acks=%s, %s, compression %s, %s, write_timeout %gs",
      pc->topic, tag, s->prod.brokers, set->acks, set->idempotent ? "idempotent" : "not idempotent",
      set->codec, pc->batch_format ? "several metrics per message" : "one metric per message",
      (double)set->write_timeout_ns / 1e9);
}

static int kafka_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  kafka_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->cfg = cfg;
  kafka_settings set;
  kafka_plan_conf pc;
  int rc = read_settings(ctx, cfg, &set);
  if (!rc)
    rc = read_plan_conf(ctx, cfg, &pc);
  if (!rc)
    rc = make_plan(s, &pc);
  if (!rc) {
    rc = kafka_producer_open(&s->prod, ctx, cfg, &set);
    s->prod_ok = rc == 0;
  }
  if (rc) {
    kafka_destroy(s);
    return rc;
  }
  s->write_timeout = set.write_timeout_ns;
  log_started(s, &set);
  *state = s;
  return 0;
}

/* ---- what was done already ------------------------------------------------ */

static int cmp_done(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)((const done_entry *)a)->m, y = (uintptr_t)((const done_entry *)b)->m;
  return (x > y) - (x < y);
}

/* Marks skip[i] for the batch's metrics that need no more sending and
 * returns how many of them were refused for good (to be counted when the
 * batch ends). Entries for metrics no longer in the batch are let go: the
 * core dropped them (its buffer overflowed meanwhile). */
static uint64_t done_match(kafka_state *s, size_t n) {
  memset(s->skip, 0, n * sizeof *s->skip);
  if (!s->ndone)
    return 0;
  uint64_t rejected = 0;
  for (size_t i = 0; i < n; i++) {
    done_entry key = {.m = s->ms[i]};
    done_entry *e = bsearch(&key, s->done, s->ndone, sizeof *s->done, cmp_done);
    if (e) {
      e->seen = s->skip[i] = true;
      rejected += e->rejected;
    }
  }
  size_t kept = 0;
  for (size_t i = 0; i < s->ndone; i++) {
    if (!s->done[i].seen) {
      tower_metric_release(s->done[i].m);
      continue;
    }
    s->done[i].seen = false;
    s->done[kept++] = s->done[i];
  }
  s->ndone = kept;
  return rejected;
}

static void done_clear(kafka_state *s) {
  for (size_t i = 0; i < s->ndone; i++)
    tower_metric_release(s->done[i].m);
  s->ndone = 0;
}

static int done_add(kafka_state *s, size_t index, bool rejected) {
  if (s->ndone == s->done_cap) {
    size_t cap = s->done_cap ? s->done_cap * 2 : 256;
    done_entry *d = realloc(s->done, cap * sizeof *d);
    if (!d)
      return -ENOMEM;
    s->done = d;
    s->done_cap = cap;
  }
  s->done[s->ndone++] = (done_entry){.m = tower_metric_retain(s->ms[index]), .rejected = rejected};
  return 0;
}

/* ---- delivery reports ----------------------------------------------------- */

typedef struct outcome {
  size_t failed, failed_metrics, maybe_written; /* messages / metrics to retry */
  const kafka_msg *first_failure;
  size_t refused, refused_metrics; /* messages / metrics refused for good */
  const kafka_msg *first_refusal;
} outcome;

/* Errors after which this message can never be written: retrying it would
 * block the output forever. Topic errors count only for topics taken from
 * topic_tag; for the configured topic every metric would be refused, so the
 * batch is retried until the operator creates the topic or grants access. */
static bool refused_for_good(const kafka_state *s, const kafka_msg *m) {
  switch ((int)m->err) {
  case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
  case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
  case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
  case RD_KAFKA_RESP_ERR_INVALID_RECORD:
  case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
    return true;
  case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
  case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
  case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
  case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    return m->topic != s->plan.conf.topic;
  default:
    return false;
  }
}

static outcome read_reports(const kafka_state *s) {
  outcome o = {0};
  for (size_t i = 0; i < s->plan.nmsgs; i++) {
    const kafka_msg *m = &s->plan.msgs[i];
    if (!m->err)
      continue;
    if (refused_for_good(s, m)) {
      o.refused++;
      o.refused_metrics += m->count;
      o.first_refusal = o.first_refusal ? o.first_refusal : m;
      continue;
    }
    o.failed++;
    o.failed_metrics += m->count;
    o.maybe_written += m->possibly_persisted;
    o.first_failure = o.first_failure ? o.first_failure : m;
  }
  return o;
}

/* What to do about an error, for the log. */
static const char *advice(const kafka_state *s, int err) {
  switch (err) {
  case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
  case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    return "the topic does not exist and the brokers do not create it: create it, or fix "
           "`topic`";
  case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    return "grant this client Write on the topic (ACL), or fix `topic` / the SASL user";
  case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    return s->prod.set.idempotent ? "grant this client IdempotentWrite on the cluster, or set "
                                    "idempotent_writes = false"
                                  : "grant this client access to the cluster";
  case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
  case RD_KAFKA_RESP_ERR__TIMED_OUT:
  case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
  case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    return "no acknowledgement within write_timeout: are the brokers up and reachable?";
  case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    return "librdkafka's queue stayed full: lower metric_batch_size or raise "
           "librdkafka.queue_buffering_max_messages";
  default:
    return "librdkafka retries by itself; the core retries the batch";
  }
}

static void log_failure(const kafka_state *s, const outcome *o) {
  const kafka_msg *m = o->first_failure;
  tower_error(s->ctx,
              "%zu of %zu message%s (%zu metric%s) to %s %s not acknowledged: %s (%s) on topic "
              "\"%s\"; %s",
              o->failed, s->plan.nmsgs, plural_s(s->plan.nmsgs), o->failed_metrics,
              plural_s(o->failed_metrics), s->prod.brokers, o->failed == 1 ? "was" : "were",
              rd_kafka_err2str(m->err), rd_kafka_err2name(m->err), m->topic, advice(s, m->err));
  if (o->maybe_written)
    tower_warn(s->ctx,
               "%zu of the unacknowledged messages may have been written (their acknowledgement "
               "was lost): sending them again may duplicate them (at-least-once)",
               o->maybe_written);
}

/* What to do about a message refused for good. */
static const char *refusal_advice(int err) {
  switch (err) {
  case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
  case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    return "lower max_message_bytes to the broker's message.max.bytes";
  case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
  case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
  case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    return "the topic comes from topic_tag: create it, or fix the tag's values";
  case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    return "the topic comes from topic_tag: grant this client Write on it";
  default:
    return "the broker will never accept them";
  }
}

static void log_refusal(const kafka_state *s, const outcome *o) {
  const kafka_msg *m = o->first_refusal;
  tower_error(s->ctx,
              "%zu metric%s dropped: %zu message%s can never be written: %s (%s) on topic "
              "\"%s\"; %s",
              o->refused_metrics, plural_s(o->refused_metrics), o->refused, plural_s(o->refused),
              rd_kafka_err2str(m->err), rd_kafka_err2name(m->err), m->topic,
              refusal_advice(m->err));
}

static void log_plan_rejections(const kafka_state *s) {
  size_t count[KAFKA_REJECT_COUNT] = {0}, first[KAFKA_REJECT_COUNT];
  for (size_t i = s->plan.nrejected; i-- > 0;) {
    count[s->plan.rejected[i].why]++;
    first[s->plan.rejected[i].why] = s->plan.rejected[i].index;
  }
  for (int r = 0; r < KAFKA_REJECT_COUNT; r++)
    if (count[r])
      tower_error(s->ctx, "%zu metric%s dropped: %s (the first: %s)", count[r], plural_s(count[r]),
                  kafka_reject_text((kafka_reject)r), tower_metric_name(s->ms[first[r]]));
}

/* The batch is retried: remember what needs no more sending. */
static void remember(kafka_state *s) {
  const kafka_plan *p = &s->plan;
  int rc = 0;
  for (size_t i = 0; i < p->nrejected && !rc; i++)
    rc = done_add(s, p->rejected[i].index, true);
  for (size_t i = 0; i < p->nmsgs && !rc; i++) {
    const kafka_msg *m = &p->msgs[i];
    bool refused = m->err && refused_for_good(s, m);
    if (m->err && !refused)
      continue;
    for (size_t k = m->first; k < m->first + m->count && !rc; k++)
      rc = done_add(s, p->items[k].index, refused);
  }
  if (rc) /* short of memory: the retry may send some metrics twice */
    tower_warn(s->ctx, "out of memory remembering the delivered metrics of a failed batch");
  if (s->ndone > 1)
    qsort(s->done, s->ndone, sizeof *s->done, cmp_done);
}

/* ---- write ------------------------------------------------------------------ */

static int load_batch(kafka_state *s, const tower_batch *b, size_t n) {
  if (n > s->ms_cap) {
    const tower_metric **ms = realloc(s->ms, n * sizeof *ms);
    if (ms)
      s->ms = ms;
    bool *skip = realloc(s->skip, n * sizeof *skip);
    if (skip)
      s->skip = skip;
    if (!ms || !skip)
      return -ENOMEM;
    s->ms_cap = n;
  }
  for (size_t i = 0; i < n; i++)
    s->ms[i] = tower_batch_at(b, i);
  return 0;
}

static void log_late(kafka_state *s) {
  uint64_t late = s->prod.late_delivered;
  if (late == s->late_logged)
    return;
  unsigned long long n = late - s->late_logged;
  tower_warn(s->ctx,
             "%llu message%s given up on by an earlier write %s delivered after all: %s "
             "metrics were sent again (duplicates, at-least-once)",
             n, plural_s(n), n == 1 ? "was" : "were", n == 1 ? "its" : "their");
  s->late_logged = late;
}

static tower_write_result kafka_write(void *state, const tower_batch *b) {
  kafka_state *s = state;
  size_t n = tower_batch_len(b);
  int64_t deadline = tower_mono_ns() + s->write_timeout + REPORT_SLACK_NS;
  if (n == 0)
    return TOWER_WRITE_OK;
  if (load_batch(s, b, n)) {
    tower_error(s->ctx, "out of memory preparing %zu metric%s; retrying", n, plural_s(n));
    return TOWER_WRITE_RETRY;
  }
  uint64_t carried = done_match(s, n);
  if (kafka_plan_build(&s->plan, s->ms, n, s->skip)) {
    tower_error(s->ctx, "out of memory preparing %zu metric%s; retrying", n, plural_s(n));
    kafka_plan_reset(&s->plan);
    return TOWER_WRITE_RETRY;
  }
  log_plan_rejections(s);
  kafka_producer_send(&s->prod, &s->plan, deadline);
  log_late(s);
  outcome o = read_reports(s);
  if (o.refused)
    log_refusal(s, &o);
  if (o.failed) {
    log_failure(s, &o);
    remember(s);
    kafka_plan_reset(&s->plan);
    return TOWER_WRITE_RETRY;
  }
  tower_ctx_count_rejected(s->ctx, carried + s->plan.nrejected + o.refused_metrics);
  done_clear(s);
  kafka_plan_reset(&s->plan);
  return TOWER_WRITE_OK;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_OUTPUT),
    .flags = TOWER_PLUGIN_SERIALIZER,
    .name = "kafka",
    .description = "metrics to Kafka topics (librdkafka producer)",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = kafka_init,
    .destroy = kafka_destroy,
    .write = kafka_write,
};

TOWER_PLUGIN_ENTRY(plugin)
