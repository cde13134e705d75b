/* The HTTP side: routes, credentials, request bodies (gzip through zlib,
 * max_body_size), and the pool of request states. It runs on the shared
 * HTTP server (plugins/common/httpd), which has done ip_range, TLS, client
 * certificates, basic auth and the deadlines before it.
 *
 *   GET|HEAD /ping          204 (?verbose=true: 200 with the version)
 *   GET /health, /ready     InfluxDB 2.x's readiness answers
 *   POST /write             the 1.x write API (db, rp, precision, u, p)
 *   POST /api/v2/write      the 2.x write API (org, bucket, precision;
 *                           Authorization: Token)
 *   GET|POST /query         ifl_query.c
 *
 * A request that is refused (wrong method, bad precision, body too large)
 * has its body read and dropped before the answer, so the connection
 * stays usable; only a Content-Length over max_body_size is answered at
 * once (libmicrohttpd then closes the connection instead of reading it). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "influxdb_listener.h"

/* Body buffers larger than this are freed when their request ends, so that
 * one big write does not pin its memory in the pool. */
#define KEEP_BODY (1u << 20)
/* Request states kept for reuse; more (a burst of connections) are freed
 * when they end. With KEEP_BODY, the pool holds at most 32 MiB of body
 * buffers. */
#define KEEP_REQS 32u

static const char not_found[] = "404 page not found\n";

/* ---- routes and credentials ------------------------------------------------- */

static ifl_route route_of(const char *url) {
  static const struct {
    const char *path;
    ifl_route route;
  } routes[] = {{"/write", IFL_WRITE_V1}, {"/api/v2/write", IFL_WRITE_V2}, {"/ping", IFL_PING},
                {"/query", IFL_QUERY},    {"/health", IFL_HEALTH},         {"/ready", IFL_READY}};
  for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
    if (strcmp(url, routes[i].path) == 0)
      return routes[i].route;
  return IFL_NOT_FOUND;
}

static const char *header(struct MHD_Connection *c, const char *name) {
  return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* "Authorization: Token <token>", as InfluxDB 2.x takes it. */
static bool token_ok(const ifl_state *s, struct MHD_Connection *c) {
  const char *v = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
  if (!v || strncmp(v, "Token ", 6) != 0)
    return false;
  return httpd_secret_equal(v + 6, strlen(v + 6), s->token, s->token_len);
}

/* 1.x credentials in the query string (?u=...&p=...): both compared. */
static bool query_credentials_ok(const ifl_state *s, struct MHD_Connection *c) {
  const char *u = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "u");
  const char *p = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "p");
  if (!u || !p)
    return false;
  bool ok = httpd_secret_equal(u, strlen(u), s->hc.username, strlen(s->hc.username));
  ok &= httpd_secret_equal(p, strlen(p), s->hc.password, strlen(s->hc.password));
  return ok;
}

/* Any configured credential lets a request in: basic auth or u/p with
 * basic_username/basic_password, or the token. /ping, /health and /ready
 * are open, as influxd's are by default. */
bool ifl_authorize(void *cls, struct MHD_Connection *c, const char *url, bool basic_ok) {
  const ifl_state *s = cls;
  ifl_route route = route_of(url);
  if (route == IFL_PING || route == IFL_HEALTH || route == IFL_READY)
    return true;
  bool basic = s->hc.username != NULL;
  if (!basic && !s->token)
    return true;
  if (basic && (basic_ok || query_credentials_ok(s, c)))
    return true;
  return s->token && token_ok(s, c);
}

/* ---- the pool ------------------------------------------------------------------ */

static ifl_req *req_take(ifl_state *s) {
  pthread_mutex_lock(&s->pool_lock);
  ifl_req *r = s->free_reqs;
  if (r) {
    s->free_reqs = r->next_free;
    s->pooled--;
  }
  pthread_mutex_unlock(&s->pool_lock);
  if (!r)
    r = calloc(1, sizeof *r);
  return r;
}

static void req_free(ifl_req *r) {
  tower_parser_free(r->parser);
  tower_buf_free(r->errors);
  if (r->z_ready)
    inflateEnd(&r->z);
  free(r->ms);
  free(r->body);
  free(r);
}

