/* outputs.influxdb internals, shared by influxdb.c (options, init, the
 * write path: grouping, splitting, failover), ifx_body.c (request bodies:
 * line protocol, tag removal, gzip; URLs), ifx_http.c (the libcurl handle,
 * one request and its response), ifx_response.c (what a response means)
 * and ifx_database.c (CREATE DATABASE). See README.md for the behaviour. */
#ifndef TOWER_OUTPUTS_INFLUXDB_H
#define TOWER_OUTPUTS_INFLUXDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <zlib.h>

#include <tower/tower.h>

#include "../../common/curl/curl_common.h"

typedef enum ifx_api {
  IFX_V1 = 1, /* InfluxDB 1.x: /write?db=, /query */
  IFX_V2 = 2, /* InfluxDB 2.x: /api/v2/write?org=&bucket= */
} ifx_api;

/* ---- responses (ifx_response.c) ----------------------------------------- */

/* What a write response means for the points of the request. */
typedef enum ifx_verdict {
  IFX_WRITTEN = 0,      /* 2xx: every point stored */
  IFX_PARTIAL = 1,      /* some points rejected (counted), the others stored */
  IFX_REJECTED = 2,     /* the whole body refused for its data (400): bisect */
  IFX_TOO_LARGE = 3,    /* 413: split the request in halves */
  IFX_DB_NOT_FOUND = 4, /* v1 "database not found": create it, send again */
  IFX_CONFIG = 5,       /* 401, 403, 404, 407, 3xx, missing retention policy */
  IFX_THROTTLED = 6,    /* 429: come back later (Retry-After) */
  IFX_UNAVAILABLE = 7,  /* 5xx, no response (connection, timeout, TLS) */
  IFX_REFUSED = 8,      /* any other 4xx: the request can never succeed */
} ifx_verdict;

/* Bytes of a response body kept for the error message. */
#define IFX_BODY_MAX 4096
/* Longest reason kept for a log line. */
#define IFX_REASON_MAX 512

typedef struct ifx_response {
  long status;        /* HTTP status; 0 when none came */
  CURLcode curl_code; /* transport result */
  char curl_error[CURL_ERROR_SIZE];
  char body[IFX_BODY_MAX + 1]; /* first bytes of the body, NUL-terminated */
  size_t body_len;
  char x_error[IFX_REASON_MAX]; /* X-Influxdb-Error header, or "" */
  int64_t retry_after_ns;       /* Retry-After, -1 when absent */
  char reason[IFX_REASON_MAX];  /* filled by ifx_response_reason() */
} ifx_response;

/* Classifies a response (status and server message) and, for partial
 * writes, sets *rejected to the number of points the server refused:
 * its "dropped=N" plus one per "unable to parse" line (InfluxDB 1.x does
 * not count those in dropped). Pure function: the unit tests drive it. */
ifx_verdict ifx_classify(ifx_api api, long status, const char *reason, uint64_t *rejected);

/* Extracts the server's message from a JSON body: v1 {"error": "..."}, v2
 * {"code": "...", "message": "..."} ("code: message"), into out (always
 * NUL-terminated, control characters replaced by spaces). A body that is
 * not JSON gives its first line; an empty one gives "". Returns out. */
char *ifx_body_reason(const char *body, size_t len, char *out, size_t out_size);

/* Fills r->reason from the body, the X-Influxdb-Error header or the
 * transport error, for logs and ifx_classify(). */
void ifx_response_reason(ifx_response *r);

/* Parses a Retry-After value (delay-seconds or an HTTP date) into ns from
 * `now_s` (Unix seconds), capped at IFX_RETRY_AFTER_MAX. -1 if invalid. */
#define IFX_RETRY_AFTER_MAX (600LL * 1000000000LL)
int64_t ifx_parse_retry_after(const char *value, int64_t now_s);

/* ---- request bodies and URLs (ifx_body.c) ------------------------------- */

typedef struct ifx_body {
  tower_buf *lp;   /* line protocol of the request */
  tower_buf *line; /* one line, when a tag is cut out of it */
  z_stream z;
  bool z_ready;
  unsigned char *gz; /* gzip of lp */
  size_t gz_len, gz_cap;
  unsigned lp_flags;    /* TOWER_LP_* */
  int64_t precision_ns; /* 1, 1000, 1000000, 1000000000 */
  char *cut_key;        /* the routing tag, escaped as line protocol writes it,
                           followed by '='; NULL: keep the tag */
  size_t cut_key_len;
} ifx_body;

/* gzip level 1: cpu metrics shrink about 4.9:1 at ~470k metrics/s per core;
 * level 6 (zlib's and Go's default, Telegraf's) gives 6.8:1 at 3.5 times
 * the CPU (bench/bench_influxdb.c). An agent's CPU is the scarcer. */
