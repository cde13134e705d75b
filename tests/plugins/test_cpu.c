/* inputs.cpu against a fake /proc (HOST_PROC) whose stat file the tests
 * rewrite between gathers, and once against the real /proc/stat.
 *
 * Gathers are driven one at a time (gather1) rather than with th_gather,
 * which gathers twice for TOWER_PLUGIN_TWO_SAMPLES inputs and would hide the
 * first sample. Metrics are captured as objects (not line protocol) to see
 * their value type: the record output's write callback is swapped for one
 * that keeps the batch. */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tower/tower.h>

#include "harness.h"
#include "check_run.h"

static char *dir;

static void setup(void) {
  dir = th_tmpdir();
  setenv("HOST_PROC", dir, 1);
}

static void teardown(void) {
  unsetenv("HOST_PROC");
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

/* A running cpu input with its output's writes redirected into `got`. */
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
                   "inputs = ( { plugin = \"cpu\"; %s } );\n"
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

/* One gather of the input at `t` (ns), as the input thread makes it.
 * Returns the gather errors reported. */
static int gather_at(rig *r, int64_t t) {
  tower_ctx *in = r->pl->inputs[0];
  tower_acc *acc = twi_acc_new_input(in, r->pl, false);
  ck_assert_ptr_nonnull(acc);
  twi_acc_begin(acc, t);
  in->plugin->desc.gather(in->state, acc);
  tower_acc_commit(acc);
  int errors = (int)twi_acc_errors(acc);
  twi_acc_free(acc);
  return errors;
}

/* Writes <HOST_PROC>/stat, gathers once and captures what came out (the
 * previous capture is cleared). */
static void gather_stat(rig *r, const char *stat) {
  char *path = th_fmt("%s/stat", dir);
  ck_assert_int_eq(th_write_file(path, stat), 0);
  free(path);
  capture_clear(&r->got);
  ck_assert_int_eq(gather_at(r, 1700000000000000000LL), 0);
  ck_assert_uint_eq(th_flush(r->pl), 0);
}

/* ---- looking at metrics -------------------------------------------------- */

static const tower_metric *find(const capture *c, const char *cpu, tower_value_type type) {
  const tower_metric *hit = NULL;
  for (size_t i = 0; i < c->n; i++) {
    const char *tag = tower_metric_tag(c->v[i], "cpu");
    if (tag && strcmp(tag, cpu) == 0 && tower_metric_type(c->v[i]) == type) {
      ck_assert_msg(hit == NULL, "two %s metrics of type %d", cpu, (int)type);
      hit = c->v[i];
    }
  }
  return hit;
}

static size_t count_type(const capture *c, tower_value_type type) {
  size_t n = 0;
  for (size_t i = 0; i < c->n; i++)
    n += tower_metric_type(c->v[i]) == type;
  return n;
}

static double field(const tower_metric *m, const char *key) {
  ck_assert_ptr_nonnull(m);
  ptrdiff_t i = tower_metric_field_index(m, key);
  ck_assert_msg(i >= 0, "field %s missing", key);
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_FLOAT);
  return tower_metric_field_float(m, (size_t)i);
}

static bool has_field(const tower_metric *m, const char *key) {
  return tower_metric_field_index(m, key) >= 0;
}

/* "cpu<name> user nice system idle iowait irq softirq steal guest guest_nice" */
#define STAT_TAIL "intr 12345 1 2 3\nctxt 999\nbtime 1700000000\nprocesses 42\n"

/* Two samples, 1000 ticks apart on cpu0 and 500 on cpu1. */
static const char *const stat_a = "cpu  1000 100 500 8000 200 10 20 30 40 5\n"
                                  "cpu0 600 50 300 4000 100 5 10 15 20 5\n"
                                  "cpu1 400 50 200 4000 100 5 10 15 20 0\n" STAT_TAIL;
static const char *const stat_b = "cpu  1350 120 650 8800 350 20 30 40 140 15\n"
                                  "cpu0 900 70 400 4500 150 15 20 25 120 15\n"
                                  "cpu1 450 50 250 4300 200 5 10 15 20 0\n" STAT_TAIL;

static const char *const usage_keys[] = {
    "usage_user", "usage_nice",    "usage_system", "usage_idle",  "usage_iowait",
    "usage_irq",  "usage_softirq", "usage_steal",  "usage_guest", "usage_guest_nice"};
