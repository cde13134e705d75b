/* outputs.health: the endpoints, on the shared HTTP server
 * (plugins/common/httpd: deadlines, per-address limits, basic auth, TLS).
 *
 *   /health (and /, as Telegraf answers on any path): the checks
 *   /ready: every input and output started
 *
 * 200 when everything passes, else 503; the body is JSON either way and
 * names each failed check. GET and HEAD only. */
#include <stdlib.h>
#include <string.h>

#include "health.h"

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *body) {
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (!text)
    return httpd_reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
  size_t len = strlen(text);
  text[len] = '\0';
  struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(text);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  enum MHD_Result rc = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return rc;
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

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req_cls) {
  health_state *s = cls;
  (void)version;
  (void)upload;
  /* Answer once the whole request is in, so the connection can be kept. */
  if (!*req_cls) {
    *req_cls = s;
    return MHD_YES;
  }
  if (*upload_size) { /* a request body is read and ignored */
    *upload_size = 0;
    return MHD_YES;
  }
  bool ready = strcmp(url, "/ready") == 0;
  if (!ready && strcmp(url, "/health") != 0 && strcmp(url, "/") != 0)
    return httpd_reply_text(c, MHD_HTTP_NOT_FOUND, "not found: use /health or /ready\n");
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
    return reply_not_allowed(c);
  bool ok = false;
  json_t *body = health_agent_report(s, ready, &ok);
  return reply_json(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

int health_http_start(health_state *s) {
  s->http.handler = handle;
  s->http.handler_cls = s;
  s->http.threads = 1; /* probes are few and cheap */
  int rc = httpd_start(s->ctx, &s->http, &s->server);
  if (rc == 0)
    tower_info(s->ctx, "serving /health and /ready on %s (port %u)", s->http.listen,
               (unsigned)httpd_port(s->server));
  return rc;
}

void health_http_stop(health_state *s) {
  httpd_stop(s->server);
  s->server = NULL;
}
