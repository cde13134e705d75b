/* Growable byte buffer. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf_internal.h"

static char empty_data[1];

tower_buf *tower_buf_new(size_t hint) {
  tower_buf *b = calloc(1, sizeof *b);
  if (!b)
    return NULL;
  b->data = empty_data;
  if (hint && twi_buf_reserve(b, hint)) {
    free(b);
    return NULL;
  }
  return b;
}

void tower_buf_free(tower_buf *b) {
  if (!b)
    return;
  if (b->cap)
    free(b->data);
  free(b);
}

int twi_buf_reserve(tower_buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap)
    return 0;
  if (extra > SIZE_MAX / 2 - b->len)
    return -ENOMEM;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1)
    cap *= 2;
  char *d = realloc(b->cap ? b->data : NULL, cap);
  if (!d)
    return -ENOMEM;
  if (!b->cap)
    d[0] = '\0';
  b->data = d;
  b->cap = cap;
  return 0;
}

const char *tower_buf_data(const tower_buf *b) {
  return b->data;
}
size_t tower_buf_len(const tower_buf *b) {
  return b->len;
}

void tower_buf_reset(tower_buf *b) {
  tower_buf_truncate(b, 0);
}

void tower_buf_truncate(tower_buf *b, size_t len) {
  if (len < b->len) {
    b->len = len;
    b->data[len] = '\0';
  }
}

int tower_buf_append(tower_buf *b, const void *data, size_t len) {
  return twi_buf_put(b, data, len);
}

int tower_buf_append_str(tower_buf *b, const char *s) {
  return twi_buf_put(b, s, strlen(s));
}

int tower_buf_printf(tower_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return -EINVAL;
  if (twi_buf_reserve(b, (size_t)n))
    return -ENOMEM;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}