static const char *const time_keys[] = {
    "time_user", "time_nice",    "time_system", "time_idle",  "time_iowait",
    "time_irq",  "time_softirq", "time_steal",  "time_guest", "time_guest_nice"};

/* Expected usage: 100 * ticks / total, state order as usage_keys. */
static void check_usage(const tower_metric *m, const double ticks[10], double total) {
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(tower_metric_type(m), TOWER_GAUGE);
  ck_assert_str_eq(tower_metric_name(m), "cpu");
  for (int i = 0; i < 10; i++)
    ck_assert_msg(field(m, usage_keys[i]) == 100.0 * ticks[i] / total, "%s: %s = %.17g, want %.17g",
                  tower_metric_tag(m, "cpu"), usage_keys[i], field(m, usage_keys[i]),
                  100.0 * ticks[i] / total);
}

static void check_times(const tower_metric *m, const double ticks[10]) {
  double hz = (double)sysconf(_SC_CLK_TCK);
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(tower_metric_type(m), TOWER_COUNTER);
  for (int i = 0; i < 10; i++)
    ck_assert_double_eq(field(m, time_keys[i]), ticks[i] / hz);
}

/* Deltas from stat_a to stat_b, with guest taken out of user (and
 * guest_nice out of nice) as Telegraf does. */
static const double cpu0_d[10] = {300 - 100, 20 - 10, 100, 500, 50, 10, 10, 10, 100, 10};
static const double cpu1_d[10] = {50, 0, 50, 300, 100, 0, 0, 0, 0, 0};
static const double total_d[10] = {350 - 100, 20 - 10, 150, 800, 150, 10, 10, 10, 100, 10};

/* ---- tests --------------------------------------------------------------- */

START_TEST(usage_from_two_samples) {
  rig r;
  rig_start(&r, "");
  gather_stat(&r, stat_a);
  ck_assert_uint_eq(r.got.n, 0); /* first gather: nothing to compare with */
  gather_stat(&r, stat_b);
  ck_assert_uint_eq(r.got.n, 3);
  ck_assert_uint_eq(count_type(&r.got, TOWER_GAUGE), 3);
  /* Telegraf's order: the CPUs, then the total */
  ck_assert_str_eq(tower_metric_tag(r.got.v[0], "cpu"), "cpu0");
  ck_assert_str_eq(tower_metric_tag(r.got.v[1], "cpu"), "cpu1");
  ck_assert_str_eq(tower_metric_tag(r.got.v[2], "cpu"), "cpu-total");
  check_usage(find(&r.got, "cpu0", TOWER_GAUGE), cpu0_d, 1000);
  check_usage(find(&r.got, "cpu1", TOWER_GAUGE), cpu1_d, 500);
  check_usage(find(&r.got, "cpu-total", TOWER_GAUGE), total_d, 1500);
  /* e.g. 20 % user = (300 user - 100 guest) / 1000 */
  ck_assert_double_eq(field(find(&r.got, "cpu0", TOWER_GAUGE), "usage_user"), 20.0);
  for (size_t i = 0; i < r.got.n; i++) {
    ck_assert_uint_eq(tower_metric_tag_count(r.got.v[i]), 1);
    ck_assert_uint_eq(tower_metric_field_count(r.got.v[i]), 10);
    ck_assert(!has_field(r.got.v[i], "usage_active"));
  }
  rig_free(&r);
}
END_TEST

START_TEST(usage_sums_to_100) {
  rig r;
  rig_start(&r, "");
  gather_stat(&r, stat_a);
  gather_stat(&r, stat_b);
  for (size_t i = 0; i < r.got.n; i++) {
    double sum = 0;
    for (int k = 0; k < 10; k++)
      sum += field(r.got.v[i], usage_keys[k]);
    ck_assert_double_eq_tol(sum, 100.0, 1e-9);
  }
  rig_free(&r);
}
END_TEST

