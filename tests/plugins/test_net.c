/* inputs.net against the recorded host trees of tests/fixtures/host (two
 * kernels) and against trees the tests write into a temporary directory,
 * both through HOST_PROC and HOST_SYS.
 *
 * Expected values are derived from the trees' files with sscanf, not
 * copied from the plugin's output; a few facts of the recordings (eth0's
 * speed is -1, 6.1 has no Ip OutTransmits) are spelled out. Gathers are
 * driven one at a time and metrics captured as objects, so value types
 * are checked too. The live comparison with node_exporter and iproute2 is
 * tests/integration/host_net.sh. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
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

static char *dir;

static void setup(void) {
  dir = th_tmpdir();
  unsetenv("HOST_PROC");
  unsetenv("HOST_SYS");
}

static void teardown(void) {
  unsetenv("HOST_PROC");
  unsetenv("HOST_SYS");
  th_rmrf(dir);
  free(dir);
}

/* ---- trees --------------------------------------------------------------- */

static char *tree_path(const char *tree, const char *rel) {
  const char *top = getenv("top_srcdir");
  return th_fmt("%s/tests/fixtures/host/%s/%s", top && *top ? top : "..", tree, rel);
}

static void use_tree(const char *tree) {
  char *proc = tree_path(tree, "proc"), *sys = tree_path(tree, "sys");
  setenv("HOST_PROC", proc, 1);
  setenv("HOST_SYS", sys, 1);
  free(proc);
  free(sys);
}

/* The test's own tree: <dir>/proc and <dir>/sys. */
static void use_tmp(void) {
  char *proc = th_fmt("%s/proc", dir), *sys = th_fmt("%s/sys", dir);
  setenv("HOST_PROC", proc, 1);
  setenv("HOST_SYS", sys, 1);
  free(proc);
  free(sys);
}

/* Writes <dir>/<rel>, making its directories. */
static void put(const char *rel, const char *text) {
  char *path = th_fmt("%s/%s", dir, rel);
  for (char *s = strchr(path + strlen(dir) + 1, '/'); s; s = strchr(s + 1, '/')) {
    *s = '\0';
    mkdir(path, 0755);
    *s = '/';
  }
  ck_assert_int_eq(th_write_file(path, text), 0);
  free(path);
}

static void drop(const char *rel) {
  char *path = th_fmt("%s/%s", dir, rel);
  th_rmrf(path);
  free(path);
}

#define DEV_HEAD                                                                                   \
  "Inter-|   Receive                                                |  Transmit\n"                 \
  " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "       \
  "drop fifo colls carrier compressed\n"

static void put_dev(const char *rows) {
  char *text = th_fmt(DEV_HEAD "%s", rows);
  put("proc/net/dev", text);
  free(text);
}

/* <dir>/sys/class/net/<name>/flags and, unless NULL, speed. */
static void put_if(const char *name, const char *flags, const char *speed) {
  char *rel = th_fmt("sys/class/net/%s/flags", name);
  put(rel, flags);
  free(rel);
  if (speed) {
    rel = th_fmt("sys/class/net/%s/speed", name);
    put(rel, speed);
    free(rel);
  }
}

/* ---- capturing what the output receives ---------------------------------- */

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
} rig;

/* A net input with `options`, its output's writes captured. */
static void rig_start(rig *r, const char *options) {
  memset(r, 0, sizeof *r);
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"net\"; %s } );\n"
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
}

/* One gather, as the input thread makes it; returns the errors reported. */
static int gather_only(rig *r) {
  tower_ctx *in = r->pl->inputs[0];
  tower_acc *acc = twi_acc_new_input(in, r->pl, false);
  ck_assert_ptr_nonnull(acc);
  twi_acc_begin(acc, 1700000000000000000LL);
  in->plugin->desc.gather(in->state, acc);
  tower_acc_commit(acc);
  int errors = (int)twi_acc_errors(acc);
  twi_acc_free(acc);
  return errors;
}

