/* inputs.kafka_consumer: which offsets may be stored, given what the outputs
 * have delivered (tower_acc_commit_tracked). Private to the plugin.
 *
 * The consumer thread hands messages to the core in batches, one tracked
 * commit each. Every partition keeps a window: its batches in the order its
 * messages were read, each with the offset to store once that batch and
 * every earlier one of the partition are settled. Commits may settle out of
 * order (an output that filters a batch out settles it at once; overflow
 * drops metrics behind the batch being written), so a later batch settled
 * first waits for the earlier ones: the stored offset is always one below
 * which every message is delivered (or dropped for good).
 *
 * Threads: the consumer thread (or stop(), once that thread has ended) owns
 * the windows; the delivery callback runs on an output's flush thread and
 * only marks its batch settled under the tracker's lock. A batch outlives
 * the instance while an output still holds it (a reload kept the output,
 * or it is still writing at shutdown): the tracker is reference counted and
 * the batch is freed by whichever side lets go of it last.
 */
#ifndef TOWER_KC_TRACK_H
#define TOWER_KC_TRACK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include <tower/tower.h>

typedef struct kc_tracker kc_tracker;
typedef struct kc_batch kc_batch;
typedef struct kc_part kc_part;

typedef struct kc_track {
  tower_ctx *ctx;
  kc_tracker *t;
  kc_part **parts; /* partitions with messages in flight or stored */
  size_t nparts, cap;
  kc_part *last;  /* the partition of the last message (runs are common) */
  kc_batch *open; /* messages read since the last commit; NULL: none */
  size_t open_msgs;
  uint64_t seen; /* settlements counted at the last scan */
  bool broken;   /* out of memory lost track of a message: store nothing more */
} kc_track;

/* 0 or -ENOMEM. */
int kc_track_init(kc_track *w, tower_ctx *ctx);
/* Forgets every window (late deliveries store nothing) and lets go of the
 * tracker; batches still held by outputs are freed when they settle. */
void kc_track_free(kc_track *w);

/* The message at `offset` of `topic` [`partition`] belongs to the open
 * batch. -ENOMEM (logged; no further offset is stored, of that partition
 * or, when the window itself could not be made, of any). */
int kc_track_message(kc_track *w, const char *topic, int32_t partition, int64_t offset);
/* Hands the open batch to the outputs with tower_acc_commit_tracked (does
 * nothing without one). Returns what the commit returned. */
int kc_track_commit(kc_track *w, tower_acc *acc);

/* Messages committed and not settled yet, plus those of the open batch. */
size_t kc_track_in_flight(const kc_track *w);
/* Waits until fewer than `limit` messages are in flight, `*stop` is set
 * (kc_track_wake), or CLOCK_MONOTONIC reaches `deadline_ns`. True when
 * there is room. */
bool kc_track_wait(kc_track *w, size_t limit, int64_t deadline_ns, const atomic_bool *stop);
/* Wakes kc_track_wait (after setting its stop flag). */
void kc_track_wake(kc_track *w);

/* The offsets that became storable since the last call, or NULL (the
 * caller destroys the list). Cheap when nothing settled meanwhile. */
rd_kafka_topic_partition_list_t *kc_track_settled(kc_track *w);
/* Drops the windows of `parts` (NULL: all), revoked: their messages in
 * flight will be consumed again by the partitions' next owner, so nothing
 * of them is stored, whenever they are delivered. */
void kc_track_forget(kc_track *w, const rd_kafka_topic_partition_list_t *parts);

#endif
