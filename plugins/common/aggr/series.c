/* The aggregators' series table; see series.h. */
#include "series.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct aggr_series {
  aggr_entry **buckets; /* power of two */
  size_t nbuckets;
  aggr_entry **order; /* entries in order of first arrival */
  size_t n, cap;
  size_t payload_size, max_series;
  void (*fini)(void *payload);
  uint64_t refused; /* since the last report */
};

/* FNV-1a, over the name and every tag, with separators that cannot occur
 * inside a name (NUL). */
static uint64_t fnv(uint64_t h, const char *s) {
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h * 1099511628211ULL; /* the terminating NUL */
}

static uint64_t series_hash(const tower_metric *m) {
  uint64_t h = fnv(14695981039346656037ULL, tower_metric_name(m));
  size_t n = tower_metric_tag_count(m);
  for (size_t i = 0; i < n; i++)
    h = fnv(fnv(h, tower_metric_tag_key(m, i)), tower_metric_tag_value(m, i));
  return h;
}

static bool same_series(const tower_metric *a, const tower_metric *b) {
  size_t n = tower_metric_tag_count(a);
  if (n != tower_metric_tag_count(b) || strcmp(tower_metric_name(a), tower_metric_name(b)))
    return false;
  for (size_t i = 0; i < n; i++)
    if (strcmp(tower_metric_tag_key(a, i), tower_metric_tag_key(b, i)) ||
        strcmp(tower_metric_tag_value(a, i), tower_metric_tag_value(b, i)))
      return false;
  return true;
}

aggr_series *aggr_series_new(size_t payload_size, size_t max_series, void (*fini)(void *payload)) {
  aggr_series *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  t->nbuckets = 64;
  t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
  if (!t->buckets) {
    free(t);
    return NULL;
  }
  t->payload_size = payload_size;
  t->max_series = max_series;
  t->fini = fini;
  return t;
}

static void entry_free(aggr_series *t, aggr_entry *e) {
  if (t->fini)
    t->fini(e->payload);
  tower_metric_free(e->proto);
  free(e);
}

void aggr_series_clear(aggr_series *t) {
  for (size_t i = 0; i < t->n; i++)
    entry_free(t, t->order[i]);
  t->n = 0;
  memset(t->buckets, 0, t->nbuckets * sizeof *t->buckets);
}

void aggr_series_free(aggr_series *t) {
  if (!t)
    return;
  aggr_series_clear(t);
  free(t->buckets);
  free(t->order);
  free(t);
}

static void relink(aggr_series *t) {
  memset(t->buckets, 0, t->nbuckets * sizeof *t->buckets);
  for (size_t i = 0; i < t->n; i++) {
    aggr_entry *e = t->order[i];
    aggr_entry **b = &t->buckets[e->hash & (t->nbuckets - 1)];
    e->chain = *b;
    *b = e;
  }
}

/* Room for one more entry: the order array and, past a load of 3/4, twice
 * the buckets. */
static int grow(aggr_series *t) {
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    aggr_entry **o = realloc(t->order, cap * sizeof *o);
    if (!o)
      return -ENOMEM;
    t->order = o;
    t->cap = cap;
  }
  if ((t->n + 1) * 4 > t->nbuckets * 3) {
    aggr_entry **b = calloc(t->nbuckets * 2, sizeof *b);
    if (!b)
      return -ENOMEM;
    free(t->buckets);
    t->buckets = b;
    t->nbuckets *= 2;
    relink(t);
  }
  return 0;
}

/* The series' name and tags as a metric without fields, packed to its
 * size (a clone is exact; a new metric keeps room to grow). */
static tower_metric *series_key(const tower_metric *m) {
  tower_metric *k = tower_metric_new(tower_metric_name(m), TOWER_TIME_UNSET);
  size_t n = tower_metric_tag_count(m);
  for (size_t i = 0; k && i < n; i++)
    if (tower_metric_add_tag(k, tower_metric_tag_key(m, i), tower_metric_tag_value(m, i))) {
      tower_metric_free(k);
      return NULL;
    }
  tower_metric *packed = tower_metric_clone(k);
  tower_metric_free(k);
  return packed;
}

