/* The mount table (mounts.h), parsed as gopsutil's disk.Partitions(true)
 * parses it (disk/disk_linux.go), so that the device, mode and bind
 * decisions, and with them the tags, are Telegraf's. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mounts.h"

/* A run of bytes inside the file's buffer. */
typedef struct span {
  const char *p;
  size_t n;
} span;

static bool span_is(span s, const char *lit) {
  size_t n = strlen(lit);
  return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool span_starts(span s, const char *lit) {
  size_t n = strlen(lit);
  return s.n >= n && memcmp(s.p, lit, n) == 0;
}

/* The next blank-separated field of [*p, end); false when none is left. */
static bool next_field(const char **p, const char *end, span *out) {
  const char *s = *p;
  while (s < end && (*s == ' ' || *s == '\t'))
    s++;
  if (s == end)
    return false;
  const char *e = s;
  while (e < end && *e != ' ' && *e != '\t')
    e++;
  *out = (span){s, (size_t)(e - s)};
  *p = e;
  return true;
}

/* True when the comma-separated list holds the option. */
static bool list_has(span list, const char *opt, size_t n) {
  if (!list.p) /* a mounts file has no super block options */
    return false;
  const char *p = list.p, *end = list.p + list.n;
  while (p <= end) {
    const char *c = memchr(p, ',', (size_t)(end - p));
    const char *e = c ? c : end;
    if ((size_t)(e - p) == n && memcmp(p, opt, n) == 0)
      return true;
    p = e + 1;
  }
  return false;
}

bool mount_opts_has(const char *opts, const char *opt, size_t opt_len) {
  return list_has((span){opts, strlen(opts)}, opt, opt_len);
}

const char *mount_mode(const char *opts) {
  if (mount_opts_has(opts, "rw", 2))
    return "rw";
  if (mount_opts_has(opts, "ro", 2))
    return "ro";
  return "unknown";
}

/* ---- the arena ----------------------------------------------------------- */

static int arena_reserve(mount_table *t, size_t more) {
  if (t->arena_len + more <= t->arena_cap)
    return 0;
  size_t cap = t->arena_cap ? t->arena_cap : 4096;
  while (cap < t->arena_len + more)
    cap *= 2;
  char *a = realloc(t->arena, cap);
  if (!a)
    return -ENOMEM;
  t->arena = a;
  t->arena_cap = cap;
  return 0;
}

/* Appends s[0, n) and a NUL; *off is where it starts. */
static int arena_add(mount_table *t, const char *s, size_t n, size_t *off) {
  if (arena_reserve(t, n + 1))
    return -ENOMEM;
  *off = t->arena_len;
  memcpy(t->arena + t->arena_len, s, n);
  t->arena[t->arena_len + n] = '\0';
  t->arena_len += n + 1;
  return 0;
}

static int is_octal(char c) {
  return c >= '0' && c <= '7';
}

/* Appends a mount point with the kernel's \ooo escapes (space, tab,
 * newline, backslash) undone. */
static int arena_add_unescaped(mount_table *t, span s, size_t *off) {
  if (arena_reserve(t, s.n + 1))
    return -ENOMEM;
  *off = t->arena_len;
  char *out = t->arena + t->arena_len;
  size_t o = 0;
  for (size_t i = 0; i < s.n; i++) {
    if (s.p[i] == '\\' && i + 3 < s.n && is_octal(s.p[i + 1]) && is_octal(s.p[i + 2]) &&
        is_octal(s.p[i + 3])) {
      out[o++] = (char)(((s.p[i + 1] - '0') << 6) | ((s.p[i + 2] - '0') << 3) | (s.p[i + 3] - '0'));
      i += 3;
    } else {
      out[o++] = s.p[i];
    }
  }
  out[o] = '\0';
  t->arena_len += o + 1;
  return 0;
}

/* ---- devices seen (bind mounts) ------------------------------------------ */

static int devs_reset(mount_table *t, size_t lines) {
  size_t cap = 16;
  while (cap < lines * 2)
    cap *= 2;
  if (cap > t->devs_cap) {
    mount_dev_slot *d = realloc(t->devs, cap * sizeof *d);
    if (!d)
      return -ENOMEM;
    t->devs = d;
    t->devs_cap = cap;
  }
  memset(t->devs, 0, t->devs_cap * sizeof *t->devs);
  return 0;
}

/* The slot of a device id: the one holding it (*fresh false), or the
 * empty one now taken for it (*fresh true). The table is at most half
 * full, so there always is one. */
static mount_dev_slot *devs_slot(mount_table *t, unsigned major, unsigned minor, bool *fresh) {
  uint64_t id = ((uint64_t)major << 32 | minor) + 1;
  size_t mask = t->devs_cap - 1;
  size_t i = (size_t)((id * 0x9E3779B97F4A7C15ull) >> 20) & mask;
  while (t->devs[i].devid && t->devs[i].devid != id)
    i = (i + 1) & mask;
  *fresh = t->devs[i].devid == 0;
  t->devs[i].devid = id;
  return &t->devs[i];
}

/* ---- one line ------------------------------------------------------------ */

/* What a line says, before the device is decided. */
typedef struct line_fields {
  span devid, root, point, opts, fstype, src, super;
} line_fields;

/* proc_pid_mountinfo(5): "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 -
 * ext3 /dev/root rw,errors=continue". Optional fields sit before " - ". */
static bool split_mountinfo(const char *line, size_t len, line_fields *f) {
  const char *end = line + len, *sep = memmem(line, len, " - ", 3);
  if (!sep)
    return false;
  const char *p = line;
  span id;
  *f = (line_fields){0};
  if (!next_field(&p, sep, &id) || !next_field(&p, sep, &id) || !next_field(&p, sep, &f->devid) ||
      !next_field(&p, sep, &f->root) || !next_field(&p, sep, &f->point))
    return false;
  next_field(&p, sep, &f->opts);
  p = sep + 3;
  if (!next_field(&p, end, &f->fstype) || !next_field(&p, end, &f->src))
    return false;
  next_field(&p, end, &f->super);
  return true;
}

/* fstab(5) format: "/dev/sda1 / ext4 rw,relatime 0 0". */
static bool split_mounts(const char *line, size_t len, line_fields *f) {
  const char *p = line, *end = line + len;
  *f = (line_fields){0};
  f->root = (span){"/", 1};
  return next_field(&p, end, &f->src) && next_field(&p, end, &f->point) &&
         next_field(&p, end, &f->fstype) && next_field(&p, end, &f->opts);
}

/* "major:minor" */
static bool parse_devid(span s, unsigned *major, unsigned *minor) {
  const char *p = s.p, *end = s.p + s.n;
  uint64_t a, b;
  if (!host_parse_u64(&p, end, &a) || p == end || *p++ != ':' || !host_parse_u64(&p, end, &b) ||
      p != end || a > UINT32_MAX || b > UINT32_MAX)
    return false;
  *major = (unsigned)a;
  *minor = (unsigned)b;
  return true;
}

/* Since Linux 2.6.16 a mount and its super block are read-only apart: the
 * mount is writable only when both say rw. The mount's own ro/rw option is
 * replaced by the effective mode (gopsutil's effectiveMountOpts). */
static int add_effective_opts(mount_table *t, const line_fields *f, bool bind, size_t *off) {
  const char *mode = NULL;
  if (list_has(f->opts, "ro", 2) || list_has(f->super, "ro", 2))
    mode = "ro";
  else if (list_has(f->opts, "rw", 2) && list_has(f->super, "rw", 2))
    mode = "rw";
  if (arena_reserve(t, f->opts.n + sizeof ",bind" + 3))
    return -ENOMEM;
  *off = t->arena_len;
  char *out = t->arena + t->arena_len;
  size_t o = 0;
  bool placed = false;
  const char *p = f->opts.p, *end = f->opts.p + f->opts.n;
  while (f->opts.n && p <= end) {
    const char *c = memchr(p, ',', (size_t)(end - p));
    const char *e = c ? c : end;
    span opt = {p, (size_t)(e - p)};
    bool rwro = mode && (span_is(opt, "ro") || span_is(opt, "rw"));
    if (rwro && !placed)
      opt = (span){mode, 2};
    if (!rwro || !placed) {
      if (o)
        out[o++] = ',';
      memcpy(out + o, opt.p, opt.n);
      o += opt.n;
      placed = placed || rwro;
    }
    p = e + 1;
  }
  if (mode && !placed) { /* no ro/rw among the mount's options: put it first */
    memmove(out + 3, out, o);
    memcpy(out, mode, 2);
    out[2] = o ? ',' : '\0';
    o += o ? 3 : 2;
  }
  if (bind) {
    memcpy(out + o, o ? ",bind" : "bind", o ? 5 : 4);
    o += o ? 5 : 4;
  }
  out[o] = '\0';
  t->arena_len += o + 1;
  return 0;
}

/* A btrfs subvolume mount has root == its subvol= option: not a bind. */
static bool is_subvolume(const line_fields *f) {
  const char *p = f->super.p, *end = f->super.p + f->super.n;
  while (f->super.n && p <= end) {
    const char *c = memchr(p, ',', (size_t)(end - p));
    const char *e = c ? c : end;
    span opt = {p, (size_t)(e - p)};
    if (span_starts(opt, "subvol="))
      return opt.n - 7 == f->root.n && memcmp(opt.p + 7, f->root.p, f->root.n) == 0;
    p = e + 1;
  }
  return false;
}

/* "/dev/" + the last component of a symlink's target, when path is one. */
static bool link_base(const char *path, char *out, size_t len) {
  char target[PATH_MAX];
  ssize_t n = readlink(path, target, sizeof target - 1);
  if (n <= 0)
    return false;
  target[n] = '\0';
  const char *base = strrchr(target, '/');
  base = base ? base + 1 : target;
  return *base && (size_t)snprintf(out, len, "/dev/%s", base) < len;
}

/* /dev/mapper/<name> links to its dm-N node (through HOST_DEV); /dev/root
 * is named by the kernel after the device's major:minor in sysfs. */
static int resolve_device(mount_table *t, const mount_roots *r, mount_rec *rec) {
  const char *dev = mount_str(t, rec->device);
  char path[PATH_MAX], real[PATH_MAX];
  bool found = false;
  if (strncmp(dev, "/dev/mapper/", 12) == 0) {
    found = (size_t)snprintf(path, sizeof path, "%s/mapper/%s", r->dev, dev + 12) < sizeof path &&
            link_base(path, real, sizeof real);
  } else if (strcmp(dev, "/dev/root") == 0) {
    found = (size_t)snprintf(path, sizeof path, "%s/dev/block/%u:%u", r->host->sys, rec->major,
                             rec->minor) < sizeof path &&
            link_base(path, real, sizeof real);
  }
  return found ? arena_add(t, real, strlen(real), &rec->device) : 0;
}

/* gopsutil's device: the source when it is a path or the whole file system
 * is mounted, else the root inside it (nsfs binds); a device id seen on an
 * earlier line keeps that line's device (a bind mount names its origin). */
static int decide_device(mount_table *t, const line_fields *f, mount_rec *rec) {
  span dev = f->root;
  if ((f->src.n && f->src.p[0] == '/') || span_is(f->root, "/"))
    dev = f->src;
  if (!f->devid.n) /* a mounts file: no device ids */
    return arena_add(t, dev.p, dev.n, &rec->device);
  bool fresh;
  mount_dev_slot *s = devs_slot(t, rec->major, rec->minor, &fresh);
  if (!fresh) {
    rec->device = s->device;
    return 0;
  }
  int rc = arena_add(t, dev.p, dev.n, &rec->device);
  s->device = rec->device;
  return rc;
}

static int add_record(mount_table *t, const mount_roots *r, const line_fields *f) {
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    mount_rec *n = realloc(t->recs, cap * sizeof *n);
    if (!n)
      return -ENOMEM;
    t->recs = n;
    t->cap = cap;
  }
  mount_rec *rec = &t->recs[t->n];
  *rec = (mount_rec){0};
  if (f->devid.n && !parse_devid(f->devid, &rec->major, &rec->minor))
    return -EINVAL;
  bool bind =
      f->devid.n && f->src.n && f->src.p[0] == '/' && !span_is(f->root, "/") && !is_subvolume(f);
  int rc = arena_add_unescaped(t, f->point, &rec->point);
  rc = rc ? rc : decide_device(t, f, rec);
  rc = rc ? rc : resolve_device(t, r, rec);
  rc = rc ? rc : arena_add(t, f->fstype.p, f->fstype.n, &rec->fstype);
  rc = rc ? rc : add_effective_opts(t, f, bind, &rec->opts);
  if (rc == 0)
    t->n++;
  return rc;
}

