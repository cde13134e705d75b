/* processors.strings through the real core: every operation on values,
 * keys and the metric name, globs, dest, Telegraf's order of operations,
 * and configuration errors. */
#include "config.h"

#include "check_run.h"
#include "proc_test.h"

#define ST(body) "{ plugin = \"strings\"; " body " }"

START_TEST(case_mapping) {
  pt_expect(PT_LINES("Cpu,Method=GeT,b=X uri=\"/A/b\",n=1i 1"),
            ST("lowercase = ( { tag = \"Method\"; }, { measurement = \"*\"; } );\n"
               "uppercase = ( { field = \"uri\"; } );"),
            "cpu,Method=get,b=X n=1i,uri=\"/A/B\" 1\n");
  pt_expect(PT_LINES("m s=\"hello wORLD_x-y z9a\" 1"), ST("titlecase = { field = \"s\"; };"),
            "m s=\"Hello WORLD_x-Y Z9a\" 1\n");
}
END_TEST

START_TEST(trims) {
  pt_expect(PT_LINES("m a=\"  x y \t\",b=\"xxhixx\",c=\"--z--\" 1"),
            ST("trim = ( { field = \"a\"; }, { field = \"b\"; cutset = \"x\"; } );\n"
               "trim_left = ( { field = \"c\"; cutset = \"-\"; } );"),
            "m a=\"x y\",b=\"hi\",c=\"z--\" 1\n");
  pt_expect(PT_LINES("m a=\"ééaéé\",b=\"--z--\" 1"),
            ST("trim = ( { field = \"a\"; cutset = \"é\"; } );\n"
               "trim_right = ( { field = \"b\"; cutset = \"-\"; } );"),
            "m a=\"a\",b=\"--z\" 1\n");
  pt_expect(PT_LINES("cpu_usage_idle v=1i 1"),
            ST("trim_prefix = ( { measurement = \"*\"; prefix = \"cpu_\"; } );\n"
               "trim_suffix = ( { measurement = \"*\"; suffix = \"_idle\"; } );"),
            "usage v=1i 1\n");
}
END_TEST

START_TEST(replace_and_left) {
  pt_expect(PT_LINES("m,p=a/b/c v=1i 1"),
            ST("replace = ( { tag = \"p\"; old = \"/\"; new = \"_\"; } );"), "m,p=a_b_c v=1i 1\n");
  pt_expect(PT_LINES("m,p=abcdef s=\"héllo\" 1"),
            ST("left = ( { tag = \"p\"; width = 3; }, { field = \"s\"; width = 2; } );"),
            "m,p=abc s=\"h\" 1\n");
}
END_TEST

START_TEST(base64_and_utf8) {
  /* "hello world", "not base64!", bytes that are not UTF-8 (\xff) */
  pt_expect(PT_LINES("m a=\"aGVsbG8gd29ybGQ=\",b=\"not base64!\",c=\"/w==\",d=\"aGk\" 1"),
            ST("base64decode = ( { field = \"*\"; } );"),
            "m a=\"hello world\",b=\"not base64!\",c=\"/w==\",d=\"aGk\" 1\n");
  pt_expect(PT_LINES("m a=\"a\xff\xfe"
                     "b\xc3\" 1"),
            ST("valid_utf8 = ( { field = \"a\"; replacement = \"?\"; } );"), "m a=\"a?b?\" 1\n");
}
END_TEST

START_TEST(keys_and_dest) {
  pt_expect(PT_LINES("m,Host=a,Zone=b Usage=1i,Free=2 1"),
            ST("lowercase = ( { tag_key = \"*\"; }, { field_key = \"U*\"; } );"),
            "m,host=a,zone=b Free=2,usage=1i 1\n");
  /* dest keeps the source */
  pt_expect(PT_LINES("m,method=GET v=\"X\" 1"),
            ST("lowercase = ( { tag = \"method\"; dest = \"method_lower\"; },\n"
               "              { field = \"v\"; dest = \"w\"; } );"),
            "m,method=GET,method_lower=get v=\"X\",w=\"x\" 1\n");
  /* only string fields change; an empty tag result removes the tag */
  pt_expect(PT_LINES("m,t=\\ \\  v=1i,s=\"A\" 1"),
            ST("trim = ( { tag = \"t\"; } );\nlowercase = ( { field = \"*\"; } );"),
            "m s=\"a\",v=1i 1\n");
}
END_TEST

START_TEST(telegraf_order) {
  /* uppercase runs before replace whatever the order written */
  pt_expect(PT_LINES("m,t=ab v=1i 1"),
            ST("replace = ( { tag = \"t\"; old = \"A\"; new = \"x\"; } );\n"
               "uppercase = ( { tag = \"t\"; } );"),
            "m,t=xB v=1i 1\n");
}
END_TEST

START_TEST(config_errors) {
  pt_init_error(ST("lowercase = (\n { dest = \"x\"; } );"), 5, "[processors.strings]",
                "lowercase[0]: says nothing to change");
  pt_init_error(ST("replace = (\n { tag = \"t\"; old = \"\"; } );"), 5, "[processors.strings]",
                "replace[0]: old is empty");
  pt_build_error(ST("left = ( { tag = \"t\"; } );"), "width");
  pt_build_error(ST("lowercase = ( { tag = \"t\"; cutset = \"x\"; } );"), "cutset");
}
END_TEST

int main(void) {
  Suite *s = suite_create("processors.strings");
  TCase *t = tcase_create("strings");
  tcase_add_checked_fixture(t, pt_setup, pt_teardown);
  tcase_add_test(t, case_mapping);
  tcase_add_test(t, trims);
  tcase_add_test(t, replace_and_left);
  tcase_add_test(t, base64_and_utf8);
  tcase_add_test(t, keys_and_dest);
  tcase_add_test(t, telegraf_order);
  tcase_add_test(t, config_errors);
  suite_add_tcase(s, t);
  return check_run(s);
}
