/* inputs.influxdb_listener: a service input that speaks InfluxDB's write
 * APIs, 1.x (/write) and 2.x (/api/v2/write), so that anything that writes
 * to InfluxDB can write to tower: Telegraf's influxdb_listener and
 * influxdb_v2_listener in one (README.md).
 *
 * This file reads the options and starts and stops the server; ifl_http.c
 * serves the requests. Decisions:
 *   - a write is answered once its metrics are in every output's buffer
 *     (response_after = "accept", the default: Telegraf answers at the same
 *     point), or once the outputs wrote them (response_after = "delivery");
 *     see README.md for why accept is the default;
 *   - the request's metrics are parsed on the server thread that read it
 *     (several at once), and added and committed under one lock, since an
 *     accumulator takes one thread at a time;
 *   - the good lines of a body are kept and the bad ones named in a 400
 *     answer, as influxd 1.x does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/plural.h"
#include "influxdb_listener.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

static const tower_option options[] = {
    {.name = "service_address",
     .type = TOWER_OPT_STRING,
     .default_value = ":8186",
     .help = "address to listen on: \"host:port\", \":port\" (every interface) or "
             "\"[ipv6]:port\""},
    HTTPD_OPTIONS,
    {.name = "max_body_size",
     .type = TOWER_OPT_SIZE,
     .default_value = "32MiB",
     .min = "1KiB",
     .max = "1GiB",
     .help = "largest request body, as sent and once uncompressed; larger ones are answered 413"},
    {.name = "database_tag",
     .type = TOWER_OPT_STRING,
     .help = "1.x writes: tag that receives the db parameter (none when unset)"},
    {.name = "retention_policy_tag",
     .type = TOWER_OPT_STRING,
     .help = "1.x writes: tag that receives the rp parameter (none when unset)"},
    {.name = "bucket_tag",
     .type = TOWER_OPT_STRING,
     .help = "2.x writes: tag that receives the bucket parameter (none when unset)"},
    {.name = "token",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_SECRET,
     .help = "require \"Authorization: Token <token>\" (InfluxDB 2.x); with basic_username set, "
             "either credential is enough"},
    {.name = "response_after",
     .type = TOWER_OPT_ENUM,
     .default_value = "accept",
     .choices = "accept|delivery",
     .help = "answer a write once every output buffered its metrics (accept), or once the "
             "outputs wrote them (delivery)"},
    TOWER_OPTION_END,
};

/* ---- configuration ------------------------------------------------------ */

/* An option that names a tag must not be empty. */
static const char *tag_option(const ifl_state *s, const char *key, int *rc) {
  const char *v = tower_config_string(s->cfg, key);
  if (v && !*v && *rc == 0)
    *rc = tower_config_error(s->cfg, tower_config_setting(s->cfg, key),
                             "%s is empty; remove it for no tag", key);
  return v && *v ? v : NULL;
}

static int read_options(ifl_state *s) {
  const tower_config *cfg = s->cfg;
  int rc = httpd_cfg_load(cfg, "service_address", &s->hc);
  if (rc)
    return rc;
  s->max_body = (size_t)tower_config_size(cfg, "max_body_size");
  s->database_tag = tag_option(s, "database_tag", &rc);
  s->rp_tag = tag_option(s, "retention_policy_tag", &rc);
  s->bucket_tag = tag_option(s, "bucket_tag", &rc);
  s->after_delivery = strcmp(tower_config_string(cfg, "response_after"), "delivery") == 0;
  const char *token = tower_config_string(cfg, "token");
  if (token && *token) {
    s->token = token;
    s->token_len = strlen(token);
  }
  s->hc.realm = "InfluxDB";
  s->hc.handler = ifl_handle;
  s->hc.handler_cls = s;
  s->hc.authorize = ifl_authorize;
  s->hc.completed = ifl_completed;
  s->hc.suspend = s->after_delivery;
  return rc;
}

static void ifl_destroy(void *state) {
  ifl_state *s = state;
  httpd_cfg_free(&s->hc);
  ifl_pool_free(s);
  for (size_t i = 0; i < s->ndbs; i++)
    free(s->dbs[i]);
  ifl_hub_release(s->hub);
  pthread_mutex_destroy(&s->acc_lock);
  pthread_mutex_destroy(&s->pool_lock);
  free(s);
}

static uint64_t id_seed(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec << 32 ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&ts;
}

static int ifl_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  ifl_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->cfg = cfg;
  pthread_mutex_init(&s->acc_lock, NULL);
  pthread_mutex_init(&s->pool_lock, NULL);
  s->id_seed = id_seed();
  int rc = read_options(s);
  if (rc == 0 && !(s->hub = ifl_hub_new()))
    rc = -ENOMEM;
  if (rc) {
    ifl_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

/* ---- start and stop -------------------------------------------------------- */

static int ifl_start(void *state, tower_acc *acc) {
  ifl_state *s = state;
  s->acc = acc;
  atomic_store(&s->requests, 0);
  atomic_store(&s->lines, 0);
  atomic_store(&s->bad_lines, 0);
  if (!s->hub)
    return -ENOMEM;
  int rc = httpd_start(s->ctx, &s->hc, &s->server);
  if (rc)
    return rc;
  tower_info(s->ctx, "listening on %s (port %u) for InfluxDB writes (/write, /api/v2/write)%s",
             s->hc.listen, httpd_port(s->server),
             s->after_delivery ? "; answering once the outputs wrote them" : "");
  return 0;
}

static void ifl_stop(void *state) {
  ifl_state *s = state;
  /* Suspended requests first: libmicrohttpd cannot stop with them. */
  ifl_hub_stop(s->hub);
  httpd_stop(s->server);
  s->server = NULL;
  /* Deliveries still awaited keep the old hub; a later start gets a new
   * one that suspends requests again. */
  ifl_hub_release(s->hub);
  s->hub = ifl_hub_new();
  uint64_t req = atomic_load(&s->requests), lines = atomic_load(&s->lines),
           bad = atomic_load(&s->bad_lines);
  tower_info(s->ctx, "stopped: %llu write%s, %llu metric%s accepted, %llu bad line%s",
             (unsigned long long)req, plural_s(req), (unsigned long long)lines, plural_s(lines),
             (unsigned long long)bad, plural_s(bad));
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "influxdb_listener",
    .description = "accept InfluxDB 1.x and 2.x line protocol writes over HTTP(S)",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = ifl_init,
    .destroy = ifl_destroy,
    .start = ifl_start,
    .stop = ifl_stop,
};

TOWER_PLUGIN_ENTRY(plugin)
