/* Shared by the benchmarks: a monotonic clock and a pipeline built from
 * config text the way the agent builds it. */
#ifndef TOWER_BENCH_UTIL_H
#define TOWER_BENCH_UTIL_H

#include "pipeline.h"

/* Monotonic seconds. */
double bench_now(void);
/* Builds and initializes a TWI_ONCE pipeline from `text` with the plugins of
 * TOWER_PLUGIN_DIR; exits with the diagnostics when the text is rejected. */
twi_pipeline *bench_pipeline(const char *text);

#endif
