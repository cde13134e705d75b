/* inputs.x509_cert through the real core: the x509_cert input feeding the
 * record output (line protocol in <dir>/out.lp), gathered and flushed
 * synchronously, the log captured in <dir>/log.
 *
 * main() first makes a PKI with the openssl command
 * (tests/plugins/x509/pki.sh: root, intermediate, leaves that are good,
 * expired, not yet valid, for the wrong host, self-signed...) and starts
 * the peers every test uses: `openssl s_server -www` per certificate and
 * the SMTP STARTTLS peer of tests/plugins/x509/smtp_starttls.c. Nothing is
 * skipped: a missing openssl makes the suite fail with what to install. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tower/tower.h>

#include "harness.h"
#include "log_internal.h"
#include "check_run.h"
#include "x509_cert.h"

extern char **environ;

/* Dates of the PKI (pki.sh). */
#define VALID_START 1704067200   /* 2024-01-01T00:00:00Z */
#define VALID_END 4102444799     /* 2099-12-31T23:59:59Z */
#define EXPIRED_START 1577836800 /* 2020-01-01 */
#define EXPIRED_END 1609459200   /* 2021-01-01 */
#define NOTYET_START 4039372800  /* 2098-01-01 */
#define NOTYET_END 4070908800    /* 2099-01-01 */

/* ---- peers (started once, by main) ---------------------------------------- */

static char *pki;
static pid_t peer_pids[16];
static size_t npeers;
static int port_good, port_expired, port_notyet, port_self, port_wrong, port_mtls;
static int port_smtp, port_smtp_refuse, port_smtp_inject, port_smtp_helo, port_smtp_silent;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

/* main() runs outside any test, where Check's assertions (and the
 * harness helpers that use them) must not be called. */
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

/* Starts a peer with stdin from /dev/null and its output in a file, and
 * waits up to 10 s for the port it listens on. */
static int start_peer(const char *name, char *const argv[]) {
  char *out = xfmt("%s/%s.out", pki, name);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0)
    die("cannot start %s (apt-get install openssl)", argv[0]);
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

/* openssl s_server -www: answers every connection, never reads stdin. */
static int s_server(const char *name, const char *cert, const char *key, const char *chain,
                    const char *extra) {
  char *c = xfmt("%s/%s", pki, cert), *k = xfmt("%s/%s", pki, key);
  char *ch = chain ? xfmt("%s/%s", pki, chain) : NULL;
  char *args[24] = {"openssl", "s_server", "-www", "-accept", "127.0.0.1:0", "-cert", c, "-key", k};
  size_t n = 9;
  if (ch) {
    args[n++] = "-cert_chain";
    args[n++] = ch;
  }
  char *x = extra ? strdup(extra) : NULL, *save = NULL;
  for (char *w = x ? strtok_r(x, " ", &save) : NULL; w && n < 22; w = strtok_r(NULL, " ", &save))
    args[n++] = w;
  args[n] = NULL;
  int port = start_peer(name, args);
  free(c);
  free(k);
  free(ch);
  free(x);
  return port;
}

static int smtp_peer(const char *mode) {
  const char *top = getenv("top_builddir");
  char *prog = xfmt("%s/tests/plugins/x509/smtp_starttls", top && *top ? top : ".");
  char *chain = xfmt("%s/full.pem", pki), *key = xfmt("%s/leaf.key", pki);
  char *args[] = {prog, chain, key, (char *)mode, NULL};
  char name[32];
  snprintf(name, sizeof name, "smtp-%s", mode);
  int port = start_peer(name, args);
  free(prog);
  free(chain);
  free(key);
  return port;
}

