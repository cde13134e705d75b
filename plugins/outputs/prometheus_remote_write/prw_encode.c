/* A batch of metrics as one remote-write request: metrics -> series with
 * the core's Prometheus mapping (tower_prom_map, the one outputs.prometheus
 * exposes), samples gathered per series, series sorted by label set,
 * samples by time, then the WriteRequest protobuf (protoc-c) compressed
 * with snappy's block format, as the remote-write 1.0 specification asks.
 *
 * Why a table of series and not one TimeSeries per metric: a batch holds
 * several gathers, so one series comes back with several timestamps, and
 * Prometheus wants them in one TimeSeries, oldest first. Two samples of a
 * series in the same millisecond would make Prometheus refuse the whole
 * request ("duplicate sample for timestamp"), so the later one is kept.
 *
 * Every array lives in the encoder and only grows: in a steady state an
 * encode allocates nothing. */
#include <errno.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#include "prw.h"

/* ---- growing arrays --------------------------------------------------------- */

/* Makes the array at *pp (of *cap items of `size` bytes) hold `need` items:
 * doubling, so that a run of batches settles after a few writes. */
static int grow(void *pp, size_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return 0;
  size_t n = *cap ? *cap : 64;
  while (n < need)
    n *= 2;
  void *p;
  memcpy(&p, pp, sizeof p);
  void *q = realloc(p, n * size);
  if (!q)
    return -ENOMEM;
  memcpy(pp, &q, sizeof q);
  *cap = n;
  return 0;
}

#define GROW(arr, cap, need) grow(&(arr), &(cap), (need), sizeof *(arr))

int prw_encoder_init(prw_encoder *e, unsigned map_flags) {
  memset(e, 0, sizeof *e);
  e->map_flags = map_flags;
  e->num = tower_buf_new(32);
  return e->num ? 0 : -ENOMEM;
}

void prw_encoder_fini(prw_encoder *e) {
  free(e->arena);
  free(e->series);
  free(e->spare);
  free(e->pairs);
  free(e->slots);
  free(e->samples);
  free(e->sorted);
  free(e->ts);
  free(e->tsp);
  free(e->labels);
  free(e->labelp);
  free(e->pbs);
  free(e->pbsp);
  free(e->pb);
  free(e->body);
  tower_buf_free(e->num);
  memset(e, 0, sizeof *e);
}

/* ---- series keys -------------------------------------------------------------- */

/* A label of a key with its lengths, measured once per mapped series: a
 * histogram's buckets all repeat the same labels. */
static prw_pair make_pair(const char *name, const char *value, const char *suffix) {
  return (prw_pair){name, value, suffix, strlen(name), strlen(value), strlen(suffix)};
}

static size_t pair_bytes(const prw_pair *p) {
  return p->nlen + p->vlen + p->slen + 2;
}

static char *put_pair(char *o, const prw_pair *p) {
  memcpy(o, p->name, p->nlen + 1);
  o += p->nlen + 1;
  memcpy(o, p->value, p->vlen);
  memcpy(o + p->vlen, p->suffix, p->slen + 1);
  return o + p->vlen + p->slen + 1;
}

/* The series' labels as pairs in e->pairs; labels with an empty value are
 * left out (Prometheus treats them as absent, the specification forbids
 * them). 0 or -ENOMEM. */
static int load_pairs(prw_encoder *e, const tower_prom_series *s) {
  if (GROW(e->pairs, e->paircap, s->nlabels))
    return -ENOMEM;
  e->npairs = 0;
  for (size_t i = 0; i < s->nlabels; i++)
    if (s->label_values[i][0])
      e->pairs[e->npairs++] = make_pair(s->label_names[i], s->label_values[i], "");
  return 0;
}

/* Bytes of the key: the series' pairs and the extras (__name__, le...). */
static size_t key_size(const prw_encoder *e, const prw_pair *x, size_t nx) {
  size_t n = 0;
  for (size_t i = 0; i < e->npairs; i++)
    n += pair_bytes(&e->pairs[i]);
  for (size_t i = 0; i < nx; i++)
    n += pair_bytes(&x[i]);
  return n;
}

/* Writes the key at o: the series' sorted pairs merged with the sorted
 * extras. Returns the number of labels. */
