/* The series store: families of series, updated in place by the write
 * thread, rendered by scrape threads, pruned by the expiry thread.
 *
 * Locking. st->lock guards the family table, the sorted-family cache, the
 * reader count and the graveyard; each family's lock guards its series. The
 * lock order is table, then family. A scrape copies the (sorted) family
 * pointers under the table lock and then renders one family at a time under
 * that family's lock only, so a long scrape never blocks writes to families
 * it is not rendering at that moment, and a write holds the table lock just
 * for a hash lookup.
 *
 * Lifetime. A family is unlinked (by expiry, when its last series went) only
 * under both locks, and freed only when no scrape or expiry pass that may
 * hold its pointer is running (st->readers == 0): unlinked families wait in
 * the graveyard until then.
 *
 * Memory. A series is one allocation (struct + identity labels) plus its
 * rendered label text; string-field labels and buckets take one more each
 * when present. Updates reuse them: the write path allocates only for new
 * series, changed string labels or a changed number of buckets.
 *
 * Rendering. A series' labels are rendered once (prom_text_labels), when
 * it is created or its string-field labels change. A write or an expiry
 * marks its family dirty and bumps the store's version; the next render
 * (prom_render.c) renders the dirty families again and copies the others
 * from the previous render, where each family remembers its bytes. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "prometheus.h"

#define HELP "tower collected metric"
#define SELF_SERIES "tower_prometheus_series"
#define SELF_REJECTED "tower_prometheus_rejected_series_total"

typedef struct prom_series prom_series;
struct prom_series {
  prom_series *next; /* hash chain */
  uint64_t hash;
  int64_t updated; /* monotonic ns of the last update */
  int64_t time_ns; /* the metric's timestamp */
  double value, sum, count;
  double *buckets; /* bounds[nbuckets] then counts[nbuckets] */
  uint32_t nbuckets;
  uint32_t nid, nextra; /* label pairs */
  uint32_t idlen, extralen;
  char *extra;  /* string-field labels (prom_labels data) or NULL */
  char *labels; /* merged, escaped label text (prom_text_labels); NULL: not
                   rendered for lack of memory, retried on the next write */
  uint32_t labelslen;
  char id[]; /* identity labels (prom_labels data) */
};

typedef struct prom_family prom_family;
struct prom_family {
  prom_family *next; /* hash chain, then graveyard link */
  uint64_t hash;
  pthread_mutex_t lock;
  tower_value_type type;
  bool dead;          /* unlinked from the table */
  bool sorted;        /* order[] matches the series */
  bool dirty;         /* written to or expired since its last render */
  uint64_t chunk_gen; /* the render that holds its text, at chunk_off */
  size_t chunk_off, chunk_len;
  size_t namelen;
  prom_series **slots; /* chains; nslots is a power of two */
  size_t nslots, n;
  prom_series **order; /* render order, rebuilt when !sorted */
  size_t order_cap;
  char name[];
};

struct prom_store {
  pthread_mutex_t lock;
  prom_family **slots; /* family chains; nslots is a power of two */
  size_t nslots, n;
  uint64_t gen;         /* bumped when the family set changes */
  prom_family **sorted; /* families by name, valid when sorted_gen == gen */
  size_t nsorted;
  uint64_t sorted_gen;
  unsigned readers;       /* scrapes and expiry passes holding family pointers */
  prom_family *graveyard; /* unlinked, freed when readers == 0 */
  uint64_t max_series;
  _Atomic uint64_t nseries;
  _Atomic uint64_t rejected[3];
  _Atomic uint64_t version; /* prom_store_version() */
};

static uint64_t hash_bytes(uint64_t h, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211u;
  return h;
}

#define HASH_SEED 1469598103934665603u

/* ---- families and series -------------------------------------------------- */

static void series_free(prom_series *s) {
  free(s->labels);
  free(s->extra);
  free(s->buckets);
  free(s);
}

static void family_free(prom_family *f) {
  for (size_t i = 0; i < f->nslots; i++)
    for (prom_series *s = f->slots[i], *next; s; s = next) {
      next = s->next;
      series_free(s);
    }
  free(f->slots);
  free(f->order);
  pthread_mutex_destroy(&f->lock);
  free(f);
}

