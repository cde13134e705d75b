/* inputs.diskio, through the core, against the recorded trees of
 * tests/fixtures/host (their diskstats read here with sscanf for the
 * expected values) and trees the tests write: HOST_PROC with a diskstats,
 * HOST_SYS with the sysfs files of block devices, HOST_RUN with udev's
 * database, as udevd writes it (no udevd runs here).
 *
 * Gathers are driven one at a time; metrics are captured as objects (the
 * record output's write callback swapped) to see their types. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tower/tower.h>

#include "check_run.h"
#include "harness.h"
#include "log_internal.h"
#include "malloc_count.h"
#include "unprivileged.h"

static char *dir;

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

static void link_to(const char *rel, const char *target) {
  char *path = th_fmt("%s/%s", dir, rel);
  char *slash = strrchr(path, '/');
  *slash = '\0';
  mkdirs(path);
  *slash = '/';
  ck_assert_int_eq(symlink(target, path), 0);
  free(path);
}

static void setup(void) {
  dir = th_tmpdir();
  char *p = th_fmt("%s/proc", dir), *s = th_fmt("%s/sys", dir), *r = th_fmt("%s/run", dir);
  mkdirs(p);
  setenv("HOST_PROC", p, 1);
  setenv("HOST_SYS", s, 1);
  setenv("HOST_RUN", r, 1);
  free(p);
  free(s);
  free(r);
}

static void teardown(void) {
  unsetenv("HOST_PROC");
  unsetenv("HOST_SYS");
  unsetenv("HOST_RUN");
  th_rmrf(dir);
  free(dir);
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
                   "inputs = ( { plugin = \"diskio\"; %s } );\n"
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

/* Writes <HOST_PROC>/diskstats and gathers. */
static int gather_stats(rig *r, const char *stats) {
  put("proc/diskstats", stats);
  return gather(r);
}

static size_t count_in_log(const rig *r, const char *text) {
  char *log = th_read_file(r->log);
  size_t n = 0;
  for (const char *p = log; p && (p = strstr(p, text)); p++)
    n++;
  free(log);
  return n;
}

/* ---- looking at metrics ---------------------------------------------------- */

static const tower_metric *by_name(const capture *c, const char *name) {
  const tower_metric *hit = NULL;
  for (size_t i = 0; i < c->n; i++) {
    const char *p = tower_metric_tag(c->v[i], "name");
    if (p && strcmp(p, name) == 0) {
      ck_assert_msg(!hit, "two metrics with name=%s", name);
      hit = c->v[i];
    }
  }
  ck_assert_msg(hit, "no metric with name=%s", name);
  return hit;
}

static bool has_name(const capture *c, const char *name) {
  for (size_t i = 0; i < c->n; i++) {
    const char *p = tower_metric_tag(c->v[i], "name");
    if (p && strcmp(p, name) == 0)
      return true;
  }
  return false;
}

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

static bool has_field(const tower_metric *m, const char *key) {
  return tower_metric_field_index(m, key) >= 0;
}

/* Columns 4-14 of a diskstats line: reads merged_reads sectors_read
 * read_time writes merged_writes sectors_written write_time in_progress
 * io_time weighted_io_time. */
typedef struct {
  unsigned long long v[11];
} stats;

/* The metric holds Telegraf's eleven counters for `s`, as uints. */
static void check_counters(const tower_metric *m, const stats *s) {
  ck_assert_str_eq(tower_metric_name(m), "diskio");
  ck_assert_int_eq(tower_metric_type(m), TOWER_COUNTER);
  ck_assert_uint_eq(uint_field(m, "reads"), s->v[0]);
  ck_assert_uint_eq(uint_field(m, "merged_reads"), s->v[1]);
  ck_assert_uint_eq(uint_field(m, "read_bytes"), s->v[2] * 512);
  ck_assert_uint_eq(uint_field(m, "read_time"), s->v[3]);
  ck_assert_uint_eq(uint_field(m, "writes"), s->v[4]);
  ck_assert_uint_eq(uint_field(m, "merged_writes"), s->v[5]);
  ck_assert_uint_eq(uint_field(m, "write_bytes"), s->v[6] * 512);
  ck_assert_uint_eq(uint_field(m, "write_time"), s->v[7]);
  ck_assert_uint_eq(uint_field(m, "iops_in_progress"), s->v[8]);
  ck_assert_uint_eq(uint_field(m, "io_time"), s->v[9]);
  ck_assert_uint_eq(uint_field(m, "weighted_io_time"), s->v[10]);
}

