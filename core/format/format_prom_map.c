/* Metric -> Prometheus series (Telegraf's prometheus_client, metric_version
 * 1) and the exposition lines of a series. Shared by the "prometheus"
 * serializer and the prometheus output, so both expose the same thing.
 *
 * The rules follow plugins/outputs/prometheus_client/v1/collector.go and
 * the client_golang checks its series go through:
 * - Series names: the measurement, plus "_<field>" unless the field is
 *   "value" (or "counter" of a counter, "gauge" of a gauge); every UTF-8
 *   character outside [a-zA-Z0-9_:] becomes one '_' (an invalid byte one
 *   '_' each). A name that does not then start with [a-zA-Z_:] (a leading
 *   digit) gives no series, as in Telegraf, which also drops a leading ':'
 *   (a valid Prometheus name, so we keep it).
 * - Label names: serializers/prometheus SanitizeLabelName: a valid name is
 *   kept; otherwise an invalid first character is dropped, later invalid
 *   characters become '_', and '_' is trimmed from both ends; a name left
 *   empty (or starting with a digit, which Telegraf would pass on to a
 *   failing client_golang check) drops that label.
 * - Tags, then string fields with TOWER_PROM_STRING_AS_LABEL; a string
 *   field replaces a tag whose label name is the same (the collector
 *   writes fields after tags); other clashes keep the first in key order.
 *   "le" of a histogram and "quantile" of a summary are not labels (the
 *   series adds its own).
 * - client_golang refuses series with a label name starting with "__"
 *   (reserved) or a label value that is not UTF-8, and Prometheus would
 *   reject the whole scrape, so such a metric gives no series at all.
 * - One name per metric: the bare name goes to "counter"/"gauge" before
 *   "value", and of field keys that sanitize alike the first wins (the
 *   collector keeps one of them at random).
 * - Booleans and strings are not values. Histograms and summaries take
 *   "sum", "count" and every numeric field whose key reads as a float
 *   (twi_prom_parse_float); NaN bounds are skipped, equal bounds keep the
 *   last field in key order; bucket counts and "count" are truncated to
 *   integers as Go's uint64() does; a histogram without a +Inf bucket gets
 *   one holding the count, as expfmt writes it.
 *
 * Mapping a metric allocates only when it has more labels or bucket fields
 * than the stack scratch holds.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <tower/format.h>

#include "buf_internal.h"
#include "format_prometheus.h"
#include "numfmt.h"

#define STACK_ITEMS 32

/* ---- numbers shared with the parser ----------------------------------- */

static bool word_eq(const char *s, size_t len, const char *word) {
  size_t n = strlen(word);
  if (len != n)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
    if (c != word[i])
      return false;
  }
  return true;
}

int twi_prom_parse_float(const char *s, size_t len, double *out) {
  size_t i = len > 0 && (s[0] == '+' || s[0] == '-');
  bool neg = i && s[0] == '-';
  if (word_eq(s + i, len - i, "inf") || word_eq(s + i, len - i, "infinity")) {
    *out = neg ? -INFINITY : INFINITY;
    return 0;
  }
  if (!i && word_eq(s, len, "nan")) {
    *out = NAN;
    return 0;
  }
  double d;
  if (len == i || s[i] == '-' || twi_parse_double(s + i, len - i, &d) < 0)
    return -EINVAL; /* overflow too: Go reports ErrRange */
  *out = neg ? -d : d;
  return 0;
}

/* Go's %v switches to the exponent form from 1e6 up, where our shortest
 * formatter still writes plain digits up to 1e17: move the point. */
static size_t to_exponent_form(char *buf, const char *plain, size_t n) {
  char digits[TWI_FMT_DOUBLE_SIZE];
  size_t o = 0, i = 0, nd = 0, int_digits = 0;
  bool fraction = false;
  if (plain[0] == '-')
    buf[o++] = plain[i++];
  for (; i < n; i++) {
    if (plain[i] == '.') {
      fraction = true;
      continue;
    }
    digits[nd++] = plain[i];
    int_digits += !fraction;
  }
  while (nd > 1 && digits[nd - 1] == '0')
    nd--;
  buf[o++] = digits[0];
  if (nd > 1) {
    buf[o++] = '.';
    memcpy(buf + o, digits + 1, nd - 1);
    o += nd - 1;
  }
  size_t exp = int_digits - 1; /* 6..16 here */
  buf[o++] = 'e';
  buf[o++] = '+';
  buf[o++] = (char)('0' + exp / 10);
  buf[o++] = (char)('0' + exp % 10);
  buf[o] = '\0';
  return o;
}

