/* Differential tests of the line protocol fast paths.
 *
 * 1. Every input of the fuzz corpus (tests/fuzz/corpus/lineprotocol/) and
 *    thousands of generated metrics go parse -> serialize -> parse: the
 *    metrics must come back equal (floats bit for bit), and serialize again
 *    to the same bytes.
 * 2. The parser builds a line whose keys are in order and unescaped by
 *    appending (format_influx_parse.c: build_in_order), any other line
 *    through the sorted inserts of tower_metric_add_*: the same generated
 *    line with its tags and fields reversed must give an equal metric.
 * 3. twi_fmt_double's short-decimal path must write exactly what the exact
 *    128-bit path (twi_fmt_double_exact) writes, over values that take it.
 * 4. The parser's fast scanner (format_influx_parse.c: fast_scan) against
 *    its general one (the parser's general_only switch): the same metrics,
 *    error count and last error over the fuzz corpus, 40,000 generated
 *    lines and as many mutated ones.
 * 5. The number parsers' inline fast paths against the C library: doubles
 *    bit for bit against strtod(), integers against strtoull()/strtoll(),
 *    errors included.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/buf.h>
#include <tower/format.h>
#include <tower/metric.h>

#include "check_run.h"
#include "format_influx.h"
#include "format_internal.h"
#include "numfmt.h"

/* Divides the iteration counts: 10 under valgrind (main). */
static int slow = 1;

/* Check records every passing ck_assert, so loops test with plain ifs. */
#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ck_abort_msg(__VA_ARGS__);                                                                   \
  } while (0)

/* xorshift64*: reproducible random bits. */
static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}

/* ---- metrics ------------------------------------------------------------ */

typedef struct mlist {
  tower_metric **m;
  size_t n, cap;
} mlist;

static int keep(void *ctx, tower_metric *m) {
  mlist *l = ctx;
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 16;
    l->m = realloc(l->m, l->cap * sizeof *l->m);
    ck_assert_ptr_nonnull(l->m);
  }
  l->m[l->n++] = m;
  return 0;
}

static void mlist_free(mlist *l) {
  for (size_t i = 0; i < l->n; i++)
    tower_metric_free(l->m[i]);
  free(l->m);
  memset(l, 0, sizeof *l);
}

/* Parses a whole document; returns its error count. */
static uint64_t parse(const char *data, size_t len, mlist *out) {
  tower_parser *p = NULL;
  ck_assert_int_eq(tower_parser_new_format(NULL, "influx", &p), 0);
  ck_assert_int_ge(tower_parser_parse(p, data, len, keep, out), 0);
  uint64_t errors = tower_parser_errors(p);
  tower_parser_free(p);
  return errors;
}

static bool field_equal(const tower_metric *a, const tower_metric *b, size_t i) {
  tower_field_type t = tower_metric_field_type(a, i);
  if (t != tower_metric_field_type(b, i) ||
      strcmp(tower_metric_field_key(a, i), tower_metric_field_key(b, i)) != 0)
    return false;
  if (t == TOWER_FIELD_STRING)
    return strcmp(tower_metric_field_string(a, i), tower_metric_field_string(b, i)) == 0;
  double x = tower_metric_field_float(a, i), y = tower_metric_field_float(b, i);
  return memcmp(&x, &y, sizeof x) == 0 &&
         tower_metric_field_int(a, i) == tower_metric_field_int(b, i) &&
         tower_metric_field_uint(a, i) == tower_metric_field_uint(b, i) &&
         tower_metric_field_bool(a, i) == tower_metric_field_bool(b, i);
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
  for (size_t i = 0; i < tower_metric_field_count(a); i++)
    if (!field_equal(a, b, i))
      return false;
  return true;
}

static tower_buf *serialize(const mlist *l) {
  tower_buf *b = tower_buf_new(0);
  ck_assert_ptr_nonnull(b);
  for (size_t i = 0; i < l->n; i++)
    CHECK(tower_lp_write(l->m[i], b, TOWER_LP_UINT, 1) == 0, "metric %zu (%s) not written", i,
          tower_metric_name(l->m[i]));
  return b;
}

/* parse(data) -> serialize -> parse -> serialize: equal metrics, equal
 * bytes. `what` names the input in failures. */