/* Gathers once and captures the metrics (the previous capture cleared). */
static int gather(rig *r) {
  capture_clear(&r->got);
  int errors = gather_only(r);
  ck_assert_uint_eq(th_flush(r->pl), 0);
  return errors;
}

/* ---- the log ------------------------------------------------------------- */

static char *log_path;

static void log_begin(void) {
  log_path = th_fmt("%s/tower.log", dir);
  ck_assert_int_eq(twi_log_set_file(log_path), 0);
}

/* The log since log_begin (malloc'd). */
static char *log_end(void) {
  twi_log_set_file(NULL);
  char *text = th_read_file(log_path);
  ck_assert_ptr_nonnull(text);
  free(log_path);
  log_path = NULL;
  return text;
}

/* ---- looking at metrics -------------------------------------------------- */

static const tower_metric *find(const capture *c, const char *interface) {
  const tower_metric *hit = NULL;
  for (size_t i = 0; i < c->n; i++) {
    const char *tag = tower_metric_tag(c->v[i], "interface");
    if (tag && strcmp(tag, interface) == 0) {
      ck_assert_msg(hit == NULL, "two metrics for interface %s", interface);
      hit = c->v[i];
    }
  }
  return hit;
}

static size_t field_at(const tower_metric *m, const char *key, tower_field_type type) {
  ck_assert_ptr_nonnull(m);
  ptrdiff_t i = tower_metric_field_index(m, key);
  ck_assert_msg(i >= 0, "field %s missing", key);
  ck_assert_msg(tower_metric_field_type(m, (size_t)i) == type, "field %s has type %d, want %d", key,
                (int)tower_metric_field_type(m, (size_t)i), (int)type);
  return (size_t)i;
}

static uint64_t ufield(const tower_metric *m, const char *key) {
  return tower_metric_field_uint(m, field_at(m, key, TOWER_FIELD_UINT));
}

static int64_t ifield(const tower_metric *m, const char *key) {
  return tower_metric_field_int(m, field_at(m, key, TOWER_FIELD_INT));
}

static bool has_field(const tower_metric *m, const char *key) {
  return tower_metric_field_index(m, key) >= 0;
}

/* ---- expectations from a tree's files ------------------------------------ */

typedef struct {
  char name[32];
  unsigned long long c[16];
} dev_row;

/* The rows of a /proc/net/dev, parsed with sscanf. */
static size_t read_dev(const char *path, dev_row *rows, size_t max) {
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  char line[512];
  size_t n = 0;
  for (int no = 1; fgets(line, sizeof line, f); no++) {
    if (no <= 2)
      continue;
    ck_assert_uint_lt(n, max);
    dev_row *r = &rows[n++];
    int got = sscanf(line,
                     " %31[^:]: %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
                     "%llu %llu %llu %llu",
                     r->name, &r->c[0], &r->c[1], &r->c[2], &r->c[3], &r->c[4], &r->c[5], &r->c[6],
                     &r->c[7], &r->c[8], &r->c[9], &r->c[10], &r->c[11], &r->c[12], &r->c[13],
                     &r->c[14], &r->c[15]);
    ck_assert_int_eq(got, 17);
  }
  fclose(f);
  return n;
}

