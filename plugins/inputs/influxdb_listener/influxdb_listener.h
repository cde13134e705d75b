/* inputs.influxdb_listener internals, shared by influxdb_listener.c
 * (options, start and stop), ifl_http.c (routes, request bodies, auth),
 * ifl_write.c (line protocol into metrics, the partial-write answer),
 * ifl_delivery.c (answering once the metrics are delivered), ifl_query.c
 * (/query) and ifl_reply.c (InfluxDB's responses). Private to the plugin. */
#ifndef TOWER_INFLUXDB_LISTENER_H
#define TOWER_INFLUXDB_LISTENER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include <tower/tower.h>

#include "httpd.h"

/* The InfluxDB version /ping and every answer report: the 1.x API level
 * that tower speaks (write, ping, partial writes as 1.8 answers them). */
#define IFL_INFLUXDB_VERSION "1.8.10"
/* Databases SHOW DATABASES remembers (CREATE DATABASE and writes). */
#define IFL_MAX_DATABASES 256
/* Bad lines named one by one in a 400 answer; the rest are counted. */
#define IFL_MAX_ERRORS 100
/* Bytes of a bad line quoted in the answer. */
#define IFL_QUOTE_MAX 256
/* The longest /query form body read. */
#define IFL_MAX_QUERY_BODY (64u * 1024)

typedef struct ifl_state ifl_state;
typedef struct ifl_hub ifl_hub;
typedef struct ifl_wait ifl_wait;

typedef enum ifl_route {
  IFL_NOT_FOUND,
  IFL_PING,
  IFL_HEALTH,
  IFL_READY,
  IFL_WRITE_V1,
  IFL_WRITE_V2,
  IFL_QUERY,
} ifl_route;

/* Where a request is: reading its body, answered or about to be, or
 * suspended until its metrics are delivered. */
typedef enum ifl_phase {
  IFL_READING,
  IFL_WAITING,
} ifl_phase;

/* An answer to send once the body is read (a refusal decided early: its
 * body is read and dropped so that the connection stays usable). */
typedef struct ifl_answer {
  unsigned status; /* 0: none yet */
  const char *message;
} ifl_answer;

/* One request's state. Kept in a pool and reused, with its buffers, so
 * that a request allocates nothing once the pool is warm. */
typedef struct ifl_req {
  struct ifl_req *next_free;
  ifl_route route;
  ifl_phase phase;
  ifl_answer early;
  char client[64]; /* the peer's address, for the log */

  /* the body, decompressed when it came gzip-compressed */
  char *body;
  size_t len, cap;
  bool too_large, gzip, z_ready, z_done, z_bad;
  z_stream z;

  /* a write's parameters (borrowed from libmicrohttpd until the request
   * ends) and its results */
  const char *db, *rp, *bucket;
  int64_t precision; /* ns per timestamp unit */
  int64_t now;       /* the time of lines without one, truncated */
  tower_parser *parser;
  tower_metric **ms; /* parsed, not yet committed */
  size_t n, ms_cap;
  size_t accepted;        /* metrics committed */
  const char *sink_error; /* set by the sink for the line being parsed */
  tower_buf *errors;      /* the bad lines, as JSON string text */
  size_t nerrors;
  ifl_wait *wait; /* response_after = "delivery": while delivery is awaited */
} ifl_req;

struct ifl_state {
  tower_ctx *ctx;
  const tower_config *cfg;

  /* options */
  httpd_cfg hc;
  size_t max_body;
  const char *database_tag, *rp_tag, *bucket_tag; /* NULL: none */
  const char *token;                              /* NULL: no v2 token */
  size_t token_len;
  bool after_delivery;

  /* while started */
  httpd *server;
  tower_acc *acc;
  pthread_mutex_t acc_lock; /* one request at a time adds and commits */
  ifl_hub *hub;

  pthread_mutex_t pool_lock; /* the request pool and the database names */
  ifl_req *free_reqs;
  unsigned pooled; /* requests in free_reqs */
  char *dbs[IFL_MAX_DATABASES];
  size_t ndbs;

  _Atomic uint64_t requests, lines, bad_lines, request_ids;
  uint64_t id_seed;
};

