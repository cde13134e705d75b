/* inputs.http_response: probes HTTP(S) URLs and reports how each answered
 * (time to the response, status, size, body and status checks) with the
 * names and values of Telegraf's inputs.http_response. See README.md.
 *
 * All URLs of a gather are probed at once on one libcurl multi handle, each
 * with its own deadline (response_timeout): a slow or dead URL delays
 * nothing but its own metric, and a gather lasts about the slowest probe,
 * where Telegraf's probes run one after another. Every probe ends in one
 * metric whose `result` is one of seven fixed words: what went wrong is
 * data, not an error of the input, and its details go to the debug log,
 * never into a tag. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http_response.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* The longest wait for socket activity, so that a stopping agent ends a
 * gather soon even while the probes have long deadlines. */
#define HR_POLL_MS 200

static const tower_option options[] = {
    {.name = "urls",
     .type = TOWER_OPT_STRINGS,
     .default_value = "http://localhost",
     .help = "URLs to probe, all at once at each gather (http:// and https://)"},
    {.name = "method",
     .type = TOWER_OPT_STRING,
     .default_value = "GET",
     .help = "request method: GET, HEAD, POST, PUT, ..."},
    {.name = "body", .type = TOWER_OPT_STRING, .help = "request body"},
    {.name = "headers",
     .type = TOWER_OPT_TABLE,
     .flags = TOWER_OPT_SECRET,
     .help = "request headers, { Host = \"example.com\"; }"},
    {.name = "follow_redirects",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "follow redirects (10 at most); false: report the redirect itself"},
    HTTP_CLIENT_RESPONSE_TIMEOUT_OPTION("5s"),
    {.name = "response_string_match",
     .type = TOWER_OPT_STRING,
     .help = "regular expression (POSIX extended) the body must match, else "
             "result=response_string_mismatch"},
    {.name = "response_status_code",
     .type = TOWER_OPT_INT,
     .default_value = "0",
     .min = "0",
     .max = "999",
     .help = "expected status code, else result=response_status_code_mismatch; 0: not checked"},
    {.name = "response_body_field",
     .type = TOWER_OPT_STRING,
     .help = "name of a string field that gets the body (UTF-8 only)"},
    {.name = "response_body_max_size",
     .type = TOWER_OPT_SIZE,
     .default_value = "32MiB",
     .min = "0",
     .max = "1GiB",
     .help = "largest body read; a longer one is a body_read_error (0: 32MiB)"},
    {.name = "interface",
     .type = TOWER_OPT_STRING,
     .help = "network interface the probes go out from, e.g. \"eth0\""},
    HTTP_CLIENT_PROXY_ALIAS_OPTION,
    HTTP_CLIENT_PROXY_OPTIONS("true"),
    HTTP_CLIENT_TLS_OPTIONS,
    HTTP_CLIENT_BASIC_AUTH_OPTIONS,
    HTTP_CLIENT_BEARER_OPTIONS,
    TOWER_OPTION_END,
};

typedef struct hr_state {
  tower_ctx *ctx;
  hr_settings set;
  hr_probe *probes;
  size_t nprobes;
  CURLM *multi;
  bool curl_ready; /* curl_global_init succeeded */
} hr_state;

/* ---- gather ------------------------------------------------------------------------------ */

/* The details of a failed probe, for whoever turns on debug logging: the
 * metric only says which of the seven results it was. */
static void log_outcome(const hr_state *s, const hr_probe *p, const tower_metric *m, CURLcode rc) {
  int64_t r = tower_metric_field_int(m, (size_t)tower_metric_field_index(m, "result_code"));
  if (r == HR_SUCCESS || !tower_log_enabled(s->ctx, TOWER_LOG_DEBUG))
    return;
  char buf[256];
  tower_debug(s->ctx, "%s: %s: %s", p->server, hr_result_name((hr_result)r),
              hr_why(p, rc, (hr_result)r, buf, sizeof buf));
}