/* m is the counter metric of row r, with exactly Telegraf's fields. */
static void check_row(const tower_metric *m, const dev_row *r, int64_t speed) {
  ck_assert_ptr_nonnull(m);
  ck_assert_str_eq(tower_metric_name(m), "net");
  ck_assert_int_eq(tower_metric_type(m), TOWER_COUNTER);
  ck_assert_uint_eq(tower_metric_tag_count(m), 1);
  ck_assert_str_eq(tower_metric_tag(m, "interface"), r->name);
  ck_assert_uint_eq(tower_metric_field_count(m), 9);
  ck_assert_uint_eq(ufield(m, "bytes_recv"), r->c[0]);
  ck_assert_uint_eq(ufield(m, "packets_recv"), r->c[1]);
  ck_assert_uint_eq(ufield(m, "err_in"), r->c[2]);
  ck_assert_uint_eq(ufield(m, "drop_in"), r->c[3]);
  ck_assert_uint_eq(ufield(m, "bytes_sent"), r->c[8]);
  ck_assert_uint_eq(ufield(m, "packets_sent"), r->c[9]);
  ck_assert_uint_eq(ufield(m, "err_out"), r->c[10]);
  ck_assert_uint_eq(ufield(m, "drop_out"), r->c[11]);
  ck_assert_int_eq(ifield(m, "speed"), speed);
}

static const char *const trees[] = {"linux-6.18.44-fc-v1300", "linux-6.1-qemu"};

/* ---- the recorded trees -------------------------------------------------- */

/* Without `interfaces`: the interfaces that are up, but lo. Both trees have
 * lo (LOOPBACK,UP), eth0 (UP) and, in 6.18, ifb0/ifb1 (down). */
START_TEST(tree_default_selection) {
  const char *tree = trees[_i];
  use_tree(tree);
  char *path = tree_path(tree, "proc/net/dev");
  dev_row rows[8];
  size_t n = read_dev(path, rows, 8);
  free(path);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 1);
  for (size_t i = 0; i < n; i++)
    if (strcmp(rows[i].name, "eth0") == 0)
      check_row(r.got.v[0], &rows[i], -1); /* virtio-net: no speed */
  rig_free(&r);
}
END_TEST

/* interfaces = ["*"]: every interface, in the file's order, whatever its
 * state; speed -1 where sysfs has none (lo, ifb: the kernel refuses). */
