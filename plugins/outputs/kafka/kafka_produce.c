/* outputs.kafka: the librdkafka producer.
 *
 * One producer per instance, created by init and destroyed by destroy. A
 * write produces every message of its batch (copied by librdkafka:
 * RD_KAFKA_MSG_F_COPY costs a memcpy into the allocation librdkafka makes
 * for each message anyway, and frees the plan's buffers for the next write
 * whatever happens to this one), then serves delivery reports through
 * rd_kafka_flush() (which also sends at once instead of waiting linger.ms)
 * until each message has one or the write deadline passes. Messages still
 * unreported then are purged, so that librdkafka does not deliver them later
 * behind the core's back while the core retries the batch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "kafka_common.h"
#include "kafka_produce.h"

/* Topic handles kept at most; further topics (topic_tag with very many
 * values) are produced by name, which costs librdkafka a lookup each. */
#define TOPICS_MAX 1024

struct kafka_topic_slot {
  char *name;
  rd_kafka_topic_t *rkt;
};

/* ---- callbacks (the conf's opaque is the producer) ----------------------- */

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *msg) {
  kafka_producer *kp = rd_kafka_opaque(rk);
  kafka_log(kp->ctx, level, fac, msg);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)rk;
  kafka_producer *kp = opaque;
  kafka_error(kp->ctx, err, reason);
}

/* A delivery report, served by rd_kafka_poll()/rd_kafka_flush() on the
 * write thread. */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  kafka_producer *kp = opaque;
  uintptr_t i = (uintptr_t)m->_private - kp->seq_base;
  if (!kp->msgs || i >= kp->nmsgs || !kp->msgs[i].pending) {
    if (!m->err)
      kp->late_delivered++;
    return;
  }
  kafka_msg *km = &kp->msgs[i];
  km->pending = false;
  kp->pending--;
  km->err = m->err;
  km->possibly_persisted =
      m->err && rd_kafka_message_status(m) != RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
}

/* ---- configuration ------------------------------------------------------- */

/* Sets `property` unless the librdkafka passthrough sets it already. */
static int set_default(const kafka_producer *kp, rd_kafka_conf_t *conf, const char *option,
                       const char *property, const char *value) {
  if (kafka_passthrough(kp->cfg, property))
    return 0;
  return kafka_conf_set(kp->cfg, conf, option, property, value);
}

static int set_settings(const kafka_producer *kp, rd_kafka_conf_t *conf) {
  const kafka_settings *s = &kp->set;
  char timeout[32], maxbytes[32], retries[32], propagation[32];
  int64_t ms = s->write_timeout_ns / 1000000;
  snprintf(timeout, sizeof timeout, "%lld", (long long)ms);
  /* librdkafka refuses a message whose key + value + record framing exceed
   * message.max.bytes: leave room for the framing. */
  size_t max = s->max_message_bytes + 1024;
  snprintf(maxbytes, sizeof maxbytes, "%zu", max < 1000 ? 1000 : max);
  snprintf(retries, sizeof retries, "%lld", (long long)s->max_retry);
  /* An unknown topic fails its messages after this long; within the write
   * so that the error names the topic rather than a timeout. */
  snprintf(propagation, sizeof propagation, "%lld", (long long)(ms / 2 < 30000 ? ms / 2 : 30000));
  if (set_default(kp, conf, "required_acks", "acks", s->acks) ||
      set_default(kp, conf, "idempotent_writes", "enable.idempotence",
                  s->idempotent ? "true" : "false") ||
      set_default(kp, conf, "compression_codec", "compression.codec", s->codec) ||
      set_default(kp, conf, "write_timeout", "message.timeout.ms", timeout) ||
      set_default(kp, conf, "max_message_bytes", "message.max.bytes", maxbytes) ||
      set_default(kp, conf, "write_timeout", "topic.metadata.propagation.max.ms", propagation) ||
      /* librdkafka backs off up to 10 s between reconnects; a recovered
       * broker then waits that long for metrics that are piling up. */
      set_default(kp, conf, NULL, "reconnect.backoff.max.ms", "1000") ||
      (s->max_retry >= 0 &&
       set_default(kp, conf, "max_retry", "message.send.max.retries", retries)))
    return -EINVAL;
  return 0;
}

