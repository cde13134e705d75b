/* inputs.docker, in two parts.
 *
 * Payloads: the JSON -> metrics code (docker_engine.c, docker_container.c,
 * docker_cache.c, compiled in) is fed the documented payloads of
 * tests/plugins/docker/ (Docker 24 on cgroup v1 and v2, podman 4.3, health
 * checks starting/healthy/unhealthy, several block devices and networks,
 * an exited-with-error and a never-started container) and the metrics are
 * compared exactly, as line protocol with the u suffix: names, tags,
 * fields, their types, and the fields a payload lacks being absent.
 *
 * The plugin through the real core, against a fake engine on a unix socket
 * (tests/plugins/docker/fake_engine.c): a full gather, containers that
 * vanish between the list and their requests, a daemon that is down, one
 * that never answers, garbage, HTTP errors, API version negotiation, the
 * bound on concurrent connections and file descriptors across gathers.
 * A real podman is exercised by tests/integration/docker.sh. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <tower/tower.h>

#include "check_run.h"
#include "unprivileged.h"
#include "docker.h"
#include "docker/fake_engine.h"
#include "harness.h"
#include "log_internal.h"

/* Container ids of tests/plugins/docker/list.json (sha256 of the name). */
#define ID_WEB "4b5e57f6eb2f42b9039b3d1e13929295f231749c510cbe341cd68036d9af97e2"
#define ID_API "14c2529eb4498c5d1ffd6915d05bf58a91bdda796af59f41d480d11c099d0479"
#define ID_DB "7bdc25d1694ef984782a16f6f1710c1c6bc83ba7a131b515baf532bea021d011"
#define ID_WORKER "87eba76e7f3164534045ba922e7770fb58bbd14ad732bbf5ba6f11cc56989e6e"
#define ID_BATCH "4bb24efc9641afc5ded1ca77eabb6e2fcf062d2112ccd61bd8bd6acd89180bae"
#define ID_INIT "bb54068aea85faa7e487530083366be9962390af822e4c71ef1aca7033c83e66"
#define ID_CACHE "5e1ecee06a7fc06f305ae5c12acfe7a7f67b8ece7af76932ed3afab00c3c6921"
#define ID_T1 "628b49d96dcde97a430dd4f597705899e09a968f793491e4b704cae33a40dc02"

/* 2024-01-15T10:00:00Z, "now" for uptime_ns */
#define NOW_NS 1705312800000000000LL

/* ---- payloads and captured metrics ----------------------------------------------- */

static char *payload_path(const char *name) {
  const char *top = getenv("top_srcdir");
  return th_fmt("%s/tests/plugins/docker/%s", top ? top : ".", name);
}

static json_t *payload(const char *name) {
  char *path = payload_path(name);
  json_error_t err;
  json_t *j = json_load_file(path, 0, &err);
  if (!j && strstr(err.text, "too big"))
    j = json_load_file(path, JSON_DECODE_INT_AS_REAL, &err);
  ck_assert_msg(j, "%s: %s (line %d)", path, err.text, err.line);
  free(path);
  return j;
}

typedef struct sink {
  tower_metric **v;
  size_t n;
} sink;

static int collect(void *ud, tower_metric *m) {
  sink *s = ud;
  s->v = realloc(s->v, (s->n + 1) * sizeof *s->v);
  s->v[s->n++] = m;
  return 0;
}

