/* libFuzzer target: the "value" data format parser (core/format/format_value.c).
 *
 * For each input and every data_type it checks that
 *   1. parsing never crashes or leaks (the sanitizers watch);
 *   2. the input fed in two pieces, cut at a point taken from the data,
 *      gives the same metric and error count as parsed whole;
 *   3. the result is what an independent reading of the documented rules
 *      gives (the comment at the top of format_value.c, after Telegraf's
 *      value parser and Go's strconv): the value span (NULs, then Unicode
 *      white space trimmed; the last word unless data_type is string), its
 *      type, and its value -- integers by hand with overflow checks,
 *      floats through the C library's strtod (correctly rounded) after a
 *      grammar check of Go's float syntax, so every float compares bit for
 *      bit;
 *   4. a value that does not read as its type is one error that names a
 *      line and column, and no metric.
 * A failed check aborts, which libFuzzer reports with a reproducer.
 *
 * `make check` replays tests/fuzz/corpus/value/ through this file with
 * tests/fuzz/replay.c; `make fuzz` builds the libFuzzer binary and
 * `make fuzz-run` runs it (tests/fuzz/README.md).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <tower/format.h>

#include "format_json.h" /* twi_value_parser_new() */
#include "log_internal.h"

#define FUZZ_TARGET "fuzz_value"
#include "fuzz_util.h"

/* ---- the reference reading -------------------------------------------- */

/* What the parser should give for one input. */
typedef struct expect {
  enum { E_NONE, E_ERROR, E_INT, E_FLOAT, E_BOOL, E_STRING } kind;
  int64_t i;
  double f;
  bool b;
  const char *s; /* E_STRING: points into the input */
  size_t n;
} expect;

/* unicode.IsSpace outside ASCII, as UTF-8: U+0085, U+00A0, U+1680,
 * U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. */
static const char *const wide_spaces[] = {
    "\xc2\x85",     "\xc2\xa0",     "\xe1\x9a\x80", "\xe2\x80\x80", "\xe2\x80\x81",
    "\xe2\x80\x82", "\xe2\x80\x83", "\xe2\x80\x84", "\xe2\x80\x85", "\xe2\x80\x86",
    "\xe2\x80\x87", "\xe2\x80\x88", "\xe2\x80\x89", "\xe2\x80\x8a", "\xe2\x80\xa8",
    "\xe2\x80\xa9", "\xe2\x80\xaf", "\xe2\x81\x9f", "\xe3\x80\x80",
};

/* Length of the white space character that starts (dir > 0) or ends
 * (dir < 0) s[0..n), or 0. */
static size_t space_at(const char *s, size_t n, int dir) {
  if (n == 0)
    return 0;
  char c = dir > 0 ? s[0] : s[n - 1];
  if (c == ' ' || (c >= '\t' && c <= '\r'))
    return 1;
  for (size_t k = 0; k < sizeof wide_spaces / sizeof *wide_spaces; k++) {
    size_t w = strlen(wide_spaces[k]);
    if (w <= n && memcmp(dir > 0 ? s : s + n - w, wide_spaces[k], w) == 0)
      return w;
  }
  return 0;
}

/* The bytes the value is read from: [*a, *b). */
static void span(const char *s, size_t n, bool last_word, size_t *a, size_t *b) {
  size_t lo = 0, hi = n, w;
  while (lo < hi && s[lo] == '\0')
    lo++;
  while (hi > lo && s[hi - 1] == '\0')
    hi--;
  while ((w = space_at(s + lo, hi - lo, 1)))
    lo += w;
  while ((w = space_at(s + lo, hi - lo, -1)))
    hi -= w;
  for (size_t i = lo; last_word && i < hi; i += w ? w : 1)
    if ((w = space_at(s + i, hi - i, 1)))
      lo = i + w;
  *a = lo;
  *b = hi;
}

/* strconv.Atoi: [+-]?[0-9]+ within int64. -EINVAL or -ERANGE. */
static int ref_int(const char *s, size_t n, int64_t *out) {
  size_t i = n && (s[0] == '+' || s[0] == '-');
  bool neg = i && s[0] == '-';
  if (i == n)
    return -EINVAL;
  uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
  bool over = false;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -EINVAL;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (limit - d) / 10)
      over = true;
    else
      v = v * 10 + d;
  }
  if (over)
    return -ERANGE;
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return 0;
}

