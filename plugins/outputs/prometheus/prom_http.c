/* The scrape handler: path, method, render, gzip. It runs on the shared
 * HTTP server (plugins/common/httpd), which has already done everything
 * before it: ip_range at accept, TLS and the client certificate, basic
 * auth, the deadlines and connection limits. A scrape is answered from the
 * shared render (prom_render.c), rendered again on the event-loop thread
 * of the first scrape after a change while the output's write thread goes
 * on storing; every connection sends from that one render. */
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
  prom_cache *cache; /* the shared render of the store */
  httpd *server;
};

/* ---- responses ---------------------------------------------------------------- */

static void body_done(void *cls) {
  prom_body_release(cls);
}

#if MHD_VERSION >= 0x00097302
/* Sent straight from the shared render: no per-connection copy. */
static struct MHD_Response *response(prom_body *b, const void *data, size_t len) {
  struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(
      len, (void *)(uintptr_t)data, body_done, b);
  if (!r)
    body_done(b);
  return r;
}
#else
/* libmicrohttpd before 0.9.73 has no buffer response with a free callback:
 * the body is read into the connection's block, which is bounded by
 * BLOCK_SIZE and does not grow with the exposition. */
typedef struct reader {
  prom_body *b;
  const char *data;
  size_t len;
} reader;

static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max) {
  reader *r = cls;
  if (pos >= r->len)
    return MHD_CONTENT_READER_END_OF_STREAM;
  size_t n = r->len - (size_t)pos < max ? r->len - (size_t)pos : max;
  memcpy(buf, r->data + pos, n);
  return (ssize_t)n;
}

static void reader_done(void *cls) {
  reader *r = cls;
  prom_body_release(r->b);
  free(r);
}

static struct MHD_Response *response(prom_body *b, const void *data, size_t len) {
  reader *r = malloc(sizeof *r);
  if (!r) {
    body_done(b);
    return NULL;
  }
  *r = (reader){.b = b, .data = data, .len = len};
  struct MHD_Response *resp =
      MHD_create_response_from_callback(len, BLOCK_SIZE, body_read, r, reader_done);
  if (!resp)
    reader_done(r);
  return resp;
}
#endif

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

static enum MHD_Result reply_metrics(prom_http *h, struct MHD_Connection *c) {
  const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
  prom_body *b = prom_cache_get(h->cache);
  if (!b) {
    tower_warn(h->ctx, "scrape failed: out of memory rendering the exposition");
    return httpd_reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
  }
  size_t len;
  const void *data = NULL;
  bool gzip = prom_accepts_gzip(ae);
  if (gzip && !(data = prom_body_gzip(b, &len))) {
    tower_warn(h->ctx, "gzip of the exposition failed (out of memory?): sending it uncompressed");
    gzip = false;
  }
  if (!gzip)
    data = prom_body_text(b, &len);
  /* The response owns the reference from here (released when it is sent
   * or the connection closes, or at once when it cannot be created). */
  struct MHD_Response *r = response(b, data, len);
  if (!r)
    return MHD_NO;
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
  if (!(h->cache = prom_cache_new(st, cfg->flags, cfg->gzip_level))) {
    free(h);
    return -ENOMEM;
  }
  h->cfg.server.handler = handle;
  h->cfg.server.handler_cls = h;
  int rc = httpd_start(ctx, &h->cfg.server, &h->server);
  if (rc) {
    prom_cache_free(h->cache);
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
  prom_cache_free(h->cache);
  free(h);
}

uint16_t prom_http_port(const prom_http *h) {
  return httpd_port(h->server);
}