static void sink_clear(sink *s) {
  for (size_t i = 0; i < s->n; i++)
    tower_metric_free(s->v[i]);
  free(s->v);
  s->v = NULL;
  s->n = 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The captured metrics as sorted line protocol (u suffix, no time). */
static char *sink_lines(const sink *s) {
  char **lines = calloc(s->n + 1, sizeof *lines);
  for (size_t i = 0; i < s->n; i++) {
    tower_buf *b = tower_buf_new(0);
    ck_assert_int_eq(tower_lp_write(s->v[i], b, TOWER_LP_UINT | TOWER_LP_NO_TIME, 1), 0);
    lines[i] = strdup(tower_buf_data(b));
    tower_buf_free(b);
  }
  qsort(lines, s->n, sizeof *lines, cmp_str);
  tower_buf *all = tower_buf_new(0);
  for (size_t i = 0; i < s->n; i++) {
    tower_buf_append_str(all, lines[i]);
    free(lines[i]);
  }
  free(lines);
  char *text = strdup(tower_buf_data(all));
  tower_buf_free(all);
  return text;
}

/* Sorts the expected lines the same way (each ends with '\n'). */
static char *sorted(const char *text) {
  size_t n = 0;
  for (const char *p = text; *p; p++)
    n += *p == '\n';
  char **lines = calloc(n + 1, sizeof *lines);
  const char *p = text;
  for (size_t i = 0; i < n; i++) {
    const char *nl = strchr(p, '\n');
    lines[i] = strndup(p, (size_t)(nl - p + 1));
    p = nl + 1;
  }
  qsort(lines, n, sizeof *lines, cmp_str);
  tower_buf *all = tower_buf_new(0);
  for (size_t i = 0; i < n; i++) {
    tower_buf_append_str(all, lines[i]);
    free(lines[i]);
  }
  free(lines);
  char *out = strdup(tower_buf_data(all));
  tower_buf_free(all);
  return out;
}

static void ck_lines(const sink *s, const char *want) {
  char *got = sink_lines(s), *w = sorted(want);
  ck_assert_msg(strcmp(got, w) == 0, "metrics differ.\nwant:\n%s\ngot:\n%s", w, got);
  free(got);
  free(w);
}

/* Same with the expected lines as a NULL-terminated array. */
static void ck_lines_v(const sink *s, const char *const *want) {
  tower_buf *b = tower_buf_new(0);
  for (size_t i = 0; want[i]; i++)
    tower_buf_append_str(b, want[i]);
  ck_lines(s, tower_buf_data(b));
  tower_buf_free(b);
}

/* ---- the filters and engine every payload test starts from -------------------- */

typedef struct rig {
  docker_filters f;
  docker_engine e;
  docker_cpu_cache cache;
  json_t *list;
  docker_ctr *ctrs;
  size_t n;
  sink out;
} rig;

static tower_globs *globs(const char *a, const char *b) {
  const char *p[2] = {a, b};
  tower_globs *g = NULL;
  ck_assert_int_eq(tower_globs_new(p, b ? 2 : 1, &g, NULL), 0);
  return g;
}

/* Telegraf's defaults: running containers, per-cpu, all totals; the engine
 * as node-7's /info describes it. */
static void rig_init(rig *r) {
  memset(r, 0, sizeof *r);
  r->f.state_include = globs("running", NULL);
  r->f.perdevice = DOCKER_CLASS_CPU;
  r->f.total = DOCKER_CLASS_CPU | DOCKER_CLASS_BLKIO | DOCKER_CLASS_NETWORK;
  r->e.name = strdup("node-7");
  r->e.server_version = strdup("24.0.7");
  docker_set_api(&r->e, 43);
}

static void rig_free(rig *r) {
  for (size_t i = 0; i < r->n; i++)
    tower_metric_free(r->ctrs[i].tmpl);
  free(r->ctrs);
  json_decref(r->list);
  tower_globs_free(r->f.name_include);
  tower_globs_free(r->f.name_exclude);
  tower_globs_free(r->f.state_include);
  tower_globs_free(r->f.state_exclude);
  tower_globs_free(r->f.label_include);
  tower_globs_free(r->f.label_exclude);
  free(r->e.name);
  free(r->e.server_version);
  docker_cache_free(&r->cache);
  sink_clear(&r->out);
}

/* Lists list.json with r->f and returns the container named `name`. */
static docker_ctr *listed(rig *r, const char *name) {
  if (!r->list) {
    r->list = payload("list.json");
    ck_assert_int_eq(docker_list_parse(r->list, &r->f, &r->ctrs, &r->n), 0);
  }
  for (size_t i = 0; i < r->n; i++)
    if (strcmp(r->ctrs[i].name, name) == 0)
      return &r->ctrs[i];
  ck_abort_msg("container %s not listed", name);
  return NULL;
}

static void inspect(rig *r, docker_ctr *c, const char *file) {
  json_t *j = payload(file);
  ck_assert_int_eq(docker_emit_inspect(&r->f, &r->e, c, j, NOW_NS, collect, &r->out), 0);
  json_decref(j);
}

static void stats(rig *r, docker_ctr *c, const char *file, int64_t mono) {
  json_t *j = payload(file);
  ck_assert_int_eq(
      docker_emit_stats(&r->f, &r->e, c, j, &r->cache, 60000000000LL, mono, collect, &r->out), 0);
  json_decref(j);
}

/* ---- /version ---------------------------------------------------------------------- */

static int version_of(const char *text, docker_engine *e) {
  json_t *j = json_loads(text, 0, NULL);
  char err[256];
  memset(e, 0, sizeof *e);
  int rc = docker_parse_version(j, e, err, sizeof err);
  json_decref(j);
  return rc;
}

START_TEST(version_docker_and_podman) {
  docker_engine e = {0};
  json_t *j = payload("version_docker.json");
  char err[256];
  ck_assert_int_eq(docker_parse_version(j, &e, err, sizeof err), 0);
  json_decref(j);
  ck_assert_uint_eq(e.api_minor, 43);
  ck_assert_str_eq(e.version_prefix, "/v1.43");
  ck_assert(!e.podman);
  /* podman: the Docker API version at the top, its own in Components */
  j = payload("version_podman.json");
  ck_assert_int_eq(docker_parse_version(j, &e, err, sizeof err), 0);
  json_decref(j);
  ck_assert_uint_eq(e.api_minor, 41);
  ck_assert(e.podman);
}
END_TEST

START_TEST(version_negotiation) {
  docker_engine e;
  /* newer daemon: our newest */
  ck_assert_int_eq(version_of("{\"ApiVersion\":\"1.52\",\"MinAPIVersion\":\"1.24\"}", &e), 0);
  ck_assert_uint_eq(e.api_minor, DOCKER_API_MAX_MINOR);
  /* a daemon that dropped our newest: its oldest */
  ck_assert_int_eq(version_of("{\"ApiVersion\":\"1.60\",\"MinAPIVersion\":\"1.50\"}", &e), 0);
  ck_assert_uint_eq(e.api_minor, 50);
  ck_assert_str_eq(e.version_prefix, "/v1.50");
  /* older daemon: its version */
  ck_assert_int_eq(version_of("{\"ApiVersion\":\"1.40\"}", &e), 0);
  ck_assert_uint_eq(e.api_minor, 40);
  /* only in the Engine component */
  ck_assert_int_eq(
      version_of("{\"Components\":[{\"Name\":\"Engine\",\"Details\":{\"ApiVersion\":\"1.39\"}}]}",
                 &e),
      0);
  ck_assert_uint_eq(e.api_minor, 39);
  /* podman's libpod version is not a Docker API version */
  ck_assert_int_eq(version_of("{\"Components\":[{\"Name\":\"Podman Engine\",\"Details\":"
                              "{\"APIVersion\":\"4.3.1\"}}]}",
                              &e),
                   -EINVAL);
  ck_assert_int_eq(version_of("{\"ApiVersion\":\"2.0\"}", &e), -EINVAL);
  ck_assert_int_eq(version_of("[]", &e), -EINVAL);
  unsigned m;
  ck_assert_int_eq(docker_parse_api("1.41", &m), 0);
  ck_assert_uint_eq(m, 41);
  ck_assert_int_eq(docker_parse_api("1.", &m), -EINVAL);
  ck_assert_int_eq(docker_parse_api("1.4x", &m), -EINVAL);
}
END_TEST

/* ---- /info ----------------------------------------------------------------------------- */

START_TEST(info_engine_totals) {
  rig r;
  rig_init(&r);
  free(r.e.name);
  free(r.e.server_version);
  r.e.name = r.e.server_version = NULL;
  json_t *j = payload("info.json");
  ck_assert_int_eq(docker_emit_info(j, &r.e, collect, &r.out), 0);
  json_decref(j);
  ck_lines(&r.out, "docker,engine_host=node-7,server_version=24.0.7 memory_total=16673808384i,"
                   "n_containers=7i,n_containers_paused=0i,n_containers_running=5i,"
                   "n_containers_stopped=2i,n_cpus=4i,n_goroutines=61i,n_images=12i,"
                   "n_listener_events=1i,n_used_file_descriptors=42i\n");
  ck_assert_str_eq(r.e.name, "node-7");
  ck_assert_str_eq(r.e.server_version, "24.0.7");
  rig_free(&r);
}
END_TEST

START_TEST(info_missing_fields_are_omitted) {
  rig r;
  rig_init(&r);
  json_t *j = json_loads("{\"Name\":\"pod\",\"ServerVersion\":\"3.0.1\",\"Containers\":2,"
                         "\"NCPU\":8,\"MemTotal\":1000}",
                         0, NULL);
  ck_assert_int_eq(docker_emit_info(j, &r.e, collect, &r.out), 0);
  json_decref(j);
  ck_lines(&r.out, "docker,engine_host=pod,server_version=3.0.1 memory_total=1000i,"
                   "n_containers=2i,n_cpus=8i\n");
  sink_clear(&r.out);
  j = json_loads("[1]", 0, NULL);
  ck_assert_int_eq(docker_emit_info(j, &r.e, collect, &r.out), -EINVAL);
  json_decref(j);
  ck_assert_uint_eq(r.out.n, 0);
  rig_free(&r);
}
END_TEST

/* ---- /containers/json ------------------------------------------------------------------- */

static char *names(const rig *r) {
  tower_buf *b = tower_buf_new(0);
  for (size_t i = 0; i < r->n; i++)
    tower_buf_printf(b, "%s%s", i ? "," : "", r->ctrs[i].name);
  char *s = strdup(tower_buf_data(b));
  tower_buf_free(b);
  return s;
}

static void ck_listed(rig *r, const char *want) {
  json_t *list = payload("list.json");
  docker_ctr *v;
  size_t n;
  ck_assert_int_eq(docker_list_parse(list, &r->f, &v, &n), 0);
  r->ctrs = v;
  r->n = n;
  char *got = names(r);
  ck_assert_str_eq(got, want);
  free(got);
  free(v);
  r->ctrs = NULL;
  r->n = 0;
  json_decref(list);
}

START_TEST(list_filters) {
  rig r;
  rig_init(&r);
  /* running only by default; "cache" is named by its second name, the
   * first (/web/cache-link) being a link */
  ck_listed(&r, "web,api,db,worker,cache");
  ck_assert(!docker_wants_stopped(&r.f));
  tower_globs_free(r.f.state_include);
  r.f.state_include = globs("*", NULL);
  ck_listed(&r, "web,api,db,worker,batch,init,cache");
  ck_assert(docker_wants_stopped(&r.f));
  r.f.state_exclude = globs("running", NULL);
  ck_listed(&r, "batch,init");
  tower_globs_free(r.f.state_include);
  tower_globs_free(r.f.state_exclude);
  r.f.state_include = NULL;
  r.f.state_exclude = globs("exited", "created");
  ck_listed(&r, "web,api,db,worker,cache");
  r.f.name_include = globs("w*", "db");
  ck_listed(&r, "web,db,worker");
  r.f.name_exclude = globs("wor?er", NULL);
  ck_listed(&r, "web,db");
  json_t *j = json_loads("{}", 0, NULL);
  docker_ctr *v;
  size_t n;
  ck_assert_int_eq(docker_list_parse(j, &r.f, &v, &n), -EINVAL);
  json_decref(j);
  rig_free(&r);
}
END_TEST

START_TEST(image_split_like_telegraf) {
  static const char *const cases[][3] = {
      {"postgres", "postgres", "unknown"},
      {"postgres:latest", "postgres", "latest"},
      {"coreos/etcd", "coreos/etcd", "unknown"},
      {"coreos/etcd:latest", "coreos/etcd", "latest"},
      {"quay.io/postgres", "quay.io/postgres", "unknown"},
      {"quay.io:4443/coreos/etcd", "quay.io:4443/coreos/etcd", "unknown"},
      {"quay.io:4443/coreos/etcd:latest", "quay.io:4443/coreos/etcd", "latest"},
      {"localhost/busybox:test", "localhost/busybox", "test"},
      {"localhost:5000/app", "localhost:5000/app", "unknown"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t len;
    const char *version = docker_image_split(cases[i][0], &len);
    ck_assert_msg(strlen(cases[i][1]) == len && strncmp(cases[i][0], cases[i][1], len) == 0,
                  "%s: name %.*s", cases[i][0], (int)len, cases[i][0]);
    ck_assert_str_eq(version, cases[i][2]);
  }
}
END_TEST

/* ---- /containers/{id}/json ---------------------------------------------------------------- */

#define WEB_TAGS                                                                                   \
  "com.docker.compose.project=shop,com.example.team=shop,com.example.tier=frontend,"               \
  "container_image=registry.example.com:5000/shop/web,container_name=web,"                         \
  "container_status=running,container_version=1.4.2,engine_host=node-7,server_version=24.0.7"

START_TEST(inspect_running) {
  rig r;
  rig_init(&r);
  inspect(&r, listed(&r, "web"), "inspect_web.json");
  ck_lines(&r.out, "docker_container_status," WEB_TAGS " container_id=\"" ID_WEB "\",exitcode=0i,"
                   "oomkilled=false,pid=4242i,restart_count=0i,started_at=1705305600500000000i,"
                   "uptime_ns=7199500000000i\n");
  rig_free(&r);
}
END_TEST

START_TEST(inspect_exited_with_error_and_created) {
  rig r;
  rig_init(&r);
  tower_globs_free(r.f.state_include);
  r.f.state_include = globs("*", NULL);
  inspect(&r, listed(&r, "batch"), "inspect_batch.json");
  inspect(&r, listed(&r, "init"), "inspect_init.json");
  /* the digest reference splits like Telegraf's (last ':'); the created
   * container has no start or finish, so no times and no uptime */
  ck_lines(&r.out,
           "docker_container_status,com.example.team=data,container_image=quay.io/acme/"
           "batch@sha256,container_name=batch,container_status=exited,container_version="
           "4f0fa3f3b3d2,engine_host=node-7,server_version=24.0.7 container_id=\"" ID_BATCH "\","
           "exitcode=1i,finished_at=1705312200250000000i,oomkilled=true,pid=0i,restart_count=0i,"
           "started_at=1705311600000000000i,uptime_ns=600250000000i\n"
           "docker_container_status,container_image=busybox,container_name=init,"
           "container_status=created,container_version=1.36,engine_host=node-7,"
           "server_version=24.0.7 container_id=\"" ID_INIT "\",exitcode=0i,oomkilled=false,"
           "pid=0i,restart_count=0i\n");
  rig_free(&r);
}
END_TEST

START_TEST(inspect_health_checks) {
  rig r;
  rig_init(&r);
  inspect(&r, listed(&r, "api"), "inspect_api.json");
  inspect(&r, listed(&r, "db"), "inspect_db.json");
  inspect(&r, listed(&r, "worker"), "inspect_worker.json");
  inspect(&r, listed(&r, "cache"), "inspect_cache.json");
  /* api restarted: its finish (the previous run) is before its start, so
   * the uptime runs to now; the empty label "empty" is no tag */
  ck_lines(&r.out,
           "docker_container_status,com.example.team=core,container_image=api,container_name=api,"
           "container_status=running,container_version=unknown,engine_host=node-7,"
           "server_version=24.0.7 container_id=\"" ID_API "\",exitcode=0i,"
           "finished_at=1705053598250000000i,oomkilled=false,pid=5150i,restart_count=2i,"
           "started_at=1705053600000000000i,uptime_ns=259200000000000i\n"
           "docker_container_health,com.example.team=core,container_image=api,container_name=api,"
           "container_status=running,container_version=unknown,engine_host=node-7,"
           "server_version=24.0.7 failing_streak=0i,health_status=\"healthy\"\n"
           "docker_container_status,com.example.team=core,container_image=postgres,"
           "container_name=db,container_status=running,container_version=16,"
           "engine_host=node-7,server_version=24.0.7 container_id=\"" ID_DB "\",exitcode=0i,"
           "oomkilled=false,pid=6001i,restart_count=0i,started_at=1705053600000000000i,"
           "uptime_ns=259200000000000i\n"
           "docker_container_health,com.example.team=core,container_image=postgres,"
           "container_name=db,container_status=running,container_version=16,"
           "engine_host=node-7,server_version=24.0.7 failing_streak=3i,"
           "health_status=\"unhealthy\"\n"
           "docker_container_status,container_image=localhost/worker,container_name=worker,"
           "container_status=running,container_version=dev,engine_host=node-7,"
           "server_version=24.0.7 container_id=\"" ID_WORKER "\",exitcode=0i,oomkilled=false,"
           "pid=7007i,restart_count=0i,started_at=1705312795000000000i,uptime_ns=5000000000i\n"
           "docker_container_health,container_image=localhost/worker,container_name=worker,"
           "container_status=running,container_version=dev,engine_host=node-7,"
           "server_version=24.0.7 failing_streak=0i,health_status=\"starting\"\n"
           "docker_container_status,container_image=redis,container_name=cache,"
           "container_status=running,container_version=7,engine_host=node-7,"
           "server_version=24.0.7 container_id=\"" ID_CACHE "\",exitcode=0i,oomkilled=false,"
           "pid=8080i,restart_count=0i,started_at=1705309200000000000i,"
           "uptime_ns=3600000000000i\n");
  rig_free(&r);
}
END_TEST

/* podman sends Health with an empty Status for containers without a health
 * check: no docker_container_health then. */
START_TEST(inspect_podman_no_health) {
  rig r;
  rig_init(&r);
  json_t *j = payload("inspect_podman.json");
  docker_ctr c = {.id = ID_T1, .name = "t1", .image = "localhost/busybox:test", .state = "running"};
  ck_assert_int_eq(docker_emit_inspect(&r.f, &r.e, &c, j, NOW_NS, collect, &r.out), 0);
  json_decref(j);
  ck_assert_uint_eq(r.out.n, 1);
  ck_assert_str_eq(tower_metric_name(r.out.v[0]), "docker_container_status");
  tower_metric_free(c.tmpl);
  rig_free(&r);
}
END_TEST

START_TEST(inspect_label_filters_tag_env_source) {
  rig r;
  rig_init(&r);
  r.f.label_include = globs("com.example.*", NULL);
  r.f.label_exclude = globs("com.example.tier", NULL);
  static const char *const env[] = {"JAVA_HOME", "HEAP_SIZE", "NOPE"};
  r.f.tag_env = env;
  r.f.ntag_env = 3;
  r.f.source_tag = true;
  inspect(&r, listed(&r, "web"), "inspect_web.json");
  /* HEAP_SIZE is empty in web's environment: no tag */
  ck_lines(&r.out, "docker_container_status,JAVA_HOME=/usr/lib/jvm/java-17,"
                   "com.example.team=shop,container_image=registry.example.com:5000/shop/web,"
                   "container_name=web,container_status=running,container_version=1.4.2,"
                   "engine_host=node-7,server_version=24.0.7,source=4b5e57f6eb2f "
                   "container_id=\"" ID_WEB "\",exitcode=0i,oomkilled=false,pid=4242i,"
                   "restart_count=0i,started_at=1705305600500000000i,uptime_ns=7199500000000i\n");
  rig_free(&r);
}
END_TEST

/* ---- /containers/{id}/stats --------------------------------------------------------------------
 */

#define WEB_MEM_FIELDS                                                                             \
  "active_anon=52428800u,active_file=10485760u,cache=20971520u,container_id=\"" ID_WEB "\","       \
  "fail_count=3u,hierarchical_memory_limit=9223372036854771712u,inactive_anon=0u,"                 \
  "inactive_file=8388608u,limit=536870912u,mapped_file=4194304u,max_usage=209715200u,"             \
  "pgfault=120000u,pgmajfault=12u,pgpgin=60000u,pgpgout=35000u,rss=73400320u,rss_huge=0u,"         \
  "total_active_anon=52428800u,total_active_file=10485760u,total_cache=20971520u,"                 \
  "total_inactive_anon=0u,total_inactive_file=8388608u,total_mapped_file=4194304u,"                \
  "total_pgfault=120000u,total_pgmajfault=12u,total_pgpgin=60000u,total_pgpgout=35000u,"           \
  "total_rss=73400320u,total_rss_huge=0u,total_unevictable=0u,total_writeback=0u,"                 \
  "unevictable=0u,usage=83886080u,usage_percent=15.625,writeback=0u"

#define WEB_TAGS_CPU(cpu)                                                                          \
  "com.docker.compose.project=shop,com.example.team=shop,com.example.tier=frontend,"               \
  "container_image=registry.example.com:5000/shop/web,container_name=web,"                         \
  "container_status=running,container_version=1.4.2,cpu=" cpu ",engine_host=node-7,"               \
  "server_version=24.0.7"

#define WEB_TAGS_NET(net)                                                                          \
  "com.docker.compose.project=shop,com.example.team=shop,com.example.tier=frontend,"               \
  "container_image=registry.example.com:5000/shop/web,container_name=web,"                         \
  "container_status=running,container_version=1.4.2,engine_host=node-7,network=" net ","           \
  "server_version=24.0.7"

#define WEB_TAGS_DEV(dev)                                                                          \
  "com.docker.compose.project=shop,com.example.team=shop,com.example.tier=frontend,"               \
  "container_image=registry.example.com:5000/shop/web,container_name=web,"                         \
  "container_status=running,container_version=1.4.2,device=" dev ",engine_host=node-7,"            \
  "server_version=24.0.7"

/* A docker_container_cpu line of web with tag cpu and `fields` after
 * container_id. */
#define WEB_CPU(cpu, fields)                                                                       \
  "docker_container_cpu," WEB_TAGS_CPU(cpu) " container_id=\"" ID_WEB "\"," fields "\n"

/* Docker on cgroup v1, with the daemon's precpu_stats (no one-shot):
 * usage without the page cache ("cache"), usage_percent from precpu, the
 * per-cpu series, totals summed over two networks and two devices. */
START_TEST(stats_cgroup_v1_defaults) {
  static const char *const want[] = {
      "docker_container_mem," WEB_TAGS " " WEB_MEM_FIELDS "\n",
      WEB_CPU("cpu-total", "throttling_periods=7u,throttling_throttled_periods=2u,"
                           "throttling_throttled_time=150000u,usage_in_kernelmode=30000000u,"
                           "usage_in_usermode=50000000u,usage_percent=4,"
                           "usage_system=739310590000000u,usage_total=100215355u"),
      WEB_CPU("cpu0", "usage_total=8646879u"),
      WEB_CPU("cpu1", "usage_total=24472255u"),
      WEB_CPU("cpu2", "usage_total=36438778u"),
      WEB_CPU("cpu3", "usage_total=30657443u"),
      "docker_container_net," WEB_TAGS_NET(
          "total") " container_id=\"" ID_WEB "\",rx_bytes=9979u,rx_dropped=1u,rx_errors=2u,"
                   "rx_packets=62u,tx_bytes=1338u,tx_dropped=3u,tx_errors=4u,tx_packets=17u\n",
      "docker_container_blkio," WEB_TAGS_DEV(
          "total") " container_id=\"" ID_WEB "\",io_service_bytes_recursive_async=2101248u,"
                   "io_service_bytes_recursive_discard=0u,io_service_bytes_recursive_read=3145728u,"
                   "io_service_bytes_recursive_sync=1056768u,"
                   "io_service_bytes_recursive_total=3158016u,"
                   "io_service_bytes_recursive_write=12288u,io_serviced_recursive_async=129u,"
                   "io_serviced_recursive_discard=0u,io_serviced_recursive_read=192u,"
                   "io_serviced_recursive_sync=66u,io_serviced_recursive_total=195u,"
                   "io_serviced_recursive_write=3u\n",
      NULL,
  };
  rig r;
  rig_init(&r);
  docker_ctr *c = listed(&r, "web");
  inspect(&r, c, "inspect_web.json");
  sink_clear(&r.out);
  stats(&r, c, "stats_cgroup1.json", 1000);
  ck_lines_v(&r.out, want);
  rig_free(&r);
}
END_TEST

/* Count of metrics named `name` with tag `key` = `value`. */
static size_t count(const sink *s, const char *name, const char *key, const char *value) {
  size_t n = 0;
  for (size_t i = 0; i < s->n; i++) {
    const char *t = key ? tower_metric_tag(s->v[i], key) : "";
    n += strcmp(tower_metric_name(s->v[i]), name) == 0 && t && (!value || strcmp(t, value) == 0);
  }
  return n;
}

static const tower_metric *find(const sink *s, const char *name, const char *key,
                                const char *value) {
  for (size_t i = 0; i < s->n; i++) {
    const char *t = tower_metric_tag(s->v[i], key);
    if (strcmp(tower_metric_name(s->v[i]), name) == 0 && t && strcmp(t, value) == 0)
      return s->v[i];
  }
  ck_abort_msg("no %s with %s=%s", name, key, value);
  return NULL;
}

static uint64_t ufield(const tower_metric *m, const char *key) {
  ptrdiff_t i = tower_metric_field_index(m, key);
  ck_assert_msg(i >= 0, "%s: no field %s", tower_metric_name(m), key);
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_UINT);
  return tower_metric_field_uint(m, (size_t)i);
}

/* perdevice_include = blkio, network (no cpu), total_include = [] */
START_TEST(stats_perdevice_only) {
  rig r;
  rig_init(&r);
  r.f.perdevice = DOCKER_CLASS_BLKIO | DOCKER_CLASS_NETWORK;
  r.f.total = 0;
  docker_ctr *c = listed(&r, "web");
  inspect(&r, c, "inspect_web.json");
  sink_clear(&r.out);
  stats(&r, c, "stats_cgroup1.json", 1000);
  ck_assert_uint_eq(count(&r.out, "docker_container_mem", NULL, NULL), 1);
  ck_assert_uint_eq(count(&r.out, "docker_container_cpu", NULL, NULL), 0);
  ck_assert_uint_eq(count(&r.out, "docker_container_net", "network", NULL), 2);
  ck_assert_uint_eq(count(&r.out, "docker_container_net", "network", "total"), 0);
  ck_assert_uint_eq(count(&r.out, "docker_container_blkio", "device", NULL), 2);
  const tower_metric *eth5 = find(&r.out, "docker_container_net", "network", "eth5");
  ck_assert_uint_eq(ufield(eth5, "rx_bytes"), 4641);
  ck_assert_uint_eq(ufield(eth5, "tx_errors"), 4);
  const tower_metric *sdb = find(&r.out, "docker_container_blkio", "device", "8:16");
  ck_assert_uint_eq(ufield(sdb, "io_service_bytes_recursive_read"), 2097152);
  ck_assert_uint_eq(ufield(sdb, "io_serviced_recursive_total"), 130);
  ck_assert_uint_eq(tower_metric_field_count(sdb), 13); /* 12 counters + container_id */
  rig_free(&r);
}
END_TEST

#define API_TAGS(extra)                                                                            \
  "com.example.team=core,container_image=api,container_name=api,container_status=running,"         \
  "container_version=unknown," extra "engine_host=node-7,server_version=24.0.7"

/* Docker on cgroup v2 with one-shot stats: usage without inactive_file, no
 * max_usage, no per-cpu series, no usage_percent until the second gather
 * (the plugin's own previous sample), lower-case blkio ops, a pids limit
 * beyond int64 in the body. */
START_TEST(stats_cgroup_v2_two_gathers) {
  rig r;
  rig_init(&r);
  docker_ctr *c = listed(&r, "api");
  inspect(&r, c, "inspect_api.json");
  sink_clear(&r.out);
  stats(&r, c, "stats_cgroup2.json", 1000);
  ck_lines(
      &r.out,
      "docker_container_mem," API_TAGS(
          "") " active_anon=4096u,active_file=6291456u,"
              "container_id=\"" ID_API "\",inactive_anon=31453184u,inactive_file=10485760u,"
              "limit=16673808384u,pgfault=25000u,pgmajfault=4u,unevictable=0u,usage=41943040u,"
              "usage_percent=0.2515504498675184\n"
              "docker_container_cpu," API_TAGS(
                  "cpu=cpu-total,") " container_id=\"" ID_API "\","
                                    "throttling_periods=10u,throttling_throttled_periods=1u,"
                                    "throttling_throttled_time=5000000u,usage_in_kernelmode="
                                    "500000000u,"
                                    "usage_in_usermode=2000000000u,usage_system=1000000000000u,"
                                    "usage_total=2500000000u\n"
                                    "docker_container_net,com.example.team=core,container_image="
                                    "api,container_name=api,"
                                    "container_status=running,container_version=unknown,engine_"
                                    "host=node-7,"
                                    "network=total,server_version=24.0.7 container_id=\"" ID_API
                                    "\","
                                    "rx_bytes=1000u,rx_dropped=0u,rx_errors=0u,rx_packets=10u,tx_"
                                    "bytes=2000u,"
                                    "tx_dropped=0u,tx_errors=0u,tx_packets=20u\n"
                                    "docker_container_blkio," API_TAGS(
                                        "device=total,") " container_id=\"" ID_API "\","
                                                         "io_service_bytes_recursive_read=7340032u,"
                                                         "io_service_bytes_recursive_write="
                                                         "1310720u\n");
  sink_clear(&r.out);
  stats(&r, c, "stats_cgroup2_next.json", 1000 + 10000000000LL);
  const tower_metric *cpu = find(&r.out, "docker_container_cpu", "cpu", "cpu-total");
  ptrdiff_t i = tower_metric_field_index(cpu, "usage_percent");
  ck_assert(i >= 0);
  ck_assert_double_eq(tower_metric_field_float(cpu, (size_t)i), 4.0);
  /* a sample older than podman_cache_ttl is not used */
  sink_clear(&r.out);
  stats(&r, c, "stats_cgroup2.json", 1000 + 80000000000LL);
  cpu = find(&r.out, "docker_container_cpu", "cpu", "cpu-total");
  ck_assert_int_lt(tower_metric_field_index(cpu, "usage_percent"), 0);
  rig_free(&r);
}
END_TEST

/* podman: precpu_stats is all zeros and ignored (Telegraf's podman cache);
 * memory_stats has only usage and limit. */
START_TEST(stats_podman) {
  rig r;
  rig_init(&r);
  r.e.podman = true;
  json_t *ins = payload("inspect_podman.json");
  docker_ctr c = {.id = ID_T1, .name = "t1", .image = "localhost/busybox:test"};
  ck_assert_int_eq(docker_emit_inspect(&r.f, &r.e, &c, ins, NOW_NS, collect, &r.out), 0);
  json_decref(ins);
  sink_clear(&r.out);
  stats(&r, &c, "stats_podman.json", 5);
  const char *tags = "container_image=localhost/busybox,container_name=t1,container_status=running,"
                     "container_version=test,";
  char *want = th_fmt(
      "docker_container_mem,%sengine_host=node-7,server_version=24.0.7 container_id=\"" ID_T1
      "\",limit=25276518400u,usage=356352u,usage_percent=0.0014098144149472737\n"
      "docker_container_cpu,%scpu=cpu-total,engine_host=node-7,server_version=24.0.7 "
      "container_id=\"" ID_T1 "\",throttling_periods=0u,throttling_throttled_periods=0u,"
      "throttling_throttled_time=0u,usage_in_kernelmode=16000000u,usage_in_usermode=6903363u,"
      "usage_system=7692837333844u,usage_total=22903363u\n"
      "docker_container_cpu,%scpu=cpu0,engine_host=node-7,server_version=24.0.7 "
      "container_id=\"" ID_T1 "\",usage_total=3372972u\n"
      "docker_container_cpu,%scpu=cpu1,engine_host=node-7,server_version=24.0.7 "
      "container_id=\"" ID_T1 "\",usage_total=19530391u\n"
      "docker_container_net,%sengine_host=node-7,network=total,server_version=24.0.7 "
      "container_id=\"" ID_T1 "\",rx_bytes=0u,rx_dropped=0u,rx_errors=0u,rx_packets=0u,"
      "tx_bytes=0u,tx_dropped=0u,tx_errors=0u,tx_packets=0u\n",
      tags, tags, tags, tags, tags);
  /* label app=web comes from the list, not inspect: none here */
  ck_lines(&r.out, want);
  free(want);
  /* one second later (by the daemon's read times), 500 ms of CPU: 50 %,
   * although podman's system_cpu_usage grew by only 600 ms (Telegraf's
   * formula would say 500 / 600 * 2 CPUs = 167 %) */
  sink_clear(&r.out);
  stats(&r, &c, "stats_podman_next.json", 5 + 1200000000LL);
  const tower_metric *cpu = find(&r.out, "docker_container_cpu", "cpu", "cpu-total");
  ptrdiff_t i = tower_metric_field_index(cpu, "usage_percent");
  ck_assert(i >= 0);
  ck_assert_double_eq_tol(tower_metric_field_float(cpu, (size_t)i), 50.0, 1e-9);
  tower_metric_free(c.tmpl);
  rig_free(&r);
}
END_TEST

START_TEST(stats_stopped_and_percpu_online) {
  rig r;
  rig_init(&r);
  docker_ctr *c = listed(&r, "web");
  inspect(&r, c, "inspect_web.json");
  sink_clear(&r.out);
  /* Go's zero "read": no sample, nothing reported */
  stats(&r, c, "stats_stopped.json", 1);
  ck_assert_uint_eq(r.out.n, 0);
  /* per-cpu series only for the online CPUs */
  json_t *j = json_loads("{\"read\":\"2024-01-15T10:00:00Z\",\"cpu_stats\":{\"cpu_usage\":"
                         "{\"total_usage\":10,\"percpu_usage\":[4,6,0,0]},\"online_cpus\":2}}",
                         0, NULL);
  ck_assert_int_eq(docker_emit_stats(&r.f, &r.e, c, j, &r.cache, 60000000000LL, 2, collect, &r.out),
                   0);
  json_decref(j);
  ck_assert_uint_eq(count(&r.out, "docker_container_cpu", "cpu", NULL), 3);
  ck_assert_uint_eq(count(&r.out, "docker_container_cpu", "cpu", "cpu2"), 0);
  ck_assert_uint_eq(count(&r.out, "docker_container_mem", NULL, NULL), 0);
  ck_assert_uint_eq(count(&r.out, "docker_container_net", NULL, NULL), 0);
  ck_assert_uint_eq(count(&r.out, "docker_container_blkio", NULL, NULL), 0);
  /* a body with a number beyond int64 is parsed with every number a real:
   * the counters are still read */
  sink_clear(&r.out);
  j = json_loads("{\"read\":\"2024-01-15T10:00:00Z\",\"pids_stats\":{\"limit\":"
                 "18446744073709551615},\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":10,"
                 "\"percpu_usage\":[4,6]},\"system_cpu_usage\":1000}}",
                 JSON_DECODE_INT_AS_REAL, NULL);
  ck_assert_ptr_nonnull(j);
  ck_assert_int_eq(docker_emit_stats(&r.f, &r.e, c, j, &r.cache, 60000000000LL, 3, collect, &r.out),
                   0);
  json_decref(j);
  ck_assert_uint_eq(ufield(find(&r.out, "docker_container_cpu", "cpu", "cpu1"), "usage_total"), 6);
  ck_assert_uint_eq(
      ufield(find(&r.out, "docker_container_cpu", "cpu", "cpu-total"), "usage_system"), 1000);
  rig_free(&r);
}
END_TEST

/* ---- the CPU sample cache
 * ------------------------------------------------------------------------ */

START_TEST(cache_grows_and_prunes) {
  docker_cpu_cache c = {0};
  char id[72];
  for (int i = 0; i < 1000; i++) {
    snprintf(id, sizeof id, "%064x", i);
    ck_assert_int_eq(
        docker_cache_put(&c, id, (uint64_t)i, (uint64_t)i * 10, 0, i < 500 ? 100 : 200), 0);
  }
  ck_assert_uint_eq(c.n, 1000);
  for (int i = 0; i < 1000; i++) {
    snprintf(id, sizeof id, "%064x", i);
    const docker_cpu_prev *p = docker_cache_get(&c, id, 200, 1000);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->system, (uint64_t)i * 10);
  }
  ck_assert_ptr_null(docker_cache_get(&c, "nope", 200, 1000));
  /* the first 500 are 150 old at 250: gone with a ttl of 100 */
  docker_cache_prune(&c, 250, 100);
  ck_assert_uint_eq(c.n, 500);
  snprintf(id, sizeof id, "%064x", 10);
  ck_assert_ptr_null(docker_cache_get(&c, id, 250, 1000));
  snprintf(id, sizeof id, "%064x", 700);
  ck_assert_ptr_nonnull(docker_cache_get(&c, id, 250, 1000));
  docker_cache_prune(&c, 10000, 100);
  ck_assert_uint_eq(c.n, 0);
  ck_assert_uint_le(c.cap, 64);
  docker_cache_free(&c);
}
END_TEST