static int create(kafka_producer *kp) {
  rd_kafka_conf_t *conf = kafka_conf_new(kp->ctx, kp->cfg);
  if (!conf)
    return -EINVAL;
  rd_kafka_conf_set_opaque(conf, kp);
  rd_kafka_conf_set_log_cb(conf, log_cb);
  rd_kafka_conf_set_error_cb(conf, error_cb);
  rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  if (set_settings(kp, conf)) {
    rd_kafka_conf_destroy(conf);
    return -EINVAL;
  }
  /* --config-check: the properties are valid; a producer would start
   * threads and connect to the brokers, which a check must not. */
  if (tower_ctx_check_only(kp->ctx)) {
    rd_kafka_conf_destroy(conf);
    return 0;
  }
  char err[512];
  kp->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!kp->rk) {
    rd_kafka_conf_destroy(conf);
    tower_error(kp->ctx,
                "cannot create the Kafka producer for %s: %s (check the options and "
                "the librdkafka passthrough)",
                kp->brokers, err);
    return -EINVAL;
  }
  return 0;
}

int kafka_producer_open(kafka_producer *kp, tower_ctx *ctx, const tower_config *cfg,
                        const kafka_settings *set) {
  memset(kp, 0, sizeof *kp);
  kp->ctx = ctx;
  kp->cfg = cfg;
  kp->set = *set;
  kafka_brokers(cfg, kp->brokers, sizeof kp->brokers);
  if (getrandom(&kp->rnd, sizeof kp->rnd, 0) != sizeof kp->rnd || !kp->rnd)
    kp->rnd = (uint64_t)tower_mono_ns() | 1;
  return create(kp);
}

/* ---- topic handles ------------------------------------------------------- */

static size_t hash(const char *s) {
  size_t h = 14695981039346656037ull & SIZE_MAX;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * (size_t)1099511628211ull;
  return h;
}

static void topics_free(kafka_producer *kp) {
  for (size_t i = 0; i < kp->topics_cap; i++)
    if (kp->topics[i].name) {
      rd_kafka_topic_destroy(kp->topics[i].rkt);
      free(kp->topics[i].name);
    }
  free(kp->topics);
  kp->topics = NULL;
  kp->ntopics = kp->topics_cap = 0;
}

static int topics_grow(kafka_producer *kp) {
  size_t cap = kp->topics_cap ? kp->topics_cap * 2 : 16;
  kafka_topic_slot *t = calloc(cap, sizeof *t);
  if (!t)
    return -ENOMEM;
  for (size_t i = 0; i < kp->topics_cap; i++) {
    if (!kp->topics[i].name)
      continue;
    size_t j = hash(kp->topics[i].name) & (cap - 1);
    while (t[j].name)
      j = (j + 1) & (cap - 1);
    t[j] = kp->topics[i];
  }
  free(kp->topics);
  kp->topics = t;
  kp->topics_cap = cap;
  return 0;
}

/* The handle of topic `name`, created on first use; NULL when the cache is
 * full or memory is short (the caller then produces by name). */
static rd_kafka_topic_t *topic(kafka_producer *kp, const char *name) {
  if (kp->topics_cap) {
    for (size_t j = hash(name) & (kp->topics_cap - 1); kp->topics[j].name;
         j = (j + 1) & (kp->topics_cap - 1))
      if (strcmp(kp->topics[j].name, name) == 0)
        return kp->topics[j].rkt;
  }
  if (kp->ntopics >= TOPICS_MAX || ((kp->ntopics + 1) * 2 > kp->topics_cap && topics_grow(kp)))
    return NULL;
  char *copy = strdup(name);
  rd_kafka_topic_t *rkt = copy ? rd_kafka_topic_new(kp->rk, name, NULL) : NULL;
  if (!rkt) {
    free(copy);
    return NULL;
  }
  size_t j = hash(name) & (kp->topics_cap - 1);
  while (kp->topics[j].name)
    j = (j + 1) & (kp->topics_cap - 1);
  kp->topics[j] = (kafka_topic_slot){.name = copy, .rkt = rkt};
  kp->ntopics++;
  return rkt;
}

/* ---- producing ------------------------------------------------------------ */

/* A version 4 UUID, as Telegraf's routing_key = "random" makes. */
static void random_key(kafka_producer *kp, char out[37]) {
  unsigned char b[16];
  for (int i = 0; i < 16; i += 8) {
    kp->rnd ^= kp->rnd << 13;
    kp->rnd ^= kp->rnd >> 7;
    kp->rnd ^= kp->rnd << 17;
    memcpy(b + i, &kp->rnd, 8);
  }
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  static const char hex[] = "0123456789abcdef";
  char *o = out;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      *o++ = '-';
    *o++ = hex[b[i] >> 4];
    *o++ = hex[b[i] & 15];
  }
  *o = '\0';
}

