/* Counting malloc for the allocation tests: included by one file of a test
 * program, it replaces the program's malloc family with wrappers around
 * glibc's that count into `nallocs`, so that calls from libtower are
 * counted too. Under AddressSanitizer, which brings its own allocator, it
 * defines NO_MALLOC_COUNT instead and the tests skip their counts. */
#ifndef TOWER_TESTS_MALLOC_COUNT_H
#define TOWER_TESTS_MALLOC_COUNT_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define NO_MALLOC_COUNT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_MALLOC_COUNT 1
#endif
#endif

#ifndef NO_MALLOC_COUNT
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static unsigned long nallocs;
void *malloc(size_t n) {
  nallocs++;
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
  nallocs++;
  return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
  nallocs++;
  return __libc_realloc(p, n);
}
void free(void *p) {
  __libc_free(p);
}
#endif

#endif