static void make_pki(void) {
  const char *base = getenv("TMPDIR");
  pki = xfmt("%s/tower-x509.XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(pki))
    die("mkdtemp %s: %s", pki, strerror(errno));
  const char *top = getenv("top_srcdir");
  char *cmd = xfmt("sh '%s/tests/plugins/x509/pki.sh' '%s' >'%s/pki.log' 2>&1",
                   top && *top ? top : ".", pki, pki);
  if (system("openssl version >/dev/null 2>&1") != 0)
    die("%s", "the openssl command is missing: apt-get install openssl (scripts/test installs it)");
  if (system(cmd) != 0)
    die("making the test PKI failed: %s", cmd);
  free(cmd);
}

static void start_peers(void) {
  make_pki();
  char *sni = xfmt("-servername sni.example -cert2 %s/sni.pem -key2 %s/leaf.key", pki, pki);
  port_good = s_server("good", "leaf.pem", "leaf.key", "chain.pem", sni);
  free(sni);
  port_expired = s_server("expired", "expired.pem", "leaf.key", "chain.pem", NULL);
  port_notyet = s_server("notyet", "notyet.pem", "leaf.key", "chain.pem", NULL);
  port_self = s_server("self", "self.pem", "self.key", NULL, NULL);
  port_wrong = s_server("wrong", "wrong.pem", "leaf.key", "chain.pem", NULL);
  /* TLS 1.2: the server asks for the client certificate before its
   * Finished, so a client without one fails the handshake. */
  char *mtls = xfmt("-tls1_2 -Verify 1 -verify_return_error -CAfile %s/root.pem", pki);
  port_mtls = s_server("mtls", "leaf.pem", "leaf.key", "chain.pem", mtls);
  free(mtls);
  port_smtp = smtp_peer("normal");
  port_smtp_refuse = smtp_peer("refuse");
  port_smtp_inject = smtp_peer("inject");
  port_smtp_helo = smtp_peer("helo");
  port_smtp_silent = smtp_peer("silent");
}

static void stop_peers(void) {
  for (size_t i = 0; i < npeers; i++) {
    kill(peer_pids[i], SIGTERM);
    waitpid(peer_pids[i], NULL, 0);
  }
  npeers = 0;
  if (pki && !getenv("X509_KEEP_PKI"))
    th_rmrf(pki);
  free(pki);
  pki = NULL;
}

/* ---- per test --------------------------------------------------------------- */

static char *dir, *logpath;
static tower_metric **ms;
static size_t nms;
static int gather_errors;
static double t_before, t_after; /* wall clock around the last gather */

static void setup(void) {
  dir = th_tmpdir();
  logpath = th_fmt("%s/log", dir);
  ck_assert_int_eq(twi_log_set_file(logpath), 0);
  twi_log_set_level(TOWER_LOG_INFO);
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
                "inputs = ( { plugin = \"x509_cert\"; %s } );\n"
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
  t_before = now_s();
  gather_errors = th_gather(pl);
  t_after = now_s();
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

/* The metric whose tag `key` is `value` (exactly one must match). */
static const tower_metric *find(const char *key, const char *value) {
  const tower_metric *found = NULL;
  int n = 0;
  for (size_t i = 0; i < nms; i++) {
    const char *v = tower_metric_tag(ms[i], key);
    if (v && strcmp(v, value) == 0) {
      found = ms[i];
      n++;
    }
  }
  char *log = n == 1 ? NULL : log_text();
  ck_assert_msg(n == 1, "%d metrics with %s=%s (of %zu); log:\n%s", n, key, value, nms, log);
  return found;
}

static const char *tag(const tower_metric *m, const char *key) {
  const char *v = tower_metric_tag(m, key);
  return v ? v : "(absent)";
}

static ptrdiff_t field(const tower_metric *m, const char *key) {
  ptrdiff_t i = tower_metric_field_index(m, key);
  ck_assert_msg(i >= 0, "field %s missing", key);
  return i;
}

static int64_t fint(const tower_metric *m, const char *key) {
  ptrdiff_t i = field(m, key);
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_INT);
  return tower_metric_field_int(m, (size_t)i);
}

#define assert_tag(m, key, want) ck_assert_str_eq(tag(m, key), want)
#define assert_has(text, needle)                                                                   \
  ck_assert_msg(strstr(text, needle), "missing \"%s\" in:\n%s", needle, text)
#define assert_lacks(text, needle)                                                                 \
  ck_assert_msg(!strstr(text, needle), "unexpected \"%s\" in:\n%s", needle, text)

/* The time fields against the certificate's dates and the gather's clock. */
static void assert_times(const tower_metric *m, int64_t start, int64_t end) {
  ck_assert_int_eq(fint(m, "startdate"), start);
  ck_assert_int_eq(fint(m, "enddate"), end);
  int64_t expiry = fint(m, "expiry"), age = fint(m, "age");
  ck_assert_msg(expiry <= end - (int64_t)t_before + 1 && expiry >= end - (int64_t)t_after - 1,
                "expiry %lld vs enddate %lld", (long long)expiry, (long long)end);
  ck_assert_msg(age >= (int64_t)t_before - start - 1 && age <= (int64_t)t_after - start + 1,
                "age %lld vs startdate %lld", (long long)age, (long long)start);
}

static void assert_valid(const tower_metric *m) {
  ptrdiff_t e = tower_metric_field_index(m, "verification_error");
  ck_assert_msg(strcmp(tag(m, "verification"), "valid") == 0, "%s is invalid: %s",
                tag(m, "common_name"), e >= 0 ? tower_metric_field_string(m, (size_t)e) : "?");
  ck_assert_int_eq(fint(m, "verification_code"), 0);
  ck_assert_int_lt(e, 0);
}

static void assert_invalid(const tower_metric *m, const char *error) {
  assert_tag(m, "verification", "invalid");
  ck_assert_int_eq(fint(m, "verification_code"), 1);
  ptrdiff_t e = field(m, "verification_error");
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)e), TOWER_FIELD_STRING);
  ck_assert_str_eq(tower_metric_field_string(m, (size_t)e), error);
}

static void assert_bits(const tower_metric *m, uint64_t bits) {
  ptrdiff_t i = field(m, "public_key_length");
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_UINT);
  ck_assert_uint_eq(tower_metric_field_uint(m, (size_t)i), bits);
}

/* The leaf, intermediate and root of pki.sh, every tag and field. */
static void assert_leaf(const tower_metric *m, const char *source) {
  assert_tag(m, "source", source);
  assert_tag(m, "type", "leaf");
  assert_tag(m, "common_name", "localhost");
  assert_tag(m, "organization", "Tower Test");
  assert_tag(m, "organizational_unit", "Web");
  assert_tag(m, "country", "KR");
  assert_tag(m, "province", "Seoul");
  assert_tag(m, "locality", "Mapo");
  assert_tag(m, "issuer_common_name", "Tower Test Intermediate CA");
  assert_tag(m, "issuer_serial_number", "INT-42");
  assert_tag(m, "serial_number", "a1b2c3d4e5f");
  assert_tag(m, "signature_algorithm", "ECDSA-SHA256");
  assert_tag(m, "public_key_algorithm", "RSA");
  assert_tag(m, "san", "localhost,127.0.0.1");
  assert_bits(m, 2048);
  assert_times(m, VALID_START, VALID_END);
  ck_assert_uint_eq(tower_metric_tag_count(m), 15);
}

static void assert_intermediate(const tower_metric *m, const char *source) {
  assert_tag(m, "source", source);
  assert_tag(m, "type", "intermediate");
  assert_tag(m, "common_name", "Tower Test Intermediate CA");
  assert_tag(m, "organization", "Tower Test");
  assert_tag(m, "organizational_unit", "PKI");
  assert_tag(m, "country", "KR");
  assert_tag(m, "province", "(absent)");
  assert_tag(m, "locality", "(absent)");
  assert_tag(m, "issuer_common_name", "Tower Test Root CA");
  assert_tag(m, "issuer_serial_number", "(absent)");
  assert_tag(m, "serial_number", "2002");
  assert_tag(m, "signature_algorithm", "SHA256-RSA");
  assert_tag(m, "public_key_algorithm", "ECDSA");
  assert_tag(m, "san", "(absent)");
  assert_bits(m, 256);
  assert_times(m, VALID_START, VALID_END);
}

