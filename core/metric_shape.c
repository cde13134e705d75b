/* The table of interned shapes (metric_shape.h).
 *
 * Buffered metrics of one series repeat the same name, tags and field keys
 * gather after gather; interning those bytes once leaves each buffered
 * metric its header and values (metric.c). The table is split into shards,
 * each with its own lock, so that inputs committing at the same time rarely
 * meet; a shape's reference count is kept under its shard's lock, which
 * makes "the last reference frees it" and "a lookup finds it" exclusive.
 *
 * The hash is seeded per process and a lookup that walks a long chain
 * gives up (the metric keeps its own keys), so keys that collide cost
 * memory at worst, never time. */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "metric_shape.h"

#define NSHARDS 64 /* a power of two */
#define SHARD_BITS 6
#define MIN_BUCKETS 16
#define MAX_CHAIN 8

typedef struct shard {
  pthread_mutex_t lock;
  twi_shape **buckets; /* NULL while the shard is empty */
  size_t nbuckets, count;
} shard;

static shard shards[NSHARDS];
static uint64_t seed;
static pthread_once_t seed_once = PTHREAD_ONCE_INIT;

static void init_table(void) {
  for (size_t i = 0; i < NSHARDS; i++)
    pthread_mutex_init(&shards[i].lock, NULL);
  if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
    seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15u ^ (uint64_t)getpid();
}

/* ---- hashing ---------------------------------------------------------- */

static inline uint64_t mix(uint64_t h, uint64_t w) {
  h ^= w;
  h *= 0x9e3779b97f4a7c15u;
  return h ^ (h >> 29);
}

/* Eight bytes at a time; the lengths are hashed with the counts, so the
 * zero padding of the tail is unambiguous. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (; n >= 8; n -= 8, b += 8) {
    uint64_t w;
    memcpy(&w, b, 8);
    h = mix(h, w);
  }
  if (n) {
    uint64_t w = 0;
    memcpy(&w, b, n);
    h = mix(h, w);
  }
  return h;
}

static uint64_t key_hash(const twi_shape_key *k) {
  uint64_t h =
      mix(seed, (uint64_t)k->nfields | (uint64_t)k->ntags << 16 | (uint64_t)k->str_used << 32);
  h = mix(h, k->name);
  h = hash_bytes(h, k->fkeys, (size_t)k->nfields * 4);
  h = hash_bytes(h, k->tags, (size_t)k->ntags * 8);
  h = hash_bytes(h, k->strings, k->str_used);
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93u;
  return h ^ (h >> 32);
}

static bool key_equals(const twi_shape *s, uint64_t hash, const twi_shape_key *k) {
  return s->hash == hash && s->nfields == k->nfields && s->ntags == k->ntags &&
         s->name == k->name && s->str_used == k->str_used &&
         memcmp(twi_shape_fkeys(s), k->fkeys, (size_t)k->nfields * 4) == 0 &&
         memcmp(twi_shape_tags(s), k->tags, (size_t)k->ntags * 8) == 0 &&
         memcmp(twi_shape_strings(s), k->strings, k->str_used) == 0;
}

/* ---- the table -------------------------------------------------------- */

static shard *shard_of(uint64_t hash) {
  return &shards[hash & (NSHARDS - 1)];
}

static size_t bucket_of(const shard *sh, uint64_t hash) {
  return (size_t)(hash >> SHARD_BITS) & (sh->nbuckets - 1);
}

/* Rehashes into `n` buckets; a failed allocation keeps the old ones (longer
 * chains, still correct). */
static void resize(shard *sh, size_t n) {
  twi_shape **nb = calloc(n, sizeof *nb);
  if (!nb)
    return;
  twi_shape **old = sh->buckets;
  size_t oldn = sh->nbuckets;
  sh->buckets = nb;
  sh->nbuckets = n;
  for (size_t i = 0; i < oldn; i++)
    for (twi_shape *s = old[i], *next; s; s = next) {
      next = s->next;
      size_t b = bucket_of(sh, s->hash);
      s->next = nb[b];
      nb[b] = s;
    }
  free(old);
}

static twi_shape *new_shape(const twi_shape_key *k, uint64_t hash) {
  size_t fk = (size_t)k->nfields * 4, tg = (size_t)k->ntags * 8;
  twi_shape *s = malloc(sizeof *s + fk + tg + k->str_used);
  if (!s)
    return NULL;
  s->next = NULL;
  s->hash = hash;
  s->refs = 1;
  s->name = k->name;
  s->str_used = k->str_used;
  s->nfields = k->nfields;
  s->ntags = k->ntags;
  memcpy(s->area, k->fkeys, fk);
  memcpy(s->area + k->nfields, k->tags, tg);
  memcpy((char *)(s->area + k->nfields + 2u * k->ntags), k->strings, k->str_used);
  return s;
}

/* Under the shard's lock: the shape of `k`, a reference taken, or a new
 * one; NULL when the chain is too long or memory is short. */
static const twi_shape *lookup_or_add(shard *sh, uint64_t hash, const twi_shape_key *k) {
  if (!sh->buckets)
    resize(sh, MIN_BUCKETS);
  if (!sh->buckets)
    return NULL;
  size_t b = bucket_of(sh, hash), chain = 0;
  for (twi_shape *s = sh->buckets[b]; s; s = s->next, chain++)
    if (key_equals(s, hash, k)) {
      s->refs++;
      return s;
    }
  if (chain >= MAX_CHAIN)
    return NULL;
  twi_shape *s = new_shape(k, hash);
  if (!s)
    return NULL;
  s->next = sh->buckets[b];
  sh->buckets[b] = s;
  if (++sh->count > sh->nbuckets)
    resize(sh, sh->nbuckets * 2);
  return s;
}

const twi_shape *twi_shape_intern(const twi_shape_key *k) {
  pthread_once(&seed_once, init_table);
  uint64_t hash = key_hash(k);
  shard *sh = shard_of(hash);
  pthread_mutex_lock(&sh->lock);
  const twi_shape *s = lookup_or_add(sh, hash, k);
  pthread_mutex_unlock(&sh->lock);
  return s;
}

static void unlink_shape(shard *sh, twi_shape *s) {
  twi_shape **p = &sh->buckets[bucket_of(sh, s->hash)];
  while (*p != s)
    p = &(*p)->next;
  *p = s->next;
  sh->count--;
}

/* An empty shard gives its buckets back; a sparse one shrinks, so a burst
 * of short-lived series leaves no table behind. */
static void shrink(shard *sh) {
  if (sh->count == 0) {
    free(sh->buckets);
    sh->buckets = NULL;
    sh->nbuckets = 0;
  } else if (sh->nbuckets > MIN_BUCKETS && sh->count < sh->nbuckets / 8) {
    resize(sh, sh->nbuckets / 4);
  }
}

void twi_shape_release(const twi_shape *cs) {
  twi_shape *s = (twi_shape *)cs;
  shard *sh = shard_of(s->hash);
  pthread_mutex_lock(&sh->lock);
  if (--s->refs == 0) {
    unlink_shape(sh, s);
    free(s);
    shrink(sh);
  }
  pthread_mutex_unlock(&sh->lock);
}

size_t twi_shape_count(void) {
  pthread_once(&seed_once, init_table);
  size_t n = 0;
  for (size_t i = 0; i < NSHARDS; i++) {
    pthread_mutex_lock(&shards[i].lock);
    n += shards[i].count;
    pthread_mutex_unlock(&shards[i].lock);
  }
  return n;
}
