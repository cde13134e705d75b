/* outputs.prometheus benchmark, through the real core and real HTTP on
 * 127.0.0.1:
 * - write cost: a flush of metrics (3 tags, 4 float fields: 4 series each)
 *   into the store, new series and then updates in place, per metric;
 * - memory held per series (mallinfo2 delta after the flush has released
 *   the core's buffer);
 * - a scrape of 10k and 100k series, plain and gzip (request to last byte),
 *   of an unchanged store (the shared render) and right after a flush that
 *   updated every series (every family rendered again);
 * - scrape latency while a writer thread flushes updates continuously, and
 *   the longest flush seen meanwhile (a global stall would show in both).
 * Figures only. */
#include "config.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tower/tower.h>

#include "bench_util.h"
#include "../tests/loopback.h"

#define FIELDS 4
#define SCRAPES 10

/* GET /metrics; returns the bytes received (headers included). */
static size_t scrape(unsigned port, bool gzip) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                          .sin_port = htons((uint16_t)port)};
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
    perror("connect");
    exit(1);
  }
  char req[128];
  int n = snprintf(req, sizeof req, "GET /metrics HTTP/1.0\r\nHost: x\r\n%s\r\n",
                   gzip ? "Accept-Encoding: gzip\r\n" : "");
  if (write(fd, req, (size_t)n) != n) {
    perror("write");
    exit(1);
  }
  static _Thread_local char buf[1 << 16];
  size_t total = 0;
  ssize_t got;
  while ((got = read(fd, buf, sizeof buf)) > 0)
    total += (size_t)got;
  close(fd);
  return total;
}

static tower_metric *metric(int i, int round) {
  static const char *const fields[FIELDS] = {"rx_bytes", "tx_bytes", "rx_errors", "latency"};
  char v[32];
  tower_metric *m = tower_metric_new("net", TOWER_TIME_UNSET);
  snprintf(v, sizeof v, "eth%d", i % 64);
  tower_metric_add_tag(m, "interface", v);
  snprintf(v, sizeof v, "web%05d.example.com", i / 64);
  tower_metric_add_tag(m, "host", v);
  tower_metric_add_tag(m, "dc", i % 2 ? "seoul" : "busan");
  for (int k = 0; k < FIELDS; k++)
    tower_metric_add_float(m, fields[k], (double)(i * 31 + k + round) * 0.173);
  return m;
}

static void gather(twi_pipeline *pl, int metrics, int round) {
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, false);
  twi_acc_begin(acc, 1700000000000000000LL + round * 1000000000LL);
  for (int i = 0; i < metrics; i++)
    tower_acc_add(acc, metric(i, round));
  tower_acc_commit(acc);
  twi_acc_free(acc);
}

/* Gathers and flushes; returns the seconds the flush (the writes) took. */
static double flush(twi_pipeline *pl, int metrics, int round) {
  gather(pl, metrics, round);
  double t0 = bench_now();
  if (twi_output_flush_sync(pl->outputs[0])) {
    fprintf(stderr, "metrics left unwritten\n");
    exit(1);
  }
  return bench_now() - t0;
}

static twi_pipeline *start(unsigned port) {
  char text[512];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; metric_buffer_limit = 200000; "
           "metric_batch_size = 1000; };\n"
           "inputs = ( { plugin = \"lines\"; lines = [\"x v=1\"]; } );\n"
           "outputs = ( { plugin = \"prometheus\"; listen = \"127.0.0.1:%u\"; max_series = 0; "
           "expiration_interval = \"0s\"; } );\n",
           port);
  return bench_pipeline(text);
}

static double scrape_ms(unsigned port, bool gzip, size_t *bytes) {
  double best = 1e9, sum = 0;
  for (int i = 0; i < SCRAPES; i++) {
    double t0 = bench_now();
    *bytes = scrape(port, gzip);
    double t = bench_now() - t0;
    sum += t;
    best = t < best ? t : best;
  }
  (void)best;
  return sum / SCRAPES * 1e3;
}

static double scrape_ms_once(unsigned port, bool gzip) {
  double t0 = bench_now();
  scrape(port, gzip);
  return (bench_now() - t0) * 1e3;
}

/* ---- scrapes under a continuous writer ------------------------------------ */

typedef struct writer_arg {
  twi_pipeline *pl;
  int metrics;
  atomic_bool stop;
  double worst, total;
  int flushes;
} writer_arg;

static void *writer_main(void *p) {
  writer_arg *w = p;
  for (int round = 100; !atomic_load(&w->stop); round++) {
    double t = flush(w->pl, w->metrics, round);
    w->worst = t > w->worst ? t : w->worst;
    w->total += t;
    w->flushes++;
  }
  return NULL;
}

static void concurrent(twi_pipeline *pl, unsigned port, int metrics, double idle_ms) {
  writer_arg w = {.pl = pl, .metrics = metrics};
  pthread_t t;
  pthread_create(&t, NULL, writer_main, &w);
  usleep(100000);
  double worst = 0, sum = 0;
  for (int i = 0; i < SCRAPES * 2; i++) {
    double t0 = bench_now();
    scrape(port, false);
    double ms = (bench_now() - t0) * 1e3;
    sum += ms;
    worst = ms > worst ? ms : worst;
  }
  atomic_store(&w.stop, true);
  pthread_join(t, NULL);
  printf("  scrapes during continuous writes: %.1f ms mean, %.1f ms worst (idle: %.1f ms); "
         "writer meanwhile: %d flushes, %.2f us/metric, worst flush %.1f ms\n",
         sum / (SCRAPES * 2), worst, idle_ms, w.flushes, w.total / w.flushes / metrics * 1e6,
         w.worst * 1e3);
}

static void run(int series) {
  int metrics = series / FIELDS;
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port);
  size_t before = mallinfo2().uordblks;
  double insert = flush(pl, metrics, 0);
  size_t after = mallinfo2().uordblks;
  double update = 0;
  for (int r = 1; r <= 5; r++)
    update += flush(pl, metrics, r);
  update /= 5;
  printf("%d series (%d metrics x %d fields):\n", series, metrics, FIELDS);
  printf("  write: %.2f us/metric creating series, %.2f us/metric updating (%.0f ns/series)\n",
         insert / metrics * 1e6, update / metrics * 1e6, update / series * 1e9);
  printf("  memory held: %.0f bytes/series\n", (double)(after - before) / series);
  size_t plain_bytes, gz_bytes;
  double plain = scrape_ms(port, false, &plain_bytes);
  double gz = scrape_ms(port, true, &gz_bytes);
  printf("  scrape: %.1f ms plain (%.1f MB, %.2f us/series), %.1f ms gzip (%.2f MB)\n", plain,
         (double)plain_bytes / 1e6, plain * 1e3 / series, gz, (double)gz_bytes / 1e6);
  double fresh = 0, fresh_gz = 0;
  for (int r = 0; r < 3; r++) {
    flush(pl, metrics, 10 + r);
    fresh += scrape_ms_once(port, false);
    flush(pl, metrics, 20 + r);
    fresh_gz += scrape_ms_once(port, true);
  }
  printf("  scrape right after a flush that updated every series: %.1f ms plain, %.1f ms gzip\n",
         fresh / 3, fresh_gz / 3);
  concurrent(pl, port, metrics, plain);
  twi_pipeline_free(pl);
}

int main(void) {
  printf("outputs.prometheus (Telegraf's prometheus_client: ~7.5 us per added metric):\n");
  run(10000);
  run(100000);
  return 0;
}
