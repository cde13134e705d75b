/* Temporary credentials from a service:
 *   - the ECS container credentials endpoint: GET with the Authorization
 *     token (AWS_CONTAINER_AUTHORIZATION_TOKEN or _FILE), answering
 *     {AccessKeyId, SecretAccessKey, Token, Expiration};
 *   - STS AssumeRole (signed with the source's credentials) and
 *     AssumeRoleWithWebIdentity (unsigned, the OIDC token is the proof),
 *     Query API POSTs. STS answers JSON when asked with
 *     Accept: application/json; should an endpoint answer XML anyway, the
 *     four credential elements are picked out of it by name (a flat,
 *     fixed shape: no XML parser needed).
 * These requests never go through a proxy and time out quickly. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws.h"

#define FETCH_BODY_MAX (64u * 1024)
#define STS_VERSION "2011-06-15"
/* Lifetime asked of STS (its default; a role may allow up to 12 hours). */
#define STS_DURATION_S 3600

/* ---- a small HTTP client ---------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  tower_buf *b = ud;
  size_t n = size * nmemb;
  if (tower_buf_len(b) + n > FETCH_BODY_MAX)
    return 0;
  return tower_buf_append(b, data, n) == 0 ? n : 0;
}

int aws_fetch_init(aws_fetch *f) {
  memset(f, 0, sizeof *f);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return -ENOMEM;
  f->curl = curl_easy_init();
  f->body = tower_buf_new(4096);
  return f->curl && f->body ? 0 : -ENOMEM;
}

void aws_fetch_fini(aws_fetch *f) {
  if (f->curl) {
    curl_easy_cleanup(f->curl);
    curl_global_cleanup();
  }
  tower_buf_free(f->body);
  memset(f, 0, sizeof *f);
}

static struct curl_slist *header_list(const char *const *headers, const aws_creds *cr) {
  struct curl_slist *l = NULL;
  for (size_t i = 0; headers && headers[i]; i++) {
    struct curl_slist *n = curl_slist_append(l, headers[i]);
    if (!n)
      goto oom;
    l = n;
  }
  if (cr && cr->token) {
    char *line = NULL;
    if (asprintf(&line, "X-Amz-Security-Token: %s", cr->token) < 0)
      goto oom;
    struct curl_slist *n = curl_slist_append(l, line);
    aws_free_secret(line);
    if (!n)
      goto oom;
    l = n;
  }
  return l;
oom:
  curl_slist_free_all(l);
  return NULL;
}

static void set_request(CURL *e, aws_fetch *f, const char *method, const char *url,
                        const char *post) {
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, f->body);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->error);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "tower");
  if (post) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, post);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(post));
  }
  if (strcmp(method, post ? "POST" : "GET") != 0)
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
}

long aws_fetch_do(aws_fetch *f, const char *method, const char *url, const char *const *headers,
                  const char *post, const char *sigv4, const aws_creds *cr, char *err,
                  size_t err_size) {
  CURL *e = f->curl;
  /* Each request starts clean: no option of the previous one carries over. */
  curl_easy_reset(e);
  tower_buf_reset(f->body);
  f->error[0] = '\0';
  struct curl_slist *h = header_list(headers, sigv4 ? cr : NULL);
  if ((headers || (sigv4 && cr->token)) && !h) {
    snprintf(err, err_size, "out of memory");
    return 0;
  }
  set_request(e, f, method, url, post);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  if (sigv4) {
    curl_easy_setopt(e, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(e, CURLOPT_USERNAME, cr->access_key);
    curl_easy_setopt(e, CURLOPT_PASSWORD, cr->secret_key);
  }
  CURLcode rc = curl_easy_perform(e);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(h);
  long status = 0;
  char shown[256];
  tower_redact_url(url, shown, sizeof shown);
  if (rc == CURLE_OK)
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  else
    snprintf(err, err_size, "%s %s: %.200s", method, shown,
             *f->error ? f->error : curl_easy_strerror(rc));
  return status;
}

/* ---- credential documents ------------------------------------------------------- */

static const char *member(json_t *j, const char *key) {
  const char *v = json_string_value(json_object_get(j, key));
  return v && *v ? v : NULL;
}

/* Expiration: RFC 3339 (IMDS, ECS) or epoch seconds (STS's JSON). */
static int expiration(json_t *v, int64_t *out) {
  if (json_is_number(v)) {
    *out = (int64_t)(json_number_value(v) * 1e9);
    return 0;
  }
  const char *s = json_string_value(v);
  return s ? tower_parse_time(s, strlen(s), "rfc3339", out) : -EINVAL;
}

