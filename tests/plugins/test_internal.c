/* inputs.internal through the real core: the counts it reports match what
 * the pipeline did. */
#include "config.h"

#include <check.h>
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

int main(void) {
  Suite *s = suite_create("internal");
  TCase *t = tcase_create("internal");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, counts_match_the_pipeline);
  tcase_add_test(t, process_can_be_left_out);
  suite_add_tcase(s, t);
  return check_run(s);
}
