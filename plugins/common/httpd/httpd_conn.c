/* Connection slots and their deadlines (see httpd.h for why they are kept
 * here and not by libmicrohttpd's idle timeout).
 *
 * Each connection libmicrohttpd starts takes a slot (its socket context),
 * which records the socket, the phase of its request cycle and the
 * deadline of that phase. The event-loop threads move a slot from phase to
 * phase; the reaper thread sleeps until the earliest deadline and then
 * shutdown()s every socket past its deadline. shutdown() rather than
 * close(): the descriptor stays libmicrohttpd's, which sees the end of the
 * stream (or a failed send) in its own thread, closes the connection and
 * reports it closed, which frees the slot. The slot is freed under the
 * lock before libmicrohttpd closes the descriptor (it notifies first), so
 * the reaper never touches a descriptor that was closed and reused.
 *
 * When a connection takes the last free slot, the connection that has
 * waited longest for a request (the oldest in HTTPD_AWAIT) is cut to make
 * room: so even attackers from more addresses than the per-address limit
 * covers cannot keep a scraper out; the scraper's fresh connection is the
 * newest, and sends its request at once. Requests in progress are never
 * displaced.
 *
 * The slots are allocated once (max_connections of them): a connection
 * allocates nothing here. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../plural.h"
#include "httpd_int.h"

/* The reaper scans at most this often (ns), so that a crowd of deadlines
 * close together costs a few scans, not one each. */
#define SCAN_GAP 10000000
/* Warnings about connections cut to make room: at most one per 10 s. */
#define EVICT_LOG_GAP 10000000000

typedef struct slot {
  int fd; /* -1: free */
  httpd_phase phase;
  bool cut;         /* shut down already */
  unsigned refusal; /* status of a request refused on its headers; 0: none */
  int64_t deadline; /* monotonic ns */
  unsigned next;    /* free list */
} slot;

struct httpd_conns {
  tower_ctx *ctx;
  int64_t timeout[3]; /* per phase, ns */
  slot *slots;
  unsigned n, free_head;

  pthread_mutex_t lock;  /* everything below and the slots */
  pthread_cond_t wake;   /* a deadline earlier than next_scan, or stop */
  int64_t next_scan;     /* when the reaper wakes next (INT64_MAX: no deadline) */
  unsigned long cut;     /* connections cut at their deadline, for the log */
  unsigned long evicted; /* connections cut to make room, for the log */
  bool stopping;
  pthread_t reaper;
};

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static slot *slot_of(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

/* Sets the slot's phase and deadline; wakes the reaper when the deadline
 * comes before its next scan. Called with the lock held. */
static void set_phase(httpd_conns *t, slot *s, httpd_phase phase) {
  s->phase = phase;
  s->deadline = mono_ns() + t->timeout[phase];
  if (s->deadline < t->next_scan) {
    t->next_scan = s->deadline;
    pthread_cond_signal(&t->wake);
  }
}

/* ---- the reaper ------------------------------------------------------------- */

/* Shuts down the sockets past their deadline; returns the earliest deadline
 * still ahead (INT64_MAX: none). Called with the lock held. */
static int64_t cut_expired(httpd_conns *t, int64_t now) {
  int64_t next = INT64_MAX;
  for (unsigned i = 0; i < t->n; i++) {
    slot *s = &t->slots[i];
    if (s->fd < 0 || s->cut)
      continue;
    if (s->deadline <= now) {
      shutdown(s->fd, SHUT_RDWR);
      s->cut = true;
      t->cut++;
    } else if (s->deadline < next) {
      next = s->deadline;
    }
  }
  return next;
}

static void wait_until(httpd_conns *t, int64_t at) {
  if (at == INT64_MAX) {
    pthread_cond_wait(&t->wake, &t->lock);
    return;
  }
  struct timespec ts = {.tv_sec = at / 1000000000, .tv_nsec = at % 1000000000};
  pthread_cond_timedwait(&t->wake, &t->lock, &ts);
}

/* Logs what was cut since the last call, without the lock (a slow log
 * must not stall the event loops). */
static void log_cuts(httpd_conns *t, unsigned long cut, unsigned long evicted) {
  pthread_mutex_unlock(&t->lock);
  if (cut)
    tower_debug(t->ctx, "%lu connection%s cut at their deadline (read_timeout/write_timeout)", cut,
                plural_s(cut));
  if (evicted)
    tower_warn(t->ctx,
               "max_connections (%u) reached: closed %lu connection%s that had sent no request, "
               "to make room; raise max_connections, or restrict ip_range",
               t->n, evicted, plural_s(evicted));
  pthread_mutex_lock(&t->lock);
}

static void *reaper_main(void *arg) {
  httpd_conns *t = arg;
  unsigned long cut = 0, evicted = 0; /* logged so far */
  int64_t evicted_at = 0;             /* when evictions were last logged */
  pthread_mutex_lock(&t->lock);
  while (!t->stopping) {
    int64_t now = mono_ns();
    if (now >= t->next_scan) {
      int64_t next = cut_expired(t, now);
      t->next_scan = next == INT64_MAX ? INT64_MAX : next > now + SCAN_GAP ? next : now + SCAN_GAP;
    }
    /* Evictions come in floods: one warning per EVICT_LOG_GAP at most. */
    bool log_evicted = t->evicted != evicted && now - evicted_at >= EVICT_LOG_GAP;
    if (t->cut != cut || log_evicted) {
      unsigned long new_cut = t->cut - cut, new_evicted = log_evicted ? t->evicted - evicted : 0;
      cut = t->cut;
      if (log_evicted) {
        evicted = t->evicted;
        evicted_at = now;
      }
      log_cuts(t, new_cut, new_evicted);
      continue; /* deadlines may have moved meanwhile */
    }
    wait_until(t, t->next_scan);
  }
  pthread_mutex_unlock(&t->lock);
  return NULL;
}

/* ---- libmicrohttpd callbacks -------------------------------------------------- */

/* Cuts the connection other than `keep` that has waited longest for a
 * request. Called with the lock held, when the table is full. */
static void evict_oldest_waiting(httpd_conns *t, const slot *keep) {
  slot *oldest = NULL;
  for (unsigned i = 0; i < t->n; i++) {
    slot *s = &t->slots[i];
    if (s != keep && s->fd >= 0 && !s->cut && s->phase == HTTPD_AWAIT &&
        (!oldest || s->deadline < oldest->deadline))
      oldest = s;
  }
  if (!oldest)
    return; /* every other connection has a request in progress */
  shutdown(oldest->fd, SHUT_RDWR);
  oldest->cut = true;
  t->evicted++; /* logged by the reaper, which wakes at the deadlines of the full table */
}

static void conn_started(httpd_conns *t, struct MHD_Connection *c, void **socket_context) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (!ci)
    return;
  pthread_mutex_lock(&t->lock);
  if (t->free_head == t->n) { /* more connections than max_connections: cannot be */
    pthread_mutex_unlock(&t->lock);
    shutdown(ci->connect_fd, SHUT_RDWR);
    return;
  }
  slot *s = &t->slots[t->free_head];
  t->free_head = s->next;
  *s = (slot){.fd = ci->connect_fd};
  set_phase(t, s, HTTPD_AWAIT);
  if (t->free_head == t->n)
    evict_oldest_waiting(t, s);
  pthread_mutex_unlock(&t->lock);
  *socket_context = s;
}