/* ---- the recorded trees ---------------------------------------------------- */

/* The tree's diskstats, read with sscanf: the counters of `name`. */
static stats tree_stats(const char *root, const char *name) {
  char *path = th_fmt("%s/proc/diskstats", root), *text = th_read_file(path);
  ck_assert_ptr_nonnull(text);
  stats s;
  bool found = false;
  for (char *line = strtok(text, "\n"); line && !found; line = strtok(NULL, "\n")) {
    char dev[64];
    found = sscanf(line, "%*u %*u %63s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", dev,
                   &s.v[0], &s.v[1], &s.v[2], &s.v[3], &s.v[4], &s.v[5], &s.v[6], &s.v[7], &s.v[8],
                   &s.v[9], &s.v[10]) == 12 &&
            strcmp(dev, name) == 0;
  }
  ck_assert_msg(found, "%s not in %s", name, path);
  free(text);
  free(path);
  return s;
}

static char *use_tree(const char *tree) {
  char *root = th_fmt("%s/tests/fixtures/host/%s", getenv("top_srcdir"), tree);
  char *p = th_fmt("%s/proc", root), *s = th_fmt("%s/sys", root);
  setenv("HOST_PROC", p, 1);
  setenv("HOST_SYS", s, 1);
  free(p);
  free(s);
  return root;
}

/* Debian 12's 6.1 in qemu: vda, its partition vda1, vdb (swap). The
 * serials are virtio-blk's, in sysfs (no udevd ran); a partition has its
 * disk's. */
START_TEST(tree_linux_6_1) {
  char *root = use_tree("linux-6.1-qemu");
  rig r;
  rig_start(&r, "skip_serial_number = false;");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 3);
  static const char *const names[] = {"vda", "vda1", "vdb"};
  static const char *const serials[] = {"TOWER-DATA-1", "TOWER-DATA-1", "TOWER-SWAP-1"};
  for (int i = 0; i < 3; i++) {
    const tower_metric *m = r.got.v[i]; /* the file's order */
    check_tags(m, "name", names[i], "serial", serials[i], NULL);
    stats s = tree_stats(root, names[i]);
    check_counters(m, &s);
    ck_assert_uint_eq(tower_metric_field_count(m), 11); /* no rate at the first sample */
  }
  /* a second sample of the same file: rates of nothing, in 0 ms or more */
  ck_assert_int_eq(gather(&r), 0);
  const tower_metric *m = by_name(&r.got, "vda");
  ck_assert(!has_field(m, "io_await")); /* no I/O completed between the two */
  ck_assert_double_eq(float_field(m, "io_util"), 0);
  ck_assert_uint_eq(tower_metric_field_count(m), 12);
  rig_free(&r);
  free(root);
}
END_TEST

/* The development VM: the loop and zram devices have not been used (all
 * counters 0) and are left out, as gopsutil does. vda's serial is
 * virtio-blk's, from sysfs. */
START_TEST(tree_linux_6_18) {
  char *root = use_tree("linux-6.18.44-fc-v1300");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 1);
  const tower_metric *m = r.got.v[0];
  check_tags(m, "name", "vda", NULL); /* skip_serial_number is true by default */
  stats s = tree_stats(root, "vda");
  check_counters(m, &s);
  rig_free(&r);
  rig_start(&r, "skip_serial_number = false; devices = [\"vd*\", \"loop0\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 1);
  check_tags(r.got.v[0], "name", "vda", "serial", "overlayblk", NULL);
  rig_free(&r);
  free(root);
}
END_TEST

/* ---- trees written by the tests -------------------------------------------- */

#define SDA_A "   8       0 sda 1000 10 80000 500 2000 20 160000 700 3 900 1300 0 0 0 0 0 0\n"
#define SDA_B "   8       0 sda 1100 12 88000 560 2300 25 184000 790 1 960 1500 0 0 0 0 0 0\n"

/* io_await = Δ(read_time + write_time) / Δ(reads + writes), io_svctm =
 * Δio_time / Δ(reads + writes), io_util = 100 * Δio_time / elapsed ms. */
