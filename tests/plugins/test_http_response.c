/* inputs.http_response through the real core: the plugin feeding the record
 * output (line protocol in <dir>/out.lp), gathered and flushed
 * synchronously, the log captured in <dir>/log.
 *
 * main() starts the peers every test uses, all real servers on loopback:
 *   - Python's http.server serving a directory of known files, with a few
 *     routes for redirects, slow, cut and stalled answers and an echo of
 *     the request (tests/plugins/http_response/peer.py);
 *   - `openssl s_server -www` with certificates made by the openssl command
 *     (tests/fixtures/certs): one for 127.0.0.1, one for the name
 *     tower.test;
 *   - a listening socket that never accepts (the timeout), and a port
 *     nobody listens on (connection_failed); nonexistent.invalid never
 *     resolves (RFC 6761) for dns_error.
 * Nothing is skipped: a missing python3 or openssl fails the suite with
 * what to install. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tower/tower.h>

#include "check_run.h"
#include "fixtures/certs/certs.h"
#include "harness.h"
#include "http_response.h"
#include "log_internal.h"
#include "loopback.h"

extern char **environ;

/* ---- peers (started once, by main) ---------------------------------------- */

static char *root; /* the peers' directory: www/ and the certificates */
static pid_t peer_pids[4];
static size_t npeers;
static int port_http, port_tls, port_named, silent_fd;
static unsigned port_silent, port_closed;

static void stop_peers(void);

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  stop_peers();
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "FAIL: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(EXIT_FAILURE);
}

/* main() runs outside any test, where Check's assertions must not be used. */
static char *xfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xfmt(const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  if (!s)
    die("%s", "out of memory");
  return s;
}

static void put_file(const char *name, const char *text, size_t len) {
  char *path = xfmt("%s/www/%s", root, name);
  FILE *f = fopen(path, "w");
  if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0)
    die("cannot write %s", path);
  free(path);
}

/* The port a peer prints as "ACCEPT 127.0.0.1:PORT" in `out`, or 0. */
static int read_port(const char *out) {
  char text[512] = "";
  FILE *f = fopen(out, "r");
  size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
  if (f)
    fclose(f);
  text[n] = '\0';
  const char *p = strstr(text, "ACCEPT 127.0.0.1:");
  return p && strchr(p, '\n') ? atoi(p + strlen("ACCEPT 127.0.0.1:")) : 0;
}

/* Starts a peer (stdin /dev/null, output in a file) and waits up to 10 s
 * for the port it listens on. */
static int start_peer(const char *name, char *const argv[], const char *install) {
  char *out = xfmt("%s/%s.out", root, name);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0)
    die("cannot start %s (apt-get install %s)", argv[0], install);
  posix_spawn_file_actions_destroy(&fa);
  peer_pids[npeers++] = pid;
  int port = 0;
  bool exited = false;
  for (int i = 0; i < 1000 && !exited && !(port = read_port(out)); i++) {
    exited = waitpid(pid, NULL, WNOHANG) == pid;
    usleep(10000);
  }
  if (!port) {
    char *text = th_read_file(out);
    die("peer %s %s:\n%s", argv[0], exited ? "exited" : "printed no port in 10 s",
        text ? text : "");
  }
  free(out);
  return port;
}

static int s_server(const char *name, const char *cert) {
  char *c = xfmt("%s/%s", root, cert), *k = xfmt("%s/server.key", root);
  char *args[] = {"openssl", "s_server", "-www", "-accept", "127.0.0.1:0",
                  "-cert",   c,          "-key", k,         NULL};
  int port = start_peer(name, args, "openssl");
  free(c);
  free(k);
  return port;
}

/* A body larger than HR_KEEP_BODY_BUF: the probe's buffer is given back
 * after it and grows again at the next gather. */
#define BIG_LEN (300u << 10)

