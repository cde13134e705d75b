/* inputs.docker: what a gather costs.
 *
 *   payload   the JSON -> metrics code alone, per container: parsing an
 *             inspect and a cgroup v1 stats answer (tests/plugins/docker)
 *             with jansson and building its metrics;
 *   gather    the plugin's whole gather through the core, against a fake
 *             engine on a unix socket serving N containers with those
 *             payloads (/version once, /info, /containers/json, then
 *             inspect and stats per container): wall time per gather and
 *             the gathering thread's CPU time (the fake engine runs in its
 *             own thread, so its CPU is not counted), with the engine
 *             answering at once and with 5 ms of latency per answer (the
 *             bounded concurrency at work);
 *   real      the same against a real daemon when DOCKER_BENCH_ENDPOINT is
 *             set (unix:///path/to/podman.sock): every container it has.
 *
 * Usage: bench_docker [containers, default 50] [gathers, default 20]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tower/tower.h>

#include "../tests/plugins/docker/fake_engine.h"
#include "bench_util.h"
#include "docker.h"

#ifndef DOCKER_PAYLOADS
#define DOCKER_PAYLOADS "tests/plugins/docker"
#endif

static double thread_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *payload(const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", DOCKER_PAYLOADS, name);
  char *text = fe_read_file(path, NULL);
  if (!text) {
    fprintf(stderr, "bench_docker: cannot read %s\n", path);
    exit(1);
  }
  return text;
}

/* ---- payload: JSON -> metrics ------------------------------------------------- */

static int drop(void *ud, tower_metric *m) {
  (*(size_t *)ud)++;
  tower_metric_free(m);
  return 0;
}

static void bench_payload(long n) {
  char *inspect = payload("inspect_web.json"), *stats = payload("stats_cgroup1.json");
  size_t ilen = strlen(inspect), slen = strlen(stats), metrics = 0;
  docker_filters f = {.perdevice = DOCKER_CLASS_CPU,
                      .total = DOCKER_CLASS_CPU | DOCKER_CLASS_BLKIO | DOCKER_CLASS_NETWORK};
  docker_engine e = {.name = "node-7", .server_version = "24.0.7"};
  docker_cpu_cache cache = {0};
  json_t *labels = json_pack("{s:s, s:s}", "com.example.team", "shop", "com.example.tier", "web");
  docker_ctr c = {.id = "4b5e57f6eb2f42b9039b3d1e13929295f231749c510cbe341cd68036d9af97e2",
                  .name = "web",
                  .image = "registry.example.com:5000/shop/web:1.4.2",
                  .labels = labels};
  double w0 = bench_now(), c0 = thread_cpu();
  for (long i = 0; i < n; i++) {
    json_t *ji = json_loadb(inspect, ilen, 0, NULL), *js = json_loadb(stats, slen, 0, NULL);
    if (docker_emit_inspect(&f, &e, &c, ji, tower_now(), drop, &metrics) ||
        docker_emit_stats(&f, &e, &c, js, &cache, 60000000000LL, i, drop, &metrics)) {
      fprintf(stderr, "bench_docker: payload rejected\n");
      exit(1);
    }
    json_decref(ji);
    json_decref(js);
  }
  double wall = bench_now() - w0, cpu = thread_cpu() - c0;
  printf("%-52s %9.1f us %9.1f us  (%zu metrics/container, %zu bytes of JSON)\n",
         "payload: inspect + stats -> metrics, per container", wall * 1e6 / (double)n,
         cpu * 1e6 / (double)n, metrics / (size_t)n, ilen + slen);
  tower_metric_free(c.tmpl);
  json_decref(labels);
  docker_cache_free(&cache);
  free(inspect);
  free(stats);
}

/* ---- gather: the plugin through the core ------------------------------------------ */

