/* The "json" data format: parser (core/format/format_json_parse.c, _lex.c),
 * serializer (format_json_write.c), Go time layouts (format_json_time.c)
 * and time zones (format_json_zone.c). Options go through real config
 * blocks validated against the options every parsing/serializing plugin
 * gets. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tower/format.h>

#include "conf.h"
#include "config_view.h"
#include "format_json.h"
#include "format_internal.h"
#include "check_run.h"

/* ---- helpers ---------------------------------------------------------- */

/* A validated view of `block = { data_format = "json"; <opts> };` against
 * the parser (or serializer) options. NULL when validation fails; *d then
 * holds the messages. */
static tower_config *config_of(const char *opts, bool parser, twi_conf **conf, twi_diag *d) {
  char text[2048], err[256];
  snprintf(text, sizeof text, "block = { data_format = \"json\"; %s };", opts);
  *conf = twi_conf_load_string(text, "test.conf", NULL, err, sizeof err);
  ck_assert_msg(*conf != NULL, "%s: %s", text, err);
  config_setting_t *block = config_setting_get_member(twi_conf_root(*conf), "block");
  const tower_option *tables[] = {
      parser ? twi_parser_common_options() : twi_serializer_common_options(), NULL};
  memset(d, 0, sizeof *d);
  return twi_config_new(block, tables, "inputs.test", NULL, d);
}

/* The parser configured with `opts`, or NULL when init refuses them. */
static tower_parser *parser_of(const char *opts, const char *default_name) {
  twi_conf *conf;
  twi_diag d;
  tower_config *cfg = config_of(opts, true, &conf, &d);
  ck_assert_msg(cfg != NULL, "%s: %s", opts, d.text ? d.text : "");
  tower_parser *p = NULL;
  int rc = tower_parser_new(NULL, cfg, &p);
  twi_config_free(cfg);
  twi_conf_unref(conf);
  twi_diag_free(&d);
  if (rc < 0)
    return NULL;
  if (default_name)
    ck_assert_int_eq(tower_parser_set_default_name(p, default_name), 0);
  return p;
}

/* Metrics as line protocol, uints with 'u', the time only when set. */
typedef struct out {
  tower_buf *lp;
  int n;
} out;

static int to_lp(void *ctx, tower_metric *m) {
  out *o = ctx;
  unsigned flags =
      TOWER_LP_UINT | (tower_metric_time(m) == TOWER_TIME_UNSET ? TOWER_LP_NO_TIME : 0);
  ck_assert_int_eq(tower_lp_write(m, o->lp, flags, 1), 0);
  o->n++;
  tower_metric_free(m);
  return 0;
}

typedef struct result {
  char lp[4096];
  uint64_t errors;
  char error[256];
} result;

static void parse_with(tower_parser *p, const char *in, size_t len, result *r) {
  out o = {tower_buf_new(0), 0};
  int n = tower_parser_parse(p, in, len, to_lp, &o);
  ck_assert_msg(n >= 0, "parse failed: %d", n);
  ck_assert_int_eq(n, o.n);
  snprintf(r->lp, sizeof r->lp, "%s", tower_buf_data(o.lp));
  r->errors = tower_parser_errors(p);
  const char *e = tower_parser_last_error(p);
  snprintf(r->error, sizeof r->error, "%s", e ? e : "");
  tower_buf_free(o.lp);
}

static void parse(const char *opts, const char *in, result *r) {
  tower_parser *p = parser_of(opts, NULL);
  ck_assert_msg(p != NULL, "options refused: %s", opts);
  parse_with(p, in, strlen(in), r);
  tower_parser_free(p);
}

/* A case: options, input, the metrics as line protocol, and either no
 * error or one whose text contains `error`. */
typedef struct pcase {
  const char *opts, *in, *lp, *error;
} pcase;

static void run_case(const pcase *c) {
  result r;
  parse(c->opts, c->in, &r);
  ck_assert_msg(strcmp(r.lp, c->lp) == 0, "input %s\nwant: %s\ngot:  %s\n(error: %s)", c->in, c->lp,
                r.lp, r.error);
  if (!c->error) {
    ck_assert_msg(r.errors == 0, "input %s: unexpected error %s", c->in, r.error);
  } else {
    ck_assert_msg(r.errors == 1, "input %s: %llu errors, want 1 (%s)", c->in,
                  (unsigned long long)r.errors, r.error);
    ck_assert_msg(strstr(r.error, c->error), "input %s: error \"%s\" lacks \"%s\"", c->in, r.error,
                  c->error);
  }
}

/* ---- flattening, tags, fields, names ---------------------------------- */

static const pcase shape_cases[] = {
    /* Telegraf README, basic parsing */
    {"", "{\"a\": 5, \"b\": {\"c\": 6}, \"ignored\": \"I'm a string\"}", "json a=5,b_c=6\n"},
    /* nested objects join with '_', arrays by index, at any depth */
    {"", "{\"a\":[1,2,{\"b\":3}],\"c\":[[4,[5]]],\"d\":{\"e\":{\"f\":{\"g\":7}}}}",
     "json a_0=1,a_1=2,a_2_b=3,c_0_0=4,c_0_1_0=5,d_e_f_g=7\n"},
    /* README: name, tags and string fields */
    {"json_name_key = \"name\"; tag_keys = [\"my_tag_1\"]; json_string_fields = [\"b_my_field\"];",
     "{\"a\": 5, \"b\": {\"c\": 6, \"my_field\": \"description\"}, \"my_tag_1\": \"foo\", "
     "\"name\": \"my_json\"}",
     "my_json,my_tag_1=foo a=5,b_c=6,b_my_field=\"description\"\n"},
    /* top-level array: one metric per object */
    {"", "[{\"a\":1},{\"a\":2,\"s\":\"x\"},{\"b\":{\"c\":3}}]", "json a=1\njson a=2\njson b_c=3\n"},
    /* numbers are floats, strings and booleans dropped, nulls dropped */
    {"", "{\"i\":42,\"f\":-0.5e-3,\"e\":1E2,\"b\":true,\"s\":\"x\",\"n\":null,\"z\":0}",
     "json e=100,f=-0.0005,i=42,z=0\n"},
    /* integers beyond int64 are floats too (Go reads float64) */
    {"", "{\"big\":123456789012345678901234567890,\"neg\":-9223372036854775809}",
     "json big=1.2345678901234568e+29,neg=-9.223372036854776e+18\n"},
    /* an object without fields gives no metric */
    {"tag_keys = [\"t\"];", "{\"t\":\"x\",\"s\":\"y\"}", ""},
    {"", "{}", ""},
    {"", "[]", ""},
    {"", "[{}, {\"a\":1}]", "json a=1\n"},
    /* null and empty documents give nothing */
    {"", "null", ""},
    {"", "", ""},
    {"", " \n\t\r\v\f ", ""},
    /* a BOM is skipped; ASCII spaces around are trimmed (\v \f too, as Go) */
    {"", "\xef\xbb\xbf{\"a\":1}", "json a=1\n"},
    {"", "\f \xef\xbb\xbf {\"a\":1}\v", "json a=1\n"},
    /* a repeated key or two paths flattening alike: the later wins */
    {"", "{\"a\":1,\"a\":2}", "json a=2\n"},
    {"", "{\"a_b\":1,\"a\":{\"b\":2}}", "json a_b=2\n"},
    {"", "{\"a\":{\"b\":2},\"a_b\":1}", "json a_b=1\n"},
    /* empty keys are dropped; below the top they leave a trailing '_' */
    {"", "{\"\":1,\"a\":{\"\":2},\"\":{\"b\":3}}", "json a_=2,b=3\n"},
    /* escapes in keys and values are decoded */
    {"json_string_fields = [\"*\"];",
     "{\"k\\u00e9y\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"x\\u0041\":1}",
     "json k\xc3\xa9y=\"a\\\"b\\\\c/d\b\f\\n\r\t\",xA=1\n"}, /* LP escapes \n */
    /* surrogate pairs; a lone surrogate and invalid UTF-8 give U+FFFD */
    {"json_string_fields = [\"*\"];",
     "{\"p\":\"\\ud83d\\ude00\",\"l\":\"\\ud800x\\udc00\",\"u\":\"a\xff\xe2\x82z\"}",
     "json l=\"\xef\xbf\xbdx\xef\xbf\xbd\",p=\"\xf0\x9f\x98\x80\",u=\"a\xef\xbf\xbd\xef\xbf\xbd"
     "\xef\xbf\xbdz\"\n"},
};