static aggr_entry *entry_new(aggr_series *t, const tower_metric *m, uint64_t h) {
  aggr_entry *e = calloc(1, sizeof *e + t->payload_size);
  if (!e)
    return NULL;
  e->hash = h;
  if (!(e->proto = series_key(m))) {
    free(e);
    return NULL;
  }
  return e;
}

aggr_entry *aggr_series_get(aggr_series *t, const tower_metric *m, bool *nomem) {
  uint64_t h = series_hash(m);
  *nomem = false;
  for (aggr_entry *e = t->buckets[h & (t->nbuckets - 1)]; e; e = e->chain)
    if (e->hash == h && same_series(e->proto, m)) {
      e->active = true;
      return e;
    }
  if (t->n >= t->max_series) {
    t->refused++;
    return NULL;
  }
  aggr_entry *e = grow(t) ? NULL : entry_new(t, m, h);
  if (!e) {
    *nomem = true;
    return NULL;
  }
  aggr_entry **b = &t->buckets[h & (t->nbuckets - 1)];
  e->chain = *b;
  *b = e;
  e->active = true;
  t->order[t->n++] = e;
  return e;
}

size_t aggr_series_len(const aggr_series *t) {
  return t->n;
}

aggr_entry *aggr_series_at(const aggr_series *t, size_t i) {
  return t->order[i];
}

void aggr_series_sweep(aggr_series *t, bool (*drop)(aggr_entry *e, void *ud), void *ud) {
  size_t k = 0;
  for (size_t i = 0; i < t->n; i++) {
    aggr_entry *e = t->order[i];
    if (drop(e, ud))
      entry_free(t, e);
    else
      t->order[k++] = e;
  }
  if (k != t->n) {
    t->n = k;
    relink(t);
  }
}

static bool idle(aggr_entry *e, void *ud) {
  (void)ud;
  bool was_idle = !e->active;
  e->active = false;
  return was_idle;
}

void aggr_series_sweep_idle(aggr_series *t) {
  aggr_series_sweep(t, idle, NULL);
}

/* A new metric (room for the summary's fields) rather than a clone of the
 * packed key, which would grow by reallocation field after field. */
tower_metric *aggr_series_metric(const aggr_entry *e, int64_t time) {
  tower_metric *m = tower_metric_new(tower_metric_name(e->proto), time);
  size_t n = tower_metric_tag_count(e->proto);
  for (size_t i = 0; m && i < n; i++)
    if (tower_metric_add_tag(m, tower_metric_tag_key(e->proto, i),
                             tower_metric_tag_value(e->proto, i))) {
      tower_metric_free(m);
      return NULL;
    }
  return m;
}

void aggr_series_report(aggr_series *t, tower_ctx *ctx) {
  if (t->refused)
    tower_log(ctx, TOWER_LOG_WARN,
              "%llu metric%s refused: the aggregator holds max_series = %zu series already; "
              "raise max_series or narrow what it sees with namepass/tagpass",
              (unsigned long long)t->refused, t->refused == 1 ? " was" : "s were", t->max_series);
  tower_ctx_aggregate_series(ctx, t->n, t->refused);
  t->refused = 0;
}

int aggr_copy_field(tower_metric *to, const char *name, const tower_metric *from, size_t i) {
  switch (tower_metric_field_type(from, i)) {
  case TOWER_FIELD_FLOAT:
    return tower_metric_add_float(to, name, tower_metric_field_float(from, i));
  case TOWER_FIELD_INT:
    return tower_metric_add_int(to, name, tower_metric_field_int(from, i));
  case TOWER_FIELD_UINT:
    return tower_metric_add_uint(to, name, tower_metric_field_uint(from, i));
  case TOWER_FIELD_BOOL:
    return tower_metric_add_bool(to, name, tower_metric_field_bool(from, i));
  case TOWER_FIELD_STRING:
    return tower_metric_add_string(to, name, tower_metric_field_string(from, i));
  }
  return 0;
}

bool aggr_is_sequence(const tower_setting *s) {
  tower_setting_type k = tower_setting_kind(s);
  return k == TOWER_SETTING_ARRAY || k == TOWER_SETTING_LIST;
}