size_t twi_prom_format_key(char *buf, double v) {
  char tmp[TWI_FMT_DOUBLE_SIZE];
  size_t n = twi_fmt_double(tmp, v); /* "NaN", "+Inf", "-Inf" as Go */
  if (isfinite(v) && fabs(v) >= 1e6 && !memchr(tmp, 'e', n))
    return to_exponent_form(buf, tmp, n);
  memcpy(buf, tmp, n + 1);
  return n;
}

double twi_prom_count(double v) {
  return v >= 0 && v < 18446744073709551616.0 ? trunc(v) : v;
}

/* ---- UTF-8 ------------------------------------------------------------ */

/* Length of the valid UTF-8 character at s (Go's rules: no overlong forms,
 * surrogates or code points past U+10FFFF), or 0. */
static size_t rune_len(const unsigned char *s, size_t len) {
  unsigned c = s[0], lo = 0x80, hi = 0xBF;
  if (c < 0x80)
    return 1;
  if (c < 0xC2 || c > 0xF4)
    return 0;
  size_t n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  if (len < n)
    return 0;
  if (c == 0xE0)
    lo = 0xA0;
  else if (c == 0xED)
    hi = 0x9F;
  else if (c == 0xF0)
    lo = 0x90;
  else if (c == 0xF4)
    hi = 0x8F;
  if (s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if ((s[i] & 0xC0) != 0x80)
      return 0;
  return n;
}

size_t twi_prom_rune_len(const char *s, size_t len) {
  return rune_len((const unsigned char *)s, len);
}

size_t twi_prom_utf8_valid_prefix(const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    if (u[i] < 0x80) {
      i++;
      continue;
    }
    size_t n = rune_len(u + i, len - i);
    if (n == 0)
      return i;
    i += n;
  }
  return len;
}

/* Width of the character at s: a valid UTF-8 sequence, else one byte. */
static size_t char_width(const char *s, size_t len) {
  size_t n = rune_len((const unsigned char *)s, len);
  return n ? n : 1;
}

/* ---- names ------------------------------------------------------------ */

static bool is_alpha_(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* Writes s (len bytes) with every character outside [a-zA-Z0-9_:] as one
 * '_' to dst (len + 1 bytes). Returns the length. */
static size_t sanitize_metric(char *dst, const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len;) {
    char c = s[i];
    if (is_alpha_(c) || is_digit(c) || c == ':') {
      dst[n++] = c;
      i++;
    } else {
      dst[n++] = '_';
      i += char_width(s + i, len - i);
    }
  }
  dst[n] = '\0';
  return n;
}

static bool valid_label_name(const char *s, size_t len) {
  if (len == 0 || !is_alpha_(s[0]))
    return false;
  for (size_t i = 1; i < len; i++)
    if (!is_alpha_(s[i]) && !is_digit(s[i]))
      return false;
  return true;
}

/* SanitizeLabelName into dst (len + 1 bytes); 0 drops the label. */
static size_t sanitize_label(char *dst, const char *s, size_t len) {
  if (valid_label_name(s, len)) {
    memcpy(dst, s, len);
    dst[len] = '\0';
    return len;
  }
  size_t n = 0;
  for (size_t i = 0; i < len;) {
    char c = s[i];
    size_t w = char_width(s + i, len - i);
    if (is_alpha_(c) || (i > 0 && is_digit(c)))
      dst[n++] = c;
    else if (i > 0)
      dst[n++] = '_';
    i += w;
  }
  size_t b = 0;
  while (b < n && dst[b] == '_')
    b++;
  while (n > b && dst[n - 1] == '_')
    n--;
  memmove(dst, dst + b, n - b);
  n -= b;
  dst[n] = '\0';
  return n > 0 && !is_digit(dst[0]) ? n : 0;
}

/* ---- scratch ---------------------------------------------------------- */

typedef struct label {
  const char *name, *value;
  unsigned prio; /* 0 tag, 1 string field: a field replaces a tag */
  size_t order;  /* position, for a stable sort */
} label;

typedef struct bucket {
  double bound, count;
  size_t order;
} bucket;