/* ---- endpoints -------------------------------------------------------------------------- */

static int resolve(const char *endpoint, bool skip, docker_endpoint *ep, char *err, size_t n) {
  return docker_endpoint_resolve(endpoint, NULL, NULL, NULL, skip, ep, err, n);
}

START_TEST(endpoint_forms) {
  docker_endpoint ep;
  char err[512];
  ck_assert_int_eq(resolve("unix:///var/run/docker.sock", false, &ep, err, sizeof err), 0);
  ck_assert(!ep.tls);
  docker_endpoint_free(&ep);
  ck_assert_int_eq(resolve("tcp://10.0.0.5:2375", false, &ep, err, sizeof err), 0);
  ck_assert(!ep.tls);
  docker_endpoint_free(&ep);
  /* any TLS option makes tcp:// HTTPS, as in Telegraf */
  ck_assert_int_eq(resolve("tcp://10.0.0.5:2376", true, &ep, err, sizeof err), 0);
  ck_assert(ep.tls && ep.skip_verify);
  docker_endpoint_free(&ep);
  ck_assert_int_eq(
      docker_endpoint_resolve("tcp://h:2376", "/ca.pem", NULL, NULL, false, &ep, err, sizeof err),
      0);
  ck_assert(ep.tls && !ep.skip_verify);
  ck_assert_str_eq(ep.tls_ca, "/ca.pem");
  docker_endpoint_free(&ep);
  ck_assert_int_eq(resolve("https://h:2376", false, &ep, err, sizeof err), 0);
  ck_assert(ep.tls);
  docker_endpoint_free(&ep);
  static const char *const bad[] = {"npipe:////./pipe/docker_engine",
                                    "ssh://me@host",
                                    "unix://",
                                    "tcp://",
                                    "/var/run/docker.sock",
                                    ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_int_eq(resolve(bad[i], false, &ep, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, "is not a Docker endpoint"), "%s: %s", bad[i], err);
    docker_endpoint_free(&ep);
  }
}
END_TEST

