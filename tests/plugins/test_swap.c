/* inputs.swap against the recorded /proc trees of tests/fixtures/host (two
 * kernels, one with swap on vdb), against meminfo and vmstat files the
 * tests write (counters that go back or wrap, broken and missing files),
 * and against the live /proc compared with sysinfo(2), which is where
 * gopsutil, and so Telegraf, takes the swap size from.
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
#include <sys/sysinfo.h>
#include <unistd.h>

#include <tower/tower.h>

#include "harness.h"
#include "check_run.h"
#include "log_internal.h"

static char *dir, *logpath;

static void setup(void) {
  dir = th_tmpdir();
  logpath = th_fmt("%s/tower.log", dir);
  ck_assert_int_eq(twi_log_set_file(logpath), 0);
  setenv("HOST_PROC", dir, 1);
}

static void teardown(void) {
  twi_log_set_file(NULL);
  unsetenv("HOST_PROC");
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
                   "inputs = ( { plugin = \"swap\"; %s } );\n"
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

/* ---- expectations -------------------------------------------------------- */

static uint64_t page_size(void) {
  return (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t field_u(const tower_metric *m, const char *key) {
  ptrdiff_t k = tower_metric_field_index(m, key);
  ck_assert_msg(k >= 0, "field %s missing", key);
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)k), TOWER_FIELD_UINT);
  return tower_metric_field_uint(m, (size_t)k);
}

static double field_f(const tower_metric *m, const char *key) {
  ptrdiff_t k = tower_metric_field_index(m, key);
  ck_assert_msg(k >= 0, "field %s missing", key);
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)k), TOWER_FIELD_FLOAT);
  return tower_metric_field_float(m, (size_t)k);
}

/* The gauge: total, used, free (bytes) and used_percent, nothing else. */
static void check_space(const tower_metric *m, uint64_t total, uint64_t free_b, double pct) {
  ck_assert_str_eq(tower_metric_name(m), "swap");
  ck_assert_int_eq(tower_metric_type(m), TOWER_GAUGE);
  ck_assert_uint_eq(tower_metric_tag_count(m), 0);
  ck_assert_uint_eq(tower_metric_field_count(m), 4);
  ck_assert_uint_eq(field_u(m, "total"), total);
  ck_assert_uint_eq(field_u(m, "free"), free_b);
  ck_assert_uint_eq(field_u(m, "used"), total - free_b);
  ck_assert_double_eq(field_f(m, "used_percent"), pct);
}

/* The counter: in and out (bytes). */
static void check_traffic(const tower_metric *m, uint64_t in, uint64_t out) {
  ck_assert_str_eq(tower_metric_name(m), "swap");
  ck_assert_int_eq(tower_metric_type(m), TOWER_COUNTER);
  ck_assert_uint_eq(tower_metric_tag_count(m), 0);
  ck_assert_uint_eq(tower_metric_field_count(m), 2);
  ck_assert_uint_eq(field_u(m, "in"), in);
  ck_assert_uint_eq(field_u(m, "out"), out);
}

/* The number after `key` on its line of <tree>/proc/<file>. */
static uint64_t tree_value(const char *tree, const char *file, const char *key) {
  char *path = th_fmt("%s/proc/%s", tree, file), line[256], k[64];
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  unsigned long long v = 0;
  bool found = false;
  while (!found && fgets(line, sizeof line, f))
    found = sscanf(line, "%63[^: ]%*[: ] %llu", k, &v) == 2 && strcmp(k, key) == 0;
  fclose(f);
  ck_assert_msg(found, "%s has no %s", path, key);
  free(path);
  return v;
}

static char *tree_path(const char *name) {
  const char *top = getenv("top_srcdir");
  return th_fmt("%s/tests/fixtures/host/%s", top ? top : "..", name);
}

/* ---- the recorded trees -------------------------------------------------- */

/* The tree's files give the metrics; free -b's "Swap:" row in MANIFEST,
 * recorded with them, says the same (swap did not move: nothing was
 * swapped). */