/* Scratch for one metric: labels and their sanitized names, buckets. */
typedef struct scratch {
  label *labels;
  const char **names, **values;
  char *name_store; /* sanitized label names, NUL-separated */
  size_t nlabels;
  bucket *buckets;
  double *bounds, *counts;
  size_t nbuckets;
  label stack_labels[STACK_ITEMS];
  const char *stack_names[STACK_ITEMS], *stack_values[STACK_ITEMS];
  bucket stack_buckets[STACK_ITEMS];
  double stack_bounds[STACK_ITEMS], stack_counts[STACK_ITEMS];
  char stack_store[1024];
} scratch;

static void *pick(void *stack, size_t n, size_t size) {
  return n <= STACK_ITEMS ? stack : malloc(n * size);
}

static void scratch_free(scratch *sc) {
  if (sc->labels != sc->stack_labels)
    free(sc->labels);
  if (sc->names != sc->stack_names)
    free(sc->names);
  if (sc->values != sc->stack_values)
    free(sc->values);
  if (sc->name_store != sc->stack_store)
    free(sc->name_store);
  if (sc->buckets != sc->stack_buckets)
    free(sc->buckets);
  if (sc->bounds != sc->stack_bounds)
    free(sc->bounds);
  if (sc->counts != sc->stack_counts)
    free(sc->counts);
}

static int scratch_init(scratch *sc, size_t labels, size_t name_bytes, size_t buckets) {
  sc->labels = pick(sc->stack_labels, labels, sizeof(label));
  sc->names = pick(sc->stack_names, labels, sizeof(char *));
  sc->values = pick(sc->stack_values, labels, sizeof(char *));
  sc->name_store = name_bytes <= sizeof sc->stack_store ? sc->stack_store : malloc(name_bytes);
  sc->buckets = pick(sc->stack_buckets, buckets, sizeof(bucket));
  sc->bounds = pick(sc->stack_bounds, buckets, sizeof(double));
  sc->counts = pick(sc->stack_counts, buckets, sizeof(double));
  sc->nlabels = sc->nbuckets = 0;
  if (!sc->labels || !sc->names || !sc->values || !sc->name_store || !sc->buckets || !sc->bounds ||
      !sc->counts)
    return -ENOMEM;
  return 0;
}

/* ---- labels ----------------------------------------------------------- */

static int cmp_label(const void *a, const void *b) {
  const label *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->order > y->order) - (x->order < y->order);
}

static void sort_labels(label *l, size_t n) {
  if (n > 16) {
    qsort(l, n, sizeof *l, cmp_label);
    return;
  }
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && cmp_label(&l[j - 1], &l[j]) > 0; j--) {
      label t = l[j];
      l[j] = l[j - 1];
      l[j - 1] = t;
    }
}

/* "le" of a histogram and "quantile" of a summary are the series' own
 * labels; a tag or string field whose name sanitizes to them is left out. */
static bool series_label(const char *name, tower_value_type type) {
  return !(type == TOWER_HISTOGRAM && strcmp(name, "le") == 0) &&
         !(type == TOWER_SUMMARY && strcmp(name, "quantile") == 0);
}

static char *add_label(scratch *sc, char *store, const char *key, const char *value, unsigned prio,
                       tower_value_type type) {
  size_t len = sanitize_label(store, key, strlen(key));
  if (len == 0 || !series_label(store, type))
    return store;
  sc->labels[sc->nlabels] = (label){store, value, prio, sc->nlabels};
  sc->nlabels++;
  return store + len + 1;
}

/* Keeps one label per name: the string field over the tag, else the first.
 * Returns false when a label cannot be exposed (reserved name, value not
 * UTF-8): the metric then has no series. */
static bool dedupe_labels(scratch *sc) {
  size_t out = 0;
  for (size_t i = 0; i < sc->nlabels;) {
    size_t best = i, j = i + 1;
    for (; j < sc->nlabels && strcmp(sc->labels[j].name, sc->labels[i].name) == 0; j++)
      if (sc->labels[j].prio > sc->labels[best].prio)
        best = j;
    const label *l = &sc->labels[best];
    if (strncmp(l->name, "__", 2) == 0 ||
        twi_prom_utf8_valid_prefix(l->value, strlen(l->value)) != strlen(l->value))
      return false;
    sc->names[out] = l->name;
    sc->values[out++] = l->value;
    i = j;
  }
  sc->nlabels = out;
  return true;
}

