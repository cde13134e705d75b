/* The watchdog pinger (watchdog.h).
 *
 * What "alive" means:
 * - the agent loop: waiting for signals, or handling one (a reload) for
 *   less than the limit it announced (twi_watchdog_busy);
 * - an input's schedule thread and an output's flush thread: back from
 *   each wait and each plugin call within its stall_after (pipeline.c:
 *   three intervals, at least shutdown_timeout), as their heartbeats say
 *   (twi_pipeline_stalled). Service inputs run threads of their own and
 *   are their own business, as are aggregators.
 * One that is not alive stops the pings (logged once, and shown in the
 * unit's status); systemd kills and restarts the agent WatchdogSec after
 * the last ping. If it comes back in time the pings resume.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log_internal.h"
#include "notify.h"
#include "units.h"
#include "watchdog.h"

struct twi_watchdog {
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_t thread;
  int64_t every; /* WATCHDOG_USEC / 2, in ns */
  bool stop;
  twi_pipeline *pl;   /* watched while the agent loop waits; NULL while busy */
  int64_t busy_until; /* monotonic: the agent loop's own deadline while busy */
  bool stalled;       /* the last check failed (logged once per stall) */
};

/* What is not alive at `now`, written into msg; false when all is. Called
 * with the lock held. */
static bool find_stall(const twi_watchdog *w, int64_t now, char *msg, size_t size) {
  char d[32];
  if (!w->pl) {
    if (now <= w->busy_until)
      return false;
    twi_fmt_duration(d, sizeof d, now - w->busy_until);
    snprintf(msg, size, "the agent loop is %s past the time allowed for a reload", d);
    return true;
  }
  const tower_ctx *c = twi_pipeline_stalled(w->pl, now);
  if (!c)
    return false;
  twi_fmt_duration(d, sizeof d, atomic_load(&c->stall_after));
  snprintf(msg, size,
           c->kind == TOWER_INPUT
               ? "%s: its schedule is stalled: a gather has run longer than %s, or the thread "
                 "did not wake up"
               : "%s: its flush thread is stalled: a write has run longer than %s, or the "
                 "thread did not wake up",
           c->id, d);
  return true;
}

static void check_and_ping(twi_watchdog *w) {
  char msg[512];
  bool stalled = find_stall(w, tower_mono_ns(), msg, sizeof msg);
  if (!stalled) {
    if (w->stalled) {
      tower_log(NULL, TOWER_LOG_WARN, "watchdog: everything is alive again; pings resume");
      twi_notify_status("running");
    }
    twi_notify_watchdog();
  } else if (!w->stalled) {
    tower_log(NULL, TOWER_LOG_ERROR,
              "watchdog: %s; pings to the service manager stop, so that it restarts tower "
              "(WatchdogSec=) unless this recovers first",
              msg);
    char status[600];
    snprintf(status, sizeof status, "stalled: %s", msg);
    twi_notify_status(status);
  }
  w->stalled = stalled;
}

static void *watchdog_main(void *arg) {
  twi_watchdog *w = arg;
  pthread_mutex_lock(&w->lock);
  int64_t next = tower_mono_ns();
  while (!w->stop) {
    if (tower_mono_ns() >= next) {
      check_and_ping(w);
      next += w->every;
      if (next < tower_mono_ns()) /* late (a suspended machine): no burst */
        next = tower_mono_ns() + w->every;
    }
    struct timespec ts = twi_timespec(next);
    pthread_cond_timedwait(&w->wake, &w->lock, &ts);
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

twi_watchdog *twi_watchdog_start(void) {
  int64_t timeout = twi_notify_watchdog_ns();
  if (timeout <= 0)
    return NULL;
  twi_watchdog *w = calloc(1, sizeof *w);
  if (!w) {
    tower_log(NULL, TOWER_LOG_ERROR, "watchdog: out of memory; no pings will be sent");
    return NULL;
  }
  w->every = timeout / 2 > 0 ? timeout / 2 : 1;
  w->busy_until = INT64_MAX; /* starting: systemd's start timeout applies */
  pthread_mutex_init(&w->lock, NULL);
  twi_cond_init_mono(&w->wake);
  int rc = pthread_create(&w->thread, NULL, watchdog_main, w);
  if (rc) {
    tower_log(NULL, TOWER_LOG_ERROR, "watchdog: cannot start its thread: %s; no pings will be sent",
              strerror(rc));
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return NULL;
  }
  char d[32];
  twi_fmt_duration(d, sizeof d, w->every);
  tower_log(NULL, TOWER_LOG_INFO, "watchdog: pinging the service manager every %s", d);
  return w;
}

void twi_watchdog_running(twi_watchdog *w, twi_pipeline *pl) {
  if (!w)
    return;
  pthread_mutex_lock(&w->lock);
  w->pl = pl;
  pthread_mutex_unlock(&w->lock);
}

void twi_watchdog_busy(twi_watchdog *w, int64_t limit) {
  if (!w)
    return;
  int64_t now = tower_mono_ns();
  pthread_mutex_lock(&w->lock);
  w->pl = NULL;
  w->busy_until = limit > INT64_MAX - now ? INT64_MAX : now + limit;
  pthread_mutex_unlock(&w->lock);
}

void twi_watchdog_stop(twi_watchdog *w) {
  if (!w)
    return;
  pthread_mutex_lock(&w->lock);
  w->stop = true;
  pthread_cond_broadcast(&w->wake);
  pthread_mutex_unlock(&w->lock);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->wake);
  pthread_mutex_destroy(&w->lock);
  free(w);
}
