/* aggregators.histogram: counts of field values per bucket, per series, as
 * Telegraf's histogram: a metric per bucket with the tag `le` (cumulative,
 * the default) or `gt` and `le` (ordinary histogram), and the field
 * <field>_bucket. Counts keep growing across periods unless `reset`. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "series.h"

typedef struct hist_cfg {
  const char *measurement;
  const tower_config *block; /* for its `fields` */
  size_t nfields;
  double *bounds; /* ascending right borders; +Inf is implicit */
  size_t nb;
  char (*labels)[32]; /* the bounds as tag values */
} hist_cfg;

typedef struct hist_field {
  char *name;  /* <field>_bucket */
  size_t klen; /* length of <field> */
  const hist_cfg *cfg;
  uint64_t *counts; /* nb + 1, the last one +Inf; per bucket, not cumulative */
  bool updated;     /* since the last push */
} hist_field;

typedef struct hist_series {
  hist_field *f;
  size_t n, cap;
  int64_t last_update; /* time of the newest metric counted */
} hist_series;

typedef struct hist_state {
  tower_ctx *ctx;
  hist_cfg *cfgs;
  size_t ncfgs;
  bool reset, cumulative, only_updated;
  int64_t expiration;
  aggr_series *series;
  int64_t now; /* the push's time, for the expiry sweep */
} hist_state;

static const tower_option config_children[] = {
    {.name = "buckets",
     .type = TOWER_OPT_ANY,
     .flags = TOWER_OPT_REQUIRED,
     .help = "right borders of the buckets, ascending numbers (+Inf is added)"},
    {.name = "measurement_name",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_REQUIRED,
     .help = "the measurement whose fields are counted"},
    {.name = "fields",
     .type = TOWER_OPT_STRINGS,
     .help = "the fields to count (default: every numeric field)"},
    TOWER_OPTION_END,
};

static const tower_option options[] = {
    {.name = "reset",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "start the counts again after every push"},
    {.name = "cumulative",
     .type = TOWER_OPT_BOOL,
     .default_value = "true",
     .help = "count a value in its bucket and every larger one (tag le); false: in its bucket "
             "only (tags gt and le)"},
    {.name = "expiration_interval",
     .type = TOWER_OPT_DURATION,
     .default_value = "0s",
     .min = "0s",
     .help = "forget a series whose counts did not change for this long (0s: never)"},
    {.name = "push_only_on_update",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "push a histogram only when it counted something since the last push"},
    {.name = "config",
     .type = TOWER_OPT_GROUPS,
     .flags = TOWER_OPT_REQUIRED,
     .children = config_children,
     .help = "( { buckets = [...]; measurement_name = \"cpu\"; fields = [...]; }, ... )"},
    AGGR_MAX_SERIES_OPTION,
    TOWER_OPTION_END,
};

/* The shortest decimal that reads back as `v`, with at least one decimal
 * ("10.0", "15.6"), as Telegraf's le tags read. */
static void format_bound(double v, char out[32]) {
  for (int p = 1; p <= 17; p++) {
    snprintf(out, 32, "%.*f", p, v);
    if (strtod(out, NULL) == v)
      return;
  }
}

static int read_bounds(const tower_config *block, hist_cfg *c) {
  const tower_setting *b = tower_config_setting(block, "buckets");
  size_t n = tower_setting_len(b);
  if (!aggr_is_sequence(b) || n == 0)
    return tower_config_error(block, b, "buckets must be an array of numbers, [0.0, 10.0, 50.0]");
  c->bounds = calloc(n, sizeof *c->bounds);
  c->labels = calloc(n, sizeof *c->labels);
  if (!c->bounds || !c->labels)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const tower_setting *e = tower_setting_at(b, i);
    tower_setting_type k = tower_setting_kind(e);
    if (k != TOWER_SETTING_INT && k != TOWER_SETTING_FLOAT)
      return tower_config_error(block, b, "buckets must be numbers; element %zu is not", i + 1);
    double v = k == TOWER_SETTING_INT ? (double)tower_setting_int(e) : tower_setting_float(e);
    if (!isfinite(v) || (i > 0 && v <= c->bounds[i - 1]))
      return tower_config_error(block, b,
                                "buckets must be finite and strictly ascending; %g after %g", v,
                                i ? c->bounds[i - 1] : v);
    c->bounds[i] = v;
    format_bound(v, c->labels[i]);
  }
  c->nb = n;
  return 0;
}