/* Back into the pool, emptied; its buffers, parser and zlib state stay. */
static void req_give(ifl_state *s, ifl_req *r) {
  ifl_write_discard(r);
  ifl_wait_drop(r->wait);
  if (r->cap > KEEP_BODY) {
    free(r->body);
    r->body = NULL;
    r->cap = 0;
  }
  if (r->errors)
    tower_buf_reset(r->errors);
  tower_parser *parser = r->parser;
  tower_metric **ms = r->ms;
  size_t ms_cap = r->ms_cap, cap = r->cap;
  char *body = r->body;
  tower_buf *errors = r->errors;
  z_stream z = r->z;
  bool z_ready = r->z_ready;
  *r = (ifl_req){.parser = parser,
                 .ms = ms,
                 .ms_cap = ms_cap,
                 .body = body,
                 .cap = cap,
                 .errors = errors,
                 .z = z,
                 .z_ready = z_ready};
  pthread_mutex_lock(&s->pool_lock);
  bool keep = s->pooled < KEEP_REQS;
  if (keep) {
    r->next_free = s->free_reqs;
    s->free_reqs = r;
    s->pooled++;
  }
  pthread_mutex_unlock(&s->pool_lock);
  if (!keep)
    req_free(r);
}

void ifl_pool_free(ifl_state *s) {
  while (s->free_reqs) {
    ifl_req *r = s->free_reqs;
    s->free_reqs = r->next_free;
    req_free(r);
  }
  s->pooled = 0;
}

void ifl_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                   enum MHD_RequestTerminationCode toe) {
  (void)c;
  (void)toe;
  if (*req_cls)
    req_give(cls, *req_cls);
  *req_cls = NULL;
}

/* ---- the body ---------------------------------------------------------------------- */

/* Grows the body buffer to hold `need` bytes (need <= limit). */
static bool reserve(ifl_req *r, size_t limit, size_t need) {
  if (need <= r->cap)
    return true;
  size_t cap = r->cap ? r->cap : 64 * 1024;
  while (cap < need)
    cap *= 2;
  cap = cap > limit ? limit : cap;
  char *b = realloc(r->body, cap);
  if (!b) {
    r->too_large = true; /* no memory for it: the client hears 413 */
    return false;
  }
  r->body = b;
  r->cap = cap;
  return true;
}

static void append_plain(ifl_req *r, size_t limit, const char *data, size_t n) {
  if (n > limit - r->len) {
    r->too_large = true;
    return;
  }
  if (!reserve(r, limit, r->len + n))
    return;
  memcpy(r->body + r->len, data, n);
  r->len += n;
}

/* Inflates a piece of a gzip body (several members follow each other, as
 * gzip and Go's reader allow). */
static void append_gzip(ifl_req *r, size_t limit, const char *data, size_t n) {
  r->z.next_in = (Bytef *)(uintptr_t)data;
  r->z.avail_in = (uInt)n;
  while (r->z.avail_in && !r->z_bad && !r->too_large) {
    if (r->z_done) { /* another member */
      inflateReset(&r->z);
      r->z_done = false;
    }
    /* One byte more than the limit: inflating into it tells a body over
     * the limit from one that ends right at it (its trailer left). */
    if (!reserve(r, limit + 1, r->len + 1))
      return;
    r->z.next_out = (Bytef *)(r->body + r->len);
    r->z.avail_out = (uInt)(r->cap - r->len);
    int zr = inflate(&r->z, Z_NO_FLUSH);
    r->len = r->cap - r->z.avail_out;
    if (r->len > limit)
      r->too_large = true;
    else if (zr == Z_STREAM_END)
      r->z_done = true;
    else if (zr != Z_OK && !(zr == Z_BUF_ERROR && r->z.avail_out == 0))
      r->z_bad = true;
  }
}

