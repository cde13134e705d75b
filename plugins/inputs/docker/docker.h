/* inputs.docker internals, shared by
 *   docker.c           options, init/destroy, the gather: which request
 *                      follows which, and the one error per gather;
 *   docker_http.c      the libcurl side: endpoint, TLS, one multi handle
 *                      with a fixed pool of transfers, the shared deadline;
 *   docker_engine.c    /version (API negotiation), /info (the docker
 *                      measurement), /containers/json (which containers);
 *   docker_container.c /containers/{id}/json (status, health) and
 *                      /containers/{id}/stats (mem, cpu, net, blkio);
 *   docker_cache.c     the previous CPU sample of each container;
 *   docker_check.c     --config-check: the socket or TLS files, no request.
 * The JSON -> metrics functions take parsed documents and a sink, so the
 * tests drive them without HTTP. Private to the plugin. See README.md. */
#ifndef TOWER_INPUTS_DOCKER_H
#define TOWER_INPUTS_DOCKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include <tower/tower.h>

#include "../../common/curl/curl_common.h"

/* Transfers in flight at once: enough to hide the latency of a local
 * daemon, few enough that 500 containers never mean 500 sockets (Telegraf
 * starts one goroutine and connection per container: "too many open
 * files", issue #9242). Also the size of libcurl's connection cache, so
 * at most this many connections stay open between gathers. */
#define DOCKER_MAX_IN_FLIGHT 8

/* Largest response body accepted (a /containers/json of thousands of
 * containers stays far below); more is an error, not an allocation. */
#define DOCKER_BODY_MAX (64u << 20)

/* Engine API versions: the newest whose schema this plugin was checked
 * against, and the oldest it accepts without a warning (Telegraf's). */
#define DOCKER_API_MAX_MINOR 47
#define DOCKER_API_MIN_MINOR 24
/* one-shot=true (no 1 s priming sample in the daemon) exists since 1.41. */
#define DOCKER_API_ONE_SHOT_MINOR 41

/* perdevice_include / total_include classes. */
#define DOCKER_CLASS_CPU 0x1u
#define DOCKER_CLASS_BLKIO 0x2u
#define DOCKER_CLASS_NETWORK 0x4u

/* ---- what the JSON side needs to know (docker_engine.c, docker_container.c) */

typedef struct docker_filters {
  tower_globs *name_include, *name_exclude;   /* container_name_*, NULL: unset */
  tower_globs *state_include, *state_exclude; /* container_state_* */
  tower_globs *label_include, *label_exclude; /* docker_label_* */
  const char *const *tag_env;                 /* tag_env names */
  size_t ntag_env;
  unsigned perdevice, total; /* DOCKER_CLASS_* */
  bool source_tag;
} docker_filters;

/* The engine's identity, from /version and /info. */
typedef struct docker_engine {
  unsigned api_minor;      /* negotiated 1.x; 0: not yet */
  bool podman;             /* Components name "Podman Engine" */
  char version_prefix[16]; /* "/v1.41" */
  char *name;              /* /info Name: the engine_host tag (owned) */
  char *server_version;    /* /info ServerVersion (owned) */
} docker_engine;

/* One container of this gather's list. The strings are borrowed from the
 * parsed list, which lives until the gather ends. */
typedef struct docker_ctr {
  const char *id;
  const char *name;  /* without the leading '/' */
  const char *image; /* as listed: "registry:5000/app:1.2" */
  const char *state; /* list State: running, exited, ... */
  const json_t *labels;
  tower_metric *tmpl; /* the common tags, once inspect is in (owned) */
} docker_ctr;

/* Previous CPU samples, per container id (docker_cache.c). */
typedef struct docker_cpu_prev {
  char id[72]; /* "" marks a free entry */
  uint64_t total, system;
  int64_t read_ns; /* the daemon's "read" time of the sample, 0: unknown */
  int64_t seen_ns; /* monotonic time of the sample */
} docker_cpu_prev;

typedef struct docker_cpu_cache {
  docker_cpu_prev *v;
  size_t cap, n; /* cap: power of two, n <= cap / 2 */
} docker_cpu_cache;

