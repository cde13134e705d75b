/* aggregators.quantile: the quantiles of every numeric field per series
 * and period, as Telegraf's quantile: fields <field>_<quantile*100, three
 * digits> (usage_025), computed with a t-digest (approximate, bounded
 * memory) or exactly (Hyndman & Fan R7 or R8, every value kept). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "series.h"
#include "tdigest.h"

typedef enum { ALG_TDIGEST, ALG_R7, ALG_R8 } algorithm;

typedef struct q_field {
  char *name;
  bool seen; /* took a value in this window */
  tdigest td;
  double *v; /* exact algorithms: every value of the window */
  size_t n, cap;
} q_field;

typedef struct q_series {
  q_field *f;
  size_t n, cap;
} q_series;

typedef struct q_state {
  tower_ctx *ctx;
  aggr_series *series;
  algorithm alg;
  double compression;
  double *q;
  size_t nq;
} q_state;

static const tower_option options[] = {
    {.name = "quantiles",
     .type = TOWER_OPT_ANY,
     .help = "the quantiles to push, numbers in [0, 1] (default [0.25, 0.5, 0.75])"},
    {.name = "algorithm",
     .type = TOWER_OPT_ENUM,
     .default_value = "t-digest",
     .choices = "t-digest|exact R7|exact R8",
     .help = "t-digest: approximate, bounded memory; exact R7 (NumPy, Excel) and exact R8 "
             "(Hyndman & Fan 1996) keep every value of the period"},
    {.name = "compression",
     .type = TOWER_OPT_FLOAT,
     .default_value = "100",
     .min = "1",
     .help = "t-digest: larger is more accurate and holds more centroids"},
    AGGR_MAX_SERIES_OPTION,
    TOWER_OPTION_END,
};

static const double default_quantiles[] = {0.25, 0.5, 0.75};

static int read_quantiles(q_state *s, const tower_config *cfg) {
  const tower_setting *qs = tower_config_setting(cfg, "quantiles");
  size_t n = qs ? tower_setting_len(qs) : 3;
  if (qs && (!aggr_is_sequence(qs) || n == 0))
    return tower_config_error(cfg, qs, "quantiles must be an array of numbers in [0, 1]");
  if (!(s->q = calloc(n, sizeof *s->q)))
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const tower_setting *e = qs ? tower_setting_at(qs, i) : NULL;
    tower_setting_type k = e ? tower_setting_kind(e) : TOWER_SETTING_FLOAT;
    double v = !e                         ? default_quantiles[i]
               : k == TOWER_SETTING_FLOAT ? tower_setting_float(e)
                                          : (double)tower_setting_int(e);
    if ((k != TOWER_SETTING_FLOAT && k != TOWER_SETTING_INT) || !(v >= 0 && v <= 1))
      return tower_config_error(cfg, qs, "quantiles must be numbers in [0, 1]; element %zu is not",
                                i + 1);
    s->q[i] = v;
  }
  s->nq = n;
  return 0;
}

static void series_fini(void *payload) {
  q_series *qs = payload;
  for (size_t i = 0; i < qs->n; i++) {
    free(qs->f[i].name);
    td_free(&qs->f[i].td);
    free(qs->f[i].v);
  }
  free(qs->f);
}

static void q_destroy(void *state) {
  q_state *s = state;
  aggr_series_free(s->series);
  free(s->q);
  free(s);
}

