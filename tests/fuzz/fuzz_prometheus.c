/* libFuzzer target: the Prometheus exposition parser and serializer.
 *
 * For each input it checks that
 *   1. parsing never crashes or leaks (the sanitizers watch),
 *   2. the input fed in two pieces, cut at a point taken from the data,
 *      gives the same metrics (type, name, tags, fields, time) and error
 *      count as fed whole,
 *   3. the metrics that can round-trip (see round_trips) serialize through
 *      tower_prom_map/write, parse back without errors into the same
 *      metrics, and serialize again to the same bytes,
 *   4. the serializer's output for any metric is an exposition the parser
 *      reads without errors: the input is also parsed as line protocol
 *      (arbitrary names, keys, values, given a type taken from the data)
 *      and those metrics go through the serializer too.
 * A failed check aborts, which libFuzzer reports with a reproducer.
 *
 * `make check` replays tests/fuzz/corpus/prometheus/ through this file
 * with tests/fuzz/replay.c. To run the real fuzzer, build libtower with
 * clang and coverage instrumentation, then link this file with libFuzzer:
 *
 *   ./configure CC=clang \
 *     CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined" \
 *     LDFLAGS="-fsanitize=address,undefined"
 *   make core/libtower.la
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Isdk/include -Icore \
 *     tests/fuzz/fuzz_prometheus.c core/.libs/libtower.so \
 *     -Wl,-rpath,"$PWD/core/.libs" -o fuzz_prometheus
 *   mkdir -p fuzz-work
 *   ./fuzz_prometheus -max_len=4096 -max_total_time=600 \
 *     -dict=tests/fuzz/prometheus.dict fuzz-work tests/fuzz/corpus/prometheus
 *
 * New inputs land in fuzz-work/; a crash in ./crash-<sha1>. Copy a
 * reproducer into tests/fuzz/corpus/prometheus/ once fixed, so that make
 * check keeps replaying it.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/format.h>

#define FUZZ_TARGET "fuzz_prometheus"
#include "fuzz_util.h"

/* Parses data in two feeds cut at `cut`; returns the error count. */
static uint64_t parse_cut(const char *format, const char *data, size_t size, size_t cut,
                          mlist *out) {
  tower_parser *p = NULL;
  if (tower_parser_new_format(NULL, format, &p) < 0)
    die("no %s parser", format);
  if (tower_parser_feed(p, data, cut, keep, out) < 0 ||
      tower_parser_feed(p, data + cut, size - cut, keep, out) < 0 ||
      tower_parser_end(p, keep, out) < 0)
    die("parse failed");
  uint64_t errors = tower_parser_errors(p);
  tower_parser_free(p);
  return errors;
}

/* Everything a metric holds, as text (floats by their shortest form, so
 * NaN payloads do not matter). */
static void dump(tower_buf *b, const tower_metric *m) {
  tower_buf_printf(b, "%d %s %lld", (int)tower_metric_type(m), tower_metric_name(m),
                   (long long)tower_metric_time(m));
  for (size_t i = 0; i < tower_metric_tag_count(m); i++)
    tower_buf_printf(b, "|%s=%s", tower_metric_tag_key(m, i), tower_metric_tag_value(m, i));
  for (size_t i = 0; i < tower_metric_field_count(m); i++) {
    tower_buf_printf(b, "|%s:%d=", tower_metric_field_key(m, i),
                     (int)tower_metric_field_type(m, i));
    tower_format_float(b, tower_metric_field_float(m, i));
  }
  tower_buf_append(b, "\n", 1);
}

static void expect_same(const mlist *a, const mlist *b, const char *what) {
  if (a->n != b->n)
    die("%s: %zu metrics, then %zu", what, a->n, b->n);
  tower_buf *x = tower_buf_new(0), *y = tower_buf_new(0);
  for (size_t i = 0; i < a->n; i++) {
    tower_buf_reset(x);
    tower_buf_reset(y);
    dump(x, a->m[i]);
    dump(y, b->m[i]);
    if (strcmp(tower_buf_data(x), tower_buf_data(y)) != 0)
      die("%s: metric %zu differs:\n%s%s", what, i, tower_buf_data(x), tower_buf_data(y));
  }
  tower_buf_free(x);
  tower_buf_free(y);
}

/* A parsed metric comes back unchanged unless the mapping must change it:
 * a tag starting with "__" (reserved: no series), and for histograms and
 * summaries a NaN bound or quantile (skipped), both -0 and 0 (one bucket),
 * or a histogram without +Inf (the series gains one). */