static uint32_t put_key(char *o, const prw_encoder *e, const prw_pair *x, size_t nx) {
  size_t j = 0;
  for (size_t i = 0; i < e->npairs; i++) {
    for (; j < nx && strcmp(x[j].name, e->pairs[i].name) < 0; j++)
      o = put_pair(o, &x[j]);
    o = put_pair(o, &e->pairs[i]);
  }
  for (; j < nx; j++)
    o = put_pair(o, &x[j]);
  return (uint32_t)(e->npairs + nx);
}

/* Hash of a key, eight bytes at a time (a byte-wise FNV was a sixth of the
 * encoding time on 90-byte keys); the final mix spreads the bits over the
 * low ones the table uses. */
static uint64_t hash_key(const char *p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ n, w;
  for (; n >= 8; p += 8, n -= 8) {
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
    h ^= h >> 32;
  }
  w = 0;
  memcpy(&w, p, n);
  h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
  return h ^ (h >> 29);
}

/* ---- the series table ---------------------------------------------------------- */

static int rehash(prw_encoder *e, size_t nslots) {
  uint32_t *slots = calloc(nslots, sizeof *slots);
  if (!slots)
    return -ENOMEM;
  for (size_t i = 0; i < e->nseries; i++) {
    size_t k = e->series[i].hash & (nslots - 1);
    while (slots[k])
      k = (k + 1) & (nslots - 1);
    slots[k] = (uint32_t)i + 1;
  }
  free(e->slots);
  e->slots = slots;
  e->nslots = nslots;
  return 0;
}

/* The series whose key was just written at the end of the arena (at `key`,
 * `len` bytes): an existing one (the key is taken back) or a new one. */
static int intern(prw_encoder *e, size_t key, size_t len, uint32_t nlabels, uint32_t *out) {
  if ((e->nseries + 1) * 2 > e->nslots && rehash(e, e->nslots ? e->nslots * 2 : 256))
    return -ENOMEM;
  uint64_t h = hash_key(e->arena + key, len);
  size_t k = h & (e->nslots - 1);
  for (; e->slots[k]; k = (k + 1) & (e->nslots - 1)) {
    const prw_series *s = &e->series[e->slots[k] - 1];
    if (s->hash == h && s->key_len == len && memcmp(e->arena + s->key, e->arena + key, len) == 0) {
      e->alen = key;
      *out = e->slots[k] - 1;
      return 0;
    }
  }
  if (GROW(e->series, e->scap, e->nseries + 1))
    return -ENOMEM;
  e->series[e->nseries] = (prw_series){.hash = h, .key = key, .key_len = len, .nlabels = nlabels};
  e->slots[k] = (uint32_t)e->nseries + 1;
  *out = (uint32_t)e->nseries++;
  return 0;
}

/* One sample of series name+suffix{labels, extra}. */
static int add_sample(prw_encoder *e, const tower_prom_series *s, const char *suffix,
                      const char *xname, const char *xvalue, double v) {
  prw_pair x[2];
  size_t nx = 1;
  x[0] = make_pair("__name__", s->name, suffix);
  if (xname)
    x[nx++] = make_pair(xname, xvalue, "");
  size_t need = key_size(e, x, nx), key = e->alen;
  if (GROW(e->arena, e->acap, e->alen + need) || GROW(e->samples, e->smcap, e->nsamples + 1))
    return -ENOMEM;
  uint32_t nlabels = put_key(e->arena + key, e, x, nx), id;
  e->alen += need;
  if (intern(e, key, need, nlabels, &id))
    return -ENOMEM;
  int64_t ms = s->time_ns / 1000000 - (s->time_ns % 1000000 < 0 ? 1 : 0);
  e->samples[e->nsamples++] = (prw_sample){id, ms, v};
  e->series[id].nsamples++;
  return 0;
}

