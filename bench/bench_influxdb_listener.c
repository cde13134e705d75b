/* inputs.influxdb_listener benchmark: lines accepted per CPU-second, side
 * by side with influxd 1.x (Debian package influxdb) receiving the same
 * batches on the same machine.
 *
 * A client process (forked, so that its own work is not counted) sends
 * POST /write requests over one keep-alive connection: cpu-like lines (2
 * tags, 10 float fields, Telegraf's inputs.cpu), batches of 1000 and 5000
 * lines, each request with new timestamps (points, never overwrites),
 * plain and gzip-compressed (level 1, as tower's outputs.influxdb sends).
 * The client makes its bodies before the clock starts. The listener runs in
 * this process through the real core, answering
 * once every output buffered the metrics (response_after = "accept"); the
 * record output only buffers during the run. Its CPU time is this
 * process's (getrusage); influxd's is read from /proc/<pid>/stat. The
 * ratio is tower's lines per CPU-second over influxd's.
 * Figures only, never pass/fail. */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <tower/tower.h>

#include "bench_util.h"
#include "../tests/loopback.h"

#define LINES_PER_RUN 200000

static const char *const cpu_fields[10] = {
    "usage_guest", "usage_guest_nice", "usage_idle",  "usage_iowait", "usage_irq",
    "usage_nice",  "usage_softirq",    "usage_steal", "usage_system", "usage_user"};

/* ---- the client (a child process) ------------------------------------------- */

/* Request `r`'s body: `batch` lines with timestamps of their own. */
static void make_body(tower_buf *b, int batch, long r) {
  tower_buf_reset(b);
  for (int i = 0; i < batch; i++) {
    tower_buf_printf(b, "cpu,cpu=cpu%d,host=server%04d.example.com ", i % 64, i / 64);
    for (int k = 0; k < 10; k++)
      tower_buf_printf(b, "%s%s=%.4f", k ? "," : "", cpu_fields[k],
                       (double)((i * 7919 + k * 104729 + r) % 10000) / 97.0);
    tower_buf_printf(b, " %lld\n", 1600000000000000000LL + r * 100000LL + i);
  }
}

static size_t gzip_body(const tower_buf *b, unsigned char **out, size_t *cap) {
  z_stream z = {0};
  deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  size_t need = deflateBound(&z, (uLong)tower_buf_len(b));
  if (need > *cap) {
    *out = realloc(*out, need);
    *cap = need;
  }
  z.next_in = (Bytef *)(uintptr_t)tower_buf_data(b);
  z.avail_in = (uInt)tower_buf_len(b);
  z.next_out = *out;
  z.avail_out = (uInt)need;
  deflate(&z, Z_FINISH);
  size_t len = need - z.avail_out;
  deflateEnd(&z);
  return len;
}

static bool write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w <= 0)
      return false;
    c += w;
    n -= (size_t)w;
  }
  return true;
}

/* Reads one response; true when it is 204. */
static bool read_response(int fd) {
  char buf[8192];
  size_t len = 0;
  char *end = NULL;
  buf[0] = '\0';
  while (!(end = strstr(buf, "\r\n\r\n"))) {
    ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
    if (n <= 0)
      return false;
    len += (size_t)n;
    buf[len] = '\0';
  }
  const char *cl = strstr(buf, "Content-Length: ");
  size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0, have = len - (size_t)(end + 4 - buf);
  while (have < body) { /* an error body: drained */
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0)
      return false;
    have += (size_t)n;
  }
  return strncmp(buf, "HTTP/1.1 204", 12) == 0;
}

/* The child: makes every body first, says so on `ready`, then sends
 * LINES_PER_RUN lines in batches; exits 0 when every request was answered
 * 204. */
static void client(unsigned port, const char *path, int batch, bool gz, int ready) {
  long n = LINES_PER_RUN / batch;
  char **bodies = calloc((size_t)n, sizeof *bodies);
  size_t *lens = calloc((size_t)n, sizeof *lens);
  tower_buf *b = tower_buf_new(1 << 20);
  unsigned char *z = NULL;
  size_t zcap = 0;
  for (long r = 0; r < n; r++) {
    make_body(b, batch, r);
    lens[r] = gz ? gzip_body(b, &z, &zcap) : tower_buf_len(b);
    bodies[r] = malloc(lens[r]);
    memcpy(bodies[r], gz ? (const void *)z : tower_buf_data(b), lens[r]);
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                          .sin_port = htons((uint16_t)port)};
  int one = 1; /* header and body are two writes: no wait for the first one's ACK */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) || write(ready, "r", 1) != 1)
    _exit(2);
  char head[256];
  for (long r = 0; r < n; r++) {
    int hl = snprintf(head, sizeof head,
                      "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n%s\r\n", path,
                      lens[r], gz ? "Content-Encoding: gzip\r\n" : "");
    if (!write_all(fd, head, (size_t)hl) || !write_all(fd, bodies[r], lens[r]) ||
        !read_response(fd))
      _exit(3);
  }
  _exit(0);
}

typedef struct run {
  pid_t pid;
} run;

