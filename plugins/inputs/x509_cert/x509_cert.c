/* inputs.x509_cert: the certificates of TLS servers (https://, tcp://,
 * smtp:// with STARTTLS) and of PEM files (globs), one `x509_cert` metric
 * per certificate with Telegraf's tags and fields (README.md).
 *
 * This file holds the options and the gather: the sources of one gather
 * (files matched again each time) become jobs, run by up to WORKERS_MAX
 * threads at once so that one slow or dead server costs one timeout, not
 * one per source; results are then added in configuration order, so the
 * output does not depend on which server answered first. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "x509_cert.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* Sources fetched at once. A handshake is mostly waiting on the network;
 * 16 at a time keeps a list of dead servers to about one timeout per 16. */
#define WORKERS_MAX 16

static const tower_option options[] = {
    {.name = "sources",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_REQUIRED,
     .help = "certificates to report: https://host:443, tcp://host:port, smtp://host:25 "
             "(STARTTLS), file:///path/*.pem or /path/*.pem (globs, matched at every gather)"},
    {.name = "timeout",
     .type = TOWER_OPT_DURATION,
     .default_value = "5s",
     .min = "1ms",
     .max = "10m",
     .help = "per network source: connect, SMTP dialogue and TLS handshake together"},
    {.name = "server_name",
     .type = TOWER_OPT_STRING,
     .help = "name sent as TLS SNI and verified against the server's certificate, instead of "
             "each source's host"},
    {.name = "tls_server_name",
     .type = TOWER_OPT_STRING,
     .help = "Telegraf's other name for server_name; set at most one of the two"},
    {.name = "exclude_root_certs",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "report no self-signed (root) certificate, only leaf and intermediate ones"},
    {.name = "tls_ca",
     .type = TOWER_OPT_STRING,
     .help = "PEM file of CA certificates trusted for verification, besides the system's"},
    {.name = "tls_cert",
     .type = TOWER_OPT_STRING,
     .help = "PEM client certificate (chain) for servers that ask for one"},
    {.name = "tls_key", .type = TOWER_OPT_STRING, .help = "PEM private key of tls_cert"},
    TOWER_OPTION_END,
};

/* ---- configuration --------------------------------------------------------------- */

static int load_server_name(x509_state *s, const tower_config *cfg) {
  const char *a = tower_config_string(cfg, "server_name");
  const char *b = tower_config_string(cfg, "tls_server_name");
  if (a && *a && b && *b)
    return tower_config_error(cfg, tower_config_setting(cfg, "tls_server_name"),
                              "server_name (\"%s\") and tls_server_name (\"%s\") are both set; "
                              "they mean the same, keep one",
                              a, b);
  s->server_name = a && *a ? a : b && *b ? b : NULL;
  return 0;
}

/* The name in EHLO: the agent's host name when it is a plain DNS name, else
 * "localhost" (a server may refuse odd characters in EHLO). */
static void load_ehlo(x509_state *s) {
  const char *h = tower_ctx_hostname(s->ctx);
  const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
  if (h && *h && strlen(h) < sizeof s->ehlo && strspn(h, ok) == strlen(h))
    snprintf(s->ehlo, sizeof s->ehlo, "%s", h);
  else
    snprintf(s->ehlo, sizeof s->ehlo, "localhost");
}

static void x509_destroy(void *state) {
  x509_state *s = state;
  if (!s)
    return;
  x509_sources_free(s);
  SSL_CTX_free(s->ssl);
  X509_STORE_free(s->ca);
  X509_STORE_free(s->store);
  free(s);
}

