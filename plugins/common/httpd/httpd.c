/* The server: libmicrohttpd's poll() event loops in a thread pool
 * (httpd.h says why), the ip_range check at accept, the client certificate
 * and basic auth checks on each request's headers, then the plugin's
 * handler. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "httpd_int.h"

/* The kernel caps it at net.core.somaxconn; a burst of connections then
 * waits in the queue instead of being dropped. */
#define LISTEN_BACKLOG 1024
/* Descriptors the rest of the agent may need besides the connections. */
#define FD_RESERVE 64u

struct httpd {
  tower_ctx *ctx;
  httpd_cfg cfg;
  size_t ulen, plen; /* basic auth credentials, bytes */
  httpd_conns *conns;
  struct MHD_Daemon *daemon;
  uint16_t port;
};

enum MHD_Result httpd_reply_text(struct MHD_Connection *c, unsigned status, const char *text) {
  struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text,
                                                           MHD_RESPMEM_PERSISTENT);
  if (!r)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
  enum MHD_Result rc = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return rc;
}

/* ---- the checks on each request ---------------------------------------------- */

static bool auth_ok(httpd *h, struct MHD_Connection *c) {
  const char *value = NULL;
  size_t len = 0;
  if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION,
                                    strlen(MHD_HTTP_HEADER_AUTHORIZATION), &value, &len) != MHD_YES)
    value = NULL;
  return httpd_basic_auth_ok(value, len, h->cfg.username, h->ulen, h->cfg.password, h->plen);
}

/* The status a request is refused with on its headers, or 0. */
static unsigned refusal(httpd *h, struct MHD_Connection *c, const char *url) {
  if (h->cfg.tls_ca && !httpd_client_cert_ok(h->ctx, c))
    return MHD_HTTP_FORBIDDEN;
  bool ok = !h->cfg.username || auth_ok(h, c);
  if (h->cfg.authorize)
    ok = h->cfg.authorize(h->cfg.handler_cls, c, url, ok);
  if (!ok) {
    tower_debug(h->ctx, "request refused: missing or wrong credentials");
    return MHD_HTTP_UNAUTHORIZED;
  }
  return 0;
}

static enum MHD_Result reply_refusal(httpd *h, struct MHD_Connection *c, unsigned status) {
  if (status == MHD_HTTP_FORBIDDEN)
    return httpd_reply_text(c, status,
                            "a client certificate signed by an allowed CA is required\n");
  static const char text[] = "unauthorized\n";
  struct MHD_Response *r =
      MHD_create_response_from_buffer(sizeof text - 1, (void *)text, MHD_RESPMEM_PERSISTENT);
  if (!r)
    return MHD_NO;
  enum MHD_Result rc =
      MHD_queue_basic_auth_fail_response(c, h->cfg.realm ? h->cfg.realm : "tower", r);
  MHD_destroy_response(r);
  return rc;
}

/* libmicrohttpd's access handler: tracks the request's phase (for the
 * deadlines), checks it on its headers, then hands it to the plugin. A
 * refused request is read to its end (the body dropped) and answered then,
 * so that the connection stays usable. */
static enum MHD_Result dispatch(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **req_cls) {
  httpd *h = cls;
  bool last = *upload_size == 0;
  int was = httpd_conn_enter(h->conns, c, HTTPD_BODY);
  if (was < 0)
    return MHD_NO; /* no slot: the connection is being cut */
  bool first = was == HTTPD_AWAIT;
  if (first)
    httpd_conn_set_refusal(h->conns, c, refusal(h, c, url));
  if (last && !first)
    httpd_conn_enter(h->conns, c, HTTPD_RESPOND);
  unsigned refused = httpd_conn_refusal(h->conns, c);
  if (!refused)
    return h->cfg.handler(h->cfg.handler_cls, c, url, method, version, upload, upload_size,
                          req_cls);
  *upload_size = 0;
  return last && !first ? reply_refusal(h, c, refused) : MHD_YES;
}

/* MHD_OPTION_NOTIFY_COMPLETED: the connection's next request gets its own
 * deadline; the plugin frees what it kept for this one. */
static void request_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                              enum MHD_RequestTerminationCode toe) {
  httpd *h = cls;
  httpd_conns_completed(h->conns, c, req_cls, toe);
  if (h->cfg.completed)
    h->cfg.completed(h->cfg.handler_cls, c, req_cls, toe);
}

static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len) {
  httpd *h = cls;
  (void)len;
  if (httpd_cidr_match(h->cfg.ranges, h->cfg.nranges, addr))
    return MHD_YES;
  tower_debug(h->ctx, "connection refused: the client is outside ip_range");
  return MHD_NO;
}

/* libmicrohttpd's own messages (client errors, TLS handshakes, limits) are
 * debug: a client must not be able to flood the log. */
