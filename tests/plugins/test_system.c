/* inputs.system against the recorded trees of tests/fixtures/host (two
 * kernels), against trees the tests build (SMT topologies, kernels without
 * core_cpus_list, no sysfs, utmp files written with glibc's pututxline),
 * and against the live machine compared with sysinfo(2) and sysconf(3).
 *
 * Metrics are captured as objects (the record output's write is swapped for
 * one that keeps the batch) to see value and field types. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>
#include <utmpx.h>

#include <tower/tower.h>

#include "harness.h"
#include "check_run.h"
#include "log_internal.h"

static char *dir, *logpath;

/* Every root points into the test's directory: <dir>/proc, /sys, /run. */
static void setup(void) {
  dir = th_tmpdir();
  logpath = th_fmt("%s/tower.log", dir);
  ck_assert_int_eq(twi_log_set_file(logpath), 0);
  static const char *const roots[][2] = {
      {"HOST_PROC", "proc"}, {"HOST_SYS", "sys"}, {"HOST_RUN", "run"}};
  for (size_t i = 0; i < 3; i++) {
    char *p = th_fmt("%s/%s", dir, roots[i][1]);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    setenv(roots[i][0], p, 1);
    free(p);
  }
  unsetenv("HOST_VAR");
}

static void teardown(void) {
  twi_log_set_file(NULL);
  unsetenv("HOST_PROC");
  unsetenv("HOST_SYS");
  unsetenv("HOST_RUN");
  unsetenv("HOST_VAR");
  th_rmrf(dir);
  free(dir);
  free(logpath);
}

/* ---- a running input whose output keeps what it is given ------------------ */

typedef struct {
  twi_pipeline *pl;
  twi_plugin fake;
  const twi_plugin *real;
  void *real_state;
  const tower_metric **got;
  size_t n;
} rig;

static tower_write_result keep(void *state, const tower_batch *b) {
  rig *r = state;
  for (size_t i = 0; i < tower_batch_len(b); i++) {
    r->got = realloc(r->got, (r->n + 1) * sizeof *r->got);
    ck_assert_ptr_nonnull(r->got);
    r->got[r->n++] = tower_metric_retain(tower_batch_at(b, i));
  }
  return TOWER_WRITE_OK;
}

static void forget(rig *r) {
  for (size_t i = 0; i < r->n; i++)
    tower_metric_release(r->got[i]);
  free(r->got);
  r->got = NULL;
  r->n = 0;
}

static void rig_start(rig *r, const char *options) {
  memset(r, 0, sizeof *r);
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"system\"; %s } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
                   options);
  r->pl = th_start(c, TWI_ONCE);
  free(c);
  tower_ctx *o = r->pl->outputs[0];
  r->real = o->plugin;
  r->real_state = o->state;
  r->fake = *o->plugin;
  r->fake.desc.write = keep;
  o->plugin = &r->fake;
  o->state = r;
}

static void rig_free(rig *r) {
  tower_ctx *o = r->pl->outputs[0];
  o->plugin = r->real;
  o->state = r->real_state;
  forget(r);
  th_free(r->pl);
}

/* One gather, as the input thread makes it; what it gave replaces what the
 * rig held. Returns the gather errors reported. */