START_TEST(test_shapes) {
  run_case(&shape_cases[_i]);
}
END_TEST

/* A repeated key decides what it becomes by its last value. */
START_TEST(test_duplicate_tag_then_field) {
  result r;
  parse("tag_keys = [\"a\"];", "{\"a\":\"tag\",\"x\":1,\"a\":5}", &r);
  ck_assert_str_eq(r.lp, "json,a=5 x=1\n");
  parse("", "{\"a\":\"str\",\"a\":5}", &r);
  ck_assert_str_eq(r.lp, "json a=5\n");
  parse("", "{\"a\":5,\"a\":\"str\"}", &r);
  ck_assert_str_eq(r.lp, "");
}
END_TEST

static const pcase tag_cases[] = {
    /* globs; strings, numbers (FormatFloat 'f') and booleans become tags */
    {"tag_keys = [\"tag*\", \"x_?\"];",
     "{\"tag1\":\"a\",\"tag2\":2.5,\"tag3\":true,\"tag4\":false,\"x_1\":1e21,\"x_12\":3,"
     "\"x_2\":1e-7,\"v\":1}",
     "json,tag1=a,tag2=2.5,tag3=true,tag4=false,x_1=1000000000000000000000,x_2=0.0000001 "
     "v=1,x_12=3\n"},
    /* flattened names are what the globs see */
    {"tag_keys = [\"meta_*\"];", "{\"meta\":{\"host\":\"a\",\"dc\":\"b\"},\"v\":1}",
     "json,meta_dc=b,meta_host=a v=1\n"},
    {"tag_keys = [\"{a,b}\", \"[xy]z\"];",
     "{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"xz\":\"4\",\"v\":1}", "json,a=1,b=2,xz=4 v=1\n"},
    /* an empty tag value is dropped (and not kept as a field) */
    {"tag_keys = [\"t\"];", "{\"t\":\"\",\"v\":1}", "json v=1\n"},
    /* tag_keys wins over json_string_fields */
    {"tag_keys = [\"a\"]; json_string_fields = [\"a\"];", "{\"a\":\"x\",\"n\":1}",
     "json,a=x n=1\n"},
    /* string fields: globs; booleans stay booleans */
    {"json_string_fields = [\"s*\"];",
     "{\"s1\":\"x\",\"s2\":true,\"t\":\"dropped\",\"b\":false,\"n\":1}",
     "json n=1,s1=\"x\",s2=true\n"},
    /* a string field alone makes a metric */
    {"json_string_fields = [\"msg\"];", "{\"msg\":\"hello\"}", "json msg=\"hello\"\n"},
    /* a NUL in a string used as a tag or field fails the object */
    {"json_string_fields = [\"s\"];", "{\"s\":\"a\\u0000b\",\"v\":1}", "", "NUL"},
    /* ... but not when the string is dropped anyway */
    {"", "{\"s\":\"a\\u0000b\",\"v\":1}", "json v=1\n"},
};

START_TEST(test_tags_and_strings) {
  run_case(&tag_cases[_i]);
}
END_TEST

static const pcase name_cases[] = {
    {"json_name_key = \"m\";", "{\"m\":\"cpu\",\"v\":1}", "cpu v=1\n"},
    /* nested: the flattened key */
    {"json_name_key = \"meta_name\";", "{\"meta\":{\"name\":\"disk\"},\"v\":1}", "disk v=1\n"},
    /* per object of an array */
    {"json_name_key = \"m\";", "[{\"m\":\"a\",\"v\":1},{\"v\":2},{\"m\":\"c\",\"v\":3}]",
     "a v=1\njson v=2\nc v=3\n"},
    /* empty or not a string: the default name, and a number stays a field */
    {"json_name_key = \"m\";", "{\"m\":\"\",\"v\":1}", "json v=1\n"},
    {"json_name_key = \"m\";", "{\"m\":5,\"v\":1}", "json m=5,v=1\n"},
    /* the name key can also be a tag */
    {"json_name_key = \"m\"; tag_keys = [\"m\"];", "{\"m\":\"cpu\",\"v\":1}", "cpu,m=cpu v=1\n"},
};

START_TEST(test_names) {
  run_case(&name_cases[_i]);
}
END_TEST

/* The plugin's default name, else "json". */
START_TEST(test_default_name) {
  tower_parser *p = parser_of("", "exec");
  result r;
  parse_with(p, "{\"v\":1}", 7, &r);
  ck_assert_str_eq(r.lp, "exec v=1\n");
  tower_parser_free(p);
  ck_assert_int_eq(tower_parser_new_format(NULL, "json", &p), 0);
  parse_with(p, "{\"v\":1}", 7, &r);
  ck_assert_str_eq(r.lp, "json v=1\n");
  tower_parser_free(p);
}
END_TEST

/* ---- time ------------------------------------------------------------- */

