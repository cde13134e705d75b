/* inputs.kafka_lag: how far Kafka consumer groups are behind, measured from
 * the brokers alone (no consumer of the groups runs here): per group, topic
 * and partition the committed offset, the log end offset and their
 * difference. Telegraf needs a Burrow server for this; here it is one
 * polled input on librdkafka's admin API.
 *
 * This file reads the options, builds the client and runs one gather:
 *   1. the groups (kl_groups.c): the names configured, or ListConsumerGroups
 *      filtered by the globs;
 *   2. what each group committed (ListConsumerGroupOffsets, one request per
 *      group, all in flight at once) and its state and members
 *      (DescribeConsumerGroups), together (kl_offsets.c);
 *   3. the log end offsets of all those partitions in one ListOffsets per
 *      leader broker;
 *   4. with lag_seconds, the timestamp of each group's first unconsumed
 *      message (kl_time.c);
 *   5. the metrics (kl_emit.c).
 * The whole gather is bounded by `timeout`. The client is one librdkafka
 * consumer handle without a group: it never joins nor commits for one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/kafka/kafka_common.h"
#include "kafka_lag.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

static const tower_option options[] = {
    TOWER_KAFKA_OPTIONS,
    {.name = "consumer_groups",
     .type = TOWER_OPT_STRINGS,
     .help = "consumer groups to watch (globs); every group the brokers list when unset"},
    {.name = "topics",
     .type = TOWER_OPT_STRINGS,
     .help = "topics to report (globs); every topic a group committed offsets for when unset"},
    {.name = "lag_seconds",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "also the age of each group's first unconsumed message (one fetch per lagging "
             "partition and group)"},
    {.name = "timeout",
     .type = TOWER_OPT_DURATION,
     .default_value = "5s",
     .min = "10ms",
     .max = "10m",
     .help = "how long one gather waits for the brokers"},
    TOWER_OPTION_END,
};

/* ---- configuration ------------------------------------------------------ */

/* Properties the `librdkafka` option must not set: this client only reads,
 * and must never commit offsets or join the groups it watches. */
static const struct {
  const char *property, *why;
} fixed[] = {
    {"group.id", "kafka_lag watches groups without joining one"},
    {"enable.auto.commit", "kafka_lag never commits offsets"},
    {"enable.auto.offset.store", "kafka_lag never commits offsets"},
    {"auto.offset.reset",
     "lag_seconds reads the oldest message kept when a group's offset was deleted"},
};

static int check_fixed(const kl_state *s) {
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
    if (kafka_passthrough(s->cfg, fixed[i].property))
      return tower_config_error(s->cfg, tower_config_setting(s->cfg, "librdkafka"),
                                "librdkafka property %s cannot be set: %s", fixed[i].property,
                                fixed[i].why);
  return 0;
}

/* What the plugin sets unless the `librdkafka` option does. */
static const struct {
  const char *property, *value;
} defaults[] = {
    /* the high watermark, as kafka-consumer-groups.sh and Burrow report
     * (read_committed would give the last stable offset) */
    {"isolation.level", "read_uncommitted"},
    /* lag_seconds wants one message per partition, not a prefetch */
    {"queued.min.messages", "1"},
    {"fetch.message.max.bytes", "65536"},
};

static int set_fixed(const kl_state *s, rd_kafka_conf_t *conf) {
  if (kafka_conf_set(s->cfg, conf, NULL, "enable.auto.commit", "false") ||
      kafka_conf_set(s->cfg, conf, NULL, "enable.auto.offset.store", "false") ||
      kafka_conf_set(s->cfg, conf, NULL, "auto.offset.reset", "earliest"))
    return -EINVAL;
  for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++)
    if (!kafka_passthrough(s->cfg, defaults[i].property) &&
        kafka_conf_set(s->cfg, conf, NULL, defaults[i].property, defaults[i].value))
      return -EINVAL;
  return 0;
}

static int create_client(kl_state *s) {
  int rc = check_fixed(s);
  if (rc)
    return rc;
  rd_kafka_conf_t *conf = kafka_conf_new(s->ctx, s->cfg);
  if (!conf)
    return -EINVAL;
  if (set_fixed(s, conf)) {
    rd_kafka_conf_destroy(conf);
    return -EINVAL;
  }
  if (tower_ctx_check_only(s->ctx)) { /* validated; connect to nothing */
    rd_kafka_conf_destroy(conf);
    return 0;
  }
  char err[512];
  s->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!s->rk) {
    rd_kafka_conf_destroy(conf);
    tower_error(s->ctx, "cannot create the Kafka client: %s", err);
    return -EINVAL;
  }
  return 0;
}

/* True when no entry of the STRINGS option `key` is a pattern. */
static bool names_only(const tower_config *cfg, const char *key) {
  for (size_t i = 0; i < tower_config_strings_len(cfg, key); i++)
    if (strpbrk(tower_config_strings_at(cfg, key, i), "*?[{\\"))
      return false;
  return true;
}