/* A histogram's buckets (le) or a summary's quantiles, then _sum, _count. */
static int add_distribution(prw_encoder *e, const tower_prom_series *s) {
  bool hist = s->type == TOWER_HISTOGRAM;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < s->nbuckets; i++) {
    tower_buf_reset(e->num);
    /* As the exposition writes the bound, so a scrape and a remote write
     * of the same metric give the same le / quantile label. */
    rc = tower_format_float(e->num, s->bounds[i]);
    if (rc == 0)
      rc = add_sample(e, s, hist ? "_bucket" : "", hist ? "le" : "quantile", tower_buf_data(e->num),
                      s->counts[i]);
  }
  if (rc == 0)
    rc = add_sample(e, s, "_sum", NULL, NULL, s->sum);
  if (rc == 0)
    rc = add_sample(e, s, "_count", NULL, NULL, s->count);
  return rc;
}

static int on_series(void *ud, const tower_prom_series *s) {
  prw_encoder *e = ud;
  if (load_pairs(e, s))
    return -ENOMEM;
  if (s->type == TOWER_HISTOGRAM || s->type == TOWER_SUMMARY)
    return add_distribution(e, s);
  return add_sample(e, s, "", NULL, NULL, s->value);
}

static int add_metric(prw_encoder *e, const tower_metric *m) {
  int n = tower_prom_map(m, e->map_flags, on_series, e);
  if (n == 0)
    e->metrics_without_series++;
  return n < 0 ? n : 0;
}

/* ---- ordering ------------------------------------------------------------------- */

static int cmp_series(const prw_series *x, const prw_series *y) {
  size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
  int c = memcmp(x->kp, y->kp, n);
  return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Bottom-up merge sort of the series through e->spare: glibc's qsort
 * allocates its own scratch on every call, which a warm encoder avoids. */
static int sort_series(prw_encoder *e) {
  size_t n = e->nseries;
  if (GROW(e->spare, e->sparecap, n))
    return -ENOMEM;
  prw_series *a = e->series, *b = e->spare;
  for (size_t w = 1; w < n; w *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * w) {
      size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      size_t i = lo, j = mid, o = lo;
      while (i < mid && j < hi)
        b[o++] = cmp_series(&a[j], &a[i]) < 0 ? a[j++] : a[i++];
      while (i < mid)
        b[o++] = a[i++];
      while (j < hi)
        b[o++] = a[j++];
    }
    prw_series *t = a;
    a = b;
    b = t;
  }
  if (a != e->series)
    memcpy(e->series, a, n * sizeof *a);
  return 0;
}

/* Samples of one series by time; arrival order within a millisecond
 * (insertion sort: stable, and linear for the usual already-ordered run). */
static void sort_by_time(prw_sample *s, size_t n) {
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && s[j - 1].ts_ms > s[j].ts_ms; j--) {
      prw_sample t = s[j];
      s[j] = s[j - 1];
      s[j - 1] = t;
    }
}

/* Keeps the last sample of each millisecond; returns how many are left. */
static size_t keep_last_per_ms(prw_sample *s, size_t n) {
  size_t out = 0;
  for (size_t i = 0; i < n; i++) {
    if (out && s[out - 1].ts_ms == s[i].ts_ms)
      out--;
    s[out++] = s[i];
  }
  return out;
}

/* Sorts the series by key, then places the samples series by series (in
 * arrival order) and orders each run by time. */
static int order(prw_encoder *e) {
  if (GROW(e->sorted, e->sortcap, e->nsamples))
    return -ENOMEM;
  /* The series' original indices, for the samples to follow their series:
   * slots[] is free once every key is interned. */
  for (size_t i = 0; i < e->nseries; i++) {
    e->series[i].first = (uint32_t)i;
    e->series[i].kp = e->arena + e->series[i].key;
  }
  if (sort_series(e))
    return -ENOMEM;
  uint32_t at = 0;
  for (size_t i = 0; i < e->nseries; i++) {
    e->slots[e->series[i].first] = (uint32_t)i;
    e->series[i].first = at;
    at += e->series[i].nsamples;
    e->series[i].nsamples = 0;
  }
  for (size_t i = 0; i < e->nsamples; i++) {
    prw_series *s = &e->series[e->slots[e->samples[i].series]];
    e->sorted[s->first + s->nsamples++] = e->samples[i];
  }
  for (size_t i = 0; i < e->nseries; i++) {
    prw_series *s = &e->series[i];
    sort_by_time(e->sorted + s->first, s->nsamples);
    uint32_t kept = (uint32_t)keep_last_per_ms(e->sorted + s->first, s->nsamples);
    e->samples_replaced += s->nsamples - kept;
    s->nsamples = kept;
  }
  return 0;
}