static prom_family *family_new(const char *name, uint64_t hash, tower_value_type type) {
  size_t len = strlen(name);
  prom_family *f = calloc(1, sizeof *f + len + 1);
  if (!f)
    return NULL;
  f->nslots = 8;
  if (!(f->slots = calloc(f->nslots, sizeof *f->slots))) {
    free(f);
    return NULL;
  }
  pthread_mutex_init(&f->lock, NULL);
  f->hash = hash;
  f->type = type;
  f->dirty = true;
  f->namelen = len;
  memcpy(f->name, name, len + 1);
  return f;
}

/* Doubles the chain table when it is full; a failed grow only slows lookups. */
static void family_grow(prom_family *f) {
  if (f->n < f->nslots)
    return;
  size_t cap = f->nslots * 2;
  prom_series **slots = calloc(cap, sizeof *slots);
  if (!slots)
    return;
  for (size_t i = 0; i < f->nslots; i++)
    for (prom_series *s = f->slots[i], *next; s; s = next) {
      next = s->next;
      s->next = slots[s->hash & (cap - 1)];
      slots[s->hash & (cap - 1)] = s;
    }
  free(f->slots);
  f->slots = slots;
  f->nslots = cap;
}

static prom_series *series_find(const prom_family *f, uint64_t hash, const prom_labels *id) {
  for (prom_series *s = f->slots[hash & (f->nslots - 1)]; s; s = s->next)
    if (s->hash == hash && s->idlen == id->len && memcmp(s->id, id->data, id->len) == 0)
      return s;
  return NULL;
}

static bool scalar(tower_value_type t) {
  return t != TOWER_HISTOGRAM && t != TOWER_SUMMARY;
}

/* ---- the family table ------------------------------------------------------- */

prom_store *prom_store_new(uint64_t max_series) {
  prom_store *st = calloc(1, sizeof *st);
  if (!st)
    return NULL;
  st->nslots = 64;
  if (!(st->slots = calloc(st->nslots, sizeof *st->slots))) {
    free(st);
    return NULL;
  }
  pthread_mutex_init(&st->lock, NULL);
  st->max_series = max_series;
  st->sorted_gen = UINT64_MAX;
  return st;
}

static void free_graveyard(prom_store *st) {
  for (prom_family *f = st->graveyard, *next; f; f = next) {
    next = f->next;
    family_free(f);
  }
  st->graveyard = NULL;
}

void prom_store_free(prom_store *st) {
  if (!st)
    return;
  for (size_t i = 0; i < st->nslots; i++)
    for (prom_family *f = st->slots[i], *next; f; f = next) {
      next = f->next;
      family_free(f);
    }
  free_graveyard(st);
  free(st->slots);
  free(st->sorted);
  pthread_mutex_destroy(&st->lock);
  free(st);
}

static void table_grow(prom_store *st) {
  if (st->n < st->nslots)
    return;
  size_t cap = st->nslots * 2;
  prom_family **slots = calloc(cap, sizeof *slots);
  if (!slots)
    return;
  for (size_t i = 0; i < st->nslots; i++)
    for (prom_family *f = st->slots[i], *next; f; f = next) {
      next = f->next;
      f->next = slots[f->hash & (cap - 1)];
      slots[f->hash & (cap - 1)] = f;
    }
  free(st->slots);
  st->slots = slots;
  st->nslots = cap;
}

static prom_family *table_find(const prom_store *st, const char *name, uint64_t hash) {
  for (prom_family *f = st->slots[hash & (st->nslots - 1)]; f; f = f->next)
    if (f->hash == hash && strcmp(f->name, name) == 0)
      return f;
  return NULL;
}

static void table_unlink(prom_store *st, prom_family *f) {
  prom_family **p = &st->slots[f->hash & (st->nslots - 1)];
  while (*p != f)
    p = &(*p)->next;
  *p = f->next;
  st->n--;
  st->gen++;
}

/* The endpoint's own families: a collected metric may not take their names. */
static bool reserved(const char *name) {
  return strcmp(name, SELF_SERIES) == 0 || strcmp(name, SELF_REJECTED) == 0;
}

/* Finds or creates the family of `s` and returns it locked (NULL: -ENOMEM,
 * or *reject set). */
static prom_family *family_lock(prom_store *st, const tower_prom_series *s, int *reject) {
  uint64_t hash = hash_bytes(HASH_SEED, s->name, strlen(s->name));
  pthread_mutex_lock(&st->lock);
  prom_family *f = table_find(st, s->name, hash);
  if (!f && reserved(s->name)) {
    *reject = PROM_REJECT_TYPE;
  } else if (!f && (f = family_new(s->name, hash, s->type))) {
    table_grow(st);
    f->next = st->slots[hash & (st->nslots - 1)];
    st->slots[hash & (st->nslots - 1)] = f;
    st->n++;
    st->gen++;
  }
  if (f)
    pthread_mutex_lock(&f->lock);
  pthread_mutex_unlock(&st->lock);
  return f;
}

