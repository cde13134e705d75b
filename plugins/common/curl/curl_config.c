/* Reading the HTTP client options: each mistake is a configuration error
 * that names the option and its file:line, so that it shows at start, not
 * as a failed request every interval. An empty string is the same as an
 * unset option, so that "${VAR:-}" works. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check/path_check.h"
#include "../check/pem_check.h"
#include "curl_common.h"
#include "curl_internal.h"

static const char *opt(const tower_config *cfg, const char *key) {
  const char *v = tower_config_string(cfg, key);
  return v && *v ? v : NULL;
}

/* A configuration error at `key`'s line (the block's when it is not written). */
static int fail(const tower_config *cfg, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(const tower_config *cfg, const char *key, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return tower_config_error(cfg, tower_config_setting(cfg, key), "%s", msg);
}

/* ---- timeout -------------------------------------------------------------------------- */

static int load_timeout(http_client *hc, const tower_config *cfg) {
  bool plain = hc->groups & HTTP_CLIENT_TIMEOUT,
       response = hc->groups & HTTP_CLIENT_RESPONSE_TIMEOUT;
  if (plain && response && tower_config_isset(cfg, "timeout") &&
      tower_config_isset(cfg, "response_timeout"))
    return fail(cfg, "response_timeout",
                "response_timeout and timeout are the same limit: set one");
  if (response && (!plain || tower_config_isset(cfg, "response_timeout")))
    hc->timeout_ns = tower_config_duration(cfg, "response_timeout");
  else if (plain)
    hc->timeout_ns = tower_config_duration(cfg, "timeout");
  return 0;
}

/* ---- TLS ------------------------------------------------------------------------------ */

/* A file libcurl will read at each connection: readable PEM of the right
 * kind now, or an error that says which part of the path is wrong, or what
 * the file holds instead (plugins/common/check). */
static int check_file(const tower_config *cfg, const char *key, const char *path, pem_want want) {
  char why[PATH_WHY_MAX];
  int rc = path_check(path, PATH_FILE, R_OK, why, sizeof why);
  if (rc == 0)
    rc = pem_check_file(path, want, why, sizeof why);
  if (rc == 0)
    return 0;
  const char *hint = rc == -EINVAL ? (want == PEM_KEY ? "give the PEM file of the private key"
                                                      : "give a PEM file of certificates")
                                   : path_check_hint(rc);
  return fail(cfg, key, "%s \"%s\": %s; %s", key, path, why, hint);
}

static bool host_name_ok(const char *s) {
  return strlen(s) <= 253 &&
         strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == strlen(s);
}

static int load_tls(http_client *hc, const tower_config *cfg) {
  hc->tls_ca = opt(cfg, "tls_ca");
  hc->tls_cert = opt(cfg, "tls_cert");
  hc->tls_key = opt(cfg, "tls_key");
  hc->tls_key_pwd = opt(cfg, "tls_key_pwd");
  hc->tls_server_name = opt(cfg, "tls_server_name");
  hc->insecure_skip_verify = tower_config_bool(cfg, "insecure_skip_verify");
  if (!hc->tls_cert != !hc->tls_key)
    return fail(cfg, hc->tls_cert ? "tls_cert" : "tls_key",
                "tls_cert and tls_key go together: set both, or neither");
  if (hc->tls_key_pwd && !hc->tls_key)
    return fail(cfg, "tls_key_pwd",
                "tls_key_pwd opens an encrypted tls_key, but tls_key is not set");
  static const char *const files[] = {"tls_ca", "tls_cert", "tls_key"};
  static const pem_want wants[] = {PEM_CERTS, PEM_CERTS, PEM_KEY};
  const char *paths[] = {hc->tls_ca, hc->tls_cert, hc->tls_key};
  int bad = 0; /* every bad file is reported, the first error returned */
  for (size_t i = 0; i < 3; i++) {
    int rc = paths[i] ? check_file(cfg, files[i], paths[i], wants[i]) : 0;
    bad = bad ? bad : rc;
  }
  if (bad)
    return bad;
  if (hc->tls_server_name && !host_name_ok(hc->tls_server_name))
    return fail(cfg, "tls_server_name", "tls_server_name: \"%s\" is not a host name",
                hc->tls_server_name);
  if (hc->insecure_skip_verify)
    tower_warn(hc->ctx, "insecure_skip_verify is set: the server's certificate and host name are "
                        "not checked");
  return 0;
}

/* ---- proxy ---------------------------------------------------------------------------- */

/* The proxy schemes libcurl speaks, followed by a host. */
static bool proxy_url_ok(const char *url) {
  static const char *const schemes[] = {"http://",   "https://",   "socks4://", "socks4a://",
                                        "socks5://", "socks5h://", NULL};
  for (const char *const *s = schemes; *s; s++) {
    size_t n = strlen(*s);
    if (strncasecmp(url, *s, n) == 0)
      return url[n] && url[n] != '/' && !strpbrk(url, " \t\r\n");
  }
  return false;
}

static int load_proxy(http_client *hc, const tower_config *cfg) {
  const char *key = "http_proxy_url", *url = opt(cfg, key);
  const char *alias = hc->groups & HTTP_CLIENT_PROXY_ALIAS ? opt(cfg, "http_proxy") : NULL;
  if (url && alias)
    return fail(cfg, "http_proxy", "http_proxy and http_proxy_url are the same option: set one");
  if (alias) {
    key = "http_proxy";
    url = alias;
  }
  char shown[512];
  if (url && !proxy_url_ok(url))
    return fail(cfg, key,
                "%s: \"%s\" is not a proxy URL such as \"http://proxy.example:3128\" (http, "
                "https, socks4, socks4a, socks5, socks5h)",
                key, tower_redact_url(url, shown, sizeof shown));
  hc->proxy_url = url;
  hc->use_system_proxy = tower_config_bool(cfg, "use_system_proxy");
  if (url && hc->use_system_proxy && tower_config_isset(cfg, "use_system_proxy"))
    return fail(cfg, "use_system_proxy",
                "use_system_proxy = true and %s contradict each other: set one or the other", key);
  return 0;
}

/* ---- headers -------------------------------------------------------------------------- */

/* No control character but tab: a line break would end the header. */
static bool header_value_ok(const char *s) {
  for (; *s; s++)
    if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
      return false;
  return true;
}

static int add_header(http_client *hc, const char *name, const char *value) {
  size_t n = strlen(name) + strlen(value) + 3;
  char *line = malloc(n);
  if (!line)
    return -ENOMEM;
  /* "Name;" is how libcurl sends a header with an empty value. */
  snprintf(line, n, *value ? "%s: %s" : "%s;", name, value);
  struct curl_slist *l = curl_slist_append(hc->headers, line);
  explicit_bzero(line, n);
  free(line);
  if (!l)
    return -ENOMEM;
  hc->headers = l;
  return 0;
}

/* The names need no check: libconfig's names (letters, digits, - _ *) are
 * all header name characters. */
static int load_headers(http_client *hc, const tower_config *cfg) {
  for (size_t i = 0; i < tower_config_table_len(cfg, "http_headers"); i++) {
    const char *k = tower_config_table_key(cfg, "http_headers", i);
    const char *v = tower_config_table_value(cfg, "http_headers", i);
    /* The value is not shown: headers may hold credentials. */
    if (!header_value_ok(v))
      return fail(cfg, "http_headers",
                  "http_headers.%s: the value holds a line break or control character", k);
    int rc = add_header(hc, k, v);
    if (rc)
      return rc;
  }
  return 0;
}

/* ---- authentication -------------------------------------------------------------------- */

static int load_basic_auth(http_client *hc, const tower_config *cfg) {
  hc->username = opt(cfg, "username");
  hc->password = opt(cfg, "password");
  if (hc->password && !hc->username)
    return fail(cfg, "password", "password needs username");
  return 0;
}

static int load_bearer(http_client *hc, const tower_config *cfg) {
  const char *path = opt(cfg, "bearer_token");
  hc->bearer_string = opt(cfg, "bearer_token_string");
  if (path && hc->bearer_string)
    return fail(cfg, "bearer_token_string",
                "bearer_token_string and bearer_token (a file) both give the token: set one");
  if (hc->bearer_string && !header_value_ok(hc->bearer_string))
    return fail(cfg, "bearer_token_string",
                "bearer_token_string holds a line break or control character");
  if (path) {
    char err[512];
    hc->bearer_file.path = path;
    if (http_token_read(&hc->bearer_file, err, sizeof err))
      return fail(cfg, "bearer_token", "bearer_token: %s", err);
  }
  if ((path || hc->bearer_string) && hc->username)
    tower_warn(hc->ctx, "username and password are not sent: %s takes priority (as in Telegraf)",
               path ? "bearer_token" : "bearer_token_string");
  return 0;
}

/* ---- load / fini ------------------------------------------------------------------------ */

int http_client_load(http_client *hc, tower_ctx *ctx, const tower_config *cfg, unsigned groups) {
  memset(hc, 0, sizeof *hc);
  hc->ctx = ctx;
  hc->groups = groups;
  if (pthread_mutex_init(&hc->lock, NULL) != 0)
    return -ENOMEM;
  hc->lock_ready = true;
  int rc = load_timeout(hc, cfg);
  if (!rc && (groups & HTTP_CLIENT_TLS))
    rc = load_tls(hc, cfg);
  if (!rc && (groups & HTTP_CLIENT_PROXY))
    rc = load_proxy(hc, cfg);
  if (!rc && (groups & HTTP_CLIENT_HEADERS))
    rc = load_headers(hc, cfg);
  if (!rc && (groups & HTTP_CLIENT_BASIC_AUTH))
    rc = load_basic_auth(hc, cfg);
  if (!rc && (groups & HTTP_CLIENT_BEARER))
    rc = load_bearer(hc, cfg);
  return rc;
}

void http_client_fini(http_client *hc) {
  curl_slist_free_all(hc->headers);
  http_token_clear(&hc->bearer_file);
  for (size_t i = 0; i < hc->nroutes; i++) {
    free(hc->routes[i].key);
    curl_slist_free_all(hc->routes[i].connect_to);
  }
  free(hc->routes);
  if (hc->lock_ready)
    pthread_mutex_destroy(&hc->lock);
  memset(hc, 0, sizeof *hc);
}
