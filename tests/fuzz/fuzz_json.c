/* libFuzzer target: the JSON tokenizer, parser and serializer, the value
 * parser and the Go time layouts.
 *
 * For each input it checks that
 *   1. parsing never crashes or leaks (the sanitizers watch), under several
 *      option sets (tags, string fields, name key, queries, times, zones);
 *   2. the input fed in two pieces gives the same metrics as fed whole;
 *   3. the tokenizer accepts exactly what jansson accepts, for the inputs
 *      where both follow RFC 8259 alike (valid UTF-8, no NUL bytes, no
 *      surrogate or NUL escapes, shallow nesting), an independent check of
 *      the grammar;
 *   4. every parsed metric serializes, and the output, read back with the
 *      options that map it onto a metric (json_name_key = "name", tags_*
 *      as tags, fields_* kept, timestamp in unix_ns), gives equal metrics
 *      (floats bit for bit) that serialize to the same bytes;
 *   5. the value parser takes the input under every data_type;
 *   6. Go layouts parse the input without crashing, and a time taken from
 *      the input formats and parses back to itself.
 * A failed check aborts, which libFuzzer reports with a reproducer.
 *
 * `make check` replays tests/fuzz/corpus/json/ through this file with
 * tests/fuzz/replay.c. To run the real fuzzer, build libtower with clang
 * and coverage instrumentation, then link this file with libFuzzer:
 *
 *   ./configure CC=clang \
 *     CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined" \
 *     LDFLAGS="-fsanitize=address,undefined"
 *   make core/libtower.la
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Isdk/include -Icore \
 *     tests/fuzz/fuzz_json.c core/.libs/libtower.so -ljansson \
 *     -Wl,-rpath,"$PWD/core/.libs" -o fuzz_json
 *   mkdir -p fuzz-work
 *   ./fuzz_json -max_len=4096 -max_total_time=600 -dict=tests/fuzz/json.dict \
 *     fuzz-work tests/fuzz/corpus/json
 *
 * New inputs land in fuzz-work/; a crash in ./crash-<sha1>. Copy a
 * reproducer into tests/fuzz/corpus/json/ once fixed, so that make check
 * keeps replaying it.
 */
#include "config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/format.h>

#include "format_json.h"

#define FUZZ_TARGET "fuzz_json"
#include "fuzz_util.h"

/* ---- option sets ------------------------------------------------------ */

static const char *const all[] = {"*"}, *const tag_a[] = {"*a*", "t?"};
static const char *const tags_glob[] = {"tags_*"};

static const twi_json_options option_sets[] = {
    {0},
    {.tag_keys = tag_a,
     .n_tag_keys = 2,
     .string_fields = all,
     .n_string_fields = 1,
     .name_key = "name"},
    {.query = "data.#.x", .lenient = true, .string_fields = all, .n_string_fields = 1},
    {.query = "a.0", .tag_keys = all, .n_tag_keys = 1},
    {.time_key = "t", .time_format = "unix_ms", .lenient = true},
    {.time_key = "t",
     .time_format = "2006-01-02T15:04:05.999Z07:00 MST",
     .timezone = "America/New_York"},
};

#define NSETS (sizeof option_sets / sizeof option_sets[0])

static tower_parser *parser(const twi_json_options *o) {
  tower_parser *p = NULL;
  if (twi_json_parser_new(NULL, o, &p) < 0)
    die("option set refused");
  return p;
}

/* Parses data in two feeds cut at `cut`; returns the error count. Empty
 * feeds are skipped: core/format.c's pending_append() does arithmetic on a
 * NULL buffer for them (undefined behavior that UBSan reports). */
static uint64_t parse_cut(tower_parser *p, const char *data, size_t size, size_t cut, mlist *out) {
  uint64_t before = tower_parser_errors(p);
  if ((cut > 0 && tower_parser_feed(p, data, cut, keep, out) < 0) ||
      (size > cut && tower_parser_feed(p, data + cut, size - cut, keep, out) < 0) ||
      tower_parser_end(p, keep, out) < 0)
    die("parse failed");
  return tower_parser_errors(p) - before;
}

/* ---- comparing metrics ------------------------------------------------ */