static void take_body(ifl_state *s, ifl_req *r, const char *data, size_t n) {
  if (r->early.status || r->too_large || r->z_bad)
    return; /* refused: read and dropped */
  if (r->route == IFL_QUERY)
    append_plain(r, IFL_MAX_QUERY_BODY, data, n);
  else if (r->route != IFL_WRITE_V1 && r->route != IFL_WRITE_V2)
    return; /* a body nothing reads (/ping, an unknown path): dropped */
  else if (r->gzip)
    append_gzip(r, s->max_body, data, n);
  else
    append_plain(r, s->max_body, data, n);
}

/* ---- the first call: headers ---------------------------------------------------------- */

static void client_address(ifl_req *r, struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  const struct sockaddr *sa = ci ? ci->client_addr : NULL;
  strcpy(r->client, "?");
  if (sa && sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, r->client,
              sizeof r->client);
  else if (sa && sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, r->client,
              sizeof r->client);
}

/* Content-Encoding: gzip or none. */
static bool encoding_ok(ifl_req *r, struct MHD_Connection *c) {
  const char *enc = header(c, MHD_HTTP_HEADER_CONTENT_ENCODING);
  if (!enc || !*enc || strcasecmp(enc, "identity") == 0)
    return true;
  if (strcasecmp(enc, "gzip") != 0)
    return false;
  r->gzip = true;
  if (r->z_ready)
    return inflateReset(&r->z) == Z_OK;
  r->z = (z_stream){0};
  r->z_ready = inflateInit2(&r->z, 15 + 16) == Z_OK; /* gzip framing */
  return r->z_ready;
}

/* A write's headers: encoding, declared length, parameters. Returns
 * false when the answer (413) was queued already. */
static bool begin_write(ifl_state *s, ifl_req *r, struct MHD_Connection *c, const char *method) {
  if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
    r->early = (ifl_answer){MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use POST"};
    return true;
  }
  client_address(r, c);
  if (!encoding_ok(r, c)) {
    r->early = (ifl_answer){MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                            "unsupported Content-Encoding: send gzip or an uncompressed body"};
    return true;
  }
  const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
  unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
  if (declared > s->max_body) {
    r->too_large = true;
    return false;
  }
  ifl_write_params(s, r, c);
  return true;
}

static enum MHD_Result answer_too_large(ifl_state *s, ifl_req *r, struct MHD_Connection *c) {
  char msg[160];
  if (r->route == IFL_QUERY)
    snprintf(msg, sizeof msg, "request body larger than %u bytes", IFL_MAX_QUERY_BODY);
  else
    snprintf(msg, sizeof msg, "request body%s larger than max_body_size (%zu bytes)",
             r->gzip ? " (uncompressed)" : "", s->max_body);
  return ifl_reply_error(s, c, r->route, MHD_HTTP_CONTENT_TOO_LARGE, msg);
}

