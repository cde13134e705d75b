/* Inputs: one thread per polled input, on its own schedule.
 *
 * With round_interval the ticks fall on multiples of the interval since the
 * epoch (plus collection_offset), like Telegraf. Each gather waits a random
 * collection_jitter after its tick. A gather that runs past the next tick is
 * logged and the missed ticks are skipped, never stacked; it delays only its
 * own input. A gather that never returns is abandoned at shutdown.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline.h"

struct twi_input_rt {
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_t thread;
  bool started, stop, done, service;
  bool abandoned; /* the stop gave up waiting: the thread cleans up after itself */
  tower_acc *acc;
};

/* ---- one-shot runs (--test, --once) ---- */

/* A signal cancels what is left of a one-shot run: the sleeps of --test-wait
 * and between two samples end at once (the agent calls twi_run_cancel). */
static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool cancelled;
} run = {.lock = PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t run_once_init = PTHREAD_ONCE_INIT;

static void init_run_cond(void) {
  twi_cond_init_mono(&run.cond); /* deadlines below are CLOCK_MONOTONIC */
}

void twi_run_cancel(void) {
  pthread_once(&run_once_init, init_run_cond);
  pthread_mutex_lock(&run.lock);
  run.cancelled = true;
  pthread_cond_broadcast(&run.cond);
  pthread_mutex_unlock(&run.lock);
}

bool twi_run_sleep(int64_t ns) {
  struct timespec ts = twi_timespec(tower_mono_ns() + ns);
  pthread_once(&run_once_init, init_run_cond);
  pthread_mutex_lock(&run.lock);
  while (!run.cancelled && pthread_cond_timedwait(&run.cond, &run.lock, &ts) != ETIMEDOUT)
    ;
  bool go_on = !run.cancelled;
  pthread_mutex_unlock(&run.lock);
  return go_on;
}

static int64_t real_ns(void) {
  return tower_now();
}

/* The first tick at or after `now` (wall clock). */
static int64_t first_tick(const tower_ctx *in, int64_t now) {
  if (!in->round_interval)
    return now + in->offset;
  int64_t t = now - (now % in->interval) + in->offset;
  while (t < now)
    t += in->interval;
  return t;
}

/* Sleeps until wall-clock `when` or until asked to stop. True to go on. */
static bool sleep_until(tower_ctx *in, int64_t when) {
  twi_input_rt *rt = in->in;
  pthread_mutex_lock(&rt->lock);
  while (!rt->stop) {
    int64_t left = when - real_ns();
    if (left <= 0)
      break;
    /* Wait on the monotonic clock so that a wall-clock jump does not wedge
     * the schedule; re-check the wall clock when it ends. */
    int64_t until = tower_mono_ns() + left;
    twi_heartbeat(in, until);
    struct timespec ts = twi_timespec(until);
    pthread_cond_timedwait(&rt->wake, &rt->lock, &ts);
  }
  bool go = !rt->stop;
  pthread_mutex_unlock(&rt->lock);
  return go;
}

static void gather_once(tower_ctx *in, tower_acc *acc, int64_t tick) {
  twi_acc_begin(acc, tick);
  int64_t t0 = tower_mono_ns();
  twi_heartbeat(in, t0);
  uint64_t reported = twi_acc_errors(acc), before = atomic_load(&in->stats.metrics);
  int rc = in->plugin->desc.gather(in->state, acc);
  int64_t took = tower_mono_ns() - t0;
  atomic_store(&in->stats.last_time_ns, took);
  uint64_t n = atomic_load(&in->stats.metrics) - before;
  tower_log(in, TOWER_LOG_DEBUG, "gathered %llu metric%s in %.1f ms", (unsigned long long)n,
            twi_s(n), (double)took / 1e6);
  twi_stats_outcome(in, rc >= 0 && twi_acc_errors(acc) == reported);
  /* A failed gather is one error, reported here unless the plugin reported
   * it already (plugin.h); what it added before failing is still committed. */
  if (rc < 0 && twi_acc_errors(acc) == reported)
    tower_acc_error(acc, "gather failed: %s", strerror(-rc));
  tower_acc_commit(acc);
}

/* A service input whose start fails does not run, and stop is not called
 * (plugin.h). One error, reported here unless the plugin reported it. */
static int start_service(tower_ctx *in, tower_acc *acc) {
  uint64_t reported = twi_acc_errors(acc);
  int rc = in->plugin->desc.start(in->state, acc);
  if (rc >= 0)
    return 0;
  if (twi_acc_errors(acc) == reported)
    tower_acc_error(acc, "start failed: %s; the input does not run until the next reload",
                    strerror(-rc));
  else
    tower_log(in, TOWER_LOG_ERROR, "start failed; the input does not run until the next reload");
  return rc;
}

static void free_rt(tower_ctx *in);

static void *input_main(void *arg) {
  tower_ctx *in = arg;
  twi_input_rt *rt = in->in;
  int64_t tick = first_tick(in, real_ns());
  while (sleep_until(in, tick + twi_rand_below(in->jitter))) {
    gather_once(in, rt->acc, tick);
    int64_t now = real_ns(), next = tick + in->interval;
    if (now >= next) {
      int64_t missed = (now - tick) / in->interval;
      atomic_fetch_add(&in->stats.overruns, 1);
      tower_log(in, TOWER_LOG_WARN,
                "gather took %.3fs, longer than the %.3fs interval; skipping %lld collection%s",
                (double)(now - tick) / 1e9, (double)in->interval / 1e9, (long long)missed,
                twi_s((unsigned long long)missed));
      next = tick + (missed + 1) * in->interval;
    }
    tick = next;
  }
  twi_heartbeat_end(in);
  pthread_mutex_lock(&rt->lock);
  rt->done = true;
  bool abandoned = rt->abandoned;
  pthread_cond_broadcast(&rt->wake);
  pthread_mutex_unlock(&rt->lock);
  if (abandoned) { /* the gather that outlived the shutdown timeout returned */
    tower_log(in, TOWER_LOG_INFO, "the gather abandoned at the shutdown timeout has returned");
    free_rt(in);
    twi_instance_unref(in);
  }
  return NULL;
}

static bool is_service(const tower_ctx *in) {
  return in->plugin->desc.start && in->plugin->desc.stop && !in->plugin->desc.gather;
}

bool twi_input_is_service(const tower_ctx *in) {
  return is_service(in);
}

int twi_input_start(tower_ctx *in, twi_pipeline *pl) {
  twi_input_rt *rt = calloc(1, sizeof *rt);
  if (!rt)
    return -ENOMEM;
  rt->service = is_service(in);
  rt->acc = twi_acc_new_input(in, pl, rt->service);
  if (!rt->acc) {
    free(rt);
    return -ENOMEM;
  }
  pthread_mutex_init(&rt->lock, NULL);
  twi_cond_init_mono(&rt->wake);
  in->in = rt;
  int rc;
  if (rt->service) {
    rc = start_service(in, rt->acc);
  } else {
    rc = -pthread_create(&rt->thread, NULL, input_main, in);
    if (rc < 0)
      tower_log(in, TOWER_LOG_ERROR, "cannot start the input thread: %s", strerror(-rc));
  }
  rt->started = rc == 0;
  if (rt->started)
    twi_stats_started(in);
  return rc;
}

bool twi_input_running(const tower_ctx *in) {
  return in->in && in->in->started;
}

void twi_input_hand_over(tower_ctx *in, twi_pipeline *pl) {
  twi_acc_hand_over(in->in->acc, pl);
}

static void free_rt(tower_ctx *in) {
  twi_input_rt *rt = in->in;
  twi_acc_free(rt->acc);
  pthread_mutex_destroy(&rt->lock);
  pthread_cond_destroy(&rt->wake);
  free(rt);
  in->in = NULL;
}

bool twi_input_stop(tower_ctx *in, int64_t deadline_mono) {
  twi_input_rt *rt = in->in;
  if (!rt)
    return true;
  atomic_store(&in->stopping, true);
  if (!rt->started) {
    free_rt(in);
    return true;
  }
  if (rt->service) {
    in->plugin->desc.stop(in->state);
    tower_acc_commit(rt->acc); /* whatever the service added last */
    free_rt(in);
    return true;
  }
  pthread_mutex_lock(&rt->lock);
  rt->stop = true;
  pthread_cond_broadcast(&rt->wake);
  struct timespec ts = twi_timespec(deadline_mono);
  while (!rt->done && pthread_cond_timedwait(&rt->wake, &rt->lock, &ts) != ETIMEDOUT)
    ;
  bool done = rt->done;
  if (!done) {
    rt->abandoned = true;
    twi_instance_ref(in); /* the thread's, dropped when the gather returns */
    pthread_detach(rt->thread);
  }
  pthread_mutex_unlock(&rt->lock);
  if (!done) {
    tower_log(in, TOWER_LOG_ERROR,
              "gather still running when the shutdown timeout ended; abandoning it");
    return false;
  }
  pthread_join(rt->thread, NULL);
  free_rt(in);
  return true;
}

int twi_input_run_once(tower_ctx *in, twi_pipeline *pl, int64_t service_wait) {
  tower_acc *acc = twi_acc_new_input(in, pl, is_service(in));
  if (!acc)
    return -ENOMEM;
  if (is_service(in)) {
    if (start_service(in, acc) == 0) {
      twi_run_sleep(service_wait);
      in->plugin->desc.stop(in->state);
      tower_acc_commit(acc);
    }
  } else {
    if (in->plugin->desc.flags & TOWER_PLUGIN_TWO_SAMPLES) {
      twi_acc_set_discard(acc, true);
      gather_once(in, acc, real_ns());
      twi_acc_set_discard(acc, false);
      if (twi_run_sleep(500000000LL))
        gather_once(in, acc, real_ns());
    } else {
      gather_once(in, acc, real_ns());
    }
  }
  int errors = (int)twi_acc_errors(acc);
  twi_acc_free(acc);
  return errors;
}