START_TEST(tree_every_interface) {
  const char *tree = trees[_i];
  use_tree(tree);
  char *path = tree_path(tree, "proc/net/dev");
  dev_row rows[8];
  size_t n = read_dev(path, rows, 8);
  free(path);
  ck_assert_uint_ge(n, 2);
  rig r;
  rig_start(&r, "interfaces = [\"*\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, n);
  for (size_t i = 0; i < n; i++)
    check_row(r.got.v[i], &rows[i], -1);
  rig_free(&r);
}
END_TEST

START_TEST(tree_globs) {
  use_tree(trees[0]);
  rig r;
  rig_start(&r, "interfaces = [\"eth*\", \"if?1\", \"lo\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 3); /* lo and ifb1 named: reported though lo and down */
  ck_assert_str_eq(tower_metric_tag(r.got.v[0], "interface"), "lo");
  ck_assert_str_eq(tower_metric_tag(r.got.v[1], "interface"), "ifb1");
  ck_assert_str_eq(tower_metric_tag(r.got.v[2], "interface"), "eth0");
  rig_free(&r);
}
END_TEST

/* The sections gopsutil's net.ProtoCounters reads. */
static bool read_section(const char *lower) {
  static const char *const names[] = {"ip", "icmp", "icmpmsg", "tcp", "udp", "udplite"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp(lower, names[i]) == 0)
      return true;
  return false;
}

/* The pairs of a /proc/net/snmp as "section_column" -> value, lowercased,
 * for the sections gopsutil reads. Returns the number of columns. */
static size_t expect_snmp(const char *tree, char keys[][64], long long *vals, size_t max) {
  char *path = tree_path(tree, "proc/net/snmp");
  char *text = th_read_file(path);
  ck_assert_ptr_nonnull(text);
  free(path);
  size_t n = 0;
  char *save = NULL;
  for (char *head = strtok_r(text, "\n", &save); head; head = strtok_r(NULL, "\n", &save)) {
    char *vals_line = strtok_r(NULL, "\n", &save);
    ck_assert_ptr_nonnull(vals_line);
    char sec[32];
    ck_assert_int_eq(sscanf(head, "%31[^:]:", sec), 1);
    for (char *c = sec; *c; c++)
      *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    if (!read_section(sec))
      continue;
    char *hs = NULL, *vs = NULL;
    strtok_r(head, " ", &hs);      /* "Tcp:" */
    strtok_r(vals_line, " ", &vs); /* "Tcp:" */
    for (char *col = strtok_r(NULL, " ", &hs); col; col = strtok_r(NULL, " ", &hs)) {
      char *v = strtok_r(NULL, " ", &vs);
      ck_assert_ptr_nonnull(v);
      ck_assert_uint_lt(n, max);
      snprintf(keys[n], 64, "%s_%s", sec, col);
      for (char *c = keys[n]; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
      vals[n++] = strtoll(v, NULL, 10);
    }
  }
  free(text);
  return n;
}

/* ignore_protocol_stats = false: after the interfaces, one untyped metric
 * interface=all with every column of the file, as int64. */
START_TEST(tree_protocol_stats) {
  const char *tree = trees[_i];
  use_tree(tree);
  char keys[256][64];
  long long vals[256];
  size_t n = expect_snmp(tree, keys, vals, 256);
  ck_assert_uint_gt(n, 80);
  rig r;
  rig_start(&r, "ignore_protocol_stats = false;");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 2);
  const tower_metric *m = r.got.v[1];
  ck_assert_ptr_eq(m, find(&r.got, "all"));
  ck_assert_str_eq(tower_metric_name(m), "net");
  ck_assert_int_eq(tower_metric_type(m), TOWER_UNTYPED);
  ck_assert_uint_eq(tower_metric_tag_count(m), 1);
  ck_assert_uint_eq(tower_metric_field_count(m), n);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(ifield(m, keys[i]) == vals[i], "%s = %lld, want %lld", keys[i],
                  (long long)ifield(m, keys[i]), vals[i]);
  /* facts of the recordings */
  ck_assert_int_eq(ifield(m, "tcp_maxconn"), -1);
  ck_assert_int_eq(ifield(m, "ip_defaultttl"), 64);
  ck_assert_int_eq(ifield(m, "icmpmsg_intype3"), 1);
  bool new_kernel = _i == 0;
  ck_assert(has_field(m, "ip_outtransmits") == new_kernel);  /* Linux 6.3 added it */
  ck_assert(has_field(m, "icmpmsg_intype0") == !new_kernel); /* the guest's pings */
  rig_free(&r);
}
END_TEST

START_TEST(protocol_stats_off_by_default) {
  use_tree(trees[0]);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_ptr_null(find(&r.got, "all"));
  rig_free(&r);
}
END_TEST

/* ---- trees written by the tests ------------------------------------------ */

#define ETH0 "  eth0: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0\n"
#define ETH1 "  eth1: 5000 50 0 0 0 0 0 0 6000 60 0 0 0 0 0 0\n"

/* Selection by the flags in sysfs: up and not a loopback. */
START_TEST(flags_select) {
  use_tmp();
  put_dev("    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n" ETH0 ETH1
          "  eth2: 7 7 0 0 0 0 0 0 7 7 0 0 0 0 0 0\n"
          "  eth3: 8 8 0 0 0 0 0 0 8 8 0 0 0 0 0 0\n");
  put_if("lo", "0x9\n", NULL);
  put_if("eth0", "0x1003\n", "1000\n");
  put_if("eth1", "0x1002\n", "1000\n"); /* down */
  put_if("eth2", "0x1003\n", "25000\n");
  put_if("eth3", "garbage\n", NULL); /* unknown flags: reported */
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 3);
  const tower_metric *m = find(&r.got, "eth0");
  ck_assert_uint_eq(ufield(m, "bytes_recv"), 1000);
  ck_assert_uint_eq(ufield(m, "packets_recv"), 10);
  ck_assert_uint_eq(ufield(m, "err_in"), 1);
  ck_assert_uint_eq(ufield(m, "drop_in"), 2);
  ck_assert_uint_eq(ufield(m, "bytes_sent"), 2000);
  ck_assert_uint_eq(ufield(m, "packets_sent"), 20);
  ck_assert_uint_eq(ufield(m, "err_out"), 3);
  ck_assert_uint_eq(ufield(m, "drop_out"), 4);
  ck_assert_int_eq(ifield(m, "speed"), 1000);
  ck_assert_int_eq(ifield(find(&r.got, "eth2"), "speed"), 25000);
  ck_assert_int_eq(ifield(find(&r.got, "eth3"), "speed"), -1);
  ck_assert_ptr_null(find(&r.got, "lo"));
  ck_assert_ptr_null(find(&r.got, "eth1"));
  rig_free(&r);
}
END_TEST

/* Go's ParseInt after one trailing newline is trimmed, else -1. */
START_TEST(speed_values) {
  use_tmp();
  static const struct {
    const char *text;
    int64_t want;
  } cases[] = {{"100\n", 100}, {"-1\n", -1},    {"40000", 40000},
               {"", -1},       {" 100\n", -1},  {"100 \n", -1},
               {"1e3\n", -1},  {"100\n\n", -1}, {"99999999999999999999\n", -1}};
  size_t n = sizeof cases / sizeof *cases;
  char *rows = strdup("");
  for (size_t i = 0; i < n; i++) {
    char name[16];
    snprintf(name, sizeof name, "eth%zu", i);
    put_if(name, "0x1003\n", cases[i].text);
    char *more = th_fmt("%s%s: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n", rows, name);
    free(rows);
    rows = more;
  }
  put_dev(rows);
  free(rows);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, n);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(ifield(r.got.v[i], "speed") == cases[i].want, "speed \"%s\": %lld", cases[i].text,
                  (long long)ifield(r.got.v[i], "speed"));
  rig_free(&r);
}
END_TEST