static int x509_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  x509_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->timeout_ns = tower_config_duration(cfg, "timeout");
  s->exclude_root = tower_config_bool(cfg, "exclude_root_certs");
  load_ehlo(s);
  int rc = load_server_name(s, cfg);
  if (rc == 0)
    rc = x509_sources_load(s, cfg);
  if (rc == 0) { /* every bad file is reported, not only the first */
    int sources = tower_ctx_check_only(ctx) ? x509_check_sources(s, cfg) : 0;
    rc = x509_check_tls_files(cfg);
    rc = rc ? rc : sources;
  }
  if (rc == 0)
    rc = x509_ssl_ctx_new(s, cfg);
  if (rc == 0)
    rc = x509_store_new(s, cfg);
  if (rc) {
    x509_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

/* ---- one job ------------------------------------------------------------------------- */

typedef struct pool {
  const x509_state *s;
  x509_job *jobs;
  size_t n;
  int64_t now_ns;
  atomic_size_t next;
} pool;

/* A metric per certificate of the chain, each verified on its own. */
static int build_metrics(const pool *p, x509_job *j, x509_chain *chain) {
  const x509_state *s = p->s;
  int n = sk_X509_num(chain);
  j->metrics = calloc((size_t)n, sizeof *j->metrics);
  if (!j->metrics)
    return -ENOMEM;
  bool server = j->src->kind != X509_SRC_FILE;
  /* Host names are verified for servers only: a file has no host. */
  const char *host = server ? (s->server_name ? s->server_name : j->src->host) : NULL;
  for (int i = 0; i < n; i++) {
    X509 *x = sk_X509_value(chain, i);
    const char *type = x509_cert_type(x, i, server);
    if (s->exclude_root && strcmp(type, "root") == 0)
      continue;
    char verr[X509_ERR_MAX];
    bool ok = x509_verify(s->store, chain, i, i == 0 ? host : NULL,
                          (time_t)(p->now_ns / 1000000000), verr, sizeof verr);
    x509_certinfo info = {
        .source = j->tag, .type = type, .error = ok ? NULL : verr, .now_ns = p->now_ns};
    tower_metric *m = x509_metric_new(x, &info);
    if (!m)
      return -ENOMEM;
    j->metrics[j->nmetrics++] = m;
  }
  return 0;
}

static void run_job(const pool *p, x509_job *j) {
  if (j->failed)
    return; /* a glob without match: nothing to fetch */
  x509_chain *chain = NULL;
  int rc = j->src->kind == X509_SRC_FILE
               ? x509_read_file(j->path, &chain, j->error, sizeof j->error)
               : x509_fetch(p->s, j->src, &chain, j->error, sizeof j->error);
  if (rc == -ECANCELED) {
    j->stopped = true;
    return;
  }
  if (rc == 0) {
    rc = build_metrics(p, j, chain);
    if (rc)
      snprintf(j->error, sizeof j->error, "out of memory building the metrics");
  }
  sk_X509_pop_free(chain, X509_free);
  j->failed = rc != 0;
  if (j->failed && !j->error[0])
    snprintf(j->error, sizeof j->error, "%s", strerror(-rc));
}

/* OpenSSL writes to the socket with write(): a server that has already
 * closed raises SIGPIPE in the writing thread. The agent ignores SIGPIPE,
 * but a plugin must not depend on its host for that (tests, benchmarks), so
 * the thread blocks it while it works and discards what is pending, as
 * libcurl does. */
static void *worker(void *arg) {
  pool *p = arg;
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  size_t i;
  while ((i = atomic_fetch_add(&p->next, 1)) < p->n)
    run_job(p, &p->jobs[i]);
  struct timespec zero = {0, 0};
  while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
    continue;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return NULL;
}

/* Runs every job: the gather thread plus up to WORKERS_MAX - 1 threads when
 * there are servers to wait for (files alone are read inline). */
static void run_jobs(const x509_state *s, x509_job *jobs, size_t n, int64_t now_ns) {
  pool p = {.s = s, .jobs = jobs, .n = n, .now_ns = now_ns};
  atomic_init(&p.next, 0);
  size_t remote = 0;
  for (size_t i = 0; i < n; i++)
    remote += jobs[i].src->kind != X509_SRC_FILE;
  size_t want = remote < WORKERS_MAX ? remote : WORKERS_MAX;
  pthread_t tids[WORKERS_MAX];
  size_t started = 0;
  while (started + 1 < want && pthread_create(&tids[started], NULL, worker, &p) == 0)
    started++; /* a thread that cannot start leaves its share to the others */
  worker(&p);
  for (size_t i = 0; i < started; i++)
    pthread_join(tids[i], NULL);
}

/* ---- gather --------------------------------------------------------------------------- */

/* Errors and metrics in configuration order. */
static int emit(const x509_state *s, tower_acc *acc, x509_job *jobs, size_t n) {
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    x509_job *j = &jobs[i];
    if (j->stopped)
      tower_debug(s->ctx, "%s: abandoned, the input is stopping", j->tag);
    else if (j->failed)
      tower_acc_error(acc, "cannot get certificates from %s: %s", j->tag, j->error);
    for (size_t k = 0; k < j->nmetrics; k++) {
      int r = tower_acc_add(acc, j->metrics[k]); /* takes the metric in every case */
      j->metrics[k] = NULL;
      if (r && rc == 0)
        rc = r;
    }
  }
  return rc;
}

static int x509_gather(void *state, tower_acc *acc) {
  x509_state *s = state;
  int64_t now_ns = tower_now(); /* one clock for the whole gather, as Telegraf */
  x509_job *jobs;
  size_t n;
  int rc = x509_jobs_new(s, &jobs, &n);
  if (rc) {
    tower_acc_error(acc, "out of memory listing the sources");
    return rc;
  }
  if (n && (rc = x509_store_ready(s)) != 0) {
    x509_jobs_free(jobs, n);
    tower_acc_error(acc, "cannot read the system's trusted certificates: out of memory");
    return rc;
  }
  run_jobs(s, jobs, n, now_ns);
  rc = emit(s, acc, jobs, n);
  x509_jobs_free(jobs, n);
  return rc;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "x509_cert",
    .description = "TLS certificates of servers (https, tcp, smtp STARTTLS) and PEM files: "
                   "expiry, age, subject, issuer, SANs and verification",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = x509_init,
    .destroy = x509_destroy,
    .gather = x509_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
