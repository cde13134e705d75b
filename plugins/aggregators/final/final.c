/* aggregators.final: the last metric of each series, with its own time,
 * fields renamed <field>_final (Telegraf's final). output_strategy
 * "timeout" pushes a series once it got nothing for series_timeout;
 * "periodic" pushes the last metric of every series at every period.
 *
 * The latest metric of a series is kept by overwriting one private copy
 * per series, so taking a metric allocates nothing once its series and
 * fields are known. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "series.h"

typedef struct {
  tower_ctx *ctx;
  aggr_series *series;
  int64_t timeout;
  bool periodic, keep_names;
  int64_t now; /* the push's time, for the sweep */
} final_state;

typedef struct {
  tower_metric *last; /* the latest metric's fields and time */
} final_series;

static const tower_option options[] = {
    {.name = "series_timeout",
     .type = TOWER_OPT_DURATION,
     .default_value = "5m",
     .min = "0s",
     .help = "a series that got nothing for this long is final and pushed (output_strategy "
             "\"timeout\")"},
    {.name = "output_strategy",
     .type = TOWER_OPT_ENUM,
     .default_value = "timeout",
     .choices = "timeout|periodic",
     .help = "timeout: push a series once it ended; periodic: push every series' last metric "
             "at every period"},
    {.name = "keep_original_field_names",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "push fields under their own names instead of <field>_final"},
    AGGR_MAX_SERIES_OPTION,
    TOWER_OPTION_END,
};

static void series_fini(void *payload) {
  tower_metric_free(((final_series *)payload)->last);
}

static int final_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  final_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->timeout = tower_config_duration(cfg, "series_timeout");
  s->periodic = strcmp(tower_config_string(cfg, "output_strategy"), "periodic") == 0;
  s->keep_names = tower_config_bool(cfg, "keep_original_field_names");
  s->series = aggr_series_new(sizeof(final_series), (size_t)tower_config_int(cfg, "max_series"),
                              series_fini);
  if (!s->series) {
    free(s);
    return -ENOMEM;
  }
  *state = s;
  return 0;
}

static void final_destroy(void *state) {
  final_state *s = state;
  aggr_series_free(s->series);
  free(s);
}

/* Makes `keep` hold exactly m's fields and time: the fields m lacks go. */
static int overwrite(tower_metric *keep, const tower_metric *m) {
  for (size_t i = tower_metric_field_count(keep); i-- > 0;)
    if (tower_metric_field_index(m, tower_metric_field_key(keep, i)) < 0)
      tower_metric_remove_field(keep, tower_metric_field_key(keep, i));
  int rc = tower_metric_set_time(keep, tower_metric_time(m));
  size_t n = tower_metric_field_count(m);
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = aggr_copy_field(keep, tower_metric_field_key(m, i), m, i);
  return rc;
}

static int final_add(void *state, const tower_metric *m) {
  final_state *s = state;
  bool nomem;
  aggr_entry *e = aggr_series_get(s->series, m, &nomem);
  if (!e)
    return nomem ? -ENOMEM : 0;
  final_series *fs = (final_series *)e->payload;
  if (!fs->last && !(fs->last = tower_metric_new(tower_metric_name(m), tower_metric_time(m))))
    return -ENOMEM;
  return overwrite(fs->last, m);
}

/* The series' last metric as pushed: its time, fields renamed. */
static tower_metric *final_metric(const final_state *s, const aggr_entry *e) {
  const tower_metric *last = ((const final_series *)e->payload)->last;
  tower_metric *m = aggr_series_metric(e, tower_metric_time(last));
  size_t n = tower_metric_field_count(last);
  for (size_t i = 0; m && i < n; i++) {
    const char *key = tower_metric_field_key(last, i);
    char name[512];
    if ((size_t)snprintf(name, sizeof name, s->keep_names ? "%s" : "%s_final", key) >= sizeof name)
      continue;
    if (aggr_copy_field(m, name, last, i)) {
      tower_metric_free(m);
      return NULL;
    }
  }
  return m;
}

static bool is_final(const final_state *s, const aggr_entry *e) {
  const final_series *fs = (const final_series *)e->payload;
  return fs->last && (s->periodic || s->now - tower_metric_time(fs->last) > s->timeout);
}

static bool pushed(aggr_entry *e, void *ud) {
  return is_final(ud, e);
}

static int final_push(void *state, tower_acc *acc) {
  final_state *s = state;
  s->now = tower_acc_time(acc); /* the window's end */
  size_t n = aggr_series_len(s->series);
  for (size_t i = 0; i < n; i++) {
    aggr_entry *e = aggr_series_at(s->series, i);
    if (!is_final(s, e))
      continue;
    tower_metric *m = final_metric(s, e);
    if (!m || tower_acc_add(acc, m))
      return -ENOMEM;
  }
  /* What was pushed is forgotten; a timeout series that comes back is a
   * new contiguous series. */
  aggr_series_sweep(s->series, pushed, s);
  aggr_series_report(s->series, s->ctx);
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_AGGREGATOR),
    .name = "final",
    .description = "the last metric of each series",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = final_init,
    .destroy = final_destroy,
    .add = final_add,
    .push = final_push,
};

TOWER_PLUGIN_ENTRY(plugin)
