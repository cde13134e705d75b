/* Prometheus text exposition: the "prometheus" parser and serializer
 * (core/format/format_prometheus*.c) and the metric -> series mapping they share
 * with the prometheus output (core/format/format_prom_map.c). The last case pipes the
 * serializer's output through `promtool check metrics` (Debian package
 * prometheus), which CI installs: it fails rather than skips without it. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tower/format.h>

#include "conf.h"
#include "config_view.h"
#include "format_internal.h"
#include "format_prometheus.h"
#include "check_run.h"

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ck_abort_msg(__VA_ARGS__);                                                                   \
  } while (0)

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---------------------------------------------------------- */

#define BAG_MAX 20000

typedef struct bag {
  tower_metric **m;
  size_t n;
} bag;

static int collect(void *ctx, tower_metric *m) {
  bag *b = ctx;
  if (!b->m)
    b->m = calloc(BAG_MAX, sizeof *b->m);
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
  free(b->m);
  b->m = NULL;
  b->n = 0;
}

static tower_parser *new_parser(void) {
  tower_parser *p = NULL;
  ck_assert_int_eq(tower_parser_new_format(NULL, "prometheus", &p), 0);
  ck_assert_ptr_nonnull(p);
  return p;
}

static const char *type_name(tower_value_type t) {
  static const char *const names[] = {"untyped", "counter", "gauge", "summary", "histogram"};
  return (unsigned)t < N(names) ? names[t] : "?";
}

/* A metric as one line: "type name,tag=value field=value,... @ns". */
static void dump_metric(tower_buf *out, const tower_metric *m) {
  tower_buf_printf(out, "%s %s", type_name(tower_metric_type(m)), tower_metric_name(m));
  for (size_t i = 0; i < tower_metric_tag_count(m); i++)
    tower_buf_printf(out, ",%s=%s", tower_metric_tag_key(m, i), tower_metric_tag_value(m, i));
  for (size_t i = 0; i < tower_metric_field_count(m); i++) {
    tower_buf_printf(out, "%c%s=", i ? ',' : ' ', tower_metric_field_key(m, i));
    tower_field_type t = tower_metric_field_type(m, i);
    if (t == TOWER_FIELD_STRING)
      tower_buf_printf(out, "\"%s\"", tower_metric_field_string(m, i));
    else if (t == TOWER_FIELD_FLOAT)
      tower_format_float(out, tower_metric_field_float(m, i));
    else
      tower_buf_printf(out, "<type %d>", (int)t);
  }
  if (tower_metric_time(m) != TOWER_TIME_UNSET)
    tower_buf_printf(out, " @%lld", (long long)tower_metric_time(m));
  tower_buf_append_str(out, "\n");
}

static char *dump_bag(const bag *b) {
  tower_buf *out = tower_buf_new(0);
  for (size_t i = 0; i < b->n; i++)
    dump_metric(out, b->m[i]);
  char *s = strdup(tower_buf_data(out));
  tower_buf_free(out);
  return s;
}

/* Parses text whole with a fresh parser into b; returns the error count. */
static uint64_t parse_doc(const char *text, size_t len, bag *b) {
  tower_parser *p = new_parser();
  int n = tower_parser_parse(p, text, len, collect, b);
  CHECK(n >= 0, "parse failed: %d", n);
  uint64_t errors = tower_parser_errors(p);
  tower_parser_free(p);
  return errors;
}

/* The dump of what text parses into; *errors gets the error count. */
static char *parse_dump(const char *text, size_t len, uint64_t *errors) {
  bag b = {0};
  uint64_t e = parse_doc(text, len, &b);
  if (errors)
    *errors = e;
  char *s = dump_bag(&b);
  bag_clear(&b);
  return s;
}

/* ---- parsing valid documents ------------------------------------------ */

static const struct {
  const char *in;
  const char *out;
} parse_cases[] = {
    /* simple types */
    {"# TYPE a counter\na{x=\"1\"} 5 1000\n", "counter a,x=1 counter=5 @1000000000\n"},
    {"# TYPE g gauge\ng 1.5\nu 2\n# TYPE v untyped\nv -3\n",
     "gauge g gauge=1.5\nuntyped u value=2\nuntyped v value=-3\n"},
    {"# HELP http_requests_total The total number of HTTP requests.\n"
     "# TYPE http_requests_total counter\n"
     "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
     "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n",
     "counter http_requests_total,code=200,method=post counter=1027 @1395066363000000000\n"
     "counter http_requests_total,code=400,method=post counter=3 @1395066363000000000\n"},
    /* label syntax and escapes */
    {"m{a=\"x\\\\y\",b=\"q\\\"q\",c=\"l\\nl\"} 1", "untyped m,a=x\\y,b=q\"q,c=l\nl value=1\n"},
    {"m { a = \"1\" , b=\"2\", } 1", "untyped m,a=1,b=2 value=1\n"},
    {"m{a=\"1\",}1", "untyped m,a=1 value=1\n"},
    {"m{} 1", "untyped m value=1\n"},
    {"\t m\t{\ta=\"1\"}\t2\t3\t", "untyped m,a=1 value=2 @3000000\n"},
    {"m{b=\"2\",a=\"1\",_c=\"3\"} 1", "untyped m,_c=3,a=1,b=2 value=1\n"},
    {"m{a=\"\",b=\"2\"} 1", "untyped m,b=2 value=1\n"},
    {"m{a=\"\xec\x84\x9c\xeb\xb2\x84 \xf0\x9f\x93\x88\"} 1",
     "untyped m,a=\xec\x84\x9c\xeb\xb2\x84 \xf0\x9f\x93\x88 value=1\n"},
    {"m{a=\"{},=\\\" #\"} 1", "untyped m,a={},=\" # value=1\n"},
    {"a:b:c 1\n:x 2\n_ 3\n", "untyped a:b:c value=1\nuntyped :x value=2\nuntyped _ value=3\n"},
    /* values, as Go's ParseFloat reads them; NaN gives no metric */
    {"m 1e3\nm .5\nm +5\nm -0\nm 5.\nm 1E-2\nm 007\nm 1e-400\n",
     "untyped m value=1000\nuntyped m value=0.5\nuntyped m value=5\nuntyped m value=-0\n"
     "untyped m value=5\nuntyped m value=0.01\nuntyped m value=7\nuntyped m value=0\n"},
    {"m Inf\nm +inf\nm -Infinity\nm INF\nm NaN\nm nan\n",
     "untyped m value=+Inf\nuntyped m value=+Inf\nuntyped m value=-Inf\nuntyped m value=+Inf\n"},
    {"# TYPE c counter\nc NaN\n# TYPE g gauge\ng NaN 5\n", ""},
    /* timestamps: ms; <= 0 means none (Telegraf takes the current time) */
    {"m 1 0\nm 1 -5\nm 1 +7\nm 1 9223372036854\n",
     "untyped m value=1\nuntyped m value=1\nuntyped m value=1 @7000000\n"
     "untyped m value=1 @9223372036854000000\n"},
    /* HELP, TYPE and comments */
    {"#TYPE x gauge\nx 1\n", "gauge x gauge=1\n"},
    {"# TYPE x GAUGE\nx 1\n", "gauge x gauge=1\n"},
    {"#  TYPE\tx\tCounter  \nx 1\n", "counter x counter=1\n"},
    {"# type x gauge\nx 1\n", "untyped x value=1\n"},
    {"# HELP x\nx 1\n# TYPE y\ny 2\n# TYPE z \nz 3\n",
     "untyped x value=1\nuntyped y value=2\nuntyped z value=3\n"},
    {"# HELP x some text\n# TYPE x gauge\nx 1\n", "gauge x gauge=1\n"},
    {"# HELP x a\\\\b\\nc \\\"q\\\" \\\\t\n", ""},
    {"# comment\n  # indented comment\n\n \t \n#\nx 1\n", "untyped x value=1\n"},
    {"x 1\r\n# TYPE y gauge\r\ny 2\r\n", "untyped x value=1\ngauge y gauge=2\n"},
    /* histogram: bounds named as Go's %v, counts truncated, sum/count */
    {"# TYPE h histogram\n"
     "h_bucket{le=\"0.1\"} 1\n"
     "h_bucket{le=\"125000\"} 2\n"
     "h_bucket{le=\"1e6\"} 2.9\n"
     "h_bucket{le=\"1234567\"} 2.9\n"
     "h_bucket{le=\"+Inf\"} 3\n"
     "h_sum 4.5\n"
     "h_count 3.99\n",
     "histogram h +Inf=3,0.1=1,1.234567e+06=2,125000=2,1e+06=2,count=3,sum=4.5\n"},
    /* interleaved series, several label sets, no +Inf (the parser adds
     * none), labels in any order */
    {"# TYPE h histogram\n"
     "h_bucket{a=\"1\",le=\"1\"} 1\n"
     "h_bucket{le=\"1\",a=\"2\"} 5\n"
     "h_sum{a=\"1\"} 2\n"
     "h_bucket{a=\"2\",le=\"2\"} 6\n"
     "h_count{a=\"2\"} 6\n"
     "h_bucket{a=\"1\",le=\"2\"} 2\n"
     "h_count{a=\"1\"} 2\n"
     "h_sum{a=\"2\"} 7\n",
     "histogram h,a=1 1=1,2=2,count=2,sum=2\nhistogram h,a=2 1=5,2=6,count=6,sum=7\n"},
    /* the last timestamp of a series wins */
    {"# TYPE h histogram\nh_bucket{le=\"1\"} 1 1000\nh_sum 1 2000\nh_count 1\n",
     "histogram h 1=1,count=1,sum=1 @2000000000\n"},
    /* a repeated bound keeps the last value; 0 and -0 are two fields */
    {"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1.0\"} 2\n"
     "h_bucket{le=\"0\"} 3\nh_bucket{le=\"-0\"} 4\n",
     "histogram h -0=4,0=3,1=2,count=0,sum=0\n"},
    /* a line named as the family with an le is a bucket; without, it only
     * makes the series */
    {"# TYPE h histogram\nh{le=\"1\"} 3\nh_bucket{x=\"y\"} 1\n",
     "histogram h 1=3,count=0,sum=0\nhistogram h,x=y count=0,sum=0\n"},
    /* le/quantile only count in their family type */
    {"m{le=\"1\",quantile=\"0.5\"} 1\n", "untyped m,le=1,quantile=0.5 value=1\n"},
    {"# TYPE h histogram\nh_bucket{quantile=\"x\",le=\"1\"} 1\n",
     "histogram h,quantile=x 1=1,count=0,sum=0\n"},
    /* summary: quantiles named as Go's %v, NaN values skipped */
    {"# TYPE s summary\n"
     "s{quantile=\"0.5\"} 1\n"
     "s{quantile=\"0.99\"} NaN\n"
     "s{quantile=\"0.9\",x=\"y\"} 3\n"
     "s_sum 10\n"
     "s_count 4\n"
     "s_count{x=\"y\"} 1.5\n"
     "s{quantile=\"1e-5\"} 7\n",
     "summary s 0.5=1,1e-05=7,count=4,sum=10\nsummary s,x=y 0.9=3,count=1,sum=0\n"},
    {"# TYPE s summary\ns 3\ns_sum{quantile=\"0.5\"} 2\n", "summary s count=0,sum=2\n"},
    /* samples that do not belong to the family start another one */
    {"# TYPE x counter\nx_total 5\n", "untyped x_total value=5\n"},
    {"# TYPE s summary\ns_bucket{le=\"1\"} 5\n", "untyped s_bucket,le=1 value=5\n"},
    {"# TYPE h histogram\nh_bucket{le=\"1\"} 1\ny 2\nh_count 3\n",
     "histogram h 1=1,count=0,sum=0\nuntyped y value=2\nuntyped h_count value=3\n"},
    {"# TYPE g gauge\ng 1\nother 2\ng 3\n",
     "gauge g gauge=1\nuntyped other value=2\nuntyped g value=3\n"},
    /* unsupported types are ignored, samples and all */
    {"# TYPE g gauge_histogram\ng_bucket{le=\"1\"} 1\ng_gcount 1\ng_gsum 2\ng 1\nnext 1\n",
     "untyped next value=1\n"},
    /* repeated HELP/TYPE after samples: a new group (per-metric
     * serializer output concatenated) */
    {"# HELP c Telegraf collected metric\n# TYPE c counter\nc{a=\"1\"} 1\n"
     "# HELP c Telegraf collected metric\n# TYPE c counter\nc{a=\"2\"} 2\n",
     "counter c,a=1 counter=1\ncounter c,a=2 counter=2\n"},
    {"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\n"
     "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_count 2\n",
     "histogram h 1=1,count=1,sum=0\nhistogram h 1=2,count=2,sum=0\n"},
    {"# TYPE x gauge\nx 1\n# TYPE x counter\nx 2\n", "gauge x gauge=1\ncounter x counter=2\n"},
    {"# TYPE x gauge\nx 1\n# HELP x late help is fine\nx 2\n",
     "gauge x gauge=1\ngauge x gauge=2\n"},
};

