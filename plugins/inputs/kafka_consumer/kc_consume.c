/* inputs.kafka_consumer: the consumer thread.
 *
 * Messages are polled and parsed into the accumulator one by one, and
 * handed to the core in commits of up to `chunk` messages, or as soon as
 * librdkafka has no further message ready. Each commit is tracked
 * (tower_acc_commit_tracked): once every output has written its metrics
 * (or holds them in a disk buffer that syncs at commit, or dropped them for
 * good), its messages are settled, and each partition stores the offset
 * below which all its messages are settled (kc_track.c). librdkafka commits
 * stored offsets in the background (auto commit), when partitions are
 * revoked, and at close. So a message is never committed before the
 * outputs have its metrics: a crash at any point means messages consumed
 * again, never messages skipped in Kafka.
 *
 * At most max_undelivered_messages are in flight. When the window is full
 * the thread sleeps on the tracker's condition, which deliveries signal;
 * if that lasts KC_PAUSE_MS, it pauses its partitions and wakes every
 * KC_POLL_MS to serve the group (rebalances, max.poll.interval.ms) until
 * there is room again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../../common/kafka/kafka_common.h"
#include "../../common/plural.h"
#include "kafka_consumer.h"

/* A full window waits this long before the partitions are paused (a pause
 * drops what librdkafka prefetched: it is fetched again on resume). */
#define KC_PAUSE_MS 500
/* A pause this long is logged: consumption has stalled on the outputs. */
#define KC_STALL_WARN_MS 10000

/* ---- librdkafka callbacks ----------------------------------------------- */

/* librdkafka logs from its own threads, possibly after stop() returned
 * (see kc_link): the lock keeps ctx alive for the call. */
void kc_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *msg) {
  kc_link *l = rd_kafka_opaque(rk);
  pthread_mutex_lock(&l->lock);
  if (l->ctx)
    kafka_log(l->ctx, level, fac, msg);
  pthread_mutex_unlock(&l->lock);
}

void kc_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)rk;
  kc_link *l = opaque;
  pthread_mutex_lock(&l->lock);
  if (l->ctx)
    kafka_error(l->ctx, err, reason);
  pthread_mutex_unlock(&l->lock);
}

/* "t[0,1,2] u[0]" for log lines (cut when long). */
static const char *describe(const rd_kafka_topic_partition_list_t *parts, char *buf, size_t size) {
  size_t len = 0;
  buf[0] = '\0';
  for (int i = 0; i < parts->cnt && len + 16 < size; i++) {
    const rd_kafka_topic_partition_t *p = &parts->elems[i];
    bool same = i > 0 && strcmp(parts->elems[i - 1].topic, p->topic) == 0;
    if (same)
      len += (size_t)snprintf(buf + len, size - len, ",%" PRId32, p->partition);
    else
      len += (size_t)snprintf(buf + len, size - len, "%s%s[%" PRId32, i ? "] " : "", p->topic,
                              p->partition);
  }
  if (parts->cnt && len + 1 < size)
    snprintf(buf + len, size - len, "]");
  return buf;
}

static void assign(kc_state *s, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts,
                   bool cooperative) {
  rd_kafka_error_t *error = NULL;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (cooperative)
    error = rd_kafka_incremental_assign(rk, parts);
  else
    err = rd_kafka_assign(rk, parts);
  if (error || err)
    tower_error(s->ctx, "cannot take the assigned partitions: %s",
                error ? rd_kafka_error_string(error) : rd_kafka_err2str(err));
  if (error)
    rd_kafka_error_destroy(error);
  if (s->paused) { /* the window is still full: these wait too */
    rd_kafka_pause_partitions(rk, parts);
    for (int i = 0; i < parts->cnt; i++)
      if (!rd_kafka_topic_partition_list_find(s->paused, parts->elems[i].topic,
                                              parts->elems[i].partition))
        rd_kafka_topic_partition_list_add(s->paused, parts->elems[i].topic,
                                          parts->elems[i].partition);
  }
}

static void unassign(kc_state *s, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts,
                     bool cooperative) {
  rd_kafka_error_t *error = NULL;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (cooperative)
    error = rd_kafka_incremental_unassign(rk, parts);
  else
    err = rd_kafka_assign(rk, NULL);
  if (error || err)
    tower_error(s->ctx, "cannot give up the revoked partitions: %s",
                error ? rd_kafka_error_string(error) : rd_kafka_err2str(err));
  if (error)
    rd_kafka_error_destroy(error);
}

