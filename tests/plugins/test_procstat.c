/* inputs.procstat against the recorded fixture trees (tests/fixtures/host,
 * through HOST_PROC, HOST_SYS and HOST_ETC) with exact expected metrics,
 * against trees the test builds for the edge cases (a process gone between
 * finding and reading, an unreadable file, counters going backwards, a
 * reused pid, a kernel without smaps_rollup), and live: processes the test
 * starts (one as an unprivileged user) found by pid_file, exe, pattern and
 * user, then killed and reported gone by procstat_lookup.
 *
 * Gathers are driven one at a time; metrics are captured as objects to see
 * field types. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tower/tower.h>

#include "check_run.h"
#include "harness.h"
#include "unprivileged.h"

static char *dir;

static void setup(void) {
  dir = th_tmpdir();
}

static void teardown(void) {
  unsetenv("HOST_PROC");
  unsetenv("HOST_SYS");
  unsetenv("HOST_ETC");
  th_rmrf(dir);
  free(dir);
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

static void rig_start(rig *r, const char *options) {
  memset(r, 0, sizeof *r);
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"procstat\"; %s } );\n"
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

/* One gather and flush; returns the gather errors reported. */
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

/* ---- looking at metrics -------------------------------------------------- */

static const tower_metric *by_pid(const capture *c, int64_t pid) {
  for (size_t i = 0; i < c->n; i++) {
    const tower_metric *m = c->v[i];
    ptrdiff_t k = tower_metric_field_index(m, "pid");
    const char *tag = tower_metric_tag(m, "pid");
    if ((k >= 0 && tower_metric_field_int(m, (size_t)k) == pid) || (tag && atoll(tag) == pid))
      return m;
  }
  return NULL;
}

static const tower_metric *lookup(const capture *c) {
  ck_assert_uint_ge(c->n, 1);
  const tower_metric *m = c->v[c->n - 1]; /* always last */
  ck_assert_str_eq(tower_metric_name(m), "procstat_lookup");
  return m;
}

static ptrdiff_t idx(const tower_metric *m, const char *key, tower_field_type type) {
  ptrdiff_t k = tower_metric_field_index(m, key);
  ck_assert_msg(k >= 0, "field %s missing", key);
  ck_assert_msg(tower_metric_field_type(m, (size_t)k) == type, "field %s has type %d, want %d", key,
                (int)tower_metric_field_type(m, (size_t)k), (int)type);
  return k;
}

static int64_t fint(const tower_metric *m, const char *key) {
  return tower_metric_field_int(m, (size_t)idx(m, key, TOWER_FIELD_INT));
}
static uint64_t fuint(const tower_metric *m, const char *key) {
  return tower_metric_field_uint(m, (size_t)idx(m, key, TOWER_FIELD_UINT));
}
static double ffloat(const tower_metric *m, const char *key) {
  return tower_metric_field_float(m, (size_t)idx(m, key, TOWER_FIELD_FLOAT));
}
static const char *fstr(const tower_metric *m, const char *key) {
  return tower_metric_field_string(m, (size_t)idx(m, key, TOWER_FIELD_STRING));
}
static bool has(const tower_metric *m, const char *key) {
  return tower_metric_field_index(m, key) >= 0;
}

/* pid_count, running and result_code of the lookup, and its result tag. */
static void expect_lookup(const capture *c, int64_t count, int64_t running, const char *result) {
  const tower_metric *m = lookup(c);
  ck_assert_int_eq(fint(m, "pid_count"), count);
  ck_assert_int_eq(fint(m, "running"), running);
  ck_assert_int_eq(fint(m, "result_code"), strcmp(result, "success") ? 1 : 0);
  ck_assert_str_eq(tower_metric_tag(m, "result"), result);
  ck_assert_str_eq(tower_metric_tag(m, "pid_finder"), "pgrep");
  ck_assert_uint_eq(tower_metric_field_count(m), 3);
}

