/* The forms of `urls`, as Telegraf reads them:
 *   http://host:port[/path][?query]   no path: /metrics
 *   https://...                       the same, with the TLS options
 *   unix:///path/to.sock[?path=/p]    HTTP over a unix socket; path
 *                                     defaults to /metrics
 * The url tag and every message show the URL as written, without the
 * user:password@ of the authority (as Telegraf) and with credential-like
 * query parameters hidden (tower_redact_url). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prometheus.h"

static bool starts(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The URL without "user:password@" in its authority (malloc'd). */
static char *without_userinfo(const char *url) {
  char *out = strdup(url);
  char *auth = out ? strstr(out, "://") : NULL;
  if (!auth)
    return out;
  auth += 3;
  size_t end = strcspn(auth, "/?#");
  char *at = memchr(auth, '@', end);
  if (at)
    memmove(auth, at + 1, strlen(at + 1) + 1);
  return out;
}

static int set_display(promin_target *t, const char *url) {
  char *plain = without_userinfo(url);
  if (!plain)
    return -ENOMEM;
  size_t cap = strlen(plain) + 64;
  t->display = malloc(cap);
  if (t->display)
    tower_redact_url(plain, t->display, cap);
  free(plain);
  return t->display ? 0 : -ENOMEM;
}

/* http(s)://authority[path]: /metrics when the path is empty. */
static int http_url(const char *url, promin_target *t) {
  const char *auth = strstr(url, "://") + 3;
  size_t end = strcspn(auth, "/?#");
  bool no_path = auth[end] != '/';
  size_t n = strlen(url) + sizeof "/metrics";
  t->request_url = malloc(n);
  if (!t->request_url)
    return -ENOMEM;
  if (no_path)
    snprintf(t->request_url, n, "%.*s/metrics%s", (int)(auth + end - url), url, auth + end);
  else
    snprintf(t->request_url, n, "%s", url);
  return 0;
}

/* unix:///socket[?path=/p]: Telegraf's form (the query's only parameter). */
static int unix_url(const char *url, promin_target *t, char *err, size_t errlen) {
  const char *sock = url + strlen("unix://");
  size_t len = strcspn(sock, "?");
  const char *query = sock[len] ? sock + len + 1 : "";
  const char *path = "/metrics";
  if (*query && !starts(query, "path=")) {
    snprintf(err, errlen,
             "\"%s\": a unix socket URL takes only the query parameter path, as in "
             "unix:///run/app.sock?path=/custom/metrics",
             url);
    return -EINVAL;
  }
  if (*query)
    path = query + strlen("path=");
  if (*path != '/') {
    snprintf(err, errlen, "\"%s\": path must start with '/', as in ?path=/metrics", url);
    return -EINVAL;
  }
  t->unix_path = strndup(sock, len);
  size_t n = strlen(path) + sizeof "http://localhost";
  t->request_url = malloc(n);
  if (!t->unix_path || !t->request_url)
    return -ENOMEM;
  snprintf(t->request_url, n, "http://localhost%s", path);
  return 0;
}

int promin_target_parse(const char *url, promin_target *t, char *err, size_t errlen) {
  int rc;
  if ((starts(url, "http://") && url[7]) || (starts(url, "https://") && url[8])) {
    rc = http_url(url, t);
  } else if (starts(url, "unix:///") && url[8] && url[8] != '?') {
    rc = unix_url(url, t, err, errlen);
  } else {
    snprintf(err, errlen,
             "\"%s\" is not a URL to scrape: use http://host:port/metrics, https://..., or "
             "unix:///path/to.sock (?path=/metrics for another path)",
             url);
    return -EINVAL;
  }
  return rc ? rc : set_display(t, url);
}

void promin_target_fini(promin_target *t) {
  if (t->easy)
    curl_easy_cleanup(t->easy);
  curl_slist_free_all(t->headers);
  tower_parser_free(t->text);
  tower_parser_free(t->om);
  promin_batch_fini(&t->batch);
  free(t->request_url);
  free(t->unix_path);
  free(t->display);
  memset(t, 0, sizeof *t);
}

const char *promin_result_name(promin_result r) {
  static const char *const names[] = {
      [PROMIN_SUCCESS] = "success",
      [PROMIN_TIMEOUT] = "timeout",
      [PROMIN_DNS_ERROR] = "dns_error",
      [PROMIN_CONNECTION_FAILED] = "connection_failed",
      [PROMIN_HTTP_ERROR] = "http_error",
      [PROMIN_BODY_TOO_LARGE] = "body_too_large",
      [PROMIN_BODY_READ_ERROR] = "body_read_error",
  };
  return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}
