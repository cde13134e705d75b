/* InfluxDB line protocol: parser and serializer (core/format/format_influx*.c). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/format.h>

#include "conf.h"
#include "config_view.h"
#include "format_influx.h"
#include "format_internal.h"
#include "check_run.h"

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ck_abort_msg(__VA_ARGS__);                                                                   \
  } while (0)

/* ---- helpers ---------------------------------------------------------- */

#define BAG_MAX 256

/* The metrics a parse produced. */
typedef struct bag {
  tower_metric *m[BAG_MAX];
  size_t n;
} bag;

static int collect(void *ctx, tower_metric *m) {
  bag *b = ctx;
  if (b->n == BAG_MAX) {
    tower_metric_free(m);
    return -E2BIG;
  }
  b->m[b->n++] = m;
  return 0;
}

static void bag_clear(bag *b) {
  for (size_t i = 0; i < b->n; i++)
    tower_metric_free(b->m[i]);
  b->n = 0;
}

static tower_parser *new_parser(void) {
  tower_parser *p = NULL;
  ck_assert_int_eq(tower_parser_new_format(NULL, "influx", &p), 0);
  ck_assert_ptr_nonnull(p);
  return p;
}

/* Parses a whole document with a fresh parser; returns the error count. */
static uint64_t parse_doc(const char *text, size_t len, bag *b) {
  tower_parser *p = new_parser();
  int n = tower_parser_parse(p, text, len, collect, b);
  CHECK(n >= 0, "parse failed: %d", n);
  uint64_t errors = tower_parser_errors(p);
  tower_parser_free(p);
  return errors;
}

/* The metric as line protocol, uints with 'u': the canonical form. */
static char *lp_of(const tower_metric *m) {
  tower_buf *b = tower_buf_new(0);
  int rc = tower_lp_write(m, b, TOWER_LP_UINT, 1);
  CHECK(rc == 0, "tower_lp_write: %d", rc);
  char *s = strdup(tower_buf_data(b));
  tower_buf_free(b);
  return s;
}

/* All metrics of a bag as line protocol, one after the other. */
static char *lp_of_bag(const bag *b) {
  tower_buf *out = tower_buf_new(0);
  for (size_t i = 0; i < b->n; i++)
    CHECK(tower_lp_write(b->m[i], out, TOWER_LP_UINT, 1) == 0, "write %zu", i);
  char *s = strdup(tower_buf_data(out));
  tower_buf_free(out);
  return s;
}

static bool metric_equal(const tower_metric *a, const tower_metric *b) {
  if (strcmp(tower_metric_name(a), tower_metric_name(b)) != 0 ||
      tower_metric_time(a) != tower_metric_time(b) ||
      tower_metric_tag_count(a) != tower_metric_tag_count(b) ||
      tower_metric_field_count(a) != tower_metric_field_count(b))
    return false;
  for (size_t i = 0; i < tower_metric_tag_count(a); i++)
    if (strcmp(tower_metric_tag_key(a, i), tower_metric_tag_key(b, i)) != 0 ||
        strcmp(tower_metric_tag_value(a, i), tower_metric_tag_value(b, i)) != 0)
      return false;
  for (size_t i = 0; i < tower_metric_field_count(a); i++) {
    tower_field_type t = tower_metric_field_type(a, i);
    if (strcmp(tower_metric_field_key(a, i), tower_metric_field_key(b, i)) != 0 ||
        t != tower_metric_field_type(b, i))
      return false;
    if (t == TOWER_FIELD_STRING) {
      if (strcmp(tower_metric_field_string(a, i), tower_metric_field_string(b, i)) != 0)
        return false;
    } else if (t == TOWER_FIELD_FLOAT) {
      double x = tower_metric_field_float(a, i), y = tower_metric_field_float(b, i);
      if (memcmp(&x, &y, sizeof x) != 0)
        return false;
    } else if (tower_metric_field_uint(a, i) != tower_metric_field_uint(b, i) ||
               tower_metric_field_int(a, i) != tower_metric_field_int(b, i) ||
               tower_metric_field_bool(a, i) != tower_metric_field_bool(b, i)) {
      return false;
    }
  }
  return true;
}

/* ---- parsing valid lines ---------------------------------------------- */

