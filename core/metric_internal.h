/* Metric functions for the core and the built-in formats (not in the SDK). */
#ifndef TOWER_METRIC_INTERNAL_H
#define TOWER_METRIC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <tower/metric.h>

/* A metric sized up front for `ntags` tags, `nfields` fields and `str_bytes`
 * bytes of strings (keys, values, each plus a NUL), so that a parser that
 * knows the line builds it with one allocation. name need not be
 * NUL-terminated. */
tower_metric *twi_metric_new_sized(const char *name, size_t name_len, int64_t time_ns, size_t ntags,
                                   size_t nfields, size_t str_bytes);

/* Adds a numeric/bool field from its raw 64-bit representation (the bits of
 * a double for FLOAT). Key need not be NUL-terminated. */
int twi_metric_add_field_n(tower_metric *m, const char *key, size_t klen, tower_field_type type,
                           uint64_t raw);

/* Repacks an unshared metric into one exact-size block when that saves
 * memory; *pm may change. Called when a metric enters the output buffers. */
int twi_metric_pack(tower_metric **pm);

/* Bytes the metric occupies on the heap (without allocator overhead). */
size_t twi_metric_bytes(const tower_metric *m);

void twi_metric_set_gather_id(tower_metric *m, uint64_t id);

#endif
