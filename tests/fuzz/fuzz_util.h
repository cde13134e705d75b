/* What the libFuzzer targets share: a growable list of parsed metrics and
 * an aborting check. Header-only, so a target still builds from its one
 * .c file with the clang command its comment gives.
 *
 * Define FUZZ_TARGET (the program's name, for messages) before including. */
#ifndef TOWER_FUZZ_UTIL_H
#define TOWER_FUZZ_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <tower/metric.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct mlist {
  tower_metric **m;
  size_t n, cap;
} mlist;

/* A failed check: abort() is what libFuzzer turns into a reproducer. */
static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs(FUZZ_TARGET ": ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

/* tower_parser emit callback: appends the metric to the mlist `ctx`. (Not
 * every target parses metrics.) */
__attribute__((unused)) static int keep(void *ctx, tower_metric *m) {
  mlist *l = ctx;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    tower_metric **n = realloc(l->m, cap * sizeof *n);
    if (!n) {
      tower_metric_free(m);
      return -ENOMEM;
    }
    l->m = n;
    l->cap = cap;
  }
  l->m[l->n++] = m;
  return 0;
}

__attribute__((unused)) static void mlist_free(mlist *l) {
  for (size_t i = 0; i < l->n; i++)
    tower_metric_free(l->m[i]);
  free(l->m);
  *l = (mlist){0};
}

#endif
