/* What an InfluxDB write response means. Pure functions (no state, no
 * I/O), so the unit tests can feed them the bodies real servers send:
 *   1.x 204; 400 {"error":"partial write: field type conflict: ... dropped=2"};
 *   400 {"error":"unable to parse 'x': missing fields"} (nothing stored);
 *   404 {"error":"database not found: \"db\""}; 401 {"error":"authorization failed"};
 *   413 {"error":"Request Entity Too Large"};
 *   500 {"error":"retention policy not found: rp"}
 *   2.x 204; 422 {"code":"unprocessable entity","message":"failure writing
 *   points to database: partial write: ... dropped=1"}; 400 {"code":"invalid",
 *   "message":"unable to parse ..."}; 401 {"code":"unauthorized",...};
 *   404 {"code":"not found","message":"bucket \"b\" not found"};
 *   413 {"code":"request too large",...}; 429 and 503 with Retry-After. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "influxdb.h"

/* ---- the points a partial write dropped ------------------------------------- */

/* The number after the last "dropped=" (0 when absent). */
static uint64_t dropped_count(const char *reason) {
  const char *last = NULL;
  for (const char *p = reason; (p = strstr(p, "dropped=")) != NULL; p += 8)
    last = p + 8;
  return last ? strtoull(last, NULL, 10) : 0;
}

/* InfluxDB 1.x stores the lines it can parse and names each one it cannot
 * ("unable to parse '<line>': why", joined by newlines); dropped=N counts
 * only points refused later, so the unparsable lines are added. */
static uint64_t unparsable_count(const char *reason) {
  uint64_t n = 0;
  for (const char *p = reason; (p = strstr(p, "unable to parse '")) != NULL; p += 17)
    n++;
  return n;
}

static ifx_verdict classify_4xx(ifx_api api, long status, const char *reason) {
  switch (status) {
  case 400:
  case 422: /* 2.x: semantically refused, e.g. every point past retention */
    return IFX_REJECTED;
  case 404:
    /* 1.x answers 404 for a missing database; 2.x for a missing org or
     * bucket, a wrong path or base URL: configuration in every case. */
    return api == IFX_V1 && strstr(reason, "database not found") ? IFX_DB_NOT_FOUND : IFX_CONFIG;
  case 401:
  case 403:
  case 407:
    return IFX_CONFIG;
  case 413:
    return IFX_TOO_LARGE;
  case 429:
    return IFX_THROTTLED;
  default:
    return IFX_REFUSED;
  }
}

ifx_verdict ifx_classify(ifx_api api, long status, const char *reason, uint64_t *rejected) {
  *rejected = 0;
  if (!reason)
    reason = "";
  if (status >= 200 && status < 300)
    return IFX_WRITTEN;
  if (status == 0)
    return IFX_UNAVAILABLE;
  /* A partial write is told by its message, whatever the status: 400 from
   * 1.x, 422 from 2.x (400 from some 2.x releases). */
  if (status >= 400 && status < 500 && strstr(reason, "partial write")) {
    *rejected = dropped_count(reason) + unparsable_count(reason);
    return IFX_PARTIAL;
  }
  if (strstr(reason, "database not found"))
    return api == IFX_V1 ? IFX_DB_NOT_FOUND : IFX_CONFIG;
  /* 1.x answers 500 for a missing retention policy: nothing transient. */
  if (strstr(reason, "retention policy not found"))
    return IFX_CONFIG;
  /* InfluxDB Enterprise: the write is queued for a node that is down. */
  if (strstr(reason, "hinted handoff queue not empty"))
    return IFX_WRITTEN;
  if (status >= 400 && status < 500)
    return classify_4xx(api, status, reason);
  if (status >= 300 && status < 400)
    return IFX_CONFIG; /* a redirect: configure the URL it points to */
  return IFX_UNAVAILABLE;
}

/* ---- the server's message --------------------------------------------------- */

typedef struct cursor {
  const char *p, *end;
} cursor;

static void skip_ws(cursor *c) {
  while (c->p < c->end && isspace((unsigned char)*c->p))
    c->p++;
}

