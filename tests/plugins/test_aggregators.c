/* Aggregators through the real core: a lines input with explicit
 * timestamps feeds the pipeline, the test sets the aggregator's window and
 * drives the push itself (no sleeping), and a record output writes what
 * reached it as line protocol. Expected values are worked out by hand from
 * the input (Welford's mean and sample variance, Telegraf's naming). */
#include "config.h"

#include <check.h>
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
  /* the gathers run on the input's thread, on its schedule: wait for one
   * (bounded) */
  for (int i = 0; i < 500 && atomic_load(&pl->aggregators[0]->stats.metrics) == 0; i++)
    twi_run_sleep(10000000);
  ck_assert_uint_ge(atomic_load(&pl->aggregators[0]->stats.metrics), 1);
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
  tcase_add_test(tc, window_edges_delay_grace);
  tcase_add_test(tc, max_series_refuses_and_reports);
  tcase_add_test(tc, final_timeout_and_periodic);
  tcase_add_test(tc, shutdown_pushes);
  tcase_add_test(tc, internal_aggregate_stats);
  suite_add_tcase(s, tc);
  return check_run(s);
}
