/* outputs.prometheus scrapes as a real Prometheus sees them: the tower
 * daemon (a separate process, so its CPU and memory are its own) holds
 * 10k and 100k series fed by inputs.exec (`cat` of line protocol: 3 tags,
 * 4 float fields, 4 series per metric) and is scraped over kept-alive
 * HTTP/1.1 connections on 127.0.0.1 by 1 and then 8 concurrent scrapers,
 * plain and gzip. Printed per case: latency p50/p99 (request to last
 * byte), the agent's CPU per scrape (all its threads, from
 * /proc/PID/task/TID/schedstat, in ns), its RSS after the case, and beside
 * them two floors for the same bytes: a memcpy, and a trivial server in
 * this program that writes them from a ready buffer to the same kept-alive
 * client over loopback (what any server pays the kernel for the copy).
 *
 * Comparisons, each optional:
 * - BENCH_PROM_BEFORE names a plugin directory (outputs/prometheus.so and
 *   inputs/exec.so) of another build, e.g. the plugin as on main: the same
 *   cases run against it in the same run (bench/README.md).
 * - FLUENT_BIT names a fluent-bit binary with prometheus_scrape and
 *   prometheus_exporter: it scrapes tower's endpoint once (the same series)
 *   and serves them again; its endpoint is scraped the same way (it
 *   answers with a chunked body and never compresses: no gzip cases).
 * TOWER names the daemon (default ./tower, the build directory's). Figures
 * only. */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "../tests/loopback.h"

#define FIELDS 4
#define MAX_SCRAPERS 8

/* ---- one kept-alive HTTP/1.1 scraper ----------------------------------------- */

typedef struct conn {
  int fd;
  char *buf; /* the last body */
  size_t cap, len;
  bool gzipped;   /* the last answer had Content-Encoding: gzip */
  char in[16384]; /* read ahead of the headers and chunk lines */
  size_t in_pos, in_len;
} conn;

static int conn_open(conn *c, unsigned port) {
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                          .sin_port = htons((uint16_t)port)};
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a)) {
    close(c->fd);
    return -1;
  }
  return 0;
}

static void conn_close(conn *c) {
  close(c->fd);
  free(c->buf);
}

static void reserve(conn *c, size_t need) {
  if (need <= c->cap)
    return;
  c->cap = need * 2;
  if (!(c->buf = realloc(c->buf, c->cap)))
    bench_die("out of memory");
}

/* n bytes into dst: what was read ahead first, then straight from the
 * socket (a body is not copied twice). 0 or -1. */
static int recv_exact(conn *c, char *dst, size_t n) {
  size_t ahead = c->in_len - c->in_pos, k = ahead < n ? ahead : n;
  memcpy(dst, c->in + c->in_pos, k);
  c->in_pos += k;
  for (size_t have = k; have < n;) {
    ssize_t got = read(c->fd, dst + have, n - have);
    if (got <= 0)
      return -1;
    have += (size_t)got;
  }
  return 0;
}

/* One line without its CRLF, NUL-terminated. 0 or -1. */
static int recv_line(conn *c, char *line, size_t cap) {
  for (size_t n = 0;;) {
    if (c->in_pos == c->in_len) {
      ssize_t got = read(c->fd, c->in, sizeof c->in);
      if (got <= 0)
        return -1;
      c->in_pos = 0;
      c->in_len = (size_t)got;
    }
    char ch = c->in[c->in_pos++];
    if (ch == '\n') {
      line[n && line[n - 1] == '\r' ? n - 1 : n] = '\0';
      return 0;
    }
    if (n + 1 >= cap)
      return -1;
    line[n++] = ch;
  }
}

/* A chunked body (Fluent Bit's exporter answers so), trailers skipped. */
static int recv_chunked(conn *c) {
  char line[256];
  c->len = 0;
  for (;;) {
    if (recv_line(c, line, sizeof line))
      return -1;
    char *end;
    size_t n = strtoul(line, &end, 16);
    if (end == line)
      return -1;
    if (n == 0)
      break;
    reserve(c, c->len + n + 1);
    if (recv_exact(c, c->buf + c->len, n) || recv_line(c, line, sizeof line) || line[0])
      return -1;
    c->len += n;
  }
  do /* trailers, up to the empty line */
    if (recv_line(c, line, sizeof line))
      return -1;
  while (line[0]);
  return 0;
}