/* An interface removed between two gathers is no longer reported; one
 * listed in /proc/net/dev but gone from sysfs by the time its flags are
 * read is reported with the counters read (speed unknown). */
START_TEST(interface_vanishes) {
  use_tmp();
  put_dev(ETH0 ETH1);
  put_if("eth0", "0x1003\n", "1000\n");
  put_if("eth1", "0x1003\n", "1000\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 2);
  drop("sys/class/net/eth1");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 2);
  ck_assert_uint_eq(ufield(find(&r.got, "eth1"), "bytes_recv"), 5000);
  ck_assert_int_eq(ifield(find(&r.got, "eth1"), "speed"), -1);
  put_dev(ETH0);
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 1);
  ck_assert_ptr_nonnull(find(&r.got, "eth0"));
  rig_free(&r);
}
END_TEST

/* Counters are the kernel's at every gather: one that wraps or goes back
 * (a driver reset, an interface re-created) is reported as it is, never
 * rebased or held; the largest uint64 survives exactly. */
START_TEST(counters_wrap_and_go_back) {
  use_tmp();
  put_if("eth0", "0x1003\n", NULL);
  rig r;
  rig_start(&r, "");
  put_dev("eth0: 18446744073709551615 4294967295 0 0 0 0 0 0 18446744073709551614 7 0 0 0 0 0 "
          "0\n");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(ufield(r.got.v[0], "bytes_recv"), UINT64_MAX);
  ck_assert_uint_eq(ufield(r.got.v[0], "packets_recv"), 4294967295u);
  ck_assert_uint_eq(ufield(r.got.v[0], "bytes_sent"), UINT64_MAX - 1);
  put_dev("eth0: 12 1 0 0 0 0 0 0 3 1 0 0 0 0 0 0\n");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(ufield(r.got.v[0], "bytes_recv"), 12);
  ck_assert_uint_eq(ufield(r.got.v[0], "bytes_sent"), 3);
  put_dev("eth0: 11 1 0 0 0 0 0 0 2 1 0 0 0 0 0 0\n");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(ufield(r.got.v[0], "bytes_recv"), 11);
  rig_free(&r);
}
END_TEST

