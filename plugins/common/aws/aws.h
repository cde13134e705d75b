/* AWS code shared by the AWS plugins (inputs.dynamodb, inputs.cloudwatch):
 * a convenience library linked into each of them (README.md).
 *   aws_chain.c     the credential chain and its options;
 *   aws_profile.c   the shared credentials and config files;
 *   aws_imds.c      EC2 instance profile credentials through IMDSv2;
 *   aws_remote.c    the ECS container endpoint and STS (AssumeRole,
 *                   AssumeRoleWithWebIdentity): temporary credentials;
 *   aws_endpoint.c  region and endpoint (endpoint_url);
 *   aws_http.c      one libcurl handle, SigV4 signing (CURLOPT_AWS_SIGV4),
 *                   what a response means, jittered backoff. */
#ifndef TOWER_COMMON_AWS_H
#define TOWER_COMMON_AWS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include <tower/tower.h>

#include "../curl/curl_common.h"

#ifndef NS_PER_MS
#define NS_PER_MS 1000000LL
#endif
#ifndef NS_PER_S
#define NS_PER_S 1000000000LL
#endif

/* ---- options ---------------------------------------------------------------- */

/* The credential options, under Telegraf's names (access_key, secret_key,
 * token, profile, shared_credential_file, role_arn, role_session_name,
 * web_identity_token_file) and the names inputs.dynamodb had first. */
#define AWS_CREDENTIAL_OPTIONS                                                                     \
  {.name = "access_key",                                                                           \
   .type = TOWER_OPT_STRING,                                                                       \
   .help = "AWS access key id (default: the credential chain, see the README)"},                   \
      {.name = "secret_key",                                                                       \
       .type = TOWER_OPT_STRING,                                                                   \
       .flags = TOWER_OPT_SECRET,                                                                  \
       .help = "AWS secret access key; use \"${AWS_SECRET_ACCESS_KEY}\", not the key itself"},     \
      {.name = "token",                                                                            \
       .type = TOWER_OPT_STRING,                                                                   \
       .flags = TOWER_OPT_SECRET,                                                                  \
       .help = "session token of temporary credentials"},                                          \
      {.name = "access_key_id",                                                                    \
       .type = TOWER_OPT_STRING,                                                                   \
       .help = "access_key under another name"},                                                   \
      {.name = "secret_access_key",                                                                \
       .type = TOWER_OPT_STRING,                                                                   \
       .flags = TOWER_OPT_SECRET,                                                                  \
       .help = "secret_key under another name"},                                                   \
      {.name = "session_token",                                                                    \
       .type = TOWER_OPT_STRING,                                                                   \
       .flags = TOWER_OPT_SECRET,                                                                  \
       .help = "token under another name"},                                                        \
      {.name = "profile",                                                                          \
       .type = TOWER_OPT_STRING,                                                                   \
       .help = "profile of the shared credentials and config files (wins over the environment)"},  \
      {.name = "shared_credential_file",                                                           \
       .type = TOWER_OPT_STRING,                                                                   \
       .help = "shared credentials file (default: AWS_SHARED_CREDENTIALS_FILE, "                   \
               "~/.aws/credentials)"},                                                             \
      {.name = "shared_credentials_file",                                                          \
       .type = TOWER_OPT_STRING,                                                                   \
       .help = "shared_credential_file under another name"},                                       \
      {.name = "role_arn",                                                                         \
       .type = TOWER_OPT_STRING,                                                                   \
       .help = "IAM role to assume (STS AssumeRole) with the credentials found, or with "          \
               "web_identity_token_file (AssumeRoleWithWebIdentity)"},                             \
      {.name = "role_session_name",                                                                \
       .type = TOWER_OPT_STRING,                                                                   \
       .help = "session name of the assumed role (default: tower-<pid>)"},                         \
      {.name = "web_identity_token_file",                                                          \
       .type = TOWER_OPT_STRING,                                                                   \
       .help = "OIDC token file exchanged for role_arn's credentials (default: "                   \
               "AWS_WEB_IDENTITY_TOKEN_FILE)"},                                                    \
  {                                                                                                \
    .name = "imds", .type = TOWER_OPT_BOOL, .default_value = "true",                               \
    .help = "fall back to the EC2 instance profile (IMDSv2) when nothing else gives "              \
            "credentials"                                                                          \
  }

/* ---- credentials ---------------------------------------------------------------- */

typedef struct aws_creds {
  char *access_key, *secret_key, *token; /* token: NULL without one */
  int64_t expires_ns;                    /* wall clock; 0: never */
} aws_creds;

void aws_creds_clear(aws_creds *c);
/* Copies (replacing dst's strings). 0 or -ENOMEM. */
int aws_creds_set(aws_creds *dst, const char *key, const char *secret, const char *token,
                  int64_t expires_ns);
