/* outputs.health: the checks on the agent's own state.
 *
 * Every request reads the core's figures afresh through
 * tower_agent_stats_each (the internal_gather and internal_write metrics of
 * inputs.internal, with the health fields), so the answer is never older
 * than the request and costs nothing between probes. Each failed check
 * becomes one entry of "failures", naming the check, the plugin instance
 * and what to look at.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "health.h"

typedef struct walk {
  const health_limits *lim;
  bool ready; /* /ready: only whether everything started */
  int64_t now;
  json_t *failures;
  size_t inputs, outputs;
} walk;

static double num(const tower_metric *m, const char *key) {
  ptrdiff_t i = tower_metric_field_index(m, key);
  double v = 0;
  if (i >= 0)
    tower_metric_field_number(m, (size_t)i, &v);
  return v;
}

__attribute__((format(printf, 4, 5))) static void fail(walk *w, const char *check,
                                                       const char *plugin, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_array_append_new(
      w->failures, json_pack("{s:s, s:s, s:s}", "check", check, "plugin", plugin, "message", msg));
}

/* "outputs.influxdb" or "outputs.influxdb:alias", as in the log. */
static void instance_id(const tower_metric *m, const char *kind, const char *tag, char *buf,
                        size_t n) {
  const char *name = tower_metric_tag(m, tag), *alias = tower_metric_tag(m, "alias");
  snprintf(buf, n, "%s.%s%s%s", kind, name ? name : "?", alias ? ":" : "", alias ? alias : "");
}

static void check_output(walk *w, const tower_metric *m, const char *id) {
  const health_limits *l = w->lim;
  double size = num(m, "buffer_size"), limit = num(m, "buffer_limit");
  double errors = num(m, "consecutive_errors"), last = num(m, "last_write_ns");
  if (l->max_buffer_fill > 0 && limit > 0 && size / limit > l->max_buffer_fill)
    fail(w, "max_buffer_fill", id,
         "its buffer holds %.0f of %.0f metrics (%.0f%%), more than max_buffer_fill %g: the "
         "destination is down or slower than the inputs (see its errors in the log)",
         size, limit, 100 * size / limit, l->max_buffer_fill);
  if (l->max_write_age > 0 && size > 0 && last > 0 && w->now - last > (double)l->max_write_age)
    fail(w, "max_write_age", id,
         "no successful write for %.1fs with %.0f metrics waiting, longer than max_write_age "
         "%.1fs (see its errors in the log)",
         (w->now - last) / 1e9, size, (double)l->max_write_age / 1e9);
  if (l->max_failed_writes > 0 && errors >= (double)l->max_failed_writes)
    fail(w, "max_failed_writes", id,
         "its last %.0f writes failed (max_failed_writes %lld; see its errors in the log)", errors,
         (long long)l->max_failed_writes);
}

static void check_input(walk *w, const tower_metric *m, const char *id) {
  double errors = num(m, "consecutive_errors");
  if (w->lim->max_failed_gathers > 0 && errors >= (double)w->lim->max_failed_gathers)
    fail(w, "max_failed_gathers", id,
         "its last %.0f gathers failed (max_failed_gathers %lld; see its errors in the log)",
         errors, (long long)w->lim->max_failed_gathers);
}

static int visit(void *arg, const tower_metric *m) {
  walk *w = arg;
  const char *name = tower_metric_name(m);
  bool output = strcmp(name, "internal_write") == 0;
  if (!output && strcmp(name, "internal_gather") != 0)
    return 0;
  char id[256];
  instance_id(m, output ? "outputs" : "inputs", output ? "output" : "input", id, sizeof id);
  *(output ? &w->outputs : &w->inputs) += 1;
  if (w->ready) {
    if (num(m, "started") == 0)
      fail(w, "started", id,
           output ? "the output has not started yet"
                  : "the input has not started (yet): a "
                    "service input whose start failed runs "
                    "again only after a reload");
  } else if (output) {
    check_output(w, m, id);
  } else {
    check_input(w, m, id);
  }
  return 0;
}

json_t *health_agent_report(health_state *s, bool ready, bool *ok) {
  walk w = {.lim = &s->limits, .ready = ready, .now = tower_now(), .failures = json_array()};
  if (!w.failures)
    return NULL;
  int rc = tower_agent_stats_each(TOWER_STATS_HEALTH, visit, &w);
  if (rc == -ESRCH)
    fail(&w, "running", "agent",
         "the agent runs no pipeline now: it is starting, stopping, or restoring its "
         "configuration after a failed reload");
  else if (rc < 0)
    fail(&w, "running", "agent", "cannot read the agent's state: %s", strerror(-rc));
  json_t *metric_failures = ready ? NULL : health_metric_failures(s);
  if (metric_failures)
    json_array_extend(w.failures, metric_failures);
  json_decref(metric_failures);
  *ok = json_array_size(w.failures) == 0;
  return json_pack("{s:s, s:s, s:I, s:I, s:o}", "status", *ok ? "pass" : "fail", "check",
                   ready ? "ready" : "health", "inputs", (json_int_t)w.inputs, "outputs",
                   (json_int_t)w.outputs, "failures", w.failures);
}
