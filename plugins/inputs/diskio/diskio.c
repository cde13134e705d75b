/* inputs.diskio: block device I/O counters from /proc/diskstats, with the
 * metric, tags, fields, types and arithmetic of Telegraf's inputs.diskio
 * (plugins/inputs/diskio/diskio.go and gopsutil's disk.IOCounters).
 *
 * A gather reads <HOST_PROC>/diskstats into the instance's buffer and
 * parses it in place. Every device with a non-zero counter is a slot of the
 * instance, kept in the file's order, holding its previous sample and what
 * devinfo.c worked out about it (name tag, wwid, serial, device tags, udev
 * links); a device that leaves the file loses its slot. Each selected
 * device gives one counter metric "diskio" with the kernel's counters and,
 * from its second sample on, io_await, io_svctm and io_util.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "devinfo.h"
#include "host.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* Columns 4 to 14 of /proc/diskstats (Documentation/admin-guide/iostats.rst),
 * in file order. Later columns (discards since 4.18, flushes since 5.5) are
 * not reported: Telegraf has no field for them. */
enum {
  READS,
  MERGED_READS,
  SECTORS_READ,
  READ_TIME,
  WRITES,
  MERGED_WRITES,
  SECTORS_WRITTEN,
  WRITE_TIME,
  IN_PROGRESS,
  IO_TIME,
  WEIGHTED_IO_TIME,
  NCOUNTERS
};

/* The kernel counts sectors of 512 bytes whatever the device's own. */
#define SECTOR_SIZE 512
/* Device names are at most DISK_NAME_LEN (32) bytes in the kernel. */
#define NAME_LEN 64

typedef struct io_dev {
  char name[NAME_LEN];
  unsigned major, minor;
  uint64_t cur[NCOUNTERS], prev[NCOUNTERS];
  bool has_prev;
  bool selected; /* passes the devices filter */
  devinfo info;
} io_dev;

typedef struct diskio_state {
  tower_ctx *ctx;
  host_roots roots;
  char path[PATH_MAX]; /* <HOST_PROC>/diskstats */
  host_buf file;
  tower_globs *devices; /* NULL: every device */
  devinfo_cfg icfg;
  devinfo_scratch scratch;
  io_dev *devs; /* devs[0, ndevs): the devices of the last gather, in order */
  size_t ndevs, cap;
  int64_t prev_ns; /* monotonic time of the previous sample */
} diskio_state;

static const tower_option options[] = {
    {.name = "devices",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_GLOB,
     .help = "devices to report, by kernel name, /dev path or udev link (globs); all when unset"},
    {.name = "skip_serial_number",
     .type = TOWER_OPT_BOOL,
     .default_value = "true",
     .help = "leave out the serial tag (udev's ID_SERIAL, else sysfs)"},
    {.name = "device_tags",
     .type = TOWER_OPT_STRINGS,
     .help = "udev properties to add as tags (udevadm info -q property -n <device>)"},
    {.name = "name_templates",
     .type = TOWER_OPT_STRINGS,
     .help = "name tag templates from udev properties, first complete one wins: "
             "\"$ID_FS_LABEL\", \"$DM_VG_NAME/$DM_LV_NAME\""},
    TOWER_OPTION_END,
};

/* ---- parsing -------------------------------------------------------------- */

typedef struct io_line {
  unsigned major, minor;
  const char *name;
  size_t name_len;
  uint64_t v[NCOUNTERS];
} io_line;

/* "major minor name" and at least the 11 counters of kernels since 2.6
 * (gopsutil's 14 fields); false for anything else. */
static bool parse_line(const char *p, const char *end, io_line *out) {
  uint64_t major, minor;
  if (!host_parse_u64(&p, end, &major) || !host_parse_u64(&p, end, &minor) || major > UINT32_MAX ||
      minor > UINT32_MAX)
    return false;
  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  const char *name = p;
  while (p < end && *p != ' ' && *p != '\t')
    p++;
  if (p == name || (size_t)(p - name) >= NAME_LEN)
    return false;
  out->name = name;
  out->name_len = (size_t)(p - name);
  for (int i = 0; i < NCOUNTERS; i++)
    if (!host_parse_u64(&p, end, &out->v[i]))
      return false;
  out->major = (unsigned)major;
  out->minor = (unsigned)minor;
  return true;
}

