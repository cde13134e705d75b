/* processors.converter through the real core: line protocol in (lines
 * input), the processor, line protocol out (record output). The expected
 * values are Telegraf's (Go's strconv and time.Parse) for the same input. */
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

#define CONVERTER(body) "{ plugin = \"converter\"; " body " }"

START_TEST(tags_to_fields_and_name) {
  static const char *const in[] = {
      "m,port=80,ratio=0.25,flag=true,big=99999999999999999999,neg=-3,name=cpu,sval=hi a=1i 1",
      NULL};
  pipe_lp_check(dir, in,
                CONVERTER("tag_conversions = { measurement = [\"name\"]; integer = [\"port\", "
                          "\"big\"]; unsigned = [\"neg\"]; boolean = [\"flag\"]; float = "
                          "[\"ratio\"]; string = [\"s*\"]; };"),
                "cpu a=1i,big=9223372036854775807i,flag=true,neg=0u,port=80i,ratio=0.25,"
                "sval=\"hi\" 1\n");
}
END_TEST

START_TEST(fields_to_integer) {
  /* floats round half away from zero and saturate; strings as ParseInt base 0, else floats */
  static const char *const in[] = {"f i1=2.5,i2=-2.5,i3=1e30,i4=\"0x1F\",i5=\"1.5\",i6=\"017\","
                                   "i7=\"1_000\",i8=true,i9=18446744073709551615u,ia=-1e30 2",
                                   NULL};
  pipe_lp_check(dir, in, CONVERTER("fields = { integer = [\"i*\"]; };"),
                "f i1=3i,i2=-3i,i3=9223372036854775807i,i4=31i,i5=2i,i6=15i,i7=1000i,i8=1i,"
                "i9=9223372036854775807i,ia=-9223372036854775808i 2\n");
}
END_TEST

START_TEST(fields_to_unsigned_boolean_float) {
  static const char *const in[] = {
      "g u1=-5i,u2=\"-3\",u3=2.5,u4=\"0b101\",b1=\"t\",b2=0i,b3=2.5,b4=\"False\",f1=\"0x10\","
      "f2=3i,f3=\"1e3\",f4=false 3",
      NULL};
  pipe_lp_check(dir, in,
                CONVERTER("fields = { unsigned = [\"u*\"]; boolean = [\"b*\"]; float = "
                          "[\"f*\"]; };"),
                "g b1=true,b2=false,b3=true,b4=false,f1=16,f2=3,f3=1000,f4=0,u1=0u,u2=0u,u3=3u,"
                "u4=5u 3\n");
}
END_TEST

START_TEST(fields_to_string) {
  /* floats as Go's FormatFloat(v, 'f', -1, 64): shortest, never an exponent */
  static const char *const in[] = {"h s1=1e21,s2=0.1,s3=1e-7,s4=42i,s5=true,s6=7u,s7=-0.5 4", NULL};
  pipe_lp_check(dir, in, CONVERTER("fields = { string = [\"s*\"]; };"),
                "h s1=\"1000000000000000000000\",s2=\"0.1\",s3=\"0.0000001\",s4=\"42\","
                "s5=\"true\",s6=\"7\",s7=\"-0.5\" 4\n");
}
END_TEST

START_TEST(fields_to_tags_and_name) {
  static const char *const in[] = {"k host=\"web1\",zone=3i,kind=\"disk\",v=1 5", NULL};
  pipe_lp_check(dir, in,
                CONVERTER("fields = { tag = [\"host\", \"zone\"]; measurement = [\"kind\"]; };"),
                "disk,host=web1,zone=3 v=1 5\n");
}
END_TEST

START_TEST(base64_ieee_float32) {
  /* 0x44a78000 is 1340.0f; 0xc0490fdb is -3.14159274f (float32 pi, negated) */
  static const char *const in[] = {"p a=\"RKeAAA==\",b=\"wEkP2w==\",c=\"RKeA\",d=5i 1", NULL};
  unsigned long errors;
  char *log;
  char *out = pipe_lp_run_logged(dir, in, CONVERTER("fields = { base64_ieee_float32 = [\"*\"]; };"),
                                 &errors, &log);
  ck_assert_str_eq(out, "p a=1340,b=-3.1415927410125732 1\n");
  ck_assert_uint_eq(errors, 2); /* c: three bytes; d: not a string */
  free(out);
  free(log);
}
END_TEST

