/* ABI test fixtures: one plugin source built into several .so files, each
 * broken in one way selected by FIXTURE_* (see tests/abi/Makefile.inc). The
 * loader test checks that each gets its own, exact message. */
#include <errno.h>
#include <stddef.h>

#include <tower/tower.h>

#ifndef FIXTURE_NAME
#define FIXTURE_NAME "good"
#endif

static const tower_option options[] = {
#ifdef FIXTURE_BAD_OPTIONS
    {.name = "interval", .type = TOWER_OPT_DURATION, .help = "clashes with a common option"},
#endif
    {.name = "greeting", .type = TOWER_OPT_STRING, .default_value = "hello", .help = "a word"},
    TOWER_OPTION_END,
};

static int fixture_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  (void)ctx;
#ifdef FIXTURE_INIT_FAILS
  (void)state;
  return tower_config_error(cfg, tower_config_setting(cfg, "greeting"),
                            "the fixture refuses to start");
#else
  *state = (void *)tower_config_string(cfg, "greeting");
  return 0;
#endif
}

#ifdef FIXTURE_UNRESOLVED
/* Defined nowhere: dlopen(RTLD_NOW) must refuse the file. */
void tower_fixture_missing_function(void);
#endif

static int fixture_gather(void *state, tower_acc *acc) {
#ifdef FIXTURE_UNRESOLVED
  tower_fixture_missing_function();
#endif
  tower_metric *m = tower_metric_new("fixture", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  tower_metric_add_tag(m, "greeting", state);
  tower_metric_add_int(m, "value", 1);
  return tower_acc_add(acc, m);
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
#ifdef FIXTURE_MAJOR
    .abi_major = FIXTURE_MAJOR,
#endif
#ifdef FIXTURE_MINOR
    .abi_minor = FIXTURE_MINOR,
#endif
#ifdef FIXTURE_TRUNCATED
    .struct_size = offsetof(tower_plugin, gather),
#endif
#ifdef FIXTURE_MAGIC
    .magic = FIXTURE_MAGIC,
#endif
    .name = FIXTURE_NAME,
    .description = "ABI test fixture",
    .version = "1.0",
    .options = options,
    .init = fixture_init,
    .gather = fixture_gather,
};

#ifdef FIXTURE_NO_ENTRY
/* Exports something, just not the entry point. */
__attribute__((visibility("default"))) const tower_plugin *not_the_entry(void);
const tower_plugin *not_the_entry(void) {
  return &plugin;
}
#else
TOWER_PLUGIN_ENTRY(plugin)
#endif
