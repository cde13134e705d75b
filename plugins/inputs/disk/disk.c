/* inputs.disk: usage of every mounted file system, with the metric, tags,
 * fields, types and arithmetic of Telegraf's inputs.disk (plugins/inputs/
 * disk/disk.go, plugins/common/psutil DiskUsage, gopsutil's disk.Usage).
 *
 * A gather reads the mount table (mounts.c), picks the mounts Telegraf
 * would (mount_points, ignore_mount_opts, ignore_fs and autofs, the
 * HOST_MOUNT_PREFIX rules), asks statfs(2) about each through the pool of
 * stat_pool.c -- so a hung NFS mount costs a timeout, not the input -- and
 * emits one gauge "disk" per mount whose file system has blocks. Once the
 * buffers have their size, a gather allocates only its metrics.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "../../common/plural.h"
#include "host.h"
#include "mounts.h"
#include "stat_pool.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* Paths named in one gather's error message about hung mounts. */
#define HUNG_LISTED 4

/* A mount chosen for statfs: its record and the paths it needs. */
typedef struct disk_cand {
  size_t rec;       /* index in the mount table */
  size_t stat_path; /* offsets into paths: what statfs is given, */
  size_t tag_path;  /* and the path tag */
} disk_cand;

typedef struct disk_state {
  tower_ctx *ctx;
  host_roots roots;
  char dev_root[256]; /* HOST_DEV, for /dev/mapper links */
  mount_roots mroots;
  /* the option lists, borrowed from the config (valid until destroy) */
  const char **points, **ignore_fs, **ignore_opts;
  size_t n_points, n_ignore_fs, n_ignore_opts;
  int64_t timeout;
  mount_table table;
  disk_cand *cands;
  stat_req *reqs;
  size_t ncands, cands_cap;
  char *paths; /* the candidates' path strings */
  size_t paths_len, paths_cap;
  host_buf small; /* dm/name, dev and udev files read for labels */
  stat_pool *pool;
} disk_state;

static const tower_option options[] = {
    {.name = "mount_points",
     .type = TOWER_OPT_STRINGS,
     .help = "report only these mount points (as the mount table writes them); all when unset"},
    {.name = "ignore_fs",
     .type = TOWER_OPT_STRINGS,
     .default_value = "tmpfs,devtmpfs,devfs,iso9660,overlay,aufs,squashfs",
     .help = "file system types not reported (autofs never is)"},
    {.name = "ignore_mount_opts",
     .type = TOWER_OPT_STRINGS,
     .help = "skip mounts that have any of these options (\"bind\" for bind mounts)"},
    {.name = "timeout",
     .type = TOWER_OPT_DURATION,
     .default_value = "5s",
     .min = "1ms",
     .max = "1h",
     .help = "how long statfs may take for one mount point before it is skipped as hung"},
    TOWER_OPTION_END,
};

/* ---- the candidates' paths ------------------------------------------------ */

static int paths_add(disk_state *s, const char *a, size_t an, const char *b, size_t bn,
                     size_t *off) {
  size_t need = s->paths_len + an + bn + 2;
  if (need > s->paths_cap) {
    size_t cap = s->paths_cap ? s->paths_cap : 4096;
    while (cap < need)
      cap *= 2;
    char *p = realloc(s->paths, cap);
    if (!p)
      return -ENOMEM;
    s->paths = p;
    s->paths_cap = cap;
  }
  char *out = s->paths + s->paths_len;
  memcpy(out, a, an);
  memcpy(out + an, b, bn);
  size_t n = an + bn;
  /* filepath.Clean of what the kernel writes: no "//", no trailing "/" */
  size_t o = 0;
  for (size_t i = 0; i < n; i++)
    if (!(out[i] == '/' && o && out[o - 1] == '/'))
      out[o++] = out[i];
  if (o > 1 && out[o - 1] == '/')
    o--;
  if (o == 0)
    out[o++] = '/';
  out[o] = '\0';
  *off = s->paths_len;
  s->paths_len += o + 1;
  return 0;
}

static int cands_reserve(disk_state *s) {
  if (s->ncands < s->cands_cap)
    return 0;
  size_t cap = s->cands_cap ? s->cands_cap * 2 : 32;
  disk_cand *c = realloc(s->cands, cap * sizeof *c);
  if (!c)
    return -ENOMEM;
  s->cands = c;
  stat_req *r = realloc(s->reqs, cap * sizeof *r);
  if (!r)
    return -ENOMEM;
  s->reqs = r;
  s->cands_cap = cap;
  return 0;
}

/* ---- choosing mounts (psutil's DiskUsage) -------------------------------- */

static bool listed(const char *const *list, size_t n, const char *value) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i], value) == 0)
      return true;
  return false;
}

