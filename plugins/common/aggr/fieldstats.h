/* Running statistics per field of a series, as Telegraf's basicstats
 * computes them (Welford's algorithm for mean and variance), shared by
 * aggregators.basicstats and aggregators.minmax. */
#ifndef TOWER_AGGR_FIELDSTATS_H
#define TOWER_AGGR_FIELDSTATS_H

#include <stdbool.h>
#include <stdint.h>

#include <tower/tower.h>

enum {
  FS_COUNT = 1u << 0,
  FS_MIN = 1u << 1,
  FS_MAX = 1u << 2,
  FS_MEAN = 1u << 3,
  FS_STDEV = 1u << 4,
  FS_S2 = 1u << 5,
  FS_SUM = 1u << 6,
  FS_DIFF = 1u << 7,
  FS_NON_NEGATIVE_DIFF = 1u << 8,
  FS_RATE = 1u << 9,
  FS_NON_NEGATIVE_RATE = 1u << 10,
  FS_PERCENT_CHANGE = 1u << 11,
  FS_INTERVAL = 1u << 12,
  FS_LAST = 1u << 13,
};

typedef struct fs_field {
  char *name;
  double count; /* 0: not seen in this window */
  double min, max, mean, m2, sum, last, previous, diff, rate;
  int64_t last_time, interval;
} fs_field;

/* The fields of one series (a series table payload). */
typedef struct fs_series {
  fs_field *f;
  size_t n, cap;
} fs_series;

/* The mask of a stat name ("s2" or "variance", "stdev"...), 0 if unknown. */
unsigned fs_stat_parse(const char *name);
/* Takes in every numeric field of m. 0 or -ENOMEM. */
int fs_add(fs_series *s, const tower_metric *m);
/* Adds the stats in `mask` of every field seen in this window to out, as
 * <field>_<stat>. Returns the number of fields added, or -ENOMEM. */
int fs_emit(const fs_series *s, unsigned mask, tower_metric *out);
/* Forgets the window (keeps the field names for the next one). */
void fs_reset(fs_series *s);
void fs_fini(void *payload);

/* ---- a whole aggregator on these stats (basicstats, minmax) ---- */

typedef struct fs_agg fs_agg;

/* NULL on ENOMEM. */
fs_agg *fs_agg_new(tower_ctx *ctx, unsigned mask, size_t max_series);
void fs_agg_free(void *state);
int fs_agg_add(void *state, const tower_metric *m);
/* One metric per series seen in the window, with the series' name and
 * tags and the stats as fields. */
int fs_agg_push(void *state, tower_acc *acc);
void fs_agg_reset(void *state);

#endif