static const struct {
  const char *in;
  const char *out; /* canonical line protocol of the one metric */
} parse_cases[] = {
    {"cpu,host=server01,region=us-west usage_idle=98.2,usage_user=1.3 1700000000000000000",
     "cpu,host=server01,region=us-west usage_idle=98.2,usage_user=1.3 1700000000000000000\n"},
    {"cpu value=1", "cpu value=1\n"},
    {"cpu value=1 ", "cpu value=1\n"},
    {"cpu  value=1   123  ", "cpu value=1 123\n"},
    {" \t cpu value=1", "cpu value=1\n"},
    {"cpu,z=1,a=2 f=1", "cpu,a=2,z=1 f=1\n"},
    {"cpu,a=1,a=2 f=1", "cpu,a=2 f=1\n"},
    {"cpu f=1,f=2i,f=\"x\"", "cpu f=\"x\"\n"},
    {"cpu,a=1 f=1,g=2,f=3", "cpu,a=1 f=3,g=2\n"},
    /* measurement escapes: only "\," and "\ " */
    {"my\\ cpu\\,x f=1", "my\\ cpu\\,x f=1\n"},
    {"a=b f=1", "a=b f=1\n"},
    {"a\\=b f=1", "a\\=b f=1\n"},
    {"c\\pu f=1", "c\\pu f=1\n"},
    /* tag and field key escapes: "\,", "\=", "\ " */
    {"cpu,ta\\ g\\,x\\=y=v\\ a\\,l\\=ue f=1", "cpu,ta\\ g\\,x\\=y=v\\ a\\,l\\=ue f=1\n"},
    {"cpu,t=a\\b f=1", "cpu,t=a\\b f=1\n"},
    {"cpu,t=a\\\\,b f=1", "cpu,t=a\\\\,b f=1\n"}, /* "a\" then an escaped ',' */
    {"cpu f\\ x\\=y\\,z=1", "cpu f\\ x\\=y\\,z=1\n"},
    {"cpu,t=\"x\" f=1", "cpu,t=\"x\" f=1\n"},
    {"cpu,t=#x f=1", "cpu,t=#x f=1\n"},
    {"cpu \"f\"=1", "cpu \"f\"=1\n"},
    {"cpu,t=a\tb f=1", "cpu,t=a\tb f=1\n"},
    {"cpu,t=a\rb f=1", "cpu,t=a\rb f=1\n"},
    {"cpu,host=\xec\x84\x9c\xeb\xb2\x84 f=\"\xea\xb0\x92\"",
     "cpu,host=\xec\x84\x9c\xeb\xb2\x84 f=\"\xea\xb0\x92\"\n"},
    /* strings: only \" and \\ are escapes */
    {"cpu s=\"hello, world=1 \\\"q\\\" back\\\\slash\"",
     "cpu s=\"hello, world=1 \\\"q\\\" back\\\\slash\"\n"},
    {"cpu s=\"a\\b\"", "cpu s=\"a\\\\b\"\n"},
    {"cpu s=\"a\\\\\"", "cpu s=\"a\\\\\"\n"},
    {"cpu s=\"\"", "cpu s=\"\"\n"},
    {"cpu s=\" \"", "cpu s=\" \"\n"},
    {"cpu s=\"tab\there\"", "cpu s=\"tab\there\"\n"},
    {"cpu s=\"a,b=c d\",t=1", "cpu s=\"a,b=c d\",t=1\n"},
    /* booleans */
    {"cpu a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE",
     "cpu a=true,b=true,c=true,d=true,e=true,f=false,g=false,h=false,i=false,j=false\n"},
    /* integers */
    {"cpu a=-9223372036854775808i,b=9223372036854775807i,c=0i,d=-0i,e=007i",
     "cpu a=-9223372036854775808i,b=9223372036854775807i,c=0i,d=0i,e=7i\n"},
    {"cpu a=18446744073709551615u,b=0u", "cpu a=18446744073709551615u,b=0u\n"},
    /* floats */
    {"cpu a=1e3,b=-1.5E-3,c=.5,d=5.,e=-0,f=1.7976931348623157e308,g=4.9e-324,h=1e-400,i=000123",
     "cpu a=1000,b=-0.0015,c=0.5,d=5,e=-0,f=1.7976931348623157e+308,g=5e-324,h=0,i=123\n"},
    {"cpu a=0.1,b=1E+2,c=-.5e-1", "cpu a=0.1,b=100,c=-0.05\n"},
    /* timestamps */
    {"cpu f=1 -1", "cpu f=1 -1\n"},
    {"cpu f=1 0", "cpu f=1 0\n"},
    {"cpu f=1 9223372036854775807", "cpu f=1 9223372036854775807\n"},
    {"cpu f=1i 1", "cpu f=1i 1\n"},
    {"cpu f=\"x\" 5", "cpu f=\"x\" 5\n"},
};

START_TEST(test_parse_valid) {
  bag b = {0};
  const char *in = parse_cases[_i].in;
  uint64_t errors = parse_doc(in, strlen(in), &b);
  ck_assert_msg(errors == 0, "%s: %llu errors", in, (unsigned long long)errors);
  ck_assert_uint_eq(b.n, 1);
  char *s = lp_of(b.m[0]);
  ck_assert_str_eq(s, parse_cases[_i].out);
  free(s);
  bag_clear(&b);
}
END_TEST

/* Exact values and types, and the absent timestamp. */
START_TEST(test_parse_values) {
  const char *in = "m f=0.1,z=-0,e=1e3,i=-5i,u=5u,b=t,c=FALSE,s=\"a\\\"b\\\\c\\d\"";
  bag b = {0};
  ck_assert_uint_eq(parse_doc(in, strlen(in), &b), 0);
  ck_assert_uint_eq(b.n, 1);
  const tower_metric *m = b.m[0];
  ck_assert_str_eq(tower_metric_name(m), "m");
  ck_assert(tower_metric_time(m) == TOWER_TIME_UNSET);
  ck_assert_uint_eq(tower_metric_field_count(m), 8);
  ptrdiff_t i = tower_metric_field_index(m, "f");
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_FLOAT);
  ck_assert(tower_metric_field_float(m, (size_t)i) == 0.1);
  i = tower_metric_field_index(m, "z");
  ck_assert(signbit(tower_metric_field_float(m, (size_t)i)));
  i = tower_metric_field_index(m, "e");
  ck_assert(tower_metric_field_float(m, (size_t)i) == 1000.0);
  i = tower_metric_field_index(m, "i");
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_INT);
  ck_assert_int_eq(tower_metric_field_int(m, (size_t)i), -5);
  i = tower_metric_field_index(m, "u");
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_UINT);
  ck_assert_uint_eq(tower_metric_field_uint(m, (size_t)i), 5);
  i = tower_metric_field_index(m, "b");
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_BOOL);
  ck_assert(tower_metric_field_bool(m, (size_t)i));
  i = tower_metric_field_index(m, "c");
  ck_assert(!tower_metric_field_bool(m, (size_t)i));
  i = tower_metric_field_index(m, "s");
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_STRING);
  ck_assert_str_eq(tower_metric_field_string(m, (size_t)i), "a\"b\\c\\d");
  bag_clear(&b);

  in = "w\\ x\\,y,k\\ 1\\=\\,=v\\ 2\\=\\, f\\ 3\\=\\,=1";
  ck_assert_uint_eq(parse_doc(in, strlen(in), &b), 0);
  ck_assert_str_eq(tower_metric_name(b.m[0]), "w x,y");
  ck_assert_str_eq(tower_metric_tag_key(b.m[0], 0), "k 1=,");
  ck_assert_str_eq(tower_metric_tag_value(b.m[0], 0), "v 2=,");
  ck_assert_str_eq(tower_metric_field_key(b.m[0], 0), "f 3=,");
  bag_clear(&b);
}
END_TEST