static enum MHD_Result begin(ifl_state *s, ifl_req *r, struct MHD_Connection *c, const char *url,
                             const char *method) {
  r->route = route_of(url);
  bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
  switch (r->route) {
  case IFL_WRITE_V1:
  case IFL_WRITE_V2:
    atomic_fetch_add(&s->requests, 1);
    if (!begin_write(s, r, c, method))
      return answer_too_large(s, r, c);
    break;
  case IFL_QUERY:
    if (!get && strcmp(method, MHD_HTTP_METHOD_POST) != 0)
      r->early = (ifl_answer){MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET or POST"};
    break;
  case IFL_PING:
  case IFL_HEALTH:
  case IFL_READY:
    if (!get)
      r->early = (ifl_answer){MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET"};
    break;
  case IFL_NOT_FOUND:
    break;
  }
  return MHD_YES;
}

/* ---- the last call: the answer ------------------------------------------------------------- */

static enum MHD_Result answer_ping(ifl_state *s, struct MHD_Connection *c) {
  const char *verbose = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "verbose");
  if (verbose && strcmp(verbose, "true") == 0) {
    static const char json[] = "{\"version\":\"" IFL_INFLUXDB_VERSION "\"}";
    return ifl_reply(s, c, MHD_HTTP_OK, json, sizeof json - 1, NULL);
  }
  return ifl_reply(s, c, MHD_HTTP_NO_CONTENT, NULL, 0, NULL);
}

static enum MHD_Result answer_ready(ifl_state *s, struct MHD_Connection *c, ifl_route route) {
  static const char health[] =
      "{\"name\":\"influxdb\",\"message\":\"ready for queries and "
      "writes\",\"status\":\"pass\",\"checks\":[],\"version\":\"" IFL_INFLUXDB_VERSION
      "\",\"commit\":\"\"}";
  static const char ready[] = "{\"status\":\"ready\"}";
  return route == IFL_HEALTH ? ifl_reply(s, c, MHD_HTTP_OK, health, sizeof health - 1, NULL)
                             : ifl_reply(s, c, MHD_HTTP_OK, ready, sizeof ready - 1, NULL);
}

/* After the delivery (or the agent stopping before it). */
static enum MHD_Result answer_delivered(ifl_state *s, ifl_req *r, struct MHD_Connection *c) {
  tower_delivery d;
  if (!ifl_wait_outcome(r->wait, &d) || d.pending)
    return ifl_reply_error(s, c, r->route, MHD_HTTP_SERVICE_UNAVAILABLE,
                           "tower is stopping: the metrics were accepted but not yet written; "
                           "send them again");
  return ifl_write_answer(s, r, c);
}

static enum MHD_Result answer_failed(ifl_state *s, ifl_req *r, struct MHD_Connection *c, int rc) {
  tower_error(s->ctx, "a write from %s failed: %s", r->client, strerror(-rc));
  return ifl_reply_error(s, c, r->route, MHD_HTTP_INTERNAL_SERVER_ERROR,
                         "tower could not take the metrics (out of memory); send them again");
}

static enum MHD_Result finish_write(ifl_state *s, ifl_req *r, struct MHD_Connection *c) {
  if (r->phase == IFL_WAITING)
    return answer_delivered(s, r, c);
  if (r->gzip && r->z_bad)
    return ifl_reply_error(s, c, r->route, MHD_HTTP_BAD_REQUEST, "the body is not valid gzip data");
  if (r->gzip && r->z.total_in && !r->z_done)
    return ifl_reply_error(s, c, r->route, MHD_HTTP_BAD_REQUEST,
                           "the gzip body ends before its end: unexpected EOF");
  int rc = ifl_write_parse(s, r);
  if (rc)
    return answer_failed(s, r, c, rc);
  ifl_wait *w = r->n && s->after_delivery ? ifl_wait_new(s->hub) : NULL;
  r->wait = w;
  rc = r->n ? ifl_write_commit(s, r, w) : 0;
  if (rc)
    return answer_failed(s, r, c, rc);
  if (w && ifl_wait_park(w, c)) {
    r->phase = IFL_WAITING;
    return MHD_YES;
  }
  return w ? answer_delivered(s, r, c) : ifl_write_answer(s, r, c);
}

static enum MHD_Result finish(ifl_state *s, ifl_req *r, struct MHD_Connection *c) {
  if (r->early.status)
    return ifl_reply_error(s, c, r->route, r->early.status, r->early.message);
  if (r->too_large)
    return answer_too_large(s, r, c);
  switch (r->route) {
  case IFL_WRITE_V1:
  case IFL_WRITE_V2:
    return finish_write(s, r, c);
  case IFL_QUERY:
    return ifl_query(s, c, r->len ? r->body : NULL, r->len);
  case IFL_PING:
    return answer_ping(s, c);
  case IFL_HEALTH:
  case IFL_READY:
    return answer_ready(s, c, r->route);
  case IFL_NOT_FOUND:
    break;
  }
  return httpd_reply_text(c, MHD_HTTP_NOT_FOUND, not_found);
}

enum MHD_Result ifl_handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                           const char *version, const char *upload, size_t *upload_size,
                           void **req_cls) {
  (void)version;
  ifl_state *s = cls;
  ifl_req *r = *req_cls;
  if (!r) {
    if (!(r = req_take(s)))
      return MHD_NO;
    *req_cls = r;
    return begin(s, r, c, url, method);
  }
  if (*upload_size) {
    take_body(s, r, upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  return finish(s, r, c);
}