/* ---- writing ------------------------------------------------------------------ */

/* 0: unchanged, 1: changed, -ENOMEM. */
static int set_extra(prom_series *ser, const prom_labels *extra) {
  if (ser->extralen == extra->len &&
      (extra->len == 0 || memcmp(ser->extra, extra->data, extra->len) == 0))
    return 0;
  char *copy = NULL;
  if (extra->len && !(copy = malloc(extra->len)))
    return -ENOMEM;
  if (copy)
    memcpy(copy, extra->data, extra->len);
  free(ser->extra);
  ser->extra = copy;
  ser->extralen = (uint32_t)extra->len;
  ser->nextra = (uint32_t)extra->n;
  return 1;
}

/* Renders the series' label text from its identity and string labels. */
static int set_labels(prom_series *ser) {
  prom_labels id = {.data = ser->id, .len = ser->idlen, .n = ser->nid};
  prom_labels extra = {.data = ser->extra, .len = ser->extralen, .n = ser->nextra};
  free(ser->labels);
  ser->labels = NULL;
  return prom_text_labels(&id, &extra, &ser->labels, &ser->labelslen);
}

static int set_values(prom_series *ser, const tower_prom_series *s) {
  if (s->nbuckets != ser->nbuckets) {
    double *b = s->nbuckets ? malloc(2 * s->nbuckets * sizeof *b) : NULL;
    if (s->nbuckets && !b)
      return -ENOMEM;
    free(ser->buckets);
    ser->buckets = b;
    ser->nbuckets = (uint32_t)s->nbuckets;
  }
  if (s->nbuckets) {
    memcpy(ser->buckets, s->bounds, s->nbuckets * sizeof(double));
    memcpy(ser->buckets + s->nbuckets, s->counts, s->nbuckets * sizeof(double));
  }
  ser->value = s->value;
  ser->sum = s->sum;
  ser->count = s->count;
  ser->time_ns = s->time_ns;
  return 0;
}

static prom_series *series_new(prom_family *f, uint64_t hash, const prom_labels *id) {
  prom_series *ser = calloc(1, sizeof *ser + id->len);
  if (!ser)
    return NULL;
  memcpy(ser->id, id->data, id->len);
  ser->idlen = (uint32_t)id->len;
  ser->nid = (uint32_t)id->n;
  ser->hash = hash;
  family_grow(f);
  ser->next = f->slots[hash & (f->nslots - 1)];
  f->slots[hash & (f->nslots - 1)] = ser;
  f->n++;
  f->sorted = false;
  return ser;
}

/* Under the family's lock. */
static int put_locked(prom_store *st, prom_family *f, const tower_prom_series *s,
                      const prom_labels *id, const prom_labels *extra, int64_t now) {
  /* Counter, gauge and untyped samples share a family whose TYPE is the
   * first one seen (Telegraf); a histogram or summary cannot be written as
   * a scalar or as the other kind, so those conflicts are refused. */
  if (f->type != s->type && (!scalar(f->type) || !scalar(s->type)))
    return PROM_REJECT_TYPE;
  uint64_t hash = hash_bytes(HASH_SEED, id->data, id->len);
  prom_series *ser = series_find(f, hash, id);
  if (!ser) {
    if (st->max_series && atomic_load(&st->nseries) >= st->max_series)
      return PROM_REJECT_MAX;
    if (!(ser = series_new(f, hash, id)))
      return -ENOMEM;
    atomic_fetch_add(&st->nseries, 1);
  }
  f->dirty = true;
  int rc = set_extra(ser, extra);
  if (rc > 0 || (rc == 0 && !ser->labels))
    rc = set_labels(ser);
  if (rc == 0)
    rc = set_values(ser, s);
  ser->updated = now;
  return rc;
}

int prom_store_put(prom_store *st, const tower_prom_series *s, const prom_labels *id,
                   const prom_labels *extra, int64_t now) {
  int rc = -ENOMEM;
  prom_family *f = family_lock(st, s, &rc);
  if (f) {
    rc = put_locked(st, f, s, id, extra, now);
    pthread_mutex_unlock(&f->lock);
  }
  if (rc > 0)
    atomic_fetch_add(&st->rejected[rc], 1);
  /* After the family's unlock: a render that reads the new version finds
   * the family dirty (or already rendered with this write). */
  atomic_fetch_add(&st->version, 1);
  return rc;
}

