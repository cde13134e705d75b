/* inputs.prometheus: what scraping a large target costs.
 *
 *   parse     the target's body through libtower's "prometheus" and
 *             "openmetrics" parsers alone: series/s and MB/s
 *   gather    the plugin's whole gather through the core (HTTP on
 *             loopback, parsing, mapping, the accumulator) for
 *             metric_version 1 and 2: wall time per gather, series/s, MB/s
 *   vs Prometheus
 *             when /usr/bin/prometheus is there (PROMETHEUS_BENCH=path to
 *             use another), a real Prometheus server scrapes the same
 *             target every 3 s in the same run, and its own
 *             scrape_duration_seconds is printed next to tower's time
 *
 * The target is a loopback HTTP server in this file serving one fixed
 * exposition of N series (default 100000): gauges and counters with
 * labels, and histograms (a fifth of the series are bucket, sum and count
 * lines), as an application with many label values exposes them.
 *
 * Usage: bench_prometheus_input [series, default 100000] [gathers, default 10] */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <tower/tower.h>

#include "bench_util.h"
#include "loopback.h"

/* ---- the target ---------------------------------------------------------------------------- */

typedef struct body {
  char *text;
  size_t len;
  size_t series;
} body;

static body make_body(size_t want) {
  tower_buf *b = tower_buf_new(want * 80);
  size_t n = 0;
  for (size_t fam = 0; n < want; fam++) {
    if (fam % 5 == 4) { /* a histogram family: 12 lines per label set */
      tower_buf_printf(b, "# HELP app_latency_%zu_seconds Latency.\n", fam);
      tower_buf_printf(b, "# TYPE app_latency_%zu_seconds histogram\n", fam);
      static const char *const le[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                       "0.5",   "1",    "2.5",   "5",    "+Inf"};
      for (size_t s = 0; s < 100 && n < want; s++) {
        for (size_t i = 0; i < 11; i++, n++)
          tower_buf_printf(b,
                           "app_latency_%zu_seconds_bucket{handler=\"/api/v%zu\",le=\"%s\"} %zu\n",
                           fam, s, le[i], i * 7 + s);
        tower_buf_printf(b, "app_latency_%zu_seconds_sum{handler=\"/api/v%zu\"} %zu.25\n", fam, s,
                         s * 3);
        tower_buf_printf(b, "app_latency_%zu_seconds_count{handler=\"/api/v%zu\"} %zu\n", fam, s,
                         70 + s);
        n += 2;
      }
      continue;
    }
    const char *type = fam % 2 ? "counter" : "gauge";
    tower_buf_printf(b, "# HELP app_metric_%zu A %s.\n# TYPE app_metric_%zu %s\n", fam, type, fam,
                     type);
    for (size_t s = 0; s < 1000 && n < want; s++, n++)
      tower_buf_printf(b,
                       "app_metric_%zu{instance=\"pod-%zu\",region=\"eu-west-%zu\",code=\"%zu\"} "
                       "%zu.5\n",
                       fam, s, s % 3, 200 + s % 5, s * 1000 + fam);
  }
  body out = {.len = tower_buf_len(b), .series = n};
  out.text = malloc(out.len + 1);
  memcpy(out.text, tower_buf_data(b), out.len + 1);
  tower_buf_free(b);
  return out;
}

static body target_body;

