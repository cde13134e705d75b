/* The memory buffer: a ring of metric references that grows on demand up to
 * metric_buffer_limit; beyond it the oldest metrics are dropped (Telegraf's
 * behaviour). The batch in flight is out of the ring, so memory is bounded
 * by limit + batch size; put back, it goes in front of newer metrics,
 * dropping the oldest of it if the ring filled up meanwhile. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "buffer.h"

typedef struct mem_buffer {
  twi_buffer base;
  tower_metric **ring;
  size_t cap, head, count, limit;
} mem_buffer;

static int ring_grow(mem_buffer *b, size_t need) {
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap *= 2;
  if (cap > b->limit)
    cap = b->limit;
  if (cap < need)
    return -ENOBUFS;
  tower_metric **r = malloc(cap * sizeof *r);
  if (!r)
    return -ENOMEM;
  for (size_t i = 0; i < b->count; i++)
    r[i] = b->ring[(b->head + i) % b->cap];
  free(b->ring);
  b->ring = r;
  b->cap = cap;
  b->head = 0;
  return 0;
}

static void drop_oldest(mem_buffer *b) {
  twi_buffer_release(b->ring[b->head], true);
  b->head = (b->head + 1) % b->cap;
  b->count--;
}

static size_t mem_push(twi_buffer *base, tower_metric **ms, size_t n) {
  mem_buffer *b = (mem_buffer *)base;
  size_t dropped = 0;
  for (size_t i = 0; i < n; i++) {
    if (b->count == b->limit) {
      drop_oldest(b);
      dropped++;
    }
    if (b->count == b->cap && ring_grow(b, b->count + 1)) {
      /* no memory for a bigger ring: make room the only way left */
      dropped++;
      if (b->count == 0) {
        twi_buffer_release(ms[i], true);
        continue;
      }
      drop_oldest(b);
    }
    b->ring[(b->head + b->count) % b->cap] = ms[i];
    b->count++;
  }
  return dropped;
}

static size_t mem_take(twi_buffer *base, tower_metric **batch, size_t k) {
  mem_buffer *b = (mem_buffer *)base;
  if (k > b->count)
    k = b->count;
  for (size_t i = 0; i < k; i++) {
    batch[i] = b->ring[b->head];
    b->head = (b->head + 1) % b->cap;
  }
  b->count -= k;
  return k;
}

static void mem_ack(twi_buffer *base, size_t k) {
  (void)base; /* the batch left the ring when it was taken */
  (void)k;
}

static size_t mem_put_back(twi_buffer *base, tower_metric **batch, size_t k) {
  mem_buffer *b = (mem_buffer *)base;
  size_t room = b->limit - b->count, skip = 0;
  if (k > room) { /* the oldest of the batch are the oldest overall */
    skip = k - room;
    for (size_t i = 0; i < skip; i++)
      twi_buffer_release(batch[i], true);
  }
  if (ring_grow(b, b->count + (k - skip))) {
    for (size_t i = skip; i < k; i++)
      twi_buffer_release(batch[i], true);
    return k;
  }
  for (size_t i = k; i-- > skip;) {
    b->head = (b->head + b->cap - 1) % b->cap;
    b->ring[b->head] = batch[i];
    b->count++;
  }
  return skip;
}

static size_t mem_count(const twi_buffer *base) {
  return ((const mem_buffer *)base)->count;
}

static void mem_destroy(twi_buffer *base) {
  mem_buffer *b = (mem_buffer *)base;
  for (size_t i = 0; i < b->count; i++)
    twi_buffer_release(b->ring[(b->head + i) % b->cap], true);
  free(b->ring);
  free(b);
}

static const twi_buffer_ops mem_ops = {
    .push = mem_push,
    .take = mem_take,
    .ack = mem_ack,
    .put_back = mem_put_back,
    .count = mem_count,
    .destroy = mem_destroy,
};

twi_buffer *twi_buffer_mem_new(size_t limit) {
  mem_buffer *b = calloc(1, sizeof *b);
  if (!b)
    return NULL;
  b->base.ops = &mem_ops;
  b->limit = limit ? limit : 1;
  return &b->base;
}

void twi_buffer_release(tower_metric *m, bool dropped) {
  (void)dropped; /* delivery accounting: see buffer.h */
  tower_metric_free(m);
}
