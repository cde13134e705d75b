/* outputs.health: an HTTP endpoint that answers 200 or 503 for the agent's
 * health, for orchestrators (systemd, Docker, Kubernetes probes). The
 * counterpart of Telegraf's outputs.health (README.md).
 *
 * Two kinds of checks decide:
 * - on the agent's own state, read from the core on every request
 *   (health_agent.c): outputs that stopped writing, buffers filling up,
 *   inputs or outputs failing again and again; and /ready until every
 *   input and output runs;
 * - on the metrics this output is given, as in Telegraf: compares (every
 *   metric with the field keeps within the bounds) and contains (some
 *   metric has the field), evaluated on each batch written and holding
 *   until the next.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "health.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

static const char *const cmp_names[CMP_COUNT] = {"gt", "ge", "lt", "le", "eq", "ne"};
static const char *const cmp_ops[CMP_COUNT] = {">", ">=", "<", "<=", "==", "!="};

#define BOUND(op, what)                                                                            \
  { .name = op, .type = TOWER_OPT_FLOAT, .help = "healthy only when the field is " what " this" }

static const tower_option compare_options[] = {
    {.name = "field",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_REQUIRED,
     .help = "field every metric that has it is compared with the bounds"},
    BOUND("gt", "greater than"),
    BOUND("ge", "greater than or equal to"),
    BOUND("lt", "less than"),
    BOUND("le", "less than or equal to"),
    BOUND("eq", "equal to"),
    BOUND("ne", "not equal to"),
    TOWER_OPTION_END,
};

static const tower_option contains_options[] = {
    {.name = "field",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_REQUIRED,
     .help = "healthy only when some metric of the last batch has this field"},
    TOWER_OPTION_END,
};

static const tower_option options[] = {
    {.name = "service_address",
     .type = TOWER_OPT_STRING,
     .default_value = "http://:8080",
     .help = "address to listen on: \"http://:8080\" (all interfaces), \"http://127.0.0.1:8080\", "
             "\"https://:8443\" (needs tls_cert), or \"host:port\"; port 0 picks a free one"},
    HTTPD_OPTIONS,
    {.name = "max_write_age",
     .type = TOWER_OPT_DURATION,
     .default_value = "0s",
     .help = "unhealthy when an output holding metrics has not written successfully for this "
             "long; 0s: no check"},
    {.name = "max_buffer_fill",
     .type = TOWER_OPT_FLOAT,
     .default_value = "0",
     .min = "0",
     .max = "1",
     .help = "unhealthy when an output's buffer holds more than this fraction of its "
             "metric_buffer_limit; 0: no check"},
    {.name = "max_failed_gathers",
     .type = TOWER_OPT_INT,
     .default_value = "0",
     .min = "0",
     .help = "unhealthy when an input failed this many gathers in a row; 0: no check"},
    {.name = "max_failed_writes",
     .type = TOWER_OPT_INT,
     .default_value = "0",
     .min = "0",
     .help = "unhealthy when an output failed this many writes in a row; 0: no check"},
    {.name = "compares",
     .type = TOWER_OPT_GROUPS,
     .help = "( { field = \"buffer_size\"; lt = 5000.0; }, ... ): Telegraf's compares, on the "
             "metrics given to this output",
     .children = compare_options},
    {.name = "contains",
     .type = TOWER_OPT_GROUPS,
     .help = "( { field = \"buffer_size\"; }, ... ): Telegraf's contains, on the metrics given "
             "to this output",
     .children = contains_options},
    TOWER_OPTION_END,
};

/* ---- compares and contains ---------------------------------------------- */

static bool within(const health_compare *c, double v, int *broken) {
  for (int k = 0; k < CMP_COUNT; k++) {
    double b = c->bound[k];
    bool ok = k == CMP_GT   ? v > b
              : k == CMP_GE ? v >= b
              : k == CMP_LT ? v < b
              : k == CMP_LE ? v <= b
              : k == CMP_EQ ? v == b
                            : v != b;
    if (c->has[k] && !ok) {
      *broken = k;
      return false;
    }
  }
  return true;
}

static json_t *failure(const char *check, const char *field, const char *message) {
  return json_pack("{s:s, s:s, s:s}", "check", check, "field", field, "message", message);
}

/* Telegraf's Compares.Check: the first metric that breaks a bound fails it;
 * metrics without the field do not count. */
static void run_compare(const health_compare *c, const tower_batch *b, json_t *out) {
  char msg[512];
  for (size_t i = 0; i < tower_batch_len(b); i++) {
    const tower_metric *m = tower_batch_at(b, i);
    ptrdiff_t f = tower_metric_field_index(m, c->field);
    double v;
    int k = 0;
    if (f < 0)
      continue;
    if (!tower_metric_field_number(m, (size_t)f, &v))
      snprintf(msg, sizeof msg, "%s: field %s is a string, not a number", tower_metric_name(m),
               c->field);
    else if (!within(c, v, &k))
      snprintf(msg, sizeof msg, "%s: %s = %.17g is not %s %.17g", tower_metric_name(m), c->field, v,
               cmp_ops[k], c->bound[k]);
    else
      continue;
    json_array_append_new(out, failure("compares", c->field, msg));
    return;
  }
}