/* "****************ABCD", as `aws configure list` shows an access key. */
void aws_key_hint(const char *access_key, char *out, size_t size);
/* Frees a string after zeroing it: secrets do not linger in freed memory. */
void aws_free_secret(char *s);

/* Reads profile `profile` of an AWS shared credentials or config file
 * (INI: [name] or [profile name] sections, aws_access_key_id,
 * aws_secret_access_key, aws_session_token or the older
 * aws_security_token; # and ; comments). Returns 0; -ENOENT when the file
 * does not exist; -ESRCH when the profile is absent or lacks a key (err
 * says which); another negative errno when it cannot be read. */
int aws_profile_read(const char *path, const char *profile, aws_creds *out, char *err,
                     size_t err_size);

/* A small blocking HTTP client for the credential endpoints (IMDS, ECS,
 * STS): never through a proxy, short timeouts, bodies up to 64 KiB. */
typedef struct aws_fetch {
  CURL *curl;
  tower_buf *body;
  char error[CURL_ERROR_SIZE];
} aws_fetch;

int aws_fetch_init(aws_fetch *f);
void aws_fetch_fini(aws_fetch *f);
/* method "GET", "PUT" or "POST" (with `post`); headers NULL-terminated
 * "Name: value" lines; sigv4 (NULL: unsigned) and cr sign the request.
 * Returns the HTTP status, 0 with err set when no response came. */
long aws_fetch_do(aws_fetch *f, const char *method, const char *url, const char *const *headers,
                  const char *post, const char *sigv4, const aws_creds *cr, char *err,
                  size_t err_size);
/* A credential document {AccessKeyId, SecretAccessKey, Token or
 * SessionToken, Expiration (RFC 3339 or epoch seconds)} into out. */
int aws_creds_from_json(json_t *j, aws_creds *out, char *err, size_t err_size);

typedef struct aws_imds {
  char *endpoint; /* http://169.254.169.254 or AWS_EC2_METADATA_SERVICE_ENDPOINT */
  CURL *curl;
  tower_buf *body;
  char *token;              /* IMDSv2 session token */
  int64_t token_expires_ns; /* monotonic */
  char role[256];
  unsigned fetches; /* credential documents fetched */
} aws_imds;

/* Session token lifetime asked for (the AWS SDKs' default, 6 hours). */
#define AWS_IMDS_TOKEN_TTL_S 21600
/* Refresh temporary credentials this long before they expire. */
#define AWS_REFRESH_MARGIN_NS (300LL * NS_PER_S)

int aws_imds_init(aws_imds *m, const char *endpoint);
void aws_imds_fini(aws_imds *m);
/* Fetches the instance profile's temporary credentials (token PUT, role
 * listing, credential document). 0, or a negative errno with err set. */
int aws_imds_fetch(aws_imds *m, aws_creds *out, char *err, size_t err_size);

typedef enum aws_source {
  AWS_SRC_NONE = 0,
  AWS_SRC_CONFIG,       /* access_key / secret_key / token */
  AWS_SRC_PROFILE,      /* the `profile` option: that profile of the shared files */
  AWS_SRC_ENV,          /* AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN */
  AWS_SRC_FILE,         /* shared credentials file, AWS_PROFILE or "default" */
  AWS_SRC_WEB_IDENTITY, /* a web identity token exchanged through STS */
  AWS_SRC_ECS,          /* the ECS container credentials endpoint */
  AWS_SRC_IMDS,         /* EC2 instance profile through IMDSv2 */
} aws_source;

/* Where temporary credentials come from (aws_remote.c). */
typedef struct aws_remote {
  aws_fetch fetch;
  char *sts_url;            /* https://sts.<region>.amazonaws.com or AWS_ENDPOINT_URL_STS */
  char sts_sigv4[96];       /* aws:amz:<region>:sts */
  char *role_arn;           /* AssumeRole / AssumeRoleWithWebIdentity */
  char *session_name;       /* RoleSessionName */
  char *token_file;         /* web identity token file */
  char *ecs_url, *ecs_auth; /* container endpoint; its Authorization value */
  char *ecs_auth_file;      /* AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE */
  unsigned sts_calls;       /* requests sent to STS */
} aws_remote;

typedef struct aws_chain {
  tower_ctx *ctx;
  aws_source source;
  char origin[512]; /* where the credentials come from, for log lines */
  aws_creds creds;  /* what requests are signed with */
  aws_creds base;   /* with role_arn: the credentials AssumeRole is signed with */
  bool assume;      /* role_arn on top of the source */
  bool imds_on, remote_on;
  aws_imds imds;
  aws_remote remote;
} aws_chain;

