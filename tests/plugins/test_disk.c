/* inputs.disk, through the core, against the mount tables of the recorded
 * trees (tests/fixtures/host) and tables the tests write, with real file
 * systems under them: the program runs in a mount namespace of its own
 * (as root, or as root of a new user namespace) and mounts a tmpfs of a
 * known size as HOST_MOUNT_PREFIX, tmpfs and ramfs (no blocks, as proc and
 * sysfs) at the mount points, and for the hung mount a FUSE file system
 * whose server (a child process) does not answer statfs until told to. So
 * every value is exact: nothing but the test writes to those file systems.
 *
 * The statfs pool is also tested on its own (pool_* tests), with a call
 * that blocks until released standing in for a hung NFS server: no NFS
 * server runs here, and this is how one behaves to statfs.
 *
 * Gathers are driven one at a time; metrics are captured as objects (the
 * record output's write callback swapped) to see their types. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <tower/tower.h>

#include "check_run.h"
#include "harness.h"
#include "log_internal.h"
#include "stat_pool.h"
#include "unprivileged.h"

#define MiB (1024u * 1024u)

static char *dir;    /* the test's own directory */
static char *prefix; /* HOST_MOUNT_PREFIX: a 16 MiB tmpfs */
static char *proc;   /* a HOST_PROC the test writes */

/* ---- mounts ----------------------------------------------------------------- */

static char mounted[64][512];
static int nmounted;

static void mount_at(const char *type, const char *path, const char *opts) {
  ck_assert_msg(mount(type, path, type, MS_NOSUID | MS_NODEV, opts) == 0, "mount %s on %s: %s",
                type, path, strerror(errno));
  ck_assert_int_lt(nmounted, 64);
  snprintf(mounted[nmounted++], sizeof mounted[0], "%s", path);
}

static void unmount_all(void) {
  while (nmounted > 0)
    umount2(mounted[--nmounted], MNT_DETACH);
}

static void mkdirs(const char *path) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(buf, 0755);
      *p = '/';
    }
  ck_assert_msg(mkdir(buf, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", buf, strerror(errno));
}

/* A file of `size` bytes (whole pages on tmpfs). */
static void fill(const char *path, size_t size) {
  char *text = malloc(size + 1);
  ck_assert_ptr_nonnull(text);
  memset(text, 'x', size);
  text[size] = '\0';
  ck_assert_int_eq(th_write_file(path, text), 0);
  free(text);
}

/* Our own mount namespace, so that what the tests mount is ours alone and
 * goes when the program ends: as root directly, else as root of a new user
 * namespace (which may mount tmpfs, ramfs and FUSE). */
static void private_mounts(void) {
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (unshare(CLONE_NEWNS) != 0) {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
      fprintf(stderr,
              "test_disk: cannot make a mount namespace (%s): run as root, or allow "
              "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)\n",
              strerror(errno));
      exit(1);
    }
    char map[64];
    th_write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
    th_write_file("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
    th_write_file("/proc/self/gid_map", map);
  }
  if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0) {
    fprintf(stderr, "test_disk: cannot make / private: %s\n", strerror(errno));
    exit(1);
  }
}

/* ---- fixture ------------------------------------------------------------------ */

static void setup(void) {
  dir = th_tmpdir();
  prefix = th_fmt("%s/prefix", dir);
  proc = th_fmt("%s/proc", dir);
  mkdirs(prefix);
  mkdirs(proc);
  mount_at("tmpfs", prefix, "size=16m,nr_inodes=1000,mode=755");
  char *f = th_fmt("%s/.data", prefix);
  fill(f, 64 * 1024);
  free(f);
  char *p = th_fmt("%s/1", proc);
  mkdirs(p);
  free(p);
  char *run = th_fmt("%s/run", dir), *sys = th_fmt("%s/sys", dir), *dev = th_fmt("%s/dev", dir);
  setenv("HOST_PROC", proc, 1);
  setenv("HOST_SYS", sys, 1);
  setenv("HOST_RUN", run, 1);
  setenv("HOST_DEV", dev, 1);
  setenv("HOST_MOUNT_PREFIX", prefix, 1);
  free(run);
  free(sys);
  free(dev);
}

static void teardown(void) {
  unmount_all();
  unsetenv("HOST_PROC");
  unsetenv("HOST_SYS");
  unsetenv("HOST_RUN");
  unsetenv("HOST_DEV");
  unsetenv("HOST_MOUNT_PREFIX");
  th_rmrf(dir);
  free(dir);
  free(prefix);
  free(proc);
}

/* Writes <HOST_PROC>/<rel>, its directory made. */
static void write_proc(const char *rel, const char *text) {
  char *path = th_fmt("%s/%s", proc, rel);
  char *slash = strrchr(path, '/');
  *slash = '\0';
  mkdirs(path);
  *slash = '/';
  ck_assert_int_eq(th_write_file(path, text), 0);
  free(path);
}

/* ---- capturing what the output receives --------------------------------------- */

typedef struct {
  const tower_metric **v;
  size_t n;
} capture;

static tower_write_result capture_write(void *state, const tower_batch *b) {
  capture *c = state;
  for (size_t i = 0; i < tower_batch_len(b); i++) {
    c->v = realloc(c->v, (c->n + 1) * sizeof *c->v);
    ck_assert_ptr_nonnull(c->v);
    c->v[c->n++] = tower_metric_retain(tower_batch_at(b, i));
  }
  return TOWER_WRITE_OK;
}

static void capture_clear(capture *c) {
  for (size_t i = 0; i < c->n; i++)
    tower_metric_release(c->v[i]);
  free(c->v);
  c->v = NULL;
  c->n = 0;
}

typedef struct {
  twi_pipeline *pl;
  twi_plugin fake;
  const twi_plugin *real;
  void *real_state;
  capture got;
  char *log;
} rig;

static void rig_start(rig *r, const char *options) {
  memset(r, 0, sizeof *r);
  r->log = th_fmt("%s/log", dir);
  ck_assert_int_eq(twi_log_set_file(r->log), 0);
  twi_log_set_level(TOWER_LOG_DEBUG);
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"disk\"; %s } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                   options, dir);
  r->pl = th_start(c, TWI_ONCE);
  free(c);
  tower_ctx *o = r->pl->outputs[0];
  r->real = o->plugin;
  r->real_state = o->state;
  r->fake = *o->plugin;
  r->fake.desc.write = capture_write;
  o->plugin = &r->fake;
  o->state = &r->got;
}

