/* inputs.kafka_consumer: per-partition windows of batches in flight
 * (kc_track.h). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/plural.h"
#include "kc_track.h"

/* Shared with the delivery callbacks, which may outlive the instance. */
struct kc_tracker {
  pthread_mutex_t lock;
  pthread_cond_t cond;      /* a settlement, or kc_track_wake */
  _Atomic size_t in_flight; /* messages committed, not settled (written under lock) */
  _Atomic uint64_t settled; /* settlements so far: a scan is due when it moved */
  _Atomic unsigned refs;    /* kc_track's, and one per committed unsettled batch */
};

/* One tracked commit. */
struct kc_batch {
  kc_tracker *t;
  size_t msgs;
  /* Under t->lock once committed: */
  unsigned slots; /* window slots that refer to it */
  bool settled;
  uint64_t pending; /* metrics the outputs still held when they stopped */
};

typedef struct kc_slot {
  kc_batch *b;
  int64_t next; /* offset to store once b and all before it are settled */
} kc_slot;

struct kc_part {
  char *topic;
  int32_t partition;
  kc_slot *q; /* ring, oldest first */
  size_t cap, head, n;
  bool blocked; /* a batch came back pending: store nothing more */
};

/* ---- tracker and batches ------------------------------------------------- */

static kc_tracker *tracker_new(void) {
  kc_tracker *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&t->cond, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&t->lock, NULL);
  atomic_init(&t->refs, 1);
  return t;
}

static void tracker_unref(kc_tracker *t) {
  if (atomic_fetch_sub(&t->refs, 1) != 1)
    return;
  pthread_mutex_destroy(&t->lock);
  pthread_cond_destroy(&t->cond);
  free(t);
}

/* Frees a batch once it is settled and no window refers to it (lock held). */
static void batch_done_with(kc_batch *b) {
  if (b->settled && b->slots == 0)
    free(b);
}

/* tower_delivered_fn: on an output's flush thread (or the committing thread
 * when no output took anything), so it only marks and signals. */
static void delivered(void *arg, const tower_delivery *d) {
  kc_batch *b = arg;
  kc_tracker *t = b->t;
  pthread_mutex_lock(&t->lock);
  b->settled = true;
  b->pending = d->pending;
  atomic_fetch_sub(&t->in_flight, b->msgs);
  atomic_fetch_add(&t->settled, 1);
  batch_done_with(b);
  pthread_cond_broadcast(&t->cond);
  pthread_mutex_unlock(&t->lock);
  tracker_unref(t);
}

/* ---- windows ------------------------------------------------------------- */

static kc_slot *slot_at(const kc_part *p, size_t i) {
  return &p->q[(p->head + i) % p->cap];
}

static int slot_push(kc_part *p, kc_batch *b, int64_t next) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 8;
    kc_slot *q = malloc(cap * sizeof *q);
    if (!q)
      return -ENOMEM;
    for (size_t i = 0; i < p->n; i++)
      q[i] = *slot_at(p, i);
    free(p->q);
    p->q = q;
    p->cap = cap;
    p->head = 0;
  }
  *slot_at(p, p->n++) = (kc_slot){.b = b, .next = next};
  b->slots++;
  return 0;
}

/* Drops the oldest slot (t->lock held when its batch is committed). */
static void slot_pop(kc_part *p) {
  kc_batch *b = slot_at(p, 0)->b;
  p->head = (p->head + 1) % p->cap;
  p->n--;
  b->slots--;
  batch_done_with(b);
}

static kc_part *part_find(kc_track *w, const char *topic, int32_t partition) {
  if (w->last && w->last->partition == partition && strcmp(w->last->topic, topic) == 0)
    return w->last;
  for (size_t i = 0; i < w->nparts; i++)
    if (w->parts[i]->partition == partition && strcmp(w->parts[i]->topic, topic) == 0)
      return w->last = w->parts[i];
  return NULL;
}

static kc_part *part_add(kc_track *w, const char *topic, int32_t partition) {
  if (w->nparts == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 8;
    kc_part **parts = realloc(w->parts, cap * sizeof *parts);
    if (!parts)
      return NULL;
    w->parts = parts;
    w->cap = cap;
  }
  kc_part *p = calloc(1, sizeof *p);
  if (!p || !(p->topic = strdup(topic))) {
    free(p);
    return NULL;
  }
  p->partition = partition;
  w->parts[w->nparts++] = p;
  return w->last = p;
}

/* Frees a partition's window (lock held). */
static void part_free(kc_part *p) {
  while (p->n)
    slot_pop(p);
  free(p->q);
  free(p->topic);
  free(p);
}

/* ---- the API ------------------------------------------------------------- */

int kc_track_init(kc_track *w, tower_ctx *ctx) {
  *w = (kc_track){.ctx = ctx, .t = tracker_new()};
  return w->t ? 0 : -ENOMEM;
}

void kc_track_free(kc_track *w) {
  if (!w->t)
    return;
  kc_track_forget(w, NULL);
  free(w->open); /* never committed, so never shared */
  free(w->parts);
  tracker_unref(w->t);
  *w = (kc_track){0};
}

