/* inputs.prometheus through the core (a pipeline with the record output),
 * against loopback HTTP targets on TCP and on a unix socket.
 *
 * The targets here are a small server in this file, because what is
 * tested is how the plugin copes with targets that misbehave on purpose:
 * one that never answers, one that floods 100 MB, one that closes in the
 * middle of its body, one that wants a bearer token, and documents chosen
 * to cover each mapping rule. No real exporter does those on demand. The
 * real peers (prometheus-node-exporter, the Prometheus server's own
 * /metrics, OpenMetrics from Prometheus's Python client, promtool,
 * openssl s_server) are in tests/integration/prometheus_input.sh. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <tower/tower.h>

#include "check_run.h"
#include "harness.h"
#include "log_internal.h"
#include "loopback.h"

#define NOW_NS 1705312800000000000LL
#define ACCEPT                                                                                     \
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"  \
  "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

static const char text_doc[] =
    "# HELP req_total Requests.\n# TYPE req_total counter\n"
    "req_total{code=\"200\",path=\"/a\"} 7\nreq_total{code=\"500\",path=\"\"} 1\n"
    "# TYPE temp gauge\ntemp 21.5 1705312700000\n"
    "# TYPE lat histogram\nlat_bucket{le=\"0.1\"} 2\nlat_bucket{le=\"1\"} 3\n"
    "lat_bucket{le=\"+Inf\"} 4\nlat_sum 2.5\nlat_count 4\n"
    "# TYPE q summary\nq{quantile=\"0.5\"} 0.2\nq{quantile=\"0.9\"} NaN\nq_sum 9\nq_count 30\n"
    "free 3\n";

static const char om_doc[] = "# TYPE req counter\n# UNIT req requests\n# HELP req Requests.\n"
                             "req_total{code=\"200\"} 7 1705312700.5 # {trace=\"a\"} 1\n"
                             "req_created{code=\"200\"} 1705312000.0\n"
                             "# TYPE build info\nbuild_info{version=\"1.2\"} 1\n"
                             "# EOF\n";

/* ---- the loopback target ------------------------------------------------------------- */

#define MAX_CONN 32

typedef struct target {
  int lfd[2]; /* TCP, unix */
  int stop[2];
  unsigned port;
  char sock[100];
  pthread_t thread, conns[MAX_CONN];
  int nconn;
  pthread_mutex_t lock;
  char last_request[4096];
} target;

typedef struct conn {
  target *tg;
  int fd;
} conn;

static void send_all(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w <= 0)
      return;
    s += w;
    n -= (size_t)w;
  }
}

static void respond(int fd, const char *status, const char *type, const char *body) {
  char head[256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   status, type, strlen(body));
  send_all(fd, head, (size_t)n);
  send_all(fd, body, strlen(body));
}

/* 100 MB of valid samples, until the client goes away. */
static void flood(int fd) {
  static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             "Connection: close\r\n\r\n";
  send_all(fd, head, sizeof head - 1);
  char chunk[65536];
  for (size_t i = 0; i + 8 <= sizeof chunk; i += 8)
    memcpy(chunk + i, "flood 1\n", 8);
  for (size_t sent = 0; sent < (100u << 20); sent += sizeof chunk)
    if (send(fd, chunk, sizeof chunk, MSG_NOSIGNAL) <= 0)
      return;
}

static void hang(target *tg) {
  struct pollfd p = {.fd = tg->stop[0], .events = POLLIN};
  poll(&p, 1, 30000);
}

