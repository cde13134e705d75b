/* The agent's own metrics (tower_agent_stats, for inputs.internal), with the
 * names of Telegraf's inputs.internal where they exist.
 *
 * Per-instance counters live in each tower_ctx; when an instance is freed
 * (a reload, shutdown) its counts move into the retired totals, so the
 * agent totals never go backwards.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
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

static int add_inputs(tower_acc *acc, twi_pipeline *pl, uint64_t *gathered, uint64_t *errors) {
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
    tower_acc_add(acc, m);
  }
  return 0;
}

typedef struct {
  uint64_t written, dropped, rejected, errors;
} output_totals;

static int add_outputs(tower_acc *acc, twi_pipeline *pl, output_totals *t) {
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
    tower_acc_add(acc, m);
  }
  return 0;
}

/* Telegraf's internal_aggregate, plus what bounds an aggregator's memory:
 * the series it holds and the metrics it refused beyond max_series. */
static int add_aggregators(tower_acc *acc, twi_pipeline *pl) {
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
    tower_acc_add(acc, m);
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

static int add_process(tower_acc *acc) {
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
  return tower_acc_add(acc, m);
}

int tower_agent_stats(tower_acc *acc, unsigned flags) {
  twi_pipeline *pl = twi_acc_pipeline(acc);
  if (!pl)
    return -EINVAL;
  uint64_t gathered = load(&retired.gathered), gather_errors = load(&retired.gather_errors);
  output_totals t = {load(&retired.written), load(&retired.dropped), load(&retired.rejected),
                     load(&retired.write_errors)};
  if (add_inputs(acc, pl, &gathered, &gather_errors) || add_outputs(acc, pl, &t) ||
      add_aggregators(acc, pl))
    return -ENOMEM;
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
  int rc = tower_acc_add(acc, m);
  if (rc == 0 && (flags & TOWER_STATS_PROCESS))
    rc = add_process(acc);
  return rc;
}
