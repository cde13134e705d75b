/* The libcurl side: one easy handle per instance, kept for its life so the
 * connection to the receiver is reused from flush to flush. The headers
 * are the remote-write 1.0 ones; http_headers come after them and replace
 * those of the same name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "prw.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

#define RETRY_AFTER_MAX_S 600

/* ---- response capture ------------------------------------------------------ */

/* Keeps the first line of the body, control characters as spaces: a
 * receiver's reason ("out of order sample") for the log. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  prw_response *r = ud;
  size_t n = size * nmemb;
  for (size_t i = 0; i < n && r->body_len < sizeof r->body - 1; i++) {
    unsigned char c = (unsigned char)data[i];
    if (c == '\n' && r->body_len > 0) {
      r->body_len = sizeof r->body - 1; /* the first line is enough */
      break;
    }
    r->body[r->body_len++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
  }
  r->body[r->body_len < sizeof r->body ? r->body_len : sizeof r->body - 1] = '\0';
  return n; /* read the rest too, so the connection can be reused */
}

int64_t prw_retry_after(const char *value, int64_t now_s) {
  char *end;
  long long secs = strtoll(value, &end, 10);
  if (end == value || *end != '\0' || secs < 0) {
    time_t t = curl_getdate(value, NULL); /* an HTTP date */
    if (t == (time_t)-1)
      return -1;
    secs = (long long)t > now_s ? (long long)t - now_s : 0;
  }
  if (secs > RETRY_AFTER_MAX_S)
    secs = RETRY_AFTER_MAX_S;
  return (int64_t)secs * 1000000000LL;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ud) {
  prw_response *r = ud;
  size_t len = size * nmemb;
  if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
    r->retry_after_ns = -1; /* a new response (after a 1xx) */
  } else if (len > 12 && strncasecmp(line, "Retry-After:", 12) == 0) {
    char v[128];
    const char *p = line + 12, *end = line + len;
    while (p < end && (*p == ' ' || *p == '\t'))
      p++;
    while (end > p && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
      end--;
    size_t n = (size_t)(end - p) < sizeof v - 1 ? (size_t)(end - p) : sizeof v - 1;
    memcpy(v, p, n);
    v[n] = '\0';
    r->retry_after_ns = prw_retry_after(v, (int64_t)time(NULL));
  }
  return len;
}

/* ---- setup ------------------------------------------------------------------ */

static int build_headers(prw_http *h) {
  static const char *const ours[] = {
      "Content-Type: application/x-protobuf", "Content-Encoding: snappy",
      "X-Prometheus-Remote-Write-Version: 0.1.0",
      "Expect:", /* no 100-continue round trip on large bodies */
  };
  for (size_t i = 0; i < sizeof ours / sizeof *ours; i++) {
    struct curl_slist *l = curl_slist_append(h->headers, ours[i]);
    if (!l)
      return -ENOMEM;
    h->headers = l;
  }
  return http_client_append_headers(&h->client, &h->headers);
}

static int setup(prw_http *h, tower_ctx *ctx) {
  CURL *c = h->curl;
  bool bad = curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, "tower/" PLUGIN_VERSION) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, &h->resp) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_HEADERDATA, &h->resp) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->resp.curl_error) != CURLE_OK;
  if (bad || build_headers(h)) {
    tower_error(ctx, "cannot configure libcurl (out of memory?)");
    return -ENOMEM;
  }
  return curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers) == CURLE_OK ? 0 : -ENOMEM;
}

int prw_http_init(prw_http *h, tower_ctx *ctx, const tower_config *cfg) {
  int rc = http_client_load(&h->client, ctx, cfg,
                            HTTP_CLIENT_TIMEOUT | HTTP_CLIENT_TLS | HTTP_CLIENT_PROXY |
                                HTTP_CLIENT_HEADERS | HTTP_CLIENT_BASIC_AUTH | HTTP_CLIENT_BEARER);
  if (rc)
    return rc;
  /* Reference counted and thread-safe since libcurl 7.84. */
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return -ENOMEM;
  if (!(h->curl = curl_easy_init())) {
    curl_global_cleanup();
    tower_error(ctx, "cannot initialize libcurl");
    return -ENOMEM;
  }
  rc = http_client_apply(&h->client, h->curl);
  return rc ? rc : setup(h, ctx);
}

void prw_http_fini(prw_http *h) {
  if (h->curl) {
    curl_easy_cleanup(h->curl);
    curl_global_cleanup();
  }
  curl_slist_free_all(h->headers);
  http_client_fini(&h->client);
  h->curl = NULL;
  h->headers = NULL;
}

long prw_http_post(prw_http *h, const char *url, const void *body, size_t len) {
  prw_response *r = &h->resp;
  r->status = 0;
  r->body_len = 0;
  r->body[0] = r->curl_error[0] = '\0';
  r->retry_after_ns = -1;
  if (http_client_request(&h->client, h->curl, url) != 0) {
    r->curl_code = CURLE_OUT_OF_MEMORY; /* the URL was checked at init */
    return 0;
  }
  curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  r->curl_code = curl_easy_perform(h->curl);
  if (r->curl_code == CURLE_OK)
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
  return r->status;
}
