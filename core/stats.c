/* The agent's own metrics (tower_agent_stats, for inputs.internal), with the
 * names of Telegraf's inputs.internal where they exist.
 *
 * Per-instance counters live in each tower_ctx; when an instance is freed
 * (a reload, shutdown) its counts move into the retired totals, so the
 * agent totals never go backwards.
 *
 * The same metrics reach an input's accumulator (tower_agent_stats) or a
 * callback (tower_agent_stats_each, for outputs.health). The callback
 * reports on the pipeline the agent runs, which the pipeline registers here
 * when it starts (or takes over in a reload) and withdraws when it stops; a
 * reference keeps it alive while a report reads it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"
#include "pipeline.h"

static struct {
  _Atomic uint64_t gathered, written, dropped, rejected, gather_errors, write_errors;
} retired;

void twi_stats_retire(const tower_ctx *ctx) {
  const twi_stats *st = &ctx->stats;
  if (ctx->kind == TOWER_INPUT) {
    atomic_fetch_add(&retired.gathered, atomic_load(&st->metrics));
    atomic_fetch_add(&retired.gather_errors, atomic_load(&st->errors));
  } else if (ctx->kind == TOWER_OUTPUT) {
    atomic_fetch_add(&retired.written, atomic_load(&st->written));
    atomic_fetch_add(&retired.dropped, atomic_load(&st->dropped));
    atomic_fetch_add(&retired.rejected, atomic_load(&st->rejected));
    atomic_fetch_add(&retired.write_errors, atomic_load(&st->errors));
  }
}

static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static twi_pipeline *running; /* holds a reference */

void twi_stats_set_running(twi_pipeline *pl) {
  twi_pipeline_ref(pl);
  pthread_mutex_lock(&running_lock);
  twi_pipeline *old = running;
  running = pl;
  pthread_mutex_unlock(&running_lock);
  twi_pipeline_free(old);
}

void twi_stats_unset_running(twi_pipeline *pl) {
  pthread_mutex_lock(&running_lock);
  twi_pipeline *old = running == pl ? pl : NULL;
  if (old)
    running = NULL;
  pthread_mutex_unlock(&running_lock);
  twi_pipeline_free(old);
}

static twi_pipeline *running_ref(void) {
  pthread_mutex_lock(&running_lock);
  twi_pipeline *pl = running;
  if (pl)
    twi_pipeline_ref(pl);
  pthread_mutex_unlock(&running_lock);
  return pl;
}

void twi_stats_outcome(tower_ctx *ctx, bool ok) {
  if (ok) {
    atomic_store(&ctx->stats.errors_in_row, 0);
    atomic_store(&ctx->stats.last_ok_ns, tower_now());
  } else {
    atomic_fetch_add(&ctx->stats.errors_in_row, 1);
  }
}

void twi_stats_started(tower_ctx *ctx) {
  atomic_store(&ctx->stats.started_ns, tower_now());
}

/* Where the metrics go: an input's accumulator, or a callback that only
 * reads each one (freed after the call). */
typedef struct sink {
  tower_acc *acc;
  tower_stats_fn fn;
  void *arg;
  unsigned flags;
} sink;

static int emit(const sink *k, tower_metric *m) {
  if (k->acc)
    return tower_acc_add(k->acc, m);
  int rc = k->fn(k->arg, m);
  tower_metric_free(m);
  return rc;
}

/* The fields health checks read (TOWER_STATS_HEALTH). */
static void add_health(tower_metric *m, const twi_stats *st, bool output) {
  int64_t started = atomic_load(&st->started_ns), last = atomic_load(&st->last_ok_ns);
  tower_metric_add_bool(m, "started", started != 0);
  tower_metric_add_uint(m, "consecutive_errors", atomic_load(&st->errors_in_row));
  if (output)
    tower_metric_add_int(m, "last_write_ns", last ? last : started);
  else
    tower_metric_add_int(m, "last_success_ns", last);
}

static tower_metric *instance_metric(const char *name, const tower_ctx *ctx, const char *tag) {
  tower_metric *m = tower_metric_new(name, TOWER_TIME_UNSET);
  if (m) {
    tower_metric_add_tag(m, tag, ctx->plugin->desc.name);
    if (ctx->alias)
      tower_metric_add_tag(m, "alias", ctx->alias);
  }
  return m;
}