static void rig_free(rig *r) {
  tower_ctx *o = r->pl->outputs[0];
  o->plugin = r->real;
  o->state = r->real_state;
  capture_clear(&r->got);
  th_free(r->pl);
  twi_log_set_file(NULL);
  twi_log_set_level(TOWER_LOG_INFO);
  free(r->log);
}

/* One gather, its metrics captured (the previous ones cleared). Returns the
 * gather errors reported. */
static int gather(rig *r) {
  capture_clear(&r->got);
  tower_ctx *in = r->pl->inputs[0];
  tower_acc *acc = twi_acc_new_input(in, r->pl, false);
  ck_assert_ptr_nonnull(acc);
  twi_acc_begin(acc, 1700000000000000000LL);
  in->plugin->desc.gather(in->state, acc);
  tower_acc_commit(acc);
  int errors = (int)twi_acc_errors(acc);
  twi_acc_free(acc);
  ck_assert_uint_eq(th_flush(r->pl), 0);
  return errors;
}

/* The log so far holds `text`. */
static bool logged(const rig *r, const char *text) {
  char *log = th_read_file(r->log);
  bool found = log && strstr(log, text);
  free(log);
  return found;
}

/* ---- looking at metrics ---------------------------------------------------- */

static const tower_metric *by_path(const capture *c, const char *path) {
  const tower_metric *hit = NULL;
  for (size_t i = 0; i < c->n; i++) {
    const char *p = tower_metric_tag(c->v[i], "path");
    if (p && strcmp(p, path) == 0) {
      ck_assert_msg(!hit, "two metrics with path=%s", path);
      hit = c->v[i];
    }
  }
  ck_assert_msg(hit, "no metric with path=%s", path);
  return hit;
}

static bool has_path(const capture *c, const char *path) {
  for (size_t i = 0; i < c->n; i++) {
    const char *p = tower_metric_tag(c->v[i], "path");
    if (p && strcmp(p, path) == 0)
      return true;
  }
  return false;
}

/* The metric's tags are exactly these (key, value, ..., NULL). */
static void check_tags(const tower_metric *m, ...) {
  va_list ap;
  va_start(ap, m);
  size_t n = 0;
  for (const char *k; (k = va_arg(ap, const char *));) {
    const char *v = va_arg(ap, const char *);
    const char *got = tower_metric_tag(m, k);
    ck_assert_msg(got && strcmp(got, v) == 0, "tag %s: got %s, want %s", k, got ? got : "(none)",
                  v);
    n++;
  }
  va_end(ap);
  ck_assert_uint_eq(tower_metric_tag_count(m), n);
}

static uint64_t uint_field(const tower_metric *m, const char *key) {
  ptrdiff_t i = tower_metric_field_index(m, key);
  ck_assert_msg(i >= 0, "field %s missing", key);
  ck_assert_msg(tower_metric_field_type(m, (size_t)i) == TOWER_FIELD_UINT, "%s is not a uint", key);
  return tower_metric_field_uint(m, (size_t)i);
}

static double float_field(const tower_metric *m, const char *key) {
  ptrdiff_t i = tower_metric_field_index(m, key);
  ck_assert_msg(i >= 0, "field %s missing", key);
  ck_assert_msg(tower_metric_field_type(m, (size_t)i) == TOWER_FIELD_FLOAT, "%s is not a float",
                key);
  return tower_metric_field_float(m, (size_t)i);
}

/* Telegraf's percent: used / (used + free) * 100, 0 for 0/0. */
static double pct(uint64_t used, uint64_t free) {
  return used + free ? (double)used / ((double)used + (double)free) * 100 : 0;
}

/* The metric says what statfs says of `path`, with Telegraf's fields and
 * types, and the file system is `size` bytes with `used` bytes written. */
static void check_usage(const tower_metric *m, const char *path, uint64_t size, uint64_t used) {
  struct statfs st;
  ck_assert_int_eq(statfs(path, &st), 0);
  ck_assert_str_eq(tower_metric_name(m), "disk");
  ck_assert_int_eq(tower_metric_type(m), TOWER_GAUGE);
  ck_assert_uint_eq(tower_metric_field_count(m), 8);
  uint64_t b = (uint64_t)st.f_frsize;
  ck_assert_uint_eq(uint_field(m, "total"), size);
  ck_assert_uint_eq(uint_field(m, "total"), (uint64_t)st.f_blocks * b);
  ck_assert_uint_eq(uint_field(m, "used"), used);
  ck_assert_uint_eq(uint_field(m, "free"), size - used);
  ck_assert_uint_eq(uint_field(m, "free"), (uint64_t)st.f_bavail * b);
  ck_assert_double_eq(float_field(m, "used_percent"), pct(used, size - used));
  ck_assert_uint_eq(uint_field(m, "inodes_total"), st.f_files);
  ck_assert_uint_eq(uint_field(m, "inodes_free"), st.f_ffree);
  ck_assert_uint_eq(uint_field(m, "inodes_used"), st.f_files - st.f_ffree);
  ck_assert_double_eq(float_field(m, "inodes_used_percent"),
                      pct(st.f_files - st.f_ffree, st.f_ffree));
}

/* ---- the recorded trees ------------------------------------------------------ */

/* File systems that have no blocks (statfs says 0), as proc, sysfs, cgroup
 * and devpts: ramfs stands in for them. */
static bool blockless(const char *fstype) {
  static const char *const t[] = {"proc", "sysfs", "cgroup", "cgroup2", "devpts"};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (strcmp(fstype, t[i]) == 0)
      return true;
  return false;
}

/* Mounts a file system at every mount point of the tree's table under the
 * prefix (the table read here with sscanf rather than the plugin's
 * parser): ramfs where the table has a block-less file system, a 1 MiB
 * tmpfs for tmpfs and devtmpfs, an 8 MiB tmpfs with 128 KiB written on
 * /mnt/data; a directory of the prefix's tmpfs for the rest. */
