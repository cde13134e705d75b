/* inputs.kernel against the recorded trees of tests/fixtures/host (two
 * kernels, with KSM and PSI), against files the tests write (counters that
 * go back or overflow, a 2.4 kernel's page line, long lines, older kernels'
 * KSM, broken and missing files), and against the live machine: a fork
 * between two gathers must show in processes_forked.
 *
 * Metrics are captured as objects (the record output's write is swapped for
 * one that keeps the batch) to see value and field types. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tower/tower.h>

#include "harness.h"
#include "check_run.h"
#include "log_internal.h"

static char *dir, *logpath;

static void set_roots(const char *base) {
  char *proc = th_fmt("%s/proc", base), *sys = th_fmt("%s/sys", base);
  setenv("HOST_PROC", proc, 1);
  setenv("HOST_SYS", sys, 1);
  free(proc);
  free(sys);
}

static void setup(void) {
  dir = th_tmpdir();
  logpath = th_fmt("%s/tower.log", dir);
  ck_assert_int_eq(twi_log_set_file(logpath), 0);
  set_roots(dir);
}

static void teardown(void) {
  twi_log_set_file(NULL);
  unsetenv("HOST_PROC");
  unsetenv("HOST_SYS");
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
                   "inputs = ( { plugin = \"kernel\"; %s } );\n"
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

static bool has(const tower_metric *m, const char *key) {
  return tower_metric_field_index(m, key) >= 0;
}

static void check_kernel_head(const tower_metric *m, size_t nfields) {
  ck_assert_str_eq(tower_metric_name(m), "kernel");
  ck_assert_int_eq(tower_metric_type(m), TOWER_COUNTER);
  ck_assert_uint_eq(tower_metric_tag_count(m), 0);
  ck_assert_uint_eq(tower_metric_field_count(m), nfields);
}

static char *tree_path(const char *name) {
  const char *top = getenv("top_srcdir");
  return th_fmt("%s/tests/fixtures/host/%s", top ? top : "..", name);
}

/* The first number after `word` at the start of a line of `path`. */
static long long number_after(const char *path, const char *word) {
  char *text = th_read_file(path);
  ck_assert_msg(text != NULL, "%s: %s", path, strerror(errno));
  char *key = th_fmt("\n%s ", word), *at = strstr(text, key);
  ck_assert_msg(at != NULL, "%s has no %s line", path, word);
  long long v = strtoll(at + strlen(key), NULL, 10);
  free(key);
  free(text);
  return v;
}

static long long file_number(const char *path) {
  char *text = th_read_file(path);
  ck_assert_msg(text != NULL, "%s: %s", path, strerror(errno));
  long long v = strtoll(text, NULL, 10);
  free(text);
  return v;
}

/* The kernel metric's /proc fields against the tree's own files. */
static void check_stat_fields(const tower_metric *m, const char *t) {
  char *stat = th_fmt("%s/proc/stat", t);
  char *entropy = th_fmt("%s/proc/sys/kernel/random/entropy_avail", t);
  ck_assert_int_eq(field_i(m, "boot_time"), number_after(stat, "btime"));
  ck_assert_int_eq(field_i(m, "context_switches"), number_after(stat, "ctxt"));
  ck_assert_int_eq(field_i(m, "interrupts"), number_after(stat, "intr"));
  ck_assert_int_eq(field_i(m, "processes_forked"), number_after(stat, "processes"));
  ck_assert_int_eq(field_i(m, "entropy_avail"), file_number(entropy));
  free(entropy);
  free(stat);
}

static const char *const ksm_names[] = {
    "full_scans",       "max_page_sharing",   "merge_across_nodes",
    "pages_shared",     "pages_sharing",      "pages_to_scan",
    "pages_unshared",   "pages_volatile",     "run",
    "sleep_millisecs",  "stable_node_chains", "stable_node_chains_prune_millisecs",
    "stable_node_dups", "use_zero_pages",     "general_profit"};

/* ksm_<name> for every file of the tree's KSM directory that Telegraf reads;
 * returns how many. */
