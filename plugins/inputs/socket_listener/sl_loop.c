/* inputs.socket_listener: the event loop, one thread for the listener and
 * every connection.
 *
 * A turn of the loop: epoll_wait (level triggered) until a socket is ready
 * or the next deadline; one read per ready socket (sl_conn.c, sl_dgram.c);
 * the connections whose data waits in user space (TLS records, compressed
 * input) once more; deadlines; then one commit of everything the turn
 * parsed (tower_acc_commit; also every SL_COMMIT_BATCH metrics, so a busy
 * turn keeps its memory bounded). Connections closed during the turn are
 * freed at its end, since a later event of the same turn may still name
 * them.
 *
 * Deadlines need no timer per connection: with one read_timeout for all,
 * the connection whose deadline comes first is the one that completed a
 * line longest ago, so a list kept in that order (a line moves its
 * connection to the tail) gives it in O(1); the same for TLS handshakes,
 * in accept order.
 */
#define _GNU_SOURCE /* accept4, memrchr, struct ucred */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../../common/plural.h"
#include "socket_listener.h"

#define SL_EVENTS 64
#define SL_ACCEPTS_PER_TURN 64

/* ---- lists -------------------------------------------------------------- */

void sl_list_push(sl_list *l, sl_conn *c) {
  c->list = l;
  c->next = NULL;
  c->prev = l->tail;
  if (l->tail)
    l->tail->next = c;
  else
    l->head = c;
  l->tail = c;
}

void sl_list_remove(sl_conn *c) {
  sl_list *l = c->list;
  if (!l)
    return;
  if (c->prev)
    c->prev->next = c->next;
  else
    l->head = c->next;
  if (c->next)
    c->next->prev = c->prev;
  else
    l->tail = c->prev;
  c->list = NULL;
  c->prev = c->next = NULL;
}

void sl_conn_touch(sl_state *s, sl_conn *c) {
  c->since = s->now;
  if (c->list == &s->idle && s->idle.tail != c) {
    sl_list_remove(c);
    sl_list_push(&s->idle, c);
  }
}

void sl_ready_add(sl_state *s, sl_conn *c) {
  if (c->on_ready)
    return;
  c->on_ready = true;
  c->rnext = NULL;
  c->rprev = s->ready_tail;
  if (s->ready_tail)
    s->ready_tail->rnext = c;
  else
    s->ready_head = c;
  s->ready_tail = c;
}

void sl_ready_remove(sl_state *s, sl_conn *c) {
  if (!c->on_ready)
    return;
  if (c->rprev)
    c->rprev->rnext = c->rnext;
  else
    s->ready_head = c->rnext;
  if (c->rnext)
    c->rnext->rprev = c->rprev;
  else
    s->ready_tail = c->rprev;
  c->on_ready = false;
  c->rnext = c->rprev = NULL;
}

void sl_conn_watch(sl_state *s, sl_conn *c, uint32_t events) {
  if (c->fd < 0 || c->events == events)
    return;
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
    c->events = events;
}

/* ---- metrics ------------------------------------------------------------ */

void sl_commit(sl_state *s) {
  if (!s->uncommitted)
    return;
  uint64_t n = s->uncommitted;
  s->uncommitted = 0;
  int rc = tower_acc_commit(s->acc);
  if (rc < 0)
    tower_acc_error(s->acc,
                    "%" PRIu64 " metric%s could not be handed to the outputs (%s); they are lost",
                    n, plural_s(n), strerror(-rc));
}

int sl_sink(void *state, tower_metric *m) {
  sl_state *s = state;
  int rc = tower_acc_add(s->acc, m);
  if (rc < 0)
    return rc;
  s->metrics++;
  if (++s->uncommitted >= SL_COMMIT_BATCH)
    sl_commit(s);
  return 0;
}

void sl_parse_errors(sl_state *s, const tower_parser *p, uint64_t before, const char *from) {
  uint64_t bad = tower_parser_errors(p) - before;
  if (!bad)
    return;
  const char *last = tower_parser_last_error(p);
  tower_acc_error(s->acc, "%s: %" PRIu64 " %s parse error%s, the bad line%s skipped; last: %s",
                  from, bad, s->data_format, plural_s(bad), plural_s(bad), last ? last : "?");
}

/* ---- accepting ---------------------------------------------------------- */

static void pause_accepting(sl_state *s, int e) {
  struct epoll_event ev = {.events = 0, .data.ptr = &s->lfd};
  epoll_ctl(s->ep, EPOLL_CTL_MOD, s->lfd, &ev);
  s->accept_resume = s->now + SL_ACCEPT_PAUSE_NS;
  tower_acc_error(s->acc,
                  "cannot accept connections on %s: %s; %zu open; accepting again in 100 ms "
                  "(raise the open file limit: LimitNOFILE= in the unit, or ulimit -n)",
                  s->where, strerror(e), s->nconns);
}

static void resume_accepting(sl_state *s) {
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->lfd};
  epoll_ctl(s->ep, EPOLL_CTL_MOD, s->lfd, &ev);
  s->accept_resume = 0;
}

/* max_connections are open: Telegraf's answer, accept and close at once,
 * so the client learns it now rather than after its connect timeout. */
static void refuse(sl_state *s, int fd, const struct sockaddr_storage *ss, socklen_t sl) {
  char peer[80];
  sl_peer_text(s, fd, (const struct sockaddr *)ss, sl, peer, sizeof peer);
  close(fd);
  s->refused++;
  tower_acc_error(s->acc, "connection from %s refused: max_connections (%zu) are open", peer,
                  s->max_conns);
}