static int round_trips(const tower_metric *m) {
  for (size_t i = 0; i < tower_metric_tag_count(m); i++)
    if (strncmp(tower_metric_tag_key(m, i), "__", 2) == 0)
      return 0;
  tower_value_type t = tower_metric_type(m);
  if (t != TOWER_HISTOGRAM && t != TOWER_SUMMARY)
    return 1;
  if (tower_metric_field_index(m, "NaN") >= 0 ||
      (tower_metric_field_index(m, "-0") >= 0 && tower_metric_field_index(m, "0") >= 0))
    return 0;
  return t == TOWER_SUMMARY || tower_metric_field_index(m, "+Inf") >= 0;
}

static tower_serializer *serializer(void) {
  tower_serializer *s = NULL;
  if (tower_serializer_new_format(NULL, "prometheus", &s) < 0)
    die("no prometheus serializer");
  return s;
}

typedef struct write_ctx {
  tower_buf *out;
} write_ctx;

static int write_one(void *ud, const tower_prom_series *s) {
  write_ctx *c = ud;
  if (tower_prom_write_header(c->out, s->name, s->type, "fuzz") < 0 ||
      tower_prom_write_series(c->out, s, TOWER_PROM_TIMESTAMP) < 0)
    return -ENOMEM;
  return 0;
}

/* Every metric's series with HELP, TYPE and sample timestamps (so that
 * times survive). */
static tower_buf *write_all(const mlist *l, unsigned flags) {
  tower_buf *b = tower_buf_new(0);
  if (!b)
    die("out of memory");
  write_ctx c = {b};
  for (size_t i = 0; i < l->n; i++)
    if (tower_prom_map(l->m[i], flags, write_one, &c) < 0)
      die("metric %zu (%s) cannot be mapped", i, tower_metric_name(l->m[i]));
  return b;
}

/* Checks 3: the metrics that round-trip do. */
static void check_roundtrip(const mlist *parsed) {
  mlist keep_list = {0}, again = {0};
  for (size_t i = 0; i < parsed->n; i++)
    if (round_trips(parsed->m[i]))
      keep(&keep_list, tower_metric_clone(parsed->m[i]));
  tower_buf *out = write_all(&keep_list, 0);
  const char *text = tower_buf_data(out);
  size_t len = tower_buf_len(out);
  if (parse_cut("prometheus", text, len, len / 2, &again) != 0)
    die("serialized output does not parse:\n%s", text);
  expect_same(&keep_list, &again, "serialized and parsed again");
  tower_buf *out2 = write_all(&again, 0);
  if (tower_buf_len(out2) != len || memcmp(tower_buf_data(out2), text, len) != 0)
    die("second serialization differs:\n%s\n%s", text, tower_buf_data(out2));
  tower_buf_free(out2);
  tower_buf_free(out);
  mlist_free(&again);
  mlist_free(&keep_list);
}

/* Check 4: any metric's exposition parses cleanly, through the format's
 * serializer (HELP text, per-metric headers) and with strings as labels. */
static void check_any_metric(const uint8_t *data, size_t size) {
  mlist lp = {0}, back = {0};
  parse_cut("influx", (const char *)data, size, size, &lp);
  for (size_t i = 0; i < lp.n; i++)
    tower_metric_set_type(lp.m[i], (tower_value_type)((data[0] + i) % 5));
  tower_serializer *s = serializer();
  tower_buf *out = tower_buf_new(0);
  for (size_t i = 0; i < lp.n; i++) {
    size_t before = tower_buf_len(out);
    int rc = tower_serialize(s, lp.m[i], out);
    if (rc != 0 && !(rc == -EINVAL && tower_buf_len(out) == before))
      die("serialize %zu: %d", i, rc);
  }
  tower_buf *labels = write_all(&lp, TOWER_PROM_STRING_AS_LABEL);
  tower_buf_append(out, tower_buf_data(labels), tower_buf_len(labels));
  if (parse_cut("prometheus", tower_buf_data(out), tower_buf_len(out), 0, &back) != 0)
    die("serializer output does not parse:\n%s", tower_buf_data(out));
  tower_buf_free(labels);
  tower_buf_free(out);
  tower_serializer_free(s);
  mlist_free(&back);
  mlist_free(&lp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536)
    return 0;
  const char *text = (const char *)data;
  size_t cut = size ? (data[0] * 131u + data[size - 1]) % (size + 1) : 0;
  mlist whole = {0}, split = {0};
  uint64_t errors = parse_cut("prometheus", text, size, size, &whole);
  if (parse_cut("prometheus", text, size, cut, &split) != errors)
    die("cut at %zu changes the error count", cut);
  expect_same(&whole, &split, "cut input");
  check_roundtrip(&whole);
  if (size)
    check_any_metric(data, size);
  mlist_free(&split);
  mlist_free(&whole);
  return 0;
}