static const char *const skip_cases[] = {
    "", " ", "\t", " \t ", "#", "# comment", "   # indented comment", "#cpu f=1", "\t#x",
};

START_TEST(test_parse_skips) {
  bag b = {0};
  const char *in = skip_cases[_i];
  ck_assert_uint_eq(parse_doc(in, strlen(in), &b), 0);
  ck_assert_uint_eq(b.n, 0);
}
END_TEST

/* ---- malformed lines --------------------------------------------------- */

static const struct {
  const char *in;
  size_t len; /* 0: strlen */
  unsigned col;
  const char *msg;
} error_cases[] = {
    {",t=1 f=1", 0, 1, "missing measurement name"},
    {"  ,t=1 f=1", 0, 3, "missing measurement name"},
    {"cpu", 0, 4, "missing fields"},
    {"cpu ", 0, 5, "missing fields"},
    {"cpu,t=1", 0, 8, "missing fields"},
    {"cpu,t=1 ", 0, 9, "missing fields"},
    {"cpu\\ f=1", 0, 9, "missing fields"},
    {"cpu, f=1", 0, 5, "expected tag key after ','"},
    {"cpu,=1 f=1", 0, 5, "expected tag key after ','"},
    {"cpu,t=1, f=1", 0, 9, "expected tag key after ','"},
    {"cpu,t f=1", 0, 6, "expected '=' after tag key \"t\""},
    {"cpu,t,u=1 f=1", 0, 6, "expected '=' after tag key \"t\""},
    {"cpu,t", 0, 6, "expected '=' after tag key \"t\""},
    {"cpu,t= f=1", 0, 7, "missing value for tag \"t\""},
    {"cpu,t=,u=1 f=1", 0, 7, "missing value for tag \"t\""},
    {"cpu,t=a=b f=1", 0, 8, "unescaped '=' in value of tag \"t\""},
    {"cpu,t=a\\ f=1", 0, 11, "unescaped '=' in value of tag \"t\""},
    {"cpu f", 0, 6, "expected '=' after field key \"f\""},
    {"cpu f,g=1", 0, 6, "expected '=' after field key \"f\""},
    {"cpu usage idle=1", 0, 10, "expected '=' after field key \"usage\""},
    {"cpu =1", 0, 5, "missing field key"},
    {"cpu f=1,", 0, 9, "missing field key"},
    {"cpu f=1,,g=2", 0, 9, "missing field key"},
    {"cpu f=1, g=2", 0, 9, "missing field key"},
    {"cpu f=", 0, 7, "missing value for field \"f\""},
    {"cpu f= 1", 0, 7, "missing value for field \"f\""},
    {"cpu f=,g=1", 0, 7, "missing value for field \"f\""},
    {"cpu f=nan", 0, 7,
     "invalid value \"nan\" for field \"f\": expected a number, a quoted string or a boolean"},
    {"cpu f=inf", 0, 7,
     "invalid value \"inf\" for field \"f\": expected a number, a quoted string or a boolean"},
    {"cpu f=+1", 0, 7,
     "invalid value \"+1\" for field \"f\": expected a number, a quoted string or a boolean"},
    {"cpu f=-inf", 0, 7, "invalid float value \"-inf\" for field \"f\""},
    {"cpu f=12x", 0, 7, "invalid float value \"12x\" for field \"f\""},
    {"cpu f=1.2.3", 0, 7, "invalid float value \"1.2.3\" for field \"f\""},
    {"cpu f=1e", 0, 7, "invalid float value \"1e\" for field \"f\""},
    {"cpu f=0x10", 0, 7, "invalid float value \"0x10\" for field \"f\""},
    {"cpu f=-", 0, 7, "invalid float value \"-\" for field \"f\""},
    {"cpu f=1e999", 0, 7, "float value \"1e999\" out of range for field \"f\""},
    {"cpu f=-1e999", 0, 7, "float value \"-1e999\" out of range for field \"f\""},
    {"cpu f=12xi", 0, 7, "invalid integer value \"12xi\" for field \"f\""},
    {"cpu f=1.5i", 0, 7, "invalid integer value \"1.5i\" for field \"f\""},
    {"cpu f=-i", 0, 7, "invalid integer value \"-i\" for field \"f\""},
    {"cpu f=9223372036854775808i", 0, 7,
     "integer value \"9223372036854775808i\" out of range for field \"f\""},
    {"cpu f=-9223372036854775809i", 0, 7,
     "integer value \"-9223372036854775809i\" out of range for field \"f\""},
    {"cpu f=-1u", 0, 7, "invalid unsigned value \"-1u\" for field \"f\""},
    {"cpu f=18446744073709551616u", 0, 7,
     "unsigned value \"18446744073709551616u\" out of range for field \"f\""},
    {"cpu f=tru", 0, 7, "invalid boolean value \"tru\" for field \"f\""},
    {"cpu f=trUe", 0, 7, "invalid boolean value \"trUe\" for field \"f\""},
    {"cpu f=t1", 0, 7, "invalid boolean value \"t1\" for field \"f\""},
    {"cpu f=\"abc", 0, 7, "unterminated string value for field \"f\""},
    {"cpu f=\"abc\\\"", 0, 7, "unterminated string value for field \"f\""},
    {"cpu f=\"", 0, 7, "unterminated string value for field \"f\""},
    {"cpu f=\"a\"x", 0, 10, "expected ',' or ' ' after value of field \"f\""},
    {"cpu f=\"a\"\"b\"", 0, 10, "expected ',' or ' ' after value of field \"f\""},
    {"cpu f=1 12a", 0, 9, "invalid timestamp \"12a\""},
    {"cpu f=1 1.5", 0, 9, "invalid timestamp \"1.5\""},
    {"cpu f=1 +1", 0, 9, "invalid timestamp \"+1\""},
    {"cpu f=1 9223372036854775808", 0, 9, "timestamp \"9223372036854775808\" out of range"},
    {"cpu f=1 -9223372036854775808", 0, 9, "timestamp \"-9223372036854775808\" out of range"},
    {"cpu f=1 1 2", 0, 11, "unexpected text after timestamp"},
    {"cpu f=1 1 \t", 0, 11, "unexpected text after timestamp"},
    {"c\0pu f=1", 8, 2, "NUL byte in line"},
    {"cpu,t=a\0b f=1", 14, 8, "NUL byte in line"},
    {"cpu,t\0=a f=1", 12, 6, "NUL byte in line"},
    {"cpu f\0=1", 8, 6, "NUL byte in line"},
    {"cpu f=\"a\0\"", 10, 9, "NUL byte in line"},
    {"cpu f=1\0", 8, 7, "invalid float value \"1\" for field \"f\""},
    /* keys are quoted up to 64 bytes in messages */
    {"cpu 0123456789012345678901234567890123456789012345678901234567890123456789", 0, 75,
     "expected '=' after field key \"0123456789012345678901234567890123456789012345678901234567"
     "890123\""},
};