static void gather_tree(const char *name) {
  char *t = tree_path(name), *proc = th_fmt("%s/proc", t), *mf = th_fmt("%s/MANIFEST", t);
  setenv("HOST_PROC", proc, 1);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.n, 2);
  uint64_t total = tree_value(t, "meminfo", "SwapTotal") * 1024;
  uint64_t free_b = tree_value(t, "meminfo", "SwapFree") * 1024;
  check_space(r.got[0], total, free_b,
              total ? 100.0 * (double)(total - free_b) / (double)total : 0.0);
  check_traffic(r.got[1], tree_value(t, "vmstat", "pswpin") * page_size(),
                tree_value(t, "vmstat", "pswpout") * page_size());
  char *manifest = th_read_file(mf);
  ck_assert_ptr_nonnull(manifest);
  const char *row = strstr(manifest, "\nSwap:");
  unsigned long long ftotal, fused, ffree;
  ck_assert_ptr_nonnull(row);
  ck_assert_int_eq(sscanf(row, "\nSwap: %llu %llu %llu", &ftotal, &fused, &ffree), 3);
  ck_assert_uint_eq(field_u(r.got[0], "total"), ftotal);
  ck_assert_uint_eq(field_u(r.got[0], "used"), fused);
  ck_assert_uint_eq(field_u(r.got[0], "free"), ffree);
  rig_free(&r);
  free(manifest);
  free(mf);
  free(proc);
  free(t);
}

START_TEST(tree_linux_6_1_with_swap) {
  gather_tree("linux-6.1-qemu");
}
END_TEST

START_TEST(tree_linux_6_18_without_swap) {
  gather_tree("linux-6.18.44-fc-v1300");
}
END_TEST

/* The 6.1 guest's swap partition, written out: 32764 kB. */
START_TEST(tree_linux_6_1_literal) {
  char *t = tree_path("linux-6.1-qemu"), *proc = th_fmt("%s/proc", t);
  setenv("HOST_PROC", proc, 1);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  check_space(r.got[0], 33550336, 33550336, 0.0);
  rig_free(&r);
  free(proc);
  free(t);
}
END_TEST

/* ---- files written by the tests ------------------------------------------ */

static void write_proc(const char *name, const char *text) {
  char *path = th_fmt("%s/%s", dir, name);
  ck_assert_int_eq(th_write_file(path, text), 0);
  free(path);
}

static bool log_has(const char *text) {
  char *log = th_read_file(logpath);
  bool has = log && strstr(log, text);
  free(log);
  return has;
}

#define VMSTAT_HEAD "nr_free_pages 12345\npgpgin 4256\npgpgout 4114\n"

