/* processors.override through the real core: line protocol in (lines
 * input), the processor, line protocol out (record output). */
#include "config.h"

#include <check.h>

#include <tower/tower.h>

#include "check_run.h"
#include "pipe_lp.h"

static char *dir;

static void setup(void) {
  dir = th_tmpdir();
}
static void teardown(void) {
  th_rmrf(dir);
  free(dir);
}

static const char *const input[] = {
    "cpu,cpu=cpu0,host=a usage=1.5,n=2i,s=\"x y\",ok=true 1",
    "mem,host=b used=10u 2",
    NULL,
};

START_TEST(no_processor_baseline) {
  /* guards the comparisons below: without the processor the input comes out as it went in */
  pipe_lp_check(dir, input, "",
                "cpu,cpu=cpu0,host=a n=2i,ok=true,s=\"x y\",usage=1.5 1\n"
                "mem,host=b used=10u 2\n");
}
END_TEST

START_TEST(name_override) {
  pipe_lp_check(dir, input, "{ plugin = \"override\"; name_override = \"sys\"; }",
                "sys,cpu=cpu0,host=a n=2i,ok=true,s=\"x y\",usage=1.5 1\n"
                "sys,host=b used=10u 2\n");
}
END_TEST

START_TEST(prefix_and_suffix) {
  pipe_lp_check(dir, input, "{ plugin = \"override\"; name_prefix = \"host_\"; }",
                "host_cpu,cpu=cpu0,host=a n=2i,ok=true,s=\"x y\",usage=1.5 1\n"
                "host_mem,host=b used=10u 2\n");
  pipe_lp_check(dir, input,
                "{ plugin = \"override\"; name_prefix = \"p.\"; name_suffix = \"_total\"; }",
                "p.cpu_total,cpu=cpu0,host=a n=2i,ok=true,s=\"x y\",usage=1.5 1\n"
                "p.mem_total,host=b used=10u 2\n");
}
END_TEST

START_TEST(override_then_prefix_suffix) {
  /* Telegraf: SetName(override), then AddPrefix, then AddSuffix */
  pipe_lp_check(dir, input,
                "{ plugin = \"override\"; name_override = \"x\"; name_prefix = \"a_\";"
                " name_suffix = \"_z\"; }",
                "a_x_z,cpu=cpu0,host=a n=2i,ok=true,s=\"x y\",usage=1.5 1\n"
                "a_x_z,host=b used=10u 2\n");
}
END_TEST

START_TEST(tags_replace_and_add) {
  /* unlike an input's `tags`, override replaces a tag the metric has */
  pipe_lp_check(dir, input, "{ plugin = \"override\"; tags = { host = \"z\"; dc = \"seoul\"; }; }",
                "cpu,cpu=cpu0,dc=seoul,host=z n=2i,ok=true,s=\"x y\",usage=1.5 1\n"
                "mem,dc=seoul,host=z used=10u 2\n");
}
END_TEST

START_TEST(empty_options_change_nothing) {
  unsigned long errors;
  char *log;
  char *out = pipe_lp_run_logged(dir, input,
                                 "{ plugin = \"override\"; name_prefix = \"\"; tags = { "
                                 "dc = \"\"; }; }",
                                 &errors, &log);
  ck_assert_str_eq(out, "cpu,cpu=cpu0,host=a n=2i,ok=true,s=\"x y\",usage=1.5 1\n"
                        "mem,host=b used=10u 2\n");
  ck_assert_uint_eq(errors, 0);
  free(out);
  free(log);
}
END_TEST

START_TEST(selectors_pick_metrics) {
  /* a metric the selectors do not pick bypasses the processor unchanged */
  pipe_lp_check(dir, input,
                "{ plugin = \"override\"; namepass = [\"mem\"]; name_override = \"memory\"; "
                "tags = { unit = \"bytes\"; }; }",
                "cpu,cpu=cpu0,host=a n=2i,ok=true,s=\"x y\",usage=1.5 1\n"
                "memory,host=b,unit=bytes used=10u 2\n");
}
END_TEST

START_TEST(two_in_a_row) {
  pipe_lp_check(dir, input,
                "{ plugin = \"override\"; name_suffix = \"_1\"; },\n"
                "{ plugin = \"override\"; name_suffix = \"_2\"; tags = { host = \"h\"; }; }",
                "cpu_1_2,cpu=cpu0,host=h n=2i,ok=true,s=\"x y\",usage=1.5 1\n"
                "mem_1_2,host=h used=10u 2\n");
}
END_TEST

START_TEST(bad_options) {
  pipe_lp_build_error(dir, "{ plugin = \"override\";\n name_overide = \"x\"; }", 5,
                      "did you mean \"name_override\"");
  pipe_lp_build_error(dir, "{ plugin = \"override\";\n tags = { a = 1; }; }", 5, "tags");
}
END_TEST

int main(void) {
  Suite *s = suite_create("processors.override");
  TCase *t = tcase_create("override");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, no_processor_baseline);
  tcase_add_test(t, name_override);
  tcase_add_test(t, prefix_and_suffix);
  tcase_add_test(t, override_then_prefix_suffix);
  tcase_add_test(t, tags_replace_and_add);
  tcase_add_test(t, empty_options_change_nothing);
  tcase_add_test(t, selectors_pick_metrics);
  tcase_add_test(t, two_in_a_row);
  tcase_add_test(t, bad_options);
  suite_add_tcase(s, t);
  return check_run(s);
}