static void admit(sl_state *s, int fd, const struct sockaddr_storage *ss, socklen_t sl) {
  sl_conn *c = sl_conn_new(s, fd, (const struct sockaddr *)ss, sl);
  if (!c)
    return;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
    tower_acc_error(s->acc, "cannot watch the connection from %s: %s; closed", c->peer,
                    strerror(errno));
    close(fd);
    sl_conn_free(c);
    return;
  }
  c->events = EPOLLIN;
  c->since = s->now;
  sl_list_push(c->handshaking ? &s->handshaking : &s->idle, c);
  s->nconns++;
  s->connections++;
}

static void accept_some(sl_state *s) {
  for (int i = 0; i < SL_ACCEPTS_PER_TURN; i++) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK)
        return;
      if (e == EINTR || e == ECONNABORTED || e == EPROTO || e == EPERM)
        continue; /* that client is gone (or a firewall said no): next */
      if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
        pause_accepting(s, e);
      else
        tower_acc_error(s->acc, "accept on %s failed: %s", s->where, strerror(e));
      return;
    }
    if (s->max_conns && s->nconns >= s->max_conns)
      refuse(s, fd, &ss, sl);
    else
      admit(s, fd, &ss, sl);
  }
}

/* ---- deadlines ---------------------------------------------------------- */

static int64_t handshake_ns(const sl_state *s) {
  return s->read_timeout && s->read_timeout < SL_HANDSHAKE_NS ? s->read_timeout : SL_HANDSHAKE_NS;
}

/* Milliseconds epoll may sleep: until the first deadline, 0 with
 * user-space data waiting, -1 with nothing to wait for. */
static int wait_ms(const sl_state *s) {
  if (s->ready_head)
    return 0;
  int64_t next = INT64_MAX;
  if (s->handshaking.head)
    next = s->handshaking.head->since + handshake_ns(s);
  if (s->read_timeout && s->idle.head && s->idle.head->since + s->read_timeout < next)
    next = s->idle.head->since + s->read_timeout;
  if (s->accept_resume && s->accept_resume < next)
    next = s->accept_resume;
  if (next == INT64_MAX)
    return -1;
  int64_t ms = (next - tower_mono_ns() + 999999) / 1000000;
  return ms <= 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}

static void expire(sl_state *s) {
  int64_t hs = handshake_ns(s);
  while (s->handshaking.head && s->handshaking.head->since + hs <= s->now) {
    sl_conn *c = s->handshaking.head;
    tower_debug(s->ctx, "%s did not finish its TLS handshake within %.1fs; connection closed",
                c->peer, (double)hs / 1e9);
    sl_conn_close(s, c, false);
  }
  while (s->read_timeout && s->idle.head && s->idle.head->since + s->read_timeout <= s->now) {
    sl_conn *c = s->idle.head;
    tower_debug(s->ctx, "%s sent no complete line for %.1fs (read_timeout); connection closed",
                c->peer, (double)s->read_timeout / 1e9);
    sl_conn_close(s, c, false);
  }
  if (s->accept_resume && s->accept_resume <= s->now)
    resume_accepting(s);
}

/* ---- the turn ----------------------------------------------------------- */

static void serve(sl_state *s, sl_conn *c) {
  if (c->fd < 0 || c->turn == s->turn)
    return; /* closed earlier this turn, or served already */
  c->turn = s->turn;
  sl_conn_ready(s, c);
}

static void dispatch(sl_state *s, const struct epoll_event *ev) {
  if (ev->data.ptr == &s->wake)
    return; /* stop() woke us: the loop condition ends it */
  if (ev->data.ptr == &s->lfd) {
    if (s->addr.stream)
      accept_some(s);
    else
      sl_dgram_ready(s);
    return;
  }
  serve(s, ev->data.ptr);
}

/* Connections whose bytes wait in user space, not in the socket. */
static void serve_ready(sl_state *s) {
  for (sl_conn *c = s->ready_head, *next; c; c = next) {
    next = c->rnext;
    serve(s, c);
  }
}

static void reap(sl_state *s) {
  while (s->dead) {
    sl_conn *c = s->dead;
    s->dead = c->dead_next;
    sl_conn_free(c);
  }
}

static void close_all(sl_state *s) {
  while (s->handshaking.head)
    sl_conn_close(s, s->handshaking.head, false);
  while (s->idle.head)
    sl_conn_close(s, s->idle.head, false);
}

void *sl_loop_main(void *arg) {
  sl_state *s = arg;
  struct epoll_event evs[SL_EVENTS];
  while (!atomic_load(&s->stop)) {
    int n = epoll_wait(s->ep, evs, SL_EVENTS, wait_ms(s));
    if (n < 0 && errno != EINTR) {
      tower_acc_error(s->acc, "epoll_wait failed: %s; the listener on %s stops", strerror(errno),
                      s->where);
      break;
    }
    s->now = tower_mono_ns();
    s->turn++;
    for (int i = 0; i < n; i++)
      dispatch(s, &evs[i]);
    serve_ready(s);
    expire(s);
    sl_commit(s);
    reap(s);
  }
  s->now = tower_mono_ns();
  close_all(s);
  sl_commit(s);
  reap(s);
  return NULL;
}
