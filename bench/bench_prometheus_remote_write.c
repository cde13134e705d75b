/* outputs.prometheus_remote_write benchmark:
 * - the encoder alone (prw_encode.c compiled in): cpu-like metrics (2 tags,
 *   10 float fields, Telegraf's inputs.cpu) in batches of 1000 and 5000,
 *   mapped to series, sorted, packed as a WriteRequest and snappy-compressed
 *   into the encoder's reused buffers: ns and allocations per metric, bytes
 *   per sample before and after snappy (CPU time, not wall clock);
 * - end to end through the real core and the plugin .so into a real
 *   Prometheus (Debian package prometheus, or $PROMETHEUS), started here with
 *   --web.enable-remote-write-receiver on a free port and a temporary
 *   storage directory: samples/s the server accepts, and tower's own CPU
 *   time (this process's user + system, Prometheus excluded) per million
 *   samples.
 * Figures only, never pass/fail. */
#include "config.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tower/tower.h>

#include "bench_util.h"
#include "prw.h"
#include "../tests/loopback.h"
#include "../tests/malloc_count.h"

#define FIELDS 10

static const char *const cpu_fields[FIELDS] = {
    "usage_guest", "usage_guest_nice", "usage_idle",  "usage_iowait", "usage_irq",
    "usage_nice",  "usage_softirq",    "usage_steal", "usage_system", "usage_user"};

static tower_metric *cpu_metric(int i, int64_t t) {
  char v[64];
  tower_metric *m = tower_metric_new("cpu", t);
  snprintf(v, sizeof v, "cpu%d", i % 64);
  tower_metric_add_tag(m, "cpu", v);
  snprintf(v, sizeof v, "server%04d.example.com", i / 64);
  tower_metric_add_tag(m, "host", v);
  for (int k = 0; k < FIELDS; k++)
    tower_metric_add_float(m, cpu_fields[k], (double)((i * 7919 + k * 104729) % 10000) / 97.0);
  return m;
}

static unsigned long allocs(void) {
#ifdef NO_MALLOC_COUNT
  return 0;
#else
  return nallocs;
#endif
}

/* This process's CPU time (user + system): on a shared machine, wall-clock
 * figures say more about the neighbours than about the code. */
static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- the encoder ------------------------------------------------------------------ */

static void encode_cost(int batch) {
  tower_metric **ms = malloc((size_t)batch * sizeof *ms);
  for (int i = 0; i < batch; i++)
    ms[i] = cpu_metric(i, 1700000000000000000LL + (int64_t)(i % 7) * 1000000000LL);
  prw_encoder e;
  if (prw_encoder_init(&e, 0) ||
      prw_encode_metrics(&e, (const tower_metric *const *)ms, (size_t)batch)) /* warm-up */
    bench_die("encode");
  unsigned long a0 = allocs();
  long rounds = 0;
  double t0 = cpu_seconds();
  while (cpu_seconds() - t0 < 1.0) {
    if (prw_encode_metrics(&e, (const tower_metric *const *)ms, (size_t)batch))
      bench_die("encode");
    rounds++;
  }
  double secs = cpu_seconds() - t0, n = (double)rounds * batch;
  printf("  batch %5d: %6.0f CPU ns/metric (%4.0f ns/sample), %.4f allocations/metric, "
         "%.1f B/sample protobuf -> %.1f B/sample snappy (%.1f:1)\n",
         batch, secs / n * 1e9, secs / (n * FIELDS) * 1e9, (double)(allocs() - a0) / n,
         (double)e.pb_len / (double)e.samples_sent, (double)e.body_len / (double)e.samples_sent,
         (double)e.pb_len / (double)e.body_len);
  prw_encoder_fini(&e);
  for (int i = 0; i < batch; i++)
    tower_metric_free(ms[i]);
  free(ms);
}

/* ---- a real Prometheus ------------------------------------------------------------ */

static size_t discard(char *d, size_t s, size_t n, void *u) {
  (void)d, (void)u;
  return s * n;
}

static bool ready(unsigned port) {
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/-/ready", port);
  CURL *c = curl_easy_init();
  long status = 0;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  return status == 200;
}