START_TEST(test_parse_valid) {
  const char *in = parse_cases[_i].in;
  uint64_t errors;
  char *got = parse_dump(in, strlen(in), &errors);
  ck_assert_msg(errors == 0, "%s: %llu errors", in, (unsigned long long)errors);
  ck_assert_str_eq(got, parse_cases[_i].out);
  free(got);
}
END_TEST

/* Field types, metric types and times, checked directly. */
START_TEST(test_parse_values) {
  static const char doc[] = "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2 5\n"
                            "# TYPE c counter\nc 1\n# TYPE g gauge\ng 2\nu 3\n"
                            "# TYPE s summary\ns{quantile=\"0.5\"} 4\n";
  bag b = {0};
  ck_assert_uint_eq(parse_doc(doc, sizeof doc - 1, &b), 0);
  ck_assert_uint_eq(b.n, 5);
  static const tower_value_type types[] = {TOWER_HISTOGRAM, TOWER_COUNTER, TOWER_GAUGE,
                                           TOWER_UNTYPED, TOWER_SUMMARY};
  for (size_t i = 0; i < b.n; i++) {
    ck_assert_int_eq(tower_metric_type(b.m[i]), types[i]);
    for (size_t f = 0; f < tower_metric_field_count(b.m[i]); f++)
      ck_assert_int_eq(tower_metric_field_type(b.m[i], f), TOWER_FIELD_FLOAT);
  }
  ck_assert(tower_metric_time(b.m[0]) == 5000000);
  ck_assert(tower_metric_time(b.m[1]) == TOWER_TIME_UNSET);
  ptrdiff_t inf = tower_metric_field_index(b.m[0], "+Inf");
  ck_assert_int_ge(inf, 0);
  ck_assert(tower_metric_field_float(b.m[0], (size_t)inf) == 2.0);
  bag_clear(&b);
}
END_TEST

/* ---- malformed lines --------------------------------------------------- */