static size_t digits(const char *s, size_t n, size_t i, bool hex) {
  size_t start = i;
  while (i < n &&
         ((s[i] >= '0' && s[i] <= '9') || (hex && (s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')))
    i++;
  return i - start;
}

/* Go's float syntax without underscores: decimal (digits, optional '.',
 * optional e exponent) or 0x hexadecimal with a mandatory p exponent. */
static bool float_syntax(const char *s, size_t n) {
  size_t i = 0;
  bool hex = n >= 2 && s[0] == '0' && (s[1] | 0x20) == 'x';
  i += hex ? 2 : 0;
  size_t mant = digits(s, n, i, hex);
  i += mant;
  if (i < n && s[i] == '.') {
    size_t frac = digits(s, n, i + 1, hex);
    mant += frac;
    i += 1 + frac;
  }
  if (mant == 0)
    return false;
  if (i == n)
    return !hex;
  if ((s[i] | 0x20) != (hex ? 'p' : 'e'))
    return false;
  i += 1 + (i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-'));
  size_t exp = digits(s, n, i, false);
  return exp > 0 && i + exp == n;
}

/* strconv.ParseFloat(s, 64). -EINVAL or -ERANGE. */
static int ref_float(const char *s, size_t n, double *out) {
  size_t sign = n && (s[0] == '+' || s[0] == '-');
  const char *u = s + sign;
  size_t un = n - sign;
  if ((un == 3 || un == 8) && strncasecmp(u, "infinity", un) == 0) {
    *out = sign && s[0] == '-' ? -INFINITY : INFINITY;
    return 0;
  }
  if (un == 3 && !sign && strncasecmp(u, "nan", 3) == 0) {
    *out = NAN;
    return 0;
  }
  if (!float_syntax(u, un))
    return -EINVAL;
  char *text = malloc(n + 1);
  if (!text)
    die("out of memory");
  memcpy(text, s, n);
  text[n] = '\0';
  double v = strtod(text, NULL); /* glibc rounds correctly, hex included */
  free(text);
  if (isinf(v))
    return -ERANGE; /* underflow is no error in Go: 1e-400 reads as 0 */
  *out = v;
  return 0;
}

static int ref_bool(const char *s, size_t n, bool *out) {
  static const char *const words[] = {"1", "t", "T", "TRUE",  "true",  "True",
                                      "0", "f", "F", "FALSE", "false", "False"};
  for (size_t k = 0; k < 12; k++)
    if (strlen(words[k]) == n && memcmp(words[k], s, n) == 0)
      return *out = k < 6, 0;
  return -EINVAL;
}

typedef enum dtype { T_INT, T_FLOAT, T_STRING, T_BOOL, T_AUTO_INT, T_AUTO_FLOAT } dtype;

static expect reference(dtype t, const char *data, size_t size) {
  size_t a, b;
  span(data, size, t != T_STRING, &a, &b);
  expect e = {.kind = E_NONE};
  const char *s = data + a;
  size_t n = b - a;
  if (n == 0)
    return e;
  if ((t == T_INT || t == T_AUTO_INT) && ref_int(s, n, &e.i) == 0)
    e.kind = E_INT;
  else if ((t == T_FLOAT || t == T_AUTO_FLOAT) && ref_float(s, n, &e.f) == 0)
    e.kind = E_FLOAT;
  else if (t == T_BOOL && ref_bool(s, n, &e.b) == 0)
    e.kind = E_BOOL;
  else if ((t == T_STRING || t == T_AUTO_INT || t == T_AUTO_FLOAT) && !memchr(s, '\0', n))
    e = (expect){.kind = E_STRING, .s = s, .n = n};
  else
    e.kind = E_ERROR;
  return e;
}

/* ---- the parser --------------------------------------------------------- */

static const struct {
  const char *name;
  dtype type;
} types[] = {
    {"integer", T_INT},
    {"long", T_FLOAT},
    {"string", T_STRING},
    {"bool", T_BOOL},
    {"auto_integer", T_AUTO_INT},
    {"auto_float", T_AUTO_FLOAT},
    {"int", T_INT},
    {"float", T_FLOAT},
    {"str", T_STRING},
    {"boolean", T_BOOL},
};

#define NTYPES (sizeof types / sizeof *types)

/* Parses data in two feeds cut at `cut`; returns the error count. */
static uint64_t parse_cut(tower_parser *p, const char *data, size_t size, size_t cut, mlist *out) {
  uint64_t before = tower_parser_errors(p);
  if ((cut > 0 && tower_parser_feed(p, data, cut, keep, out) < 0) ||
      (size > cut && tower_parser_feed(p, data + cut, size - cut, keep, out) < 0) ||
      tower_parser_end(p, keep, out) < 0)
    die("parse failed");
  return tower_parser_errors(p) - before;
}

static void check_metric(const tower_metric *m, const char *name, const char *field,
                         const expect *e, const char *type) {
  if (strcmp(tower_metric_name(m), name) != 0 || tower_metric_tag_count(m) != 0 ||
      tower_metric_field_count(m) != 1 || tower_metric_time(m) != TOWER_TIME_UNSET ||
      strcmp(tower_metric_field_key(m, 0), field) != 0)
    die("%s: metric %s with %zu fields is not \"%s %s=...\"", type, tower_metric_name(m),
        tower_metric_field_count(m), name, field);
  tower_field_type ft = tower_metric_field_type(m, 0);
  bool same = false;
  switch (e->kind) {
  case E_INT:
    same = ft == TOWER_FIELD_INT && tower_metric_field_int(m, 0) == e->i;
    break;
  case E_FLOAT: {
    double got = tower_metric_field_float(m, 0);
    same = ft == TOWER_FIELD_FLOAT &&
           (isnan(e->f) ? isnan(got) : memcmp(&got, &e->f, sizeof got) == 0);
    break;
  }
  case E_BOOL:
    same = ft == TOWER_FIELD_BOOL && tower_metric_field_bool(m, 0) == e->b;
    break;
  case E_STRING:
    same = ft == TOWER_FIELD_STRING && strlen(tower_metric_field_string(m, 0)) == e->n &&
           memcmp(tower_metric_field_string(m, 0), e->s, e->n) == 0;
    break;
  default:
    break;
  }
  if (!same)
    die("%s: the field differs from the reference (kind %d, field type %d)", type, (int)e->kind,
        (int)ft);
}

static void check_type(size_t k, const char *data, size_t size, size_t cut) {
  const char *name = k % 2 ? "uptime" : "value", *field = k % 3 ? "value" : "v";
  tower_parser *p = NULL;
  if (twi_value_parser_new(NULL, types[k].name, k % 3 ? NULL : "v", &p) < 0)
    die("no value parser for %s", types[k].name);
  if (k % 2 && tower_parser_set_default_name(p, name) < 0)
    die("cannot name the metric");
  mlist whole = {0}, split = {0};
  uint64_t errors = parse_cut(p, data, size, size, &whole);
  const char *why = errors ? tower_parser_last_error(p) : NULL;
  if (!(why && strstr(why, "line ") && strstr(why, "column ")) != !errors)
    die("%s: error \"%s\" does not name a line and column", types[k].name, why ? why : "(none)");
  if (parse_cut(p, data, size, cut, &split) != errors || split.n != whole.n)
    die("%s: a cut at %zu changes the result", types[k].name, cut);
  expect e = reference(types[k].type, data, size);
  if (errors != (e.kind == E_ERROR) || whole.n != (e.kind != E_NONE && e.kind != E_ERROR))
    die("%s: %zu metrics and %llu errors, the reference says kind %d", types[k].name, whole.n,
        (unsigned long long)errors, (int)e.kind);
  for (size_t i = 0; i < whole.n; i++) {
    check_metric(whole.m[i], name, field, &e, types[k].name);
    check_metric(split.m[i], name, field, &e, types[k].name);
  }
  mlist_free(&whole);
  mlist_free(&split);
  tower_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool quiet;
  if (!quiet && twi_log_set_file("/dev/null") == 0)
    quiet = true; /* the parser logs every refusal */
  if (size > 4096)
    return 0;
  size_t cut = size ? (data[0] * 131u + data[size - 1]) % (size + 1) : 0;
  for (size_t k = 0; k < NTYPES; k++)
    check_type(k, (const char *)data, size, cut);
  return 0;
}