/* One GET over the connection: the body lands in c->buf. 0 or -1. */
static int get(conn *c, const char *path, bool gzip) {
  char req[256];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", path,
                   gzip ? "Accept-Encoding: gzip\r\n" : "");
  if (write(c->fd, req, (size_t)n) != n)
    return -1;
  char line[1024];
  if (recv_line(c, line, sizeof line) || strncmp(line, "HTTP/1.1 200", 12) != 0)
    return -1;
  long length = -1;
  bool chunked = false;
  c->gzipped = false;
  while (recv_line(c, line, sizeof line) == 0 && line[0]) {
    if (strncasecmp(line, "Content-Length:", 15) == 0)
      length = strtol(line + 15, NULL, 10);
    else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0)
      chunked = strcasestr(line + 18, "chunked") != NULL;
    else if (strncasecmp(line, "Content-Encoding:", 17) == 0)
      c->gzipped = strcasestr(line + 17, "gzip") != NULL;
  }
  if (line[0])
    return -1; /* the connection ended inside the headers */
  if (chunked)
    return recv_chunked(c);
  if (length < 0)
    return -1;
  reserve(c, (size_t)length + 1);
  c->len = (size_t)length;
  return recv_exact(c, c->buf, c->len);
}

/* ---- the agent's own figures ----------------------------------------------------- */

/* CPU ns of every thread of pid (schedstat: time on CPU, ns). Threads that
 * ended are not counted: the daemon's threads live as long as it does. */
static double cpu_ns(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  double total = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    if (e->d_name[0] == '.')
      continue;
    char p[300];
    snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
    FILE *f = fopen(p, "r");
    unsigned long long ns = 0;
    if (f && fscanf(f, "%llu", &ns) == 1)
      total += (double)ns;
    if (f)
      fclose(f);
  }
  if (d)
    closedir(d);
  return total;
}

static double rss_mb(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  double kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %lf", &kb) == 1)
      break;
  if (f)
    fclose(f);
  return kb / 1024;
}

/* ---- cases --------------------------------------------------------------------- */

typedef struct scraper {
  pthread_t t;
  unsigned port;
  const char *path;
  bool gzip;
  int n;
  double *ms; /* n latencies */
  size_t bytes;
  int failed;
} scraper;

static void *scraper_main(void *p) {
  scraper *s = p;
  conn c = {0};
  if (conn_open(&c, s->port)) {
    s->failed = 1;
    return NULL;
  }
  for (int i = 0; i < s->n && !s->failed; i++) {
    double t0 = bench_now();
    s->failed = get(&c, s->path, s->gzip) != 0;
    s->ms[i] = (bench_now() - t0) * 1e3;
  }
  s->bytes = c.len;
  conn_close(&c);
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p) {
  qsort(v, n, sizeof *v, cmp_double);
  return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

/* `scrapers` kept-alive scrapers, `n` scrapes each, concurrently; pid 0:
 * the server is this program (no CPU or RSS of its own to show). */
static void run_case(const char *who, pid_t pid, unsigned port, const char *path, int scrapers,
                     int n, bool gzip) {
  scraper s[MAX_SCRAPERS];
  double *all = malloc((size_t)scrapers * (size_t)n * sizeof *all);
  double cpu0 = pid ? cpu_ns(pid) : 0, t0 = bench_now();
  for (int i = 0; i < scrapers; i++) {
    s[i] = (scraper){.port = port, .path = path, .gzip = gzip, .n = n, .ms = all + i * n};
    pthread_create(&s[i].t, NULL, scraper_main, &s[i]);
  }
  int failed = 0;
  for (int i = 0; i < scrapers; i++) {
    pthread_join(s[i].t, NULL);
    failed |= s[i].failed;
  }
  double wall = bench_now() - t0, cpu = pid ? cpu_ns(pid) - cpu0 : 0;
  if (failed)
    bench_die("a scrape failed (no 200 with a Content-Length or a chunked body, or the "
              "connection closed)");
  size_t total = (size_t)scrapers * (size_t)n;
  double p50 = pct(all, total, 0.5), p99 = pct(all, total, 0.99);
  char cpu_col[16] = "-", rss_col[16] = "-";
  if (pid) {
    snprintf(cpu_col, sizeof cpu_col, "%.3f", cpu / (double)total / 1e6);
    snprintf(rss_col, sizeof rss_col, "%.1f", rss_mb(pid));
  }
  printf("  %-9s %d scraper%s %-5s %8.2f %8.2f %9s %8.1f %9s %8.2f\n", who, scrapers,
         scrapers > 1 ? "s" : " ", gzip ? "gzip" : "plain", p50, p99, cpu_col, (double)total / wall,
         rss_col, (double)s[0].bytes / 1e6);
  free(all);
}

static void header(void) {
  printf("  %-9s %-16s %8s %8s %9s %8s %9s %8s\n", "agent", "case", "p50 ms", "p99 ms", "cpu ms/sc",
         "scr/s", "RSS MB", "body MB");
}

/* memcpy of len bytes between warm buffers: the p50 of 21, in ms. */
static double memcpy_ms(size_t len) {
  char *a = malloc(len), *b = malloc(len);
  memset(a, 'x', len);
  memset(b, 'y', len);
  double v[21];
  for (int i = 0; i < 21; i++) {
    double t0 = bench_now();
    memcpy(b, a, len);
    __asm__ volatile("" : : "r"(b) : "memory");
    v[i] = (bench_now() - t0) * 1e3;
  }
  free(a);
  free(b);
  return pct(v, 21, 0.5);
}

/* ---- the floor: a ready buffer written to the socket ------------------------ */

typedef struct floor_server {
  int fd;
  const char *body;
  size_t len;
} floor_server;

typedef struct floor_conn {
  const floor_server *srv;
  int fd;
} floor_conn;

static bool write_all(int fd, const char *p, size_t len) {
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n <= 0)
      return false;
    p += n;
    len -= (size_t)n;
  }
  return true;
}