/* Points the roots at a recorded tree. */
static void use_tree(const char *tree) {
  const char *top = getenv("top_srcdir");
  char *root = th_fmt("%s/tests/fixtures/host/%s", top ? top : "..", tree);
  char *p = th_fmt("%s/proc", root), *s = th_fmt("%s/sys", root), *e = th_fmt("%s/etc", root);
  setenv("HOST_PROC", p, 1);
  setenv("HOST_SYS", s, 1);
  setenv("HOST_ETC", e, 1);
  free(p);
  free(s);
  free(e);
  free(root);
}

static char *write_pid_file(const char *name, long pid) {
  char *path = th_fmt("%s/%s", dir, name);
  char *text = th_fmt("%ld\n", pid);
  ck_assert_int_eq(th_write_file(path, text), 0);
  free(text);
  return path;
}

/* ---- the recorded trees -------------------------------------------------- */

/* The sleeping process of the 6.1 tree (pid 150, uid nobody), every field
 * as its files say (values read off stat, status, io, statm, limits; USER_HZ
 * 100 and 4 KiB pages, as on the recording machine). */
START_TEST(fixture_pid_file_exact) {
  use_tree("linux-6.1-qemu");
  char *pf = write_pid_file("sleep.pid", 150);
  char *opts = th_fmt("pid_file = \"%s\"; properties = [\"cpu\", \"memory\", \"mmap\"];", pf);
  rig r;
  rig_start(&r, opts);
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 2);
  const tower_metric *m = r.got.v[0];
  ck_assert_str_eq(tower_metric_name(m), "procstat");
  ck_assert_int_eq(tower_metric_type(m), TOWER_UNTYPED);
  ck_assert_uint_eq(tower_metric_tag_count(m), 2);
  ck_assert_str_eq(tower_metric_tag(m, "pidfile"), pf);
  ck_assert_str_eq(tower_metric_tag(m, "process_name"), "sleep");
  ck_assert_int_eq(fint(m, "pid"), 150);
  ck_assert_int_eq(fint(m, "ppid"), 147);
  ck_assert_int_eq(fint(m, "num_threads"), 1);
  ck_assert_int_eq(fint(m, "num_fds"), 3);
  ck_assert_int_eq(fint(m, "voluntary_context_switches"), 1);
  ck_assert_int_eq(fint(m, "involuntary_context_switches"), 0);
  ck_assert_uint_eq(fuint(m, "minor_faults"), 86);
  ck_assert_uint_eq(fuint(m, "major_faults"), 0);
  ck_assert_uint_eq(fuint(m, "child_minor_faults"), 0);
  ck_assert_uint_eq(fuint(m, "child_major_faults"), 0);
  ck_assert_uint_eq(fuint(m, "read_bytes"), 1632); /* rchar */
  ck_assert_uint_eq(fuint(m, "write_bytes"), 0);
  ck_assert_uint_eq(fuint(m, "read_count"), 4);
  ck_assert_uint_eq(fuint(m, "write_count"), 0);
  ck_assert_uint_eq(fuint(m, "disk_read_bytes"), 0);
  ck_assert_uint_eq(fuint(m, "disk_write_bytes"), 0);
  /* (starttime 738 ticks * 1000 / 100 + btime 1796641356 * 1000) ms, in ns */
  ck_assert_int_eq(fint(m, "created_at"), 1796641363380000000LL);
  ck_assert_double_eq(ffloat(m, "cpu_time_user"), 0);
  ck_assert_double_eq(ffloat(m, "cpu_time_system"), 0);
  ck_assert_double_eq(ffloat(m, "cpu_time_iowait"), 0);
  ck_assert(!has(m, "cpu_usage")); /* first sample */
  ck_assert_uint_eq(fuint(m, "memory_rss"), 1 * 4096);
  ck_assert_uint_eq(fuint(m, "memory_vms"), 565 * 4096);
  ck_assert_double_eq(ffloat(m, "memory_usage"), 100.0 * 4096 / (466120.0 * 1024));
  ck_assert_str_eq(fstr(m, "cmdline"), "sleep 100000");
  ck_assert_str_eq(fstr(m, "status"), "sleep");
  ck_assert_str_eq(fstr(m, "user"), "nobody");
  /* no smaps in the tree: no mmap field; no limits unless asked */
  ck_assert(!has(m, "memory_pss"));
  ck_assert(!has(m, "rlimit_num_fds_soft"));
  ck_assert_uint_eq(tower_metric_field_count(m), 26);
  expect_lookup(&r.got, 1, 1, "success");
  ck_assert_str_eq(tower_metric_tag(lookup(&r.got), "pidfile"), pf);
  /* the second sample has cpu_usage: no tick in between, 0 % */
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_double_eq(ffloat(r.got.v[0], "cpu_usage"), 0);
  rig_free(&r);
  free(opts);
  free(pf);
}
END_TEST

