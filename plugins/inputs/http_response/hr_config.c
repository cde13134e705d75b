/* The options of one http_response instance, read and checked at init: a
 * mistake (a URL that is not http(s), a method that is not a token, a
 * regular expression that does not compile, an interface that does not
 * exist) is a configuration error naming the option and its file:line, so
 * that it shows at `tower --test`, not as an error every interval as in
 * Telegraf. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_response.h"

/* What plugins/common/curl reads for this plugin: the option groups the
 * table in http_response.c splices in. */
#define HR_HTTP_GROUPS                                                                             \
  (HTTP_CLIENT_RESPONSE_TIMEOUT | HTTP_CLIENT_TLS | HTTP_CLIENT_PROXY | HTTP_CLIENT_PROXY_ALIAS |  \
   HTTP_CLIENT_BASIC_AUTH | HTTP_CLIENT_BEARER)

static const char *opt(const tower_config *cfg, const char *key) {
  const char *v = tower_config_string(cfg, key);
  return v && *v ? v : NULL;
}

static const tower_setting *at(const tower_config *cfg, const char *key) {
  return tower_config_setting(cfg, key);
}

/* RFC 9110's token: what Go's http.NewRequest accepts as a method. */
static bool is_token(const char *s) {
  static const char extra[] = "!#$%&'*+-.^_`|~";
  if (!*s)
    return false;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          strchr(extra, c)))
      return false;
  }
  return true;
}

int hr_url_check(const tower_config *cfg, size_t i) {
  const char *url = tower_config_strings_at(cfg, "urls", i);
  const tower_setting *set = at(cfg, "urls");
  const tower_setting *e = set && tower_setting_at(set, i) ? tower_setting_at(set, i) : set;
  char shown[512];
  tower_redact_url(url, shown, sizeof shown);
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL;
  if (!u)
    return -ENOMEM;
  CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
  if (uc == CURLUE_OK)
    uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
  if (uc == CURLUE_OK)
    uc = curl_url_get(u, CURLUPART_HOST, &host, 0);
  bool web =
      uc == CURLUE_OK && (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0);
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  if (uc != CURLUE_OK)
    return tower_config_error(cfg, e,
                              "urls: \"%s\" is not a URL; write it as "
                              "\"https://host[:port]/path\"",
                              shown);
  if (!web)
    return tower_config_error(cfg, e, "urls: \"%s\": only http:// and https:// URLs are probed",
                              shown);
  return 0;
}

static int load_method(hr_settings *s, const tower_config *cfg) {
  s->method = tower_config_string(cfg, "method");
  if (!is_token(s->method))
    return tower_config_error(cfg, at(cfg, "method"),
                              "method \"%s\" is not an HTTP method such as GET, HEAD or POST",
                              s->method);
  s->body = opt(cfg, "body");
  return 0;
}

/* POSIX extended syntax with REG_NEWLINE: `.` stops at a line break, as in
 * Go's RE2 (README.md says where the two syntaxes differ). */
static int load_match(hr_settings *s, const tower_config *cfg) {
  const char *re = opt(cfg, "response_string_match");
  if (!re)
    return 0;
  int rc = regcomp(&s->match, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB);
  if (rc != 0) {
    char why[256];
    regerror(rc, &s->match, why, sizeof why);
    return tower_config_error(cfg, at(cfg, "response_string_match"),
                              "response_string_match \"%s\": %s (a POSIX extended regular "
                              "expression: write [0-9] for \\d)",
                              re, why);
  }
  s->has_match = true;
  return 0;
}

static int load_response(hr_settings *s, const tower_config *cfg) {
  s->body_field = opt(cfg, "response_body_field");
  s->body_max = tower_config_size(cfg, "response_body_max_size");
  if (s->body_max == 0)
    s->body_max = HR_DEFAULT_BODY_MAX;
  s->want_status = (long)tower_config_int(cfg, "response_status_code");
  s->follow_redirects = tower_config_bool(cfg, "follow_redirects");
  return 0;
}

static int load_interface(hr_settings *s, const tower_config *cfg) {
  const char *name = opt(cfg, "interface");
  if (!name)
    return 0;
  if (strlen(name) >= IF_NAMESIZE || if_nametoindex(name) == 0)
    return tower_config_error(cfg, at(cfg, "interface"),
                              "interface \"%s\": no such network interface here (`ip link` "
                              "lists them)",
                              name);
  size_t n = strlen(name) + 4;
  if (!(s->interface = malloc(n)))
    return -ENOMEM;
  /* "if!": an interface, never taken for a host name or address */
  snprintf(s->interface, n, "if!%s", name);
  return 0;
}

/* No control character but tab: a line break would end the header. */
static bool header_value_ok(const char *v) {
  for (; *v; v++)
    if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
      return false;
  return true;
}

static int append(hr_settings *s, const char *line) {
  struct curl_slist *l = curl_slist_append(s->headers, line);
  if (!l)
    return -ENOMEM;
  s->headers = l;
  return 0;
}

static bool has_header(const tower_config *cfg, const char *name) {
  for (size_t i = 0; i < tower_config_table_len(cfg, "headers"); i++)
    if (strcasecmp(tower_config_table_key(cfg, "headers", i), name) == 0)
      return true;
  return false;
}

/* `headers`, then what makes libcurl's request look like Go's: no
 * "Expect: 100-continue" and no form Content-Type on a body (an empty
 * "Name:" line removes libcurl's header). */
static int load_headers(hr_settings *s, const tower_config *cfg) {
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < tower_config_table_len(cfg, "headers"); i++) {
    const char *k = tower_config_table_key(cfg, "headers", i);
    const char *v = tower_config_table_value(cfg, "headers", i);
    /* The value is not shown: headers may hold credentials. */
    if (!header_value_ok(v))
      return tower_config_error(cfg, at(cfg, "headers"),
                                "headers.%s: the value holds a line break or control character", k);
    size_t n = strlen(k) + strlen(v) + 3;
    char *line = malloc(n);
    if (!line)
      return -ENOMEM;
    /* "Name;" is how libcurl sends a header with an empty value. */
    snprintf(line, n, *v ? "%s: %s" : "%s;", k, v);
    rc = append(s, line);
    free(line);
  }
  if (rc == 0 && !has_header(cfg, "Expect"))
    rc = append(s, "Expect:");
  if (rc == 0 && !has_header(cfg, "Content-Type"))
    rc = append(s, "Content-Type:");
  /* Go's transport asks for gzip and decodes it unless the request sets
   * Accept-Encoding or Range itself, or is a HEAD. */
  s->gzip = strcmp(s->method, "HEAD") != 0 && !has_header(cfg, "Accept-Encoding") &&
            !has_header(cfg, "Range");
  return rc;
}

int hr_settings_load(hr_settings *s, tower_ctx *ctx, const tower_config *cfg) {
  memset(s, 0, sizeof *s);
  s->ctx = ctx;
  int rc = http_client_load(&s->http, ctx, cfg, HR_HTTP_GROUPS);
  rc = rc ? rc : load_method(s, cfg);
  rc = rc ? rc : load_match(s, cfg);
  rc = rc ? rc : load_response(s, cfg);
  rc = rc ? rc : load_interface(s, cfg);
  rc = rc ? rc : load_headers(s, cfg);
  return rc;
}

void hr_settings_fini(hr_settings *s) {
  if (s->has_match)
    regfree(&s->match);
  free(s->interface);
  curl_slist_free_all(s->headers);
  http_client_fini(&s->http);
  memset(s, 0, sizeof *s);
}
