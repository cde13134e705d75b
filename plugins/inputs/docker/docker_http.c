/* The libcurl side: where the daemon is (unix socket, or TCP with optional
 * TLS), and one multi handle driving a fixed pool of DOCKER_MAX_IN_FLIGHT
 * easy handles. Every transfer of a gather is limited by the gather's one
 * deadline, so a daemon that accepts and never answers costs `timeout`,
 * not `timeout` per request (Telegraf issue #1133). The multi handle keeps
 * at most DOCKER_MAX_IN_FLIGHT connections open for reuse between
 * gathers; a transfer cut off at the deadline closes its connection, so
 * the descriptors in use never grow from gather to gather (#9242). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "docker.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* ---- the endpoint -------------------------------------------------------------- */

static bool starts(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int dup_opt(char **dst, const char *src) {
  if (!src || !*src)
    return 0;
  *dst = strdup(src);
  return *dst ? 0 : -ENOMEM;
}

/* path/name as a new string. */
static char *join_path(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p)
    snprintf(p, n, "%s/%s", dir, name);
  return p;
}

/* endpoint = "ENV": the Docker CLI's variables, as Telegraf's client.FromEnv
 * reads them. DOCKER_CERT_PATH turns TLS on (ca.pem, cert.pem, key.pem
 * there); without DOCKER_TLS_VERIFY the server certificate is not checked. */
static int from_env(docker_endpoint *ep) {
  const char *host = getenv("DOCKER_HOST");
  const char *certs = getenv("DOCKER_CERT_PATH");
  const char *verify = getenv("DOCKER_TLS_VERIFY");
  const char *api = getenv("DOCKER_API_VERSION");
  int rc = dup_opt(&ep->url, host && *host ? host : "unix:///var/run/docker.sock");
  rc = rc ? rc : dup_opt(&ep->pinned_api, api);
  if (rc || !certs || !*certs)
    return rc;
  ep->tls = true;
  ep->skip_verify = !(verify && *verify);
  ep->tls_ca = join_path(certs, "ca.pem");
  ep->tls_cert = join_path(certs, "cert.pem");
  ep->tls_key = join_path(certs, "key.pem");
  return ep->tls_ca && ep->tls_cert && ep->tls_key ? 0 : -ENOMEM;
}

int docker_endpoint_resolve(const char *endpoint, const char *tls_ca, const char *tls_cert,
                            const char *tls_key, bool skip_verify, docker_endpoint *ep, char *err,
                            size_t errlen) {
  memset(ep, 0, sizeof *ep);
  int rc;
  if (strcmp(endpoint, "ENV") == 0) {
    rc = from_env(ep);
  } else {
    rc = dup_opt(&ep->url, endpoint);
    rc = rc ? rc : dup_opt(&ep->tls_ca, tls_ca);
    rc = rc ? rc : dup_opt(&ep->tls_cert, tls_cert);
    rc = rc ? rc : dup_opt(&ep->tls_key, tls_key);
    ep->skip_verify = skip_verify;
    /* As Telegraf: any TLS option turns a tcp:// endpoint into HTTPS. */
    ep->tls = ep->tls_ca || ep->tls_cert || ep->tls_key || skip_verify;
  }
  if (rc)
    return rc;
  const char *u = ep->url ? ep->url : "";
  bool unix_ok = starts(u, "unix:///") && u[8];
  bool tcp_ok = (starts(u, "tcp://") && u[6]) || (starts(u, "http://") && u[7]) ||
                (starts(u, "https://") && u[8]);
  if (!unix_ok && !tcp_ok) {
    snprintf(err, errlen,
             "endpoint \"%s\" is not a Docker endpoint: use unix:///path/to/docker.sock, "
             "tcp://host:port (with tls_* options for TLS), or ENV for DOCKER_HOST",
             u);
    return -EINVAL;
  }
  if (starts(u, "https://"))
    ep->tls = true;
  return 0;
}

void docker_endpoint_free(docker_endpoint *ep) {
  free(ep->url);
  free(ep->tls_ca);
  free(ep->tls_cert);
  free(ep->tls_key);
  free(ep->pinned_api);
  memset(ep, 0, sizeof *ep);
}

