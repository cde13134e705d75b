/* inputs.prometheus: Telegraf's prometheus input for static targets.
 * Scrapes every URL of `urls` at each interval, all at once under one
 * deadline (`timeout`), negotiating OpenMetrics or the Prometheus text
 * format as Prometheus does, and maps the samples with Telegraf's
 * metric_version 1 or 2. A target that fails gives one error naming it and
 * what to do, and none of its metrics; the others are not held up. See
 * README.md for the options, metrics and deviations from Telegraf. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prometheus.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

static const tower_option options[] = {
    {.name = "urls",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_REQUIRED,
     .help = "targets: http://host:port/metrics, https://..., unix:///path/to.sock (?path=/p for "
             "a path other than /metrics)"},
    {.name = "metric_version",
     .type = TOWER_OPT_INT,
     .default_value = "1",
     .min = "1",
     .max = "2",
     .help = "1: one metric per family named by it, fields by type; 2: measurement "
             "\"prometheus\", one field named by each series"},
    {.name = "url_tag",
     .type = TOWER_OPT_STRING,
     .default_value = "url",
     .help = "tag that names the target (its URL without credentials); \"\": no such tag"},
    {.name = "ignore_timestamp",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "ignore the samples' own timestamps; metrics get the time of the gather"},
    {.name = "content_length_limit",
     .type = TOWER_OPT_SIZE,
     .default_value = "0",
     .help = "largest body accepted, after decompression (0: no limit); a larger one is an error "
             "and gives no metrics"},
    {.name = "enable_request_metrics",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "add a prometheus_request metric per target and gather: result, response time, "
             "status, body length"},
    HTTP_CLIENT_TIMEOUT_OPTION("5s"),
    HTTP_CLIENT_RESPONSE_TIMEOUT_OPTION("5s"),
    HTTP_CLIENT_TLS_OPTIONS,
    HTTP_CLIENT_PROXY_OPTIONS("false"),
    HTTP_CLIENT_HEADERS_OPTION,
    HTTP_CLIENT_BASIC_AUTH_OPTIONS,
    HTTP_CLIENT_BEARER_OPTIONS,
    TOWER_OPTION_END,
};

#define HTTP_GROUPS                                                                                \
  (HTTP_CLIENT_TIMEOUT | HTTP_CLIENT_RESPONSE_TIMEOUT | HTTP_CLIENT_TLS | HTTP_CLIENT_PROXY |      \
   HTTP_CLIENT_HEADERS | HTTP_CLIENT_BASIC_AUTH | HTTP_CLIENT_BEARER)

typedef struct promin_state {
  tower_ctx *ctx;
  http_client http;
  promin_scraper scraper;
  promin_target *targets;
  size_t ntargets;
  bool request_metrics;
  const char *url_tag; /* NULL: none */
  uint64_t limit;
} promin_state;

static void promin_destroy(void *state) {
  promin_state *s = state;
  if (!s)
    return;
  for (size_t i = 0; i < s->ntargets; i++)
    promin_target_fini(&s->targets[i]);
  free(s->targets);
  promin_scraper_fini(&s->scraper);
  http_client_fini(&s->http);
  free(s);
}

static int add_target(promin_state *s, const tower_config *cfg, size_t i, int version,
                      bool ignore_ts) {
  promin_target *t = &s->targets[i];
  char err[512];
  int rc = promin_target_parse(tower_config_strings_at(cfg, "urls", i), t, err, sizeof err);
  if (rc == -EINVAL)
    return tower_config_error(cfg, tower_config_setting(cfg, "urls"), "%s", err);
  if (rc)
    return rc;
  t->limit = s->limit;
  t->map = (promin_map){.version = version,
                        .ignore_timestamp = ignore_ts,
                        .url_key = s->url_tag,
                        .url_value = t->display};
  return promin_target_setup(&s->scraper, t);
}

static int read_targets(promin_state *s, const tower_config *cfg) {
  size_t n = tower_config_strings_len(cfg, "urls");
  if (n == 0)
    return tower_config_error(cfg, tower_config_setting(cfg, "urls"),
                              "urls is empty: give at least one target to scrape");
  s->targets = calloc(n, sizeof *s->targets);
  if (!s->targets)
    return -ENOMEM;
  s->ntargets = n;
  int version = (int)tower_config_int(cfg, "metric_version");
  bool ignore_ts = tower_config_bool(cfg, "ignore_timestamp");
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = add_target(s, cfg, i, version, ignore_ts);
  return rc;
}