static const struct {
  const char *in;
  size_t len; /* 0: strlen */
  unsigned line, col;
  const char *msg;
  size_t metrics; /* what the rest of the document gives */
} error_cases[] = {
    {"1abc 1", 0, 1, 1, "expected a metric name", 0},
    {"{a=\"1\"} 1", 0, 1, 1, "expected a metric name", 0},
    {"{\"m\"} 1", 0, 1, 1, "expected a metric name", 0},
    {"m-1 2", 0, 1, 2, "expected '{' or a blank after metric name \"m\"", 0},
    {"m", 0, 1, 2, "expected a sample value", 0},
    {"m ", 0, 1, 3, "expected a sample value", 0},
    {"m{a=\"1\"}", 0, 1, 9, "expected a sample value", 0},
    {"m abc", 0, 1, 3, "expected a float sample value, got \"abc\"", 0},
    {"m 0x10", 0, 1, 3, "expected a float sample value, got \"0x10\"", 0},
    {"m 0x1p-2", 0, 1, 3, "expected a float sample value, got \"0x1p-2\"", 0},
    {"m 1_000", 0, 1, 3, "expected a float sample value, got \"1_000\"", 0},
    {"m 1e999", 0, 1, 3, "expected a float sample value, got \"1e999\"", 0},
    {"m +nan", 0, 1, 3, "expected a float sample value, got \"+nan\"", 0},
    {"m infin", 0, 1, 3, "expected a float sample value, got \"infin\"", 0},
    {"m +-1", 0, 1, 3, "expected a float sample value, got \"+-1\"", 0},
    {"m 1 abc", 0, 1, 5, "expected an integer timestamp (ms), got \"abc\"", 0},
    {"m 1 1.5", 0, 1, 5, "expected an integer timestamp (ms), got \"1.5\"", 0},
    {"m 1 +-5", 0, 1, 5, "expected an integer timestamp (ms), got \"+-5\"", 0},
    {"m 1 99999999999999999999", 0, 1, 5, "timestamp \"99999999999999999999\" out of range", 0},
    {"m 1 9223372036855", 0, 1, 5, "timestamp \"9223372036855\" out of range", 0},
    {"m 1 2 3", 0, 1, 7, "unexpected text after timestamp", 0},
    {"m{", 0, 1, 3, "expected a label name or '}'", 0},
    {"m{,} 1", 0, 1, 3, "expected a label name or '}'", 0},
    {"m{a=\"1\",,} 1", 0, 1, 9, "expected a label name or '}'", 0},
    {"m{1a=\"x\"} 1", 0, 1, 3, "expected a label name or '}'", 0},
    {"m{a} 1", 0, 1, 4, "expected '=' after label name \"a\"", 0},
    {"m{a-b=\"1\"} 1", 0, 1, 4, "expected '=' after label name \"a\"", 0},
    {"m{a=x} 1", 0, 1, 5, "expected '\"' to open the value of label \"a\"", 0},
    {"m{a=\"x} 1", 0, 1, 10, "expected '\"' to close the value of label \"a\"", 0},
    {"m{a=\"x\\\"} 1", 0, 1, 12, "expected '\"' to close the value of label \"a\"", 0},
    {"m{a=\"x\\", 0, 1, 8, "expected '\"' to close the value of label \"a\"", 0},
    {"m{a=\"x\\t\"} 1", 0, 1, 7,
     "invalid escape sequence '\\t' in value of label \"a\": expected \\\\, \\\" or \\n", 0},
    {"m{a=\"x\\\x01\"} 1", 0, 1, 7,
     "invalid escape sequence '\\\\x01' in value of label \"a\": expected \\\\, \\\" or \\n", 0},
    {"m{a=\"1\" b=\"2\"} 1", 0, 1, 9, "expected ',' or '}' after the value of label \"a\"", 0},
    {"m{a=\"1\"", 0, 1, 8, "expected ',' or '}' after the value of label \"a\"", 0},
    {"m{a=\"1\",a=\"2\"} 1", 0, 1, 9, "duplicate label \"a\"", 0},
    {"m{b=\"1\",a=\"1\",c=\"1\",a=\"2\",b=\"2\"} 1", 0, 1, 21, "duplicate label \"a\"", 0},
    {"m{__name__=\"x\"} 1", 0, 1, 3, "label name \"__name__\" is reserved", 0},
    {"m{a=\"\xff\"} 1", 0, 1, 6, "invalid UTF-8 in value of label \"a\"", 0},
    {"m{a=\"\xc0\xaf\"} 1", 0, 1, 6, "invalid UTF-8 in value of label \"a\"", 0},
    {"m{a=\"\xed\xa0\x80\"} 1", 0, 1, 6, "invalid UTF-8 in value of label \"a\"", 0},
    {"m{a=\"x\xe2\x82\"} 1", 0, 1, 7, "invalid UTF-8 in value of label \"a\"", 0},
    {"m{a=\"x\0\"} 1", 11, 1, 7, "NUL byte in value of label \"a\"", 0},
    {"m\0 1", 4, 1, 2, "expected '{' or a blank after metric name \"m\"", 0},
    {"m 1\0", 4, 1, 3, "expected a float sample value, got \"1\"", 0},
    {"# TYPE 1x counter", 0, 1, 8, "expected a metric name after # TYPE", 0},
    {"# HELP {x} help", 0, 1, 8, "expected a metric name after # HELP", 0},
    {"# TYPE x{ counter", 0, 1, 9, "expected a blank after metric name \"x\" in # TYPE line", 0},
    {"# TYPE x foo\nx 1\nx_info 2\ny 3\n", 0, 1, 10,
     "unknown metric type \"foo\": expected counter, gauge, histogram, summary or untyped", 1},
    {"# TYPE x counter extra\nx 1", 0, 1, 10,
     "unknown metric type \"counter extra\": expected counter, gauge, histogram, summary or "
     "untyped",
     0},
    {"# TYPE x counter\n# TYPE x gauge\nx 1\n", 0, 2, 8, "second TYPE line for metric \"x\"", 1},
    {"# HELP x a\n# HELP x b\nx 1\n", 0, 2, 8, "second HELP line for metric \"x\"", 1},
    {"# HELP x a\\tb", 0, 1, 11, "invalid escape sequence '\\t' in HELP text: expected \\\\ or \\n",
     0},
    {"# HELP x ab\\", 0, 1, 12, "incomplete escape sequence at the end of the HELP text", 0},
    {"# TYPE h histogram\nh_bucket{le=\"x\"} 1\nh_count 1\n", 0, 2, 14,
     "expected a float as value of label \"le\", got \"x\"", 1},
    {"# TYPE s summary\ns{quantile=\"\"} 1\n", 0, 2, 13,
     "expected a float as value of label \"quantile\", got \"\"", 0},
    {"# TYPE s summary\ns_count{quantile=\"1,5\"} 1\n", 0, 2, 19,
     "expected a float as value of label \"quantile\", got \"1,5\"", 0},
    /* names and tokens are quoted up to 64 bytes */
    {"m{a0123456789012345678901234567890123456789012345678901234567890123456789} 1", 0, 1, 74,
     "expected '=' after label name "
     "\"a012345678901234567890123456789012345678901234567890123456789012\"",
     0},
};

START_TEST(test_parse_errors) {
  const char *in = error_cases[_i].in;
  size_t len = error_cases[_i].len ? error_cases[_i].len : strlen(in);
  tower_parser *p = new_parser();
  bag b = {0};
  int n = tower_parser_parse(p, in, len, collect, &b);
  ck_assert_int_eq(n, (int)error_cases[_i].metrics);
  ck_assert_uint_eq(b.n, error_cases[_i].metrics);
  ck_assert_uint_eq(tower_parser_errors(p), 1);
  char want[512];
  snprintf(want, sizeof want, "line %u, column %u: %s", error_cases[_i].line, error_cases[_i].col,
           error_cases[_i].msg);
  ck_assert_str_eq(tower_parser_last_error(p), want);
  bag_clear(&b);
  tower_parser_free(p);
}
END_TEST

/* A bad line is skipped, has no effect on the family, and the next line
 * parses with its own line number. */
START_TEST(test_error_recovery) {
  static const char doc[] = "# TYPE h histogram\n"
                            "h_bucket{le=\"1\"} 1\n"
                            "h_bucket{le=\"2\" 2\n" /* bad: does not end the family */
                            "h_bucket{le=\"2\"} 2\n"
                            "bad{ 1\n"
                            "h_count 2\n"
                            "ok 1\n";
  tower_parser *p = new_parser();
  bag b = {0};
  ck_assert_int_eq(tower_parser_parse(p, doc, sizeof doc - 1, collect, &b), 2);
  ck_assert_uint_eq(tower_parser_errors(p), 2);
  ck_assert_str_eq(tower_parser_last_error(p), "line 5, column 6: expected a label name or '}'");
  char *got = dump_bag(&b);
  ck_assert_str_eq(got, "histogram h 1=1,2=2,count=2,sum=0\nuntyped ok value=1\n");
  free(got);
  bag_clear(&b);
  /* the parser is reusable: line numbers restart with each document */
  ck_assert_int_eq(tower_parser_parse(p, "x{ 1\n", 5, collect, &b), 0);
  ck_assert_str_eq(tower_parser_last_error(p), "line 1, column 4: expected a label name or '}'");
  tower_parser_free(p);
}
END_TEST

/* 65535 labels fit in a metric, one more is an error; a line is sorted and
 * checked for duplicates in n log n. */
START_TEST(test_label_limit) {
  size_t n = 65536;
  tower_buf *line = tower_buf_new(0);
  tower_buf_append_str(line, "m{");
  for (size_t i = 0; i < n; i++)
    tower_buf_printf(line, "l%zu=\"v\",", n - i);
  tower_buf_append_str(line, "} 1");
  tower_parser *p = new_parser();
  bag b = {0};
  ck_assert_int_eq(tower_parser_parse(p, tower_buf_data(line), tower_buf_len(line), collect, &b),
                   0);
  ck_assert_ptr_nonnull(
      strstr(tower_parser_last_error(p), "too many labels: a metric holds at most 65535 tags"));
  /* without the first label: 65535 */
  const char *s = strchr(tower_buf_data(line), ',') + 1;
  tower_buf *l2 = tower_buf_new(0);
  tower_buf_append_str(l2, "m{");
  tower_buf_append_str(l2, s);
  ck_assert_int_eq(tower_parser_parse(p, tower_buf_data(l2), tower_buf_len(l2), collect, &b), 1);
  ck_assert_uint_eq(tower_metric_tag_count(b.m[0]), 65535);
  ck_assert_str_eq(tower_metric_tag_key(b.m[0], 0), "l1");
  bag_clear(&b);
  tower_buf_free(l2);
  tower_buf_free(line);
  tower_parser_free(p);
}
END_TEST

/* Held histogram state is bounded: past TWI_PROM_MAX_SERIES series the
 * held ones go out early, so nothing is lost; a series' buckets are
 * bounded too. */
START_TEST(test_state_limits) {
  tower_buf *doc = tower_buf_new(0);
  tower_buf_append_str(doc, "# TYPE h histogram\n");
  size_t n = TWI_PROM_MAX_SERIES + 5;
  for (size_t i = 0; i < n; i++)
    tower_buf_printf(doc, "h_bucket{i=\"%zu\",le=\"1\"} 1\n", i);
  tower_buf_printf(doc, "h_count{i=\"0\"} 9\n"); /* after the early flush: a new series */
  bag b = {0};
  ck_assert_uint_eq(parse_doc(tower_buf_data(doc), tower_buf_len(doc), &b), 0);
  ck_assert_uint_eq(b.n, n + 1);
  ck_assert_str_eq(tower_metric_tag_value(b.m[0], 0), "0");
  ck_assert_str_eq(tower_metric_tag_value(b.m[n], 0), "0");
  ck_assert_str_eq(tower_metric_tag_value(b.m[n - 1], 0), "10004");
  bag_clear(&b);

  tower_buf_reset(doc);
  tower_buf_append_str(doc, "# TYPE h histogram\n");
  for (int i = 0; i <= TWI_PROM_MAX_BUCKETS; i++)
    tower_buf_printf(doc, "h_bucket{le=\"%d\"} %d\n", i, i);
  tower_parser *p = new_parser();
  ck_assert_int_eq(tower_parser_parse(p, tower_buf_data(doc), tower_buf_len(doc), collect, &b), 1);
  ck_assert_uint_eq(tower_parser_errors(p), 1);
  ck_assert_str_eq(tower_parser_last_error(p),
                   "line 4098, column 10: too many buckets or quantiles in one series of \"h\": "
                   "at most 4096");
  ck_assert_uint_eq(tower_metric_field_count(b.m[0]), TWI_PROM_MAX_BUCKETS + 2);
  bag_clear(&b);
  tower_parser_free(p);
  tower_buf_free(doc);
}
END_TEST

