/* Plurals in log and error messages: an operator reads "1 metric" and
 * "2 metrics", never "metric(s)" (tests/lint/plurals.sh keeps it so).
 *   tower_warn(ctx, "%zu metric%s dropped", n, plural_s(n));
 * Irregular words take both forms at the call site:
 *   n == 1 ? "entry" : "entries".
 *
 * Header-only, like plugins/common/check: shared by the in-tree plugins, not
 * part of the public SDK (the core has twi_s in core/log_internal.h). */
#ifndef TOWER_PLURAL_H
#define TOWER_PLURAL_H

/* "s" unless n is 1. */
static inline const char *plural_s(unsigned long long n) {
  return n == 1 ? "" : "s";
}

/* "es" unless n is 1: "process%s". */
static inline const char *plural_es(unsigned long long n) {
  return n == 1 ? "" : "es";
}

#endif
