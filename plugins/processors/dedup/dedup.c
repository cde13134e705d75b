/* processors.dedup: drops a metric when its series (name and tags) passed
 * with the same field values less than `dedup_interval` ago, as Telegraf's
 * processors.dedup:
 *
 * - a series not seen before passes and is remembered;
 * - when the remembered metric's timestamp is `dedup_interval` or more
 *   before now, the new metric passes and replaces it;
 * - a field value that differs (type or value; NaN always differs, as in
 *   Go) lets the metric pass and replaces the remembered one;
 * - fields the remembered metric lacks, at the same timestamp, are merged
 *   into it and the metric passes (an input that splits one sample over
 *   several metrics); at another timestamp they count as a change (Telegraf
 *   drops that metric, see README);
 * - otherwise the metric is a duplicate and is dropped.
 *
 * Memory is bounded by `max_series`: the series remembered longest ago is
 * forgotten to make room (its next metric passes). Series whose timestamp
 * is older than the interval are forgotten once per interval. A series
 * costs one entry and one buffer (series key and fields, reused when its
 * values change), so a metric allocates only when a new series appears or
 * its fields grow.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

typedef struct entry {
  struct entry *chain;         /* next in the hash bucket */
  struct entry *older, *newer; /* the list of series by the time they were saved */
  uint64_t hash;
  int64_t time;      /* timestamp of the metric remembered */
  size_t series_len; /* data[0, series_len): the series key */
  size_t len, cap;   /* data[series_len, len): the fields */
  char *data;
} entry;

typedef struct {
  tower_ctx *ctx;
  int64_t interval;
  size_t max_series;
  entry **buckets;
  size_t nbuckets, count;
  entry *oldest, *newest;
  int64_t next_cleanup; /* wall-clock ns */
  tower_buf *series;    /* the series key of the metric being looked at */
  tower_buf *fields;    /* its fields, encoded as in an entry */
  tower_buf *merged;    /* scratch for merging fields */
} dedup_state;

static const tower_option options[] = {
    {.name = "dedup_interval",
     .type = TOWER_OPT_DURATION,
     .default_value = "10m",
     .min = "1ns",
     .help = "a metric whose fields did not change passes again once this old"},
    {.name = "max_series",
     .type = TOWER_OPT_INT,
     .default_value = "100000",
     .min = "1",
     .max = "100000000",
     .help = "series remembered at most; beyond, the series saved longest ago is forgotten"},
    TOWER_OPTION_END,
};

/* ---- encoding: series keys and fields ------------------------------------ */

/* name \0 (key \0 value \0)*: tags are sorted, so one series, one key. */
static int encode_series(tower_buf *b, const tower_metric *m) {
  tower_buf_reset(b);
  const char *name = tower_metric_name(m);
  int rc = tower_buf_append(b, name, strlen(name) + 1);
  size_t n = tower_metric_tag_count(m);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    const char *k = tower_metric_tag_key(m, i), *v = tower_metric_tag_value(m, i);
    rc = tower_buf_append(b, k, strlen(k) + 1);
    if (rc == 0)
      rc = tower_buf_append(b, v, strlen(v) + 1);
  }
  return rc;
}

static uint64_t fnv1a(const char *p, size_t n) {
  uint64_t h = 14695981039346656037ULL;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
  return h;
}

/* One encoded field: key \0, a type byte, then 8 bytes (float, int, uint),
 * 1 byte (bool) or the string and \0. */
typedef struct {
  const char *key;
  unsigned char type;
  const char *value;
  size_t value_len;
} field;

static const char *decode_field(const char *p, field *f) {
  f->key = p;
  p += strlen(p) + 1;
  f->type = (unsigned char)*p++;
  f->value = p;
  f->value_len = f->type == TOWER_FIELD_STRING ? strlen(p) + 1
                 : f->type == TOWER_FIELD_BOOL ? 1
                                               : 8;
  return p + f->value_len;
}

static int encode_field(tower_buf *b, const tower_metric *m, size_t i) {
  const char *key = tower_metric_field_key(m, i);
  unsigned char type = (unsigned char)tower_metric_field_type(m, i);
  int rc = tower_buf_append(b, key, strlen(key) + 1);
  if (rc == 0)
    rc = tower_buf_append(b, &type, 1);
  if (rc)
    return rc;
  double f;
  int64_t n;
  uint64_t u;
  switch (type) {
  case TOWER_FIELD_FLOAT:
    f = tower_metric_field_float(m, i);
    return tower_buf_append(b, &f, 8);
  case TOWER_FIELD_INT:
    n = tower_metric_field_int(m, i);
    return tower_buf_append(b, &n, 8);
  case TOWER_FIELD_UINT:
    u = tower_metric_field_uint(m, i);
    return tower_buf_append(b, &u, 8);
  case TOWER_FIELD_BOOL:
    return tower_buf_append(b, tower_metric_field_bool(m, i) ? "\1" : "\0", 1);
  default: {
    const char *s = tower_metric_field_string(m, i);
    return tower_buf_append(b, s, strlen(s) + 1);
  }
  }
}