START_TEST(space_and_traffic) {
  write_proc("meminfo", "MemTotal: 1000000 kB\nSwapCached: 4 kB\nSwapTotal: 1000 kB\n"
                        "SwapFree: 250 kB\n");
  write_proc("vmstat", VMSTAT_HEAD "pswpin 123\npswpout 456\npgmajfault 7\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.n, 2);
  check_space(r.got[0], 1000 * 1024, 250 * 1024, 75.0);
  check_traffic(r.got[1], 123 * page_size(), 456 * page_size());
  ck_assert_int_eq(tower_metric_time(r.got[0]), tower_metric_time(r.got[1]));
  rig_free(&r);
}
END_TEST

/* Counters are the kernel's: one that goes back (a reboot behind a fixed
 * HOST_PROC) goes back in the metric too, for the consumer's rate() to see
 * a reset. Bytes wrap modulo 2^64 as in Telegraf: 2^53 + 1 pages of 4 KiB
 * are 2^65 + 4096 bytes, reported as 4096. */
START_TEST(counters_back_and_wrapping) {
  write_proc("meminfo", "SwapTotal: 0 kB\nSwapFree: 0 kB\n");
  write_proc("vmstat", "pswpin 1000\npswpout 2000\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  check_traffic(r.got[1], 1000 * page_size(), 2000 * page_size());
  write_proc("vmstat", "pswpin 10\npswpout 20\n");
  ck_assert_int_eq(gather(&r), 0);
  check_traffic(r.got[1], 10 * page_size(), 20 * page_size());
  write_proc("vmstat", "pswpin 9007199254740993\npswpout 0\n");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(field_u(r.got[1], "in"), 9007199254740993ull * page_size());
  if (page_size() == 4096)
    ck_assert_uint_eq(field_u(r.got[1], "in"), 4096);
  /* no swap: used_percent is 0, not 0/0 */
  check_space(r.got[0], 0, 0, 0.0);
  rig_free(&r);
}
END_TEST

/* /proc/vmstat's lines before pswpin may be long (a later kernel's), and
 * a key that only begins like pswpin is not it. */
START_TEST(long_lines_and_lookalike_keys) {
  size_t n = 9000;
  char *big = malloc(n + 1);
  memset(big, '1', n);
  big[n] = '\0';
  char *text = th_fmt("nr_something %s\npswpin_ahead 77\npswpin 5\npswpout 6", big);
  write_proc("vmstat", text);
  write_proc("meminfo", "SwapTotal: 8 kB\nSwapFree: 8 kB\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  check_traffic(r.got[1], 5 * page_size(), 6 * page_size());
  rig_free(&r);
  free(text);
  free(big);
}
END_TEST

/* Each file that cannot be read is one error naming it; what the other one
 * gives is still reported. */
START_TEST(missing_files_partial_results) {
  write_proc("meminfo", "SwapTotal: 100 kB\nSwapFree: 100 kB\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 1);
  ck_assert_uint_eq(r.n, 1);
  check_space(r.got[0], 100 * 1024, 100 * 1024, 0.0);
  char *text = th_fmt("cannot read %s/vmstat: No such file or directory (set HOST_PROC", dir);
  ck_assert_msg(log_has(text), "log lacks: %s", text);
  free(text);
  char *path = th_fmt("%s/meminfo", dir);
  unlink(path);
  free(path);
  write_proc("vmstat", "pswpin 1\npswpout 2\n");
  ck_assert_int_eq(gather(&r), 1);
  ck_assert_uint_eq(r.n, 1);
  check_traffic(r.got[0], page_size(), 2 * page_size());
  rig_free(&r);
}
END_TEST

START_TEST(files_without_the_lines) {
  write_proc("meminfo", "MemTotal: 100 kB\n");
  write_proc("vmstat", "pgpgin 1\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 2);
  ck_assert_uint_eq(r.n, 0);
  ck_assert(log_has("meminfo has no SwapTotal and SwapFree lines"));
  ck_assert(log_has("vmstat has no pswpin and pswpout lines"));
  rig_free(&r);
}
END_TEST

/* A broken file with more free than total swap: used is 0, not 2^64 - n. */
START_TEST(free_above_total_does_not_wrap) {
  write_proc("meminfo", "SwapTotal: 100 kB\nSwapFree: 200 kB\n");
  write_proc("vmstat", "pswpin 0\npswpout 0\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(field_u(r.got[0], "used"), 0);
  ck_assert_double_eq(field_f(r.got[0], "used_percent"), 0.0);
  rig_free(&r);
}
END_TEST

/* The live /proc: the sizes are those sysinfo(2) gives gopsutil. */
START_TEST(live_total_is_sysinfo_totalswap) {
  unsetenv("HOST_PROC");
  rig r;
  rig_start(&r, "");
  struct sysinfo si;
  ck_assert_int_eq(sysinfo(&si), 0);
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.n, 2);
  ck_assert_uint_eq(field_u(r.got[0], "total"), (uint64_t)si.totalswap * si.mem_unit);
  ck_assert_int_eq(tower_metric_type(r.got[1]), TOWER_COUNTER);
  rig_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("inputs.swap");
  TCase *t = tcase_create("swap");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, tree_linux_6_1_with_swap);
  tcase_add_test(t, tree_linux_6_18_without_swap);
  tcase_add_test(t, tree_linux_6_1_literal);
  tcase_add_test(t, space_and_traffic);
  tcase_add_test(t, counters_back_and_wrapping);
  tcase_add_test(t, long_lines_and_lookalike_keys);
  tcase_add_test(t, missing_files_partial_results);
  tcase_add_test(t, files_without_the_lines);
  tcase_add_test(t, free_above_total_does_not_wrap);
  tcase_add_test(t, live_total_is_sysinfo_totalswap);
  suite_add_tcase(s, t);
  return check_run(s);
}