static void *serve_conn(void *arg) {
  int fd = (int)(intptr_t)arg;
  char req[4096];
  size_t n = 0;
  ssize_t r;
  while (n < sizeof req - 1 && (r = recv(fd, req + n, sizeof req - 1 - n, 0)) > 0) {
    n += (size_t)r;
    req[n] = '\0';
    if (strstr(req, "\r\n\r\n"))
      break;
  }
  char head[256];
  int h = snprintf(head, sizeof head,
                   "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                   target_body.len);
  const char *parts[2] = {head, target_body.text};
  size_t lens[2] = {(size_t)h, target_body.len};
  for (int i = 0; i < 2; i++)
    for (size_t off = 0; off < lens[i];) {
      ssize_t w = send(fd, parts[i] + off, lens[i] - off, MSG_NOSIGNAL);
      if (w <= 0)
        break;
      off += (size_t)w;
    }
  close(fd);
  return NULL;
}

static void *serve(void *arg) {
  int lfd = (int)(intptr_t)arg;
  for (;;) {
    int fd = accept(lfd, NULL, NULL);
    pthread_t t;
    if (fd >= 0 && pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd) == 0)
      pthread_detach(t);
    else if (fd >= 0)
      close(fd);
  }
  return NULL;
}

/* ---- the parsers alone -------------------------------------------------------------------- */

static int drop(void *ud, tower_metric *m) {
  (void)ud;
  tower_metric_free(m);
  return 0;
}

static void bench_parse(const char *format, const char *text, size_t len, size_t series) {
  tower_parser *p = NULL;
  if (tower_parser_new_format(NULL, format, &p) < 0)
    bench_die("no parser");
  int reps = 0;
  double t0 = bench_now(), t;
  do {
    tower_parser_parse(p, text, len, drop, NULL);
    reps++;
  } while ((t = bench_now() - t0) < 2.0);
  char name[64];
  snprintf(name, sizeof name, "parse %s (%zu series)", format, series);
  bench_report(name, t, (double)reps * (double)series, (double)len / (double)series);
  if (tower_parser_errors(p))
    bench_die("parse errors");
  tower_parser_free(p);
}

/* ---- gathers through the core -------------------------------------------------------------- */

static int gather_once(twi_pipeline *pl, double *seconds) {
  tower_ctx *in = pl->inputs[0];
  tower_acc *acc = twi_acc_new_input(in, pl, false);
  twi_acc_begin(acc, tower_now());
  double t0 = bench_now();
  in->plugin->desc.gather(in->state, acc);
  *seconds = bench_now() - t0;
  tower_acc_commit(acc);
  int errors = (int)twi_acc_errors(acc);
  twi_acc_free(acc);
  twi_output_flush_sync(pl->outputs[0]);
  return errors;
}

/* Returns the mean seconds per gather. */
static double bench_gather(unsigned port, int version, long gathers) {
  char text[1024];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; };\n"
           "inputs = ( { plugin = \"prometheus\"; urls = [\"http://127.0.0.1:%u/metrics\"]; "
           "metric_version = %d; timeout = \"60s\"; } );\n"
           "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; "
           "metric_buffer_limit = 2000000; metric_batch_size = 100000; } );\n",
           port, version);
  twi_pipeline *pl = bench_pipeline(text);
  double one, total = 0;
  int errors = gather_once(pl, &one); /* warm up */
  for (long i = 0; i < gathers; i++) {
    errors += gather_once(pl, &one);
    total += one;
  }
  twi_pipeline_free(pl);
  if (errors)
    bench_die("gather errors");
  char name[64];
  snprintf(name, sizeof name, "gather, metric_version %d", version);
  bench_report(name, total, (double)gathers * (double)target_body.series,
               (double)target_body.len / (double)target_body.series);
  return total / (double)gathers;
}

/* ---- the same target scraped by a real Prometheus -------------------------------------------- */

static size_t collect(char *data, size_t size, size_t n, void *ud) {
  tower_buf_append((tower_buf *)ud, data, size * n);
  return size * n;
}

/* scrape_duration_seconds of job "bench", or -1. */
static double prometheus_scrape_seconds(unsigned api_port) {
  char url[256];
  snprintf(url, sizeof url,
           "http://127.0.0.1:%u/api/v1/query?query=avg_over_time(scrape_duration_seconds"
           "%%7Bjob%%3D%%22bench%%22%%7D%%5B1m%%5D)",
           api_port);
  tower_buf *b = tower_buf_new(0);
  CURL *c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_cleanup(c);
  const char *v = rc == CURLE_OK ? strstr(tower_buf_data(b), "\"value\":[") : NULL;
  v = v ? strchr(v, ',') : NULL;
  double out = v && v[1] == '"' ? strtod(v + 2, NULL) : -1;
  tower_buf_free(b);
  return out;
}

