/* Delivery tracking: what became of the metrics of one tracked commit
 * (tower_acc_commit_tracked).
 *
 * A ticket stands for one commit. Each output that takes metrics of it holds
 * the ticket until it has settled every one of them: written (or safe in a
 * disk buffer that syncs at commit), dropped, or still pending when it is
 * destroyed. The last settlement calls the input back.
 *
 * Outputs do not mark metrics: their buffers are first in, first out, so an
 * output keeps, beside its buffer, a queue of spans (ticket, how many of the
 * next metrics belong to it) in the same order (twi_spans), and settles
 * spans from the front as metrics leave the buffer from the front.
 */
#ifndef TOWER_DELIVERY_H
#define TOWER_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tower/plugin.h>

typedef struct twi_ticket twi_ticket;

/* A ticket for a commit whose input wants `done` called. */
twi_ticket *twi_ticket_new(tower_delivered_fn done, void *arg);
/* One more holder (an output that took metrics of the commit). */
void twi_ticket_hold(twi_ticket *t);
/* A holder is done: adds its counts and, when it was the last, calls the
 * input back and frees the ticket. */
void twi_ticket_release(twi_ticket *t, uint64_t delivered, uint64_t dropped, uint64_t pending);

typedef enum twi_outcome {
  TWI_DELIVERED,
  TWI_DROPPED,
} twi_outcome;

/* The spans of one output (called with the output's lock held). */
typedef struct twi_span {
  twi_ticket *ticket; /* NULL: metrics of untracked commits */
  uint64_t left;      /* of its metrics, still in the buffer */
  uint64_t delivered, dropped;
} twi_span;

typedef struct twi_spans {
  twi_span *q;
  size_t cap, head, n;
} twi_spans;

/* `count` metrics of `ticket` (NULL: untracked) entered the buffer, after
 * all those before. The output holds the ticket from now on. -ENOMEM. */
int twi_spans_push(twi_spans *s, twi_ticket *ticket, uint64_t count);
/* `count` metrics left the buffer with `outcome`: the oldest ones after
 * the first `skip` (the batch in flight, when a push dropped the oldest of
 * the others). */
void twi_spans_settle(twi_spans *s, uint64_t skip, uint64_t count, twi_outcome outcome);
/* Settles everything left as pending and frees the queue. */
void twi_spans_free(twi_spans *s);

#endif