static const pcase time_cases[] = {
    /* Unix formats: numbers (integers exact) and strings */
    {"json_time_key = \"t\"; json_time_format = \"unix\";", "{\"t\":1700000000,\"v\":1}",
     "json v=1 1700000000000000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"unix\";", "{\"t\":1700000000.5,\"v\":1}",
     "json v=1 1700000000500000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"unix\";",
     "{\"t\":\"1700000000.123456789\",\"v\":1}", "json v=1 1700000000123456789\n"},
    /* Telegraf's string sanitizing: spaces go, the first ',' is the point */
    {"json_time_key = \"t\"; json_time_format = \"unix\";", "{\"t\":\"1 700 000 000,25\",\"v\":1}",
     "json v=1 1700000000250000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"unix\";", "{\"t\":\"1.7e9\",\"v\":1}",
     "json v=1 1700000000000000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"unix_ms\";", "{\"t\":1700000000123,\"v\":1}",
     "json v=1 1700000000123000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"unix_ms\";",
     "{\"t\":\"1700000000123.5\",\"v\":1}", "json v=1 1700000000123500000\n"},
    {"json_time_key = \"t\"; json_time_format = \"unix_us\";", "{\"t\":1700000000123456,\"v\":1}",
     "json v=1 1700000000123456000\n"},
    {"json_time_key = \"t\"; json_time_format = \"unix_ns\";",
     "{\"t\":1700000000123456789,\"v\":1}", "json v=1 1700000000123456789\n"},
    /* a fraction of a nanosecond is floored */
    {"json_time_key = \"t\"; json_time_format = \"unix\";", "{\"t\":-1.5,\"v\":1}",
     "json v=1 -1500000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"unix_ns\";", "{\"t\":\"-0.5\",\"v\":1}",
     "json v=1 -1\n"},
    /* the time key is the flattened key and leaves the fields */
    {"json_time_key = \"b_time\"; json_time_format = \"unix\";",
     "{\"a\":1,\"b\":{\"time\":1700000000,\"c\":2}}", "json a=1,b_c=2 1700000000000000000\n"},
    /* Go layouts and layout names */
    {"json_time_key = \"t\"; json_time_format = \"2006-01-02T15:04:05Z07:00\";",
     "{\"t\":\"2023-11-15T07:13:20+09:00\",\"v\":1}", "json v=1 1700000000000000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"RFC3339\";",
     "{\"t\":\"2023-11-14T22:13:20.123456789Z\",\"v\":1}", "json v=1 1700000000123456789\n"},
    {"json_time_key = \"t\"; json_time_format = \"rfc3339nano\";",
     "{\"t\":\"2023-11-14T22:13:20.123Z\",\"v\":1}", "json v=1 1700000000123000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"RFC1123\";",
     "{\"t\":\"Mon, 02 Jan 2006 15:04:05 EST\",\"v\":1}", "json v=1 1136232245000000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"RFC1123Z\";",
     "{\"t\":\"Mon, 02 Jan 2006 15:04:05 -0500\",\"v\":1}", "json v=1 1136232245000000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"ANSIC\";",
     "{\"t\":\"Mon Jan  2 15:04:05 2006\",\"v\":1}", "json v=1 1136214245000000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"2006-01-02 03:04:05PM\";",
     "{\"t\":\"2006-01-02 03:04:05PM\",\"v\":1}", "json v=1 1136214245000000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"2006-002\";", "{\"t\":\"2006-032\",\"v\":1}",
     "json v=1 1138752000000000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"01/02/2006 15:04:05.000\";",
     "{\"t\":\"11/14/2023 22:13:20.123\",\"v\":1}", "json v=1 1700000000123000000\n"},
    /* README example (v1.27+ abbreviations: MST is UTC-7) */
    {"json_time_key = \"b_time\"; json_time_format = \"02 Jan 06 15:04 MST\";",
     "[{\"a\": 5, \"b\": {\"c\": 6, \"time\":\"04 Jan 06 15:04 MST\"}},"
     " {\"a\": 7, \"b\": {\"c\": 8, \"time\":\"11 Jan 07 15:04 MST\"}}]",
     "json a=5,b_c=6 1136412240000000000\njson a=7,b_c=8 1168553040000000000\n"},
    /* zone names: UTC, GMT+h, a zone database name in its standard time */
    {"json_time_key = \"t\"; json_time_format = \"2006-01-02 15:04 MST\";",
     "{\"t\":\"2024-07-01 12:00 UTC\",\"v\":1}", "json v=1 1719835200000000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"2006-01-02 15:04 MST\";",
     "{\"t\":\"2024-07-01 12:00 GMT+3\",\"v\":1}", "json v=1 1719824400000000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"2006-01-02 15:04 MST\";",
     "{\"t\":\"2024-07-01 12:00 CET\",\"v\":1}", "json v=1 1719831600000000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"2006-01-02 15:04 MST\";",
     "{\"t\":\"2024-07-01 12:00 CEST\",\"v\":1}", "", "cannot resolve time zone abbreviation"},
    /* json_timezone for times without a zone */
    {"json_time_key = \"t\"; json_time_format = \"2006-01-02 15:04:05\"; "
     "json_timezone = \"America/New_York\";",
     "[{\"t\":\"2024-01-15 12:00:00\",\"v\":1},{\"t\":\"2024-07-01 12:00:00\",\"v\":2}]",
     "json v=1 1705338000000000000\njson v=2 1719849600000000000\n"},
    /* ... but a zone in the text wins */
    {"json_time_key = \"t\"; json_time_format = \"2006-01-02 15:04:05Z07:00\"; "
     "json_timezone = \"America/New_York\";",
     "{\"t\":\"2023-11-14 22:13:20Z\",\"v\":1}", "json v=1 1700000000000000000\n"},
    {"json_time_key = \"t\"; json_time_format = \"2006-01-02 15:04:05\"; json_timezone = \"UTC\";",
     "{\"t\":\"2023-11-14 22:13:20\",\"v\":1}", "json v=1 1700000000000000000\n"},
    /* errors: missing key, unreadable value, wrong type */
    {"json_time_key = \"t\"; json_time_format = \"unix\";", "{\"v\":1}", "",
     "time key \"t\": not found"},
    {"json_time_key = \"t\"; json_time_format = \"unix\";", "{\"t\":null,\"v\":1}", "",
     "not found"},
    {"json_time_key = \"t\"; json_time_format = \"unix\";", "{\"t\":\"soon\",\"v\":1}", "",
     "cannot read \"soon\": not a number"},
    {"json_time_key = \"t\"; json_time_format = \"unix\";", "{\"t\":true,\"v\":1}", "",
     "neither a string nor a number"},
    {"json_time_key = \"t\"; json_time_format = \"unix_ns\";", "{\"t\":1e30,\"v\":1}", "",
     "out of the range"},
    {"json_time_key = \"t\"; json_time_format = \"2006-01-02\";", "{\"t\":20240101,\"v\":1}", "",
     "json_time_format is a layout for strings"},
    {"json_time_key = \"t\"; json_time_format = \"2006-01-02\";", "{\"t\":\"2024-02-30\",\"v\":1}",
     "", "day out of range"},
    {"json_time_key = \"t\"; json_time_format = \"2006-01-02\";", "{\"t\":\"2024-13-01\",\"v\":1}",
     "", "month out of range"},
    {"json_time_key = \"t\"; json_time_format = \"2006-01-02\";", "{\"t\":\"2024-01-01x\",\"v\":1}",
     "", "extra text \"x\""},
    {"json_time_key = \"t\"; json_time_format = \"2006-01-02\";", "{\"t\":\"24-01-01\",\"v\":1}",
     "", "cannot parse \"24-01-01\" as \"2006\""},
};

START_TEST(test_times) {
  run_case(&time_cases[_i]);
}
END_TEST

/* "Local" is $TZ (else /etc/localtime), read when the parser is built. */
START_TEST(test_local_zone) {
  const char *old = getenv("TZ");
  char *saved = old ? strdup(old) : NULL;
  setenv("TZ", "Asia/Seoul", 1);
  result r;
  parse("json_time_key = \"t\"; json_time_format = \"2006-01-02 15:04:05\"; "
        "json_timezone = \"Local\";",
        "{\"t\":\"2024-01-01 09:00:00\",\"v\":1}", &r);
  ck_assert_str_eq(r.lp, "json v=1 1704067200000000000\n");
  setenv("TZ", ":UTC", 1);
  parse("json_time_key = \"t\"; json_time_format = \"2006-01-02 15:04:05\"; "
        "json_timezone = \"Local\";",
        "{\"t\":\"2024-01-01 09:00:00\",\"v\":1}", &r);
  ck_assert_str_eq(r.lp, "json v=1 1704099600000000000\n");
  if (saved)
    setenv("TZ", saved, 1);
  else
    unsetenv("TZ");
  free(saved);
}
END_TEST

/* A layout without a year means this year (Telegraf). */
START_TEST(test_year_zero) {
  struct tm tm;
  time_t now = time(NULL);
  gmtime_r(&now, &tm);
  int year = tm.tm_year + 1900;
  result r;
  parse("json_time_key = \"t\"; json_time_format = \"Stamp\";",
        "{\"t\":\"Mar  5 06:07:08\",\"v\":1}", &r);
  struct tm want = {
      .tm_year = year - 1900, .tm_mon = 2, .tm_mday = 5, .tm_hour = 6, .tm_min = 7, .tm_sec = 8};
  char lp[64];
  snprintf(lp, sizeof lp, "json v=1 %lld000000000\n", (long long)timegm(&want));
  ck_assert_str_eq(r.lp, lp);
}
END_TEST

