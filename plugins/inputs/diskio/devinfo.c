/* A block device's udev and sysfs facts (devinfo.h), worked out as
 * Telegraf's inputs.diskio (diskio.go, diskio_linux.go) and gopsutil's
 * disk.SerialNumber work them out. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devinfo.h"

/* Longest property value and name tag kept. */
#define VALUE_MAX 1024

/* ---- the arena ----------------------------------------------------------- */

static int add(devinfo *d, const char *v, size_t n, size_t *off) {
  if (d->len + n + 1 > d->cap) {
    size_t cap = d->cap ? d->cap : 256;
    while (cap < d->len + n + 1)
      cap *= 2;
    char *s = realloc(d->s, cap);
    if (!s)
      return -ENOMEM;
    d->s = s;
    d->cap = cap;
  }
  memcpy(d->s + d->len, v, n);
  d->s[d->len + n] = '\0';
  if (off)
    *off = d->len;
  d->len += n + 1;
  return 0;
}

/* ---- files ----------------------------------------------------------------- */

static bool read_at(host_buf *b, const char *root, const char *a, const char *c, const char *e) {
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof path, "%s/%s%s%s", root, a, c, e) >= sizeof path)
    return false;
  return host_read(b, path, 256 * 1024) == 0;
}

static bool udev_path(const devinfo_cfg *c, unsigned major, unsigned minor, char *out, size_t len) {
  return (size_t)snprintf(out, len, "%s/udev/data/b%u:%u", c->roots->run, major, minor) < len;
}

bool devinfo_wants_udev(const devinfo_cfg *c) {
  return c->n_tags || c->n_templates || c->serial || c->devlinks;
}

bool devinfo_stale(const devinfo *d, const devinfo_cfg *c, unsigned major, unsigned minor) {
  if (!d->loaded)
    return true;
  if (!devinfo_wants_udev(c))
    return false;
  char path[PATH_MAX];
  struct stat st;
  if (!udev_path(c, major, minor, path, sizeof path) || stat(path, &st) != 0)
    return d->udev_present;
  return !d->udev_present || st.st_ino != d->udev_ino || st.st_size != d->udev_size ||
         st.st_mtim.tv_sec != d->udev_mtime.tv_sec || st.st_mtim.tv_nsec != d->udev_mtime.tv_nsec;
}

static void read_udev(devinfo *d, const devinfo_cfg *c, devinfo_scratch *x, unsigned major,
                      unsigned minor) {
  char path[PATH_MAX];
  struct stat st;
  d->udev_present = d->udev_found = false;
  if (!udev_path(c, major, minor, path, sizeof path) || stat(path, &st) != 0)
    return;
  d->udev_present = true;
  d->udev_ino = st.st_ino;
  d->udev_size = st.st_size;
  d->udev_mtime = st.st_mtim;
  d->udev_found = host_read(&x->udev, path, 0) == 0;
}

/* ---- properties ------------------------------------------------------------ */

/* "KEY=value" lines of a sysfs uevent file. */
static bool uevent_value(const host_buf *b, const char *key, const char **v, size_t *n) {
  size_t klen = strlen(key);
  host_lines it;
  host_lines_init(&it, b);
  const char *line;
  size_t len;
  while (host_lines_next(&it, &line, &len))
    if (len > klen && line[klen] == '=' && memcmp(line, key, klen) == 0) {
      *v = line + klen + 1;
      *n = len - klen - 1;
      return true;
    }
  return false;
}

/* udev's S: lines, "/dev/"-prefixed and space-separated, as Telegraf's
 * DEVLINKS property. */
static size_t devlinks(const host_buf *udev, char *out, size_t len) {
  size_t o = 0;
  host_lines it;
  host_lines_init(&it, udev);
  const char *line;
  size_t n;
  while (host_lines_next(&it, &line, &n)) {
    if (n < 4 || line[0] != 'S' || line[1] != ':')
      continue;
    int w = snprintf(out + o, len - o, "%s/dev/%.*s", o ? " " : "", (int)(n - 2), line + 2);
    if (w < 0 || (size_t)w >= len - o)
      break;
    o += (size_t)w;
  }
  out[o] = '\0';
  return o;
}

/* The kernel's device path (udev's DEVPATH): the class link's target
 * without its leading "../". */