/* gopsutil leaves out devices whose counters are all 0 (unused loop and
 * ram devices). */
static bool all_zero(const uint64_t v[NCOUNTERS]) {
  for (int i = 0; i < NCOUNTERS; i++)
    if (v[i])
      return false;
  return true;
}

/* ---- the devices ---------------------------------------------------------- */

static bool same_device(const io_dev *d, const io_line *l) {
  return d->major == l->major && d->minor == l->minor && strlen(d->name) == l->name_len &&
         memcmp(d->name, l->name, l->name_len) == 0;
}

/* Puts the slot of the line's device at index `at`: the one it had, moved
 * there, or a new one. NULL when out of memory. */
static io_dev *slot_at(diskio_state *s, size_t at, const io_line *l) {
  size_t j = at;
  while (j < s->ndevs && !same_device(&s->devs[j], l))
    j++;
  if (j == s->ndevs) {
    if (s->ndevs == s->cap) {
      size_t cap = s->cap ? s->cap * 2 : 16;
      io_dev *d = realloc(s->devs, cap * sizeof *d);
      if (!d)
        return NULL;
      s->devs = d;
      s->cap = cap;
    }
    io_dev *d = &s->devs[s->ndevs++];
    memset(d, 0, sizeof *d);
    memcpy(d->name, l->name, l->name_len);
    d->major = l->major;
    d->minor = l->minor;
  }
  if (j != at) {
    io_dev t = s->devs[at];
    s->devs[at] = s->devs[j];
    s->devs[j] = t;
  }
  return &s->devs[at];
}

/* Devices past `kept` left the file: their slots go. */
static void drop_gone(diskio_state *s, size_t kept) {
  for (size_t i = kept; i < s->ndevs; i++)
    devinfo_free(&s->devs[i].info);
  s->ndevs = kept;
}

static bool filter_match(const diskio_state *s, const io_dev *d) {
  if (!s->devices || tower_globs_match(s->devices, d->name))
    return true;
  const char *link = devinfo_str(&d->info, d->info.links);
  for (unsigned i = 0; i < d->info.nlinks; i++, link += strlen(link) + 1)
    if (tower_globs_match(s->devices, link))
      return true;
  return false;
}

/* Reloads what devinfo knows when it is new or its udev file changed. */
static int refresh(diskio_state *s, io_dev *d) {
  if (!devinfo_stale(&d->info, &s->icfg, d->major, d->minor))
    return 0;
  int rc = devinfo_load(&d->info, &s->icfg, &s->scratch, d->name, d->major, d->minor);
  if (rc)
    return rc;
  if ((s->icfg.n_tags || s->icfg.n_templates) && !d->info.udev_found)
    tower_warn(s->ctx,
               "%s: no udev data in %s/udev/data/b%u:%u, so no device_tags or name_templates for "
               "it; mount the host's /run/udev (and set HOST_RUN) in a container",
               d->name, s->roots.run, d->major, d->minor);
  d->selected = filter_match(s, d);
  return 0;
}

/* ---- metrics -------------------------------------------------------------- */

/* Adds a tag unless its value is empty (a udev property set to nothing):
 * line protocol has no empty tag values, and Telegraf's serializer drops
 * them. */
static int add_tag(tower_metric *m, const char *key, const char *value) {
  return *value ? tower_metric_add_tag(m, key, value) : 0;
}

static int add_tags(tower_metric *m, const io_dev *d) {
  const devinfo *i = &d->info;
  int rc = add_tag(m, "name", devinfo_str(i, i->name));
  if (rc == 0 && i->wwid != DEVINFO_NONE)
    rc = add_tag(m, "wwid", devinfo_str(i, i->wwid));
  const char *t = devinfo_str(i, i->tags);
  for (unsigned k = 0; rc == 0 && k < i->ntags; k++) {
    const char *v = t + strlen(t) + 1;
    rc = add_tag(m, t, v);
    t = v + strlen(v) + 1;
  }
  if (rc == 0 && i->serial != DEVINFO_NONE)
    rc = add_tag(m, "serial", devinfo_str(i, i->serial));
  return rc;
}