static rd_kafka_resp_err_t produce_one(kafka_producer *kp, const kafka_plan *plan, size_t i) {
  const kafka_msg *m = &plan->msgs[i];
  char rkey[37];
  const char *key = m->key;
  size_t klen = m->key_len;
  if (m->random_key) {
    random_key(kp, rkey);
    key = rkey;
    klen = 36;
  }
  /* Kafka timestamps are ms since the epoch; 0 asks librdkafka for now
   * (negative ones are not allowed by the protocol). */
  int64_t ts = kp->set.metric_time && m->time_ns > 0 ? m->time_ns / 1000000 : 0;
  void *value = (void *)(uintptr_t)kafka_msg_data(plan, m);
  void *id = (void *)(kp->seq_base + i);
  rd_kafka_topic_t *rkt = topic(kp, m->topic);
  if (rkt)
    return rd_kafka_producev(kp->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_VALUE(value, m->len),
                             RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_OPAQUE(id), RD_KAFKA_V_END);
  return rd_kafka_producev(kp->rk, RD_KAFKA_V_TOPIC(m->topic), RD_KAFKA_V_VALUE(value, m->len),
                           RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                           RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_OPAQUE(id), RD_KAFKA_V_END);
}

static int ms_until(int64_t deadline, int64_t cap_ms) {
  int64_t left = (deadline - tower_mono_ns()) / 1000000;
  return (int)(left < 0 ? 0 : left > cap_ms ? cap_ms : left);
}

/* Produces every message; a full local queue is back-pressure: serve
 * delivery reports (which makes room) and try again until the deadline. */
static void produce_all(kafka_producer *kp, kafka_plan *plan, int64_t deadline) {
  for (size_t i = 0; i < plan->nmsgs;) {
    kafka_msg *m = &plan->msgs[i];
    rd_kafka_resp_err_t err = produce_one(kp, plan, i);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && tower_mono_ns() < deadline) {
      rd_kafka_poll(kp->rk, ms_until(deadline, 100));
      continue;
    }
    m->err = err;
    if (!err) {
      m->pending = true;
      kp->pending++;
    }
    i++;
  }
}

/* Serves delivery reports until every message has one or the deadline. */
static void wait_reports(kafka_producer *kp, int64_t deadline) {
  while (kp->pending && tower_mono_ns() < deadline)
    rd_kafka_flush(kp->rk, ms_until(deadline, 100) + 1);
}

/* Gives up on the messages still unreported: purged ones get their reports
 * (librdkafka fails them with __PURGE_QUEUE / __PURGE_INFLIGHT); any that
 * still has none is failed here and its report, if ever, is ignored. */
static void abandon(kafka_producer *kp) {
  rd_kafka_purge(kp->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  int64_t end = tower_mono_ns() + 2000000000LL;
  while (kp->pending && tower_mono_ns() < end)
    rd_kafka_poll(kp->rk, 50);
  for (size_t i = 0; i < kp->nmsgs && kp->pending; i++)
    if (kp->msgs[i].pending) {
      kp->msgs[i].pending = false;
      kp->msgs[i].err = RD_KAFKA_RESP_ERR__TIMED_OUT;
      kp->msgs[i].possibly_persisted = true;
      kp->pending--;
    }
}

static void destroy_rk(kafka_producer *kp) {
  topics_free(kp);
  rd_kafka_purge(kp->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(kp->rk, 0);
  rd_kafka_destroy(kp->rk);
  kp->rk = NULL;
}

/* An idempotent producer stops for good after some errors (a broker lost
 * its producer state, say): every later produce fails. A new producer
 * starts a new idempotence session; the write that saw it retries. */
static void recover(kafka_producer *kp) {
  char why[512];
  rd_kafka_resp_err_t err = rd_kafka_fatal_error(kp->rk, why, sizeof why);
  if (!err)
    return;
  tower_error(kp->ctx,
              "the Kafka producer for %s failed for good: %s (%s); starting a new producer, the "
              "batch will be retried",
              kp->brokers, why, rd_kafka_err2name(err));
  destroy_rk(kp);
  create(kp);
}

void kafka_producer_send(kafka_producer *kp, kafka_plan *plan, int64_t deadline) {
  if (!kp->rk && create(kp)) {
    for (size_t i = 0; i < plan->nmsgs; i++)
      plan->msgs[i].err = RD_KAFKA_RESP_ERR__STATE;
    return;
  }
  kp->msgs = plan->msgs;
  kp->nmsgs = plan->nmsgs;
  kp->pending = 0;
  produce_all(kp, plan, deadline);
  wait_reports(kp, deadline);
  if (kp->pending)
    abandon(kp);
  kp->seq_base += kp->nmsgs; /* reports for this send are late from now on */
  kp->msgs = NULL;
  kp->nmsgs = 0;
  recover(kp);
}

void kafka_producer_close(kafka_producer *kp, int timeout_ms) {
  if (!kp->rk)
    return;
  rd_kafka_flush(kp->rk, timeout_ms);
  destroy_rk(kp);
}
