/* EC2 instance profile credentials through IMDSv2, as the AWS SDKs fetch
 * them:
 *   PUT /latest/api/token                  X-aws-ec2-metadata-token-ttl-seconds: 21600
 *   GET /latest/meta-data/iam/security-credentials/        -> the role name
 *   GET /latest/meta-data/iam/security-credentials/<role>  -> {"Code": "Success",
 *       "AccessKeyId", "SecretAccessKey", "Token", "Expiration": RFC 3339}
 * with X-aws-ec2-metadata-token on both GETs. IMDSv1 (GETs without a
 * token) is never tried: v2 exists so that a server-side request forgery
 * cannot read the credentials, and falling back would give that away.
 * Requests never go through a proxy and time out quickly (off EC2 nobody
 * answers). The session token is kept until shortly before its TTL ends. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws.h"

#define IMDS_BODY_MAX (64u * 1024)
#define PATH_TOKEN "/latest/api/token"
#define PATH_ROLES "/latest/meta-data/iam/security-credentials/"

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  tower_buf *b = ud;
  size_t n = size * nmemb;
  if (tower_buf_len(b) + n > IMDS_BODY_MAX)
    return 0;
  return tower_buf_append(b, data, n) == 0 ? n : 0;
}

int aws_imds_init(aws_imds *m, const char *endpoint) {
  memset(m, 0, sizeof *m);
  size_t n = strlen(endpoint);
  while (n > 0 && endpoint[n - 1] == '/')
    n--;
  m->endpoint = strndup(endpoint, n);
  m->body = tower_buf_new(4096);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return -ENOMEM;
  m->curl = curl_easy_init();
  if (!m->endpoint || !m->body || !m->curl)
    return -ENOMEM;
  CURL *e = m->curl;
  bool ok = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
  ok &= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 1000L) == CURLE_OK;
  ok &= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L) == CURLE_OK;
  ok &= curl_easy_setopt(e, CURLOPT_NOPROXY, "*") == CURLE_OK;
  ok &= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
  ok &= curl_easy_setopt(e, CURLOPT_WRITEDATA, m->body) == CURLE_OK;
  return ok ? 0 : -EINVAL;
}

void aws_imds_fini(aws_imds *m) {
  if (m->curl) {
    curl_easy_cleanup(m->curl);
    curl_global_cleanup();
  }
  tower_buf_free(m->body);
  free(m->endpoint);
  if (m->token)
    memset(m->token, 0, strlen(m->token));
  free(m->token);
  memset(m, 0, sizeof *m);
}

/* One request; returns the HTTP status (0: none, err says why). */
static long request(aws_imds *m, bool put, const char *path, const char *header, char *err,
                    size_t err_size) {
  char url[1024], cerr[CURL_ERROR_SIZE] = "";
  snprintf(url, sizeof url, "%s%s", m->endpoint, path);
  struct curl_slist *h = curl_slist_append(NULL, header);
  CURL *e = m->curl;
  tower_buf_reset(m->body);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
  if (put) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
  } else {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  }
  CURLcode rc = h ? curl_easy_perform(e) : CURLE_OUT_OF_MEMORY;
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
  curl_slist_free_all(h);
  long status = 0;
  if (rc == CURLE_OK)
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  else
    snprintf(err, err_size, "%s %.200s: %.200s", put ? "PUT" : "GET", path,
             *cerr ? cerr : curl_easy_strerror(rc));
  return status;
}

static bool status_ok(long status, const char *what, const char *url_path, char *err,
                      size_t err_size) {
  if (status == 200)
    return true;
  if (status != 0)
    snprintf(err, err_size, "%s (%.200s) answered HTTP %ld", what, url_path, status);
  return false;
}

