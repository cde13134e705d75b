/* Metric -> Prometheus series (Telegraf's prometheus_client, metric_version
 * 1) and the exposition lines of a series. Shared by the "prometheus"
 * serializer and the prometheus output, so both expose the same thing.
 *
 * Mapping a metric allocates only when it has more labels or bucket fields
 * than the stack scratch holds.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tower/format.h>

#include "buf_internal.h"
#include "numfmt.h"

#define STACK_ITEMS 32

/* Scratch for one metric: label pointers and sanitized names, buckets. */
typedef struct {
  const char **names, **values;
  char *name_store; /* sanitized label names, NUL-separated */
  size_t nlabels;
  double *bounds, *counts;
  size_t nbuckets;
  const char *stack_names[STACK_ITEMS], *stack_values[STACK_ITEMS];
  double stack_bounds[STACK_ITEMS], stack_counts[STACK_ITEMS];
  char stack_store[1024];
} scratch;

static bool name_char(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':'))
    return true;
  return !first && c >= '0' && c <= '9';
}

/* Writes a sanitized copy of s (len bytes) to dst (len + 2 bytes): invalid
 * characters become '_', a leading digit gets a '_' prefix. */
static size_t sanitize(char *dst, const char *s, size_t len, bool colon) {
  size_t n = 0;
  if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
    dst[n++] = '_';
  for (size_t i = 0; i < len; i++, n++)
    dst[n] = name_char(s[i], n == 0, colon) ? s[i] : '_';
  dst[n] = '\0';
  return n;
}

