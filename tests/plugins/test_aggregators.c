/* Aggregators through the real core: a lines input with explicit
 * timestamps feeds the pipeline, the test sets the aggregator's window and
 * drives the push itself (no sleeping), and a record output writes what
 * reached it as line protocol. Expected values are worked out by hand from
 * the input (Welford's mean and sample variance, Telegraf's naming). */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "check_run.h"
#include "harness.h"

#define S 1000000000LL

static char *dir;

static void setup(void) {
  dir = th_tmpdir();
}
static void teardown(void) {
  th_rmrf(dir);
  free(dir);
}

/* A pipeline with `lines` (a libconfig list body of strings) and the
 * aggregators block `aggs`. */
static twi_pipeline *start(const char *lines, const char *aggs) {
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"lines\"; precision = \"1ns\"; lines = [%s]; } );\n"
                   "aggregators = ( %s );\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                   lines, aggs, dir);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  free(c);
  for (size_t i = 0; i < pl->naggregators; i++)
    twi_aggr_set_window(pl->aggregators[i], 0); /* [0, period) */
  return pl;
}

/* Gathers once, pushes every aggregator, flushes; returns the output. */
static char *run_pl(twi_pipeline *pl) {
  ck_assert_int_eq(th_gather(pl), 0);
  for (size_t i = 0; i < pl->naggregators; i++)
    twi_aggr_push(pl->aggregators[i], pl);
  ck_assert_uint_eq(th_flush(pl), 0);
  char *path = th_fmt("%s/out.lp", dir);
  char *text = th_read_file(path);
  remove(path);
  free(path);
  return text ? text : strdup("");
}

static char *run(const char *lines, const char *aggs) {
  twi_pipeline *pl = start(lines, aggs);
  char *out = run_pl(pl);
  th_free(pl);
  return out;
}

#define ck_assert_contains(hay, needle)                                                            \
  ck_assert_msg(strstr((hay), (needle)) != NULL, "expected \"%s\" in:\n%s", (needle), (hay))

#define THREE                                                                                      \
  "\"m,host=a v=1 1000000000\", \"m,host=a v=3 2000000000\", \"m,host=b v=5 3000000000\""

START_TEST(basicstats_defaults) {
  char *out = run(THREE, "{ plugin = \"basicstats\"; period = \"10s\"; }");
  /* the originals pass, then one summary per series at the window's end */
  ck_assert_str_eq(out, "m,host=a v=1 1000000000\n"
                        "m,host=a v=3 2000000000\n"
                        "m,host=b v=5 3000000000\n"
                        "m,host=a v_count=2,v_max=3,v_mean=2,v_min=1,v_s2=2,"
                        "v_stdev=1.4142135623730951 10000000000\n"
                        "m,host=b v_count=1,v_max=5,v_mean=5,v_min=5 10000000000\n");
  free(out);
}
END_TEST

START_TEST(basicstats_all_stats) {
  char *out = run("\"c,host=a x=10 1000000000\", \"c,host=a x=4 3000000000\"",
                  "{ plugin = \"basicstats\"; period = \"10s\"; drop_original = true;"
                  "  stats = [\"sum\", \"diff\", \"non_negative_diff\", \"rate\","
                  "  \"non_negative_rate\", \"percent_change\", \"interval\", \"last\"]; }");
  /* diff = 4 - 10, rate = diff / 2 s, percent_change = diff / 10 * 100;
   * the non-negative ones are left out for a negative diff */
  ck_assert_str_eq(out, "c,host=a x_diff=-6,x_interval=2000000000i,x_last=4,x_percent_change=-60,"
                        "x_rate=-3,x_sum=14 10000000000\n");
  free(out);
  out = run("\"c x=1 1000000000\", \"c x=5 2000000000\"",
            "{ plugin = \"basicstats\"; period = \"10s\"; drop_original = true;"
            "  stats = [\"non_negative_diff\", \"non_negative_rate\"]; }");
  ck_assert_str_eq(out, "c x_non_negative_diff=4,x_non_negative_rate=4 10000000000\n");
  free(out);
}
END_TEST

