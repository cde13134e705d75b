/* Delivery tracking (delivery.h). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "delivery.h"

struct twi_ticket {
  _Atomic unsigned holders;
  _Atomic uint64_t delivered, dropped, pending;
  tower_delivered_fn done;
  void *arg;
};

twi_ticket *twi_ticket_new(tower_delivered_fn done, void *arg) {
  twi_ticket *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  t->done = done;
  t->arg = arg;
  atomic_init(&t->holders, 1); /* the committer's, until its fan-out ends */
  return t;
}

void twi_ticket_hold(twi_ticket *t) {
  atomic_fetch_add(&t->holders, 1);
}

void twi_ticket_release(twi_ticket *t, uint64_t delivered, uint64_t dropped, uint64_t pending) {
  atomic_fetch_add(&t->delivered, delivered);
  atomic_fetch_add(&t->dropped, dropped);
  atomic_fetch_add(&t->pending, pending);
  if (atomic_fetch_sub(&t->holders, 1) != 1)
    return;
  tower_delivery d = {atomic_load(&t->delivered), atomic_load(&t->dropped),
                      atomic_load(&t->pending)};
  t->done(t->arg, &d);
  free(t);
}

/* ---- spans ------------------------------------------------------------- */

static twi_span *at(const twi_spans *s, size_t i) {
  return &s->q[(s->head + i) % s->cap];
}

static int grow(twi_spans *s) {
  size_t cap = s->cap ? s->cap * 2 : 16;
  twi_span *q = malloc(cap * sizeof *q);
  if (!q)
    return -ENOMEM;
  for (size_t i = 0; i < s->n; i++)
    q[i] = *at(s, i);
  free(s->q);
  s->q = q;
  s->cap = cap;
  s->head = 0;
  return 0;
}

int twi_spans_push(twi_spans *s, twi_ticket *ticket, uint64_t count) {
  if (count == 0)
    return 0;
  if (!ticket && s->n && !at(s, s->n - 1)->ticket) { /* untracked runs merge */
    at(s, s->n - 1)->left += count;
    return 0;
  }
  if (s->n == s->cap && grow(s))
    return -ENOMEM;
  *at(s, s->n++) = (twi_span){.ticket = ticket, .left = count};
  if (ticket)
    twi_ticket_hold(ticket);
  return 0;
}

/* A span whose metrics have all left gives its ticket back; a span in the
 * middle of the queue (its metrics dropped behind a batch in flight) stays
 * as an empty slot until it reaches the front. */
static void finish(twi_span *sp) {
  if (sp->ticket)
    twi_ticket_release(sp->ticket, sp->delivered, sp->dropped, 0);
  sp->ticket = NULL;
}

static void pop_empty(twi_spans *s) {
  while (s->n && at(s, 0)->left == 0) {
    s->head = (s->head + 1) % s->cap;
    s->n--;
  }
}

void twi_spans_settle(twi_spans *s, uint64_t skip, uint64_t count, twi_outcome outcome) {
  for (size_t i = 0; i < s->n && count; i++) {
    twi_span *sp = at(s, i);
    uint64_t passed = skip < sp->left ? skip : sp->left;
    skip -= passed;
    uint64_t here = sp->left - passed < count ? sp->left - passed : count;
    if (!here)
      continue;
    sp->left -= here;
    count -= here;
    if (outcome == TWI_DELIVERED)
      sp->delivered += here;
    else
      sp->dropped += here;
    if (sp->left == 0)
      finish(sp);
  }
  pop_empty(s);
}

void twi_spans_free(twi_spans *s) {
  for (size_t i = 0; i < s->n; i++) {
    twi_span *sp = at(s, i);
    if (sp->ticket)
      twi_ticket_release(sp->ticket, sp->delivered, sp->dropped, sp->left);
  }
  free(s->q);
  *s = (twi_spans){0};
}