static int field_equal(const tower_metric *a, size_t i, const tower_metric *b, size_t j) {
  tower_field_type t = tower_metric_field_type(a, i);
  if (t != tower_metric_field_type(b, j))
    return 0;
  if (t == TOWER_FIELD_STRING)
    return strcmp(tower_metric_field_string(a, i), tower_metric_field_string(b, j)) == 0;
  double x = tower_metric_field_float(a, i), y = tower_metric_field_float(b, j);
  return memcmp(&x, &y, sizeof x) == 0 &&
         tower_metric_field_bool(a, i) == tower_metric_field_bool(b, j);
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
    if (strcmp(tower_metric_field_key(a, i), tower_metric_field_key(b, i)) != 0 ||
        !field_equal(a, i, b, i))
      return 0;
  return 1;
}

/* Metric b read back from the serializer's output: "tags_" and "fields_"
 * prefixes on its keys. */
static int reread_equal(const tower_metric *a, const tower_metric *b) {
  if (strcmp(tower_metric_name(a), tower_metric_name(b)) != 0 ||
      tower_metric_time(a) != tower_metric_time(b) ||
      tower_metric_tag_count(a) != tower_metric_tag_count(b) ||
      tower_metric_field_count(a) != tower_metric_field_count(b))
    return 0;
  for (size_t i = 0; i < tower_metric_tag_count(a); i++) {
    const char *kb = tower_metric_tag_key(b, i);
    if (strncmp(kb, "tags_", 5) != 0 || strcmp(tower_metric_tag_key(a, i), kb + 5) != 0 ||
        strcmp(tower_metric_tag_value(a, i), tower_metric_tag_value(b, i)) != 0)
      return 0;
  }
  for (size_t i = 0; i < tower_metric_field_count(a); i++) {
    const char *k = tower_metric_field_key(a, i);
    char *key = malloc(strlen(k) + 8);
    if (!key)
      die("out of memory");
    memcpy(key, "fields_", 7);
    strcpy(key + 7, k);
    ptrdiff_t j = tower_metric_field_index(b, key);
    free(key);
    if (j < 0 || !field_equal(a, i, b, (size_t)j))
      return 0;
  }
  return 1;
}

static void expect_same(const mlist *a, const mlist *b, const char *what) {
  if (a->n != b->n)
    die("%s: %zu metrics, then %zu", what, a->n, b->n);
  for (size_t i = 0; i < a->n; i++)
    if (!metric_equal(a->m[i], b->m[i]))
      die("%s: metric %zu differs", what, i);
}

/* ---- checks ----------------------------------------------------------- */

static tower_buf *serialize_all(tower_serializer *s, const mlist *l) {
  tower_buf *b = tower_buf_new(0);
  if (!b)
    die("out of memory");
  for (size_t i = 0; i < l->n; i++)
    if (tower_serialize(s, l->m[i], b))
      die("metric %zu (%s) not serializable", i, tower_metric_name(l->m[i]));
  return b;
}

/* Serializes, reads back as one metric per line, serializes again. */
static void check_round_trip(const mlist *l) {
  static const char *const string_fields[] = {"fields_*"};
  twi_json_write_options wo = {.units_ns = 1};
  twi_json_options ro = {.tag_keys = tags_glob,
                         .n_tag_keys = 1,
                         .string_fields = string_fields,
                         .n_string_fields = 1,
                         .name_key = "name",
                         .time_key = "timestamp",
                         .time_format = "unix_ns"};
  tower_serializer *s = NULL;
  if (twi_json_serializer_new(NULL, &wo, &s) < 0)
    die("no serializer");
  tower_buf *out = serialize_all(s, l);
  tower_parser *p = parser(&ro);
  mlist again = {0};
  const char *text = tower_buf_data(out), *end = text + tower_buf_len(out);
  while (text < end) {
    const char *nl = memchr(text, '\n', (size_t)(end - text));
    if (!nl || parse_cut(p, text, (size_t)(nl - text), 0, &again) != 0)
      die("serialized output does not read back:\n%s", tower_buf_data(out));
    text = nl + 1;
  }
  if (again.n != l->n)
    die("read back %zu metrics of %zu", again.n, l->n);
  for (size_t i = 0; i < l->n; i++)
    if (!reread_equal(l->m[i], again.m[i]))
      die("metric %zu differs after a round trip:\n%s", i, tower_buf_data(out));
  tower_buf *out2 = serialize_all(s, l);
  if (tower_buf_len(out2) != tower_buf_len(out) ||
      memcmp(tower_buf_data(out2), tower_buf_data(out), tower_buf_len(out)) != 0)
    die("second serialization differs");
  tower_buf_free(out2);
  tower_buf_free(out);
  mlist_free(&again);
  tower_parser_free(p);
  tower_serializer_free(s);
}