START_TEST(rates) {
  rig r;
  rig_start(&r, "");
  int64_t t0 = tower_mono_ns();
  ck_assert_int_eq(gather_stats(&r, SDA_A), 0);
  int64_t t1 = tower_mono_ns();
  ck_assert_int_eq(tower_metric_field_count(by_name(&r.got, "sda")), 11);
  int64_t t2 = tower_mono_ns();
  ck_assert_int_eq(gather_stats(&r, SDA_B), 0);
  int64_t t3 = tower_mono_ns();
  const tower_metric *m = by_name(&r.got, "sda");
  check_counters(m, &(stats){{1100, 12, 88000, 560, 2300, 25, 184000, 790, 1, 960, 1500}});
  ck_assert_uint_eq(tower_metric_field_count(m), 14);
  ck_assert_double_eq(float_field(m, "io_await"), (60.0 + 90.0) / (100.0 + 300.0));
  ck_assert_double_eq(float_field(m, "io_svctm"), 60.0 / 400.0);
  /* elapsed between the two reads: within [t2 - t1, t3 - t0] */
  double util = float_field(m, "io_util");
  double lo = 100 * 60.0 / ((double)(t3 - t0) / 1e6), hi = 100 * 60.0 / ((double)(t2 - t1) / 1e6);
  ck_assert_msg(util >= lo && util <= hi, "io_util %g not in [%g, %g]", util, lo, hi);
  rig_free(&r);
}
END_TEST

/* A counter lower than at the previous sample (a 32-bit counter wrapped, a
 * device replaced): the kernel's values as they are, no rates this time
 * (Telegraf's wrap check), rates again at the next. */
START_TEST(counters_backwards) {
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather_stats(&r, SDA_B), 0);
  ck_assert_int_eq(gather_stats(&r, SDA_A), 0);
  const tower_metric *m = by_name(&r.got, "sda");
  check_counters(m, &(stats){{1000, 10, 80000, 500, 2000, 20, 160000, 700, 3, 900, 1300}});
  ck_assert_uint_eq(tower_metric_field_count(m), 11);
  ck_assert_int_eq(gather_stats(&r, SDA_B), 0);
  ck_assert(has_field(by_name(&r.got, "sda"), "io_await"));
  /* a wrap of read_time alone is enough */
  ck_assert_int_eq(
      gather_stats(&r, "   8       0 sda 1200 12 88000 3 2400 25 184000 800 1 990 1500\n"), 0);
  ck_assert_uint_eq(tower_metric_field_count(by_name(&r.got, "sda")), 11);
  rig_free(&r);
}
END_TEST

/* A device gone from the file is not reported; back, it starts over. */
START_TEST(device_gone_and_back) {
  const char *sdb = "   8      16 sdb 50 0 400 5 60 0 480 6 0 10 11\n";
  char *both = th_fmt("%s%s", SDA_A, sdb);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather_stats(&r, both), 0);
  ck_assert_uint_eq(r.got.n, 2);
  ck_assert_int_eq(gather_stats(&r, SDA_B), 0);
  ck_assert_uint_eq(r.got.n, 1);
  ck_assert(!has_name(&r.got, "sdb"));
  char *back = th_fmt("%s%s", sdb, SDA_B); /* and in another place */
  ck_assert_int_eq(gather_stats(&r, back), 0);
  ck_assert_uint_eq(r.got.n, 2);
  ck_assert_str_eq(tower_metric_tag(r.got.v[0], "name"), "sdb");
  ck_assert_uint_eq(tower_metric_field_count(by_name(&r.got, "sdb")), 11);
  ck_assert_uint_eq(tower_metric_field_count(by_name(&r.got, "sda")), 12); /* io_util only */
  /* the same name with another major:minor is another device */
  ck_assert_int_eq(gather_stats(&r, "   8      32 sdb 60 0 400 5 60 0 480 6 0 10 11\n"), 0);
  ck_assert_uint_eq(tower_metric_field_count(by_name(&r.got, "sdb")), 11);
  free(both);
  free(back);
  rig_free(&r);
}
END_TEST

/* Kernel columns beyond Telegraf's (discards, flushes and any later ones)
 * are ignored, however long the line; lines of kernels before 2.6.25 (4
 * partition columns), names too long and words are skipped; unused devices
 * are left out. */