/* The request base URL: unix sockets speak HTTP to any host name; tcp://
 * becomes http:// or https://. The trailing '/' is dropped. */
static int set_base(docker_http *h, const docker_endpoint *ep) {
  const char *u = ep->url;
  char *base;
  if (starts(u, "unix://")) {
    h->unix_path = strdup(u + 7);
    base = strdup("http://localhost");
  } else {
    const char *rest = starts(u, "tcp://") ? u + 6 : strstr(u, "://") + 3;
    size_t n = strlen(rest) + 16;
    base = malloc(n);
    if (base)
      snprintf(base, n, "%s://%s", ep->tls ? "https" : "http", rest);
  }
  if (!base || (starts(u, "unix://") && !h->unix_path)) {
    free(base);
    return -ENOMEM;
  }
  size_t len = strlen(base);
  while (len > 8 && base[len - 1] == '/')
    base[--len] = '\0';
  h->base = base;
  char shown[512];
  h->display = strdup(tower_redact_url(u, shown, sizeof shown));
  return h->display ? 0 : -ENOMEM;
}

/* ---- the pool ------------------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  docker_slot *s = ud;
  size_t n = size * nmemb;
  if (s->len + n > DOCKER_BODY_MAX) {
    s->too_big = true;
    return 0; /* ends the transfer with CURLE_WRITE_ERROR */
  }
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 16384;
    while (cap < s->len + n + 1)
      cap *= 2;
    char *b = realloc(s->body, cap);
    if (!b)
      return 0;
    s->body = b;
    s->cap = cap;
  }
  memcpy(s->body + s->len, data, n);
  s->len += n;
  s->body[s->len] = '\0';
  return n;
}

/* The TLS options (logged if libcurl refuses one: -EINVAL), then ours. */
static int setup_easy(docker_http *h, docker_slot *s) {
  CURL *c = s->easy = curl_easy_init();
  if (!c)
    return -ENOMEM;
  if (http_client_apply(h->client, c))
    return -EINVAL;
  bool ok = curl_easy_setopt(c, CURLOPT_USERAGENT, "tower/" PLUGIN_VERSION) == CURLE_OK;
  ok &= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
  ok &= curl_easy_setopt(c, CURLOPT_WRITEDATA, s) == CURLE_OK;
  ok &= curl_easy_setopt(c, CURLOPT_PRIVATE, s) == CURLE_OK;
  ok &= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->errbuf) == CURLE_OK;
  if (h->unix_path)
    ok &= curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, h->unix_path) == CURLE_OK;
  else
    ok &= curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
  if (!ok)
    tower_error(h->ctx,
                "cannot configure libcurl for %s (out of memory, or a libcurl without unix "
                "socket support)",
                h->display);
  return ok ? 0 : -EINVAL;
}

int docker_http_init(docker_http *h, tower_ctx *ctx, const docker_endpoint *ep,
                     http_client *client) {
  memset(h, 0, sizeof *h);
  h->ctx = ctx;
  h->client = client;
  /* Reference counted, thread-safe since libcurl 7.84 (Debian 12: 7.88). */
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    tower_error(ctx, "cannot initialize libcurl");
    return -ENOMEM;
  }
  h->curl_ready = true;
  if (set_base(h, ep) || !(h->multi = curl_multi_init()))
    return -ENOMEM;
  if (curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)DOCKER_MAX_IN_FLIGHT) !=
          CURLM_OK ||
      curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)DOCKER_MAX_IN_FLIGHT) != CURLM_OK)
    return -ENOMEM;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < DOCKER_MAX_IN_FLIGHT; i++)
    rc = setup_easy(h, &h->slots[i]);
  return rc;
}

void docker_http_fini(docker_http *h) {
  for (size_t i = 0; i < DOCKER_MAX_IN_FLIGHT; i++) {
    docker_slot *s = &h->slots[i];
    if (s->busy)
      curl_multi_remove_handle(h->multi, s->easy);
    if (s->easy)
      curl_easy_cleanup(s->easy);
    free(s->body);
  }
  if (h->multi)
    curl_multi_cleanup(h->multi);
  if (h->curl_ready)
    curl_global_cleanup();
  free(h->base);
  free(h->unix_path);
  free(h->display);
  memset(h, 0, sizeof *h);
}

