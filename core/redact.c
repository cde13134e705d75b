/* Credentials out of URLs before they reach a log line. */
#include "config.h"

#include <string.h>
#include <strings.h>

#include <tower/log.h>

/* Query parameters whose values are credentials (compared case-blind). */
static const char *const secret_params[] = {
    "p",
    "password",
    "pass",
    "pwd",
    "token",
    "secret",
    "key",
    "apikey",
    "api_key",
    "access_token",
    "auth",
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-security-token",
    "x-amz-credential",
};

static int is_secret_param(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof secret_params / sizeof *secret_params; i++)
    if (strlen(secret_params[i]) == len && strncasecmp(secret_params[i], name, len) == 0)
      return 1;
  return 0;
}

/* Bounded appender: never writes past out[size-1]. */
typedef struct {
  char *out;
  size_t size, len;
} sink;

static void put(sink *s, const char *p, size_t n) {
  while (n-- && s->len + 1 < s->size)
    s->out[s->len++] = *p++;
}

/* Copies the query string `q` (after '?') redacting secret values. */
static void put_query(sink *s, const char *q) {
  while (*q) {
    size_t plen = strcspn(q, "&#");
    const char *eq = memchr(q, '=', plen);
    if (eq && is_secret_param(q, (size_t)(eq - q))) {
      put(s, q, (size_t)(eq - q) + 1);
      put(s, "xxxxx", 5);
    } else {
      put(s, q, plen);
    }
    q += plen;
    if (*q == '#') {
      put(s, q, strlen(q));
      return;
    }
    if (*q == '&')
      put(s, q++, 1);
  }
}

char *tower_redact_url(const char *url, char *out, size_t out_size) {
  if (!out || out_size == 0)
    return out;
  sink s = {out, out_size, 0};
  if (!url)
    url = "";
  const char *scheme_end = strstr(url, "://");
  const char *auth = scheme_end ? scheme_end + 3 : url;
  size_t host_part = strcspn(auth, "/?#");
  const char *at = NULL;
  for (const char *p = auth; p < auth + host_part; p++)
    if (*p == '@')
      at = p; /* the last @ ends the userinfo */
  if (at) {
    put(&s, url, (size_t)(auth - url));
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    /* The user name helps an operator find the account; the password never
     * appears. */
    put(&s, auth, colon ? (size_t)(colon - auth) : (size_t)(at - auth));
    if (colon)
      put(&s, ":xxxxx", 6);
    auth = at; /* continue with "@host..." */
  } else {
    put(&s, url, (size_t)(auth - url));
  }
  const char *q = strchr(auth, '?');
  if (q) {
    put(&s, auth, (size_t)(q - auth) + 1);
    put_query(&s, q + 1);
  } else {
    put(&s, auth, strlen(auth));
  }
  out[s.len] = '\0';
  return out;
}
