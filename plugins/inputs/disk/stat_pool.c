/* statfs(2) with a deadline (stat_pool.h).
 *
 * Everything shared lives in the pool and is guarded by its one mutex. The
 * workers are fixed slots of the pool; a slot's thread is started the first
 * time it is needed. The pool is freed by whoever drops the last reference:
 * the owner (stat_pool_free) or the last stuck worker to come back. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stat_pool.h"

/* Threads a pool may have, every one of which may end up stuck. */
#define POOL_THREADS STAT_POOL_MAX_STUCK
/* statfs needs little stack; a stuck thread keeps what it has. */
#define WORKER_STACK (256u * 1024u)

enum worker_state {
  W_IDLE,  /* waiting for a batch */
  W_BUSY,  /* walking a batch */
  W_STUCK, /* given up in the middle of a call; the batch is no longer its */
};

typedef struct worker {
  struct stat_pool *pool;
  pthread_t tid;
  bool started;
  enum worker_state state;
  pthread_cond_t wake;
  stat_req *reqs; /* the batch: reqs[next, end) are left */
  size_t next, end, cur;
  int64_t since;       /* when the current call began (0: in none) */
  char path[PATH_MAX]; /* the current call's own copy of its path */
} worker;

struct stat_pool {
  pthread_mutex_t mu;
  pthread_cond_t done; /* a batch finished (CLOCK_MONOTONIC waits) */
  stat_pool_fn fn;
  int64_t timeout;
  unsigned refs; /* the owner, plus one per started thread */
  bool closing;
  worker w[POOL_THREADS];
};

int stat_pool_statfs(const char *path, struct statfs *out) {
  return statfs(path, out) == 0 ? 0 : -errno;
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void destroy(stat_pool *p) {
  for (unsigned i = 0; i < POOL_THREADS; i++)
    pthread_cond_destroy(&p->w[i].wake);
  pthread_cond_destroy(&p->done);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

/* Drops one reference (the lock held); true when it was the last: the
 * caller then frees the pool after unlocking. */
static bool unref(stat_pool *p) {
  return --p->refs == 0;
}

stat_pool *stat_pool_new(stat_pool_fn fn, int64_t timeout_ns) {
  stat_pool *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->done, &ca);
  for (unsigned i = 0; i < POOL_THREADS; i++) {
    p->w[i].pool = p;
    pthread_cond_init(&p->w[i].wake, NULL);
  }
  pthread_condattr_destroy(&ca);
  p->fn = fn;
  p->timeout = timeout_ns;
  p->refs = 1;
  return p;
}

/* ---- the worker's side ---------------------------------------------------- */

/* Walks the batch, making each call unlocked. Returns with the lock held,
 * the worker idle again. */
static void run_batch(stat_pool *p, worker *w) {
  struct statfs st;
  while (w->next < w->end) {
    stat_req *r = &w->reqs[w->next];
    w->cur = w->next++;
    if (r->err == -EINPROGRESS) /* still stuck from an earlier gather */
      continue;
    size_t n = strnlen(r->path, sizeof w->path - 1);
    memcpy(w->path, r->path, n);
    w->path[n] = '\0';
    w->since = mono_ns();
    pthread_mutex_unlock(&p->mu);
    int rc = p->fn(w->path, &st);
    pthread_mutex_lock(&p->mu);
    w->since = 0;
    if (w->state == W_STUCK) {
      /* Given up while in the call: the gather moved on and the batch is
       * not ours to write to anymore. We are usable again. */
      w->state = W_IDLE;
      w->path[0] = '\0';
      return;
    }
    r->err = rc;
    if (rc == 0)
      r->st = st;
  }
  w->state = W_IDLE;
  w->path[0] = '\0';
  pthread_cond_signal(&p->done);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  stat_pool *p = w->pool;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (w->state == W_IDLE && !p->closing)
      pthread_cond_wait(&w->wake, &p->mu);
    if (w->state == W_IDLE)
      break; /* closing */
    run_batch(p, w);
  }
  bool last = unref(p);
  pthread_mutex_unlock(&p->mu);
  if (last)
    destroy(p);
  return NULL;
}

/* ---- the gather's side --------------------------------------------------- */

/* An idle worker, its thread started if need be (the lock held). NULL with
 * *err set when every slot is stuck or no thread could be started. */
