/* inputs.http_response: probes per second and tower's CPU time per probe,
 * the plugin's gather (through the core's accumulator) against a local
 * libmicrohttpd server that answers every request at once with a 3-byte
 * body, over plain HTTP and HTTPS:
 *   - 1 URL per gather (each probe waits for its answer: latency);
 *   - 16 and 64 URLs per gather (probed at once: throughput);
 *   - 16 URLs with response_string_match (the body kept and matched);
 *   - HTTPS, 16 URLs per gather (a TLS handshake per probe);
 * and, as the floor, libcurl alone: one blocking curl_easy_perform per
 * request on a new connection, nothing else (what the plugin adds is the
 * difference).
 *
 * The server runs in a child process, so that getrusage(RUSAGE_SELF) of
 * this one is tower's CPU alone. The certificates are made with the
 * openssl command (tests/fixtures/certs).
 *
 * Usage: bench_http_response [gathers of 1 URL, default 2000] */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "bench_util.h"
#include "fixtures/certs/certs.h"
#include "loopback.h"

static char certdir[] = "/tmp/tower-bench-http.XXXXXX";
static pid_t server = -1;

static void fail(const char *what) __attribute__((noreturn));
static void fail(const char *what) {
  fprintf(stderr, "bench_http_response: %s\n", what);
  if (server > 0)
    kill(server, SIGTERM);
  exit(1);
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void report(const char *name, double wall, double cpu, long probes) {
  printf("%-46s %10.0f %10.1f %10.1f\n", name, (double)probes / wall, wall * 1e6 / (double)probes,
         cpu * 1e6 / (double)probes);
}

/* ---- the server (child process) ---------------------------------------------------------- */

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state) {
  (void)url, (void)method, (void)version, (void)upload, (void)upload_size, (void)state;
  return MHD_queue_response(c, MHD_HTTP_OK, cls);
}

/* Serves on the two listening sockets until killed: plain HTTP on `fd`,
 * HTTPS on `tls_fd`. Two threads each. */
static void serve(int fd, int tls_fd) {
  char *cert = certs_read(certdir, "server.pem"), *key = certs_read(certdir, "server.key");
  struct MHD_Response *r =
      MHD_create_response_from_buffer(3, (void *)"ok\n", MHD_RESPMEM_PERSISTENT);
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
  struct MHD_Daemon *plain = MHD_start_daemon(
      flags, 0, NULL, NULL, answer, r, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE,
      2u, MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_END);
  struct MHD_Daemon *tls = MHD_start_daemon(
      flags | MHD_USE_TLS, 0, NULL, NULL, answer, r, MHD_OPTION_LISTEN_SOCKET, tls_fd,
      MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_HTTPS_MEM_KEY,
      key, MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_END);
  if (!r || !plain || !tls || !cert || !key)
    _exit(2);
  for (;;)
    pause();
}

static void start_server(unsigned *port, unsigned *tls_port) {
  int fd = loopback_listen(port), tls_fd = loopback_listen(tls_port);
  if (fd < 0 || tls_fd < 0)
    fail("no loopback port");
  server = fork();
  if (server < 0)
    fail("fork failed");
  if (server == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the benchmark */
    if (getppid() == 1)
      _exit(0);
    serve(fd, tls_fd);
  }
  close(fd);
  close(tls_fd);
}

/* ---- the plugin ---------------------------------------------------------------------------- */

/* `n` URLs on `base` (distinct paths, one server). */
static char *url_list(const char *base, int n) {
  size_t cap = (size_t)n * (strlen(base) + 16) + 1;
  char *list = malloc(cap);
  if (!list)
    fail("out of memory");
  size_t len = 0;
  for (int i = 0; i < n; i++)
    len += (size_t)snprintf(list + len, cap - len, "%s\"%s/p%d\"", i ? ", " : "", base, i);
  return list;
}

static void bench_plugin(const char *name, const char *base, int per_gather, long gathers,
                         const char *extra) {
  char *urls = url_list(base, per_gather);
  size_t cap = strlen(urls) + 1024;
  char *text = malloc(cap);
  if (!text)
    fail("out of memory");
  snprintf(text, cap,
           "agent = { omit_hostname = true; };\n"
           "inputs = ( { plugin = \"http_response\"; urls = [%s]; tls_ca = \"%s/ca.pem\";\n"
           "  use_system_proxy = false; %s } );\n"
           "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
           urls, certdir, extra);
  twi_pipeline *pl = bench_pipeline(text);
  tower_ctx *in = pl->inputs[0];
  long errors = twi_input_run_once(in, pl, 0); /* warm up */
  double w0 = bench_now(), c0 = cpu_seconds();
  for (long i = 0; i < gathers; i++)
    errors += twi_input_run_once(in, pl, 0);
  double wall = bench_now() - w0, cpu = cpu_seconds() - c0;
  twi_output_flush_sync(pl->outputs[0]);
  twi_pipeline_free(pl);
  free(urls);
  free(text);
  if (errors)
    fail("gather errors (see the log above)");
  report(name, wall, cpu, gathers * per_gather);
}

static size_t discard(char *data, size_t size, size_t n, void *arg) {
  (void)data, (void)arg;
  return size * n;
}

/* The floor: libcurl alone, one request at a time on a new connection. */
static void bench_curl(const char *base, long runs) {
  CURL *c = curl_easy_init();
  char url[256];
  snprintf(url, sizeof url, "%s/p0", base);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  double w0 = bench_now(), c0 = cpu_seconds();
  for (long i = 0; i < runs; i++)
    if (curl_easy_perform(c) != CURLE_OK)
      fail("curl_easy_perform failed");
  report("libcurl alone, 1 request at a time (floor)", bench_now() - w0, cpu_seconds() - c0, runs);
  curl_easy_cleanup(c);
}

int main(int argc, char **argv) {
  long runs = argc > 1 ? atol(argv[1]) : 2000;
  if (runs < 64)
    runs = 64;
  signal(SIGPIPE, SIG_IGN);
  if (!mkdtemp(certdir))
    fail("mkdtemp failed");
  char *err = certs_make(certdir);
  if (err)
    fail(err);
  unsigned port = 0, tls_port = 0;
  start_server(&port, &tls_port);
  char http[64], https[64];
  snprintf(http, sizeof http, "http://127.0.0.1:%u", port);
  snprintf(https, sizeof https, "https://127.0.0.1:%u", tls_port);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  printf("%-46s %10s %10s %10s\n", "case (server: libmicrohttpd, 3-byte body)", "probes/s",
         "wall us", "cpu us");
  bench_curl(http, runs);
  bench_plugin("http: 1 URL per gather", http, 1, runs, "");
  bench_plugin("http: 16 URLs per gather", http, 16, runs / 16, "");
  bench_plugin("http: 64 URLs per gather", http, 64, runs / 64, "");
  bench_plugin("http: 16 URLs, response_string_match", http, 16, runs / 16,
               "response_string_match = \"^ok$\"; response_status_code = 200;");
  bench_plugin("https: 16 URLs per gather (handshake each)", https, 16, runs / 16 / 2 + 1, "");

  curl_global_cleanup();
  kill(server, SIGTERM);
  waitpid(server, NULL, 0);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", certdir);
  if (system(cmd) != 0)
    fprintf(stderr, "bench_http_response: could not remove %s\n", certdir);
  return 0;
}