static void assert_root(const tower_metric *m, const char *source) {
  assert_tag(m, "source", source);
  assert_tag(m, "type", "root");
  assert_tag(m, "common_name", "Tower Test Root CA");
  assert_tag(m, "province", "Seoul");
  assert_tag(m, "locality", "Jongno");
  assert_tag(m, "issuer_common_name", "Tower Test Root CA");
  assert_tag(m, "serial_number", "1001");
  assert_tag(m, "signature_algorithm", "SHA256-RSA");
  assert_tag(m, "public_key_algorithm", "RSA");
  assert_bits(m, 2048);
  assert_times(m, VALID_START, VALID_END);
}

/* Every metric is x509_cert, and the fields are the ones Telegraf has. */
static void assert_shape(void) {
  for (size_t i = 0; i < nms; i++) {
    ck_assert_str_eq(tower_metric_name(ms[i]), "x509_cert");
    size_t want = strcmp(tag(ms[i], "verification"), "valid") ? 7 : 6;
    ck_assert_uint_eq(tower_metric_field_count(ms[i]), want);
  }
}

/* ---- TLS servers --------------------------------------------------------------- */

START_TEST(tls_chain) {
  run("sources = [\"tcp://127.0.0.1:%d\"]; tls_ca = \"%s/root.pem\";", port_good, pki);
  ck_assert_int_eq(gather_errors, 0);
  ck_assert_uint_eq(nms, 3);
  char *src = th_fmt("tcp://127.0.0.1:%d", port_good);
  /* leaf first, in chain order */
  ck_assert_str_eq(tag(ms[0], "type"), "leaf");
  ck_assert_str_eq(tag(ms[1], "type"), "intermediate");
  ck_assert_str_eq(tag(ms[2], "type"), "root");
  assert_leaf(ms[0], src);
  assert_intermediate(ms[1], src);
  assert_root(ms[2], src);
  for (size_t i = 0; i < nms; i++)
    assert_valid(ms[i]);
  assert_shape();
  free(src);
}
END_TEST

START_TEST(https_host_name) {
  /* https:// verifies the leaf against the host name (DNS SAN localhost) */
  run("sources = [\"https://localhost:%d/path?q=1\"]; tls_ca = \"%s/root.pem\";", port_good, pki);
  ck_assert_int_eq(gather_errors, 0);
  ck_assert_uint_eq(nms, 3);
  char *src = th_fmt("https://localhost:%d/path?q=1", port_good);
  assert_leaf(find("type", "leaf"), src);
  for (size_t i = 0; i < nms; i++)
    assert_valid(ms[i]);
  free(src);
}
END_TEST

START_TEST(untrusted_without_tls_ca) {
  /* the system store does not know the test root */
  run("sources = [\"tcp://127.0.0.1:%d\"];", port_good);
  ck_assert_int_eq(gather_errors, 0);
  ck_assert_uint_eq(nms, 3);
  assert_invalid(find("type", "leaf"),
                 "self-signed certificate in certificate chain (certificate at depth 2 of the "
                 "chain: Tower Test Root CA)");
  assert_invalid(find("type", "root"), "self-signed certificate");
  assert_shape();
}
END_TEST

START_TEST(expired) {
  run("sources = [\"tcp://127.0.0.1:%d\"]; tls_ca = \"%s/root.pem\";", port_expired, pki);
  ck_assert_int_eq(gather_errors, 0);
  ck_assert_uint_eq(nms, 3);
  const tower_metric *leaf = find("common_name", "expired.test");
  assert_invalid(leaf, "certificate has expired");
  assert_times(leaf, EXPIRED_START, EXPIRED_END);
  ck_assert_int_lt(fint(leaf, "expiry"), 0);
  assert_tag(leaf, "serial_number", "3003");
  assert_valid(find("type", "intermediate"));
  assert_valid(find("type", "root"));
}
END_TEST

START_TEST(not_yet_valid) {
  run("sources = [\"tcp://127.0.0.1:%d\"]; tls_ca = \"%s/root.pem\";", port_notyet, pki);
  ck_assert_int_eq(gather_errors, 0);
  const tower_metric *leaf = find("common_name", "notyet.test");
  assert_invalid(leaf, "certificate is not yet valid");
  assert_times(leaf, NOTYET_START, NOTYET_END);
  ck_assert_int_lt(fint(leaf, "age"), 0);
}
END_TEST

START_TEST(self_signed) {
  run("sources = [\"tcp://127.0.0.1:%d\"]; tls_ca = \"%s/root.pem\";", port_self, pki);
  ck_assert_int_eq(gather_errors, 0);
  ck_assert_uint_eq(nms, 1);
  /* like Telegraf: a self-signed certificate is a root, even as a leaf */
  assert_tag(ms[0], "type", "root");
  assert_tag(ms[0], "common_name", "self.test");
  assert_tag(ms[0], "issuer_common_name", "self.test");
  assert_tag(ms[0], "serial_number", "7007");
  assert_invalid(ms[0], "self-signed certificate");
}
END_TEST

START_TEST(wrong_host) {
  run("sources = [\"https://localhost:%d\", \"tcp://127.0.0.1:%d\"]; tls_ca = \"%s/root.pem\";",
      port_wrong, port_wrong, pki);
  ck_assert_int_eq(gather_errors, 0);
  ck_assert_uint_eq(nms, 6);
  ck_assert_str_eq(tag(ms[0], "common_name"), "other.example");
  assert_tag(ms[0], "san", "other.example");
  assert_invalid(ms[0], "hostname mismatch: the certificate is not valid for localhost");
  assert_valid(ms[1]); /* the chain above it is fine */
  assert_valid(ms[2]);
  ck_assert_str_eq(tag(ms[3], "common_name"), "other.example");
  assert_invalid(ms[3], "IP address mismatch: the certificate is not valid for 127.0.0.1");
}
END_TEST