static worker *idle_worker(stat_pool *p, int *err) {
  for (unsigned i = 0; i < POOL_THREADS; i++)
    if (p->w[i].started && p->w[i].state == W_IDLE)
      return &p->w[i];
  for (unsigned i = 0; i < POOL_THREADS; i++) {
    worker *w = &p->w[i];
    if (w->started)
      continue;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    int rc = pthread_create(&w->tid, &attr, worker_main, w);
    pthread_attr_destroy(&attr);
    if (rc) {
      *err = -rc;
      return NULL;
    }
    w->started = true;
    w->state = W_IDLE;
    p->refs++;
    return w;
  }
  *err = -EBUSY;
  return NULL;
}

static struct timespec abs_time(int64_t ns) {
  return (struct timespec){.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
}

/* Waits until w has finished the batch (returns n) or its current call
 * overran the timeout (the call is given up, w left stuck; returns the
 * index after that call's). The lock held. */
static size_t wait_batch(stat_pool *p, worker *w, size_t n) {
  for (;;) {
    if (w->state == W_IDLE)
      return n;
    int64_t now = mono_ns();
    /* since is 0 only before the worker woke up for its first call */
    int64_t deadline = (w->since ? w->since : now) + p->timeout;
    if (w->since && now >= deadline) {
      w->reqs[w->cur].err = -ETIMEDOUT;
      w->state = W_STUCK;
      return w->cur + 1;
    }
    struct timespec ts = abs_time(deadline);
    pthread_cond_timedwait(&p->done, &p->mu, &ts);
  }
}

/* Requests whose path a stuck worker is still on are not tried again. */
static void mark_still_stuck(stat_pool *p, stat_req *reqs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    reqs[i].err = 0;
    for (unsigned k = 0; k < POOL_THREADS; k++)
      if (p->w[k].state == W_STUCK && strcmp(p->w[k].path, reqs[i].path) == 0)
        reqs[i].err = -EINPROGRESS;
  }
}

void stat_pool_run(stat_pool *p, stat_req *reqs, size_t n) {
  pthread_mutex_lock(&p->mu);
  mark_still_stuck(p, reqs, n);
  size_t i = 0;
  while (i < n) {
    int err = 0;
    worker *w = idle_worker(p, &err);
    if (!w) {
      for (; i < n; i++)
        if (reqs[i].err == 0)
          reqs[i].err = err;
      break;
    }
    w->reqs = reqs;
    w->next = i;
    w->end = n;
    w->since = 0;
    w->state = W_BUSY;
    pthread_cond_signal(&w->wake);
    i = wait_batch(p, w, n);
  }
  pthread_mutex_unlock(&p->mu);
}

unsigned stat_pool_stuck(stat_pool *p) {
  unsigned n = 0;
  pthread_mutex_lock(&p->mu);
  for (unsigned i = 0; i < POOL_THREADS; i++)
    n += p->w[i].state == W_STUCK;
  pthread_mutex_unlock(&p->mu);
  return n;
}

int64_t stat_pool_stuck_path(stat_pool *p, unsigned i, char *buf, size_t len) {
  int64_t since = 0;
  if (len)
    buf[0] = '\0';
  pthread_mutex_lock(&p->mu);
  for (unsigned k = 0; k < POOL_THREADS; k++) {
    const worker *w = &p->w[k];
    if (w->state != W_STUCK || i-- > 0)
      continue;
    if (len) {
      size_t n = strnlen(w->path, len - 1);
      memcpy(buf, w->path, n);
      buf[n] = '\0';
    }
    since = w->since;
    break;
  }
  pthread_mutex_unlock(&p->mu);
  return since ? mono_ns() - since : 0;
}

void stat_pool_free(stat_pool *p) {
  if (!p)
    return;
  pthread_t join[POOL_THREADS];
  unsigned njoin = 0;
  pthread_mutex_lock(&p->mu);
  p->closing = true;
  for (unsigned i = 0; i < POOL_THREADS; i++) {
    worker *w = &p->w[i];
    if (!w->started)
      continue;
    if (w->state == W_STUCK) {
      pthread_detach(w->tid); /* it frees the pool if it comes back last */
    } else {
      join[njoin++] = w->tid;
      pthread_cond_signal(&w->wake);
    }
  }
  pthread_mutex_unlock(&p->mu);
  for (unsigned i = 0; i < njoin; i++)
    pthread_join(join[i], NULL);
  pthread_mutex_lock(&p->mu);
  bool last = unref(p);
  pthread_mutex_unlock(&p->mu);
  if (last)
    destroy(p);
}