static int read_list(kl_state *s, const char *key, tower_globs **globs, bool *named) {
  if (!tower_config_isset(s->cfg, key))
    return 0;
  if (tower_config_strings_len(s->cfg, key) == 0)
    return tower_config_error(s->cfg, tower_config_setting(s->cfg, key),
                              "%s is empty; remove it to watch every one", key);
  for (size_t i = 0; i < tower_config_strings_len(s->cfg, key); i++)
    if (!tower_config_strings_at(s->cfg, key, i)[0])
      return tower_config_error(s->cfg, tower_config_setting(s->cfg, key), "%s[%zu] is empty", key,
                                i);
  *named = names_only(s->cfg, key);
  return tower_globs_from_config(s->cfg, key, globs);
}

static void kl_destroy(void *state) {
  kl_state *s = state;
  if (s->rk)
    rd_kafka_destroy(s->rk);
  if (s->wanted)
    rd_kafka_topic_partition_list_destroy(s->wanted);
  tower_globs_free(s->group_globs);
  tower_globs_free(s->topic_globs);
  free(s->groups);
  free(s->entries);
  free(s->events);
  free(s);
}

static int kl_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  kl_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->cfg = cfg;
  s->lag_seconds = tower_config_bool(cfg, "lag_seconds");
  s->timeout_ns = tower_config_duration(cfg, "timeout");
  int rc = read_list(s, "consumer_groups", &s->group_globs, &s->groups_named);
  if (rc == 0)
    rc = read_list(s, "topics", &s->topic_globs, &s->topics_named);
  if (rc == 0)
    rc = create_client(s);
  if (rc) {
    kl_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

/* ---- one gather --------------------------------------------------------- */

int kl_ms_left(int64_t deadline) {
  int64_t ms = (deadline - tower_mono_ns()) / 1000000;
  return ms < 1 ? 1 : ms > 3600000 ? 3600000 : (int)ms;
}

int kl_keep_event(kl_state *s, rd_kafka_event_t *ev) {
  if (s->nevents == s->events_cap) {
    size_t cap = s->events_cap ? 2 * s->events_cap : 16;
    rd_kafka_event_t **e = realloc(s->events, cap * sizeof *e);
    if (!e) {
      rd_kafka_event_destroy(ev);
      return -ENOMEM;
    }
    s->events = e;
    s->events_cap = cap;
  }
  s->events[s->nevents++] = ev;
  return 0;
}

rd_kafka_AdminOptions_t *kl_admin_options(kl_state *s, rd_kafka_admin_op_t op, int64_t deadline) {
  char err[256];
  rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(s->rk, op);
  if (o && rd_kafka_AdminOptions_set_request_timeout(o, kl_ms_left(deadline), err, sizeof err))
    tower_debug(s->ctx, "admin request timeout: %s", err);
  return o;
}

rd_kafka_event_t *kl_admin_wait(kl_state *s, tower_acc *acc, rd_kafka_queue_t *q, int64_t deadline,
                                const char *what) {
  rd_kafka_event_t *ev = NULL;
  while (!ev && tower_mono_ns() < deadline && !tower_ctx_stopping(s->ctx))
    ev = rd_kafka_queue_poll(q, kl_ms_left(deadline) < 100 ? kl_ms_left(deadline) : 100);
  if (!ev)
    tower_acc_error(acc, "%s: no answer from the brokers within the timeout (%lld ms)", what,
                    (long long)(s->timeout_ns / 1000000));
  return ev;
}

/* Forgets the last gather: its events, and the names borrowed from them. */
static void reset(kl_state *s) {
  for (size_t i = 0; i < s->nevents; i++)
    rd_kafka_event_destroy(s->events[i]);
  s->nevents = s->ngroups = s->nentries = 0;
}

static int kl_gather(void *state, tower_acc *acc) {
  kl_state *s = state;
  int64_t deadline = tower_mono_ns() + s->timeout_ns;
  rd_kafka_poll(s->rk, 0); /* client errors since the last gather, to the log */
  int rc = kl_groups_find(s, acc, deadline);
  if (rc == 0 && s->ngroups && s->topics_named)
    rc = kl_offsets_topics(s, acc, deadline);
  if (rc == 0 && s->ngroups)
    rc = kl_offsets_committed(s, acc, deadline);
  if (rc == 0 && s->nentries)
    rc = kl_offsets_end(s, acc, deadline);
  if (rc == 0 && s->nentries && s->lag_seconds)
    kl_time_first(s, deadline);
  if (rc == 0)
    kl_emit(s, acc);
  reset(s);
  return rc;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "kafka_lag",
    .description = "lag of Kafka consumer groups: committed offsets against log end offsets, "
                   "per group, topic and partition",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = kl_init,
    .destroy = kl_destroy,
    .gather = kl_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