static void start_peers(void) {
  const char *base = getenv("TMPDIR");
  root = xfmt("%s/tower-http-response.XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(root))
    die("mkdtemp %s: %s", root, strerror(errno));
  char *err = certs_make(root);
  if (err)
    die("making the certificates: %s", err);
  char *www = xfmt("%s/www", root);
  if (mkdir(www, 0755) != 0)
    die("mkdir %s: %s", www, strerror(errno));
  put_file("index.html", "hello ok\n", 9);
  put_file("note.txt", "tower probe", 11);
  put_file("utf8.txt", "caf\xc3\xa9 \xf0\x9f\x93\x88", 10); /* é and U+1F4C8 */
  put_file("surrogate.txt", "a\xed\xa0\x80", 4);            /* U+D800: not UTF-8 for Go either */
  put_file("overlong.txt", "a\xc0\xaf", 3);                 /* '/' in 2 bytes */
  char *big = malloc(BIG_LEN);
  if (!big)
    die("%s", "out of memory");
  memset(big, 'x', BIG_LEN);
  memcpy(big + BIG_LEN - 4, "end\n", 4);
  put_file("big.txt", big, BIG_LEN);
  free(big);
  const char *top = getenv("top_srcdir");
  char *script = xfmt("%s/tests/plugins/http_response/peer.py", top && *top ? top : ".");
  char *py[] = {"python3", script, www, NULL};
  port_http = start_peer("http", py, "python3");
  free(script);
  free(www);
  port_tls = s_server("tls", "server.pem");
  port_named = s_server("named", "named.pem");
  silent_fd = loopback_listen(&port_silent); /* listens, never accepts */
  port_closed = loopback_unused_port();
  if (silent_fd < 0 || !port_closed)
    die("%s", "no loopback port");
}

static void stop_peers(void) {
  for (size_t i = 0; i < npeers; i++) {
    kill(peer_pids[i], SIGTERM);
    waitpid(peer_pids[i], NULL, 0);
  }
  npeers = 0;
  if (silent_fd > 0)
    close(silent_fd);
  silent_fd = -1;
  if (root)
    th_rmrf(root);
  free(root);
  root = NULL;
}

/* ---- per test --------------------------------------------------------------- */

static char *dir, *logpath;
static tower_metric **ms;
static size_t nms;
static double gather_seconds;

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void setup(void) {
  dir = th_tmpdir();
  logpath = th_fmt("%s/log", dir);
  ck_assert_int_eq(twi_log_set_file(logpath), 0);
  twi_log_set_level(TOWER_LOG_DEBUG);
  ms = NULL;
  nms = 0;
}

static void teardown(void) {
  twi_log_set_file(NULL);
  th_free_metrics(ms, nms);
  th_rmrf(dir);
  free(dir);
  free(logpath);
}

static char *config(const char *opts) {
  return th_fmt("agent = { omit_hostname = true; };\n"
                "inputs = ( { plugin = \"http_response\";\n  %s } );\n"
                "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                opts, dir);
}

static char *log_text(void) {
  char *t = th_read_file(logpath);
  return t ? t : strdup("");
}

/* One gather of a started pipeline; the metrics land in ms/nms. */
static void gather_pl(twi_pipeline *pl) {
  th_free_metrics(ms, nms);
  double t0 = mono_s();
  int errors = th_gather(pl);
  gather_seconds = mono_s() - t0;
  ck_assert_int_eq(errors, 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  char *path = th_fmt("%s/out.lp", dir);
  char *text = th_read_file(path);
  unlink(path);
  free(path);
  nms = th_parse(text ? text : "", &ms);
  free(text);
}

/* Builds from `fmt` (printf), gathers once, frees. */
static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...) {
  va_list ap;
  char *opts = NULL;
  va_start(ap, fmt);
  ck_assert_int_ge(vasprintf(&opts, fmt, ap), 0);
  va_end(ap);
  char *c = config(opts);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  gather_pl(pl);
  th_free(pl);
  free(c);
  free(opts);
}

/* "http://127.0.0.1:<peer>/<path>" (a static buffer per call slot). */
static const char *url(const char *path) {
  static char buf[8][256];
  static unsigned n;
  char *b = buf[n++ % 8];
  snprintf(b, sizeof buf[0], "http://127.0.0.1:%d/%s", port_http, path);
  return b;
}

/* The metric of URL `u` (exactly one). */
static const tower_metric *of(const char *u) {
  const tower_metric *found = NULL;
  int n = 0;
  for (size_t i = 0; i < nms; i++) {
    const char *v = tower_metric_tag(ms[i], "server");
    if (v && strcmp(v, u) == 0) {
      found = ms[i];
      n++;
    }
  }
  char *log = n == 1 ? NULL : log_text();
  ck_assert_msg(n == 1, "%d metrics for %s (of %zu); log:\n%s", n, u, nms, log);
  ck_assert_str_eq(tower_metric_name(found), "http_response");
  return found;
}

static const char *tag(const tower_metric *m, const char *key) {
  const char *v = tower_metric_tag(m, key);
  return v ? v : "(absent)";
}

static int64_t fint(const tower_metric *m, const char *key) {
  ptrdiff_t i = tower_metric_field_index(m, key);
  ck_assert_msg(i >= 0, "field %s missing", key);
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_INT);
  return tower_metric_field_int(m, (size_t)i);
}

static const char *fstr(const tower_metric *m, const char *key) {
  ptrdiff_t i = tower_metric_field_index(m, key);
  ck_assert_msg(i >= 0, "field %s missing", key);
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_STRING);
  return tower_metric_field_string(m, (size_t)i);
}