START_TEST(test_parse_errors) {
  const char *in = error_cases[_i].in;
  size_t len = error_cases[_i].len ? error_cases[_i].len : strlen(in);
  tower_parser *p = new_parser();
  bag b = {0};
  ck_assert_int_eq(tower_parser_parse(p, in, len, collect, &b), 0);
  ck_assert_uint_eq(b.n, 0);
  ck_assert_uint_eq(tower_parser_errors(p), 1);
  char want[512];
  snprintf(want, sizeof want, "line 1, column %u: %s", error_cases[_i].col, error_cases[_i].msg);
  ck_assert_str_eq(tower_parser_last_error(p), want);
  tower_parser_free(p);
}
END_TEST

/* A bad line is skipped and the next one parses, with its line number. */
START_TEST(test_error_recovery) {
  const char *in = "a f=1\nb f=\nc f=3\n";
  tower_parser *p = new_parser();
  bag b = {0};
  ck_assert_int_eq(tower_parser_parse(p, in, strlen(in), collect, &b), 2);
  ck_assert_uint_eq(b.n, 2);
  ck_assert_str_eq(tower_metric_name(b.m[1]), "c");
  ck_assert_str_eq(tower_parser_last_error(p), "line 2, column 5: missing value for field \"f\"");
  bag_clear(&b);
  tower_parser_free(p);
}
END_TEST

/* 65535 tags or fields fit in a metric; one more is an error at the byte
 * where it starts. */
START_TEST(test_item_limits) {
  size_t n = 65536, len = 1 + 4 * n + 4;
  char *line = malloc(len + 1);
  line[0] = 'm';
  for (size_t i = 0; i < n; i++)
    memcpy(line + 1 + 4 * i, ",a=1", 4);
  memcpy(line + 1 + 4 * n, " f=1", 4);
  tower_parser *p = new_parser();
  bag b = {0};
  ck_assert_int_eq(tower_parser_parse(p, line, len, collect, &b), 0);
  ck_assert_str_eq(tower_parser_last_error(p),
                   "line 1, column 262142: too many tags: a metric holds at most 65535");
  ck_assert_int_eq(tower_parser_parse(p, line + 4, len - 4, collect, &b), 1); /* 65535 */
  ck_assert_uint_eq(tower_metric_tag_count(b.m[0]), 1);
  bag_clear(&b);
  /* fields: "m f=1,f=1,...,f=1" */
  memcpy(line + 1, " f=1", 4);
  for (size_t i = 1; i < n; i++)
    memcpy(line + 1 + 4 * i, ",f=1", 4);
  size_t flen = 1 + 4 * n;
  ck_assert_int_eq(tower_parser_parse(p, line, flen, collect, &b), 0);
  ck_assert_str_eq(tower_parser_last_error(p),
                   "line 1, column 262143: too many fields: a metric holds at most 65535");
  bag_clear(&b);
  tower_parser_free(p);
  free(line);
}
END_TEST

/* ---- timestamp precision ---------------------------------------------- */

START_TEST(test_precision) {
  tower_parser *p = new_parser();
  bag b = {0};
  ck_assert_int_eq(twi_influx_set_precision(p, 7), -EINVAL);
  ck_assert_int_eq(twi_influx_set_precision(p, 1000000000), 0);
  const char *in = "m f=1 1700000000\nm f=1 9300000000\nm f=1\n";
  ck_assert_int_eq(tower_parser_parse(p, in, strlen(in), collect, &b), 2);
  ck_assert_int_eq(tower_metric_time(b.m[0]), 1700000000000000000);
  ck_assert(tower_metric_time(b.m[1]) == TOWER_TIME_UNSET);
  ck_assert_str_eq(tower_parser_last_error(p),
                   "line 2, column 7: timestamp \"9300000000\" out of range");
  bag_clear(&b);
  ck_assert_int_eq(twi_influx_set_precision(p, 1000), 0);
  ck_assert_int_eq(tower_parser_parse(p, "m f=1 -1", 8, collect, &b), 1);
  ck_assert_int_eq(tower_metric_time(b.m[0]), -1000);
  bag_clear(&b);
  ck_assert_int_eq(twi_influx_set_precision(p, 1000000), 0);
  ck_assert_int_eq(tower_parser_parse(p, "m f=1 1700000000123", 19, collect, &b), 1);
  ck_assert_int_eq(tower_metric_time(b.m[0]), 1700000000123000000);
  bag_clear(&b);
  tower_parser_free(p);
}
END_TEST