static bool valid_utf8(const unsigned char *s, size_t n) {
  json_t *j = json_stringn((const char *)s, n); /* jansson checks UTF-8 */
  bool ok = j != NULL;
  json_decref(j);
  return ok;
}

/* Inputs where jansson's grammar is Go's: no invalid UTF-8 (Go keeps it in
 * strings), no \u escapes of surrogates or NUL (jansson refuses lone
 * surrogates and NUL in keys), no NUL byte (json_loadb takes one as the end
 * of the input: "true\0x" is valid to it), not deep (jansson stops at
 * 2048). */
static bool comparable(const char *s, size_t n) {
  size_t open = 0;
  if (memchr(s, '\0', n))
    return false;
  for (size_t i = 0; i < n; i++) {
    open += s[i] == '[' || s[i] == '{';
    if (s[i] == '\\' && i + 2 < n && s[i + 1] == 'u' &&
        (s[i + 2] == 'd' || s[i + 2] == 'D' || s[i + 2] == '0'))
      return false;
  }
  return open < 2000 && valid_utf8((const unsigned char *)s, n);
}

static void check_grammar(const char *data, size_t size) {
  size_t a = 0, b = size;
  while (a < b && strchr(" \t\n\r\v\f", data[a]) && data[a])
    a++;
  while (b > a && strchr(" \t\n\r\v\f", data[b - 1]) && data[b - 1])
    b--;
  if (b - a >= 3 && memcmp(data + a, "\xef\xbb\xbf", 3) == 0)
    a += 3;
  if (a == b || !comparable(data + a, b - a))
    return;
  twi_jlex lx = {0};
  int mine = twi_json_lex(&lx, data + a, b - a);
  json_error_t err;
  json_t *j =
      json_loadb(data + a, b - a, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
  if ((mine == 0) != (j != NULL))
    die("tokenizer says %s (%s), jansson says %s", mine ? "invalid" : "valid", lx.err,
        j ? "valid" : err.text);
  json_decref(j);
  twi_jlex_release(&lx, true);
}

static int free_sink(void *ctx, tower_metric *m) {
  (void)ctx;
  tower_metric_free(m);
  return 0;
}

static void check_value(const char *data, size_t size) {
  static const char *const types[] = {"integer", "float",        "string",
                                      "boolean", "auto_integer", "auto_float"};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    tower_parser *p = NULL;
    if (twi_value_parser_new(NULL, types[i], NULL, &p) < 0)
      die("no value parser");
    if ((size && tower_parser_feed(p, data, size, free_sink, NULL) < 0) ||
        tower_parser_end(p, free_sink, NULL) < 0)
      die("value parse failed");
    tower_parser_free(p);
  }
}

static void check_layouts(const char *data, size_t size) {
  static const char *const layouts[] = {"RFC3339Nano", "RFC1123", "Stamp",
                                        "Monday, 02-Jan-06 3:04:05.000 PM -07:00:00",
                                        "2006 002 __2 _2 Z070000 MST"};
  for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
    twi_gotime *t;
    const char *why;
    char msg[200], text[TWI_GOTIME_FMT_SIZE];
    int64_t ns = 0, back;
    if (twi_gotime_compile(layouts[i], true, &t, &why) < 0)
      die("layout refused");
    twi_gotime_parse(t, data, size, NULL, &ns, msg, sizeof msg);
    if (i < 2 && size >= 8) {
      memcpy(&ns, data, 8);
      size_t n = twi_gotime_format(t, ns, text);
      if (i == 0 && (twi_gotime_parse(t, text, n, NULL, &back, msg, sizeof msg) || back != ns))
        die("%s does not read back: %s", text, msg);
    }
    twi_gotime_free(t);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536)
    return 0;
  const char *text = (const char *)data;
  size_t cut = size ? (data[0] * 131u + data[size - 1]) % (size + 1) : 0;
  check_grammar(text, size);
  for (size_t k = 0; k < NSETS; k++) {
    tower_parser *p = parser(&option_sets[k]);
    mlist whole = {0}, split = {0};
    uint64_t errors = parse_cut(p, text, size, size, &whole);
    if (parse_cut(p, text, size, cut, &split) != errors)
      die("option set %zu: cut at %zu changes the error count", k, cut);
    expect_same(&whole, &split, "cut input");
    if (k < 4)
      check_round_trip(&whole);
    mlist_free(&whole);
    mlist_free(&split);
    tower_parser_free(p);
  }
  check_value(text, size);
  check_layouts(text, size);
  return 0;
}