static bool has_ignored_opt(const disk_state *s, const char *opts) {
  for (size_t i = 0; i < s->n_ignore_opts; i++)
    if (mount_opts_has(opts, s->ignore_opts[i], strlen(s->ignore_opts[i])))
      return true;
  return false;
}

/* `path` is `prefix` or below it (by whole components). */
static bool under(const char *path, const char *prefix) {
  size_t n = strlen(prefix);
  return strncmp(path, prefix, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* Adds the mount as a candidate unless Telegraf would skip it. */
static int consider(disk_state *s, size_t i) {
  mount_table *t = &s->table;
  const mount_rec *r = &t->recs[i];
  const char *point = mount_str(t, r->point), *fstype = mount_str(t, r->fstype);
  if (has_ignored_opt(s, mount_str(t, r->opts)))
    return 0;
  if (s->n_points && !listed(s->points, s->n_points, point))
    return 0;
  if (strcmp(fstype, "autofs") == 0 || listed(s->ignore_fs, s->n_ignore_fs, fstype))
    return 0; /* autofs: statfs would trigger the mount */
  const char *prefix = s->roots.mount_prefix;
  size_t plen = strlen(prefix);
  bool prefixed = plen && !under(point, prefix);
  int rc = cands_reserve(s);
  if (rc)
    return rc;
  disk_cand *c = &s->cands[s->ncands];
  c->rec = i;
  rc = paths_add(s, prefixed ? prefix : "", prefixed ? plen : 0, point, strlen(point),
                 &c->stat_path);
  if (rc)
    return rc;
  /* The host's mount point seen through the prefix is a mount point of
   * its own here (the container's, say): not this one. */
  if (prefixed && mount_table_has_point(t, s->paths + c->stat_path)) {
    tower_debug(s->ctx, "%s: dropped, %s is a mount point of its own", point,
                s->paths + c->stat_path);
    return 0;
  }
  const char *tag = plen && under(point, prefix) ? point + plen : point;
  rc = paths_add(s, "/", 1, tag, strlen(tag), &c->tag_path);
  if (rc == 0)
    s->ncands++;
  return rc;
}

static int choose(disk_state *s) {
  s->ncands = 0;
  s->paths_len = 0;
  for (size_t i = 0; i < s->table.n; i++) {
    int rc = consider(s, i);
    if (rc)
      return rc;
  }
  for (size_t i = 0; i < s->ncands; i++)
    s->reqs[i].path = s->paths + s->cands[i].stat_path;
  return 0;
}

/* ---- labels ---------------------------------------------------------------- */

/* Copies a value, trimmed of blanks and line ends, into out. */
static void copy_trimmed(const char *v, size_t n, char *out, size_t len) {
  while (n && (*v == ' ' || *v == '\t' || *v == '\n'))
    v++, n--;
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\n' || v[n - 1] == '\r'))
    n--;
  if (n >= len)
    n = len - 1;
  memcpy(out, v, n);
  out[n] = '\0';
}

/* Reads <root>/<a><b><c> into s->small; false when it cannot be read. */
static bool read_small(disk_state *s, const char *root, const char *a, const char *b,
                       const char *c) {
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof path, "%s/%s%s%s", root, a, b, c) >= sizeof path)
    return false;
  return host_read(&s->small, path, 64 * 1024) == 0;
}

/* gopsutil's disk.Label: a device-mapper name, else udev's ID_FS_LABEL.
 * The device's major:minor comes from sysfs, where gopsutil stats the node
 * in /dev: the same number, also in a container without the host's /dev. */
static void find_label(disk_state *s, const char *device, char *out, size_t len) {
  out[0] = '\0';
  const char *name = strncmp(device, "/dev/", 5) == 0 ? device + 5 : device;
  if (!*name || strchr(name, '/'))
    return;
  if (read_small(s, s->roots.sys, "block/", name, "/dm/name")) {
    copy_trimmed(s->small.data, s->small.len, out, len);
    return;
  }
  char devno[32];
  if (!read_small(s, s->roots.sys, "class/block/", name, "/dev"))
    return;
  copy_trimmed(s->small.data, s->small.len, devno, sizeof devno);
  const char *v;
  size_t n;
  if (read_small(s, s->roots.run, "udev/data/b", devno, "") &&
      host_udev_prop(&s->small, "ID_FS_LABEL", &v, &n))
    copy_trimmed(v, n, out, len);
}

/* ---- metrics --------------------------------------------------------------- */

/* Telegraf's device tag: the device ("none" and "" become the file system
 * type) with every "/dev/" taken out. */
static void device_tag(const char *device, const char *fstype, char *out, size_t len) {
  if (!*device || strcmp(device, "none") == 0)
    device = fstype;
  size_t o = 0;
  while (*device && o + 1 < len) {
    if (strncmp(device, "/dev/", 5) == 0) {
      device += 5;
      continue;
    }
    out[o++] = *device++;
  }
  out[o] = '\0';
}