static void route(target *tg, int fd, const char *req) {
  if (strstr(req, "GET /text "))
    respond(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", text_doc);
  else if (strstr(req, "GET /om "))
    respond(fd, "200 OK", "application/openmetrics-text; version=1.0.0; charset=utf-8", om_doc);
  else if (strstr(req, "GET /hang "))
    hang(tg);
  else if (strstr(req, "GET /flood "))
    flood(fd);
  else if (strstr(req, "GET /cut ")) {
    static const char cut[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                              "Content-Length: 100000\r\n\r\n# TYPE a gauge\na 1\nb 2\n";
    send_all(fd, cut, sizeof cut - 1);
  } else if (strstr(req, "GET /secret ") && strstr(req, "Authorization: Bearer tok3n\r\n"))
    respond(fd, "200 OK", "text/plain", "secret_ok 1\n");
  else if (strstr(req, "GET /secret "))
    respond(fd, "401 Unauthorized", "text/plain", "who are you\n");
  else
    respond(fd, "404 Not Found", "text/plain", "no such page\n");
}

static void *serve_conn(void *arg) {
  conn *c = arg;
  char req[4096];
  size_t n = 0;
  while (n + 1 < sizeof req) {
    ssize_t r = recv(c->fd, req + n, sizeof req - 1 - n, 0);
    if (r <= 0)
      break;
    n += (size_t)r;
    req[n] = '\0';
    if (strstr(req, "\r\n\r\n"))
      break;
  }
  req[n] = '\0';
  pthread_mutex_lock(&c->tg->lock);
  snprintf(c->tg->last_request, sizeof c->tg->last_request, "%s", req);
  pthread_mutex_unlock(&c->tg->lock);
  route(c->tg, c->fd, req);
  close(c->fd);
  free(c);
  return NULL;
}

static void *serve(void *arg) {
  target *tg = arg;
  for (;;) {
    struct pollfd p[3] = {{.fd = tg->lfd[0], .events = POLLIN},
                          {.fd = tg->lfd[1], .events = POLLIN},
                          {.fd = tg->stop[0], .events = POLLIN}};
    if (poll(p, 3, -1) < 0 || p[2].revents)
      return NULL;
    for (int i = 0; i < 2; i++) {
      int fd = p[i].revents ? accept(tg->lfd[i], NULL, NULL) : -1;
      if (fd < 0)
        continue;
      conn *c = malloc(sizeof *c);
      c->tg = tg;
      c->fd = fd;
      if (tg->nconn == MAX_CONN || pthread_create(&tg->conns[tg->nconn], NULL, serve_conn, c)) {
        close(fd);
        free(c);
        continue;
      }
      tg->nconn++;
    }
  }
}

static int unix_listen(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof a.sun_path)
    return -1;
  memcpy(a.sun_path, path, strlen(path) + 1);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 16))
    return -1;
  return fd;
}

static target *target_start(const char *dir) {
  target *tg = calloc(1, sizeof *tg);
  snprintf(tg->sock, sizeof tg->sock, "%s/app.sock", dir);
  tg->lfd[0] = loopback_listen(&tg->port);
  tg->lfd[1] = unix_listen(tg->sock);
  ck_assert_int_ge(tg->lfd[0], 0);
  ck_assert_int_ge(tg->lfd[1], 0);
  ck_assert_int_eq(pipe(tg->stop), 0);
  pthread_mutex_init(&tg->lock, NULL);
  ck_assert_int_eq(pthread_create(&tg->thread, NULL, serve, tg), 0);
  return tg;
}

static void target_stop(target *tg) {
  ck_assert_int_eq(write(tg->stop[1], "x", 1), 1);
  pthread_join(tg->thread, NULL);
  for (int i = 0; i < tg->nconn; i++)
    pthread_join(tg->conns[i], NULL);
  close(tg->lfd[0]);
  close(tg->lfd[1]);
  close(tg->stop[0]);
  close(tg->stop[1]);
  pthread_mutex_destroy(&tg->lock);
  free(tg);
}

/* ---- driving the plugin ---------------------------------------------------------------- */

static char *dir;
static target *tg;

static void setup(void) {
  dir = th_tmpdir();
  char *log = th_fmt("%s/tower.log", dir);
  ck_assert_int_eq(twi_log_set_file(log), 0);
  free(log);
  tg = target_start(dir);
}