static void round_trip(const char *data, size_t len, const char *what) {
  mlist first = {0}, again = {0};
  parse(data, len, &first);
  tower_buf *out = serialize(&first);
  const char *lp = tower_buf_data(out);
  CHECK(parse(lp, tower_buf_len(out), &again) == 0, "%s: the serialized text does not parse:\n%s",
        what, lp);
  CHECK(again.n == first.n, "%s: %zu metrics, %zu after the round trip", what, first.n, again.n);
  for (size_t i = 0; i < first.n; i++)
    CHECK(metric_equal(first.m[i], again.m[i]), "%s: metric %zu changed:\n%s", what, i, lp);
  tower_buf *out2 = serialize(&again);
  CHECK(tower_buf_len(out2) == tower_buf_len(out) &&
            memcmp(tower_buf_data(out2), lp, tower_buf_len(out)) == 0,
        "%s: serialized twice differently:\n%s\n%s", what, lp, tower_buf_data(out2));
  tower_buf_free(out2);
  tower_buf_free(out);
  mlist_free(&again);
  mlist_free(&first);
}

/* ---- 1. the fuzz corpus ----------------------------------------------- */

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "%s cannot be read", path);
  size_t cap = 4096, n = 0, r;
  char *buf = malloc(cap);
  while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0)
    if ((n += r) == cap)
      buf = realloc(buf, cap *= 2);
  fclose(f);
  ck_assert_ptr_nonnull(buf);
  *len = n;
  return buf;
}

/* Calls fn on the bytes of every file of the fuzz corpus; returns how many
 * files there were. */
static int each_corpus_file(void (*fn)(const char *data, size_t len, const char *name)) {
  DIR *d = opendir(LP_CORPUS_DIR);
  ck_assert_msg(d != NULL, "%s cannot be read", LP_CORPUS_DIR);
  int files = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", LP_CORPUS_DIR, e->d_name);
    size_t len;
    char *data = read_all(path, &len);
    fn(data, len, e->d_name);
    free(data);
    files++;
  }
  closedir(d);
  return files;
}

START_TEST(test_fuzz_corpus) {
  ck_assert_int_gt(each_corpus_file(round_trip), 10); /* the corpus is there */
}
END_TEST

/* ---- 2. generated metrics ---------------------------------------------- */

/* Bytes keys and values are made of: the separators and escapes of line
 * protocol among ordinary ones (no newline: it is written as "\n", the one
 * lossy case; no NUL: metric strings are C strings). */
static const char alphabet[] = "abcxyzAZ019_-./:,= \"\\\t#\xc3\xa9";

static void random_word(char *buf, size_t max, bool plain) {
  size_t n = 1 + rnd() % (max - 1);
  for (size_t i = 0; i < n; i++)
    buf[i] =
        plain ? "abcdefghijklmnopqrstuvwxyz_"[rnd() % 27] : alphabet[rnd() % (sizeof alphabet - 1)];
  /* a trailing backslash is dropped by the serializer (it would escape the
   * separator after it): end on an ordinary byte */
  if (buf[n - 1] == '\\')
    buf[n - 1] = 'q';
  buf[n] = '\0';
}

/* A value the float paths all see: short decimals, integers, computed
 * ratios, any bits. */
static double random_float(void) {
  switch (rnd() % 5) {
  case 0:
    return (double)(int64_t)(rnd() % 1000000) / pow(10, (double)(rnd() % 6));
  case 1:
    return (double)(int64_t)(rnd() >> (11 + rnd() % 53));
  case 2:
    return 100.0 * (double)(rnd() % 100000) / (double)(1 + rnd() % 100000);
  case 3:
    return -(double)(rnd() % 100000) / 100.0;
  default: {
    uint64_t b = rnd();
    double v;
    memcpy(&v, &b, sizeof v);
    return isfinite(v) ? v : 0.5;
  }
  }
}

static void add_random_field(tower_metric *m, const char *key, bool plain) {
  char s[16];
  int rc;
  switch (rnd() % 6) {
  case 0:
    rc = tower_metric_add_int(m, key, (int64_t)rnd());
    break;
  case 1:
    rc = tower_metric_add_uint(m, key, rnd());
    break;
  case 2:
    rc = tower_metric_add_bool(m, key, rnd() & 1);
    break;
  case 3:
    random_word(s, sizeof s, plain);
    rc = tower_metric_add_string(m, key, s);
    break;
  default:
    rc = tower_metric_add_float(m, key, random_float());
  }
  ck_assert_int_eq(rc, 0);
}

