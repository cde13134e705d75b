/* inputs.kafka_consumer: a service input that reads metrics from Kafka
 * topics with librdkafka's high-level (consumer group) consumer, like
 * Telegraf's inputs.kafka_consumer.
 *
 * This file reads the options, builds the librdkafka configuration and
 * starts and stops the consumer; kc_consume.c runs the consumer thread.
 * Decisions (README.md has them all):
 *   - at-least-once to the destinations: a message's offset is stored
 *     (enable.auto.offset.store = false) only once every output has written
 *     the metrics parsed from it (or holds them durably, or dropped them for
 *     good), in offset order per partition (kc_track.c); librdkafka commits
 *     stored offsets every auto.commit.interval.ms, when partitions are
 *     revoked, and stop() commits them once more before it leaves the group;
 *   - at most max_undelivered_messages are in flight, as in Telegraf: a
 *     dead output stalls consumption there, and Kafka keeps the backlog;
 *   - a message that cannot be parsed, or is longer than max_message_len, is
 *     logged, counted and skipped: its offset is stored like the others', so
 *     a bad message never stalls a partition;
 *   - stop() is bounded: the deliveries in flight get KC_DRAIN_MS, then
 *     the final commit and leaving the group KC_CLOSE_MS together, then the
 *     consumer is destroyed regardless.
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/kafka/kafka_common.h"
#include "../../common/plural.h"
#include "kafka_consumer.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* stop()'s budget: the messages in flight get up to KC_DRAIN_MS to be
 * delivered (the core has the outputs write while inputs stop); then, from
 * there, the final offset commit ends by KC_COMMIT_MS, leaving the group by
 * KC_CLOSE_MS, librdkafka's own shutdown is waited for until KC_STOP_MS.
 * Each takes milliseconds while the outputs write and a broker answers.
 * They are short because the agent's shutdown_timeout (10 s by default)
 * also covers the outputs' final flush, which comes after the inputs stop. */
#define KC_DRAIN_MS 3000
#define KC_COMMIT_MS 2000
#define KC_CLOSE_MS 3000
#define KC_STOP_MS 3500

static const tower_option options[] = {
    TOWER_KAFKA_OPTIONS,
    {.name = "topics",
     .type = TOWER_OPT_STRINGS,
     .default_value = "telegraf",
     .help = "topics to consume; a name starting with ^ is a regular expression"},
    {.name = "consumer_group",
     .type = TOWER_OPT_STRING,
     .default_value = "telegraf_metrics_consumers",
     .help = "consumer group (Telegraf's default, so that tower resumes where Telegraf stopped)"},
    {.name = "offset",
     .type = TOWER_OPT_ENUM,
     .default_value = "oldest",
     .choices = "oldest|newest",
     .help = "where a partition without a committed offset starts"},
    {.name = "balance_strategy",
     .type = TOWER_OPT_ENUM,
     .default_value = "range",
     .choices = "range|roundrobin|sticky",
     .help = "partition assignment strategy of the group (sticky: cooperative-sticky)"},
    {.name = "topic_tag",
     .type = TOWER_OPT_STRING,
     .help = "tag that receives the topic of each message (none when unset)"},
    {.name = "max_message_len",
     .type = TOWER_OPT_SIZE,
     .default_value = "1MB",
     .min = "0",
     .max = "1GiB",
     .help = "longer messages are errors and skipped; 0: no limit"},
    {.name = "max_undelivered_messages",
     .type = TOWER_OPT_INT,
     .default_value = "1000",
     .min = "1",
     .max = "1000000",
     .help = "messages read but not yet written by every output, at most; consumption waits "
             "there (offsets are committed only after delivery)"},
    {.name = "timestamp_source",
     .type = TOWER_OPT_ENUM,
     .default_value = "metric",
     .choices = "metric|inner",
     .help = "metric: the time in the data (else the receive time); inner: the Kafka message "
             "timestamp"},
    TOWER_OPTION_END,
};

/* ---- configuration ------------------------------------------------------ */

/* Properties the plugin sets itself: the `librdkafka` option must not
 * change them (the option to use instead, or NULL: fixed). */
static const struct {
  const char *property, *option;
} owned[] = {
    {"group.id", "consumer_group"},
    {"auto.offset.reset", "offset"},
    {"partition.assignment.strategy", "balance_strategy"},
    {"enable.auto.offset.store", NULL},
    {"enable.auto.commit", NULL},
};

