/* inputs.kafka_consumer: the consumer thread.
 *
 * Messages are polled and parsed into the accumulator one by one; the
 * batch is delivered (tower_acc_commit: every output buffer holds its
 * metrics) when it reaches max_undelivered_messages or when librdkafka has
 * no further message ready, and only then are the batch's offsets stored.
 * librdkafka commits stored offsets in the background (auto commit), when
 * partitions are revoked, and at close. So a message is never committed
 * before its metrics are in the output buffers: a crash at any point means
 * messages consumed again, never messages skipped in Kafka (what it takes
 * is what the output buffers held, as for every input).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../../common/kafka/kafka_common.h"
#include "../../common/plural.h"
#include "kafka_consumer.h"

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
    /* Deliver what was read from them while they are still ours, so their
     * offsets can be stored; unassigning then commits the stored offsets
     * (auto commit) before another member of the group takes over. */
    kc_deliver(s);
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

static void reset_batch(kc_state *s) {
  rd_kafka_topic_partition_list_destroy(s->batch);
  s->batch = rd_kafka_topic_partition_list_new(16);
  s->batch_msgs = 0;
}

static void store_offsets(kc_state *s) {
  if (!tower_ctx_may_acknowledge(s->ctx)) /* tower --test/--once */
    return;
  rd_kafka_resp_err_t err = rd_kafka_offsets_store(s->rk, s->batch);
  for (int i = 0; i < s->batch->cnt; i++) {
    const rd_kafka_topic_partition_t *p = &s->batch->elems[i];
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

void kc_deliver(kc_state *s) {
  if (s->batch_msgs == 0)
    return;
  int rc = tower_acc_commit(s->acc);
  /* A failed commit has lost the metrics already (the core frees them);
   * holding the offsets back would not bring them back, as the next batch
   * of the partition stores past them, so the loss is reported and
   * counted instead. */
  if (rc < 0)
    tower_acc_error(s->acc,
                    "the metrics of %zu message%s could not be handed to the outputs (%s); "
                    "they are lost",
                    s->batch_msgs, plural_s(s->batch_msgs), strerror(-rc));
  store_offsets(s);
  reset_batch(s);
}

/* ---- messages ----------------------------------------------------------- */

/* Where parsed metrics go: time and topic tag, then the accumulator. */
static int kc_sink(void *ctx, tower_metric *m) {
  kc_state *s = ctx;
  int rc = 0;
  if (s->inner_time && s->msg_time != TOWER_TIME_UNSET)
    rc = tower_metric_set_time(m, s->msg_time);
  else if (tower_metric_time(m) == TOWER_TIME_UNSET)
    rc = tower_metric_set_time(m, s->receive_time);
  if (rc == 0 && s->topic_tag)
    rc = tower_metric_add_tag(m, s->topic_tag, s->msg_topic);
  if (rc) {
    tower_metric_free(m);
    return rc;
  }
  return tower_acc_add(s->acc, m);
}

/* The message's offset + 1 becomes its partition's offset to store. */
static void remember_offset(kc_state *s, const rd_kafka_message_t *m, const char *topic) {
  rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(s->batch, topic, m->partition);
  if (!p)
    p = rd_kafka_topic_partition_list_add(s->batch, topic, m->partition);
  if (m->offset + 1 > p->offset)
    p->offset = m->offset + 1;
  s->batch_msgs++;
}

static int64_t message_time(const rd_kafka_message_t *m) {
  rd_kafka_timestamp_type_t type;
  int64_t ms = rd_kafka_message_timestamp(m, &type);
  return type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || ms < 0 ? TOWER_TIME_UNSET : ms * 1000000;
}

static void parse_message(kc_state *s, const rd_kafka_message_t *m, const char *topic) {
  char source[384];
  snprintf(source, sizeof source, "topic %s partition %" PRId32 " offset %" PRId64, topic,
           m->partition, m->offset);
  tower_parser_set_source(s->parser, source);
  s->msg_topic = topic;
  s->msg_time = message_time(m);
  s->receive_time = tower_now();
  uint64_t before = tower_parser_errors(s->parser);
  int n = tower_parser_parse(s->parser, m->payload, m->len, kc_sink, s);
  if (n < 0) {
    s->skipped++;
    tower_acc_error(s->acc, "%s: the message could not be handled (%s); skipped", source,
                    strerror(-n));
    return;
  }
  s->metrics += (uint64_t)n;
  uint64_t bad = tower_parser_errors(s->parser) - before;
  if (bad) {
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
  /* Every message is remembered, the skipped ones too: once the batch is
   * delivered its offset is stored, so a bad message never blocks. */
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

void *kc_consume_main(void *arg) {
  kc_state *s = arg;
  while (!atomic_load(&s->stop) && !tower_ctx_stopping(s->ctx)) {
    /* With messages pending, only take what is already fetched: when
     * nothing more is ready, deliver at once rather than wait. */
    rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, s->batch_msgs ? 0 : KC_POLL_MS);
    if (!m) {
      kc_deliver(s);
      continue;
    }
    handle_message(s, m);
    rd_kafka_message_destroy(m);
    if (s->batch_msgs >= s->max_undelivered)
      kc_deliver(s);
  }
  kc_deliver(s);
  return NULL;
}