/* limits: soft and hard of /proc/<pid>/limits (unlimited = 2^64 - 1), and
 * the used values gopsutil adds (from status; nice_priority is 20 - nice,
 * as getpriority(2) returns it). */
START_TEST(fixture_limits) {
  use_tree("linux-6.1-qemu");
  char *pf = write_pid_file("sleep.pid", 150);
  char *opts = th_fmt("pid_file = \"%s\"; properties = [\"limits\"]; tag_with = [\"pid\", "
                      "\"user\", \"status\"];",
                      pf);
  rig r;
  rig_start(&r, opts);
  ck_assert_int_eq(gather(&r), 0);
  const tower_metric *m = by_pid(&r.got, 150);
  ck_assert_ptr_nonnull(m);
  ck_assert_str_eq(tower_metric_tag(m, "pid"), "150");
  ck_assert_str_eq(tower_metric_tag(m, "user"), "nobody");
  ck_assert_str_eq(tower_metric_tag(m, "status"), "sleep");
  ck_assert(!has(m, "pid") && !has(m, "user") && !has(m, "status"));
  ck_assert_uint_eq(fuint(m, "rlimit_num_fds_soft"), 1024);
  ck_assert_uint_eq(fuint(m, "rlimit_num_fds_hard"), 4096);
  ck_assert_uint_eq(fuint(m, "rlimit_cpu_time_soft"), UINT64_MAX);
  ck_assert_uint_eq(fuint(m, "rlimit_memory_stack_soft"), 8388608);
  ck_assert_uint_eq(fuint(m, "rlimit_memory_locked_hard"), 8388608);
  ck_assert_uint_eq(fuint(m, "rlimit_signals_pending_soft"), 1760);
  ck_assert_uint_eq(fuint(m, "num_fds"), 3); /* the used side, as gopsutil's uint64 */
  ck_assert_uint_eq(fuint(m, "memory_data"), 176 * 1024);
  ck_assert_uint_eq(fuint(m, "memory_stack"), 132 * 1024);
  ck_assert_uint_eq(fuint(m, "memory_locked"), 0);
  ck_assert_uint_eq(fuint(m, "memory_rss"), 4 * 1024);
  ck_assert_uint_eq(fuint(m, "memory_vms"), 2260 * 1024);
  ck_assert_uint_eq(fuint(m, "nice_priority"), 20);
  ck_assert_uint_eq(fuint(m, "realtime_priority"), 0);
  ck_assert_uint_eq(fuint(m, "signals_pending"), 0);
  ck_assert_uint_eq(fuint(m, "cpu_time"), 0);
  ck_assert(!has(m, "file_locks")); /* gopsutil does not count them */
  ck_assert(!has(m, "cpu_time_user") && !has(m, "memory_usage"));
  rig_free(&r);
  free(opts);
  free(pf);
}
END_TEST

/* exe and pattern (pgrep's extended regular expressions), user; a name
 * cut at 15 bytes is lengthened from argv[0]; the 5,335-byte command line
 * (longer than a page) comes whole; the zombie has no command line. */