static int check_owned(const kc_state *s) {
  const tower_setting *at = tower_config_setting(s->cfg, "librdkafka");
  for (size_t i = 0; i < sizeof owned / sizeof *owned; i++) {
    if (!kafka_passthrough(s->cfg, owned[i].property))
      continue;
    if (owned[i].option)
      return tower_config_error(s->cfg, at, "librdkafka property %s: set the option %s instead",
                                owned[i].property, owned[i].option);
    return tower_config_error(s->cfg, at,
                              "librdkafka property %s cannot be changed: at-least-once delivery "
                              "stores offsets only after the outputs wrote the metrics",
                              owned[i].property);
  }
  return 0;
}

static const char *strategy(const char *option) {
  if (strcmp(option, "sticky") == 0)
    return "cooperative-sticky";
  return option; /* range, roundrobin: librdkafka's names */
}

static int set_owned(kc_state *s, rd_kafka_conf_t *conf) {
  const tower_config *cfg = s->cfg;
  /* tower --test/--once must leave the group's offsets as they were. */
  const char *autocommit = tower_ctx_may_acknowledge(s->ctx) ? "true" : "false";
  bool oldest = strcmp(tower_config_string(cfg, "offset"), "oldest") == 0;
  if (kafka_conf_set(cfg, conf, "consumer_group", "group.id", s->group) ||
      kafka_conf_set(cfg, conf, "offset", "auto.offset.reset", oldest ? "earliest" : "latest") ||
      kafka_conf_set(cfg, conf, "balance_strategy", "partition.assignment.strategy",
                     strategy(tower_config_string(cfg, "balance_strategy"))) ||
      kafka_conf_set(cfg, conf, NULL, "enable.auto.offset.store", "false") ||
      kafka_conf_set(cfg, conf, NULL, "enable.auto.commit", autocommit))
    return -EINVAL;
  /* Sarama (Telegraf) commits marked offsets every second; librdkafka's
   * default is 5 s. A shorter interval means fewer messages consumed again
   * after a crash. */
  if (!kafka_passthrough(cfg, "auto.commit.interval.ms") &&
      kafka_conf_set(cfg, conf, NULL, "auto.commit.interval.ms", "1000"))
    return -EINVAL;
  /* librdkafka (before 2.1) stops fetching once 100000 messages wait in
   * the consumer's queue and resumes only about half a second after it
   * drained: a backlog of small messages then drains at ~150k/s instead of
   * ~450k/s (bench/bench_kafka_consumer). The queue's memory stays bounded
   * by queued.max.messages.kbytes (64 MB). */
  if (!kafka_passthrough(cfg, "queued.min.messages") &&
      kafka_conf_set(cfg, conf, NULL, "queued.min.messages", "1000000"))
    return -EINVAL;
  return 0;
}

static int build_conf(kc_state *s) {
  int rc = check_owned(s);
  if (rc)
    return rc;
  rd_kafka_conf_t *conf = kafka_conf_new(s->ctx, s->cfg);
  if (!conf)
    return -EINVAL;
  /* The rebalance callback needs the state, so the opaque (set per handle
   * in start) is the plugin's kc_link, and the log and error callbacks are
   * the plugin's too (they find ctx in it). */
  rd_kafka_conf_set_log_cb(conf, kc_log_cb);
  rd_kafka_conf_set_error_cb(conf, kc_error_cb);
  rd_kafka_conf_set_rebalance_cb(conf, kc_rebalance_cb);
  rc = set_owned(s, conf);
  if (rc) {
    rd_kafka_conf_destroy(conf);
    return rc;
  }
  s->conf = conf;
  return 0;
}

static int check_topics(const kc_state *s) {
  size_t n = tower_config_strings_len(s->cfg, "topics");
  if (n == 0)
    return tower_config_error(s->cfg, tower_config_setting(s->cfg, "topics"),
                              "topics is empty; give at least one topic, e.g. [\"telegraf\"]");
  for (size_t i = 0; i < n; i++)
    if (!tower_config_strings_at(s->cfg, "topics", i)[0])
      return tower_config_error(s->cfg, tower_config_setting(s->cfg, "topics"),
                                "topics[%zu] is empty", i);
  if (!s->group[0])
    return tower_config_error(s->cfg, tower_config_setting(s->cfg, "consumer_group"),
                              "consumer_group is empty; committed offsets need a group");
  if (s->topic_tag && !s->topic_tag[0])
    return tower_config_error(s->cfg, tower_config_setting(s->cfg, "topic_tag"),
                              "topic_tag is empty; remove it for no topic tag");
  return 0;
}

