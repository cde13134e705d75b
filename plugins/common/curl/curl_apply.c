/* The HTTP client options onto libcurl handles: once per handle
 * (http_client_apply), and what changes per request (http_client_request:
 * the URL under tls_server_name, the bearer token of a file). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "curl_common.h"
#include "curl_internal.h"

/* ---- once per handle ------------------------------------------------------------------ */

/* Sets options in turn and remembers the first libcurl refused. */
typedef struct setter {
  CURL *c;
  const char *failed;
  CURLcode code;
} setter;

static void set_long(setter *s, CURLoption o, long v, const char *what) {
  CURLcode rc = s->failed ? CURLE_OK : curl_easy_setopt(s->c, o, v);
  if (rc != CURLE_OK) {
    s->failed = what;
    s->code = rc;
  }
}

static void set_str(setter *s, CURLoption o, const char *v, const char *what) {
  CURLcode rc = s->failed || !v ? CURLE_OK : curl_easy_setopt(s->c, o, v);
  if (rc != CURLE_OK) {
    s->failed = what;
    s->code = rc;
  }
}

/* A configured URL or a redirect must never make a handle speak another
 * protocol (file://, smb://). libcurl >= 7.85 takes the list as a string;
 * the bitmask form is deprecated there. */
static void http_only(setter *s) {
#if LIBCURL_VERSION_NUM >= 0x075500
  set_str(s, CURLOPT_PROTOCOLS_STR, "http,https", "the protocols (http, https)");
#else
  set_long(s, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS),
           "the protocols (http, https)");
#endif
}

/* Verification is on unless insecure_skip_verify says otherwise, whatever
 * libcurl's build defaults are. */
static void tls(setter *s, const http_client *hc) {
  set_str(s, CURLOPT_CAINFO, hc->tls_ca, "tls_ca");
  set_str(s, CURLOPT_SSLCERT, hc->tls_cert, "tls_cert");
  set_str(s, CURLOPT_SSLKEY, hc->tls_key, "tls_key");
  set_str(s, CURLOPT_KEYPASSWD, hc->tls_key_pwd, "tls_key_pwd");
  set_long(s, CURLOPT_SSL_VERIFYPEER, hc->insecure_skip_verify ? 0L : 1L, "insecure_skip_verify");
  set_long(s, CURLOPT_SSL_VERIFYHOST, hc->insecure_skip_verify ? 0L : 2L, "insecure_skip_verify");
}

/* Without the proxy group libcurl's default stays: the environment. An
 * empty CURLOPT_PROXY turns the environment's proxy off. */
static void proxy(setter *s, const http_client *hc) {
  if (!(hc->groups & HTTP_CLIENT_PROXY))
    return;
  if (hc->proxy_url)
    set_str(s, CURLOPT_PROXY, hc->proxy_url, "http_proxy_url");
  else if (!hc->use_system_proxy)
    set_str(s, CURLOPT_PROXY, "", "use_system_proxy = false");
}

/* A bearer token wins over basic authentication, as in Telegraf. The
 * token of a file is sent by http_client_request(). */
static void auth(setter *s, const http_client *hc) {
  if (hc->bearer_string || hc->bearer_file.path) {
    set_long(s, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER, "bearer authentication");
    set_str(s, CURLOPT_XOAUTH2_BEARER, hc->bearer_string, "bearer_token_string");
  } else if (hc->username) {
    set_long(s, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC, "basic authentication");
    set_str(s, CURLOPT_USERNAME, hc->username, "username");
    set_str(s, CURLOPT_PASSWORD, hc->password ? hc->password : "", "password");
  }
}

int http_client_apply(http_client *hc, CURL *c) {
  setter s = {.c = c};
  http_only(&s);
  set_long(&s, CURLOPT_NOSIGNAL, 1L, "no signals"); /* threads: no SIGALRM */
  if (hc->timeout_ns > 0) {
    long ms = (long)(hc->timeout_ns / 1000000);
    set_long(&s, CURLOPT_TIMEOUT_MS, ms, "timeout");
    set_long(&s, CURLOPT_CONNECTTIMEOUT_MS, ms, "timeout");
  }
  tls(&s, hc);
  proxy(&s, hc);
  if (!s.failed && hc->headers && (s.code = curl_easy_setopt(c, CURLOPT_HTTPHEADER, hc->headers)))
    s.failed = "http_headers";
  auth(&s, hc);
  if (s.failed) {
    tower_error(hc->ctx, "libcurl refused %s: %s; is it built with TLS (and proxy) support?",
                s.failed, curl_easy_strerror(s.code));
    return -EINVAL;
  }
  return 0;
}

