/* Shared by the benchmarks: a monotonic clock and a pipeline built from
 * config text the way the agent builds it. */
#ifndef TOWER_BENCH_UTIL_H
#define TOWER_BENCH_UTIL_H

#include <tower/format.h>

#include "pipeline.h"

/* Monotonic seconds. */
double bench_now(void);
/* Builds and initializes a TWI_ONCE pipeline from `text` with the plugins of
 * TOWER_PLUGIN_DIR; exits with the diagnostics when the text is rejected. */
twi_pipeline *bench_pipeline(const char *text);

/* Prints "<program>: <what>" on stderr and exits 1. */
void bench_die(const char *what) __attribute__((noreturn));
/* The column heads of bench_report's table. */
void bench_report_header(void);
/* One row of a throughput table: ns per operation, operations per
 * second, and MB/s of text when `bytes_per_op` > 0. */
void bench_report(const char *name, double seconds, double ops, double bytes_per_op);
/* Serializes `m` with `s` for at least `min_seconds`, then reports. */
void bench_serializer(const char *name, tower_serializer *s, const tower_metric *m,
                      double min_seconds);

#endif