START_TEST(odd_lines) {
  size_t extra = 3000;
  char *tail = malloc(extra * 2 + 1);
  ck_assert_ptr_nonnull(tail);
  for (size_t i = 0; i < extra; i++)
    memcpy(tail + 2 * i, " 7", 2);
  tail[extra * 2] = '\0';
  char *text =
      th_fmt("   8       1 sda1 100 200 300 400\n"
             "   8       2 sda2 a b c d e f g h i j k\n"
             "   8       3 %s 1 1 1 1 1 1 1 1 1 1 1\n"
             "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
             "\n"
             "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11%s\n"
             " 259       0 nvme0n1 1 2 3 4 5 6 7 8 9 10 11",
             "a-name-far-longer-than-the-kernel-would-ever-allow-for-any-block-device", tail);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather_stats(&r, text), 0);
  ck_assert_uint_eq(r.got.n, 2);
  check_counters(by_name(&r.got, "sda"), &(stats){{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}});
  check_counters(by_name(&r.got, "nvme0n1"), &(stats){{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}});
  ck_assert_uint_eq(count_in_log(&r, "skipping malformed line"), 3);
  rig_free(&r);
  free(text);
  free(tail);
}
END_TEST

START_TEST(missing_file) {
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 1);
  char *want =
      th_fmt("cannot read %s/proc/diskstats: No such file or directory (set HOST_PROC", dir);
  ck_assert_uint_eq(count_in_log(&r, want), 1);
  free(want);
  ck_assert_int_eq(gather_stats(&r, SDA_A), 0); /* there again */
  ck_assert_uint_eq(r.got.n, 1);
  rig_free(&r);
}
END_TEST

static int gather_as_nobody(void *arg, char *out, size_t len) {
  (void)out;
  (void)len;
  return gather(arg);
}

START_TEST(unreadable_file) {
  put("proc/diskstats", SDA_A);
  char *path = th_fmt("%s/proc/diskstats", dir), *p = th_fmt("%s/proc", dir);
  ck_assert_int_eq(chmod(dir, 0755), 0);
  ck_assert_int_eq(chmod(p, 0755), 0);
  ck_assert_int_eq(chmod(path, 0400), 0);
  if (getuid() != 0)
    ck_assert_int_eq(chmod(path, 0), 0);
  rig r;
  rig_start(&r, "");
  char out[64];
  ck_assert_int_eq(th_unprivileged(gather_as_nobody, &r, out, sizeof out), 1);
  char *want = th_fmt("cannot read %s: Permission denied", path);
  ck_assert_uint_eq(count_in_log(&r, want), 1);
  free(want);
  free(path);
  free(p);
  rig_free(&r);
}
END_TEST

/* ---- names, tags, serials ----------------------------------------------------- */

/* sda: a SATA disk udevd knows; sda1 its partition; sdb a disk udevd does
 * not know (sysfs model and serial); nvme0n1 with a wwid and no udev. */
static void write_devices(void) {
  put("proc/diskstats", "   8       0 sda 1 0 8 1 1 0 8 1 0 1 2\n"
                        "   8       1 sda1 1 0 8 1 1 0 8 1 0 1 2\n"
                        "   8      16 sdb 1 0 8 1 1 0 8 1 0 1 2\n"
                        " 259       0 nvme0n1 1 0 8 1 1 0 8 1 0 1 2\n");
  put("run/udev/data/b8:0", "S:disk/by-id/ata-QEMU_HARDDISK_QM00001\n"
                            "S:disk/by-path/pci-0000:00:1f.2-ata-1\n"
                            "L:0\n"
                            "I:1234567\n"
                            "E:ID_SERIAL=QEMU_HARDDISK_QM00001\n"
                            "E:ID_MODEL=QEMU_HARDDISK\n"
                            "E:ID_PART_TABLE_TYPE=gpt\n"
                            "G:systemd\n");
  put("run/udev/data/b8:1", "S:disk/by-label/root\n"
                            "S:disk/by-uuid/0b1d\n"
                            "E:ID_SERIAL=QEMU_HARDDISK_QM00001\n"
                            "E:ID_FS_TYPE=ext4\n"
                            "E:ID_FS_LABEL=root\n"
                            "E:ID_FS_USAGE=filesystem\n");
  put("sys/devices/pci0000:00/ata1/block/sda/uevent", "MAJOR=8\nMINOR=0\nDEVNAME=sda\n"
                                                      "DEVTYPE=disk\n");
  put("sys/devices/pci0000:00/ata1/block/sda/sda1/uevent",
      "MAJOR=8\nMINOR=1\nDEVNAME=sda1\nDEVTYPE=partition\nPARTN=1\n");
  put("sys/devices/pci0000:00/ata1/block/sda/sda1/partition", "1\n");
  link_to("sys/class/block/sda", "../../devices/pci0000:00/ata1/block/sda");
  link_to("sys/class/block/sda1", "../../devices/pci0000:00/ata1/block/sda/sda1");
  put("sys/devices/pci0000:00/ata2/block/sdb/device/model", "QEMU HARDDISK   \n");
  put("sys/devices/pci0000:00/ata2/block/sdb/device/serial", "QM00002\n");
  link_to("sys/class/block/sdb", "../../devices/pci0000:00/ata2/block/sdb");
  put("sys/block/nvme0n1/wwid", "eui.0025388b71b0e1f2\n");
}