static int promin_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  promin_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  const char *tag = tower_config_string(cfg, "url_tag");
  s->url_tag = tag && *tag ? tag : NULL;
  s->limit = tower_config_size(cfg, "content_length_limit");
  s->request_metrics = tower_config_bool(cfg, "enable_request_metrics");
  int rc = http_client_load(&s->http, ctx, cfg, HTTP_GROUPS);
  rc = rc ? rc : promin_scraper_init(&s->scraper, ctx, &s->http, s->http.timeout_ns);
  rc = rc ? rc : read_targets(s, cfg);
  if (rc) {
    promin_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

/* ---- reporting one target ------------------------------------------------------------- */

static double seconds(int64_t ns) {
  return (double)ns / 1e9;
}

/* A target that could not be reached: the hint depends on what failed. */
static void report_unreachable(const promin_target *t, const char *why, tower_acc *acc) {
  if (t->unix_path && t->os_errno) /* libcurl would name localhost:80 */
    tower_acc_error(acc,
                    "cannot scrape %s: cannot connect to the socket %s: %s (is the target "
                    "running, and is the path right?)",
                    t->display, t->unix_path, strerror((int)t->os_errno));
  else if (t->code == CURLE_PEER_FAILED_VERIFICATION || t->code == CURLE_SSL_CONNECT_ERROR)
    tower_acc_error(acc,
                    "cannot scrape %s: %s (set tls_ca to the CA that signed the target's "
                    "certificate, tls_server_name to the name it carries, or check the "
                    "target's TLS setup)",
                    t->display, why);
  else
    tower_acc_error(acc, "cannot scrape %s: %s (is the target running, and is the URL right?)",
                    t->display, why);
}

/* The one error of a failed scrape: what happened, where, what to do. */
static void report_failure(promin_state *s, const promin_target *t, tower_acc *acc) {
  const char *why = t->errbuf[0] ? t->errbuf : curl_easy_strerror(t->code);
  switch (t->result) {
  case PROMIN_TIMEOUT:
    tower_acc_error(acc,
                    "%s did not answer in full within %gs (timeout): no metrics from it this "
                    "time; raise timeout if the target is just slow",
                    t->display, seconds(s->scraper.timeout_ns));
    break;
  case PROMIN_CONNECTION_FAILED:
  case PROMIN_DNS_ERROR:
    report_unreachable(t, why, acc);
    break;
  case PROMIN_HTTP_ERROR:
    tower_acc_error(
        acc, "%s answered HTTP %ld instead of 200: no metrics from it%s", t->display, t->status,
        t->status == 401 || t->status == 403 ? "; check username/password or the bearer token"
                                             : "");
    break;
  case PROMIN_BODY_TOO_LARGE:
    tower_acc_error(acc,
                    "%s sent more than content_length_limit (%llu bytes): the scrape is dropped; "
                    "raise the limit or have the target expose fewer series",
                    t->display, (unsigned long long)s->limit);
    break;
  default:
    tower_acc_error(acc,
                    "%s: the response broke off after %llu bytes of body (%s): the partial "
                    "scrape is dropped",
                    t->display, (unsigned long long)t->body_bytes,
                    t->sink_rc == -ENOMEM ? "out of memory" : why);
  }
}

static void add_request_metric(promin_state *s, const promin_target *t, tower_acc *acc) {
  tower_metric *m = tower_metric_new("prometheus_request", TOWER_TIME_UNSET);
  int rc = m ? tower_metric_add_tag(m, "result", promin_result_name(t->result)) : -ENOMEM;
  if (rc == 0 && s->url_tag)
    rc = tower_metric_add_tag(m, s->url_tag, t->display);
  if (rc == 0)
    rc = tower_metric_add_float(m, "response_time", seconds(t->ended_ns - t->started_ns));
  if (rc == 0 && t->status)
    rc = tower_metric_add_int(m, "http_response_code", t->status);
  if (rc == 0 && t->result == PROMIN_SUCCESS)
    rc = tower_metric_add_int(m, "content_length", (int64_t)t->body_bytes);
  if (rc == 0)
    tower_acc_add(acc, m);
  else
    tower_metric_free(m);
}

/* Hands a target's metrics over (or reports why there are none). */
static void report(promin_state *s, promin_target *t, tower_acc *acc) {
  if (t->result != PROMIN_SUCCESS) {
    report_failure(s, t, acc);
  } else {
    for (size_t i = 0; i < t->batch.n; i++)
      tower_acc_add(acc, t->batch.m[i]);
    t->batch.n = 0;
    uint64_t errors = t->parse_errors;
    if (errors)
      tower_acc_error(acc,
                      "%s: %llu line%s of the scrape could not be read (last: %s); the rest "
                      "was kept",
                      t->display, (unsigned long long)errors, errors == 1 ? "" : "s",
                      tower_parser_last_error(t->parser));
  }
  if (s->request_metrics)
    add_request_metric(s, t, acc);
}

static int promin_gather(void *state, tower_acc *acc) {
  promin_state *s = state;
  promin_scrape_all(&s->scraper, s->targets, s->ntargets);
  for (size_t i = 0; i < s->ntargets; i++)
    report(s, &s->targets[i], acc);
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "prometheus",
    .description = "scrape Prometheus and OpenMetrics endpoints (Telegraf's prometheus input for "
                   "static targets): every target at once, one deadline per gather",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = promin_init,
    .destroy = promin_destroy,
    .gather = promin_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