START_TEST(collect_cpu_time) {
  rig r;
  rig_start(&r, "collect_cpu_time = true;");
  gather_stat(&r, stat_a);
  /* first gather: the counters only */
  ck_assert_uint_eq(r.got.n, 3);
  ck_assert_uint_eq(count_type(&r.got, TOWER_COUNTER), 3);
  check_times(find(&r.got, "cpu0", TOWER_COUNTER),
              (double[10]){600, 50, 300, 4000, 100, 5, 10, 15, 20, 5});
  check_times(find(&r.got, "cpu-total", TOWER_COUNTER),
              (double[10]){1000, 100, 500, 8000, 200, 10, 20, 30, 40, 5});
  ck_assert(!has_field(find(&r.got, "cpu0", TOWER_COUNTER), "time_active"));
  gather_stat(&r, stat_b);
  /* per CPU a counter then a gauge, same name and timestamp */
  ck_assert_uint_eq(r.got.n, 6);
  for (size_t i = 0; i < 6; i += 2) {
    ck_assert_int_eq(tower_metric_type(r.got.v[i]), TOWER_COUNTER);
    ck_assert_int_eq(tower_metric_type(r.got.v[i + 1]), TOWER_GAUGE);
    ck_assert_str_eq(tower_metric_tag(r.got.v[i], "cpu"), tower_metric_tag(r.got.v[i + 1], "cpu"));
    ck_assert_int_eq(tower_metric_time(r.got.v[i]), tower_metric_time(r.got.v[i + 1]));
    ck_assert_uint_eq(tower_metric_field_count(r.got.v[i]), 10);
  }
  check_times(find(&r.got, "cpu1", TOWER_COUNTER),
              (double[10]){450, 50, 250, 4300, 200, 5, 10, 15, 20, 0});
  check_usage(find(&r.got, "cpu1", TOWER_GAUGE), cpu1_d, 500);
  rig_free(&r);
}
END_TEST

START_TEST(report_active) {
  double hz = (double)sysconf(_SC_CLK_TCK);
  rig r;
  rig_start(&r, "collect_cpu_time = true; report_active = true;");
  gather_stat(&r, stat_a);
  /* active = everything but idle, iowait included: 1000+100+500+200+10+20+30 */
  ck_assert_double_eq(field(find(&r.got, "cpu-total", TOWER_COUNTER), "time_active"), 1860 / hz);
  gather_stat(&r, stat_b);
  ck_assert_double_eq(field(find(&r.got, "cpu0", TOWER_GAUGE), "usage_active"), 50.0);
  ck_assert_double_eq(field(find(&r.got, "cpu1", TOWER_GAUGE), "usage_active"), 40.0);
  ck_assert_double_eq(field(find(&r.got, "cpu-total", TOWER_GAUGE), "usage_active"),
                      100.0 * 700 / 1500);
  ck_assert_double_eq(field(find(&r.got, "cpu0", TOWER_COUNTER), "time_active"), 1580 / hz);
  ck_assert_uint_eq(tower_metric_field_count(find(&r.got, "cpu0", TOWER_GAUGE)), 11);
  ck_assert_uint_eq(tower_metric_field_count(find(&r.got, "cpu0", TOWER_COUNTER)), 11);
  rig_free(&r);
}
END_TEST

START_TEST(percpu_off) {
  rig r;
  rig_start(&r, "percpu = false; collect_cpu_time = true;");
  gather_stat(&r, stat_a);
  gather_stat(&r, stat_b);
  ck_assert_uint_eq(r.got.n, 2);
  check_usage(find(&r.got, "cpu-total", TOWER_GAUGE), total_d, 1500);
  ck_assert_ptr_nonnull(find(&r.got, "cpu-total", TOWER_COUNTER));
  rig_free(&r);
}
END_TEST

START_TEST(totalcpu_off) {
  rig r;
  rig_start(&r, "totalcpu = false;");
  gather_stat(&r, stat_a);
  gather_stat(&r, stat_b);
  ck_assert_uint_eq(r.got.n, 2);
  check_usage(find(&r.got, "cpu0", TOWER_GAUGE), cpu0_d, 1000);
  check_usage(find(&r.got, "cpu1", TOWER_GAUGE), cpu1_d, 500);
  rig_free(&r);
}
END_TEST

START_TEST(both_off) {
  rig r;
  rig_start(&r, "totalcpu = false; percpu = false; collect_cpu_time = true;");
  gather_stat(&r, stat_a);
  gather_stat(&r, stat_b);
  ck_assert_uint_eq(r.got.n, 0);
  rig_free(&r);
}
END_TEST