START_TEST(first_target_wins) {
  /* fields: float is tested before integer; tags: measurement before string */
  static const char *const in[] = {"o,t=x v=\"2\" 6", NULL};
  pipe_lp_check(dir, in,
                CONVERTER("fields = { integer = [\"v\"]; float = [\"*\"]; };\n"
                          "tag_conversions = { string = [\"t\"]; measurement = [\"t\"]; };"),
                "x v=2 6\n");
  /* a tag made a field is converted again as a field */
  pipe_lp_check(dir, in,
                CONVERTER("tag_conversions = { string = [\"t\"]; }; fields = { tag = [\"v\"]; };"),
                "o,v=2 t=\"x\" 6\n");
}
END_TEST

START_TEST(unconvertible_values_are_dropped_and_counted) {
  static const char *const in[] = {"bad,p=abc,q=1 x=\"abc\",y=\"1\",t=\"\",z=\"1e400\" 6", NULL};
  unsigned long errors;
  char *log;
  char *out =
      pipe_lp_run_logged(dir, in,
                         CONVERTER("tag_conversions = { integer = [\"p\", \"q\"]; };\n"
                                   "fields = { integer = [\"x\", \"y\"]; tag = [\"t\"]; float = "
                                   "[\"z\"]; };"),
                         &errors, &log);
  ck_assert_str_eq(out, "bad q=1i,y=1i 6\n");
  ck_assert_uint_eq(errors, 4);
  ck_assert_msg(strstr(log, "[processors.converter] metric \"bad\": cannot convert field \"x\" "
                            "(\"abc\") to integer; the field was dropped"),
                "%s", log);
  ck_assert_msg(strstr(log, "cannot convert tag \"p\" (\"abc\") to integer; the tag was dropped"),
                "%s", log);
  ck_assert_msg(strstr(log, "cannot convert field \"t\" (\"\") to tag"), "%s", log);
  free(out);
  free(log);
}
END_TEST

START_TEST(huge_numbers) {
  /* beyond int64 saturates; beyond a double does not convert (Go's ParseFloat), except in hex */
  char *digits = malloc(402);
  ck_assert_ptr_nonnull(digits);
  memset(digits, '9', 400);
  digits[400] = 0;
  char *line = th_fmt("n a=\"%s\",b=\"0x%s\",c=\"-%s\",d=1i 1", digits, digits, digits);
  const char *in[] = {line, NULL};
  unsigned long errors;
  char *log;
  char *out = pipe_lp_run_logged(dir, in,
                                 CONVERTER("fields = { integer = [\"a\", \"b\"]; "
                                           "unsigned = [\"c\"]; };"),
                                 &errors, &log);
  ck_assert_str_eq(out, "n b=9223372036854775807i,d=1i 1\n");
  ck_assert_uint_eq(errors, 2);
  ck_assert_msg(strstr(log, "(\"9999999999999999999999999999999999999999999999999999999999999999..."
                            "\") to integer"),
                "%s", log);
  free(out);
  free(log);
  free(line);
  free(digits);
}
END_TEST

START_TEST(timestamps_unix) {
  static const char *const tag[] = {"t,ts=1700000000 v=1 1", NULL};
  pipe_lp_check(dir, tag,
                CONVERTER("tag_conversions = { timestamp = [\"ts\"]; timestamp_format = "
                          "\"unix\"; };"),
                "t v=1 1700000000000000000\n");
  static const char *const ms[] = {"t ts=1700000000123i,v=1 1", NULL};
  pipe_lp_check(dir, ms,
                CONVERTER("fields = { timestamp = [\"ts\"]; timestamp_format = \"unix_ms\"; };"),
                "t v=1 1700000000123000000\n");
  static const char *const frac[] = {"t ts=1700000000.5,v=1 1", NULL};
  pipe_lp_check(dir, frac,
                CONVERTER("fields = { timestamp = [\"ts\"]; timestamp_format = \"unix\"; };"),
                "t v=1 1700000000500000000\n");
  static const char *const us[] = {"t ts=\"1700000000000001\",v=1 1", NULL};
  pipe_lp_check(dir, us,
                CONVERTER("fields = { timestamp = [\"ts\"]; timestamp_format = \"unix_us\"; };"),
                "t v=1 1700000000000001000\n");
}
END_TEST