/* Forks the client; returns once its bodies are made. */
static run run_begin(unsigned port, const char *path, int batch, bool gz) {
  int p[2];
  if (pipe(p))
    bench_die("pipe");
  run r = {.pid = fork()};
  if (r.pid == 0) {
    close(p[0]);
    client(port, path, batch, gz, p[1]);
  }
  close(p[1]);
  char c;
  if (read(p[0], &c, 1) != 1)
    bench_die("the client did not start");
  close(p[0]);
  return r;
}

/* Waits for the client; false unless every request was answered 204. */
static bool run_end(run r) {
  int st = 0;
  waitpid(r.pid, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ---- CPU time ------------------------------------------------------------------- */

static double self_cpu(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static double proc_cpu(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f)
    fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')');
  unsigned long ut = 0, stime = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stime) != 2)
    return 0;
  return (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- the two servers ------------------------------------------------------------------ */

typedef struct figure {
  double per_cpu, per_wall;
} figure;

static figure tower_run(twi_pipeline *pl, unsigned port, int batch, bool gz) {
  run r = run_begin(port, "/write?db=bench", batch, gz);
  double c0 = self_cpu(), t0 = bench_now();
  bool ok = run_end(r);
  double wall = bench_now() - t0, cpu = self_cpu() - c0;
  if (!ok)
    bench_die("a write to the listener was not answered 204");
  twi_output_flush_sync(pl->outputs[0]); /* empties the buffer, outside the figures */
  return (figure){LINES_PER_RUN / cpu, LINES_PER_RUN / wall};
}

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

static void create_db(unsigned port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                          .sin_port = htons((uint16_t)port)};
  static const char req[] = "POST /query?q=CREATE+DATABASE+bench HTTP/1.0\r\n\r\n";
  char buf[512];
  if (connect(fd, (struct sockaddr *)&a, sizeof a) || write(fd, req, sizeof req - 1) < 0 ||
      read(fd, buf, sizeof buf) <= 0)
    bench_die("CREATE DATABASE on influxd failed");
  close(fd);
}

static pid_t start_influxd(const char *influxd, const char *dir, unsigned *port) {
  char conf[600], path[300];
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
    bench_die("cannot write influxdb.conf");
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

static figure influxd_run(pid_t pid, unsigned port, int batch, bool gz) {
  run r = run_begin(port, "/write?db=bench", batch, gz);
  double c0 = proc_cpu(pid), t0 = bench_now();
  bool ok = run_end(r);
  double wall = bench_now() - t0, cpu = proc_cpu(pid) - c0;
  if (!ok)
    bench_die("a write to influxd was not answered 204");
  return (figure){LINES_PER_RUN / cpu, LINES_PER_RUN / wall};
}

int main(void) {
  unsigned port = loopback_unused_port();
  char text[1024];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; metric_buffer_limit = %d; };\n"
           "inputs = ( { plugin = \"influxdb_listener\"; service_address = \"127.0.0.1:%u\"; "
           "log_level = \"warn\"; } );\n"
           "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
           LINES_PER_RUN * 2, port);
  twi_pipeline *pl = bench_pipeline(text);
  if (twi_input_start(pl->inputs[0], pl))
    bench_die("the listener did not start");
  const char *influxd = getenv("INFLUXD") ? getenv("INFLUXD") : "/usr/bin/influxd";
  char dir[] = "/tmp/tower-bench-influxd.XXXXXX";
  unsigned iport = 0;
  pid_t ipid = access(influxd, X_OK) == 0 && mkdtemp(dir) ? start_influxd(influxd, dir, &iport) : 0;
  bool have_influxd = ipid > 0 && ping(iport);
  if (have_influxd)
    create_db(iport);
  else
    printf("  (no influxd: install the influxdb package for the side-by-side figures)\n");

  tower_run(pl, port, 1000, false); /* warm-up: the pool and buffers grow once */
  printf("inputs.influxdb_listener vs influxd 1.x: %d cpu lines (2 tags, 10 fields) per run, one "
         "keep-alive client\n",
         LINES_PER_RUN);
  printf("%-18s %16s %16s %16s %16s %8s\n", "batch", "tower lines/cpu-s", "tower lines/s",
         "influxd lines/cpu-s", "influxd lines/s", "ratio");
  static const int batches[] = {1000, 5000};
  for (int b = 0; b < 2; b++) {
    for (int gz = 0; gz < 2; gz++) {
      figure t = tower_run(pl, port, batches[b], gz);
      figure i = have_influxd ? influxd_run(ipid, iport, batches[b], gz) : (figure){0, 0};
      char name[32];
      snprintf(name, sizeof name, "%d%s", batches[b], gz ? " gzip" : "");
      printf("%-18s %16.0f %16.0f %16.0f %16.0f %7.1fx\n", name, t.per_cpu, t.per_wall, i.per_cpu,
             i.per_wall, i.per_cpu > 0 ? t.per_cpu / i.per_cpu : 0);
    }
  }
  twi_input_stop(pl->inputs[0], tower_mono_ns() + 5000000000LL);
  twi_pipeline_free(pl);
  if (ipid > 0) {
    kill(ipid, SIGTERM);
    waitpid(ipid, NULL, 0);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
      fprintf(stderr, "bench_influxdb_listener: could not remove %s\n", dir);
  }
  return 0;
}
