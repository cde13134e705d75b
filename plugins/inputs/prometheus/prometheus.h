/* inputs.prometheus: what the parts of the plugin share (README.md is the
 * operator's page).
 *
 *   prometheus.c         options, init/destroy, the gather
 *   prometheus_target.c  the forms of `urls` (http, https, unix sockets)
 *   prometheus_scrape.c  libcurl: every target at once on one multi handle,
 *                        each body parsed as it arrives
 *   prometheus_v2.c      metric_version 2 (Telegraf's sparse mapping) and
 *                        the per-target batch of metrics
 * Prefix: promin_ (prom_ is outputs.prometheus). */
#ifndef TOWER_INPUTS_PROMETHEUS_H
#define TOWER_INPUTS_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include <tower/tower.h>

#include "../../common/curl/curl_common.h"

/* The Accept header Prometheus 2.42 sends (scrape.go), so that a target
 * answers tower what it answers Prometheus: OpenMetrics when it can. */
#define PROMIN_ACCEPT                                                                              \
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"  \
  "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

/* ---- one scrape's metrics ------------------------------------------------------------- */

/* The metrics of one target's scrape, handed to the accumulator only when
 * the whole body arrived (a scrape cut short gives none, as in Prometheus
 * and Telegraf). The array is kept between gathers. */
typedef struct promin_batch {
  tower_metric **m;
  size_t n, cap;
} promin_batch;

/* How parsed (metric_version 1) metrics become the plugin's. */
typedef struct promin_map {
  int version;           /* 1 or 2 */
  bool ignore_timestamp; /* drop the samples' own timestamps */
  const char *url_key;   /* tag naming the target, NULL: none */
  const char *url_value;
} promin_map;

/* Maps `m` (owned; consumed in every case) and appends the result to b.
 * 0 or -ENOMEM. */
int promin_map_metric(const promin_map *map, tower_metric *m, promin_batch *b);
/* Frees the metrics held (not the array). */
void promin_batch_clear(promin_batch *b);
/* Frees everything. */
void promin_batch_fini(promin_batch *b);

/* ---- targets --------------------------------------------------------------------------- */

/* What became of a scrape; the `result` tag of prometheus_request. */
typedef enum promin_result {
  PROMIN_SUCCESS,
  PROMIN_TIMEOUT,
  PROMIN_DNS_ERROR,
  PROMIN_CONNECTION_FAILED,
  PROMIN_HTTP_ERROR,
  PROMIN_BODY_TOO_LARGE,
  PROMIN_BODY_READ_ERROR,
} promin_result;

const char *promin_result_name(promin_result r);

typedef struct promin_target {
  /* From the configuration (prometheus_target.c). */
  char *request_url; /* what libcurl asks for */
  char *unix_path;   /* unix socket, or NULL */
  char *display;     /* the URL as written, without credentials: messages, url tag */

  CURL *easy;
  tower_parser *text, *om; /* Prometheus text, OpenMetrics; made at init */
  tower_parser *parser;    /* the one this response uses, NULL before the body */
  promin_map map;
  promin_batch batch;
  struct curl_slist *headers;

  /* This scrape. */
  bool busy;
  promin_result result;
  CURLcode code;
  long status;
  long os_errno; /* of a failed connection */
  uint64_t body_bytes;
  uint64_t errors_before; /* the parsers' error counts when it started */
  uint64_t parse_errors;  /* lines this scrape's body had wrong */
  uint64_t limit;         /* content_length_limit, 0: none */
  int sink_rc;            /* -ENOMEM from mapping */
  int64_t started_ns, ended_ns;
  char errbuf[CURL_ERROR_SIZE];
} promin_target;

/* Reads one entry of `urls` into t (request_url, unix_path, display).
 * Returns 0, -EINVAL with a message for the operator in err, or -ENOMEM. */
int promin_target_parse(const char *url, promin_target *t, char *err, size_t errlen);
/* Frees what promin_target_parse and the scrape set up. */
void promin_target_fini(promin_target *t);

/* ---- scraping -------------------------------------------------------------------------- */

typedef struct promin_scraper {
  tower_ctx *ctx;
  http_client *client;
  CURLM *multi;
  bool curl_ready;
  int64_t timeout_ns;
  char timeout_header[64]; /* X-Prometheus-Scrape-Timeout-Seconds: ... */
} promin_scraper;

int promin_scraper_init(promin_scraper *s, tower_ctx *ctx, http_client *client, int64_t timeout_ns);
void promin_scraper_fini(promin_scraper *s);
/* Sets up t's handle and parsers (once, in init). 0 or a negative errno
 * after logging why. */
int promin_target_setup(promin_scraper *s, promin_target *t);
/* Scrapes every target at once until each is done or the deadline (now +
 * timeout) passes; a target still running then ends with PROMIN_TIMEOUT.
 * Each target's outcome is in its fields and its metrics in its batch.
 * Returns early, every target timed out, when the agent stops. */
void promin_scrape_all(promin_scraper *s, promin_target *ts, size_t n);

#endif
