/* aggregators.minmax: the minimum and maximum of every numeric field per
 * series and period, as <field>_min and <field>_max (Telegraf's minmax). */
#include <errno.h>

#include <tower/tower.h>

#include "fieldstats.h"
#include "series.h"

static const tower_option options[] = {
    AGGR_MAX_SERIES_OPTION,
    TOWER_OPTION_END,
};

static int mm_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  fs_agg *a = fs_agg_new(ctx, FS_MIN | FS_MAX, (size_t)tower_config_int(cfg, "max_series"));
  if (!a)
    return -ENOMEM;
  *state = a;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_AGGREGATOR),
    .name = "minmax",
    .description = "minimum and maximum of fields per period",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = mm_init,
    .destroy = fs_agg_free,
    .add = fs_agg_add,
    .push = fs_agg_push,
    .reset = fs_agg_reset,
};

TOWER_PLUGIN_ENTRY(plugin)
