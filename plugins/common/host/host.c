/* The host inputs' roots and file reading (host.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"

#define HOST_READ_MAX (16u << 20)

/* One root: the variable when set (trailing slashes dropped), else `def`. */
static int load_root(char *out, size_t len, const char *var, const char *def, tower_ctx *ctx,
                     const tower_config *cfg) {
  const char *v = getenv(var);
  if (!v || !*v)
    v = def;
  size_t n = strlen(v);
  while (n > 1 && v[n - 1] == '/')
    n--;
  if (n >= len) {
    if (cfg)
      return tower_config_error(cfg, NULL, "%s is too long (%zu bytes; at most %zu)", var, n,
                                len - 1);
    tower_error(ctx, "%s is too long (%zu bytes; at most %zu)", var, n, len - 1);
    return -ENAMETOOLONG;
  }
  memcpy(out, v, n);
  out[n] = '\0';
  return 0;
}

int host_roots_load(host_roots *r, tower_ctx *ctx, const tower_config *cfg) {
  int rc = load_root(r->proc, sizeof r->proc, "HOST_PROC", "/proc", ctx, cfg);
  rc = rc ? rc : load_root(r->sys, sizeof r->sys, "HOST_SYS", "/sys", ctx, cfg);
  rc = rc ? rc : load_root(r->etc, sizeof r->etc, "HOST_ETC", "/etc", ctx, cfg);
  rc = rc ? rc : load_root(r->run, sizeof r->run, "HOST_RUN", "/run", ctx, cfg);
  rc = rc ? rc
          : load_root(r->mount_prefix, sizeof r->mount_prefix, "HOST_MOUNT_PREFIX", "", ctx, cfg);
  if (rc == 0 && strcmp(r->mount_prefix, "/") == 0)
    r->mount_prefix[0] = '\0'; /* "/" + "/home" must stay "/home" */
  return rc;
}

bool host_path(char *buf, size_t len, const char *root, const char *rel) {
  int n = snprintf(buf, len, "%s/%s", root, rel[0] == '/' ? rel + 1 : rel);
  return n >= 0 && (size_t)n < len;
}

static int grow(host_buf *b, size_t need) {
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < need)
    cap *= 2;
  char *d = realloc(b->data, cap);
  if (!d)
    return -ENOMEM;
  b->data = d;
  b->cap = cap;
  return 0;
}

/* /proc files report a size of 0 and may be longer than a page: read until
 * the end, growing the buffer. */
int host_read(host_buf *b, const char *path, size_t max) {
  if (!max)
    max = HOST_READ_MAX;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  b->len = 0;
  int rc = 0;
  for (;;) {
    if (b->len == max) {
      rc = -EFBIG;
      break;
    }
    if ((rc = grow(b, b->len + 4096 + 1)))
      break;
    size_t room = b->cap - 1 - b->len;
    if (room > max - b->len)
      room = max - b->len;
    ssize_t n = read(fd, b->data + b->len, room);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = -errno;
      break;
    }
    if (n == 0)
      break;
    b->len += (size_t)n;
  }
  close(fd);
  if (b->data)
    b->data[b->len] = '\0';
  return rc;
}

void host_buf_free(host_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void host_lines_init(host_lines *it, const host_buf *b) {
  it->p = b->data;
  it->end = b->data ? b->data + b->len : NULL;
}

bool host_lines_next(host_lines *it, const char **line, size_t *len) {
  if (!it->p || it->p >= it->end)
    return false;
  const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
  const char *stop = nl ? nl : it->end;
  *line = it->p;
  *len = (size_t)(stop - it->p);
  it->p = nl ? nl + 1 : it->end;
  return true;
}

bool host_parse_u64(const char **p, const char *end, uint64_t *out) {
  const char *s = *p;
  while (s < end && (*s == ' ' || *s == '\t'))
    s++;
  if (s == end || *s < '0' || *s > '9')
    return false;
  uint64_t v = 0;
  for (; s < end && *s >= '0' && *s <= '9'; s++) {
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *out = v;
  *p = s;
  return true;
}

bool host_key_u64(const host_buf *b, const char *key, uint64_t *out) {
  size_t klen = strlen(key);
  host_lines it;
  host_lines_init(&it, b);
  const char *line;
  size_t len;
  while (host_lines_next(&it, &line, &len)) {
    if (len <= klen || line[klen] != ':' || memcmp(line, key, klen) != 0)
      continue;
    const char *p = line + klen + 1;
    return host_parse_u64(&p, line + len, out);
  }
  return false;
}

/* ---- directories --------------------------------------------------------- */

#include <sys/syscall.h>

int host_dir_open(host_dir *d, host_buf *buf, const char *path) {
  memset(d, 0, sizeof *d);
  d->buf = buf;
  d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d->fd < 0)
    return -errno;
  int rc = grow(buf, 32768);
  if (rc) {
    close(d->fd);
    d->fd = -1;
  }
  return rc;
}

/* The layout of the records getdents64(2) fills (glibc declares no
 * struct for it). */
struct host_dirent64 {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[];
};

const char *host_dir_next(host_dir *d) {
  for (;;) {
    if (d->pos >= d->end) {
      if (d->fd < 0)
        return NULL;
      long n = syscall(SYS_getdents64, d->fd, d->buf->data, d->buf->cap);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        d->err = n < 0 ? errno : 0;
        return NULL;
      }
      d->pos = 0;
      d->end = (size_t)n;
    }
    const struct host_dirent64 *e = (const void *)(d->buf->data + d->pos);
    d->pos += e->reclen;
    if (e->name[0] == '.' && (e->name[1] == '\0' || (e->name[1] == '.' && e->name[2] == '\0')))
      continue;
    return e->name;
  }
}

void host_dir_close(host_dir *d) {
  if (d->fd >= 0)
    close(d->fd);
  d->fd = -1;
}

long host_dir_count(host_buf *buf, const char *path) {
  host_dir d;
  int rc = host_dir_open(&d, buf, path);
  if (rc)
    return rc;
  long n = 0;
  while (host_dir_next(&d))
    n++;
  host_dir_close(&d);
  return d.err ? -d.err : n;
}

bool host_parse_double(const char **p, const char *end, double *out) {
  const char *s = *p;
  while (s < end && (*s == ' ' || *s == '\t'))
    s++;
  /* Only plain decimals: strtod would also take signs, "inf", "nan", hex
   * and blanks, none of which a /proc number is. */
  if (s == end || *s < '0' || *s > '9')
    return false;
  char *stop;
  double v = strtod(s, &stop); /* "." is the decimal point: tower keeps the C locale */
  if (stop > end)
    return false;
  *out = v;
  *p = stop;
  return true;
}

bool host_udev_prop(const host_buf *b, const char *key, const char **val, size_t *len) {
  size_t klen = strlen(key);
  host_lines it;
  host_lines_init(&it, b);
  const char *line;
  size_t n;
  while (host_lines_next(&it, &line, &n)) {
    if (n < klen + 3 || line[0] != 'E' || line[1] != ':' || line[klen + 2] != '=' ||
        memcmp(line + 2, key, klen) != 0)
      continue;
    *val = line + klen + 3;
    *len = n - klen - 3;
    return true;
  }
  return false;
}