void kc_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                     rd_kafka_topic_partition_list_t *partitions, void *opaque) {
  kc_link *l = opaque;
  pthread_mutex_lock(&l->lock);
  bool orphan = l->orphan;
  pthread_mutex_unlock(&l->lock);
  if (orphan) /* the instance is gone: only give the partitions up */
    rd_kafka_assign(rk, NULL);
  else
    kc_rebalance(l->s, rk, err, partitions);
}

void kc_rebalance(kc_state *s, rd_kafka_t *rk, rd_kafka_resp_err_t err,
                  rd_kafka_topic_partition_list_t *partitions) {
  bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  char parts[512];
  describe(partitions, parts, sizeof parts);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    tower_info(s->ctx, "group %s assigned %d partition%s: %s", s->group, partitions->cnt,
               plural_s((unsigned long long)partitions->cnt), parts);
    assign(s, rk, partitions, cooperative);
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    /* Store what the outputs have delivered while the partitions are still
     * ours: unassigning commits the stored offsets (auto commit) before
     * another member takes over. What is still in flight is not stored,
     * now or later: the next owner consumes it again. */
    kc_deliver(s);
    kc_store_settled(s);
    if (s->tracking)
      kc_track_forget(&s->track, partitions);
    if (rd_kafka_assignment_lost(rk))
      tower_warn(s->ctx,
                 "group %s lost partition%s %s (session timed out?); messages not committed "
                 "yet are consumed again by their next owner",
                 s->group, plural_s((unsigned long long)partitions->cnt), parts);
    else
      tower_info(s->ctx, "group %s revoked %d partition%s: %s", s->group, partitions->cnt,
                 plural_s((unsigned long long)partitions->cnt), parts);
    unassign(s, rk, partitions, cooperative);
    return;
  }
  tower_error(s->ctx, "group %s rebalance failed: %s; consuming nothing until the next one",
              s->group, rd_kafka_err2str(err));
  rd_kafka_assign(rk, NULL);
}

/* ---- delivery ----------------------------------------------------------- */

