/* outputs.prometheus: a scrape endpoint, like Telegraf's prometheus_client
 * output with metric_version 1. See README.md for the behaviour. This file
 * holds the options, init/destroy, the write path (metric -> series, with
 * tower_prom_map) and the expiry thread; prom_store.c keeps the series,
 * prom_http.c serves them. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/plural.h"
#include "prometheus.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

static const tower_option options[] = {
    {.name = "listen",
     .type = TOWER_OPT_STRING,
     .default_value = ":9273",
     .help = "address to listen on: \":9273\" (all interfaces), \"127.0.0.1:9273\", "
             "\"[::1]:9273\""},
    {.name = "path",
     .type = TOWER_OPT_STRING,
     .default_value = "/metrics",
     .help = "URL path of the metrics"},
    {.name = "expiration_interval",
     .type = TOWER_OPT_DURATION,
     .default_value = "60s",
     .min = "0s",
     .help = "a series not updated for this long disappears (0: never)"},
    {.name = "string_as_label",
     .type = TOWER_OPT_BOOL,
     .default_value = "true",
     .help = "string fields become labels (else they are dropped)"},
    {.name = "export_timestamp",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "write each sample with the metric's timestamp"},
    {.name = "max_series",
     .type = TOWER_OPT_INT,
     .default_value = "100000",
     .min = "0",
     .help = "new series beyond this many are refused and counted (0: unlimited)"},
    HTTPD_OPTIONS,
    {.name = "gzip_level",
     .type = TOWER_OPT_INT,
     .default_value = "1",
     .min = "1",
     .max = "9",
     .help = "gzip level for scrapers that accept gzip (1: fastest)"},
    TOWER_OPTION_END,
};

/* The write thread's scratch, reused for every metric. */
typedef struct writer {
  char *id, *extra; /* serialized labels */
  size_t idcap, extracap;
  char *tagbuf; /* the current metric's tag labels */
  size_t tagcap;
  prom_labels tags;
  bool has_strings; /* the current metric has string-field labels */
} writer;

typedef struct prom_state {
  tower_ctx *ctx;
  prom_store *store;
  prom_http *http;
  unsigned map_flags;
  int64_t expiration;
  writer w;
  uint64_t rejected_logged[3]; /* rejections already reported */
  int64_t last_reject_log;

  prom_http_cfg http_cfg; /* owns the PEM texts and ranges */

  pthread_t expiry;
  bool expiry_running, stopping;
  pthread_mutex_t lock; /* stopping */
  pthread_cond_t wake;
} prom_state;

/* ---- labels ------------------------------------------------------------------- */

static int grow(void *pp, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return 0;
  size_t c = need < 64 ? 64 : need * 2;
  void *p = realloc(*(void **)pp, c * elem);
  if (!p)
    return -ENOMEM;
  *(void **)pp = p;
  *cap = c;
  return 0;
}

static void append_label(prom_labels *l, char *buf, const char *name, const char *value) {
  size_t nl = strlen(name) + 1, vl = strlen(value) + 1;
  memcpy(buf + l->len, name, nl);
  memcpy(buf + l->len + nl, value, vl);
  l->len += nl + vl;
  l->n++;
}

static size_t labels_bytes(const tower_prom_series *ps) {
  size_t need = 1;
  for (size_t i = 0; i < ps->nlabels; i++)
    need += strlen(ps->label_names[i]) + strlen(ps->label_values[i]) + 2;
  return need;
}

/* True when label i of ps is the next tag label at *cursor (of *left) with
 * the same value; both lists are sorted, so the cursor only moves on. */
static bool is_tag(const char **cursor, size_t *left, const tower_prom_series *ps, size_t i) {
  const char *n = ps->label_names[i], *v = ps->label_values[i];
  while (*left) {
    const char *tv = *cursor + strlen(*cursor) + 1;
    int c = strcmp(*cursor, n);
    if (c > 0)
      return false;
    *cursor = tv + strlen(tv) + 1;
    (*left)--;
    if (c == 0)
      return strcmp(tv, v) == 0;
  }
  return false;
}

/* A series' labels (core mapped them: sorted, unique, validated) as its
 * identity and its string-field labels. The identity is the tags alone
 * (Telegraf's sample ID): w->tags when the metric has string fields, else
 * all the labels. Buffers are reused: no allocation once they are large
 * enough. */