static size_t check_ksm_fields(const tower_metric *m, const char *t) {
  size_t n = 0;
  for (size_t i = 0; i < sizeof ksm_names / sizeof ksm_names[0]; i++) {
    char *path = th_fmt("%s/sys/kernel/mm/ksm/%s", t, ksm_names[i]);
    char *key = th_fmt("ksm_%s", ksm_names[i]);
    if (access(path, F_OK) == 0) {
      ck_assert_int_eq(field_i(m, key), file_number(path));
      n++;
    } else {
      ck_assert_msg(!has(m, key), "%s reported without its file", key);
    }
    free(key);
    free(path);
  }
  return n;
}

/* A "pressure" metric: name, type, tags. */
static void check_pressure_head(const tower_metric *m, tower_value_type type, const char *res,
                                const char *kind) {
  ck_assert_str_eq(tower_metric_name(m), "pressure");
  ck_assert_int_eq(tower_metric_type(m), type);
  ck_assert_uint_eq(tower_metric_tag_count(m), 2);
  ck_assert_str_eq(tower_metric_tag(m, "resource"), res);
  ck_assert_str_eq(tower_metric_tag(m, "type"), kind);
}

/* From got[at] on: for cpu (some), memory and io (some, full), a counter
 * with total and a gauge with the averages, as the tree's files say.
 * Returns the index after them. */
static size_t check_pressure(const rig *r, size_t at, const char *t) {
  static const struct {
    const char *res, *kind;
  } order[] = {
      {"cpu", "some"}, {"memory", "some"}, {"memory", "full"}, {"io", "some"}, {"io", "full"}};
  for (size_t i = 0; i < 5; i++, at += 2) {
    char *path = th_fmt("%s/proc/pressure/%s", t, order[i].res), *text = th_read_file(path);
    char *line = strstr(text, order[i].kind);
    double a10, a60, a300;
    unsigned long long total;
    ck_assert_int_eq(
        sscanf(line + 4, " avg10=%lf avg60=%lf avg300=%lf total=%llu", &a10, &a60, &a300, &total),
        4);
    ck_assert_uint_gt(r->n, at + 1);
    const tower_metric *c = r->got[at], *g = r->got[at + 1];
    check_pressure_head(c, TOWER_COUNTER, order[i].res, order[i].kind);
    ck_assert_uint_eq(tower_metric_field_count(c), 1);
    ck_assert_uint_eq(tower_metric_field_uint(c, (size_t)index_of(c, "total", TOWER_FIELD_UINT)),
                      total);
    check_pressure_head(g, TOWER_GAUGE, order[i].res, order[i].kind);
    ck_assert_uint_eq(tower_metric_field_count(g), 3);
    ck_assert_double_eq(
        tower_metric_field_float(g, (size_t)index_of(g, "avg10", TOWER_FIELD_FLOAT)), a10);
    ck_assert_double_eq(
        tower_metric_field_float(g, (size_t)index_of(g, "avg60", TOWER_FIELD_FLOAT)), a60);
    ck_assert_double_eq(
        tower_metric_field_float(g, (size_t)index_of(g, "avg300", TOWER_FIELD_FLOAT)), a300);
    free(text);
    free(path);
  }
  return at;
}

/* ---- the recorded trees -------------------------------------------------- */

START_TEST(tree_linux_6_1) {
  char *t = tree_path("linux-6.1-qemu");
  set_roots(t);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.n, 1);
  check_kernel_head(r.got[0], 5);
  check_stat_fields(r.got[0], t);
  /* written out, so that the reading above cannot be wrong the same way */
  ck_assert_int_eq(field_i(r.got[0], "boot_time"), 1796641356);
  ck_assert_int_eq(field_i(r.got[0], "context_switches"), 3242);
  ck_assert_int_eq(field_i(r.got[0], "interrupts"), 4990);
  ck_assert_int_eq(field_i(r.got[0], "processes_forked"), 277);
  ck_assert_int_eq(field_i(r.got[0], "entropy_avail"), 256);
  rig_free(&r);
  free(t);
}
END_TEST

