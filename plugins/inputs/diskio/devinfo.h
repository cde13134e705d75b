/* What inputs.diskio knows about a block device besides its counters: the
 * name tag (name_templates), wwid, serial, device_tags and the udev links
 * the devices filter also matches, from udev's database
 * (<HOST_RUN>/udev/data/b<major>:<minor>) and sysfs (<HOST_SYS>).
 *
 * It is worked out when a device first shows up and again only when its
 * udev file changes (another inode, size or modification time), and kept
 * in the device's own small arena: a gather of known devices reads no file
 * and allocates nothing for it. */
#ifndef TOWER_DISKIO_DEVINFO_H
#define TOWER_DISKIO_DEVINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <tower/tower.h>

#include "host.h"

#define DEVINFO_NONE ((size_t)-1)

typedef struct devinfo_cfg {
  const host_roots *roots;
  const tower_config *cfg; /* device_tags and name_templates are read from it */
  size_t n_tags, n_templates;
  bool serial;   /* !skip_serial_number */
  bool devlinks; /* the devices filter matches udev's links too */
} devinfo_cfg;

/* Files read while working a device out, reused from device to device. */
typedef struct devinfo_scratch {
  host_buf udev, uevent, small;
} devinfo_scratch;

typedef struct devinfo {
  char *s; /* arena of NUL-terminated strings; offsets below */
  size_t len, cap;
  size_t name;   /* the name tag: a template's result, else the kernel's */
  size_t serial; /* DEVINFO_NONE when serials are not asked for */
  size_t wwid;   /* DEVINFO_NONE when sysfs has none */
  size_t tags;   /* ntags "key\0value\0" pairs */
  unsigned ntags;
  size_t links; /* nlinks udev links, "/dev/" taken off */
  unsigned nlinks;
  bool loaded;
  bool udev_found; /* the udev file was there and read */
  /* the udev file as last seen, to notice a change */
  bool udev_present;
  ino_t udev_ino;
  off_t udev_size;
  struct timespec udev_mtime;
} devinfo;

/* Whether the udev file is needed at all with this configuration. */
bool devinfo_wants_udev(const devinfo_cfg *c);

/* True when d must be (re)loaded: never loaded, or its udev file changed. */
bool devinfo_stale(const devinfo *d, const devinfo_cfg *c, unsigned major, unsigned minor);

/* Works the device out. 0 or -ENOMEM; anything unreadable simply leaves
 * its part out (a device may vanish while it is read). */
int devinfo_load(devinfo *d, const devinfo_cfg *c, devinfo_scratch *x, const char *name,
                 unsigned major, unsigned minor);

static inline const char *devinfo_str(const devinfo *d, size_t off) {
  return d->s + off;
}

void devinfo_free(devinfo *d);
void devinfo_scratch_free(devinfo_scratch *x);

#endif
