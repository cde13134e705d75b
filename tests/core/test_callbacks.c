/* What a negative return of gather, start and process does (plugin.h): one
 * error counted and logged per failure, not two when the plugin reported it
 * with tower_acc_error, and nothing accepted lost. Driven synchronously with
 * the fixture plugins (tests/fixtures), the log captured in a file. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "harness.h"
#include "log_internal.h"
#include "check_run.h"

static char *dir, *log_path;

static void setup(void) {
  dir = th_tmpdir();
  log_path = th_fmt("%s/log", dir);
  ck_assert_int_eq(twi_log_set_file(log_path), 0);
  twi_log_set_level(TOWER_LOG_INFO);
}

static void teardown(void) {
  twi_log_set_file(NULL);
  th_rmrf(dir);
  free(log_path);
  free(dir);
}

/* A pipeline with inputs `ins`, processors `procs` (may be NULL) and one
 * record output writing to <dir>/out.lp. */
static twi_pipeline *start_in(const char *ins, const char *procs, twi_mode mode) {
  char *c =
      th_fmt("agent = { omit_hostname = true; };\n"
             "inputs = ( %s );\n"
             "%s%s%s\n"
             "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
             ins, procs ? "processors = ( " : "", procs ? procs : "", procs ? " );" : "", dir);
  twi_pipeline *pl = th_start(c, mode);
  free(c);
  return pl;
}

static twi_pipeline *start(const char *ins, const char *procs) {
  return start_in(ins, procs, TWI_ONCE);
}

static char *read_or_empty(const char *name) {
  char *path = th_fmt("%s/%s", dir, name);
  char *text = th_read_file(path);
  free(path);
  return text ? text : strdup("");
}

static int count(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p++)
    n++;
  return n;
}

static uint64_t errors(const tower_ctx *ctx) {
  return atomic_load(&ctx->stats.errors);
}

/* ---- gather ---- */

START_TEST(gather_failure_unreported_is_one_logged_error) {
  twi_pipeline *pl = start("{ plugin = \"lines\"; lines = [\"m v=1i 5\"]; precision = \"1ns\"; "
                           "fail_silently = true; }",
                           NULL);
  ck_assert_int_eq(th_gather(pl), 1); /* what makes --test / --once exit 1 */
  ck_assert_uint_eq(errors(pl->inputs[0]), 1);
  ck_assert_int_eq(th_gather(pl), 1); /* per gather, not once */
  ck_assert_uint_eq(errors(pl->inputs[0]), 2);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  char *log = read_or_empty("log"), *out = read_or_empty("out.lp");
  ck_assert_msg(count(log, " E! [inputs.lines] gather failed: Connection refused\n") == 2,
                "log:\n%s", log);
  ck_assert_str_eq(out, "m v=1i 5\nm v=1i 5\n"); /* added before the failure: kept */
  free(log);
  free(out);
}
END_TEST

START_TEST(gather_failure_reported_counts_once) {
  twi_pipeline *pl = start("{ plugin = \"lines\"; lines = [\"m v=1i 5\"]; fail = true; }", NULL);
  ck_assert_int_eq(th_gather(pl), 1);
  ck_assert_uint_eq(errors(pl->inputs[0]), 1); /* tower_acc_error + -EIO: one error */
  th_free(pl);
  char *log = read_or_empty("log");
  ck_assert_msg(count(log, " E! [inputs.lines] failing as configured (gather 1)\n") == 1 &&
                    count(log, "gather failed") == 0,
                "log:\n%s", log);
  free(log);
}
END_TEST

START_TEST(internal_gather_shows_the_count) {
  /* inputs.internal gathers after the failing input, in list order */
  twi_pipeline *pl =
      start("{ plugin = \"lines\"; lines = [\"m v=1i 5\"]; fail_silently = true; "
            "alias = \"a\"; },"
            "{ plugin = \"lines\"; lines = [\"m v=1i 5\"]; fail = true; "
            "alias = \"b\"; },"
            "{ plugin = \"internal\"; collect_process = false; "
            "namepass = [\"internal_gather\"]; tagpass = { input = [\"lines\"]; }; }",
            NULL);
  th_gather(pl);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  char *out = read_or_empty("out.lp");
  ck_assert_msg(strstr(out, "internal_gather,alias=a,input=lines errors=1u,") &&
                    strstr(out, "internal_gather,alias=b,input=lines errors=1u,"),
                "output:\n%s", out);
  free(out);
}
END_TEST

/* ---- start ---- */

START_TEST(start_failure_unreported) {
  twi_pipeline *pl = start("{ plugin = \"ticker\"; start_fail = \"quiet\"; }", NULL);
  tower_ctx *in = pl->inputs[0];
  ck_assert_int_eq(twi_input_start(in, pl), -EADDRINUSE);
  ck_assert(!twi_input_running(in));
  ck_assert_uint_eq(errors(in), 1);
  /* stop is not called (the fixture's would join a thread never made) */
  ck_assert(twi_input_stop(in, tower_mono_ns() + 1000000000LL));
  /* --test / --once: the same, and it counts for the exit status */
  ck_assert_int_eq(th_gather(pl), 1);
  ck_assert_uint_eq(errors(in), 2);
  th_free(pl);
  char *log = read_or_empty("log");
  ck_assert_msg(count(log, " E! [inputs.ticker] start failed: Address already in use; the input "
                           "does not run until the next reload\n") == 2,
                "log:\n%s", log);
  free(log);
}
END_TEST