static double response_time(const tower_metric *m) {
  ptrdiff_t i = tower_metric_field_index(m, "response_time");
  ck_assert_msg(i >= 0, "field response_time missing");
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_FLOAT);
  return tower_metric_field_float(m, (size_t)i);
}

static bool has_field(const tower_metric *m, const char *key) {
  return tower_metric_field_index(m, key) >= 0;
}

#define assert_tag(m, key, want) ck_assert_str_eq(tag(m, key), want)
#define assert_has(text, needle)                                                                   \
  ck_assert_msg(strstr(text, needle), "missing \"%s\" in:\n%s", needle, text)
#define assert_lacks(text, needle)                                                                 \
  ck_assert_msg(!strstr(text, needle), "unexpected \"%s\" in:\n%s", needle, text)

/* A probe that got no response: Telegraf's tags and its one field. */
static void assert_no_response(const tower_metric *m, const char *result, int64_t code) {
  assert_tag(m, "result", result);
  assert_tag(m, "method", "GET");
  assert_tag(m, "status_code", "(absent)");
  ck_assert_uint_eq(tower_metric_tag_count(m), 3);
  ck_assert_int_eq(fint(m, "result_code"), code);
  ck_assert_uint_eq(tower_metric_field_count(m), 1);
}

/* A probe that got a response with `status`, `len` bytes of body. */
static void assert_response(const tower_metric *m, const char *result, int64_t status,
                            int64_t len) {
  char want[16];
  snprintf(want, sizeof want, "%lld", (long long)status);
  assert_tag(m, "result", result);
  assert_tag(m, "status_code", want);
  ck_assert_uint_eq(tower_metric_tag_count(m), 4);
  ck_assert_int_eq(fint(m, "http_response_code"), status);
  ck_assert_int_eq(fint(m, "content_length"), len);
  double t = response_time(m);
  ck_assert_msg(t > 0 && t < 10, "response_time %g", t);
}

/* ---- responses -------------------------------------------------------------- */

START_TEST(success_fields) {
  run("urls = [\"%s\"];", url("index.html"));
  ck_assert_uint_eq(nms, 1);
  const tower_metric *m = of(url("index.html"));
  assert_response(m, "success", 200, 9);
  assert_tag(m, "method", "GET");
  ck_assert_int_eq(fint(m, "result_code"), 0);
  /* no check configured: no check fields (Telegraf's set) */
  ck_assert_uint_eq(tower_metric_field_count(m), 4);
  /* a 404 is a response: success, as in Telegraf */
  run("urls = [\"%s\"];", url("missing.html"));
  assert_response(of(url("missing.html")), "success", 404, fint(ms[0], "content_length"));
  ck_assert_int_gt(fint(ms[0], "content_length"), 0);
}
END_TEST