static char *use_tree(const char *tree) {
  char *root = th_fmt("%s/tests/fixtures/host/%s", getenv("top_srcdir"), tree);
  char *info = th_fmt("%s/proc/1/mountinfo", root), *text = th_read_file(info);
  ck_assert_msg(text, "cannot read %s", info);
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char point[512], fstype[64];
    const char *dash = strstr(line, " - ");
    ck_assert(dash && sscanf(line, "%*s %*s %*s %*s %511s", point) == 1 &&
              sscanf(dash + 3, "%63s", fstype) == 1);
    char *path = th_fmt("%s%s", prefix, point);
    mkdirs(path);
    if (blockless(fstype)) {
      mount_at("ramfs", path, "mode=755");
    } else if (strcmp(fstype, "tmpfs") == 0 || strcmp(fstype, "devtmpfs") == 0) {
      mount_at("tmpfs", path, "size=1m,mode=755");
    } else if (strcmp(point, "/mnt/data") == 0) {
      mount_at("tmpfs", path, "size=8m,nr_inodes=100");
      char *f = th_fmt("%s/file", path);
      fill(f, 128 * 1024);
      free(f);
    }
    free(path);
  }
  free(text);
  free(info);
  char *p = th_fmt("%s/proc", root), *s = th_fmt("%s/sys", root);
  setenv("HOST_PROC", p, 1);
  setenv("HOST_SYS", s, 1);
  free(p);
  free(s);
  return root;
}

/* Debian 12's 6.1 in qemu: rootfs on /, ext4 on vda1 at /mnt/data, the rest
 * tmpfs, devtmpfs (ignored) or block-less. */
START_TEST(tree_linux_6_1) {
  char *root = use_tree("linux-6.1-qemu");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 2);
  /* the table's order */
  ck_assert_str_eq(tower_metric_tag(r.got.v[0], "path"), "/");
  ck_assert_str_eq(tower_metric_tag(r.got.v[1], "path"), "/mnt/data");
  const tower_metric *m = by_path(&r.got, "/");
  check_tags(m, "path", "/", "device", "rootfs", "fstype", "rootfs", "mode", "rw", NULL);
  check_usage(m, prefix, 16 * MiB, 64 * 1024);
  m = by_path(&r.got, "/mnt/data");
  check_tags(m, "path", "/mnt/data", "device", "vda1", "fstype", "ext4", "mode", "rw", NULL);
  char *data = th_fmt("%s/mnt/data", prefix);
  check_usage(m, data, 8 * MiB, 128 * 1024);
  free(data);
  rig_free(&r);
  free(root);
}
END_TEST

/* The development VM (6.18): ext4 on vda at /, every other mount tmpfs,
 * devtmpfs or block-less (cgroup v1 hierarchies, two devpts, two proc). */
START_TEST(tree_linux_6_18) {
  char *root = use_tree("linux-6.18.44-fc-v1300");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 1);
  const tower_metric *m = by_path(&r.got, "/");
  check_tags(m, "path", "/", "device", "vda", "fstype", "ext4", "mode", "rw", NULL);
  check_usage(m, prefix, 16 * MiB, 64 * 1024);
  rig_free(&r);
  free(root);
}
END_TEST

/* With an empty ignore_fs, the tmpfs mounts are reported too: the model
 * tools' read-only one with mode=ro and its source as device. */
START_TEST(tree_ignore_fs_empty) {
  char *root = use_tree("linux-6.18.44-fc-v1300");
  rig r;
  rig_start(&r, "ignore_fs = [];");
  ck_assert_int_eq(gather(&r), 0);
  const tower_metric *m = by_path(&r.got, "/mnt/sandboxing/model_tools_env/v1/python");
  check_tags(m, "path", "/mnt/sandboxing/model_tools_env/v1/python", "device",
             "model_tools_unavailable", "fstype", "tmpfs", "mode", "ro", NULL);
  char *path = th_fmt("%s/mnt/sandboxing/model_tools_env/v1/python", prefix);
  check_usage(m, path, MiB, 0);
  free(path);
  /* twice in the table (mounted over itself): twice here, as in Telegraf */
  size_t shm = 0;
  for (size_t i = 0; i < r.got.n; i++)
    shm += strcmp(tower_metric_tag(r.got.v[i], "path"), "/dev/shm") == 0 &&
           strcmp(tower_metric_tag(r.got.v[i], "device"), "tmpfs") == 0;
  ck_assert_uint_eq(shm, 2);
  ck_assert(has_path(&r.got, "/dev"));
  char *cg = th_fmt("%s/sys/fs/cgroup", prefix);
  check_usage(by_path(&r.got, "/sys/fs/cgroup"), cg, MiB, 0);
  free(cg);
  ck_assert(!has_path(&r.got, "/proc"));
  rig_free(&r);
  free(root);
}
END_TEST