START_TEST(fixture_finders) {
  use_tree("linux-6.1-qemu");
  rig r;
  rig_start(&r, "exe = \"^tower\";");
  ck_assert_int_eq(gather(&r), 0);
  expect_lookup(&r.got, 3, 3, "success"); /* 152, 153, 156 */
  ck_assert_str_eq(tower_metric_tag(by_pid(&r.got, 156), "process_name"), "tower (odd) name");
  ck_assert_str_eq(tower_metric_tag(by_pid(&r.got, 152), "exe"), "^tower");
  const char *cmd = fstr(by_pid(&r.got, 153), "cmdline");
  ck_assert_uint_eq(strlen(cmd), 5335 - 2); /* NULs become spaces, an empty argument goes */
  ck_assert(strncmp(cmd, "./tower-sample --option-0=", 26) == 0);
  rig_free(&r);

  rig_start(&r, "pattern = \"sample threads [0-9]+$\";");
  ck_assert_int_eq(gather(&r), 0);
  expect_lookup(&r.got, 1, 1, "success");
  ck_assert_int_eq(fint(r.got.v[0], "pid"), 152);
  ck_assert_int_eq(fint(r.got.v[0], "num_threads"), 4);
  rig_free(&r);

  rig_start(&r, "user = \"nobody\";");
  ck_assert_int_eq(gather(&r), 0);
  expect_lookup(&r.got, 1, 1, "success");
  ck_assert_int_eq(fint(r.got.v[0], "pid"), 150);
  ck_assert_str_eq(tower_metric_tag(lookup(&r.got), "user"), "nobody");
  rig_free(&r);

  rig_start(&r, "pattern = \"^sleep$\";");
  ck_assert_int_eq(gather(&r), 0);
  expect_lookup(&r.got, 1, 1, "success"); /* the zombie, by its name */
  ck_assert_str_eq(fstr(r.got.v[0], "cmdline"), "");
  ck_assert_str_eq(fstr(r.got.v[0], "status"), "zombie");
  rig_free(&r);
}
END_TEST

/* systemd_unit through the unit's cgroup (here in tower-hostrec.slice):
 * its main processes, or with include_systemd_children all of them tagged
 * as Telegraf tags cgroups; cgroup takes a glob. */
START_TEST(fixture_cgroups) {
  const char *trees[] = {"linux-6.1-qemu", "linux-6.18.44-fc-v1300"};
  for (int t = 0; t < 2; t++) {
    use_tree(trees[t]);
    rig r;
    rig_start(&r, "systemd_unit = \"tower-sample.service\";");
    ck_assert_int_eq(gather(&r), 0);
    expect_lookup(&r.got, 2, 2, "success");
    ck_assert_str_eq(tower_metric_tag(r.got.v[0], "systemd_unit"), "tower-sample.service");
    ck_assert_str_eq(tower_metric_tag(r.got.v[1], "process_name"), "tower-sample");
    rig_free(&r);

    rig_start(&r, "systemd_unit = \"tower-sample.service\"; include_systemd_children = true;");
    ck_assert_int_eq(gather(&r), 0);
    expect_lookup(&r.got, 2, 2, "success");
    const char *full = tower_metric_tag(r.got.v[0], "cgroup_full");
    ck_assert_ptr_nonnull(full);
    ck_assert(strstr(full, "/sys/fs/cgroup/") == full);
    ck_assert(strstr(full, "tower-hostrec.slice/tower-sample.service") != NULL);
    rig_free(&r);

    rig_start(&r, "cgroup = \"*/tower-hostrec.slice/tower-*\";");
    if (t == 0) {
      /* the 6.1 tree has the unified hierarchy at the root */
      rig_free(&r);
      rig_start(&r, "cgroup = \"tower-hostrec.slice/tower-*\";");
    }
    ck_assert_int_eq(gather(&r), 0);
    expect_lookup(&r.got, 2, 2, "success");
    ck_assert_ptr_nonnull(tower_metric_tag(r.got.v[0], "cgroup"));
    rig_free(&r);

    rig_start(&r, "systemd_unit = \"absent.service\";");
    ck_assert_int_eq(gather(&r), 0);
    expect_lookup(&r.got, 0, 0, "success");
    ck_assert_str_eq(tower_metric_tag(lookup(&r.got), "systemd_unit"), "absent.service");
    rig_free(&r);
  }
}
END_TEST