static bool devpath(const devinfo_cfg *c, const char *name, char *out, size_t len) {
  char link[PATH_MAX], target[PATH_MAX];
  if ((size_t)snprintf(link, sizeof link, "%s/class/block/%s", c->roots->sys, name) >= sizeof link)
    return false;
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0)
    return false;
  target[n] = '\0';
  const char *p = target;
  while (strncmp(p, "../", 3) == 0)
    p += 3;
  return (size_t)snprintf(out, len, "/%s", p) < len;
}

/* A property of the device, as Telegraf's diskInfo map has it: udev's E:
 * values, with DEVNAME and DEVTYPE from sysfs's uevent, DEVPATH and
 * DEVLINKS. The value goes to buf (NUL-terminated). */
static bool prop(const devinfo_cfg *c, devinfo_scratch *x, const char *name, const char *key,
                 char *buf, size_t len) {
  const char *v;
  size_t n;
  if (strcmp(key, "DEVPATH") == 0)
    return devpath(c, name, buf, len);
  if (strcmp(key, "DEVLINKS") == 0)
    return devlinks(&x->udev, buf, len) > 0;
  bool dev = strcmp(key, "DEVNAME") == 0 || strcmp(key, "DEVTYPE") == 0;
  if (!(dev && uevent_value(&x->uevent, key, &v, &n)) && !host_udev_prop(&x->udev, key, &v, &n))
    return false;
  bool slash = strcmp(key, "DEVNAME") == 0 && !(n >= 4 && memcmp(v, "/dev", 4) == 0);
  int w = snprintf(buf, len, "%s%.*s", slash ? "/dev/" : "", (int)n, v);
  return w >= 0 && (size_t)w < len;
}

/* ---- name templates -------------------------------------------------------- */

static bool word_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '_';
}

/* Expands $VAR and ${VAR} (Telegraf's `\$(?:\w+|\{\w+\})`); false when a
 * variable is missing or the result does not fit. */
static bool expand(const devinfo_cfg *c, devinfo_scratch *x, const char *name, const char *tpl,
                   char *out, size_t len) {
  size_t o = 0;
  for (const char *p = tpl; *p;) {
    size_t k = 0;
    bool braced = p[0] == '$' && p[1] == '{';
    const char *v = p + (braced ? 2 : 1);
    while (p[0] == '$' && word_char(v[k]))
      k++;
    if (p[0] != '$' || k == 0 || (braced && v[k] != '}')) {
      if (o + 1 >= len)
        return false;
      out[o++] = *p++;
      continue;
    }
    char key[256], val[VALUE_MAX];
    if (k >= sizeof key)
      return false;
    memcpy(key, v, k);
    key[k] = '\0';
    if (!prop(c, x, name, key, val, sizeof val))
      return false;
    size_t n = strlen(val);
    if (o + n >= len)
      return false;
    memcpy(out + o, val, n);
    o += n;
    p = v + k + (braced ? 1 : 0);
  }
  out[o] = '\0';
  return true;
}

static int load_name(devinfo *d, const devinfo_cfg *c, devinfo_scratch *x, const char *name) {
  char out[VALUE_MAX];
  /* an empty result (properties set to nothing) counts as a miss: a tag
   * cannot be empty */
  for (size_t i = 0; d->udev_found && i < c->n_templates; i++)
    if (expand(c, x, name, tower_config_strings_at(c->cfg, "name_templates", i), out, sizeof out) &&
        out[0])
      return add(d, out, strlen(out), &d->name);
  return add(d, name, strlen(name), &d->name);
}

static int load_tags(devinfo *d, const devinfo_cfg *c, devinfo_scratch *x, const char *name) {
  d->tags = d->len;
  d->ntags = 0;
  for (size_t i = 0; d->udev_found && i < c->n_tags; i++) {
    const char *key = tower_config_strings_at(c->cfg, "device_tags", i);
    char val[VALUE_MAX];
    if (!prop(c, x, name, key, val, sizeof val))
      continue;
    if (add(d, key, strlen(key), NULL) || add(d, val, strlen(val), NULL))
      return -ENOMEM;
    d->ntags++;
  }
  return 0;
}

static int load_links(devinfo *d, devinfo_scratch *x) {
  d->links = d->len;
  d->nlinks = 0;
  host_lines it;
  host_lines_init(&it, &x->udev);
  const char *line;
  size_t n;
  while (d->udev_found && host_lines_next(&it, &line, &n)) {
    if (n < 4 || line[0] != 'S' || line[1] != ':')
      continue;
    if (add(d, line + 2, n - 2, NULL))
      return -ENOMEM;
    d->nlinks++;
  }
  return 0;
}

/* ---- wwid and serial ------------------------------------------------------- */