static uint64_t load(const _Atomic uint64_t *v) {
  return atomic_load(v);
}

static int add_inputs(const sink *k, twi_pipeline *pl, uint64_t *gathered, uint64_t *errors) {
  for (size_t i = 0; i < pl->ninputs; i++) {
    const tower_ctx *in = pl->inputs[i];
    if (!in)
      continue;
    const twi_stats *st = &in->stats;
    *gathered += load(&st->metrics);
    *errors += load(&st->errors);
    tower_metric *m = instance_metric("internal_gather", in, "input");
    if (!m)
      return -ENOMEM;
    tower_metric_add_int(m, "gather_time_ns", atomic_load(&st->last_time_ns));
    tower_metric_add_uint(m, "metrics_gathered", load(&st->metrics));
    tower_metric_add_uint(m, "errors", load(&st->errors));
    tower_metric_add_uint(m, "gather_overruns", load(&st->overruns));
    if (k->flags & TOWER_STATS_HEALTH)
      add_health(m, st, false);
    int rc = emit(k, m);
    if (rc < 0 && !k->acc)
      return rc; /* the callback asked to stop */
  }
  return 0;
}

typedef struct {
  uint64_t written, dropped, rejected, errors;
} output_totals;

/* An output with buffer_strategy = "disk": what its disk buffer holds, what
 * it replayed at start, the damaged records it skipped and the metrics a
 * full disk made it keep in memory. */
static void add_disk_fields(tower_metric *m, const twi_stats *st) {
  tower_metric_add_uint(m, "buffer_disk_bytes", load(&st->disk_bytes));
  tower_metric_add_uint(m, "buffer_disk_records", load(&st->disk_records));
  tower_metric_add_uint(m, "buffer_replayed", load(&st->disk_replayed));
  tower_metric_add_uint(m, "buffer_corrupt", load(&st->disk_corrupt));
  tower_metric_add_uint(m, "buffer_unsaved", load(&st->disk_unsaved));
}

static int add_outputs(const sink *k, twi_pipeline *pl, output_totals *t) {
  for (size_t i = 0; i < pl->noutputs; i++) {
    const tower_ctx *o = pl->outputs[i];
    if (!o)
      continue;
    const twi_stats *st = &o->stats;
    t->written += load(&st->written);
    t->dropped += load(&st->dropped);
    t->rejected += load(&st->rejected);
    t->errors += load(&st->errors);
    tower_metric *m = instance_metric("internal_write", o, "output");
    if (!m)
      return -ENOMEM;
    tower_metric_add_int(m, "buffer_size", atomic_load(&st->buffer_size));
    tower_metric_add_int(m, "buffer_limit", o->buffer_limit);
    tower_metric_add_uint(m, "metrics_added", load(&st->metrics));
    tower_metric_add_uint(m, "metrics_written", load(&st->written));
    tower_metric_add_uint(m, "metrics_dropped", load(&st->dropped));
    tower_metric_add_uint(m, "metrics_filtered", load(&st->filtered));
    tower_metric_add_uint(m, "metrics_rejected", load(&st->rejected));
    tower_metric_add_int(m, "write_time_ns", atomic_load(&st->last_time_ns));
    tower_metric_add_uint(m, "errors", load(&st->errors));
    if (o->buffer.disk)
      add_disk_fields(m, st);
    if (k->flags & TOWER_STATS_HEALTH)
      add_health(m, st, true);
    int rc = emit(k, m);
    if (rc < 0 && !k->acc)
      return rc; /* the callback asked to stop */
  }
  return 0;
}

/* Telegraf's internal_aggregate, plus what bounds an aggregator's memory:
 * the series it holds and the metrics it refused beyond max_series. */
static int add_aggregators(const sink *k, twi_pipeline *pl) {
  for (size_t i = 0; i < pl->naggregators; i++) {
    const tower_ctx *a = pl->aggregators[i];
    const twi_stats *st = &a->stats;
    tower_metric *m = instance_metric("internal_aggregate", a, "aggregator");
    if (!m)
      return -ENOMEM;
    tower_metric_add_uint(m, "metrics_added", load(&st->metrics));
    tower_metric_add_uint(m, "metrics_pushed", load(&st->pushed));
    tower_metric_add_uint(m, "metrics_filtered", load(&st->filtered));
    tower_metric_add_uint(m, "metrics_dropped", load(&st->dropped));
    tower_metric_add_uint(m, "metrics_refused", load(&st->refused));
    tower_metric_add_uint(m, "series", load(&st->series));
    tower_metric_add_int(m, "push_time_ns", atomic_load(&st->last_time_ns));
    tower_metric_add_uint(m, "errors", load(&st->errors));
    int rc = emit(k, m);
    if (rc < 0 && !k->acc)
      return rc; /* the callback asked to stop */
  }
  return 0;
}