/* A line far longer than a page (blanks between the columns), and a file
 * of 2000 interfaces: read whole, every one reported. */
START_TEST(long_lines_and_files) {
  use_tmp();
  size_t pad = 3 * 4096;
  char *blanks = malloc(pad + 1);
  memset(blanks, ' ', pad);
  blanks[pad] = '\0';
  char *text = th_fmt("eth0:%s1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0%s\n", blanks, blanks);
  for (int i = 0; i < 2000; i++) {
    char *more = th_fmt("%sveth%d: %d 1 0 0 0 0 0 0 %d 1 0 0 0 0 0 0\n", text, i, i, 2 * i);
    free(text);
    text = more;
  }
  put_dev(text);
  free(text);
  free(blanks);
  rig r;
  rig_start(&r, "interfaces = [\"*\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 2001);
  ck_assert_uint_eq(ufield(r.got.v[0], "bytes_recv"), 1000);
  ck_assert_uint_eq(ufield(r.got.v[0], "bytes_sent"), 2000);
  ck_assert_str_eq(tower_metric_tag(r.got.v[2000], "interface"), "veth1999");
  ck_assert_uint_eq(ufield(r.got.v[2000], "bytes_sent"), 3998);
  rig_free(&r);
}
END_TEST

/* Malformed lines are left out and reported once, with the first one's
 * line number; the others are reported. */
START_TEST(malformed_lines) {
  use_tmp();
  put_dev(ETH0 "eth1 1 2 3\n"
               "eth2: 1 2 3 4 5 6 7 8 9 10 11\n"                            /* 11 columns */
               "eth3: 18446744073709551616 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n" /* > uint64 */
               "eth4: 1x 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"
               ": 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n" ETH1);
  rig r;
  rig_start(&r, "interfaces = [\"*\"];");
  log_begin();
  ck_assert_int_eq(gather(&r), 1);
  char *log = log_end();
  ck_assert_uint_eq(r.got.n, 2);
  ck_assert_ptr_nonnull(find(&r.got, "eth0"));
  ck_assert_ptr_nonnull(find(&r.got, "eth1"));
  char *want = th_fmt("%s/proc/net/dev:4: cannot parse the counters of an interface (5 lines left "
                      "out); is it Linux's /proc/net/dev?",
                      dir);
  ck_assert_msg(strstr(log, want), "log: %s", log);
  ck_assert_msg(strstr(log, "[inputs.net]"), "log: %s", log);
  free(want);
  free(log);
  rig_free(&r);
}
END_TEST

/* Unreadable /proc/net/dev: one error naming it and what to do; the
 * protocol counters are still reported. (A directory stands for an
 * unreadable file: permissions do not stop root.) */
START_TEST(unreadable_dev) {
  use_tmp();
  put("proc/net/dev/x", "");
  char *snmp = tree_path(trees[1], "proc/net/snmp");
  char *text = th_read_file(snmp);
  put("proc/net/snmp", text);
  free(text);
  free(snmp);
  rig r;
  rig_start(&r, "ignore_protocol_stats = false;");
  log_begin();
  ck_assert_int_eq(gather(&r), 1);
  char *log = log_end();
  ck_assert_uint_eq(r.got.n, 1);
  ck_assert_ptr_nonnull(find(&r.got, "all"));
  char *want = th_fmt("cannot read %s/proc/net/dev: Is a directory (set HOST_PROC when the "
                      "host's /proc is mounted elsewhere)",
                      dir);
  ck_assert_msg(strstr(log, want), "log: %s", log);
  free(want);
  free(log);
  /* gone altogether */
  drop("proc/net/dev");
  ck_assert_int_eq(gather(&r), 1);
  ck_assert_uint_eq(r.got.n, 1);
  rig_free(&r);
}
END_TEST

/* /proc/net/snmp missing: the interfaces are reported, one error says why
 * the protocol counters are not. */
START_TEST(missing_snmp) {
  use_tmp();
  put_dev(ETH0);
  put_if("eth0", "0x1003\n", NULL);
  rig r;
  rig_start(&r, "ignore_protocol_stats = false;");
  log_begin();
  ck_assert_int_eq(gather(&r), 1);
  char *log = log_end();
  ck_assert_uint_eq(r.got.n, 1);
  ck_assert_ptr_nonnull(find(&r.got, "eth0"));
  char *want = th_fmt("cannot read %s/proc/net/snmp: No such file or directory", dir);
  ck_assert_msg(strstr(log, want), "log: %s", log);
  ck_assert_msg(strstr(log, "ignore_protocol_stats = true"), "log: %s", log);
  free(want);
  free(log);
  rig_free(&r);
}
END_TEST

/* An old kernel's file: no IcmpMsg (no message yet), no UdpLite, no Ip
 * OutTransmits: those fields are absent, not 0. A section gopsutil does
 * not read (Foo) is left out; IcmpMsg in two pairs is merged. */
START_TEST(snmp_old_kernel_and_extra_sections) {
  use_tmp();
  put_dev("");
  put("proc/net/snmp", "Ip: Forwarding DefaultTTL InReceives\n"
                       "Ip: 1 64 100\n"
                       "Icmp: InMsgs OutMsgs\n"
                       "Icmp: 5 6\n"
                       "IcmpMsg: InType0 InType3\n"
                       "IcmpMsg: 7 8\n"
                       "IcmpMsg: OutType8\n"
                       "IcmpMsg: 9\n"
                       "Foo: Bar\n"
                       "Foo: 1\n"
                       "Tcp: RtoAlgorithm MaxConn ActiveOpens\n"
                       "Tcp: 1 -1 9223372036854775807\n"
                       "Udp: InDatagrams NoPorts\n"
                       "Udp: 3 4");
  rig r;
  rig_start(&r, "ignore_protocol_stats = false;");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 1);
  const tower_metric *m = r.got.v[0];
  ck_assert_uint_eq(tower_metric_field_count(m), 13);
  ck_assert_int_eq(ifield(m, "ip_forwarding"), 1);
  ck_assert_int_eq(ifield(m, "ip_inreceives"), 100);
  ck_assert_int_eq(ifield(m, "icmp_outmsgs"), 6);
  ck_assert_int_eq(ifield(m, "icmpmsg_intype3"), 8);
  ck_assert_int_eq(ifield(m, "icmpmsg_outtype8"), 9);
  ck_assert_int_eq(ifield(m, "tcp_maxconn"), -1);
  ck_assert_int_eq(ifield(m, "tcp_activeopens"), INT64_MAX);
  ck_assert_int_eq(ifield(m, "udp_noports"), 4);
  ck_assert(!has_field(m, "ip_outtransmits"));
  ck_assert(!has_field(m, "foo_bar"));
  rig_free(&r);
}
END_TEST

