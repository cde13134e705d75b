/* plugins/common/curl: the HTTP client options every libcurl plugin takes,
 * read from real config blocks (the core's validation included) and applied
 * to real libcurl handles that talk to real loopback peers:
 *  - an HTTP(S) server on libmicrohttpd and GnuTLS (tests/fixtures/influx2)
 *    that records each request's headers and whether the TLS client
 *    presented a certificate its CA signed;
 *  - certificates made by the openssl command (tests/fixtures/certs: a CA,
 *    a server certificate for 127.0.0.1, one for the name tower.test only, a
 *    client certificate with a plain and an encrypted key);
 *  - a forward HTTP proxy (tests/fixtures/http_proxy) that forwards to the
 *    server and records what it forwarded.
 * Each request is one synchronous curl_easy_perform(). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../plugins/common/curl/curl_common.h"
#include "check_run.h"
#include "conf.h"
#include "config_view.h"
#include "fixtures/certs/certs.h"
#include "fixtures/http_proxy/http_proxy.h"
#include "fixtures/influx2/influx2.h"
#include "harness.h"
#include "log_internal.h"

/* Every group, as a plugin would splice them into its table. */
static const tower_option options[] = {
    HTTP_CLIENT_TIMEOUT_OPTION("5s"),
    HTTP_CLIENT_RESPONSE_TIMEOUT_OPTION("5s"),
    HTTP_CLIENT_TLS_OPTIONS,
    HTTP_CLIENT_PROXY_OPTIONS("false"),
    HTTP_CLIENT_PROXY_ALIAS_OPTION,
    HTTP_CLIENT_HEADERS_OPTION,
    HTTP_CLIENT_BASIC_AUTH_OPTIONS,
    HTTP_CLIENT_BEARER_OPTIONS,
    TOWER_OPTION_END,
};
#define ALL_GROUPS 0xffu

static char *dir;     /* the test's temporary directory */
static unsigned logs; /* log files so far: one per client */

/* Each case reads its own messages: no rate limit (a window of 1 ns). */
static void setup(void) {
  dir = th_tmpdir();
  logs = 0;
  twi_log_set_window(1);
}

static void teardown(void) {
  twi_log_set_window(60LL * 1000000000LL);
  twi_log_set_file(NULL);
  th_rmrf(dir);
  free(dir);
}

/* ---- one client: a config block, its options, a curl handle ---------------------------- */

typedef struct client {
  twi_conf *conf;
  tower_config *cfg;
  http_client hc;
  CURL *curl;
  char *log; /* where this client's log lines go */
} client;

static size_t discard(char *data, size_t size, size_t n, void *ud) {
  (void)data, (void)ud;
  return size * n;
}

/* opts with every "@DIR@" replaced by the temporary directory. */
static char *with_dir(const char *opts) {
  char *out = strdup(opts);
  for (char *at; (at = strstr(out, "@DIR@"));) {
    char *next = th_fmt("%.*s%s%s", (int)(at - out), out, dir, at + 5);
    free(out);
    out = next;
  }
  return out;
}

/* Reads the block { opts } and, when the options load, configures a handle
 * with them. Returns what http_client_load() returned. */
static int open_client(client *c, const char *opts) {
  memset(c, 0, sizeof *c);
  c->log = th_fmt("%s/log%u", dir, logs++);
  ck_assert_int_eq(twi_log_set_file(c->log), 0);
  char *inner = with_dir(opts), *text = th_fmt("block = { %s };", inner);
  char err[256], *path = th_fmt("%s/test.conf", dir); /* messages name file:line */
  ck_assert_int_eq(th_write_file(path, text), 0);
  c->conf = twi_conf_load(path, err, sizeof err);
  ck_assert_msg(c->conf, "%s: %s", text, err);
  free(path);
  twi_diag d = {0};
  const tower_option *tables[] = {options, NULL};
  c->cfg = twi_config_new(config_setting_get_member(twi_conf_root(c->conf), "block"), tables,
                          "inputs.test", NULL, &d);
  ck_assert_msg(c->cfg, "%s: %s", text, d.text);
  twi_diag_free(&d);
  free(inner);
  free(text);
  int rc = http_client_load(&c->hc, NULL, c->cfg, ALL_GROUPS);
  if (rc)
    return rc;
  ck_assert_ptr_nonnull(c->curl = curl_easy_init());
  ck_assert_int_eq(http_client_apply(&c->hc, c->curl), 0);
  curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, discard);
  return 0;
}