/* Equal as Go compares interface values: same type and ==, so NaN never
 * equals and 0.0 equals -0.0. */
static bool same_value(const field *a, const field *b) {
  if (a->type != b->type || a->value_len != b->value_len)
    return false;
  if (a->type == TOWER_FIELD_FLOAT) {
    double x, y;
    memcpy(&x, a->value, 8);
    memcpy(&y, b->value, 8);
    return x == y;
  }
  return memcmp(a->value, b->value, a->value_len) == 0;
}

/* ---- the table of series --------------------------------------------------- */

static entry **bucket_of(dedup_state *s, uint64_t hash) {
  return &s->buckets[hash & (s->nbuckets - 1)];
}

static entry *lookup(dedup_state *s, uint64_t hash, const char *key, size_t len) {
  for (entry *e = *bucket_of(s, hash); e; e = e->chain)
    if (e->hash == hash && e->series_len == len && memcmp(e->data, key, len) == 0)
      return e;
  return NULL;
}

static void unlink_age(dedup_state *s, entry *e) {
  *(e->older ? &e->older->newer : &s->oldest) = e->newer;
  *(e->newer ? &e->newer->older : &s->newest) = e->older;
  e->older = e->newer = NULL;
}

static void link_newest(dedup_state *s, entry *e) {
  e->older = s->newest;
  *(s->newest ? &s->newest->newer : &s->oldest) = e;
  s->newest = e;
}

static void forget(dedup_state *s, entry *e) {
  for (entry **p = bucket_of(s, e->hash); *p; p = &(*p)->chain)
    if (*p == e) {
      *p = e->chain;
      break;
    }
  unlink_age(s, e);
  free(e->data);
  free(e);
  s->count--;
}

/* Doubles the buckets when the table is fuller than 3/4; on -ENOMEM the
 * table keeps working with longer chains. */
static void grow(dedup_state *s) {
  if (s->count * 4 < s->nbuckets * 3)
    return;
  size_t n = s->nbuckets * 2;
  entry **b = calloc(n, sizeof *b);
  if (!b)
    return;
  for (size_t i = 0; i < s->nbuckets; i++)
    for (entry *e = s->buckets[i], *next; e; e = next) {
      next = e->chain;
      e->chain = b[e->hash & (n - 1)];
      b[e->hash & (n - 1)] = e;
    }
  free(s->buckets);
  s->buckets = b;
  s->nbuckets = n;
}

/* Writes the series key (s->series) and `fields` into e. */
static int store(entry *e, const tower_buf *series, const char *fields, size_t fields_len) {
  size_t slen = tower_buf_len(series), need = slen + fields_len;
  if (need > e->cap) {
    char *d = realloc(e->data, need);
    if (!d)
      return -ENOMEM;
    e->data = d;
    e->cap = need;
  }
  memcpy(e->data, tower_buf_data(series), slen);
  memcpy(e->data + slen, fields, fields_len);
  e->series_len = slen;
  e->len = need;
  return 0;
}

/* Remembers the metric whose series and fields are in s->series and
 * s->fields, in `e` or in a new entry (e == NULL). */
static int save(dedup_state *s, entry *e, uint64_t hash, int64_t time) {
  if (!e) {
    if (s->count >= s->max_series)
      forget(s, s->oldest);
    if (!(e = calloc(1, sizeof *e)))
      return -ENOMEM;
    if (store(e, s->series, tower_buf_data(s->fields), tower_buf_len(s->fields))) {
      free(e);
      return -ENOMEM;
    }
    e->hash = hash;
    entry **b = bucket_of(s, hash);
    e->chain = *b;
    *b = e;
    s->count++;
    grow(s);
  } else {
    if (store(e, s->series, tower_buf_data(s->fields), tower_buf_len(s->fields))) {
      forget(s, e); /* the next metric of the series passes */
      return -ENOMEM;
    }
    unlink_age(s, e);
  }
  e->time = time;
  link_newest(s, e);
  return 0;
}

/* Telegraf's time.Since(t) >= interval, without overflow for any t. */
static bool expired(const dedup_state *s, int64_t t, int64_t now) {
  return t <= now - s->interval;
}

/* Telegraf's cleanup: once per interval, forget the series whose metric is
 * older than the interval. */
static void cleanup(dedup_state *s, int64_t now) {
  if (now < s->next_cleanup)
    return;
  s->next_cleanup = now + s->interval;
  for (entry *e = s->oldest, *next; e; e = next) {
    next = e->newer;
    if (expired(s, e->time, now))
      forget(s, e);
  }
}

/* ---- deciding ------------------------------------------------------------ */