static int gather(rig *r) {
  forget(r);
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

static ptrdiff_t index_of(const tower_metric *m, const char *key, tower_field_type type) {
  ptrdiff_t k = tower_metric_field_index(m, key);
  ck_assert_msg(k >= 0, "field %s missing", key);
  ck_assert_msg(tower_metric_field_type(m, (size_t)k) == type, "field %s has type %d", key,
                (int)tower_metric_field_type(m, (size_t)k));
  return k;
}

static int64_t field_i(const tower_metric *m, const char *key) {
  return tower_metric_field_int(m, (size_t)index_of(m, key, TOWER_FIELD_INT));
}

static uint64_t field_u(const tower_metric *m, const char *key) {
  return tower_metric_field_uint(m, (size_t)index_of(m, key, TOWER_FIELD_UINT));
}

static double field_f(const tower_metric *m, const char *key) {
  return tower_metric_field_float(m, (size_t)index_of(m, key, TOWER_FIELD_FLOAT));
}

static const char *field_s(const tower_metric *m, const char *key) {
  return tower_metric_field_string(m, (size_t)index_of(m, key, TOWER_FIELD_STRING));
}

static bool has(const tower_metric *m, const char *key) {
  return tower_metric_field_index(m, key) >= 0;
}

static void check_head(const tower_metric *m, tower_value_type type, size_t nfields) {
  ck_assert_str_eq(tower_metric_name(m), "system");
  ck_assert_int_eq(tower_metric_type(m), type);
  ck_assert_uint_eq(tower_metric_tag_count(m), 0);
  ck_assert_uint_eq(tower_metric_field_count(m), nfields);
}

/* What a tree's files say, read here independently of the plugin. */
typedef struct {
  double load[3];
  uint64_t uptime;
  int64_t n_cpus, n_cores;
} expected;

/* gopsutil's physical count, the way it does it: the distinct contents of
 * the core_cpus_list of the cpu[0-9]* directories, globbed. */
static int64_t distinct_core_lists(const char *sys) {
  char *pattern = th_fmt("%s/devices/system/cpu/cpu[0-9]*/topology/core_cpus_list", sys);
  glob_t g;
  ck_assert_int_eq(glob(pattern, 0, NULL, &g), 0);
  char *seen[256];
  int64_t n = 0;
  for (size_t i = 0; i < g.gl_pathc && n < 256; i++) {
    char *text = th_read_file(g.gl_pathv[i]);
    bool dup = false;
    for (int64_t k = 0; k < n && !dup; k++)
      dup = strcmp(seen[k], text) == 0;
    if (dup)
      free(text);
    else
      seen[n++] = text;
  }
  for (int64_t k = 0; k < n; k++)
    free(seen[k]);
  globfree(&g);
  free(pattern);
  return n;
}

static char *tree_path(const char *name) {
  const char *top = getenv("top_srcdir");
  return th_fmt("%s/tests/fixtures/host/%s", top ? top : "..", name);
}

/* Loads and uptime from the tree's files, CPUs from its MANIFEST's nproc
 * and its topology. */
static expected read_tree(const char *t) {
  expected e;
  char *p = th_fmt("%s/proc/loadavg", t), *text = th_read_file(p);
  ck_assert_int_eq(sscanf(text, "%lf %lf %lf", &e.load[0], &e.load[1], &e.load[2]), 3);
  free(text), free(p);
  p = th_fmt("%s/proc/uptime", t), text = th_read_file(p);
  double up;
  ck_assert_int_eq(sscanf(text, "%lf", &up), 1);
  e.uptime = (uint64_t)ceil(up);
  free(text), free(p);
  p = th_fmt("%s/MANIFEST", t), text = th_read_file(p);
  const char *nproc = strstr(text, "== nproc\n");
  ck_assert_ptr_nonnull(nproc);
  e.n_cpus = strtoll(nproc + 9, NULL, 10);
  free(text), free(p);
  p = th_fmt("%s/sys", t);
  e.n_cores = distinct_core_lists(p);
  free(p);
  return e;
}

static void use_tree(const char *t) {
  static const char *const roots[][2] = {
      {"HOST_PROC", "proc"}, {"HOST_SYS", "sys"}, {"HOST_RUN", "run"}};
  for (size_t i = 0; i < 3; i++) {
    char *p = th_fmt("%s/%s", t, roots[i][1]);
    setenv(roots[i][0], p, 1);
    free(p);
  }
}

/* Telegraf's three legacy metrics, in order, first, without users (no
 * utmp). */
static void check_legacy(const rig *r, const expected *e, const char *format) {
  ck_assert_uint_ge(r->n, 3);
  const tower_metric *g = r->got[0], *c = r->got[1], *u = r->got[2];
  check_head(g, TOWER_GAUGE, 5);
  ck_assert_double_eq(field_f(g, "load1"), e->load[0]);
  ck_assert_double_eq(field_f(g, "load5"), e->load[1]);
  ck_assert_double_eq(field_f(g, "load15"), e->load[2]);
  ck_assert_int_eq(field_i(g, "n_cpus"), e->n_cpus);
  ck_assert_int_eq(field_i(g, "n_physical_cpus"), e->n_cores);
  check_head(c, TOWER_COUNTER, 1);
  ck_assert_uint_eq(field_u(c, "uptime"), e->uptime);
  check_head(u, TOWER_UNTYPED, 1);
  ck_assert_str_eq(field_s(u, "uptime_format"), format);
  for (size_t i = 1; i < 3; i++)
    ck_assert_int_eq(tower_metric_time(r->got[i]), tower_metric_time(g));
}

/* ---- the recorded trees -------------------------------------------------- */

/* The 6.1 guest had been up 8.69 s; no utmp in either tree. */
START_TEST(tree_linux_6_1) {
  char *t = tree_path("linux-6.1-qemu");
  use_tree(t);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  expected e = read_tree(t);
  ck_assert_uint_eq(r.n, 3);
  check_legacy(&r, &e, " 0:00");
  ck_assert_uint_eq(e.uptime, 9);
  ck_assert_int_eq(e.n_cpus, 2);
  rig_free(&r);
  free(t);
}
END_TEST

/* 8519.04 s up: uptime(1) in MANIFEST said "up  2:22" at that moment. */
START_TEST(tree_linux_6_18) {
  char *t = tree_path("linux-6.18.44-fc-v1300");
  use_tree(t);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  expected e = read_tree(t);
  ck_assert_uint_eq(r.n, 3);
  check_legacy(&r, &e, " 2:22");
  ck_assert_double_eq(field_f(r.got[0], "load1"), 1.13);
  ck_assert_double_eq(field_f(r.got[0], "load5"), 1.37);
  ck_assert_double_eq(field_f(r.got[0], "load15"), 1.29);
  ck_assert_uint_eq(field_u(r.got[1], "uptime"), 8520);
  char *mf = th_fmt("%s/MANIFEST", t), *manifest = th_read_file(mf);
  ck_assert_ptr_nonnull(strstr(manifest, " up  2:22,"));
  free(manifest);
  free(mf);
  rig_free(&r);
  free(t);
}
END_TEST

/* The fine-grained groups: one untyped metric after the legacy ones. */
START_TEST(tree_groups) {
  char *t = tree_path("linux-6.18.44-fc-v1300");
  use_tree(t);
  expected e = read_tree(t);
  rig r;
  rig_start(&r, "include = [\"load\", \"users\", \"cpus\", \"uptime\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.n, 1);
  const tower_metric *m = r.got[0];
  check_head(m, TOWER_UNTYPED, 6);
  ck_assert_double_eq(field_f(m, "load1"), e.load[0]);
  ck_assert_double_eq(field_f(m, "load15"), e.load[2]);
  ck_assert_int_eq(field_i(m, "n_cpus"), e.n_cpus);
  ck_assert_int_eq(field_i(m, "n_physical_cpus"), e.n_cores);
  ck_assert_uint_eq(field_u(m, "uptime"), e.uptime);
  rig_free(&r);
  rig_start(&r, "include = [\"uptime\", \"legacy\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.n, 4);
  check_legacy(&r, &e, " 2:22");
  check_head(r.got[3], TOWER_UNTYPED, 1);
  ck_assert_uint_eq(field_u(r.got[3], "uptime"), e.uptime);
  rig_free(&r);
  rig_start(&r, "include = [\"cpus\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.n, 1);
  check_head(r.got[0], TOWER_UNTYPED, 2);
  rig_free(&r);
  free(t);
}
END_TEST

/* ---- trees built by the tests -------------------------------------------- */

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

static bool log_has(const char *text) {
  char *log = th_read_file(logpath);
  bool has = log && strstr(log, text);
  free(log);
  return has;
}

/* A cpuinfo of `n` processors in `packages` packages of `cores` cores each
 * (x86 style: the "physical id" and "cpu cores" lines). */
static char *cpuinfo(int n, int packages, int cores) {
  char *text = strdup("");
  for (int i = 0; i < n; i++) {
    char *next = th_fmt("%sprocessor\t: %d\nvendor_id\t: GenuineIntel\nphysical id\t: %d\n"
                        "siblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\nflags\t\t: fpu vme\n\n",
                        text, i, i % packages, n / packages, i / packages % cores, cores);
    free(text);
    text = next;
  }
  return text;
}

static void put_core_list(int cpu, const char *file, const char *list) {
  char *rel = th_fmt("sys/devices/system/cpu/cpu%d/topology/%s", cpu, file);
  put(rel, list);
  free(rel);
}

/* One gather of the cpus group: n_cpus and n_physical_cpus (-1: absent). */
static void gather_cpus(int64_t *cpus, int64_t *cores, int errors) {
  rig r;
  rig_start(&r, "include = [\"cpus\"];");
  ck_assert_int_eq(gather(&r), errors);
  *cpus = *cores = -1;
  if (r.n == 1) {
    if (has(r.got[0], "n_cpus"))
      *cpus = field_i(r.got[0], "n_cpus");
    if (has(r.got[0], "n_physical_cpus"))
      *cores = field_i(r.got[0], "n_physical_cpus");
  }
  rig_free(&r);
}

/* Two SMT siblings per core: 8 logical CPUs, 4 cores. */
START_TEST(smt_topology) {
  char *ci = cpuinfo(8, 1, 4);
  put("proc/cpuinfo", ci);
  free(ci);
  put("sys/devices/system/cpu/present", "0-7\n");
  static const char *const lists[] = {"0,4", "1,5", "2,6", "3,7", "0,4", "1,5", "2,6", "3,7"};
  for (int i = 0; i < 8; i++)
    put_core_list(i, "core_cpus_list", lists[i]);
  int64_t cpus, cores;
  gather_cpus(&cpus, &cores, 0);
  ck_assert_int_eq(cpus, 8);
  ck_assert_int_eq(cores, 4);
}
END_TEST

/* A CPU unplugged while it is read (its topology gone) and a sparse present
 * list: the cores of the CPUs still there are counted. */
START_TEST(cpu_gone_and_sparse_present) {
  char *ci = cpuinfo(3, 1, 3);
  put("proc/cpuinfo", ci);
  free(ci);
  put("sys/devices/system/cpu/present", "0,2-3,5\n");
  put_core_list(0, "core_cpus_list", "0\n");
  put_core_list(2, "core_cpus_list", "2-3\n");
  put_core_list(3, "core_cpus_list", "2-3\n");
  /* cpu5 is listed but its directory went away */
  int64_t cpus, cores;
  gather_cpus(&cpus, &cores, 0);
  ck_assert_int_eq(cpus, 3);
  ck_assert_int_eq(cores, 2);
}
END_TEST

/* Kernels before 5.7 have thread_siblings_list only. */
START_TEST(thread_siblings_before_5_7) {
  char *ci = cpuinfo(4, 1, 2);
  put("proc/cpuinfo", ci);
  free(ci);
  put("sys/devices/system/cpu/present", "0-3\n");
  static const char *const lists[] = {"0-1", "0-1", "2-3", "2-3"};
  for (int i = 0; i < 4; i++)
    put_core_list(i, "thread_siblings_list", lists[i]);
  int64_t cpus, cores;
  gather_cpus(&cpus, &cores, 0);
  ck_assert_int_eq(cores, 2);
}
END_TEST

/* No sysfs (a container without /sys): the cores of /proc/cpuinfo, summed
 * over the distinct physical ids. 16 processors in 2 packages of 4 cores. */
START_TEST(cores_from_cpuinfo_without_sysfs) {
  char *ci = cpuinfo(16, 2, 4);
  put("proc/cpuinfo", ci);
  free(ci);
  int64_t cpus, cores;
  gather_cpus(&cpus, &cores, 0);
  ck_assert_int_eq(cpus, 16);
  ck_assert_int_eq(cores, 8);
}
END_TEST

/* An ARM cpuinfo of old kernels names no processor by number ("Processor :
 * ARMv7 ...") and has no physical id: /proc/stat's cpuN lines count the
 * CPUs; the cores are 0, as gopsutil says. */
START_TEST(cpus_from_stat_when_cpuinfo_has_none) {
  put("proc/cpuinfo", "Processor\t: ARMv7 Processor rev 4 (v7l)\nBogoMIPS\t: 38.40\n\n");
  put("proc/stat", "cpu  1 2 3 4\ncpu0 1 2 3 4\ncpu1 1 2 3 4\ncpu3 1 2 3 4\nintr 5\n");
  int64_t cpus, cores;
  gather_cpus(&cpus, &cores, 0);
  ck_assert_int_eq(cpus, 3);
  ck_assert_int_eq(cores, 0);
}
END_TEST

/* Neither cpuinfo nor stat: one error, and no CPU field at all (not 0). */
START_TEST(no_cpu_source_is_one_error) {
  int64_t cpus, cores;
  gather_cpus(&cpus, &cores, 1);
  ck_assert_int_eq(cpus, -1);
  ck_assert_int_eq(cores, -1);
  ck_assert(log_has("cannot count CPUs"));
  ck_assert(log_has("/proc/stat: No such file or directory"));
}
END_TEST

/* A cpuinfo with a line longer than a page (flags of a big CPU). */
START_TEST(long_cpuinfo_lines) {
  size_t n = 12000;
  char *flags = malloc(n + 1);
  memset(flags, 'x', n);
  flags[n] = '\0';
  char *ci = th_fmt("processor\t: 0\nflags\t\t: %s\nphysical id\t: 0\ncpu cores\t: 1\n\n"
                    "processor\t: 1\nflags\t\t: %s\nphysical id\t: 1\ncpu cores\t: 1\n\n",
                    flags, flags);
  put("proc/cpuinfo", ci);
  int64_t cpus, cores;
  gather_cpus(&cpus, &cores, 0);
  ck_assert_int_eq(cpus, 2);
  ck_assert_int_eq(cores, 2);
  free(ci);
  free(flags);
}
END_TEST

/* ---- uptime -------------------------------------------------------------- */

/* Telegraf's "[N day[s], ]HH:MM" with the hour padded by a space, and
 * sysinfo(2)'s rounding up of any fraction. */
START_TEST(uptime_format) {
  static const struct {
    const char *file;
    uint64_t uptime;
    const char *format;
  } cases[] = {
      {"0.00 0.00\n", 0, " 0:00"},
      {"59.01 1.00\n", 60, " 0:01"},
      {"3599.99 1.00\n", 3600, " 1:00"},
      {"86399.00 1.00\n", 86399, "23:59"},
      {"86400.00 1.00\n", 86400, "1 day,  0:00"},
      {"183840.50 1.00\n", 183841, "2 days,  3:04"},
      {"34567890.00 1.00\n", 34567890, "400 days,  2:11"},
  };
  put("proc/loadavg", "0.00 0.00 0.00 1/1 1\n");
  rig r;
  rig_start(&r, "");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    put("proc/uptime", cases[i].file);
    gather(&r);
    ck_assert_uint_eq(field_u(r.got[r.n - 2], "uptime"), cases[i].uptime);
    ck_assert_str_eq(field_s(r.got[r.n - 1], "uptime_format"), cases[i].format);
  }
  rig_free(&r);
}
END_TEST

/* Missing and malformed files: one error each, the rest reported. */
START_TEST(unreadable_sources_partial) {
  put("proc/loadavg", "garbage\n");
  char *ci = cpuinfo(2, 1, 2);
  put("proc/cpuinfo", ci);
  free(ci);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 2); /* loadavg malformed, uptime missing */
  ck_assert(log_has("loadavg: cannot parse \"garbage"));
  ck_assert(log_has("uptime: No such file or directory; uptime and uptime_format are left out"));
  ck_assert_uint_eq(r.n, 1); /* the gauge, without load */
  check_head(r.got[0], TOWER_GAUGE, 2);
  ck_assert_int_eq(field_i(r.got[0], "n_cpus"), 2);
  rig_free(&r);
}
END_TEST

/* ---- users --------------------------------------------------------------- */

static void add_record(short type, const char *user, const char *line) {
  struct utmpx u;
  memset(&u, 0, sizeof u);
  u.ut_type = type;
  u.ut_pid = 1000 + (pid_t)strlen(line);
  strncpy(u.ut_line, line, sizeof u.ut_line);
  strncpy(u.ut_id, line + strlen(line) - 1, sizeof u.ut_id);
  strncpy(u.ut_user, user, sizeof u.ut_user);
  ck_assert_ptr_nonnull(pututxline(&u));
}

/* A utmp written by glibc itself (pututxline), as login(1) and sshd write
 * it: three sessions of two users, and records that are no session. */
static void write_utmp(const char *path) {
  ck_assert_int_eq(th_write_file(path, ""), 0);
  ck_assert_int_eq(utmpxname(path), 0);
  setutxent();
  add_record(BOOT_TIME, "reboot", "~");
  add_record(LOGIN_PROCESS, "LOGIN", "tty2");
  add_record(USER_PROCESS, "alice", "tty1");
  add_record(USER_PROCESS, "alice", "pts/0");
  add_record(DEAD_PROCESS, "carol", "pts/9");
  add_record(USER_PROCESS, "bob", "pts/1");
  endutxent();
}

static void check_users(int64_t users, int64_t unique) {
  rig r;
  rig_start(&r, "include = [\"users\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.n, 1);
  check_head(r.got[0], TOWER_UNTYPED, 2);
  ck_assert_int_eq(field_i(r.got[0], "n_users"), users);
  ck_assert_int_eq(field_i(r.got[0], "n_unique_users"), unique);
  rig_free(&r);
}

START_TEST(users_from_utmp) {
  char *path = th_fmt("%s/run/utmp", dir);
  write_utmp(path);
  check_users(3, 2);
  /* a writer caught mid-record: the partial record is not a session */
  FILE *f = fopen(path, "a");
  ck_assert_ptr_nonnull(f);
  struct utmpx u = {.ut_type = USER_PROCESS};
  strcpy(u.ut_user, "dave");
  ck_assert_uint_eq(fwrite(&u, 1, sizeof u / 2, f), sizeof u / 2);
  fclose(f);
  check_users(3, 2);
  free(path);
}
END_TEST

/* Telegraf reads $HOST_VAR/run/utmp; without HOST_RUN so do we. */
START_TEST(users_from_host_var) {
  unsetenv("HOST_RUN");
  char *var = th_fmt("%s/var", dir), *path = th_fmt("%s/var/run/utmp", dir);
  put("var/run/x", "");
  setenv("HOST_VAR", var, 1);
  write_utmp(path);
  check_users(3, 2);
  free(path);
  free(var);
}
END_TEST

/* No utmp (no login manager): no users fields and no error, as Telegraf.
 * A utmp that cannot be read: one error that says what to do. */
START_TEST(users_missing_or_unreadable) {
  rig r;
  rig_start(&r, "include = [\"users\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.n, 0);
  char *path = th_fmt("%s/run/utmp", dir);
  ck_assert_int_eq(mkdir(path, 0755), 0);
  ck_assert_int_eq(gather(&r), 1);
  ck_assert_uint_eq(r.n, 0);
  ck_assert(log_has("run/utmp: Is a directory; n_users and n_unique_users are left out"));
  ck_assert(log_has("utmp group"));
  rig_free(&r);
  free(path);
}
END_TEST

/* ---- configuration ------------------------------------------------------- */

static char *rejected(const char *opts) {
  char *c = th_fmt("inputs = ( { plugin = \"system\"; %s } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
                   opts),
       *errors = NULL;
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  if (pl && twi_pipeline_init(pl) == 0)
    ck_abort_msg("accepted: %s", opts);
  if (pl)
    th_free(pl);
  free(c);
  char *log = th_read_file(logpath);
  char *all = th_fmt("%s\n%s", errors ? errors : "", log ? log : "");
  free(errors);
  free(log);
  return all;
}

START_TEST(include_errors) {
  char *e = rejected("include = [\"load\", \"loads\"];");
  ck_assert_msg(strstr(e, "invalid include \"loads\"; use legacy, load, users, cpus or uptime"),
                "%s", e);
  ck_assert_msg(strstr(e, "tower.conf:1"), "%s", e);
  free(e);
  e = rejected("include = [\"os\"];");
  ck_assert_msg(strstr(e, "include \"os\" is a Telegraf group tower does not have yet"), "%s", e);
  free(e);
}
END_TEST

/* ---- the live machine ---------------------------------------------------- */

/* n_cpus is what sysconf says is online; uptime is sysinfo(2)'s (read
 * around the gather: they may differ by the second that passes); the loads
 * are sysinfo(2)'s, which the kernel updates every 5 s: tower's are those
 * read before or those read after. */
START_TEST(live_machine) {
  unsetenv("HOST_PROC");
  unsetenv("HOST_SYS");
  unsetenv("HOST_RUN");
  rig r;
  rig_start(&r, "");
  struct sysinfo before, after;
  ck_assert_int_eq(sysinfo(&before), 0);
  gather(&r);
  ck_assert_int_eq(sysinfo(&after), 0);
  ck_assert_uint_ge(r.n, 3);
  const tower_metric *g = r.got[0];
  ck_assert_int_eq(field_i(g, "n_cpus"), sysconf(_SC_NPROCESSORS_ONLN));
  ck_assert_int_ge(field_i(g, "n_physical_cpus"), 1);
  ck_assert_int_le(field_i(g, "n_physical_cpus"), field_i(g, "n_cpus"));
  uint64_t up = field_u(r.got[1], "uptime");
  ck_assert_uint_ge(up, (uint64_t)before.uptime);
  ck_assert_uint_le(up, (uint64_t)after.uptime);
  static const char *const loads[] = {"load1", "load5", "load15"};
  for (int i = 0; i < 3; i++) {
    double v = field_f(g, loads[i]), a = before.loads[i] / 65536.0, b = after.loads[i] / 65536.0;
    /* /proc/loadavg rounds to two places what sysinfo gives unrounded */
    ck_assert_msg(fabs(v - a) <= 0.006 || fabs(v - b) <= 0.006, "%s = %g, sysinfo %g / %g",
                  loads[i], v, a, b);
  }
  rig_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("inputs.system");
  TCase *t = tcase_create("system");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, tree_linux_6_1);
  tcase_add_test(t, tree_linux_6_18);
  tcase_add_test(t, tree_groups);
  tcase_add_test(t, smt_topology);
  tcase_add_test(t, cpu_gone_and_sparse_present);
  tcase_add_test(t, thread_siblings_before_5_7);
  tcase_add_test(t, cores_from_cpuinfo_without_sysfs);
  tcase_add_test(t, cpus_from_stat_when_cpuinfo_has_none);
  tcase_add_test(t, no_cpu_source_is_one_error);
  tcase_add_test(t, long_cpuinfo_lines);
  tcase_add_test(t, uptime_format);
  tcase_add_test(t, unreadable_sources_partial);
  tcase_add_test(t, users_from_utmp);
  tcase_add_test(t, users_from_host_var);
  tcase_add_test(t, users_missing_or_unreadable);
  tcase_add_test(t, include_errors);
  tcase_add_test(t, live_machine);
  suite_add_tcase(s, t);
  return check_run(s);
}