/* used / (used + free), in percent, computed as Telegraf computes it. */
static double percent(uint64_t used, uint64_t free) {
  if (used + free == 0)
    return 0;
  return (double)used / ((double)used + (double)free) * 100;
}

static int add_fields(tower_metric *m, const struct statfs *st) {
  uint64_t bsize = st->f_frsize ? (uint64_t)st->f_frsize : (uint64_t)st->f_bsize;
  uint64_t total = (uint64_t)st->f_blocks * bsize, free = (uint64_t)st->f_bavail * bsize;
  uint64_t used = ((uint64_t)st->f_blocks - (uint64_t)st->f_bfree) * bsize;
  uint64_t itotal = st->f_files, ifree = st->f_ffree;
  /* file systems without inode counts may say free > total: gopsutil then
   * reports no inode as used */
  uint64_t iused = itotal >= ifree ? itotal - ifree : 0;
  int rc = tower_metric_add_uint(m, "total", total);
  rc = rc ? rc : tower_metric_add_uint(m, "free", free);
  rc = rc ? rc : tower_metric_add_uint(m, "used", used);
  rc = rc ? rc : tower_metric_add_float(m, "used_percent", percent(used, free));
  rc = rc ? rc : tower_metric_add_uint(m, "inodes_total", itotal);
  rc = rc ? rc : tower_metric_add_uint(m, "inodes_free", ifree);
  rc = rc ? rc : tower_metric_add_uint(m, "inodes_used", iused);
  return rc ? rc : tower_metric_add_float(m, "inodes_used_percent", percent(iused, ifree));
}