/* "Key:   123 kB" from /proc/self/status, in bytes (or the bare count). */
static bool status_value(const char *text, const char *key, uint64_t *out) {
  const char *p = strstr(text, key);
  unsigned long long v;
  char unit[4] = "";
  if (!p || sscanf(p + strlen(key), " %llu %3[kB]", &v, unit) < 1)
    return false;
  *out = strcmp(unit, "kB") == 0 ? v * 1024 : v;
  return true;
}

static int add_process(const sink *k) {
  char text[4096];
  FILE *f = fopen("/proc/self/status", "r");
  size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
  if (f)
    fclose(f);
  text[n] = '\0';
  tower_metric *m = tower_metric_new("internal_process", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  uint64_t v;
  if (status_value(text, "VmRSS:", &v))
    tower_metric_add_uint(m, "rss_bytes", v);
  if (status_value(text, "VmSize:", &v))
    tower_metric_add_uint(m, "vms_bytes", v);
  if (status_value(text, "Threads:", &v))
    tower_metric_add_uint(m, "threads", v);
  unsigned long long utime, stime;
  f = fopen("/proc/self/stat", "r");
  /* After "(comm)" the fields are: state ppid ... utime(14) stime(15). */
  if (f && fgets(text, sizeof text, f) && strrchr(text, ')') &&
      sscanf(strrchr(text, ')') + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
             &utime, &stime) == 2) {
    double hz = (double)sysconf(_SC_CLK_TCK);
    tower_metric_add_float(m, "cpu_user_seconds", (double)utime / hz);
    tower_metric_add_float(m, "cpu_system_seconds", (double)stime / hz);
  }
  if (f)
    fclose(f);
  DIR *d = opendir("/proc/self/fd");
  if (d) {
    int64_t fds = 0;
    for (struct dirent *e; (e = readdir(d));)
      fds += e->d_name[0] != '.';
    closedir(d);
    tower_metric_add_int(m, "open_fds", fds - 1); /* not the directory handle itself */
  }
  return emit(k, m);
}

static int report(const sink *k, twi_pipeline *pl) {
  uint64_t gathered = load(&retired.gathered), gather_errors = load(&retired.gather_errors);
  output_totals t = {load(&retired.written), load(&retired.dropped), load(&retired.rejected),
                     load(&retired.write_errors)};
  int rc = add_inputs(k, pl, &gathered, &gather_errors);
  if (rc == 0)
    rc = add_outputs(k, pl, &t);
  if (rc == 0)
    rc = add_aggregators(k, pl);
  if (rc)
    return rc;
  tower_metric *m = tower_metric_new("internal_agent", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  tower_metric_add_tag(m, "version", PACKAGE_VERSION);
  tower_metric_add_uint(m, "metrics_gathered", gathered);
  tower_metric_add_uint(m, "metrics_written", t.written);
  tower_metric_add_uint(m, "metrics_dropped", t.dropped);
  tower_metric_add_uint(m, "metrics_rejected", t.rejected);
  tower_metric_add_uint(m, "gather_errors", gather_errors);
  tower_metric_add_uint(m, "write_errors", t.errors);
  rc = emit(k, m);
  if (rc == 0 && (k->flags & TOWER_STATS_PROCESS))
    rc = add_process(k);
  return rc;
}

int tower_agent_stats(tower_acc *acc, unsigned flags) {
  twi_pipeline *pl = twi_acc_pipeline(acc);
  if (!pl)
    return -EINVAL;
  sink k = {.acc = acc, .flags = flags};
  return report(&k, pl);
}

int tower_agent_stats_each(unsigned flags, tower_stats_fn fn, void *arg) {
  twi_pipeline *pl = running_ref();
  if (!pl)
    return -ESRCH;
  sink k = {.fn = fn, .arg = arg, .flags = flags};
  int rc = report(&k, pl);
  twi_pipeline_free(pl);
  return rc;
}