static int add_counters(tower_metric *m, const uint64_t *v) {
  int rc = tower_metric_add_uint(m, "reads", v[READS]);
  rc = rc ? rc : tower_metric_add_uint(m, "writes", v[WRITES]);
  rc = rc ? rc : tower_metric_add_uint(m, "read_bytes", v[SECTORS_READ] * SECTOR_SIZE);
  rc = rc ? rc : tower_metric_add_uint(m, "write_bytes", v[SECTORS_WRITTEN] * SECTOR_SIZE);
  rc = rc ? rc : tower_metric_add_uint(m, "read_time", v[READ_TIME]);
  rc = rc ? rc : tower_metric_add_uint(m, "write_time", v[WRITE_TIME]);
  rc = rc ? rc : tower_metric_add_uint(m, "io_time", v[IO_TIME]);
  rc = rc ? rc : tower_metric_add_uint(m, "weighted_io_time", v[WEIGHTED_IO_TIME]);
  rc = rc ? rc : tower_metric_add_uint(m, "iops_in_progress", v[IN_PROGRESS]);
  rc = rc ? rc : tower_metric_add_uint(m, "merged_reads", v[MERGED_READS]);
  return rc ? rc : tower_metric_add_uint(m, "merged_writes", v[MERGED_WRITES]);
}

/* Telegraf's io_await, io_svctm and io_util over the time since the
 * previous sample. Skipped, as there, when a counter went back (a 32-bit
 * counter wrapped, the device was replaced): the raw counters are still
 * reported as the kernel has them. */
static int add_rates(tower_metric *m, const io_dev *d, double elapsed_ms) {
  const uint64_t *c = d->cur, *p = d->prev;
  if (c[READS] < p[READS] || c[WRITES] < p[WRITES] || c[READ_TIME] < p[READ_TIME] ||
      c[WRITE_TIME] < p[WRITE_TIME] || c[IO_TIME] < p[IO_TIME])
    return 0;
  double ops = (double)(c[READS] - p[READS]) + (double)(c[WRITES] - p[WRITES]);
  double rw_time = (double)(c[READ_TIME] - p[READ_TIME]) + (double)(c[WRITE_TIME] - p[WRITE_TIME]);
  double io_time = (double)(c[IO_TIME] - p[IO_TIME]);
  int rc = 0;
  if (ops > 0) {
    rc = tower_metric_add_float(m, "io_await", rw_time / ops);
    rc = rc ? rc : tower_metric_add_float(m, "io_svctm", io_time / ops);
  }
  if (rc == 0 && elapsed_ms > 0)
    rc = tower_metric_add_float(m, "io_util", 100 * io_time / elapsed_ms);
  return rc;
}

