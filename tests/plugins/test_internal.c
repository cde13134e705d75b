/* inputs.internal through the real core: the counts it reports match what
 * the pipeline did. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "harness.h"
#include "check_run.h"

static char *dir;

static void setup(void) {
  dir = th_tmpdir();
}
static void teardown(void) {
  th_rmrf(dir);
  free(dir);
}

/* The line of `measurement` whose tags contain `tag` (NULL: any). */
static const char *line_of(const char *text, const char *measurement, const char *tag) {
  size_t mlen = strlen(measurement);
  for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    if (strncmp(p, measurement, mlen) == 0 && (p[mlen] == ',' || p[mlen] == ' ') &&
        (!tag || (memmem(p, len, tag, strlen(tag)) != NULL)))
      return p;
  }
  return NULL;
}

/* Field `key`'s integer value on `line`, or -1. */
static long long field(const char *line, const char *key) {
  char pat[64];
  snprintf(pat, sizeof pat, "%s=", key);
  const char *eol = strchr(line, '\n');
  for (const char *p = line; (p = strstr(p, pat)) && (!eol || p < eol); p++)
    if (p[-1] == ' ' || p[-1] == ',')
      return atoll(p + strlen(pat));
  return -1;
}

START_TEST(counts_match_the_pipeline) {
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"lines\"; lines = [\"a v=1i\", \"b v=2i\", \"c v=3i\"]; "
                   "alias = \"three\"; },\n"
                   "           { plugin = \"internal\"; } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; "
                   "metric_buffer_limit = 100; },\n"
                   "            { plugin = \"record\"; path = \"%s/other.lp\"; alias = \"picky\"; "
                   "namepass = [\"a\"]; } );\n",
                   dir, dir);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  ck_assert_int_eq(th_gather(pl), 0); /* lines: 3 metrics, then internal */
  ck_assert_uint_eq(th_flush(pl), 0);
  th_gather(pl); /* the second internal gather sees the first flush */
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  char *path = th_fmt("%s/out.lp", dir), *text = th_read_file(path);
  ck_assert_ptr_nonnull(text);
  /* the last report of each kind */
  const char *g = NULL, *w = NULL, *wp = NULL, *agent = NULL, *p;
  for (p = text; (p = line_of(p, "internal_gather", "input=lines")); p++)
    g = p;
  for (p = text; (p = line_of(p, "internal_write", "internal_write,output=record ")); p++)
    w = p; /* the output without alias */
  for (p = text; (p = line_of(p, "internal_write", "alias=picky")); p++)
    wp = p;
  for (p = text; (p = line_of(p, "internal_agent", "version=")); p++)
    agent = p;
  ck_assert_msg(g && w && wp && agent, "missing internal metrics in:\n%s", text);
  ck_assert_ptr_nonnull(strstr(g, "alias=three"));
  ck_assert_int_eq(field(g, "metrics_gathered"), 6); /* two gathers of 3 */
  ck_assert_int_eq(field(g, "errors"), 0);
  ck_assert_int_ge(field(g, "gather_time_ns"), 1);
  /* first flush wrote 3 lines + the internal metrics of the first gather */
  ck_assert_int_eq(field(w, "buffer_limit"), 100);
  ck_assert_int_ge(field(w, "metrics_written"), 3);
  ck_assert_int_eq(field(w, "metrics_dropped"), 0);
  ck_assert_int_eq(field(wp, "metrics_filtered"), field(w, "metrics_added") - 2); /* only a */
  /* the total adds internal's own metrics: 6 per gather, plus those it has
   * added so far in the gather being reported */
  long long total = field(agent, "metrics_gathered"), lines = field(g, "metrics_gathered");
  ck_assert_msg(total >= lines + 6 && total <= lines + 12, "total %lld, lines %lld", total, lines);
  ck_assert_int_eq(field(agent, "gather_errors"), 0);
  const char *proc = line_of(text, "internal_process", NULL);
  ck_assert_msg(proc && field(proc, "rss_bytes") > 100000 && field(proc, "threads") >= 1 &&
                    field(proc, "open_fds") >= 3,
                "internal_process: %s", proc ? proc : "(none)");
  free(text);
  free(path);
  free(c);
}
END_TEST

