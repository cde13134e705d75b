/* Monotonic time and jitter. */
#include "config.h"

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <tower/plugin.h>

#include "clock.h"

int twi_cond_init_mono(pthread_cond_t *c) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  int rc = pthread_cond_init(c, &a);
  pthread_condattr_destroy(&a);
  return -rc;
}

struct timespec twi_timespec(int64_t ns) {
  return (struct timespec){.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
}

int64_t tower_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t tower_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Jitter needs spread, not cryptographic quality: a shared splitmix64
 * sequence seeded from the clock. */
static _Atomic uint64_t rng_state;

int64_t twi_rand_below(int64_t range) {
  if (range <= 0)
    return 0;
  uint64_t s = atomic_fetch_add(&rng_state, 0x9e3779b97f4a7c15ULL);
  if (s == 0) {
    uint64_t seed = (uint64_t)tower_mono_ns() ^ (uint64_t)tower_now();
    atomic_compare_exchange_strong(&rng_state, &(uint64_t){0x9e3779b97f4a7c15ULL}, seed);
    s = seed;
  }
  uint64_t z = s + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return (int64_t)(z % (uint64_t)range);
}