static void read_options(kc_state *s) {
  const tower_config *cfg = s->cfg;
  s->group = tower_config_string(cfg, "consumer_group");
  s->topic_tag = tower_config_string(cfg, "topic_tag");
  s->max_message_len = tower_config_size(cfg, "max_message_len");
  s->max_undelivered = (size_t)tower_config_int(cfg, "max_undelivered_messages");
  /* Several commits fit in the window, so that the first ones can be
   * delivered (and make room) while the last ones are read. */
  s->chunk = s->max_undelivered / 4 ? s->max_undelivered / 4 : 1;
  s->inner_time = strcmp(tower_config_string(cfg, "timestamp_source"), "inner") == 0;
  s->data_format = tower_config_string(cfg, "data_format");
  if (!s->data_format)
    s->data_format = "influx";
}

static void kc_destroy(void *state) {
  kc_state *s = state;
  if (s->conf)
    rd_kafka_conf_destroy(s->conf);
  tower_parser_free(s->parser);
  free(s);
}

static int kc_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  kc_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->cfg = cfg;
  read_options(s);
  int rc = check_topics(s);
  if (rc == 0)
    rc = build_conf(s);
  if (rc == 0)
    rc = tower_parser_new(ctx, cfg, &s->parser);
  /* json and value data carry no measurement name; Telegraf uses the
   * plugin's name. */
  if (rc == 0)
    rc = tower_parser_set_default_name(s->parser, "kafka_consumer");
  if (rc == 0)
    tower_parser_set_source_fn(s->parser, kc_source_name, s);
  if (rc) {
    kc_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

/* ---- start -------------------------------------------------------------- */

/* "a, b" into buf, for messages. */
static const char *topic_list(const kc_state *s, char *buf, size_t size) {
  size_t len = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < tower_config_strings_len(s->cfg, "topics") && len + 1 < size; i++)
    len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
                            tower_config_strings_at(s->cfg, "topics", i));
  return buf;
}

static int subscribe(kc_state *s) {
  size_t n = tower_config_strings_len(s->cfg, "topics");
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new((int)n);
  for (size_t i = 0; i < n; i++)
    rd_kafka_topic_partition_list_add(topics, tower_config_strings_at(s->cfg, "topics", i),
                                      RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(s->rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) {
    char names[512];
    tower_error(s->ctx, "cannot subscribe to %s: %s", topic_list(s, names, sizeof names),
                rd_kafka_err2str(err));
    return -EINVAL;
  }
  return 0;
}

static kc_link *link_new(kc_state *s) {
  kc_link *l = calloc(1, sizeof *l);
  if (!l)
    return NULL;
  pthread_mutex_init(&l->lock, NULL);
  pthread_cond_init(&l->done_cond, NULL);
  l->ctx = s->ctx;
  l->s = s;
  return l;
}

static void link_free(kc_link *l) {
  pthread_mutex_destroy(&l->lock);
  pthread_cond_destroy(&l->done_cond);
  free(l);
}

static int create_consumer(kc_state *s) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_dup(s->conf);
  s->link = conf ? link_new(s) : NULL;
  if (!s->link) {
    if (conf)
      rd_kafka_conf_destroy(conf);
    return -ENOMEM;
  }
  rd_kafka_conf_set_opaque(conf, s->link);
  s->rk = s->link->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!s->rk) {
    rd_kafka_conf_destroy(conf);
    link_free(s->link);
    s->link = NULL;
    tower_error(s->ctx, "cannot create the Kafka consumer: %s", err);
    return -EINVAL;
  }
  /* Client errors and other events are then served by the consumer
   * thread's rd_kafka_consumer_poll() too. */
  rd_kafka_poll_set_consumer(s->rk);
  return 0;
}