static int q_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  q_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  const char *alg = tower_config_string(cfg, "algorithm");
  s->alg = strcmp(alg, "exact R7") == 0   ? ALG_R7
           : strcmp(alg, "exact R8") == 0 ? ALG_R8
                                          : ALG_TDIGEST;
  s->compression = tower_config_float(cfg, "compression");
  int rc = read_quantiles(s, cfg);
  if (rc == 0 && !(s->series = aggr_series_new(
                       sizeof(q_series), (size_t)tower_config_int(cfg, "max_series"), series_fini)))
    rc = -ENOMEM;
  if (rc) {
    q_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

/* ---- adding ---- */

static q_field *field_of(q_series *qs, const char *name) {
  for (size_t i = 0; i < qs->n; i++)
    if (strcmp(qs->f[i].name, name) == 0)
      return &qs->f[i];
  if (qs->n == qs->cap) {
    size_t cap = qs->cap ? qs->cap * 2 : 1;
    q_field *f = realloc(qs->f, cap * sizeof *f);
    if (!f)
      return NULL;
    qs->f = f;
    qs->cap = cap;
  }
  q_field *f = &qs->f[qs->n];
  memset(f, 0, sizeof *f);
  if (!(f->name = strdup(name)))
    return NULL;
  qs->n++;
  return f;
}

static int keep_value(q_field *f, double v) {
  if (f->n == f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 8;
    double *nv = realloc(f->v, cap * sizeof *nv);
    if (!nv)
      return -ENOMEM;
    f->v = nv;
    f->cap = cap;
  }
  f->v[f->n++] = v;
  return 0;
}

static int q_add(void *state, const tower_metric *m) {
  q_state *s = state;
  bool nomem;
  aggr_entry *e = aggr_series_get(s->series, m, &nomem);
  if (!e)
    return nomem ? -ENOMEM : 0;
  q_series *qs = (q_series *)e->payload;
  size_t n = tower_metric_field_count(m);
  for (size_t i = 0; i < n; i++) {
    double v;
    tower_field_type t = tower_metric_field_type(m, i);
    /* numbers only: Telegraf drops booleans and strings here */
    if (t == TOWER_FIELD_BOOL || !tower_metric_field_number(m, i, &v) || isnan(v))
      continue;
    q_field *f = field_of(qs, tower_metric_field_key(m, i));
    int rc = !f                      ? -ENOMEM
             : s->alg == ALG_TDIGEST ? td_add(&f->td, v, s->compression)
                                     : keep_value(f, v);
    if (rc)
      return rc;
    f->seen = true;
  }
  return 0;
}

/* ---- pushing ---- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Hyndman & Fan: R7 h = (n-1)q + 1, R8 h = (n + 1/3)q + 1/3 (1-based),
 * then linear between the neighbours, clamped to the ends. */
static double exact(const double *x, size_t n, double q, algorithm alg) {
  double h = alg == ALG_R7 ? (double)(n - 1) * q + 1 : ((double)n + 1.0 / 3) * q + 1.0 / 3;
  if (h <= 1)
    return x[0];
  if (h >= (double)n)
    return x[n - 1];
  size_t lo = (size_t)floor(h);
  return x[lo - 1] + (h - (double)lo) * (x[lo] - x[lo - 1]);
}

static int put_quantiles(q_state *s, q_field *f, tower_metric *out) {
  if (s->alg != ALG_TDIGEST)
    qsort(f->v, f->n, sizeof *f->v, cmp_double);
  for (size_t i = 0; i < s->nq; i++) {
    int rc = 0;
    double v = s->alg == ALG_TDIGEST ? td_quantile(&f->td, s->q[i], s->compression, &rc)
                                     : exact(f->v, f->n, s->q[i], s->alg);
    char name[512];
    /* Telegraf's suffix: the quantile in percent, as an integer of three digits */
    if (rc || (size_t)snprintf(name, sizeof name, "%s_%03d", f->name, (int)(s->q[i] * 100)) >=
                  sizeof name)
      return rc;
    if ((rc = tower_metric_add_float(out, name, v)))
      return rc;
  }
  return 0;
}

static int q_push(void *state, tower_acc *acc) {
  q_state *s = state;
  size_t n = aggr_series_len(s->series);
  for (size_t i = 0; i < n; i++) {
    aggr_entry *e = aggr_series_at(s->series, i);
    q_series *qs = (q_series *)e->payload;
    tower_metric *out = aggr_series_metric(e, TOWER_TIME_UNSET);
    int rc = out ? 0 : -ENOMEM;
    for (size_t j = 0; rc == 0 && j < qs->n; j++)
      if (qs->f[j].seen)
        rc = put_quantiles(s, &qs->f[j], out);
    if (rc == 0 && tower_metric_field_count(out) == 0) {
      tower_metric_free(out); /* nothing in this window */
      continue;
    }
    if (rc) {
      tower_metric_free(out);
      return rc;
    }
    if (tower_acc_add(acc, out))
      return -ENOMEM;
  }
  return 0;
}

static void q_reset(void *state) {
  q_state *s = state;
  size_t n = aggr_series_len(s->series);
  for (size_t i = 0; i < n; i++) {
    q_series *qs = (q_series *)aggr_series_at(s->series, i)->payload;
    for (size_t j = 0; j < qs->n; j++) {
      qs->f[j].seen = false;
      qs->f[j].n = 0;
      td_clear(&qs->f[j].td);
    }
  }
  aggr_series_sweep_idle(s->series);
  aggr_series_report(s->series, s->ctx);
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_AGGREGATOR),
    .name = "quantile",
    .description = "quantiles of fields per period (t-digest or exact)",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = q_init,
    .destroy = q_destroy,
    .add = q_add,
    .push = q_push,
    .reset = q_reset,
};

TOWER_PLUGIN_ENTRY(plugin)