static void store_offsets(kc_state *s, rd_kafka_topic_partition_list_t *l) {
  rd_kafka_resp_err_t err = rd_kafka_offsets_store(s->rk, l);
  for (int i = 0; i < l->cnt; i++) {
    const rd_kafka_topic_partition_t *p = &l->elems[i];
    if (p->err == RD_KAFKA_RESP_ERR__STATE) /* revoked since: its next owner reads it again */
      tower_debug(s->ctx,
                  "topic %s partition %" PRId32 " is no longer assigned; offset %" PRId64
                  " not stored",
                  p->topic, p->partition, p->offset);
    else if (p->err)
      tower_warn(s->ctx, "cannot store offset %" PRId64 " of topic %s partition %" PRId32 ": %s",
                 p->offset, p->topic, p->partition, rd_kafka_err2str(p->err));
  }
  if (err && err != RD_KAFKA_RESP_ERR__STATE && err != RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
    tower_warn(s->ctx, "cannot store offsets: %s", rd_kafka_err2str(err));
}

void kc_store_settled(kc_state *s) {
  if (!s->tracking)
    return;
  rd_kafka_topic_partition_list_t *l = kc_track_settled(&s->track);
  if (!l)
    return;
  store_offsets(s, l);
  rd_kafka_topic_partition_list_destroy(l);
}

void kc_deliver(kc_state *s) {
  if (s->batch_msgs == 0)
    return;
  size_t n = s->batch_msgs;
  s->batch_msgs = 0;
  /* tower --test/--once acknowledge nothing, so they track nothing */
  int rc = s->tracking ? kc_track_commit(&s->track, s->acc) : tower_acc_commit(s->acc);
  /* Only tracking can fail (no memory for it): the metrics stay in the
   * accumulator for the next commit, and the commit counts as pending, so
   * its partitions store nothing more (kc_track.c says so in the log). */
  if (rc < 0)
    tower_acc_error(s->acc,
                    "the delivery of %zu message%s could not be tracked (%s); their metrics go "
                    "with the next one",
                    n, plural_s(n), strerror(-rc));
}

/* ---- messages ----------------------------------------------------------- */

/* Where parsed metrics go: time and topic tag, then the accumulator. */
static int kc_sink(void *ctx, tower_metric *m) {
  kc_state *s = ctx;
  int rc = 0;
  if (s->inner_time && s->msg_time != TOWER_TIME_UNSET) {
    rc = tower_metric_set_time(m, s->msg_time);
  } else if (tower_metric_time(m) == TOWER_TIME_UNSET) {
    /* The clock is read once per message, and only for one that has a
     * metric without a time (line protocol usually carries it). */
    if (s->receive_time == TOWER_TIME_UNSET)
      s->receive_time = tower_now();
    rc = tower_metric_set_time(m, s->receive_time);
  }
  if (rc == 0 && s->topic_tag)
    rc = tower_metric_add_tag(m, s->topic_tag, s->msg_topic);
  if (rc) {
    tower_metric_free(m);
    return rc;
  }
  return tower_acc_add(s->acc, m);
}

/* The message joins the commit being built; its offset + 1 is stored once
 * that commit and the earlier ones of its partition are delivered. */
static void remember_offset(kc_state *s, const rd_kafka_message_t *m, const char *topic) {
  if (s->tracking)
    kc_track_message(&s->track, topic, m->partition, m->offset); /* logs its errors */
  s->batch_msgs++;
}

static int64_t message_time(const rd_kafka_message_t *m) {
  rd_kafka_timestamp_type_t type;
  int64_t ms = rd_kafka_message_timestamp(m, &type);
  return type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || ms < 0 ? TOWER_TIME_UNSET : ms * 1000000;
}

void kc_source_name(void *state, char *buf, size_t size) {
  const kc_state *s = state;
  snprintf(buf, size, "topic %s partition %" PRId32 " offset %" PRId64, s->msg_topic,
           s->msg_partition, s->msg_offset);
}

static void parse_message(kc_state *s, const rd_kafka_message_t *m, const char *topic) {
  /* Only what names the message is noted here: the text of its name is
   * made (kc_source_name) when an error is reported. */
  s->msg_topic = topic;
  s->msg_partition = m->partition;
  s->msg_offset = m->offset;
  s->msg_time = s->inner_time ? message_time(m) : TOWER_TIME_UNSET;
  s->receive_time = TOWER_TIME_UNSET;
  uint64_t before = tower_parser_errors(s->parser);
  int n = tower_parser_parse(s->parser, m->payload, m->len, kc_sink, s);
  if (n < 0) {
    char source[384];
    kc_source_name(s, source, sizeof source);
    s->skipped++;
    tower_acc_error(s->acc, "%s: the message could not be handled (%s); skipped", source,
                    strerror(-n));
    return;
  }
  s->metrics += (uint64_t)n;
  uint64_t bad = tower_parser_errors(s->parser) - before;
  if (bad) {
    char source[384];
    kc_source_name(s, source, sizeof source);
    if (n == 0)
      s->skipped++;
    const char *last = tower_parser_last_error(s->parser);
    tower_acc_error(s->acc,
                    "%s: %" PRIu64 " %s parse error%s, the bad part skipped (%d metric%s "
                    "kept); last error: %s",
                    source, bad, s->data_format, plural_s(bad), n, plural_s((unsigned long long)n),
                    last ? last : "?");
  }
}

static void handle_error(kc_state *s, const rd_kafka_message_t *m) {
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
    return;
  if (m->rkt)
    tower_acc_error(s->acc, "topic %s partition %" PRId32 ": %s (%s)", rd_kafka_topic_name(m->rkt),
                    m->partition, rd_kafka_message_errstr(m), rd_kafka_err2name(m->err));
  else
    tower_acc_error(s->acc, "consumer: %s (%s)", rd_kafka_message_errstr(m),
                    rd_kafka_err2name(m->err));
}

static void handle_message(kc_state *s, const rd_kafka_message_t *m) {
  if (m->err) {
    handle_error(s, m);
    return;
  }
  const char *topic = rd_kafka_topic_name(m->rkt);
  /* Every message is remembered, the skipped ones too: once its commit is
   * settled its offset is stored, so a bad message never blocks. */
  remember_offset(s, m, topic);
  s->messages++;
  if (s->max_message_len && m->len > s->max_message_len) {
    s->skipped++;
    tower_acc_error(s->acc,
                    "topic %s partition %" PRId32 " offset %" PRId64 ": message of %zu bytes is "
                    "longer than max_message_len (%" PRIu64 "); skipped",
                    topic, m->partition, m->offset, m->len, s->max_message_len);
    return;
  }
  if (m->len == 0) /* a tombstone or an empty message: no metrics, no error */
    return;
  parse_message(s, m, topic);
}

/* ---- the window ----------------------------------------------------------- */

static bool stopping(const kc_state *s) {
  return atomic_load(&s->stop) || tower_ctx_stopping(s->ctx);
}

static bool window_full(const kc_state *s) {
  return s->tracking && kc_track_in_flight(&s->track) >= s->max_undelivered;
}

static void pause_partitions(kc_state *s) {
  rd_kafka_topic_partition_list_t *a = NULL;
  if (rd_kafka_assignment(s->rk, &a) || !a)
    a = rd_kafka_topic_partition_list_new(0);
  if (a->cnt)
    rd_kafka_pause_partitions(s->rk, a);
  s->paused = a;
  s->paused_since = tower_mono_ns() / 1000000;
  s->stall_logged = false;
}

/* Resumes what was paused, revoked partitions included: librdkafka keeps a
 * partition's pause across a reassignment. */
static void resume_partitions(kc_state *s) {
  if (s->paused->cnt)
    rd_kafka_resume_partitions(s->rk, s->paused);
  rd_kafka_topic_partition_list_destroy(s->paused);
  s->paused = NULL;
  if (s->stall_logged)
    tower_info(s->ctx, "consuming again after %.1f s: the outputs delivered",
               (double)(tower_mono_ns() / 1000000 - s->paused_since) / 1000);
}

static void log_stall(kc_state *s) {
  if (s->stall_logged || tower_mono_ns() / 1000000 - s->paused_since < KC_STALL_WARN_MS)
    return;
  s->stall_logged = true;
  size_t n = kc_track_in_flight(&s->track);
  tower_warn(s->ctx,
             "consumption paused for %d s: %zu message%s read but not yet delivered by the "
             "outputs (max_undelivered_messages = %zu); it goes on once they write (see their "
             "errors), and Kafka keeps the rest meanwhile",
             KC_STALL_WARN_MS / 1000, n, plural_s(n), s->max_undelivered);
}

/* While paused: serves the group's events (rebalances), and delivers a
 * message that arrives all the same (a partition assigned meanwhile, before
 * it was paused) at once, since it needs room it cannot wait for. */
static void serve_paused(kc_state *s) {
  rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, 0);
  if (!m)
    return;
  handle_message(s, m);
  rd_kafka_message_destroy(m);
  kc_deliver(s);
}

