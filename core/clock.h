/* Time and jitter primitives (clock.c). */
#ifndef TOWER_CLOCK_H
#define TOWER_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* A condition variable whose timed waits use CLOCK_MONOTONIC, so that a
 * wall-clock jump neither wakes nor wedges a schedule. 0 or -errno. */
int twi_cond_init_mono(pthread_cond_t *c);
/* ns as a timespec (for pthread_cond_timedwait, nanosleep). */
struct timespec twi_timespec(int64_t ns);
/* Uniform in [0, range) (0 when range <= 0). Thread-safe. */
int64_t twi_rand_below(int64_t range);

#endif
