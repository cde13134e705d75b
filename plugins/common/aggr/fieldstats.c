/* Per-field running statistics; see fieldstats.h. */
#include "fieldstats.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *name;
  unsigned mask;
} stat_names[] = {
    {"count", FS_COUNT},
    {"min", FS_MIN},
    {"max", FS_MAX},
    {"mean", FS_MEAN},
    {"stdev", FS_STDEV},
    {"s2", FS_S2},
    {"variance", FS_S2}, /* Telegraf's sample config spells s2 so */
    {"sum", FS_SUM},
    {"diff", FS_DIFF},
    {"non_negative_diff", FS_NON_NEGATIVE_DIFF},
    {"rate", FS_RATE},
    {"non_negative_rate", FS_NON_NEGATIVE_RATE},
    {"percent_change", FS_PERCENT_CHANGE},
    {"interval", FS_INTERVAL},
    {"last", FS_LAST},
};

unsigned fs_stat_parse(const char *name) {
  for (size_t i = 0; i < sizeof stat_names / sizeof *stat_names; i++)
    if (strcmp(name, stat_names[i].name) == 0)
      return stat_names[i].mask;
  return 0;
}

static fs_field *field_of(fs_series *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->f[i].name, name) == 0)
      return &s->f[i];
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 1; /* most series have one or few fields */
    fs_field *f = realloc(s->f, cap * sizeof *f);
    if (!f)
      return NULL;
    s->f = f;
    s->cap = cap;
  }
  fs_field *f = &s->f[s->n];
  memset(f, 0, sizeof *f);
  if (!(f->name = strdup(name)))
    return NULL;
  s->n++;
  return f;
}

static void first_value(fs_field *f, double v, int64_t t) {
  f->count = 1;
  f->min = f->max = f->mean = f->sum = f->last = f->previous = v;
  f->m2 = f->diff = f->rate = 0;
  f->interval = 0;
  f->last_time = t;
}

/* Telegraf's update: Welford for mean and M2; diff, rate and interval
 * between the last two values. */
static void next_value(fs_field *f, double v, int64_t t) {
  f->count++;
  double delta = v - f->mean;
  f->mean += delta / f->count;
  f->m2 += delta * (v - f->mean);
  f->min = v < f->min ? v : f->min;
  f->max = v > f->max ? v : f->max;
  f->sum += v;
  f->diff = v - f->last;
  f->interval = t - f->last_time;
  if (f->interval != 0)
    f->rate = f->diff / ((double)f->interval / 1e9);
  f->previous = f->last;
  f->last = v;
  f->last_time = t;
}

int fs_add(fs_series *s, const tower_metric *m) {
  size_t n = tower_metric_field_count(m);
  int64_t t = tower_metric_time(m);
  for (size_t i = 0; i < n; i++) {
    double v;
    if (!tower_metric_field_number(m, i, &v))
      continue; /* strings are not aggregated, as in Telegraf */
    fs_field *f = field_of(s, tower_metric_field_key(m, i));
    if (!f)
      return -ENOMEM;
    if (f->count == 0)
      first_value(f, v, t);
    else
      next_value(f, v, t);
  }
  return 0;
}

static int put(tower_metric *out, const char *field, const char *stat, double v) {
  char name[512];
  if ((size_t)snprintf(name, sizeof name, "%s_%s", field, stat) >= sizeof name)
    return 0; /* a field name this long cannot be a real one: left out */
  return tower_metric_add_float(out, name, v);
}

