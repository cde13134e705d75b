/* libFuzzer target: the line protocol parser and serializer.
 *
 * For each input it checks that
 *   1. parsing never crashes or leaks (the sanitizers watch),
 *   2. the input fed in two pieces, cut at a point taken from the data,
 *      gives the same metrics and error count as fed whole,
 *   3. every parsed metric can be serialized, and the output parses back,
 *      without errors, into equal metrics (floats bit for bit), and
 *      serializes again to the same bytes,
 *   4. the CSV serializer writes one row per metric (after the header).
 * A failed check aborts, which libFuzzer reports with a reproducer.
 *
 * `make check` replays tests/fuzz/corpus/lineprotocol/ through this file
 * with tests/fuzz/replay.c. To run the real fuzzer, build libtower with
 * clang and coverage instrumentation, then link this file with libFuzzer:
 *
 *   ./configure CC=clang \
 *     CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined" \
 *     LDFLAGS="-fsanitize=address,undefined"
 *   make core/libtower.la
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Isdk/include -Icore \
 *     tests/fuzz/fuzz_lineprotocol.c core/.libs/libtower.so \
 *     -Wl,-rpath,"$PWD/core/.libs" -o fuzz_lineprotocol
 *   mkdir -p fuzz-work
 *   ./fuzz_lineprotocol -max_len=4096 -max_total_time=600 \
 *     -dict=tests/fuzz/lineprotocol.dict fuzz-work tests/fuzz/corpus/lineprotocol
 *
 * New inputs land in fuzz-work/; a crash in ./crash-<sha1>. Copy a
 * reproducer into tests/fuzz/corpus/lineprotocol/ once fixed, so that
 * make check keeps replaying it.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/format.h>

#include "format_csv.h"

#define FUZZ_TARGET "fuzz_lineprotocol"
#include "fuzz_util.h"

/* Parses data in two feeds cut at `cut`; returns the error count. */
static uint64_t parse_cut(const char *data, size_t size, size_t cut, mlist *out) {
  tower_parser *p = NULL;
  if (tower_parser_new_format(NULL, "influx", &p) < 0)
    die("no influx parser");
  if (tower_parser_feed(p, data, cut, keep, out) < 0 ||
      tower_parser_feed(p, data + cut, size - cut, keep, out) < 0 ||
      tower_parser_end(p, keep, out) < 0)
    die("parse failed");
  uint64_t errors = tower_parser_errors(p);
  tower_parser_free(p);
  return errors;
}

static int field_equal(const tower_metric *a, const tower_metric *b, size_t i) {
  tower_field_type t = tower_metric_field_type(a, i);
  if (t != tower_metric_field_type(b, i) ||
      strcmp(tower_metric_field_key(a, i), tower_metric_field_key(b, i)) != 0)
    return 0;
  if (t == TOWER_FIELD_STRING)
    return strcmp(tower_metric_field_string(a, i), tower_metric_field_string(b, i)) == 0;
  double x = tower_metric_field_float(a, i), y = tower_metric_field_float(b, i);
  return memcmp(&x, &y, sizeof x) == 0 &&
         tower_metric_field_int(a, i) == tower_metric_field_int(b, i) &&
         tower_metric_field_uint(a, i) == tower_metric_field_uint(b, i) &&
         tower_metric_field_bool(a, i) == tower_metric_field_bool(b, i);
}

static int metric_equal(const tower_metric *a, const tower_metric *b) {
  if (strcmp(tower_metric_name(a), tower_metric_name(b)) != 0 ||
      tower_metric_time(a) != tower_metric_time(b) ||
      tower_metric_tag_count(a) != tower_metric_tag_count(b) ||
      tower_metric_field_count(a) != tower_metric_field_count(b))
    return 0;
  for (size_t i = 0; i < tower_metric_tag_count(a); i++)
    if (strcmp(tower_metric_tag_key(a, i), tower_metric_tag_key(b, i)) != 0 ||
        strcmp(tower_metric_tag_value(a, i), tower_metric_tag_value(b, i)) != 0)
      return 0;
  for (size_t i = 0; i < tower_metric_field_count(a); i++)
    if (!field_equal(a, b, i))
      return 0;
  return 1;
}

static void expect_same(const mlist *a, const mlist *b, const char *what) {
  if (a->n != b->n)
    die("%s: %zu metrics, then %zu", what, a->n, b->n);
  for (size_t i = 0; i < a->n; i++)
    if (!metric_equal(a->m[i], b->m[i]))
      die("%s: metric %zu differs", what, i);
}

static tower_buf *serialize_all(const mlist *l) {
  tower_buf *b = tower_buf_new(0);
  if (!b)
    die("out of memory");
  for (size_t i = 0; i < l->n; i++) {
    int rc = tower_lp_write(l->m[i], b, TOWER_LP_UINT, 1);
    if (rc)
      die("metric %zu (%s) not serializable: %d", i, tower_metric_name(l->m[i]), rc);
  }
  return b;
}

/* One CSV row per metric, after the header; quoted newlines aside, so
 * count rows by serializing metrics one at a time. */
static void check_csv(const mlist *l) {
  twi_csv_options o = {.header = true, .timestamp_format = "rfc3339nano", .separator = ";"};
  tower_serializer *s = NULL;
  if (twi_csv_serializer_new(NULL, &o, &s) < 0)
    die("no csv serializer");
  tower_buf *b = tower_buf_new(0);
  for (size_t i = 0; i < l->n; i++) {
    size_t before = tower_buf_len(b);
    if (tower_serialize(s, l->m[i], b) < 0)
      die("csv: metric %zu not written", i);
    if (tower_buf_len(b) <= before || tower_buf_data(b)[tower_buf_len(b) - 1] != '\n')
      die("csv: metric %zu: no row", i);
  }
  tower_buf_free(b);
  tower_serializer_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536)
    return 0;
  const char *text = (const char *)data;
  size_t cut = size ? (data[0] * 131u + data[size - 1]) % (size + 1) : 0;
  mlist whole = {0}, split = {0}, again = {0};
  uint64_t errors = parse_cut(text, size, size, &whole);
  if (parse_cut(text, size, cut, &split) != errors)
    die("cut at %zu changes the error count", cut);
  expect_same(&whole, &split, "cut input");

  tower_buf *out = serialize_all(&whole);
  const char *lp = tower_buf_data(out);
  size_t len = tower_buf_len(out);
  if (parse_cut(lp, len, len / 2, &again) != 0)
    die("serialized output does not parse:\n%s", lp);
  expect_same(&whole, &again, "serialized and parsed again");
  tower_buf *out2 = serialize_all(&again);
  if (tower_buf_len(out2) != len || memcmp(tower_buf_data(out2), lp, len) != 0)
    die("second serialization differs");
  check_csv(&whole);

  tower_buf_free(out2);
  tower_buf_free(out);
  mlist_free(&again);
  mlist_free(&split);
  mlist_free(&whole);
  return 0;
}
