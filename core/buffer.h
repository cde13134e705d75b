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
#include <tower/types.h>

typedef struct twi_buffer twi_buffer;
struct twi_buffer_stats;
struct twi_buffer_conf;

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

  /* The operations below are optional (NULL in the memory buffer). */

  /* Periodic work, every buffer_fsync_interval from the flush thread: a
   * disk buffer syncs ("interval"), saves its read position, and moves the
   * metrics it had to keep in memory (disk full) to disk. */
  void (*tick)(twi_buffer *b);
  /* Metrics waiting that only memory holds, lost if the process ends now
   * (NULL: all of count()). */
  size_t (*volatile_count)(const twi_buffer *b);
  /* Counters for inputs.internal. */
  void (*stats)(const twi_buffer *b, struct twi_buffer_stats *st);
  /* Takes a new buffer_fsync, buffer_fsync_interval and buffer_max_bytes
   * in place (a reload changed only those). */
  void (*configure)(twi_buffer *b, const struct twi_buffer_conf *c);
  /* Like destroy, and removes the buffer's files: the output took every
   * metric out to keep them elsewhere (a reload switched it to memory or
   * to another directory). */
  void (*discard)(twi_buffer *b);
} twi_buffer_ops;

struct twi_buffer {
  const twi_buffer_ops *ops;
  /* What push took is safe (on disk, synced) before push returns: a tracked
   * commit counts as delivered to this output at once. */
  bool durable_on_push;
  /* With durable_on_push: of the metrics the last push kept (those it did
   * not drop at once), how many, the first ones, are safe on disk; the
   * others wait in memory (the disk is full) and count as delivered only
   * when written. */
  size_t pushed_durable;
  /* Set by take(): damaged records found (and skipped) while reading, lost
   * after the first lost_after metrics of the batch taken. The caller
   * settles them as dropped and resets lost to 0. */
  size_t lost, lost_after;
};

/* A buffer in memory holding at most `limit` metrics. NULL on ENOMEM. */
twi_buffer *twi_buffer_mem_new(size_t limit);

/* ---- disk buffers (buffer_disk.c; the format is in core/README.md) ---- */

/* When what a push wrote counts as safe (buffer_fsync). */
typedef enum twi_buffer_fsync {
  TWI_FSYNC_COMMIT,   /* write + fdatasync before push returns */
  TWI_FSYNC_INTERVAL, /* write at push, fdatasync at each tick */
  TWI_FSYNC_NEVER,    /* write at push; the kernel writes back when it likes */
} twi_buffer_fsync;

/* An output's buffer settings (buffer_strategy and the options that go
 * with it; agent.buffer_directory). */
typedef struct twi_buffer_conf {
  bool disk;
  char *dir; /* <buffer_directory>/<safe instance id>; NULL for memory */
  twi_buffer_fsync fsync;
  int64_t fsync_interval; /* ns */
  uint64_t max_bytes;
} twi_buffer_conf;

/* What a disk buffer holds and has seen (since it was opened). */
typedef struct twi_buffer_stats {
  uint64_t disk_bytes;   /* size of its segment files */
  uint64_t disk_records; /* metrics waiting on disk */
  uint64_t replayed;     /* metrics found on disk when it was opened */
  uint64_t corrupt;      /* damaged or malformed records skipped */
  uint64_t unsaved;      /* metrics the disk refused, kept in memory instead */
} twi_buffer_stats;

/* Opens the disk buffer in c->dir (creating it): takes the directory's
 * lock (a second holder, in this process or another, is refused), then
 * reads what was not acknowledged, reporting damaged records, so that
 * count() is what will be replayed. Holds at most `limit` metrics and
 * c->max_bytes of files. `ctx` names the output in log lines (NULL: the
 * agent). NULL, with the reason logged, on failure (-errno in *err). */
twi_buffer *twi_buffer_disk_open(const twi_buffer_conf *c, size_t limit, const tower_ctx *ctx,
                                 int *err);

/* Whether a disk buffer of this process has `dir` open now. */
bool twi_buffer_disk_in_use(const char *dir);

/* The directory name of an instance's disk buffer: its id with every byte
 * outside [A-Za-z0-9._-] as %XX, and the ':' before the alias as '@'
 * ("outputs.influxdb:main" -> "outputs.influxdb@main"), so that two ids
 * never share a name. A name too long for one directory entry ends in a
 * checksum of the id instead. Writes at most `size` bytes, NUL included. */
void twi_buffer_dir_name(const char *id, char *out, size_t size);

/* How a buffer lets go of a metric its output did not write: `dropped`
 * true when it is lost (overflow), false when the metric is safe elsewhere
 * (a disk buffer's file). Then drops the reference. */
void twi_buffer_release(tower_metric *m, bool dropped);

#endif
