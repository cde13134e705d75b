/* Throughput of the "json" format (parse, serialize) and the "value"
 * parser.
 *
 * Usage: bench_json [seconds per case, default 0.5]
 *
 * Parse cases feed whole documents, as an exec or kafka input does, and
 * count objects: ns per object, objects per second and MB/s of JSON text.
 * Building each metric and freeing it in the sink is included. Serialize
 * cases write one metric 1000 times into a reused buffer: ns per metric
 * and MB/s of JSON written.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/format.h>

#include "bench_util.h"
#include "format_json.h"

static double min_seconds = 0.5;

/* Ten numbers and three strings, one of them a tag: a service's status. */
static const char flat_object[] =
    "{\"service\":\"checkout\",\"host\":\"web-01.example.com\",\"state\":\"running\","
    "\"uptime\":86400,\"requests\":1234567,\"errors\":12,\"latency_p50\":0.0123,"
    "\"latency_p99\":0.4567,\"cpu\":37.5,\"memory_bytes\":536870912,\"threads\":48,"
    "\"queue\":3,\"ratio\":0.999731}";

/* Nested objects and an array, as HTTP APIs report. */
static const char nested_object[] =
    "{\"name\":\"db\",\"stats\":{\"connections\":{\"active\":12,\"idle\":30,\"max\":100},"
    "\"queries\":{\"select\":123456,\"insert\":2345,\"update\":345,\"delete\":12},"
    "\"latency_ms\":[1.5,2.25,9.75]},\"cache\":{\"hits\":987654,\"misses\":1234,"
    "\"ratio\":0.99875},\"up\":true}";

static int free_sink(void *ctx, tower_metric *m) {
  (void)ctx;
  tower_metric_free(m);
  return 0;
}

static tower_parser *json_parser(const char *tag) {
  const char *tags[] = {tag};
  twi_json_options o = {.tag_keys = tags, .n_tag_keys = tag ? 1 : 0};
  tower_parser *p;
  if (twi_json_parser_new(NULL, &o, &p) < 0)
    bench_die("no json parser");
  return p;
}

static void bench_parse(const char *name, tower_parser *p, const char *doc, size_t len,
                        int objects) {
  double start = bench_now(), t, ops = 0;
  do {
    if (tower_parser_parse(p, doc, len, free_sink, NULL) != objects)
      bench_die("benchmark document does not parse");
    ops += objects;
  } while ((t = bench_now() - start) < min_seconds);
  bench_report(name, t, ops, (double)len / objects);
}

/* A top-level array of n copies of `object`. */
static char *array_of(const char *object, int n, size_t *len) {
  size_t olen = strlen(object);
  char *doc = malloc((olen + 1) * (size_t)n + 2);
  if (!doc)
    bench_die("out of memory");
  char *d = doc;
  *d++ = '[';
  for (int i = 0; i < n; i++) {
    memcpy(d, object, olen);
    d += olen;
    *d++ = i + 1 < n ? ',' : ']';
  }
  *len = (size_t)(d - doc);
  return doc;
}

static int keep_one(void *ctx, tower_metric *m) {
  *(tower_metric **)ctx = m;
  return 0;
}

static tower_metric *metric_of(const char *doc, const char *tag) {
  tower_parser *p = json_parser(tag);
  tower_metric *m = NULL;
  if (tower_parser_parse(p, doc, strlen(doc), keep_one, &m) != 1 || !m)
    bench_die("benchmark object does not parse");
  tower_parser_free(p);
  return m;
}

static void bench_write(const char *name, const tower_metric *m, const char *layout) {
  twi_json_write_options o = {.timestamp_format = layout};
  tower_serializer *s;
  if (twi_json_serializer_new(NULL, &o, &s) < 0)
    bench_die("no json serializer");
  bench_serializer(name, s, m, min_seconds);
  tower_serializer_free(s);
}

static void parse_benches(void) {
  tower_parser *plain = json_parser(NULL), *tagged = json_parser("service");
  size_t len;
  bench_parse("json parse: flat, 10 numbers + 3 strings", tagged, flat_object, strlen(flat_object),
              1);
  bench_parse("json parse: nested objects and array", plain, nested_object, strlen(nested_object),
              1);
  char *arr = array_of(flat_object, 100, &len);
  bench_parse("json parse: array of 100 flat objects", tagged, arr, len, 100);
  free(arr);
  tower_parser_free(plain);
  tower_parser_free(tagged);
}

static void write_benches(void) {
  tower_metric *flat = metric_of(flat_object, "service");
  tower_metric *nested = metric_of(nested_object, NULL);
  tower_metric_set_time(flat, 1700000000123456789);
  tower_metric_set_time(nested, 1700000000123456789);
  bench_write("json write: flat (1 tag, 10 fields)", flat, NULL);
  bench_write("json write: nested (14 fields)", nested, NULL);
  bench_write("json write: flat, RFC3339Nano timestamp", flat, "RFC3339Nano");
  tower_metric *m = tower_metric_new("log", 1700000000000000000);
  tower_metric_add_tag(m, "path", "/var/log/app<main>.log");
  tower_metric_add_string(m, "msg", "disk \"sda\" at 91% full\n\tsee C:\\temp & ünïcödé");
  tower_metric_add_int(m, "code", 503);
  tower_metric_add_bool(m, "ok", false);
  bench_write("json write: escapes and unicode", m, NULL);
  tower_metric_free(m);
  tower_metric_free(flat);
  tower_metric_free(nested);
}

static void value_bench(void) {
  tower_parser *p;
  if (tower_parser_new_format(NULL, "value", &p) < 0)
    bench_die("no value parser");
  tower_parser_set_default_name(p, "entropy");
  bench_parse("value parse: integer", p, "3712\n", 5, 1);
  tower_parser_free(p);
}

int main(int argc, char **argv) {
  if (argc > 1)
    min_seconds = atof(argv[1]);
  if (!(min_seconds > 0))
    bench_die("usage: bench_json [seconds per case]");
  printf("objects: flat %zu B, nested %zu B\n\n", strlen(flat_object), strlen(nested_object));
  bench_report_header();
  parse_benches();
  write_benches();
  value_bench();
  return 0;
}