/* ---- docker_engine.c ---------------------------------------------------- */

/* Reads a /version body: ApiVersion (Docker, and podman's Docker-compatible
 * version), else the "Engine" component's; podman is recognised by its
 * "Podman Engine" component, whose APIVersion (podman's own libpod API,
 * "4.3.1") is not the Docker one. Picks min(server, DOCKER_API_MAX_MINOR),
 * raised to the server's MinAPIVersion if that is newer. 0, or -EINVAL with
 * `err` saying why. */
int docker_parse_version(const json_t *v, docker_engine *e, char *err, size_t errlen);
/* Sets e->api_minor and the /v1.N prefix. */
void docker_set_api(docker_engine *e, unsigned minor);
/* Parses "1.41" into 41 (only 1.x exists). 0 or -EINVAL. */
int docker_parse_api(const char *text, unsigned *minor);

/* /info: remembers Name and ServerVersion (the engine tags of every
 * container metric) and emits the `docker` metric with the fields the body
 * has. 0, -EINVAL (not an object) or -ENOMEM / the sink's error. */
int docker_emit_info(const json_t *info, docker_engine *e, tower_sink_fn sink, void *sink_ctx);

/* True when the container state filter takes `state`. */
bool docker_state_wanted(const docker_filters *f, const char *state);
/* True when a non-running state (exited, created, ...) is wanted: then the
 * list asks for all containers. */
bool docker_wants_stopped(const docker_filters *f);

/* /containers/json: the containers that pass the name and state filters,
 * in list order, into *out (malloc'd, the caller frees; strings borrowed
 * from `list`). 0, -EINVAL (not an array) or -ENOMEM. */
int docker_list_parse(const json_t *list, const docker_filters *f, docker_ctr **out, size_t *n);

/* Telegraf's image split: "quay.io:4443/coreos/etcd:3.5" gives name
 * "quay.io:4443/coreos/etcd" and version "3.5"; no tag gives "unknown".
 * The name is image[0..*name_len); the version is returned (borrowed). */
const char *docker_image_split(const char *image, size_t *name_len);

/* ---- docker_container.c ------------------------------------------------- */

/* /containers/{id}/json: builds c->tmpl (engine tags, container name,
 * image, version, labels, tag_env, container_status) and emits
 * docker_container_status and, when the container has a health check,
 * docker_container_health. `now_ns` is the wall clock for uptime_ns.
 * 0, -EINVAL (not an object) or -ENOMEM / the sink's error. */
int docker_emit_inspect(const docker_filters *f, const docker_engine *e, docker_ctr *c,
                        const json_t *inspect, int64_t now_ns, tower_sink_fn sink, void *sink_ctx);

/* /containers/{id}/stats: docker_container_mem, _cpu, _net and _blkio with
 * c->tmpl's tags. usage_percent of cpu-total comes from the daemon's
 * precpu_stats when it has a sample there (Docker without one-shot), else
 * from `cache` (the previous gather's sample, if not older than ttl_ns),
 * else it is left out. On podman it is the CPU time over the elapsed time
 * between the two samples (see README.md: podman's system_cpu_usage is not
 * Docker's). The sample is stored in `cache` for the next gather.
 * `mono_ns` is the monotonic clock. 0, -EINVAL or -ENOMEM / the sink's
 * error. */
int docker_emit_stats(const docker_filters *f, const docker_engine *e, docker_ctr *c,
                      const json_t *stats, docker_cpu_cache *cache, int64_t ttl_ns, int64_t mono_ns,
                      tower_sink_fn sink, void *sink_ctx);

/* ---- docker_cache.c ------------------------------------------------------ */

/* The sample of `id` if one exists not older than ttl_ns. */
const docker_cpu_prev *docker_cache_get(const docker_cpu_cache *c, const char *id, int64_t now_ns,
                                        int64_t ttl_ns);
/* Stores (replaces) the sample of `id`. 0 or -ENOMEM (the cache is then
 * unchanged). Ids longer than the key are not cached. */
int docker_cache_put(docker_cpu_cache *c, const char *id, uint64_t total, uint64_t system,
                     int64_t read_ns, int64_t now_ns);