/* json_strict: one bad object rejects the document, or only itself. */
START_TEST(test_strict) {
  const char *in = "[{\"t\":1,\"v\":1},{\"v\":2},{\"t\":3,\"v\":3}]";
  result r;
  parse("json_time_key = \"t\"; json_time_format = \"unix\";", in, &r);
  ck_assert_str_eq(r.lp, "");
  ck_assert_int_eq(r.errors, 1);
  ck_assert_str_eq(r.error, "line 1, column 16: array element 1: time key \"t\": not found");
  parse("json_time_key = \"t\"; json_time_format = \"unix\"; json_strict = false;", in, &r);
  ck_assert_str_eq(r.lp, "json v=1 1000000000\njson v=3 3000000000\n");
  ck_assert_int_eq(r.errors, 1);
  /* a wrong shape rejects the document either way */
  parse("json_strict = false;", "[{\"v\":1},2]", &r);
  ck_assert_str_eq(r.lp, "");
  ck_assert_int_eq(r.errors, 1);
}
END_TEST

/* ---- json_query ------------------------------------------------------- */

static const char query_doc[] =
    "{\"obj\": {\"name\": {\"first\": \"Tom\", \"last\": \"Anderson\"}, \"age\": 37,"
    " \"children\": [\"Sara\", \"Alex\"], \"fav.movie\": \"Deer Hunter\", \"nothing\": null,"
    " \"friends\": [{\"first\": \"Dale\", \"last\": \"Murphy\", \"age\": 44},"
    " {\"first\": \"Roger\", \"last\": \"Craig\", \"age\": 68},"
    " {\"first\": \"Jane\", \"last\": \"Murphy\", \"age\": 47}]},"
    " \"data\": {\"items\": [{\"attrs\": {\"x\": 1}}, {\"other\": 2}, {\"attrs\": {\"x\": 3}}]}}";

static const struct {
  const char *query, *lp, *error;
} query_cases[] = {
    /* README */
    {"obj.friends",
     "json,first=Dale age=44,last=\"Murphy\"\njson,first=Roger age=68,last=\"Craig\"\n"
     "json,first=Jane age=47,last=\"Murphy\"\n"},
    {"obj.friends.1", "json,first=Roger age=68,last=\"Craig\"\n"},
    {"obj.name", "json,first=Tom last=\"Anderson\"\n"},
    {"o?j.fri*", "json,first=Dale age=44,last=\"Murphy\"\njson,first=Roger age=68,last=\"Craig\"\n"
                 "json,first=Jane age=47,last=\"Murphy\"\n"},
    /* '#' maps the rest of the path over an array */
    {"data.items.#.attrs", "json x=1\njson x=3\n"},
    /* nothing there, or null: no metrics, no error */
    {"obj.missing", ""},
    {"obj.friends.9", ""},
    {"obj.friends.x", ""},
    {"obj.nothing", ""},
    /* values that are not objects */
    {"obj.age", "", "line 1, column 63: json_query leads to a value that is a number"},
    {"obj.fav\\.movie", "", "json_query leads to a value that is a string"},
    {"obj.friends.#", "", "is a number (#: a count)"},
    {"obj.children", "", "array element 0 is a string"},
    {"obj.friends.#.first", "", "array element 0 is a string"},
};

START_TEST(test_query) {
  char opts[256];
  snprintf(opts, sizeof opts,
           "json_query = \"%s\"; tag_keys = [\"first\"]; json_string_fields = [\"last\"];",
           query_cases[_i].query);
  for (char *s = strstr(opts, "\\."); s; s = strstr(s + 2, "\\.")) /* libconfig escapes */
    memmove(s + 1, s, strlen(s) + 1);
  pcase c = {opts, query_doc, query_cases[_i].lp, query_cases[_i].error};
  run_case(&c);
}
END_TEST

/* ---- errors with positions -------------------------------------------- */

static const struct {
  const char *in, *error;
} error_cases[] = {
    {"{\n  \"a\": 1,\n  \"b\": [1, 2, }\n}",
     "line 3, column 15: invalid JSON: invalid character '}' looking for beginning of value"},
    {"{\"a\":1", "line 1, column 7: invalid JSON: unexpected end of JSON input"},
    {"{\"a\" 1}", "line 1, column 6: invalid JSON: invalid character '1' after object key"},
    {"{\"a\":1 \"b\":2}",
     "line 1, column 8: invalid JSON: invalid character '\"' after object key:value pair"},
    {"[1 2]", "line 1, column 4: invalid JSON: invalid character '2' after array element"},
    {"{\"a\":1,}",
     "line 1, column 8: invalid JSON: invalid character '}' looking for beginning of object key "
     "string"},
    {"{\"a\":01}", "line 1, column 7: invalid JSON: invalid character '1' after object key:value"},
    {"{\"a\":1.}", "column 8: invalid JSON: invalid character '}' after decimal point"},
    {"{\"a\":1e}", "column 8: invalid JSON: invalid character '}' in exponent"},
    {"{\"a\":-x}", "column 7: invalid JSON: invalid character 'x' in numeric literal"},
    {"{\"a\":tru}", "column 9: invalid JSON: invalid character '}' in literal"},
    {"{\"a\":NaN}", "column 6: invalid JSON: invalid character 'N' looking for beginning of value"},
    {"{\"a\":\"x\ty\"}", "column 8: invalid JSON: invalid character '\\x09' in string literal"},
    {"{\"a\":\"\\x\"}", "column 8: invalid JSON: invalid character 'x' in string escape code"},
    {"{\"a\":\"\\u12g4\"}", "column 11: invalid JSON: invalid character 'g' in \\u hexadecimal"},
    {"{\"a\":1e400}", "column 6: invalid JSON: number 1e400 is out of the range of float64"},
    {"{} {}", "column 4: invalid JSON: invalid character '{' after top-level value"},
    {"// c\n{}", "line 1, column 1: invalid JSON: invalid character '/' looking for beginning"},
    /* positions count characters and follow the trimmed space and BOM */
    {"\n\n  \xef\xbb\xbf  {\"\xc3\xa9\": x}",
     "line 3, column 12: invalid JSON: invalid character 'x'"},
    /* wrong shapes */
    {"\"text\"", "line 1, column 1: the document is a string; the data must be an object or an "
                 "array of objects"},
    {"  42", "line 1, column 3: the document is a number"},
    {"true", "the document is a boolean"},
    {"[{\"a\":1},\n  [2]]", "line 2, column 3: array element 1 is an array"},
    {"[null]", "array element 0 is null"},
};

START_TEST(test_errors) {
  result r;
  parse("", error_cases[_i].in, &r);
  ck_assert_str_eq(r.lp, "");
  ck_assert_int_eq(r.errors, 1);
  ck_assert_msg(strstr(r.error, error_cases[_i].error), "input %s: error \"%s\" lacks \"%s\"",
                error_cases[_i].in, r.error, error_cases[_i].error);
}
END_TEST

/* Depth: Go's limit, 10000 levels, without recursion. */
START_TEST(test_depth) {
  size_t n = 10000;
  char *doc = malloc(2 * n + 32);
  char *d = doc;
  for (size_t i = 0; i < n - 1; i++)
    *d++ = '[';
  d += sprintf(d, "{\"a\":1}");
  for (size_t i = 0; i < n - 1; i++)
    *d++ = ']';
  tower_parser *p = parser_of("json_query = \"0\";", NULL);
  result r;
  parse_with(p, doc, (size_t)(d - doc), &r);
  ck_assert_int_eq(r.errors, 1); /* an array of arrays, not of objects */
  ck_assert_ptr_nonnull(strstr(r.error, "array element 0 is an array"));
  tower_parser_free(p);
  /* one level more is refused */
  memmove(doc + 1, doc, (size_t)(d - doc));
  doc[0] = '[';
  doc[d - doc + 1] = ']';
  p = parser_of("", NULL);
  parse_with(p, doc, (size_t)(d - doc) + 2, &r);
  ck_assert_ptr_nonnull(strstr(r.error, "exceeded max depth"));
  tower_parser_free(p);
  /* deep objects flatten into long keys */
  d = doc;
  for (size_t i = 0; i < 2000; i++)
    d += sprintf(d, "{\"k\":");
  d += sprintf(d, "1");
  for (size_t i = 0; i < 2000; i++)
    *d++ = '}';
  p = parser_of("", NULL);
  parse_with(p, doc, (size_t)(d - doc), &r);
  ck_assert_int_eq(r.errors, 0);
  ck_assert_int_eq(strlen(r.lp), strlen("json ") + 2000 * 2 - 1 + strlen("=1\n"));
  tower_parser_free(p);
  free(doc);
}
END_TEST