static int read_configs(hist_state *s, const tower_config *cfg) {
  const tower_setting *list = tower_config_setting(cfg, "config");
  s->ncfgs = tower_setting_len(list);
  if (!(s->cfgs = calloc(s->ncfgs, sizeof *s->cfgs)))
    return -ENOMEM;
  for (size_t i = 0; i < s->ncfgs; i++) {
    const tower_config *block = tower_setting_config(tower_setting_at(list, i));
    hist_cfg *c = &s->cfgs[i];
    c->block = block;
    c->measurement = tower_config_string(block, "measurement_name");
    c->nfields = tower_config_strings_len(block, "fields");
    int rc = read_bounds(block, c);
    if (rc)
      return rc;
  }
  return 0;
}

static void series_fini(void *payload) {
  hist_series *hs = payload;
  for (size_t i = 0; i < hs->n; i++) {
    free(hs->f[i].name);
    free(hs->f[i].counts);
  }
  free(hs->f);
}

static void hist_destroy(void *state) {
  hist_state *s = state;
  aggr_series_free(s->series);
  for (size_t i = 0; s->cfgs && i < s->ncfgs; i++) {
    free(s->cfgs[i].bounds);
    free(s->cfgs[i].labels);
  }
  free(s->cfgs);
  free(s);
}

