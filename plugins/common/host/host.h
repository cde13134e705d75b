/* What the host inputs (cpu, mem, swap, disk, diskio, net, netstat, system,
 * kernel, processes, procstat) share: where the host's /proc, /sys, /etc,
 * mounts and /run are, and reading their small text files without an
 * allocation per gather. A static library linked into each host plugin (as
 * plugins/common/kafka is); not installed, not SDK.
 *
 * Roots follow Telegraf (gopsutil): HOST_PROC, HOST_SYS, HOST_ETC,
 * HOST_MOUNT_PREFIX and HOST_RUN, read once when the instance is built, so
 * that a tower in a container watches the host whose directories are
 * mounted there. */
#ifndef TOWER_HOST_H
#define TOWER_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tower/tower.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The host's directories, each without a trailing slash ("" for
 * mount_prefix when HOST_MOUNT_PREFIX is unset: mount points are used as
 * the mount table writes them). */
typedef struct host_roots {
  char proc[256], sys[256], etc[256], run[256], mount_prefix[256];
} host_roots;

/* Reads the environment. 0, or -ENAMETOOLONG after tower_config_error()
 * naming the variable (cfg may be NULL: then only logged to ctx). */
int host_roots_load(host_roots *r, tower_ctx *ctx, const tower_config *cfg);

/* "<root>/<rel>" into buf; false when it does not fit. */
bool host_path(char *buf, size_t len, const char *root, const char *rel);

/* A buffer a plugin keeps in its state and reuses at every gather: a file is
 * read whole into it, growing it (never shrinking) as needed, so that a
 * gather allocates nothing once the buffer has its size. The text ends with
 * a NUL; bytes NUL-ed inside a file (/proc/<pid>/cmdline) are kept. */
typedef struct host_buf {
  char *data;
  size_t len, cap;
} host_buf;

/* Reads `path` whole (up to `max` bytes; 0: 16 MiB). 0, -errno of
 * open/read, or -EFBIG when the file is larger than max. The file may
 * vanish between two gathers (a process that exits): -ENOENT then, which
 * callers of per-process files treat as "gone", not as an error. */
int host_read(host_buf *b, const char *path, size_t max);
/* Frees the buffer. */
void host_buf_free(host_buf *b);

/* Lines of a buffer, one at a time, however long: *line points at the
 * line (not NUL-terminated), *len is its length. false at the end. */
typedef struct host_lines {
  const char *p, *end;
} host_lines;
void host_lines_init(host_lines *it, const host_buf *b);
bool host_lines_next(host_lines *it, const char **line, size_t *len);

/* Parses an unsigned decimal at *p (after spaces), advancing *p; false
 * when there is none or it overflows. */
bool host_parse_u64(const char **p, const char *end, uint64_t *out);

/* The value of "<key>:" at the start of a line of a "Key: value [kB]" file
 * (/proc/meminfo, /proc/<pid>/status), in the file's own unit. */
bool host_key_u64(const host_buf *b, const char *key, uint64_t *out);

/* The entries of a directory (/proc, /proc/<pid>/fd), read with
 * getdents64(2) into a host_buf the caller keeps, so that listing a
 * directory allocates nothing once the buffer has its size (opendir(3)
 * allocates at every call). "." and ".." are skipped. */
typedef struct host_dir {
  int fd;
  host_buf *buf;
  size_t pos, end;
  int err; /* the errno that ended the listing early, or 0 */
} host_dir;

/* Opens `path` for host_dir_next(). 0 or -errno of open (-ENOENT when a
 * process's directory vanished). */
int host_dir_open(host_dir *d, host_buf *buf, const char *path);
/* The next entry's name (borrowed until the next call), or NULL at the end
 * or on a read error (then d->err is set). */
const char *host_dir_next(host_dir *d);
void host_dir_close(host_dir *d);
/* The number of entries of `path` ("." and ".." excluded), or -errno. */
long host_dir_count(host_buf *buf, const char *path);

/* Parses a decimal such as "1.13" or "0.00" at *p (after spaces), as strtod
 * in the C locale rounds it, advancing *p; false when no digit starts it.
 * For the fractions of /proc/loadavg and /proc/pressure. */
bool host_parse_double(const char **p, const char *end, double *out);

/* The value of property `key` in a udev database file
 * (<HOST_RUN>/udev/data/b<major>:<minor>, lines "E:KEY=value"): *val points
 * into the buffer (not NUL-terminated), *len is its length. false when the
 * file has no such property. */
bool host_udev_prop(const host_buf *b, const char *key, const char **val, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