START_TEST(serials_and_wwid) {
  write_devices();
  rig r;
  rig_start(&r, "skip_serial_number = false;");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 4);
  check_tags(by_name(&r.got, "sda"), "name", "sda", "serial", "QEMU_HARDDISK_QM00001", NULL);
  check_tags(by_name(&r.got, "sda1"), "name", "sda1", "serial", "QEMU_HARDDISK_QM00001", NULL);
  /* gopsutil's "<model>_<serial>" of sysfs, newlines out, ends trimmed */
  check_tags(by_name(&r.got, "sdb"), "name", "sdb", "serial", "QEMU HARDDISK   _QM00002", NULL);
  check_tags(by_name(&r.got, "nvme0n1"), "name", "nvme0n1", "wwid", "eui.0025388b71b0e1f2",
             "serial", "unknown", NULL);
  rig_free(&r);
}
END_TEST

START_TEST(device_tags_and_templates) {
  write_devices();
  rig r;
  rig_start(&r, "device_tags = [\"ID_FS_TYPE\", \"ID_FS_USAGE\", \"DEVTYPE\", \"NOPE\"];"
                "name_templates = [\"$$ID_MISSING\", \"$${ID_FS_LABEL}-on-$$DEVNAME\", "
                "\"$$ID_MODEL\"];"); /* $$: a literal $ in tower's config */
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 4);
  check_tags(by_name(&r.got, "root-on-/dev/sda1"), "name", "root-on-/dev/sda1", "ID_FS_TYPE",
             "ext4", "ID_FS_USAGE", "filesystem", "DEVTYPE", "partition", NULL);
  check_tags(by_name(&r.got, "QEMU_HARDDISK"), "name", "QEMU_HARDDISK", "DEVTYPE", "disk", NULL);
  /* no udev data: the kernel's name, no device tags, a warning once */
  check_tags(by_name(&r.got, "sdb"), "name", "sdb", NULL);
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(count_in_log(&r, "sdb: no udev data in"), 1);
  ck_assert_uint_eq(count_in_log(&r, "nvme0n1: no udev data in"), 1);
  /* udevd rewrites a file (a new label): seen at the next gather, and the
   * device keeps its previous sample */
  put("run/udev/data/b8:1", "E:ID_FS_TYPE=xfs\nE:ID_FS_LABEL=data\nE:ID_FS_USAGE=filesystem\n");
  put("proc/diskstats", "   8       1 sda1 2 0 8 1 1 0 8 1 0 1 2\n");
  ck_assert_int_eq(gather(&r), 0);
  const tower_metric *m = by_name(&r.got, "data-on-/dev/sda1");
  ck_assert_str_eq(tower_metric_tag(m, "ID_FS_TYPE"), "xfs");
  ck_assert(has_field(m, "io_await"));
  rig_free(&r);
}
END_TEST

/* Properties set to nothing make no tags (line protocol has no empty tag
 * values) and no name. */
