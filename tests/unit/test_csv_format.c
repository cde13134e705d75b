/* The CSV serializer and the CSV cell helpers (core/format/format_csv.c). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tower/format.h>

#include "conf.h"
#include "config_view.h"
#include "format_csv.h"
#include "format_internal.h"
#include "check_run.h"

/* cpu,host=server01,cpu=cpu0 usage_idle=98.2,usage_user=1.3 at
 * 2023-11-14T22:13:20.123456789Z */
static tower_metric *cpu_metric(void) {
  tower_metric *m = tower_metric_new("cpu", 1700000000123456789);
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(tower_metric_add_tag(m, "host", "server01"), 0);
  ck_assert_int_eq(tower_metric_add_tag(m, "cpu", "cpu0"), 0);
  ck_assert_int_eq(tower_metric_add_float(m, "usage_user", 1.3), 0);
  ck_assert_int_eq(tower_metric_add_float(m, "usage_idle", 98.2), 0);
  return m;
}

static tower_serializer *new_csv(const twi_csv_options *o) {
  tower_serializer *s = NULL;
  ck_assert_int_eq(twi_csv_serializer_new(NULL, o, &s), 0);
  ck_assert_ptr_nonnull(s);
  return s;
}

/* Serializes m with s into a fresh buffer and compares. */
static void expect_rows(tower_serializer *s, const tower_metric *m, const char *want) {
  tower_buf *b = tower_buf_new(0);
  ck_assert_int_eq(tower_serialize(s, m, b), 0);
  ck_assert_str_eq(tower_buf_data(b), want);
  tower_buf_free(b);
}

START_TEST(test_defaults) {
  tower_serializer *s = NULL;
  ck_assert_int_eq(tower_serializer_new_format(NULL, "csv", &s), 0);
  tower_metric *m = cpu_metric();
  expect_rows(s, m, "1700000000,cpu,cpu0,server01,98.2,1.3\n");
  expect_rows(s, m, "1700000000,cpu,cpu0,server01,98.2,1.3\n");
  tower_metric_free(m);
  tower_serializer_free(s);
}
END_TEST

/* The header comes once, before the first row, from the first metric. */
START_TEST(test_header_once) {
  twi_csv_options o = {.header = true};
  tower_serializer *s = new_csv(&o);
  tower_metric *m = cpu_metric();
  expect_rows(s, m,
              "timestamp,measurement,cpu,host,usage_idle,usage_user\n"
              "1700000000,cpu,cpu0,server01,98.2,1.3\n");
  tower_metric *other = tower_metric_new("mem", 0);
  tower_metric_add_int(other, "free", 5);
  expect_rows(s, other, "0,mem,5\n");
  tower_metric_free(other);
  tower_metric_free(m);
  tower_serializer_free(s);
}
END_TEST

START_TEST(test_header_prefix) {
  twi_csv_options o = {.header = true, .column_prefix = true, .separator = ";"};
  tower_serializer *s = new_csv(&o);
  tower_metric *m = cpu_metric();
  expect_rows(s, m,
              "timestamp;measurement;tag_cpu;tag_host;field_usage_idle;field_usage_user\n"
              "1700000000;cpu;cpu0;server01;98.2;1.3\n");
  tower_metric_free(m);
  tower_serializer_free(s);
}
END_TEST

/* Header names are quoted like any cell, the prefix inside the quotes. */
START_TEST(test_header_quoting) {
  twi_csv_options o = {.header = true, .column_prefix = true};
  tower_serializer *s = new_csv(&o);
  tower_metric *m = tower_metric_new("m", 0);
  tower_metric_add_tag(m, "a,b", "x");
  tower_metric_add_int(m, "say \"hi\"", 1);
  tower_metric_add_int(m, "z ", 2);
  expect_rows(s, m,
              "timestamp,measurement,\"tag_a,b\",\"field_say \"\"hi\"\"\",\"field_z \"\n"
              "0,m,x,1,2\n");
  tower_metric_free(m);
  tower_serializer_free(s);
}
END_TEST