START_TEST(string_match) {
  run("urls = [\"%s\"]; response_string_match = \"hel+o [a-z]+$\";", url("index.html"));
  const tower_metric *m = of(url("index.html"));
  assert_response(m, "success", 200, 9);
  ck_assert_int_eq(fint(m, "response_string_match"), 1);
  run("urls = [\"%s\"]; response_string_match = \"^goodbye\";", url("index.html"));
  m = of(url("index.html"));
  assert_response(m, "response_string_mismatch", 200, 9);
  ck_assert_int_eq(fint(m, "response_string_match"), 0);
  ck_assert_int_eq(fint(m, "result_code"), 1);
  /* `.` stops at a line break, as in Go's RE2 */
  run("urls = [\"%s\"]; response_string_match = \"ok.\";", url("index.html"));
  assert_tag(of(url("index.html")), "result", "response_string_mismatch");
}
END_TEST

START_TEST(status_code_match) {
  run("urls = [\"%s\", \"%s\"]; response_status_code = 200;", url("index.html"), url("status/503"));
  const tower_metric *ok = of(url("index.html")), *bad = of(url("status/503"));
  assert_response(ok, "success", 200, 9);
  ck_assert_int_eq(fint(ok, "response_status_code_match"), 1);
  assert_response(bad, "response_status_code_mismatch", 503, 11);
  ck_assert_int_eq(fint(bad, "response_status_code_match"), 0);
  ck_assert_int_eq(fint(bad, "result_code"), 6);
  /* both checks fail: the status code's result wins, both fields stay */
  run("urls = [\"%s\"]; response_status_code = 200; response_string_match = \"^ok\";",
      url("status/404"));
  const tower_metric *m = of(url("status/404"));
  assert_tag(m, "result", "response_status_code_mismatch");
  ck_assert_int_eq(fint(m, "response_string_match"), 0);
  ck_assert_int_eq(fint(m, "response_status_code_match"), 0);
}
END_TEST

START_TEST(redirects) {
  /* not followed (Telegraf's default): the 302 itself is the answer */
  run("urls = [\"%s\"];", url("redirect/3"));
  assert_response(of(url("redirect/3")), "success", 302, 6);
  /* followed: the chain ends at index.html, 4 requests later */
  run("urls = [\"%s\"]; follow_redirects = true; response_string_match = \"hello\";",
      url("redirect/3"));
  const tower_metric *m = of(url("redirect/3"));
  assert_response(m, "success", 200, 9);
  ck_assert_int_eq(fint(m, "response_string_match"), 1);
  /* more than 10 redirects: Go's client gives up, Telegraf says connection_failed */
  run("urls = [\"%s\", \"%s\"]; follow_redirects = true;", url("loop"), url("redirect/9"));
  assert_no_response(of(url("loop")), "connection_failed", 3);
  assert_response(of(url("redirect/9")), "success", 200, 9);
  char *log = log_text();
  assert_has(log, "/loop: connection_failed: Maximum (10) redirects followed");
  free(log);
}
END_TEST

START_TEST(body_field) {
  run("urls = [\"%s\", \"%s\"]; response_body_field = \"body\";", url("note.txt"), url("latin1"));
  const tower_metric *m = of(url("note.txt"));
  assert_response(m, "success", 200, 11);
  ck_assert_str_eq(fstr(m, "body"), "tower probe");
  /* not UTF-8: body_read_error, without the field */
  m = of(url("latin1"));
  assert_response(m, "body_read_error", 200, 5);
  ck_assert(!has_field(m, "body"));
  ck_assert_int_eq(fint(m, "result_code"), 2);
  /* Go's utf8.Valid: multi-byte text passes, surrogates and overlong forms
   * do not */
  run("urls = [\"%s\", \"%s\", \"%s\"]; response_body_field = \"body\";", url("utf8.txt"),
      url("surrogate.txt"), url("overlong.txt"));
  ck_assert_str_eq(fstr(of(url("utf8.txt")), "body"), "caf\xc3\xa9 \xf0\x9f\x93\x88");
  assert_response(of(url("surrogate.txt")), "body_read_error", 200, 4);
  assert_response(of(url("overlong.txt")), "body_read_error", 200, 3);
}
END_TEST