/* cpu1's counters restart lower (hotplug, a VM migrated): no usage for it
 * this round, no error, no negative value; the next round uses the new base. */
START_TEST(counters_backwards) {
  rig r;
  rig_start(&r, "");
  gather_stat(&r, stat_a);
  gather_stat(&r, "cpu  1010 100 500 8000 200 10 20 30 40 5\n"
                  "cpu0 700 50 300 4000 100 5 10 15 20 5\n"
                  "cpu1 10 0 10 100 0 0 0 0 0 0\n" STAT_TAIL);
  ck_assert_uint_eq(r.got.n, 2);
  ck_assert_ptr_null(find(&r.got, "cpu1", TOWER_GAUGE));
  check_usage(find(&r.got, "cpu0", TOWER_GAUGE), (double[10]){100, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 100);
  /* the total went up by 10 ticks while a CPU was reset: its own usage */
  ck_assert_ptr_nonnull(find(&r.got, "cpu-total", TOWER_GAUGE));
  gather_stat(&r, "cpu  1110 100 500 8100 200 10 20 30 40 5\n"
                  "cpu0 750 50 300 4050 100 5 10 15 20 5\n"
                  "cpu1 60 0 10 150 0 0 0 0 0 0\n" STAT_TAIL);
  check_usage(find(&r.got, "cpu1", TOWER_GAUGE), (double[10]){50, 0, 0, 50, 0, 0, 0, 0, 0, 0}, 100);
  rig_free(&r);
}
END_TEST

/* A single state counter going back (iowait may, proc(5)) is clamped to
 * 0 % rather than reported negative; a state running ahead of the total
 * is clamped to 100 %. */
START_TEST(state_counter_backwards_is_clamped) {
  rig r;
  rig_start(&r, "totalcpu = false; report_active = true;");
  gather_stat(&r, "cpu0 100 0 100 1000 50 0 0 0 0 0\n" STAT_TAIL);
  gather_stat(&r, "cpu0 100 0 100 1010 45 0 0 0 0 0\n" STAT_TAIL);
  const tower_metric *m = find(&r.got, "cpu0", TOWER_GAUGE);
  /* total +5: idle +10, iowait -5 */
  ck_assert_double_eq(field(m, "usage_iowait"), 0.0);
  ck_assert_double_eq(field(m, "usage_idle"), 100.0);
  ck_assert_double_eq(field(m, "usage_active"), 0.0);
  ck_assert_double_eq(field(m, "usage_user"), 0.0);
  rig_free(&r);
}
END_TEST

START_TEST(zero_delta_no_usage) {
  rig r;
  rig_start(&r, "collect_cpu_time = true;");
  gather_stat(&r, stat_a);
  gather_stat(&r, stat_a);
  /* nothing elapsed: counters only, no 0/0 */
  ck_assert_uint_eq(r.got.n, 3);
  ck_assert_uint_eq(count_type(&r.got, TOWER_GAUGE), 0);
  rig_free(&r);
}
END_TEST

START_TEST(cpu_added) {
  rig r;
  rig_start(&r, "");
  gather_stat(&r, "cpu  600 50 300 4000 100 5 10 15 20 5\n"
                  "cpu0 600 50 300 4000 100 5 10 15 20 5\n" STAT_TAIL);
  gather_stat(&r, stat_b);
  /* cpu1 is new: no usage for it yet (Telegraf's cpu_count_increase) */
  ck_assert_uint_eq(r.got.n, 2);
  check_usage(find(&r.got, "cpu0", TOWER_GAUGE), cpu0_d, 1000);
  ck_assert_ptr_null(find(&r.got, "cpu1", TOWER_GAUGE));
  ck_assert_ptr_nonnull(find(&r.got, "cpu-total", TOWER_GAUGE));
  gather_stat(&r, "cpu  1400 120 700 8900 350 20 30 40 140 15\n"
                  "cpu0 900 70 400 4500 150 15 20 25 120 15\n"
                  "cpu1 500 50 300 4400 200 5 10 15 20 0\n" STAT_TAIL);
  check_usage(find(&r.got, "cpu1", TOWER_GAUGE), (double[10]){50, 0, 50, 100, 0, 0, 0, 0, 0, 0},
              200);
  rig_free(&r);
}
END_TEST

START_TEST(cpu_removed_and_back) {
  rig r;
  rig_start(&r, "totalcpu = false; collect_cpu_time = true;");
  gather_stat(&r, stat_a);
  gather_stat(&r, "cpu  900 70 400 4500 150 15 20 25 120 15\n"
                  "cpu0 900 70 400 4500 150 15 20 25 120 15\n" STAT_TAIL);
  ck_assert_ptr_null(find(&r.got, "cpu1", TOWER_COUNTER));
  ck_assert_ptr_nonnull(find(&r.got, "cpu0", TOWER_GAUGE));
  /* back: a fresh start, its old sample is not compared with */
  gather_stat(&r, stat_b);
  ck_assert_ptr_nonnull(find(&r.got, "cpu1", TOWER_COUNTER));
  ck_assert_ptr_null(find(&r.got, "cpu1", TOWER_GAUGE));
  gather_stat(&r, "cpu0 900 70 400 4500 150 15 20 25 120 15\n"
                  "cpu1 500 50 300 4400 200 5 10 15 20 0\n" STAT_TAIL);
  check_usage(find(&r.got, "cpu1", TOWER_GAUGE), (double[10]){50, 0, 50, 100, 0, 0, 0, 0, 0, 0},
              200);
  rig_free(&r);
}
END_TEST

/* Sparse CPU numbers (cpu1 offline) and thousands of CPUs, more than the
 * initial read buffer holds. */
START_TEST(many_and_sparse_cpus) {
  size_t n = 3000;
  char *a = strdup("cpu  0 0 0 0 0 0 0 0 0 0\n"), *b = strdup("cpu  0 0 0 0 0 0 0 0 0 0\n");
  for (size_t i = 0; i < n; i++) {
    if (i == 1)
      continue;
    char *na = th_fmt("%scpu%zu 100 0 100 800 0 0 0 0 0 0\n", a, i);
    char *nb = th_fmt("%scpu%zu 150 0 150 900 0 0 0 0 0 0\n", b, i);
    free(a);
    free(b);
    a = na;
    b = nb;
  }
  char *fa = th_fmt("%s" STAT_TAIL, a), *fb = th_fmt("%s" STAT_TAIL, b);
  rig r;
  rig_start(&r, "totalcpu = false;");
  gather_stat(&r, fa);
  gather_stat(&r, fb);
  ck_assert_uint_eq(r.got.n, n - 1);
  ck_assert_ptr_null(find(&r.got, "cpu1", TOWER_GAUGE));
  check_usage(find(&r.got, "cpu2999", TOWER_GAUGE), (double[10]){50, 0, 50, 100, 0, 0, 0, 0, 0, 0},
              200);
  rig_free(&r);
  free(a);
  free(b);
  free(fa);
  free(fb);
}
END_TEST

/* Kernels before 2.6.11 print fewer columns; missing ones count as 0.
 * Malformed lines are skipped, the others still reported. */
START_TEST(short_and_malformed_lines) {
  rig r;
  rig_start(&r, "collect_cpu_time = true;");
  gather_stat(&r, "cpu  100 0 100 800\n"
                  "cpu0 100 0 100 800 5 6 7\n"
                  "cpu1 x y z\n"
                  "cpu2 1 2\n" STAT_TAIL);
  ck_assert_uint_eq(r.got.n, 2);
  const tower_metric *m = find(&r.got, "cpu0", TOWER_COUNTER);
  double hz = (double)sysconf(_SC_CLK_TCK);
  ck_assert_double_eq(field(m, "time_softirq"), 7 / hz);
  ck_assert_double_eq(field(m, "time_steal"), 0.0);
  ck_assert_double_eq(field(m, "time_guest_nice"), 0.0);
  rig_free(&r);
}
END_TEST

START_TEST(missing_file_is_a_gather_error) {
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather_at(&r, 1), 1);
  char *path = th_fmt("%s/stat", dir);
  ck_assert_int_eq(th_write_file(path, "intr 1 2 3\n"), 0);
  free(path);
  ck_assert_int_eq(gather_at(&r, 2), 1); /* no cpu line */
  rig_free(&r);
}
END_TEST