/* Tags, then string fields when asked, as sanitized, sorted labels. */
static bool collect_labels(scratch *sc, const tower_metric *m, unsigned flags) {
  char *store = sc->name_store;
  tower_value_type type = tower_metric_type(m);
  for (size_t i = 0; i < tower_metric_tag_count(m); i++)
    store = add_label(sc, store, tower_metric_tag_key(m, i), tower_metric_tag_value(m, i), 0, type);
  for (size_t i = 0; (flags & TOWER_PROM_STRING_AS_LABEL) && i < tower_metric_field_count(m); i++)
    if (tower_metric_field_type(m, i) == TOWER_FIELD_STRING)
      store = add_label(sc, store, tower_metric_field_key(m, i), tower_metric_field_string(m, i), 1,
                        type);
  sort_labels(sc->labels, sc->nlabels);
  return dedupe_labels(sc);
}

/* ---- histogram / summary ---------------------------------------------- */

static int cmp_bucket(const void *a, const void *b) {
  const bucket *x = a, *y = b;
  if (x->bound != y->bound)
    return x->bound < y->bound ? -1 : 1;
  return (x->order > y->order) - (x->order < y->order);
}

/* Bounds and counts from the numeric fields whose keys read as numbers,
 * sum and count from "sum" and "count". */
static void collect_buckets(scratch *sc, const tower_metric *m, tower_prom_series *s) {
  bool hist = s->type == TOWER_HISTOGRAM;
  size_t n = 0;
  for (size_t i = 0; i < tower_metric_field_count(m); i++) {
    const char *k = tower_metric_field_key(m, i);
    double v, bound;
    if (tower_metric_field_type(m, i) == TOWER_FIELD_BOOL || !tower_metric_field_number(m, i, &v))
      continue;
    if (strcmp(k, "sum") == 0)
      s->sum = v;
    else if (strcmp(k, "count") == 0)
      s->count = twi_prom_count(v);
    else if (twi_prom_parse_float(k, strlen(k), &bound) == 0 && !isnan(bound))
      sc->buckets[n++] = (bucket){bound, hist ? twi_prom_count(v) : v, i};
  }
  qsort(sc->buckets, n, sizeof *sc->buckets, cmp_bucket);
  for (size_t i = 0; i < n; i++) {
    if (sc->nbuckets && sc->bounds[sc->nbuckets - 1] == sc->buckets[i].bound)
      sc->nbuckets--; /* equal bounds: the later field wins */
    sc->bounds[sc->nbuckets] = sc->buckets[i].bound;
    sc->counts[sc->nbuckets++] = sc->buckets[i].count;
  }
  /* The exposition requires a +Inf bucket equal to the count. */
  if (hist && (sc->nbuckets == 0 || sc->bounds[sc->nbuckets - 1] != INFINITY)) {
    sc->bounds[sc->nbuckets] = INFINITY;
    sc->counts[sc->nbuckets++] = s->count;
  }
  s->nbuckets = sc->nbuckets;
  s->bounds = sc->bounds;
  s->counts = sc->counts;
}

/* ---- series ----------------------------------------------------------- */

static bool bare_field(const char *key, tower_value_type type) {
  return strcmp(key, "value") == 0 || (type == TOWER_COUNTER && strcmp(key, "counter") == 0) ||
         (type == TOWER_GAUGE && strcmp(key, "gauge") == 0);
}

/* Bytes for the sanitized label names (each at most its key plus a NUL). */
static size_t name_bytes_needed(const tower_metric *m) {
  size_t n = 0;
  for (size_t i = 0; i < tower_metric_tag_count(m); i++)
    n += strlen(tower_metric_tag_key(m, i)) + 1;
  for (size_t i = 0; i < tower_metric_field_count(m); i++)
    n += strlen(tower_metric_field_key(m, i)) + 1;
  return n + 1;
}

static size_t longest_key(const tower_metric *m) {
  size_t maxkey = 0;
  for (size_t i = 0; i < tower_metric_field_count(m); i++) {
    size_t k = strlen(tower_metric_field_key(m, i));
    maxkey = k > maxkey ? k : maxkey;
  }
  return maxkey;
}

static bool value_field(const tower_metric *m, size_t i) {
  tower_field_type t = tower_metric_field_type(m, i);
  return t != TOWER_FIELD_STRING && t != TOWER_FIELD_BOOL;
}

static bool plain_key(const char *k) {
  for (; *k; k++)
    if (!is_alpha_(*k) && !is_digit(*k) && *k != ':')
      return false;
  return true;
}

typedef struct clash {
  char *name;
  size_t field;
} clash;

static int cmp_clash(const void *a, const void *b) {
  const clash *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->field > y->field) - (x->field < y->field);
}