/* endpoint = "ENV": the Docker CLI's variables. */
START_TEST(endpoint_from_env) {
  docker_endpoint ep;
  char err[512];
  unsetenv("DOCKER_HOST");
  unsetenv("DOCKER_CERT_PATH");
  unsetenv("DOCKER_TLS_VERIFY");
  unsetenv("DOCKER_API_VERSION");
  ck_assert_int_eq(resolve("ENV", false, &ep, err, sizeof err), 0);
  ck_assert_str_eq(ep.url, "unix:///var/run/docker.sock");
  ck_assert(!ep.tls && !ep.pinned_api);
  docker_endpoint_free(&ep);
  setenv("DOCKER_HOST", "tcp://docker.example:2376", 1);
  setenv("DOCKER_CERT_PATH", "/home/ci/.docker", 1);
  setenv("DOCKER_API_VERSION", "1.41", 1);
  ck_assert_int_eq(resolve("ENV", false, &ep, err, sizeof err), 0);
  ck_assert_str_eq(ep.url, "tcp://docker.example:2376");
  ck_assert(ep.tls && ep.skip_verify); /* no DOCKER_TLS_VERIFY */
  ck_assert_str_eq(ep.tls_ca, "/home/ci/.docker/ca.pem");
  ck_assert_str_eq(ep.tls_cert, "/home/ci/.docker/cert.pem");
  ck_assert_str_eq(ep.tls_key, "/home/ci/.docker/key.pem");
  ck_assert_str_eq(ep.pinned_api, "1.41");
  docker_endpoint_free(&ep);
  setenv("DOCKER_TLS_VERIFY", "1", 1);
  setenv("DOCKER_HOST", "ssh://me@host", 1);
  ck_assert_int_eq(resolve("ENV", false, &ep, err, sizeof err), -EINVAL);
  docker_endpoint_free(&ep);
  unsetenv("DOCKER_HOST");
  ck_assert_int_eq(resolve("ENV", false, &ep, err, sizeof err), 0);
  ck_assert(ep.tls && !ep.skip_verify);
  docker_endpoint_free(&ep);
  unsetenv("DOCKER_CERT_PATH");
  unsetenv("DOCKER_TLS_VERIFY");
  unsetenv("DOCKER_API_VERSION");
}
END_TEST

