/* outputs.file internals, shared by file.c (options, batches) and
 * file_dest.c (one destination: opening, reopening after logrotate,
 * rotation and archives). See README.md for the behaviour. */
#ifndef TOWER_OUTPUTS_FILE_H
#define TOWER_OUTPUTS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <tower/tower.h>

/* Rotation settings, shared by every file of the instance. */
typedef struct file_rotation {
  int64_t interval;     /* ns; 0: no rotation by age */
  uint64_t max_size;    /* bytes; 0: no rotation by size */
  int64_t max_archives; /* archives kept; -1: all */
} file_rotation;

/* One entry of `files`. */
typedef struct file_dest {
  const char *path; /* borrowed from the config */
  bool is_stdout;
  int fd; /* -1: not open */
  dev_t dev;
  ino_t ino;
  uint64_t size;     /* bytes in the current file */
  int64_t expire_ns; /* wall-clock time the current file is due for rotation */
  char *dir;         /* directory of path ("." when none) */
  char *stem, *ext;  /* base name split at its extension: "metrics", ".out" */
  /* A batch this file took part of before another file failed: the retry
   * of that batch starts after what this file has (see file.c). */
  const tower_metric *done_first; /* retained; NULL: none */
  size_t done_n;
} file_dest;

/* Splits path into dir, stem and ext (Telegraf's rotation template). 0 or
 * -ENOMEM. */
int file_dest_init(file_dest *d, const char *path);
void file_dest_free(file_dest *d);

/* Opens the file (created with mode 0644 when missing, appended to) and
 * rotates a file that is already due. 0 or -errno, logged. */
int file_dest_open(tower_ctx *ctx, file_dest *d, const file_rotation *r);
/* Before a write: reopens the file when its name no longer leads to the
 * open file (logrotate moved or deleted it) and takes over its current
 * size (copytruncate). 0 or -errno, logged. */
int file_dest_check(tower_ctx *ctx, file_dest *d, const file_rotation *r);
/* Appends data[0..len); a failed write is cut back so the file never ends
 * in a partial metric. 0 or -errno, logged with what to do. */
int file_dest_write(tower_ctx *ctx, file_dest *d, const char *data, size_t len);
/* Whether the file is due for rotation now (size or age). */
bool file_dest_due(const file_dest *d, const file_rotation *r, int64_t now_ns);
/* Renames the file to its archive name, opens a new one and removes the
 * archives beyond max_archives. A failed rename is logged and writing goes
 * on in the old file (as Telegraf does). 0 or -errno of the reopen. */
int file_dest_rotate(tower_ctx *ctx, file_dest *d, const file_rotation *r);
void file_dest_close(file_dest *d);

/* Telegraf's archive name: <dir>/<stem>.<YYYY-MM-DD>-<unix seconds><ext>
 * (local date), with "_<n>" after the seconds when that name is taken
 * (several rotations within a second). Into buf; false when it does not
 * fit. */
bool file_archive_name(const file_dest *d, int64_t now_ns, unsigned n, char *buf, size_t size);
/* Removes the oldest archives of d beyond max_archives (-1: none). */
void file_purge_archives(tower_ctx *ctx, const file_dest *d, int64_t max_archives);

#endif