void docker_http_trim(docker_http *h) {
  for (size_t i = 0; i < DOCKER_MAX_IN_FLIGHT; i++) {
    docker_slot *s = &h->slots[i];
    if (!s->busy && s->cap > (1u << 20)) {
      free(s->body);
      s->body = NULL;
      s->cap = s->len = 0;
    }
  }
}

docker_slot *docker_http_free_slot(docker_http *h) {
  for (size_t i = 0; i < DOCKER_MAX_IN_FLIGHT; i++)
    if (!h->slots[i].busy)
      return &h->slots[i];
  return NULL;
}

int docker_http_start(docker_http *h, docker_slot *s, docker_req kind, size_t ctr, const char *path,
                      int64_t deadline) {
  char url[512];
  int n = snprintf(url, sizeof url, "%s%s", h->base, path);
  if (n < 0 || (size_t)n >= sizeof url || strlen(path) >= sizeof s->path)
    return -ENAMETOOLONG;
  /* libcurl's own limit is a safety net a second past the deadline:
   * docker_http_run ends the transfers at the deadline itself, so that
   * all of them are reported together. */
  int64_t left_ms = (deadline - tower_mono_ns()) / 1000000;
  long ms = (left_ms < 1 ? 1 : (long)left_ms) + 1000;
  strcpy(s->path, path);
  s->kind = kind;
  s->ctr = ctr;
  s->len = 0;
  s->too_big = false;
  s->code = CURLE_OK;
  s->status = 0;
  s->os_errno = 0;
  s->errbuf[0] = '\0';
  CURL *c = s->easy;
  int rc = http_client_request(h->client, c, url);
  if (rc)
    return rc;
  if (curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms) != CURLE_OK ||
      curl_multi_add_handle(h->multi, c) != CURLM_OK)
    return -ENOMEM;
  s->busy = true;
  return 0;
}

/* ---- running ---------------------------------------------------------------------------- */

static void finish(docker_http *h, CURLMsg *msg, docker_done_fn done, void *ud) {
  docker_slot *s = NULL;
  curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
  s->code = msg->data.result;
  curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->status);
  curl_easy_getinfo(s->easy, CURLINFO_OS_ERRNO, &s->os_errno);
  curl_multi_remove_handle(h->multi, s->easy);
  s->busy = false;
  done(ud, s);
}

static bool any_busy(const docker_http *h) {
  for (size_t i = 0; i < DOCKER_MAX_IN_FLIGHT; i++)
    if (h->slots[i].busy)
      return true;
  return false;
}

/* Waits for socket activity, at most until the deadline and never longer
 * than 200 ms, so that a stopping agent is noticed soon. */
static void wait_some(docker_http *h, int64_t deadline) {
  int64_t left = (deadline - tower_mono_ns()) / 1000000;
  int ms = left < 1 ? 1 : left > 200 ? 200 : (int)left;
#if LIBCURL_VERSION_NUM >= 0x074200
  curl_multi_poll(h->multi, NULL, 0, ms, NULL);
#else
  int fds = 0;
  curl_multi_wait(h->multi, NULL, 0, ms, &fds);
  if (fds == 0) {
    /* curl_multi_wait returns at once when libcurl has no socket to
     * watch yet (resolving): sleep a little instead of spinning. */
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
#endif
}

size_t docker_http_run(docker_http *h, int64_t deadline, docker_done_fn done, bool (*stop)(void *),
                       void *ud, docker_slot *aborted) {
  for (;;) {
    int running = 0, left = 0;
    curl_multi_perform(h->multi, &running);
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(h->multi, &left)))
      if (msg->msg == CURLMSG_DONE)
        finish(h, msg, done, ud);
    if (!any_busy(h))
      return 0;
    if (tower_mono_ns() >= deadline || (stop && stop(ud)))
      break;
    wait_some(h, deadline);
  }
  size_t n = 0;
  for (size_t i = 0; i < DOCKER_MAX_IN_FLIGHT; i++) {
    docker_slot *s = &h->slots[i];
    if (!s->busy)
      continue;
    curl_multi_remove_handle(h->multi, s->easy); /* closes its connection */
    s->busy = false;
    aborted[n++] = *s;
  }
  return n;
}