/* A pair whose columns do not match is left out (gopsutil drops them
 * all), the others are reported, one error names the line. */
START_TEST(snmp_malformed_pairs) {
  use_tmp();
  put_dev("");
  put("proc/net/snmp", "Ip: Forwarding DefaultTTL\n"
                       "Ip: 1 64\n"
                       "Tcp: RtoAlgorithm MaxConn\n"
                       "Tcp: 1\n"
                       "Udp: InDatagrams NoPorts\n"
                       "Udp: 3 x\n"
                       "Icmp: InMsgs\n"
                       "UdpLite: InDatagrams\n"
                       "UdpLite: 0\n");
  rig r;
  rig_start(&r, "ignore_protocol_stats = false;");
  log_begin();
  ck_assert_int_eq(gather(&r), 1);
  char *log = log_end();
  ck_assert_uint_eq(r.got.n, 1);
  const tower_metric *m = r.got.v[0];
  ck_assert_uint_eq(tower_metric_field_count(m), 3);
  ck_assert_int_eq(ifield(m, "ip_defaultttl"), 64);
  ck_assert_int_eq(ifield(m, "udplite_indatagrams"), 0);
  char *want = th_fmt("%s/proc/net/snmp:4: malformed protocol counters (3 pairs left out)", dir);
  ck_assert_msg(strstr(log, want), "log: %s", log);
  free(want);
  free(log);
  /* nothing usable at all */
  put("proc/net/snmp", "not a counter file\n");
  ck_assert_int_eq(gather(&r), 1);
  ck_assert_uint_eq(r.got.n, 0);
  rig_free(&r);
}
END_TEST