static const struct {
  const char *format;
  const char *row;
} time_cases[] = {
    {"unix", "1700000000,cpu,cpu0,server01,98.2,1.3\n"},
    {"unix_ms", "1700000000123,cpu,cpu0,server01,98.2,1.3\n"},
    {"unix_us", "1700000000123456,cpu,cpu0,server01,98.2,1.3\n"},
    {"unix_ns", "1700000000123456789,cpu,cpu0,server01,98.2,1.3\n"},
    {"rfc3339", "2023-11-14T22:13:20Z,cpu,cpu0,server01,98.2,1.3\n"},
    {"rfc3339nano", "2023-11-14T22:13:20.123456789Z,cpu,cpu0,server01,98.2,1.3\n"},
};

START_TEST(test_timestamp_formats) {
  twi_csv_options o = {.timestamp_format = time_cases[_i].format};
  tower_serializer *s = new_csv(&o);
  tower_metric *m = cpu_metric();
  expect_rows(s, m, time_cases[_i].row);
  tower_metric_free(m);
  tower_serializer_free(s);
}
END_TEST

/* A metric that never got a time (TOWER_TIME_UNSET, INT64_MIN) still
 * formats without overflow (found by fuzzing). */
START_TEST(test_unset_time) {
  twi_csv_options o = {.timestamp_format = "rfc3339nano"};
  tower_serializer *s = new_csv(&o);
  tower_metric *m = tower_metric_new("m", TOWER_TIME_UNSET);
  tower_metric_add_bool(m, "a", true);
  expect_rows(s, m, "1677-09-21T00:12:43.145224192Z,m,true\n");
  tower_metric_free(m);
  tower_serializer_free(s);
}
END_TEST

START_TEST(test_field_types) {
  tower_serializer *s = new_csv(NULL);
  tower_metric *m = tower_metric_new("t", -1);
  tower_metric_add_float(m, "a_nan", NAN);
  tower_metric_add_float(m, "b_inf", -INFINITY);
  tower_metric_add_float(m, "c_neg0", -0.0);
  tower_metric_add_float(m, "d_big", 1e21);
  tower_metric_add_int(m, "e_int", INT64_MIN);
  tower_metric_add_uint(m, "f_uint", UINT64_MAX);
  tower_metric_add_bool(m, "g_true", true);
  tower_metric_add_bool(m, "h_false", false);
  tower_metric_add_string(m, "i_str", "plain");
  tower_metric_add_string(m, "j_empty", "");
  expect_rows(s, m,
              "-1,t,NaN,-Inf,-0,1e+21,-9223372036854775808,18446744073709551615,true,false,"
              "plain,\n");
  tower_metric_free(m);
  tower_serializer_free(s);
}
END_TEST

/* Quoting of tag values, names and strings (RFC 4180). */
START_TEST(test_row_quoting) {
  tower_serializer *s = new_csv(NULL);
  tower_metric *m = tower_metric_new("my,meas", 0);
  tower_metric_add_tag(m, "t1", " lead");
  tower_metric_add_tag(m, "t2", "trail ");
  tower_metric_add_tag(m, "t3", "in side");
  tower_metric_add_string(m, "s1", "say \"hi\"");
  tower_metric_add_string(m, "s2", "two\nlines");
  tower_metric_add_string(m, "s3", "cr\r");
  expect_rows(s, m,
              "0,\"my,meas\",\" lead\",\"trail \",in side,\"say \"\"hi\"\"\",\"two\nlines\","
              "\"cr\r\"\n");
  tower_metric_free(m);
  tower_serializer_free(s);
}
END_TEST

/* A separator that occurs in numbers or times quotes those cells. */
START_TEST(test_odd_separators) {
  twi_csv_options o = {.separator = ".", .timestamp_format = "rfc3339"};
  tower_serializer *s = new_csv(&o);
  tower_metric *m = cpu_metric();
  expect_rows(s, m, "2023-11-14T22:13:20Z.cpu.cpu0.server01.\"98.2\".\"1.3\"\n");
  tower_serializer_free(s);
  o.separator = "-";
  s = new_csv(&o);
  expect_rows(s, m, "\"2023-11-14T22:13:20Z\"-cpu-cpu0-server01-98.2-1.3\n");
  tower_serializer_free(s);
  o = (twi_csv_options){.separator = "\t"};
  s = new_csv(&o);
  expect_rows(s, m, "1700000000\tcpu\tcpu0\tserver01\t98.2\t1.3\n");
  tower_serializer_free(s);
  o.separator = ""; /* empty: the default, as in Telegraf */
  s = new_csv(&o);
  expect_rows(s, m, "1700000000,cpu,cpu0,server01,98.2,1.3\n");
  tower_serializer_free(s);
  tower_metric_free(m);
}
END_TEST

