/* Aggregators: windows of `period`, what gets into them, and the push at
 * each window's end, with Telegraf's rules (models/running_aggregator.go):
 *
 * - a metric is offered to every aggregator after the processors; the
 *   aggregator's selectors decide, its modifiers apply to a copy;
 * - it is added when its time lies in [start - grace, end + delay]; one
 *   outside is counted (metrics_dropped of internal_aggregate) and logged
 *   at debug level, never mixed into another window;
 * - at end + delay the plugin pushes its summaries (stamped with the
 *   window's end unless it set a time), then resets, and the window moves
 *   on by one period;
 * - drop_original keeps the originals the aggregator picked from the
 *   outputs.
 *
 * One mutex per aggregator guards the window and the plugin's state: add
 * runs on the committing input's thread, push on the aggregator's thread.
 * The summaries are delivered after the mutex is released, so a slow
 * fan-out never holds up the inputs' adds.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

struct twi_aggr_rt {
  pthread_mutex_t lock; /* the window and the plugin's state */
  pthread_cond_t cond;  /* wakes the thread to stop */
  int64_t start, end;   /* current window [start, end) */
  twi_pipeline *pl;     /* while the thread runs; the pipeline outlives it */
  pthread_t thread;
  bool running, stop;
};

int twi_aggr_create(tower_ctx *a) {
  twi_aggr_rt *rt = calloc(1, sizeof *rt);
  if (!rt)
    return -ENOMEM;
  pthread_mutex_init(&rt->lock, NULL);
  twi_cond_init_mono(&rt->cond);
  a->aggr = rt;
  twi_aggr_begin(a, tower_now());
  return 0;
}

void twi_aggr_destroy(tower_ctx *a) {
  twi_aggr_rt *rt = a->aggr;
  if (!rt)
    return;
  twi_aggr_stop(a);
  pthread_mutex_destroy(&rt->lock);
  pthread_cond_destroy(&rt->cond);
  free(rt);
  a->aggr = NULL;
}

void twi_aggr_set_window(tower_ctx *a, int64_t start) {
  twi_aggr_rt *rt = a->aggr;
  pthread_mutex_lock(&rt->lock);
  rt->start = start;
  rt->end = start + a->interval;
  pthread_mutex_unlock(&rt->lock);
}

/* Telegraf's updateWindow: with round_interval the window ends at the
 * next multiple of the period after `now`. Returns its start. */
static int64_t window_for(const tower_ctx *a, int64_t now) {
  int64_t p = a->interval;
  if (!a->round_interval)
    return now;
  int64_t r = now % p;
  return now - (r < 0 ? r + p : r);
}

void twi_aggr_begin(tower_ctx *a, int64_t now) {
  twi_aggr_set_window(a, window_for(a, now));
}

/* The metric as the aggregator sees it: `m` itself, or a modified copy in
 * *copy. NULL when the modifiers leave no field. */
static const tower_metric *selected_view(tower_ctx *a, const tower_metric *m, tower_metric **copy) {
  *copy = NULL;
  if (twi_selector_would_modify(&a->sel, m)) {
    *copy = tower_metric_clone(m);
    if (!*copy || !twi_selector_modify(&a->sel, *copy))
      return NULL;
    m = *copy;
  }
  return tower_metric_field_count(m) ? m : NULL;
}

static void add_in_window(tower_ctx *a, const tower_metric *m) {
  twi_aggr_rt *rt = a->aggr;
  int64_t t = tower_metric_time(m);
  pthread_mutex_lock(&rt->lock);
  int64_t start = rt->start, end = rt->end;
  if (t < start - a->grace || t > end + a->delay) {
    pthread_mutex_unlock(&rt->lock);
    atomic_fetch_add(&a->stats.dropped, 1);
    tower_log(a, TOWER_LOG_DEBUG,
              "metric %s at %lld is outside the window [%lld, %lld) (grace %lld ns, delay %lld "
              "ns): not aggregated",
              tower_metric_name(m), (long long)t, (long long)start, (long long)end,
              (long long)a->grace, (long long)a->delay);
    return;
  }
  int rc = a->plugin->desc.add(a->state, m);
  pthread_mutex_unlock(&rt->lock);
  atomic_fetch_add(&a->stats.metrics, 1);
  if (rc < 0) {
    atomic_fetch_add(&a->stats.errors, 1);
    tower_log(a, TOWER_LOG_ERROR, "add failed: %s; the metric is not in this window's summary",
              strerror(-rc));
  }
}