int http_client_append_headers(const http_client *hc, struct curl_slist **list) {
  for (const struct curl_slist *h = hc->headers; h; h = h->next) {
    struct curl_slist *l = curl_slist_append(*list, h->data);
    if (!l)
      return -ENOMEM;
    *list = l;
  }
  return 0;
}

/* ---- per request ------------------------------------------------------------------------ */

/* The CONNECT_TO list that sends connections for tls_server_name to
 * host:port, made once per host (lock held). NULL: out of memory. */
static struct curl_slist *route(http_client *hc, const char *host, const char *port) {
  char key[512];
  snprintf(key, sizeof key, "%s:%s", host, port);
  for (size_t i = 0; i < hc->nroutes; i++)
    if (strcmp(hc->routes[i].key, key) == 0)
      return hc->routes[i].connect_to;
  http_route *r = realloc(hc->routes, (hc->nroutes + 1) * sizeof *r);
  if (!r)
    return NULL;
  hc->routes = r;
  char entry[1024];
  snprintf(entry, sizeof entry, "%s:%s:%s:%s", hc->tls_server_name, port, host, port);
  http_route n = {.key = strdup(key), .connect_to = curl_slist_append(NULL, entry)};
  if (!n.key || !n.connect_to) {
    free(n.key);
    curl_slist_free_all(n.connect_to);
    return NULL;
  }
  hc->routes[hc->nroutes++] = n;
  return n.connect_to;
}

/* https://host:port/path as https://<tls_server_name>:port/path, connected
 * to host:port: SNI and the certificate check use the name (libcurl has no
 * option for the SNI alone). */
static int server_name_url(http_client *hc, CURL *c, const char *url) {
  CURLU *u = curl_url();
  char *host = NULL, *port = NULL, *named = NULL;
  int rc = -EINVAL;
  if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_HOST, hc->tls_server_name, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_URL, &named, 0) == CURLUE_OK) {
    pthread_mutex_lock(&hc->lock);
    struct curl_slist *to = route(hc, host, port);
    pthread_mutex_unlock(&hc->lock);
    rc = to && curl_easy_setopt(c, CURLOPT_CONNECT_TO, to) == CURLE_OK &&
                 curl_easy_setopt(c, CURLOPT_URL, named) == CURLE_OK
             ? 0
             : -ENOMEM;
  } else if (!u) {
    rc = -ENOMEM;
  }
  curl_free(host);
  curl_free(port);
  curl_free(named);
  curl_url_cleanup(u);
  return rc;
}

/* Sends the token of the file, read again if it changed; if it cannot be
 * read now, the previous one (the file may be in the middle of a swap). */
static int send_file_token(http_client *hc, CURL *c) {
  char err[512];
  pthread_mutex_lock(&hc->lock);
  int rc = http_token_read(&hc->bearer_file, err, sizeof err);
  if (rc && rc != -ENOMEM)
    tower_warn(hc->ctx, "bearer_token: %s; the previous token is sent", err);
  rc = curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, hc->bearer_file.token) == CURLE_OK ? 0 : -ENOMEM;
  pthread_mutex_unlock(&hc->lock);
  return rc;
}

/* Any other URL as it is; the handle may have gone to an https:// URL
 * under tls_server_name before. */
static int plain_url(http_client *hc, CURL *c, const char *url) {
  if (hc->tls_server_name && curl_easy_setopt(c, CURLOPT_CONNECT_TO, NULL) != CURLE_OK)
    return -ENOMEM;
  return curl_easy_setopt(c, CURLOPT_URL, url) == CURLE_OK ? 0 : -ENOMEM;
}

int http_client_request(http_client *hc, CURL *c, const char *url) {
  bool named = hc->tls_server_name && strncasecmp(url, "https://", 8) == 0;
  int rc = named ? server_name_url(hc, c, url) : plain_url(hc, c, url);
  if (!rc && hc->bearer_file.path)
    rc = send_file_token(hc, c);
  return rc;
}
