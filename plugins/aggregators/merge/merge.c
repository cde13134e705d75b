/* aggregators.merge: metrics of one series (name and tags) with the same
 * time become one metric with all their fields, as Telegraf's merge (a
 * field seen twice keeps the later value). Set drop_original = true, as
 * Telegraf's sample configuration does, or the outputs get the parts too.
 *
 * A series keeps its merged metrics in a small array reused from window
 * to window: a metric costs no allocation unless it starts a new time. */
#include <errno.h>
#include <stdlib.h>

#include <tower/tower.h>

#include "series.h"

typedef struct {
  tower_metric **m; /* one per distinct time in this window, in arrival order */
  size_t n, cap;
} merge_series;

typedef struct {
  tower_ctx *ctx;
  aggr_series *series;
  int64_t round_to;
} merge_state;

static const tower_option options[] = {
    {.name = "round_timestamp_to",
     .type = TOWER_OPT_DURATION,
     .default_value = "0s",
     .min = "0s",
     .help = "round times down to a multiple of this before comparing them (0s: exact)"},
    AGGR_MAX_SERIES_OPTION,
    TOWER_OPTION_END,
};

static void series_drop_metrics(merge_series *ms) {
  for (size_t i = 0; i < ms->n; i++)
    tower_metric_free(ms->m[i]);
  ms->n = 0;
}

static void series_fini(void *payload) {
  merge_series *ms = payload;
  series_drop_metrics(ms);
  free(ms->m);
}

static int merge_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  merge_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->round_to = tower_config_duration(cfg, "round_timestamp_to");
  s->series = aggr_series_new(sizeof(merge_series), (size_t)tower_config_int(cfg, "max_series"),
                              series_fini);
  if (!s->series) {
    free(s);
    return -ENOMEM;
  }
  *state = s;
  return 0;
}

static void merge_destroy(void *state) {
  merge_state *s = state;
  aggr_series_free(s->series);
  free(s);
}

static int64_t rounded(const merge_state *s, int64_t t) {
  if (s->round_to <= 1)
    return t;
  int64_t r = t % s->round_to;
  return t - (r < 0 ? r + s->round_to : r);
}

/* The merged metric of time t, made when new. */
static tower_metric *slot(merge_series *ms, const tower_metric *like, int64_t t) {
  for (size_t i = 0; i < ms->n; i++)
    if (tower_metric_time(ms->m[i]) == t)
      return ms->m[i];
  if (ms->n == ms->cap) {
    size_t cap = ms->cap ? ms->cap * 2 : 2;
    tower_metric **v = realloc(ms->m, cap * sizeof *v);
    if (!v)
      return NULL;
    ms->m = v;
    ms->cap = cap;
  }
  tower_metric *m = tower_metric_new(tower_metric_name(like), t);
  if (m)
    ms->m[ms->n++] = m;
  return m;
}

static int merge_add(void *state, const tower_metric *m) {
  merge_state *s = state;
  bool nomem;
  aggr_entry *e = aggr_series_get(s->series, m, &nomem);
  if (!e)
    return nomem ? -ENOMEM : 0;
  tower_metric *into = slot((merge_series *)e->payload, m, rounded(s, tower_metric_time(m)));
  if (!into)
    return -ENOMEM;
  size_t n = tower_metric_field_count(m);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = aggr_copy_field(into, tower_metric_field_key(m, i), m, i);
  return rc;
}

/* One merged metric: the series' name and tags, its time and fields. */
static tower_metric *merged(const aggr_entry *e, const tower_metric *fields) {
  tower_metric *out = aggr_series_metric(e, tower_metric_time(fields));
  size_t n = tower_metric_field_count(fields);
  for (size_t k = 0; out && k < n; k++)
    if (aggr_copy_field(out, tower_metric_field_key(fields, k), fields, k)) {
      tower_metric_free(out);
      return NULL;
    }
  return out;
}

static int merge_push(void *state, tower_acc *acc) {
  merge_state *s = state;
  size_t n = aggr_series_len(s->series);
  for (size_t i = 0; i < n; i++) {
    aggr_entry *e = aggr_series_at(s->series, i);
    merge_series *ms = (merge_series *)e->payload;
    for (size_t j = 0; j < ms->n; j++) {
      tower_metric *out = merged(e, ms->m[j]);
      if (!out || tower_acc_add(acc, out))
        return -ENOMEM;
    }
  }
  return 0;
}

static void merge_reset(void *state) {
  merge_state *s = state;
  size_t n = aggr_series_len(s->series);
  for (size_t i = 0; i < n; i++)
    series_drop_metrics((merge_series *)aggr_series_at(s->series, i)->payload);
  aggr_series_sweep_idle(s->series);
  aggr_series_report(s->series, s->ctx);
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_AGGREGATOR),
    .name = "merge",
    .description = "merge the fields of metrics of one series and time",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = merge_init,
    .destroy = merge_destroy,
    .add = merge_add,
    .push = merge_push,
    .reset = merge_reset,
};

TOWER_PLUGIN_ENTRY(plugin)