/* ---- the plugin against a fake engine
 * ----------------------------------------------------------------- */

static char *dir;

static void setup(void) {
  dir = th_tmpdir();
  char *log = th_fmt("%s/tower.log", dir);
  ck_assert_int_eq(twi_log_set_file(log), 0);
  free(log);
}

static void teardown(void) {
  twi_log_set_file(NULL);
  th_rmrf(dir);
  free(dir);
}

static char *sock_path(void) {
  return th_fmt("%s/docker.sock", dir);
}

static void route_file(fake_engine *fe, const char *path, int status, const char *file) {
  char *p = payload_path(file);
  fe_route_file(fe, path, status, p);
  free(p);
}

/* The engine of list.json: Docker 24 (API 1.43), every container routed;
 * stats for the running ones (web on cgroup v1, the others v2). */
static fake_engine *docker24(void) {
  char *sock = sock_path();
  fake_engine *fe = fe_start(sock);
  free(sock);
  ck_assert_ptr_nonnull(fe);
  route_file(fe, "/version", 200, "version_docker.json");
  route_file(fe, "/v1.43/info", 200, "info.json");
  route_file(fe, "/v1.43/containers/json", 200, "list.json");
  static const char *const names[] = {"web", "api", "db", "worker", "batch", "init", "cache"};
  static const char *const ids[] = {ID_WEB, ID_API, ID_DB, ID_WORKER, ID_BATCH, ID_INIT, ID_CACHE};
  for (size_t i = 0; i < 7; i++) {
    char *path = th_fmt("/v1.43/containers/%s/json", ids[i]);
    char *file = th_fmt("inspect_%s.json", names[i]);
    route_file(fe, path, 200, file);
    free(path);
    free(file);
    path = th_fmt("/v1.43/containers/%s/stats", ids[i]);
    route_file(fe, path, 200, i == 0 ? "stats_cgroup1.json" : "stats_cgroup2.json");
    free(path);
  }
  return fe;
}