static pid_t start_prometheus(const char *bin, const char *dir, unsigned port) {
  char conf[300], cf[320], st[320], la[64];
  snprintf(conf, sizeof conf, "%s/prometheus.yml", dir);
  FILE *f = fopen(conf, "w");
  if (!f || fputs("global:\n  scrape_interval: 1h\n", f) < 0 || fclose(f))
    bench_die(conf);
  snprintf(cf, sizeof cf, "--config.file=%s", conf);
  snprintf(st, sizeof st, "--storage.tsdb.path=%s/data", dir);
  snprintf(la, sizeof la, "--web.listen-address=127.0.0.1:%u", port);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(bin, bin, cf, st, la, "--web.enable-remote-write-receiver", (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 600 && !ready(port); i++)
    usleep(50000);
  return pid;
}

static void gather(twi_pipeline *pl, int n, int64_t t) {
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, false);
  twi_acc_begin(acc, t);
  for (int i = 0; i < n; i++)
    tower_acc_add(acc, cpu_metric(i, t));
  tower_acc_commit(acc);
  twi_acc_free(acc);
}

/* Rounds of n metrics, one timestamp per round (a second apart, as
 * gathers would be), each flushed at once: samples/s and CPU per million. */
static void through_prometheus(unsigned port, int batch, int n, int rounds, int64_t t0) {
  char text[1024];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; metric_buffer_limit = 1000000; "
           "metric_batch_size = %d; };\n"
           "inputs = ( { plugin = \"lines\"; precision = \"1ns\"; lines = [\"x v=1\"]; } );\n"
           "outputs = ( { plugin = \"prometheus_remote_write\"; "
           "url = \"http://127.0.0.1:%u/api/v1/write\"; timeout = \"60s\"; } );\n",
           batch, port);
  twi_pipeline *pl = bench_pipeline(text);
  double wall = 0, cpu = 0;
  for (int r = 0; r < rounds; r++) {
    gather(pl, n, t0 + (int64_t)r * 1000000000LL);
    double w = bench_now(), c = cpu_seconds();
    if (twi_output_flush_sync(pl->outputs[0]))
      bench_die("Prometheus did not take every sample");
    wall += bench_now() - w;
    cpu += cpu_seconds() - c;
  }
  double samples = (double)n * FIELDS * rounds;
  printf("  batch %5d: %9.0f samples/s stored by Prometheus (wall clock), tower CPU %.2f s per "
         "million samples (%d series, %d rounds)\n",
         batch, samples / wall, cpu / samples * 1e6, n * FIELDS, rounds);
  twi_pipeline_free(pl);
}

static void into_prometheus(void) {
  const char *bin = getenv("PROMETHEUS") ? getenv("PROMETHEUS") : "/usr/bin/prometheus";
  if (access(bin, X_OK) != 0) {
    printf("  (no %s: install the prometheus package for the end-to-end figures)\n", bin);
    return;
  }
  char dir[] = "/tmp/tower-bench-prw.XXXXXX";
  if (!mkdtemp(dir))
    bench_die("mkdtemp");
  unsigned port = loopback_unused_port();
  pid_t pid = start_prometheus(bin, dir, port);
  if (!ready(port)) {
    printf("  (Prometheus did not start)\n");
  } else {
    /* Recent enough for the TSDB head: it takes samples of the last hour. */
    int64_t t0 = ((int64_t)time(NULL) - 1800) * 1000000000LL;
    through_prometheus(port, 1000, 5000, 2, t0 - 100000000000LL); /* warm-up: series created */
    through_prometheus(port, 1000, 5000, 20, t0);
    through_prometheus(port, 5000, 5000, 20, t0 + 100000000000LL);
  }
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "bench_prometheus_remote_write: could not remove %s\n", dir);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  printf("outputs.prometheus_remote_write: encoding (cpu metrics: 2 tags, 10 float fields, "
         "7 timestamps):\n");
  encode_cost(1000);
  encode_cost(5000);
  printf("outputs.prometheus_remote_write: end to end into a local Prometheus:\n");
  into_prometheus();
  return 0;
}