/* ---- ifl_http.c ---- */

/* httpd's handler, authorize and completed hooks (cls: the state). */
enum MHD_Result ifl_handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                           const char *version, const char *upload, size_t *upload_size,
                           void **req_cls);
bool ifl_authorize(void *cls, struct MHD_Connection *c, const char *url, bool basic_ok);
void ifl_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                   enum MHD_RequestTerminationCode toe);
/* Frees the pooled requests (after the server stopped). */
void ifl_pool_free(ifl_state *s);

/* ---- ifl_write.c ---- */

/* Reads the write's query parameters into r (v1: db, rp, precision; v2:
 * bucket, precision). Sets r->early on a bad precision. */
void ifl_write_params(ifl_state *s, ifl_req *r, struct MHD_Connection *c);
/* Parses the body into r->ms, naming every bad line in r->errors. Returns
 * 0 or -ENOMEM. */
int ifl_write_parse(ifl_state *s, ifl_req *r);
/* Hands r->ms to the pipeline (tracked when `wait` is not NULL). Returns
 * 0, or a negative errno when the commit failed. */
int ifl_write_commit(ifl_state *s, ifl_req *r, ifl_wait *wait);
/* Queues the answer to a parsed and committed write: 204, or 400 naming
 * the bad lines in InfluxDB's words. */
enum MHD_Result ifl_write_answer(ifl_state *s, ifl_req *r, struct MHD_Connection *c);
/* Frees the metrics a request still holds (not committed). */
void ifl_write_discard(ifl_req *r);

/* ---- ifl_delivery.c ---- */

ifl_hub *ifl_hub_new(void);
/* The state lets go of the hub; it lives on while deliveries are awaited. */
void ifl_hub_release(ifl_hub *h);
/* Resumes every suspended request (answered 503) and suspends no more:
 * before httpd_stop. */
void ifl_hub_stop(ifl_hub *h);
/* A waiter for one tracked commit; NULL when out of memory. */
ifl_wait *ifl_wait_new(ifl_hub *h);
/* tower_acc_commit_tracked's callback (arg: the waiter). */
void ifl_wait_delivered(void *arg, const tower_delivery *d);
/* After the commit: true when the request was suspended until the
 * delivery; false when it is to be answered now (delivered already, or
 * stopping). */
bool ifl_wait_park(ifl_wait *w, struct MHD_Connection *c);
/* The outcome: true when delivered (d filled), false when the agent stops
 * before. */
bool ifl_wait_outcome(ifl_wait *w, tower_delivery *d);
/* The request lets go of the waiter (answered, or gone). */
void ifl_wait_drop(ifl_wait *w);

/* ---- ifl_query.c ---- */

/* Answers /query: CREATE/DROP DATABASE and SHOW DATABASES / RETENTION
 * POLICIES as InfluxDB does; other statements get an error. `form` is
 * the POST body (application/x-www-form-urlencoded) or NULL. */
enum MHD_Result ifl_query(ifl_state *s, struct MHD_Connection *c, const char *form, size_t len);
/* Remembers a database name for SHOW DATABASES. */
void ifl_db_seen(ifl_state *s, const char *db);

/* ---- ifl_reply.c ---- */

/* Queues `status` with a JSON body (json_len bytes, copied; NULL: empty)
 * and InfluxDB's headers (X-Influxdb-Version, X-Influxdb-Build,
 * Request-Id). `error` (may be NULL) goes into X-Influxdb-Error. */
enum MHD_Result ifl_reply(ifl_state *s, struct MHD_Connection *c, unsigned status, const char *json,
                          size_t json_len, const char *error);
/* An error in the API's shape: v1 {"error":"..."}, v2 {"code":"...",
 * "message":"..."} (code from the status). */
enum MHD_Result ifl_reply_error(ifl_state *s, struct MHD_Connection *c, ifl_route route,
                                unsigned status, const char *message);
/* Appends `len` bytes of `text` to `out` as the inside of a JSON string
 * (quotes, backslashes and control bytes escaped; bytes that are not
 * UTF-8 become U+FFFD). 0 or -ENOMEM. */
int ifl_json_text(tower_buf *out, const char *text, size_t len);

#endif