static twi_pipeline *start(const char *opts) {
  char *sock = sock_path();
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"docker\"; endpoint = \"unix://%s\"; %s } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                   sock, opts, dir);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  free(c);
  free(sock);
  return pl;
}

/* One gather, as the input thread makes it, flushed to out.lp. Returns the
 * errors it reported. */
static int gather(twi_pipeline *pl) {
  tower_ctx *in = pl->inputs[0];
  tower_acc *acc = twi_acc_new_input(in, pl, false);
  ck_assert_ptr_nonnull(acc);
  twi_acc_begin(acc, tower_now());
  in->plugin->desc.gather(in->state, acc);
  tower_acc_commit(acc);
  int errors = (int)twi_acc_errors(acc);
  twi_acc_free(acc);
  th_flush(pl);
  return errors;
}

static char *read_dir_file(const char *name) {
  char *path = th_fmt("%s/%s", dir, name);
  char *text = th_read_file(path);
  free(path);
  return text ? text : strdup("");
}

static void truncate_out(void) {
  char *path = th_fmt("%s/out.lp", dir);
  th_write_file(path, "");
  free(path);
}

static size_t count_lines(const char *text, const char *prefix) {
  size_t n = 0;
  for (const char *p = text; p && *p;) {
    n += strncmp(p, prefix, strlen(prefix)) == 0;
    p = strchr(p, '\n');
    p = p ? p + 1 : NULL;
  }
  return n;
}

static void ck_out_count(const char *prefix, size_t want) {
  char *out = read_dir_file("out.lp");
  size_t n = count_lines(out, prefix);
  ck_assert_msg(n == want, "%zu lines start with \"%s\", want %zu:\n%s", n, prefix, want, out);
  free(out);
}

static void ck_log_has(const char *want) {
  char *log = read_dir_file("tower.log");
  ck_assert_msg(strstr(log, want), "log lacks \"%s\":\n%s", want, log);
  free(log);
}

static size_t log_errors(void) {
  char *log = read_dir_file("tower.log");
  size_t n = 0;
  for (const char *p = log; (p = strstr(p, " E! ")); p++)
    n++;
  free(log);
  return n;
}

START_TEST(fake_full_gather) {
  fake_engine *fe = docker24();
  twi_pipeline *pl = start("");
  ck_assert_int_eq(gather(pl), 0);
  ck_out_count("docker,", 1);
  ck_out_count("docker_container_status,", 5); /* running only */
  ck_out_count("docker_container_health,", 3);
  ck_out_count("docker_container_mem,", 5);
  ck_out_count("docker_container_cpu,", 5 + 4); /* cpu-total each, web's 4 CPUs */
  ck_out_count("docker_container_net,", 5);
  ck_out_count("docker_container_blkio,", 5);
  char *log = fe_log(fe);
  ck_assert_msg(strstr(log, "/v1.43/containers/" ID_WEB "/stats?stream=false&one-shot=true"), "%s",
                log);
  ck_assert_msg(!strstr(log, ID_BATCH) && !strstr(log, ID_INIT), "%s", log);
  ck_assert_msg(strstr(log, "/v1.43/containers/json\n"), "no all=1 by default: %s", log);
  free(log);
  /* the second gather does not ask /version again */
  truncate_out();
  ck_assert_int_eq(gather(pl), 0);
  ck_out_count("docker_container_status,", 5);
  log = fe_log(fe);
  ck_assert_uint_eq(count_lines(log, "/version"), 1);
  free(log);
  th_free(pl);
  fe_stop(fe);
}
END_TEST

START_TEST(fake_stopped_containers_wanted) {
  fake_engine *fe = docker24();
  twi_pipeline *pl = start("container_state_include = [\"running\", \"exited\", \"created\"];");
  ck_assert_int_eq(gather(pl), 0);
  ck_out_count("docker_container_status,", 7);
  ck_out_count("docker_container_mem,", 5); /* no stats asked for stopped ones */
  char *out = read_dir_file("out.lp");
  ck_assert_msg(strstr(out, "container_name=batch,container_status=exited"), "%s", out);
  ck_assert_msg(strstr(out, "exitcode=1i"), "%s", out);
  free(out);
  char *log = fe_log(fe);
  ck_assert_msg(strstr(log, "/v1.43/containers/json?all=1"), "%s", log);
  ck_assert_msg(!strstr(log, ID_BATCH "/stats"), "%s", log);
  free(log);
  th_free(pl);
  fe_stop(fe);
}
END_TEST

/* Containers that disappear between the list and their requests: skipped,
 * no error. */
START_TEST(fake_vanished_container) {
  fake_engine *fe = docker24();
  fe_route(fe, "/v1.43/containers/" ID_DB "/json", 404,
           "{\"message\":\"No such container: " ID_DB "\"}");
  fe_route(fe, "/v1.43/containers/" ID_CACHE "/stats", 404,
           "{\"message\":\"No such container: " ID_CACHE "\"}");
  twi_pipeline *pl = start("");
  ck_assert_int_eq(gather(pl), 0);
  ck_out_count("docker_container_status,", 4);
  ck_out_count("docker_container_mem,", 3);
  char *out = read_dir_file("out.lp");
  ck_assert_msg(!strstr(out, "container_name=db,"), "%s", out);
  ck_assert_msg(strstr(out, "docker_container_status,container_image=redis,container_name=cache"),
                "%s", out);
  free(out);
  ck_assert_uint_eq(log_errors(), 0);
  th_free(pl);
  fe_stop(fe);
}
END_TEST

/* No daemon: one clear error per gather, and the next gather tries again. */
START_TEST(fake_daemon_down) {
  twi_pipeline *pl = start("");
  ck_assert_int_eq(gather(pl), 1);
  char *sock = sock_path();
  char *want = th_fmt("cannot connect to the Docker daemon at unix://%s: No such file or "
                      "directory; is dockerd (or podman system service) running",
                      sock);
  ck_log_has(want);
  free(want);
  ck_assert_int_eq(gather(pl), 1);
  ck_assert_uint_eq(log_errors(), 2);
  /* it comes up: the next gather works */
  fake_engine *fe = docker24();
  free(sock);
  ck_assert_int_eq(gather(pl), 0);
  ck_out_count("docker_container_status,", 5);
  th_free(pl);
  fe_stop(fe);
}
END_TEST

/* A daemon that accepts and never answers: the gather ends at the
 * timeout with one error, whatever the number of requests. */
START_TEST(fake_daemon_hangs) {
  fake_engine *fe = docker24();
  fe_set_mode(fe, FE_SILENT);
  twi_pipeline *pl = start("timeout = \"300ms\";");
  int64_t t0 = tower_now();
  ck_assert_int_eq(gather(pl), 1);
  int64_t took = tower_now() - t0;
  ck_assert_msg(took >= 250000000LL && took < 1500000000LL, "gather took %lld ns", (long long)took);
  ck_log_has("did not answer within timeout = 0.3s: no answer to GET /version; is it hung or "
             "overloaded? (raise timeout if it is only slow)");
  th_free(pl);
  fe_stop(fe);
}
END_TEST

/* One container's stats hang: the others are gathered, the one error says
 * how many containers were lost. */
START_TEST(fake_stats_hang) {
  fake_engine *fe = docker24();
  fe_route_hang(fe, "/v1.43/containers/" ID_WEB "/stats");
  twi_pipeline *pl = start("timeout = \"400ms\";");
  ck_assert_int_eq(gather(pl), 1);
  ck_out_count("docker_container_status,", 5);
  ck_out_count("docker_container_mem,", 4);
  ck_log_has("no answer to GET /v1.43/containers/" ID_WEB "/stats?stream=false&one-shot=true; is");
  ck_log_has("[1 of 5 containers not gathered]");
  th_free(pl);
  fe_stop(fe);
}
END_TEST

