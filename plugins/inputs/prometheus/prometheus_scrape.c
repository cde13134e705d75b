/* Every target of a gather at once, on one libcurl multi handle, under one
 * deadline (the gather's start + timeout): a target that hangs costs its
 * own timeout and nothing else, and n targets take the time of the slowest
 * one, not the sum. Each body is parsed as it arrives (the parser streams:
 * no copy of the body is kept), with the parser the Content-Type names:
 * OpenMetrics text for application/openmetrics-text, the Prometheus text
 * format for anything else. content_length_limit counts the bytes after
 * decompression, so a small gzip bomb cannot get past it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "prometheus.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* ---- the body --------------------------------------------------------------------------- */

static int sink(void *ud, tower_metric *m) {
  promin_target *t = ud;
  int rc = promin_map_metric(&t->map, m, &t->batch);
  if (rc)
    t->sink_rc = rc;
  return rc;
}

static bool is_openmetrics(CURL *c) {
  char *type = NULL;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
  return type && strncasecmp(type, "application/openmetrics-text", 28) == 0;
}

/* The first bytes of a body: which parser reads it (none for an HTTP
 * error, whose body is not an exposition). */
static void choose_parser(promin_target *t) {
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
  if (t->status == 200)
    t->parser = is_openmetrics(t->easy) ? t->om : t->text;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  promin_target *t = ud;
  size_t n = size * nmemb;
  if (t->body_bytes == 0)
    choose_parser(t);
  if (t->status != 200) {
    t->result = PROMIN_HTTP_ERROR;
    return 0; /* an error page is no exposition: no need to read it */
  }
  t->body_bytes += n;
  if (t->limit && t->body_bytes > t->limit) {
    t->result = PROMIN_BODY_TOO_LARGE;
    return 0; /* ends the transfer: CURLE_WRITE_ERROR */
  }
  if (t->parser && tower_parser_feed(t->parser, data, n, sink, t) < 0)
    return 0; /* out of memory */
  return n;
}

/* ---- setting up ----------------------------------------------------------------------- */

int promin_scraper_init(promin_scraper *s, tower_ctx *ctx, http_client *client,
                        int64_t timeout_ns) {
  memset(s, 0, sizeof *s);
  s->ctx = ctx;
  s->client = client;
  s->timeout_ns = timeout_ns;
  /* Prometheus tells targets how long they have; some use it. */
  snprintf(s->timeout_header, sizeof s->timeout_header, "X-Prometheus-Scrape-Timeout-Seconds: %g",
           (double)timeout_ns / 1e9);
  /* Reference counted, thread-safe since libcurl 7.84 (Debian 12: 7.88). */
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    tower_error(ctx, "cannot initialize libcurl");
    return -ENOMEM;
  }
  s->curl_ready = true;
  s->multi = curl_multi_init();
  return s->multi ? 0 : -ENOMEM;
}

void promin_scraper_fini(promin_scraper *s) {
  if (s->multi)
    curl_multi_cleanup(s->multi);
  if (s->curl_ready)
    curl_global_cleanup();
  memset(s, 0, sizeof *s);
}

/* Accept (Prometheus's), the timeout, then the operator's http_headers,
 * which replace ours of the same name. */
static int build_headers(promin_scraper *s, promin_target *t) {
  struct curl_slist *l = curl_slist_append(NULL, "Accept: " PROMIN_ACCEPT);
  struct curl_slist *n = l ? curl_slist_append(l, s->timeout_header) : NULL;
  if (!n) {
    curl_slist_free_all(l);
    return -ENOMEM;
  }
  t->headers = n;
  return http_client_append_headers(s->client, &t->headers);
}

static int setup_parsers(promin_scraper *s, promin_target *t) {
  int rc = tower_parser_new_format(s->ctx, "prometheus", &t->text);
  rc = rc ? rc : tower_parser_new_format(s->ctx, "openmetrics", &t->om);
  if (rc)
    return rc;
  tower_parser_set_source(t->text, t->display);
  tower_parser_set_source(t->om, t->display);
  return 0;
}

int promin_target_setup(promin_scraper *s, promin_target *t) {
  int rc = setup_parsers(s, t);
  if (rc)
    return rc;
  CURL *c = t->easy = curl_easy_init();
  if (!c || build_headers(s, t))
    return -ENOMEM;
  if (http_client_apply(s->client, c))
    return -EINVAL;
  bool ok = curl_easy_setopt(c, CURLOPT_USERAGENT, "tower/" PLUGIN_VERSION) == CURLE_OK;
  ok &= curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers) == CURLE_OK;
  ok &= curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip") == CURLE_OK;
  ok &= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK;
  ok &= curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L) == CURLE_OK;
  ok &= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
  ok &= curl_easy_setopt(c, CURLOPT_WRITEDATA, t) == CURLE_OK;
  ok &= curl_easy_setopt(c, CURLOPT_PRIVATE, t) == CURLE_OK;
  ok &= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf) == CURLE_OK;
  if (t->unix_path)
    ok &= curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, t->unix_path) == CURLE_OK;
  if (!ok)
    tower_error(s->ctx,
                "cannot configure libcurl for %s (out of memory, or a libcurl without gzip or "
                "unix socket support)",
                t->display);
  return ok ? 0 : -EINVAL;
}