/* ---- the request -------------------------------------------------------------------- */

static int reserve_message(prw_encoder *e, size_t nlabels, size_t nsamples) {
  if (GROW(e->ts, e->tscap, e->nseries) || GROW(e->tsp, e->tspcap, e->nseries) ||
      GROW(e->labels, e->lcap, nlabels) || GROW(e->labelp, e->lpcap, nlabels) ||
      GROW(e->pbs, e->pbcap, nsamples) || GROW(e->pbsp, e->pbspcap, nsamples))
    return -ENOMEM;
  return 0;
}

/* Points one TimeSeries at its labels (in the key) and its samples. */
static void fill_series(prw_encoder *e, size_t i, size_t *l, size_t *k) {
  const prw_series *s = &e->series[i];
  Prometheus__TimeSeries *ts = &e->ts[i];
  *ts = (Prometheus__TimeSeries)PROMETHEUS__TIME_SERIES__INIT;
  ts->n_labels = s->nlabels;
  ts->labels = e->labelp + *l;
  char *p = e->arena + s->key;
  for (uint32_t j = 0; j < s->nlabels; j++, (*l)++) {
    Prometheus__Label *lb = &e->labels[*l];
    *lb = (Prometheus__Label)PROMETHEUS__LABEL__INIT;
    lb->name = p;
    p += strlen(p) + 1;
    lb->value = p;
    p += strlen(p) + 1;
    e->labelp[*l] = lb;
  }
  ts->n_samples = s->nsamples;
  ts->samples = e->pbsp + *k;
  for (uint32_t j = 0; j < s->nsamples; j++, (*k)++) {
    const prw_sample *src = &e->sorted[s->first + j];
    Prometheus__Sample *sm = &e->pbs[*k];
    *sm = (Prometheus__Sample)PROMETHEUS__SAMPLE__INIT;
    sm->value = src->value;
    sm->timestamp = src->ts_ms;
    e->pbsp[*k] = sm;
  }
  e->tsp[i] = ts;
}

/* The WriteRequest of the ordered series, packed and snappy-compressed. */
static int build(prw_encoder *e) {
  size_t nlabels = 0, nsamples = 0;
  for (size_t i = 0; i < e->nseries; i++) {
    nlabels += e->series[i].nlabels;
    nsamples += e->series[i].nsamples;
  }
  if (reserve_message(e, nlabels, nsamples))
    return -ENOMEM;
  size_t l = 0, k = 0;
  for (size_t i = 0; i < e->nseries; i++)
    fill_series(e, i, &l, &k);
  e->samples_sent = nsamples;
  Prometheus__WriteRequest req = PROMETHEUS__WRITE_REQUEST__INIT;
  req.n_timeseries = e->nseries;
  req.timeseries = e->tsp;
  size_t size = prometheus__write_request__get_packed_size(&req);
  if (GROW(e->pb, e->pb_cap, size + 1))
    return -ENOMEM;
  e->pb_len = prometheus__write_request__pack(&req, e->pb);
  size_t max = snappy_max_compressed_length(e->pb_len);
  if (GROW(e->body, e->body_cap, max))
    return -ENOMEM;
  e->body_len = max;
  if (snappy_compress((const char *)e->pb, e->pb_len, e->body, &e->body_len) != SNAPPY_OK)
    return -ENOMEM; /* only when the output is too small, which max rules out */
  return 0;
}

static void reset(prw_encoder *e) {
  e->alen = e->nseries = e->nsamples = 0;
  e->metrics_without_series = e->samples_replaced = e->samples_sent = 0;
  e->body_len = e->pb_len = 0;
  if (e->slots)
    memset(e->slots, 0, e->nslots * sizeof *e->slots);
}

static int finish(prw_encoder *e) {
  int rc = order(e);
  return rc ? rc : build(e);
}

int prw_encode_metrics(prw_encoder *e, const tower_metric *const *ms, size_t n) {
  reset(e);
  for (size_t i = 0; i < n; i++)
    if (add_metric(e, ms[i]))
      return -ENOMEM;
  return finish(e);
}
