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

#include "../../common/curl/curl_common.h"
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

/* http_headers last, so that a configured header replaces ours. */
static int custom_headers(struct curl_slist **list, const tower_config *cfg) {
  for (size_t i = 0; i < tower_config_table_len(cfg, "http_headers"); i++) {
    const char *k = tower_config_table_key(cfg, "http_headers", i);
    const char *v = tower_config_table_value(cfg, "http_headers", i);
    size_t n = strlen(k) + strlen(v) + 3;
    char *line = malloc(n);
    if (!line)
      return -ENOMEM;
    /* "Name;" is how libcurl sends a header with an empty value. */
    snprintf(line, n, *v ? "%s: %s" : "%s;", k, v);
    int rc = header_add(list, line);
    free(line);
    if (rc)
      return rc;
  }
  return 0;
}

static int build_headers(ifx_state *s, const tower_config *cfg) {
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
    rc = custom_headers(&s->write_headers, cfg);
  if (!rc)
    rc = custom_headers(&s->query_headers, cfg);
  return rc;
}

static bool set_string(CURL *c, CURLoption opt, const tower_config *cfg, const char *key) {
  const char *v = tower_config_string(cfg, key);
  return !(v && *v) || curl_easy_setopt(c, opt, v) == CURLE_OK;
}

static int setup_tls(ifx_state *s, const tower_config *cfg) {
  CURL *c = s->curl;
  bool skip = tower_config_bool(cfg, "insecure_skip_verify");
  if (!set_string(c, CURLOPT_CAINFO, cfg, "tls_ca") ||
      !set_string(c, CURLOPT_SSLCERT, cfg, "tls_cert") ||
      !set_string(c, CURLOPT_SSLKEY, cfg, "tls_key") ||
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, skip ? 0L : 1L) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, skip ? 0L : 2L) != CURLE_OK) {
    tower_error(s->ctx, "libcurl refused the TLS options (tls_ca, tls_cert, tls_key): is it "
                        "built with TLS support?");
    return -EINVAL;
  }
  if (skip)
    tower_warn(s->ctx, "insecure_skip_verify is set: the server's certificate and host name are "
                       "not checked");
  return 0;
}

static int setup_auth(ifx_state *s) {
  if (s->api != IFX_V1 || s->auth_in_query || !(s->username && *s->username))
    return 0;
  CURL *c = s->curl;
  if (curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_USERNAME, s->username) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_PASSWORD, s->password ? s->password : "") != CURLE_OK)
    return -ENOMEM;
  return 0;
}

static int setup_common(ifx_state *s, const tower_config *cfg) {
  CURL *c = s->curl;
  long timeout_ms = (long)(tower_config_duration(cfg, "timeout") / 1000000);
  const char *proxy = tower_config_string(cfg, "http_proxy");
  bool bad = !curl_http_only(c);
  bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK; /* no SIGALRM: threads */
  bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, tower_config_string(cfg, "user_agent")) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, &s->resp) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_HEADERDATA, &s->resp) != CURLE_OK;
  bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->resp.curl_error) != CURLE_OK;
  if (proxy && *proxy)
    bad |= curl_easy_setopt(c, CURLOPT_PROXY, proxy) != CURLE_OK;
  if (bad) {
    tower_error(s->ctx, "cannot configure libcurl (out of memory, or a libcurl without "
                        "http/https support)");
    return -EINVAL;
  }
  return 0;
}

int ifx_http_init(ifx_state *s, const tower_config *cfg) {
  /* Reference counted, and thread-safe since libcurl 7.84 (Debian 12 has
   * 7.88): instances may start and stop on any thread. */
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(s->curl = curl_easy_init())) {
    tower_error(s->ctx, "cannot initialize libcurl");
    return -ENOMEM;
  }
  int rc = setup_common(s, cfg);
  if (!rc)
    rc = setup_tls(s, cfg);
  if (!rc)
    rc = setup_auth(s);
  if (!rc)
    rc = build_headers(s, cfg);
  return rc;
}

void ifx_http_fini(ifx_state *s) {
  if (s->curl) {
    curl_easy_cleanup(s->curl);
    curl_global_cleanup();
  }
  curl_slist_free_all(s->write_headers);
  curl_slist_free_all(s->query_headers);
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
  curl_easy_setopt(c, CURLOPT_URL, tower_buf_data(s->url));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, query ? s->query_headers : s->write_headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  r->curl_code = curl_easy_perform(c);
  if (r->curl_code == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  ifx_response_reason(r);
  return r->status;
}