/* Walks the chain (README.md, "Credentials"): the static sources now;
 * temporary credentials are fetched at the first gather. `region` is the
 * plugin's (STS is called in it). 0, or a negative errno after logging why
 * (a configuration error names file:line). */
int aws_chain_init(aws_chain *ch, tower_ctx *ctx, const tower_config *cfg, const char *region);
void aws_chain_fini(aws_chain *ch);
/* Credentials good for at least AWS_REFRESH_MARGIN_NS more: static ones as
 * they are, temporary ones fetched or refreshed. 0, or a negative errno
 * with err set. */
int aws_chain_get(aws_chain *ch, char *err, size_t err_size);
/* The server said the credentials expired: fetch new ones next time. */
void aws_chain_expire(aws_chain *ch);
/* True when the chain's credentials are temporary and fetched again. */
bool aws_chain_refreshes(const aws_chain *ch);

/* aws_remote.c: the fetches behind the temporary sources. */
int aws_ecs_fetch(aws_remote *r, aws_creds *out, char *err, size_t err_size);
int aws_sts_web_identity(aws_remote *r, aws_creds *out, char *err, size_t err_size);
int aws_sts_assume_role(aws_remote *r, const aws_creds *base, aws_creds *out, char *err,
                        size_t err_size);
void aws_remote_fini(aws_remote *r);

/* ---- HTTP ---------------------------------------------------------------------- */

typedef enum aws_kind {
  AWS_OK = 0,
  AWS_RETRY,     /* throttled, 5xx, transport error: back off and retry */
  AWS_AUTH,      /* the credentials or the signature were refused */
  AWS_NOT_FOUND, /* ResourceNotFoundException */
  AWS_FATAL,     /* any other refusal: retrying cannot help */
  AWS_CANCELLED, /* stopped by us: shutdown, or another request failed */
  AWS_TIMEOUT,   /* the gather's time budget ran out */
} aws_kind;

typedef struct aws_result {
  aws_kind kind;
  long status;       /* HTTP status; 0 when no response came */
  char type[128];    /* the error's __type after '#' ("ThrottlingException") */
  char message[512]; /* the server's message, or the transport error */
} aws_result;

/* Classifies a response (status, body) or a transport failure (curl code
 * and error text when status is 0). Pure: the unit tests drive it. */
void aws_classify(long status, CURLcode code, const char *curl_error, const char *body, size_t len,
                  aws_result *r);

/* Largest response body accepted. */
#define AWS_BODY_MAX (32u << 20)

typedef struct aws_http {
  char *region;       /* "eu-west-1" */
  char *url;          /* the endpoint */
  char *redacted;     /* the endpoint for logs */
  char sigv4[128];    /* "aws:amz:<region>:<service>" */
  http_client client; /* TLS and proxy options (plugins/common/curl) */
  const char *user_agent;
} aws_http;

/* The region (option, AWS_REGION, AWS_DEFAULT_REGION; us-east-1 with a
 * custom endpoint) and the endpoint (endpoint_url, else
 * https://<host>.<region>.amazonaws.com) of `service` ("dynamodb",
 * "monitoring"); `compatible` names a stand-in in error messages ("a
 * DynamoDB-compatible server"). 0 or a negative errno after logging. */
int aws_endpoint_load(aws_http *h, const tower_config *cfg, const char *service,
                      const char *compatible);
void aws_http_fini(aws_http *h);

typedef struct aws_conn {
  aws_http *http; /* the instance's, shared by the connections */
  CURL *curl;
  tower_buf *body;
  tower_ctx *ctx;
  atomic_bool *cancel; /* set: abort the transfer (may be NULL) */
  bool too_large;      /* the body went over AWS_BODY_MAX */
  char curl_error[CURL_ERROR_SIZE];
} aws_conn;

int aws_conn_init(aws_conn *c, aws_http *h, tower_ctx *ctx);
void aws_conn_fini(aws_conn *c);
/* POSTs `payload` (AWS JSON 1.0) as operation `target`
 * ("DynamoDB_20120810.Scan"), signed with `cr`, bounded by deadline
 * (monotonic ns). The body stays in c->body; the outcome goes to r. */
void aws_post(aws_conn *c, const char *target, const char *payload, const aws_creds *cr,
              int64_t deadline, aws_result *r);

/* Full-jitter exponential backoff before retry `attempt` (0-based):
 * uniform in [0, min(cap, base * 2^attempt)]; `rnd` is a uniform 64-bit
 * random number. */
int64_t aws_backoff(int64_t base, int64_t cap, unsigned attempt, uint64_t rnd);
/* splitmix64: a private generator per caller, no shared state. */
uint64_t aws_next_rand(uint64_t *x);

#endif