START_TEST(fake_garbage) {
  fake_engine *fe = docker24();
  fe_route(fe, "/version", 200, "<html>this is not the Docker API</html>");
  twi_pipeline *pl = start("");
  ck_assert_int_eq(gather(pl), 1);
  ck_log_has("GET /version from the Docker daemon at unix://");
  ck_log_has("the answer is not valid JSON (");
  /* garbage /info: one error, the containers are still gathered */
  route_file(fe, "/version", 200, "version_docker.json");
  fe_route(fe, "/v1.43/info", 200, "{\"Name\": ");
  ck_assert_int_eq(gather(pl), 1);
  ck_out_count("docker_container_status,", 5);
  ck_out_count("docker,", 0);
  /* not HTTP at all */
  fe_route_raw(fe, "/version", "SSH-2.0-OpenSSH_9.2\r\n");
  fe_route_raw(fe, "/v1.43/info", "SSH-2.0-OpenSSH_9.2\r\n");
  ck_assert_int_eq(gather(pl), 1);
  ck_log_has("gave no HTTP answer to GET");
  /* a garbage stats body for one container */
  route_file(fe, "/version", 200, "version_docker.json");
  route_file(fe, "/v1.43/info", 200, "info.json");
  fe_route(fe, "/v1.43/containers/" ID_API "/stats", 200, "{\"cpu_stats\": [1, 2");
  truncate_out();
  ck_assert_int_eq(gather(pl), 1);
  ck_log_has("[1 of 5 containers not gathered]");
  ck_out_count("docker_container_status,", 5);
  ck_out_count("docker_container_mem,", 4);
  th_free(pl);
  fe_stop(fe);
}
END_TEST

START_TEST(fake_http_errors) {
  fake_engine *fe = docker24();
  fe_route(fe, "/v1.43/containers/json", 500,
           "{\"message\":\"Cannot list containers: database is locked\"}");
  twi_pipeline *pl = start("");
  ck_assert_int_eq(gather(pl), 1);
  ck_log_has("GET /v1.43/containers/json from the Docker daemon at unix://");
  ck_log_has("answered HTTP 500: Cannot list containers: database is locked");
  ck_out_count("docker,", 1); /* /info still answered */
  /* a daemon that refuses our version: asked again at the next gather */
  route_file(fe, "/v1.43/containers/json", 200, "list.json");
  fe_route(fe, "/v1.43/info", 400,
           "{\"message\":\"client version 1.43 is too old. Minimum supported API version is "
           "1.44, please upgrade your client to a newer version\"}");
  fe_route(fe, "/v1.43/containers/json", 400, "{\"message\":\"client version 1.43 is too old\"}");
  ck_assert_int_eq(gather(pl), 1);
  ck_log_has("the API version is negotiated again at the next gather");
  fe_route(fe, "/version", 200, "{\"ApiVersion\":\"1.45\",\"MinAPIVersion\":\"1.44\"}");
  route_file(fe, "/v1.45/info", 200, "info.json");
  fe_route(fe, "/v1.45/containers/json", 200, "[]");
  truncate_out();
  ck_assert_int_eq(gather(pl), 0);
  ck_out_count("docker,", 1);
  /* /version asked by the first gather, and after each failed one */
  char *log = fe_log(fe);
  ck_assert_uint_eq(count_lines(log, "/version"), 3);
  free(log);
  th_free(pl);
  fe_stop(fe);
}
END_TEST

/* An old daemon (API 1.40, before one-shot): stats without one-shot. */
START_TEST(fake_old_api) {
  char *sock = sock_path();
  fake_engine *fe = fe_start(sock);
  free(sock);
  fe_route(fe, "/version", 200, "{\"ApiVersion\":\"1.40\",\"MinAPIVersion\":\"1.12\"}");
  route_file(fe, "/v1.40/info", 200, "info.json");
  route_file(fe, "/v1.40/containers/json", 200, "list.json");
  route_file(fe, "/v1.40/containers/" ID_WEB "/json", 200, "inspect_web.json");
  route_file(fe, "/v1.40/containers/" ID_WEB "/stats", 200, "stats_cgroup1.json");
  twi_pipeline *pl = start("container_name_include = [\"web\"];");
  ck_assert_int_eq(gather(pl), 0);
  char *log = fe_log(fe);
  ck_assert_msg(strstr(log, "/v1.40/containers/" ID_WEB "/stats?stream=false\n"), "%s", log);
  free(log);
  /* the daemon's precpu_stats give usage_percent at once */
  char *out = read_dir_file("out.lp");
  ck_assert_msg(strstr(out, "usage_percent=4,"), "%s", out);
  free(out);
  th_free(pl);
  fe_stop(fe);
}
END_TEST

/* Many containers: at most DOCKER_MAX_IN_FLIGHT connections at once, and
 * every container gathered. */
static fake_engine *many(unsigned n, unsigned delay_ms) {
  char *sock = sock_path();
  fake_engine *fe = fe_start(sock);
  free(sock);
  route_file(fe, "/version", 200, "version_podman.json");
  route_file(fe, "/v1.41/info", 200, "info.json");
  char *stats = payload_path("stats_cgroup2.json");
  char *body = fe_read_file(stats, NULL);
  free(stats);
  tower_buf *list = tower_buf_new(0);
  tower_buf_append_str(list, "[");
  for (unsigned i = 0; i < n; i++) {
    char id[65];
    snprintf(id, sizeof id, "%064x", i + 1);
    tower_buf_printf(list,
                     "%s{\"Id\":\"%s\",\"Names\":[\"/c%u\"],\"Image\":\"app:1\",\"State\":"
                     "\"running\",\"Labels\":{\"n\":\"%u\"}}",
                     i ? "," : "", id, i, i);
    char *path = th_fmt("/v1.41/containers/%s/json", id);
    fe_route(fe, path, 200,
             "{\"State\":{\"Status\":\"running\",\"Pid\":1,\"ExitCode\":0,\"OOMKilled\":false,"
             "\"StartedAt\":\"2024-01-15T09:00:00Z\",\"FinishedAt\":\"0001-01-01T00:00:00Z\"},"
             "\"RestartCount\":0}");
    free(path);
    path = th_fmt("/v1.41/containers/%s/stats", id);
    fe_route(fe, path, 200, body);
    free(path);
  }
  tower_buf_append_str(list, "]");
  fe_route(fe, "/v1.41/containers/json", 200, tower_buf_data(list));
  tower_buf_free(list);
  free(body);
  fe_set_delay(fe, delay_ms);
  return fe;
}

START_TEST(fake_bounded_concurrency) {
  fake_engine *fe = many(40, 5);
  twi_pipeline *pl = start("");
  ck_assert_int_eq(gather(pl), 0);
  ck_out_count("docker_container_status,", 40);
  ck_out_count("docker_container_mem,", 40);
  ck_assert_uint_eq(fe_requests(fe), 3 + 80);
  ck_assert_uint_le(fe_peak_connections(fe), DOCKER_MAX_IN_FLIGHT);
  ck_assert_uint_ge(fe_peak_connections(fe), 2);
  th_free(pl);
  fe_stop(fe);
}
END_TEST

static size_t open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* Descriptors do not pile up over gathers: normal ones, timed-out ones
 * (their connections are closed) and failed ones. The fake engine runs in
 * this process, so each open connection shows as two descriptors here;
 * libcurl keeps at most DOCKER_MAX_IN_FLIGHT of them for reuse. */
START_TEST(fake_no_fd_leak) {
  fake_engine *fe = many(20, 0);
  twi_pipeline *pl = start("timeout = \"200ms\";");
  ck_assert_int_eq(gather(pl), 0);
  size_t limit = open_fds() - 2 * fe_open_connections(fe) + 2 * DOCKER_MAX_IN_FLIGHT;
  for (int i = 0; i < 10; i++) {
    ck_assert_int_eq(gather(pl), 0);
    ck_assert_uint_le(open_fds(), limit);
  }
  fe_set_mode(fe, FE_SILENT);
  for (int i = 0; i < 5; i++) {
    ck_assert_int_eq(gather(pl), 1);
    ck_assert_uint_le(open_fds(), limit);
  }
  fe_stop(fe);
  for (int i = 0; i < 5; i++) /* daemon gone */
    ck_assert_int_eq(gather(pl), 1);
  ck_assert_uint_le(open_fds(), limit - 2 * DOCKER_MAX_IN_FLIGHT);
  fe = many(20, 0);
  ck_assert_int_eq(gather(pl), 0);
  ck_assert_uint_le(open_fds(), limit);
  ck_assert_uint_le(fe_open_connections(fe), DOCKER_MAX_IN_FLIGHT);
  th_free(pl);
  fe_stop(fe);
}
END_TEST

/* A TCP endpoint where nothing listens. */
START_TEST(fake_tcp_refused) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"docker\"; endpoint = \"tcp://127.0.0.1:%u\"; } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                   ntohs(a.sin_port), dir);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  free(c);
  ck_assert_int_eq(gather(pl), 1);
  ck_log_has("cannot connect to the Docker daemon at tcp://127.0.0.1:");
  ck_log_has("is it listening there?");
  th_free(pl);
}
END_TEST