/* ---- streaming -------------------------------------------------------- */

static const char stream_text[] = "cpu,host=a usage=1 1\n"
                                  "# comment\n"
                                  "\n"
                                  "cpu,host=b usage=2i,s=\"x y\" 2\r\n"
                                  "bad line\n"
                                  "mem free=1u\n"
                                  "  \n"
                                  "disk,path=/var\\ log used=0.5,ok=true 3\n"
                                  "cpu f=\"unterminated\n"
                                  "net bytes=12345678901234i 4\r\n"
                                  "\r\n"
                                  "last f=1";

/* Feeds text cut at the given points (ascending) and ends the document. */
static uint64_t feed_cut(const char *text, size_t len, const size_t *cuts, size_t ncuts, bag *b,
                         size_t max_line) {
  tower_parser *p = new_parser();
  if (max_line)
    p->max_line = max_line;
  size_t at = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    CHECK(tower_parser_feed(p, text + at, end - at, collect, b) >= 0, "feed");
    at = end;
  }
  CHECK(tower_parser_end(p, collect, b) >= 0, "end");
  uint64_t errors = tower_parser_errors(p);
  tower_parser_free(p);
  return errors;
}

/* Every way of cutting the text in two, and in three around each
 * position, gives the metrics and errors of the whole. */
static void check_all_cuts(const char *text, size_t len, size_t max_line) {
  bag b = {0};
  uint64_t want_errors = feed_cut(text, len, NULL, 0, &b, max_line);
  char *want = lp_of_bag(&b);
  size_t want_n = b.n;
  bag_clear(&b);
  for (size_t cut = 0; cut <= len; cut++) {
    for (size_t second = cut; second <= len && second <= cut + 3; second++) {
      size_t cuts[2] = {cut, second};
      uint64_t errors = feed_cut(text, len, cuts, 2, &b, max_line);
      char *got = lp_of_bag(&b);
      CHECK(errors == want_errors && b.n == want_n && strcmp(got, want) == 0,
            "cut at %zu,%zu: %llu errors, got\n%s\nwant\n%s", cut, second,
            (unsigned long long)errors, got, want);
      free(got);
      bag_clear(&b);
    }
  }
  free(want);
}

START_TEST(test_stream_cuts) {
  bag b = {0};
  uint64_t errors = feed_cut(stream_text, strlen(stream_text), NULL, 0, &b, 0);
  ck_assert_uint_eq(errors, 2);
  char *all = lp_of_bag(&b);
  ck_assert_str_eq(all, "cpu,host=a usage=1 1\n"
                        "cpu,host=b s=\"x y\",usage=2i 2\n"
                        "mem free=1u\n"
                        "disk,path=/var\\ log ok=true,used=0.5 3\n"
                        "net bytes=12345678901234i 4\n"
                        "last f=1\n");
  free(all);
  bag_clear(&b);
  check_all_cuts(stream_text, strlen(stream_text), 0);
}
END_TEST

START_TEST(test_stream_bytewise) {
  size_t len = strlen(stream_text);
  size_t cuts[sizeof stream_text];
  for (size_t i = 0; i < len; i++)
    cuts[i] = i + 1;
  bag b = {0};
  ck_assert_uint_eq(feed_cut(stream_text, len, cuts, len - 1, &b, 0), 2);
  ck_assert_uint_eq(b.n, 6);
  bag_clear(&b);
}
END_TEST

/* A line over max_line is reported once and skipped; the next one parses,
 * however the input is cut. */
START_TEST(test_overlong_line) {
  char text[512];
  int n = snprintf(text, sizeof text, "ok f=1\n%0100d f=1\nafter f=2\n%0200d\nend f=3", 0, 0);
  tower_parser *p = new_parser();
  p->max_line = 64;
  bag b = {0};
  ck_assert_int_eq(tower_parser_parse(p, text, (size_t)n, collect, &b), 3);
  ck_assert_uint_eq(tower_parser_errors(p), 2);
  ck_assert_str_eq(tower_parser_last_error(p), "line 4: line longer than 64 bytes; skipped");
  ck_assert_str_eq(tower_metric_name(b.m[1]), "after");
  ck_assert_str_eq(tower_metric_name(b.m[2]), "end");
  bag_clear(&b);
  tower_parser_free(p);
  check_all_cuts(text, (size_t)n, 64);
}
END_TEST

START_TEST(test_crlf) {
  const char *in = "a f=1\r\nb f=2 5\r\nc f=\"x\"\r\nd,t=v f=t\r\n";
  bag b = {0};
  ck_assert_uint_eq(parse_doc(in, strlen(in), &b), 0);
  char *s = lp_of_bag(&b);
  ck_assert_str_eq(s, "a f=1\nb f=2 5\nc f=\"x\"\nd,t=v f=true\n");
  free(s);
  bag_clear(&b);
}
END_TEST

/* ---- round trips ------------------------------------------------------ */