static int hist_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  hist_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->reset = tower_config_bool(cfg, "reset");
  s->cumulative = tower_config_bool(cfg, "cumulative");
  s->only_updated = tower_config_bool(cfg, "push_only_on_update");
  s->expiration = tower_config_duration(cfg, "expiration_interval");
  int rc = read_configs(s, cfg);
  if (rc == 0 &&
      !(s->series = aggr_series_new(sizeof(hist_series),
                                    (size_t)tower_config_int(cfg, "max_series"), series_fini)))
    rc = -ENOMEM;
  if (rc) {
    hist_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

/* ---- counting ---- */

static bool cfg_takes(const hist_cfg *c, const char *field) {
  if (c->nfields == 0)
    return true;
  for (size_t i = 0; i < c->nfields; i++)
    if (strcmp(tower_config_strings_at(c->block, "fields", i), field) == 0)
      return true;
  return false;
}

/* The first config for field `field` of measurement `name`, or NULL. */
static const hist_cfg *cfg_for(const hist_state *s, const char *name, const char *field) {
  for (size_t i = 0; i < s->ncfgs; i++)
    if (strcmp(s->cfgs[i].measurement, name) == 0 && (!field || cfg_takes(&s->cfgs[i], field)))
      return &s->cfgs[i];
  return NULL;
}

static hist_field *field_of(hist_series *hs, const char *field, const hist_cfg *c) {
  size_t klen = strlen(field);
  for (size_t i = 0; i < hs->n; i++)
    if (hs->f[i].cfg == c && hs->f[i].klen == klen && strncmp(hs->f[i].name, field, klen) == 0)
      return &hs->f[i];
  if (hs->n == hs->cap) {
    size_t cap = hs->cap ? hs->cap * 2 : 4;
    hist_field *f = realloc(hs->f, cap * sizeof *f);
    if (!f)
      return NULL;
    hs->f = f;
    hs->cap = cap;
  }
  hist_field *f = &hs->f[hs->n];
  f->cfg = c;
  f->klen = klen;
  f->updated = false;
  f->counts = calloc(c->nb + 1, sizeof *f->counts);
  f->name = malloc(strlen(field) + sizeof "_bucket");
  if (!f->counts || !f->name) {
    free(f->counts);
    free(f->name);
    return NULL;
  }
  strcpy(f->name, field);
  strcat(f->name, "_bucket");
  hs->n++;
  return f;
}

/* Index of the bucket of v: the first border >= v, else +Inf. */
static size_t bucket_of(const hist_cfg *c, double v) {
  size_t lo = 0, hi = c->nb;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (c->bounds[mid] < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static int hist_add(void *state, const tower_metric *m) {
  hist_state *s = state;
  const char *name = tower_metric_name(m);
  if (!cfg_for(s, name, NULL))
    return 0; /* no histogram for this measurement */
  bool nomem;
  aggr_entry *e = aggr_series_get(s->series, m, &nomem);
  if (!e)
    return nomem ? -ENOMEM : 0;
  hist_series *hs = (hist_series *)e->payload;
  size_t n = tower_metric_field_count(m);
  for (size_t i = 0; i < n; i++) {
    double v;
    const char *key = tower_metric_field_key(m, i);
    const hist_cfg *c = cfg_for(s, name, key);
    if (!c || !tower_metric_field_number(m, i, &v) || isnan(v))
      continue;
    hist_field *f = field_of(hs, key, c);
    if (!f)
      return -ENOMEM;
    f->counts[bucket_of(c, v)]++;
    f->updated = true;
    hs->last_update = tower_metric_time(m);
  }
  return 0;
}

/* ---- pushing ---- */

/* The metric of bucket b of the fields of `hs` that use config c. */
static tower_metric *bucket_metric(const hist_state *s, const aggr_entry *e, const hist_cfg *c,
                                   size_t b) {
  const hist_series *hs = (const hist_series *)e->payload;
  tower_metric *m = aggr_series_metric(e, TOWER_TIME_UNSET);
  if (!m)
    return NULL;
  int rc = tower_metric_add_tag(m, "le", b < c->nb ? c->labels[b] : "+Inf");
  if (rc == 0 && !s->cumulative)
    rc = tower_metric_add_tag(m, "gt", b > 0 ? c->labels[b - 1] : "-Inf");
  for (size_t i = 0; rc == 0 && i < hs->n; i++) {
    const hist_field *f = &hs->f[i];
    if (f->cfg != c || (s->only_updated && !f->updated))
      continue;
    uint64_t count = f->counts[b];
    for (size_t j = 0; s->cumulative && j < b; j++)
      count += f->counts[j];
    rc = tower_metric_add_int(m, f->name, (int64_t)count);
  }
  if (rc) {
    tower_metric_free(m);
    return NULL;
  }
  return m; /* push_series checked that some field uses c */
}

static bool series_uses(const hist_series *hs, const hist_cfg *c, bool only_updated) {
  for (size_t i = 0; i < hs->n; i++)
    if (hs->f[i].cfg == c && (!only_updated || hs->f[i].updated))
      return true;
  return false;
}

static int push_series(const hist_state *s, const aggr_entry *e, tower_acc *acc) {
  const hist_series *hs = (const hist_series *)e->payload;
  for (size_t ci = 0; ci < s->ncfgs; ci++) {
    const hist_cfg *c = &s->cfgs[ci];
    if (!series_uses(hs, c, s->only_updated))
      continue;
    for (size_t b = 0; b <= c->nb; b++) {
      tower_metric *m = bucket_metric(s, e, c, b);
      if (!m || tower_acc_add(acc, m))
        return -ENOMEM;
    }
  }
  return 0;
}

static bool expired(aggr_entry *e, void *ud) {
  const hist_state *s = ud;
  return s->now - ((const hist_series *)e->payload)->last_update > s->expiration;
}

static int hist_push(void *state, tower_acc *acc) {
  hist_state *s = state;
  s->now = tower_acc_time(acc);
  if (s->expiration > 0)
    aggr_series_sweep(s->series, expired, s);
  size_t n = aggr_series_len(s->series);
  for (size_t i = 0; i < n; i++)
    if (push_series(s, aggr_series_at(s->series, i), acc))
      return -ENOMEM;
  return 0;
}

static void hist_reset(void *state) {
  hist_state *s = state;
  size_t n = aggr_series_len(s->series);
  for (size_t i = 0; i < n; i++) {
    hist_series *hs = (hist_series *)aggr_series_at(s->series, i)->payload;
    for (size_t j = 0; j < hs->n; j++) {
      hs->f[j].updated = false;
      if (s->reset)
        memset(hs->f[j].counts, 0, (hs->f[j].cfg->nb + 1) * sizeof *hs->f[j].counts);
    }
  }
  if (s->reset)
    aggr_series_sweep_idle(s->series);
  aggr_series_report(s->series, s->ctx);
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_AGGREGATOR),
    .name = "histogram",
    .description = "counts of field values per bucket",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = hist_init,
    .destroy = hist_destroy,
    .add = hist_add,
    .push = hist_push,
    .reset = hist_reset,
};

TOWER_PLUGIN_ENTRY(plugin)
