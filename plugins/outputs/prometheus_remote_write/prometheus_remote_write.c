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

/* Requests a write may spend isolating the samples a receiver refused (a
 * 400 refuses the whole request): about 2 log2(n) per bad metric, so a few
 * out-of-order samples in a batch of thousands cost only themselves;
 * beyond the budget the rest of a refused request is dropped. */
#define PRW_BISECT_REQUESTS 64

/* The metrics a write lost, for its one log line. */
typedef struct prw_losses {
  uint64_t metrics, samples;
  long status; /* of the first refusal */
  char reason[PRW_REASON_MAX];
} prw_losses;

typedef struct prw_state {
  tower_ctx *ctx;
  const char *url;
  char *redacted; /* the URL as logs show it */
  prw_encoder enc;
  prw_http http;
  const tower_metric **run; /* the batch's metrics, for its halves */
  size_t runcap;
  int budget;
  prw_losses loss;
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

/* Logs why the batch goes back to the buffer; -EAGAIN. */
static int retry(prw_state *s, const char *what, size_t n) {
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
  return -EAGAIN;
}

static void note_loss(prw_state *s, size_t metrics) {
  prw_losses *l = &s->loss;
  if (!l->metrics) {
    l->status = s->http.resp.status;
    snprintf(l->reason, sizeof l->reason, "%s", reason(&s->http.resp));
  }
  l->metrics += metrics;
  l->samples += s->enc.samples_sent;
}

static int send_run(prw_state *s, const tower_metric **ms, size_t n, size_t batch_len);

/* The receiver refused the request of ms[0..n) for its data. Prometheus
 * appends a request whole or not at all, so one out-of-order sample would
 * lose all the others: the halves are sent on their own, down to the
 * metrics that are refused alone (within the budget). A request too large
 * (413) is split whatever the budget. */
static int refused(prw_state *s, const tower_metric **ms, size_t n, size_t batch_len) {
  bool too_large = s->http.resp.status == 413;
  if (n > 1 && (too_large || s->budget >= 2)) {
    if (!too_large)
      s->budget -= 2;
    tower_debug(s->ctx, "HTTP %ld for %zu metrics: sending the halves on their own",
                s->http.resp.status, n);
    size_t mid = n / 2;
    int rc = send_run(s, ms, mid, batch_len);
    return rc ? rc : send_run(s, ms + mid, n - mid, batch_len);
  }
  note_loss(s, n);
  return 0;
}

/* Sends ms[0..n) as one request (or its halves, when refused). 0 when every
 * metric is dealt with (stored, or refused for good and noted), -EAGAIN
 * when the batch must be kept and retried, -ENOMEM. */
static int send_run(prw_state *s, const tower_metric **ms, size_t n, size_t batch_len) {
  if (prw_encode_metrics(&s->enc, ms, n))
    return -ENOMEM;
  if (s->enc.samples_replaced)
    tower_debug(s->ctx, "%zu sample%s replaced by a later one of the same series and millisecond",
                s->enc.samples_replaced, plural_s(s->enc.samples_replaced));
  if (s->enc.metrics_without_series)
    tower_debug(s->ctx, "%zu metric%s without a numeric field or a valid name left out",
                s->enc.metrics_without_series, plural_s(s->enc.metrics_without_series));
  if (s->enc.nseries == 0)
    return 0; /* nothing Prometheus can store (strings only) */
  prw_http_post(&s->http, s->url, s->enc.body, s->enc.body_len);
  switch (classify(s->http.resp.status)) {
  case PRW_WRITTEN:
    return 0;
  case PRW_AGAIN:
    return retry(s, "", batch_len);
  case PRW_CONFIG:
    return retry(s, ": check url and the credentials", batch_len);
  default:
    return refused(s, ms, n, batch_len);
  }
}

static void report_losses(prw_state *s, size_t n) {
  const prw_losses *l = &s->loss;
  if (!l->metrics)
    return;
  tower_ctx_count_rejected(s->ctx, l->metrics);
  tower_error(s->ctx,
              "lost: %llu of %zu metric%s refused by %s (%llu sample%s; HTTP %ld: %s); the "
              "others were stored. A receiver refuses samples older than the newest it has for "
              "a series: check that no other writer sends the same series",
              (unsigned long long)l->metrics, n, plural_s(n), s->redacted,
              (unsigned long long)l->samples, plural_s(l->samples), l->status, l->reason);
}

static tower_write_result prw_write(void *state, const tower_batch *batch) {
  prw_state *s = state;
  size_t n = tower_batch_len(batch);
  if (n > s->runcap) {
    const tower_metric **run = realloc(s->run, n * sizeof *run);
    if (!run) {
      tower_error(s->ctx, "out of memory for a batch of %zu metric%s; retrying later", n,
                  plural_s(n));
      return TOWER_WRITE_RETRY;
    }
    s->run = run;
    s->runcap = n;
  }
  for (size_t i = 0; i < n; i++)
    s->run[i] = tower_batch_at(batch, i);
  s->budget = PRW_BISECT_REQUESTS;
  memset(&s->loss, 0, sizeof s->loss);
  int rc = send_run(s, s->run, n, n);
  if (rc == -ENOMEM)
    tower_error(s->ctx, "out of memory while building a request of %zu metric%s; retrying later", n,
                plural_s(n));
  if (rc)
    return TOWER_WRITE_RETRY; /* halves already stored come again: see README */
  report_losses(s, n);
  return TOWER_WRITE_OK;
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
  free(s->run);
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
