/* A merging t-digest (Dunning & Ertl, "Computing extremely accurate
 * quantiles using t-digests", 2019) with the arcsine scale function k1:
 * values wait in a small buffer and are merged into at most about
 * `compression` centroids when it fills or a quantile is asked for.
 * Memory grows with what a series receives, up to that bound. */
#ifndef TOWER_TDIGEST_H
#define TOWER_TDIGEST_H

#include <stddef.h>

typedef struct td_centroid {
  double mean, weight;
} td_centroid;

typedef struct tdigest {
  td_centroid *c; /* merged, sorted by mean */
  size_t nc, capc;
  td_centroid *buf; /* not merged yet */
  size_t nbuf, capbuf;
  double total, min, max;
} tdigest;

/* 0 or -ENOMEM (the value is then lost). */
int td_add(tdigest *t, double v, double compression);
/* The estimated quantile q in [0, 1]; NaN when empty. Merges first
 * (0 or -ENOMEM in *rc). */
double td_quantile(tdigest *t, double q, double compression, int *rc);
/* Forgets the values, keeps the memory. */
void td_clear(tdigest *t);
void td_free(tdigest *t);

#endif