static int kc_start(void *state, tower_acc *acc) {
  kc_state *s = state;
  s->acc = acc;
  atomic_store(&s->stop, false);
  s->messages = s->skipped = s->metrics = 0;
  s->tracking = tower_ctx_may_acknowledge(s->ctx); /* not for --test/--once */
  s->batch_msgs = 0;
  s->paused = NULL;
  int rc = s->tracking ? kc_track_init(&s->track, s->ctx) : 0;
  if (rc == 0)
    rc = create_consumer(s);
  if (rc) {
    kc_track_free(&s->track);
    return rc;
  }
  rc = subscribe(s);
  if (rc == 0) {
    rc = -pthread_create(&s->thread, NULL, kc_consume_main, s);
    if (rc)
      tower_error(s->ctx, "cannot start the consumer thread: %s", strerror(-rc));
  }
  if (rc) {
    rd_kafka_destroy_flags(s->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    s->rk = NULL;
    link_free(s->link);
    s->link = NULL;
    kc_track_free(&s->track);
    return rc;
  }
  s->thread_started = true;
  char names[512], brokers[1024];
  tower_info(s->ctx, "consuming %s from %s as group %s (%s data)",
             topic_list(s, names, sizeof names), kafka_brokers(s->cfg, brokers, sizeof brokers),
             s->group, s->data_format);
  return 0;
}

/* ---- stop --------------------------------------------------------------- */

static int64_t mono_ms(void) {
  return tower_mono_ns() / 1000000;
}

static int ms_left(int64_t deadline) {
  int64_t left = deadline - mono_ms();
  return left > 0 ? (int)left : 0;
}

/* Waits for the result of an offset commit on `q`, until the deadline. */
static rd_kafka_resp_err_t commit_result(rd_kafka_queue_t *q, int64_t deadline) {
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ms_left(deadline));
  if (!ev)
    return RD_KAFKA_RESP_ERR__TIMED_OUT;
  rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
  rd_kafka_event_destroy(ev);
  return err;
}

/* Commits the stored offsets now, so that a restart resumes right after the
 * last message delivered to the outputs. */
static void commit_stored(kc_state *s, int64_t deadline) {
  rd_kafka_queue_t *q = rd_kafka_queue_new(s->rk);
  rd_kafka_resp_err_t err = rd_kafka_commit_queue(s->rk, NULL, q, NULL, NULL);
  if (!err)
    err = commit_result(q, deadline);
  rd_kafka_queue_destroy(q);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
    tower_debug(s->ctx, "offsets committed");
  else if (err != RD_KAFKA_RESP_ERR__NO_OFFSET)
    tower_warn(s->ctx,
               "could not commit the offsets of the last messages (%s); a restart consumes "
               "them again",
               rd_kafka_err2str(err));
}

/* What the close queue brings: the final revoke, which must be served for
 * the close to end, and messages fetched ahead that were never polled
 * (dropped: not delivered, so not stored, so consumed again later). The
 * queue is read as events because a callback-serving poll aborts on those
 * messages. */
static void close_event(kc_state *s, rd_kafka_event_t *ev) {
  if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
    kc_rebalance(s, s->rk, rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev));
  else if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_ERROR)
    tower_debug(s->ctx, "while closing: %s", rd_kafka_event_error_string(ev));
  rd_kafka_event_destroy(ev);
}

