/* inputs.x509_cert cost per source: the plugin's gather (through the core's
 * accumulator) against
 *   - a PEM file holding a 3-certificate chain (leaf, intermediate, root):
 *     read, parse, verify each certificate, build 3 metrics;
 *   - the same file 16 times through one glob;
 *   - a local `openssl s_server` sending that chain: connect, TLS handshake,
 *     verification, metrics; and, as the floor, a bare blocking OpenSSL
 *     handshake against the same server (what the plugin adds is the
 *     difference).
 * The PKI is made with tests/plugins/x509/pki.sh and the openssl command.
 *
 * Usage: bench_x509_cert [file gathers, default 2000] [TLS gathers, default 300]
 *
 * Prints the wall time and tower's own CPU time (getrusage: the s_server's
 * CPU is not in it) per source, in microseconds. */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "bench_util.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

extern char **environ;

static char pki[] = "/tmp/tower-bench-x509.XXXXXX";
static pid_t server = -1;

static void fail(const char *what) __attribute__((noreturn));
static void fail(const char *what) {
  fprintf(stderr, "bench_x509_cert: %s\n", what);
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

static void report(const char *name, double wall, double cpu, long n) {
  printf("%-52s %10.1f %10.1f\n", name, wall * 1e6 / (double)n, cpu * 1e6 / (double)n);
}

static void make_pki(void) {
  if (!mkdtemp(pki))
    fail("mkdtemp failed");
  const char *top = getenv("top_srcdir");
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "sh '%s/tests/plugins/x509/pki.sh' '%s' >/dev/null 2>&1",
           top && *top ? top : TOP_SRCDIR, pki);
  if (system(cmd) != 0)
    fail("making the PKI failed (is the openssl command installed?)");
  snprintf(cmd, sizeof cmd,
           "mkdir %s/many && for i in $(seq 1 16); do cp %s/full.pem "
           "%s/many/$i.pem; done",
           pki, pki, pki);
  if (system(cmd) != 0)
    fail("copying the chain failed");
}

/* openssl s_server -www on a free loopback port; returns the port. */
static int start_server(void) {
  char cert[256], key[256], chain[256], out[256];
  snprintf(cert, sizeof cert, "%s/leaf.pem", pki);
  snprintf(key, sizeof key, "%s/leaf.key", pki);
  snprintf(chain, sizeof chain, "%s/chain.pem", pki);
  snprintf(out, sizeof out, "%s/server.out", pki);
  /* (no -quiet: it would hide the ACCEPT line that gives the port) */
  char *argv[] = {"openssl", "s_server", "-www", "-accept",     "127.0.0.1:0", "-cert",
                  cert,      "-key",     key,    "-cert_chain", chain,         NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  if (posix_spawnp(&server, "openssl", &fa, NULL, argv, environ) != 0)
    fail("cannot start openssl s_server");
  posix_spawn_file_actions_destroy(&fa);
  for (int i = 0; i < 500; i++) {
    char text[256] = "";
    FILE *f = fopen(out, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
      fclose(f);
    text[n] = '\0';
    const char *p = strstr(text, "ACCEPT 127.0.0.1:");
    if (p && strchr(p, '\n'))
      return atoi(p + strlen("ACCEPT 127.0.0.1:"));
    usleep(10000);
  }
  fail("s_server did not print its port");
}

/* Gathers `sources` `gathers` times; per source = per gather / per_gather. */
static void bench_plugin(const char *name, const char *sources, long gathers, int per_gather) {
  char text[2048];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; };\n"
           "inputs = ( { plugin = \"x509_cert\"; sources = [%s]; tls_ca = \"%s/root.pem\"; } );\n"
           "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
           sources, pki);
  twi_pipeline *pl = bench_pipeline(text);
  tower_ctx *in = pl->inputs[0];
  long errors = twi_input_run_once(in, pl, 0); /* warm up: page cache, store lookups */
  double w0 = bench_now(), c0 = cpu_seconds();
  for (long i = 0; i < gathers; i++)
    errors += twi_input_run_once(in, pl, 0);
  double wall = bench_now() - w0, cpu = cpu_seconds() - c0;
  twi_output_flush_sync(pl->outputs[0]);
  twi_pipeline_free(pl);
  if (errors)
    fail("gather errors (see the log above)");
  report(name, wall, cpu, gathers * per_gather);
}

/* The floor: a blocking TCP connect and OpenSSL handshake, no verification,
 * nothing else. */
static void bench_raw_handshake(int port, long runs) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  double w0 = bench_now(), c0 = cpu_seconds();
  for (long i = 0; i < runs; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
      fail("connect to s_server failed");
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1)
      fail("raw handshake failed");
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
  }
  report("raw OpenSSL connect + handshake (floor)", bench_now() - w0, cpu_seconds() - c0, runs);
  SSL_CTX_free(ctx);
}

int main(int argc, char **argv) {
  long file_runs = argc > 1 ? atol(argv[1]) : 2000;
  long tls_runs = argc > 2 ? atol(argv[2]) : 300;
  if (file_runs < 10)
    file_runs = 10;
  if (tls_runs < 10)
    tls_runs = 10;
  signal(SIGPIPE, SIG_IGN);
  make_pki();
  int port = start_server();
  char src[512];
  printf("%-52s %10s %10s\n", "case (per source; 3-certificate chain)", "wall us", "cpu us");
  snprintf(src, sizeof src, "\"%s/full.pem\"", pki);
  bench_plugin("file: PEM chain, 1 file per gather", src, file_runs, 1);
  snprintf(src, sizeof src, "\"%s/many/*.pem\"", pki);
  bench_plugin("file: PEM chain, 16 files per gather (glob)", src, file_runs / 16 + 1, 16);
  bench_raw_handshake(port, tls_runs);
  snprintf(src, sizeof src, "\"tcp://127.0.0.1:%d\"", port);
  bench_plugin("tls: tcp:// source against s_server", src, tls_runs, 1);
  kill(server, SIGTERM);
  waitpid(server, NULL, 0);
  snprintf(src, sizeof src, "rm -rf '%s'", pki);
  if (system(src) != 0)
    fprintf(stderr, "bench_x509_cert: could not remove %s\n", pki);
  return 0;
}
