/* outputs.kafka: the librdkafka producer of one instance (kafka_produce.c). */
#ifndef TOWER_OUTPUT_KAFKA_PRODUCE_H
#define TOWER_OUTPUT_KAFKA_PRODUCE_H

#include <librdkafka/rdkafka.h>

#include "kafka.h"

/* What the plugin's options ask of librdkafka. Each property is set only
 * when the `librdkafka` passthrough does not set it itself. */
typedef struct kafka_settings {
  const char *acks;         /* "all", "1" or "0" */
  const char *codec;        /* librdkafka's compression.codec name */
  bool idempotent;          /* enable.idempotence */
  int64_t max_retry;        /* message.send.max.retries; -1: librdkafka's default */
  int64_t write_timeout_ns; /* message.timeout.ms, and how long send() waits */
  size_t max_message_bytes; /* message.max.bytes gets room for this plus a key */
  bool metric_time;         /* message timestamp: the metric's time (else now) */
} kafka_settings;

typedef struct kafka_topic_slot kafka_topic_slot;

typedef struct kafka_producer {
  tower_ctx *ctx;
  const tower_config *cfg;
  kafka_settings set;
  rd_kafka_t *rk; /* NULL after a failed re-creation: send() tries again */
  char brokers[512];

  /* The send in progress: delivery reports find their message by id;
   * msgs[i] has id seq_base + i. A report with any other id belongs to a
   * send that gave up waiting for it (a late report) and is only counted. */
  kafka_msg *msgs;
  size_t nmsgs, pending;
  uintptr_t seq_base;
  uint64_t late_delivered; /* late reports that say "delivered" */

  kafka_topic_slot *topics; /* topic handles by name (open addressing) */
  size_t ntopics, topics_cap;

  uint64_t rnd; /* xorshift state for random keys */
} kafka_producer;

/* Builds the librdkafka configuration (common options, then the plugin's
 * settings) and the producer. Connects in the background: init never waits
 * for a broker. 0 or a negative errno after logging why. */
int kafka_producer_open(kafka_producer *kp, tower_ctx *ctx, const tower_config *cfg,
                        const kafka_settings *set);
/* Waits up to timeout_ms for anything still queued, then destroys. */
void kafka_producer_close(kafka_producer *kp, int timeout_ms);

/* Produces every message of `plan` and waits, until `deadline` (monotonic
 * ns), for their delivery reports. Every message ends with err set
 * (RD_KAFKA_RESP_ERR_NO_ERROR: acknowledged as required_acks asks); those
 * still unreported at the deadline are purged and fail with a timeout. */
void kafka_producer_send(kafka_producer *kp, kafka_plan *plan, int64_t deadline);

#endif