START_TEST(basicstats_unknown_stat) {
  char *c = th_fmt("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );\n"
                   "aggregators = ( { plugin = \"basicstats\"; stats = [\"median\"]; } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                   dir);
  twi_pipeline *pl = th_build(c, TWI_ONCE, NULL);
  ck_assert_ptr_nonnull(pl);
  ck_assert_int_ne(twi_pipeline_init(pl), 0); /* logged: unknown stat "median" */
  th_free(pl);
  free(c);
}
END_TEST

START_TEST(selectors_and_drop_original) {
  /* only "m" is aggregated and dropped; "other" passes untouched */
  char *out = run("\"m v=1 1000000000\", \"other w=2 1000000000\", \"m v=3 2000000000\"",
                  "{ plugin = \"minmax\"; period = \"10s\"; namepass = [\"m\"];"
                  "  drop_original = true; }");
  ck_assert_str_eq(out, "other w=2 1000000000\n"
                        "m v_max=3,v_min=1 10000000000\n");
  free(out);
}
END_TEST

START_TEST(renames_apply_to_summaries) {
  char *out = run("\"m v=1 1000000000\"",
                  "{ plugin = \"minmax\"; period = \"10s\"; drop_original = true;"
                  "  name_suffix = \"_1m\"; tags = { agg = \"mm\"; }; fieldexclude = [\"x\"]; }");
  ck_assert_str_eq(out, "m_1m,agg=mm v_max=1,v_min=1 10000000000\n");
  free(out);
}
END_TEST

START_TEST(modifiers_change_only_the_aggregators_view) {
  /* fieldinclude and tagexclude shape what minmax sees (a copy); the
   * original reaches the output as it came */
  char *out = run("\"m,host=a,dc=x v=1,w=2 1000000000\"",
                  "{ plugin = \"minmax\"; period = \"10s\"; fieldinclude = [\"v\"];"
                  "  tagexclude = [\"dc\"]; }");
  ck_assert_str_eq(out, "m,dc=x,host=a v=1,w=2 1000000000\n"
                        "m,host=a v_max=1,v_min=1 10000000000\n");
  free(out);
  /* a metric left without fields is filtered, not aggregated */
  twi_pipeline *pl = start("\"m w=2 1000000000\"",
                           "{ plugin = \"minmax\"; period = \"10s\"; fieldinclude = [\"v\"]; }");
  out = run_pl(pl);
  ck_assert_str_eq(out, "m w=2 1000000000\n");
  ck_assert_uint_eq(atomic_load(&pl->aggregators[0]->stats.filtered), 1);
  ck_assert_uint_eq(atomic_load(&pl->aggregators[0]->stats.metrics), 0);
  free(out);
  th_free(pl);
}
END_TEST

START_TEST(window_edges_delay_grace) {
  /* window [0, 10s), delay 1s, grace 2s: -2s and 11s are in, -3s and 12s
   * are out, counted and not mixed in */
  twi_pipeline *pl = start("\"m v=1 -3000000000\", \"m v=2 -2000000000\", "
                           "\"m v=3 11000000000\", \"m v=4 12000000000\"",
                           "{ plugin = \"minmax\"; period = \"10s\"; delay = \"1s\"; grace = "
                           "\"2s\"; drop_original = true; }");
  char *out = run_pl(pl);
  ck_assert_str_eq(out, "m v_max=3,v_min=2 10000000000\n");
  tower_ctx *a = pl->aggregators[0];
  ck_assert_uint_eq(atomic_load(&a->stats.dropped), 2);
  ck_assert_uint_eq(atomic_load(&a->stats.metrics), 2);
  ck_assert_uint_eq(atomic_load(&a->stats.pushed), 1);
  free(out);
  /* the window moved on to [10s, 20s): a second push of nothing adds
   * nothing, and basicstats forgot the first window */
  twi_aggr_push(a, pl);
  ck_assert_uint_eq(th_flush(pl), 0);
  char *path = th_fmt("%s/out.lp", dir);
  char *again = th_read_file(path);
  ck_assert(again == NULL || *again == '\0');
  free(again);
  free(path);
  th_free(pl);
}
END_TEST

START_TEST(max_series_refuses_and_reports) {
  twi_pipeline *pl = start(THREE, "{ plugin = \"basicstats\"; period = \"10s\"; max_series = 1;"
                                  "  drop_original = true; stats = [\"count\"]; }");
  char *out = run_pl(pl);
  ck_assert_str_eq(out, "m,host=a v_count=2 10000000000\n");
  tower_ctx *a = pl->aggregators[0];
  ck_assert_uint_eq(atomic_load(&a->stats.refused), 1);
  ck_assert_uint_eq(atomic_load(&a->stats.series), 1);
  free(out);
  th_free(pl);
}
END_TEST

START_TEST(final_timeout_and_periodic) {
  const char *lines = "\"p,host=a v=1i,s=\\\"x\\\" 1000000000\", \"p,host=a v=2i 2000000000\"";
  /* the series ended at 2s; at the push (10s) it is 8s old */
  char *out = run(lines, "{ plugin = \"final\"; period = \"10s\"; series_timeout = \"5s\";"
                         "  drop_original = true; }");
  ck_assert_str_eq(out, "p,host=a v_final=2i 2000000000\n");
  free(out);
  out = run(lines, "{ plugin = \"final\"; period = \"10s\"; series_timeout = \"1m\";"
                   "  drop_original = true; }");
  ck_assert_str_eq(out, ""); /* not final yet */
  free(out);
  out = run(lines, "{ plugin = \"final\"; period = \"10s\"; output_strategy = \"periodic\";"
                   "  keep_original_field_names = true; drop_original = true; }");
  ck_assert_str_eq(out, "p,host=a v=2i 2000000000\n");
  free(out);
}
END_TEST

/* Waits (bounded) until aggregator `a` took a metric from a running input. */
static void await_added(tower_ctx *a) {
  for (int i = 0; i < 500 && atomic_load(&a->stats.metrics) == 0; i++)
    twi_run_sleep(10000000);
  ck_assert_uint_ge(atomic_load(&a->stats.metrics), 1);
}

START_TEST(shutdown_pushes) {
  /* the daemon's path: threads run, the stop pushes what was aggregated
   * before the outputs' final flush */
  char *c = th_fmt("agent = { omit_hostname = true; interval = \"50ms\"; };\n"
                   "inputs = ( { plugin = \"lines\"; lines = [\"m v=4\"]; } );\n"
                   "aggregators = ( { plugin = \"minmax\"; period = \"1h\"; drop_original = "
                   "true; } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                   dir);
  twi_pipeline *pl = th_start(c, TWI_RUN);
  free(c);
  ck_assert_int_eq(twi_pipeline_start(pl), 0);
  /* the gathers run on the input's thread, on its schedule */
  await_added(pl->aggregators[0]);
  ck_assert_uint_eq(twi_pipeline_stop(pl), 0);
  th_free(pl);
  char *path = th_fmt("%s/out.lp", dir);
  char *out = th_read_file(path);
  ck_assert_ptr_nonnull(out);
  ck_assert_contains(out, "m v_max=4,v_min=4 ");
  ck_assert_msg(strchr(out, '\n') == out + strlen(out) - 1, "one line only:\n%s", out);
  free(out);
  free(path);
}
END_TEST

static char *reload_config(const char *suffix) {
  return th_fmt("agent = { omit_hostname = true; interval = \"50ms\"; };\n"
                "inputs = ( { plugin = \"lines\"; lines = [\"m v=4\"]; } );\n"
                "aggregators = ( { plugin = \"minmax\"; period = \"1h\"; drop_original = true;"
                "  name_suffix = \"%s\"; } );\n"
                "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                suffix, dir);
}

START_TEST(reload_pushes_the_old_and_runs_the_new) {
  /* core/agent.c's reload, step by step: the input and output are
   * unchanged (kept running), the aggregator is new */
  char *c1 = reload_config("_old"), *c2 = reload_config("_new");
  twi_pipeline *old = th_start(c1, TWI_RUN);
  ck_assert_int_eq(twi_pipeline_start(old), 0);
  await_added(old->aggregators[0]);
  char *errors = NULL;
  twi_pipeline *pl = th_build(c2, TWI_RUN, &errors);
  ck_assert_msg(pl != NULL, "%s", errors ? errors : "?");
  twi_pipeline_adopt(pl, old);
  ck_assert_int_eq(twi_pipeline_init(pl), 0);
  twi_pipeline_hand_over(pl);
  ck_assert_uint_eq(twi_pipeline_stop(old), 0); /* pushes m_old */
  twi_pipeline_free(old);
  ck_assert_int_eq(twi_pipeline_start(pl), 0);
  await_added(pl->aggregators[0]);
  ck_assert_uint_eq(twi_pipeline_stop(pl), 0); /* pushes m_new */
  th_free(pl);
  char *path = th_fmt("%s/out.lp", dir);
  char *out = th_read_file(path);
  ck_assert_ptr_nonnull(out);
  ck_assert_contains(out, "m_old v_max=4,v_min=4 ");
  ck_assert_contains(out, "m_new v_max=4,v_min=4 ");
  ck_assert_msg(strstr(out, "m v=") == NULL, "an original got through:\n%s", out);
  free(out);
  free(path);
  free(errors);
  free(c1);
  free(c2);
}
END_TEST

START_TEST(internal_aggregate_stats) {
  twi_pipeline *pl = start(THREE, "{ plugin = \"basicstats\"; alias = \"b\"; period = \"10s\"; }");
  char *out = run_pl(pl);
  free(out);
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, false);
  ck_assert_int_eq(tower_agent_stats(acc, 0), 0);
  ck_assert_int_eq(tower_acc_commit(acc), 0);
  twi_acc_free(acc);
  ck_assert_uint_eq(th_flush(pl), 0);
  char *path = th_fmt("%s/out.lp", dir);
  out = th_read_file(path);
  ck_assert_contains(out, "internal_aggregate,aggregator=basicstats,alias=b errors=0u,"
                          "metrics_added=3u,metrics_dropped=0u,metrics_filtered=0u,"
                          "metrics_pushed=2u,metrics_refused=0u,");
  ck_assert_contains(out, "series=2u");
  free(out);
  free(path);
  th_free(pl);
}
END_TEST

/* Pushes `pl`'s first aggregator once more and returns what reached the
 * output. */
static char *push_again(twi_pipeline *pl) {
  twi_aggr_push(pl->aggregators[0], pl);
  ck_assert_uint_eq(th_flush(pl), 0);
  char *path = th_fmt("%s/out.lp", dir);
  char *text = th_read_file(path);
  remove(path);
  free(path);
  return text ? text : strdup("");
}

#define HIST_LINES                                                                                 \
  "\"cpu,host=a usage=5 1000000000\", \"cpu,host=a usage=15 2000000000\", "                        \
  "\"cpu,host=a usage=20.5 3000000000\", \"cpu,host=a usage=120,idle=1 4000000000\", "             \
  "\"mem,host=a used=1 1000000000\""

START_TEST(histogram_cumulative_keeps_counting) {
  twi_pipeline *pl =
      start(HIST_LINES, "{ plugin = \"histogram\"; period = \"10s\"; drop_original = "
                        "true; config = ( { measurement_name = \"cpu\"; buckets = "
                        "[10.0, 20.5]; fields = [\"usage\"]; } ); }");
  char *out = run_pl(pl);
  /* a value equal to a border counts in that bucket (le); mem has no
   * histogram and is dropped as an original */
  const char *want = "cpu,host=a,le=10.0 usage_bucket=1i 10000000000\n"
                     "cpu,host=a,le=20.5 usage_bucket=3i 10000000000\n"
                     "cpu,host=a,le=+Inf usage_bucket=4i 10000000000\n";
  ck_assert_str_eq(out, want);
  free(out);
  /* reset = false: the next window pushes the same counts again */
  out = push_again(pl);
  ck_assert_str_eq(out, "cpu,host=a,le=10.0 usage_bucket=1i 20000000000\n"
                        "cpu,host=a,le=20.5 usage_bucket=3i 20000000000\n"
                        "cpu,host=a,le=+Inf usage_bucket=4i 20000000000\n");
  free(out);
  th_free(pl);
}
END_TEST

START_TEST(histogram_ordinary_reset_and_updates) {
  twi_pipeline *pl =
      start(HIST_LINES, "{ plugin = \"histogram\"; period = \"10s\"; drop_original = "
                        "true; cumulative = false; reset = true; config = ( { "
                        "measurement_name = \"cpu\"; buckets = [10.0, 20.5]; } ); }");
  char *out = run_pl(pl);
  /* every numeric field of cpu (no fields list), gt and le borders */
  ck_assert_str_eq(out, "cpu,gt=-Inf,host=a,le=10.0 idle_bucket=1i,usage_bucket=1i 10000000000\n"
                        "cpu,gt=10.0,host=a,le=20.5 idle_bucket=0i,usage_bucket=2i 10000000000\n"
                        "cpu,gt=20.5,host=a,le=+Inf idle_bucket=0i,usage_bucket=1i 10000000000\n");
  free(out);
  out = push_again(pl); /* reset: the counts started again, nothing came */
  ck_assert_str_eq(out, "cpu,gt=-Inf,host=a,le=10.0 idle_bucket=0i,usage_bucket=0i 20000000000\n"
                        "cpu,gt=10.0,host=a,le=20.5 idle_bucket=0i,usage_bucket=0i 20000000000\n"
                        "cpu,gt=20.5,host=a,le=+Inf idle_bucket=0i,usage_bucket=0i 20000000000\n");
  free(out);
  out = push_again(pl); /* idle for a whole window: forgotten */
  ck_assert_str_eq(out, "");
  free(out);
  th_free(pl);
  pl = start(HIST_LINES, "{ plugin = \"histogram\"; period = \"10s\"; drop_original = true;"
                         "  push_only_on_update = true; config = ( { measurement_name = \"cpu\";"
                         "  buckets = [10]; fields = [\"usage\"]; } ); }");
  out = run_pl(pl);
  ck_assert_str_eq(out, "cpu,host=a,le=10.0 usage_bucket=1i 10000000000\n"
                        "cpu,host=a,le=+Inf usage_bucket=4i 10000000000\n");
  free(out);
  out = push_again(pl); /* nothing counted since: nothing pushed */
  ck_assert_str_eq(out, "");
  free(out);
  th_free(pl);
}
END_TEST

START_TEST(histogram_bad_buckets) {
  const char *bad[] = {"[]", "[10, 5]", "[\"a\"]", "5"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *c = th_fmt("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );\n"
                     "aggregators = ( { plugin = \"histogram\"; config = ( {"
                     " measurement_name = \"m\"; buckets = %s; } ); } );\n"
                     "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                     bad[i], dir);
    twi_pipeline *pl = th_build(c, TWI_ONCE, NULL);
    ck_assert_ptr_nonnull(pl);
    ck_assert_msg(twi_pipeline_init(pl) != 0, "buckets = %s accepted", bad[i]);
    th_free(pl);
    free(c);
  }
}
END_TEST

START_TEST(merge_same_series_and_time) {
  char *out = run("\"m,host=a x=1 1000000000\", \"m,host=a y=2,s=\\\"t\\\" 1000000000\", "
                  "\"m,host=a x=3 2000000000\", \"m,host=b z=1i 1000000000\", "
                  "\"m,host=a x=4 1000000000\"",
                  "{ plugin = \"merge\"; period = \"10s\"; drop_original = true; }");
  /* one metric per series and time, the later x wins, times kept */
  ck_assert_str_eq(out, "m,host=a s=\"t\",x=4,y=2 1000000000\n"
                        "m,host=a x=3 2000000000\n"
                        "m,host=b z=1i 1000000000\n");
  free(out);
  out = run("\"m x=1 1200000000\", \"m y=2 1700000000\"",
            "{ plugin = \"merge\"; period = \"10s\"; drop_original = true;"
            "  round_timestamp_to = \"1s\"; }");
  ck_assert_str_eq(out, "m x=1,y=2 1000000000\n");
  free(out);
}
END_TEST

START_TEST(quantile_exact) {
  const char *five = "\"q v=3 1000000000\", \"q v=1 1000000000\", \"q v=5 1000000000\", "
                     "\"q v=2 1000000000\", \"q v=4i,s=\\\"x\\\",b=true 1000000000\"";
  /* R7 on 1..5: h = 4q + 1, so the quartiles are the values 2, 3, 4 */
  char *out = run(five, "{ plugin = \"quantile\"; period = \"10s\"; drop_original = true;"
                        "  algorithm = \"exact R7\"; quantiles = [0.25, 0.5, 0.75, 1.0]; }");
  ck_assert_str_eq(out, "q v_025=2,v_050=3,v_075=4,v_100=5 10000000000\n");
  free(out);
  /* R8 on 1..5: h = (5 + 1/3) 0.5 + 1/3 = 3; at 0.1, h < 1 clamps to 1 */
  out = run(five, "{ plugin = \"quantile\"; period = \"10s\"; drop_original = true;"
                  "  algorithm = \"exact R8\"; quantiles = [0.1, 0.5]; }");
  ck_assert_str_eq(out, "q v_010=1,v_050=3 10000000000\n");
  free(out);
}
END_TEST

/* The value of field `key` in the one metric of line protocol `lp`. */
static double field_of(const char *lp, const char *key) {
  tower_metric **ms;
  size_t n = th_parse(lp, &ms);
  ck_assert_uint_eq(n, 1);
  ptrdiff_t i = tower_metric_field_index(ms[0], key);
  ck_assert_int_ge(i, 0);
  double v;
  ck_assert(tower_metric_field_number(ms[0], (size_t)i, &v));
  th_free_metrics(ms, n);
  return v;
}

START_TEST(quantile_tdigest_close_to_exact) {
  /* 1..2000 in a scrambled order: the exact R7 quantile q is 1 + 1999 q */
  size_t n = 2000;
  char *lines = calloc(n, 40);
  ck_assert_ptr_nonnull(lines);
  for (size_t i = 0; i < n; i++) {
    size_t v = (i * 7919) % n + 1;
    char one[40];
    snprintf(one, sizeof one, "%s\"t v=%zu 1000000000\"", i ? ", " : "", v);
    strcat(lines, one);
  }
  char *out = run(lines, "{ plugin = \"quantile\"; period = \"10s\"; drop_original = true;"
                         "  quantiles = [0.01, 0.5, 0.99]; }");
  double q[] = {0.01, 0.5, 0.99};
  const char *keys[] = {"v_001", "v_050", "v_099"};
  for (size_t i = 0; i < 3; i++) {
    double want = 1 + 1999 * q[i], got = field_of(out, keys[i]);
    /* the t-digest's error at compression 100 stays well under 0.5% of the range */
    ck_assert_msg(fabs(got - want) < 10, "%s = %g, exact %g", keys[i], got, want);
  }
  free(out);
  free(lines);
}
END_TEST

int main(void) {
  Suite *s = suite_create("aggregators");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, basicstats_defaults);
  tcase_add_test(tc, basicstats_all_stats);
  tcase_add_test(tc, basicstats_unknown_stat);
  tcase_add_test(tc, selectors_and_drop_original);
  tcase_add_test(tc, renames_apply_to_summaries);
  tcase_add_test(tc, modifiers_change_only_the_aggregators_view);
  tcase_add_test(tc, window_edges_delay_grace);
  tcase_add_test(tc, max_series_refuses_and_reports);
  tcase_add_test(tc, final_timeout_and_periodic);
  tcase_add_test(tc, shutdown_pushes);
  tcase_add_test(tc, internal_aggregate_stats);
  tcase_add_test(tc, reload_pushes_the_old_and_runs_the_new);
  tcase_add_test(tc, histogram_cumulative_keeps_counting);
  tcase_add_test(tc, histogram_ordinary_reset_and_updates);
  tcase_add_test(tc, histogram_bad_buckets);
  tcase_add_test(tc, merge_same_series_and_time);
  tcase_add_test(tc, quantile_exact);
  tcase_add_test(tc, quantile_tdigest_close_to_exact);
  suite_add_tcase(s, tc);
  return check_run(s);
}
