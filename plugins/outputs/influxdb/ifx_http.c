/* The libcurl side: one easy handle per instance, kept for its life, so the
 * connection to the server is reused from flush to flush (libcurl keeps it
 * in the handle's connection cache; TCP keep-alive probes stop a NAT or
 * firewall from dropping it while idle). Everything that never changes is
 * set once here; a request sets only its URL and body. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "influxdb.h"

/* ---- response capture ---------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  ifx_response *r = ud;
  size_t n = size * nmemb, room = IFX_BODY_MAX - r->body_len;
  size_t take = n < room ? n : room;
  memcpy(r->body + r->body_len, data, take);
  r->body_len += take;
  r->body[r->body_len] = '\0';
  return n; /* the rest is not needed, but reading it keeps the connection */
}

/* Copies a header's value (after "Name:"), trimmed, into out. */
static void header_value(const char *line, size_t len, size_t name_len, char *out,
                         size_t out_size) {
  const char *v = line + name_len, *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  size_t n = (size_t)(end - v) < out_size - 1 ? (size_t)(end - v) : out_size - 1;
  memcpy(out, v, n);
  out[n] = '\0';
}

static bool is_header(const char *line, size_t len, const char *name) {
  size_t n = strlen(name);
  return len > n && strncasecmp(line, name, n) == 0;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ud) {
  ifx_response *r = ud;
  size_t len = size * nmemb;
  if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
    /* A new response (after a 1xx): forget the previous one's headers. */
    r->x_error[0] = '\0';
    r->retry_after_ns = -1;
  } else if (is_header(line, len, "Retry-After:")) {
    char v[128];
    header_value(line, len, 12, v, sizeof v);
    r->retry_after_ns = ifx_parse_retry_after(v, (int64_t)time(NULL));
  } else if (is_header(line, len, "X-Influxdb-Error:")) {
    header_value(line, len, 17, r->x_error, sizeof r->x_error);
  }
  return len;
}

/* ---- setup ----------------------------------------------------------------- */

static int header_add(struct curl_slist **list, const char *line) {
  struct curl_slist *l = curl_slist_append(*list, line);
  if (!l)
    return -ENOMEM;
  *list = l;
  return 0;
}

/* Ours first, http_headers last, so that a configured header replaces ours. */
static int build_headers(ifx_state *s) {
  /* "Expect:" stops libcurl from waiting for 100-continue on large bodies. */
  int rc = header_add(&s->write_headers, "Content-Type: text/plain; charset=utf-8");
  if (!rc)
    rc = header_add(&s->write_headers, "Expect:");
  if (!rc && s->gzip)
    rc = header_add(&s->write_headers, "Content-Encoding: gzip");
  if (!rc)
    rc = header_add(&s->query_headers, "Content-Type: application/x-www-form-urlencoded");
  if (!rc && s->auth_header)
    rc = header_add(&s->write_headers, s->auth_header);
  if (!rc && s->auth_header)
    rc = header_add(&s->query_headers, s->auth_header);
  if (!rc)
    rc = http_client_append_headers(&s->http, &s->write_headers);
  if (!rc)
    rc = http_client_append_headers(&s->http, &s->query_headers);
  return rc;
}

/* v1 credentials travel as basic auth, or as u= and p= (auth_in_query):
 * then libcurl must not send them too. */
static void take_credentials(ifx_state *s) {
  s->username = s->http.username;
  s->password = s->http.password;
  if (s->auth_in_query)
    s->http.username = s->http.password = NULL;
}

static int setup_common(ifx_state *s, const tower_config *cfg) {
  CURL *c = s->curl;
  bool bad = curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, tower_config_string(cfg, "user_agent")) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, &s->resp) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_HEADERDATA, &s->resp) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->resp.curl_error) != CURLE_OK;
  if (bad) {
    tower_error(s->ctx, "cannot configure libcurl (out of memory?)");
    return -ENOMEM;
  }
  return 0;
}

int ifx_http_init(ifx_state *s, const tower_config *cfg) {
  int rc =
      http_client_load(&s->http, s->ctx, cfg,
                       HTTP_CLIENT_TIMEOUT | HTTP_CLIENT_TLS | HTTP_CLIENT_HEADERS |
                           HTTP_CLIENT_PROXY | HTTP_CLIENT_PROXY_ALIAS | HTTP_CLIENT_BASIC_AUTH);
  if (rc)
    return rc;
  take_credentials(s);
  /* Reference counted, and thread-safe since libcurl 7.84 (Debian 12 has
   * 7.88): instances may start and stop on any thread. */
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(s->curl = curl_easy_init())) {
    tower_error(s->ctx, "cannot initialize libcurl");
    return -ENOMEM;
  }
  rc = http_client_apply(&s->http, s->curl);
  if (!rc)
    rc = setup_common(s, cfg);
  if (!rc)
    rc = build_headers(s);
  return rc;
}

void ifx_http_fini(ifx_state *s) {
  if (s->curl) {
    curl_easy_cleanup(s->curl);
    curl_global_cleanup();
  }
  curl_slist_free_all(s->write_headers);
  curl_slist_free_all(s->query_headers);
  http_client_fini(&s->http);
  s->curl = NULL;
  s->write_headers = s->query_headers = NULL;
}

int ifx_http_auth_query(ifx_state *s) {
  if (!s->auth_in_query || !(s->username && *s->username))
    return 0;
  const char *url = tower_buf_data(s->url);
  int rc = tower_buf_append_str(s->url, strchr(url, '?') ? "&u=" : "?u=");
  rc = rc ? rc : ifx_url_escape(s->url, s->username);
  rc = rc ? rc : tower_buf_append_str(s->url, "&p=");
  return rc ? rc : ifx_url_escape(s->url, s->password ? s->password : "");
}

long ifx_http_post(ifx_state *s, const void *data, size_t len, bool query) {
  ifx_response *r = &s->resp;
  r->status = 0;
  r->body_len = 0;
  r->body[0] = r->curl_error[0] = r->x_error[0] = r->reason[0] = '\0';
  r->retry_after_ns = -1;
  CURL *c = s->curl;
  if (http_client_request(&s->http, c, tower_buf_data(s->url)) != 0) {
    r->curl_code = CURLE_OUT_OF_MEMORY; /* the URLs were checked at init */
    ifx_response_reason(r);
    return 0;
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, query ? s->query_headers : s->write_headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  r->curl_code = curl_easy_perform(c);
  if (r->curl_code == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  ifx_response_reason(r);
  return r->status;
}