int aws_creds_from_json(json_t *j, aws_creds *out, char *err, size_t err_size) {
  const char *key = member(j, "AccessKeyId"), *secret = member(j, "SecretAccessKey");
  const char *token = member(j, "Token") ? member(j, "Token") : member(j, "SessionToken");
  json_t *exp = json_object_get(j, "Expiration");
  int64_t expires = 0;
  if (!key || !secret || !token || !exp) {
    snprintf(err, err_size, "the credential document lacks %s",
             !key      ? "AccessKeyId"
             : !secret ? "SecretAccessKey"
             : !token  ? "Token"
                       : "Expiration");
    return -EIO;
  }
  if (expiration(exp, &expires) != 0) {
    snprintf(err, err_size, "the credential document's Expiration is not a time");
    return -EIO;
  }
  return aws_creds_set(out, key, secret, token, expires);
}

/* ---- ECS ------------------------------------------------------------------------- */

static char *read_small_file(const char *path, char *err, size_t err_size) {
  FILE *fp = fopen(path, "re");
  if (!fp) {
    snprintf(err, err_size, "cannot read %s: %s", path, strerror(errno));
    return NULL;
  }
  char *buf = calloc(1, FETCH_BODY_MAX + 1);
  size_t n = buf ? fread(buf, 1, FETCH_BODY_MAX, fp) : 0;
  fclose(fp);
  if (!buf) {
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
    buf[--n] = '\0';
  if (n == 0) {
    snprintf(err, err_size, "%s is empty", path);
    aws_free_secret(buf);
    return NULL;
  }
  return buf;
}

static int parse_body(aws_fetch *f, aws_creds *out, char *err, size_t err_size) {
  json_t *j = json_loadb(tower_buf_data(f->body), tower_buf_len(f->body), 0, NULL);
  int rc = j ? aws_creds_from_json(j, out, err, err_size) : -EIO;
  if (!j)
    snprintf(err, err_size, "the answer is not JSON");
  json_decref(j);
  return rc;
}

int aws_ecs_fetch(aws_remote *r, aws_creds *out, char *err, size_t err_size) {
  char why[512] = "", shown[256];
  tower_redact_url(r->ecs_url, shown, sizeof shown);
  char *auth = r->ecs_auth_file ? read_small_file(r->ecs_auth_file, why, sizeof why) : NULL;
  char *line = NULL;
  const char *token = r->ecs_auth_file ? auth : r->ecs_auth;
  int rc = -EIO;
  if (r->ecs_auth_file && !auth)
    goto out;
  if (token && asprintf(&line, "Authorization: %s", token) < 0) {
    rc = -ENOMEM;
    goto out;
  }
  const char *headers[] = {"Accept: application/json", line, NULL};
  long st = aws_fetch_do(&r->fetch, "GET", r->ecs_url, headers, NULL, NULL, NULL, why, sizeof why);
  if (st == 200)
    rc = parse_body(&r->fetch, out, why, sizeof why);
  else if (st != 0)
    snprintf(why, sizeof why, "HTTP %ld", st);
out:
  aws_free_secret(auth);
  aws_free_secret(line);
  if (rc)
    snprintf(err, err_size, "no credentials from the container credentials endpoint %s: %s", shown,
             why);
  return rc;
}

/* ---- STS ------------------------------------------------------------------------- */

/* The text of <tag>...</tag> in an XML answer, for the flat elements of
 * the credentials and of an error; NULL when absent. */
static char *xml_text(const char *body, const char *tag) {
  char open[64], close[64];
  snprintf(open, sizeof open, "<%s>", tag);
  snprintf(close, sizeof close, "</%s>", tag);
  const char *a = strstr(body, open);
  const char *b = a ? strstr(a, close) : NULL;
  return a && b ? strndup(a + strlen(open), (size_t)(b - a - strlen(open))) : NULL;
}

static int parse_xml_creds(const char *body, aws_creds *out, char *err, size_t err_size) {
  char *k = xml_text(body, "AccessKeyId"), *s = xml_text(body, "SecretAccessKey");
  char *t = xml_text(body, "SessionToken"), *e = xml_text(body, "Expiration");
  int64_t exp = 0;
  int rc = -EIO;
  if (!k || !s || !t || !e)
    snprintf(err, err_size, "the STS answer holds no credentials");
  else if (tower_parse_time(e, strlen(e), "rfc3339", &exp) != 0)
    snprintf(err, err_size, "the STS answer's Expiration \"%.40s\" is not RFC 3339", e);
  else
    rc = aws_creds_set(out, k, s, t, exp);
  free(k);
  aws_free_secret(s);
  aws_free_secret(t);
  free(e);
  return rc;
}

/* {"<Action>Response": {"<Action>Result": {"Credentials": {...}}}} */
static int parse_sts(aws_fetch *f, const char *action, aws_creds *out, char *err, size_t err_size) {
  const char *body = tower_buf_data(f->body);
  json_t *j = json_loadb(body, tower_buf_len(f->body), 0, NULL);
  if (!j)
    return parse_xml_creds(body, out, err, err_size);
  char resp[96], result[96];
  snprintf(resp, sizeof resp, "%sResponse", action);
  snprintf(result, sizeof result, "%sResult", action);
  json_t *c = json_object_get(json_object_get(json_object_get(j, resp), result), "Credentials");
  int rc = c ? aws_creds_from_json(c, out, err, err_size) : -EIO;
  if (!c)
    snprintf(err, err_size, "the STS answer holds no %s.%s.Credentials", resp, result);
  json_decref(j);
  return rc;
}

/* "AccessDenied: User ... is not authorized to perform sts:AssumeRole" */
static void sts_error(aws_fetch *f, long status, char *out, size_t size) {
  const char *body = tower_buf_data(f->body);
  json_t *j = json_loadb(body, tower_buf_len(f->body), 0, NULL);
  json_t *e = json_object_get(j, "Error");
  const char *code = json_string_value(json_object_get(e, "Code"));
  const char *msg = json_string_value(json_object_get(e, "Message"));
  char *xc = j ? NULL : xml_text(body, "Code"), *xm = j ? NULL : xml_text(body, "Message");
  snprintf(out, size, "HTTP %ld %.100s%s%.300s", status,
           code ? code
           : xc ? xc
                : "",
           (code || xc) && (msg || xm) ? ": " : "",
           msg  ? msg
           : xm ? xm
                : "");
  free(xc);
  free(xm);
  json_decref(j);
}

static int form_add(tower_buf *b, const char *key, const char *value) {
  char *esc = curl_easy_escape(NULL, value, 0);
  if (!esc)
    return -ENOMEM;
  int rc = tower_buf_printf(b, "&%s=%s", key, esc);
  aws_free_secret(esc);
  return rc;
}

static int sts_call(aws_remote *r, const char *action, const char *extra_key, const char *extra,
                    const aws_creds *signer, aws_creds *out, char *err, size_t err_size) {
  tower_buf *form = tower_buf_new(1024);
  int rc = form ? tower_buf_printf(form, "Action=%s&Version=%s&DurationSeconds=%d", action,
                                   STS_VERSION, STS_DURATION_S)
                : -ENOMEM;
  if (rc == 0)
    rc = form_add(form, "RoleArn", r->role_arn);
  if (rc == 0)
    rc = form_add(form, "RoleSessionName", r->session_name);
  if (rc == 0 && extra)
    rc = form_add(form, extra_key, extra);
  char why[768] = "", shown[256];
  tower_redact_url(r->sts_url, shown, sizeof shown);
  if (rc == 0) {
    static const char *const headers[] = {
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
        "Accept: application/json", NULL};
    r->sts_calls++;
    long st = aws_fetch_do(&r->fetch, "POST", r->sts_url, headers, tower_buf_data(form),
                           signer ? r->sts_sigv4 : NULL, signer, why, sizeof why);
    if (st == 200)
      rc = parse_sts(&r->fetch, action, out, why, sizeof why);
    else if (st != 0)
      sts_error(&r->fetch, st, why, sizeof why), rc = -EACCES;
    else
      rc = -EIO;
  }
  if (form) {
    /* The form holds the web identity token. */
    memset((void *)(uintptr_t)tower_buf_data(form), 0, tower_buf_len(form));
    tower_buf_free(form);
  }
  if (rc)
    snprintf(err, err_size, "STS %s for role %.200s at %s failed: %s", action, r->role_arn, shown,
             *why ? why : strerror(-rc));
  return rc;
}

int aws_sts_web_identity(aws_remote *r, aws_creds *out, char *err, size_t err_size) {
  char why[512];
  char *token = read_small_file(r->token_file, why, sizeof why);
  if (!token) {
    snprintf(err, err_size, "no web identity token: %s", why);
    return -EIO;
  }
  int rc =
      sts_call(r, "AssumeRoleWithWebIdentity", "WebIdentityToken", token, NULL, out, err, err_size);
  aws_free_secret(token);
  return rc;
}

int aws_sts_assume_role(aws_remote *r, const aws_creds *base, aws_creds *out, char *err,
                        size_t err_size) {
  return sts_call(r, "AssumeRole", NULL, NULL, base, out, err, err_size);
}

void aws_remote_fini(aws_remote *r) {
  aws_fetch_fini(&r->fetch);
  free(r->sts_url);
  free(r->role_arn);
  free(r->session_name);
  free(r->token_file);
  free(r->ecs_url);
  aws_free_secret(r->ecs_auth);
  free(r->ecs_auth_file);
  memset(r, 0, sizeof *r);
}