START_TEST(tree_options) {
  char *root = use_tree("linux-6.1-qemu");
  rig r;
  rig_start(&r, "mount_points = [\"/mnt/data\", \"/nowhere\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 1);
  by_path(&r.got, "/mnt/data");
  rig_free(&r);
  rig_start(&r, "ignore_fs = [\"ext4\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 4); /* /, /dev, /run, /tmp */
  ck_assert(!has_path(&r.got, "/mnt/data"));
  rig_free(&r);
  /* "/" is mounted rw only, /mnt/data rw,relatime */
  rig_start(&r, "ignore_mount_opts = [\"relatime\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 1);
  by_path(&r.got, "/");
  rig_free(&r);
  free(root);
}
END_TEST

/* ---- tables written by the tests ------------------------------------------- */

/* Makes each mount point under the prefix (directories of its tmpfs). */
static void points(const char *const *list) {
  for (; *list; list++) {
    char *p = th_fmt("%s%s", prefix, *list);
    mkdirs(p);
    free(p);
  }
}

/* <dir>/<rel> holding `text`, its directories made. */
static void put(const char *rel, const char *text) {
  char *path = th_fmt("%s/%s", dir, rel);
  char *slash = strrchr(path, '/');
  *slash = '\0';
  mkdirs(path);
  *slash = '/';
  ck_assert_int_eq(th_write_file(path, text), 0);
  free(path);
}

/* <dir>/<rel> as a symlink to target. */
static void link_to(const char *rel, const char *target) {
  char *path = th_fmt("%s/%s", dir, rel);
  char *slash = strrchr(path, '/');
  *slash = '\0';
  mkdirs(path);
  *slash = '/';
  ck_assert_int_eq(symlink(target, path), 0);
  free(path);
}

/* gopsutil's decisions: the effective mode of mount and super block, bind
 * mounts named after the first mount of their device (and "bind" among
 * their options), btrfs subvolumes that are not binds, /dev/root and
 * /dev/mapper links resolved, "none" as the type, escaped paths; labels
 * from device-mapper and udev. */
START_TEST(table_decisions) {
  static const char *const dirs[] = {"/ro-super",     "/ro-mount", "/bind",   "/none",
                                     "/lv",           "/home",     "/home-x", "/mnt/with space",
                                     "/unknown-mode", NULL};
  points(dirs);
  write_proc("1/mountinfo",
             "21 1 8:1 / / rw,relatime - ext4 /dev/root rw\n"
             "22 21 8:2 / /ro-super rw,relatime - ext4 /dev/sda2 ro,errors=remount-ro\n"
             "23 21 8:3 / /ro-mount ro,relatime - xfs /dev/sda3 rw\n"
             "24 21 8:1 /srv/data /bind rw,relatime - ext4 /dev/root rw\n"
             "25 21 0:40 / /none rw - fuse.sshfs none rw\n"
             "26 21 253:0 / /lv rw,noatime shared:5 - xfs /dev/mapper/vg-lv rw,attr2\n"
             "27 21 0:50 /@home /home rw - btrfs /dev/sdb1 rw,subvol=/@home\n"
             "28 21 0:50 /@home/x /home-x rw - btrfs /dev/sdb1 rw,subvol=/@home\n"
             "29 21 0:60 / /mnt/with\\040space rw - ext4 /dev/sdc rw\n"
             "30 21 0:61 / /unknown-mode relatime - ext4 /dev/sdd nouser\n");
  link_to("sys/dev/block/8:1", "../../devices/pci0000:00/0000:00:1f.2/block/sda/sda1");
  link_to("dev/mapper/vg-lv", "../dm-0");
  put("sys/block/dm-0/dm/name", "vg-lv\n");
  put("sys/class/block/sdb1/dev", "8:17\n");
  put("run/udev/data/b8:17", "S:disk/by-label/home\nE:ID_FS_TYPE=btrfs\nE:ID_FS_LABEL=home\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 10);
  check_tags(by_path(&r.got, "/"), "path", "/", "device", "sda1", "fstype", "ext4", "mode", "rw",
             NULL);
  check_tags(by_path(&r.got, "/ro-super"), "path", "/ro-super", "device", "sda2", "fstype", "ext4",
             "mode", "ro", NULL);
  check_tags(by_path(&r.got, "/ro-mount"), "path", "/ro-mount", "device", "sda3", "fstype", "xfs",
             "mode", "ro", NULL);
  check_tags(by_path(&r.got, "/bind"), "path", "/bind", "device", "sda1", "fstype", "ext4", "mode",
             "rw", NULL);
  check_tags(by_path(&r.got, "/none"), "path", "/none", "device", "fuse.sshfs", "fstype",
             "fuse.sshfs", "mode", "rw", NULL);
  check_tags(by_path(&r.got, "/lv"), "path", "/lv", "device", "dm-0", "fstype", "xfs", "mode", "rw",
             "label", "vg-lv", NULL);
  check_tags(by_path(&r.got, "/home"), "path", "/home", "device", "sdb1", "fstype", "btrfs", "mode",
             "rw", "label", "home", NULL);
  check_tags(by_path(&r.got, "/home-x"), "path", "/home-x", "device", "sdb1", "fstype", "btrfs",
             "mode", "rw", "label", "home", NULL);
  check_tags(by_path(&r.got, "/mnt/with space"), "path", "/mnt/with space", "device", "sdc",
             "fstype", "ext4", "mode", "rw", NULL);
  check_tags(by_path(&r.got, "/unknown-mode"), "path", "/unknown-mode", "device", "sdd", "fstype",
             "ext4", "mode", "unknown", NULL);
  check_usage(by_path(&r.got, "/mnt/with space"), prefix, 16 * MiB, 64 * 1024);
  rig_free(&r);
  /* the two binds go with "bind"; the btrfs subvolume is not one */
  rig_start(&r, "ignore_mount_opts = [\"bind\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 8);
  ck_assert(!has_path(&r.got, "/bind") && !has_path(&r.got, "/home-x"));
  ck_assert(has_path(&r.got, "/home"));
  rig_free(&r);
  /* ignore_mount_opts sees the effective mode */
  rig_start(&r, "ignore_mount_opts = [\"ro\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert(!has_path(&r.got, "/ro-super") && !has_path(&r.got, "/ro-mount"));
  ck_assert_uint_eq(r.got.n, 8);
  rig_free(&r);
}
END_TEST

/* In a container the host's table names the host's paths; the host's file
 * systems are under HOST_MOUNT_PREFIX. A host path that, prefixed, is a
 * mount point of the table itself is not statted twice; a mount already
 * under the prefix gets its path tag without it. */
START_TEST(mount_prefix) {
  static const char *const dirs[] = {"/data", NULL};
  points(dirs);
  char *table = th_fmt("1 0 8:3 / / rw - ext4 /dev/sda3 rw\n"
                       "2 1 8:1 / /data rw - ext4 /dev/sda1 rw\n"
                       "3 1 8:2 / %s/data rw - ext4 /dev/sda2 rw\n"
                       "4 1 8:4 / %s rw - ext4 /dev/sda4 rw\n",
                       prefix, prefix);
  write_proc("1/mountinfo", table);
  free(table);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 2);
  /* "/" statted at the prefix, which is the table's 4th mount too: skipped */
  ck_assert_str_eq(tower_metric_tag(by_path(&r.got, "/data"), "device"), "sda2");
  ck_assert_str_eq(tower_metric_tag(by_path(&r.got, "/"), "device"), "sda4");
  ck_assert(logged(&r, "is a mount point of its own"));
  rig_free(&r);
}
END_TEST

/* Kernels before 2.6.26 have no mountinfo: the mounts file is read, with
 * its own options only. */
START_TEST(mounts_file) {
  static const char *const dirs[] = {"/srv", "/x", NULL};
  points(dirs);
  write_proc("1/mounts", "/dev/sda1 / ext4 rw,relatime 0 0\n"
                         "/dev/sda2 /srv ext4 ro 0 0\n"
                         "none /x tmpfs rw 0 0\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 2);
  check_tags(by_path(&r.got, "/"), "path", "/", "device", "sda1", "fstype", "ext4", "mode", "rw",
             NULL);
  check_tags(by_path(&r.got, "/srv"), "path", "/srv", "device", "sda2", "fstype", "ext4", "mode",
             "ro", NULL);
  rig_free(&r);
}
END_TEST

/* init's table unreadable (PID 1 of another namespace): our own. */
START_TEST(self_table) {
  write_proc("self/mountinfo", "1 0 8:3 / / rw - ext4 /dev/sda3 rw\n");
  char *d = th_fmt("%s/1", proc);
  th_rmrf(d);
  free(d);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 1);
  ck_assert_str_eq(tower_metric_tag(by_path(&r.got, "/"), "device"), "sda3");
  rig_free(&r);
}
END_TEST

START_TEST(no_table) {
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 1);
  ck_assert_uint_eq(r.got.n, 0);
  char *want =
      th_fmt("cannot read the mount table %s/1/mountinfo: No such file or directory", proc);
  ck_assert_msg(logged(&r, want), "log lacks \"%s\"", want);
  ck_assert(logged(&r, "set HOST_PROC"));
  free(want);
  /* a directory where the file should be: unreadable too */
  char *p = th_fmt("%s/1/mountinfo", proc), *q = th_fmt("%s/1/mounts", proc);
  mkdirs(p);
  mkdirs(q);
  ck_assert_int_eq(gather(&r), 1);
  ck_assert(logged(&r, "mountinfo: Is a directory"));
  free(p);
  free(q);
  rig_free(&r);
}
END_TEST

static int gather_as_nobody(void *arg, char *out, size_t len) {
  (void)out;
  (void)len;
  return gather(arg);
}

/* A table we may not read (mode 0400 of another user's process). */
START_TEST(unreadable_table) {
  if (getuid() != 0) /* root of a user namespace reads its own files anyway */
    return;
  write_proc("1/mountinfo", "1 0 8:3 / / rw - ext4 /dev/sda3 rw\n");
  write_proc("self/mountinfo", "1 0 8:3 / / rw - ext4 /dev/sda3 rw\n");
  ck_assert_int_eq(chmod(dir, 0755), 0);
  ck_assert_int_eq(chmod(proc, 0755), 0);
  char *a = th_fmt("%s/1/mountinfo", proc), *b = th_fmt("%s/self/mountinfo", proc);
  ck_assert_int_eq(chmod(a, 0400), 0);
  ck_assert_int_eq(chmod(b, 0400), 0);
  rig r;
  rig_start(&r, "");
  char out[64];
  ck_assert_int_eq(th_unprivileged(gather_as_nobody, &r, out, sizeof out), 1);
  char *want = th_fmt("cannot read the mount table %s: Permission denied", a);
  ck_assert_msg(logged(&r, want), "log lacks \"%s\"", want);
  free(want);
  free(a);
  free(b);
  rig_free(&r);
}
END_TEST

/* Super options longer than a page (an overlay's lowerdir list, say) and
 * the ro at their very end; lines that are no mount at all. */
START_TEST(long_and_malformed_lines) {
  static const char *const dirs[] = {"/big", "/ok", NULL};
  points(dirs);
  size_t n = 20000;
  char *opts = malloc(n + 1);
  ck_assert_ptr_nonnull(opts);
  for (size_t i = 0; i < n; i++)
    opts[i] = i % 10 == 9 ? ',' : 'o';
  opts[n] = '\0';
  char *table = th_fmt("garbage\n"
                       "\n"
                       "1 0 8:3 / / rw - ext4\n"
                       "2 0 x:y / /ok rw - ext4 /dev/sda9 rw\n"
                       "3 0 8:1 / /big rw,relatime - ext4 /dev/sda1 %s,ro\n"
                       "4 0 8:2 / /ok rw - ext4 /dev/sda2 rw\n",
                       opts);
  write_proc("1/mountinfo", table);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 2);
  check_tags(by_path(&r.got, "/big"), "path", "/big", "device", "sda1", "fstype", "ext4", "mode",
             "ro", NULL);
  ck_assert_str_eq(tower_metric_tag(by_path(&r.got, "/ok"), "device"), "sda2");
  ck_assert(logged(&r, "3 malformed lines skipped"));
  rig_free(&r);
  free(table);
  free(opts);
}
END_TEST

/* A mount point gone between the table and statfs is skipped quietly, as
 * Telegraf does; when every one fails, the prefix is likely wrong. autofs
 * is never statted (that would mount it). */
START_TEST(vanished_and_autofs) {
  static const char *const dirs[] = {"/auto", NULL};
  points(dirs);
  write_proc("1/mountinfo", "1 0 8:3 / / rw - ext4 /dev/sda3 rw\n"
                            "2 1 8:4 / /gone rw - ext4 /dev/sda4 rw\n"
                            "3 1 0:44 / /auto rw - autofs systemd-1 rw\n");
  rig r;
  rig_start(&r, "ignore_fs = [];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 1);
  by_path(&r.got, "/");
  char *want = th_fmt("statfs %s/gone: No such file or directory; skipped", prefix);
  ck_assert_msg(logged(&r, want), "log lacks \"%s\"", want);
  free(want);
  rig_free(&r);
  write_proc("1/mountinfo", "2 1 8:4 / /gone rw - ext4 /dev/sda4 rw\n"
                            "3 1 8:5 / /gone/too rw - ext4 /dev/sda5 rw\n");
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 1);
  ck_assert(logged(&r, "statfs failed on all 2 mount points"));
  ck_assert(logged(&r, "set HOST_MOUNT_PREFIX"));
  rig_free(&r);
}
END_TEST

/* ---- a hung mount: a FUSE server that holds statfs --------------------------- */

/* The server runs in a child process with the only /dev/fuse descriptor.
 * Once it has read a request, the caller waits for the answer where no
 * signal reaches it (a stuck statfs is in state D): had the server been a
 * thread of this program, a failed test would leave a process that can
 * never exit. The child dies with us (PR_SET_PDEATHSIG), which aborts the
 * connection, and never holds a request longer than FUSE_HOLD_MAX. */
#define FUSE_HOLD_MAX_MS 30000

typedef struct fuse_srv {
  pid_t pid;
  int ctl; /* 'r': answer statfs from now on; 'q': how many statfs calls */
} fuse_srv;

typedef struct fuse_child {
  int fd;
  bool hang;
  uint64_t held; /* the request held (its unique), 0 when none */
  int statfs_calls;
} fuse_child;

static void fuse_reply(int fd, uint64_t unique, int error, const void *body, size_t n) {
  char buf[512];
  struct fuse_out_header h = {.len = (uint32_t)(sizeof h + n), .error = error, .unique = unique};
  memcpy(buf, &h, sizeof h);
  if (n)
    memcpy(buf + sizeof h, body, n);
  if (write(fd, buf, sizeof h + n) < 0)
    _exit(3);
}

/* 1000 blocks of 4 KiB, 600 free, 500 for users; 100 inodes, 40 free. */
static void fuse_statfs(int fd, uint64_t unique) {
  struct fuse_statfs_out o = {.st = {.blocks = 1000,
                                     .bfree = 600,
                                     .bavail = 500,
                                     .files = 100,
                                     .ffree = 40,
                                     .bsize = 4096,
                                     .frsize = 4096,
                                     .namelen = 255}};
  fuse_reply(fd, unique, 0, &o, sizeof o);
}

static void fuse_answer_held(fuse_child *c) {
  if (c->held)
    fuse_statfs(c->fd, c->held);
  c->held = 0;
}

static void fuse_request(fuse_child *c, const struct fuse_in_header *h) {
  if (h->opcode == FUSE_INIT) {
    const struct fuse_init_in *in = (const void *)(h + 1);
    struct fuse_init_out o = {
        .major = FUSE_KERNEL_VERSION,
        .minor = in->minor < FUSE_KERNEL_MINOR_VERSION ? in->minor : FUSE_KERNEL_MINOR_VERSION,
        .max_readahead = in->max_readahead,
        .max_write = 4096};
    fuse_reply(c->fd, h->unique, 0, &o, sizeof o);
  } else if (h->opcode == FUSE_STATFS) {
    c->statfs_calls++;
    if (c->hang && !c->held)
      c->held = h->unique;
    else
      fuse_statfs(c->fd, h->unique);
  } else if (h->opcode == FUSE_GETATTR) {
    struct fuse_attr_out o = {.attr = {.ino = 1, .mode = S_IFDIR | 0755, .nlink = 2}};
    fuse_reply(c->fd, h->unique, 0, &o, sizeof o);
  } else if (h->opcode != FUSE_FORGET && h->opcode != FUSE_BATCH_FORGET) {
    fuse_reply(c->fd, h->unique, -ENOSYS, NULL, 0);
  }
}

/* The child's loop: requests from the kernel, commands from the test. */
static void fuse_serve(fuse_child *c, int ctl) {
  static char buf[1024 * 1024 + 8192]; /* at least FUSE_MIN_READ_BUFFER */
  for (;;) {
    struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN}, {.fd = ctl, .events = POLLIN}};
    int n = poll(p, 2, c->held ? FUSE_HOLD_MAX_MS : -1);
    if (n == 0) { /* held long enough: the test is gone or stuck */
      fuse_answer_held(c);
      continue;
    }
    if (n < 0)
      continue;
    if (p[1].revents) {
      char cmd;
      if (read(ctl, &cmd, 1) != 1) { /* the test ended */
        fuse_answer_held(c);
        return;
      }
      if (cmd == 'r') {
        c->hang = false;
        fuse_answer_held(c);
      }
      if (write(ctl, &c->statfs_calls, sizeof c->statfs_calls) < 0)
        return;
    }
    if (p[0].revents) {
      ssize_t got = read(c->fd, buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == ENOENT || errno == EAGAIN))
        continue;
      if (got < (ssize_t)sizeof(struct fuse_in_header))
        return; /* ENODEV: unmounted */
      fuse_request(c, (const struct fuse_in_header *)buf);
    }
  }
}