START_TEST(server_name_verified) {
  /* connect by address, verify the name given as server_name */
  run("sources = [\"tcp://127.0.0.1:%d\"]; server_name = \"localhost\"; tls_ca = \"%s/root.pem\";",
      port_good, pki);
  assert_valid(find("type", "leaf"));
  run("sources = [\"tcp://127.0.0.1:%d\"]; tls_server_name = \"www.example.org\"; "
      "tls_ca = \"%s/root.pem\";",
      port_good, pki);
  assert_invalid(find("type", "leaf"),
                 "hostname mismatch: the certificate is not valid for www.example.org");
}
END_TEST

START_TEST(server_name_sni) {
  /* s_server answers SNI sni.example with sni.pem (signed by the root) */
  run("sources = [\"https://localhost:%d\"]; server_name = \"sni.example\"; "
      "tls_ca = \"%s/root.pem\";",
      port_good, pki);
  ck_assert_int_eq(gather_errors, 0);
  ck_assert_uint_eq(nms, 1);
  assert_tag(ms[0], "common_name", "sni.example");
  assert_tag(ms[0], "serial_number", "6006");
  assert_tag(ms[0], "type", "leaf");
  assert_valid(ms[0]);
  char *src = th_fmt("https://localhost:%d", port_good);
  assert_tag(ms[0], "source", src); /* the source stays the URL */
  free(src);
}
END_TEST

START_TEST(exclude_root_certs) {
  run("sources = [\"tcp://127.0.0.1:%d\", \"tcp://127.0.0.1:%d\", \"%s/full.pem\"]; "
      "exclude_root_certs = true; tls_ca = \"%s/root.pem\";",
      port_good, port_self, pki, pki);
  ck_assert_int_eq(gather_errors, 0);
  ck_assert_uint_eq(nms, 4); /* leaf + intermediate, twice; no root, no self-signed */
  for (size_t i = 0; i < nms; i++)
    ck_assert_str_ne(tag(ms[i], "type"), "root");
}
END_TEST

START_TEST(default_ports) {
  /* https:// and smtp:// without a port mean 443 and 25; the source tag
   * shows the port, as Telegraf's does (the hosts do not resolve, so no
   * real port is touched) */
  run("sources = [\"https://no-such-host.invalid\", \"smtp://no-such-host.invalid/x\"];");
  ck_assert_int_eq(gather_errors, 2);
  char *log = log_text();
  assert_has(log, "cannot get certificates from https://no-such-host.invalid:443: cannot resolve "
                  "host name no-such-host.invalid");
  assert_has(log, "cannot get certificates from smtp://no-such-host.invalid:25/x: cannot resolve");
  free(log);
}
END_TEST

START_TEST(client_certificate) {
  run("sources = [\"tcp://127.0.0.1:%d\"]; tls_ca = \"%s/root.pem\";", port_mtls, pki);
  ck_assert_int_eq(gather_errors, 1);
  ck_assert_uint_eq(nms, 0);
  char *log = log_text();
  assert_has(log, "TLS handshake failed");
  assert_has(log, "tls_cert and tls_key");
  free(log);
  run("sources = [\"tcp://127.0.0.1:%d\"]; tls_ca = \"%s/root.pem\"; "
      "tls_cert = \"%s/client-full.pem\"; tls_key = \"%s/client.key\";",
      port_mtls, pki, pki, pki);
  ck_assert_int_eq(gather_errors, 0);
  ck_assert_uint_eq(nms, 3);
  assert_valid(find("type", "leaf"));
}
END_TEST

/* ---- SMTP STARTTLS ---------------------------------------------------------------- */

START_TEST(smtp_starttls) {
  run("sources = [\"smtp://127.0.0.1:%d\", \"smtp://localhost:%d\"]; tls_ca = \"%s/root.pem\";",
      port_smtp, port_smtp_helo, pki);
  ck_assert_int_eq(gather_errors, 0);
  ck_assert_uint_eq(nms, 6);
  char *src = th_fmt("smtp://127.0.0.1:%d", port_smtp);
  assert_leaf(ms[0], src);
  assert_intermediate(ms[1], src);
  assert_root(ms[2], src);
  free(src);
  for (size_t i = 0; i < nms; i++)
    assert_valid(ms[i]);
  /* the second server refuses EHLO: HELO is used, as Go's client does */
  src = th_fmt("smtp://localhost:%d", port_smtp_helo);
  assert_tag(ms[3], "source", src);
  free(src);
}
END_TEST

START_TEST(smtp_failures) {
  run("sources = [\"smtp://127.0.0.1:%d\", \"smtp://127.0.0.1:%d\", \"smtp://127.0.0.1:%d\", "
      "\"tcp://127.0.0.1:%d\", \"smtp://127.0.0.1:%d\"]; timeout = \"1s\";",
      port_smtp_refuse, port_smtp_inject, port_smtp_silent, port_smtp, port_good);
  ck_assert_int_eq(gather_errors, 5);
  ck_assert_uint_eq(nms, 0);
  char *log = log_text();
  assert_has(log, "the SMTP server answered STARTTLS with \"454 4.7.0 TLS not available due to "
                  "temporary reason\" (expected 220)");
  assert_has(log, "the SMTP server sent data after its STARTTLS reply; refusing the connection");
  assert_has(log, "timed out after 1s while waiting for the SMTP greeting");
  /* TLS to a plain-text SMTP port */
  assert_has(log, "TLS handshake failed: ");
  assert_has(log, "is this a TLS port?");
  /* SMTP to a TLS port: the TLS server waits for a ClientHello */
  char *want = th_fmt("smtp://127.0.0.1:%d: timed out after 1s while waiting for the SMTP "
                      "greeting",
                      port_good);
  assert_has(log, want);
  free(want);
  free(log);
}
END_TEST

/* ---- failures and time ------------------------------------------------------------- */