static void teardown(void) {
  target_stop(tg);
  twi_log_set_file(NULL);
  th_rmrf(dir);
  free(dir);
}

static char *url(const char *path) {
  return th_fmt("http://127.0.0.1:%u%s", tg->port, path);
}

/* A pipeline whose record output starts from an empty out.lp. */
static twi_pipeline *start(const char *opts) {
  char *out = th_fmt("%s/out.lp", dir);
  th_write_file(out, "");
  free(out);
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"prometheus\"; %s } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                   opts, dir);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  free(c);
  return pl;
}

/* One gather as the input thread makes it, flushed to out.lp; returns the
 * errors it reported and its duration in *ms. */
static int gather(twi_pipeline *pl, long *ms) {
  tower_ctx *in = pl->inputs[0];
  tower_acc *acc = twi_acc_new_input(in, pl, false);
  ck_assert_ptr_nonnull(acc);
  twi_acc_begin(acc, NOW_NS);
  int64_t t0 = tower_mono_ns();
  in->plugin->desc.gather(in->state, acc);
  if (ms)
    *ms = (long)((tower_mono_ns() - t0) / 1000000);
  tower_acc_commit(acc);
  int errors = (int)twi_acc_errors(acc);
  twi_acc_free(acc);
  th_flush(pl);
  return errors;
}

static char *read_dir_file(const char *name) {
  char *path = th_fmt("%s/%s", dir, name);
  char *text = th_read_file(path);
  free(path);
  return text ? text : strdup("");
}

static void ck_out(const char *want) {
  char *out = read_dir_file("out.lp");
  ck_assert_str_eq(out, want);
  free(out);
}

static void ck_log_has(const char *want) {
  char *log = read_dir_file("tower.log");
  ck_assert_msg(strstr(log, want), "log lacks \"%s\":\n%s", want, log);
  free(log);
}

/* Runs one gather of `opts` with `urls`; returns its errors. */
static int run(const char *urls, const char *opts, long *ms) {
  char *o = th_fmt("urls = [%s]; %s", urls, opts);
  twi_pipeline *pl = start(o);
  int errors = gather(pl, ms);
  th_free(pl);
  free(o);
  return errors;
}

static int run_path(const char *path, const char *opts) {
  char *u = url(path);
  char *q = th_fmt("\"%s\"", u);
  int errors = run(q, opts, NULL);
  free(q);
  free(u);
  return errors;
}

/* ---- the mappings ----------------------------------------------------------------------- */

START_TEST(text_metric_version_1) {
  ck_assert_int_eq(run_path("/text", ""), 0);
  char *u = url("/text");
  char *want = th_fmt("req_total,code=200,path=/a,url=%1$s counter=7 %2$lld\n"
                      "req_total,code=500,url=%1$s counter=1 %2$lld\n"
                      "temp,url=%1$s gauge=21.5 1705312700000000000\n"
                      "lat,url=%1$s +Inf=4,0.1=2,1=3,count=4,sum=2.5 %2$lld\n"
                      "q,url=%1$s 0.5=0.2,count=30,sum=9 %2$lld\n"
                      "free,url=%1$s value=3 %2$lld\n",
                      u, NOW_NS);
  ck_out(want);
  free(want);
  free(u);
  pthread_mutex_lock(&tg->lock);
  ck_assert_msg(strstr(tg->last_request, "\r\nAccept: " ACCEPT "\r\n"), "%s", tg->last_request);
  ck_assert_msg(strstr(tg->last_request, "\r\nX-Prometheus-Scrape-Timeout-Seconds: 5\r\n"), "%s",
                tg->last_request);
  pthread_mutex_unlock(&tg->lock);
}
END_TEST