START_TEST(body_read_errors) {
  run("urls = [\"%s\", \"%s\"]; response_timeout = \"1s\"; response_string_match = \"0\";",
      url("cut"), url("stall"));
  /* the connection closes 990 bytes early */
  const tower_metric *cut = of(url("cut"));
  assert_response(cut, "body_read_error", 200, 10);
  ck_assert_int_eq(fint(cut, "response_string_match"), 0);
  /* the headers came, then the body stalled past the deadline: not a
   * timeout (Go's Do had returned), a body read error */
  const tower_metric *stall = of(url("stall"));
  assert_response(stall, "body_read_error", 200, 5);
  ck_assert_int_eq(fint(stall, "response_string_match"), 0);
  ck_assert(!has_field(stall, "response_status_code_match"));
  char *log = log_text();
  assert_has(log, "/cut: body_read_error: transfer closed with 990 bytes remaining to read");
  assert_has(log, "/stall: body_read_error: Operation timed out after");
  free(log);
}
END_TEST

START_TEST(body_max_size) {
  /* 9 bytes under a 9-byte limit: read; under 8: max + 1 counted, as
   * Telegraf's LimitReader reads */
  run("urls = [\"%s\"]; response_body_max_size = \"9B\";", url("index.html"));
  assert_response(of(url("index.html")), "success", 200, 9);
  run("urls = [\"%s\"]; response_body_max_size = \"8B\"; response_string_match = \"ok\";",
      url("index.html"));
  const tower_metric *m = of(url("index.html"));
  assert_response(m, "body_read_error", 200, 9);
  ck_assert_int_eq(fint(m, "response_string_match"), 0);
  char *log = log_text();
  assert_has(log, "body_read_error: the body is longer than response_body_max_size (8 bytes)");
  free(log);
}
END_TEST

/* A body over the buffer a probe keeps, twice on one pipeline: the second
 * gather reads it into a fresh buffer. */
START_TEST(big_body_twice) {
  char *opts = th_fmt("urls = [\"%s\"]; response_string_match = \"x{1000}end$\";", url("big.txt"));
  char *c = config(opts);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  for (int i = 0; i < 2; i++) {
    gather_pl(pl);
    const tower_metric *m = of(url("big.txt"));
    assert_response(m, "success", 200, BIG_LEN);
    ck_assert_int_eq(fint(m, "response_string_match"), 1);
  }
  th_free(pl);
  free(c);
  free(opts);
}
END_TEST

START_TEST(gzip_decoded) {
  /* Go's transport asks for gzip and decodes it: the length and the match
   * are the decoded body's */
  run("urls = [\"%s\"]; response_string_match = \"^compressed hello$\";", url("gzip"));
  const tower_metric *m = of(url("gzip"));
  assert_response(m, "success", 200, 17);
  ck_assert_int_eq(fint(m, "response_string_match"), 1);
}
END_TEST

/* ---- failures without a response ------------------------------------------------ */

START_TEST(connection_failed) {
  char *closed = th_fmt("http://127.0.0.1:%u/", port_closed);
  run("urls = [\"%s\"];", closed);
  assert_no_response(of(closed), "connection_failed", 3);
  char *log = log_text();
  assert_has(log, "connection_failed: Failed to connect to 127.0.0.1 port");
  free(log);
  free(closed);
}
END_TEST