/* A port that accepts connections (the kernel completes them from the
 * backlog) but never says anything. */
static int blackhole(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(listen(fd, 16), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

/* A loopback port nobody listens on. */
static int closed_port(void) {
  int port, fd = blackhole(&port);
  close(fd);
  return port;
}

START_TEST(unreachable_and_others) {
  int dead = closed_port();
  run("sources = [\"tcp://127.0.0.1:%d\", \"tcp://127.0.0.1:%d\", \"%s/full.pem\", "
      "\"tcp://no-such-host.invalid:443\"]; tls_ca = \"%s/root.pem\";",
      dead, port_good, pki, pki);
  ck_assert_int_eq(gather_errors, 2);
  ck_assert_uint_eq(nms, 6); /* the server and the file still report */
  char *log = log_text();
  char *want = th_fmt("E! [inputs.x509_cert] cannot get certificates from tcp://127.0.0.1:%d: "
                      "connect to 127.0.0.1 port %d failed: Connection refused (is the server "
                      "running, and is this its port?)",
                      dead, dead);
  assert_has(log, want);
  assert_has(log, "cannot get certificates from tcp://no-such-host.invalid:443: cannot resolve "
                  "host name no-such-host.invalid");
  free(want);
  free(log);
}
END_TEST

/* Watches the blackholes during a gather: accepts their connections and
 * notes, in order, each arrival ('a' + i) and each hang-up ('A' + i), so a
 * test can tell parallel fetches from serial ones by the order of events
 * rather than by a duration that valgrind or a loaded host stretches. */
typedef struct {
  int listen_fd[4], conn_fd[4];
  int stop[2];
  char events[9];
  int n;
} hole_watch;

static void watch_one(hole_watch *w, struct pollfd *pf, int i) {
  if (w->conn_fd[i] < 0 && (pf->revents & POLLIN)) {
    w->conn_fd[i] = accept(w->listen_fd[i], NULL, NULL);
    if (w->conn_fd[i] >= 0 && w->n < 8)
      w->events[w->n++] = (char)('a' + i);
    return;
  }
  char buf[4096];
  if (w->conn_fd[i] >= 0 && (pf->revents & (POLLIN | POLLHUP | POLLERR)) &&
      read(w->conn_fd[i], buf, sizeof buf) <= 0) {
    close(w->conn_fd[i]);
    w->conn_fd[i] = -2; /* hung up: watched no more */
    if (w->n < 8)
      w->events[w->n++] = (char)('A' + i);
  }
}

static void *watch_holes(void *arg) {
  hole_watch *w = arg;
  for (;;) {
    struct pollfd pf[5] = {{.fd = w->stop[0], .events = POLLIN}};
    for (int i = 0; i < 4; i++) {
      pf[i + 1].fd = w->conn_fd[i] == -2  ? -1
                     : w->conn_fd[i] >= 0 ? w->conn_fd[i]
                                          : w->listen_fd[i];
      pf[i + 1].events = POLLIN;
    }
    if (poll(pf, 5, -1) < 0 && errno != EINTR)
      return NULL;
    if (pf[0].revents)
      return NULL;
    for (int i = 0; i < 4; i++)
      watch_one(w, &pf[i + 1], i);
  }
}

START_TEST(timeout_in_parallel) {
  /* four silent servers with a 500ms timeout each: fetched at once, every
   * connection arrives before the first one is given up */
  hole_watch w = {.n = 0};
  int ports[4];
  for (int i = 0; i < 4; i++) {
    w.listen_fd[i] = blackhole(&ports[i]);
    w.conn_fd[i] = -1;
  }
  ck_assert_int_eq(pipe(w.stop), 0);
  pthread_t watcher;
  ck_assert_int_eq(pthread_create(&watcher, NULL, watch_holes, &w), 0);
  double t0 = mono_s();
  run("sources = [\"tcp://127.0.0.1:%d\", \"tcp://127.0.0.1:%d\", \"tcp://127.0.0.1:%d\", "
      "\"tcp://127.0.0.1:%d\", \"tcp://127.0.0.1:%d\"]; timeout = \"500ms\"; "
      "tls_ca = \"%s/root.pem\";",
      ports[0], ports[1], port_good, ports[2], ports[3], pki);
  double took = mono_s() - t0;
  ck_assert_int_eq(write(w.stop[1], "x", 1), 1);
  ck_assert_int_eq(pthread_join(watcher, NULL), 0);
  ck_assert_int_eq(gather_errors, 4);
  ck_assert_uint_eq(nms, 3);
  ck_assert_msg(took >= 0.45, "gather took %.2fs: the 500ms timeout was not waited for", took);
  w.events[w.n] = '\0';
  ck_assert_msg(w.n == 8, "events at the silent servers: \"%s\" (want 4 arrivals, 4 hang-ups)",
                w.events);
  for (int i = 0; i < 4; i++)
    ck_assert_msg(w.events[i] >= 'a', "a server was given up before all were asked: \"%s\"",
                  w.events);
  char *log = log_text();
  char *want = th_fmt("cannot get certificates from tcp://127.0.0.1:%d: timed out after 500ms "
                      "during the TLS handshake (raise timeout if the server is slow)",
                      ports[2]);
  assert_has(log, want);
  free(want);
  free(log);
  for (int i = 0; i < 4; i++) {
    close(w.listen_fd[i]);
    if (w.conn_fd[i] >= 0)
      close(w.conn_fd[i]);
  }
  close(w.stop[0]);
  close(w.stop[1]);
}
END_TEST

/* ---- files ------------------------------------------------------------------------ */

static void copy_file(const char *from, const char *to) {
  char *src = th_fmt("%s/%s", pki, from);
  char *text = th_read_file(src);
  ck_assert_ptr_nonnull(text);
  ck_assert_int_eq(th_write_file(to, text), 0);
  free(text);
  free(src);
}

START_TEST(file_chain) {
  run("sources = [\"%s/full.pem\"]; tls_ca = \"%s/root.pem\"; server_name = \"nope.example\";", pki,
      pki);
  ck_assert_int_eq(gather_errors, 0);
  ck_assert_uint_eq(nms, 3);
  /* Telegraf reports files as file:// URLs; no host name check for files */
  char *src = th_fmt("file://%s/full.pem", pki);
  assert_leaf(ms[0], src);
  assert_intermediate(ms[1], src);
  assert_root(ms[2], src);
  for (size_t i = 0; i < nms; i++)
    assert_valid(ms[i]);
  assert_shape();
  free(src);
}
END_TEST

START_TEST(file_glob) {
  char *sub = th_fmt("%s/certs", dir);
  ck_assert_int_eq(mkdir(sub, 0755), 0);
  char *a = th_fmt("%s/a.pem", sub), *b = th_fmt("%s/b.pem", sub),
       *nested = th_fmt("%s/d.pem", sub);
  copy_file("expired-full.pem", a);
  copy_file("self.pem", b);
  ck_assert_int_eq(mkdir(nested, 0755), 0); /* a directory matching the glob is skipped */
  char *opts = th_fmt("sources = [\"file://%s/*.pem\"]; tls_ca = \"%s/root.pem\";", sub, pki);
  char *c = config(opts);
  free(opts);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  gather_pl(pl);
  ck_assert_int_eq(gather_errors, 0);
  ck_assert_uint_eq(nms, 4);
  char *src = th_fmt("file://%s", a);
  ck_assert_str_eq(tag(ms[0], "source"), src);
  assert_invalid(ms[0], "certificate has expired");
  free(src);
  /* the glob is matched again at every gather */
  char *e = th_fmt("%s/c.pem", sub);
  copy_file("leaf.pem", e);
  gather_pl(pl);
  ck_assert_uint_eq(nms, 5);
  src = th_fmt("file://%s", e);
  ck_assert_str_eq(tag(ms[4], "source"), src);
  /* alone, the leaf's issuer is unknown */
  assert_invalid(ms[4], "unable to get local issuer certificate");
  th_free(pl);
  free(src);
  free(e);
  free(c);
  free(a);
  free(b);
  free(nested);
  free(sub);
}
END_TEST

START_TEST(file_formats) {
  /* text around the PEM blocks and a private key are skipped; DER works */
  char *mixed = th_fmt("%s/mixed.pem", dir), *der = th_fmt("%s/leaf.der", dir);
  char *cmd = th_fmt("cd %s && { echo 'Certificate:'; openssl x509 -in leaf.pem -text; "
                     "cat leaf.key; echo junk; cat inter.pem; } > %s && "
                     "openssl x509 -in sni.pem -outform DER -out %s",
                     pki, mixed, der);
  ck_assert_int_eq(system(cmd), 0);
  run("sources = [\"%s\", \"%s\"]; tls_ca = \"%s/root.pem\";", mixed, der, pki);
  ck_assert_int_eq(gather_errors, 0);
  ck_assert_uint_eq(nms, 3);
  ck_assert_str_eq(tag(ms[0], "common_name"), "localhost");
  assert_valid(ms[0]); /* verified with the intermediate of the same file */
  ck_assert_str_eq(tag(ms[1], "type"), "intermediate");
  ck_assert_str_eq(tag(ms[2], "common_name"), "sni.example");
  assert_valid(ms[2]);
  free(cmd);
  free(mixed);
  free(der);
}
END_TEST

START_TEST(file_errors) {
  char *key = th_fmt("%s/key.pem", dir), *bad = th_fmt("%s/bad.pem", dir);
  char *empty = th_fmt("%s/empty.pem", dir);
  copy_file("leaf.key", key);
  ck_assert_int_eq(th_write_file(bad, "-----BEGIN CERTIFICATE-----\ndGVzdA==\n"
                                      "-----END CERTIFICATE-----\n"),
                   0);
  ck_assert_int_eq(th_write_file(empty, ""), 0);
  /* (the log prints 5 errors of one format per minute: two rounds) */
  run("sources = [\"/nonexistent/x509.pem\", \"/nonexistent/*.pem\", \"%s\"];", dir);
  ck_assert_int_eq(gather_errors, 3);
  char *log = log_text();
  assert_has(log, "cannot open /nonexistent/x509.pem: No such file or directory (check the path)");
  assert_has(log, "no file matches /nonexistent/*.pem");
  char *want = th_fmt("%s is a directory; use a glob such as %s/*.pem", dir, dir);
  assert_has(log, want);
  free(want);
  free(log);
  ck_assert_int_eq(truncate(logpath, 0), 0);
  run("sources = [\"%s\", \"%s\", \"%s\", \"%s/leaf.pem\"];", key, bad, empty, pki);
  ck_assert_int_eq(gather_errors, 3);
  ck_assert_uint_eq(nms, 1); /* the good file still reports */
  log = log_text();
  want = th_fmt("cannot get certificates from file://%s: %s holds 1 PEM block but no "
                "certificate",
                key, key);
  assert_has(log, want);
  free(want);
  want = th_fmt("%s: certificate 1 does not parse", bad);
  assert_has(log, want);
  free(want);
  want = th_fmt("%s holds no certificate", empty);
  assert_has(log, want);
  free(want);
  free(log);
  free(key);
  free(bad);
  free(empty);
}
END_TEST

START_TEST(algorithms) {
  /* Go's names: Ed25519 (256 bits) and ECDSA-SHA1, which security level 2
   * refuses, like Go refuses SHA-1 signatures */
  run("sources = [\"%s/ed25519.pem\", \"file://%s/sha1-full.pem\", \"%s/client-full.pem\"]; "
      "tls_ca = \"%s/root.pem\";",
      pki, pki, pki, pki);
  ck_assert_int_eq(gather_errors, 0);
  const tower_metric *ed = find("common_name", "ed.test");
  assert_tag(ed, "public_key_algorithm", "Ed25519");
  assert_tag(ed, "signature_algorithm", "Ed25519");
  assert_bits(ed, 256);
  const tower_metric *sha1 = find("common_name", "sha1.test");
  assert_tag(sha1, "signature_algorithm", "ECDSA-SHA1");
  assert_invalid(sha1, "CA signature digest algorithm too weak");
  /* any extended key usage is accepted (Go's ExtKeyUsageAny): a client
   * certificate (clientAuth only) verifies */
  assert_valid(find("common_name", "tower-client"));
  run("sources = [\"%s/inter.pem\"]; tls_ca = \"%s/root.pem\";", pki, pki);
  /* an intermediate alone in its file is an intermediate, and verifies */
  ck_assert_uint_eq(nms, 1);
  assert_tag(ms[0], "type", "intermediate");
  assert_valid(ms[0]);
}
END_TEST

/* ---- configuration -------------------------------------------------------------------- */

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
  static const struct {
    const char *opts, *want;
  } cases[] = {
      {"sources = [\"udp://127.0.0.1:4433\"];", "DTLS (udp://)"},
      {"sources = [\"ftp://example.org\"];", "unsupported scheme \"ftp\""},
      {"sources = [\"certs/server.pem\"];", "write a relative path as file://certs/server.pem"},
      {"sources = [\"tcp://example.org\"];", "give the port: tcp://host:port"},
      /* every scheme checks its port the same way */
      {"sources = [\"tcp://example.org:99999\"];",
       "source \"tcp://example.org:99999\": port \"99999\" is not from 1 to 65535"},
      {"sources = [\"https://example.org:99999\"];",
       "source \"https://example.org:99999\": port \"99999\" is not from 1 to 65535"},
      {"sources = [\"https://example.org:0/path\"];", "port \"0\" is not from 1 to 65535"},
      {"sources = [\"smtp://example.org:65536\"];", "port \"65536\" is not from 1 to 65535"},
      {"sources = [\"tcp6://[::1]:99999999999999999999\"];",
       "port \"99999999999999999999\" is not from 1 to 65535"},
      {"sources = [\"https://example.org:-1\"];",
       "port \"-1\" is neither a number from 1 to 65535 nor a service name"},
      {"sources = [\"https://example.org:\"];",
       "port \"\" is neither a number from 1 to 65535 nor a service name"},
      {"sources = [\"tcp://example.org:htps\"];",
       "port \"htps\" is neither a number from 1 to 65535 nor a service name"},
      {"sources = [\"tcp://::1:443\"];", "write IPv6 addresses in brackets"},
      {"sources = [\"https://[::1\"];", "missing ']'"},
      {"sources = [\"https://:443\"];", "the host is empty"},
      {"sources = [\"file://\"];", "the path is empty"},
      {"sources = [];", "sources is empty"},
      {"timeout = \"1s\";", "option \"sources\" is required"},
      {"sources = [\"/x.pem\"]; server_name = \"a\"; tls_server_name = \"b\";",
       "server_name (\"a\") and tls_server_name (\"b\") are both set"},
      {"sources = [\"/x.pem\"]; tls_cert = \"/x.pem\";", "tls_cert and tls_key go together"},
      {"sources = [\"/x.pem\"]; tls_ca = \"/nonexistent/ca.pem\";",
       "tls_ca \"/nonexistent/ca.pem\": /nonexistent does not exist; fix the path"},
      {"sources = [\"/x.pem\"]; tls_cert = \"/nonexistent/c.pem\"; tls_key = \"/nonexistent/k\";",
       "tls_cert \"/nonexistent/c.pem\": /nonexistent does not exist; fix the path"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    ck_assert_int_eq(truncate(logpath, 0), 0);
    char *text = rejected(cases[i].opts);
    ck_assert_msg(strstr(text, cases[i].want), "case %zu (%s): want \"%s\" in:\n%s", i,
                  cases[i].opts, cases[i].want, text);
    ck_assert_msg(strstr(text, "tower.conf:2"), "case %zu: no file:line in:\n%s", i, text);
    free(text);
  }
}
END_TEST

/* TLS files are checked before OpenSSL reads them, so that the message
 * says what is wrong ("PEM lib" would not); an encrypted key fails without
 * asking for a pass phrase on the terminal. */
START_TEST(tls_file_errors) {
  char *enc = th_fmt("%s/enc.key", dir);
  char *cmd = th_fmt("openssl pkey -in '%s/client.key' -aes256 -passout pass:x -out '%s' "
                     ">/dev/null 2>&1",
                     pki, enc);
  ck_assert_int_eq(system(cmd), 0);
  free(cmd);
  char *opts = th_fmt("sources = [\"/x.pem\"]; tls_ca = \"%s/leaf.key\"; tls_cert = "
                      "\"%s/client.key\"; tls_key = \"%s/client-full.pem\";",
                      pki, pki, pki);
  char *text = rejected(opts);
  char *want = th_fmt("tls_ca \"%s/leaf.key\": %s/leaf.key: it holds a private key but no "
                      "certificate (PRIVATE KEY block); give a PEM file of CA certificates",
                      pki, pki);
  assert_has(text, want);
  free(want);
  want = th_fmt("tls_cert \"%s/client.key\": %s/client.key: it holds a private key but no "
                "certificate",
                pki, pki);
  assert_has(text, want);
  free(want);
  want = th_fmt("tls_key \"%s/client-full.pem\": %s/client-full.pem: it holds a certificate but "
                "no private key (CERTIFICATE block); give the PEM file of the private key",
                pki, pki);
  assert_has(text, want);
  free(want);
  free(text);
  free(opts);
  ck_assert_int_eq(truncate(logpath, 0), 0);
  opts = th_fmt("sources = [\"/x.pem\"]; tls_cert = \"%s/client-full.pem\"; tls_key = \"%s\";", pki,
                enc);
  text = rejected(opts);
  want = th_fmt("tls_key \"%s\": cannot load the PEM private key (an encrypted key cannot be "
                "used: there is no password option)",
                enc);
  assert_has(text, want);
  free(want);
  free(text);
  free(opts);
  free(enc);
}
END_TEST

/* --config-check reads the file sources a gather would read (globs: their
 * directory), and contacts no server. */
START_TEST(config_check_sources) {
  char *key = th_fmt("%s/key.pem", dir);
  copy_file("leaf.key", key);
  char *opts = th_fmt("sources = [\"%s/leaf.pem\", \"/nonexistent/x509.pem\", "
                      "\"/nonexistent/*.pem\", \"%s\", \"%s/*.pem\", \"tcp://127.0.0.1:1\"];",
                      pki, key, pki);
  char *c = config(opts);
  twi_pipeline *pl = th_build(c, TWI_ONCE, NULL);
  ck_assert_ptr_nonnull(pl);
  ck_assert_int_eq(twi_pipeline_check(pl), 1);
  th_free(pl);
  char *log = log_text();
  assert_has(log, "tower.conf:2: source \"/nonexistent/x509.pem\": /nonexistent does not exist; "
                  "fix the path");
  assert_has(log, "source \"/nonexistent/*.pem\": /nonexistent does not exist");
  char *want = th_fmt("source \"%s\": %s holds 1 PEM block but no certificate", key, key);
  assert_has(log, want);
  free(want);
  want = th_fmt("source \"%s/leaf.pem\"", pki);
  assert_lacks(log, want);
  free(want);
  assert_lacks(log, "tcp://127.0.0.1:1");
  free(log);
  free(c);
  free(opts);
  ck_assert_int_eq(truncate(logpath, 0), 0);
  opts =
      th_fmt("sources = [\"%s/leaf.pem\", \"%s/*.pem\"]; tls_ca = \"%s/root.pem\";", pki, pki, pki);
  c = config(opts);
  pl = th_build(c, TWI_ONCE, NULL);
  ck_assert_ptr_nonnull(pl);
  log = NULL;
  if (twi_pipeline_check(pl) != 0)
    log = log_text();
  ck_assert_msg(!log, "refused: %s", log);
  th_free(pl);
  free(c);
  free(opts);
  free(key);
}
END_TEST

START_TEST(accepted_sources) {
  /* IPv6 literals, tcp4/tcp6, service names, the ports at both ends of
   * the range; file:// and plain paths */
  char *c = config("sources = [\"tcp6://[::1]:443\", \"tcp4://127.0.0.1:https\", "
                   "\"smtp://mail.example.org\", \"https://example.org:65535\", "
                   "\"smtp://example.org:1\", \"file:///etc/ssl/*.pem\", \"/etc/x.pem\"];");
  char *errors = NULL;
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  ck_assert_msg(pl && twi_pipeline_init(pl) == 0, "rejected: %s", errors ? errors : "");
  th_free(pl);
  free(errors);
  free(c);
}
END_TEST

/* ---- helpers, directly ------------------------------------------------------------------ */

START_TEST(seconds_between) {
  /* truncated toward zero like Go's int(d.Seconds()) */
  ck_assert_int_eq(x509_seconds_between(1000500000000LL, 1010), 9);  /* 9.5 s */
  ck_assert_int_eq(x509_seconds_between(1000500000000LL, 1000), 0);  /* -0.5 s */
  ck_assert_int_eq(x509_seconds_between(1000500000000LL, 990), -10); /* -10.5 s */
  ck_assert_int_eq(x509_seconds_between(1000000000000LL, 1000), 0);
  /* Go's time.Sub saturates at about 292 years */
  ck_assert_int_eq(x509_seconds_between(0, 253402300799LL), 9223372036LL); /* 9999-12-31 */
  ck_assert_int_eq(x509_seconds_between(4102444800000000000LL, -62135596800LL), -9223372036LL);
}
END_TEST

START_TEST(serial_hex) {
  /* Go's big.Int.Text(16): lowercase, no leading zero, "-" for negative */
  static const struct {
    long v;
    const char *want;
  } cases[] = {{0, "0"}, {10, "a"}, {0x0a1b, "a1b"}, {0xff00, "ff00"}, {-0x1f, "-1f"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    X509 *x = X509_new();
    ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), cases[i].v), 1);
    char *hex = x509_serial_hex(x);
    ck_assert_str_eq(hex, cases[i].want);
    free(hex);
    X509_free(x);
  }
}
END_TEST