/* Turns every finished transfer into its metric. */
static void collect(hr_state *s, tower_acc *acc) {
  CURLMsg *msg;
  int left = 0;
  while ((msg = curl_multi_info_read(s->multi, &left))) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    hr_probe *p = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&p);
    CURLcode rc = msg->data.result;
    tower_metric *m = hr_probe_metric(p, rc);
    curl_multi_remove_handle(s->multi, p->easy);
    p->busy = false;
    hr_probe_done(p);
    if (!m) {
      tower_acc_error(acc, "%s: out of memory for the metric of the probe", p->server);
      continue;
    }
    log_outcome(s, p, m, rc);
    tower_acc_add(acc, m);
  }
}

/* Puts every probe into the multi handle; a probe that cannot start is one
 * error, the others go on. */
static void start_all(hr_state *s, tower_acc *acc) {
  for (size_t i = 0; i < s->nprobes; i++) {
    hr_probe *p = &s->probes[i];
    int rc = hr_probe_start(p);
    if (rc == 0 && curl_multi_add_handle(s->multi, p->easy) != CURLM_OK)
      rc = -ENOMEM;
    if (rc) {
      tower_acc_error(acc, "%s: cannot start the probe: %s", p->server, strerror(-rc));
      continue;
    }
    p->busy = true;
  }
}

/* Takes the unfinished probes out (the agent is stopping): no metric. */
static void abandon_all(hr_state *s) {
  for (size_t i = 0; i < s->nprobes; i++)
    if (s->probes[i].busy) {
      curl_multi_remove_handle(s->multi, s->probes[i].easy);
      s->probes[i].busy = false;
    }
}

static int hr_gather(void *state, tower_acc *acc) {
  hr_state *s = state;
  start_all(s, acc);
  for (;;) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(s->multi, &running);
    collect(s, acc);
    if (mc != CURLM_OK) {
      tower_acc_error(acc, "libcurl failed to run the probes: %s", curl_multi_strerror(mc));
      break;
    }
    if (running == 0 || tower_ctx_stopping(s->ctx))
      break;
    curl_multi_poll(s->multi, NULL, 0, HR_POLL_MS, NULL);
  }
  abandon_all(s);
  return 0;
}

/* ---- init / destroy ---------------------------------------------------------------------- */

static void hr_destroy(void *state) {
  hr_state *s = state;
  if (!s)
    return;
  for (size_t i = 0; i < s->nprobes; i++) {
    if (s->probes[i].busy)
      curl_multi_remove_handle(s->multi, s->probes[i].easy);
    hr_probe_fini(&s->probes[i]);
  }
  free(s->probes);
  if (s->multi)
    curl_multi_cleanup(s->multi);
  hr_settings_fini(&s->set);
  if (s->curl_ready)
    curl_global_cleanup();
  free(s);
}

static int check_urls(const tower_config *cfg) {
  size_t n = tower_config_strings_len(cfg, "urls");
  if (n == 0)
    return tower_config_error(cfg, tower_config_setting(cfg, "urls"),
                              "urls is empty: list the URLs to probe");
  int first = 0; /* every bad URL is reported, the first error returned */
  for (size_t i = 0; i < n; i++) {
    int rc = hr_url_check(cfg, i);
    first = first ? first : rc;
  }
  return first;
}

static int make_probes(hr_state *s, const tower_config *cfg) {
  size_t n = tower_config_strings_len(cfg, "urls");
  if (!(s->multi = curl_multi_init()) || !(s->probes = calloc(n, sizeof *s->probes)))
    return -ENOMEM;
  int rc = 0;
  for (; rc == 0 && s->nprobes < n; s->nprobes++)
    rc = hr_probe_init(&s->probes[s->nprobes], &s->set,
                       tower_config_strings_at(cfg, "urls", s->nprobes));
  return rc;
}

static int hr_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  hr_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  /* Reference counted, thread-safe since libcurl 7.84 (Debian 12: 7.88). */
  int rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -ENOMEM;
  s->curl_ready = rc == 0;
  rc = rc ? rc : hr_settings_load(&s->set, ctx, cfg);
  rc = rc ? rc : check_urls(cfg);
  if (rc == 0 && !tower_ctx_check_only(ctx))
    rc = make_probes(s, cfg);
  if (rc) {
    hr_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "http_response",
    .description = "response time, status and content checks of HTTP(S) URLs",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = hr_init,
    .destroy = hr_destroy,
    .gather = hr_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