static size_t count_lines(const host_buf *b) {
  size_t n = 1;
  for (const char *p = b->data, *end = b->data + b->len; p < end; p++) {
    p = memchr(p, '\n', (size_t)(end - p));
    if (!p)
      break;
    n++;
  }
  return n;
}

static int parse_table(mount_table *t, const mount_roots *r, bool mountinfo, size_t *skipped) {
  t->n = 0;
  t->points_built = false;
  t->arena_len = 0;
  if (mountinfo && devs_reset(t, count_lines(&t->file)))
    return -ENOMEM;
  host_lines it;
  host_lines_init(&it, &t->file);
  const char *line;
  size_t len;
  while (host_lines_next(&it, &line, &len)) {
    if (len == 0)
      continue;
    line_fields f;
    bool ok = mountinfo ? split_mountinfo(line, len, &f) : split_mounts(line, len, &f);
    int rc = ok ? add_record(t, r, &f) : -EINVAL;
    if (rc == -ENOMEM)
      return rc;
    if (rc)
      (*skipped)++;
  }
  return 0;
}

/* gopsutil's order: init's table first (the host's, also from inside a
 * container), mountinfo before mounts (which kernels before 2.6.26 only
 * have), then our own. */
static const struct {
  const char *rel;
  bool mountinfo;
} sources[] = {
    {"1/mountinfo", true},
    {"1/mounts", false},
    {"self/mountinfo", true},
    {"self/mounts", false},
};