START_TEST(core_tags) {
  char *path = th_fmt("%s/cpuinfo", dir);
  ck_assert_int_eq(th_write_file(path, "processor\t: 0\nvendor_id\t: x\nphysical id\t: 0\n"
                                       "core id\t\t: 0\n\n"
                                       "processor\t: 1\nphysical id\t: 1\ncore id\t\t: 7\n\n"),
                   0);
  free(path);
  rig r;
  rig_start(&r, "core_tags = true; collect_cpu_time = true;");
  gather_stat(&r, stat_a);
  const tower_metric *m = find(&r.got, "cpu1", TOWER_COUNTER);
  ck_assert_str_eq(tower_metric_tag(m, "core_id"), "7");
  ck_assert_str_eq(tower_metric_tag(m, "physical_id"), "1");
  ck_assert_str_eq(tower_metric_tag(find(&r.got, "cpu0", TOWER_COUNTER), "core_id"), "0");
  m = find(&r.got, "cpu-total", TOWER_COUNTER);
  ck_assert_ptr_null(tower_metric_tag(m, "core_id"));
  ck_assert_ptr_null(tower_metric_tag(m, "physical_id"));
  rig_free(&r);
}
END_TEST

START_TEST(core_tags_without_cpuinfo) {
  rig r;
  rig_start(&r, "core_tags = true; collect_cpu_time = true;");
  gather_stat(&r, stat_a);
  ck_assert_uint_eq(r.got.n, 3);
  ck_assert_uint_eq(tower_metric_tag_count(find(&r.got, "cpu0", TOWER_COUNTER)), 1);
  rig_free(&r);
}
END_TEST

