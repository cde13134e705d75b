/* Shapes: the key set of a metric (name, tag keys and values, field keys
 * and types), interned once and shared by every buffered metric of the
 * same series (metric.c, "the shape form"). Internal to metric.c. */
#ifndef TOWER_METRIC_SHAPE_H
#define TOWER_METRIC_SHAPE_H

#include <stddef.h>
#include <stdint.h>

/* Immutable once interned; reference counted under its shard's lock.
 * The areas have the layout of a metric's own areas (metric.c):
 *   uint32_t fkeys[nfields]   key offset | type << 24
 *   uint32_t tags[2 * ntags]  key offset, value offset
 *   char     strings[str_used] */
typedef struct twi_shape {
  struct twi_shape *next; /* the hash chain */
  uint64_t hash;
  uint32_t refs;
  uint32_t name; /* offset of the name in strings */
  uint32_t str_used;
  uint16_t nfields, ntags;
  uint32_t area[];
} twi_shape;

static inline const uint32_t *twi_shape_fkeys(const twi_shape *s) {
  return s->area;
}
static inline const uint32_t *twi_shape_tags(const twi_shape *s) {
  return s->area + s->nfields;
}
static inline const char *twi_shape_strings(const twi_shape *s) {
  return (const char *)(s->area + s->nfields + 2u * s->ntags);
}

/* The key set a shape is made of, as a metric holds it. */
typedef struct twi_shape_key {
  const uint32_t *fkeys, *tags;
  const char *strings;
  uint32_t name, str_used;
  uint16_t nfields, ntags;
} twi_shape_key;

/* The shape equal to `k`, one reference taken: the interned one, or a new
 * one. NULL on ENOMEM, or when the key's hash chain is already long (so
 * that colliding keys, crafted or not, never make interning slow): the
 * caller keeps its own copy then. */
const twi_shape *twi_shape_intern(const twi_shape_key *k);

/* Drops a reference; the last one frees the shape. */
void twi_shape_release(const twi_shape *s);

/* Shapes interned now (tests, diagnostics). */
size_t twi_shape_count(void);

#endif