/* The window is full (its open commit handed over already): sleeps until
 * deliveries make room, pausing the partitions if that takes long. */
static void wait_for_room(kc_state *s) {
  int64_t pause_at = tower_mono_ns() + (int64_t)KC_PAUSE_MS * 1000000;
  if (kc_track_wait(&s->track, s->max_undelivered, pause_at, &s->stop) || stopping(s))
    return;
  pause_partitions(s);
  while (!stopping(s) && window_full(s)) {
    kc_store_settled(s);
    serve_paused(s);
    log_stall(s);
    kc_track_wait(&s->track, s->max_undelivered, tower_mono_ns() + (int64_t)KC_POLL_MS * 1000000,
                  &s->stop);
  }
  resume_partitions(s);
}

void *kc_consume_main(void *arg) {
  kc_state *s = arg;
  while (!stopping(s)) {
    kc_store_settled(s);
    if (window_full(s)) {
      kc_deliver(s);
      wait_for_room(s);
      continue;
    }
    /* With messages pending, only take what is already fetched: when
     * nothing more is ready, deliver at once rather than wait. */
    rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, s->batch_msgs ? 0 : KC_POLL_MS);
    if (!m) {
      kc_deliver(s);
      continue;
    }
    handle_message(s, m);
    rd_kafka_message_destroy(m);
    if (s->batch_msgs >= s->chunk)
      kc_deliver(s);
  }
  kc_deliver(s);
  return NULL;
}