static const char *const roundtrip_corpus[] = {
    "cpu,cpu=cpu0,host=server01 usage_guest=0,usage_idle=98.2,usage_user=1.3 1700000000000000000",
    "my\\ cpu\\,x,ta\\ g\\,x\\=y=v\\ a\\,l\\=ue f\\ x\\=y\\,z=1",
    "a\\=b,c\\d=e\\f g\\h=1",
    "w\\\\\\ x,t=a\\\\\\,b s=\"\\\\\\\"\" -5",
    "cpu,t=a\\\\,b f=1",
    "c\\pu,k\\x=v\\y f\\z=\"a\\b\\\\c\\\"d\"",
    "m s=\"\",t=\" \",u=\"\\\\\"",
    "m s=\"line1\\nline2\"",
    "m,t=\"x\" \"f\"=\"\\\"\" 0",
    "m,t=#x f=1",
    "m,t=a\tb,u=a\rb f=\"tab\there\"",
    "m,host=\xec\x84\x9c\xeb\xb2\x84 f=\"\xea\xb0\x92\"",
    "m a=-9223372036854775808i,b=9223372036854775807i,c=18446744073709551615u",
    "m a=1e3,b=-1.5E-3,c=.5,d=5.,e=-0,f=1.7976931348623157e308,g=4.9e-324",
    "m a=0.1,b=0.30000000000000004,c=1e21,d=1e-7,e=123456789012345678",
    "m a=t,b=F,c=true,d=FALSE",
    "m f=1,f=2,g=\"x\",g=3i",
    "m,z=1,a=2,z=3 f=1",
    "m f=1 -9223372036854775807",
    "m f=1 9223372036854775807",
    "  m f=1   ",
    "m\\  f=1",
    "\\ m f=1",
    "m,t=\\  f=1",
    "m,\\ =v f=1",
    "m \\,=1",
    "m,\\==\\= f=1",
    "=,k=v \\==1",
    "m\\,,t=v f=1",
    "# not a comment\\,x f=1",
};

START_TEST(test_roundtrip) {
  const char *in = roundtrip_corpus[_i];
  bag b1 = {0}, b2 = {0};
  uint64_t errors = parse_doc(in, strlen(in), &b1);
  if (in[0] == '#') { /* a comment, whatever follows */
    ck_assert_uint_eq(b1.n, 0);
    return;
  }
  ck_assert_msg(errors == 0 && b1.n == 1, "%s: %llu errors", in, (unsigned long long)errors);
  char *s1 = lp_of(b1.m[0]);
  ck_assert_uint_eq(parse_doc(s1, strlen(s1), &b2), 0);
  ck_assert_uint_eq(b2.n, 1);
  ck_assert_msg(metric_equal(b1.m[0], b2.m[0]), "%s -> %s", in, s1);
  char *s2 = lp_of(b2.m[0]);
  ck_assert_str_eq(s1, s2);
  free(s1);
  free(s2);
  bag_clear(&b1);
  bag_clear(&b2);
}
END_TEST

/* Every byte but NUL and newline survives serialize -> parse in every
 * position of a metric (a backslash not last: trailing ones are dropped). */
START_TEST(test_roundtrip_every_byte) {
  for (int c = 1; c < 256; c++) {
    if (c == '\n')
      continue;
    char name[8], tk[8], tv[8], fk[8], sv[8];
    const char *end = c == '\\' ? "q" : "";
    snprintf(name, sizeof name, "a%cz", c);
    snprintf(tk, sizeof tk, "k%c%s", c, end);
    snprintf(tv, sizeof tv, "%cv%c%s", c, c, end);
    snprintf(fk, sizeof fk, "%cf", c);
    snprintf(sv, sizeof sv, "%cs%c", c, c);
    tower_metric *m = tower_metric_new(name, c);
    tower_metric_add_tag(m, tk, tv);
    tower_metric_add_string(m, fk, sv);
    tower_metric_add_float(m, "x", c / 7.0);
    char *s = lp_of(m);
    bag b = {0};
    CHECK(parse_doc(s, strlen(s), &b) == 0 && b.n == 1, "byte %d: %s", c, s);
    CHECK(metric_equal(m, b.m[0]), "byte %d: %s", c, s);
    bag_clear(&b);
    free(s);
    tower_metric_free(m);
  }
}
END_TEST

/* ---- serializer ------------------------------------------------------- */

/* Writes m with flags/precision after "<" and compares what was appended. */
static void expect_lp(const tower_metric *m, unsigned flags, int64_t prec, int rc,
                      const char *want) {
  tower_buf *b = tower_buf_new(0);
  tower_buf_append_str(b, "<");
  ck_assert_int_eq(tower_lp_write(m, b, flags, prec), rc);
  ck_assert_str_eq(tower_buf_data(b) + 1, want);
  tower_buf_free(b);
}

static tower_metric *metric1(const char *name, const char *field, double v) {
  tower_metric *m = tower_metric_new(name, TOWER_TIME_UNSET);
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(tower_metric_add_float(m, field, v), 0);
  return m;
}

static const struct {
  const char *name;
  int rc;
  const char *want;
} name_cases[] = {
    {"my cpu,x", 0, "my\\ cpu\\,x f=1\n"},
    {"a=b\"c", 0, "a=b\"c f=1\n"},
    {"cpu\\", 0, "cpu f=1\n"},
    {"cpu\\\\", 0, "cpu f=1\n"},
    {"c\\pu", 0, "c\\pu f=1\n"},
    {"a\nb", 0, "a\\nb f=1\n"},
    {" cpu", 0, "\\ cpu f=1\n"},
    {"a\tb\r", 0, "a\tb\r f=1\n"},
    {"c#", 0, "c# f=1\n"},
    {"\\", -EINVAL, ""},
    {"#cpu", -EINVAL, ""},
    {"\tcpu", -EINVAL, ""},
};

START_TEST(test_write_names) {
  tower_metric *m = metric1(name_cases[_i].name, "f", 1);
  expect_lp(m, 0, 1, name_cases[_i].rc, name_cases[_i].want);
  tower_metric_free(m);
}
END_TEST