static void mhd_log(void *cls, const char *fmt, va_list ap) {
  tower_vlog(cls, TOWER_LOG_DEBUG, fmt, ap);
}

/* ---- start / stop ------------------------------------------------------------------ */

/* max_connections, lowered to what the descriptor limit allows (with a
 * warning): past it, accept() fails and libmicrohttpd stops accepting until
 * a connection closes. */
static unsigned fit_connections(httpd *h) {
  unsigned max = h->cfg.max_connections;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY ||
      rl.rlim_cur >= (rlim_t)max + 2 * FD_RESERVE)
    return max;
  unsigned fit = rl.rlim_cur > 2 * FD_RESERVE ? (unsigned)rl.rlim_cur - FD_RESERVE : FD_RESERVE;
  if (fit < max) {
    tower_warn(h->ctx,
               "max_connections = %u does not fit the open-file limit (%llu): serving at most %u "
               "connections; raise the limit (ulimit -n, LimitNOFILE=) or lower max_connections",
               max, (unsigned long long)rl.rlim_cur, fit);
    return fit;
  }
  return max;
}

static struct MHD_Daemon *start_daemon(httpd *h, int fd, bool v6, unsigned max) {
  struct MHD_OptionItem tls[] = {
      {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)(uintptr_t)h->cfg.tls_key},
      {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)(uintptr_t)h->cfg.tls_cert},
      {h->cfg.tls_ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0,
       (void *)(uintptr_t)h->cfg.tls_ca},
      {MHD_OPTION_END, 0, NULL},
  };
  unsigned threads = h->cfg.threads ? h->cfg.threads : HTTPD_THREADS;
  threads = threads > max ? max : threads;
  /* poll(), not epoll: see httpd.h (a trickled TLS handshake spins epoll). */
  unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0) |
                   (h->cfg.tls_cert ? MHD_USE_TLS : 0) |
                   (h->cfg.suspend ? MHD_ALLOW_SUSPEND_RESUME : 0);
  return MHD_start_daemon(
      flags, h->port, h->cfg.nranges ? accept_policy : NULL, h, dispatch, h,
      MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h->ctx, MHD_OPTION_LISTEN_SOCKET, fd,
      MHD_OPTION_CONNECTION_LIMIT, max, MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->cfg.max_per_ip,
      MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0u, MHD_OPTION_NOTIFY_CONNECTION,
      httpd_conns_notify, h->conns, MHD_OPTION_NOTIFY_COMPLETED, request_completed, h,
      MHD_OPTION_ARRAY, h->cfg.tls_cert ? tls : &tls[3], MHD_OPTION_END);
}

/* Binds the socket and starts libmicrohttpd on it. */
static int serve(httpd *h) {
  char err[512];
  bool v6 = false;
  int fd = httpd_listen(h->cfg.listen, h->cfg.listen_key ? h->cfg.listen_key : "listen",
                        LISTEN_BACKLOG, &h->port, &v6, err, sizeof err);
  if (fd < 0) {
    tower_error(h->ctx, "%s", err);
    return fd;
  }
  unsigned max = fit_connections(h);
  h->conns = httpd_conns_new(h->ctx, max, h->cfg.read_timeout, h->cfg.write_timeout);
  /* libmicrohttpd closes the socket it is given, also when it fails to
   * start (on most paths): hand it a duplicate and close ours, so that the
   * socket is closed exactly once either way. */
  int mhd_fd = h->conns ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
  h->daemon = mhd_fd < 0 ? NULL : start_daemon(h, mhd_fd, v6, max);
  close(fd);
  if (!h->daemon) {
    tower_error(h->ctx, "cannot start the HTTP server on %s (see the debug log)", h->cfg.listen);
    return -EIO;
  }
  return 0;
}

int httpd_start(tower_ctx *ctx, const httpd_cfg *cfg, httpd **out) {
  httpd *h = calloc(1, sizeof *h);
  if (!h)
    return -ENOMEM;
  h->ctx = ctx;
  h->cfg = *cfg;
  if (cfg->username) {
    h->ulen = strlen(cfg->username);
    h->plen = strlen(cfg->password);
  }
  int rc = cfg->tls_cert ? httpd_check_tls(ctx, cfg) : 0;
  if (rc == 0)
    rc = serve(h);
  if (rc) {
    httpd_stop(h);
    return rc;
  }
  *out = h;
  return 0;
}

void httpd_stop(httpd *h) {
  if (!h)
    return;
  if (h->daemon)
    MHD_stop_daemon(h->daemon); /* closes every connection and the socket */
  httpd_conns_free(h->conns);
  free(h);
}

uint16_t httpd_port(const httpd *h) {
  return h->port;
}