START_TEST(timeouts_in_parallel) {
  /* a socket that never accepts, a server that answers after 3 s, and a
   * quick page, in one gather: each has its own deadline */
  char *silent = th_fmt("http://127.0.0.1:%u/", port_silent);
  run("urls = [\"%s\", \"%s\", \"%s\"]; response_timeout = \"1s\";", silent, url("sleep/3000"),
      url("index.html"));
  assert_no_response(of(silent), "timeout", 4);
  assert_no_response(of(url("sleep/3000")), "timeout", 4);
  assert_response(of(url("index.html")), "success", 200, 9);
  ck_assert_msg(gather_seconds >= 0.9 && gather_seconds < 2.5, "gather took %.2f s",
                gather_seconds);
  free(silent);
}
END_TEST

START_TEST(probes_overlap) {
  /* four answers of 800 ms each: one after another they take 3.2 s */
  run("urls = [\"%s\", \"%s\", \"%s\", \"%s\"];", url("sleep/800"), url("sleep/800?b"),
      url("sleep/800?c"), url("sleep/800?d"));
  ck_assert_uint_eq(nms, 4);
  for (size_t i = 0; i < nms; i++) {
    assert_tag(ms[i], "result", "success");
    ck_assert_msg(response_time(ms[i]) >= 0.79, "response_time %g", response_time(ms[i]));
  }
  ck_assert_msg(gather_seconds < 2.4, "4 probes took %.2f s: not concurrent", gather_seconds);
}
END_TEST

START_TEST(dns_error) {
  run("urls = [\"http://nonexistent.invalid/\"];");
  assert_no_response(of("http://nonexistent.invalid/"), "dns_error", 5);
  char *log = log_text();
  assert_has(log, "dns_error: Could not resolve host: nonexistent.invalid");
  free(log);
}
END_TEST

/* ---- TLS ---------------------------------------------------------------------- */

START_TEST(tls) {
  char *u = th_fmt("https://127.0.0.1:%d/", port_tls);
  run("urls = [\"%s\"]; tls_ca = \"%s/ca.pem\"; response_string_match = \"s_server\";", u, root);
  const tower_metric *m = of(u);
  assert_tag(m, "result", "success");
  assert_tag(m, "status_code", "200");
  ck_assert_int_eq(fint(m, "response_string_match"), 1);
  /* an unknown CA fails the handshake: connection_failed, as Go's x509
   * error is for Telegraf */
  run("urls = [\"%s\"];", u);
  assert_no_response(of(u), "connection_failed", 3);
  char *log = log_text();
  assert_has(log, "connection_failed: SSL certificate problem");
  free(log);
  run("urls = [\"%s\"]; insecure_skip_verify = true;", u);
  assert_tag(of(u), "result", "success");
  free(u);
  /* a certificate for tower.test only, reached by address */
  u = th_fmt("https://127.0.0.1:%d/", port_named);
  run("urls = [\"%s\"]; tls_ca = \"%s/ca.pem\"; tls_server_name = \"tower.test\";", u, root);
  assert_tag(of(u), "result", "success");
  run("urls = [\"%s\"]; tls_ca = \"%s/ca.pem\";", u, root);
  assert_tag(of(u), "result", "connection_failed");
  free(u);
}
END_TEST

/* ---- the request ---------------------------------------------------------------- */

/* Probes /echo with `opts` and returns the request the server saw (JSON). */
static const char *echo(const char *opts) {
  run("urls = [\"%s\"]; response_body_field = \"seen\"; %s", url("echo"), opts);
  const tower_metric *m = of(url("echo"));
  assert_tag(m, "result", "success");
  return fstr(m, "seen");
}