bool twi_aggr_add(tower_ctx *a, const tower_metric *m) {
  if (!twi_selector_select(&a->sel, m))
    return false;
  tower_metric *copy;
  const tower_metric *view = selected_view(a, m, &copy);
  if (view)
    add_in_window(a, view);
  else
    atomic_fetch_add(&a->stats.filtered, 1);
  tower_metric_free(copy);
  return a->drop_original;
}

void twi_aggr_push(tower_ctx *a, twi_pipeline *pl) {
  twi_aggr_rt *rt = a->aggr;
  pthread_mutex_lock(&rt->lock);
  int64_t t0 = tower_mono_ns();
  uint64_t reported = atomic_load(&a->stats.errors);
  tower_acc *acc = twi_acc_new_collector(a, rt->end);
  int rc = acc ? a->plugin->desc.push(a->state, acc) : -ENOMEM;
  if (a->plugin->desc.reset)
    a->plugin->desc.reset(a->state);
  rt->start = rt->end;
  rt->end += a->interval;
  pthread_mutex_unlock(&rt->lock);
  /* One error per failed push, unless the plugin reported it with
   * tower_acc_error() (as for processors). */
  if (rc < 0 && atomic_load(&a->stats.errors) == reported) {
    atomic_fetch_add(&a->stats.errors, 1);
    tower_log(a, TOWER_LOG_ERROR, "push failed: %s; %s", strerror(-rc),
              acc ? "what it added is delivered" : "this window's summary is lost");
  }
  size_t n = 0;
  tower_metric **ms = acc ? twi_acc_take(acc, &n) : NULL;
  twi_acc_free(acc);
  atomic_store(&a->stats.last_time_ns, tower_mono_ns() - t0);
  atomic_fetch_add(&a->stats.pushed, n);
  if (n)
    twi_pipeline_deliver(pl, a, ms, n);
  free(ms);
}

/* ---- the push thread ---- */

/* Pushes every window whose end + delay has passed. After a long stall
 * (a suspended machine, a clock step) it starts again from the current
 * window instead of pushing every empty window in between. */
static void push_due(tower_ctx *a) {
  twi_aggr_rt *rt = a->aggr;
  int64_t now = tower_now();
  if (rt->end + a->delay + a->interval < now) {
    rt->start = window_for(a, now - a->interval);
    rt->end = rt->start + a->interval;
  }
  while (!rt->stop && rt->end + a->delay <= tower_now()) {
    pthread_mutex_unlock(&rt->lock);
    twi_aggr_push(a, rt->pl);
    pthread_mutex_lock(&rt->lock);
  }
}

static void *aggr_main(void *arg) {
  tower_ctx *a = arg;
  twi_aggr_rt *rt = a->aggr;
  pthread_mutex_lock(&rt->lock);
  while (!rt->stop) {
    int64_t wait = rt->end + a->delay - tower_now();
    if (wait > 0) {
      struct timespec ts = twi_timespec(tower_mono_ns() + wait);
      pthread_cond_timedwait(&rt->cond, &rt->lock, &ts);
      continue;
    }
    push_due(a);
  }
  pthread_mutex_unlock(&rt->lock);
  return NULL;
}

int twi_aggr_start(tower_ctx *a, twi_pipeline *pl) {
  twi_aggr_rt *rt = a->aggr;
  if (rt->running)
    return 0;
  rt->pl = pl;
  rt->stop = false;
  twi_aggr_begin(a, tower_now());
  int rc = pthread_create(&rt->thread, NULL, aggr_main, a);
  if (rc) {
    tower_log(a, TOWER_LOG_ERROR, "cannot start the push thread: %s", strerror(rc));
    return -rc;
  }
  rt->running = true;
  return 0;
}

void twi_aggr_stop(tower_ctx *a) {
  twi_aggr_rt *rt = a->aggr;
  if (!rt || !rt->running)
    return;
  pthread_mutex_lock(&rt->lock);
  rt->stop = true;
  pthread_cond_signal(&rt->cond);
  pthread_mutex_unlock(&rt->lock);
  pthread_join(rt->thread, NULL);
  rt->running = false;
}

/* ---- SDK ---- */

void tower_ctx_aggregate_series(tower_ctx *ctx, uint64_t held, uint64_t refused) {
  atomic_store(&ctx->stats.series, held);
  if (refused)
    atomic_fetch_add(&ctx->stats.refused, refused);
}