/* Drops samples older than ttl_ns (containers gone or filtered out). */
void docker_cache_prune(docker_cpu_cache *c, int64_t now_ns, int64_t ttl_ns);
void docker_cache_free(docker_cpu_cache *c);

/* ---- docker_http.c ------------------------------------------------------- */

typedef enum docker_req {
  DOCKER_REQ_NONE = 0,
  DOCKER_REQ_VERSION,
  DOCKER_REQ_INFO,
  DOCKER_REQ_LIST,
  DOCKER_REQ_INSPECT,
  DOCKER_REQ_STATS,
} docker_req;

/* One transfer of the pool, its easy handle and body buffer reused from
 * request to request. */
typedef struct docker_slot {
  CURL *easy;
  bool busy;
  docker_req kind;
  size_t ctr; /* container index for INSPECT / STATS */
  char path[256];
  char *body;
  size_t len, cap;
  bool too_big;
  /* the result, once done */
  CURLcode code;
  long status;
  long os_errno;
  char errbuf[CURL_ERROR_SIZE];
} docker_slot;

typedef struct docker_http {
  tower_ctx *ctx;
  http_client *client; /* the instance's TLS options (borrowed) */
  CURLM *multi;
  docker_slot slots[DOCKER_MAX_IN_FLIGHT];
  char *base;      /* "http://localhost" for unix sockets, else the server URL */
  char *unix_path; /* the socket, or NULL */
  char *display;   /* the endpoint for messages (credentials redacted) */
  bool curl_ready; /* curl_global_init succeeded */
} docker_http;

/* The endpoint and TLS settings, resolved (endpoint = "ENV" read from
 * DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH). Strings owned. */
typedef struct docker_endpoint {
  char *url; /* unix:///path, tcp://host:port, http(s)://host:port */
  char *tls_ca, *tls_cert, *tls_key;
  bool tls, skip_verify;
  char *pinned_api; /* DOCKER_API_VERSION, or NULL: negotiate */
} docker_endpoint;

/* Resolves `endpoint` (and the environment for "ENV") into *ep. 0, or
 * -EINVAL with `err` saying what is wrong. */
int docker_endpoint_resolve(const char *endpoint, const char *tls_ca, const char *tls_cert,
                            const char *tls_key, bool skip_verify, docker_endpoint *ep, char *err,
                            size_t errlen);
void docker_endpoint_free(docker_endpoint *ep);

/* ---- docker_check.c ------------------------------------------------------ */

/* For --config-check: a unix socket endpoint is a socket that may be
 * written (missing, or with no listener: a warning); over TLS, the tls_*
 * files are readable PEM of the right kind. 0 or -EINVAL (logged at the
 * option). */
int docker_check(tower_ctx *ctx, const tower_config *cfg, const docker_endpoint *ep);

/* Creates the multi handle and the pool, each transfer configured with
 * `client` (which must outlive h). 0 or a negative errno (logged). */
int docker_http_init(docker_http *h, tower_ctx *ctx, const docker_endpoint *ep,
                     http_client *client);
void docker_http_fini(docker_http *h);

/* A free slot, or NULL. */
docker_slot *docker_http_free_slot(docker_http *h);
/* Starts GET base+path on slot `s`, limited to what is left until
 * `deadline` (monotonic ns). 0 or a negative errno. */
int docker_http_start(docker_http *h, docker_slot *s, docker_req kind, size_t ctr, const char *path,
                      int64_t deadline);

/* Called for each finished transfer; the slot is free again when it is
 * called (and may be started anew from the callback). */
typedef void (*docker_done_fn)(void *ud, docker_slot *s);
/* Runs transfers until none is left, `deadline` passes or `stop(ud)` turns
 * true. Returns the number of transfers still unfinished (then aborted:
 * their slots are free, done is not called for them); their kinds and
 * containers are left in `aborted` (room for DOCKER_MAX_IN_FLIGHT). */
size_t docker_http_run(docker_http *h, int64_t deadline, docker_done_fn done, bool (*stop)(void *),
                       void *ud, docker_slot *aborted);
/* Frees body buffers grown past what a gather normally needs. */
void docker_http_trim(docker_http *h);

#endif
