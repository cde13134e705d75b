/* The HTTP side of the AWS JSON 1.0 protocol (DynamoDB, CloudWatch): one
 * libcurl easy handle per concurrent request stream, kept for the
 * instance's life so that its connection (and TLS session) is reused from
 * request to request and gather to gather.
 *
 * Requests are signed by libcurl (CURLOPT_AWS_SIGV4, libcurl >= 7.75) with
 * "aws:amz:<region>:<service>" and the key pair as user name and password.
 * libcurl signs every header we add: Content-Type, X-Amz-Target and the
 * session token, which AWS wants signed. tests/plugins/test_dynamodb.c
 * checks the Authorization header against an independent implementation of
 * the SigV4 specification. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws.h"

/* ---- what a response means ------------------------------------------------------ */

/* Error types the AWS SDKs retry (besides any 5xx): DynamoDB's and
 * CloudWatch's throttling and transient errors. */
static const char *const retry_types[] = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
    "Throttling",
    "TooManyRequestsException",
    "RequestThrottled",
    "InternalServiceFault",
    "InternalFailure",
    NULL,
};

/* Errors about who is asking, not about the table: every table would fail
 * the same way. */
static const char *const auth_types[] = {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    NULL,
};

static bool in_list(const char *const *list, const char *s) {
  for (; *list; list++)
    if (strcmp(*list, s) == 0)
      return true;
  return false;
}

/* Control characters become spaces: the message ends up on one log line. */
static void copy_clean(char *out, size_t size, const char *s, size_t len) {
  size_t n = len < size - 1 ? len : size - 1;
  for (size_t i = 0; i < n; i++)
    out[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
  out[n] = '\0';
}

/* {"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
 *  or CloudWatch's "com.amazonaws.cloudwatch#Throttling",
 *  "message": "..."} ("Message" in some errors); else the body's first line. */
static void error_body(aws_result *r, const char *body, size_t len) {
  json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
  const char *type = j ? json_string_value(json_object_get(j, "__type")) : NULL;
  const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
  if (j && !msg)
    msg = json_string_value(json_object_get(j, "Message"));
  if (type) {
    const char *hash = strrchr(type, '#');
    copy_clean(r->type, sizeof r->type, hash ? hash + 1 : type, strlen(hash ? hash + 1 : type));
  }
  if (msg) {
    copy_clean(r->message, sizeof r->message, msg, strlen(msg));
  } else if (!j && body && len) {
    const char *nl = memchr(body, '\n', len);
    copy_clean(r->message, sizeof r->message, body, nl ? (size_t)(nl - body) : len);
  }
  json_decref(j);
}

/* Transport failures worth a retry: all but those a retry cannot fix. */
static bool transport_retryable(CURLcode code) {
  switch (code) {
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
  case CURLE_NOT_BUILT_IN:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_OUT_OF_MEMORY:
    return false;
  default:
    return true;
  }
}

void aws_classify(long status, CURLcode code, const char *curl_error, const char *body, size_t len,
                  aws_result *r) {
  memset(r, 0, sizeof *r);
  r->status = status;
  if (status == 0) {
    const char *why = curl_error && *curl_error ? curl_error : curl_easy_strerror(code);
    copy_clean(r->message, sizeof r->message, why, strlen(why));
    r->kind = transport_retryable(code) ? AWS_RETRY : AWS_FATAL;
    return;
  }
  if (status >= 200 && status < 300) {
    r->kind = AWS_OK;
    return;
  }
  error_body(r, body, len);
  if (status >= 500 || status == 429 || in_list(retry_types, r->type))
    r->kind = AWS_RETRY;
  else if (in_list(auth_types, r->type))
    r->kind = AWS_AUTH;
  else if (strcmp(r->type, "ResourceNotFoundException") == 0)
    r->kind = AWS_NOT_FOUND;
  else
    r->kind = AWS_FATAL;
}

/* ---- the handle ------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  aws_conn *c = ud;
  size_t n = size * nmemb;
  if (tower_buf_len(c->body) + n > AWS_BODY_MAX) {
    c->too_large = true;
    return 0; /* libcurl ends the transfer with CURLE_WRITE_ERROR */
  }
  return tower_buf_append(c->body, data, n) == 0 ? n : 0;
}

/* Ends a transfer early at shutdown, or when another segment of the same
 * table failed (its result would be thrown away). */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  aws_conn *c = ud;
  return (c->cancel && atomic_load(c->cancel)) || (c->ctx && tower_ctx_stopping(c->ctx));
}