/* --test / --once gather twice (TOWER_PLUGIN_TWO_SAMPLES) so usage shows. */
START_TEST(two_samples_flag) {
  rig r;
  rig_start(&r, "");
  ck_assert(r.pl->inputs[0]->plugin->desc.flags & TOWER_PLUGIN_TWO_SAMPLES);
  rig_free(&r);
}
END_TEST

START_TEST(real_proc_stat) {
  unsetenv("HOST_PROC");
  rig r;
  rig_start(&r, "report_active = true;");
  ck_assert_int_eq(th_gather(r.pl), 0); /* two samples, half a second apart */
  ck_assert_uint_eq(th_flush(r.pl), 0);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  ck_assert_uint_ge(r.got.n, 1);
  ck_assert_uint_le(r.got.n, (size_t)ncpu + 1);
  const tower_metric *total = find(&r.got, "cpu-total", TOWER_GAUGE);
  ck_assert_ptr_nonnull(total);
  for (size_t i = 0; i < r.got.n; i++) {
    const tower_metric *m = r.got.v[i];
    ck_assert_int_eq(tower_metric_type(m), TOWER_GAUGE);
    for (size_t k = 0; k < tower_metric_field_count(m); k++) {
      double v = tower_metric_field_float(m, k);
      ck_assert_msg(v >= 0 && v <= 100 && !isnan(v), "%s %s = %g", tower_metric_tag(m, "cpu"),
                    tower_metric_field_key(m, k), v);
    }
  }
  double sum = 0;
  for (int k = 0; k < 10; k++)
    sum += field(total, usage_keys[k]);
  ck_assert_double_eq_tol(sum, 100.0, 0.5);
  ck_assert_double_eq_tol(field(total, "usage_active") + field(total, "usage_idle"), 100.0, 0.5);
  rig_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("inputs.cpu");
  TCase *t = tcase_create("fake proc");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, usage_from_two_samples);
  tcase_add_test(t, usage_sums_to_100);
  tcase_add_test(t, collect_cpu_time);
  tcase_add_test(t, report_active);
  tcase_add_test(t, percpu_off);
  tcase_add_test(t, totalcpu_off);
  tcase_add_test(t, both_off);
  tcase_add_test(t, counters_backwards);
  tcase_add_test(t, state_counter_backwards_is_clamped);
  tcase_add_test(t, zero_delta_no_usage);
  tcase_add_test(t, cpu_added);
  tcase_add_test(t, cpu_removed_and_back);
  tcase_add_test(t, many_and_sparse_cpus);
  tcase_add_test(t, short_and_malformed_lines);
  tcase_add_test(t, missing_file_is_a_gather_error);
  tcase_add_test(t, core_tags);
  tcase_add_test(t, core_tags_without_cpuinfo);
  tcase_add_test(t, two_samples_flag);
  tcase_add_test(t, real_proc_stat);
  suite_add_tcase(s, t);
  return check_run(s);
}