static const struct {
  const char *k, *v;
  const char *want;
} tag_cases[] = {
    {"k ,=", "v ,=", "m,k\\ \\,\\==v\\ \\,\\= f=1\n"},
    {"t", "v\\", "m,t=v f=1\n"},
    {"t\\", "v", "m,t=v f=1\n"},
    {"t", "a\\b", "m,t=a\\b f=1\n"},
    {"t", "a\\,b", "m,t=a\\\\,b f=1\n"},
    {"t", "\\", "m f=1\n"},
    {"\\\\", "v", "m f=1\n"},
    {"t", "a\nb", "m,t=a\\nb f=1\n"},
    {"t", "\"q\"", "m,t=\"q\" f=1\n"},
};

START_TEST(test_write_tags) {
  tower_metric *m = metric1("m", "f", 1);
  ck_assert_int_eq(tower_metric_add_tag(m, tag_cases[_i].k, tag_cases[_i].v), 0);
  expect_lp(m, 0, 1, 0, tag_cases[_i].want);
  tower_metric_free(m);
}
END_TEST

START_TEST(test_write_fields) {
  tower_metric *m = tower_metric_new("m", TOWER_TIME_UNSET);
  tower_metric_add_float(m, "a nan", NAN);
  tower_metric_add_float(m, "b", 0.1);
  tower_metric_add_float(m, "c inf", -INFINITY);
  tower_metric_add_float(m, "d", -0.0);
  tower_metric_add_float(m, "e", 1e21);
  tower_metric_add_int(m, "f", INT64_MIN);
  tower_metric_add_uint(m, "g", UINT64_MAX);
  tower_metric_add_uint(m, "h", 5);
  tower_metric_add_bool(m, "i", true);
  tower_metric_add_bool(m, "j", false);
  tower_metric_add_string(m, "k", "a\"b\\c\nd\te");
  tower_metric_add_float(m, "l\\", 2);
  tower_metric_add_float(m, "\\", 3);
  tower_metric_add_string(m, "m,=", "");
  expect_lp(m, 0, 1, 0,
            "m b=0.1,d=-0,e=1e+21,f=-9223372036854775808i,g=9223372036854775807i,h=5i,i=true,"
            "j=false,k=\"a\\\"b\\\\c\\nd\te\",l=2,m\\,\\==\"\"\n");
  expect_lp(m, TOWER_LP_UINT, 1, 0,
            "m b=0.1,d=-0,e=1e+21,f=-9223372036854775808i,g=18446744073709551615u,h=5u,i=true,"
            "j=false,k=\"a\\\"b\\\\c\\nd\te\",l=2,m\\,\\==\"\"\n");
  tower_metric_free(m);
}
END_TEST

/* No representable field: -EINVAL and nothing appended. */
START_TEST(test_write_no_fields) {
  tower_metric *m = tower_metric_new("m", 5);
  tower_metric_add_tag(m, "t", "v");
  expect_lp(m, 0, 1, -EINVAL, "");
  tower_metric_add_float(m, "nan", NAN);
  tower_metric_add_float(m, "inf", INFINITY);
  tower_metric_add_int(m, "\\", 1);
  expect_lp(m, 0, 1, -EINVAL, "");
  tower_metric_add_int(m, "ok", 1);
  expect_lp(m, 0, 1, 0, "m,t=v ok=1i 5\n");
  tower_metric_free(m);
}
END_TEST

START_TEST(test_write_time) {
  tower_metric *m = metric1("m", "f", 1);
  expect_lp(m, 0, 1, 0, "m f=1\n");
  tower_metric_set_time(m, 1700000000123456789);
  expect_lp(m, 0, 1, 0, "m f=1 1700000000123456789\n");
  expect_lp(m, 0, 0, 0, "m f=1 1700000000123456789\n");
  expect_lp(m, 0, 1000, 0, "m f=1 1700000000123456\n");
  expect_lp(m, 0, 1000000000, 0, "m f=1 1700000000\n");
  expect_lp(m, TOWER_LP_NO_TIME, 1, 0, "m f=1\n");
  tower_metric_set_time(m, -1);
  expect_lp(m, 0, 1000000000, 0, "m f=1 -1\n");
  tower_metric_set_time(m, INT64_MIN + 1);
  expect_lp(m, 0, 1, 0, "m f=1 -9223372036854775807\n");
  tower_metric_free(m);
}
END_TEST

/* The format's serializer: defaults, appending. */
START_TEST(test_serializer) {
  tower_serializer *s = NULL;
  ck_assert_int_eq(tower_serializer_new_format(NULL, "influx", &s), 0);
  tower_metric *m = tower_metric_new("m", 7);
  tower_metric_add_uint(m, "u", UINT64_MAX);
  tower_buf *b = tower_buf_new(0);
  ck_assert_int_eq(tower_serialize(s, m, b), 0);
  ck_assert_int_eq(tower_serialize(s, m, b), 0);
  ck_assert_str_eq(tower_buf_data(b), "m u=9223372036854775807i 7\nm u=9223372036854775807i 7\n");
  tower_metric_free(m);
  m = metric1("m", "nan", NAN);
  ck_assert_int_eq(tower_serialize(s, m, b), -EINVAL);
  ck_assert_uint_eq(tower_buf_len(b), 54);
  tower_metric_free(m);
  tower_buf_free(b);
  tower_serializer_free(s);
}
END_TEST

/* ---- allocations ------------------------------------------------------ */

#include "malloc_count.h"

#ifndef NO_MALLOC_COUNT
static int free_sink(void *ctx, tower_metric *m) {
  (void)ctx;
  tower_metric_free(m);
  return 0;
}
#endif

/* One allocation per parsed metric, escapes and strings included. (No
 * malformed line here: reporting one goes through the logger, whose
 * allocations are its own business.) */