START_TEST(test_ignore_timestamp) {
  twi_conf *conf;
  twi_diag d = {0};
  char err[256];
  conf = twi_conf_load_string(
      "block = { data_format = \"prometheus\"; prometheus_ignore_timestamp = true; };", "test.conf",
      NULL, err, sizeof err);
  ck_assert_msg(conf != NULL, "%s", err);
  const tower_option *tables[] = {twi_parser_common_options(), NULL};
  tower_config *cfg = twi_config_new(config_setting_get_member(twi_conf_root(conf), "block"),
                                     tables, "inputs.test", NULL, &d);
  ck_assert_msg(cfg != NULL, "%s", d.text);
  tower_parser *p = NULL;
  ck_assert_int_eq(tower_parser_new(NULL, cfg, &p), 0);
  bag b = {0};
  ck_assert_int_eq(tower_parser_parse(p, "m 1 1000\n", 9, collect, &b), 1);
  ck_assert(tower_metric_time(b.m[0]) == TOWER_TIME_UNSET);
  bag_clear(&b);
  tower_parser_free(p);
  twi_config_free(cfg);
  twi_conf_unref(conf);
}
END_TEST

/* ---- streaming ---------------------------------------------------------- */

static const char stream_doc[] =
    "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n"
    "# TYPE node_cpu_seconds_total counter\n"
    "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 1.2e+06\n"
    "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 3452.1 1700000000000\n"
    "# TYPE h histogram\n"
    "h_bucket{a=\"x\\\\y\\n\",le=\"0.5\"} 1\n"
    "h_bucket{a=\"2\",le=\"0.5\"} 2\n"
    "h_bucket{a=\"x\\\\y\\n\",le=\"+Inf\"} 3\n"
    "h_sum{a=\"2\"} 1.5\n"
    "bad{line 1\n"
    "h_count{a=\"x\\\\y\\n\"} 3\r\n"
    "h_count{a=\"2\"} 2\n"
    "\n"
    "# TYPE s summary\n"
    "s{quantile=\"0.99\"} 7 1000\n"
    "s_count 1\n"
    "s_sum NaN\n"
    "# TYPE g gauge\n"
    "g{path=\"/var/log\"} -Inf\n"
    "# TYPE x stateset\n"
    "x{x=\"a\"} 1\n"
    "u 5";

static void parse_split(const char *doc, size_t len, size_t cut, bag *b, uint64_t *errors) {
  tower_parser *p = new_parser();
  CHECK(tower_parser_feed(p, doc, cut, collect, b) >= 0, "feed 1");
  CHECK(tower_parser_feed(p, doc + cut, len - cut, collect, b) >= 0, "feed 2");
  CHECK(tower_parser_end(p, collect, b) >= 0, "end");
  *errors = tower_parser_errors(p);
  tower_parser_free(p);
}

START_TEST(test_stream_cuts) {
  size_t len = sizeof stream_doc - 1;
  uint64_t whole_errors;
  char *whole = parse_dump(stream_doc, len, &whole_errors);
  ck_assert_uint_eq(whole_errors, 2);
  ck_assert_str_eq(whole, "counter node_cpu_seconds_total,cpu=0,mode=idle counter=1200000\n"
                          "counter node_cpu_seconds_total,cpu=0,mode=user counter=3452.1 "
                          "@1700000000000000000\n"
                          "histogram h,a=x\\y\n +Inf=3,0.5=1,count=3,sum=0\n"
                          "histogram h,a=2 0.5=2,count=2,sum=1.5\n"
                          "summary s 0.99=7,count=1,sum=NaN @1000000000\n"
                          "gauge g,path=/var/log gauge=-Inf\n"
                          "untyped u value=5\n");
  for (size_t cut = 0; cut <= len; cut++) {
    bag b = {0};
    uint64_t errors;
    parse_split(stream_doc, len, cut, &b, &errors);
    char *got = dump_bag(&b);
    ck_assert_msg(strcmp(got, whole) == 0 && errors == whole_errors, "cut at %zu:\n%s", cut, got);
    free(got);
    bag_clear(&b);
  }
  free(whole);
}
END_TEST

START_TEST(test_stream_bytewise) {
  size_t len = sizeof stream_doc - 1;
  char *whole = parse_dump(stream_doc, len, NULL);
  tower_parser *p = new_parser();
  bag b = {0};
  for (size_t i = 0; i < len; i++)
    ck_assert_int_ge(tower_parser_feed(p, stream_doc + i, 1, collect, &b), 0);
  ck_assert_int_ge(tower_parser_end(p, collect, &b), 0);
  char *got = dump_bag(&b);
  ck_assert_str_eq(got, whole);
  free(got);
  free(whole);
  bag_clear(&b);
  tower_parser_free(p);
}
END_TEST

/* A sink error stops the parse and nothing held leaks. */
static int fail_second(void *ctx, tower_metric *m) {
  int *n = ctx;
  tower_metric_free(m);
  return ++*n == 2 ? -EPIPE : 0;
}

START_TEST(test_sink_error) {
  static const char doc[] = "# TYPE h histogram\nh_count{a=\"1\"} 1\nh_count{a=\"2\"} 1\n"
                            "h_count{a=\"3\"} 1\n";
  tower_parser *p = new_parser();
  int n = 0;
  ck_assert_int_eq(tower_parser_parse(p, doc, sizeof doc - 1, fail_second, &n), -EPIPE);
  ck_assert_int_eq(n, 2);
  n = 0;
  ck_assert_int_eq(tower_parser_feed(p, doc, sizeof doc - 1, fail_second, &n), 0);
  tower_parser_free(p); /* held series freed */

  /* the sink fails on the last line, so the end of the document is never
   * processed: the next document starts afresh all the same */
  static const char doc2[] = "# TYPE h histogram\nh_count 1\n# TYPE c counter\nc 1";
  p = new_parser();
  n = 0;
  ck_assert_int_eq(tower_parser_parse(p, doc2, sizeof doc2 - 1, fail_second, &n), -EPIPE);
  bag b = {0};
  ck_assert_int_eq(tower_parser_parse(p, "c 2\n", 4, collect, &b), 1);
  ck_assert_int_eq(tower_metric_type(b.m[0]), TOWER_UNTYPED);
  bag_clear(&b);
  tower_parser_free(p);
}
END_TEST

/* ---- serializer --------------------------------------------------------- */

static tower_serializer *serializer_with(const char *block) {
  twi_conf *conf;
  twi_diag d = {0};
  char err[256];
  conf = twi_conf_load_string(block, "test.conf", NULL, err, sizeof err);
  ck_assert_msg(conf != NULL, "%s", err);
  const tower_option *tables[] = {twi_serializer_common_options(), NULL};
  tower_config *cfg = twi_config_new(config_setting_get_member(twi_conf_root(conf), "block"),
                                     tables, "outputs.test", NULL, &d);
  ck_assert_msg(cfg != NULL, "%s", d.text);
  tower_serializer *s = NULL;
  ck_assert_int_eq(tower_serializer_new(NULL, cfg, &s), 0);
  twi_config_free(cfg);
  twi_conf_unref(conf);
  return s;
}

static tower_metric *sample_metric(void) {
  tower_metric *m = tower_metric_new("cpu", 1500000000123456789);
  tower_metric_set_type(m, TOWER_GAUGE);
  tower_metric_add_tag(m, "host", "a\"b\\c\nd");
  tower_metric_add_float(m, "usage_idle", 97.5);
  tower_metric_add_int(m, "procs", -3);
  tower_metric_add_bool(m, "ok", true);
  tower_metric_add_string(m, "state", "running");
  return m;
}

static const struct {
  const char *block;
  const char *out;
} serializer_cases[] = {
    {"block = { data_format = \"prometheus\"; };",
     "# HELP cpu_procs Telegraf collected metric\n# TYPE cpu_procs gauge\n"
     "cpu_procs{host=\"a\\\"b\\\\c\\nd\"} -3\n"
     "# HELP cpu_usage_idle Telegraf collected metric\n# TYPE cpu_usage_idle gauge\n"
     "cpu_usage_idle{host=\"a\\\"b\\\\c\\nd\"} 97.5\n"},
    {"block = { data_format = \"prometheus\"; prometheus_export_timestamp = true; "
     "prometheus_compact_encoding = true; };",
     "# TYPE cpu_procs gauge\ncpu_procs{host=\"a\\\"b\\\\c\\nd\"} -3 1500000000123\n"
     "# TYPE cpu_usage_idle gauge\ncpu_usage_idle{host=\"a\\\"b\\\\c\\nd\"} 97.5 1500000000123\n"},
    {"block = { data_format = \"prometheus\"; prometheus_string_as_label = true; "
     "prometheus_compact_encoding = true; };",
     "# TYPE cpu_procs gauge\ncpu_procs{host=\"a\\\"b\\\\c\\nd\",state=\"running\"} -3\n"
     "# TYPE cpu_usage_idle gauge\ncpu_usage_idle{host=\"a\\\"b\\\\c\\nd\",state=\"running\"} "
     "97.5\n"},
};