int main(void) {
  start_peers();
  Suite *s = suite_create("inputs.x509_cert");
  TCase *t = tcase_create("x509_cert");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 60);
  tcase_add_test(t, tls_chain);
  tcase_add_test(t, https_host_name);
  tcase_add_test(t, untrusted_without_tls_ca);
  tcase_add_test(t, expired);
  tcase_add_test(t, not_yet_valid);
  tcase_add_test(t, self_signed);
  tcase_add_test(t, wrong_host);
  tcase_add_test(t, server_name_verified);
  tcase_add_test(t, server_name_sni);
  tcase_add_test(t, exclude_root_certs);
  tcase_add_test(t, default_ports);
  tcase_add_test(t, client_certificate);
  tcase_add_test(t, smtp_starttls);
  tcase_add_test(t, smtp_failures);
  tcase_add_test(t, unreachable_and_others);
  tcase_add_test(t, timeout_in_parallel);
  tcase_add_test(t, file_chain);
  tcase_add_test(t, file_glob);
  tcase_add_test(t, file_formats);
  tcase_add_test(t, file_errors);
  tcase_add_test(t, algorithms);
  tcase_add_test(t, config_errors);
  tcase_add_test(t, tls_file_errors);
  tcase_add_test(t, config_check_sources);
  tcase_add_test(t, accepted_sources);
  tcase_add_test(t, seconds_between);
  tcase_add_test(t, serial_hex);
  suite_add_tcase(s, t);
  int rc = check_run(s);
  stop_peers();
  return rc;
}