/* Keys that sanitize alike ("a-b", "a_b") would give one name twice (an
 * invalid exposition; Telegraf's collector keeps one of them at random):
 * marks all but the first in key order in *dup, allocated only when some
 * key needs sanitizing. 0 or -ENOMEM. */
static int find_clashes(const tower_metric *m, tower_value_type type, bool **dup) {
  size_t nf = tower_metric_field_count(m), n = 0, bytes = 0;
  bool any = false;
  for (size_t i = 0; i < nf; i++) {
    const char *k = tower_metric_field_key(m, i);
    any |= value_field(m, i) && !bare_field(k, type) && !plain_key(k);
    bytes += strlen(k) + 1;
  }
  *dup = NULL;
  if (!any)
    return 0;
  clash *c = malloc(nf * sizeof *c);
  char *store = malloc(bytes), *o = store;
  *dup = calloc(nf, sizeof **dup);
  for (size_t i = 0; c && store && *dup && i < nf; i++) {
    const char *k = tower_metric_field_key(m, i);
    if (!value_field(m, i) || bare_field(k, type))
      continue;
    c[n++] = (clash){o, i};
    o += sanitize_metric(o, k, strlen(k)) + 1;
  }
  int rc = c && store && *dup ? 0 : -ENOMEM;
  if (rc == 0)
    qsort(c, n, sizeof *c, cmp_clash);
  for (size_t i = 1; rc == 0 && i < n; i++)
    (*dup)[c[i].field] = strcmp(c[i - 1].name, c[i].name) == 0;
  free(c);
  free(store);
  return rc;
}

/* One series per numeric field; name holds the sanitized measurement
 * (mlen bytes) and room for "_<key>". The bare name is taken once: by
 * "counter"/"gauge" before "value" (key order). */
static int map_fields(const tower_metric *m, tower_prom_series *s, char *name, size_t mlen,
                      tower_prom_fn fn, void *ud) {
  bool *dup, bare_taken = false;
  int count = find_clashes(m, s->type, &dup);
  for (size_t i = 0; count >= 0 && i < tower_metric_field_count(m); i++) {
    const char *key = tower_metric_field_key(m, i);
    bool bare = bare_field(key, s->type);
    if (!value_field(m, i) || (bare && bare_taken) || (dup && dup[i]))
      continue;
    bare_taken |= bare;
    name[mlen] = '\0';
    if (!bare) {
      name[mlen] = '_';
      sanitize_metric(name + mlen + 1, key, strlen(key));
    }
    tower_metric_field_number(m, i, &s->value);
    int rc = fn(ud, s);
    count = rc < 0 ? rc : count + 1;
  }
  free(dup);
  return count;
}

static int map_series(const tower_metric *m, scratch *sc, unsigned flags, char *name,
                      tower_prom_fn fn, void *ud) {
  const char *measurement = tower_metric_name(m);
  size_t mlen = sanitize_metric(name, measurement, strlen(measurement));
  if (mlen == 0 || !(is_alpha_(name[0]) || name[0] == ':') || !collect_labels(sc, m, flags))
    return 0;
  tower_prom_series s = {.name = name,
                         .type = tower_metric_type(m),
                         .nlabels = sc->nlabels,
                         .label_names = sc->names,
                         .label_values = sc->values,
                         .time_ns = tower_metric_time(m)};
  if (s.type != TOWER_HISTOGRAM && s.type != TOWER_SUMMARY)
    return map_fields(m, &s, name, mlen, fn, ud);
  collect_buckets(sc, m, &s);
  int rc = fn(ud, &s);
  return rc < 0 ? rc : 1;
}

int tower_prom_map(const tower_metric *m, unsigned flags, tower_prom_fn fn, void *ud) {
  scratch sc;
  size_t nf = tower_metric_field_count(m);
  int rc = scratch_init(&sc, tower_metric_tag_count(m) + nf, name_bytes_needed(m), nf + 1);
  size_t need = strlen(tower_metric_name(m)) + longest_key(m) + 2;
  char stack_name[512];
  char *name = need <= sizeof stack_name ? stack_name : malloc(need);
  if (rc == 0 && !name)
    rc = -ENOMEM;
  if (rc == 0)
    rc = map_series(m, &sc, flags, name, fn, ud);
  if (name != stack_name)
    free(name);
  scratch_free(&sc);
  return rc;
}

/* ---- writing ---------------------------------------------------------- */