typedef enum { DUPLICATE, CHANGED, MERGED } verdict;

/* The fields of the metric (s->fields) and those e remembers, merged into
 * s->fields in key order; the metric's value wins for a key in both. */
static int merge_fields(dedup_state *s, const entry *e) {
  const char *a = tower_buf_data(s->fields), *a_end = a + tower_buf_len(s->fields);
  const char *b = e->data + e->series_len, *b_end = e->data + e->len;
  tower_buf_reset(s->merged);
  int rc = 0;
  while (rc == 0 && (a < a_end || b < b_end)) {
    field fa, fb;
    const char *na = a < a_end ? decode_field(a, &fa) : NULL;
    const char *nb = b < b_end ? decode_field(b, &fb) : NULL;
    int cmp = !na ? 1 : !nb ? -1 : strcmp(fa.key, fb.key);
    if (cmp <= 0) {
      rc = tower_buf_append(s->merged, a, (size_t)(na - a));
      a = na;
      b = cmp == 0 ? nb : b;
    } else {
      rc = tower_buf_append(s->merged, b, (size_t)(nb - b));
      b = nb;
    }
  }
  tower_buf *t = s->fields;
  s->fields = s->merged;
  s->merged = t;
  return rc;
}

/* Compares the fields of the metric (s->fields) with those e remembers;
 * both are sorted by key. */
static verdict compare(const dedup_state *s, const entry *e, bool same_time) {
  const char *old = e->data + e->series_len, *old_end = e->data + e->len;
  const char *cur = tower_buf_data(s->fields), *cur_end = cur + tower_buf_len(s->fields);
  bool missing = false;
  while (cur < cur_end) {
    field f, o;
    cur = decode_field(cur, &f);
    int cmp = 1;
    while (old < old_end) { /* skip the remembered keys before f's */
      const char *next = decode_field(old, &o);
      if ((cmp = strcmp(o.key, f.key)) >= 0)
        break;
      old = next;
    }
    if (old < old_end && cmp == 0) {
      if (!same_value(&o, &f))
        return CHANGED;
    } else {
      missing = true;
    }
  }
  if (!missing)
    return DUPLICATE;
  return same_time ? MERGED : CHANGED;
}

/* Whether `m` passes; updates the table. */
static int decide(dedup_state *s, const tower_metric *m, int64_t now, bool *pass) {
  *pass = true;
  int rc = encode_series(s->series, m);
  tower_buf_reset(s->fields);
  size_t n = tower_metric_field_count(m);
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = encode_field(s->fields, m, i);
  if (rc)
    return rc;
  uint64_t hash = fnv1a(tower_buf_data(s->series), tower_buf_len(s->series));
  entry *e = lookup(s, hash, tower_buf_data(s->series), tower_buf_len(s->series));
  int64_t time = tower_metric_time(m);
  if (!e || expired(s, e->time, now))
    return save(s, e, hash, time);
  verdict v = compare(s, e, time == e->time);
  if (v == DUPLICATE) {
    *pass = false;
    return 0;
  }
  if (v == MERGED && (rc = merge_fields(s, e)))
    return rc;
  return save(s, e, hash, time);
}

static int dedup_process(void *state, tower_metric *m, tower_acc *next) {
  dedup_state *s = state;
  int64_t now = tower_now();
  bool pass;
  int rc = decide(s, m, now, &pass);
  cleanup(s, now);
  if (rc)
    tower_acc_error(next, "metric %s: cannot remember its series: %s; the metric was passed on",
                    tower_metric_name(m), strerror(-rc));
  if (!pass) {
    tower_metric_free(m);
    return 0;
  }
  int arc = tower_acc_add(next, m);
  return rc ? rc : arc;
}

static void dedup_destroy(void *state) {
  dedup_state *s = state;
  if (!s)
    return;
  for (entry *e = s->oldest, *next; e; e = next) {
    next = e->newer;
    free(e->data);
    free(e);
  }
  free(s->buckets);
  tower_buf_free(s->series);
  tower_buf_free(s->fields);
  tower_buf_free(s->merged);
  free(s);
}

static int dedup_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  dedup_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->interval = tower_config_duration(cfg, "dedup_interval");
  s->max_series = (size_t)tower_config_int(cfg, "max_series");
  s->nbuckets = 64;
  s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
  s->series = tower_buf_new(256);
  s->fields = tower_buf_new(256);
  s->merged = tower_buf_new(256);
  if (!s->buckets || !s->series || !s->fields || !s->merged) {
    dedup_destroy(s);
    return -ENOMEM;
  }
  s->next_cleanup = tower_now() + s->interval;
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_PROCESSOR),
    .name = "dedup",
    .description = "drop metrics whose field values did not change within an interval",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = dedup_init,
    .destroy = dedup_destroy,
    .process = dedup_process,
};

TOWER_PLUGIN_ENTRY(plugin)