static int split_labels(writer *w, const tower_prom_series *ps, prom_labels *id,
                        prom_labels *extra) {
  size_t need = labels_bytes(ps);
  if (grow(&w->id, &w->idcap, need, 1) || grow(&w->extra, &w->extracap, need, 1))
    return -ENOMEM;
  *extra = (prom_labels){.data = w->extra};
  if (!w->has_strings) {
    *id = (prom_labels){.data = w->id};
    for (size_t i = 0; i < ps->nlabels; i++)
      append_label(id, w->id, ps->label_names[i], ps->label_values[i]);
    return 0;
  }
  *id = w->tags;
  const char *cursor = w->tags.data;
  size_t left = w->tags.n;
  for (size_t i = 0; i < ps->nlabels; i++)
    if (!is_tag(&cursor, &left, ps, i))
      append_label(extra, w->extra, ps->label_names[i], ps->label_values[i]);
  return 0;
}

/* tower_prom_map() callback that keeps the first series' labels (without
 * string fields: the tags, as core sanitizes them) and stops. */
static int capture_tags(void *ud, const tower_prom_series *ps) {
  writer *w = ud;
  if (grow(&w->tagbuf, &w->tagcap, labels_bytes(ps), 1))
    return -ENOMEM;
  w->tags = (prom_labels){.data = w->tagbuf};
  for (size_t i = 0; i < ps->nlabels; i++)
    append_label(&w->tags, w->tagbuf, ps->label_names[i], ps->label_values[i]);
  return -ECANCELED;
}

static bool has_string_field(const tower_metric *m) {
  for (size_t i = 0; i < tower_metric_field_count(m); i++)
    if (tower_metric_field_type(m, i) == TOWER_FIELD_STRING)
      return true;
  return false;
}

/* ---- write ---------------------------------------------------------------------- */

typedef struct put_ctx {
  prom_state *s;
  int64_t now;
} put_ctx;

static int put_series(void *ud, const tower_prom_series *ps) {
  put_ctx *pc = ud;
  prom_labels id, extra;
  if (split_labels(&pc->s->w, ps, &id, &extra))
    return -ENOMEM;
  int rc = prom_store_put(pc->s->store, ps, &id, &extra, pc->now);
  return rc < 0 ? rc : 0;
}

/* Maps one metric into the store. */
static int put_metric(prom_state *s, const tower_metric *m, put_ctx *pc) {
  writer *w = &s->w;
  w->has_strings = (s->map_flags & TOWER_PROM_STRING_AS_LABEL) && has_string_field(m);
  if (w->has_strings) {
    w->tags = (prom_labels){.data = ""};
    int rc = tower_prom_map(m, 0, capture_tags, w);
    if (rc < 0 && rc != -ECANCELED)
      return rc;
  }
  int rc = tower_prom_map(m, s->map_flags, put_series, pc);
  return rc < 0 ? rc : 0;
}

/* Rejections are counted in the scrape; the log says so at most once a
 * minute (and the core rate-limits as well). */
static void log_rejections(prom_state *s, int64_t now) {
  uint64_t max = prom_store_rejected(s->store, PROM_REJECT_MAX);
  uint64_t type = prom_store_rejected(s->store, PROM_REJECT_TYPE);
  uint64_t new_max = max - s->rejected_logged[PROM_REJECT_MAX];
  uint64_t new_type = type - s->rejected_logged[PROM_REJECT_TYPE];
  if ((!new_max && !new_type) || (s->last_reject_log && now - s->last_reject_log < 60000000000))
    return;
  if (new_max)
    tower_warn(s->ctx,
               "%llu new series refused: max_series reached (%llu series held); raise max_series "
               "or drop labels with many values",
               (unsigned long long)new_max, (unsigned long long)prom_store_series(s->store));
  if (new_type)
    tower_warn(s->ctx,
               "%llu series refused: a histogram or summary and another type share one name "
               "(or a name reserved by this output); rename one with name_override",
               (unsigned long long)new_type);
  s->rejected_logged[PROM_REJECT_MAX] = max;
  s->rejected_logged[PROM_REJECT_TYPE] = type;
  s->last_reject_log = now;
}

static tower_write_result prom_write(void *state, const tower_batch *batch) {
  prom_state *s = state;
  put_ctx pc = {.s = s, .now = tower_mono_ns()};
  size_t n = tower_batch_len(batch), failed = 0;
  for (size_t i = 0; i < n; i++) {
    const tower_metric *m = tower_batch_at(batch, i);
    failed += put_metric(s, m, &pc) < 0;
  }
  if (failed)
    tower_warn(s->ctx, "%zu metric%s not stored: out of memory", failed, plural_s(failed));
  log_rejections(s, pc.now);
  /* The endpoint never fails a write: what it refused is counted in the
   * scrape (tower_prometheus_rejected_series_total). */
  return TOWER_WRITE_OK;
}

