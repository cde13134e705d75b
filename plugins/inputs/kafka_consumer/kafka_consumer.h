/* inputs.kafka_consumer internals, shared by kafka_consumer.c (options,
 * configuration, start and stop) and kc_consume.c (the consumer thread:
 * messages, batches, offsets, rebalances); kc_track.c keeps the windows of
 * messages in flight. Private to the plugin. */
#ifndef TOWER_KAFKA_CONSUMER_H
#define TOWER_KAFKA_CONSUMER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include <tower/tower.h>

#include "kc_track.h"

/* How long one rd_kafka_consumer_poll() waits when nothing is pending: the
 * longest stop() waits for the thread to notice. */
#define KC_POLL_MS 100

typedef struct kc_state kc_state;

/* The opaque of one librdkafka handle. It outlives the plugin instance
 * when librdkafka takes longer to shut down than stop() allows (brokers
 * unreachable: rd_kafka_destroy() then waits out session.timeout.ms), so
 * the log callbacks find out under `lock` whether ctx is still there. */
typedef struct kc_link {
  pthread_mutex_t lock;
  pthread_cond_t done_cond;
  tower_ctx *ctx; /* NULL once orphaned: librdkafka's last logs are dropped */
  kc_state *s;    /* for the rebalance callback (only while not orphaned) */
  rd_kafka_t *rk;
  int destroy_flags;
  bool destroyed, orphan;
} kc_link;

struct kc_state {
  tower_ctx *ctx;
  const tower_config *cfg;

  /* options */
  size_t max_undelivered;   /* messages read and not yet delivered, at most */
  size_t chunk;             /* messages per commit to the core */
  uint64_t max_message_len; /* 0: no limit */
  const char *topic_tag;    /* NULL: none */
  bool inner_time;          /* timestamp_source = "inner" */
  const char *group;
  const char *data_format;

  rd_kafka_conf_t *conf; /* built by init; start hands a copy to rd_kafka_new */
  tower_parser *parser;

  /* while started */
  rd_kafka_t *rk;
  kc_link *link;
  tower_acc *acc;
  pthread_t thread;
  bool thread_started;
  atomic_bool stop;

  /* offsets are stored once the outputs delivered the messages' metrics;
   * false for tower --test/--once, which store nothing */
  bool tracking;
  kc_track track;    /* the windows of messages in flight (when tracking) */
  size_t batch_msgs; /* messages read since the last commit to the core */
  /* the partitions paused while the window is full (NULL: consuming) */
  rd_kafka_topic_partition_list_t *paused;
  int64_t paused_since; /* ms, monotonic */
  bool stall_logged;

  /* the message being parsed, for the sink and for error messages */
  const char *msg_topic;
  int32_t msg_partition;
  int64_t msg_offset;
  int64_t msg_time;     /* Kafka timestamp in ns, or TOWER_TIME_UNSET */
  int64_t receive_time; /* when it was parsed; TOWER_TIME_UNSET until a
                           metric without a time needs it */

  /* counters, for the log line at stop */
  uint64_t messages, skipped, metrics;
};

/* ---- kc_consume.c ---- */

/* Names the message being parsed, "topic t partition 3 offset 42": the
 * parser's source (tower_parser_set_source_fn), built only for an error. */
void kc_source_name(void *state, char *buf, size_t size);

/* A group rebalance: partitions assigned (taken) or revoked (what the
 * outputs delivered of them stored first, so that giving them up commits
 * it; their messages still in flight are not stored: the next owner reads
 * them again). Runs inside rd_kafka_consumer_poll() on the consumer thread
 * (kc_rebalance_cb), or in stop()'s close as an event once the thread has
 * ended. */
void kc_rebalance(kc_state *s, rd_kafka_t *rk, rd_kafka_resp_err_t err,
                  rd_kafka_topic_partition_list_t *partitions);

/* librdkafka callbacks; the handle's opaque is its kc_link. */
void kc_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                     rd_kafka_topic_partition_list_t *partitions, void *opaque);
void kc_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *msg);
void kc_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque);

/* The consumer thread (arg: the kc_state). */
void *kc_consume_main(void *arg);

/* Hands the messages read since the last commit to the core: a tracked
 * commit whose delivery frees their offsets (tower_acc_commit for
 * --test/--once). */
void kc_deliver(kc_state *s);
/* Stores, for librdkafka's next commit to Kafka, the offsets the outputs'
 * deliveries have settled since the last call. */
void kc_store_settled(kc_state *s);

#endif
