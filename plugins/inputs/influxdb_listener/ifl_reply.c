/* InfluxDB's responses: the headers every answer carries (as influxd 1.x
 * sends them: Content-Type application/json, X-Influxdb-Build,
 * X-Influxdb-Version, Request-Id and X-Request-Id, X-Influxdb-Error on
 * errors) and the two error shapes: {"error":"..."} for the 1.x API,
 * {"code":"...","message":"..."} for the 2.x one. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "influxdb_listener.h"

/* ---- JSON strings --------------------------------------------------------- */

/* The length of the UTF-8 sequence at s (n bytes left), or 0 when it is
 * not one (overlong forms and surrogates included). */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len = c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
  if (len == 0 || len > n)
    return 0;
  for (size_t i = 1; i < len; i++)
    if ((s[i] & 0xc0) != 0x80)
      return 0;
  if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) || (c == 0xf0 && s[1] < 0x90) ||
      (c == 0xf4 && s[1] >= 0x90))
    return 0;
  return len;
}

int ifl_json_text(tower_buf *out, const char *text, size_t len) {
  const unsigned char *s = (const unsigned char *)text;
  size_t run = 0; /* bytes copied as they are, pending */
  int rc = 0;
  for (size_t i = 0; i < len && rc == 0;) {
    unsigned char c = s[i];
    size_t n = c >= 0x20 && c != '"' && c != '\\' && c < 0x80 ? 1
               : c >= 0x80                                    ? utf8_len(s + i, len - i)
                                                              : 0;
    if (n) {
      run += n;
      i += n;
      continue;
    }
    rc = tower_buf_append(out, s + i - run, run);
    run = 0;
    if (rc)
      break;
    if (c == '"' || c == '\\')
      rc = tower_buf_printf(out, "\\%c", c);
    else if (c == '\n')
      rc = tower_buf_append_str(out, "\\n");
    else if (c == '\t')
      rc = tower_buf_append_str(out, "\\t");
    else if (c < 0x20)
      rc = tower_buf_printf(out, "\\u%04x", c);
    else
      rc = tower_buf_append_str(out, "\\ufffd"); /* not UTF-8 */
    i++;
  }
  if (rc == 0 && run)
    rc = tower_buf_append(out, s + len - run, run);
  return rc;
}

/* ---- answers ---------------------------------------------------------------- */

/* A header value is one line: newlines (the error lists lines) become
 * spaces, as influxd writes them; other control bytes are dropped. */
static void header_text(char *out, size_t size, const char *text) {
  size_t o = 0;
  for (const char *p = text; *p && o + 1 < size; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch == '\n')
      out[o++] = ' ';
    else if (ch >= 0x20 && ch != 0x7f)
      out[o++] = (char)ch;
  }
  out[o] = '\0';
}

/* A request id in influxd's form (a time-based UUID): unique per answer. */
static void request_id(ifl_state *s, char *out, size_t size) {
  uint64_t n = atomic_fetch_add(&s->request_ids, 1) + 1;
  uint64_t seed = s->id_seed;
  snprintf(out, size, "%08" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%012" PRIx64,
           (uint32_t)(seed >> 32), (uint32_t)(seed >> 16) & 0xffff, (uint32_t)seed & 0xffff,
           (uint32_t)(0x8000 | ((n >> 48) & 0x0fff)), (uint64_t)(n & 0xffffffffffffu));
}

enum MHD_Result ifl_reply(ifl_state *s, struct MHD_Connection *c, unsigned status, const char *json,
                          size_t json_len, const char *error) {
  struct MHD_Response *r = MHD_create_response_from_buffer(
      json ? json_len : 0, (void *)(uintptr_t)(json ? json : ""), MHD_RESPMEM_MUST_COPY);
  if (!r)
    return MHD_NO;
  char id[48];
  request_id(s, id, sizeof id);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  MHD_add_response_header(r, "Request-Id", id);
  MHD_add_response_header(r, "X-Influxdb-Build", "OSS");
  MHD_add_response_header(r, "X-Influxdb-Version", IFL_INFLUXDB_VERSION);
  MHD_add_response_header(r, "X-Request-Id", id);
  if (error) {
    char line[1024];
    header_text(line, sizeof line, error);
    MHD_add_response_header(r, "X-Influxdb-Error", line);
  }
  enum MHD_Result rc = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return rc;
}

/* InfluxDB 2.x's error codes by status. */
static const char *v2_code(unsigned status) {
  switch (status) {
  case MHD_HTTP_UNAUTHORIZED:
    return "unauthorized";
  case MHD_HTTP_NOT_FOUND:
    return "not found";
  case MHD_HTTP_METHOD_NOT_ALLOWED:
    return "method not allowed";
  case MHD_HTTP_CONTENT_TOO_LARGE:
    return "request too large";
  case MHD_HTTP_UNSUPPORTED_MEDIA_TYPE:
    return "unsupported media type";
  case MHD_HTTP_SERVICE_UNAVAILABLE:
    return "unavailable";
  default:
    return status >= 500 ? "internal error" : "invalid";
  }
}

enum MHD_Result ifl_reply_error(ifl_state *s, struct MHD_Connection *c, ifl_route route,
                                unsigned status, const char *message) {
  tower_buf *b = tower_buf_new(strlen(message) + 64);
  int rc = b ? 0 : -ENOMEM;
  if (route == IFL_WRITE_V2)
    rc = rc ? rc : tower_buf_printf(b, "{\"code\":\"%s\",\"message\":\"", v2_code(status));
  else
    rc = rc ? rc : tower_buf_append_str(b, "{\"error\":\"");
  rc = rc ? rc : ifl_json_text(b, message, strlen(message));
  rc = rc ? rc : tower_buf_append_str(b, "\"}");
  enum MHD_Result res = rc ? MHD_NO
                           : ifl_reply(s, c, status, tower_buf_data(b), tower_buf_len(b),
                                       route == IFL_WRITE_V2 ? NULL : message);
  tower_buf_free(b);
  return res;
}