/* ---- built trees --------------------------------------------------------- */

static char *proc_dir(void) {
  char *p = th_fmt("%s/proc", dir);
  mkdir(p, 0755);
  return p;
}

/* <dir>/proc/<pid>/stat with utime and starttime. */
static void put_stat(int pid, unsigned long utime, unsigned long start) {
  char *d = th_fmt("%s/proc/%d", dir, pid);
  mkdir(d, 0755);
  char *f = th_fmt("%s/stat", d);
  char *text =
      th_fmt("%d (w) R 1 1 1 0 -1 0 1 0 0 0 %lu 0 0 0 20 0 1 0 %lu 100 1\n", pid, utime, start);
  ck_assert_int_eq(th_write_file(f, text), 0);
  free(text);
  free(f);
  free(d);
}

/* cpu_usage compares CPU time with the previous gather's: positive when the
 * process ran, 0 when its counters went back (reported as is, never
 * negative), none after its pid was reused (the start time changed). The
 * stat has no field 42 (a kernel before 2.6.18): no cpu_time_iowait. */
START_TEST(cpu_usage_samples) {
  char *proc = proc_dir();
  setenv("HOST_PROC", proc, 1);
  put_stat(77, 100, 5000);
  char *pf = write_pid_file("w.pid", 77);
  char *opts = th_fmt("pid_file = \"%s\"; properties = [\"cpu\"];", pf);
  rig r;
  rig_start(&r, opts);
  gather(&r);
  ck_assert(!has(r.got.v[0], "cpu_usage"));
  ck_assert(!has(r.got.v[0], "cpu_time_iowait"));
  put_stat(77, 150, 5000);
  gather(&r);
  ck_assert_double_gt(ffloat(r.got.v[0], "cpu_usage"), 0);
  ck_assert_double_eq(ffloat(r.got.v[0], "cpu_time_user"), 1.5);
  put_stat(77, 120, 5000);
  gather(&r);
  ck_assert_double_eq(ffloat(r.got.v[0], "cpu_usage"), 0);
  put_stat(77, 130, 9000); /* another process with the same pid */
  gather(&r);
  ck_assert(!has(r.got.v[0], "cpu_usage"));
  rig_free(&r);
  free(opts);
  free(pf);
  free(proc);
}
END_TEST

/* A pid file naming a process that is gone (no /proc/<pid>): found but
 * not running; a missing pid file: lookup_error and one gather error; an
 * unreadable io file (a directory: EISDIR whoever runs the test): one
 * error, the metric without the io fields. */
START_TEST(gone_missing_unreadable) {
  char *proc = proc_dir();
  setenv("HOST_PROC", proc, 1);
  char *pf = write_pid_file("dead.pid", 4242);
  char *opts = th_fmt("pid_file = \"%s\";", pf);
  rig r;
  rig_start(&r, opts);
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 1);
  expect_lookup(&r.got, 1, 0, "success");
  rig_free(&r);
  free(opts);

  opts = th_fmt("pid_file = \"%s/none.pid\";", dir);
  rig_start(&r, opts);
  ck_assert_int_eq(gather(&r), 1);
  ck_assert_uint_eq(r.got.n, 1);
  expect_lookup(&r.got, 0, 0, "lookup_error");
  rig_free(&r);
  free(opts);

  put_stat(4242, 1, 1);
  char *io = th_fmt("%s/4242/io", proc);
  ck_assert_int_eq(mkdir(io, 0755), 0);
  opts = th_fmt("pid_file = \"%s\";", pf);
  rig_start(&r, opts);
  ck_assert_int_eq(gather(&r), 1);
  expect_lookup(&r.got, 1, 1, "success");
  ck_assert(!has(r.got.v[0], "read_bytes"));
  ck_assert_uint_eq(fuint(r.got.v[0], "minor_faults"), 1);
  rig_free(&r);
  free(opts);
  free(io);
  free(pf);
  free(proc);
}
END_TEST