static int load_wwid(devinfo *d, const devinfo_cfg *c, devinfo_scratch *x, const char *name) {
  d->wwid = DEVINFO_NONE;
  if (!read_at(&x->small, c->roots->sys, "block/", name, "/wwid"))
    return 0;
  size_t n = x->small.len;
  if (n && x->small.data[n - 1] == '\n') /* Telegraf trims that newline only */
    n--;
  return add(d, x->small.data, n, &d->wwid);
}

/* Telegraf's serial tag: without CR and LF, trimmed; "unknown" if empty. */
static int add_serial(devinfo *d, const char *v, size_t n) {
  char out[VALUE_MAX];
  size_t o = 0;
  for (size_t i = 0; i < n && o + 1 < sizeof out; i++)
    if (v[i] != '\n' && v[i] != '\r')
      out[o++] = v[i];
  size_t s = 0;
  while (s < o && (out[s] == ' ' || out[s] == '\t'))
    s++;
  while (o > s && (out[o - 1] == ' ' || out[o - 1] == '\t'))
    o--;
  if (o == s)
    return add(d, "unknown", 7, &d->serial);
  return add(d, out + s, o - s, &d->serial);
}

/* sysfs's "<model>_<serial>" of the device's disk (a partition's parent),
 * as gopsutil builds it, else the disk's own serial attribute
 * (virtio-blk), which is udev's ID_SERIAL there. */
static int sysfs_serial(devinfo *d, const devinfo_cfg *c, devinfo_scratch *x, const char *name) {
  char disk[PATH_MAX], model[VALUE_MAX], both[2 * VALUE_MAX + 2];
  const char *sys = c->roots->sys;
  bool part = read_at(&x->small, sys, "class/block/", name, "/partition");
  if ((size_t)snprintf(disk, sizeof disk, "class/block/%s%s", name, part ? "/.." : "") >=
      sizeof disk)
    return add_serial(d, "", 0);
  if (read_at(&x->small, sys, disk, "/device/model", "") && x->small.len) {
    int mn = (int)(x->small.len < sizeof model ? x->small.len : sizeof model - 1);
    memcpy(model, x->small.data, (size_t)mn);
    if (read_at(&x->small, sys, disk, "/device/serial", "") && x->small.len) {
      int sn = (int)(x->small.len < VALUE_MAX ? x->small.len : VALUE_MAX);
      int w = snprintf(both, sizeof both, "%.*s_%.*s", mn, model, sn, x->small.data);
      return add_serial(d, both, (size_t)w < sizeof both ? (size_t)w : sizeof both - 1);
    }
  }
  if (read_at(&x->small, sys, disk, "/serial", ""))
    return add_serial(d, x->small.data, x->small.len);
  return add_serial(d, "", 0);
}

static int load_serial(devinfo *d, const devinfo_cfg *c, devinfo_scratch *x, const char *name) {
  d->serial = DEVINFO_NONE;
  if (!c->serial)
    return 0;
  const char *v;
  size_t n;
  if (d->udev_found && host_udev_prop(&x->udev, "ID_SERIAL", &v, &n) && n)
    return add_serial(d, v, n);
  return sysfs_serial(d, c, x, name);
}

/* ---- loading --------------------------------------------------------------- */

int devinfo_load(devinfo *d, const devinfo_cfg *c, devinfo_scratch *x, const char *name,
                 unsigned major, unsigned minor) {
  d->len = 0;
  d->udev_present = d->udev_found = false;
  if (devinfo_wants_udev(c))
    read_udev(d, c, x, major, minor);
  x->uevent.len = 0;
  if (x->uevent.data)
    x->uevent.data[0] = '\0';
  if (d->udev_found && (c->n_tags || c->n_templates) &&
      !read_at(&x->uevent, c->roots->sys, "class/block/", name, "/uevent"))
    x->uevent.len = 0;
  int rc = load_name(d, c, x, name);
  rc = rc ? rc : load_tags(d, c, x, name);
  rc = rc ? rc : load_links(d, x);
  rc = rc ? rc : load_wwid(d, c, x, name);
  rc = rc ? rc : load_serial(d, c, x, name);
  d->loaded = rc == 0;
  return rc;
}

void devinfo_free(devinfo *d) {
  free(d->s);
  memset(d, 0, sizeof *d);
}

void devinfo_scratch_free(devinfo_scratch *x) {
  host_buf_free(&x->udev);
  host_buf_free(&x->uevent);
  host_buf_free(&x->small);
}