/* Answers every request on one connection with the body. */
static void *floor_conn_main(void *p) {
  floor_conn *fc = p;
  char req[4096], head[128];
  size_t have = 0;
  int hl =
      snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", fc->srv->len);
  for (ssize_t n; (n = read(fc->fd, req + have, sizeof req - 1 - have)) > 0;) {
    have += (size_t)n;
    req[have] = '\0';
    char *end = strstr(req, "\r\n\r\n");
    if (!end)
      continue;
    have = 0; /* one request at a time: the client waits for each answer */
    if (!write_all(fc->fd, head, (size_t)hl) || !write_all(fc->fd, fc->srv->body, fc->srv->len))
      break;
  }
  close(fc->fd);
  free(fc);
  return NULL;
}

static void *floor_main(void *p) {
  floor_server *srv = p;
  for (int fd; (fd = accept(srv->fd, NULL, NULL)) >= 0;) {
    floor_conn *fc = malloc(sizeof *fc);
    *fc = (floor_conn){.srv = srv, .fd = fd};
    pthread_t t;
    pthread_create(&t, NULL, floor_conn_main, fc);
    pthread_detach(t);
  }
  return NULL;
}

/* The same cases against the trivial server sending body. */
static void floor_run(const char *body, size_t len, int n) {
  floor_server srv = {.fd = socket(AF_INET, SOCK_STREAM, 0), .body = body, .len = len};
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (bind(srv.fd, (struct sockaddr *)&a, sizeof a) || listen(srv.fd, 16) ||
      getsockname(srv.fd, (struct sockaddr *)&a, &al))
    bench_die("cannot listen on 127.0.0.1");
  pthread_t t;
  pthread_create(&t, NULL, floor_main, &srv);
  run_case("write()", 0, ntohs(a.sin_port), "/", 1, n, false);
  run_case("write()", 0, ntohs(a.sin_port), "/", MAX_SCRAPERS, n, false);
  shutdown(srv.fd, SHUT_RDWR);
  pthread_join(t, NULL);
  close(srv.fd);
}

/* ---- processes ------------------------------------------------------------------- */