/* A kernel before 4.15 has smaps but no smaps_rollup: the mappings are
 * summed (kB, as gopsutil reports them). */
START_TEST(smaps_without_rollup) {
  char *proc = proc_dir();
  setenv("HOST_PROC", proc, 1);
  put_stat(50, 1, 1);
  char *f = th_fmt("%s/50/smaps", proc);
  ck_assert_int_eq(th_write_file(f, "00400000-00452000 r-xp 00000000 08:02 173521 /bin/x\n"
                                    "Size:                328 kB\nRss:  300 kB\nPss:   100 kB\n"
                                    "Swap:  4 kB\nVmFlags: rd ex mr mw me dw\n"
                                    "7ffd0000-7ffd1000 rw-p 00000000 00:00 0 [stack]\n"
                                    "Size:  132 kB\nRss: 8 kB\nPss: 8 kB\nAnonymous: 8 kB\n"
                                    "Swap: 2 kB\n"),
                   0);
  char *pf = write_pid_file("p.pid", 50);
  char *opts = th_fmt("pid_file = \"%s\"; properties = [\"mmap\"];", pf);
  rig r;
  rig_start(&r, opts);
  ck_assert_int_eq(gather(&r), 0);
  const tower_metric *m = r.got.v[0];
  ck_assert_uint_eq(fuint(m, "memory_size"), 460);
  ck_assert_uint_eq(fuint(m, "memory_pss"), 108);
  ck_assert_uint_eq(fuint(m, "memory_anonymous"), 8);
  ck_assert_uint_eq(fuint(m, "memory_swap"), 6);
  ck_assert_uint_eq(fuint(m, "memory_private_dirty"), 0);
  rig_free(&r);
  free(opts);
  free(pf);
  free(f);
  free(proc);
}
END_TEST

/* Refused at init (twi_pipeline_check, as --config-check): no selector,
 * a regular expression that does not compile, a property tower lacks. The
 * messages (file:line, what to set) go to the log. */
START_TEST(config_errors) {
  const char *bad[] = {
      "{ plugin = \"procstat\"; }",
      "{ plugin = \"procstat\"; pattern = \"a(\"; }",
      "{ plugin = \"procstat\"; exe = \"x\"; properties = [\"sockets\"]; }",
      "{ plugin = \"procstat\"; exe = \"x\"; tag_with = [\"level\"]; }",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *text = th_fmt(
        "inputs = ( %s );\noutputs = ( { plugin = \"record\"; path = \"%s/o\"; } );", bad[i], dir);
    twi_pipeline *pl = th_build(text, TWI_ONCE, NULL);
    ck_assert_ptr_nonnull(pl);
    ck_assert_msg(twi_pipeline_check(pl) == 1, "accepted: %s", bad[i]);
    th_free(pl);
    free(text);
  }
}
END_TEST

/* ---- live processes ------------------------------------------------------ */

/* Starts `exe` (a link to sleep, so that its name is the link's) with
 * `arg`, as `uid` when >= 0. */
static pid_t spawn(const char *exe, const char *arg, long uid) {
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    if (uid >= 0 && geteuid() == 0 &&
        (setgroups(0, NULL) || setresgid((gid_t)uid, (gid_t)uid, (gid_t)uid) ||
         setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid)))
      _exit(126);
    execl(exe, exe, arg, (char *)NULL);
    _exit(127);
  }
  return pid;
}

