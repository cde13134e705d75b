/* inputs.internal: the agent's own metrics, with the names of Telegraf's
 * inputs.internal (internal_agent, internal_gather, internal_write) plus
 * internal_process. The counting happens in the core; see
 * tower_agent_stats() in <tower/plugin.h>. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include <tower/tower.h>

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

static const tower_option options[] = {
    {.name = "collect_process",
     .type = TOWER_OPT_BOOL,
     .default_value = "true",
     .help = "also report internal_process: resident memory, CPU time, threads, open files"},
    TOWER_OPTION_END,
};

/* The state is just the flags: no allocation needed. */
static int internal_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  (void)ctx;
  *state = (void *)(uintptr_t)(tower_config_bool(cfg, "collect_process") ? TOWER_STATS_PROCESS : 0);
  return 0;
}

static int internal_gather(void *state, tower_acc *acc) {
  return tower_agent_stats(acc, (unsigned)(uintptr_t)state);
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "internal",
    .description = "the agent's own metrics: gathers, writes, buffers, process",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = internal_init,
    .gather = internal_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