/* What the shared options (TLS, proxy) do not set. */
static bool setup(aws_conn *c, const aws_http *h) {
  CURL *e = c->curl;
  bool ok = curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L) == CURLE_OK;
  ok &= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
  ok &= curl_easy_setopt(e, CURLOPT_POST, 1L) == CURLE_OK;
  ok &= curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent) == CURLE_OK;
  ok &= curl_easy_setopt(e, CURLOPT_AWS_SIGV4, h->sigv4) == CURLE_OK;
  ok &= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
  ok &= curl_easy_setopt(e, CURLOPT_WRITEDATA, c) == CURLE_OK;
  ok &= curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress) == CURLE_OK;
  ok &= curl_easy_setopt(e, CURLOPT_XFERINFODATA, c) == CURLE_OK;
  ok &= curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L) == CURLE_OK;
  ok &= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->curl_error) == CURLE_OK;
  return ok;
}

int aws_conn_init(aws_conn *c, aws_http *h, tower_ctx *ctx) {
  memset(c, 0, sizeof *c);
  c->ctx = ctx;
  c->http = h;
  /* Reference counted, and thread-safe since libcurl 7.84. */
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return -ENOMEM;
  c->curl = curl_easy_init();
  c->body = tower_buf_new(64 * 1024);
  if (!c->curl || !c->body)
    return -ENOMEM;
  if (http_client_apply(&h->client, c->curl))
    return -EINVAL;
  if (!setup(c, h)) {
    tower_error(ctx, "libcurl refused an option (AWS SigV4 needs libcurl 7.75 or later, with "
                     "http, https and TLS support)");
    return -EINVAL;
  }
  return 0;
}

void aws_conn_fini(aws_conn *c) {
  if (c->curl) {
    curl_easy_cleanup(c->curl);
    curl_global_cleanup();
  }
  tower_buf_free(c->body);
  c->curl = NULL;
  c->body = NULL;
}

/* ---- one request ------------------------------------------------------------------- */

static int add_header(struct curl_slist **l, const char *name, const char *value) {
  size_t n = strlen(name) + strlen(value) + 3;
  char *line = malloc(n);
  if (!line)
    return -ENOMEM;
  snprintf(line, n, "%s: %s", name, value);
  struct curl_slist *nl = curl_slist_append(*l, line);
  free(line);
  if (!nl)
    return -ENOMEM;
  *l = nl;
  return 0;
}

static struct curl_slist *headers(const char *target, const aws_creds *cr) {
  struct curl_slist *l = NULL;
  int rc = add_header(&l, "Content-Type", "application/x-amz-json-1.0");
  if (rc == 0)
    rc = add_header(&l, "X-Amz-Target", target);
  if (rc == 0 && cr->token && *cr->token)
    rc = add_header(&l, "X-Amz-Security-Token", cr->token);
  if (rc) {
    curl_slist_free_all(l);
    return NULL;
  }
  return l;
}

static void fail(aws_result *r, aws_kind kind, const char *msg) {
  memset(r, 0, sizeof *r);
  r->kind = kind;
  snprintf(r->message, sizeof r->message, "%s", msg);
}

/* The outcome of a transfer that did not end normally, or of one that did. */
static void outcome(aws_conn *c, CURLcode code, int64_t deadline, aws_result *r) {
  long status = 0;
  if (code == CURLE_ABORTED_BY_CALLBACK)
    return fail(r, AWS_CANCELLED, "cancelled");
  if (code == CURLE_OPERATION_TIMEDOUT && tower_mono_ns() >= deadline)
    return fail(r, AWS_TIMEOUT, c->curl_error);
  if (code == CURLE_WRITE_ERROR && c->too_large)
    return fail(r, AWS_FATAL, "the response is larger than 32 MiB");
  if (code == CURLE_OK)
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
  aws_classify(status, code, c->curl_error, tower_buf_data(c->body), tower_buf_len(c->body), r);
}

void aws_post(aws_conn *c, const char *target, const char *payload, const aws_creds *cr,
              int64_t deadline, aws_result *r) {
  int64_t left_ms = (deadline - tower_mono_ns()) / NS_PER_MS;
  if (left_ms <= 0)
    return fail(r, AWS_TIMEOUT, "no time left");
  CURL *e = c->curl;
  if (http_client_request(&c->http->client, e, c->http->url))
    return fail(r, AWS_FATAL, "out of memory");
  struct curl_slist *h = headers(target, cr);
  if (!h)
    return fail(r, AWS_FATAL, "out of memory");
  tower_buf_reset(c->body);
  c->too_large = false;
  c->curl_error[0] = '\0';
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_USERNAME, cr->access_key);
  curl_easy_setopt(e, CURLOPT_PASSWORD, cr->secret_key);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)left_ms);
  CURLcode code = curl_easy_perform(e);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(h);
  outcome(c, code, deadline, r);
}

/* ---- retries ------------------------------------------------------------------------ */

int64_t aws_backoff(int64_t base, int64_t cap, unsigned attempt, uint64_t rnd) {
  int64_t ceil = base;
  for (unsigned k = 0; k < attempt && ceil < cap; k++)
    ceil *= 2;
  if (ceil > cap)
    ceil = cap;
  return ceil <= 0 ? 0 : (int64_t)(rnd % (uint64_t)(ceil + 1));
}

uint64_t aws_next_rand(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