/* Waits until the child has exec'd (its comm is the link's name). */
static void wait_exec(pid_t pid, const char *name) {
  char *path = th_fmt("/proc/%d/comm", (int)pid);
  for (int i = 0; i < 2000; i++) {
    char *comm = th_read_file(path);
    bool done = comm && strncmp(comm, name, strlen(name)) == 0;
    free(comm);
    if (done)
      break;
    usleep(1000); /* exec takes a moment; nothing to wait on */
  }
  free(path);
}

static void kill_child(pid_t pid) {
  kill(pid, SIGKILL);
  int st;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
}

START_TEST(live_find_and_lose) {
  char name[16];
  snprintf(name, sizeof name, "twps%d", (int)getpid() % 100000);
  char *exe = th_fmt("%s/%s", dir, name);
  ck_assert_int_eq(symlink("/bin/sleep", exe), 0);
  char arg[32];
  snprintf(arg, sizeof arg, "%d.5", 100000 + (int)getpid() % 1000);
  long uid = th_unprivileged_uid();
  chmod(dir, 0755);
  pid_t a = spawn(exe, arg, -1);
  pid_t b = spawn(exe, "99999", uid);
  wait_exec(a, name);
  wait_exec(b, name);
  char *pf = write_pid_file("a.pid", a);

  char *by[4];
  by[0] = th_fmt("pid_file = \"%s\";", pf);
  by[1] = th_fmt("exe = \"^%s$\";", name);
  by[2] = th_fmt("pattern = \"%s %s$\";", name, arg);
  char user[64];
  {
    FILE *pw = fopen("/etc/passwd", "r");
    char line[512];
    snprintf(user, sizeof user, "%ld", uid);
    while (pw && fgets(line, sizeof line, pw)) {
      char *n = strtok(line, ":"), *x = strtok(NULL, ":"), *id = strtok(NULL, ":");
      if (n && x && id && atol(id) == uid) {
        snprintf(user, sizeof user, "%s", n);
        break;
      }
    }
    if (pw)
      fclose(pw);
  }
  by[3] = th_fmt("user = \"%s\";", user);
  const pid_t want[4] = {a, a, a, b};
  const int64_t count[4] = {1, 2, 1, -1};
  for (int i = 0; i < 4; i++) {
    rig r;
    rig_start(&r, by[i]);
    ck_assert_int_eq(gather(&r), 0);
    const tower_metric *m = by_pid(&r.got, want[i]);
    ck_assert_msg(m != NULL, "%s does not find pid %d", by[i], (int)want[i]);
    ck_assert_str_eq(tower_metric_tag(m, "process_name"), name);
    ck_assert_uint_gt(fuint(m, "memory_rss"), 0);
    if (i == 3)
      ck_assert_str_eq(fstr(m, "user"), user);
    if (count[i] >= 0)
      expect_lookup(&r.got, count[i], count[i], "success");
    rig_free(&r);
  }

  kill_child(a);
  kill_child(b);
  const int64_t gone_count[3] = {1, 0, 0};
  for (int i = 0; i < 3; i++) {
    rig r;
    rig_start(&r, by[i]);
    ck_assert_int_eq(gather(&r), 0);
    ck_assert_uint_eq(r.got.n, 1);
    expect_lookup(&r.got, gone_count[i], 0, "success"); /* running = 0: the alert */
    rig_free(&r);
  }
  for (int i = 0; i < 4; i++)
    free(by[i]);
  free(pf);
  free(exe);
}
END_TEST

int main(void) {
  Suite *s = suite_create("inputs.procstat");
  TCase *t = tcase_create("procstat");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, fixture_pid_file_exact);
  tcase_add_test(t, fixture_limits);
  tcase_add_test(t, fixture_finders);
  tcase_add_test(t, fixture_cgroups);
  tcase_add_test(t, cpu_usage_samples);
  tcase_add_test(t, gone_missing_unreadable);
  tcase_add_test(t, smaps_without_rollup);
  tcase_add_test(t, config_errors);
  tcase_add_test(t, live_find_and_lose);
  suite_add_tcase(s, t);
  return check_run(s);
}
