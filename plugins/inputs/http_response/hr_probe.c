/* One URL's libcurl handle: the request Telegraf's Go client would send, and
 * the callbacks that record what hr_result.c needs to tell a body read
 * error from a connection that never answered. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_response.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* ---- callbacks -------------------------------------------------------------------------- */

/* "HTTP/1.1 301 Moved" (also "HTTP/2 200"): the status, 0 if none. */
static long status_of(const char *line, size_t len) {
  const char *sp = memchr(line, ' ', len);
  if (!sp || (size_t)(sp - line) + 4 > len)
    return 0;
  long code = 0;
  for (int i = 1; i <= 3; i++) {
    char c = sp[i];
    if (c < '0' || c > '9')
      return 0;
    code = code * 10 + (c - '0');
  }
  return code;
}

/* A Location header with a value: libcurl follows it from any 3xx. */
static bool is_location(const char *line, size_t len) {
  if (len < 9 || strncasecmp(line, "location:", 9) != 0)
    return false;
  for (size_t i = 9; i < len; i++)
    if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
      return true;
  return false;
}

/* Sees every header line of every response of the transfer (redirects
 * and 1xx included; a proxy's CONNECT answer is suppressed). The headers
 * of the final response are done at the blank line that ends a block
 * which is neither interim (1xx) nor a redirect libcurl will follow. */
static size_t on_header(char *line, size_t size, size_t n, void *arg) {
  hr_probe *p = arg;
  size_t len = size * n;
  if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
    p->status = status_of(line, len);
    p->saw_location = false;
    p->headers_done = false;
  } else if ((len == 2 && line[0] == '\r' && line[1] == '\n') || (len == 1 && line[0] == '\n')) {
    bool interim = p->status >= 100 && p->status < 200;
    bool followed =
        p->set->follow_redirects && p->status >= 300 && p->status < 400 && p->saw_location;
    p->headers_done = !interim && !followed;
  } else if (is_location(line, len)) {
    p->saw_location = true;
  }
  return len;
}

/* Counts the body, keeps it when it is matched or reported, and stops the
 * transfer one byte past response_body_max_size (Telegraf reads max + 1
 * bytes to tell "too large"; content_length then says max + 1). */
static size_t on_body(char *data, size_t size, size_t n, void *arg) {
  hr_probe *p = arg;
  size_t len = size * n;
  uint64_t room = p->set->body_max + 1 - p->received;
  size_t take = (uint64_t)len < room ? len : (size_t)room;
  if (p->body && take && tower_buf_append(p->body, data, take) != 0)
    return 0; /* out of memory: libcurl ends the transfer (a body read error) */
  p->received += take;
  if (p->received > p->set->body_max) {
    p->too_large = true;
    return 0;
  }
  return len;
}

/* ---- the handle ------------------------------------------------------------------------- */

/* Sets options in turn; false once libcurl refused one. */
typedef struct setter {
  CURL *c;
  bool ok;
} setter;

static void set_long(setter *s, CURLoption o, long v) {
  s->ok = s->ok && curl_easy_setopt(s->c, o, v) == CURLE_OK;
}

static void set_ptr(setter *s, CURLoption o, const void *v) {
  s->ok = s->ok && curl_easy_setopt(s->c, o, v) == CURLE_OK;
}

/* The method and body as Go sends them: HEAD reads no body; POST goes
 * through libcurl's POST (so that a followed 301/302/303 turns it into
 * GET, as Go does); any other method with or without a body is sent as
 * written. */
static void set_method(setter *s, const hr_settings *set) {
  const char *m = set->method;
  if (strcmp(m, "HEAD") == 0) {
    set_long(s, CURLOPT_NOBODY, 1L);
    return;
  }
  bool post = strcmp(m, "POST") == 0;
  if (set->body || post) {
    const char *body = set->body ? set->body : "";
    set_ptr(s, CURLOPT_POSTFIELDS, body);
    curl_off_t len = (curl_off_t)strlen(body);
    s->ok = s->ok && curl_easy_setopt(s->c, CURLOPT_POSTFIELDSIZE_LARGE, len) == CURLE_OK;
  }
  if (!post && strcmp(m, "GET") != 0)
    set_ptr(s, CURLOPT_CUSTOMREQUEST, m);
  else if (!post && set->body)
    set_ptr(s, CURLOPT_CUSTOMREQUEST, "GET"); /* a GET with a body, as Go allows */
}

static int configure(hr_probe *p) {
  hr_settings *set = p->set;
  int rc = http_client_apply(&set->http, p->easy); /* logs what libcurl refused */
  if (rc)
    return rc;
  setter s = {.c = p->easy, .ok = true};
  set_ptr(&s, CURLOPT_PRIVATE, p);
  set_ptr(&s, CURLOPT_ERRORBUFFER, p->errbuf);
  s.ok = s.ok && curl_easy_setopt(p->easy, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
         curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
  set_ptr(&s, CURLOPT_HEADERDATA, p);
  set_ptr(&s, CURLOPT_WRITEDATA, p);
  set_long(&s, CURLOPT_FOLLOWLOCATION, set->follow_redirects ? 1L : 0L);
  set_long(&s, CURLOPT_MAXREDIRS, HR_MAX_REDIRECTS);
  /* Each probe measures a whole exchange, connection and name lookup
   * included, as Telegraf's transport without keep-alive does. */
  set_long(&s, CURLOPT_FRESH_CONNECT, 1L);
  set_long(&s, CURLOPT_FORBID_REUSE, 1L);
  set_long(&s, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
  set_long(&s, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  set_ptr(&s, CURLOPT_USERAGENT, "tower/" PLUGIN_VERSION);
  set_ptr(&s, CURLOPT_HTTPHEADER, set->headers);
  if (set->interface)
    set_ptr(&s, CURLOPT_INTERFACE, set->interface);
  if (set->gzip)
    set_ptr(&s, CURLOPT_ACCEPT_ENCODING, "gzip");
  set_method(&s, set);
  if (!s.ok) {
    tower_error(set->ctx, "libcurl refused an option of %s; is it built with HTTP support?",
                p->server);
    return -EINVAL;
  }
  return 0;
}

int hr_probe_init(hr_probe *p, hr_settings *set, const char *url) {
  memset(p, 0, sizeof *p);
  p->set = set;
  p->url = url;
  char shown[2048];
  tower_redact_url(url, shown, sizeof shown);
  if (!(p->server = strdup(shown)) || !(p->easy = curl_easy_init()))
    return -ENOMEM;
  if ((set->has_match || set->body_field) && !(p->body = tower_buf_new(4096)))
    return -ENOMEM;
  return configure(p);
}

int hr_probe_start(hr_probe *p) {
  p->errbuf[0] = '\0';
  p->received = 0;
  p->too_large = false;
  p->status = 0;
  p->saw_location = false;
  p->headers_done = false;
  if (p->body)
    tower_buf_reset(p->body);
  return http_client_request(&p->set->http, p->easy, p->url);
}

void hr_probe_done(hr_probe *p) {
  if (p->body && tower_buf_len(p->body) > HR_KEEP_BODY_BUF) {
    tower_buf *small = tower_buf_new(4096);
    if (small) {
      tower_buf_free(p->body);
      p->body = small;
    }
  }
}

void hr_probe_fini(hr_probe *p) {
  if (p->easy)
    curl_easy_cleanup(p->easy);
  tower_buf_free(p->body);
  free(p->server);
  memset(p, 0, sizeof *p);
}