static int emit(tower_acc *acc, const io_dev *d, double elapsed_ms) {
  tower_metric *m = tower_metric_new("diskio", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  int rc = tower_metric_set_type(m, TOWER_COUNTER);
  rc = rc ? rc : add_tags(m, d);
  rc = rc ? rc : add_counters(m, d->cur);
  if (rc == 0 && d->has_prev)
    rc = add_rates(m, d, elapsed_ms);
  if (rc) {
    tower_metric_free(m);
    return rc;
  }
  return tower_acc_add(acc, m);
}

/* ---- gather --------------------------------------------------------------- */

/* Takes one line: its slot, its sample, its metric. Returns 1 when the line
 * is a device kept, 0 when skipped, or a negative errno. */
static int take_line(diskio_state *s, tower_acc *acc, const char *line, size_t len, size_t at,
                     double elapsed_ms) {
  io_line l;
  if (!parse_line(line, line + len, &l)) {
    tower_debug(s->ctx, "%s: skipping malformed line \"%.*s\"", s->path, (int)(len > 80 ? 80 : len),
                line);
    return 0;
  }
  if (all_zero(l.v))
    return 0;
  io_dev *d = slot_at(s, at, &l);
  if (!d)
    return -ENOMEM;
  memcpy(d->cur, l.v, sizeof d->cur);
  int rc = refresh(s, d);
  if (rc == 0 && d->selected)
    rc = emit(acc, d, elapsed_ms);
  memcpy(d->prev, d->cur, sizeof d->prev);
  d->has_prev = true;
  return rc ? rc : 1;
}

static int diskio_gather(void *state, tower_acc *acc) {
  diskio_state *s = state;
  int rc = host_read(&s->file, s->path, 0);
  int64_t now = tower_mono_ns();
  if (rc) {
    tower_acc_error(acc,
                    "cannot read %s: %s (set HOST_PROC when the host's /proc is mounted "
                    "elsewhere)",
                    s->path, strerror(-rc));
    return rc;
  }
  double elapsed_ms = s->prev_ns ? (double)(now - s->prev_ns) / 1e6 : 0;
  size_t kept = 0;
  host_lines it;
  host_lines_init(&it, &s->file);
  const char *line;
  size_t len;
  while (rc >= 0 && host_lines_next(&it, &line, &len))
    if (len && (rc = take_line(s, acc, line, len, kept, elapsed_ms)) > 0)
      kept++;
  drop_gone(s, kept);
  s->prev_ns = now;
  return rc < 0 ? rc : 0;
}

/* ---- lifecycle ------------------------------------------------------------ */

static void diskio_destroy(void *state) {
  diskio_state *s = state;
  if (!s)
    return;
  drop_gone(s, 0);
  free(s->devs);
  host_buf_free(&s->file);
  devinfo_scratch_free(&s->scratch);
  tower_globs_free(s->devices);
  free(s);
}

static bool has_meta(const char *p) {
  return strpbrk(p, "*?[{") != NULL;
}

/* Telegraf resolves a device given by path (/dev/disk/by-id/...) to its
 * kernel name; HOST_DEV (default /dev) stands for /dev in a container. The
 * result goes to out; unresolvable names keep their last component. */
static void resolve_name(const char *dev_root, const char *name, char *out, size_t len) {
  char real[PATH_MAX], path[PATH_MAX];
  const char *r = NULL;
  if (strchr(name, '/')) {
    if (realpath(name, real))
      r = real;
    else if (strncmp(name, "/dev/", 5) == 0 &&
             (size_t)snprintf(path, sizeof path, "%s%s", dev_root, name + 4) < sizeof path &&
             realpath(path, real))
      r = real;
  }
  const char *base = strrchr(r ? r : name, '/');
  snprintf(out, len, "%s", base ? base + 1 : name);
}

/* The devices patterns: globs as written, other names resolved. */
static int load_devices(diskio_state *s, const tower_config *cfg) {
  size_t n = tower_config_strings_len(cfg, "devices");
  if (n == 0)
    return 0;
  const char *dev_root = getenv("HOST_DEV");
  if (!dev_root || !*dev_root)
    dev_root = "/dev";
  char(*names)[NAME_MAX + 1] = calloc(n, sizeof *names);
  const char **pats = calloc(n, sizeof *pats);
  int rc = names && pats ? 0 : -ENOMEM;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    const char *p = tower_config_strings_at(cfg, "devices", i);
    s->icfg.devlinks = s->icfg.devlinks || has_meta(p);
    if (has_meta(p)) {
      pats[i] = p;
    } else {
      resolve_name(dev_root, p, names[i], sizeof names[i]);
      pats[i] = names[i];
    }
  }
  const char *err = NULL;
  if (rc == 0 && (rc = tower_globs_new(pats, n, &s->devices, &err)) == -EINVAL)
    rc = tower_config_error(cfg, tower_config_setting(cfg, "devices"), "devices: %s",
                            err ? err : "bad pattern");
  free(names);
  free(pats);
  return rc;
}

static int diskio_configure(diskio_state *s, const tower_config *cfg) {
  int rc = host_roots_load(&s->roots, s->ctx, cfg);
  if (rc)
    return rc;
  if (!host_path(s->path, sizeof s->path, s->roots.proc, "diskstats"))
    return tower_config_error(cfg, NULL, "HOST_PROC is too long");
  s->icfg = (devinfo_cfg){
      .roots = &s->roots,
      .cfg = cfg,
      .n_tags = tower_config_strings_len(cfg, "device_tags"),
      .n_templates = tower_config_strings_len(cfg, "name_templates"),
      .serial = !tower_config_bool(cfg, "skip_serial_number"),
  };
  return load_devices(s, cfg);
}

static int diskio_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  diskio_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  int rc = diskio_configure(s, cfg);
  if (rc) {
    diskio_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .flags = TOWER_PLUGIN_TWO_SAMPLES,
    .name = "diskio",
    .description = "Block device reads, writes, bytes, times and queue from /proc/diskstats",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = diskio_init,
    .destroy = diskio_destroy,
    .gather = diskio_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