/* Documents are whole: feeds are buffered until the end. */
START_TEST(test_chunks) {
  const char *in = "[{\"a\":1},\n{\"a\":2}]";
  tower_parser *p = parser_of("", NULL);
  out o = {tower_buf_new(0), 0};
  for (size_t i = 0; in[i]; i++)
    ck_assert_int_eq(tower_parser_feed(p, in + i, 1, to_lp, &o), 0);
  ck_assert_int_eq(tower_parser_end(p, to_lp, &o), 2);
  ck_assert_str_eq(tower_buf_data(o.lp), "json a=1\njson a=2\n");
  /* the parser is reusable */
  tower_buf_reset(o.lp);
  ck_assert_int_eq(tower_parser_parse(p, "{\"b\":3}", 7, to_lp, &o), 1);
  ck_assert_str_eq(tower_buf_data(o.lp), "json b=3\n");
  tower_buf_free(o.lp);
  tower_parser_free(p);
}
END_TEST

/* A sink error stops the document: nothing more is emitted. */
static int refuse_second(void *ctx, tower_metric *m) {
  int *n = ctx;
  tower_metric_free(m);
  return ++*n == 2 ? -EPIPE : 0;
}

START_TEST(test_sink_error) {
  tower_parser *p = parser_of("", NULL);
  int n = 0;
  ck_assert_int_eq(tower_parser_parse(p, "[{\"a\":1},{\"a\":2},{\"a\":3}]", 25, refuse_second, &n),
                   -EPIPE);
  ck_assert_int_eq(n, 2);
  tower_parser_free(p);
}
END_TEST

/* ---- options ---------------------------------------------------------- */

static const struct {
  const char *opts, *error;
  bool at_validation; /* refused by the option table, not by init */
} bad_options[] = {
    {"json_time_key = \"t\";", "needs json_time_format"},
    {"json_time_format = \"soon\";", "no element of Go's reference time"},
    {"json_time_format = \"\"; json_time_key = \"t\";", "needs json_time_format"},
    {"json_timezone = \"Mars/Olympus\";", "not found in the zone database"},
    {"json_timezone = \"../../etc/passwd\";", "must not hold"},
    {"json_query = \"a|b\";", "not supported"},
    {"json_query = \"@reverse\";", "not supported"},
    {"json_query = \"a.#(b==1)\";", "not supported"},
    {"json_query = \"a..b\";", "empty path component"},
    {"json_query = \"a.\";", "ends with"},
    {"json_query = \"[a,b]\";", "multipaths"},
    {"tag_keys = [\"[ab\"];", "tag_keys", true},
    {"json_strict = \"yes\";", "json_strict", true},
};

START_TEST(test_bad_options) {
  twi_conf *conf;
  twi_diag d;
  tower_config *cfg = config_of(bad_options[_i].opts, true, &conf, &d);
  if (bad_options[_i].at_validation) {
    ck_assert_ptr_null(cfg);
    ck_assert_msg(d.text && strstr(d.text, bad_options[_i].error), "%s", d.text);
  } else {
    ck_assert_msg(cfg != NULL, "%s", d.text ? d.text : "");
    tower_parser *p = NULL;
    ck_assert_int_eq(tower_parser_new(NULL, cfg, &p), -EINVAL);
    ck_assert_ptr_null(p);
    twi_config_free(cfg);
  }
  twi_diag_free(&d);
  twi_conf_unref(conf);
}
END_TEST

/* The options-struct constructor, for callers without a config block. */
START_TEST(test_options_struct) {
  const char *tags[] = {"host"}, *strs[] = {"msg"};
  twi_json_options o = {.tag_keys = tags,
                        .n_tag_keys = 1,
                        .string_fields = strs,
                        .n_string_fields = 1,
                        .time_key = "ts",
                        .time_format = "unix_ms",
                        .query = "data"};
  tower_parser *p = NULL;
  ck_assert_int_eq(twi_json_parser_new(NULL, &o, &p), 0);
  result r;
  const char *in = "{\"data\":{\"host\":\"a\",\"msg\":\"m\",\"ts\":5,\"v\":1}}";
  parse_with(p, in, strlen(in), &r);
  ck_assert_str_eq(r.lp, "json,host=a msg=\"m\",v=1 5000000\n");
  tower_parser_free(p);
  const char *bad[] = {"{x"};
  twi_json_options b = {.tag_keys = bad, .n_tag_keys = 1};
  ck_assert_int_eq(twi_json_parser_new(NULL, &b, &p), -EINVAL);
  twi_json_options t = {.time_key = "t"};
  ck_assert_int_eq(twi_json_parser_new(NULL, &t, &p), -EINVAL);
}
END_TEST

/* ---- serializer ------------------------------------------------------- */

static tower_serializer *serializer_of(const char *opts) {
  twi_conf *conf;
  twi_diag d;
  tower_config *cfg = config_of(opts, false, &conf, &d);
  ck_assert_msg(cfg != NULL, "%s: %s", opts, d.text ? d.text : "");
  tower_serializer *s = NULL;
  int rc = tower_serializer_new(NULL, cfg, &s);
  twi_config_free(cfg);
  twi_conf_unref(conf);
  twi_diag_free(&d);
  return rc < 0 ? NULL : s;
}

static void expect_json(tower_serializer *s, const tower_metric *m, const char *want) {
  tower_buf *b = tower_buf_new(0);
  ck_assert_int_eq(tower_serialize(s, m, b), 0);
  ck_assert_str_eq(tower_buf_data(b), want);
  tower_buf_free(b);
}

static tower_metric *cpu_metric(void) {
  tower_metric *m = tower_metric_new("cpu", 1700000000123456789);
  tower_metric_add_tag(m, "host", "server01");
  tower_metric_add_tag(m, "cpu", "cpu0");
  tower_metric_add_float(m, "usage_idle", 98.2);
  tower_metric_add_int(m, "procs", -3);
  tower_metric_add_uint(m, "bytes", 18446744073709551615u);
  tower_metric_add_bool(m, "ok", true);
  tower_metric_add_string(m, "state", "running");
  return m;
}

START_TEST(test_write_types) {
  tower_serializer *s = serializer_of("");
  tower_metric *m = cpu_metric();
  expect_json(s, m,
              "{\"fields\":{\"bytes\":18446744073709551615,\"ok\":true,\"procs\":-3,"
              "\"state\":\"running\",\"usage_idle\":98.2},\"name\":\"cpu\","
              "\"tags\":{\"cpu\":\"cpu0\",\"host\":\"server01\"},\"timestamp\":1700000000}\n");
  tower_metric_free(m);
  /* no tags; NaN and Inf left out, even all of them */
  m = tower_metric_new("m", 0);
  tower_metric_add_float(m, "nan", NAN);
  tower_metric_add_float(m, "inf", INFINITY);
  tower_metric_add_float(m, "ninf", -INFINITY);
  expect_json(s, m, "{\"fields\":{},\"name\":\"m\",\"tags\":{},\"timestamp\":0}\n");
  tower_metric_add_bool(m, "b", false);
  expect_json(s, m, "{\"fields\":{\"b\":false},\"name\":\"m\",\"tags\":{},\"timestamp\":0}\n");
  tower_metric_free(m);
  tower_serializer_free(s);
}
END_TEST