/* ---- snapshots of the family list ------------------------------------------ */

static int cmp_family(const void *a, const void *b) {
  return strcmp((*(prom_family *const *)a)->name, (*(prom_family *const *)b)->name);
}

/* Copies the family pointers (sorted by name when `sort`) and registers the
 * caller as a reader, so none of them is freed until snapshot_end(). The
 * sort runs outside the table lock; its result is cached for the next
 * scrape while the family set stays the same. */
static prom_family **snapshot(prom_store *st, bool sort, size_t *n) {
  pthread_mutex_lock(&st->lock);
  st->readers++;
  bool cached = sort && st->sorted_gen == st->gen;
  uint64_t gen = st->gen;
  *n = st->n;
  prom_family **v = malloc((*n ? *n : 1) * sizeof *v);
  if (v && cached) {
    memcpy(v, st->sorted, *n * sizeof *v);
  } else if (v) {
    size_t k = 0;
    for (size_t i = 0; i < st->nslots; i++)
      for (prom_family *f = st->slots[i]; f; f = f->next)
        v[k++] = f;
  }
  pthread_mutex_unlock(&st->lock);
  if (!v || cached || !sort)
    return v;
  qsort(v, *n, sizeof *v, cmp_family);
  prom_family **copy = malloc((*n ? *n : 1) * sizeof *copy);
  pthread_mutex_lock(&st->lock);
  if (copy && st->gen == gen) {
    memcpy(copy, v, *n * sizeof *v);
    free(st->sorted);
    st->sorted = copy;
    st->nsorted = *n;
    st->sorted_gen = gen;
    copy = NULL;
  }
  pthread_mutex_unlock(&st->lock);
  free(copy);
  return v;
}

static void snapshot_end(prom_store *st, prom_family **v) {
  pthread_mutex_lock(&st->lock);
  if (--st->readers == 0)
    free_graveyard(st);
  pthread_mutex_unlock(&st->lock);
  free(v);
}

/* ---- expiry -------------------------------------------------------------------- */

static size_t expire_family(prom_store *st, prom_family *f, int64_t cutoff) {
  size_t removed = 0;
  for (size_t i = 0; i < f->nslots; i++)
    for (prom_series **p = &f->slots[i]; *p;) {
      prom_series *s = *p;
      if (s->updated >= cutoff) {
        p = &s->next;
        continue;
      }
      *p = s->next;
      series_free(s);
      removed++;
    }
  if (removed) {
    f->n -= removed;
    f->sorted = false;
    f->dirty = true;
    atomic_fetch_sub(&st->nseries, removed);
  }
  return removed;
}

/* Unlinks `f` when it is still empty (a write may have refilled it). */
static void drop_if_empty(prom_store *st, prom_family *f) {
  pthread_mutex_lock(&st->lock);
  pthread_mutex_lock(&f->lock);
  if (f->n == 0 && !f->dead) {
    table_unlink(st, f);
    f->dead = true;
    f->next = st->graveyard;
    st->graveyard = f;
  }
  pthread_mutex_unlock(&f->lock);
  pthread_mutex_unlock(&st->lock);
}

size_t prom_store_expire(prom_store *st, int64_t cutoff) {
  size_t n, removed = 0;
  prom_family **v = snapshot(st, false, &n);
  if (!v) {
    snapshot_end(st, v);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    pthread_mutex_lock(&v[i]->lock);
    removed += expire_family(st, v[i], cutoff);
    bool empty = v[i]->n == 0 && !v[i]->dead;
    pthread_mutex_unlock(&v[i]->lock);
    if (empty)
      drop_if_empty(st, v[i]);
  }
  snapshot_end(st, v);
  if (removed)
    atomic_fetch_add(&st->version, 1);
  return removed;
}

/* ---- rendering ------------------------------------------------------------------ */

static int cmp_series(const void *pa, const void *pb) {
  const prom_series *a = *(prom_series *const *)pa, *b = *(prom_series *const *)pb;
  int c = memcmp(a->id, b->id, a->idlen < b->idlen ? a->idlen : b->idlen);
  return c ? c : (a->idlen > b->idlen) - (a->idlen < b->idlen);
}