/* A metric of random name, tags and fields; `plain` keeps to letters, the
 * parser's in-order path when the keys come sorted. */
static tower_metric *random_metric(bool plain) {
  char name[16], k[16], v[16];
  random_word(name, sizeof name, plain);
  if (name[0] == '#' || name[0] == '\t' || name[0] == ' ')
    name[0] = 'm'; /* would be a comment or leading white space */
  tower_metric *m = tower_metric_new(name, rnd() & 1 ? (int64_t)(rnd() >> 1) : TOWER_TIME_UNSET);
  ck_assert_ptr_nonnull(m);
  for (uint64_t i = 0, n = rnd() % 5; i < n; i++) {
    random_word(k, sizeof k, plain);
    random_word(v, sizeof v, plain);
    ck_assert_int_eq(tower_metric_add_tag(m, k, v), 0);
  }
  for (uint64_t i = 0, n = 1 + rnd() % 5; i < n; i++) {
    random_word(k, sizeof k, plain);
    add_random_field(m, k, plain);
  }
  return m;
}

START_TEST(test_generated) {
  for (int i = 0; i < 20000 / slow; i++) {
    tower_metric *m = random_metric(i & 1);
    tower_buf *b = tower_buf_new(0);
    ck_assert_int_eq(tower_lp_write(m, b, TOWER_LP_UINT, 1), 0);
    mlist back = {0};
    CHECK(parse(tower_buf_data(b), tower_buf_len(b), &back) == 0 && back.n == 1,
          "generated line does not parse: %s", tower_buf_data(b));
    CHECK(metric_equal(m, back.m[0]), "generated metric changed: %s", tower_buf_data(b));
    round_trip(tower_buf_data(b), tower_buf_len(b), tower_buf_data(b));
    mlist_free(&back);
    tower_buf_free(b);
    tower_metric_free(m);
  }
}
END_TEST

/* Appends the ",k=v" items of `line` between [from, to) in reverse order. */
static size_t reverse_items(char *out, const char *from, const char *to) {
  size_t n = 0;
  const char *end = to;
  for (const char *p = to - 1; p >= from; p--) {
    if (*p != ',' && p != from)
      continue;
    const char *start = *p == ',' ? p + 1 : p;
    out[n++] = ',';
    memcpy(out + n, start, (size_t)(end - start));
    n += (size_t)(end - start);
    end = p;
  }
  return n;
}

/* The same plain line, keys in order and reversed: the in-order and the
 * sorting build give equal metrics. */
START_TEST(test_in_order_vs_sorted) {
  int in_order = 0;
  for (int i = 0; i < 20000 / slow; i++) {
    tower_metric *m = random_metric(true);
    tower_buf *b = tower_buf_new(0);
    ck_assert_int_eq(tower_lp_write(m, b, TOWER_LP_UINT, 1), 0);
    const char *line = tower_buf_data(b);
    /* plain words: the first ' ' ends the tags, the second the fields
     * (strings are plain too, no spaces) */
    const char *sp1 = strchr(line, ' '), *sp2 = strchr(sp1 + 1, ' ');
    const char *fend = sp2 ? sp2 : line + tower_buf_len(b) - 1;
    const char *comma = memchr(line, ',', (size_t)(sp1 - line));
    char rev[1024];
    size_t n = 0;
    const char *name_end = comma ? comma : sp1;
    memcpy(rev, line, (size_t)(name_end - line));
    n = (size_t)(name_end - line);
    if (comma)
      n += reverse_items(rev + n, comma + 1, sp1);
    rev[n++] = ' ';
    size_t f = reverse_items(rev + n, sp1 + 1, fend);
    memmove(rev + n, rev + n + 1, f - 1); /* no ',' before the first field */
    n += f - 1;
    snprintf(rev + n, sizeof rev - n, "%s", fend);
    n = strlen(rev);
    mlist a = {0}, r = {0};
    CHECK(parse(line, strlen(line), &a) == 0 && a.n == 1, "%s", line);
    CHECK(parse(rev, n, &r) == 0 && r.n == 1, "reversed line does not parse: %s", rev);
    CHECK(metric_equal(a.m[0], r.m[0]), "in order: %s\nreversed: %s", line, rev);
    CHECK(metric_equal(m, a.m[0]), "changed: %s", line);
    in_order += tower_metric_tag_count(m) + tower_metric_field_count(m) > 1;
    mlist_free(&a);
    mlist_free(&r);
    tower_buf_free(b);
    tower_metric_free(m);
  }
  ck_assert_int_gt(in_order, 1000 / slow); /* lines that differ when reversed */
}
END_TEST