/* Telegraf's metric_version 2 (a NaN quantile is left out, as in v1). */
START_TEST(text_metric_version_2) {
  ck_assert_int_eq(run_path("/text", "metric_version = 2; url_tag = \"target\";"), 0);
  char *u = url("/text");
  char *want = th_fmt("prometheus,code=200,path=/a,target=%1$s req_total=7 %2$lld\n"
                      "prometheus,code=500,target=%1$s req_total=1 %2$lld\n"
                      "prometheus,target=%1$s temp=21.5 1705312700000000000\n"
                      "prometheus,target=%1$s lat_count=4,lat_sum=2.5 %2$lld\n"
                      "prometheus,le=+Inf,target=%1$s lat_bucket=4 %2$lld\n"
                      "prometheus,le=0.1,target=%1$s lat_bucket=2 %2$lld\n"
                      "prometheus,le=1,target=%1$s lat_bucket=3 %2$lld\n"
                      "prometheus,target=%1$s q_count=30,q_sum=9 %2$lld\n"
                      "prometheus,quantile=0.5,target=%1$s q=0.2 %2$lld\n"
                      "prometheus,target=%1$s free=3 %2$lld\n",
                      u, NOW_NS);
  ck_out(want);
  free(want);
  free(u);
}
END_TEST

/* OpenMetrics by Content-Type; ignore_timestamp; no url tag. */
START_TEST(openmetrics_body) {
  ck_assert_int_eq(run_path("/om", "url_tag = \"\"; precision = \"1ms\";"), 0);
  char *want = th_fmt("req_total,code=200 counter=7 1705312700500000000\n"
                      "build_info,version=1.2 gauge=1 %lld\n",
                      NOW_NS);
  ck_out(want);
  free(want);
  ck_assert_int_eq(run_path("/om", "url_tag = \"\"; ignore_timestamp = true; metric_version = 2;"),
                   0);
  want = th_fmt("prometheus,code=200 req_total=7 %1$lld\n"
                "prometheus,version=1.2 build_info=1 %1$lld\n",
                NOW_NS);
  ck_out(want);
  free(want);
}
END_TEST

START_TEST(unix_socket) {
  char *u = th_fmt("\"unix://%s?path=/om\"", tg->sock);
  ck_assert_int_eq(run(u, "enable_request_metrics = true;", NULL), 0);
  char *out = read_dir_file("out.lp");
  char *want = th_fmt("req_total,code=200,url=unix://%s?path\\=/om counter=7", tg->sock);
  ck_assert_msg(strstr(out, want), "%s", out);
  ck_assert_msg(strstr(out, "prometheus_request,result=success,url=unix://"), "%s", out);
  ck_assert_msg(strstr(out, "http_response_code=200i"), "%s", out);
  free(want);
  free(out);
  free(u);
  /* No ?path: /metrics, which this target does not serve. */
  u = th_fmt("\"unix://%s\"", tg->sock);
  ck_assert_int_eq(run(u, "", NULL), 1);
  ck_log_has("answered HTTP 404 instead of 200");
  free(u);
}
END_TEST

/* ---- targets that misbehave ------------------------------------------------------------- */

/* A target that never answers costs the timeout, once, and does not hold
 * back the others. */
START_TEST(hanging_target) {
  char *h = url("/hang"), *t = url("/text");
  char *urls = th_fmt("\"%s\", \"%s\", \"%s\"", h, t, h);
  long ms;
  ck_assert_int_eq(run(urls, "timeout = \"400ms\"; enable_request_metrics = true;", &ms), 2);
  ck_assert_msg(ms >= 390 && ms < 2000, "the gather took %ld ms", ms);
  char *want = th_fmt("%s did not answer in full within 0.4s (timeout)", h);
  ck_log_has(want);
  char *out = read_dir_file("out.lp");
  ck_assert_msg(strstr(out, "req_total,code=200,path=/a"), "%s", out);
  ck_assert_msg(strstr(out, "prometheus_request,result=timeout"), "%s", out);
  free(out);
  free(want);
  free(urls);
  free(h);
  free(t);
}
END_TEST