int mount_table_read(mount_table *t, const mount_roots *r, size_t *skipped) {
  int first = 0;
  char first_path[PATH_MAX] = "";
  *skipped = 0;
  for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
    if (!host_path(t->path, sizeof t->path, r->host->proc, sources[i].rel))
      return -ENAMETOOLONG;
    int rc = host_read(&t->file, t->path, 0);
    if (rc == 0)
      return parse_table(t, r, sources[i].mountinfo, skipped);
    if (!first) {
      first = rc;
      memcpy(first_path, t->path, sizeof first_path);
    }
  }
  memcpy(t->path, first_path, sizeof t->path);
  return first;
}

/* FNV-1a. */
static uint64_t hash_str(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

static int build_points(mount_table *t) {
  size_t cap = 16;
  while (cap < t->n * 2)
    cap *= 2;
  if (cap > t->points_cap) {
    size_t *p = realloc(t->points, cap * sizeof *p);
    if (!p)
      return -ENOMEM;
    t->points = p;
    t->points_cap = cap;
  }
  memset(t->points, 0, t->points_cap * sizeof *t->points);
  size_t mask = t->points_cap - 1;
  for (size_t i = 0; i < t->n; i++) {
    size_t k = (size_t)hash_str(mount_str(t, t->recs[i].point)) & mask;
    while (t->points[k])
      k = (k + 1) & mask;
    t->points[k] = i + 1;
  }
  t->points_built = true;
  return 0;
}

bool mount_table_has_point(mount_table *t, const char *path) {
  if (!t->points_built && build_points(t)) {
    for (size_t i = 0; i < t->n; i++) /* out of memory: the slow way */
      if (strcmp(mount_str(t, t->recs[i].point), path) == 0)
        return true;
    return false;
  }
  size_t mask = t->points_cap - 1;
  for (size_t k = (size_t)hash_str(path) & mask; t->points[k]; k = (k + 1) & mask)
    if (strcmp(mount_str(t, t->recs[t->points[k] - 1].point), path) == 0)
      return true;
  return false;
}

void mount_table_free(mount_table *t) {
  host_buf_free(&t->file);
  free(t->arena);
  free(t->recs);
  free(t->devs);
  free(t->points);
  memset(t, 0, sizeof *t);
}