/* ---- 3. the float formatter -------------------------------------------- */

START_TEST(test_fmt_double_short_path) {
  char fast[TWI_FMT_DOUBLE_SIZE], exact[TWI_FMT_DOUBLE_SIZE];
  for (int i = 0; i < 2000000 / slow; i++) {
    double v;
    switch (i % 4) {
    case 0: /* k decimals, near the 2^52 limit too */
      v = (double)(rnd() % (1ull << (1 + rnd() % 53))) / pow(10, (double)(rnd() % 6));
      break;
    case 1: /* neighbours of short decimals: many digits, close to few */
      v = nextafter((double)(rnd() % 100000) / 100.0, rnd() & 1 ? INFINITY : 0);
      break;
    case 2:
      v = random_float();
      break;
    default: /* small values, where 10^k v has few integer digits */
      v = (double)(rnd() % 1000) * pow(10, -(double)(rnd() % 9));
      break;
    }
    if (rnd() & 1)
      v = -v;
    twi_fmt_double(fast, v);
    twi_fmt_double_exact(exact, v);
    CHECK(strcmp(fast, exact) == 0, "%a: %s, exact path %s", v, fast, exact);
  }
}
END_TEST

/* ---- 4. fast scanner against general scanner --------------------------- */

typedef struct outcome {
  mlist m;
  uint64_t errors;
  char last_error[256];
} outcome;

/* Parses data with the fast path allowed or not, in ns_per_unit precision. */
static void parse_path(const char *data, size_t len, bool general, int64_t ns_per_unit,
                       outcome *o) {
  tower_parser *p = NULL;
  ck_assert_int_eq(tower_parser_new_format(NULL, "influx", &p), 0);
  ck_assert_int_eq(twi_influx_set_precision(p, ns_per_unit), 0);
  p->general_only = general;
  ck_assert_int_ge(tower_parser_parse(p, data, len, keep, &o->m), 0);
  o->errors = tower_parser_errors(p);
  snprintf(o->last_error, sizeof o->last_error, "%s",
           tower_parser_last_error(p) ? tower_parser_last_error(p) : "");
  tower_parser_free(p);
}

/* Both paths read data the same. Returns the number of metrics. */
static size_t same_both_paths(const char *data, size_t len, int64_t ns_per_unit) {
  outcome fast = {0}, general = {0};
  parse_path(data, len, false, ns_per_unit, &fast);
  parse_path(data, len, true, ns_per_unit, &general);
  CHECK(fast.errors == general.errors && fast.m.n == general.m.n,
        "fast path: %zu metrics, %llu errors; general: %zu metrics, %llu errors, for:\n%.*s",
        fast.m.n, (unsigned long long)fast.errors, general.m.n, (unsigned long long)general.errors,
        (int)len, data);
  CHECK(strcmp(fast.last_error, general.last_error) == 0,
        "fast path error \"%s\", general \"%s\", for:\n%.*s", fast.last_error, general.last_error,
        (int)len, data);
  for (size_t i = 0; i < fast.m.n; i++)
    CHECK(metric_equal(fast.m.m[i], general.m.m[i]), "metric %zu differs between the paths:\n%.*s",
          i, (int)len, data);
  size_t n = fast.m.n;
  mlist_free(&fast.m);
  mlist_free(&general.m);
  return n;
}

static void both_paths_both_precisions(const char *data, size_t len, const char *name) {
  (void)name;
  same_both_paths(data, len, 1);
  same_both_paths(data, len, 1000000000);
}

START_TEST(test_paths_fuzz_corpus) {
  ck_assert_int_gt(each_corpus_file(both_paths_both_precisions), 10);
}
END_TEST

/* Bytes a mutation puts in: every stop byte of the fast scanner, and the
 * bytes its grammar checks look at. */
static const char nasty[] = " ,=\\\"\t#-.+eEiu0123456789tfTFa\xc3";