START_TEST(empty_values) {
  put("proc/diskstats", "   8       0 sda 1 0 8 1 1 0 8 1 0 1 2\n");
  put("run/udev/data/b8:0", "E:ID_FS_LABEL=\nE:ID_SERIAL=\nE:ID_FS_TYPE=ext4\n");
  put("sys/block/sda/wwid", "\n");
  rig r;
  rig_start(&r, "device_tags = [\"ID_FS_LABEL\", \"ID_FS_TYPE\"]; skip_serial_number = false;"
                "name_templates = [\"$$ID_FS_LABEL\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 1);
  check_tags(r.got.v[0], "name", "sda", "ID_FS_TYPE", "ext4", "serial", "unknown", NULL);
  rig_free(&r);
}
END_TEST

/* devices: kernel names and globs, /dev paths (their last component),
 * and udev's links (without /dev/) when a glob is given. */
START_TEST(devices_filter) {
  write_devices();
  rig r;
  rig_start(&r, "devices = [\"nvme*\", \"/dev/sdb\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 2);
  ck_assert(has_name(&r.got, "nvme0n1") && has_name(&r.got, "sdb"));
  rig_free(&r);
  rig_start(&r, "devices = [\"disk/by-label/*\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 1);
  ck_assert(has_name(&r.got, "sda1"));
  rig_free(&r);
  rig_start(&r, "devices = [\"sda\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 1);
  ck_assert(has_name(&r.got, "sda"));
  rig_free(&r);
}
END_TEST

START_TEST(bad_glob) {
  char *errors = NULL;
  char *c = th_fmt("inputs = ( { plugin = \"diskio\"; devices = [\"sd[a\"]; } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                   dir);
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  ck_assert_ptr_null(pl);
  ck_assert_msg(errors && strstr(errors, "devices"), "errors: %s", errors ? errors : "(none)");
  free(errors);
  free(c);
}
END_TEST

/* Once warm, a gather allocates for its metrics only: devices that are
 * not reported cost nothing, however many. */
START_TEST(allocations) {
#ifdef NO_MALLOC_COUNT
  return;
#else
  const char *vg = getenv("LD_PRELOAD");
  if (vg && strstr(vg, "vgpreload"))
    return;
  char *few = strdup(SDA_A), *many = strdup(SDA_A);
  for (int i = 0; i < 500; i++) {
    char *n = th_fmt("%s 253 %5d dm-%d 1 0 8 1 1 0 8 1 0 1 2\n", many, i, i);
    free(many);
    many = n;
  }
  rig r;
  rig_start(&r, "devices = [\"sda\"]; skip_serial_number = false;");
  unsigned long cost[2];
  for (int k = 0; k < 2; k++) {
    put("proc/diskstats", k ? many : few);
    ck_assert_int_eq(gather(&r), 0); /* warms up */
    ck_assert_int_eq(gather(&r), 0);
    unsigned long before = nallocs;
    ck_assert_int_eq(gather(&r), 0);
    cost[k] = nallocs - before;
    ck_assert_uint_eq(r.got.n, 1);
  }
  ck_assert_uint_gt(cost[0], 0); /* the metric itself */
  ck_assert_uint_eq(cost[0], cost[1]);
  rig_free(&r);
  free(few);
  free(many);
#endif
}
END_TEST

START_TEST(two_samples_flag) {
  rig r;
  rig_start(&r, "");
  ck_assert(r.pl->inputs[0]->plugin->desc.flags & TOWER_PLUGIN_TWO_SAMPLES);
  rig_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("inputs.diskio");
  TCase *t = tcase_create("trees");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, tree_linux_6_1);
  tcase_add_test(t, tree_linux_6_18);
  suite_add_tcase(s, t);
  t = tcase_create("written");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, rates);
  tcase_add_test(t, counters_backwards);
  tcase_add_test(t, device_gone_and_back);
  tcase_add_test(t, odd_lines);
  tcase_add_test(t, missing_file);
  tcase_add_test(t, unreadable_file);
  tcase_add_test(t, serials_and_wwid);
  tcase_add_test(t, device_tags_and_templates);
  tcase_add_test(t, empty_values);
  tcase_add_test(t, devices_filter);
  tcase_add_test(t, bad_glob);
  tcase_add_test(t, allocations);
  tcase_add_test(t, two_samples_flag);
  suite_add_tcase(s, t);
  return check_run(s);
}