static const struct {
  double v;
  const char *json, *plain;
} float_cases[] = {
    {0.1, "0.1", "0.1"},
    {98.2, "98.2", "98.2"},
    {-0.0, "-0", "-0"},
    {0, "0", "0"},
    {1, "1", "1"},
    {100, "100", "100"},
    {1e20, "100000000000000000000", "100000000000000000000"},
    {1e21, "1e+21", "1000000000000000000000"},
    {1.5e300, "1.5e+300", NULL},
    {123456789012345680000.0, "123456789012345680000", "123456789012345680000"},
    {0.000001, "0.000001", "0.000001"},
    {1e-7, "1e-7", "0.0000001"},
    {1.25e-10, "1.25e-10", "0.000000000125"},
    {-2.5e-100, "-2.5e-100", NULL},
    {5e-324, "5e-324", NULL},
    {1.7976931348623157e308, "1.7976931348623157e+308", NULL},
    {0.30000000000000004, "0.30000000000000004", "0.30000000000000004"},
    {9007199254740993.0, "9007199254740992", "9007199254740992"},
};

START_TEST(test_floats) {
  char buf[400];
  twi_json_fmt_float(buf, float_cases[_i].v);
  ck_assert_str_eq(buf, float_cases[_i].json);
  if (float_cases[_i].plain) {
    twi_json_fmt_float_plain(buf, sizeof buf, float_cases[_i].v);
    ck_assert_str_eq(buf, float_cases[_i].plain);
  }
}
END_TEST

START_TEST(test_float_plain_extremes) {
  char buf[400];
  size_t n = twi_json_fmt_float_plain(buf, sizeof buf, 5e-324);
  ck_assert_int_eq(n, 2 + 323 + 1);
  ck_assert(strncmp(buf, "0.000", 5) == 0 && buf[n - 1] == '5');
  n = twi_json_fmt_float_plain(buf, sizeof buf, -1.7976931348623157e308);
  ck_assert_int_eq(n, 1 + 309);
  ck_assert(strncmp(buf, "-17976931348623157", 18) == 0 && buf[n - 1] == '0');
  twi_json_fmt_float_plain(buf, sizeof buf, NAN);
  ck_assert_str_eq(buf, "NaN");
}
END_TEST

