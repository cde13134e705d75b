/* Where an output's metrics wait to be written: in memory (buffer_mem.c,
 * the default) or on disk (buffer_disk.c, buffer_strategy = "disk").
 *
 * output.c calls every operation with the output's lock held. The buffer
 * keeps the order of the metrics, bounds what it holds (the oldest are
 * dropped beyond the limits), and has at most one batch in flight: taken
 * out for a write, then acknowledged (written: gone for good) or put back
 * (the write failed: in front again).
 *
 * Every metric a buffer gives up without its output writing it (dropped on
 * overflow, put back to a disk buffer that keeps its own copy) leaves
 * through twi_buffer_release(), which settles the delivery accounting of
 * the commit it came from before dropping the reference.
 */
#ifndef TOWER_BUFFER_H
#define TOWER_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tower/metric.h>

typedef struct twi_buffer twi_buffer;

typedef struct twi_buffer_ops {
  /* Appends n metrics (their references are taken over). Returns how many
   * metrics were dropped to stay within the limits: always the oldest of
   * those not in flight (which may be some of these). */
  size_t (*push)(twi_buffer *b, tower_metric **ms, size_t n);
  /* Moves up to k of the oldest metrics into batch (references given to
   * the caller) as the batch in flight. Returns how many. */
  size_t (*take)(twi_buffer *b, tower_metric **batch, size_t k);
  /* The batch in flight was written: it is gone for good. The caller still
   * holds (and releases) its references. */
  void (*ack)(twi_buffer *b, size_t k);
  /* The batch in flight failed: its references come back to the buffer,
   * which puts the metrics in front again. Returns how many metrics were
   * dropped to stay within the limits. */
  size_t (*put_back)(twi_buffer *b, tower_metric **batch, size_t k);
  /* Metrics waiting (the batch in flight not included). */
  size_t (*count)(const twi_buffer *b);
  /* Frees the buffer and releases the metrics it holds in memory; a disk
   * buffer leaves its files, to be replayed at the next start. */
  void (*destroy)(twi_buffer *b);
} twi_buffer_ops;

struct twi_buffer {
  const twi_buffer_ops *ops;
  /* What push took is safe (on disk, synced) before push returns: a tracked
   * commit counts as delivered to this output at once. */
  bool durable_on_push;
};

/* A buffer in memory holding at most `limit` metrics. NULL on ENOMEM. */
twi_buffer *twi_buffer_mem_new(size_t limit);

/* How a buffer lets go of a metric its output did not write: `dropped`
 * true when it is lost (overflow), false when the metric is safe elsewhere
 * (a disk buffer's file). Then drops the reference. */
void twi_buffer_release(tower_metric *m, bool dropped);

#endif
