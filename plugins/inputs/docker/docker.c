/* inputs.docker: containers and the engine through the Docker Engine API
 * (Docker, or podman's Docker-compatible service), with Telegraf's
 * measurement, tag and field names. See README.md for the behaviour.
 *
 * This file holds the options, init/destroy and the gather, which is a
 * small event-driven sequence on one libcurl multi handle:
 *   GET /version (once: the API version to speak; again after a failure)
 *   GET /v1.N/info and /v1.N/containers/json, together
 *   per container, at most DOCKER_MAX_IN_FLIGHT at a time:
 *     GET /containers/{id}/json, then (running or paused)
 *     GET /containers/{id}/stats?stream=false&one-shot=true
 * all under one deadline (`timeout`). Each answer becomes metrics as soon
 * as it arrives. Whatever goes wrong in a gather is reported as ONE error
 * at its end (what failed, the endpoint, what to do) with a count of the
 * rest; a container that vanished between the list and its requests (404)
 * is not an error. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/plural.h"
#include "docker.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

static const tower_option options[] = {
    {.name = "endpoint",
     .type = TOWER_OPT_STRING,
     .default_value = "unix:///var/run/docker.sock",
     .help = "unix:///path/to/docker.sock, tcp://host:port (HTTPS when a tls_* option is set), "
             "or ENV for DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION"},
    {.name = "timeout",
     .type = TOWER_OPT_DURATION,
     .default_value = "5s",
     .min = "10ms",
     .max = "10m",
     .help = "limit for the whole gather: every request of it shares this deadline"},
    {.name = "container_name_include",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_GLOB,
     .help = "container names to gather (globs; empty: all)"},
    {.name = "container_name_exclude",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_GLOB,
     .help = "container names to skip (globs)"},
    {.name = "container_state_include",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_GLOB,
     .help = "container states to gather: created, restarting, running, removing, paused, "
             "exited, dead (globs; both state options empty: running only)"},
    {.name = "container_state_exclude",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_GLOB,
     .help = "container states to skip (globs)"},
    {.name = "docker_label_include",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_GLOB,
     .help = "container labels that become tags (globs; empty: all)"},
    {.name = "docker_label_exclude",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_GLOB,
     .help = "container labels that do not become tags (globs)"},
    {.name = "tag_env",
     .type = TOWER_OPT_STRINGS,
     .help = "environment variables of the containers that become tags (JAVA_HOME, ...)"},
    {.name = "perdevice_include",
     .type = TOWER_OPT_STRINGS,
     .default_value = "cpu",
     .help = "per-device metrics: cpu (cpu0, cpu1, ...), blkio (8:0, ...), network (eth0, ...)"},
    {.name = "total_include",
     .type = TOWER_OPT_STRINGS,
     .default_value = "cpu,blkio,network",
     .help = "totals: cpu (cpu-total), blkio (device=total), network (network=total)"},
    {.name = "source_tag",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "add the tag source = the first 12 characters of the container id"},
    {.name = "podman_cache_ttl",
     .type = TOWER_OPT_DURATION,
     .default_value = "60s",
     .min = "0s",
     .max = "24h",
     .help = "how old the previous CPU sample of a container may be for usage_percent when the "
             "daemon sends none (podman, and Docker with one-shot stats)"},
    HTTP_CLIENT_TLS_OPTIONS, /* for tcp:// endpoints */
    {.name = "gather_services",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "Telegraf's Swarm services (docker_swarm): accepted, not implemented"},
    {.name = "storage_objects",
     .type = TOWER_OPT_STRINGS,
     .help = "Telegraf's disk usage (docker_disk_usage): accepted, not implemented"},
    TOWER_OPTION_END,
};

typedef struct docker_state {
  tower_ctx *ctx;
  docker_filters f;
  const char **tag_env;
  docker_endpoint ep;
  http_client client; /* TLS: the options, or DOCKER_CERT_PATH's files */
  docker_http http;
  docker_engine eng;
  docker_cpu_cache cache;
  int64_t timeout, cache_ttl;
  unsigned pinned_minor; /* DOCKER_API_VERSION; 0: negotiate */
  bool warned_api;

  /* the gather in progress */
  tower_acc *acc;
  int64_t deadline;
  json_t *list;
  docker_ctr *ctrs;
  size_t nctrs, next;
  bool info_done, list_done, engine_failed, nomem;
  size_t ctr_failed, ctr_vanished;
  unsigned problems;
  char first[1024]; /* the first problem of the gather, in full */
} docker_state;