static const struct {
  const char *in, *out;
} escape_cases[] = {
    {"plain", "\"plain\""},
    {"q\"b\\s/", "\"q\\\"b\\\\s/\""},
    {"\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""},
    {"\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\""},
    {"<a href=\"x\">&amp;</a>", "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026amp;\\u003c/a\\u003e\""},
    {"\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xaa", "\"\\u2028\\u2029\xe2\x80\xaa\""},
    {"\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd", "\"\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd\""},
    /* invalid UTF-8: each byte of a bad sequence is \ufffd */
    {"a\xffz", "\"a\\ufffdz\""},
    {"\xe2\x82", "\"\\ufffd\\ufffd\""},
    {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},
    {"\xc0\xaf", "\"\\ufffd\\ufffd\""},
    {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
};

START_TEST(test_escapes) {
  tower_buf *b = tower_buf_new(0);
  ck_assert_int_eq(twi_json_put_string(b, escape_cases[_i].in, strlen(escape_cases[_i].in)), 0);
  ck_assert_str_eq(tower_buf_data(b), escape_cases[_i].out);
  tower_buf_free(b);
}
END_TEST

/* Keys, names and tag values are escaped the same way. */
START_TEST(test_write_escaped_keys) {
  tower_serializer *s = serializer_of("");
  tower_metric *m = tower_metric_new("a\"b", 0);
  tower_metric_add_tag(m, "t<", "v\n");
  tower_metric_add_string(m, "f\\", "x\x01");
  expect_json(s, m,
              "{\"fields\":{\"f\\\\\":\"x\\u0001\"},\"name\":\"a\\\"b\",\"tags\":{\"t\\u003c\":"
              "\"v\\n\"},\"timestamp\":0}\n");
  tower_metric_free(m);
  tower_serializer_free(s);
}
END_TEST

static const struct {
  const char *opts;
  int64_t time;
  const char *stamp;
} stamp_cases[] = {
    {"", 1700000000123456789, "1700000000"},
    {"json_timestamp_units = \"1ns\";", 1700000000123456789, "1700000000123456789"},
    {"json_timestamp_units = \"1us\";", 1700000000123456789, "1700000000123456"},
    {"json_timestamp_units = \"1ms\";", 1700000000123456789, "1700000000123"},
    {"json_timestamp_units = \"10ms\";", 1700000000123456789, "170000000012"},
    /* truncated to a power of ten, like Telegraf */
    {"json_timestamp_units = \"2ms\";", 1700000000123456789, "1700000000123"},
    {"json_timestamp_units = \"999ms\";", 1700000000123456789, "17000000001"},
    /* Go's integer division truncates toward zero */
    {"", -1500000000, "-1"},
    {"json_timestamp_format = \"2006-01-02T15:04:05Z07:00\";", 1700000000123456789,
     "\"2023-11-14T22:13:20Z\""},
    {"json_timestamp_format = \"RFC3339Nano\";", 1700000000123456789,
     "\"2023-11-14T22:13:20.123456789Z\""},
    {"json_timestamp_format = \"rfc3339nano\";", 1700000000120000000,
     "\"2023-11-14T22:13:20.12Z\""},
    {"json_timestamp_format = \"Mon Jan _2 03:04:05.000 PM MST 2006 -07:00 Z0700 __2 002\";",
     1700000000123456789, "\"Tue Nov 14 10:13:20.123 PM UTC 2023 +00:00 Z 318 318\""},
    {"json_timestamp_format = \"Monday, January 2 06 1/2 3:4:5 .9 ,000\";", 1136189045000000000,
     "\"Monday, January 2 06 1/2 8:4:5  ,000\""},
    /* layout text with quotes is escaped */
    {"json_timestamp_format = \"\\\"2006\\\"\";", 0, "\"\\\"1970\\\"\""},
    {"json_timestamp_format = \"2006-01-02 15:04:05.999999999\";", -1,
     "\"1969-12-31 23:59:59.999999999\""},
    /* the extremes of int64 nanoseconds (found by fuzzing: an overflow) */
    {"json_timestamp_format = \"RFC3339Nano\";", INT64_MIN, "\"1677-09-21T00:12:43.145224192Z\""},
    {"json_timestamp_format = \"RFC3339Nano\";", INT64_MAX, "\"2262-04-11T23:47:16.854775807Z\""},
};

START_TEST(test_timestamps) {
  tower_serializer *s = serializer_of(stamp_cases[_i].opts);
  ck_assert_ptr_nonnull(s);
  tower_metric *m = tower_metric_new("m", stamp_cases[_i].time);
  tower_metric_add_int(m, "v", 1);
  char want[256];
  snprintf(want, sizeof want,
           "{\"fields\":{\"v\":1},\"name\":\"m\",\"tags\":{},\"timestamp\":%s}\n",
           stamp_cases[_i].stamp);
  expect_json(s, m, want);
  tower_metric_free(m);
  tower_serializer_free(s);
}
END_TEST

START_TEST(test_write_bad_options) {
  twi_conf *conf;
  twi_diag d;
  ck_assert_ptr_null(serializer_of("json_timestamp_format = \"unix\";"));
  ck_assert_ptr_null(config_of("json_timestamp_units = \"2s\";", false, &conf, &d));
  ck_assert_ptr_nonnull(strstr(d.text, "json_timestamp_units"));
  twi_diag_free(&d);
  twi_conf_unref(conf);
  /* parser options are not serializer options */
  ck_assert_ptr_null(config_of("tag_keys = [\"a\"];", false, &conf, &d));
  twi_diag_free(&d);
  twi_conf_unref(conf);
}
END_TEST

/* One metric per line, appended after what the buffer holds. */
START_TEST(test_write_appends) {
  tower_serializer *s = NULL;
  ck_assert_int_eq(tower_serializer_new_format(NULL, "json", &s), 0);
  tower_metric *m = tower_metric_new("m", 2000000000);
  tower_metric_add_float(m, "v", 0.5);
  tower_buf *b = tower_buf_new(0);
  tower_buf_append_str(b, "x\n");
  ck_assert_int_eq(tower_serialize(s, m, b), 0);
  ck_assert_int_eq(tower_serialize(s, m, b), 0);
  ck_assert_str_eq(tower_buf_data(b),
                   "x\n{\"fields\":{\"v\":0.5},\"name\":\"m\",\"tags\":{},\"timestamp\":2}\n"
                   "{\"fields\":{\"v\":0.5},\"name\":\"m\",\"tags\":{},\"timestamp\":2}\n");
  tower_buf_free(b);
  tower_metric_free(m);
  tower_serializer_free(s);
}
END_TEST

/* What the serializer writes, the parser reads back (tags as tags,
 * strings as string fields, time in ns). */
START_TEST(test_round_trip) {
  tower_serializer *s = serializer_of("json_timestamp_units = \"1ns\";");
  tower_metric *m = cpu_metric();
  tower_buf *b = tower_buf_new(0);
  ck_assert_int_eq(tower_serialize(s, m, b), 0);
  tower_parser *p = parser_of("json_query = \"fields\"; json_string_fields = [\"*\"];", NULL);
  result r;
  parse_with(p, tower_buf_data(b), tower_buf_len(b), &r);
  ck_assert_str_eq(r.lp, "json bytes=1.8446744073709552e+19,ok=true,procs=-3,state=\"running\","
                         "usage_idle=98.2\n");
  tower_parser_free(p);
  tower_buf_free(b);
  tower_metric_free(m);
  tower_serializer_free(s);
}
END_TEST

/* ---- Go layouts directly ---------------------------------------------- */

static const struct {
  const char *layout, *text;
  int64_t ns;
  const char *error;
} layout_cases[] = {
    {"2006-01-02T15:04:05Z07:00", "2023-11-14T22:13:20Z", 1700000000000000000},
    {"2006-01-02T15:04:05Z07:00", "2023-11-14T22:13:20.5Z", 1700000000500000000},
    {"2006-01-02T15:04:05Z07:00", "2023-11-14T22:13:20,5Z", 1700000000500000000},
    {"2006-01-02T15:04:05Z0700", "2023-11-14T23:13:20+0100", 1700000000000000000},
    {"2006-01-02T15:04:05Z07", "2023-11-14T23:13:20+01", 1700000000000000000},
    {"2006-01-02T15:04:05-07:00:00", "2023-11-14T23:13:21+01:00:01", 1700000000000000000},
    {"2006-01-02T15:04:05-070000", "2023-11-14T23:13:21+010001", 1700000000000000000},
    {"2006-01-02 15:04:05.000", "2023-11-14 22:13:20.123", 1700000000123000000},
    {"2006-01-02 15:04:05.000", "2023-11-14 22:13:20.12", 0, "cannot parse"},
    {"2006-01-02 15:04:05.999", "2023-11-14 22:13:20", 1700000000000000000},
    {"2006-01-02 15:04:05.999", "2023-11-14 22:13:20.1234567891", 1700000000123456789},
    {"Jan 2, 2006 at 3:04pm (MST)", "Nov 14, 2023 at 10:13pm (UTC)", 1699999980000000000},
    {"January 2 2006", "november 14 2023", 1699920000000000000},
    {"Mon Jan 2 2006", "Fri Nov 14 2023", 1699920000000000000}, /* weekday not checked */
    {"Monday 2006-01-02", "Funday 2023-11-14", 0, "cannot parse \"Funday 2023-11-14\""},
    {"2006-01-02   15", "2023-11-14 22", 1699999200000000000},
    {"_2 Jan 06", " 5 Jan 24", 1704412800000000000},
    {"02 Jan 06", "5 Jan 24", 0, "cannot parse"},
    {"2 Jan 06", "5 Jan 69", -31190400000000000},
    {"__2 2006", " 32 2024", 1706745600000000000},
    {"002 2006", "366 2024", 1735603200000000000}, /* order does not matter */
    {"2006 002", "2024 366", 1735603200000000000},
    {"2006 002", "2023 366", 0, "day-of-year out of range"},
    {"2006-01 002", "2024-01 032", 0, "day-of-year does not match month"},
    {"15:04", "24:00", 0, "hour out of range"},
    {"3:04PM", "13:00PM", 0, "hour out of range"},
    {"2006-01-02 3PM", "2024-01-01 12AM", 1704067200000000000},
    {"2006-01-02 3pm", "2024-01-01 12pm", 1704110400000000000},
    {"2006-01-02 15:04:05", "2024-01-01 10:60:00", 0, "minute out of range"},
    {"2006-01-02 15:04:05", "2024-01-01 10:00:60", 0, "second out of range"},
    {"2006-01-02 15:04:05 -0700", "2024-01-01 10:00:00 +2500", 0, "time zone offset hour"},
    {"2006-01-02 MST", "2024-01-01 GMT-5", 1704085200000000000},
    {"2006-01-02 MST", "2024-01-01 XYZ", 0, "cannot resolve time zone abbreviation \"XYZ\""},
    {"2006-01-02 MST", "2024-01-01 x", 0, "cannot parse \"x\" as \"MST\""},
    {"2006-01-02 -0700 MST", "2024-01-01 -0500 EST", 1704085200000000000},
    {"2006-01-02", "1677-01-02", 0, "out of the range of nanosecond"},
};

START_TEST(test_layouts) {
  twi_gotime *t;
  const char *why;
  char msg[200] = "";
  ck_assert_int_eq(twi_gotime_compile(layout_cases[_i].layout, true, &t, &why), 0);
  int64_t ns = 0;
  int rc = twi_gotime_parse(t, layout_cases[_i].text, strlen(layout_cases[_i].text), NULL, &ns, msg,
                            sizeof msg);
  if (layout_cases[_i].error) {
    ck_assert_msg(rc == -EINVAL, "%s: parsed as %lld", layout_cases[_i].text, (long long)ns);
    ck_assert_msg(strstr(msg, layout_cases[_i].error), "%s: \"%s\" lacks \"%s\"",
                  layout_cases[_i].text, msg, layout_cases[_i].error);
  } else {
    ck_assert_msg(rc == 0, "%s: %s", layout_cases[_i].text, msg);
    ck_assert_msg(ns == layout_cases[_i].ns, "%s: %lld, want %lld", layout_cases[_i].text,
                  (long long)ns, (long long)layout_cases[_i].ns);
  }
  twi_gotime_free(t);
}
END_TEST

/* Formatting then parsing any time in a full layout gives it back. */
START_TEST(test_layout_round_trip) {
  static const char *const layouts[] = {"RFC3339Nano", "2006-01-02 15:04:05.000000000 -0700",
                                        "Monday January _2 2006 03:04:05.999999999 pm MST"};
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t l = 0; l < 3; l++) {
    twi_gotime *t;
    const char *why;
    ck_assert_int_eq(twi_gotime_compile(layouts[l], false, &t, &why), 0);
    for (int i = 0; i < 2000; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      int64_t ns;
      memcpy(&ns, &x, sizeof ns); /* any int64, the extremes included */
      char text[TWI_GOTIME_FMT_SIZE], msg[128];
      size_t n = twi_gotime_format(t, ns, text);
      int64_t back;
      ck_assert_msg(twi_gotime_parse(t, text, n, NULL, &back, msg, sizeof msg) == 0, "%s: %s", text,
                    msg);
      ck_assert_msg(back == ns, "%s: %lld != %lld", text, (long long)back, (long long)ns);
    }
    twi_gotime_free(t);
  }
}
END_TEST

START_TEST(test_layout_compile_errors) {
  twi_gotime *t;
  const char *why;
  ck_assert_int_eq(twi_gotime_compile("", true, &t, &why), -EINVAL);
  ck_assert_int_eq(twi_gotime_compile("hello", true, &t, &why), -EINVAL);
  ck_assert_int_eq(twi_gotime_compile("unix", false, &t, &why), -EINVAL);
  ck_assert_int_eq(twi_gotime_compile("unix_us", true, &t, &why), 0);
  ck_assert(twi_gotime_is_unix(t));
  twi_gotime_free(t);
  /* "Janet" and "Monk" are words, not elements; "1" is */
  ck_assert_int_eq(twi_gotime_compile("Janet Monk", true, &t, &why), -EINVAL);
  ck_assert_int_eq(twi_gotime_compile("Janet 1", true, &t, &why), 0);
  char text[TWI_GOTIME_FMT_SIZE];
  twi_gotime_format(t, 1700000000000000000, text);
  ck_assert_str_eq(text, "Janet 11");
  twi_gotime_free(t);
}
END_TEST

/* ---- zones ------------------------------------------------------------ */

START_TEST(test_zones) {
  twi_zone *z;
  const char *why;
  ck_assert_int_eq(twi_zone_load("UTC", &z, &why), 0);
  ck_assert_ptr_null(z);
  ck_assert_int_eq(twi_zone_load("Nowhere/City", &z, &why), -EINVAL);
  ck_assert_int_eq(twi_zone_load("/etc/localtime", &z, &why), -EINVAL);
  ck_assert_int_eq(twi_zone_load("America/New_York", &z, &why), 0);
  ck_assert_int_eq(twi_zone_offset(z, 1705338000), -5 * 3600); /* January */
  ck_assert_int_eq(twi_zone_offset(z, 1719849600), -4 * 3600); /* July */
  /* past the last transition of the file: the POSIX rule */
  ck_assert_int_eq(twi_zone_offset(z, 2224872000), -4 * 3600); /* 2040-07-02 */
  ck_assert_int_eq(twi_zone_offset(z, 2210000000), -5 * 3600); /* 2040-01-12 */
  /* a wall time the spring transition skips resolves as Go does */
  ck_assert_int_eq(twi_zone_to_utc(z, 1710037800), 1710052200); /* 2024-03-10 02:30 */
  /* one that repeats in the fall takes the first (daylight) reading */
  ck_assert_int_eq(twi_zone_to_utc(z, 1730597400), 1730611800); /* 2024-11-03 01:30 */
  int32_t off;
  ck_assert(twi_zone_lookup_name(z, "EST", 3, 1719849600, &off));
  ck_assert_int_eq(off, -5 * 3600);
  ck_assert(!twi_zone_lookup_name(z, "CET", 3, 1719849600, &off));
  twi_zone_free(z);
  ck_assert_int_eq(twi_zone_load("Australia/Sydney", &z, &why), 0);
  ck_assert_int_eq(twi_zone_offset(z, 2209032000), 11 * 3600); /* 2040-01-01 */
  ck_assert_int_eq(twi_zone_offset(z, 2224670400), 10 * 3600); /* 2040-07-01 */
  twi_zone_free(z);
}
END_TEST

/* Telegraf's batch format, and the plain concatenation of line formats. */
START_TEST(test_serialize_batch) {
  tower_metric *a = tower_metric_new("a", 1000000000), *b = tower_metric_new("b", 2000000000);
  tower_metric_add_int(a, "v", 1);
  tower_metric_add_tag(b, "t", "x");
  tower_metric_add_float(b, "w", 0.5);
  const tower_metric *ms[] = {a, b};
  tower_serializer *s;
  tower_buf *buf = tower_buf_new(0);
  ck_assert_int_eq(tower_serializer_new_format(NULL, "json", &s), 0);
  ck_assert_int_eq(tower_serialize_batch(s, ms, 2, buf), 2);
  ck_assert_str_eq(
      tower_buf_data(buf),
      "{\"metrics\":[{\"fields\":{\"v\":1},\"name\":\"a\",\"tags\":{},\"timestamp\":1},"
      "{\"fields\":{\"w\":0.5},\"name\":\"b\",\"tags\":{\"t\":\"x\"},\"timestamp\":2}]}\n");
  tower_serializer_free(s);
  tower_buf_reset(buf);
  ck_assert_int_eq(tower_serializer_new_format(NULL, "influx", &s), 0);
  ck_assert_int_eq(tower_serialize_batch(s, ms, 2, buf), 2);
  ck_assert_str_eq(tower_buf_data(buf), "a v=1i 1000000000\nb,t=x w=0.5 2000000000\n");
  tower_serializer_free(s);
  tower_buf_free(buf);
  tower_metric_free(a);
  tower_metric_free(b);
}
END_TEST

static Suite *json_suite(void) {
  Suite *s = suite_create("json_format");
  TCase *tc = tcase_create("parser");
  tcase_add_loop_test(tc, test_shapes, 0, sizeof shape_cases / sizeof shape_cases[0]);
  tcase_add_test(tc, test_duplicate_tag_then_field);
  tcase_add_loop_test(tc, test_tags_and_strings, 0, sizeof tag_cases / sizeof tag_cases[0]);
  tcase_add_loop_test(tc, test_names, 0, sizeof name_cases / sizeof name_cases[0]);
  tcase_add_test(tc, test_default_name);
  tcase_add_loop_test(tc, test_times, 0, sizeof time_cases / sizeof time_cases[0]);
  tcase_add_test(tc, test_local_zone);
  tcase_add_test(tc, test_year_zero);
  tcase_add_test(tc, test_strict);
  tcase_add_loop_test(tc, test_query, 0, sizeof query_cases / sizeof query_cases[0]);
  tcase_add_loop_test(tc, test_errors, 0, sizeof error_cases / sizeof error_cases[0]);
  tcase_add_test(tc, test_depth);
  tcase_add_test(tc, test_chunks);
  tcase_add_test(tc, test_sink_error);
  tcase_add_loop_test(tc, test_bad_options, 0, sizeof bad_options / sizeof bad_options[0]);
  tcase_add_test(tc, test_options_struct);
  suite_add_tcase(s, tc);
  tc = tcase_create("serializer");
  tcase_add_test(tc, test_write_types);
  tcase_add_loop_test(tc, test_floats, 0, sizeof float_cases / sizeof float_cases[0]);
  tcase_add_test(tc, test_float_plain_extremes);
  tcase_add_loop_test(tc, test_escapes, 0, sizeof escape_cases / sizeof escape_cases[0]);
  tcase_add_test(tc, test_write_escaped_keys);
  tcase_add_loop_test(tc, test_timestamps, 0, sizeof stamp_cases / sizeof stamp_cases[0]);
  tcase_add_test(tc, test_write_bad_options);
  tcase_add_test(tc, test_write_appends);
  tcase_add_test(tc, test_round_trip);
  suite_add_tcase(s, tc);
  tc = tcase_create("time");
  tcase_add_loop_test(tc, test_layouts, 0, sizeof layout_cases / sizeof layout_cases[0]);
  tcase_add_test(tc, test_layout_round_trip);
  tcase_add_test(tc, test_layout_compile_errors);
  tcase_add_test(tc, test_zones);
  tcase_add_test(tc, test_serialize_batch);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return check_run(json_suite());
}