/* A stopping agent: the gather ends at once, without an error. */
START_TEST(fake_stopping) {
  fake_engine *fe = docker24();
  fe_set_mode(fe, FE_SILENT);
  twi_pipeline *pl = start("timeout = \"5s\";");
  atomic_store(&pl->inputs[0]->stopping, true);
  int64_t t0 = tower_now();
  ck_assert_int_eq(gather(pl), 0);
  ck_assert_int_lt(tower_now() - t0, 1000000000LL);
  ck_log_has("gather cut short: the input is stopping");
  th_free(pl);
  fe_stop(fe);
}
END_TEST

START_TEST(config_errors) {
  char *errors = NULL;
  twi_pipeline *pl = th_build("inputs = ( { plugin = \"docker\"; perdevice_include = [\"cpu\", "
                              "\"disk\"]; } );\noutputs = ( { plugin = \"record\"; path = "
                              "\"/dev/null\"; } );\n",
                              TWI_ONCE, &errors);
  if (pl) {
    ck_assert_int_ne(twi_pipeline_init(pl), 0);
    th_free(pl);
  }
  char *log = read_dir_file("tower.log");
  ck_assert_msg(strstr(log, "perdevice_include: \"disk\" is not one of cpu, blkio, network") ||
                    (errors && strstr(errors, "\"disk\" is not one of")),
                "%s %s", log, errors ? errors : "");
  free(log);
  free(errors);
}
END_TEST

/* ---- --config-check: real sockets and files, no engine ---------------------- */

/* --config-check of a docker input with `opts`, as an unprivileged user
 * (tests/unprivileged.h) when `drop`. Returns
 * the plugins that refused; the log is in *log. */
static int check_docker(const char *opts, bool drop, char **log) {
  char *path = th_fmt("%s/tower.log", dir);
  ck_assert_int_eq(truncate(path, 0), 0);
  char *c = th_fmt("inputs = ( { plugin = \"docker\"; %s } );\noutputs = ( { plugin = "
                   "\"record\"; path = \"/dev/null\"; } );\n",
                   opts);
  int failed;
  if (!drop) {
    twi_pipeline *pl = th_build(c, TWI_ONCE, NULL);
    ck_assert_ptr_nonnull(pl);
    failed = twi_pipeline_check(pl);
    th_free(pl);
  } else {
    ck_assert_int_eq(chmod(dir, 0755), 0);
    failed = th_config_check_unprivileged(c);
  }
  *log = th_read_file(path);
  free(path);
  free(c);
  return failed;
}

/* A unix socket bound at dir/name, listening or not; its fd. */
static int unix_socket(const char *name, bool listening) {
  char *p = th_fmt("%s/%s", dir, name);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", p);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  if (listening)
    ck_assert_int_eq(listen(fd, 4), 0);
  free(p);
  return fd;
}

#define ck_has(log, needle) ck_assert_msg(strstr(log, needle), "want \"%s\" in: %s", needle, log)

START_TEST(check_socket_states) {
  char *log;
  /* missing: the daemon may not run yet; a warning, the check passes */
  char *opts = th_fmt("endpoint = \"unix://%s/run/docker.sock\";", dir);
  ck_assert_int_eq(check_docker(opts, false, &log), 0);
  char *want = th_fmt("W! [inputs.docker] endpoint unix://%s/run/docker.sock: %s/run does not "
                      "exist; is the Docker daemon running?",
                      dir, dir);
  ck_has(log, want);
  ck_has(log, "(each gather reports an error until it appears)");
  free(want);
  free(log);
  free(opts);

  char *file = th_fmt("%s/docker.sock", dir);
  ck_assert_int_eq(th_write_file(file, ""), 0);
  opts = th_fmt("endpoint = \"unix://%s\";", file);
  ck_assert_int_eq(check_docker(opts, false, &log), 1);
  want = th_fmt("%s is a regular file, not a socket; set endpoint to the daemon's socket", file);
  ck_has(log, want);
  free(want);
  free(log);
  unlink(file);

  int fd = unix_socket("docker.sock", false); /* bound, nobody listening: a warning */
  ck_assert_int_eq(check_docker(opts, false, &log), 0);
  want = th_fmt("nothing listens on %s (left behind by a daemon that stopped?)", file);
  ck_has(log, want);
  free(want);
  free(log);
  close(fd);
  unlink(file);

  fd = unix_socket("docker.sock", true);
  ck_assert_msg(check_docker(opts, false, &log) == 0, "log: %s", log);
  free(log);

  /* root:root 0660, as docker.sock is root:docker 0660, checked as uid
   * 65534; not running as root, our own socket with no write bit */
  mode_t mode = geteuid() == 0 ? 0660 : 0000;
  ck_assert_int_eq(chmod(file, mode), 0);
  ck_assert_int_eq(check_docker(opts, true, &log), 1);
  want = th_fmt("%s is not writable by uid %ld (mode %04o, owner ", file, th_unprivileged_uid(),
                (unsigned)mode);
  ck_has(log, want);
  ck_has(log, "add the user tower runs as to the socket's group");
  free(want);
  free(log);
  close(fd);
  free(opts);
  free(file);
}
END_TEST

/* Over TCP with TLS the files are checked; the daemon is not contacted. */
START_TEST(check_tls_files) {
  char *cmd = th_fmt("cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
                     "-nodes -days 2 -subj /CN=t -keyout key.pem -out cert.pem >/dev/null 2>&1",
                     dir);
  ck_assert_int_eq(system(cmd), 0);
  free(cmd);
  char *log;
  char *opts = th_fmt("endpoint = \"tcp://127.0.0.1:1\"; tls_ca = \"%s/cert.pem\"; tls_cert = "
                      "\"%s/cert.pem\"; tls_key = \"%s/key.pem\";",
                      dir, dir, dir);
  ck_assert_msg(check_docker(opts, false, &log) == 0, "log: %s", log);
  free(log);
  free(opts);
  opts = th_fmt("endpoint = \"tcp://127.0.0.1:1\"; tls_ca = \"%s/key.pem\"; tls_cert = "
                "\"%s/cert.pem\"; tls_key = \"%s/gone.pem\";",
                dir, dir, dir);
  ck_assert_int_eq(check_docker(opts, false, &log), 1);
  char *want = th_fmt("tls_ca \"%s/key.pem\": %s/key.pem: it holds a private key but no "
                      "certificate (PRIVATE KEY block); give a PEM file of certificates",
                      dir, dir);
  ck_has(log, want);
  free(want);
  want = th_fmt("tls_key \"%s/gone.pem\": %s/gone.pem does not exist; fix the path", dir, dir);
  ck_has(log, want);
  free(want);
  free(log);
  free(opts);
  setenv("DOCKER_HOST", "tcp://127.0.0.1:1", 1);
  setenv("DOCKER_CERT_PATH", dir, 1); /* ca.pem is missing there */
  ck_assert_int_eq(check_docker("endpoint = \"ENV\";", false, &log), 1);
  want = th_fmt("tls_ca \"%s/ca.pem\" (from DOCKER_CERT_PATH): %s/ca.pem does not exist", dir, dir);
  ck_has(log, want);
  free(want);
  free(log);
  unsetenv("DOCKER_HOST");
  unsetenv("DOCKER_CERT_PATH");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("inputs.docker");
  TCase *p = tcase_create("payloads");
  tcase_add_test(p, version_docker_and_podman);
  tcase_add_test(p, version_negotiation);
  tcase_add_test(p, info_engine_totals);
  tcase_add_test(p, info_missing_fields_are_omitted);
  tcase_add_test(p, list_filters);
  tcase_add_test(p, image_split_like_telegraf);
  tcase_add_test(p, inspect_running);
  tcase_add_test(p, inspect_exited_with_error_and_created);
  tcase_add_test(p, inspect_health_checks);
  tcase_add_test(p, inspect_podman_no_health);
  tcase_add_test(p, inspect_label_filters_tag_env_source);
  tcase_add_test(p, stats_cgroup_v1_defaults);
  tcase_add_test(p, stats_perdevice_only);
  tcase_add_test(p, stats_cgroup_v2_two_gathers);
  tcase_add_test(p, stats_podman);
  tcase_add_test(p, stats_stopped_and_percpu_online);
  tcase_add_test(p, cache_grows_and_prunes);
  tcase_add_test(p, endpoint_forms);
  tcase_add_test(p, endpoint_from_env);
  suite_add_tcase(s, p);
  TCase *f = tcase_create("fake engine");
  tcase_add_checked_fixture(f, setup, teardown);
  tcase_set_timeout(f, 60);
  tcase_add_test(f, fake_full_gather);
  tcase_add_test(f, fake_stopped_containers_wanted);
  tcase_add_test(f, fake_vanished_container);
  tcase_add_test(f, fake_daemon_down);
  tcase_add_test(f, fake_daemon_hangs);
  tcase_add_test(f, fake_stats_hang);
  tcase_add_test(f, fake_garbage);
  tcase_add_test(f, fake_http_errors);
  tcase_add_test(f, fake_old_api);
  tcase_add_test(f, fake_bounded_concurrency);
  tcase_add_test(f, fake_no_fd_leak);
  tcase_add_test(f, fake_tcp_refused);
  tcase_add_test(f, fake_stopping);
  tcase_add_test(f, config_errors);
  suite_add_tcase(s, f);
  TCase *c = tcase_create("config check");
  tcase_add_checked_fixture(c, setup, teardown);
  tcase_add_test(c, check_socket_states);
  tcase_add_test(c, check_tls_files);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  return check_run(suite());
}