static int cmp_label(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void scratch_free(scratch *sc) {
  if (sc->names != sc->stack_names)
    free(sc->names);
  if (sc->values != sc->stack_values)
    free(sc->values);
  if (sc->name_store != sc->stack_store)
    free(sc->name_store);
  if (sc->bounds != sc->stack_bounds)
    free(sc->bounds);
  if (sc->counts != sc->stack_counts)
    free(sc->counts);
}

static int scratch_init(scratch *sc, size_t labels, size_t name_bytes, size_t buckets) {
  sc->names = labels <= STACK_ITEMS ? sc->stack_names : malloc(labels * sizeof(char *));
  sc->values = labels <= STACK_ITEMS ? sc->stack_values : malloc(labels * sizeof(char *));
  sc->name_store = name_bytes <= sizeof sc->stack_store ? sc->stack_store : malloc(name_bytes);
  sc->bounds = buckets <= STACK_ITEMS ? sc->stack_bounds : malloc(buckets * sizeof(double));
  sc->counts = buckets <= STACK_ITEMS ? sc->stack_counts : malloc(buckets * sizeof(double));
  sc->nlabels = sc->nbuckets = 0;
  if (!sc->names || !sc->values || !sc->name_store || !sc->bounds || !sc->counts)
    return -ENOMEM;
  return 0;
}

/* Tags, then string fields when asked, as sanitized, sorted labels. Label
 * names and values point into the metric or the scratch store. */
static void collect_labels(scratch *sc, const tower_metric *m, unsigned flags) {
  /* Pairs are sorted by name: sort an index of "name\0value" pointers. */
  char *store = sc->name_store;
  size_t nt = tower_metric_tag_count(m);
  for (size_t i = 0; i < nt; i++) {
    const char *k = tower_metric_tag_key(m, i);
    size_t len = sanitize(store, k, strlen(k), false);
    sc->names[sc->nlabels] = store;
    sc->values[sc->nlabels++] = tower_metric_tag_value(m, i);
    store += len + 1;
  }
  for (size_t i = 0; (flags & TOWER_PROM_STRING_AS_LABEL) && i < tower_metric_field_count(m); i++) {
    if (tower_metric_field_type(m, i) != TOWER_FIELD_STRING)
      continue;
    const char *k = tower_metric_field_key(m, i);
    size_t len = sanitize(store, k, strlen(k), false);
    sc->names[sc->nlabels] = store;
    sc->values[sc->nlabels++] = tower_metric_field_string(m, i);
    store += len + 1;
  }
  /* Insertion sort of (name, value) pairs: label sets are small. */
  for (size_t i = 1; i < sc->nlabels; i++)
    for (size_t j = i; j > 0 && cmp_label(&sc->names[j - 1], &sc->names[j]) > 0; j--) {
      const char *tn = sc->names[j], *tv = sc->values[j];
      sc->names[j] = sc->names[j - 1];
      sc->values[j] = sc->values[j - 1];
      sc->names[j - 1] = tn;
      sc->values[j - 1] = tv;
    }
}

/* A field key read as a bucket bound or quantile ("0.5", "+Inf"). */
static bool parse_bound(const char *key, double *out) {
  char *end;
  if (strcmp(key, "+Inf") == 0 || strcmp(key, "Inf") == 0 || strcmp(key, "inf") == 0) {
    *out = __builtin_inf();
    return true;
  }
  *out = strtod(key, &end);
  return end != key && *end == '\0';
}

/* Histogram/summary: bounds and counts from the numeric fields whose keys
 * parse as numbers, sum and count from "sum" and "count". */
static void collect_buckets(scratch *sc, const tower_metric *m, tower_prom_series *s) {
  for (size_t i = 0; i < tower_metric_field_count(m); i++) {
    const char *k = tower_metric_field_key(m, i);
    double v, bound;
    if (!tower_metric_field_number(m, i, &v) || tower_metric_field_type(m, i) == TOWER_FIELD_BOOL)
      continue;
    if (strcmp(k, "sum") == 0)
      s->sum = v;
    else if (strcmp(k, "count") == 0)
      s->count = v;
    else if (parse_bound(k, &bound)) {
      size_t j = sc->nbuckets++;
      for (; j > 0 && sc->bounds[j - 1] > bound; j--) { /* keep ascending */
        sc->bounds[j] = sc->bounds[j - 1];
        sc->counts[j] = sc->counts[j - 1];
      }
      sc->bounds[j] = bound;
      sc->counts[j] = v;
    }
  }
  /* The exposition requires a +Inf bucket equal to the count. */
  if (s->type == TOWER_HISTOGRAM &&
      (sc->nbuckets == 0 || sc->bounds[sc->nbuckets - 1] != __builtin_inf())) {
    sc->bounds[sc->nbuckets] = __builtin_inf();
    sc->counts[sc->nbuckets++] = s->count;
  }
  s->nbuckets = sc->nbuckets;
  s->bounds = sc->bounds;
  s->counts = sc->counts;
}

/* The series name of field `key` of a counter/gauge/untyped metric. */
static const char *field_series_name(char *buf, const char *measurement, const char *key,
                                     tower_value_type type) {
  bool bare = strcmp(key, "value") == 0 || (type == TOWER_COUNTER && strcmp(key, "counter") == 0) ||
              (type == TOWER_GAUGE && strcmp(key, "gauge") == 0);
  size_t ml = strlen(measurement);
  size_t n = sanitize(buf, measurement, ml, true);
  if (!bare) {
    buf[n] = '_';
    sanitize(buf + n + 1, key, strlen(key), true);
    if (buf[n + 1] == '_' && key[0] >= '0' && key[0] <= '9')
      memmove(buf + n + 1, buf + n + 2, strlen(buf + n + 2) + 1); /* no "__" for digits */
  }
  return buf;
}

static size_t name_bytes_needed(const tower_metric *m) {
  size_t n = 0;
  for (size_t i = 0; i < tower_metric_tag_count(m); i++)
    n += strlen(tower_metric_tag_key(m, i)) + 2;
  for (size_t i = 0; i < tower_metric_field_count(m); i++)
    n += strlen(tower_metric_field_key(m, i)) + 2;
  return n + 1;
}

int tower_prom_map(const tower_metric *m, unsigned flags, tower_prom_fn fn, void *ud) {
  scratch sc;
  size_t nf = tower_metric_field_count(m);
  int rc = scratch_init(&sc, tower_metric_tag_count(m) + nf, name_bytes_needed(m), nf + 1);
  if (rc) {
    scratch_free(&sc);
    return rc;
  }
  collect_labels(&sc, m, flags);
  tower_prom_series s = {.type = tower_metric_type(m),
                         .nlabels = sc.nlabels,
                         .label_names = sc.names,
                         .label_values = sc.values,
                         .time_ns = tower_metric_time(m)};
  const char *measurement = tower_metric_name(m);
  size_t mlen = strlen(measurement), maxkey = 0;
  for (size_t i = 0; i < nf; i++) {
    size_t k = strlen(tower_metric_field_key(m, i));
    maxkey = k > maxkey ? k : maxkey;
  }
  char stack_name[512];
  char *name = mlen + maxkey + 4 <= sizeof stack_name ? stack_name : malloc(mlen + maxkey + 4);
  if (!name) {
    scratch_free(&sc);
    return -ENOMEM;
  }
  int count = 0;
  if (s.type == TOWER_HISTOGRAM || s.type == TOWER_SUMMARY) {
    sanitize(name, measurement, mlen, true);
    s.name = name;
    collect_buckets(&sc, m, &s);
    rc = fn(ud, &s);
    count = rc < 0 ? rc : 1;
  } else {
    for (size_t i = 0; i < nf && rc >= 0; i++) {
      tower_field_type t = tower_metric_field_type(m, i);
      if (t == TOWER_FIELD_STRING || t == TOWER_FIELD_BOOL)
        continue;
      tower_metric_field_number(m, i, &s.value);
      s.name = field_series_name(name, measurement, tower_metric_field_key(m, i), s.type);
      rc = fn(ud, &s);
      count = rc < 0 ? rc : count + 1;
    }
  }
  if (name != stack_name)
    free(name);
  scratch_free(&sc);
  return count;
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

/* HELP text escapes backslash and newline. */
static int put_help(tower_buf *b, const char *s) {
  for (; *s; s++) {
    int rc = *s == '\\'   ? twi_buf_put(b, "\\\\", 2)
             : *s == '\n' ? twi_buf_put(b, "\\n", 2)
                          : twi_buf_putc(b, *s);
    if (rc)
      return rc;
  }
  return 0;
}

int tower_prom_write_header(tower_buf *out, const char *name, tower_value_type type,
                            const char *help) {
  int rc = 0;
  if (help) {
    rc |= twi_buf_put(out, "# HELP ", 7);
    rc |= tower_buf_append_str(out, name);
    rc |= twi_buf_putc(out, ' ');
    rc |= put_help(out, help);
    rc |= twi_buf_putc(out, '\n');
  }
  rc |= twi_buf_put(out, "# TYPE ", 7);
  rc |= tower_buf_append_str(out, name);
  rc |= twi_buf_putc(out, ' ');
  rc |= tower_buf_append_str(out, type_word(type));
  rc |= twi_buf_putc(out, '\n');
  return rc ? -ENOMEM : 0;
}

/* Label values escape backslash, double quote and newline. */
static int put_label_value(tower_buf *b, const char *s) {
  const char *run = s;
  for (; *s; s++) {
    const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
    if (!esc)
      continue;
    if (twi_buf_put(b, run, (size_t)(s - run)) || twi_buf_put(b, esc, 2))
      return -ENOMEM;
    run = s + 1;
  }
  return twi_buf_put(b, run, (size_t)(s - run));
}

static int put_float(tower_buf *b, double v) {
  char tmp[40];
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
      rc |= put_label_value(b, s->label_values[i]);
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
    char tmp[32];
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