#define IFX_GZIP_LEVEL 1

int ifx_body_init(ifx_body *b, unsigned lp_flags, int64_t precision_ns, const char *cut_tag,
                  bool gzip);
void ifx_body_fini(ifx_body *b);

/* Serializes metrics ms[idx[0..n)] into b->lp (emptied first), cutting the
 * routing tag out when configured. *lines receives the number of lines
 * written and *skipped the metrics line protocol cannot carry (no field
 * left: only NaN/Inf values). 0 or -ENOMEM. */
int ifx_body_build(ifx_body *b, const tower_batch *batch, const uint32_t *idx, size_t n,
                   size_t *lines, size_t *skipped);
/* Compresses b->lp into b->gz. 0, -ENOMEM or -EIO. */
int ifx_body_gzip(ifx_body *b);

/* Appends the percent-encoding of s (RFC 3986 unreserved characters kept). */
int ifx_url_escape(tower_buf *out, const char *s);
/* Appends an InfluxQL double-quoted identifier: "name" with '\' and '"'
 * escaped and a newline as \n. */
int ifx_influxql_ident(tower_buf *out, const char *name);

/* ---- the instance -------------------------------------------------------- */

/* A configured URL: the text as written (for logs, redacted) and the base
 * the request paths are appended to (no trailing '/'). */
typedef struct ifx_url {
  const char *text;
  char *base;
  char *redacted; /* tower_redact_url(text): what logs show */
} ifx_url;

/* One routing group of a write: the metrics for one database or bucket. */
typedef struct ifx_group {
  const char *name; /* borrowed from the config or a metric's tag */
  size_t count, start;
} ifx_group;

/* A request's outcome, accumulated over a write for one log line. */
typedef struct ifx_losses {
  uint64_t rejected; /* points the server refused (or we could not send) */
  uint64_t kept;     /* points of the same responses that were stored */
  long status;       /* first refusing response */
  char where[160];   /* its URL and database */
  char reason[IFX_REASON_MAX];
} ifx_losses;

typedef struct ifx_state {
  tower_ctx *ctx;
  ifx_api api;
  ifx_url *urls;
  size_t nurls, cur; /* cur: the URL the next request tries first */

  /* v1 */
  const char *database, *retention_policy, *consistency;
  const char *username, *password; /* from http: basic auth, or u= and p= */
  bool auth_in_query, skip_database_creation;
  char **created; /* databases created (or found not creatable) */
  size_t ncreated;
  /* v2 */
  const char *organization, *bucket;
  /* both */
  const char *route_tag; /* database_tag / bucket_tag, or NULL */
  const char *precision; /* the query parameter value */
  bool gzip;

  http_client http; /* timeout, TLS, proxy, http_headers, username/password */
  CURL *curl;
  struct curl_slist *write_headers, *query_headers;
  char *auth_header; /* "Authorization: Token ..." (secret) */
  ifx_response resp;
  ifx_response saved; /* a write's response kept across a CREATE DATABASE */
  tower_buf *url;     /* the request URL being built */
  tower_buf *query;   /* a /query form body */
  ifx_body body;

  /* the write being done */
  const tower_batch *batch;
  uint32_t *gid, *order; /* per metric: group, then metrics by group */
  size_t cap;
  ifx_group *groups;
  size_t ngroups, gcap;
  int bisect_budget;
  int64_t retry_hint;
  ifx_losses loss;
} ifx_state;

/* ---- HTTP (ifx_http.c) ---------------------------------------------------- */

/* Reads the HTTP client options (plugins/common/curl) and creates the curl
 * handle with everything that does not change between requests (timeout,
 * TLS, proxy, auth, headers). 0 or a negative errno after logging why. */
int ifx_http_init(ifx_state *s, const tower_config *cfg);
void ifx_http_fini(ifx_state *s);

/* POSTs data[0..len) to s->url with the write (or, for query, the form)
 * headers; fills s->resp. Returns the response status (0: none came). */
long ifx_http_post(ifx_state *s, const void *data, size_t len, bool query);

/* Appends the v1 u= and p= parameters (auth_in_query) to s->url, after a
 * '?' or '&' as needed. */
int ifx_http_auth_query(ifx_state *s);

/* ---- databases (ifx_database.c) ------------------------------------------ */

/* True when `db` was created (or CREATE was refused for good) already. */
bool ifx_db_known(const ifx_state *s, const char *db);
/* Sends CREATE DATABASE for `db` to URL u and remembers the outcome.
 * Returns true when the database exists now. */
bool ifx_db_create(ifx_state *s, size_t u, const char *db);
void ifx_db_fini(ifx_state *s);

#endif
