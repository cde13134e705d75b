/* outputs.influxdb benchmark:
 * - the request body: cpu-like metrics (2 tags, 10 float fields, Telegraf's
 *   inputs.cpu) serialized with tower_lp_write into a reused buffer and
 *   gzip-compressed with the plugin's settings, batches of 1000 and 5000,
 *   at gzip levels 1 (the plugin's) and 6 (zlib's default), for the ratio;
 * - the plugin's whole write path through the real core (grouping,
 *   serialize, gzip, libcurl POST with keep-alive) into a loopback sink
 *   that answers 204 at once: the cost on tower's side;
 * - end to end into a local influxd (Debian package influxdb), started here
 *   on free loopback ports with a temporary directory, when /usr/bin/influxd
 *   (or $INFLUXD) exists: metrics/s the server accepts.
 * Figures only, never pass/fail. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <tower/tower.h>

#include "bench_util.h"
#include "../tests/loopback.h"

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

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* ---- serialize + gzip --------------------------------------------------------- */

static void body_cost(int batch, int level) {
  tower_metric **ms = malloc((size_t)batch * sizeof *ms);
  for (int i = 0; i < batch; i++)
    ms[i] = cpu_metric(i, 1700000000000000000LL + i);
  tower_buf *lp = tower_buf_new(1 << 20);
  z_stream z = {0};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    die("deflateInit2");
  size_t cap = 0, gz_len = 0;
  unsigned char *gz = NULL;
  double t0 = bench_now(), ser = 0;
  long rounds = 0;
  while (bench_now() - t0 < 1.0) {
    double s0 = bench_now();
    tower_buf_reset(lp);
    for (int i = 0; i < batch; i++)
      tower_lp_write(ms[i], lp, 0, 1);
    ser += bench_now() - s0;
    deflateReset(&z);
    size_t need = deflateBound(&z, (uLong)tower_buf_len(lp));
    if (need > cap && !(gz = realloc(gz, cap = need)))
      die("realloc");
    z.next_in = (Bytef *)(uintptr_t)tower_buf_data(lp);
    z.avail_in = (uInt)tower_buf_len(lp);
    z.next_out = gz;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
      die("deflate");
    gz_len = cap - z.avail_out;
    rounds++;
  }
  double all = bench_now() - t0, n = (double)rounds * batch;
  printf(
      "  batch %5d, gzip level %d: %9.0f metrics/s serialized+gzipped (%.0f metrics/s "
      "serializing alone), %.1f MB/s of line protocol, %.0f B/metric -> %.0f B/metric (%.1f:1)\n",
      batch, level, n / all, n / ser, (double)tower_buf_len(lp) * rounds / all / 1e6,
      (double)tower_buf_len(lp) / batch, (double)gz_len / batch,
      (double)tower_buf_len(lp) / (double)gz_len);
  deflateEnd(&z);
  free(gz);
  tower_buf_free(lp);
  for (int i = 0; i < batch; i++)
    tower_metric_free(ms[i]);
  free(ms);
}

/* ---- a sink that answers every request with 204 -------------------------------- */

typedef struct sink {
  int fd;
  unsigned port;
  pthread_t thread;
  long requests;
  double bytes;
} sink;

static size_t content_length(const char *head) {
  const char *p = strcasestr(head, "\r\nContent-Length:");
  return p ? (size_t)strtoull(p + 17, NULL, 10) : 0;
}

/* Serves one keep-alive connection until the client closes it. */
static void serve(sink *s, int c) {
  static char buf[1 << 16], drain[1 << 16];
  size_t have = 0;
  for (;;) {
    char *end;
    while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
      ssize_t n = have < sizeof buf - 1 ? read(c, buf + have, sizeof buf - 1 - have) : -1;
      if (n <= 0)
        return;
      have += (size_t)n;
    }
    size_t head = (size_t)(end + 4 - buf);
    *end = '\0';
    size_t body = content_length(buf), inbuf = have - head;
    size_t left = body > inbuf ? body - inbuf : 0, extra = inbuf > body ? inbuf - body : 0;
    memmove(buf, buf + head + body, extra);
    have = extra;
    while (left) {
      ssize_t n = read(c, drain, left < sizeof drain ? left : sizeof drain);
      if (n <= 0)
        return;
      left -= (size_t)n;
    }
    s->requests++;
    s->bytes += (double)body;
    static const char reply[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
    if (write(c, reply, sizeof reply - 1) < 0)
      return;
  }
}

static void *sink_main(void *arg) {
  sink *s = arg;
  for (;;) {
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
      return NULL;
    serve(s, c);
    close(c);
  }
}

/* ---- through the plugin ----------------------------------------------------------- */

static twi_pipeline *influx_pipeline(unsigned port, int batch, const char *extra) {
  char text[1024];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; metric_buffer_limit = 1000000; "
           "metric_batch_size = %d; };\n"
           "inputs = ( { plugin = \"lines\"; precision = \"1ns\"; lines = [\"x v=1\"]; } );\n"
           "outputs = ( { plugin = \"influxdb\"; urls = [\"http://127.0.0.1:%u\"]; "
           "database = \"bench\"; timeout = \"30s\"; %s } );\n",
           batch, port, extra);
  return bench_pipeline(text);
}

