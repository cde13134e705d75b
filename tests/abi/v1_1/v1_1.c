/* A processor built against the frozen ABI 1.1 headers (include/tower/):
 * it tags every metric abi=1.1 and "greeting" from its option, and passes
 * it on. Its descriptor ends at `write`, before the 1.2 aggregator
 * callbacks. */
#include <errno.h>

#include <tower/tower.h>

#if TOWER_ABI_MAJOR != 1 || TOWER_ABI_MINOR != 1
#error "the v1_1 fixture must be built against the frozen ABI 1.1 headers"
#endif

static const tower_option options[] = {
    {.name = "greeting", .type = TOWER_OPT_STRING, .default_value = "hello", .help = "a word"},
    TOWER_OPTION_END,
};

static int v11_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  (void)ctx;
  *state = (void *)tower_config_string(cfg, "greeting");
  return 0;
}

static int v11_process(void *state, tower_metric *m, tower_acc *next) {
  int rc = tower_metric_add_tag(m, "abi", "1.1");
  if (rc == 0)
    rc = tower_metric_add_tag(m, "greeting", state);
  tower_acc_add(next, m);
  return rc;
}

#ifdef V11_AGGREGATOR
/* An aggregator (kind 4) claimed by a 1.1 descriptor, which has no room
 * for the aggregator callbacks: the loader must refuse it. */
#define V11_KIND 4
#define V11_NAME "v1_1_aggr"
#else
#define V11_KIND TOWER_PROCESSOR
#define V11_NAME "v1_1"
#endif

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(V11_KIND),
    .name = V11_NAME,
    .description = "ABI 1.1 fixture",
    .version = "1.1",
    .options = options,
    .init = v11_init,
    .process = v11_process,
};

TOWER_PLUGIN_ENTRY(plugin)