START_TEST(test_serializer_options) {
  tower_serializer *s = serializer_with(serializer_cases[_i].block);
  tower_metric *m = sample_metric();
  tower_buf *b = tower_buf_new(0);
  tower_buf_append_str(b, "kept\n");
  ck_assert_int_eq(tower_serialize(s, m, b), 0);
  ck_assert_str_eq(tower_buf_data(b) + 5, serializer_cases[_i].out);
  ck_assert_int_eq(strncmp(tower_buf_data(b), "kept\n", 5), 0);
  tower_buf_free(b);
  tower_metric_free(m);
  tower_serializer_free(s);
}
END_TEST

/* A metric without series is -EINVAL and appends nothing. */
START_TEST(test_serializer_nothing) {
  tower_serializer *s = NULL;
  ck_assert_int_eq(tower_serializer_new_format(NULL, "prometheus", &s), 0);
  tower_buf *b = tower_buf_new(0);
  tower_buf_append_str(b, "x");
  tower_metric *m = tower_metric_new("m", 1);
  tower_metric_add_string(m, "s", "v");
  tower_metric_add_bool(m, "b", false);
  ck_assert_int_eq(tower_serialize(s, m, b), -EINVAL);
  ck_assert_str_eq(tower_buf_data(b), "x");
  tower_metric_free(m);
  m = tower_metric_new("5xx", 1); /* Telegraf drops names starting with a digit */
  tower_metric_add_float(m, "f", 1);
  ck_assert_int_eq(tower_serialize(s, m, b), -EINVAL);
  ck_assert_str_eq(tower_buf_data(b), "x");
  tower_metric_free(m);
  tower_buf_free(b);
  tower_serializer_free(s);
}
END_TEST

START_TEST(test_serializer_histogram) {
  tower_serializer *s = NULL;
  ck_assert_int_eq(tower_serializer_new_format(NULL, "prometheus", &s), 0);
  tower_metric *m = tower_metric_new("lat", TOWER_TIME_UNSET);
  tower_metric_set_type(m, TOWER_HISTOGRAM);
  tower_metric_add_tag(m, "le", "ignored");
  tower_metric_add_tag(m, "path", "/");
  tower_metric_add_float(m, "1e+06", 4.7);
  tower_metric_add_float(m, "0.5", 1);
  tower_metric_add_uint(m, "2", 3);
  tower_metric_add_float(m, "NaN", 9);
  tower_metric_add_float(m, "other", 9);
  tower_metric_add_bool(m, "3", true);
  tower_metric_add_float(m, "count", 5.9);
  tower_metric_add_int(m, "sum", 12);
  tower_buf *b = tower_buf_new(0);
  ck_assert_int_eq(tower_serialize(s, m, b), 0);
  ck_assert_str_eq(tower_buf_data(b), "# HELP lat Telegraf collected metric\n"
                                      "# TYPE lat histogram\n"
                                      "lat_bucket{path=\"/\",le=\"0.5\"} 1\n"
                                      "lat_bucket{path=\"/\",le=\"2\"} 3\n"
                                      "lat_bucket{path=\"/\",le=\"1000000\"} 4\n"
                                      "lat_bucket{path=\"/\",le=\"+Inf\"} 5\n"
                                      "lat_sum{path=\"/\"} 12\n"
                                      "lat_count{path=\"/\"} 5\n");
  tower_metric_free(m);
  tower_buf_reset(b);
  m = tower_metric_new("rpc", TOWER_TIME_UNSET);
  tower_metric_set_type(m, TOWER_SUMMARY);
  tower_metric_add_tag(m, "quantile", "x");
  tower_metric_add_float(m, "0.99", 7);
  tower_metric_add_float(m, "0.5", NAN);
  tower_metric_add_float(m, "count", 2);
  ck_assert_int_eq(tower_serialize(s, m, b), 0);
  ck_assert_str_eq(tower_buf_data(b), "# HELP rpc Telegraf collected metric\n"
                                      "# TYPE rpc summary\n"
                                      "rpc{quantile=\"0.5\"} NaN\n"
                                      "rpc{quantile=\"0.99\"} 7\n"
                                      "rpc_sum 0\n"
                                      "rpc_count 2\n");
  tower_metric_free(m);
  tower_buf_free(b);
  tower_serializer_free(s);
}
END_TEST

/* ---- tower_prom_map ------------------------------------------------------ */

/* Series of a metric as "name{l=v,...} value" lines. */
static int list_series(void *ud, const tower_prom_series *s) {
  tower_buf *out = ud;
  tower_buf_printf(out, "%s %s{", type_name(s->type), s->name);
  for (size_t i = 0; i < s->nlabels; i++)
    tower_buf_printf(out, "%s%s=%s", i ? "," : "", s->label_names[i], s->label_values[i]);
  tower_buf_append_str(out, "} ");
  tower_format_float(out, s->value);
  tower_buf_append_str(out, "\n");
  return 0;
}

static char *map_text(const tower_metric *m, unsigned flags, int *count) {
  tower_buf *out = tower_buf_new(0);
  *count = tower_prom_map(m, flags, list_series, out);
  char *s = strdup(tower_buf_data(out));
  tower_buf_free(out);
  return s;
}

static const struct {
  const char *lp;   /* the metric, in line protocol */
  int type;         /* tower_value_type */
  unsigned flags;   /* TOWER_PROM_STRING_AS_LABEL */
  const char *want; /* series */
} map_cases[] = {
    /* series names: value / counter / gauge are bare */
    {"m value=1,counter=2,gauge=3,x=4", TOWER_UNTYPED, 0,
     "untyped m_counter{} 2\nuntyped m_gauge{} 3\nuntyped m{} 1\nuntyped m_x{} 4\n"},
    {"m value=1,counter=2,gauge=3", TOWER_COUNTER, 0, "counter m{} 2\ncounter m_gauge{} 3\n"},
    {"m value=1,counter=2,gauge=3", TOWER_GAUGE, 0, "gauge m_counter{} 2\ngauge m{} 3\n"},
    /* sanitizing: one '_' per UTF-8 character, digits kept after '_' */
    {"disk\\ io.rate,dev=sda read\\ bytes=1i,5xx=2u,\xc3\xa9t\xc3\xa9=3", TOWER_UNTYPED, 0,
     "untyped disk_io_rate_5xx{dev=sda} 2\nuntyped disk_io_rate_read_bytes{dev=sda} 1\n"
     "untyped disk_io_rate__t_{dev=sda} 3\n"},
    {"a:b c=1", TOWER_UNTYPED, 0, "untyped a:b_c{} 1\n"},
    {"5m c=1", TOWER_UNTYPED, 0, ""},
    {"\xc3\xa9t\xc3\xa9 c=1", TOWER_UNTYPED, 0, "untyped _t__c{} 1\n"},
    /* keys that sanitize alike: the first in key order */
    {"m a-b=1,a_b=2,a.b=3", TOWER_UNTYPED, 0, "untyped m_a_b{} 1\n"},
    /* label names: Telegraf's SanitizeLabelName */
    {"m,-lead=1,a-b=2,trail-=3,_ok=4,x\xc3\xa9y=5,-1x=6,---=7 v=1", TOWER_UNTYPED, 0,
     "untyped m_v{_ok=4,a_b=2,lead=1,trail=3,x_y=5} 1\n"},
    /* a clash of sanitized tag names keeps the first; a string field
     * replaces a tag */
    {"m,a-b=1,a_b=2,s=tag v=1,s=\"field\",t=\"x\"", TOWER_UNTYPED, TOWER_PROM_STRING_AS_LABEL,
     "untyped m_v{a_b=1,s=field,t=x} 1\n"},
    {"m,s=tag v=1,s=\"field\"", TOWER_UNTYPED, 0, "untyped m_v{s=tag} 1\n"},
    /* reserved label names and non-UTF-8 values: no series */
    {"m,__x=1 v=1", TOWER_UNTYPED, 0, ""},
    {"m,a=\xff v=1", TOWER_UNTYPED, 0, ""},
    {"m v=1,s=\"\xff\"", TOWER_UNTYPED, 0, "untyped m_v{} 1\n"},
    {"m v=1,s=\"\xff\"", TOWER_UNTYPED, TOWER_PROM_STRING_AS_LABEL, ""},
    /* a histogram's le and a summary's quantile are the series' own, also
     * when a tag or string field sanitizes to them */
    {"h,-le=1,path=x 1=1,count=1", TOWER_HISTOGRAM, 0, "histogram h{path=x} 0\n"},
    {"s,le=1 quantile=\"x\",0.5=1", TOWER_SUMMARY, TOWER_PROM_STRING_AS_LABEL,
     "summary s{le=1} 0\n"},
    /* booleans and strings are not values */
    {"m b=true,s=\"x\",i=-2i,u=3u", TOWER_COUNTER, 0, "counter m_i{} -2\ncounter m_u{} 3\n"},
};

