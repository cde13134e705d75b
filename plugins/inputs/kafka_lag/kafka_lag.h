/* inputs.kafka_lag internals, shared by its files (private to the plugin):
 *   kafka_lag.c  options, the client, the gather sequence;
 *   kl_groups.c  which groups: the configured names or the broker's list
 *                (ListConsumerGroups), and their state and members
 *                (DescribeConsumerGroups);
 *   kl_offsets.c what each group committed (ListConsumerGroupOffsets) and
 *                where each partition's log ends (ListOffsets);
 *   kl_time.c    the timestamp of each group's first unconsumed message
 *                (lag_seconds: one fetch per lagging partition);
 *   kl_emit.c    the metrics.
 * One gather fills the arrays of kl_state (kept and reused from gather to
 * gather, so their memory does not churn) and the librdkafka result
 * events that the names in them point into, then frees the events. */
#ifndef TOWER_KAFKA_LAG_H
#define TOWER_KAFKA_LAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include <tower/tower.h>

/* One consumer group of this gather. */
typedef struct kl_group {
  const char *name;  /* borrowed: from the config or a result event */
  const char *state; /* Stable, Empty...; NULL: unknown */
  int64_t members;   /* -1: unknown */
} kl_group;

/* One partition on which a group has a committed offset. */
typedef struct kl_entry {
  const char *topic; /* borrowed from the group's offsets result event */
  uint32_t group;    /* index in kl_state.groups */
  int32_t partition;
  int64_t committed;
  int64_t end;      /* log end offset (high watermark); -1: unknown */
  int64_t first_ms; /* timestamp of the message at `committed`; -1: unknown */
} kl_entry;

typedef struct kl_state {
  tower_ctx *ctx;
  const tower_config *cfg;
  rd_kafka_t *rk; /* NULL under --config-check */

  /* options */
  tower_globs *group_globs; /* NULL: every group */
  tower_globs *topic_globs; /* NULL: every topic */
  bool groups_named;        /* consumer_groups holds names only: no listing needed */
  bool topics_named;        /* topics holds names only: ask for their partitions */
  bool lag_seconds;
  int64_t timeout_ns;

  /* Whether the brokers answer the group APIs (ListGroups,
   * DescribeGroups): asked once (kl_groups.c says why), then kept until
   * the instance is built anew. */
  enum { KL_GROUP_API_UNKNOWN, KL_GROUP_API_YES, KL_GROUP_API_NO } group_api;

  /* one gather's results, reused */
  kl_group *groups;
  size_t ngroups, groups_cap;
  kl_entry *entries;
  size_t nentries, entries_cap;
  rd_kafka_event_t **events; /* freed at the end of the gather */
  size_t nevents, events_cap;
  /* topics_named: the partitions of the named topics (asked for
   * explicitly; NULL asks for all the group committed) */
  rd_kafka_topic_partition_list_t *wanted;
} kl_state;

/* Milliseconds left until `deadline` (tower_mono_ns), at least 1: a
 * librdkafka timeout of 0 would mean "do not wait" or "forever". */
int kl_ms_left(int64_t deadline);

/* Keeps `ev` until the end of the gather (names point into it). On
 * -ENOMEM the event is destroyed and the caller must not use it. */
int kl_keep_event(kl_state *s, rd_kafka_event_t *ev);

/* Options for an admin request of kind `op` that ends by `deadline`; NULL
 * when out of memory. The caller destroys them. */
rd_kafka_AdminOptions_t *kl_admin_options(kl_state *s, rd_kafka_admin_op_t op, int64_t deadline);

/* Waits for the result event of one admin request on `q`; NULL after the
 * deadline (reported with `what`). */
rd_kafka_event_t *kl_admin_wait(kl_state *s, tower_acc *acc, rd_kafka_queue_t *q, int64_t deadline,
                                const char *what);

/* ---- kl_groups.c ---- */

/* Fills s->groups: the configured names, or the groups the brokers list
 * that match consumer_groups (with their state from the listing). 0, or
 * a negative errno after reporting (then the gather has nothing to do). */
int kl_groups_find(kl_state *s, tower_acc *acc, int64_t deadline);

/* Asks for the state and member count of every group, on `q`: returns the
 * number of result events to expect there (0 or 1). */
size_t kl_groups_describe(kl_state *s, rd_kafka_queue_t *q, int64_t deadline);

/* Takes in a DescribeConsumerGroups result (the event stays the caller's). */
void kl_groups_described(kl_state *s, tower_acc *acc, rd_kafka_event_t *ev);

/* ---- kl_offsets.c ---- */

/* Fills s->wanted with the partitions of the named topics (topics_named). */
int kl_offsets_topics(kl_state *s, tower_acc *acc, int64_t deadline);

/* The committed offsets of every group, and their state (in parallel):
 * fills s->entries. 0, or a negative errno after reporting. */
int kl_offsets_committed(kl_state *s, tower_acc *acc, int64_t deadline);

/* The log end offset of every partition in s->entries (one ListOffsets
 * request per leader broker). Sorts s->entries by topic and partition. */
int kl_offsets_end(kl_state *s, tower_acc *acc, int64_t deadline);

/* ---- kl_time.c ---- */

/* The timestamp of the first unconsumed message of every lagging entry
 * (entries sorted by kl_offsets_end). What it could not read within the
 * deadline is logged as a warning and left unknown: the lag itself is
 * measured all the same. */
void kl_time_first(kl_state *s, int64_t deadline);

/* ---- kl_emit.c ---- */

/* The metrics: per partition, per group and topic, per group. */
void kl_emit(kl_state *s, tower_acc *acc);

#endif
