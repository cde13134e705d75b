/* The mount table as inputs.disk sees it: gopsutil's disk.Partitions(true),
 * which Telegraf's inputs.disk reads, done without an allocation per line.
 *
 * The file is <HOST_PROC>/1/mountinfo, else 1/mounts (kernels before
 * 2.6.26), else self/mountinfo, else self/mounts: init's table is the
 * host's even when tower runs in a container that mounts the host's /proc.
 * Each line becomes a record whose strings live in the table's arena; both
 * are reused from one read to the next. */
#ifndef TOWER_DISK_MOUNTS_H
#define TOWER_DISK_MOUNTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host.h"

typedef struct mount_rec {
  /* Offsets into the arena of NUL-terminated strings. */
  size_t point;  /* the mount point, unescaped (\040 -> ' ') */
  size_t device; /* gopsutil's Device: the source or a bind's origin, with
                    /dev/root and /dev/mapper links resolved */
  size_t fstype;
  size_t opts;           /* the per-mount options, ro/rw made effective (ro when the
                            mount or its super block is ro), ",bind" for a bind mount */
  unsigned major, minor; /* st_dev of the mount (0:0 from a mounts file) */
} mount_rec;

typedef struct mount_dev_slot {
  uint64_t devid; /* major << 32 | minor, + 1 (0: empty) */
  size_t device;  /* arena offset of the first device seen for it */
} mount_dev_slot;

typedef struct mount_table {
  host_buf file;
  char *arena;
  size_t arena_len, arena_cap;
  mount_rec *recs;
  size_t n, cap;
  mount_dev_slot *devs; /* open addressing, for bind mounts */
  size_t devs_cap;
  size_t *points; /* open addressing over records + 1 (0: empty), by mount
                     point; built on demand by mount_table_has_point */
  size_t points_cap;
  bool points_built;
  char path[PATH_MAX]; /* the file read (or the first that failed) */
} mount_table;

/* Where the table comes from: roots for the files, and HOST_DEV (gopsutil's,
 * default /dev) to resolve /dev/mapper/ links. */
typedef struct mount_roots {
  const host_roots *host;
  const char *dev;
} mount_roots;

/* Reads and parses the table. 0, or the negative errno of the first file
 * tried (t->path names it); -ENOMEM. Malformed lines are skipped (counted
 * in *skipped). */
int mount_table_read(mount_table *t, const mount_roots *r, size_t *skipped);

static inline const char *mount_str(const mount_table *t, size_t off) {
  return t->arena + off;
}

/* True when some record's mount point is `path`. */
bool mount_table_has_point(mount_table *t, const char *path);

/* True when the comma-separated list `opts` holds `opt`. */
bool mount_opts_has(const char *opts, const char *opt, size_t opt_len);

/* Telegraf's mode tag: "rw", "ro" or "unknown". */
const char *mount_mode(const char *opts);

void mount_table_free(mount_table *t);

#endif