static tower_metric *metric_from_lp(const char *lp, int type) {
  tower_parser *p = NULL;
  tower_metric *m = NULL;
  ck_assert_int_eq(tower_parser_new_format(NULL, "influx", &p), 0);
  bag b = {0};
  CHECK(tower_parser_parse(p, lp, strlen(lp), collect, &b) == 1, "line protocol: %s", lp);
  m = b.m[0];
  b.n = 0;
  bag_clear(&b);
  tower_parser_free(p);
  tower_metric_set_type(m, (tower_value_type)type);
  return m;
}

START_TEST(test_map) {
  tower_metric *m = metric_from_lp(map_cases[_i].lp, map_cases[_i].type);
  int count;
  char *got = map_text(m, map_cases[_i].flags, &count);
  ck_assert_str_eq(got, map_cases[_i].want);
  size_t lines = 0;
  for (const char *c = got; *c; c++)
    lines += *c == '\n';
  ck_assert_int_eq(count, (int)lines);
  free(got);
  tower_metric_free(m);
}
END_TEST

/* A callback error stops the mapping and is returned. */
static int stop_first(void *ud, const tower_prom_series *s) {
  (void)s;
  ++*(int *)ud;
  return -ECANCELED;
}

START_TEST(test_map_callback_error) {
  tower_metric *m = metric_from_lp("m a=1,b=2", TOWER_UNTYPED);
  int calls = 0;
  ck_assert_int_eq(tower_prom_map(m, 0, stop_first, &calls), -ECANCELED);
  ck_assert_int_eq(calls, 1);
  tower_metric_free(m);
}
END_TEST

/* Many labels and buckets: the heap path of the scratch. */
START_TEST(test_map_large) {
  tower_metric *m = tower_metric_new("h", TOWER_TIME_UNSET);
  tower_metric_set_type(m, TOWER_HISTOGRAM);
  char k[32];
  for (int i = 0; i < 100; i++) {
    snprintf(k, sizeof k, "tag_%03d", i);
    tower_metric_add_tag(m, k, "v");
    snprintf(k, sizeof k, "%d", 99 - i);
    tower_metric_add_float(m, k, i);
  }
  tower_buf *out = tower_buf_new(0);
  ck_assert_int_eq(tower_prom_map(m, 0, list_series, out), 1);
  tower_buf_free(out);
  tower_metric_free(m);
}
END_TEST

/* ---- numbers ------------------------------------------------------------ */

static const struct {
  double v;
  const char *text;
} key_cases[] = {
    {0.5, "0.5"},
    {0.99, "0.99"},
    {1, "1"},
    {0, "0"},
    {-0.0, "-0"},
    {125000, "125000"},
    {999999, "999999"},
    {123456.7, "123456.7"},
    {1e6, "1e+06"},
    {2e6, "2e+06"},
    {1234567, "1.234567e+06"},
    {-2500000.5, "-2.5000005e+06"},
    {1e16, "1e+16"},
    {12345678901234567.0, "1.2345678901234568e+16"},
    {1e21, "1e+21"},
    {0.0001, "0.0001"},
    {0.00001, "1e-05"},
    {2.5e-05, "2.5e-05"},
    {INFINITY, "+Inf"},
    {-INFINITY, "-Inf"},
    {NAN, "NaN"},
};

START_TEST(test_format_key) {
  char buf[32];
  size_t n = twi_prom_format_key(buf, key_cases[_i].v);
  ck_assert_str_eq(buf, key_cases[_i].text);
  ck_assert_uint_eq(n, strlen(key_cases[_i].text));
}
END_TEST

static const struct {
  const char *text;
  int rc;
  double v;
} float_cases[] = {
    {"1", 0, 1},
    {"-1.5e3", 0, -1500},
    {"+.5", 0, 0.5},
    {"5.", 0, 5},
    {"Inf", 0, INFINITY},
    {"-inf", 0, -INFINITY},
    {"+Infinity", 0, INFINITY},
    {"iNfInItY", 0, INFINITY},
    {"1e-400", 0, 0},
    {"", -EINVAL, 0},
    {"+", -EINVAL, 0},
    {"-", -EINVAL, 0},
    {".", -EINVAL, 0},
    {"e5", -EINVAL, 0},
    {"1e", -EINVAL, 0},
    {" 1", -EINVAL, 0},
    {"1 ", -EINVAL, 0},
    {"0x1p0", -EINVAL, 0},
    {"1_0", -EINVAL, 0},
    {"infinit", -EINVAL, 0},
    {"-nan", -EINVAL, 0},
    {"1e309", -EINVAL, 0},
    {"++1", -EINVAL, 0},
};

START_TEST(test_parse_float) {
  double v = 42;
  const char *t = float_cases[_i].text;
  ck_assert_int_eq(twi_prom_parse_float(t, strlen(t), &v), float_cases[_i].rc);
  if (float_cases[_i].rc == 0)
    ck_assert_msg(v == float_cases[_i].v, "%s -> %g", t, v);
  ck_assert_int_eq(twi_prom_parse_float("NaN", 3, &v), 0);
  ck_assert(isnan(v));
}
END_TEST