/* ---- one gather --------------------------------------------------------------------------- */

static int start(promin_scraper *s, promin_target *t, int64_t deadline) {
  t->result = PROMIN_SUCCESS;
  t->code = CURLE_OK;
  t->status = 0;
  t->body_bytes = 0;
  t->sink_rc = 0;
  t->parser = NULL;
  t->errbuf[0] = '\0';
  t->parse_errors = 0;
  t->errors_before = tower_parser_errors(t->text) + tower_parser_errors(t->om);
  promin_batch_clear(&t->batch);
  /* libcurl's own limit is a safety net past the deadline: the loop below
   * ends what is still running at the deadline itself. */
  long ms = (long)((deadline - tower_mono_ns()) / 1000000) + 1000;
  int rc = http_client_request(s->client, t->easy, t->request_url);
  if (rc)
    return rc;
  if (curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, ms) != CURLE_OK ||
      curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, ms) != CURLE_OK ||
      curl_multi_add_handle(s->multi, t->easy) != CURLM_OK)
    return -ENOMEM;
  t->started_ns = tower_mono_ns();
  t->busy = true;
  return 0;
}

static promin_result classify(CURLcode code) {
  switch (code) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return PROMIN_DNS_ERROR;
  case CURLE_OPERATION_TIMEDOUT:
    return PROMIN_TIMEOUT;
  case CURLE_COULDNT_CONNECT:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SEND_ERROR:
    return PROMIN_CONNECTION_FAILED;
  default:
    return PROMIN_BODY_READ_ERROR;
  }
}

/* After a scrape cut short: a fresh parser instead of ending the document,
 * which would parse (and report) the cut last line. */
static void renew_parser(promin_scraper *s, promin_target *t) {
  tower_parser **p = t->parser == t->om ? &t->om : &t->text;
  tower_parser *fresh = NULL;
  if (tower_parser_new_format(s->ctx, *p == t->om ? "openmetrics" : "prometheus", &fresh) < 0) {
    tower_parser_end(*p, sink, t); /* out of memory: the old one, reset */
    promin_batch_clear(&t->batch);
    return;
  }
  tower_parser_set_source(fresh, t->display);
  tower_parser_free(*p);
  *p = fresh;
  t->parser = NULL;
}

/* A transfer ended: the outcome, and the parser's end of document. */
static void finish(promin_scraper *s, promin_target *t, CURLcode code) {
  t->ended_ns = tower_mono_ns();
  t->code = code;
  t->busy = false;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
  curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &t->os_errno);
  curl_multi_remove_handle(s->multi, t->easy);
  if (t->result == PROMIN_SUCCESS && code != CURLE_OK)
    t->result = classify(code);
  if (t->result == PROMIN_SUCCESS && t->status != 200)
    t->result = PROMIN_HTTP_ERROR;
  if (t->result == PROMIN_SUCCESS) {
    if (t->parser)
      tower_parser_end(t->parser, sink, t);
    t->parse_errors = tower_parser_errors(t->text) + tower_parser_errors(t->om) - t->errors_before;
  } else {
    promin_batch_clear(&t->batch); /* a scrape cut short gives nothing */
    if (t->parser)
      renew_parser(s, t);
  }
}

/* Waits for socket activity, at most until the deadline and never longer
 * than 200 ms, so that a stopping agent is noticed soon. */
static void wait_some(promin_scraper *s, int64_t deadline) {
  int64_t left = (deadline - tower_mono_ns()) / 1000000;
  int ms = left < 1 ? 1 : left > 200 ? 200 : (int)left;
  curl_multi_poll(s->multi, NULL, 0, ms, NULL);
}

static bool any_busy(const promin_target *ts, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (ts[i].busy)
      return true;
  return false;
}

static void run(promin_scraper *s, promin_target *ts, size_t n, int64_t deadline) {
  for (;;) {
    int running = 0, left = 0;
    curl_multi_perform(s->multi, &running);
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(s->multi, &left))) {
      promin_target *t = NULL;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
      if (msg->msg == CURLMSG_DONE && t)
        finish(s, t, msg->data.result);
    }
    if (!any_busy(ts, n) || tower_mono_ns() >= deadline || tower_ctx_stopping(s->ctx))
      return;
    wait_some(s, deadline);
  }
}

void promin_scrape_all(promin_scraper *s, promin_target *ts, size_t n) {
  int64_t deadline = tower_mono_ns() + s->timeout_ns;
  for (size_t i = 0; i < n; i++) {
    int rc = start(s, &ts[i], deadline);
    if (rc) {
      ts[i].result = PROMIN_CONNECTION_FAILED;
      ts[i].code = rc == -ENOMEM ? CURLE_OUT_OF_MEMORY : CURLE_URL_MALFORMAT;
      ts[i].started_ns = ts[i].ended_ns = tower_mono_ns();
    }
  }
  run(s, ts, n, deadline);
  for (size_t i = 0; i < n; i++)
    if (ts[i].busy) {
      ts[i].result = PROMIN_TIMEOUT;
      finish(s, &ts[i], CURLE_OPERATION_TIMEDOUT); /* closes its connection */
    }
}