/* Leaves the group within the deadline. False when it did not finish. */
static bool close_consumer(kc_state *s, int64_t deadline) {
  rd_kafka_queue_t *q = rd_kafka_queue_new(s->rk);
  rd_kafka_error_t *error = rd_kafka_consumer_close_queue(s->rk, q);
  bool closed = false;
  if (error) {
    tower_warn(s->ctx, "cannot close the consumer: %s", rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  } else {
    while (!(closed = rd_kafka_consumer_closed(s->rk)) && ms_left(deadline) > 0) {
      int wait = ms_left(deadline) < KC_POLL_MS ? ms_left(deadline) : KC_POLL_MS;
      rd_kafka_event_t *ev = rd_kafka_queue_poll(q, wait);
      if (ev)
        close_event(s, ev);
    }
  }
  rd_kafka_queue_destroy(q);
  return closed;
}

/* ---- destroying the handle, bounded ------------------------------------ */

/* Keeps this plugin (and so librdkafka) loaded for good: a handle left to
 * finish in the background still runs its threads and our callbacks. */
static void pin_plugin(void) {
  Dl_info info;
  if (dladdr((void *)kc_log_cb, &info) && info.dli_fname)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

static void *destroy_main(void *arg) {
  kc_link *l = arg;
  rd_kafka_destroy_flags(l->rk, l->destroy_flags);
  pthread_mutex_lock(&l->lock);
  l->destroyed = true;
  bool orphan = l->orphan;
  pthread_cond_signal(&l->done_cond);
  pthread_mutex_unlock(&l->lock);
  if (orphan)
    link_free(l);
  return NULL;
}

/* rd_kafka_destroy() waits for the group session to end when no broker
 * answers (up to session.timeout.ms, 45 s by default). It runs on a thread
 * of its own; past the deadline the handle is left to finish there, with
 * its logs dropped, and stop() returns. */
static void destroy_handle(kc_state *s, int flags, int64_t deadline) {
  kc_link *l = s->link;
  pthread_t t;
  l->destroy_flags = flags;
  if (pthread_create(&t, NULL, destroy_main, l) != 0) {
    rd_kafka_destroy_flags(l->rk, flags);
    link_free(l);
    return;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t ns = (int64_t)ts.tv_nsec + (int64_t)ms_left(deadline) * 1000000;
  ts.tv_sec += ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  pthread_mutex_lock(&l->lock);
  while (!l->destroyed && pthread_cond_timedwait(&l->done_cond, &l->lock, &ts) == 0)
    ;
  bool done = l->destroyed;
  if (!done) {
    l->orphan = true;
    l->ctx = NULL;
  }
  pthread_mutex_unlock(&l->lock);
  if (done) {
    pthread_join(t, NULL);
    link_free(l);
    return;
  }
  pin_plugin();
  pthread_detach(t);
  tower_warn(s->ctx, "librdkafka is still shutting down (no broker answers); it finishes in the "
                     "background once session.timeout.ms has passed");
}

/* Waits, until the deadline, for the outputs to deliver what is in flight,
 * and stores the offsets they free. */
static void drain(kc_state *s, int64_t deadline) {
  static atomic_bool no_stop; /* only the deadline ends this wait */
  size_t n = kc_track_in_flight(&s->track);
  bool all = n == 0 || kc_track_wait(&s->track, 1, deadline * 1000000, &no_stop);
  kc_store_settled(s);
  if (n == 0)
    return;
  if (all) {
    tower_debug(s->ctx, "the outputs delivered the last %zu message%s", n, plural_s(n));
    return;
  }
  n = kc_track_in_flight(&s->track);
  tower_warn(s->ctx,
             "%zu message%s not yet written by the outputs after %d s; their offsets are not "
             "committed, so they are consumed again after a restart",
             n, plural_s(n), KC_DRAIN_MS / 1000);
}

static void kc_stop(void *state) {
  kc_state *s = state;
  if (!s->rk)
    return;
  atomic_store(&s->stop, true);
  if (s->tracking)
    kc_track_wake(&s->track);
  if (s->thread_started)
    pthread_join(s->thread, NULL); /* it committed its last messages */
  s->thread_started = false;
  if (s->tracking)
    drain(s, mono_ms() + KC_DRAIN_MS);
  int64_t t0 = mono_ms();
  if (s->tracking)
    commit_stored(s, t0 + KC_COMMIT_MS);
  bool closed = close_consumer(s, t0 + KC_CLOSE_MS);
  if (!closed)
    tower_warn(s->ctx,
               "the consumer did not leave group %s in time (brokers unreachable?); the group "
               "reassigns its partitions once session.timeout.ms has passed",
               s->group);
  destroy_handle(s, closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE, t0 + KC_STOP_MS);
  s->rk = NULL;
  s->link = NULL;
  kc_track_free(&s->track); /* what is still in flight stores nothing */
  s->acc = NULL;
  tower_info(s->ctx, "stopped after %llu message%s, %llu metric%s, %llu message%s skipped",
             (unsigned long long)s->messages, plural_s(s->messages), (unsigned long long)s->metrics,
             plural_s(s->metrics), (unsigned long long)s->skipped, plural_s(s->skipped));
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .flags = TOWER_PLUGIN_PARSER,
    .name = "kafka_consumer",
    .description = "read metrics from Kafka topics (consumer group, at-least-once: offsets are "
                   "committed once the outputs wrote the metrics)",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = kc_init,
    .destroy = kc_destroy,
    .start = kc_start,
    .stop = kc_stop,
};

TOWER_PLUGIN_ENTRY(plugin)