static void conn_closed(httpd_conns *t, void **socket_context) {
  slot *s = *socket_context;
  if (!s)
    return;
  pthread_mutex_lock(&t->lock);
  s->fd = -1;
  s->next = t->free_head;
  t->free_head = (unsigned)(s - t->slots);
  pthread_mutex_unlock(&t->lock);
  *socket_context = NULL;
}

void httpd_conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe) {
  if (toe == MHD_CONNECTION_NOTIFY_STARTED)
    conn_started(cls, c, socket_context);
  else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
    conn_closed(cls, socket_context);
}

void httpd_conns_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                           enum MHD_RequestTerminationCode toe) {
  (void)req_cls;
  (void)toe;
  httpd_conns *t = cls;
  slot *s = slot_of(c);
  if (!s)
    return;
  pthread_mutex_lock(&t->lock);
  s->refusal = 0;
  set_phase(t, s, HTTPD_AWAIT);
  pthread_mutex_unlock(&t->lock);
}

/* ---- request phases ------------------------------------------------------------ */

int httpd_conn_enter(httpd_conns *t, struct MHD_Connection *c, httpd_phase phase) {
  slot *s = slot_of(c);
  if (!s)
    return -1;
  pthread_mutex_lock(&t->lock);
  int was = (int)s->phase;
  if (phase > s->phase) /* only forward: a repeated call keeps its deadline */
    set_phase(t, s, phase);
  pthread_mutex_unlock(&t->lock);
  return was;
}

unsigned httpd_conn_refusal(httpd_conns *t, struct MHD_Connection *c) {
  (void)t;
  slot *s = slot_of(c);
  return s ? s->refusal : 0; /* only this connection's thread writes it */
}

void httpd_conn_set_refusal(httpd_conns *t, struct MHD_Connection *c, unsigned status) {
  (void)t;
  slot *s = slot_of(c);
  if (s)
    s->refusal = status;
}

/* ---- life ------------------------------------------------------------------------ */

static void init_sync(httpd_conns *t) {
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&t->wake, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&t->lock, NULL);
}

httpd_conns *httpd_conns_new(tower_ctx *ctx, unsigned max, int64_t read_timeout,
                             int64_t write_timeout) {
  httpd_conns *t = calloc(1, sizeof *t);
  if (!t || !(t->slots = calloc(max, sizeof *t->slots))) {
    free(t);
    tower_error(ctx, "out of memory for %u connection slot%s", max, plural_s(max));
    return NULL;
  }
  t->ctx = ctx;
  t->n = max;
  t->timeout[HTTPD_AWAIT] = t->timeout[HTTPD_BODY] = read_timeout;
  t->timeout[HTTPD_RESPOND] = write_timeout;
  t->next_scan = INT64_MAX;
  for (unsigned i = 0; i < max; i++)
    t->slots[i] = (slot){.fd = -1, .next = i + 1};
  init_sync(t);
  int rc = pthread_create(&t->reaper, NULL, reaper_main, t);
  if (rc) {
    tower_error(ctx, "cannot start the connection reaper thread: %s", strerror(rc));
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    free(t->slots);
    free(t);
    return NULL;
  }
  return t;
}

void httpd_conns_free(httpd_conns *t) {
  if (!t)
    return;
  pthread_mutex_lock(&t->lock);
  t->stopping = true;
  pthread_cond_signal(&t->wake);
  pthread_mutex_unlock(&t->lock);
  pthread_join(t->reaper, NULL);
  pthread_cond_destroy(&t->wake);
  pthread_mutex_destroy(&t->lock);
  free(t->slots);
  free(t);
}