/* ---- configuration ---------------------------------------------------------------- */

/* A STRINGS option of cpu/blkio/network into DOCKER_CLASS_* bits. */
static int load_classes(const tower_config *cfg, const char *key, unsigned *out) {
  static const char *const names[] = {"cpu", "blkio", "network"};
  *out = 0;
  for (size_t i = 0; i < tower_config_strings_len(cfg, key); i++) {
    const char *v = tower_config_strings_at(cfg, key, i);
    size_t k = 0;
    while (k < 3 && strcmp(v, names[k]) != 0)
      k++;
    if (k == 3) {
      const tower_setting *s = tower_config_setting(cfg, key);
      return tower_config_error(cfg, s && tower_setting_at(s, i) ? tower_setting_at(s, i) : s,
                                "%s: \"%s\" is not one of cpu, blkio, network", key, v);
    }
    *out |= 1u << k;
  }
  return 0;
}

/* Globs of a STRINGS option; NULL when unset or empty (Telegraf treats an
 * empty include list as "everything"). */
static int load_globs(const tower_config *cfg, const char *key, tower_globs **out) {
  *out = NULL;
  if (tower_config_strings_len(cfg, key) == 0)
    return 0;
  return tower_globs_from_config(cfg, key, out);
}

static int load_filters(docker_state *s, const tower_config *cfg) {
  docker_filters *f = &s->f;
  int rc = load_globs(cfg, "container_name_include", &f->name_include);
  rc = rc ? rc : load_globs(cfg, "container_name_exclude", &f->name_exclude);
  rc = rc ? rc : load_globs(cfg, "container_state_include", &f->state_include);
  rc = rc ? rc : load_globs(cfg, "container_state_exclude", &f->state_exclude);
  rc = rc ? rc : load_globs(cfg, "docker_label_include", &f->label_include);
  rc = rc ? rc : load_globs(cfg, "docker_label_exclude", &f->label_exclude);
  rc = rc ? rc : load_classes(cfg, "perdevice_include", &f->perdevice);
  rc = rc ? rc : load_classes(cfg, "total_include", &f->total);
  if (rc == 0 && !f->state_include && !f->state_exclude) {
    const char *running = "running";
    rc = tower_globs_new(&running, 1, &f->state_include, NULL);
  }
  f->source_tag = tower_config_bool(cfg, "source_tag");
  f->ntag_env = tower_config_strings_len(cfg, "tag_env");
  if (rc == 0 && f->ntag_env) {
    s->tag_env = calloc(f->ntag_env, sizeof *s->tag_env);
    if (!s->tag_env)
      return -ENOMEM;
    for (size_t i = 0; i < f->ntag_env; i++)
      s->tag_env[i] = tower_config_strings_at(cfg, "tag_env", i);
    f->tag_env = s->tag_env;
  }
  return rc;
}

/* endpoint = "ENV" may bring its own TLS files and verification (the
 * Docker CLI's variables): they replace the options. */
static void use_endpoint_tls(docker_state *s) {
  http_client *c = &s->client;
  c->tls_ca = s->ep.tls_ca;
  c->tls_cert = s->ep.tls_cert;
  c->tls_key = s->ep.tls_key;
  if (s->ep.skip_verify && !c->insecure_skip_verify && s->ep.tls)
    tower_warn(s->ctx, "DOCKER_TLS_VERIFY is not set: the daemon's certificate and host name are "
                       "not checked");
  c->insecure_skip_verify = s->ep.skip_verify;
}

