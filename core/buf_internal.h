/* The byte buffer's layout, for the core's serializers (hot paths append
 * without a function call per byte). Plugins use the opaque API in buf.h. */
#ifndef TOWER_BUF_INTERNAL_H
#define TOWER_BUF_INTERNAL_H

#include <stddef.h>
#include <string.h>

#include <tower/buf.h>

struct tower_buf {
  char *data;
  size_t len;
  size_t cap; /* bytes allocated; data[len] is always a NUL within it */
};

/* Makes room for `extra` more bytes plus the NUL. 0 or -ENOMEM. */
int twi_buf_reserve(tower_buf *b, size_t extra);

static inline int twi_buf_putc(tower_buf *b, char c) {
  if (b->len + 2 > b->cap && twi_buf_reserve(b, 1))
    return -12; /* -ENOMEM */
  b->data[b->len++] = c;
  b->data[b->len] = '\0';
  return 0;
}

static inline int twi_buf_put(tower_buf *b, const void *p, size_t n) {
  if (b->len + n + 1 > b->cap && twi_buf_reserve(b, n))
    return -12;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

#endif