START_TEST(request_shape) {
  const char *seen = echo("method = \"POST\"; body = \"a=1&b=2\"; headers = { Host = "
                          "\"example.org\"; X-Probe = \"yes\"; }; username = \"u\"; password = "
                          "\"p\";");
  assert_has(seen, "\"method\": \"POST\"");
  assert_has(seen, "\"body\": \"a=1&b=2\"");
  assert_has(seen, "\"host\": \"example.org\"");
  assert_has(seen, "\"x-probe\": \"yes\"");
  assert_has(seen, "\"authorization\": \"Basic dTpw\"");
  assert_has(seen, "\"accept-encoding\": \"gzip\"");
  /* what Go does not send either */
  assert_lacks(seen, "content-type");
  assert_lacks(seen, "expect");
  assert_tag(of(url("echo")), "method", "POST");
  seen = echo("method = \"PUT\"; body = \"x\"; headers = { Content-Type = \"text/plain\"; };");
  assert_has(seen, "\"method\": \"PUT\"");
  assert_has(seen, "\"content-type\": \"text/plain\"");
  assert_has(seen, "\"body\": \"x\"");
  seen = echo("");
  assert_has(seen, "\"method\": \"GET\"");
  assert_has(seen, "\"user-agent\": \"tower/");
  assert_lacks(seen, "authorization");
}
END_TEST

START_TEST(bearer_token_file) {
  char *path = th_fmt("%s/token", dir);
  ck_assert_int_eq(th_write_file(path, "s3cret-token\n"), 0);
  char *opts = th_fmt("bearer_token = \"%s\";", path);
  const char *seen = echo(opts);
  assert_has(seen, "\"authorization\": \"Bearer s3cret-token\"");
  free(opts);
  free(path);
}
END_TEST

START_TEST(head_method) {
  run("urls = [\"%s\", \"%s\"]; method = \"HEAD\";", url("index.html"), url("redirect/1"));
  const tower_metric *m = of(url("index.html"));
  assert_tag(m, "method", "HEAD");
  assert_response(m, "success", 200, 0);
  assert_response(of(url("redirect/1")), "success", 302, 0);
}
END_TEST

START_TEST(interface_lo) {
  run("urls = [\"%s\"]; interface = \"lo\";", url("index.html"));
  assert_response(of(url("index.html")), "success", 200, 9);
}
END_TEST

START_TEST(server_tag_without_password) {
  char *u = th_fmt("http://probe:pa55word@127.0.0.1:%d/index.html", port_http);
  char *shown = th_fmt("http://probe:xxxxx@127.0.0.1:%d/index.html", port_http);
  run("urls = [\"%s\"];", u);
  assert_response(of(shown), "success", 200, 9);
  char *log = log_text();
  assert_lacks(log, "pa55word");
  free(log);
  free(u);
  free(shown);
}
END_TEST

/* ---- configuration ------------------------------------------------------------- */

/* The errors of a block that must not build or start. */
static char *rejected(const char *opts) {
  char *c = config(opts), *errors = NULL;
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  if (pl && twi_pipeline_init(pl) == 0)
    ck_abort_msg("accepted: %s", opts);
  if (pl)
    th_free(pl);
  free(c);
  char *log = log_text();
  char *all = th_fmt("%s\n%s", errors ? errors : "", log);
  free(errors);
  free(log);
  return all;
}

START_TEST(config_errors) {
  char *e = rejected("urls = [\"http://127.0.0.1/\",\n  \"ftp://example.org/\"];");
  assert_has(e, ":4: urls: \"ftp://example.org/\": only http:// and https:// URLs are probed");
  free(e);
  e = rejected("urls = [\"http://u:hidden@[::1/\"];");
  assert_has(e, "is not a URL");
  assert_lacks(e, "hidden");
  free(e);
  e = rejected("urls = [];");
  assert_has(e, "urls is empty");
  free(e);
  e = rejected("method = \"GE T\";");
  assert_has(e, ":3: method \"GE T\" is not an HTTP method");
  free(e);
  e = rejected("response_string_match = \"(unclosed\";");
  assert_has(e, ":3: response_string_match \"(unclosed\":");
  free(e);
  e = rejected("interface = \"nonexistent0\";");
  assert_has(e, ":3: interface \"nonexistent0\": no such network interface");
  free(e);
  e = rejected("headers = { X-Bad = \"a\\nb\"; };");
  assert_has(e, "headers.X-Bad: the value holds a line break");
  free(e);
  /* the client options of plugins/common/curl are checked too */
  e = rejected("tls_ca = \"/nonexistent/ca.pem\";");
  assert_has(e, ":3: tls_ca \"/nonexistent/ca.pem\": /nonexistent does not exist");
  free(e);
  e = rejected("response_status_code = 1000;");
  assert_has(e, "response_status_code");
  free(e);
}
END_TEST

