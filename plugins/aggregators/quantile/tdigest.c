/* The merging t-digest; see tdigest.h. */
#include "tdigest.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Values buffered before a merge: larger is faster, smaller holds less
 * memory per series. */
#define TD_BUFFER_MAX 64

/* k1 and its inverse: centroids near the tails stay small. */
static double k_of(double q, double compression) {
  return compression / (2 * M_PI) * asin(2 * q - 1);
}
static double q_of(double k, double compression) {
  return (sin(k * 2 * M_PI / compression) + 1) / 2;
}

static int cmp_mean(const void *a, const void *b) {
  double x = ((const td_centroid *)a)->mean, y = ((const td_centroid *)b)->mean;
  return (x > y) - (x < y);
}

static int reserve(td_centroid **v, size_t *cap, size_t need) {
  if (need <= *cap)
    return 0;
  size_t cap2 = *cap ? *cap : 8;
  while (cap2 < need)
    cap2 *= 2;
  td_centroid *nv = realloc(*v, cap2 * sizeof *nv);
  if (!nv)
    return -ENOMEM;
  *v = nv;
  *cap = cap2;
  return 0;
}

/* Merges the buffer into the centroids: one pass over both, sorted,
 * absorbing neighbours while the k-size of the merged centroid stays
 * within 1. Works in the buffer's array, then swaps. */
static int merge(tdigest *t, double compression) {
  if (t->nbuf == 0)
    return 0;
  size_t n = t->nbuf + t->nc;
  if (reserve(&t->buf, &t->capbuf, n))
    return -ENOMEM;
  if (t->nc) /* the first merge has no centroids yet (t->c is NULL) */
    memcpy(t->buf + t->nbuf, t->c, t->nc * sizeof *t->c);
  qsort(t->buf, n, sizeof *t->buf, cmp_mean);
  double so_far = 0, limit = t->total * q_of(k_of(0, compression) + 1, compression);
  size_t out = 0;
  td_centroid cur = t->buf[0];
  for (size_t i = 1; i < n; i++) {
    td_centroid x = t->buf[i];
    if (so_far + cur.weight + x.weight <= limit) {
      cur.weight += x.weight;
      cur.mean += (x.mean - cur.mean) * x.weight / cur.weight;
      continue;
    }
    so_far += cur.weight;
    t->buf[out++] = cur;
    limit = t->total * q_of(k_of(so_far / t->total, compression) + 1, compression);
    cur = x;
  }
  t->buf[out++] = cur;
  td_centroid *c = t->c;
  size_t capc = t->capc;
  t->c = t->buf;
  t->capc = t->capbuf;
  t->nc = out;
  t->buf = c;
  t->capbuf = capc;
  t->nbuf = 0;
  return 0;
}

int td_add(tdigest *t, double v, double compression) {
  if (t->nbuf == TD_BUFFER_MAX && merge(t, compression))
    return -ENOMEM;
  if (reserve(&t->buf, &t->capbuf, t->nbuf + 1))
    return -ENOMEM;
  if (t->total == 0) {
    t->min = t->max = v;
  } else {
    t->min = v < t->min ? v : t->min;
    t->max = v > t->max ? v : t->max;
  }
  t->buf[t->nbuf++] = (td_centroid){v, 1};
  t->total += 1;
  return 0;
}

/* Linear interpolation between centroid centres; the ends go to min and
 * max. */
double td_quantile(tdigest *t, double q, double compression, int *rc) {
  *rc = merge(t, compression);
  if (t->nc == 0)
    return NAN;
  if (t->nc == 1 || q <= 0)
    return q <= 0 ? t->min : t->c[0].mean;
  if (q >= 1)
    return t->max;
  double target = q * t->total, cum = 0;
  double prev_centre = 0, prev_mean = t->min;
  for (size_t i = 0; i < t->nc; i++) {
    double centre = cum + t->c[i].weight / 2;
    if (target < centre) {
      double span = centre - prev_centre;
      return span > 0 ? prev_mean + (t->c[i].mean - prev_mean) * (target - prev_centre) / span
                      : t->c[i].mean;
    }
    prev_centre = centre;
    prev_mean = t->c[i].mean;
    cum += t->c[i].weight;
  }
  double span = t->total - prev_centre;
  return span > 0 ? prev_mean + (t->max - prev_mean) * (target - prev_centre) / span : t->max;
}

void td_clear(tdigest *t) {
  t->nc = t->nbuf = 0;
  t->total = t->min = t->max = 0;
}

void td_free(tdigest *t) {
  free(t->c);
  free(t->buf);
}