START_TEST(timestamps_go_layouts) {
  /* 1700000000 is 2023-11-14T22:13:20Z */
  static const struct {
    const char *value, *format;
  } cases[] = {
      {"2023-11-14 22:13:20", "2006-01-02 15:04:05"},
      {"2023-11-15T07:13:20.25+09:00", "RFC3339"},
      {"Nov 14 2023 10:13:20PM", "Jan _2 2006 03:04:05PM"},
      {"Tue, 14 Nov 2023 22:13:20 GMT", "RFC1123"},
      {"14/11/23 22:13:20.250 -0100", "02/01/06 15:04:05.000 -0700"},
      {"2023-318 22:13:20", "2006-002 15:04:05"},
  };
  static const char *const want[] = {"t v=1 1700000000000000000\n", "t v=1 1700000000250000000\n",
                                     "t v=1 1700000000000000000\n", "t v=1 1700000000000000000\n",
                                     "t v=1 1700003600250000000\n", "t v=1 1700000000000000000\n"};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *line = th_fmt("t ts=\"%s\",v=1 1", cases[i].value);
    const char *in[] = {line, NULL};
    char *proc = th_fmt(CONVERTER("fields = { timestamp = [\"ts\"]; timestamp_format = \"%s\"; };"),
                        cases[i].format);
    pipe_lp_check(dir, in, proc, want[i]);
    free(proc);
    free(line);
  }
}
END_TEST

START_TEST(timestamp_that_does_not_parse) {
  static const char *const in[] = {"t ts=\"2023-02-30 00:00:00\",v=1 1", "t ts=\"yesterday\",v=2 2",
                                   NULL};
  unsigned long errors;
  char *log;
  char *out = pipe_lp_run_logged(dir, in,
                                 CONVERTER("fields = { timestamp = [\"ts\"]; timestamp_format = "
                                           "\"2006-01-02 15:04:05\"; };"),
                                 &errors, &log);
  ck_assert_str_eq(out, "t v=1 1\nt v=2 2\n");
  ck_assert_uint_eq(errors, 2);
  ck_assert_msg(strstr(log, "cannot convert field \"ts\" (\"yesterday\") to timestamp"), "%s", log);
  free(out);
  free(log);
}
END_TEST

START_TEST(config_errors) {
  pipe_lp_init_error(dir, "{ plugin = \"converter\"; }", 0, "processors.converter",
                     "nothing to convert");
  pipe_lp_init_error(dir, "{ plugin = \"converter\"; fields = {\n timestamp = [\"t\"]; }; }", 5,
                     "processors.converter", "timestamp needs timestamp_format");
  pipe_lp_init_error(dir,
                     "{ plugin = \"converter\"; fields = { timestamp = [\"t\"];\n"
                     " timestamp_format = \"yyyy-mm-dd\"; }; }",
                     5, "processors.converter", "timestamp_format \"yyyy-mm-dd\" is neither unix");
  pipe_lp_build_error(dir, "{ plugin = \"converter\"; fields = {\n integr = [\"a\"]; }; }", 5,
                      "did you mean \"integer\"");
  /* Telegraf's `tags` table is the common option here: tag_conversions it is */
  pipe_lp_build_error(dir, "{ plugin = \"converter\";\n tags = { string = [\"a\"]; }; }", 5,
                      "tags");
}
END_TEST

int main(void) {
  Suite *s = suite_create("processors.converter");
  TCase *t = tcase_create("converter");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, tags_to_fields_and_name);
  tcase_add_test(t, fields_to_integer);
  tcase_add_test(t, fields_to_unsigned_boolean_float);
  tcase_add_test(t, fields_to_string);
  tcase_add_test(t, fields_to_tags_and_name);
  tcase_add_test(t, base64_ieee_float32);
  tcase_add_test(t, first_target_wins);
  tcase_add_test(t, unconvertible_values_are_dropped_and_counted);
  tcase_add_test(t, huge_numbers);
  tcase_add_test(t, timestamps_unix);
  tcase_add_test(t, timestamps_go_layouts);
  tcase_add_test(t, timestamp_that_does_not_parse);
  tcase_add_test(t, config_errors);
  suite_add_tcase(s, t);
  return check_run(s);
}
