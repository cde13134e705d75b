/* aggregators.basicstats: count, min, max, mean, stdev, s2, sum, diff,
 * non_negative_diff, rate, non_negative_rate, percent_change, interval and
 * last of every numeric field per series and period, named
 * <field>_<stat> as in Telegraf. */
#include <errno.h>
#include <stdlib.h>

#include <tower/tower.h>

#include "fieldstats.h"
#include "series.h"

static const tower_option options[] = {
    {.name = "stats",
     .type = TOWER_OPT_STRINGS,
     .default_value = "count,min,max,mean,stdev,s2",
     .help = "which stats to push: count, min, max, mean, stdev, s2 (or variance), sum, diff, "
             "non_negative_diff, rate, non_negative_rate, percent_change, interval, last"},
    AGGR_MAX_SERIES_OPTION,
    TOWER_OPTION_END,
};

/* The stats list as a mask; -EINVAL (reported) for an unknown name. */
static int read_stats(const tower_config *cfg, unsigned *mask) {
  *mask = 0;
  size_t n = tower_config_strings_len(cfg, "stats");
  for (size_t i = 0; i < n; i++) {
    const char *name = tower_config_strings_at(cfg, "stats", i);
    unsigned bit = fs_stat_parse(name);
    if (!bit)
      return tower_config_error(cfg, tower_config_setting(cfg, "stats"),
                                "unknown stat \"%s\"; the stats are count, min, max, mean, "
                                "stdev, s2, sum, diff, non_negative_diff, rate, "
                                "non_negative_rate, percent_change, interval and last",
                                name);
    *mask |= bit;
  }
  return 0;
}

static int bs_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  unsigned mask;
  int rc = read_stats(cfg, &mask);
  if (rc)
    return rc;
  fs_agg *a = fs_agg_new(ctx, mask, (size_t)tower_config_int(cfg, "max_series"));
  if (!a)
    return -ENOMEM;
  *state = a;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_AGGREGATOR),
    .name = "basicstats",
    .description = "count, min, max, mean, stdev, s2, sum, diff, rate... of fields per period",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = bs_init,
    .destroy = fs_agg_free,
    .add = fs_agg_add,
    .push = fs_agg_push,
    .reset = fs_agg_reset,
};

TOWER_PLUGIN_ENTRY(plugin)