static const twi_csv_options bad_options[] = {
    {.separator = "ab"},          {.separator = "\""},       {.separator = "\n"},
    {.separator = "\r"},          {.separator = "\xc3\xa9"}, {.timestamp_format = "iso8601"},
    {.timestamp_format = "UNIX"},
};

START_TEST(test_bad_options) {
  tower_serializer *s = (tower_serializer *)&s;
  ck_assert_int_eq(twi_csv_serializer_new(NULL, &bad_options[_i], &s), -EINVAL);
  ck_assert_ptr_eq(s, (tower_serializer *)&s); /* untouched */
}
END_TEST

static const struct {
  const char *in;
  char sep;
  const char *out;
} cell_cases[] = {
    {"", ',', ""},
    {"plain", ',', "plain"},
    {"a,b", ',', "\"a,b\""},
    {"a,b", ';', "a,b"},
    {"a;b", ';', "\"a;b\""},
    {"q\"q", ',', "\"q\"\"q\""},
    {"\"", ',', "\"\"\"\""},
    {"l\nf", ',', "\"l\nf\""},
    {"c\rr", ',', "\"c\rr\""},
    {" x", ',', "\" x\""},
    {"x ", ',', "\"x \""},
    {" ", ',', "\" \""},
    {"in side", ',', "in side"},
    {"tab\t", '\t', "\"tab\t\""},
    {"\xea\xb0\x92", ',', "\xea\xb0\x92"},
};

START_TEST(test_cell) {
  tower_buf *b = tower_buf_new(0);
  tower_buf_append_str(b, "<");
  const char *in = cell_cases[_i].in;
  ck_assert_int_eq(tower_csv_cell(b, in, strlen(in), cell_cases[_i].sep), 0);
  ck_assert_str_eq(tower_buf_data(b) + 1, cell_cases[_i].out);
  tower_buf_free(b);
}
END_TEST

/* Only len bytes of the cell are read. */
START_TEST(test_cell_length) {
  tower_buf *b = tower_buf_new(0);
  ck_assert_int_eq(tower_csv_cell(b, "ab,cd", 2, ','), 0);
  ck_assert_str_eq(tower_buf_data(b), "ab");
  tower_buf_free(b);
}
END_TEST

START_TEST(test_field_cell) {
  tower_metric *m = tower_metric_new("m", 0);
  tower_metric_add_float(m, "a", 0.1);
  tower_metric_add_string(m, "b", "x,y");
  tower_metric_add_int(m, "c", -5);
  tower_buf *b = tower_buf_new(0);
  ck_assert_int_eq(tower_csv_field_cell(b, m, 0, ','), 0);
  ck_assert_int_eq(tower_csv_field_cell(b, m, 1, ','), 0);
  ck_assert_int_eq(tower_csv_field_cell(b, m, 2, '-'), 0);
  ck_assert_str_eq(tower_buf_data(b), "0.1\"x,y\"\"-5\"");
  ck_assert_int_eq(tower_csv_field_cell(b, m, 3, ','), -EINVAL);
  ck_assert_uint_eq(tower_buf_len(b), 12);
  tower_buf_free(b);
  tower_metric_free(m);
}
END_TEST

/* Rows are appended; nothing else in the buffer is touched. */
START_TEST(test_appends) {
  tower_serializer *s = new_csv(NULL);
  tower_metric *m = tower_metric_new("m", 0);
  tower_metric_add_bool(m, "ok", true);
  tower_buf *b = tower_buf_new(0);
  tower_buf_append_str(b, "before\n");
  ck_assert_int_eq(tower_serialize(s, m, b), 0);
  ck_assert_int_eq(tower_serialize(s, m, b), 0);
  ck_assert_str_eq(tower_buf_data(b), "before\n0,m,true\n0,m,true\n");
  tower_buf_free(b);
  tower_metric_free(m);
  tower_serializer_free(s);
}
END_TEST

/* ---- options through a real config block ------------------------------ */

/* A validated view of the group `name` of `text`, checked against the
 * options every parsing (or serializing) plugin gets. NULL when validation
 * fails; *diag then holds the messages. */
