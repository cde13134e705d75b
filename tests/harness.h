/* Test harness: drives the core synchronously (no sleeps): build a pipeline
 * from config text, gather every input once, flush every output. Plugins come
 * from TOWER_PLUGIN_DIR, which the test environment points at the build
 * tree's plugins and the fixtures (tests/fixtures). */
#ifndef TOWER_TEST_HARNESS_H
#define TOWER_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

#include "pipeline.h"

/* Writes `text` to a temporary file (so messages carry file:line) and builds
 * a pipeline. NULL on failure, with the diagnostics in *errors (malloc'd;
 * may be NULL) when errors is not NULL. */
twi_pipeline *th_build(const char *text, twi_mode mode, char **errors);
/* th_build + init; fails the test on any problem. */
twi_pipeline *th_start(const char *text, twi_mode mode);
/* Every input gathers once (synchronously, processors included). Returns the
 * number of gather errors. */
int th_gather(twi_pipeline *pl);
/* Writes everything buffered, synchronously. Returns the number of metrics
 * left unwritten or dropped. */
size_t th_flush(twi_pipeline *pl);
void th_free(twi_pipeline *pl);

/* A new temporary directory (malloc'd path). */
char *th_tmpdir(void);
/* rm -rf */
void th_rmrf(const char *path);
/* The whole file (malloc'd, NUL-terminated) or NULL. */
char *th_read_file(const char *path);
int th_write_file(const char *path, const char *text);
/* printf into a malloc'd string. */
char *th_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses line protocol into metrics (fails the test on a parse error). */
size_t th_parse(const char *lines, tower_metric ***out);
void th_free_metrics(tower_metric **ms, size_t n);

#endif
