/* outputs.prometheus_remote_write: sends metrics to a Prometheus
 * remote-write 1.0 receiver (Prometheus with
 * --web.enable-remote-write-receiver, Mimir, Thanos Receive, VictoriaMetrics,
 * Grafana Cloud...), as Telegraf's outputs.http with data_format =
 * "prometheusremotewrite" does. This file holds the options, init/destroy
 * and what a response means for the batch; prw_encode.c builds the request
 * and prw_http.c sends it. See README.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../common/plural.h"
#include "prw.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

static const tower_option options[] = {
    {.name = "url",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_REQUIRED,
     .help = "remote-write endpoint, e.g. \"http://127.0.0.1:9090/api/v1/write\" (Prometheus "
             "started with --web.enable-remote-write-receiver)"},
    {.name = "prometheus_string_as_label",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "send string fields as labels (else they are left out)"},
    HTTP_CLIENT_TIMEOUT_OPTION("5s"),
    HTTP_CLIENT_TLS_OPTIONS,
    HTTP_CLIENT_PROXY_OPTIONS("false"),
    HTTP_CLIENT_HEADERS_OPTION,
    HTTP_CLIENT_BASIC_AUTH_OPTIONS,
    HTTP_CLIENT_BEARER_OPTIONS,
    TOWER_OPTION_END,
};

typedef struct prw_state {
  tower_ctx *ctx;
  const char *url;
  char *redacted; /* the URL as logs show it */
  prw_encoder enc;
  prw_http http;
} prw_state;

/* ---- what a response means ------------------------------------------------------- */

typedef enum prw_verdict {
  PRW_WRITTEN,  /* 2xx */
  PRW_AGAIN,    /* no response, 5xx, 429: keep the batch, back off */
  PRW_CONFIG,   /* 3xx, 401, 403, 404, 407: fix the configuration; kept */
  PRW_REJECTED, /* other 4xx: the receiver will never take this request */
} prw_verdict;

static prw_verdict classify(long status) {
  if (status >= 200 && status < 300)
    return PRW_WRITTEN;
  if (status == 0 || status == 429 || status >= 500 || status < 200)
    return PRW_AGAIN;
  if (status < 400 || status == 401 || status == 403 || status == 404 || status == 407)
    return PRW_CONFIG;
  return PRW_REJECTED;
}

static const char *reason(const prw_response *r) {
  if (r->status == 0)
    return r->curl_error[0] ? r->curl_error : curl_easy_strerror(r->curl_code);
  return r->body[0] ? r->body : "no reason given";
}

static tower_write_result retry(prw_state *s, const char *what, size_t n) {
  const prw_response *r = &s->http.resp;
  if (r->retry_after_ns > 0)
    tower_ctx_retry_after(s->ctx, r->retry_after_ns);
  if (r->status)
    tower_error(s->ctx,
                "%s answered HTTP %ld (%s)%s; the batch (%zu metric%s) is kept and sent "
                "again later",
                s->redacted, r->status, reason(r), what, n, plural_s(n));
  else
    tower_error(s->ctx,
                "cannot send to %s: %s; the batch (%zu metric%s) is kept and sent again "
                "later",
                s->redacted, reason(r), n, plural_s(n));
  return TOWER_WRITE_RETRY;
}

static tower_write_result judge(prw_state *s, size_t n) {
  const prw_response *r = &s->http.resp;
  switch (classify(r->status)) {
  case PRW_WRITTEN:
    return TOWER_WRITE_OK;
  case PRW_AGAIN:
    return retry(s, "", n);
  case PRW_CONFIG:
    return retry(s, ": check url and the credentials", n);
  default:
    /* Prometheus appends a request as a whole or not at all: one sample it
     * refuses (out of order, too old) loses the request. */
    tower_error(s->ctx,
                "%s refused the request (HTTP %ld: %s): %zu metric%s (%zu sample%s) dropped; a "
                "receiver refuses samples older than those it has for a series, so check that "
                "no other writer sends the same series",
                s->redacted, r->status, reason(r), n, plural_s(n), s->enc.samples_sent,
                plural_s(s->enc.samples_sent));
    return TOWER_WRITE_DROP;
  }
}

static tower_write_result prw_write(void *state, const tower_batch *batch) {
  prw_state *s = state;
  size_t n = tower_batch_len(batch);
  if (prw_encode(&s->enc, batch)) {
    tower_error(s->ctx, "out of memory while building a request of %zu metric%s; retrying later", n,
                plural_s(n));
    return TOWER_WRITE_RETRY;
  }
  if (s->enc.samples_replaced)
    tower_debug(s->ctx, "%zu sample%s replaced by a later one of the same series and millisecond",
                s->enc.samples_replaced, plural_s(s->enc.samples_replaced));
  if (s->enc.metrics_without_series)
    tower_debug(s->ctx, "%zu metric%s without a numeric field or a valid name left out",
                s->enc.metrics_without_series, plural_s(s->enc.metrics_without_series));
  if (s->enc.nseries == 0)
    return TOWER_WRITE_OK; /* nothing Prometheus can store (strings only) */
  prw_http_post(&s->http, s->url, s->enc.body, s->enc.body_len);
  return judge(s, n);
}

/* ---- init / destroy -------------------------------------------------------------- */

static int check_url(prw_state *s, const tower_config *cfg) {
  const char *u = s->url;
  size_t cap = strlen(u) + 64;
  if (!(s->redacted = malloc(cap)))
    return -ENOMEM;
  tower_redact_url(u, s->redacted, cap);
  const char *host = strncasecmp(u, "http://", 7) == 0    ? u + 7
                     : strncasecmp(u, "https://", 8) == 0 ? u + 8
                                                          : NULL;
  if (!host || !*host || *host == '/' || strchr(u, ' '))
    return tower_config_error(cfg, tower_config_setting(cfg, "url"),
                              "url \"%s\" is not an http:// or https:// URL such as "
                              "\"http://prometheus:9090/api/v1/write\"",
                              s->redacted);
  return 0;
}

static void prw_destroy(void *state) {
  prw_state *s = state;
  prw_http_fini(&s->http);
  prw_encoder_fini(&s->enc);
  free(s->redacted);
  free(s);
}

static int prw_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  prw_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->url = tower_config_string(cfg, "url");
  unsigned flags =
      tower_config_bool(cfg, "prometheus_string_as_label") ? TOWER_PROM_STRING_AS_LABEL : 0;
  int rc = check_url(s, cfg);
  if (!rc)
    rc = prw_encoder_init(&s->enc, flags);
  if (!rc)
    rc = prw_http_init(&s->http, ctx, cfg);
  if (rc) {
    prw_destroy(s);
    return rc;
  }
  tower_debug(ctx, "writing to %s", s->redacted);
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_OUTPUT),
    .name = "prometheus_remote_write",
    .description = "Prometheus remote write 1.0 (protobuf, snappy) over HTTP(S)",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = prw_init,
    .destroy = prw_destroy,
    .write = prw_write,
};

TOWER_PLUGIN_ENTRY(plugin)