static void fuse_start(fuse_srv *f, const char *path) {
  int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  ck_assert_msg(fd >= 0, "/dev/fuse: %s (modprobe fuse)", strerror(errno));
  char *opts = th_fmt("fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
  ck_assert_msg(mount("host:/export", path, "fuse.sshfs", MS_NOSUID | MS_NODEV, opts) == 0,
                "mount fuse on %s: %s", path, strerror(errno));
  free(opts);
  int sv[2];
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  pid_t parent = getpid();
  f->pid = fork();
  ck_assert_int_ge(f->pid, 0);
  if (f->pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(sv[0]);
    fuse_child c = {.fd = fd, .hang = true};
    if (getppid() == parent)
      fuse_serve(&c, sv[1]);
    _exit(0);
  }
  close(fd);
  close(sv[1]);
  f->ctl = sv[0];
}

/* Sends a command; returns the statfs calls the server has seen. */
static int fuse_command(fuse_srv *f, char cmd) {
  int calls = -1;
  ck_assert_int_eq(write(f->ctl, &cmd, 1), 1);
  ck_assert_int_eq(read(f->ctl, &calls, sizeof calls), (ssize_t)sizeof calls);
  return calls;
}

/* Answers the held statfs and every later one. */
static void fuse_release(fuse_srv *f) {
  fuse_command(f, 'r');
}

static void fuse_stop(fuse_srv *f, const char *path) {
  fuse_release(f);
  ck_assert_int_eq(umount2(path, MNT_DETACH), 0);
  close(f->ctl);
  int st;
  ck_assert_int_eq(waitpid(f->pid, &st, 0), f->pid);
}

/* valgrind keeps its one big lock through statfs (it does not count it as
 * a call that may block): a statfs hung in the kernel stops every thread
 * of the program, the FUSE server's included. The FUSE tests run in the
 * plain and ASan builds; under valgrind the pool tests cover the same
 * logic with a blocking call valgrind does release its lock for. */
static bool fuse_usable(bool say) {
  const char *p = getenv("LD_PRELOAD");
  const char *why = p && strstr(p, "vgpreload") ? "under valgrind (its lock is held through statfs)"
                    : access("/dev/fuse", R_OK | W_OK) != 0 ? "no /dev/fuse (modprobe fuse)"
                                                            : NULL;
  if (why && say)
    fprintf(stderr, "test_disk: the hung FUSE mount tests do not run %s\n", why);
  return !why;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* statfs on the FUSE mount blocks in the kernel until its server answers,
 * as on a hung NFS mount. The gather gives up after `timeout`, reports the
 * others and one error; the next gather does not ask the hung mount again
 * (its call is still stuck) and does not wait; once the server answers,
 * the mount is reported again. */
START_TEST(hung_mount) {
  if (!fuse_usable(true))
    return;
  static const char *const dirs[] = {"/other", "/hung", NULL};
  points(dirs);
  char *hung = th_fmt("%s/hung", prefix);
  write_proc("1/mountinfo", "1 0 8:3 / / rw - ext4 /dev/sda3 rw\n"
                            "2 1 0:70 / /hung rw,nosuid,nodev - fuse.sshfs host:/export rw\n"
                            "3 1 8:4 / /other rw - ext4 /dev/sda4 rw\n");
  fuse_srv f;
  fuse_start(&f, hung);
  rig r;
  rig_start(&r, "timeout = \"300ms\";");
  double t0 = now_s();
  ck_assert_int_eq(gather(&r), 1);
  double took = now_s() - t0;
  ck_assert_msg(took >= 0.3, "gave up after %.3fs", took);
  ck_assert_uint_eq(r.got.n, 2);
  ck_assert(has_path(&r.got, "/") && has_path(&r.got, "/other") && !has_path(&r.got, "/hung"));
  char *want = th_fmt("statfs hangs on 1 mount point, skipped: %s (did not answer in time)", hung);
  ck_assert_msg(logged(&r, want), "log lacks \"%s\"", want);
  free(want);
  ck_assert(logged(&r, "1 statfs thread stuck"));

  ck_assert_int_eq(gather(&r), 1);
  ck_assert_uint_eq(r.got.n, 2);
  ck_assert(logged(&r, "(still has not answered an earlier call)"));
  ck_assert_int_eq(fuse_command(&f, 'q'), 1); /* not asked again */

  fuse_release(&f);
  /* the stuck worker comes back once the answer reaches it */
  int errors = 1;
  for (int i = 0; i < 500 && (errors = gather(&r)) != 0; i++)
    usleep(10000);
  ck_assert_int_eq(errors, 0);
  ck_assert_uint_eq(r.got.n, 3);
  const tower_metric *m = by_path(&r.got, "/hung");
  check_tags(m, "path", "/hung", "device", "host:/export", "fstype", "fuse.sshfs", "mode", "rw",
             NULL);
  ck_assert_uint_eq(uint_field(m, "total"), 1000 * 4096);
  ck_assert_uint_eq(uint_field(m, "free"), 500 * 4096);
  ck_assert_uint_eq(uint_field(m, "used"), 400 * 4096);
  ck_assert_double_eq(float_field(m, "used_percent"), 400.0 / 900.0 * 100);
  ck_assert_uint_eq(uint_field(m, "inodes_total"), 100);
  ck_assert_uint_eq(uint_field(m, "inodes_free"), 40);
  ck_assert_uint_eq(uint_field(m, "inodes_used"), 60);
  ck_assert_double_eq(float_field(m, "inodes_used_percent"), 60.0 / 100.0 * 100);
  rig_free(&r);
  fuse_stop(&f, hung);
  free(hung);
}
END_TEST

/* A mount that hangs while the input is destroyed (a reload): destroy does
 * not wait for it, and the stuck thread cleans up after itself when the
 * call returns. */
START_TEST(destroyed_while_hung) {
  if (!fuse_usable(false))
    return;
  static const char *const dirs[] = {"/hung", NULL};
  points(dirs);
  char *hung = th_fmt("%s/hung", prefix);
  write_proc("1/mountinfo", "2 1 0:70 / /hung rw - fuse.sshfs host:/export rw\n");
  fuse_srv f;
  fuse_start(&f, hung);
  rig r;
  rig_start(&r, "timeout = \"100ms\";");
  ck_assert_int_eq(gather(&r), 1);
  double t0 = now_s();
  rig_free(&r);
  ck_assert_msg(now_s() - t0 < 5, "destroy waited for the hung call");
  fuse_stop(&f, hung);
  free(hung);
}
END_TEST

/* ---- the pool on its own ---------------------------------------------------- */

static pthread_mutex_t hang_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hang_cv = PTHREAD_COND_INITIALIZER;
static bool released;
static int blocked;

/* Paths starting with /hang block until released, like statfs on a dead
 * NFS server; others answer at once with f_blocks = their length. */
static int fake_statfs(const char *path, struct statfs *out) {
  if (strncmp(path, "/hang", 5) == 0) {
    pthread_mutex_lock(&hang_mu);
    blocked++;
    pthread_cond_broadcast(&hang_cv);
    while (!released)
      pthread_cond_wait(&hang_cv, &hang_mu);
    blocked--;
    pthread_cond_broadcast(&hang_cv);
    pthread_mutex_unlock(&hang_mu);
    return -EIO;
  }
  memset(out, 0, sizeof *out);
  out->f_blocks = strlen(path);
  return strcmp(path, "/missing") == 0 ? -ENOENT : 0;
}

static void pool_setup(void) {
  released = false;
  blocked = 0;
}

/* Lets every blocked call return and waits until they have. */
static void release_all(void) {
  pthread_mutex_lock(&hang_mu);
  released = true;
  pthread_cond_broadcast(&hang_cv);
  while (blocked)
    pthread_cond_wait(&hang_cv, &hang_mu);
  pthread_mutex_unlock(&hang_mu);
}

/* Waits until the pool has no stuck worker (a released call's worker needs
 * a moment to take the pool's lock). */
static void wait_unstuck(stat_pool *p) {
  for (int i = 0; i < 1000 && stat_pool_stuck(p); i++)
    usleep(1000);
  ck_assert_uint_eq(stat_pool_stuck(p), 0);
}

START_TEST(pool_answers) {
  stat_pool *p = stat_pool_new(fake_statfs, 1000000000);
  stat_req r[3] = {{.path = "/a"}, {.path = "/missing"}, {.path = "/ccc"}};
  for (int round = 0; round < 3; round++) {
    stat_pool_run(p, r, 3);
    ck_assert_int_eq(r[0].err, 0);
    ck_assert_uint_eq(r[0].st.f_blocks, 2);
    ck_assert_int_eq(r[1].err, -ENOENT);
    ck_assert_int_eq(r[2].err, 0);
    ck_assert_uint_eq(r[2].st.f_blocks, 4);
  }
  stat_pool_run(p, r, 0);
  ck_assert_uint_eq(stat_pool_stuck(p), 0);
  stat_pool_free(p);
}
END_TEST

START_TEST(pool_gives_up) {
  stat_pool *p = stat_pool_new(fake_statfs, 100000000); /* 100 ms */
  stat_req r[3] = {{.path = "/a"}, {.path = "/hang1"}, {.path = "/bb"}};
  double t0 = now_s();
  stat_pool_run(p, r, 3);
  ck_assert_double_ge(now_s() - t0, 0.1);
  ck_assert_int_eq(r[0].err, 0);
  ck_assert_int_eq(r[1].err, -ETIMEDOUT);
  ck_assert_int_eq(r[2].err, 0); /* by another worker */
  ck_assert_uint_eq(r[2].st.f_blocks, 3);
  ck_assert_uint_eq(stat_pool_stuck(p), 1);
  char path[64];
  ck_assert_int_ge(stat_pool_stuck_path(p, 0, path, sizeof path), 100000000);
  ck_assert_str_eq(path, "/hang1");
  ck_assert_int_eq(stat_pool_stuck_path(p, 1, path, sizeof path), 0);
  ck_assert_str_eq(path, "");

  /* the hung path is not asked again while its call is stuck */
  stat_pool_run(p, r, 3);
  ck_assert_int_eq(r[1].err, -EINPROGRESS);
  ck_assert_int_eq(r[0].err, 0);
  ck_assert_int_eq(r[2].err, 0);
  pthread_mutex_lock(&hang_mu);
  ck_assert_int_eq(blocked, 1);
  pthread_mutex_unlock(&hang_mu);

  /* answered at last: the worker is usable again, the path asked again */
  release_all();
  wait_unstuck(p);
  stat_pool_run(p, r, 3);
  ck_assert_int_eq(r[1].err, -EIO);
  stat_pool_free(p);
}
END_TEST

/* No more than STAT_POOL_MAX_STUCK threads: when they all hang, the rest
 * of the list is skipped rather than another thread started. */
START_TEST(pool_bounded) {
  stat_pool *p = stat_pool_new(fake_statfs, 50000000);
  stat_req r[STAT_POOL_MAX_STUCK + 2];
  char names[STAT_POOL_MAX_STUCK + 2][16];
  for (int i = 0; i < STAT_POOL_MAX_STUCK + 1; i++) {
    snprintf(names[i], sizeof names[i], "/hang%d", i);
    r[i].path = names[i];
  }
  r[STAT_POOL_MAX_STUCK + 1].path = "/ok";
  stat_pool_run(p, r, STAT_POOL_MAX_STUCK + 2);
  for (int i = 0; i < STAT_POOL_MAX_STUCK; i++)
    ck_assert_int_eq(r[i].err, -ETIMEDOUT);
  ck_assert_int_eq(r[STAT_POOL_MAX_STUCK].err, -EBUSY);
  ck_assert_int_eq(r[STAT_POOL_MAX_STUCK + 1].err, -EBUSY);
  ck_assert_uint_eq(stat_pool_stuck(p), STAT_POOL_MAX_STUCK);
  pthread_mutex_lock(&hang_mu);
  ck_assert_int_eq(blocked, STAT_POOL_MAX_STUCK);
  pthread_mutex_unlock(&hang_mu);
  release_all();
  wait_unstuck(p);
  stat_req ok = {.path = "/ok"};
  stat_pool_run(p, &ok, 1);
  ck_assert_int_eq(ok.err, 0);
  stat_pool_free(p);
}
END_TEST

/* Freed with a worker stuck: the worker frees the pool when it returns. */
START_TEST(pool_freed_while_stuck) {
  stat_pool *p = stat_pool_new(fake_statfs, 20000000);
  stat_req r = {.path = "/hang"};
  stat_pool_run(p, &r, 1);
  ck_assert_int_eq(r.err, -ETIMEDOUT);
  stat_pool_free(p);
  release_all(); /* ASan and valgrind see the pool freed once, by the worker */
}
END_TEST

int main(void) {
  private_mounts();
  Suite *s = suite_create("inputs.disk");
  TCase *t = tcase_create("trees");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, tree_linux_6_1);
  tcase_add_test(t, tree_linux_6_18);
  tcase_add_test(t, tree_ignore_fs_empty);
  tcase_add_test(t, tree_options);
  suite_add_tcase(s, t);
  t = tcase_create("tables");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, table_decisions);
  tcase_add_test(t, mount_prefix);
  tcase_add_test(t, mounts_file);
  tcase_add_test(t, self_table);
  tcase_add_test(t, no_table);
  tcase_add_test(t, unreadable_table);
  tcase_add_test(t, long_and_malformed_lines);
  tcase_add_test(t, vanished_and_autofs);
  tcase_add_test(t, hung_mount);
  tcase_add_test(t, destroyed_while_hung);
  suite_add_tcase(s, t);
  t = tcase_create("pool");
  tcase_add_checked_fixture(t, pool_setup, NULL);
  tcase_add_test(t, pool_answers);
  tcase_add_test(t, pool_gives_up);
  tcase_add_test(t, pool_bounded);
  tcase_add_test(t, pool_freed_while_stuck);
  suite_add_tcase(s, t);
  return check_run(s);
}