/* KSM and PSI as well: 6.18 has general_profit, 6.1 not. */
static void tree_with_ksm_and_psi(const char *name, size_t ksm_files) {
  char *t = tree_path(name);
  set_roots(t);
  rig r;
  rig_start(&r, "collect = [\"ksm\", \"psi\"];");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.n, 1 + 10);
  check_stat_fields(r.got[0], t);
  ck_assert_uint_eq(check_ksm_fields(r.got[0], t), ksm_files);
  check_kernel_head(r.got[0], 5 + ksm_files);
  ck_assert_uint_eq(check_pressure(&r, 1, t), r.n);
  rig_free(&r);
  free(t);
}

START_TEST(tree_linux_6_18_ksm_psi) {
  tree_with_ksm_and_psi("linux-6.18.44-fc-v1300", 15);
}
END_TEST

START_TEST(tree_linux_6_1_ksm_psi) {
  tree_with_ksm_and_psi("linux-6.1-qemu", 14);
}
END_TEST

/* ---- files written by the tests ------------------------------------------ */

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
  bool has_it = log && strstr(log, text);
  free(log);
  return has_it;
}

#define ENTROPY "proc/sys/kernel/random/entropy_avail"

/* Counters as the kernel has them, also when one goes back. */
START_TEST(counters_going_back) {
  put("proc/stat", "cpu  1 2 3 4\nintr 1000 1 2\nctxt 5000\nbtime 1700000000\nprocesses 300\n");
  put(ENTROPY, "256\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_int_eq(field_i(r.got[0], "context_switches"), 5000);
  put("proc/stat", "intr 10 1 2\nctxt 50\nbtime 1700000500\nprocesses 3\n");
  ck_assert_int_eq(gather(&r), 0);
  check_kernel_head(r.got[0], 5);
  ck_assert_int_eq(field_i(r.got[0], "context_switches"), 50);
  ck_assert_int_eq(field_i(r.got[0], "interrupts"), 10);
  ck_assert_int_eq(field_i(r.got[0], "processes_forked"), 3);
  ck_assert_int_eq(field_i(r.got[0], "boot_time"), 1700000500);
  rig_free(&r);
}
END_TEST

/* Telegraf's fields are int64: a counter past 2^63 - 1 cannot be one; it is
 * left out with an error, the others are reported. */
START_TEST(counter_beyond_int64) {
  put("proc/stat", "intr 1\nctxt 9223372036854775808\nbtime 1\nprocesses 2\n");
  put(ENTROPY, "256\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 1);
  ck_assert(log_has("context_switches = 9223372036854775808 does not fit a signed 64-bit"));
  check_kernel_head(r.got[0], 4);
  ck_assert(!has(r.got[0], "context_switches"));
  put("proc/stat", "intr 1\nctxt 9223372036854775807\nbtime 1\nprocesses 2\n");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_int_eq(field_i(r.got[0], "context_switches"), INT64_MAX);
  rig_free(&r);
}
END_TEST

/* An intr line of thousands of columns (a big machine's IRQs), far longer
 * than a page, and a 2.4 kernel's "page" line. */
START_TEST(long_intr_line_and_page_line) {
  char *intr = strdup("intr 987654321");
  for (int i = 0; i < 5000; i++) {
    char *next = th_fmt("%s %d", intr, i);
    free(intr);
    intr = next;
  }
  char *stat = th_fmt("cpu  1 2 3 4\npage 5741 1808\nswap 1 0\n%s\nctxt 1\nbtime 2\n"
                      "processes 3\n",
                      intr);
  put("proc/stat", stat);
  put(ENTROPY, "3000\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  check_kernel_head(r.got[0], 7);
  ck_assert_int_eq(field_i(r.got[0], "interrupts"), 987654321);
  ck_assert_int_eq(field_i(r.got[0], "disk_pages_in"), 5741);
  ck_assert_int_eq(field_i(r.got[0], "disk_pages_out"), 1808);
  ck_assert_int_eq(field_i(r.got[0], "entropy_avail"), 3000);
  rig_free(&r);
  free(stat);
  free(intr);
}
END_TEST

/* Each source that cannot be read is one error naming it and what to do;
 * what the other gives is reported. */
START_TEST(missing_sources_partial) {
  put("proc/stat", "intr 1\nctxt 2\nbtime 3\nprocesses 4\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 1);
  ck_assert(log_has("entropy_avail: No such file or directory; entropy_avail is left out"));
  check_kernel_head(r.got[0], 4);
  char *path = th_fmt("%s/proc/stat", dir);
  unlink(path);
  free(path);
  put(ENTROPY, "256\n");
  ck_assert_int_eq(gather(&r), 1);
  char *text = th_fmt("cannot read %s/proc/stat: No such file or directory (set HOST_PROC", dir);
  ck_assert_msg(log_has(text), "log lacks: %s", text);
  free(text);
  check_kernel_head(r.got[0], 1);
  ck_assert_int_eq(field_i(r.got[0], "entropy_avail"), 256);
  put("proc/stat", "intr 1\nctxt two\nbtime 3\n");
  put(ENTROPY, "lots\n");
  ck_assert_int_eq(gather(&r), 2);
  ck_assert(log_has("stat: cannot parse the line \"ctxt two\""));
  ck_assert(log_has("entropy_avail: not a number"));
  check_kernel_head(r.got[0], 2);
  rig_free(&r);
}
END_TEST

/* Older kernels lack KSM files (stable_node_* came with 4.13,
 * general_profit with 6.7): their fields are left out, silently. A file
 * that exists but cannot be read is an error. general_profit may be
 * negative. */
START_TEST(ksm_older_kernel_and_broken_file) {
  put("proc/stat", "intr 1\nctxt 2\nbtime 3\nprocesses 4\n");
  put(ENTROPY, "256\n");
  static const char *const old[] = {
      "full_scans",     "merge_across_nodes", "pages_shared", "pages_sharing",  "pages_to_scan",
      "pages_unshared", "pages_volatile",     "run",          "sleep_millisecs"};
  for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
    char *rel = th_fmt("sys/kernel/mm/ksm/%s", old[i]);
    put(rel, "7\n");
    free(rel);
  }
  rig r;
  rig_start(&r, "collect = [\"ksm\"];");
  ck_assert_int_eq(gather(&r), 0);
  check_kernel_head(r.got[0], 5 + 9);
  ck_assert_int_eq(field_i(r.got[0], "ksm_sleep_millisecs"), 7);
  put("sys/kernel/mm/ksm/general_profit", "-4096\n");
  char *path = th_fmt("%s/sys/kernel/mm/ksm/use_zero_pages", dir);
  ck_assert_int_eq(mkdir(path, 0755), 0);
  ck_assert_int_eq(gather(&r), 1);
  ck_assert(log_has("use_zero_pages: Is a directory; 1 ksm_ field is left out"));
  ck_assert_int_eq(field_i(r.got[0], "ksm_general_profit"), -4096);
  check_kernel_head(r.got[0], 5 + 10);
  rig_free(&r);
  free(path);
}
END_TEST

static void write_pressure(const char *res, const char *text) {
  char *rel = th_fmt("proc/pressure/%s", res);
  put(rel, text);
  free(rel);
}

/* cpu's full line is skipped (as Telegraf does; kernels before 5.13 have
 * none); a malformed line and a missing file are one error each. */
START_TEST(psi_lines) {
  put("proc/stat", "intr 1\nctxt 2\nbtime 3\nprocesses 4\n");
  put(ENTROPY, "256\n");
  write_pressure("cpu", "some avg10=1.50 avg60=0.25 avg300=0.05 total=123456\n"
                        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  write_pressure("memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=18446744073709551615\n"
                           "full avg10=x avg60=0.00 avg300=0.00 total=0\n");
  rig r;
  rig_start(&r, "collect = [\"psi\"];");
  ck_assert_int_eq(gather(&r), 2);
  ck_assert(log_has("pressure/memory: cannot parse the line \"full avg10=x"));
  ck_assert(log_has("pressure/io: No such file or directory; no io pressure this time"));
  ck_assert_uint_eq(r.n, 1 + 4);
  check_pressure_head(r.got[1], TOWER_COUNTER, "cpu", "some");
  ck_assert_uint_eq(tower_metric_field_uint(r.got[1], 0), 123456);
  check_pressure_head(r.got[2], TOWER_GAUGE, "cpu", "some");
  ck_assert_double_eq(tower_metric_field_float(r.got[2], 0), 1.50); /* avg10 */
  ck_assert_double_eq(tower_metric_field_float(r.got[2], 1), 0.05); /* avg300 */
  ck_assert_double_eq(tower_metric_field_float(r.got[2], 2), 0.25); /* avg60 */
  check_pressure_head(r.got[3], TOWER_COUNTER, "memory", "some");
  ck_assert_uint_eq(tower_metric_field_uint(r.got[3], 0), UINT64_MAX);
  rig_free(&r);
}
END_TEST

/* ---- configuration ------------------------------------------------------- */

static char *rejected(const char *opts) {
  char *c = th_fmt("inputs = ( { plugin = \"kernel\"; %s } );\n"
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

/* Telegraf refuses to start without the KSM directory; so does tower, and
 * likewise without /proc/pressure. */
START_TEST(collect_errors) {
  char *e = rejected("collect = [\"ksm\"];");
  ck_assert_msg(strstr(e, "sys/kernel/mm/ksm does not exist: KSM is not enabled"), "%s", e);
  ck_assert_msg(strstr(e, "tower.conf:1"), "%s", e);
  free(e);
  e = rejected("collect = [\"psi\"];");
  ck_assert_msg(strstr(e, "proc/pressure does not exist: pressure stall information needs"), "%s",
                e);
  free(e);
  e = rejected("collect = [\"ksm\", \"swap\"];");
  ck_assert_msg(strstr(e, "invalid collect \"swap\"; use ksm or psi"), "%s", e);
  free(e);
}
END_TEST

/* ---- the live machine ---------------------------------------------------- */

/* A fork between two gathers shows in processes_forked; context switches
 * only grow; boot time is now minus sysinfo(2)'s uptime (give or take the
 * clock's adjustments since boot). */
START_TEST(live_machine) {
  unsetenv("HOST_PROC");
  unsetenv("HOST_SYS");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  int64_t forks = field_i(r.got[0], "processes_forked");
  int64_t ctxt = field_i(r.got[0], "context_switches");
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0)
    _exit(0);
  ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
  struct sysinfo si;
  ck_assert_int_eq(sysinfo(&si), 0);
  ck_assert_int_eq(gather(&r), 0);
  check_kernel_head(r.got[0], 5);
  ck_assert_int_ge(field_i(r.got[0], "processes_forked"), forks + 1);
  ck_assert_int_gt(field_i(r.got[0], "context_switches"), ctxt);
  int64_t boot = (int64_t)time(NULL) - si.uptime;
  ck_assert_int_le(llabs(field_i(r.got[0], "boot_time") - boot), 60);
  ck_assert_int_ge(field_i(r.got[0], "entropy_avail"), 0);
  rig_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("inputs.kernel");
  TCase *t = tcase_create("kernel");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, tree_linux_6_1);
  tcase_add_test(t, tree_linux_6_18_ksm_psi);
  tcase_add_test(t, tree_linux_6_1_ksm_psi);
  tcase_add_test(t, counters_going_back);
  tcase_add_test(t, counter_beyond_int64);
  tcase_add_test(t, long_intr_line_and_page_line);
  tcase_add_test(t, missing_sources_partial);
  tcase_add_test(t, ksm_older_kernel_and_broken_file);
  tcase_add_test(t, psi_lines);
  tcase_add_test(t, collect_errors);
  tcase_add_test(t, live_machine);
  suite_add_tcase(s, t);
  return check_run(s);
}