/* Rebuilds the render order after series came or went. */
static int family_sort(prom_family *f) {
  if (f->sorted)
    return 0;
  if (f->n > f->order_cap) {
    prom_series **o = realloc(f->order, f->n * 2 * sizeof *o);
    if (!o)
      return -ENOMEM;
    f->order = o;
    f->order_cap = f->n * 2;
  }
  size_t k = 0;
  for (size_t i = 0; i < f->nslots; i++)
    for (prom_series *s = f->slots[i]; s; s = s->next)
      f->order[k++] = s;
  qsort(f->order, k, sizeof *f->order, cmp_series);
  f->sorted = true;
  return 0;
}

static int render_series(tower_buf *out, const prom_family *f, const prom_series *s,
                         unsigned flags) {
  if (!s->labels) /* its labels could not be rendered: left out until a write retries */
    return 0;
  prom_text_series ts = {
      .name = f->name,
      .namelen = f->namelen,
      .type = f->type,
      .labels = s->labels,
      .labelslen = s->labelslen,
      .value = s->value,
      .nbuckets = s->nbuckets,
      .bounds = s->buckets,
      .counts = s->buckets ? s->buckets + s->nbuckets : NULL,
      .sum = s->sum,
      .count = s->count,
      .has_time = (flags & TOWER_PROM_TIMESTAMP) && s->time_ns != TOWER_TIME_UNSET,
      .time_ns = s->time_ns,
  };
  return prom_text_series_write(out, &ts);
}

/* Under the family's lock. */
static int render_family(tower_buf *out, prom_family *f, unsigned flags) {
  if (f->dead || f->n == 0)
    return 0;
  int rc = family_sort(f);
  if (rc == 0)
    rc = tower_prom_write_header(out, f->name, f->type, HELP);
  for (size_t i = 0; i < f->n && rc == 0; i++)
    rc = render_series(out, f, f->order[i], flags);
  return rc;
}

/* Under the family's lock: the family's text, copied from the previous
 * render when nothing changed it since, and where it now is. */
static int family_chunk(tower_buf *out, prom_family *f, unsigned flags, const char *prev,
                        uint64_t prev_gen, uint64_t gen) {
  size_t start = tower_buf_len(out);
  int rc;
  if (prev && !f->dirty && f->chunk_gen == prev_gen)
    rc = tower_buf_append(out, prev + f->chunk_off, f->chunk_len);
  else
    rc = render_family(out, f, flags);
  if (rc)
    return rc;
  f->dirty = false;
  f->chunk_gen = gen;
  f->chunk_off = start;
  f->chunk_len = tower_buf_len(out) - start;
  return 0;
}

static int render_self(prom_store *st, tower_buf *out) {
  int rc = tower_prom_write_header(out, SELF_SERIES, TOWER_GAUGE,
                                   "Series held by this prometheus output.");
  rc |= tower_buf_printf(out, SELF_SERIES " %llu\n", (unsigned long long)prom_store_series(st));
  rc |= tower_prom_write_header(out, SELF_REJECTED, TOWER_COUNTER,
                                "Series not stored: max_series reached, or a type conflicting "
                                "with the series' family.");
  rc |= tower_buf_printf(out, SELF_REJECTED "{reason=\"max_series\"} %llu\n",
                         (unsigned long long)prom_store_rejected(st, PROM_REJECT_MAX));
  rc |= tower_buf_printf(out, SELF_REJECTED "{reason=\"type_conflict\"} %llu\n",
                         (unsigned long long)prom_store_rejected(st, PROM_REJECT_TYPE));
  return rc ? -ENOMEM : 0;
}

int prom_store_render(prom_store *st, tower_buf *out, unsigned flags, const char *prev,
                      uint64_t prev_gen, uint64_t gen) {
  size_t n;
  prom_family **v = snapshot(st, true, &n);
  int rc = v ? 0 : -ENOMEM;
  for (size_t i = 0; v && i < n && rc == 0; i++) {
    pthread_mutex_lock(&v[i]->lock);
    rc = family_chunk(out, v[i], flags, prev, prev_gen, gen);
    pthread_mutex_unlock(&v[i]->lock);
  }
  snapshot_end(st, v);
  return rc ? rc : render_self(st, out);
}

uint64_t prom_store_version(const prom_store *st) {
  return atomic_load(&((prom_store *)st)->version);
}

uint64_t prom_store_series(const prom_store *st) {
  return atomic_load(&((prom_store *)st)->nseries);
}

uint64_t prom_store_rejected(const prom_store *st, prom_reject why) {
  return atomic_load(&((prom_store *)st)->rejected[why]);
}