/* ---- expiry thread ----------------------------------------------------------- */

/* Expiry runs on its own thread, never on a scrape or a write (Telegraf
 * #9821, #12481): a series disappears between expiration_interval and
 * expiration_interval + tick after its last update. */
static int64_t expiry_tick(int64_t expiration) {
  int64_t t = expiration / 4;
  return t < 10000000 ? 10000000 : t > 1000000000 ? 1000000000 : t;
}

static void *expiry_main(void *arg) {
  prom_state *s = arg;
  int64_t tick = expiry_tick(s->expiration);
  pthread_mutex_lock(&s->lock);
  while (!s->stopping) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t at = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + tick;
    ts.tv_sec = at / 1000000000;
    ts.tv_nsec = at % 1000000000;
    pthread_cond_timedwait(&s->wake, &s->lock, &ts);
    if (s->stopping)
      break;
    pthread_mutex_unlock(&s->lock);
    size_t n = prom_store_expire(s->store, tower_mono_ns() - s->expiration);
    if (n)
      tower_debug(s->ctx, "%zu series expired", n);
    pthread_mutex_lock(&s->lock);
  }
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

static void init_sync(prom_state *s) {
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->wake, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&s->lock, NULL);
}

static int start_expiry(prom_state *s) {
  if (s->expiration == 0)
    return 0;
  int rc = pthread_create(&s->expiry, NULL, expiry_main, s);
  if (rc) {
    tower_error(s->ctx, "cannot start the expiry thread: %s", strerror(rc));
    return -rc;
  }
  s->expiry_running = true;
  return 0;
}

static void stop_expiry(prom_state *s) {
  pthread_mutex_lock(&s->lock);
  s->stopping = true;
  pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->lock);
  if (s->expiry_running)
    pthread_join(s->expiry, NULL);
  pthread_cond_destroy(&s->wake);
  pthread_mutex_destroy(&s->lock);
}

/* ---- init / destroy ------------------------------------------------------------- */

static int check_path(const tower_config *cfg) {
  const char *path = tower_config_string(cfg, "path");
  if (!path || path[0] != '/')
    return tower_config_error(cfg, tower_config_setting(cfg, "path"),
                              "path must start with '/' (\"/metrics\")");
  return 0;
}

static void prom_destroy(void *state) {
  prom_state *s = state;
  prom_http_stop(s->http); /* no scrape runs past this point */
  stop_expiry(s);
  prom_store_free(s->store);
  free(s->w.id);
  free(s->w.extra);
  free(s->w.tagbuf);
  httpd_cfg_free(&s->http_cfg.server);
  free(s);
}

/* The HTTP options (listen and HTTPD_OPTIONS: TLS, auth, ip_range,
 * deadlines, limits) and the scrape's own. */
static int load_http(prom_state *s, const tower_config *cfg) {
  prom_http_cfg *hc = &s->http_cfg;
  hc->path = tower_config_string(cfg, "path");
  hc->flags = tower_config_bool(cfg, "export_timestamp") ? TOWER_PROM_TIMESTAMP : 0;
  hc->gzip_level = (int)tower_config_int(cfg, "gzip_level");
  return httpd_cfg_load(cfg, "listen", &hc->server);
}

static int prom_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  prom_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->expiration = tower_config_duration(cfg, "expiration_interval");
  s->map_flags = tower_config_bool(cfg, "string_as_label") ? TOWER_PROM_STRING_AS_LABEL : 0;
  init_sync(s);
  int rc = check_path(cfg);
  if (rc == 0 && tower_ctx_check_only(ctx)) /* the TLS files, before they are loaded */
    rc = prom_check_tls(cfg);
  if (rc == 0)
    rc = load_http(s, cfg);
  if (rc == 0 && !(s->store = prom_store_new((uint64_t)tower_config_int(cfg, "max_series"))))
    rc = -ENOMEM;
  /* A config check must not take the port a running tower listens on. */
  if (rc == 0 && !tower_ctx_check_only(ctx))
    rc = start_expiry(s);
  if (rc == 0 && !tower_ctx_check_only(ctx))
    rc = prom_http_start(ctx, &s->http_cfg, s->store, &s->http);
  if (rc) {
    prom_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_OUTPUT),
    .name = "prometheus",
    .description =
        "scrape endpoint for Prometheus (Telegraf's prometheus_client, metric_version 1)",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = prom_init,
    .destroy = prom_destroy,
    .write = prom_write,
};

TOWER_PLUGIN_ENTRY(plugin)