START_TEST(test_one_malloc_per_metric) {
#ifdef NO_MALLOC_COUNT
  return;
#else
  const char *vg = getenv("LD_PRELOAD");
  if (vg && strstr(vg, "vgpreload"))
    return;
  static const char doc[] =
      "cpu,host=server01,region=us-west usage_idle=98.2,usage_user=1.3 1700000000000000000\n"
      "w\\ x,k\\ 1=v\\,2 f\\=3=1,s=\"a \\\"quoted\\\" string\",i=-5i,u=7u,b=true 1\n"
      "dup,a=1,a=2 f=1,f=\"x\",f=2i\n";
  tower_parser *p = new_parser();
  /* warm up: the parser's token table grows once */
  ck_assert_int_eq(tower_parser_parse(p, doc, sizeof doc - 1, free_sink, NULL), 3);
  unsigned long before = nallocs;
  for (int i = 0; i < 100; i++)
    CHECK(tower_parser_parse(p, doc, sizeof doc - 1, free_sink, NULL) == 3, "parse");
  ck_assert_uint_eq(nallocs - before, 300);
  tower_parser_free(p);
#endif
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

START_TEST(test_config_precision) {
  twi_conf *conf;
  twi_diag d = {0};
  tower_config *cfg =
      config_from("block = { data_format = \"influx\"; influx_timestamp_precision = \"1s\"; };",
                  true, &conf, &d);
  ck_assert_msg(cfg != NULL, "%s", d.text);
  tower_parser *p = NULL;
  ck_assert_int_eq(tower_parser_new(NULL, cfg, &p), 0);
  bag b = {0};
  ck_assert_int_eq(tower_parser_parse(p, "m f=1 1700000000", 16, collect, &b), 1);
  ck_assert_int_eq(tower_metric_time(b.m[0]), 1700000000000000000);
  bag_clear(&b);
  tower_parser_free(p);
  twi_config_free(cfg);
  twi_conf_unref(conf);

  /* within the option's bounds, but not a unit of its own */
  cfg = config_from("block = { influx_timestamp_precision = \"10ms\"; };", true, &conf, &d);
  ck_assert_msg(cfg != NULL, "%s", d.text);
  p = NULL;
  ck_assert_int_eq(tower_parser_new(NULL, cfg, &p), -EINVAL);
  ck_assert_ptr_null(p);
  twi_config_free(cfg);
  twi_conf_unref(conf);

  /* past the bounds: the config check stops it */
  cfg = config_from("block = { influx_timestamp_precision = \"2s\"; };", true, &conf, &d);
  ck_assert_ptr_null(cfg);
  ck_assert_ptr_nonnull(strstr(d.text, "influx_timestamp_precision"));
  twi_diag_free(&d);
  twi_conf_unref(conf);
}
END_TEST

START_TEST(test_config_serializer) {
  twi_conf *conf;
  twi_diag d = {0};
  tower_config *cfg = config_from("block = { influx_uint_support = true; "
                                  "influx_omit_timestamp = true; };",
                                  false, &conf, &d);
  ck_assert_msg(cfg != NULL, "%s", d.text);
  tower_serializer *s = NULL;
  ck_assert_int_eq(tower_serializer_new(NULL, cfg, &s), 0);
  tower_metric *m = tower_metric_new("m", 5);
  tower_metric_add_uint(m, "u", UINT64_MAX);
  tower_buf *b = tower_buf_new(0);
  ck_assert_int_eq(tower_serialize(s, m, b), 0);
  ck_assert_str_eq(tower_buf_data(b), "m u=18446744073709551615u\n");
  tower_buf_free(b);
  tower_metric_free(m);
  tower_serializer_free(s);
  twi_config_free(cfg);
  twi_conf_unref(conf);
}
END_TEST

/* ---- suite ------------------------------------------------------------ */

#define N(a) (sizeof(a) / sizeof((a)[0]))

static Suite *lineprotocol_suite(void) {
  Suite *s = suite_create("lineprotocol");
  TCase *tc = tcase_create("parse");
  tcase_add_loop_test(tc, test_parse_valid, 0, N(parse_cases));
  tcase_add_test(tc, test_parse_values);
  tcase_add_loop_test(tc, test_parse_skips, 0, N(skip_cases));
  tcase_add_loop_test(tc, test_parse_errors, 0, N(error_cases));
  tcase_add_test(tc, test_error_recovery);
  tcase_add_test(tc, test_item_limits);
  tcase_add_test(tc, test_precision);
  tcase_add_test(tc, test_one_malloc_per_metric);
  suite_add_tcase(s, tc);
  tc = tcase_create("stream");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_stream_cuts);
  tcase_add_test(tc, test_stream_bytewise);
  tcase_add_test(tc, test_overlong_line);
  tcase_add_test(tc, test_crlf);
  suite_add_tcase(s, tc);
  tc = tcase_create("serialize");
  tcase_add_loop_test(tc, test_write_names, 0, N(name_cases));
  tcase_add_loop_test(tc, test_write_tags, 0, N(tag_cases));
  tcase_add_test(tc, test_write_fields);
  tcase_add_test(tc, test_write_no_fields);
  tcase_add_test(tc, test_write_time);
  tcase_add_test(tc, test_serializer);
  suite_add_tcase(s, tc);
  tc = tcase_create("roundtrip");
  tcase_add_loop_test(tc, test_roundtrip, 0, N(roundtrip_corpus));
  tcase_add_test(tc, test_roundtrip_every_byte);
  suite_add_tcase(s, tc);
  tc = tcase_create("config");
  tcase_add_test(tc, test_config_precision);
  tcase_add_test(tc, test_config_serializer);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return check_run(lineprotocol_suite());
}