START_TEST(process_can_be_left_out) {
  char *c = th_fmt("inputs = ( { plugin = \"internal\"; collect_process = false; } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                   dir);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  th_gather(pl);
  th_flush(pl);
  th_free(pl);
  char *path = th_fmt("%s/out.lp", dir), *text = th_read_file(path);
  ck_assert_ptr_nonnull(line_of(text, "internal_agent", NULL));
  ck_assert_ptr_null(line_of(text, "internal_process", NULL));
  free(text);
  free(path);
  free(c);
}
END_TEST

/* ---- tower_agent_stats_each: the same figures for plugins that are not
 * inputs (outputs.health), with the health fields ---- */

typedef struct {
  double bad_errors, good_errors, good_success, out_errors, out_last_write, started;
  int seen;
} health_view;

static double num(const tower_metric *m, const char *key) {
  ptrdiff_t i = tower_metric_field_index(m, key);
  double v = -1;
  ck_assert_msg(i >= 0, "%s lacks %s", tower_metric_name(m), key);
  tower_metric_field_number(m, (size_t)i, &v);
  return v;
}

static int collect(void *arg, const tower_metric *m) {
  health_view *v = arg;
  const char *alias = tower_metric_tag(m, "alias");
  v->seen++;
  if (strcmp(tower_metric_name(m), "internal_gather") == 0) {
    v->started += num(m, "started");
    if (alias && strcmp(alias, "bad") == 0) {
      v->bad_errors = num(m, "consecutive_errors");
    } else {
      v->good_errors = num(m, "consecutive_errors");
      v->good_success = num(m, "last_success_ns");
    }
  } else if (strcmp(tower_metric_name(m), "internal_write") == 0) {
    v->started += num(m, "started");
    v->out_errors = num(m, "consecutive_errors");
    v->out_last_write = num(m, "last_write_ns");
  }
  return 0;
}

static int stop_at_first(void *arg, const tower_metric *m) {
  (void)m;
  ++*(int *)arg;
  return -EINTR;
}

START_TEST(health_fields_count_failures_in_a_row) {
  char *c =
      th_fmt("agent = { omit_hostname = true; };\n"
             "inputs = ( { plugin = \"lines\"; lines = [\"a v=1i\"]; fail = true; "
             "alias = \"bad\"; },\n"
             "           { plugin = \"lines\"; lines = [\"b v=1i\"]; } );\n"
             "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; fail_writes = 2; } );\n",
             dir);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  health_view v = {0};
  /* no pipeline registered as running: no report */
  ck_assert_int_eq(tower_agent_stats_each(TOWER_STATS_HEALTH, collect, &v), -ESRCH);
  twi_stats_set_running(pl);
  double t0 = (double)tower_now();
  ck_assert_int_eq(th_gather(pl), 1);
  ck_assert_int_eq(th_gather(pl), 1);
  ck_assert_uint_ne(th_flush(pl), 0); /* RETRY: kept */
  ck_assert_int_eq(tower_agent_stats_each(TOWER_STATS_HEALTH, collect, &v), 0);
  ck_assert_int_eq(v.seen, 4); /* two inputs, one output, the agent */
  ck_assert(v.bad_errors == 2);
  ck_assert(v.good_errors == 0);
  ck_assert(v.good_success >= t0);
  ck_assert(v.out_errors == 1);
  ck_assert(v.out_last_write == 0); /* neither written nor started (--once) */
  ck_assert(v.started == 0);
  ck_assert_uint_ne(th_flush(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_assert_int_eq(tower_agent_stats_each(TOWER_STATS_HEALTH, collect, &v), 0);
  ck_assert(v.out_errors == 0);
  ck_assert(v.out_last_write >= t0);
  /* a negative return from the callback ends the report with it */
  int calls = 0;
  ck_assert_int_eq(tower_agent_stats_each(0, stop_at_first, &calls), -EINTR);
  ck_assert_int_eq(calls, 1);
  twi_stats_unset_running(pl);
  ck_assert_int_eq(tower_agent_stats_each(0, collect, &v), -ESRCH);
  th_free(pl);
  free(c);
}
END_TEST

int main(void) {
  Suite *s = suite_create("internal");
  TCase *t = tcase_create("internal");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, counts_match_the_pipeline);
  tcase_add_test(t, process_can_be_left_out);
  tcase_add_test(t, health_fields_count_failures_in_a_row);
  suite_add_tcase(s, t);
  return check_run(s);
}