static tower_config *config_from(const char *text, bool parser, twi_conf **conf, twi_diag *diag) {
  char err[256];
  *conf = twi_conf_load_string(text, "test.conf", NULL, err, sizeof err);
  ck_assert_msg(*conf != NULL, "%s", err);
  config_setting_t *block = config_setting_get_member(twi_conf_root(*conf), "block");
  ck_assert_ptr_nonnull(block);
  const tower_option *tables[] = {
      parser ? twi_parser_common_options() : twi_serializer_common_options(), NULL};
  return twi_config_new(block, tables, "outputs.test", NULL, diag);
}

START_TEST(test_config_options) {
  twi_conf *conf;
  twi_diag d = {0};
  tower_config *cfg = config_from("block = { data_format = \"csv\"; csv_header = true; "
                                  "csv_column_prefix = true; csv_separator = \";\"; "
                                  "csv_timestamp_format = \"rfc3339nano\"; };",
                                  false, &conf, &d);
  ck_assert_msg(cfg != NULL, "%s", d.text);
  tower_serializer *s = NULL;
  ck_assert_int_eq(tower_serializer_new(NULL, cfg, &s), 0);
  tower_metric *m = cpu_metric();
  expect_rows(s, m,
              "timestamp;measurement;tag_cpu;tag_host;field_usage_idle;field_usage_user\n"
              "2023-11-14T22:13:20.123456789Z;cpu;cpu0;server01;98.2;1.3\n");
  tower_serializer_free(s);
  twi_config_free(cfg);
  twi_conf_unref(conf);

  /* defaults */
  cfg = config_from("block = { data_format = \"csv\"; };", false, &conf, &d);
  ck_assert_msg(cfg != NULL, "%s", d.text);
  ck_assert_int_eq(tower_serializer_new(NULL, cfg, &s), 0);
  expect_rows(s, m, "1700000000,cpu,cpu0,server01,98.2,1.3\n");
  tower_serializer_free(s);
  twi_config_free(cfg);
  twi_conf_unref(conf);
  tower_metric_free(m);
}
END_TEST

START_TEST(test_config_errors) {
  twi_conf *conf;
  twi_diag d = {0};
  tower_config *cfg =
      config_from("block = { data_format = \"csv\"; csv_separator = \"ab\"; };", false, &conf, &d);
  ck_assert_msg(cfg != NULL, "%s", d.text);
  tower_serializer *s = NULL;
  ck_assert_int_eq(tower_serializer_new(NULL, cfg, &s), -EINVAL);
  ck_assert_ptr_null(s);
  twi_config_free(cfg);
  twi_conf_unref(conf);

  cfg = config_from("block = { data_format = \"csv\"; csv_timestamp_format = \"iso\"; };", false,
                    &conf, &d);
  ck_assert_ptr_null(cfg);
  ck_assert_ptr_nonnull(strstr(d.text, "csv_timestamp_format"));
  twi_diag_free(&d);
  twi_conf_unref(conf);
}
END_TEST

static Suite *csv_suite(void) {
  Suite *s = suite_create("csv_format");
  TCase *tc = tcase_create("serializer");
  tcase_add_test(tc, test_defaults);
  tcase_add_test(tc, test_header_once);
  tcase_add_test(tc, test_header_prefix);
  tcase_add_test(tc, test_header_quoting);
  tcase_add_loop_test(tc, test_timestamp_formats, 0, sizeof time_cases / sizeof time_cases[0]);
  tcase_add_test(tc, test_unset_time);
  tcase_add_test(tc, test_field_types);
  tcase_add_test(tc, test_row_quoting);
  tcase_add_test(tc, test_odd_separators);
  tcase_add_loop_test(tc, test_bad_options, 0, sizeof bad_options / sizeof bad_options[0]);
  tcase_add_test(tc, test_appends);
  suite_add_tcase(s, tc);
  tc = tcase_create("cells");
  tcase_add_loop_test(tc, test_cell, 0, sizeof cell_cases / sizeof cell_cases[0]);
  tcase_add_test(tc, test_cell_length);
  tcase_add_test(tc, test_field_cell);
  suite_add_tcase(s, tc);
  tc = tcase_create("config");
  tcase_add_test(tc, test_config_options);
  tcase_add_test(tc, test_config_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return check_run(csv_suite());
}
