/* The scrape server: libmicrohttpd with one thread per connection (a slow
 * scraper never holds up another, and a scrape renders on its own thread
 * while the output's write thread keeps storing), a poll()-based listener
 * (no FD_SETSIZE limit), the ip_range check at accept, mutual TLS checked
 * on each request (libmicrohttpd asks for a client certificate but does not
 * require one), then basic auth, path and method. */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prometheus.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define CONNECTION_LIMIT 64
#define THREAD_STACK (512u * 1024)
#define BLOCK_SIZE (64u * 1024)

struct prom_http {
  tower_ctx *ctx;
  prom_http_cfg cfg;
  prom_store *store;
  struct MHD_Daemon *daemon;
  uint16_t port;
};

/* ---- responses ---------------------------------------------------------------- */

/* A rendered body: the text, or its gzip. */
typedef struct body {
  tower_buf *text;
  unsigned char *gz;
  size_t len;
} body;

static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max) {
  body *b = cls;
  if (pos >= b->len)
    return MHD_CONTENT_READER_END_OF_STREAM;
  size_t n = b->len - (size_t)pos < max ? b->len - (size_t)pos : max;
  const char *src = b->gz ? (const char *)b->gz : tower_buf_data(b->text);
  memcpy(buf, src + pos, n);
  return (ssize_t)n;
}

static void body_free(void *cls) {
  body *b = cls;
  tower_buf_free(b->text);
  free(b->gz);
  free(b);
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
  if (!r)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  enum MHD_Result rc = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return rc;
}

/* Renders the store; gzip when the scraper accepts it. NULL on failure. */
static body *render(prom_http *h, bool gzip) {
  body *b = calloc(1, sizeof *b);
  if (!b || !(b->text = tower_buf_new(64 * 1024)) ||
      prom_store_render(h->store, b->text, h->cfg.flags)) {
    if (b)
      body_free(b);
    return NULL;
  }
  b->len = tower_buf_len(b->text);
  if (gzip && prom_gzip(tower_buf_data(b->text), b->len, h->cfg.gzip_level, &b->gz, &b->len)) {
    body_free(b);
    return NULL;
  }
  if (b->gz) { /* the text is no longer needed while the body is sent */
    tower_buf_free(b->text);
    b->text = NULL;
  }
  return b;
}

static enum MHD_Result reply_metrics(prom_http *h, struct MHD_Connection *c) {
  const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
  bool gzip = prom_accepts_gzip(ae);
  body *b = render(h, gzip);
  if (!b) {
    tower_warn(h->ctx, "scrape failed: out of memory");
    return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
  }
  struct MHD_Response *r =
      MHD_create_response_from_callback(b->len, BLOCK_SIZE, body_read, b, body_free);
  if (!r) {
    body_free(b);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
  MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
  if (gzip)
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
  enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, r);
  MHD_destroy_response(r);
  return rc;
}

/* ---- checks --------------------------------------------------------------------- */

/* Compares in time that depends only on the length of `want`, so that
 * timing tells nothing about how much of a guess was right. */
static bool equal_ct(const char *given, const char *want) {
  size_t gl = given ? strlen(given) : 0, wl = strlen(want);
  volatile unsigned char diff = gl != wl;
  for (size_t i = 0; i < wl; i++)
    diff |= (unsigned char)(want[i] ^ (gl ? (unsigned char)given[i % gl] : 0xffu));
  return diff == 0;
}

static bool auth_ok(prom_http *h, struct MHD_Connection *c) {
  char *pass = NULL;
  char *user = MHD_basic_auth_get_username_password(c, &pass);
  /* Both compared, always: no early exit on a wrong user name. */
  bool ok = equal_ct(user, h->cfg.username);
  ok &= equal_ct(pass, h->cfg.password);
  if (pass) {
    explicit_bzero(pass, strlen(pass));
    MHD_free(pass);
  }
  if (user)
    MHD_free(user);
  return ok;
}

static enum MHD_Result reply_unauthorized(struct MHD_Connection *c) {
  static const char text[] = "unauthorized\n";
  struct MHD_Response *r =
      MHD_create_response_from_buffer(sizeof text - 1, (void *)text, MHD_RESPMEM_PERSISTENT);
  if (!r)
    return MHD_NO;
  enum MHD_Result rc = MHD_queue_basic_auth_fail_response(c, "tower", r);
  MHD_destroy_response(r);
  return rc;
}

/* Mutual TLS: the client's chain must verify against tls_allowed_cacerts. */
static bool client_cert_ok(prom_http *h, struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (!ci || !ci->tls_session)
    return false;
  unsigned status = 0;
  int rc = gnutls_certificate_verify_peers2((gnutls_session_t)ci->tls_session, &status);
  if (rc < 0 || status) {
    tower_debug(h->ctx, "client certificate refused: %s",
                rc < 0 ? gnutls_strerror(rc) : "not signed by tls_allowed_cacerts");
    return false;
  }
  return true;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls) {
  prom_http *h = cls;
  (void)version;
  (void)upload;
  /* Answer once the whole request is in: a response queued on the first
   * call (headers only) makes libmicrohttpd close the connection, and
   * Prometheus keeps its connections (and TLS sessions) between scrapes. */
  if (!*con_cls) {
    *con_cls = h;
    return MHD_YES;
  }
  if (*upload_size) { /* a request body is read and ignored */
    *upload_size = 0;
    return MHD_YES;
  }
  if (h->cfg.tls_ca && !client_cert_ok(h, c))
    return reply_text(c, MHD_HTTP_FORBIDDEN,
                      "a client certificate signed by an allowed CA is "
                      "required\n");
  if (h->cfg.username && !auth_ok(h, c)) {
    tower_debug(h->ctx, "scrape refused: missing or wrong basic auth credentials");
    return reply_unauthorized(c);
  }
  if (strcmp(url, h->cfg.path) != 0)
    return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: metrics are at the configured path\n");
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
    return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET\n");
  return reply_metrics(h, c);
}

