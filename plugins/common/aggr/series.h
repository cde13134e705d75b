/* What the aggregators share: a table of series (a measurement name and
 * its tags) with a payload per series, bounded by `max_series`.
 *
 * Looking a metric's series up allocates nothing: the hash and the
 * comparison walk the metric's name and tags directly. A new series costs
 * one allocation (the entry and its payload) plus a name-and-tags metric
 * kept to stamp the summaries. Entries keep the order in which their
 * series first came, so summaries come out in a stable order.
 */
#ifndef TOWER_AGGR_SERIES_H
#define TOWER_AGGR_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tower/tower.h>

/* The option every aggregator declares (in its option table). */
#define AGGR_MAX_SERIES_OPTION                                                                     \
  {                                                                                                \
    .name = "max_series", .type = TOWER_OPT_INT, .default_value = "100000", .min = "1",            \
    .help = "most series held at once; metrics of further series are refused (counted in "         \
            "internal_aggregate metrics_refused, logged once per push)"                            \
  }

typedef struct aggr_entry {
  struct aggr_entry *chain; /* next in the hash bucket */
  uint64_t hash;
  tower_metric *proto; /* the name and tags, no fields */
  bool active;         /* took a metric since the last aggr_series_sweep_idle */
  max_align_t payload[];
} aggr_entry;

typedef struct aggr_series aggr_series;

/* A table whose entries carry `payload_size` zeroed bytes; `fini` (may be
 * NULL) frees what a payload points to. NULL on ENOMEM. */
aggr_series *aggr_series_new(size_t payload_size, size_t max_series, void (*fini)(void *payload));
void aggr_series_free(aggr_series *t);

/* The entry of m's series, created when new and there is room, marked
 * active. NULL when the table is full (the metric is counted as refused)
 * or memory ran out (*nomem set). */
aggr_entry *aggr_series_get(aggr_series *t, const tower_metric *m, bool *nomem);

size_t aggr_series_len(const aggr_series *t);
/* Entry i (i < len) in order of first arrival. */
aggr_entry *aggr_series_at(const aggr_series *t, size_t i);

/* Removes the entries for which drop(e, ud) is true, keeping the order. */
void aggr_series_sweep(aggr_series *t, bool (*drop)(aggr_entry *e, void *ud), void *ud);
/* Removes the entries that took no metric since the previous call, then
 * marks all as idle: memory follows the series of the last two windows. */
void aggr_series_sweep_idle(aggr_series *t);
void aggr_series_clear(aggr_series *t);

/* A new metric with the entry's name and tags and time `time` (NULL on
 * ENOMEM). */
tower_metric *aggr_series_metric(const aggr_entry *e, int64_t time);

/* Copies field i of `from`, whatever its type, into `to` as `name`.
 * 0 or -ENOMEM. */
int aggr_copy_field(tower_metric *to, const char *name, const tower_metric *from, size_t i);

/* True for an array [ ] or a list ( ) of settings. libconfig arrays hold
 * one type, so number lists may come as (10, 20.5) as well as
 * [10.0, 20.5]. */
bool aggr_is_sequence(const tower_setting *s);

/* Tells the core how many series are held and how many metrics were
 * refused since the last report; logs a warning when some were. */
void aggr_series_report(aggr_series *t, tower_ctx *ctx);

#endif