/* ---- the mapping ------------------------------------------------------------------ */

START_TEST(result_vocabulary) {
  static const char *const names[] = {
      "success",
      "response_string_mismatch",
      "body_read_error",
      "connection_failed",
      "timeout",
      "dns_error",
      "response_status_code_mismatch",
  };
  for (int r = HR_SUCCESS; r <= HR_STATUS_MISMATCH; r++)
    ck_assert_str_eq(hr_result_name((hr_result)r), names[r]);
  /* before the final headers: by cause; after them: the body's fault */
  ck_assert_int_eq(hr_classify(CURLE_OK, false), HR_SUCCESS);
  ck_assert_int_eq(hr_classify(CURLE_OPERATION_TIMEDOUT, false), HR_TIMEOUT);
  ck_assert_int_eq(hr_classify(CURLE_COULDNT_RESOLVE_HOST, false), HR_DNS_ERROR);
  ck_assert_int_eq(hr_classify(CURLE_COULDNT_RESOLVE_PROXY, false), HR_CONNECTION_FAILED);
  ck_assert_int_eq(hr_classify(CURLE_COULDNT_CONNECT, false), HR_CONNECTION_FAILED);
  ck_assert_int_eq(hr_classify(CURLE_PEER_FAILED_VERIFICATION, false), HR_CONNECTION_FAILED);
  ck_assert_int_eq(hr_classify(CURLE_GOT_NOTHING, false), HR_CONNECTION_FAILED);
  ck_assert_int_eq(hr_classify(CURLE_OPERATION_TIMEDOUT, true), HR_BODY_READ_ERROR);
  ck_assert_int_eq(hr_classify(CURLE_PARTIAL_FILE, true), HR_BODY_READ_ERROR);
  ck_assert_int_eq(hr_classify(CURLE_WRITE_ERROR, true), HR_BODY_READ_ERROR);
  ck_assert_int_eq(hr_classify(CURLE_TOO_MANY_REDIRECTS, true), HR_CONNECTION_FAILED);
}
END_TEST

int main(void) {
  /* the probes go to loopback peers, whatever proxy the environment names */
  unsetenv("http_proxy");
  unsetenv("https_proxy");
  unsetenv("HTTPS_PROXY");
  unsetenv("all_proxy");
  unsetenv("ALL_PROXY");
  signal(SIGPIPE, SIG_IGN);
  start_peers();
  Suite *s = suite_create("inputs.http_response");
  TCase *t = tcase_create("http_response");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 60);
  tcase_add_test(t, success_fields);
  tcase_add_test(t, string_match);
  tcase_add_test(t, status_code_match);
  tcase_add_test(t, redirects);
  tcase_add_test(t, body_field);
  tcase_add_test(t, body_read_errors);
  tcase_add_test(t, body_max_size);
  tcase_add_test(t, big_body_twice);
  tcase_add_test(t, gzip_decoded);
  tcase_add_test(t, connection_failed);
  tcase_add_test(t, timeouts_in_parallel);
  tcase_add_test(t, probes_overlap);
  tcase_add_test(t, dns_error);
  tcase_add_test(t, tls);
  tcase_add_test(t, request_shape);
  tcase_add_test(t, bearer_token_file);
  tcase_add_test(t, head_method);
  tcase_add_test(t, interface_lo);
  tcase_add_test(t, server_tag_without_password);
  tcase_add_test(t, config_errors);
  tcase_add_test(t, result_vocabulary);
  suite_add_tcase(s, t);
  int rc = check_run(s);
  stop_peers();
  return rc;
}
