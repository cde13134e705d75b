/* inputs.dynamodb internals, shared by
 *   dynamodb.c    the descriptor, options, init/destroy and the gather;
 *   ddb_config.c  options that need more than a getter (tables, region and
 *                 endpoint, expression attribute values and names);
 *   ddb_creds.c   the credential chain: config, profile, environment,
 *                 shared credentials file;
 *   ddb_imds.c    EC2 instance profile credentials through IMDSv2;
 *   ddb_http.c    one libcurl handle per scan segment, SigV4 signing
 *                 (CURLOPT_AWS_SIGV4), and what a response means;
 *   ddb_scan.c    one table's scan: segments, pages, retries, backoff;
 *   ddb_item.c    a DynamoDB item into a tower metric.
 * README.md documents the behaviour. */
#ifndef TOWER_INPUTS_DYNAMODB_H
#define TOWER_INPUTS_DYNAMODB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include <tower/tower.h>

#include "../../common/curl/curl_common.h"

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

/* ---- items into metrics (ddb_item.c) -------------------------------------- */

typedef struct ddb_convert {
  const char *const *tag_keys; /* sorted (strcmp), may be NULL */
  size_t ntag_keys;
  const char *timestamp_key; /* NULL: every metric gets default_time */
  const char *timestamp_format;
  const char *separator; /* between the names of nested map keys */
} ddb_convert;

/* Scratch buffers reused from item to item (one set per thread). */
typedef struct ddb_scratch {
  tower_buf *key;  /* the flattened attribute name being built */
  tower_buf *text; /* a value rendered as text (JSON, tag values) */
} ddb_scratch;

int ddb_scratch_init(ddb_scratch *sc);
void ddb_scratch_fini(ddb_scratch *sc);

/* Deepest map nesting that is flattened; deeper maps become JSON text.
 * DynamoDB allows 32 levels. */
#define DDB_MAX_DEPTH 32

/* Builds the metric for one item (a JSON object of attribute name ->
 * AttributeValue) named `name`, timestamped default_time unless
 * cv->timestamp_key says otherwise. Returns 0 with *out set; -EINVAL when
 * the item gives no metric (no fields, no usable timestamp: the reason is
 * in err); -ENOMEM. */
int ddb_item_metric(const ddb_convert *cv, const char *name, json_t *item, int64_t default_time,
                    ddb_scratch *sc, tower_metric **out, char *err, size_t err_size);

/* Appends AttributeValue `av` as plain JSON: S and B as strings, N as the
 * number exactly as DynamoDB wrote it, BOOL, NULL, M as an object, L as an
 * array, SS/NS/BS as arrays. 0, -EINVAL (not an AttributeValue), -ENOMEM. */
int ddb_plain_json(const json_t *av, tower_buf *out);

/* ---- credentials (ddb_creds.c, ddb_imds.c) ---------------------------------- */

typedef struct ddb_creds {
  char *access_key, *secret_key, *token; /* token: NULL without one */
  int64_t expires_ns;                    /* wall clock; 0: never */
} ddb_creds;

void ddb_creds_clear(ddb_creds *c);
/* Copies (replacing dst's strings). 0 or -ENOMEM. */
int ddb_creds_set(ddb_creds *dst, const char *key, const char *secret, const char *token,
                  int64_t expires_ns);
/* "****************ABCD", as `aws configure list` shows an access key. */
void ddb_key_hint(const char *access_key, char *out, size_t size);

/* Reads profile `profile` of an AWS shared credentials file (INI:
 * [name] sections, aws_access_key_id, aws_secret_access_key,
 * aws_session_token or the older aws_security_token; # and ; comments).
 * Returns 0; -ENOENT when the file does not exist; -ESRCH when the
 * profile is absent or lacks a key (err says which); another negative
 * errno when it cannot be read (err says why). */
int ddb_profile_read(const char *path, const char *profile, ddb_creds *out, char *err,
                     size_t err_size);

typedef struct ddb_imds {
  char *endpoint; /* http://169.254.169.254 or AWS_EC2_METADATA_SERVICE_ENDPOINT */
  CURL *curl;
  tower_buf *body;
  char *token;              /* IMDSv2 session token */
  int64_t token_expires_ns; /* monotonic */
  char role[256];
  unsigned fetches; /* credential documents fetched */
} ddb_imds;

/* Session token lifetime asked for (the AWS SDKs' default, 6 hours). */
#define DDB_IMDS_TOKEN_TTL_S 21600
/* Refresh instance profile credentials this long before they expire. */
#define DDB_REFRESH_MARGIN_NS (300LL * NS_PER_S)

int ddb_imds_init(ddb_imds *m, const char *endpoint);
void ddb_imds_fini(ddb_imds *m);
/* Fetches the instance profile's temporary credentials (token PUT, role
 * listing, credential document). 0, or a negative errno with err set. */
int ddb_imds_fetch(ddb_imds *m, ddb_creds *out, char *err, size_t err_size);

typedef enum ddb_source {
  DDB_SRC_NONE = 0,
  DDB_SRC_CONFIG,  /* access_key_id / secret_access_key / session_token */
  DDB_SRC_PROFILE, /* the `profile` option: that profile of the shared file */
  DDB_SRC_ENV,     /* AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN */
  DDB_SRC_FILE,    /* shared credentials file, AWS_PROFILE or "default" */
  DDB_SRC_IMDS,    /* EC2 instance profile through IMDSv2 */
} ddb_source;

typedef struct ddb_chain {
  tower_ctx *ctx;
  ddb_source source;
  char origin[512]; /* where the credentials come from, for log lines */
  ddb_creds creds;
  bool imds_on;
  ddb_imds imds;
} ddb_chain;