/* One random edit of line[0..*n): replace, insert or delete a byte. */
static void mutate(char *line, size_t *n, size_t cap) {
  size_t at = *n ? rnd() % *n : 0;
  char c = rnd() % 16 == 0 ? '\0' : nasty[rnd() % (sizeof nasty - 1)];
  switch (rnd() % 3) {
  case 0:
    if (*n)
      line[at] = c;
    break;
  case 1:
    if (*n + 1 < cap) {
      memmove(line + at + 1, line + at, *n - at);
      line[at] = c;
      (*n)++;
    }
    break;
  default:
    if (*n) {
      memmove(line + at, line + at + 1, *n - at - 1);
      (*n)--;
    }
  }
}

/* A line of the shape the fast path takes, with padding that moves its
 * stops across the 64-byte blocks and the 16-byte tails. */
static size_t random_plain_line(char *buf, size_t cap) {
  tower_metric *m = random_metric(true);
  tower_buf *b = tower_buf_new(0);
  ck_assert_int_eq(tower_lp_write(m, b, TOWER_LP_UINT, 1), 0);
  size_t len = tower_buf_len(b) - 1; /* without the newline */
  size_t pad = rnd() % 4 == 0 ? rnd() % 70 : 0;
  ck_assert_uint_lt(pad + len + 4, cap);
  memset(buf, ' ', pad); /* leading white space */
  memcpy(buf + pad, tower_buf_data(b), len);
  len += pad;
  for (uint64_t i = rnd() % 4 == 0 ? rnd() % 3 : 0; i > 0; i--)
    buf[len++] = ' '; /* trailing spaces */
  tower_buf_free(b);
  tower_metric_free(m);
  return len;
}

START_TEST(test_paths_generated_and_mutated) {
  char line[1024];
  for (int i = 0; i < 40000 / slow; i++) {
    size_t n = random_plain_line(line, sizeof line - 8);
    /* coarser units put many of the random timestamps out of range */
    int64_t unit = (int64_t[]){1, 1, 1000, 1000000000}[rnd() % 4];
    size_t parsed = same_both_paths(line, n, unit);
    CHECK(unit != 1 || parsed == 1, "generated line does not parse:\n%.*s", (int)n, line);
    for (uint64_t k = 1 + rnd() % 3; k > 0; k--)
      mutate(line, &n, sizeof line);
    same_both_paths(line, n, unit);
  }
}
END_TEST

/* ---- 5. number parsers against the C library -------------------------- */

/* A random decimal: sign, 0-20 integer digits, maybe a point and 0-23
 * decimals, sometimes an exponent; near 2^53 and 19 digits often. */
static size_t random_decimal(char *buf) {
  size_t n = 0;
  if (rnd() & 1)
    buf[n++] = '-';
  if (rnd() % 8 == 0) { /* around the exact mantissa limit, 2^53 */
    n += (size_t)sprintf(buf + n, "%llu", (unsigned long long)((1ull << 53) - 4 + rnd() % 8));
  } else {
    for (uint64_t i = 0, k = rnd() % 21; i < k; i++)
      buf[n++] = (char)('0' + (rnd() % 4 == 0 ? 0 : rnd() % 10));
  }
  if (rnd() % 4 != 0) {
    size_t at = n - (rnd() % 3 == 0 && n > 0 && buf[n - 1] != '-' ? 1 : 0);
    memmove(buf + at + 1, buf + at, n - at); /* sometimes inside the digits */
    buf[at] = '.';
    n++;
    for (uint64_t i = 0, k = rnd() % 24; i < k; i++)
      buf[n++] = (char)('0' + rnd() % 10);
  }
  if (rnd() % 10 == 0)
    n += (size_t)sprintf(buf + n, "e%d", (int)(rnd() % 60) - 30);
  buf[n] = '\0';
  return n;
}

/* The line protocol float grammar (numfmt.h): what strtod must read whole
 * for the text to be valid. */
static bool float_syntax(const char *s) {
  size_t i = s[0] == '-', d = 0;
  for (; s[i] >= '0' && s[i] <= '9'; i++)
    d++;
  if (s[i] == '.')
    for (i++; s[i] >= '0' && s[i] <= '9'; i++)
      d++;
  if (d == 0)
    return false;
  if (s[i] == 'e' || s[i] == 'E') {
    i += 1 + (s[i + 1] == '-' || s[i + 1] == '+');
    if (!(s[i] >= '0' && s[i] <= '9'))
      return false;
    while (s[i] >= '0' && s[i] <= '9')
      i++;
  }
  return s[i] == '\0';
}