static void run_contains(const char *field, const tower_batch *b, json_t *out) {
  for (size_t i = 0; i < tower_batch_len(b); i++)
    if (tower_metric_field_index(tower_batch_at(b, i), field) >= 0)
      return;
  char msg[512];
  snprintf(msg, sizeof msg, "no metric of the last batch has the field %s", field);
  json_array_append_new(out, failure("contains", field, msg));
}

static tower_write_result health_write(void *state, const tower_batch *b) {
  health_state *s = state;
  if (!s->ncompares && !s->ncontains)
    return TOWER_WRITE_OK;
  json_t *fails = json_array();
  if (!fails)
    return TOWER_WRITE_RETRY;
  for (size_t i = 0; i < s->ncompares; i++)
    run_compare(&s->compares[i], b, fails);
  for (size_t i = 0; i < s->ncontains; i++)
    run_contains(s->contains[i], b, fails);
  if (json_array_size(fails) == 0) {
    json_decref(fails);
    fails = NULL;
  }
  pthread_mutex_lock(&s->lock);
  json_t *old = s->metric_failures;
  s->metric_failures = fails;
  pthread_mutex_unlock(&s->lock);
  json_decref(old);
  return TOWER_WRITE_OK;
}

json_t *health_metric_failures(health_state *s) {
  pthread_mutex_lock(&s->lock);
  json_t *copy = s->metric_failures ? json_deep_copy(s->metric_failures) : json_array();
  pthread_mutex_unlock(&s->lock);
  return copy;
}

/* ---- configuration ------------------------------------------------------ */

static int load_compares(health_state *s, const tower_config *cfg) {
  const tower_setting *list = tower_config_setting(cfg, "compares");
  size_t n = list ? tower_setting_len(list) : 0;
  if (n && !(s->compares = calloc(n, sizeof *s->compares)))
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const tower_config *c = tower_setting_config(tower_setting_at(list, i));
    health_compare *hc = &s->compares[s->ncompares++];
    hc->field = tower_config_string(c, "field");
    for (int k = 0; k < CMP_COUNT; k++)
      if ((hc->has[k] = tower_config_isset(c, cmp_names[k])))
        hc->bound[k] = tower_config_float(c, cmp_names[k]);
  }
  list = tower_config_setting(cfg, "contains");
  n = list ? tower_setting_len(list) : 0;
  if (n && !(s->contains = calloc(n, sizeof *s->contains)))
    return -ENOMEM;
  for (size_t i = 0; i < n; i++)
    s->contains[s->ncontains++] =
        tower_config_string(tower_setting_config(tower_setting_at(list, i)), "field");
  return 0;
}

/* Telegraf's service_address is a URL; httpd takes "host:port". */
static int load_address(health_state *s, const tower_config *cfg) {
  const char *addr = s->http.listen;
  const tower_setting *at = tower_config_setting(cfg, "service_address");
  bool https = strncmp(addr, "https://", 8) == 0;
  if (https)
    addr += 8;
  else if (strncmp(addr, "http://", 7) == 0)
    addr += 7;
  else if (strstr(addr, "://"))
    return tower_config_error(cfg, at,
                              "service_address \"%s\": only http:// and https:// are served (a "
                              "unix socket is not); give \"http://host:port\"",
                              addr);
  if (https && !s->http.tls_cert)
    return tower_config_error(
        cfg, at, "service_address \"%s\" asks for HTTPS: set tls_cert and tls_key", s->http.listen);
  if (!https && s->http.tls_cert && strstr(s->http.listen, "://"))
    return tower_config_error(cfg, at,
                              "service_address \"%s\" says http:// but tls_cert is set: write "
                              "https://",
                              s->http.listen);
  if (strchr(addr, '/'))
    return tower_config_error(cfg, at,
                              "service_address \"%s\": give no path; the endpoints are /health "
                              "and /ready",
                              s->http.listen);
  s->http.listen = addr;
  return 0;
}

static void health_destroy(void *state) {
  health_state *s = state;
  health_http_stop(s);
  httpd_cfg_free(&s->http);
  json_decref(s->metric_failures);
  pthread_mutex_destroy(&s->lock);
  free(s->compares);
  free(s->contains);
  free(s);
}

static int health_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  health_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  pthread_mutex_init(&s->lock, NULL);
  s->limits = (health_limits){
      tower_config_duration(cfg, "max_write_age"), tower_config_float(cfg, "max_buffer_fill"),
      tower_config_int(cfg, "max_failed_gathers"), tower_config_int(cfg, "max_failed_writes")};
  int rc = load_compares(s, cfg);
  if (rc == 0)
    rc = httpd_cfg_load(cfg, "service_address", &s->http);
  if (rc == 0)
    rc = load_address(s, cfg);
  /* A config check must not take the port a running tower listens on. */
  if (rc == 0 && !tower_ctx_check_only(ctx))
    rc = health_http_start(s);
  if (rc) {
    health_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_OUTPUT),
    .name = "health",
    .description = "HTTP health and readiness endpoint for probes (200 or 503 with a JSON reason)",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = health_init,
    .destroy = health_destroy,
    .write = health_write,
};

TOWER_PLUGIN_ENTRY(plugin)
