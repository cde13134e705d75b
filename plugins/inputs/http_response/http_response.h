/* inputs.http_response: the parts shared by the plugin's files, the tests
 * and the benchmark.
 *
 *   hr_config.c   the options of one instance (hr_settings), checked at init
 *   hr_probe.c    one URL's libcurl handle and what its callbacks record
 *   hr_result.c   the outcome of a transfer as Telegraf reports it: the
 *                 result vocabulary and the http_response metric
 *   http_response.c  the descriptor and the gather (all URLs at once on
 *                 one libcurl multi handle)
 *
 * Telegraf's http_response.go is the reference for every name, value and
 * case; README.md lists where tower differs. */
#ifndef TOWER_HTTP_RESPONSE_H
#define TOWER_HTTP_RESPONSE_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include <tower/tower.h>

#include "../../common/curl/curl_common.h"

/* Go's http.Client gives up after 10 redirects. */
#define HR_MAX_REDIRECTS 10L
/* response_body_max_size = 0 means Telegraf's default, 32 MiB. */
#define HR_DEFAULT_BODY_MAX (32ull << 20)
/* A probe keeps a body buffer up to this size for the next gather; a bigger
 * one (a large page matched once) is given back after the probe. */
#define HR_KEEP_BODY_BUF (256u << 10)

/* The `result` tag and the `result_code` field: Telegraf's vocabulary and
 * codes, the only values the tag ever takes (never an error text). */
typedef enum hr_result {
  HR_SUCCESS = 0,
  HR_STRING_MISMATCH = 1,
  HR_BODY_READ_ERROR = 2,
  HR_CONNECTION_FAILED = 3,
  HR_TIMEOUT = 4,
  HR_DNS_ERROR = 5,
  HR_STATUS_MISMATCH = 6,
} hr_result;

/* "success", "response_string_mismatch", ... */
const char *hr_result_name(hr_result r);

/* How a finished transfer failed before its body was checked, as Telegraf
 * sorts Go's errors: a timeout before the response headers arrived is
 * `timeout`, a failed name lookup `dns_error`, any other failure before the
 * headers `connection_failed`; any failure after them (a stalled or cut
 * body, a body over the limit) is `body_read_error`. CURLE_OK is
 * HR_SUCCESS. `headers_done`: the headers of the final response (not of a
 * redirect being followed, not 1xx) were read. */
hr_result hr_classify(CURLcode rc, bool headers_done);

/* The options of one instance; probes read them during a gather. */
typedef struct hr_settings {
  tower_ctx *ctx;
  http_client http; /* response_timeout, TLS, proxy, basic auth, bearer token */
  const char *method;
  const char *body; /* NULL: no request body */
  bool follow_redirects;
  bool has_match;
  regex_t match;              /* response_string_match, when has_match */
  const char *body_field;     /* response_body_field; NULL: none */
  uint64_t body_max;          /* response_body_max_size, 0 replaced by 32 MiB */
  long want_status;           /* response_status_code; 0: not checked */
  char *interface;            /* "if!<name>" for CURLOPT_INTERFACE, owned; NULL: any */
  struct curl_slist *headers; /* `headers` and the request's own, owned */
  bool gzip;                  /* ask for gzip and decode it, as Go's transport does */
} hr_settings;

/* Reads and checks the options (configuration errors name the option and its
 * file:line). 0, -EINVAL or -ENOMEM; call hr_settings_fini() in every case. */
int hr_settings_load(hr_settings *s, tower_ctx *ctx, const tower_config *cfg);
void hr_settings_fini(hr_settings *s);
/* Checks urls[i]: a URL libcurl parses, http:// or https://. 0 or a
 * configuration error (-EINVAL) at its line; -ENOMEM. */
int hr_url_check(const tower_config *cfg, size_t i);

/* One URL: its handle, reused gather after gather (with a new connection
 * each time, as Telegraf disables keep-alive), and what the callbacks
 * record about the transfer in progress. */
typedef struct hr_probe {
  hr_settings *set;
  CURL *easy;
  const char *url; /* as configured, borrowed from the config */
  char *server;    /* the `server` tag: url without credentials, owned */
  char errbuf[CURL_ERROR_SIZE];

  /* the transfer in progress (hr_probe_start resets them) */
  tower_buf *body;   /* the body, when it is matched or reported; else NULL */
  uint64_t received; /* body bytes received, counted up to body_max + 1 */
  bool too_large;    /* more than body_max bytes came */
  long status;       /* of the header block being read */
  bool saw_location; /* that block has a Location header */
  bool headers_done; /* the final response's headers are read */
  bool busy;         /* in the gather's multi handle */
} hr_probe;

/* Creates the handle for `url` and sets everything that does not change
 * between transfers. 0, -ENOMEM, or -EINVAL (logged: libcurl refused an
 * option). Call hr_probe_fini() in every case. */
int hr_probe_init(hr_probe *p, hr_settings *set, const char *url);
/* Resets the record and sets the URL and the current bearer token; then
 * the handle can go into the multi handle. 0 or a negative errno. */
int hr_probe_start(hr_probe *p);
/* After the transfer: gives back an oversized body buffer. */
void hr_probe_done(hr_probe *p);
void hr_probe_fini(hr_probe *p);

/* The http_response metric of a finished transfer (`rc` from its
 * CURLMSG_DONE), without a timestamp (the gather's is added). NULL: out of
 * memory. */
tower_metric *hr_probe_metric(const hr_probe *p, CURLcode rc);

/* Why probe `p` got result `r` (not success), for the debug log: libcurl's
 * message, or which check failed. Returns a static string or `buf`. */
const char *hr_why(const hr_probe *p, CURLcode rc, hr_result r, char *buf, size_t size);

#endif