static int load_endpoint(docker_state *s, const tower_config *cfg) {
  char err[512];
  const char *endpoint = tower_config_string(cfg, "endpoint");
  int rc = http_client_load(&s->client, s->ctx, cfg, HTTP_CLIENT_TLS);
  if (rc)
    return rc;
  const http_client *c = &s->client;
  rc = docker_endpoint_resolve(endpoint, c->tls_ca, c->tls_cert, c->tls_key,
                               c->insecure_skip_verify, &s->ep, err, sizeof err);
  if (rc == -EINVAL)
    return tower_config_error(cfg, tower_config_setting(cfg, "endpoint"), "%s%s", err,
                              strcmp(endpoint, "ENV") == 0 ? " (read from DOCKER_HOST)" : "");
  if (rc)
    return rc;
  if (s->ep.pinned_api && docker_parse_api(s->ep.pinned_api, &s->pinned_minor))
    return tower_config_error(cfg, tower_config_setting(cfg, "endpoint"),
                              "DOCKER_API_VERSION=\"%s\" is not an API version such as 1.41",
                              s->ep.pinned_api);
  if (strncmp(s->ep.url, "unix:", 5) == 0 && s->ep.tls)
    tower_warn(s->ctx, "the tls_* options are ignored: %s is a unix socket", s->ep.url);
  use_endpoint_tls(s);
  return 0;
}

static void warn_unimplemented(docker_state *s, const tower_config *cfg) {
  if (tower_config_bool(cfg, "gather_services"))
    tower_warn(s->ctx, "gather_services is not implemented: no docker_swarm metrics are gathered");
  if (tower_config_strings_len(cfg, "storage_objects"))
    tower_warn(s->ctx, "storage_objects is not implemented: no docker_disk_usage metrics are "
                       "gathered");
}

static void docker_destroy(void *state) {
  docker_state *s = state;
  if (!s)
    return;
  docker_http_fini(&s->http);
  http_client_fini(&s->client);
  docker_endpoint_free(&s->ep);
  docker_cache_free(&s->cache);
  tower_globs_free(s->f.name_include);
  tower_globs_free(s->f.name_exclude);
  tower_globs_free(s->f.state_include);
  tower_globs_free(s->f.state_exclude);
  tower_globs_free(s->f.label_include);
  tower_globs_free(s->f.label_exclude);
  free(s->tag_env);
  free(s->eng.name);
  free(s->eng.server_version);
  free(s);
}

static int docker_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  docker_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->timeout = tower_config_duration(cfg, "timeout");
  s->cache_ttl = tower_config_duration(cfg, "podman_cache_ttl");
  int rc = load_filters(s, cfg);
  rc = rc ? rc : load_endpoint(s, cfg);
  if (rc == 0 && tower_ctx_check_only(ctx)) /* what can be known without a request */
    rc = docker_check(ctx, cfg, &s->ep);
  rc = rc ? rc : docker_http_init(&s->http, ctx, &s->ep, &s->client);
  if (rc) {
    docker_destroy(s);
    return rc;
  }
  warn_unimplemented(s, cfg);
  *state = s;
  return 0;
}

/* ---- problems: collected during the gather, reported once at its end --------- */

static void problem(docker_state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(docker_state *s, const char *fmt, ...) {
  if (s->problems++ == 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->first, sizeof s->first, fmt, ap);
    va_end(ap);
  }
}

/* What a failed transfer means, in words an operator can act on. */
static void transport_problem(docker_state *s, const docker_slot *sl) {
  const char *ep = s->http.display,
             *detail = sl->errbuf[0] ? sl->errbuf : curl_easy_strerror(sl->code);
  bool unix_socket = s->http.unix_path != NULL;
  switch (sl->code) {
  case CURLE_COULDNT_CONNECT:
    if (unix_socket)
      problem(s,
              "cannot connect to the Docker daemon at %s: %s; is dockerd (or podman system "
              "service) running, and may tower's user open the socket (group docker)?",
              ep, sl->os_errno ? strerror((int)sl->os_errno) : detail);
    else
      problem(s, "cannot connect to the Docker daemon at %s: %s; is it listening there?", ep,
              detail);
    break;
  case CURLE_COULDNT_RESOLVE_HOST:
    problem(s, "cannot resolve the host of %s: %s; check endpoint", ep, detail);
    break;
  case CURLE_OPERATION_TIMEDOUT:
    problem(s,
            "the Docker daemon at %s did not answer GET %s within timeout = %.3gs; is it hung "
            "or overloaded? (raise timeout if it is only slow)",
            ep, sl->path, (double)s->timeout / 1e9);
    break;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CACERT_BADFILE:
    problem(s, "TLS with the Docker daemon at %s failed: %s; check tls_ca, tls_cert and tls_key",
            ep, detail);
    break;
  case CURLE_WRITE_ERROR:
    if (sl->too_big) {
      problem(s, "the answer to GET %s from %s is larger than %u MiB; it was not read", sl->path,
              ep, DOCKER_BODY_MAX >> 20);
      break;
    }
    s->nomem = true;
    problem(s, "out of memory reading the answer to GET %s from %s", sl->path, ep);
    break;
  case CURLE_GOT_NOTHING:
  case CURLE_RECV_ERROR:
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_UNSUPPORTED_PROTOCOL:
    problem(s,
            "the Docker daemon at %s gave no HTTP answer to GET %s (%s); is this a Docker "
            "Engine API endpoint?",
            ep, sl->path, detail);
    break;
  default:
    problem(s, "GET %s from the Docker daemon at %s failed: %s", sl->path, ep, detail);
  }
}

