/* outputs.prometheus_remote_write internals, shared by
 * prometheus_remote_write.c (options, init/destroy, what a response means
 * for the batch), prw_encode.c (batch -> WriteRequest protobuf -> snappy)
 * and prw_http.c (the libcurl handle, one POST and its response). See
 * README.md for the behaviour. */
#ifndef TOWER_OUTPUTS_PRW_H
#define TOWER_OUTPUTS_PRW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include <tower/tower.h>

#include "../../common/curl/curl_common.h"
#include "remote.pb-c.h"

/* ---- encoding (prw_encode.c) ---------------------------------------------- */

/* One series of a request: its key in the arena is the sorted label pairs
 * "name\0value\0..." (__name__ among them), so that comparing keys byte by
 * byte orders series as Prometheus orders label sets. */
typedef struct prw_series {
  uint64_t hash;
  size_t key, key_len; /* offset and length in the arena */
  const char *kp;      /* the key, once the arena stops moving */
  uint32_t nlabels;
  uint32_t nsamples; /* samples of the batch, then those kept */
  uint32_t first;    /* index of its first sample in `sorted` */
} prw_series;

/* One label of a key being built, with its lengths. */
typedef struct prw_pair {
  const char *name, *value, *suffix; /* suffix: appended to the value (__name__) */
  size_t nlen, vlen, slen;
} prw_pair;

typedef struct prw_sample {
  uint32_t series;
  int64_t ts_ms;
  double value;
} prw_sample;

/* Everything a request needs, kept from write to write: the arrays only
 * grow, so a steady flow of batches allocates nothing. */
typedef struct prw_encoder {
  unsigned map_flags; /* TOWER_PROM_STRING_AS_LABEL */
  char *arena;        /* series keys */
  size_t alen, acap;
  prw_series *series, *spare; /* spare: the sort's scratch */
  size_t nseries, scap, sparecap;
  uint32_t *slots; /* open addressing: series index + 1, 0 empty */
  size_t nslots;
  prw_sample *samples, *sorted;
  size_t nsamples, smcap, sortcap;
  tower_buf *num;  /* le / quantile label values */
  prw_pair *pairs; /* labels of the series being mapped */
  size_t npairs, paircap;
  /* the protobuf message and its pointer arrays */
  Prometheus__TimeSeries *ts, **tsp;
  Prometheus__Label *labels, **labelp;
  Prometheus__Sample *pbs, **pbsp;
  size_t tscap, tspcap, lcap, lpcap, pbcap, pbspcap;
  uint8_t *pb;
  size_t pb_len, pb_cap;
  char *body; /* snappy of pb */
  size_t body_len, body_cap;
  /* figures of the last batch */
  size_t metrics_without_series; /* nothing Prometheus can store */
  size_t samples_replaced;       /* same series and millisecond: the later kept */
  size_t samples_sent;
} prw_encoder;

int prw_encoder_init(prw_encoder *e, unsigned map_flags);
void prw_encoder_fini(prw_encoder *e);

/* Maps the metrics to series (as outputs.prometheus does), sorts the
 * series by labels and each one's samples by time, builds the WriteRequest
 * and compresses it: e->body, e->body_len. 0 or -ENOMEM. */
int prw_encode_metrics(prw_encoder *e, const tower_metric *const *ms, size_t n);

/* ---- HTTP (prw_http.c) ---------------------------------------------------- */

/* Bytes of a response body kept for the error message. */
#define PRW_REASON_MAX 512

typedef struct prw_response {
  long status;        /* HTTP status; 0 when none came */
  CURLcode curl_code; /* transport result */
  char curl_error[CURL_ERROR_SIZE];
  char body[PRW_REASON_MAX]; /* first line of the body, printable */
  size_t body_len;
  int64_t retry_after_ns; /* Retry-After, -1 when absent */
} prw_response;

typedef struct prw_http {
  http_client client; /* timeout, TLS, proxy, http_headers, auth */
  CURL *curl;
  struct curl_slist *headers;
  prw_response resp;
} prw_http;

/* Reads the HTTP client options and sets up the handle. 0 or a negative
 * errno after logging why. */
int prw_http_init(prw_http *h, tower_ctx *ctx, const tower_config *cfg);
void prw_http_fini(prw_http *h);
/* POSTs body[0..len) to url; fills h->resp and returns its status (0: no
 * response came). */
long prw_http_post(prw_http *h, const char *url, const void *body, size_t len);
/* A Retry-After value (delay-seconds or an HTTP date) in ns from now, at
 * most ten minutes; -1 when it is neither. */
int64_t prw_retry_after(const char *value, int64_t now_s);

#endif