static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len) {
  prom_http *h = cls;
  (void)len;
  if (prom_cidr_match(h->cfg.ranges, h->cfg.nranges, addr))
    return MHD_YES;
  tower_debug(h->ctx, "connection refused: the client is outside ip_range");
  return MHD_NO;
}

/* libmicrohttpd's own messages (client errors, TLS handshakes) are debug. */
static void mhd_log(void *cls, const char *fmt, va_list ap) {
  tower_vlog(cls, TOWER_LOG_DEBUG, fmt, ap);
}

/* ---- start / stop ---------------------------------------------------------------- */

/* Checks the certificate and key up front, for a clear message instead of
 * libmicrohttpd's failure to start. */
static int check_tls(prom_http *h) {
  if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
    tower_error(h->ctx, "tls_cert is set but this libmicrohttpd was built without TLS support");
    return -ENOTSUP;
  }
  gnutls_certificate_credentials_t cred;
  if (gnutls_certificate_allocate_credentials(&cred) < 0)
    return -ENOMEM;
  gnutls_datum_t cert = {(unsigned char *)(uintptr_t)h->cfg.tls_cert,
                         (unsigned)strlen(h->cfg.tls_cert)};
  gnutls_datum_t key = {(unsigned char *)(uintptr_t)h->cfg.tls_key,
                        (unsigned)strlen(h->cfg.tls_key)};
  int rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
  if (rc < 0)
    tower_error(h->ctx, "tls_cert/tls_key: %s (PEM certificate and its matching private key?)",
                gnutls_strerror(rc));
  if (rc >= 0 && h->cfg.tls_ca) {
    gnutls_datum_t ca = {(unsigned char *)(uintptr_t)h->cfg.tls_ca,
                         (unsigned)strlen(h->cfg.tls_ca)};
    rc = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
    if (rc <= 0)
      tower_error(h->ctx, "tls_allowed_cacerts: no CA certificate could be read%s%s",
                  rc < 0 ? ": " : "", rc < 0 ? gnutls_strerror(rc) : "");
    rc = rc <= 0 ? -1 : 0;
  }
  gnutls_certificate_free_credentials(cred);
  return rc < 0 ? -EINVAL : 0;
}

static struct MHD_Daemon *start_daemon(prom_http *h, int fd, bool v6) {
  struct MHD_OptionItem tls[] = {
      {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)(uintptr_t)h->cfg.tls_key},
      {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)(uintptr_t)h->cfg.tls_cert},
      {h->cfg.tls_ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0,
       (void *)(uintptr_t)h->cfg.tls_ca},
      {MHD_OPTION_END, 0, NULL},
  };
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                   MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0) |
                   (h->cfg.tls_cert ? MHD_USE_TLS : 0);
  return MHD_start_daemon(flags, h->port, h->cfg.nranges ? accept_policy : NULL, h, handle, h,
                          MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h->ctx, MHD_OPTION_LISTEN_SOCKET, fd,
                          MHD_OPTION_CONNECTION_TIMEOUT, h->cfg.timeout_s,
                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
                          MHD_OPTION_THREAD_STACK_SIZE, (size_t)THREAD_STACK, MHD_OPTION_ARRAY,
                          h->cfg.tls_cert ? tls : &tls[3], MHD_OPTION_END);
}

int prom_http_start(tower_ctx *ctx, const prom_http_cfg *cfg, prom_store *st, prom_http **out) {
  prom_http *h = calloc(1, sizeof *h);
  if (!h)
    return -ENOMEM;
  h->ctx = ctx;
  h->cfg = *cfg;
  h->store = st;
  int rc = cfg->tls_cert ? check_tls(h) : 0;
  char err[512];
  bool v6 = false;
  int fd = rc ? rc : prom_listen(cfg->listen, 128, &h->port, &v6, err, sizeof err);
  if (rc == 0 && fd < 0)
    tower_error(ctx, "%s", err);
  if (fd < 0) {
    free(h);
    return fd;
  }
  /* libmicrohttpd closes the socket it is given, also when it fails to
   * start (on most paths): hand it a duplicate and close ours, so that the
   * socket is closed exactly once either way. */
  int mhd_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  h->daemon = mhd_fd < 0 ? NULL : start_daemon(h, mhd_fd, v6);
  close(fd);
  if (!h->daemon) {
    tower_error(ctx, "cannot start the HTTP server on %s (see the debug log)", cfg->listen);
    free(h);
    return -EIO;
  }
  tower_info(ctx, "serving metrics on %s://%s%s (port %u)", cfg->tls_cert ? "https" : "http",
             cfg->listen, cfg->path, (unsigned)h->port);
  *out = h;
  return 0;
}

void prom_http_stop(prom_http *h) {
  if (!h)
    return;
  MHD_stop_daemon(h->daemon); /* joins the connection threads, closes the socket */
  free(h);
}

uint16_t prom_http_port(const prom_http *h) {
  return h->port;
}
