/* Exposition text of one series from its pre-rendered labels. The bytes are
 * those of tower_prom_write_series() (core/format/format_prom_map.c), which
 * the scrape served before the render cache: the same label escaping, the
 * same number formatting (tower_format_float), the same timestamp rule. What
 * differs is the work per sample: a series' labels are escaped and joined
 * once, when the series is created or its string-field labels change
 * (prom_text_labels), so a render copies them with their known length
 * instead of walking, measuring and escaping every label again. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "prometheus.h"

/* ---- labels ------------------------------------------------------------------ */

/* Bytes of v escaped as a quoted label value: '\\', '"' and a newline take a
 * backslash. */
static size_t escaped_len(const char *v, size_t len) {
  size_t n = len;
  for (size_t i = 0; i < len; i++)
    n += v[i] == '\\' || v[i] == '"' || v[i] == '\n';
  return n;
}

static char *put_escaped(char *dst, const char *v, size_t len) {
  for (size_t i = 0; i < len; i++) {
    char c = v[i];
    if (c == '\\' || c == '"' || c == '\n') {
      *dst++ = '\\';
      c = c == '\n' ? 'n' : c;
    }
    *dst++ = c;
  }
  return dst;
}

/* The next pair of a prom_labels walk: name and value with their lengths. */
typedef struct pair {
  const char *name, *value;
  size_t nlen, vlen;
} pair;

static const char *next_pair(const char *p, pair *out) {
  out->name = p;
  out->nlen = strlen(p);
  out->value = p + out->nlen + 1;
  out->vlen = strlen(out->value);
  return out->value + out->vlen + 1;
}

/* Calls fn for each label of the merge of id and extra by name; a string
 * field (extra) wins over a tag of the same name, as in Telegraf. */
typedef void (*pair_fn)(void *ud, const pair *p, bool first);

static void merge(const prom_labels *id, const prom_labels *extra, pair_fn fn, void *ud) {
  const char *a = id->data, *b = extra->data;
  size_t na = id->n, nb = extra->n;
  pair pa, pb;
  bool first = true;
  if (na)
    a = next_pair(a, &pa);
  if (nb)
    b = next_pair(b, &pb);
  while (na || nb) {
    int c = !na ? 1 : !nb ? -1 : strcmp(pa.name, pb.name);
    fn(ud, c < 0 ? &pa : &pb, first);
    first = false;
    if (c <= 0 && --na) /* same name: the tag is skipped */
      a = next_pair(a, &pa);
    if (c >= 0 && --nb)
      b = next_pair(b, &pb);
  }
}

static void count_pair(void *ud, const pair *p, bool first) {
  *(size_t *)ud += !first + p->nlen + 3 + escaped_len(p->value, p->vlen);
}

static void write_pair(void *ud, const pair *p, bool first) {
  char **dst = ud;
  if (!first)
    *(*dst)++ = ',';
  memcpy(*dst, p->name, p->nlen);
  *dst += p->nlen;
  memcpy(*dst, "=\"", 2);
  *dst = put_escaped(*dst + 2, p->value, p->vlen);
  *(*dst)++ = '"';
}

int prom_text_labels(const prom_labels *id, const prom_labels *extra, char **out,
                     uint32_t *out_len) {
  size_t len = 0;
  merge(id, extra, count_pair, &len);
  if (len > UINT32_MAX)
    return -ENOMEM;
  char *text = malloc(len ? len : 1), *end = text;
  if (!text)
    return -ENOMEM;
  merge(id, extra, write_pair, &end);
  *out = text;
  *out_len = (uint32_t)len;
  return 0;
}

/* ---- samples ----------------------------------------------------------------- */

/* int64 in decimal; returns the length (at most 20). */
static size_t fmt_int64(char *dst, int64_t v) {
  char tmp[24];
  size_t n = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  size_t k = 0;
  if (v < 0)
    dst[k++] = '-';
  while (n)
    dst[k++] = tmp[--n];
  return k;
}

/* name suffix {labels [,extra="x"]} value [timestamp]\n */
static int put_sample(tower_buf *b, const prom_text_series *s, const char *suffix, size_t slen,
                      const char *extra, double extra_value, double value) {
  int rc = tower_buf_append(b, s->name, s->namelen);
  rc |= tower_buf_append(b, suffix, slen);
  if (s->labelslen || extra) {
    rc |= tower_buf_append(b, "{", 1);
    rc |= tower_buf_append(b, s->labels, s->labelslen);
    if (extra) {
      rc |= tower_buf_append(b, ",", s->labelslen ? 1 : 0);
      rc |= tower_buf_append_str(b, extra);
      rc |= tower_format_float(b, extra_value);
      rc |= tower_buf_append(b, "\"", 1);
    }
    rc |= tower_buf_append(b, "} ", 2);
  } else {
    rc |= tower_buf_append(b, " ", 1);
  }
  rc |= tower_format_float(b, value);
  char tail[32];
  size_t n = 0;
  if (s->has_time) {
    /* Milliseconds rounded down, as tower_prom_write_series writes them. */
    int64_t ms = s->time_ns / 1000000 - (s->time_ns % 1000000 < 0 ? 1 : 0);
    tail[n++] = ' ';
    n += fmt_int64(tail + n, ms);
  }
  tail[n++] = '\n';
  rc |= tower_buf_append(b, tail, n);
  return rc ? -ENOMEM : 0;
}

int prom_text_series_write(tower_buf *b, const prom_text_series *s) {
  if (s->type != TOWER_HISTOGRAM && s->type != TOWER_SUMMARY)
    return put_sample(b, s, "", 0, NULL, 0, s->value);
  bool hist = s->type == TOWER_HISTOGRAM;
  int rc = 0;
  for (size_t i = 0; i < s->nbuckets && rc == 0; i++)
    rc = put_sample(b, s, hist ? "_bucket" : "", hist ? 7 : 0, hist ? "le=\"" : "quantile=\"",
                    s->bounds[i], s->counts[i]);
  if (rc == 0)
    rc = put_sample(b, s, "_sum", 4, NULL, 0, s->sum);
  if (rc == 0)
    rc = put_sample(b, s, "_count", 6, NULL, 0, s->count);
  return rc;
}
