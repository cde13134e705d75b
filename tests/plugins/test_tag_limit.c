/* processors.tag_limit through the real core: tags are removed from the
 * end of the sorted key list, `keep` tags survive and count towards the
 * limit, metrics under the limit pass untouched, and a `keep` longer than
 * the limit is a configuration error with file:line. */
#include "config.h"

#include "check_run.h"
#include "proc_test.h"

START_TEST(under_the_limit_untouched) {
  pt_expect(PT_LINES("m,a=1,b=2,c=3 v=1i 1", "n v=2i 2"), "{ plugin = \"tag_limit\"; limit = 3; }",
            "m,a=1,b=2,c=3 v=1i 1\nn v=2i 2\n");
}
END_TEST

START_TEST(removes_from_the_end) {
  pt_expect(PT_LINES("m,e=5,d=4,c=3,b=2,a=1 v=1i 1"), "{ plugin = \"tag_limit\"; limit = 3; }",
            "m,a=1,b=2,c=3 v=1i 1\n");
  pt_expect(PT_LINES("m,b=2,a=1 v=1i 1"), "{ plugin = \"tag_limit\"; limit = 0; }", "m v=1i 1\n");
}
END_TEST

START_TEST(keep_survives) {
  /* Telegraf's README: keep host and region, at most 3 tags */
  pt_expect(PT_LINES("throughput,host=a,region=r,month=Jun,year=2019,zone=z v=1i 1"),
            "{ plugin = \"tag_limit\"; limit = 3; keep = [\"host\", \"region\"]; }",
            "throughput,host=a,month=Jun,region=r v=1i 1\n");
  /* the kept ones sort last: the others go first */
  pt_expect(PT_LINES("m,x=1,y=2,a=0,b=0 v=1i 1"),
            "{ plugin = \"tag_limit\"; limit = 2; keep = [\"x\", \"y\"]; }", "m,x=1,y=2 v=1i 1\n");
  /* keep names a tag the metric lacks: the limit still holds */
  pt_expect(PT_LINES("m,c=3,b=2,a=1 v=1i 1"),
            "{ plugin = \"tag_limit\"; limit = 2; keep = [\"host\"]; }", "m,a=1,b=2 v=1i 1\n");
}
END_TEST

START_TEST(config_errors) {
  pt_init_error("{ plugin = \"tag_limit\"; limit = 1;\n keep = [\"a\", \"b\"]; }", 5,
                "[processors.tag_limit]",
                "keep lists 2 tags but limit is 1: raise limit to at least 2");
  pt_build_error("{ plugin = \"tag_limit\"; keep = [\"a\"]; }", "limit");
  pt_build_error("{ plugin = \"tag_limit\"; limit = -1; }", "limit");
}
END_TEST

int main(void) {
  Suite *s = suite_create("processors.tag_limit");
  TCase *t = tcase_create("tag_limit");
  tcase_add_checked_fixture(t, pt_setup, pt_teardown);
  tcase_add_test(t, under_the_limit_untouched);
  tcase_add_test(t, removes_from_the_end);
  tcase_add_test(t, keep_survives);
  tcase_add_test(t, config_errors);
  suite_add_tcase(s, t);
  return check_run(s);
}