/* Walks the chain (README.md, "Credentials"): the static sources now; with
 * none of them, the instance profile is fetched at the first gather.
 * 0, or a negative errno after logging why (a configuration error names
 * file:line). */
int ddb_chain_init(ddb_chain *ch, tower_ctx *ctx, const tower_config *cfg);
void ddb_chain_fini(ddb_chain *ch);
/* Credentials good for at least DDB_REFRESH_MARGIN_NS more: static ones as
 * they are, instance profile ones fetched or refreshed. 0, or a negative
 * errno with err set. */
int ddb_chain_get(ddb_chain *ch, char *err, size_t err_size);
/* The server said the credentials expired: fetch new ones next time. */
void ddb_chain_expire(ddb_chain *ch);

/* ---- HTTP (ddb_http.c) ----------------------------------------------------- */

typedef enum ddb_kind {
  DDB_OK = 0,
  DDB_RETRY,     /* throttled, 5xx, transport error: back off and retry */
  DDB_AUTH,      /* the credentials or the signature were refused */
  DDB_NOT_FOUND, /* ResourceNotFoundException */
  DDB_FATAL,     /* any other refusal: retrying cannot help */
  DDB_CANCELLED, /* stopped by us: shutdown, or another segment failed */
  DDB_TIMEOUT,   /* the gather's time budget ran out */
} ddb_kind;

typedef struct ddb_result {
  ddb_kind kind;
  long status;       /* HTTP status; 0 when no response came */
  char type[128];    /* the error's __type after '#' ("ThrottlingException") */
  char message[512]; /* the server's message, or the transport error */
} ddb_result;

/* Classifies a response (status, body) or a transport failure (curl code
 * and error text when status is 0). Pure: the unit tests drive it. */
void ddb_classify(long status, CURLcode code, const char *curl_error, const char *body, size_t len,
                  ddb_result *r);

/* Largest response body accepted: a Scan page holds at most 1 MB of item
 * data; its JSON is larger, but not by this much. */
#define DDB_BODY_MAX (32u << 20)

typedef struct ddb_http {
  const char *url;      /* the endpoint */
  const char *redacted; /* the endpoint for logs */
  char sigv4[128];      /* "aws:amz:<region>:dynamodb" */
  http_client client;   /* TLS and proxy options (plugins/common/curl) */
  const char *user_agent;
} ddb_http;

typedef struct ddb_conn {
  ddb_http *http; /* the instance's, shared by the segments */
  CURL *curl;
  tower_buf *body;
  tower_ctx *ctx;
  atomic_bool *cancel; /* set: abort the transfer (may be NULL) */
  bool too_large;      /* the body went over DDB_BODY_MAX */
  char curl_error[CURL_ERROR_SIZE];
} ddb_conn;

int ddb_conn_init(ddb_conn *c, ddb_http *h, tower_ctx *ctx);
void ddb_conn_fini(ddb_conn *c);
/* POSTs `payload` as DynamoDB operation `op` ("Scan"), signed with `cr`,
 * bounded by deadline (monotonic ns). The body stays in c->body; the
 * outcome goes to r. */
void ddb_post(ddb_conn *c, const char *op, const char *payload, const ddb_creds *cr,
              int64_t deadline, ddb_result *r);

/* ---- the instance ------------------------------------------------------------ */

typedef struct ddb_table {
  const char *name;        /* TableName as configured (a name or an ARN) */
  const char *measurement; /* the name (the part after "table/" of an ARN) */
} ddb_table;

typedef struct ddb_state {
  tower_ctx *ctx;
  ddb_table *tables;
  size_t ntables;
  json_t *request; /* the Scan request without TableName, Limit, segment and start key */
  int64_t page_size, max_items, max_retries, timeout_ns;
  unsigned segments;
  ddb_convert cv;
  const char **tag_keys;
  char *region, *url, *redacted;
  ddb_http http;
  ddb_conn *conns; /* one per segment */
  ddb_chain chain;
  int64_t backoff_base_ns, backoff_cap_ns;
} ddb_state;

/* ddb_config.c: tables, region/endpoint and the request template. 0 or a
 * negative errno after logging why. */
int ddb_config_tables(ddb_state *s, const tower_config *cfg);
int ddb_config_endpoint(ddb_state *s, const tower_config *cfg);
int ddb_config_request(ddb_state *s, const tower_config *cfg);
/* One expression attribute value as written in the config (string, number,
 * boolean, or DynamoDB JSON text) into an AttributeValue. NULL with err set
 * when it cannot be one. */
json_t *ddb_attribute_value(const tower_setting *v, char *err, size_t err_size);

/* ddb_scan.c */

/* What one table's scan came to. */
typedef struct ddb_table_result {
  ddb_result fail;  /* kind DDB_OK when the scan completed */
  unsigned pages;   /* pages received */
  unsigned retries; /* requests retried */
  size_t items, skipped;
  bool truncated;    /* stopped at max_items */
  unsigned attempts; /* of the request that failed */
  bool budget_out;   /* a retry would have outlasted the time budget */
  char skip_reason[256];
} ddb_table_result;

/* Scans table t completely (every segment) and adds its metrics to acc,
 * or adds nothing when any part fails. */
void ddb_scan_table(ddb_state *s, const ddb_table *t, const ddb_creds *cr, tower_acc *acc,
                    int64_t deadline, ddb_table_result *res);

/* Full-jitter exponential backoff before retry `attempt` (0-based):
 * uniform in [0, min(cap, base * 2^attempt)]; `rnd` is a uniform 64-bit
 * random number. */
int64_t ddb_backoff(int64_t base, int64_t cap, unsigned attempt, uint64_t rnd);

#endif