static const char *type_word(tower_value_type t) {
  switch (t) {
  case TOWER_COUNTER:
    return "counter";
  case TOWER_GAUGE:
    return "gauge";
  case TOWER_SUMMARY:
    return "summary";
  case TOWER_HISTOGRAM:
    return "histogram";
  default:
    return "untyped";
  }
}

/* Appends s with a backslash before each '\\' (and '"' when quoted) and a
 * newline as "\n": HELP text and label values. */
static int put_escaped(tower_buf *b, const char *s, bool quoted) {
  const char *run = s;
  for (; *s; s++) {
    const char *esc = *s == '\\'            ? "\\\\"
                      : *s == '\n'          ? "\\n"
                      : quoted && *s == '"' ? "\\\""
                                            : NULL;
    if (!esc)
      continue;
    if (twi_buf_put(b, run, (size_t)(s - run)) || twi_buf_put(b, esc, 2))
      return -ENOMEM;
    run = s + 1;
  }
  return twi_buf_put(b, run, (size_t)(s - run));
}

int tower_prom_write_header(tower_buf *out, const char *name, tower_value_type type,
                            const char *help) {
  int rc = 0;
  if (help) {
    rc |= twi_buf_put(out, "# HELP ", 7);
    rc |= tower_buf_append_str(out, name);
    rc |= twi_buf_putc(out, ' ');
    rc |= put_escaped(out, help, false);
    rc |= twi_buf_putc(out, '\n');
  }
  rc |= twi_buf_put(out, "# TYPE ", 7);
  rc |= tower_buf_append_str(out, name);
  rc |= twi_buf_putc(out, ' ');
  rc |= tower_buf_append_str(out, type_word(type));
  rc |= twi_buf_putc(out, '\n');
  return rc ? -ENOMEM : 0;
}

static int put_float(tower_buf *b, double v) {
  char tmp[TWI_FMT_DOUBLE_SIZE];
  return twi_buf_put(b, tmp, twi_fmt_double(tmp, v));
}

/* name{labels[,extra="value"]} value [timestamp]\n */
static int put_sample(tower_buf *b, const tower_prom_series *s, const char *suffix,
                      const char *extra, double extra_value, double value, unsigned flags) {
  int rc = tower_buf_append_str(b, s->name);
  rc |= tower_buf_append_str(b, suffix);
  if (s->nlabels || extra) {
    rc |= twi_buf_putc(b, '{');
    for (size_t i = 0; i < s->nlabels; i++) {
      if (i)
        rc |= twi_buf_putc(b, ',');
      rc |= tower_buf_append_str(b, s->label_names[i]);
      rc |= twi_buf_put(b, "=\"", 2);
      rc |= put_escaped(b, s->label_values[i], true);
      rc |= twi_buf_putc(b, '"');
    }
    if (extra) {
      if (s->nlabels)
        rc |= twi_buf_putc(b, ',');
      rc |= tower_buf_append_str(b, extra);
      rc |= twi_buf_put(b, "=\"", 2);
      rc |= put_float(b, extra_value);
      rc |= twi_buf_putc(b, '"');
    }
    rc |= twi_buf_putc(b, '}');
  }
  rc |= twi_buf_putc(b, ' ');
  rc |= put_float(b, value);
  if ((flags & TOWER_PROM_TIMESTAMP) && s->time_ns != TOWER_TIME_UNSET) {
    char tmp[TWI_FMT_INT_SIZE];
    int64_t ms = s->time_ns / 1000000 - (s->time_ns % 1000000 < 0 ? 1 : 0);
    rc |= twi_buf_putc(b, ' ');
    rc |= twi_buf_put(b, tmp, twi_fmt_int64(tmp, ms));
  }
  rc |= twi_buf_putc(b, '\n');
  return rc ? -ENOMEM : 0;
}

int tower_prom_write_series(tower_buf *out, const tower_prom_series *s, unsigned flags) {
  if (s->type != TOWER_HISTOGRAM && s->type != TOWER_SUMMARY)
    return put_sample(out, s, "", NULL, 0, s->value, flags);
  bool hist = s->type == TOWER_HISTOGRAM;
  int rc = 0;
  for (size_t i = 0; i < s->nbuckets && rc == 0; i++)
    rc = put_sample(out, s, hist ? "_bucket" : "", hist ? "le" : "quantile", s->bounds[i],
                    s->counts[i], flags);
  if (rc == 0)
    rc = put_sample(out, s, "_sum", NULL, 0, s->sum, flags);
  if (rc == 0)
    rc = put_sample(out, s, "_count", NULL, 0, s->count, flags);
  return rc;
}