static pid_t spawn(char *const argv[], const char *plugin_dir) {
  fflush(NULL); /* or the child's freopen writes our buffered lines again */
  pid_t pid = fork();
  if (pid == 0) {
    if (plugin_dir)
      setenv("TOWER_PLUGIN_DIR", plugin_dir, 1);
    FILE *null = freopen("/dev/null", "w", stdout);
    (void)null;
    null = freopen("/dev/null", "w", stderr);
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

static void stop(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

/* Scrapes until the body holds `want` (or 60 s pass). */
static bool wait_for(pid_t pid, unsigned port, const char *path, const char *want) {
  for (double t0 = bench_now(); bench_now() - t0 < 60; usleep(50000)) {
    if (waitpid(pid, NULL, WNOHANG) == pid)
      return false;
    conn c = {0};
    if (conn_open(&c, port) == 0 && get(&c, path, false) == 0) {
      c.buf[c.len] = '\0';
      bool ok = strstr(c.buf, want) != NULL;
      conn_close(&c);
      if (ok)
        return true;
      continue;
    }
    conn_close(&c);
  }
  return false;
}

static char *write_file(const char *dir, const char *name, const char *text) {
  char *path;
  if (asprintf(&path, "%s/%s", dir, name) < 0)
    bench_die("out of memory");
  FILE *f = fopen(path, "w");
  if (!f || fputs(text, f) < 0 || fclose(f))
    bench_die("cannot write the benchmark's files");
  return path;
}

/* Line protocol of `metrics` metrics: FIELDS series each. */
static char *write_lines(const char *dir, int metrics) {
  char *path;
  if (asprintf(&path, "%s/series.lp", dir) < 0)
    bench_die("out of memory");
  FILE *f = fopen(path, "w");
  for (int i = 0; f && i < metrics; i++)
    fprintf(f,
            "net,interface=eth%d,host=web%05d.example.com,dc=%s rx_bytes=%.3f,tx_bytes=%.3f,"
            "rx_errors=%.3f,latency=%.3f\n",
            i % 64, i / 64, i % 2 ? "seoul" : "busan", i * 31 * 0.173, (i * 31 + 1) * 0.173,
            (i * 31 + 2) * 0.173, (i * 31 + 3) * 0.173);
  if (!f || fclose(f))
    bench_die("cannot write the line protocol");
  return path;
}

/* True when the server at port answers a gzip request compressed. */
static bool compresses(unsigned port, const char *path) {
  conn c = {0};
  bool yes = conn_open(&c, port) == 0 && get(&c, path, true) == 0 && c.gzipped;
  conn_close(&c);
  return yes;
}

static void cases(const char *who, pid_t pid, unsigned port, const char *path, int n) {
  bool gzip = compresses(port, path);
  run_case(who, pid, port, path, 1, n, false);
  if (gzip)
    run_case(who, pid, port, path, 1, n, true);
  run_case(who, pid, port, path, MAX_SCRAPERS, n, false);
  if (gzip)
    run_case(who, pid, port, path, MAX_SCRAPERS, n, true);
  else
    printf("  %-9s does not compress (no Content-Encoding: gzip): no gzip cases\n", who);
}

/* One tower with the plugins of plugin_dir (NULL: TOWER_PLUGIN_DIR). */
static void tower_run(const char *who, const char *dir, const char *lines, int series,
                      const char *plugin_dir, int n, unsigned *port_out, pid_t *pid_out) {
  unsigned port = loopback_unused_port();
  char conf[1024], want[64];
  snprintf(conf, sizeof conf,
           "agent = { omit_hostname = true; round_interval = false; flush_interval = \"100ms\"; "
           "metric_batch_size = 5000; metric_buffer_limit = 200000; };\n"
           "inputs = ( { plugin = \"exec\"; commands = ([\"/bin/cat\", \"%s\"]); "
           "data_format = \"influx\"; interval = \"1h\"; max_output = \"64MiB\"; } );\n"
           "outputs = ( { plugin = \"prometheus\"; listen = \"127.0.0.1:%u\"; max_series = 0; "
           "expiration_interval = \"0s\"; } );\n",
           lines, port);
  char *cpath = write_file(dir, "tower.conf", conf);
  const char *tower = getenv("TOWER") ? getenv("TOWER") : "./tower";
  char *argv[] = {(char *)tower, "--config", cpath, NULL};
  pid_t pid = spawn(argv, plugin_dir);
  snprintf(want, sizeof want, "\ntower_prometheus_series %d\n", series);
  if (!wait_for(pid, port, "/metrics", want))
    bench_die("tower did not serve every series in 60 s (run it with this config to see why)");
  cases(who, pid, port, "/metrics", n);
  free(cpath);
  *port_out = port;
  *pid_out = pid;
}

/* True when `fb -h` lists both plugins the comparison needs. */
static bool fluent_has_plugins(const char *fb) {
  char cmd[512], line[256];
  snprintf(cmd, sizeof cmd, "'%s' -h 2>&1", fb);
  FILE *p = popen(cmd, "r");
  bool scrape = false, exporter = false;
  while (p && fgets(line, sizeof line, p)) {
    scrape |= strstr(line, "prometheus_scrape") != NULL;
    exporter |= strstr(line, "prometheus_exporter") != NULL;
  }
  if (p)
    pclose(p);
  return scrape && exporter;
}

/* Fluent Bit scrapes tower once and serves the same series. Its
 * prometheus_scrape scrapes first one scrape_interval after its start, so
 * the interval is 1 s and tower (tower_pid) stops once the series are
 * there: the later scrapes are refused at connect, which costs Fluent Bit
 * about 0.5 ms of CPU a second (measured idle, its housekeeping included),
 * and its exporter keeps serving the last series. */
static void fluent_run(const char *fb, const char *dir, unsigned tower_port, pid_t tower_pid,
                       int n) {
  if (!fluent_has_plugins(fb)) {
    printf("  fluent-bit: %s lacks prometheus_scrape or prometheus_exporter (build it with "
           "-DFLB_IN_PROMETHEUS_SCRAPE=On -DFLB_OUT_PROMETHEUS_EXPORTER=On): skipped\n",
           fb);
    stop(tower_pid);
    return;
  }
  unsigned port = loopback_unused_port();
  char conf[1024];
  snprintf(conf, sizeof conf,
           "[SERVICE]\n    flush 1\n    log_level error\n"
           "[INPUT]\n    name prometheus_scrape\n    host 127.0.0.1\n    port %u\n"
           "    metrics_path /metrics\n    scrape_interval 1s\n"
           "[OUTPUT]\n    name prometheus_exporter\n    match *\n    host 127.0.0.1\n"
           "    port %u\n",
           tower_port, port);
  char *cpath = write_file(dir, "fluent-bit.conf", conf);
  char *argv[] = {(char *)fb, "-c", cpath, NULL};
  pid_t pid = spawn(argv, NULL);
  bool ready = wait_for(pid, port, "/metrics", "net_latency");
  stop(tower_pid);
  if (!ready)
    printf("  fluent-bit: no series on its exporter after 60 s: skipped (run it with this "
           "configuration to see why):\n%s",
           conf);
  else
    cases("fluentbit", pid, port, "/metrics", n);
  stop(pid);
  free(cpath);
}

static void run(const char *dir, int series, int n) {
  int metrics = series / FIELDS;
  char *lines = write_lines(dir, metrics);
  printf("%d series (%d metrics x %d fields), %d scrapes per scraper:\n", series, metrics, FIELDS,
         n);
  header();
  unsigned port;
  pid_t pid;
  const char *before = getenv("BENCH_PROM_BEFORE");
  if (before && *before) {
    tower_run("before", dir, lines, series, before, n, &port, &pid);
    stop(pid);
  }
  tower_run("tower", dir, lines, series, NULL, n, &port, &pid);
  conn c = {0};
  if (conn_open(&c, port) || get(&c, "/metrics", false))
    bench_die("scrape failed");
  printf("  memcpy of the same %.2f MB: %.3f ms; the same bytes written from a ready buffer:\n",
         (double)c.len / 1e6, memcpy_ms(c.len));
  floor_run(c.buf, c.len, n);
  conn_close(&c);
  const char *fb = getenv("FLUENT_BIT");
  if (fb && *fb)
    fluent_run(fb, dir, port, pid, n);
  else
    stop(pid);
  unlink(lines);
  free(lines);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  char tmpl[] = "/tmp/bench_prom_scrape.XXXXXX";
  const char *dir = mkdtemp(tmpl);
  if (!dir)
    bench_die("mkdtemp failed");
  printf("outputs.prometheus scrapes (kept-alive HTTP/1.1 on 127.0.0.1; latency = request "
         "to last byte;\ncpu = the agent's CPU per scrape; RSS after the case):\n");
  run(dir, 10000, 200);
  run(dir, 100000, 40);
  char *p;
  if (asprintf(&p, "%s/tower.conf", dir) >= 0) {
    unlink(p);
    free(p);
  }
  if (asprintf(&p, "%s/fluent-bit.conf", dir) >= 0) {
    unlink(p);
    free(p);
  }
  rmdir(dir);
  return 0;
}