/* The daemon's own message: {"message": "..."}, else the body's first
 * line; control characters become spaces (one log line per error). */
static void error_message(const docker_slot *sl, char *out, size_t n) {
  json_t *j = sl->len ? json_loadb(sl->body, sl->len, 0, NULL) : NULL;
  const char *m = json_string_value(json_object_get(j, "message"));
  if (m)
    snprintf(out, n, "%s", m);
  else if (sl->len)
    snprintf(out, n, "%.*s", (int)strcspn(sl->body, "\r\n"), sl->body);
  else
    snprintf(out, n, "(empty answer)");
  json_decref(j);
  for (char *p = out; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = ' ';
}

static void status_problem(docker_state *s, const docker_slot *sl) {
  char msg[512];
  error_message(sl, msg, sizeof msg);
  const char *hint = "";
  if (sl->status == 400 && strstr(msg, "version"))
    hint = "; the API version is negotiated again at the next gather";
  else if (sl->status == 401 || sl->status == 403)
    hint = "; check the daemon's authorization (plugin or proxy) for tower's client";
  else if (sl->status == 404 && sl->kind <= DOCKER_REQ_LIST)
    hint = "; is this a Docker Engine API endpoint?";
  problem(s, "GET %s from the Docker daemon at %s answered HTTP %ld: %s%s", sl->path,
          s->http.display, sl->status, msg, hint);
}

/* The JSON of a successful answer, or NULL after recording why not.
 * *gone is set for 404 on a container (it vanished: not a problem) and
 * for an empty 200 answer (podman's stats of a container that stopped). */
static json_t *answer(docker_state *s, const docker_slot *sl, bool *gone) {
  bool per_ctr = sl->kind == DOCKER_REQ_INSPECT || sl->kind == DOCKER_REQ_STATS;
  *gone = false;
  if (sl->code != CURLE_OK) {
    transport_problem(s, sl);
    return NULL;
  }
  if ((sl->status == 404 && per_ctr) || (sl->status == 200 && sl->len == 0 && per_ctr)) {
    *gone = true;
    return NULL;
  }
  if (sl->status != 200) {
    status_problem(s, sl);
    return NULL;
  }
  json_error_t jerr;
  json_t *j = json_loadb(sl->body, sl->len, 0, &jerr);
  if (!j && strstr(jerr.text, "too big"))
    /* A counter beyond int64: read the numbers as doubles instead. */
    j = json_loadb(sl->body, sl->len, JSON_DECODE_INT_AS_REAL, &jerr);
  if (!j)
    problem(s,
            "GET %s from the Docker daemon at %s: the answer is not valid JSON (%s, line %d "
            "column %d); is this a Docker Engine API endpoint?",
            sl->path, s->http.display, jerr.text, jerr.line, jerr.column);
  return j;
}

/* Records a sink failure (only -ENOMEM can happen). */
static void emitted(docker_state *s, int rc, const char *what) {
  if (rc == -ENOMEM)
    s->nomem = true;
  if (rc && rc != -EINVAL)
    problem(s, "cannot build the %s metrics: %s", what, strerror(-rc));
}

/* ---- the sequence ---------------------------------------------------------------------- */

static void start(docker_state *s, docker_slot *sl, docker_req kind, size_t ctr, const char *path) {
  int rc = docker_http_start(&s->http, sl, kind, ctr, path, s->deadline);
  if (rc) {
    s->nomem |= rc == -ENOMEM;
    problem(s, "cannot start GET %s: %s", path, strerror(-rc));
    if (kind >= DOCKER_REQ_INSPECT)
      s->ctr_failed++;
    else
      s->engine_failed = true;
  }
}

/* Container ids are hex; anything else never reaches a URL. */
static bool safe_id(const char *id) {
  return id[strspn(id, "0123456789abcdefABCDEF_.-")] == '\0' && strlen(id) <= 128;
}

/* Starts the next container's inspect on the free slot `sl`, skipping
 * containers whose request cannot start (counted as failed). */
static void next_container(docker_state *s, docker_slot *sl) {
  while (!sl->busy && s->next < s->nctrs && !tower_ctx_stopping(s->ctx)) {
    size_t i = s->next++;
    if (!safe_id(s->ctrs[i].id)) {
      problem(s, "container %s has an id that is not hex (\"%s\"); skipped", s->ctrs[i].name,
              s->ctrs[i].id);
      s->ctr_failed++;
      continue;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/containers/%s/json", s->eng.version_prefix, s->ctrs[i].id);
    start(s, sl, DOCKER_REQ_INSPECT, i, path);
  }
}

/* Fills every free slot with a container. */
static void start_containers(docker_state *s) {
  docker_slot *sl;
  while (s->next < s->nctrs && !tower_ctx_stopping(s->ctx) &&
         (sl = docker_http_free_slot(&s->http)))
    next_container(s, sl);
}

static void start_engine(docker_state *s) {
  char path[64];
  snprintf(path, sizeof path, "%s/info", s->eng.version_prefix);
  start(s, docker_http_free_slot(&s->http), DOCKER_REQ_INFO, 0, path);
  /* all=1 only when stopped containers are wanted: the daemon then lists
   * them all and the state filter picks (as Telegraf). */
  snprintf(path, sizeof path, "%s/containers/json%s", s->eng.version_prefix,
           docker_wants_stopped(&s->f) ? "?all=1" : "");
  start(s, docker_http_free_slot(&s->http), DOCKER_REQ_LIST, 0, path);
}

static void version_done(docker_state *s, docker_slot *sl) {
  bool gone;
  json_t *j = answer(s, sl, &gone);
  if (!j) {
    s->engine_failed = true;
    return;
  }
  char err[256];
  int rc = docker_parse_version(j, &s->eng, err, sizeof err);
  json_decref(j);
  if (rc) {
    s->engine_failed = true;
    problem(s, "the Docker daemon at %s: %s; is this a Docker Engine API endpoint?",
            s->http.display, err);
    return;
  }
  if (s->eng.api_minor < DOCKER_API_MIN_MINOR && !s->warned_api) {
    s->warned_api = true;
    tower_warn(s->ctx,
               "the daemon at %s speaks Engine API 1.%u; 1.%u (Docker 1.12) or later is "
               "supported: upgrade it if fields are missing",
               s->http.display, s->eng.api_minor, DOCKER_API_MIN_MINOR);
  }
  tower_debug(s->ctx, "%s: Engine API 1.%u%s", s->http.display, s->eng.api_minor,
              s->eng.podman ? " (podman)" : "");
  start_engine(s);
}

static void info_done(docker_state *s, docker_slot *sl) {
  bool gone;
  json_t *j = answer(s, sl, &gone);
  if (j) {
    int rc = docker_emit_info(j, &s->eng, tower_acc_sink, s->acc);
    if (rc == -EINVAL)
      problem(s, "GET %s from %s: the answer is not a JSON object", sl->path, s->http.display);
    emitted(s, rc, "docker");
    json_decref(j);
  } else {
    /* Container metrics keep the engine tags of the last good /info. */
    s->engine_failed = true;
  }
  s->info_done = true;
  if (s->list_done && s->ctrs)
    start_containers(s);
}

static void list_done(docker_state *s, docker_slot *sl) {
  bool gone;
  s->list = answer(s, sl, &gone);
  s->list_done = true;
  int rc = s->list ? docker_list_parse(s->list, &s->f, &s->ctrs, &s->nctrs) : 0;
  if (rc == -EINVAL)
    problem(s, "GET %s from %s: the answer is not a JSON array", sl->path, s->http.display);
  s->nomem |= rc == -ENOMEM;
  if (!s->list || rc) {
    s->engine_failed = true;
    return;
  }
  if (s->info_done)
    start_containers(s);
}

static void ctr_finished(docker_state *s, docker_slot *sl, docker_ctr *c) {
  tower_metric_free(c->tmpl);
  c->tmpl = NULL;
  next_container(s, sl);
}

/* Failed or vanished: counted, and the slot goes on with the next one. */
static void ctr_dropped(docker_state *s, docker_slot *sl, docker_ctr *c, bool gone) {
  if (gone) {
    s->ctr_vanished++;
    tower_debug(s->ctx, "container %s (%.12s) is gone; skipped", c->name, c->id);
  } else {
    s->ctr_failed++;
  }
  ctr_finished(s, sl, c);
}

static bool has_stats(const json_t *inspect) {
  const char *st = json_string_value(json_object_get(json_object_get(inspect, "State"), "Status"));
  return st && (strcmp(st, "running") == 0 || strcmp(st, "paused") == 0);
}

static void inspect_done(docker_state *s, docker_slot *sl) {
  docker_ctr *c = &s->ctrs[sl->ctr];
  bool gone;
  json_t *j = answer(s, sl, &gone);
  if (!j) {
    ctr_dropped(s, sl, c, gone);
    return;
  }
  int rc = docker_emit_inspect(&s->f, &s->eng, c, j, tower_now(), tower_acc_sink, s->acc);
  bool stats = rc == 0 && has_stats(j);
  json_decref(j);
  if (rc == -EINVAL)
    problem(s, "GET %s from %s: the answer is not a JSON object", sl->path, s->http.display);
  emitted(s, rc, "docker_container_status");
  if (rc) {
    ctr_dropped(s, sl, c, false);
    return;
  }
  if (!stats) {
    ctr_finished(s, sl, c); /* a stopped container uses no CPU or memory */
    return;
  }
  /* stream=false: one answer, not a stream; one-shot (1.41+): no wait for
   * a second sample in the daemon (about 2 s per container otherwise). */
  char path[256];
  snprintf(path, sizeof path, "%s/containers/%s/stats?stream=false%s", s->eng.version_prefix, c->id,
           s->eng.api_minor >= DOCKER_API_ONE_SHOT_MINOR ? "&one-shot=true" : "");
  start(s, sl, DOCKER_REQ_STATS, sl->ctr, path);
  if (!sl->busy)
    ctr_finished(s, sl, c);
}

static void stats_done(docker_state *s, docker_slot *sl) {
  docker_ctr *c = &s->ctrs[sl->ctr];
  bool gone;
  json_t *j = answer(s, sl, &gone);
  if (!j) {
    ctr_dropped(s, sl, c, gone);
    return;
  }
  int rc = docker_emit_stats(&s->f, &s->eng, c, j, &s->cache, s->cache_ttl, tower_mono_ns(),
                             tower_acc_sink, s->acc);
  json_decref(j);
  if (rc == -EINVAL)
    problem(s, "GET %s from %s: the answer is not a JSON object", sl->path, s->http.display);
  emitted(s, rc, "docker_container_*");
  if (rc)
    ctr_dropped(s, sl, c, false);
  else
    ctr_finished(s, sl, c);
}

static void on_done(void *ud, docker_slot *sl) {
  docker_state *s = ud;
  switch (sl->kind) {
  case DOCKER_REQ_VERSION:
    version_done(s, sl);
    break;
  case DOCKER_REQ_INFO:
    info_done(s, sl);
    break;
  case DOCKER_REQ_LIST:
    list_done(s, sl);
    break;
  case DOCKER_REQ_INSPECT:
    inspect_done(s, sl);
    break;
  case DOCKER_REQ_STATS:
    stats_done(s, sl);
    break;
  default:
    break;
  }
}

static bool stopping(void *ud) {
  return tower_ctx_stopping(((docker_state *)ud)->ctx);
}

/* ---- one gather ------------------------------------------------------------------------- */

static void begin(docker_state *s, tower_acc *acc) {
  s->acc = acc;
  s->deadline = tower_mono_ns() + s->timeout;
  s->list = NULL;
  s->ctrs = NULL;
  s->nctrs = s->next = s->ctr_failed = s->ctr_vanished = 0;
  s->info_done = s->list_done = s->engine_failed = s->nomem = false;
  s->problems = 0;
  s->first[0] = '\0';
  if (s->pinned_minor && !s->eng.api_minor)
    docker_set_api(&s->eng, s->pinned_minor);
}

/* Transfers cut off at the deadline: the problem the error leads with,
 * naming the first of them; earlier problems count as "more". */
static void timed_out(docker_state *s, const docker_slot *aborted, size_t n) {
  size_t ctrs = 0;
  for (size_t i = 0; i < n; i++)
    ctrs += aborted[i].kind >= DOCKER_REQ_INSPECT;
  if (ctrs < n)
    s->engine_failed = true;
  s->ctr_failed += ctrs + (s->nctrs - s->next); /* in flight, and never started */
  s->next = s->nctrs;
  char more[64] = "";
  if (n > 1)
    snprintf(more, sizeof more, " (nor to %zu more request%s)", n - 1, plural_s(n - 1));
  unsigned before = s->problems;
  s->problems = 0;
  problem(s,
          "the Docker daemon at %s did not answer within timeout = %.3gs: no answer to GET %s%s; "
          "is it hung or overloaded? (raise timeout if it is only slow)",
          s->http.display, (double)s->timeout / 1e9, aborted[0].path, more);
  s->problems += before;
}

/* The one error of the gather, if anything went wrong. */
static void report(docker_state *s) {
  if (!s->problems)
    return;
  char counts[160] = "";
  if (s->ctr_failed)
    snprintf(counts, sizeof counts, " [%zu of %zu container%s not gathered]", s->ctr_failed,
             s->nctrs, plural_s(s->nctrs));
  if (s->problems > 1)
    tower_acc_error(s->acc, "%s%s (and %u more problem%s in this gather)", s->first, counts,
                    s->problems - 1, plural_s(s->problems - 1));
  else
    tower_acc_error(s->acc, "%s%s", s->first, counts);
}

static void end(docker_state *s) {
  for (size_t i = 0; i < s->nctrs; i++)
    tower_metric_free(s->ctrs[i].tmpl);
  free(s->ctrs);
  json_decref(s->list);
  s->ctrs = NULL;
  s->list = NULL;
  docker_cache_prune(&s->cache, tower_mono_ns(), s->cache_ttl);
  docker_http_trim(&s->http);
  /* A daemon that failed may come back upgraded or be another one: ask
   * for its version again (unless DOCKER_API_VERSION pins it). */
  if (s->engine_failed && !s->pinned_minor)
    s->eng.api_minor = 0;
}

static int docker_gather(void *state, tower_acc *acc) {
  docker_state *s = state;
  begin(s, acc);
  if (s->eng.api_minor)
    start_engine(s);
  else
    start(s, docker_http_free_slot(&s->http), DOCKER_REQ_VERSION, 0, "/version");
  docker_slot aborted[DOCKER_MAX_IN_FLIGHT];
  size_t n = docker_http_run(&s->http, s->deadline, on_done, stopping, s, aborted);
  if (n && tower_ctx_stopping(s->ctx))
    tower_info(s->ctx, "gather cut short: the input is stopping");
  else if (n)
    timed_out(s, aborted, n);
  report(s);
  size_t gathered = s->nctrs - s->ctr_failed - s->ctr_vanished;
  tower_debug(s->ctx, "%zu container%s gathered, %zu vanished, %zu failed", gathered,
              plural_s(gathered), s->ctr_vanished, s->ctr_failed);
  bool nomem = s->nomem;
  end(s);
  return nomem ? -ENOMEM : 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .flags = TOWER_PLUGIN_TWO_SAMPLES,
    .name = "docker",
    .description = "containers and the engine through the Docker Engine API (Docker, podman): "
                   "Telegraf's docker_* metrics, one deadline per gather, bounded connections",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = docker_init,
    .destroy = docker_destroy,
    .gather = docker_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
