/* outputs.kafka: metrics to Kafka topics through a librdkafka producer (see
 * README.md for the behaviour and the reasons behind it).
 *
 *   kafka.c          options, init/destroy, write: what a batch's delivery
 *                    reports mean for the core (OK, RETRY, rejected)
 *   kafka_plan.c     a batch -> Kafka messages: routes (topic, key),
 *                    serialization, batch_format packing under
 *                    max_message_bytes. SDK only, so tests link it alone.
 *   kafka_produce.c  the librdkafka producer: configuration, produce with
 *                    back-pressure, waiting for delivery reports, purge,
 *                    topic handles, recreation after a fatal error
 */
#ifndef TOWER_OUTPUT_KAFKA_H
#define TOWER_OUTPUT_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tower/tower.h>

/* ---- the plan: a batch as Kafka messages (kafka_plan.c) ---------------- */

/* Why a metric can never be delivered (it is counted as rejected). */
typedef enum kafka_reject {
  KAFKA_REJECT_FORMAT = 0, /* the data format cannot represent it */
  KAFKA_REJECT_SIZE,       /* alone it exceeds max_message_bytes */
  KAFKA_REJECT_TOPIC,      /* topic_tag gives a name Kafka does not allow */
  KAFKA_REJECT_COUNT
} kafka_reject;

typedef struct kafka_plan_conf {
  const char *topic;       /* default topic (valid name) */
  const char *topic_tag;   /* NULL: every metric goes to `topic` */
  bool exclude_topic_tag;  /* drop topic_tag from the metric before serializing */
  const char *routing_tag; /* NULL: no per-metric key */
  const char *routing_key; /* fixed key when routing_tag is absent; NULL: none */
  bool random_key;         /* routing_key = "random": a new UUID per message */
  bool batch_format;       /* several metrics per message */
  size_t max_bytes;        /* payload + key of one message */
} kafka_plan_conf;

/* One accepted metric, in message order. */
typedef struct kafka_item {
  size_t index;          /* in the batch */
  const char *topic;     /* borrowed from the config or the metric */
  const char *key;       /* borrowed; NULL: none (or random) */
  bool random_key;       /* the message gets a random key */
  size_t off, len;       /* its serialization in plan->scratch */
  const tower_metric *m; /* what was serialized: the batch's metric or a clone */
  tower_metric *clone;   /* owned clone (exclude_topic_tag), or NULL */
} kafka_item;

/* One Kafka message: items [first, first + count) share topic and key. */
typedef struct kafka_msg {
  const char *topic, *key;
  size_t key_len;
  bool random_key;
  size_t first, count;
  bool in_payload; /* bytes in plan->payload (batch envelope), else plan->scratch */
  size_t off, len;
  int64_t time_ns; /* the newest metric's time */
  /* delivery (kafka_produce.c) */
  int err;                 /* rd_kafka_resp_err_t; meaningful once !pending */
  bool pending;            /* produced, no delivery report yet */
  bool possibly_persisted; /* failed, but the broker may have written it */
} kafka_msg;

typedef struct kafka_rejected {
  size_t index; /* in the batch */
  kafka_reject why;
} kafka_rejected;

typedef struct kafka_plan {
  kafka_plan_conf conf;
  tower_serializer *ser; /* borrowed */
  /* The batch form of the format is the serializations one after the
   * other (influx, csv): a message is a slice of `scratch`. Otherwise (json)
   * each message is serialized again as a batch into `payload`; `envelope`
   * bounds the bytes the batch form adds around its metrics. */
  bool concat;
  size_t envelope;

  /* per write, reused */
  kafka_item *items;
  size_t nitems, items_cap;
  const tower_metric **mv; /* items[i].m, contiguous for tower_serialize_batch */
  size_t mv_cap;
  kafka_msg *msgs;
  size_t nmsgs, msgs_cap;
  kafka_rejected *rejected;
  size_t nrejected, rejected_cap;
  tower_buf *scratch, *payload;
} kafka_plan;

/* Prepares `p` for `ser`; `probe` is a second serializer built from the
 * same configuration, used once to learn how the format's batch form is
 * laid out (it is left in an unspecified state). 0 or -ENOMEM. */
int kafka_plan_init(kafka_plan *p, const kafka_plan_conf *conf, tower_serializer *ser,
                    tower_serializer *probe);
void kafka_plan_free(kafka_plan *p);

/* Turns ms[0..n) into messages, leaving out the metrics with skip[i] set
 * (skip may be NULL). Metrics that can never be delivered go to
 * p->rejected. Returns 0 or -ENOMEM. */
int kafka_plan_build(kafka_plan *p, const tower_metric *const *ms, size_t n, const bool *skip);
/* Frees the clones of the last build (metrics stay borrowed until then). */
void kafka_plan_reset(kafka_plan *p);

/* The bytes of message `m`, valid until the next build. */
const char *kafka_msg_data(const kafka_plan *p, const kafka_msg *m);

/* True when `name` is a topic name Kafka accepts: 1..249 bytes of
 * [a-zA-Z0-9._-], and neither "." nor "..". */
bool kafka_topic_valid(const char *name);

/* Human text for a rejection reason. */
const char *kafka_reject_text(kafka_reject why);

#endif