START_TEST(flood_over_limit) {
  long ms;
  char *u = url("/flood"), *q = th_fmt("\"%s\"", u);
  ck_assert_int_eq(run(q, "content_length_limit = \"1MiB\"; enable_request_metrics = true;", &ms),
                   1);
  ck_assert_msg(ms < 3000, "the gather took %ld ms", ms);
  ck_log_has("sent more than content_length_limit (1048576 bytes): the scrape is dropped");
  char *out = read_dir_file("out.lp");
  ck_assert_msg(!strstr(out, "flood,"), "%.200s", out);
  ck_assert_msg(strstr(out, "prometheus_request,result=body_too_large"), "%s", out);
  free(out);
  free(q);
  free(u);
}
END_TEST

START_TEST(cut_mid_body) {
  ck_assert_int_eq(run_path("/cut", ""), 1);
  ck_log_has("the response broke off after 23 bytes of body");
  ck_out("");
}
END_TEST

START_TEST(bearer_token) {
  ck_assert_int_eq(run_path("/secret", "bearer_token_string = \"wrong\";"), 1);
  ck_log_has("answered HTTP 401 instead of 200: no metrics from it; check username/password or "
             "the bearer token");
  char *tok = th_fmt("%s/token", dir);
  th_write_file(tok, "tok3n\n");
  char *opts = th_fmt("bearer_token = \"%s\";", tok);
  ck_assert_int_eq(run_path("/secret", opts), 0);
  char *out = read_dir_file("out.lp");
  ck_assert_msg(strstr(out, "secret_ok,url="), "%s", out);
  free(out);
  free(opts);
  free(tok);
}
END_TEST

START_TEST(url_forms) {
  /* no path: /metrics (404 here); credentials never reach the tag or log */
  char *q = th_fmt("\"http://user:pa55@127.0.0.1:%u\"", tg->port);
  ck_assert_int_eq(run(q, "enable_request_metrics = true;", NULL), 1);
  pthread_mutex_lock(&tg->lock);
  ck_assert_msg(strstr(tg->last_request, "GET /metrics HTTP/1.1"), "%s", tg->last_request);
  pthread_mutex_unlock(&tg->lock);
  char *want = th_fmt("prometheus_request,result=http_error,url=http://127.0.0.1:%u ", tg->port);
  char *out = read_dir_file("out.lp"), *log = read_dir_file("tower.log");
  ck_assert_msg(strstr(out, want), "%s", out);
  ck_assert_msg(!strstr(out, "pa55") && !strstr(log, "pa55"), "%s%s", out, log);
  free(out);
  free(log);
  free(want);
  free(q);
}
END_TEST

START_TEST(config_errors) {
  static const char *const bad[] = {"ftp://host/metrics", "unix:///x.sock?p=/m", "localhost:9100"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *c = th_fmt("inputs = ( { plugin = \"prometheus\"; urls = [\"%s\"]; } );\n"
                     "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
                     bad[i]);
    char *errors = NULL;
    twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
    if (pl) {
      ck_assert_int_ne(twi_pipeline_init(pl), 0);
      th_free(pl);
    }
    char *log = read_dir_file("tower.log");
    char *want = th_fmt("\"%s\"", bad[i]);
    ck_assert_msg(strstr(log, want) || (errors && strstr(errors, want)), "%s %s", log,
                  errors ? errors : "");
    free(want);
    free(log);
    free(errors);
    free(c);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("prometheus_input");
  TCase *t = tcase_create("targets");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 60);
  tcase_add_test(t, text_metric_version_1);
  tcase_add_test(t, text_metric_version_2);
  tcase_add_test(t, openmetrics_body);
  tcase_add_test(t, unix_socket);
  tcase_add_test(t, hanging_target);
  tcase_add_test(t, flood_over_limit);
  tcase_add_test(t, cut_mid_body);
  tcase_add_test(t, bearer_token);
  tcase_add_test(t, url_forms);
  tcase_add_test(t, config_errors);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  return check_run(suite());
}