START_TEST(test_parse_double_vs_strtod) {
  char buf[128];
  int exact_path = 0;
  for (int i = 0; i < 400000 / slow; i++) {
    size_t n = random_decimal(buf);
    double got = -1.0, lib = strtod(buf, NULL);
    int rc = twi_parse_double_inline(buf, n, &got);
    if (!float_syntax(buf)) {
      CHECK(rc == -EINVAL, "\"%s\": accepted (%d), but it is not a float", buf, rc);
      continue;
    }
    if (isinf(lib)) {
      CHECK(rc == -ERANGE, "\"%s\": %d, expected -ERANGE", buf, rc);
      continue;
    }
    CHECK(rc == 0 && memcmp(&got, &lib, sizeof got) == 0, "\"%s\": %a (%d), strtod %a", buf, got,
          rc, lib);
    double out_of_line;
    CHECK(twi_parse_double(buf, n, &out_of_line) == 0 &&
              memcmp(&got, &out_of_line, sizeof got) == 0,
          "\"%s\": inline %a, twi_parse_double %a", buf, got, out_of_line);
    exact_path += strlen(buf) < 21 && !strchr(buf, 'e');
  }
  ck_assert_int_gt(exact_path, 40000 / slow); /* the inline path's shapes were tried */
}
END_TEST

START_TEST(test_parse_int_vs_strtoull) {
  char buf[64];
  for (int i = 0; i < 400000 / slow; i++) {
    size_t n = 0;
    if (rnd() % 4 == 0)
      buf[n++] = '-';
    for (uint64_t k = rnd() % 23; k > 0; k--)
      buf[n++] = (char)('0' + rnd() % 10);
    if (rnd() % 10 == 0 && n > 0)
      buf[rnd() % n] = nasty[rnd() % (sizeof nasty - 1)];
    buf[n] = '\0';
    bool neg = buf[0] == '-';
    bool digits = n > (size_t)neg && strspn(buf + neg, "0123456789") == n - neg;
    int64_t s64 = 42;
    int rc = twi_parse_int64_inline(buf, n, &s64);
    errno = 0;
    long long ll = strtoll(buf, NULL, 10);
    int want = !digits ? -EINVAL : errno == ERANGE || ll == INT64_MIN ? -ERANGE : 0;
    if (digits && neg && ll == INT64_MIN && errno == 0)
      want = 0; /* -9223372036854775808 itself fits */
    CHECK(rc == want && (rc || s64 == ll), "int64 \"%s\": %d %lld, strtoll %lld (want %d)", buf, rc,
          (long long)s64, ll, want);
    if (neg)
      continue;
    uint64_t u64 = 42;
    rc = twi_parse_uint64_inline(buf, n, &u64);
    errno = 0;
    unsigned long long ull = strtoull(buf, NULL, 10);
    want = !digits ? -EINVAL : errno == ERANGE ? -ERANGE : 0;
    CHECK(rc == want && (rc || u64 == ull), "uint64 \"%s\": %d %llu, strtoull %llu", buf, rc,
          (unsigned long long)u64, ull);
  }
}
END_TEST

static Suite *lp_roundtrip_suite(void) {
  Suite *s = suite_create("lp_roundtrip");
  TCase *tc = tcase_create("roundtrip");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_fuzz_corpus);
  tcase_add_test(tc, test_generated);
  tcase_add_test(tc, test_in_order_vs_sorted);
  tcase_add_test(tc, test_fmt_double_short_path);
  tcase_add_test(tc, test_paths_fuzz_corpus);
  tcase_add_test(tc, test_paths_generated_and_mutated);
  tcase_add_test(tc, test_parse_double_vs_strtod);
  tcase_add_test(tc, test_parse_int_vs_strtoull);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  /* tests/valgrind.sh: a tenth of the iterations (memcheck is ~50x slower;
   * the default and sanitizer builds run them all). */
  if (getenv("TOWER_TEST_UNDER_VALGRIND"))
    slow = 10;
  return check_run(lp_roundtrip_suite());
}