START_TEST(test_count_and_utf8) {
  ck_assert(twi_prom_count(3.99) == 3);
  ck_assert(twi_prom_count(0.5) == 0);
  ck_assert(twi_prom_count(-1.5) == -1.5);
  ck_assert(isnan(twi_prom_count(NAN)));
  ck_assert(twi_prom_count(INFINITY) == INFINITY);
  ck_assert(twi_prom_count(1e20) == 1e20);
  ck_assert_uint_eq(twi_prom_utf8_valid_prefix("ab\xc3\xa9", 4), 4);
  ck_assert_uint_eq(twi_prom_utf8_valid_prefix("ab\xc3", 3), 2);
  ck_assert_uint_eq(twi_prom_utf8_valid_prefix("\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
  ck_assert_uint_eq(twi_prom_utf8_valid_prefix("\xf0\x9f\x93\x88x", 5), 5);
  ck_assert_uint_eq(twi_prom_utf8_valid_prefix("\xe0\x80\xaf", 3), 0); /* overlong */
}
END_TEST

/* ---- round trip ---------------------------------------------------------- */

static const char roundtrip_doc[] =
    "# HELP go_gc_duration_seconds A summary of the GC invocation durations.\n"
    "# TYPE go_gc_duration_seconds summary\n"
    "go_gc_duration_seconds{quantile=\"0\"} 4.9351e-05\n"
    "go_gc_duration_seconds{quantile=\"0.25\"} 7.424100000000001e-05\n"
    "go_gc_duration_seconds{quantile=\"0.5\"} 8.3835e-05\n"
    "go_gc_duration_seconds{quantile=\"1\"} 0.000285441\n"
    "go_gc_duration_seconds_sum 0.178367553\n"
    "go_gc_duration_seconds_count 1734\n"
    "# TYPE node_network_receive_bytes_total counter\n"
    "node_network_receive_bytes_total{device=\"eth0\"} 1.0345e+10 1700000000123\n"
    "node_network_receive_bytes_total{device=\"lo\"} 7.21e+08\n"
    "# TYPE node_load1 gauge\n"
    "node_load1 0.21\n"
    "# TYPE http_request_duration_seconds histogram\n"
    "http_request_duration_seconds_bucket{handler=\"/\",le=\"0.005\"} 3\n"
    "http_request_duration_seconds_bucket{handler=\"/api\",le=\"0.005\"} 1\n"
    "http_request_duration_seconds_bucket{handler=\"/\",le=\"10\"} 9\n"
    "http_request_duration_seconds_bucket{handler=\"/\",le=\"+Inf\"} 10\n"
    "http_request_duration_seconds_bucket{handler=\"/api\",le=\"+Inf\"} 4\n"
    "http_request_duration_seconds_sum{handler=\"/\"} 12.5 1700000000999\n"
    "http_request_duration_seconds_count{handler=\"/\"} 10\n"
    "http_request_duration_seconds_count{handler=\"/api\"} 4\n"
    "http_request_duration_seconds_sum{handler=\"/api\"} -Inf\n"
    "weird{a=\"q\\\"\\\\\\n\",b=\"\xea\xb0\x92\"} +Inf\n"
    "neg -1e-300\n";

static char *serialize_bag(const bag *b, const char *block) {
  tower_serializer *s = serializer_with(block);
  tower_buf *out = tower_buf_new(0);
  for (size_t i = 0; i < b->n; i++)
    CHECK(tower_serialize(s, b->m[i], out) == 0, "serialize %zu", i);
  char *text = strdup(tower_buf_data(out));
  tower_buf_free(out);
  tower_serializer_free(s);
  return text;
}

START_TEST(test_roundtrip) {
  static const char *const blocks[] = {
      "block = { data_format = \"prometheus\"; prometheus_export_timestamp = true; };",
      "block = { data_format = \"prometheus\"; prometheus_export_timestamp = true; "
      "prometheus_compact_encoding = true; };",
  };
  bag first = {0}, again = {0};
  ck_assert_uint_eq(parse_doc(roundtrip_doc, sizeof roundtrip_doc - 1, &first), 0);
  ck_assert_uint_eq(first.n, 8);
  char *text = serialize_bag(&first, blocks[_i]);
  uint64_t errors = parse_doc(text, strlen(text), &again);
  ck_assert_msg(errors == 0, "%llu errors in\n%s", (unsigned long long)errors, text);
  char *a = dump_bag(&first), *b = dump_bag(&again);
  ck_assert_str_eq(b, a);
  /* and the second serialization is the first */
  char *text2 = serialize_bag(&again, blocks[_i]);
  ck_assert_str_eq(text2, text);
  free(text2);
  free(a);
  free(b);
  free(text);
  bag_clear(&first);
  bag_clear(&again);
}
END_TEST

/* Histogram without +Inf: the series gains it, holding the count. */
START_TEST(test_roundtrip_adds_inf) {
  static const char doc[] = "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_count 3\nh_sum 1\n";
  bag first = {0}, again = {0};
  ck_assert_uint_eq(parse_doc(doc, sizeof doc - 1, &first), 0);
  char *text = serialize_bag(
      &first, "block = { data_format = \"prometheus\"; prometheus_compact_encoding = true; };");
  ck_assert_str_eq(text, "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 3\n"
                         "h_sum 1\nh_count 3\n");
  ck_assert_uint_eq(parse_doc(text, strlen(text), &again), 0);
  char *got = dump_bag(&again);
  ck_assert_str_eq(got, "histogram h +Inf=3,1=2,count=3,sum=1\n");
  free(got);
  free(text);
  bag_clear(&first);
  bag_clear(&again);
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

/* One allocation per counter/gauge/untyped metric; a histogram series
 * costs its held state (one block up to 16 buckets) plus the metric. */
START_TEST(test_allocations) {
#ifndef NO_MALLOC_COUNT
  const char *vg = getenv("LD_PRELOAD");
  if (vg && strstr(vg, "vgpreload"))
    return;
  static const char simple[] = "# TYPE c counter\nc{a=\"x\\\"y\",b=\"2\"} 1\n# TYPE g gauge\n"
                               "g 2\nu{z=\"\xea\xb0\x92\"} 3 1000\n";
  static const char hist[] =
      "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
      "h_sum 1\nh_count 2\nh_bucket{a=\"b\",le=\"1\"} 1\nh_count{a=\"b\"} 1\n";
  tower_parser *p = new_parser();
  ck_assert_int_eq(tower_parser_parse(p, simple, sizeof simple - 1, free_sink, NULL), 3);
  ck_assert_int_eq(tower_parser_parse(p, hist, sizeof hist - 1, free_sink, NULL), 2);
  unsigned long before = nallocs;
  for (int i = 0; i < 100; i++)
    CHECK(tower_parser_parse(p, simple, sizeof simple - 1, free_sink, NULL) == 3, "parse");
  ck_assert_uint_eq(nallocs - before, 300);
  before = nallocs;
  for (int i = 0; i < 100; i++)
    CHECK(tower_parser_parse(p, hist, sizeof hist - 1, free_sink, NULL) == 2, "parse");
  ck_assert_uint_eq(nallocs - before, 400);
  tower_parser_free(p);
#endif
}
END_TEST

/* ---- OpenMetrics text -------------------------------------------------- */

static char *om_dump(const char *text, uint64_t *errors, const char **last_error) {
  tower_parser *p = NULL;
  ck_assert_int_eq(tower_parser_new_format(NULL, "openmetrics", &p), 0);
  bag b = {0};
  int n = tower_parser_parse(p, text, strlen(text), collect, &b);
  CHECK(n >= 0, "parse failed: %d", n);
  *errors = tower_parser_errors(p);
  static char last[256];
  const char *e = tower_parser_last_error(p);
  snprintf(last, sizeof last, "%s", e ? e : "");
  if (last_error)
    *last_error = last;
  tower_parser_free(p);
  char *out = dump_bag(&b);
  bag_clear(&b);
  return out;
}

static const struct {
  const char *in;
  const char *out;
} om_cases[] = {
    /* counters: the series is <family>_total; _created gives no metric */
    {"# TYPE c counter\n# HELP c Requests.\n# UNIT c requests\nc_total{a=\"1\"} 5\n"
     "c_created{a=\"1\"} 1520430000.123\n# EOF\n",
     "counter c_total,a=1 counter=5\n"},
    /* timestamps are seconds, read to the ns; <= 0 is the gather's time */
    {"# TYPE g gauge\ng 1 1520879607.789\ng 2 1520879607\ng 3 1.5e9\ng 4 0\ng 5 -1.5\n"
     "g 6 1520879607.1234567891\n# EOF\n",
     "gauge g gauge=1 @1520879607789000000\ngauge g gauge=2 @1520879607000000000\n"
     "gauge g gauge=3 @1500000000000000000\ngauge g gauge=4\ngauge g gauge=5\n"
     "gauge g gauge=6 @1520879607123456789\n"},
    /* exemplars are dropped, after the value or the timestamp */
    {"# TYPE h histogram\nh_bucket{le=\"0.1\"} 8 # {id=\"a}\\\"b\"} 0.054 1520879607.7\n"
     "h_bucket{le=\"+Inf\"} 17 # {} 3\nh_count 17\nh_sum 324789.3\nh_created 1520430000.123\n"
     "# TYPE c counter\nc_total 17.0 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n# EOF\n",
     "histogram h +Inf=17,0.1=8,count=17,sum=324789.3\n"
     "counter c_total counter=17 @1520879607789000000\n"},
    /* summaries as in the text format, without _created */
    {"# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 3\ns_count 2\ns_created 1.5e9\n# EOF\n",
     "summary s 0.5=1,count=2,sum=3\n"},
    /* unknown is untyped; info, stateset and gaugehistogram samples are gauges */
    {"# TYPE u unknown\nu 1\n# TYPE b info\nb_info{version=\"1.2\"} 1\n"
     "# TYPE st stateset\nst{st=\"a\"} 1\nst{st=\"b\"} 0\n"
     "# TYPE gh gaugehistogram\ngh_bucket{le=\"1\"} 2\ngh_bucket{le=\"+Inf\"} 3\ngh_gcount 3\n"
     "gh_gsum 4\n# EOF\n",
     "untyped u value=1\ngauge b_info,version=1.2 gauge=1\ngauge st,st=a gauge=1\n"
     "gauge st,st=b gauge=0\ngauge gh_bucket,le=1 gauge=2\ngauge gh_bucket,le=+Inf gauge=3\n"
     "gauge gh_gcount gauge=3\ngauge gh_gsum gauge=4\n"},
    /* the end of a histogram family before # EOF flushes it */
    {"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 2\n# EOF",
     "histogram h +Inf=1,count=1,sum=2\n"},
};

START_TEST(test_openmetrics_valid) {
  uint64_t errors;
  const char *last;
  char *got = om_dump(om_cases[_i].in, &errors, &last);
  ck_assert_msg(errors == 0, "%s: %llu errors, last %s", om_cases[_i].in,
                (unsigned long long)errors, last);
  ck_assert_str_eq(got, om_cases[_i].out);
  free(got);
}
END_TEST

static const struct {
  const char *in;
  uint64_t errors;
  const char *last; /* the last error */
  const char *out;
} om_error_cases[] = {
    {"g 1\n", 1, "line 1: OpenMetrics text without \"# EOF\" at its end: cut short?",
     "untyped g value=1\n"},
    {"g 1\n# EOF\ng 2\ng 3\n", 1,
     "line 3, column 1: text after \"# EOF\" (ignored up to the end of the document)",
     "untyped g value=1\n"},
    {"g 1 12:00\n# EOF\n", 1, "line 1, column 5: expected a timestamp in seconds, got \"12:00\"",
     ""},
    {"g 1 1e300\n# EOF\n", 1, "line 1, column 5: timestamp \"1e300\" out of range", ""},
    {"g 1 # id 2\n# EOF\n", 1, "line 1, column 7: expected '{' to open the labels of an exemplar",
     ""},
    {"g 1 # {a=\"}\"\n# EOF\n", 1,
     "line 1, column 13: expected '}' to close the labels of an exemplar", ""},
    {"g 1 # {} x\n# EOF\n", 1,
     "line 1, column 10: expected the float value of the exemplar at column 5", ""},
    {"g 1 # {} 1 now\n# EOF\n", 1,
     "line 1, column 12: expected the exemplar's timestamp (seconds), got \"now\"", ""},
    {"g 1 5 # {} 1 2 3\n# EOF\n", 1, "line 1, column 16: unexpected text after the exemplar", ""},
    {"# TYPE x untyped_thing\nx 1\n# EOF\n", 1,
     "line 1, column 10: unknown metric type \"untyped_thing\": expected counter, gauge, "
     "histogram, gaugehistogram, stateset, info, summary or unknown",
     ""},
};

START_TEST(test_openmetrics_errors) {
  uint64_t errors;
  const char *last;
  char *got = om_dump(om_error_cases[_i].in, &errors, &last);
  ck_assert_msg(errors == om_error_cases[_i].errors, "%s: %llu errors, last %s",
                om_error_cases[_i].in, (unsigned long long)errors, last);
  ck_assert_str_eq(last, om_error_cases[_i].last);
  ck_assert_str_eq(got, om_error_cases[_i].out);
  free(got);
}
END_TEST

/* The OpenMetrics forms keep their text-format meaning there: "# EOF" is a
 * comment, timestamps are ms, _total after a counter TYPE is another family. */
START_TEST(test_openmetrics_text_unchanged) {
  static const char doc[] = "# TYPE c counter\nc_total 5\nc_created 1.5\n# EOF\ng 1 1500\n";
  uint64_t errors;
  char *got = parse_dump(doc, sizeof doc - 1, &errors);
  ck_assert_uint_eq(errors, 0);
  ck_assert_str_eq(got, "untyped c_total value=5\nuntyped c_created value=1.5\n"
                        "untyped g value=1 @1500000000\n");
  free(got);
}
END_TEST

/* A second document through the same parser starts afresh after # EOF;
 * any cut of a document gives what the whole gives. */
START_TEST(test_openmetrics_stream) {
  static const char doc[] = "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1 # {} 1\nh_count 1\n"
                            "h_sum 2\n# TYPE c counter\nc_total 3 1.25\n# EOF\n";
  tower_parser *p = NULL;
  ck_assert_int_eq(tower_parser_new_format(NULL, "openmetrics", &p), 0);
  bag whole = {0};
  ck_assert_int_eq(tower_parser_parse(p, doc, sizeof doc - 1, collect, &whole), 2);
  ck_assert_int_eq(tower_parser_parse(p, doc, sizeof doc - 1, collect, &whole), 2);
  char *want = dump_bag(&whole);
  for (size_t cut = 0; cut < sizeof doc; cut++) {
    bag b = {0};
    for (int rep = 0; rep < 2; rep++) {
      ck_assert_int_ge(tower_parser_feed(p, doc, cut, collect, &b), 0);
      ck_assert_int_ge(tower_parser_feed(p, doc + cut, sizeof doc - 1 - cut, collect, &b), 0);
      ck_assert_int_ge(tower_parser_end(p, collect, &b), 0);
    }
    char *got = dump_bag(&b);
    ck_assert_str_eq(got, want);
    free(got);
    bag_clear(&b);
  }
  ck_assert_uint_eq(tower_parser_errors(p), 0);
  free(want);
  bag_clear(&whole);
  tower_parser_free(p);
}
END_TEST

/* ---- promtool ------------------------------------------------------------ */

/* Runs `promtool check metrics` on text; returns its exit status and puts
 * its output in out. Lint findings (status 3: "counter metrics should have
 * _total suffix", "no help text") are about naming, not syntax. */
static int promtool_check(const char *text, char *out, size_t out_size) {
  char path[] = "/tmp/tower-promtool-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  size_t len = strlen(text);
  ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
  close(fd);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
  FILE *f = popen(cmd, "r");
  ck_assert_ptr_nonnull(f);
  size_t n = fread(out, 1, out_size - 1, f);
  out[n] = '\0';
  int status = pclose(f);
  unlink(path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Metrics that exercise the mapping: sanitizing, escapes, string labels,
 * non-finite values, histograms and summaries with odd bounds. */
static const char *const promtool_lp[] = {
    "cpu,cpu=cpu-total,host=h usage_idle=97.2,usage_user=1.7,usage_guest=0i 1700000000000000000",
    "disk\\ io,dev\\ name=sda,path=C:\\\\dir\\ \"x\" read\\ bytes=12u,weird.key-1=1.5,ok=true",
    "net,iface=eth0 bytes_recv=18446744073709551615u,drops=-5i,rate=1e300",
    "msg,host=h text=\"line\\\\n \\\"q\\\"\",value=1",
    "unicode,\xec\x84\x9c\xeb\xb2\x84=\xea\xb0\x92,-x-=y value=2,\xea\xb0\x92=3",
};

static tower_metric *hist_metric(tower_value_type type) {
  tower_metric *m = tower_metric_new("req_duration", 1700000000123000000);
  tower_metric_set_type(m, type);
  tower_metric_add_tag(m, "path", "/api\"v1\"\\");
  tower_metric_add_float(m, "0.005", 1);
  tower_metric_add_float(m, "1e+06", 4);
  tower_metric_add_float(m, "-Inf", 0);
  tower_metric_add_float(m, "0.5", 3);
  tower_metric_add_float(m, "sum", 2.5);
  tower_metric_add_float(m, "count", 7);
  return m;
}

START_TEST(test_promtool) {
  static const char *const blocks[] = {
      "block = { data_format = \"prometheus\"; };",
      "block = { data_format = \"prometheus\"; prometheus_export_timestamp = true; "
      "prometheus_string_as_label = true; prometheus_compact_encoding = true; };",
  };
  ck_assert_msg(access("/usr/bin/promtool", X_OK) == 0 ||
                    system("command -v promtool >/dev/null") == 0,
                "promtool not found: install the Debian package prometheus "
                "(scripts/lib.sh TEST_PACKAGES)");
  bag b = {0};
  ck_assert_uint_eq(parse_doc(roundtrip_doc, sizeof roundtrip_doc - 1, &b), 0);
  ck_assert_uint_eq(parse_doc(stream_doc, sizeof stream_doc - 1, &b), 2);
  for (size_t i = 0; i < N(promtool_lp); i++)
    collect(&b, metric_from_lp(promtool_lp[i], (int)(i % 3)));
  collect(&b, hist_metric(TOWER_HISTOGRAM));
  collect(&b, hist_metric(TOWER_SUMMARY));
  tower_metric *nf = tower_metric_new("nonfinite", 1);
  tower_metric_add_float(nf, "nan", NAN);
  tower_metric_add_float(nf, "pinf", INFINITY);
  tower_metric_add_float(nf, "ninf", -INFINITY);
  collect(&b, nf);
  char out[4096];
  for (size_t k = 0; k < N(blocks); k++) {
    tower_serializer *s = serializer_with(blocks[k]);
    tower_buf *text = tower_buf_new(0);
    for (size_t i = 0; i < b.n; i++) {
      tower_buf_reset(text);
      int rc = tower_serialize(s, b.m[i], text);
      ck_assert_msg(rc == 0, "metric %zu: %d", i, rc);
      int status = promtool_check(tower_buf_data(text), out, sizeof out);
      ck_assert_msg((status == 0 || status == 3) && !strstr(out, "error"),
                    "promtool check metrics: status %d on\n%s\n%s", status, tower_buf_data(text),
                    out);
    }
    tower_buf_free(text);
    tower_serializer_free(s);
  }
  bag_clear(&b);
}
END_TEST

/* ---- suite ------------------------------------------------------------ */

static Suite *prometheus_suite(void) {
  Suite *s = suite_create("prometheus_format");
  TCase *tc = tcase_create("parse");
  tcase_add_loop_test(tc, test_parse_valid, 0, N(parse_cases));
  tcase_add_test(tc, test_parse_values);
  tcase_add_loop_test(tc, test_parse_errors, 0, N(error_cases));
  tcase_add_test(tc, test_error_recovery);
  tcase_add_test(tc, test_label_limit);
  tcase_add_test(tc, test_state_limits);
  tcase_add_test(tc, test_ignore_timestamp);
  tcase_add_test(tc, test_allocations);
  tcase_add_loop_test(tc, test_openmetrics_valid, 0, N(om_cases));
  tcase_add_loop_test(tc, test_openmetrics_errors, 0, N(om_error_cases));
  tcase_add_test(tc, test_openmetrics_text_unchanged);
  tcase_add_test(tc, test_openmetrics_stream);
  suite_add_tcase(s, tc);
  tc = tcase_create("stream");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_stream_cuts);
  tcase_add_test(tc, test_stream_bytewise);
  tcase_add_test(tc, test_sink_error);
  suite_add_tcase(s, tc);
  tc = tcase_create("serialize");
  tcase_add_loop_test(tc, test_serializer_options, 0, N(serializer_cases));
  tcase_add_test(tc, test_serializer_nothing);
  tcase_add_test(tc, test_serializer_histogram);
  tcase_add_loop_test(tc, test_map, 0, N(map_cases));
  tcase_add_test(tc, test_map_callback_error);
  tcase_add_test(tc, test_map_large);
  suite_add_tcase(s, tc);
  tc = tcase_create("numbers");
  tcase_add_loop_test(tc, test_format_key, 0, N(key_cases));
  tcase_add_loop_test(tc, test_parse_float, 0, N(float_cases));
  tcase_add_test(tc, test_count_and_utf8);
  suite_add_tcase(s, tc);
  tc = tcase_create("roundtrip");
  tcase_add_loop_test(tc, test_roundtrip, 0, 2);
  tcase_add_test(tc, test_roundtrip_adds_inf);
  suite_add_tcase(s, tc);
  tc = tcase_create("promtool");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_promtool);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return check_run(prometheus_suite());
}