int kc_track_message(kc_track *w, const char *topic, int32_t partition, int64_t offset) {
  if (!w->open) {
    w->open = calloc(1, sizeof *w->open);
    if (!w->open)
      return -ENOMEM; /* no batch, no commit: the message is read again */
    w->open->t = w->t;
  }
  w->open->msgs++;
  w->open_msgs++;
  kc_part *p = part_find(w, topic, partition);
  if (!p && !(p = part_add(w, topic, partition))) {
    /* Without a window a later batch of the partition could be stored
     * past this one before it is delivered. */
    w->broken = true;
    tower_error(w->ctx,
                "out of memory tracking topic %s partition %" PRId32 "; no offset is committed "
                "any more until tower restarts",
                topic, partition);
    return -ENOMEM;
  }
  kc_slot *back = p->n ? slot_at(p, p->n - 1) : NULL;
  if (back && back->b == w->open) {
    if (offset + 1 > back->next)
      back->next = offset + 1;
    return 0;
  }
  if (slot_push(p, w->open, offset + 1) == 0)
    return 0;
  p->blocked = true;
  tower_error(w->ctx,
              "out of memory tracking topic %s partition %" PRId32 "; its offsets are not "
              "committed until it is assigned again",
              topic, partition);
  return -ENOMEM;
}

int kc_track_commit(kc_track *w, tower_acc *acc) {
  kc_batch *b = w->open;
  if (!b)
    return 0;
  w->open = NULL;
  w->open_msgs = 0;
  kc_tracker *t = w->t;
  pthread_mutex_lock(&t->lock);
  atomic_fetch_add(&t->in_flight, b->msgs);
  atomic_fetch_add(&t->refs, 1); /* the callback's */
  pthread_mutex_unlock(&t->lock);
  /* b may be settled, even freed, once this returns */
  return tower_acc_commit_tracked(acc, delivered, b);
}

size_t kc_track_in_flight(const kc_track *w) {
  return atomic_load(&w->t->in_flight) + w->open_msgs;
}

bool kc_track_wait(kc_track *w, size_t limit, int64_t deadline_ns, const atomic_bool *stop) {
  kc_tracker *t = w->t;
  size_t want = limit > w->open_msgs ? limit - w->open_msgs : 0;
  struct timespec ts = {.tv_sec = deadline_ns / 1000000000LL,
                        .tv_nsec = deadline_ns % 1000000000LL};
  pthread_mutex_lock(&t->lock);
  while (atomic_load(&t->in_flight) >= want && !atomic_load(stop))
    if (pthread_cond_timedwait(&t->cond, &t->lock, &ts) == ETIMEDOUT)
      break;
  bool room = atomic_load(&t->in_flight) < want;
  pthread_mutex_unlock(&t->lock);
  return room;
}

void kc_track_wake(kc_track *w) {
  pthread_mutex_lock(&w->t->lock);
  pthread_cond_broadcast(&w->t->cond);
  pthread_mutex_unlock(&w->t->lock);
}

static void log_blocked(const kc_track *w, const kc_part *p, uint64_t pending) {
  tower_warn(w->ctx,
             "topic %s partition %" PRId32 ": %" PRIu64 " metric%s of a delivery %s still "
             "unwritten when an output stopped; no further offset of this partition is "
             "committed until it is assigned again or tower restarts, which consumes them again",
             p->topic, p->partition, pending, plural_s(pending), pending == 1 ? "was" : "were");
}

/* Pops the settled front of one window; the offset to store, or -1. */
static int64_t settle_front(const kc_track *w, kc_part *p) {
  int64_t store = -1;
  while (p->n && slot_at(p, 0)->b->settled) {
    kc_slot *s = slot_at(p, 0);
    if (s->b->pending && !p->blocked) {
      p->blocked = true;
      log_blocked(w, p, s->b->pending);
    }
    if (!p->blocked && !w->broken)
      store = s->next;
    slot_pop(p);
  }
  return store;
}

rd_kafka_topic_partition_list_t *kc_track_settled(kc_track *w) {
  uint64_t now = atomic_load(&w->t->settled);
  if (now == w->seen)
    return NULL;
  w->seen = now; /* read before the scan: a settlement during it rescans */
  rd_kafka_topic_partition_list_t *l = NULL;
  pthread_mutex_lock(&w->t->lock);
  for (size_t i = 0; i < w->nparts; i++) {
    kc_part *p = w->parts[i];
    int64_t store = settle_front(w, p);
    if (store < 0)
      continue;
    if (!l)
      l = rd_kafka_topic_partition_list_new((int)w->nparts);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = store;
  }
  pthread_mutex_unlock(&w->t->lock);
  return l;
}

static bool listed(const rd_kafka_topic_partition_list_t *parts, const kc_part *p) {
  if (!parts)
    return true;
  for (int i = 0; i < parts->cnt; i++)
    if (parts->elems[i].partition == p->partition && strcmp(parts->elems[i].topic, p->topic) == 0)
      return true;
  return false;
}

void kc_track_forget(kc_track *w, const rd_kafka_topic_partition_list_t *parts) {
  pthread_mutex_lock(&w->t->lock);
  size_t kept = 0;
  for (size_t i = 0; i < w->nparts; i++) {
    if (listed(parts, w->parts[i]))
      part_free(w->parts[i]);
    else
      w->parts[kept++] = w->parts[i];
  }
  w->nparts = kept;
  w->last = NULL;
  pthread_mutex_unlock(&w->t->lock);
}