static int emit(disk_state *s, tower_acc *acc, const disk_cand *c, const struct statfs *st) {
  const mount_table *t = &s->table;
  const mount_rec *r = &t->recs[c->rec];
  const char *device = mount_str(t, r->device), *fstype = mount_str(t, r->fstype);
  char dev[PATH_MAX], label[256];
  device_tag(device, fstype, dev, sizeof dev);
  find_label(s, !*device || strcmp(device, "none") == 0 ? fstype : device, label, sizeof label);
  tower_metric *m = tower_metric_new("disk", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  int rc = tower_metric_set_type(m, TOWER_GAUGE);
  rc = rc ? rc : tower_metric_add_tag(m, "path", s->paths + c->tag_path);
  if (rc == 0 && dev[0]) /* a source of only "/dev/": no device to name */
    rc = tower_metric_add_tag(m, "device", dev);
  rc = rc ? rc : tower_metric_add_tag(m, "fstype", fstype);
  rc = rc ? rc : tower_metric_add_tag(m, "mode", mount_mode(mount_str(t, r->opts)));
  if (rc == 0 && label[0])
    rc = tower_metric_add_tag(m, "label", label);
  rc = rc ? rc : add_fields(m, st);
  if (rc) {
    tower_metric_free(m);
    return rc;
  }
  return tower_acc_add(acc, m);
}

/* ---- what went wrong ------------------------------------------------------- */

static bool hung(int err) {
  return err == -ETIMEDOUT || err == -EINPROGRESS || err == -EBUSY;
}

/* One error for every mount point that hung this gather. */
static void report_hung(disk_state *s, tower_acc *acc) {
  char msg[2048];
  size_t o = 0, n = 0;
  for (size_t i = 0; i < s->ncands; i++) {
    const stat_req *r = &s->reqs[i];
    if (!hung(r->err) || n++ >= HUNG_LISTED || o >= sizeof msg)
      continue;
    const char *why = r->err == -ETIMEDOUT     ? "did not answer in time"
                      : r->err == -EINPROGRESS ? "still has not answered an earlier call"
                                               : "not tried: every statfs thread is stuck";
    o += (size_t)snprintf(msg + o, sizeof msg - o, "%s%s (%s)", n > 1 ? ", " : "", r->path, why);
  }
  if (!n)
    return;
  if (n > HUNG_LISTED && o < sizeof msg)
    snprintf(msg + o, sizeof msg - o, " and %zu more", n - HUNG_LISTED);
  unsigned stuck = stat_pool_stuck(s->pool);
  tower_acc_error(acc,
                  "statfs hangs on %zu mount point%s, skipped: %s; timeout is %.3gs, %u statfs "
                  "thread%s stuck. A hung NFS/CIFS server or FUSE daemon? Fix or unmount it "
                  "(umount -l), or leave it out with mount_points, ignore_fs or ignore_mount_opts",
                  n, plural_s(n), msg, (double)s->timeout / 1e9, stuck, plural_s(stuck));
}

/* Telegraf skips a mount statfs fails on, at debug level; when all fail,
 * the file systems are not where the table says: say so. */
static void report_failed(disk_state *s, tower_acc *acc) {
  size_t failed = 0, first = 0;
  for (size_t i = 0; i < s->ncands; i++) {
    const stat_req *r = &s->reqs[i];
    if (r->err == 0 || hung(r->err))
      continue;
    if (!failed++)
      first = i;
    tower_debug(s->ctx, "statfs %s: %s; skipped", r->path, strerror(-r->err));
  }
  if (failed && failed == s->ncands)
    tower_acc_error(acc,
                    "statfs failed on all %zu mount point%s of %s (first: %s: %s); when the "
                    "host's file systems are mounted elsewhere (a container), set "
                    "HOST_MOUNT_PREFIX to where they are",
                    failed, plural_s(failed), s->table.path, s->reqs[first].path,
                    strerror(-s->reqs[first].err));
}

/* ---- gather ---------------------------------------------------------------- */

static int read_table(disk_state *s, tower_acc *acc) {
  size_t skipped = 0;
  int rc = mount_table_read(&s->table, &s->mroots, &skipped);
  if (rc == -ENOMEM)
    return rc;
  if (rc) {
    tower_acc_error(acc,
                    "cannot read the mount table %s: %s (nor 1/mounts, self/mountinfo, "
                    "self/mounts there); set HOST_PROC when the host's /proc is mounted elsewhere",
                    s->table.path, strerror(-rc));
    return rc;
  }
  if (skipped)
    tower_debug(s->ctx, "%s: %zu malformed line%s skipped", s->table.path, skipped,
                plural_s(skipped));
  return 0;
}

static int disk_gather(void *state, tower_acc *acc) {
  disk_state *s = state;
  int rc = read_table(s, acc);
  if (rc)
    return rc;
  if ((rc = choose(s)))
    return rc;
  if (!s->pool && !(s->pool = stat_pool_new(stat_pool_statfs, s->timeout)))
    return -ENOMEM;
  stat_pool_run(s->pool, s->reqs, s->ncands);
  for (size_t i = 0; rc == 0 && i < s->ncands; i++) {
    const stat_req *r = &s->reqs[i];
    if (r->err == 0 && r->st.f_blocks > 0) /* no blocks: proc, sysfs, cgroup... */
      rc = emit(s, acc, &s->cands[i], &r->st);
  }
  report_hung(s, acc);
  report_failed(s, acc);
  return rc;
}

/* ---- lifecycle ------------------------------------------------------------- */

static void disk_destroy(void *state) {
  disk_state *s = state;
  if (!s)
    return;
  stat_pool_free(s->pool);
  mount_table_free(&s->table);
  free(s->cands);
  free(s->reqs);
  free(s->paths);
  host_buf_free(&s->small);
  free(s->points);
  free(s->ignore_fs);
  free(s->ignore_opts);
  free(s);
}

/* A STRINGS option as an array (the strings borrowed), read once: the
 * config's accessors look the key up at every call. */
static int load_list(const tower_config *cfg, const char *key, const char ***out, size_t *n) {
  *n = tower_config_strings_len(cfg, key);
  if (!*n)
    return 0;
  if (!(*out = calloc(*n, sizeof **out)))
    return -ENOMEM;
  for (size_t i = 0; i < *n; i++)
    (*out)[i] = tower_config_strings_at(cfg, key, i);
  return 0;
}

static int disk_configure(disk_state *s, const tower_config *cfg) {
  int rc = host_roots_load(&s->roots, s->ctx, cfg);
  if (rc)
    return rc;
  const char *dev = getenv("HOST_DEV");
  if (!dev || !*dev)
    dev = "/dev";
  if (strlen(dev) >= sizeof s->dev_root)
    return tower_config_error(cfg, NULL, "HOST_DEV is too long (%zu bytes; at most %zu)",
                              strlen(dev), sizeof s->dev_root - 1);
  strcpy(s->dev_root, dev);
  s->mroots = (mount_roots){.host = &s->roots, .dev = s->dev_root};
  s->timeout = tower_config_duration(cfg, "timeout");
  rc = load_list(cfg, "mount_points", &s->points, &s->n_points);
  rc = rc ? rc : load_list(cfg, "ignore_fs", &s->ignore_fs, &s->n_ignore_fs);
  return rc ? rc : load_list(cfg, "ignore_mount_opts", &s->ignore_opts, &s->n_ignore_opts);
}

static int disk_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  disk_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  int rc = disk_configure(s, cfg);
  if (rc) {
    disk_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "disk",
    .description = "Usage of mounted file systems: bytes and inodes total, free and used",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = disk_init,
    .destroy = disk_destroy,
    .gather = disk_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