static void versus_prometheus(unsigned port, double tower_seconds) {
  const char *bin = getenv("PROMETHEUS_BENCH");
  bin = bin ? bin : "/usr/bin/prometheus";
  if (access(bin, X_OK) != 0) {
    printf("(no %s: the comparison with Prometheus's scrape_duration_seconds is skipped)\n", bin);
    return;
  }
  char dir[] = "/tmp/tower-bench-prom.XXXXXX";
  if (!mkdtemp(dir))
    bench_die("mkdtemp");
  char cfg[300], yml[512], tsdb[300], listen[64];
  snprintf(cfg, sizeof cfg, "%s/prometheus.yml", dir);
  snprintf(yml, sizeof yml,
           "global: { scrape_interval: 3s, scrape_timeout: 3s }\n"
           "scrape_configs:\n  - job_name: bench\n"
           "    static_configs: [ { targets: [\"127.0.0.1:%u\"] } ]\n",
           port);
  FILE *f = fopen(cfg, "w");
  if (!f || fputs(yml, f) < 0 || fclose(f) != 0)
    bench_die("cannot write the Prometheus configuration");
  unsigned api = loopback_unused_port();
  snprintf(tsdb, sizeof tsdb, "--storage.tsdb.path=%s/tsdb", dir);
  snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%u", api);
  char config_arg[320];
  snprintf(config_arg, sizeof config_arg, "--config.file=%s", cfg);
  pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stderr);
    execl(bin, bin, config_arg, tsdb, listen, "--log.level=error", (char *)NULL);
    _exit(127);
  }
  sleep(17); /* five scrapes or so */
  double prom = prometheus_scrape_seconds(api);
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  char rm[400];
  snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
  if (system(rm) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
  if (prom < 0) {
    printf("Prometheus gave no scrape_duration_seconds for the target\n");
    return;
  }
  printf("%-44s %9.1f ms\n%-44s %9.1f ms (mean over its scrapes of the last minute)\n",
         "tower gather (metric_version 1)", tower_seconds * 1e3,
         "Prometheus 2 scrape_duration_seconds", prom * 1e3);
}

int main(int argc, char **argv) {
  size_t series = argc > 1 ? (size_t)atol(argv[1]) : 100000;
  long gathers = argc > 2 ? atol(argv[2]) : 10;
  if (series == 0 || gathers <= 0) {
    fprintf(stderr, "usage: bench_prometheus_input [series] [gathers]\n");
    return 2;
  }
  target_body = make_body(series);
  unsigned port;
  int lfd = loopback_listen(&port);
  pthread_t t;
  if (lfd < 0 || pthread_create(&t, NULL, serve, (void *)(intptr_t)lfd))
    bench_die("cannot serve the target");
  pthread_detach(t);
  printf("target: %zu series, %.1f MB\n", target_body.series, (double)target_body.len / 1e6);
  bench_report_header();
  bench_parse("prometheus", target_body.text, target_body.len, target_body.series);
  /* The same samples as OpenMetrics: the text plus its "# EOF". */
  char *om = malloc(target_body.len + sizeof "# EOF\n");
  memcpy(om, target_body.text, target_body.len);
  memcpy(om + target_body.len, "# EOF\n", sizeof "# EOF\n");
  bench_parse("openmetrics", om, target_body.len + 6, target_body.series);
  free(om);
  double v1 = bench_gather(port, 1, gathers);
  bench_gather(port, 2, gathers);
  versus_prometheus(port, v1);
  return 0;
}