static int emit_one(const fs_field *f, unsigned mask, tower_metric *out) {
  int rc = 0;
  if (mask & FS_COUNT)
    rc |= put(out, f->name, "count", f->count);
  if (mask & FS_MIN)
    rc |= put(out, f->name, "min", f->min);
  if (mask & FS_MAX)
    rc |= put(out, f->name, "max", f->max);
  if (mask & FS_MEAN)
    rc |= put(out, f->name, "mean", f->mean);
  if (mask & FS_SUM)
    rc |= put(out, f->name, "sum", f->sum);
  if (mask & FS_LAST)
    rc |= put(out, f->name, "last", f->last);
  if (f->count < 2)
    return rc; /* the rest needs two values */
  double s2 = f->m2 / (f->count - 1);
  if (mask & FS_S2)
    rc |= put(out, f->name, "s2", s2);
  if (mask & FS_STDEV)
    rc |= put(out, f->name, "stdev", sqrt(s2));
  if (mask & FS_DIFF)
    rc |= put(out, f->name, "diff", f->diff);
  if ((mask & FS_NON_NEGATIVE_DIFF) && f->diff >= 0)
    rc |= put(out, f->name, "non_negative_diff", f->diff);
  if (mask & FS_RATE)
    rc |= put(out, f->name, "rate", f->rate);
  if ((mask & FS_NON_NEGATIVE_RATE) && f->diff >= 0)
    rc |= put(out, f->name, "non_negative_rate", f->rate);
  if (mask & FS_PERCENT_CHANGE)
    rc |= put(out, f->name, "percent_change", f->diff / f->previous * 100);
  if (mask & FS_INTERVAL) {
    char name[512];
    if ((size_t)snprintf(name, sizeof name, "%s_interval", f->name) < sizeof name)
      rc |= tower_metric_add_int(out, name, f->interval);
  }
  return rc;
}

int fs_emit(const fs_series *s, unsigned mask, tower_metric *out) {
  int added = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (s->f[i].count == 0)
      continue;
    if (emit_one(&s->f[i], mask, out))
      return -ENOMEM;
    added++;
  }
  return added;
}

void fs_reset(fs_series *s) {
  for (size_t i = 0; i < s->n; i++)
    s->f[i].count = 0;
}

void fs_fini(void *payload) {
  fs_series *s = payload;
  for (size_t i = 0; i < s->n; i++)
    free(s->f[i].name);
  free(s->f);
}

/* ---- the aggregator ---- */

#include "series.h"

struct fs_agg {
  tower_ctx *ctx;
  unsigned mask;
  aggr_series *series;
};

fs_agg *fs_agg_new(tower_ctx *ctx, unsigned mask, size_t max_series) {
  fs_agg *a = calloc(1, sizeof *a);
  if (!a)
    return NULL;
  a->ctx = ctx;
  a->mask = mask;
  a->series = aggr_series_new(sizeof(fs_series), max_series, fs_fini);
  if (!a->series) {
    free(a);
    return NULL;
  }
  return a;
}

void fs_agg_free(void *state) {
  fs_agg *a = state;
  aggr_series_free(a->series);
  free(a);
}

int fs_agg_add(void *state, const tower_metric *m) {
  fs_agg *a = state;
  bool nomem;
  aggr_entry *e = aggr_series_get(a->series, m, &nomem);
  if (!e)
    return nomem ? -ENOMEM : 0; /* refused: counted by the table */
  return fs_add((fs_series *)e->payload, m);
}

int fs_agg_push(void *state, tower_acc *acc) {
  fs_agg *a = state;
  size_t n = aggr_series_len(a->series);
  for (size_t i = 0; i < n; i++) {
    aggr_entry *e = aggr_series_at(a->series, i);
    tower_metric *m = aggr_series_metric(e, TOWER_TIME_UNSET);
    int added = m ? fs_emit((fs_series *)e->payload, a->mask, m) : -ENOMEM;
    if (added < 0) {
      tower_metric_free(m);
      return -ENOMEM;
    }
    if (added == 0 || tower_metric_field_count(m) == 0) {
      tower_metric_free(m); /* no value in this window, or no stat asked for */
      continue;
    }
    if (tower_acc_add(acc, m))
      return -ENOMEM;
  }
  return 0;
}

void fs_agg_reset(void *state) {
  fs_agg *a = state;
  size_t n = aggr_series_len(a->series);
  for (size_t i = 0; i < n; i++)
    fs_reset((fs_series *)aggr_series_at(a->series, i)->payload);
  aggr_series_sweep_idle(a->series);
  aggr_series_report(a->series, a->ctx);
}