/* A fake engine with `n` running containers, each with web's payloads. */
static fake_engine *engine(const char *sock, unsigned n) {
  fake_engine *fe = fe_start(sock);
  if (!fe) {
    perror("bench_docker: fake engine");
    exit(1);
  }
  char *v = payload("version_podman.json"), *info = payload("info.json");
  char *inspect = payload("inspect_web.json"), *stats = payload("stats_cgroup1.json");
  fe_route(fe, "/version", 200, v);
  fe_route(fe, "/v1.41/info", 200, info);
  tower_buf *list = tower_buf_new(0);
  tower_buf_append_str(list, "[");
  for (unsigned i = 0; i < n; i++) {
    char id[65], path[160];
    snprintf(id, sizeof id, "%064x", i + 1);
    tower_buf_printf(list,
                     "%s{\"Id\":\"%s\",\"Names\":[\"/app-%u\"],\"Image\":\"registry.example.com:"
                     "5000/shop/web:1.4.2\",\"State\":\"running\",\"Status\":\"Up 2 hours\","
                     "\"Labels\":{\"com.example.team\":\"shop\",\"com.example.tier\":\"web\"}}",
                     i ? "," : "", id, i);
    snprintf(path, sizeof path, "/v1.41/containers/%s/json", id);
    fe_route(fe, path, 200, inspect);
    snprintf(path, sizeof path, "/v1.41/containers/%s/stats", id);
    fe_route(fe, path, 200, stats);
  }
  tower_buf_append_str(list, "]");
  fe_route(fe, "/v1.41/containers/json", 200, tower_buf_data(list));
  tower_buf_free(list);
  free(v);
  free(info);
  free(inspect);
  free(stats);
  return fe;
}

/* One gather as the input thread makes it; returns its error count. */
static int gather_once(twi_pipeline *pl) {
  tower_ctx *in = pl->inputs[0];
  tower_acc *acc = twi_acc_new_input(in, pl, false);
  twi_acc_begin(acc, tower_now());
  in->plugin->desc.gather(in->state, acc);
  tower_acc_commit(acc);
  int errors = (int)twi_acc_errors(acc);
  twi_acc_free(acc);
  return errors;
}

static void bench_gather(const char *label, const char *endpoint, long gathers) {
  char text[1024];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; };\n"
           "inputs = ( { plugin = \"docker\"; endpoint = \"%s\"; timeout = \"30s\"; } );\n"
           "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; "
           "metric_buffer_limit = 100000; } );\n",
           endpoint);
  twi_pipeline *pl = bench_pipeline(text);
  int errors = gather_once(pl); /* warm up: /version, connections, buffers */
  twi_output_flush_sync(pl->outputs[0]);
  double w0 = bench_now(), c0 = thread_cpu();
  for (long i = 0; i < gathers; i++)
    errors += gather_once(pl);
  double wall = bench_now() - w0, cpu = thread_cpu() - c0;
  size_t written = twi_output_flush_sync(pl->outputs[0]);
  (void)written;
  twi_pipeline_free(pl);
  if (errors) {
    fprintf(stderr, "bench_docker: %d gather errors (%s)\n", errors, endpoint);
    exit(1);
  }
  printf("%-52s %9.2f ms %9.2f ms\n", label, wall * 1e3 / (double)gathers,
         cpu * 1e3 / (double)gathers);
}

int main(int argc, char **argv) {
  unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 50;
  long gathers = argc > 2 ? atol(argv[2]) : 20;
  if (n == 0 || gathers <= 0) {
    fprintf(stderr, "usage: bench_docker [containers] [gathers]\n");
    return 2;
  }
  printf("%-52s %12s %12s\n", "inputs.docker", "wall", "tower CPU");
  bench_payload(2000);
  char sock[] = "/tmp/tower-bench-docker.XXXXXX";
  if (!mkdtemp(sock)) {
    perror("mkdtemp");
    return 1;
  }
  char path[128], endpoint[160], label[96];
  snprintf(path, sizeof path, "%s/docker.sock", sock);
  snprintf(endpoint, sizeof endpoint, "unix://%s", path);
  fake_engine *fe = engine(path, n);
  snprintf(label, sizeof label, "gather: %u containers, fake engine, no latency", n);
  bench_gather(label, endpoint, gathers);
  fe_set_delay(fe, 5);
  snprintf(label, sizeof label, "gather: %u containers, fake engine, 5 ms per answer", n);
  bench_gather(label, endpoint, gathers / 4 ? gathers / 4 : 1);
  printf("  (serial would take %u ms: %u answers x 5 ms; peak connections %u)\n", (2 * n + 2) * 5,
         2 * n + 2, fe_peak_connections(fe));
  fe_stop(fe);
  rmdir(sock);
  const char *real = getenv("DOCKER_BENCH_ENDPOINT");
  if (real && *real) {
    snprintf(label, sizeof label, "gather: every container of %s", real);
    bench_gather(label, real, gathers);
  }
  return 0;
}
