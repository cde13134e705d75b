/* response_after = "delivery": a write is answered once the outputs that
 * took its metrics have written them (or hold them durably: a disk buffer
 * under buffer_fsync = "commit" settles at the commit itself), and its
 * connection is suspended meanwhile, so that an event-loop thread never
 * waits.
 *
 * A waiter stands for one tracked commit and has two holders: the request
 * (until it is answered or its connection goes away) and the core's
 * ticket (until tower_acc_commit_tracked's callback). The callback may
 * come after the plugin instance is gone: an output kept by a reload, or
 * destroyed after the inputs at shutdown, settles its metrics later. So
 * waiters hang on a hub of their own, which the instance and every waiter
 * hold, and nothing here touches the instance.
 *
 * Lock order: the hub's lock, then libmicrohttpd's (suspend and resume
 * take it). Suspend runs under the hub's lock, so a callback that comes
 * at once finds the connection suspended already and resumes it. */
#include <stdlib.h>

#include "influxdb_listener.h"

struct ifl_hub {
  pthread_mutex_t lock;
  unsigned refs; /* the instance's, and one per waiter */
  bool stopping;
  ifl_wait *parked; /* suspended requests, for ifl_hub_stop */
};

struct ifl_wait {
  ifl_hub *hub;
  struct MHD_Connection *conn; /* while suspended */
  ifl_wait *prev, *next;       /* in hub->parked */
  tower_delivery d;
  bool settled;      /* the callback came */
  bool parked;       /* the connection is suspended */
  bool request_gone; /* the request let go */
};

ifl_hub *ifl_hub_new(void) {
  ifl_hub *h = calloc(1, sizeof *h);
  if (!h)
    return NULL;
  pthread_mutex_init(&h->lock, NULL);
  h->refs = 1;
  return h;
}

/* Drops one reference, with the lock held; unlocks. */
static void hub_unref_unlock(ifl_hub *h) {
  bool last = --h->refs == 0;
  pthread_mutex_unlock(&h->lock);
  if (last) {
    pthread_mutex_destroy(&h->lock);
    free(h);
  }
}

void ifl_hub_release(ifl_hub *h) {
  if (!h)
    return;
  pthread_mutex_lock(&h->lock);
  hub_unref_unlock(h);
}

static void unlink_parked(ifl_wait *w) {
  ifl_hub *h = w->hub;
  if (w->prev)
    w->prev->next = w->next;
  else
    h->parked = w->next;
  if (w->next)
    w->next->prev = w->prev;
  w->prev = w->next = NULL;
  w->parked = false;
}

/* Resumes the suspended request; the hub's lock is held. */
static void resume(ifl_wait *w) {
  struct MHD_Connection *c = w->conn;
  unlink_parked(w);
  w->conn = NULL;
  MHD_resume_connection(c);
}

void ifl_hub_stop(ifl_hub *h) {
  pthread_mutex_lock(&h->lock);
  h->stopping = true;
  while (h->parked)
    resume(h->parked); /* answered 503: not settled */
  pthread_mutex_unlock(&h->lock);
}

ifl_wait *ifl_wait_new(ifl_hub *h) {
  ifl_wait *w = calloc(1, sizeof *w);
  if (!w)
    return NULL;
  w->hub = h;
  pthread_mutex_lock(&h->lock);
  h->refs++;
  pthread_mutex_unlock(&h->lock);
  return w;
}

/* One holder is done with w, with the hub's lock held; unlocks. The last
 * frees it. */
static void let_go_unlock(ifl_wait *w, bool last) {
  ifl_hub *h = w->hub;
  if (!last) {
    pthread_mutex_unlock(&h->lock);
    return;
  }
  free(w);
  hub_unref_unlock(h);
}

void ifl_wait_delivered(void *arg, const tower_delivery *d) {
  ifl_wait *w = arg;
  pthread_mutex_lock(&w->hub->lock);
  w->d = *d;
  w->settled = true;
  if (w->parked)
    resume(w);
  let_go_unlock(w, w->request_gone);
}

bool ifl_wait_park(ifl_wait *w, struct MHD_Connection *c) {
  ifl_hub *h = w->hub;
  pthread_mutex_lock(&h->lock);
  bool park = !w->settled && !h->stopping;
  if (park) {
    w->conn = c;
    w->parked = true;
    w->next = h->parked;
    if (h->parked)
      h->parked->prev = w;
    h->parked = w;
    MHD_suspend_connection(c);
  }
  pthread_mutex_unlock(&h->lock);
  return park;
}

bool ifl_wait_outcome(ifl_wait *w, tower_delivery *d) {
  pthread_mutex_lock(&w->hub->lock);
  bool settled = w->settled;
  if (settled)
    *d = w->d;
  pthread_mutex_unlock(&w->hub->lock);
  return settled;
}

void ifl_wait_drop(ifl_wait *w) {
  if (!w)
    return;
  pthread_mutex_lock(&w->hub->lock);
  if (w->parked) /* cannot be: a suspended connection does not end */
    unlink_parked(w);
  w->request_gone = true;
  let_go_unlock(w, w->settled);
}