START_TEST(start_failure_reported_counts_once) {
  twi_pipeline *pl = start("{ plugin = \"ticker\"; start_fail = \"report\"; }", NULL);
  tower_ctx *in = pl->inputs[0];
  ck_assert_int_eq(twi_input_start(in, pl), -EADDRINUSE);
  ck_assert(!twi_input_running(in));
  ck_assert_uint_eq(errors(in), 1);
  ck_assert(twi_input_stop(in, tower_mono_ns() + 1000000000LL));
  th_free(pl);
  char *log = read_or_empty("log");
  ck_assert_msg(count(log, " E! [inputs.ticker] cannot listen: address in use (as configured)\n") ==
                        1 &&
                    count(log, " E! [inputs.ticker] start failed; the input does not run until "
                               "the next reload\n") == 1,
                "log:\n%s", log);
  free(log);
}
END_TEST

START_TEST(pipeline_goes_on_without_the_failed_input) {
  /* the daemon's start: the other inputs run; only all failing is fatal */
  twi_pipeline *pl = start_in("{ plugin = \"ticker\"; start_fail = \"quiet\"; },"
                              "{ plugin = \"ticker\"; period = \"1ms\"; }",
                              NULL, TWI_RUN);
  ck_assert_int_eq(twi_pipeline_start(pl), 0);
  ck_assert(!twi_input_running(pl->inputs[0]));
  ck_assert(twi_input_running(pl->inputs[1]));
  ck_assert_uint_eq(twi_pipeline_stop(pl), 0);
  ck_assert_uint_eq(errors(pl->inputs[0]), 1);
  ck_assert_uint_eq(errors(pl->inputs[1]), 0);
  th_free(pl);

  pl = start_in("{ plugin = \"ticker\"; start_fail = \"quiet\"; }", NULL, TWI_RUN);
  ck_assert_int_eq(twi_pipeline_start(pl), -EIO);
  ck_assert_uint_eq(twi_pipeline_stop(pl), 0);
  th_free(pl);
}
END_TEST

/* ---- process ---- */

/* Runs the failing mark processor `block` over two metrics; returns what
 * the output got, with the processor's error count in *n. */
static char *process_with(const char *block, uint64_t *n) {
  twi_pipeline *pl = start("{ plugin = \"lines\"; lines = [\"a v=1i 5\", \"b v=2i 5\"]; "
                           "precision = \"1ns\"; }",
                           block);
  ck_assert_int_eq(th_gather(pl), 0); /* a processor error is not a gather error */
  ck_assert_uint_eq(errors(pl->inputs[0]), 0);
  *n = errors(pl->processors[0]);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  return read_or_empty("out.lp");
}

START_TEST(process_failure_passed_on) {
  uint64_t n;
  char *out = process_with("{ plugin = \"mark\"; fail = \"pass\"; }", &n);
  ck_assert_uint_eq(n, 2); /* one per failed call */
  ck_assert_str_eq(out, "a v=1i 5\nb v=2i 5\n");
  char *log = read_or_empty("log");
  ck_assert_msg(count(log, " E! [processors.mark] process failed: Invalid argument; the metric "
                           "was passed on\n") == 2,
                "log:\n%s", log);
  free(log);
  free(out);
}
END_TEST

START_TEST(process_failure_dropped) {
  uint64_t n;
  char *out = process_with("{ plugin = \"mark\"; fail = \"drop\"; }", &n);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(out, "");
  char *log = read_or_empty("log");
  ck_assert_msg(count(log, " E! [processors.mark] process failed: Invalid argument; the metric "
                           "was dropped\n") == 2,
                "log:\n%s", log);
  free(log);
  free(out);
}
END_TEST

START_TEST(process_failure_reported_counts_once) {
  uint64_t n;
  char *out = process_with("{ plugin = \"mark\"; fail = \"pass\"; report = true; }", &n);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(out, "a v=1i 5\nb v=2i 5\n");
  char *log = read_or_empty("log");
  ck_assert_msg(count(log, " E! [processors.mark] cannot mark a (as configured)\n") == 1 &&
                    count(log, " E! [processors.mark] cannot mark b (as configured)\n") == 1 &&
                    count(log, "process failed") == 0,
                "log:\n%s", log);
  free(log);
  free(out);
}
END_TEST

int main(void) {
  Suite *s = suite_create("callbacks");
  TCase *t = tcase_create("negative returns");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, gather_failure_unreported_is_one_logged_error);
  tcase_add_test(t, gather_failure_reported_counts_once);
  tcase_add_test(t, internal_gather_shows_the_count);
  tcase_add_test(t, start_failure_unreported);
  tcase_add_test(t, start_failure_reported_counts_once);
  tcase_add_test(t, pipeline_goes_on_without_the_failed_input);
  tcase_add_test(t, process_failure_passed_on);
  tcase_add_test(t, process_failure_dropped);
  tcase_add_test(t, process_failure_reported_counts_once);
  suite_add_tcase(s, t);
  return check_run(s);
}