static void close_client(client *c) {
  curl_easy_cleanup(c->curl);
  http_client_fini(&c->hc);
  twi_config_free(c->cfg);
  twi_conf_unref(c->conf);
  twi_log_set_file(NULL);
  free(c->log);
}

static char *client_log(const client *c) {
  char *text = th_read_file(c->log);
  return text ? text : strdup("");
}

/* GET url: libcurl's result, the HTTP status in *status. */
static CURLcode get(client *c, const char *url, long *status) {
  ck_assert_int_eq(http_client_request(&c->hc, c->curl, url), 0);
  CURLcode rc = curl_easy_perform(c->curl);
  *status = 0;
  curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
  return rc;
}

/* One client, one GET: the result must be `want` (and 204 from /ping when
 * it is CURLE_OK). */
static void ck_get(const char *opts, const char *url, CURLcode want) {
  client c;
  ck_assert_int_eq(open_client(&c, opts), 0);
  long status;
  CURLcode rc = get(&c, url, &status);
  ck_assert_msg(rc == want, "%s with { %s }: want \"%s\", got \"%s\"", url, opts,
                curl_easy_strerror(want), curl_easy_strerror(rc));
  if (rc == CURLE_OK)
    ck_assert_int_eq(status, 204);
  close_client(&c);
}

static char *url_of(influx2 *f, const char *scheme) {
  return th_fmt("%s://127.0.0.1:%u/ping", scheme, influx2_port(f));
}

static void ck_header(const influx2_request *r, const char *name, const char *want) {
  char *diff = influx2_header_diff(r, name, want);
  ck_assert_msg(!diff, "%s", diff);
}

/* ---- reading the options ------------------------------------------------------------------ */

/* The options must not load; the log must name the mistake. */
static void ck_refused(const char *opts, const char *want) {
  client c;
  ck_assert_int_eq(open_client(&c, opts), -EINVAL);
  char *log = client_log(&c);
  ck_assert_msg(strstr(log, want), "{ %s }: want \"%s\" in:\n%s", opts, want, log);
  ck_assert_msg(strstr(log, "test.conf:1"), "{ %s }: no file:line in:\n%s", opts, log);
  ck_assert_msg(!strstr(log, "s3cret"), "{ %s }: a secret in:\n%s", opts, log);
  free(log);
  close_client(&c);
}