static int get_token(aws_imds *m, char *err, size_t err_size) {
  if (m->token && tower_mono_ns() < m->token_expires_ns)
    return 0;
  char hdr[96];
  snprintf(hdr, sizeof hdr, "X-aws-ec2-metadata-token-ttl-seconds: %d", AWS_IMDS_TOKEN_TTL_S);
  int64_t t0 = tower_mono_ns();
  long st = request(m, true, PATH_TOKEN, hdr, err, err_size);
  if (!status_ok(st, "the IMDSv2 token request", PATH_TOKEN, err, err_size))
    return -EIO;
  free(m->token);
  m->token = strndup(tower_buf_data(m->body), strcspn(tower_buf_data(m->body), "\r\n"));
  if (!m->token)
    return -ENOMEM;
  /* Renewed a minute before the server drops it. */
  m->token_expires_ns = t0 + (AWS_IMDS_TOKEN_TTL_S - 60) * NS_PER_S;
  return 0;
}

/* A GET with the session token; a 401 means the token expired (the
 * instance was stopped, say): one new token, one more try. */
static long get(aws_imds *m, const char *path, char *err, size_t err_size) {
  for (int attempt = 0;; attempt++) {
    int rc = get_token(m, err, err_size);
    if (rc)
      return 0;
    char hdr[1024];
    snprintf(hdr, sizeof hdr, "X-aws-ec2-metadata-token: %s", m->token);
    long st = request(m, false, path, hdr, err, err_size);
    memset(hdr, 0, sizeof hdr);
    if (st != 401 || attempt > 0)
      return st;
    free(m->token);
    m->token = NULL;
  }
}

static bool role_name_ok(const char *s) {
  if (!*s)
    return false;
  for (; *s; s++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-", *s))
      return false;
  return true;
}

static int get_role(aws_imds *m, char *err, size_t err_size) {
  long st = get(m, PATH_ROLES, err, err_size);
  if (st == 404) {
    snprintf(err, err_size,
             "no IAM role is attached to this instance (%s answered 404): attach "
             "an instance profile, or configure other credentials",
             PATH_ROLES);
    return -ENOENT;
  }
  if (!status_ok(st, "the role listing", PATH_ROLES, err, err_size))
    return -EIO;
  const char *b = tower_buf_data(m->body);
  snprintf(m->role, sizeof m->role, "%.*s", (int)strcspn(b, "\r\n"), b);
  if (!role_name_ok(m->role)) {
    snprintf(err, err_size, "the role listing (%s) gave no usable role name", PATH_ROLES);
    return -EIO;
  }
  return 0;
}

/* A credential document: Code must say Success; the rest is the document
 * the ECS endpoint sends too. */
static int parse_document(json_t *j, aws_creds *out, char *err, size_t err_size) {
  const char *code = json_string_value(json_object_get(j, "Code"));
  if (code && *code && strcmp(code, "Success") != 0) {
    snprintf(err, err_size, "the credential document says Code = %s", code);
    return -EIO;
  }
  return aws_creds_from_json(j, out, err, err_size);
}

static int get_credentials(aws_imds *m, aws_creds *out, char *err, size_t err_size) {
  char path[512];
  snprintf(path, sizeof path, "%s%s", PATH_ROLES, m->role);
  long st = get(m, path, err, err_size);
  if (!status_ok(st, "the credential request", path, err, err_size))
    return -EIO;
  json_t *j = json_loadb(tower_buf_data(m->body), tower_buf_len(m->body), 0, NULL);
  int rc = j ? parse_document(j, out, err, err_size) : -EIO;
  if (!j)
    snprintf(err, err_size, "the credential document (%.200s) is not JSON", path);
  json_decref(j);
  return rc;
}

int aws_imds_fetch(aws_imds *m, aws_creds *out, char *err, size_t err_size) {
  char why[512] = "";
  int rc = get_role(m, why, sizeof why);
  if (rc == 0)
    rc = get_credentials(m, out, why, sizeof why);
  if (rc == 0) {
    m->fetches++;
    return 0;
  }
  char shown[256];
  tower_redact_url(m->endpoint, shown, sizeof shown);
  snprintf(err, err_size, "no credentials from the EC2 instance metadata service at %s: %s", shown,
           why);
  return rc;
}