/* Once warm, a gather allocates only for the metrics it emits: the same
 * with 1 or 500 interfaces left out (down), with short or 12 KiB lines. */
START_TEST(no_allocation_per_line) {
#ifdef NO_MALLOC_COUNT
  return; /* AddressSanitizer brings its own allocator */
#else
  use_tmp();
  put_if("eth0", "0x1003\n", "1000\n");
  char *many = strdup(ETH0);
  for (int i = 0; i < 500; i++) {
    char name[16];
    snprintf(name, sizeof name, "down%d", i);
    put_if(name, "0x1002\n", NULL);
    char *more = th_fmt("%s%s: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0%*s\n", many, name, i * 24, "");
    free(many);
    many = more;
  }
  rig r;
  rig_start(&r, "");
  put_dev(many);
  gather_only(&r); /* warm: the buffer takes the file's size */
  gather_only(&r);
  unsigned long before = nallocs;
  ck_assert_int_eq(gather_only(&r), 0);
  unsigned long with_many = nallocs - before;
  put_dev(ETH0);
  before = nallocs;
  ck_assert_int_eq(gather_only(&r), 0);
  unsigned long with_one = nallocs - before;
  ck_assert_uint_eq(with_many, with_one);
  ck_assert_uint_le(with_one, 8); /* the metric and its way to the output */
  free(many);
  ck_assert_uint_eq(th_flush(r.pl), 0);
  rig_free(&r);
#endif
}
END_TEST

/* The real /proc and /sys of this machine: lo is there and up, so it is
 * reported when named and left out otherwise. The live comparison with
 * independent readers is tests/integration/host_net.sh. */
START_TEST(real_host) {
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_ptr_null(find(&r.got, "lo"));
  rig_free(&r);
  rig_start(&r, "interfaces = [\"lo\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 1);
  ck_assert_uint_gt(ufield(r.got.v[0], "packets_recv"), 0);
  rig_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("inputs.net");
  TCase *t = tcase_create("trees");
  tcase_add_checked_fixture(t, setup, teardown);
  int ntrees = (int)(sizeof trees / sizeof *trees);
  tcase_add_loop_test(t, tree_default_selection, 0, ntrees);
  tcase_add_loop_test(t, tree_every_interface, 0, ntrees);
  tcase_add_test(t, tree_globs);
  tcase_add_loop_test(t, tree_protocol_stats, 0, ntrees);
  tcase_add_test(t, protocol_stats_off_by_default);
  suite_add_tcase(s, t);
  t = tcase_create("edges");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, flags_select);
  tcase_add_test(t, speed_values);
  tcase_add_test(t, interface_vanishes);
  tcase_add_test(t, counters_wrap_and_go_back);
  tcase_add_test(t, long_lines_and_files);
  tcase_add_test(t, malformed_lines);
  tcase_add_test(t, unreadable_dev);
  tcase_add_test(t, missing_snmp);
  tcase_add_test(t, snmp_old_kernel_and_extra_sections);
  tcase_add_test(t, snmp_malformed_pairs);
  tcase_add_test(t, no_allocation_per_line);
  tcase_add_test(t, real_host);
  suite_add_tcase(s, t);
  return check_run(s);
}