static void gather(twi_pipeline *pl, int n, int64_t t) {
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, false);
  twi_acc_begin(acc, t);
  for (int i = 0; i < n; i++)
    tower_acc_add(acc, cpu_metric(i, t + i));
  tower_acc_commit(acc);
  twi_acc_free(acc);
}

/* Flushes `rounds` gathers of n metrics; returns metrics/s of the flushes. */
static double flush_rate(twi_pipeline *pl, int n, int rounds, int64_t t0) {
  double spent = 0;
  for (int r = 0; r < rounds; r++) {
    gather(pl, n, t0 + (int64_t)r * 1000000000LL);
    double s = bench_now();
    if (twi_output_flush_sync(pl->outputs[0])) {
      fprintf(stderr, "bench_influxdb: metrics left unwritten\n");
      exit(1);
    }
    spent += bench_now() - s;
  }
  return (double)n * rounds / spent;
}

static void through_sink(int batch) {
  sink s = {0};
  s.fd = loopback_listen(&s.port);
  if (s.fd < 0)
    die("listen");
  pthread_create(&s.thread, NULL, sink_main, &s);
  twi_pipeline *pl = influx_pipeline(s.port, batch, "");
  flush_rate(pl, batch, 2, 1600000000000000000LL); /* warm-up: buffers grow once */
  long req0 = s.requests;
  double bytes0 = s.bytes;
  int rounds = batch >= 5000 ? 20 : 50;
  double rate = flush_rate(pl, batch * 5, rounds, 1700000000000000000LL);
  printf("  batch %5d: %9.0f metrics/s through the plugin into a 204 sink (%.0f B/metric "
         "gzipped on the wire, %ld requests)\n",
         batch, rate, (s.bytes - bytes0) / ((double)batch * 5 * rounds), s.requests - req0);
  twi_pipeline_free(pl);
  shutdown(s.fd, SHUT_RDWR);
  close(s.fd);
  pthread_join(s.thread, NULL);
}

/* ---- a local influxd ----------------------------------------------------------------- */

static bool ping(unsigned port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                          .sin_port = htons((uint16_t)port)};
  bool ok = false;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
    static const char req[] = "GET /ping HTTP/1.0\r\n\r\n";
    char buf[64] = {0};
    if (write(fd, req, sizeof req - 1) > 0 && read(fd, buf, sizeof buf - 1) > 0)
      ok = strstr(buf, " 204 ") != NULL;
  }
  close(fd);
  return ok;
}

static pid_t start_influxd(const char *influxd, const char *dir, unsigned *port) {
  char conf[512], path[300];
  *port = loopback_unused_port();
  snprintf(path, sizeof path, "%s/influxdb.conf", dir);
  snprintf(conf, sizeof conf,
           "reporting-disabled = true\nbind-address = \"127.0.0.1:%u\"\n"
           "[meta]\n  dir = \"%s/meta\"\n[data]\n  dir = \"%s/data\"\n  wal-dir = \"%s/wal\"\n"
           "  query-log-enabled = false\n[monitor]\n  store-enabled = false\n"
           "[http]\n  bind-address = \"127.0.0.1:%u\"\n  log-enabled = false\n",
           loopback_unused_port(), dir, dir, dir, *port);
  FILE *f = fopen(path, "w");
  if (!f || fputs(conf, f) < 0 || fclose(f))
    die(path);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(influxd, influxd, "-config", path, (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 300 && !ping(*port); i++)
    usleep(100000);
  return pid;
}

static void into_influxd(void) {
  const char *influxd = getenv("INFLUXD") ? getenv("INFLUXD") : "/usr/bin/influxd";
  if (access(influxd, X_OK) != 0) {
    printf("  (no %s: install the influxdb package for the end-to-end figures)\n", influxd);
    return;
  }
  char dir[] = "/tmp/tower-bench-influxd.XXXXXX";
  if (!mkdtemp(dir))
    die("mkdtemp");
  unsigned port;
  pid_t pid = start_influxd(influxd, dir, &port);
  if (!ping(port)) {
    printf("  (influxd did not start)\n");
  } else {
    static const int batches[] = {1000, 5000};
    for (int b = 0; b < 2; b++) {
      twi_pipeline *pl = influx_pipeline(port, batches[b], "");
      flush_rate(pl, batches[b], 1, 1500000000000000000LL + b * 100000000000LL);
      /* New timestamps every round: points, not overwrites. */
      double rate = flush_rate(pl, batches[b] * 4, 10, 1700000000000000000LL + b * 100000000000LL);
      printf("  batch %5d: %9.0f metrics/s stored by influxd %s (gzip, keep-alive)\n", batches[b],
             rate, "1.x on loopback");
      twi_pipeline_free(pl);
    }
  }
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "bench_influxdb: could not remove %s\n", dir);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  printf("outputs.influxdb: request bodies (cpu metrics: 2 tags, 10 float fields):\n");
  body_cost(1000, 1);
  body_cost(5000, 1);
  body_cost(5000, 6);
  printf("outputs.influxdb: write path through the core and libcurl:\n");
  through_sink(1000);
  through_sink(5000);
  printf("outputs.influxdb: end to end into a local influxd:\n");
  into_influxd();
  return 0;
}