static void put_utf8(char **o, char *oend, unsigned cp) {
  unsigned char tmp[3];
  size_t n;
  if (cp < 0x80) {
    tmp[0] = (unsigned char)cp;
    n = 1;
  } else if (cp < 0x800) {
    tmp[0] = (unsigned char)(0xC0 | cp >> 6);
    tmp[1] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 2;
  } else {
    tmp[0] = (unsigned char)(0xE0 | cp >> 12);
    tmp[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    tmp[2] = (unsigned char)(0x80 | (cp & 0x3F));
    n = 3;
  }
  if ((size_t)(oend - *o) < n)
    return; /* no room for the whole character: never half of one */
  for (size_t i = 0; i < n; i++)
    *(*o)++ = (char)tmp[i];
}

static int hexval(int c) {
  if (isdigit(c))
    return c - '0';
  c |= 32;
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int hex4(const char *p) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    int d = hexval((unsigned char)p[i]);
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

/* One escape after the backslash at c->p; decodes into *o. */
static bool json_escape(cursor *c, char **o, char *oend) {
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  if (c->end - c->p < 2)
    return false;
  const char *e = strchr(from, c->p[1]);
  if (e && c->p[1]) {
    if (*o < oend)
      *(*o)++ = to[e - from];
    c->p += 2;
    return true;
  }
  int cp = c->end - c->p >= 6 && c->p[1] == 'u' ? hex4(c->p + 2) : -1;
  if (cp < 0)
    return false;
  put_utf8(o, oend, (unsigned)cp); /* surrogate pairs stay two code units: logs only */
  c->p += 6;
  return true;
}

/* A JSON string at c->p, decoded into out (NULL: skipped). */
static bool json_string(cursor *c, char *out, size_t out_size) {
  if (c->p >= c->end || *c->p != '"')
    return false;
  c->p++;
  char scratch[1];
  char *o = out ? out : scratch, *oend = out ? out + out_size - 1 : scratch;
  while (c->p < c->end && *c->p != '"') {
    if (*c->p == '\\') {
      if (!json_escape(c, &o, oend))
        return false;
      continue;
    }
    if (o < oend)
      *o++ = *c->p;
    c->p++;
  }
  if (out)
    *o = '\0';
  if (c->p >= c->end)
    return false;
  c->p++;
  return true;
}

/* Skips any JSON value (strings aware of escapes, nesting by depth). */
static bool json_skip(cursor *c) {
  skip_ws(c);
  if (c->p < c->end && *c->p == '"')
    return json_string(c, NULL, 0);
  int depth = 0;
  while (c->p < c->end) {
    char ch = *c->p;
    if (ch == '"') {
      if (!json_string(c, NULL, 0))
        return false;
      continue;
    }
    if (ch == '{' || ch == '[')
      depth++;
    else if (ch == '}' || ch == ']') {
      if (depth == 0)
        return true;
      depth--;
    } else if (ch == ',' && depth == 0)
      return true;
    c->p++;
  }
  return depth == 0;
}

typedef struct json_msg {
  char error[IFX_REASON_MAX], code[64], message[IFX_REASON_MAX];
} json_msg;

/* Where member `key` goes (NULL: not wanted); *size is its room. */
static char *member(json_msg *m, const char *key, size_t *size) {
  if (!strcmp(key, "error"))
    return m->error;
  if (!strcmp(key, "message"))
    return m->message;
  if (!strcmp(key, "code")) {
    *size = sizeof m->code;
    return m->code;
  }
  return NULL;
}

/* Reads the string members "error", "code" and "message" of a top-level
 * object. False when the body is not such an object. */
static bool json_members(const char *body, size_t len, json_msg *m) {
  cursor c = {body, body + len};
  skip_ws(&c);
  if (c.p >= c.end || *c.p++ != '{')
    return false;
  for (;;) {
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}')
      return true;
    char key[16];
    if (!json_string(&c, key, sizeof key))
      return false;
    skip_ws(&c);
    if (c.p >= c.end || *c.p++ != ':')
      return false;
    skip_ws(&c);
    size_t size = IFX_REASON_MAX;
    char *dst = member(m, key, &size);
    bool ok = dst && c.p < c.end && *c.p == '"' ? json_string(&c, dst, size) : json_skip(&c);
    if (!ok)
      return false;
    skip_ws(&c);
    if (c.p < c.end && *c.p == ',')
      c.p++;
    else
      return c.p < c.end && *c.p == '}';
  }
}

/* Control characters would break a log line. */
static void sanitize(char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      *s = ' ';
}

char *ifx_body_reason(const char *body, size_t len, char *out, size_t out_size) {
  out[0] = '\0';
  json_msg m = {{0}};
  if (json_members(body, len, &m)) {
    if (m.message[0] && m.code[0])
      snprintf(out, out_size, "%s: %s", m.code, m.message);
    else
      snprintf(out, out_size, "%s", m.message[0] ? m.message : m.error[0] ? m.error : m.code);
  } else {
    size_t n = 0;
    while (n < len && n + 1 < out_size && body[n] != '\n' && body[n] != '\r' && body[n])
      n++;
    memcpy(out, body, n);
    out[n] = '\0';
  }
  sanitize(out);
  return out;
}

/* The first string member named "error" at any depth, for /query answers:
 * {"results":[{"statement_id":0,"error":"..."}]}. */
static bool nested_error(const char *body, size_t len, char *out, size_t out_size) {
  const char *end = body + len;
  for (const char *p = body; (p = strstr(p, "\"error\"")) != NULL && p < end; p += 7) {
    cursor c = {p + 7, end};
    skip_ws(&c);
    if (c.p >= c.end || *c.p++ != ':')
      continue;
    skip_ws(&c);
    if (json_string(&c, out, out_size))
      return true;
  }
  return false;
}

void ifx_response_reason(ifx_response *r) {
  if (r->status == 0) {
    snprintf(r->reason, sizeof r->reason, "%s",
             r->curl_error[0] ? r->curl_error : curl_easy_strerror(r->curl_code));
    sanitize(r->reason);
    return;
  }
  ifx_body_reason(r->body, r->body_len, r->reason, sizeof r->reason);
  if (!r->reason[0])
    nested_error(r->body, r->body_len, r->reason, sizeof r->reason);
  if (!r->reason[0] && r->x_error[0])
    snprintf(r->reason, sizeof r->reason, "%s", r->x_error);
  sanitize(r->reason);
}

int64_t ifx_parse_retry_after(const char *value, int64_t now_s) {
  while (*value == ' ' || *value == '\t')
    value++;
  int64_t secs;
  if (isdigit((unsigned char)*value)) {
    char *end;
    unsigned long long v = strtoull(value, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
      end++;
    if (*end)
      return -1;
    secs = v > 600 ? 600 : (int64_t)v;
  } else {
    time_t when = curl_getdate(value, NULL);
    if (when == (time_t)-1)
      return -1;
    secs = (int64_t)when - now_s;
    secs = secs < 0 ? 0 : secs;
  }
  int64_t ns = secs * 1000000000LL;
  return ns > IFX_RETRY_AFTER_MAX ? IFX_RETRY_AFTER_MAX : ns;
}