START_TEST(test_config_errors) {
  char *empty = th_fmt("%s/empty", dir), *big = th_fmt("%s/two_lines", dir);
  ck_assert_int_eq(th_write_file(empty, " \n"), 0);
  ck_assert_int_eq(th_write_file(big, "tok\nen\n"), 0);
  static const char *const cases[][2] = {
      {"tls_cert = \"/nonexistent/c.pem\";", "tls_cert and tls_key go together"},
      {"tls_key_pwd = \"s3cret\";", "tls_key_pwd opens an encrypted tls_key, but tls_key is not"},
      {"tls_ca = \"/nonexistent/ca.pem\";",
       "tls_ca \"/nonexistent/ca.pem\": /nonexistent does not exist; fix the path"},
      {"tls_ca = \"@DIR@\";", "is a directory, not a regular file"},
      {"tls_server_name = \"tower test\";", "tls_server_name: \"tower test\" is not a host name"},
      {"http_proxy_url = \"proxy.example:3128\";",
       "http_proxy_url: \"proxy.example:3128\" is not a proxy URL"},
      {"http_proxy_url = \"ftp://me:s3cret@proxy:21\";", "\"ftp://me:xxxxx@proxy:21\" is not a"},
      {"use_system_proxy = true; http_proxy_url = \"http://p:3128\";",
       "use_system_proxy = true and http_proxy_url contradict each other"},
      {"http_proxy = \"http://a:1\"; http_proxy_url = \"http://b:2\";",
       "http_proxy and http_proxy_url are the same option"},
      {"http_headers = { X-Key = \"s3cret\\nX-Forged: 1\"; };",
       "http_headers.X-Key: the value holds a line break"},
      {"password = \"s3cret\";", "password needs username"},
      {"bearer_token = \"/nonexistent/token\";",
       "bearer_token: cannot read \"/nonexistent/token\": No such file"},
      {"bearer_token = \"@DIR@/empty\";", "the file is empty"},
      {"bearer_token = \"@DIR@/two_lines\";", "more than one line"},
      {"bearer_token = \"@DIR@/empty\"; bearer_token_string = \"s3cret\";",
       "bearer_token_string and bearer_token (a file) both give the token"},
      {"bearer_token_string = \"s3cret\\r\\n\";", "bearer_token_string holds a line break"},
      {"timeout = \"1s\"; response_timeout = \"2s\";",
       "response_timeout and timeout are the same limit"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    ck_refused(cases[i][0], cases[i][1]);
  free(empty);
  free(big);
}
END_TEST

START_TEST(test_config_values) {
  char *token = th_fmt("%s/token", dir);
  ck_assert_int_eq(th_write_file(token, "  tok-1\n"), 0);
  client c;
  ck_assert_int_eq(open_client(&c,
                               "response_timeout = \"1500ms\"; tls_ca = \"\"; "
                               "insecure_skip_verify = true; http_proxy = \"socks5h://p:1080\"; "
                               "http_headers = { X-A = \"1\"; X-Empty = \"\"; }; "
                               "username = \"bob\"; bearer_token = \"@DIR@/token\";"),
                   0);
  ck_assert_int_eq(c.hc.timeout_ns, 1500000000LL);
  ck_assert_ptr_null(c.hc.tls_ca); /* "" is unset, for "${VAR:-}" */
  ck_assert(c.hc.insecure_skip_verify);
  ck_assert_str_eq(c.hc.proxy_url, "socks5h://p:1080");
  ck_assert(!c.hc.use_system_proxy);
  ck_assert_str_eq(c.hc.headers->data, "X-A: 1");
  ck_assert_str_eq(c.hc.headers->next->data, "X-Empty;");
  ck_assert_ptr_null(c.hc.headers->next->next);
  ck_assert_str_eq(c.hc.bearer_file.token, "tok-1");
  char *log = client_log(&c);
  ck_assert_msg(strstr(log, "insecure_skip_verify is set: the server's certificate and host name "
                            "are not checked"),
                "%s", log);
  ck_assert_msg(strstr(log, "username and password are not sent: bearer_token takes priority"),
                "%s", log);
  free(log);
  close_client(&c);
  /* Defaults: timeout 5s (response_timeout unset), the environment's proxy off. */
  ck_assert_int_eq(open_client(&c, ""), 0);
  ck_assert_int_eq(c.hc.timeout_ns, 5000000000LL);
  ck_assert_ptr_null(c.hc.proxy_url);
  ck_assert(!c.hc.use_system_proxy && !c.hc.insecure_skip_verify);
  ck_assert_ptr_null(c.hc.headers);
  close_client(&c);
  free(token);
}
END_TEST

/* ---- TLS --------------------------------------------------------------------------------- */

/* The certificates of tests/fixtures/certs in the test's directory, and
 * an HTTPS server with certificate `cert` (server.pem or named.pem) that
 * checks client certificates against their CA. */
static influx2 *https_server(const char *cert) {
  char *err = certs_make(dir);
  ck_assert_msg(!err, "%s", err);
  char *c = certs_read(dir, cert), *k = certs_read(dir, "server.key"),
       *ca = certs_read(dir, "ca.pem");
  ck_assert(c && k && ca);
  influx2 *f = influx2_start(&(influx2_config){.tls_cert = c, .tls_key = k, .tls_ca = ca});
  ck_assert_ptr_nonnull(f);
  free(c);
  free(k);
  free(ca);
  return f;
}

/* Verification is on by default: a CA the system does not know is refused
 * unless tls_ca names it, or insecure_skip_verify turns the checks off. */
START_TEST(test_tls_verify) {
  influx2 *f = https_server("server.pem");
  char *url = url_of(f, "https");
  ck_get("", url, CURLE_PEER_FAILED_VERIFICATION);
  ck_get("tls_ca = \"@DIR@/ca.pem\";", url, CURLE_OK);
  ck_get("insecure_skip_verify = true;", url, CURLE_OK);
  ck_get("insecure_skip_verify = false;", url, CURLE_PEER_FAILED_VERIFICATION);
  ck_assert_uint_eq(influx2_count(f), 2);
  ck_assert(!influx2_request_at(f, 0)->client_cert);
  influx2_stop(f);
  free(url);
}
END_TEST

START_TEST(test_tls_client_cert) {
  influx2 *f = https_server("server.pem");
  char *url = url_of(f, "https");
  ck_get(
      "tls_ca = \"@DIR@/ca.pem\"; tls_cert = \"@DIR@/client.pem\"; tls_key = \"@DIR@/client.key\";",
      url, CURLE_OK);
  ck_assert(influx2_request_at(f, 0)->client_cert);
  ck_get("tls_ca = \"@DIR@/ca.pem\"; tls_cert = \"@DIR@/client.pem\"; tls_key = "
         "\"@DIR@/client_enc.key\"; "
         "tls_key_pwd = \"k3y-pwd\";",
         url, CURLE_OK);
  ck_assert(influx2_request_at(f, 1)->client_cert);
  ck_get("tls_ca = \"@DIR@/ca.pem\"; tls_cert = \"@DIR@/client.pem\"; tls_key = "
         "\"@DIR@/client_enc.key\"; "
         "tls_key_pwd = \"wrong\";",
         url, CURLE_SSL_CERTPROBLEM);
  ck_assert_uint_eq(influx2_count(f), 2);
  influx2_stop(f);
  free(url);
}
END_TEST

/* tls_server_name: the certificate names tower.test, the URL 127.0.0.1. */
START_TEST(test_tls_server_name) {
  influx2 *f = https_server("named.pem");
  char *url = url_of(f, "https");
  ck_get("tls_ca = \"@DIR@/ca.pem\";", url, CURLE_PEER_FAILED_VERIFICATION);
  ck_get("tls_ca = \"@DIR@/ca.pem\"; tls_server_name = \"other.test\";", url,
         CURLE_PEER_FAILED_VERIFICATION);
  client c;
  ck_assert_int_eq(open_client(&c, "tls_ca = \"@DIR@/ca.pem\"; tls_server_name = \"tower.test\";"),
                   0);
  long status;
  for (int i = 0; i < 2; i++) { /* the second on the same handle and connection */
    ck_assert_int_eq(get(&c, url, &status), CURLE_OK);
    ck_assert_int_eq(status, 204);
  }
  ck_assert_uint_eq(influx2_count(f), 2);
  char *host = th_fmt("tower.test:%u", influx2_port(f));
  ck_header(influx2_request_at(f, 0), "Host", host);
  ck_assert_uint_eq(influx2_request_at(f, 1)->connection, influx2_request_at(f, 0)->connection);
  /* An http:// URL on the same handle goes where it says. */
  influx2 *plain = influx2_start(&(influx2_config){0});
  char *plain_url = url_of(plain, "http");
  ck_assert_int_eq(get(&c, plain_url, &status), CURLE_OK);
  ck_assert_uint_eq(influx2_count(plain), 1);
  close_client(&c);
  influx2_stop(plain);
  influx2_stop(f);
  free(plain_url);
  free(host);
  free(url);
}
END_TEST

/* ---- headers and authentication ------------------------------------------------------ */

START_TEST(test_headers_basic_auth) {
  influx2 *f = influx2_start(&(influx2_config){0});
  char *url = url_of(f, "http");
  ck_get("http_headers = { X-Tenant = \"t1\"; X-Empty = \"\"; User-Agent = \"probe/1\"; }; "
         "username = \"bob\"; password = \"p@ss\";",
         url, CURLE_OK);
  const influx2_request *r = influx2_request_at(f, 0);
  ck_header(r, "X-Tenant", "t1");
  ck_header(r, "X-Empty", "");
  ck_header(r, "User-Agent", "probe/1");
  ck_header(r, "Authorization", "Basic Ym9iOnBAc3M="); /* base64("bob:p@ss") */
  /* A username alone: basic authentication with an empty password. */
  ck_get("username = \"bob\";", url, CURLE_OK);
  ck_header(influx2_request_at(f, 1), "Authorization", "Basic Ym9iOg==");
  ck_get("", url, CURLE_OK);
  ck_header(influx2_request_at(f, 2), "Authorization", NULL);
  influx2_stop(f);
  free(url);
}
END_TEST

/* The token of a file follows the file: rewritten in place, or replaced by
 * a rename (how Kubernetes rotates them); while it cannot be read, the
 * previous token goes on. */
START_TEST(test_bearer) {
  influx2 *f = influx2_start(&(influx2_config){0});
  char *url = url_of(f, "http");
  ck_get("bearer_token_string = \"abc.def-ghi\"; username = \"bob\"; password = \"p\";", url,
         CURLE_OK);
  ck_header(influx2_request_at(f, 0), "Authorization", "Bearer abc.def-ghi");
  char *path = th_fmt("%s/token", dir), *next = th_fmt("%s/token.new", dir);
  ck_assert_int_eq(th_write_file(path, "tok-1\n"), 0);
  client c;
  ck_assert_int_eq(open_client(&c, "bearer_token = \"@DIR@/token\";"), 0);
  static const char *const want[] = {"Bearer tok-1", "Bearer tok-22", "Bearer tok-33",
                                     "Bearer tok-33"};
  long status;
  for (size_t i = 0; i < 4; i++) {
    if (i == 1)
      ck_assert_int_eq(th_write_file(path, "tok-22\n"), 0);
    if (i == 2) /* the same size: only the inode tells */
      ck_assert(th_write_file(next, "tok-33\n") == 0 && rename(next, path) == 0);
    if (i == 3)
      ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(get(&c, url, &status), CURLE_OK);
    ck_header(influx2_request_at(f, 1 + i), "Authorization", want[i]);
  }
  char *log = client_log(&c);
  ck_assert_msg(strstr(log, "bearer_token: cannot read") && strstr(log, "previous token is sent"),
                "%s", log);
  ck_assert_msg(!strstr(log, "tok-33"), "the token in the log:\n%s", log);
  free(log);
  close_client(&c);
  influx2_stop(f);
  free(path);
  free(next);
  free(url);
}
END_TEST

START_TEST(test_timeout) {
  influx2 *f = influx2_start(&(influx2_config){0});
  influx2_set_delay(f, 1500);
  char *url = url_of(f, "http");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  ck_get("timeout = \"200ms\";", url, CURLE_OPERATION_TIMEDOUT);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  ck_assert_msg(secs < 1.2, "the request took %.2f s despite timeout = 200ms", secs);
  influx2_set_delay(f, 0);
  influx2_stop(f);
  free(url);
}
END_TEST

/* ---- proxy ------------------------------------------------------------------------------ */

/* Whether the last GET went through the proxy (its count moved). */
static void ck_proxied(http_proxy *p, size_t *seen, bool want, const char *url) {
  size_t n = http_proxy_count(p);
  ck_assert_msg((n > *seen) == want, "%s went %s the proxy", url, want ? "around" : "through");
  if (want) {
    char line[1100], *expect = th_fmt("GET %s HTTP/1.1", url);
    ck_assert_str_eq(http_proxy_request_line(p, n - 1, line, sizeof line), expect);
    free(expect);
  }
  *seen = n;
}

START_TEST(test_proxy) {
  influx2 *f = influx2_start(&(influx2_config){0});
  http_proxy *p = http_proxy_start();
  ck_assert_ptr_nonnull(p);
  char *url = url_of(f, "http"), *proxy = th_fmt("http://127.0.0.1:%u", http_proxy_port(p));
  char *with_url = th_fmt("http_proxy_url = \"%s\";", proxy);
  char *with_alias = th_fmt("http_proxy = \"%s\";", proxy);
  static const char *const others[] = {"no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"};
  for (size_t i = 0; i < sizeof others / sizeof *others; i++)
    unsetenv(others[i]);
  setenv("http_proxy", proxy, 1);
  size_t seen = 0;
  ck_get(with_url, url, CURLE_OK);
  ck_proxied(p, &seen, true, url);
  ck_get(with_alias, url, CURLE_OK);
  ck_proxied(p, &seen, true, url);
  ck_get("use_system_proxy = true;", url, CURLE_OK);
  ck_proxied(p, &seen, true, url);
  ck_get("use_system_proxy = false;", url, CURLE_OK);
  ck_proxied(p, &seen, false, url);
  unsetenv("http_proxy");
  ck_get("use_system_proxy = true;", url, CURLE_OK);
  ck_proxied(p, &seen, false, url);
  /* Every request reached the server, through the proxy or not. */
  ck_assert_uint_eq(influx2_count(f), 5);
  http_proxy_stop(p);
  influx2_stop(f);
  free(with_url);
  free(with_alias);
  free(proxy);
  free(url);
}
END_TEST

int main(void) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return EXIT_FAILURE;
  Suite *s = suite_create("common.curl");
  TCase *tc = tcase_create("config");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_config_errors);
  tcase_add_test(tc, test_config_values);
  suite_add_tcase(s, tc);
  tc = tcase_create("tls");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_tls_verify);
  tcase_add_test(tc, test_tls_client_cert);
  tcase_add_test(tc, test_tls_server_name);
  suite_add_tcase(s, tc);
  tc = tcase_create("http");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_headers_basic_auth);
  tcase_add_test(tc, test_bearer);
  tcase_add_test(tc, test_timeout);
  tcase_add_test(tc, test_proxy);
  suite_add_tcase(s, tc);
  int rc = check_run(s);
  curl_global_cleanup();
  return rc;
}
