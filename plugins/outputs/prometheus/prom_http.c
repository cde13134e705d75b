/* The scrape handler: path, method, render, gzip. It runs on the shared
 * HTTP server (plugins/common/httpd), which has already done everything
 * before it: ip_range at accept, TLS and the client certificate, basic
 * auth, the deadlines and connection limits. A scrape renders on the
 * server's event-loop thread that accepted it, while the output's write
 * thread goes on storing; the other loops keep serving meanwhile. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prometheus.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define BLOCK_SIZE (64u * 1024)

struct prom_http {
  tower_ctx *ctx;
  prom_http_cfg cfg;
  prom_store *store;
  httpd *server;
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

static enum MHD_Result reply_not_allowed(struct MHD_Connection *c) {
  static const char text[] = "method not allowed: use GET\n";
  struct MHD_Response *r =
      MHD_create_response_from_buffer(sizeof text - 1, (void *)text, MHD_RESPMEM_PERSISTENT);
  if (!r)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
  MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
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
    return httpd_reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
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

/* ---- requests ------------------------------------------------------------------ */

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
  if (strcmp(url, h->cfg.path) != 0)
    return httpd_reply_text(c, MHD_HTTP_NOT_FOUND,
                            "not found: metrics are at the configured path\n");
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
    return reply_not_allowed(c);
  return reply_metrics(h, c);
}

/* ---- start / stop ---------------------------------------------------------------- */

int prom_http_start(tower_ctx *ctx, const prom_http_cfg *cfg, prom_store *st, prom_http **out) {
  prom_http *h = calloc(1, sizeof *h);
  if (!h)
    return -ENOMEM;
  h->ctx = ctx;
  h->cfg = *cfg;
  h->store = st;
  h->cfg.server.handler = handle;
  h->cfg.server.handler_cls = h;
  int rc = httpd_start(ctx, &h->cfg.server, &h->server);
  if (rc) {
    free(h);
    return rc;
  }
  tower_info(ctx, "serving metrics on %s://%s%s (port %u)", cfg->server.tls_cert ? "https" : "http",
             cfg->server.listen, cfg->path, (unsigned)httpd_port(h->server));
  *out = h;
  return 0;
}

void prom_http_stop(prom_http *h) {
  if (!h)
    return;
  httpd_stop(h->server); /* waits for a scrape in progress, closes every connection */
  free(h);
}

uint16_t prom_http_port(const prom_http *h) {
  return httpd_port(h->server);
}
