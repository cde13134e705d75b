/* outputs.prometheus through the real core: metrics go through an input's
 * accumulator into the output buffer, a synchronous flush writes them, and
 * every test scrapes the real HTTP(S) server on 127.0.0.1 (plain sockets;
 * curl for TLS) and compares the exposition. promtool (Debian package
 * prometheus) lints a scrape with every kind of series; openssl makes the
 * TLS material. Both are in scripts/lib.sh's TEST_PACKAGES: the tests fail,
 * rather than skip, without them. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <tower/tower.h>

#include "harness.h"
#include "log_internal.h"
#include "check_run.h"
#include "loopback.h"

static char *dir; /* the test's temporary directory */

static void setup(void) {
  dir = th_tmpdir();
}

static void teardown(void) {
  th_rmrf(dir);
  free(dir);
}

/* ---- helpers ------------------------------------------------------------- */

typedef struct reply {
  int status; /* 0: no reply (connection refused or closed) */
  char *head; /* status line and headers */
  char *body;
  size_t body_len;
} reply;

static void reply_free(reply *r) {
  free(r->head);
  free(r->body);
}

/* One HTTP/1.0 request over a plain socket; `extra` holds header lines
 * ("Name: value\r\n"...). */
static reply http(unsigned port, const char *method, const char *path, const char *extra) {
  reply r = {0};
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                          .sin_port = htons((uint16_t)port)};
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
    close(fd);
    return r;
  }
  char *req =
      th_fmt("%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s\r\n", method, path, extra ? extra : "");
  ssize_t w = write(fd, req, strlen(req));
  ck_assert_int_eq(w, (ssize_t)strlen(req));
  free(req);
  size_t len = 0, cap = 65536;
  char *buf = malloc(cap);
  ssize_t n;
  while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
    len += (size_t)n;
    if (cap - len < 4096)
      buf = realloc(buf, cap *= 2);
  }
  close(fd);
  buf[len] = '\0';
  char *sep = strstr(buf, "\r\n\r\n");
  if (len == 0 || !sep) {
    free(buf);
    return r;
  }
  *sep = '\0';
  r.head = strdup(buf);
  r.body_len = len - (size_t)(sep + 4 - buf);
  r.body = malloc(r.body_len + 1);
  memcpy(r.body, sep + 4, r.body_len);
  r.body[r.body_len] = '\0';
  sscanf(buf, "HTTP/1.%*d %d", &r.status);
  free(buf);
  return r;
}

/* GET /metrics; fails the test unless it answers 200. */
static char *scrape(unsigned port) {
  reply r = http(port, "GET", "/metrics", NULL);
  ck_assert_msg(r.status == 200, "scrape: status %d", r.status);
  free(r.head);
  return r.body;
}

/* The exposition without the endpoint's own families (they come last). */
static char *scrape_user(unsigned port) {
  char *s = scrape(port);
  char *self = strstr(s, "# HELP tower_prometheus_series ");
  ck_assert_ptr_nonnull(self);
  *self = '\0';
  return s;
}

static bool has_header(const reply *r, const char *line) {
  return r->head && strstr(r->head, line) != NULL;
}

/* A pipeline: a lines input (unused: tests add their own metrics) and the
 * prometheus output on `port` with extra options `opts`. */
static twi_pipeline *start(unsigned port, const char *opts) {
  char *c = th_fmt(
      "agent = { omit_hostname = true; };\n"
      "inputs = ( { plugin = \"lines\"; precision = \"1ns\"; lines = [\"unused v=1\"]; } );\n"
      "outputs = ( { plugin = \"prometheus\"; listen = \"127.0.0.1:%u\"; %s } );\n",
      port, opts ? opts : "");
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  free(c);
  return pl;
}

/* Hands `ms` (owned) to the output buffer as one gather, then flushes. */
static void push(twi_pipeline *pl, tower_metric **ms, size_t n) {
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, false);
  twi_acc_begin(acc, 1700000000000000000LL);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(tower_acc_add(acc, ms[i]), 0);
  tower_acc_commit(acc);
  twi_acc_free(acc);
  ck_assert_uint_eq(th_flush(pl), 0);
}

/* Pushes line protocol (every metric gets `type`). */
static void push_lp(twi_pipeline *pl, const char *lines, tower_value_type type) {
  tower_metric **ms;
  size_t n = th_parse(lines, &ms);
  for (size_t i = 0; i < n; i++)
    tower_metric_set_type(ms[i], type);
  push(pl, ms, n);
  free(ms);
}

/* Runs `cmd` with `input` on its stdin; returns the exit status. */
static int pipe_to(const char *cmd, const char *input) {
  FILE *p = popen(cmd, "w");
  ck_assert_ptr_nonnull(p);
  fputs(input, p);
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs a shell command and returns its stdout (malloc'd). */
static char *run_out(const char *cmd) {
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  size_t len = 0, cap = 4096, n;
  char *buf = malloc(cap);
  while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
    len += n;
    if (cap - len < 1024)
      buf = realloc(buf, cap *= 2);
  }
  buf[len] = '\0';
  pclose(p);
  return buf;
}

static void ck_promtool(const char *text) {
  ck_assert_msg(access("/usr/bin/promtool", X_OK) == 0,
                "promtool is missing: apt-get install prometheus (scripts/test installs it)");
  char *out = th_fmt("%s/promtool.out", dir);
  char *cmd = th_fmt("/usr/bin/promtool check metrics > %s 2>&1", out);
  int rc = pipe_to(cmd, text);
  char *msg = th_read_file(out);
  ck_assert_msg(rc == 0, "promtool check metrics failed (%d): %s\n--- scrape ---\n%s", rc, msg,
                text);
  free(msg);
  free(cmd);
  free(out);
}

/* ---- mapping ------------------------------------------------------------- */

START_TEST(test_counter_gauge_untyped) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, NULL);
  push_lp(pl, "http_requests,code=200 counter=42i,errors_total=3i 1\n", TOWER_COUNTER);
  push_lp(pl, "temp,room=kitchen gauge=21.5,humidity=40 1\n", TOWER_GAUGE);
  push_lp(pl, "disk,dev=sda used=1.5,free=7u,ok=true,model=\"x\" 1\n", TOWER_UNTYPED);
  char *s = scrape_user(port);
  ck_assert_str_eq(s, "# HELP disk_free tower collected metric\n"
                      "# TYPE disk_free untyped\n"
                      "disk_free{dev=\"sda\",model=\"x\"} 7\n"
                      "# HELP disk_used tower collected metric\n"
                      "# TYPE disk_used untyped\n"
                      "disk_used{dev=\"sda\",model=\"x\"} 1.5\n"
                      "# HELP http_requests tower collected metric\n"
                      "# TYPE http_requests counter\n"
                      "http_requests{code=\"200\"} 42\n"
                      "# HELP http_requests_errors_total tower collected metric\n"
                      "# TYPE http_requests_errors_total counter\n"
                      "http_requests_errors_total{code=\"200\"} 3\n"
                      "# HELP temp tower collected metric\n"
                      "# TYPE temp gauge\n"
                      "temp{room=\"kitchen\"} 21.5\n"
                      "# HELP temp_humidity tower collected metric\n"
                      "# TYPE temp_humidity gauge\n"
                      "temp_humidity{room=\"kitchen\"} 40\n");
  free(s);
  th_free(pl);
}
END_TEST

static tower_metric *dist(const char *name, tower_value_type type, const char *svc) {
  tower_metric *m = tower_metric_new(name, 1700000000123000000LL);
  tower_metric_set_type(m, type);
  tower_metric_add_tag(m, "svc", svc);
  if (type == TOWER_HISTOGRAM) {
    tower_metric_add_uint(m, "0.5", 10);
    tower_metric_add_uint(m, "0.1", 4);
    tower_metric_add_uint(m, "+Inf", 12);
  } else {
    tower_metric_add_float(m, "0.5", 0.25);
    tower_metric_add_float(m, "0.99", 1.5);
  }
  tower_metric_add_float(m, "sum", 3.5);
  tower_metric_add_uint(m, "count", 12);
  return m;
}

START_TEST(test_histogram_summary) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, NULL);
  tower_metric *ms[] = {dist("latency_seconds", TOWER_HISTOGRAM, "api"),
                        dist("rpc_seconds", TOWER_SUMMARY, "db")};
  push(pl, ms, 2);
  char *s = scrape_user(port);
  ck_assert_str_eq(s, "# HELP latency_seconds tower collected metric\n"
                      "# TYPE latency_seconds histogram\n"
                      "latency_seconds_bucket{svc=\"api\",le=\"0.1\"} 4\n"
                      "latency_seconds_bucket{svc=\"api\",le=\"0.5\"} 10\n"
                      "latency_seconds_bucket{svc=\"api\",le=\"+Inf\"} 12\n"
                      "latency_seconds_sum{svc=\"api\"} 3.5\n"
                      "latency_seconds_count{svc=\"api\"} 12\n"
                      "# HELP rpc_seconds tower collected metric\n"
                      "# TYPE rpc_seconds summary\n"
                      "rpc_seconds{svc=\"db\",quantile=\"0.5\"} 0.25\n"
                      "rpc_seconds{svc=\"db\",quantile=\"0.99\"} 1.5\n"
                      "rpc_seconds_sum{svc=\"db\"} 3.5\n"
                      "rpc_seconds_count{svc=\"db\"} 12\n");
  free(s);
  /* An update replaces the buckets of the same series in place. */
  tower_metric *m = dist("latency_seconds", TOWER_HISTOGRAM, "api");
  tower_metric_add_uint(m, "1", 11);
  tower_metric_add_uint(m, "count", 13);
  tower_metric_add_uint(m, "+Inf", 13);
  push(pl, &m, 1);
  s = scrape_user(port);
  ck_assert_ptr_nonnull(strstr(s, "latency_seconds_bucket{svc=\"api\",le=\"1\"} 11\n"
                                  "latency_seconds_bucket{svc=\"api\",le=\"+Inf\"} 13\n"));
  ck_assert_ptr_nonnull(strstr(s, "latency_seconds_count{svc=\"api\"} 13\n"));
  free(s);
  th_free(pl);
}
END_TEST

START_TEST(test_string_as_label) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, NULL);
  push_lp(pl, "check,name=web status=\"up\",up=1i 1\n", TOWER_GAUGE);
  /* The series is identified by its tags: a new string value replaces the
   * label of the same series (Telegraf), no stale twin is left. */
  push_lp(pl, "check,name=web status=\"down\",up=0i 2\n", TOWER_GAUGE);
  char *s = scrape_user(port);
  ck_assert_str_eq(s, "# HELP check_up tower collected metric\n"
                      "# TYPE check_up gauge\n"
                      "check_up{name=\"web\",status=\"down\"} 0\n");
  free(s);
  th_free(pl);

  port = loopback_unused_port();
  pl = start(port, "string_as_label = false;");
  push_lp(pl, "check,name=web status=\"up\",up=1i 1\n", TOWER_GAUGE);
  s = scrape_user(port);
  ck_assert_ptr_nonnull(strstr(s, "check_up{name=\"web\"} 1\n"));
  free(s);
  th_free(pl);
}
END_TEST

START_TEST(test_string_field_overrides_tag) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, NULL);
  push_lp(pl, "m,a-b=tag1,state=tag2 state=\"field\",v=1i 1\n", TOWER_UNTYPED);
  char *s = scrape_user(port);
  ck_assert_ptr_nonnull(strstr(s, "m_v{a_b=\"tag1\",state=\"field\"} 1\n"));
  free(s);
  th_free(pl);
}
END_TEST

START_TEST(test_export_timestamp) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, "export_timestamp = true;");
  push_lp(pl, "t,k=v x=1 1700000000123456789\n", TOWER_GAUGE);
  char *s = scrape_user(port);
  ck_assert_ptr_nonnull(strstr(s, "t_x{k=\"v\"} 1 1700000000123\n"));
  free(s);
  th_free(pl);
}
END_TEST

START_TEST(test_escaping_and_order) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, NULL);
  tower_metric *m = tower_metric_new("esc", 1);
  tower_metric_add_tag(m, "path", "C:\\dir \"x\"\nnext");
  tower_metric_add_float(m, "v", 1);
  tower_metric *b = tower_metric_new("esc", 1);
  tower_metric_add_tag(b, "path", "a");
  tower_metric_add_float(b, "v", 2);
  tower_metric *c = tower_metric_new("aaa", 1);
  tower_metric_add_float(c, "value", 3);
  tower_metric *ms[] = {m, b, c};
  push(pl, ms, 3);
  char *s = scrape_user(port);
  ck_assert_str_eq(s, "# HELP aaa tower collected metric\n"
                      "# TYPE aaa untyped\n"
                      "aaa 3\n"
                      "# HELP esc_v tower collected metric\n"
                      "# TYPE esc_v untyped\n"
                      "esc_v{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 1\n"
                      "esc_v{path=\"a\"} 2\n");
  free(s);
  th_free(pl);
}
END_TEST

START_TEST(test_promtool_lint) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, NULL);
  tower_metric *ms[] = {dist("latency_seconds", TOWER_HISTOGRAM, "a\"p\\i\n"),
                        dist("rpc_seconds", TOWER_SUMMARY, "db")};
  push(pl, ms, 2);
  push_lp(pl, "jobs,queue=q\\ 1 processed_total=5i,state=\"idle \\\"now\\\"\" 1\n", TOWER_COUNTER);
  push_lp(pl, "room,name=hall temperature_celsius=21.5 1\n", TOWER_GAUGE);
  char *s = scrape(port);
  ck_assert_ptr_nonnull(strstr(s, "state=\"idle \\\"now\\\"\""));
  ck_promtool(s);
  free(s);
  th_free(pl);
}
END_TEST

/* ---- store ------------------------------------------------------------------ */

START_TEST(test_expiry) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, "expiration_interval = \"200ms\";");
  push_lp(pl, "old,k=v x=1 1\n", TOWER_GAUGE);
  char *s = scrape_user(port);
  ck_assert_ptr_nonnull(strstr(s, "old_x{k=\"v\"} 1\n"));
  free(s);
  /* Gone between 200 ms and 200 ms + a tick (50 ms); poll up to 3 s. */
  bool gone = false;
  for (int i = 0; i < 60 && !gone; i++) {
    usleep(50000);
    s = scrape_user(port);
    gone = s[0] == '\0';
    free(s);
  }
  ck_assert_msg(gone, "series still there after 3 s");
  s = scrape(port);
  ck_assert_ptr_nonnull(strstr(s, "tower_prometheus_series 0\n"));
  free(s);
  /* A family that expired comes back, with a new type if need be. */
  push_lp(pl, "old,k=v x=2 1\n", TOWER_COUNTER);
  s = scrape_user(port);
  ck_assert_ptr_nonnull(strstr(s, "# TYPE old_x counter\nold_x{k=\"v\"} 2\n"));
  free(s);
  th_free(pl);
}
END_TEST

START_TEST(test_no_expiry) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, "expiration_interval = \"0s\";");
  push_lp(pl, "kept x=1 1\n", TOWER_GAUGE);
  usleep(300000);
  char *s = scrape_user(port);
  ck_assert_ptr_nonnull(strstr(s, "kept_x 1\n"));
  free(s);
  th_free(pl);
}
END_TEST

START_TEST(test_max_series) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, "max_series = 3;");
  push_lp(pl, "m,k=1 v=1\nm,k=2 v=1\nm,k=3 v=1\nm,k=4 v=1\nm,k=5 v=1\n", TOWER_GAUGE);
  /* Updates of stored series still pass at the cap. */
  push_lp(pl, "m,k=1 v=9\n", TOWER_GAUGE);
  char *s = scrape(port);
  ck_assert_ptr_nonnull(strstr(s, "m_v{k=\"1\"} 9\nm_v{k=\"2\"} 1\nm_v{k=\"3\"} 1\n# HELP"));
  ck_assert_ptr_nonnull(strstr(s, "tower_prometheus_series 3\n"));
  ck_assert_ptr_nonnull(
      strstr(s, "tower_prometheus_rejected_series_total{reason=\"max_series\"} 2\n"));
  ck_promtool(s);
  free(s);
  th_free(pl);
}
END_TEST

START_TEST(test_type_conflict) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, NULL);
  push_lp(pl, "req_total,k=a value=1\n", TOWER_COUNTER);
  push_lp(pl, "req_total,k=b value=2\n", TOWER_GAUGE); /* scalar: joins, stays a counter */
  tower_metric *h = dist("req_total", TOWER_HISTOGRAM, "x");
  push(pl, &h, 1); /* histogram into a counter family: refused */
  push_lp(pl, "tower_prometheus_series value=1\n", TOWER_GAUGE); /* reserved name */
  char *s = scrape(port);
  ck_assert_ptr_nonnull(
      strstr(s, "# TYPE req_total counter\nreq_total{k=\"a\"} 1\nreq_total{k=\"b\"} 2\n# HELP"));
  ck_assert_ptr_nonnull(
      strstr(s, "tower_prometheus_rejected_series_total{reason=\"type_conflict\"} 2\n"));
  ck_promtool(s);
  free(s);
  th_free(pl);
}
END_TEST

/* ---- the shared render ----------------------------------------------------- */

static char *gunzip(const char *data, size_t len);

/* The core's own writer (tower_prom_map, tower_prom_write_header and
 * tower_prom_write_series in core/format) is the reference: the endpoint
 * renders series from labels it escaped once, and must give the same
 * bytes. Each series here is a family of its own: its expected text is
 * the header and the sample lines, found verbatim in the scrape. */
typedef struct chunks {
  char *text[32];
  size_t n;
} chunks;

static int reference_chunk(void *ud, const tower_prom_series *s) {
  chunks *c = ud;
  tower_buf *b = tower_buf_new(0);
  ck_assert_int_eq(tower_prom_write_header(b, s->name, s->type, "tower collected metric"), 0);
  ck_assert_int_eq(tower_prom_write_series(b, s, TOWER_PROM_TIMESTAMP), 0);
  ck_assert_uint_lt(c->n, 32);
  c->text[c->n++] = strdup(tower_buf_data(b));
  tower_buf_free(b);
  return 0;
}

static tower_metric *odd_metric(const char *name, int64_t t) {
  tower_metric *m = tower_metric_new(name, t);
  tower_metric_set_type(m, TOWER_GAUGE);
  return m;
}

START_TEST(test_render_matches_core_writer) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, "export_timestamp = true;");
  tower_metric *ms[6];
  ms[0] = odd_metric("esc", 1700000000123456789LL);
  tower_metric_add_tag(ms[0], "p", "a\\b\"c\nd");
  tower_metric_add_tag(ms[0], "q", "");
  tower_metric_add_float(ms[0], "v", 1.5);
  ms[1] = odd_metric("neg", -1500000); /* before 1970: milliseconds round down */
  tower_metric_add_float(ms[1], "tiny", 1e-7);
  tower_metric_add_float(ms[1], "nan", NAN);
  tower_metric_add_float(ms[1], "inf", -INFINITY);
  ms[2] = odd_metric("strs", 42000000);
  tower_metric_add_tag(ms[2], "k", "tag");
  tower_metric_add_tag(ms[2], "z", "1");
  tower_metric_add_string(ms[2], "k", "field");
  tower_metric_add_string(ms[2], "s", "x\"y\\");
  tower_metric_add_float(ms[2], "v", 2);
  ms[3] = dist("hist", TOWER_HISTOGRAM, "api\\x");
  ms[4] = dist("summ", TOWER_SUMMARY, "q\"\n");
  ms[5] = odd_metric("bare", 0);
  tower_metric_add_int(ms[5], "value", -7);
  chunks want = {0};
  for (size_t i = 0; i < 6; i++)
    ck_assert_int_ge(tower_prom_map(ms[i], TOWER_PROM_STRING_AS_LABEL, reference_chunk, &want), 1);
  ck_assert_uint_eq(want.n, 8);
  push(pl, ms, 6);
  char *s = scrape_user(port);
  for (size_t i = 0; i < want.n; i++) {
    ck_assert_msg(strstr(s, want.text[i]), "not in the scrape:\n%s--- scrape ---\n%s", want.text[i],
                  s);
    free(want.text[i]);
  }
  free(s);
  th_free(pl);
}
END_TEST

/* Scrapes at once from many connections get the same bytes. */
typedef struct par_scrape {
  pthread_t t;
  unsigned port;
  reply r;
} par_scrape;

static void *par_scrape_main(void *p) {
  par_scrape *ps = p;
  ps->r = http(ps->port, "GET", "/metrics", "Accept-Encoding: gzip\r\n");
  return NULL;
}

START_TEST(test_concurrent_scrapes_share_render) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, NULL);
  tower_buf *lp = tower_buf_new(0);
  for (int i = 0; i < 2000; i++)
    tower_buf_printf(lp, "fam%d,host=h%d v=%d,w=%d.5\n", i % 7, i, i, i);
  push_lp(pl, tower_buf_data(lp), TOWER_GAUGE);
  tower_buf_free(lp);
  char *plain = scrape(port);
  par_scrape ps[8];
  for (int i = 0; i < 8; i++) {
    ps[i].port = port;
    ck_assert_int_eq(pthread_create(&ps[i].t, NULL, par_scrape_main, &ps[i]), 0);
  }
  for (int i = 0; i < 8; i++) {
    pthread_join(ps[i].t, NULL);
    ck_assert_int_eq(ps[i].r.status, 200);
    ck_assert(has_header(&ps[i].r, "Content-Encoding: gzip"));
    char *text = gunzip(ps[i].r.body, ps[i].r.body_len);
    ck_assert_str_eq(text, plain);
    free(text);
    reply_free(&ps[i].r);
  }
  free(plain);
  th_free(pl);
}
END_TEST

/* Replaces the one occurrence of `from` in s (malloc'd) with `to`. */
static char *replace(const char *s, const char *from, const char *to) {
  const char *at = strstr(s, from);
  ck_assert_msg(at, "\"%s\" not in:\n%s", from, s);
  return th_fmt("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}

/* A write re-renders its family; the others keep their bytes; the
 * endpoint's own counters follow writes that change no series. */
START_TEST(test_rerender_after_writes) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, "max_series = 5;");
  push_lp(pl, "a,k=1 v=1\na,k=2 v=1\na,k=3 v=1\nb,k=1 v=1\n", TOWER_GAUGE);
  push_lp(pl, "c,k=1 state=\"x\",v=1\n", TOWER_GAUGE);
  char *before = scrape(port);
  push_lp(pl, "a,k=2 v=9\n", TOWER_GAUGE);
  char *after = scrape(port);
  char *want = replace(before, "a_v{k=\"2\"} 1\n", "a_v{k=\"2\"} 9\n");
  ck_assert_str_eq(after, want);
  free(want);
  free(before);
  /* A changed string field renders the series' labels again. */
  push_lp(pl, "c,k=1 state=\"y\",v=2\n", TOWER_GAUGE);
  before = after;
  after = scrape(port);
  want = replace(before, "c_v{k=\"1\",state=\"x\"} 1\n", "c_v{k=\"1\",state=\"y\"} 2\n");
  ck_assert_str_eq(after, want);
  free(want);
  free(before);
  /* Refused (max_series): no family changes, the counter does. */
  push_lp(pl, "b,k=2 v=1\n", TOWER_GAUGE);
  before = after;
  after = scrape(port);
  want = replace(before, "{reason=\"max_series\"} 0\n", "{reason=\"max_series\"} 1\n");
  ck_assert_str_eq(after, want);
  free(want);
  free(before);
  free(after);
  th_free(pl);
}
END_TEST

/* ---- HTTP --------------------------------------------------------------------- */

START_TEST(test_http_basics) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, NULL);
  push_lp(pl, "m v=1\n", TOWER_GAUGE);
  reply r = http(port, "GET", "/metrics", NULL);
  ck_assert_int_eq(r.status, 200);
  ck_assert(has_header(&r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
  reply_free(&r);
  r = http(port, "HEAD", "/metrics", NULL);
  ck_assert_int_eq(r.status, 200);
  ck_assert_uint_eq(r.body_len, 0);
  ck_assert(has_header(&r, "Content-Length: "));
  reply_free(&r);
  r = http(port, "GET", "/other", NULL);
  ck_assert_int_eq(r.status, 404);
  reply_free(&r);
  r = http(port, "POST", "/metrics", "Content-Length: 3\r\n\r\nabc");
  ck_assert_int_eq(r.status, 405);
  ck_assert(has_header(&r, "Allow: GET, HEAD"));
  reply_free(&r);
  th_free(pl);
}
END_TEST

static char *gunzip(const char *data, size_t len) {
  z_stream z = {0};
  ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
  size_t cap = len * 20 + 1024;
  char *out = malloc(cap);
  z.next_in = (Bytef *)(uintptr_t)data;
  z.avail_in = (uInt)len;
  z.next_out = (Bytef *)out;
  z.avail_out = (uInt)(cap - 1);
  ck_assert_int_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
  out[cap - 1 - z.avail_out] = '\0';
  inflateEnd(&z);
  return out;
}

START_TEST(test_gzip) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, NULL);
  for (int i = 0; i < 20; i++) {
    char *lp = th_fmt("net,iface=eth%d rx=%d,tx=%d\n", i, i * 100, i * 7);
    push_lp(pl, lp, TOWER_COUNTER);
    free(lp);
  }
  char *plain = scrape(port);
  reply r = http(port, "GET", "/metrics", "Accept-Encoding: gzip\r\n");
  ck_assert_int_eq(r.status, 200);
  ck_assert(has_header(&r, "Content-Encoding: gzip"));
  ck_assert_uint_lt(r.body_len, strlen(plain));
  char *text = gunzip(r.body, r.body_len);
  ck_assert_str_eq(text, plain);
  free(text);
  reply_free(&r);
  /* q=0 refuses gzip; identity is then sent. */
  r = http(port, "GET", "/metrics", "Accept-Encoding: gzip;q=0, identity\r\n");
  ck_assert(!has_header(&r, "Content-Encoding"));
  ck_assert_str_eq(r.body, plain);
  reply_free(&r);
  free(plain);
  th_free(pl);
}
END_TEST

START_TEST(test_basic_auth) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, "basic_username = \"prom\"; basic_password = \"s3cret\";");
  push_lp(pl, "m v=1\n", TOWER_GAUGE);
  reply r = http(port, "GET", "/metrics", NULL);
  ck_assert_int_eq(r.status, 401);
  ck_assert(has_header(&r, "WWW-Authenticate: Basic realm=\"tower\""));
  reply_free(&r);
  /* prom:wrong */
  r = http(port, "GET", "/metrics", "Authorization: Basic cHJvbTp3cm9uZw==\r\n");
  ck_assert_int_eq(r.status, 401);
  reply_free(&r);
  /* other:s3cret */
  r = http(port, "GET", "/metrics", "Authorization: Basic b3RoZXI6czNjcmV0\r\n");
  ck_assert_int_eq(r.status, 401);
  reply_free(&r);
  /* prom:s3cret */
  r = http(port, "GET", "/metrics", "Authorization: Basic cHJvbTpzM2NyZXQ=\r\n");
  ck_assert_int_eq(r.status, 200);
  ck_assert_ptr_nonnull(strstr(r.body, "m_v 1\n"));
  reply_free(&r);
  th_free(pl);
}
END_TEST

/* "Authorization: Basic ...\r\n" for the bytes printf(1) makes of `fmt`
 * (octal escapes such as \\000 for a NUL), encoded by coreutils' base64. */
static char *auth_header(const char *fmt) {
  char *cmd = th_fmt("printf '%s' | base64 -w0", fmt);
  char *b64 = run_out(cmd);
  char *h = th_fmt("Authorization: Basic %s\r\n", b64);
  free(b64);
  free(cmd);
  return h;
}

/* The status of a scrape with credentials `fmt` (see auth_header). */
static int auth_status(unsigned port, const char *fmt) {
  char *h = auth_header(fmt);
  reply r = http(port, "GET", "/metrics", h);
  free(h);
  reply_free(&r);
  return r.status;
}

/* Credentials are compared as bytes with their lengths, split at the first
 * ':' (as libmicrohttpd and RFC 7617 do): a NUL does not end a password. */
START_TEST(test_basic_auth_bytes) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, "basic_username = \"prom\"; basic_password = \"s3cret\";");
  ck_assert_int_eq(auth_status(port, "prom:s3cret"), 200);
  ck_assert_int_eq(auth_status(port, "prom:s3cret\\000anything"), 401);
  ck_assert_int_eq(auth_status(port, "prom:s3cret\\000"), 401);
  ck_assert_int_eq(auth_status(port, "prom\\000:s3cret"), 401);
  ck_assert_int_eq(auth_status(port, "prom:s3cre"), 401);
  ck_assert_int_eq(auth_status(port, "prom:s3cret:"), 401);
  ck_assert_int_eq(auth_status(port, "prom:"), 401);   /* empty password */
  ck_assert_int_eq(auth_status(port, ":s3cret"), 401); /* empty user */
  ck_assert_int_eq(auth_status(port, "prom"), 401);    /* no colon */
  ck_assert_int_eq(auth_status(port, "prom s3cret"), 401);
  /* The scheme is case-insensitive (RFC 7235); the token must be base64. */
  reply r = http(port, "GET", "/metrics", "Authorization: basic cHJvbTpzM2NyZXQ=\r\n");
  ck_assert_int_eq(r.status, 200);
  reply_free(&r);
  r = http(port, "GET", "/metrics", "Authorization: Basic cHJvbTpzM2NyZXQ\r\n");
  ck_assert_int_eq(r.status, 401); /* padding missing */
  reply_free(&r);
  r = http(port, "GET", "/metrics", "Authorization: Bearer cHJvbTpzM2NyZXQ=\r\n");
  ck_assert_int_eq(r.status, 401);
  reply_free(&r);
  th_free(pl);
  /* A password may hold ':' (only the first one splits). */
  port = loopback_unused_port();
  pl = start(port, "basic_username = \"prom\"; basic_password = \"pa:ss\";");
  ck_assert_int_eq(auth_status(port, "prom:pa:ss"), 200);
  ck_assert_int_eq(auth_status(port, "prom:pa"), 401);
  th_free(pl);
}
END_TEST

START_TEST(test_ip_range) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, "ip_range = [\"10.0.0.0/8\", \"fd00::/8\"];");
  reply r = http(port, "GET", "/metrics", NULL);
  ck_assert_int_eq(r.status, 0); /* closed at accept */
  reply_free(&r);
  th_free(pl);
  port = loopback_unused_port();
  pl = start(port, "ip_range = [\"10.0.0.0/8\", \"127.0.0.0/8\"];");
  r = http(port, "GET", "/metrics", NULL);
  ck_assert_int_eq(r.status, 200);
  reply_free(&r);
  th_free(pl);
}
END_TEST

/* Init failures: the reason is logged; capture it. */
static char *init_error(const char *conf) {
  char *log_path = th_fmt("%s/init.log", dir);
  ck_assert_int_eq(twi_log_set_file(log_path), 0);
  char *errors = NULL;
  twi_pipeline *pl = th_build(conf, TWI_ONCE, &errors);
  bool failed = !pl || twi_pipeline_init(pl) != 0;
  twi_log_set_file(NULL);
  th_free(pl);
  char *log = th_read_file(log_path);
  char *all = th_fmt("%s%s", errors ? errors : "", log ? log : "");
  ck_assert_msg(failed, "init succeeded: %s", all);
  free(errors);
  free(log);
  free(log_path);
  return all;
}

START_TEST(test_port_in_use) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(listen(fd, 1), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  char *conf = th_fmt("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );\n"
                      "outputs = ( { plugin = \"prometheus\"; listen = \"127.0.0.1:%u\"; } );\n",
                      ntohs(a.sin_port));
  char *err = init_error(conf);
  char *want = th_fmt("cannot listen on 127.0.0.1:%u: Address already in use; another tower or "
                      "exporter is running? change listen",
                      ntohs(a.sin_port));
  ck_assert_msg(strstr(err, want), "got: %s", err);
  close(fd);
  free(want);
  free(err);
  free(conf);
}
END_TEST

START_TEST(test_bad_options) {
  static const char *const cases[][2] = {
      {"listen = \"9273\";", "is not \"host:port\""},
      {"listen = \"127.0.0.1:99999\";", "is not \"host:port\""},
      {"ip_range = [\"10.0.0.0/33\"];", "ip_range: \"10.0.0.0/33\" is not"},
      {"basic_username = \"u\";", "basic_username needs basic_password"},
      {"basic_username = \"a:b\"; basic_password = \"p\";", "basic_username cannot contain ':'"},
      {"tls_cert = \"/nonexistent.pem\";", "tls_cert and tls_key go together"},
      {"tls_cert = \"/nonexistent.pem\"; tls_key = \"/x\";", "cannot open /nonexistent.pem"},
      {"path = \"metrics\";", "path must start with '/'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *listen = th_fmt("listen = \"127.0.0.1:%u\";", loopback_unused_port());
    char *conf = th_fmt("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );\n"
                        "outputs = ( { plugin = \"prometheus\"; %s %s } );\n",
                        strstr(cases[i][0], "listen") ? "" : listen, cases[i][0]);
    free(listen);
    char *err = init_error(conf);
    ck_assert_msg(strstr(err, cases[i][1]), "%s: got: %s", cases[i][0], err);
    free(err);
    free(conf);
  }
}
END_TEST

START_TEST(test_two_instances) {
  unsigned p1 = loopback_unused_port(), p2 = loopback_unused_port();
  char *c =
      th_fmt("agent = { omit_hostname = true; };\n"
             "inputs = ( { plugin = \"lines\"; lines = [\"two v=1\"]; } );\n"
             "outputs = ( { plugin = \"prometheus\"; listen = \"127.0.0.1:%u\"; },\n"
             "            { plugin = \"prometheus\"; listen = \"127.0.0.1:%u\"; alias = \"b\";"
             "              namepass = [\"none\"]; } );\n",
             p1, p2);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  char *s1 = scrape_user(p1), *s2 = scrape_user(p2);
  ck_assert_ptr_nonnull(strstr(s1, "two_v 1\n"));
  ck_assert_str_eq(s2, "");
  free(s1);
  free(s2);
  th_free(pl);
  free(c);
}
END_TEST

/* ---- connections: deadlines and limits (plugins/common/httpd) ------------------- */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A TCP connection to 127.0.0.1:port from the loopback address `src` (on
 * Linux every 127.x.y.z is a local address, so each is another client). */
static int connect_from(const char *src, unsigned port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in from = {.sin_family = AF_INET};
  struct sockaddr_in to = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                           .sin_port = htons((uint16_t)port)};
  ck_assert_int_eq(inet_pton(AF_INET, src, &from.sin_addr), 1);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&from, sizeof from), 0);
  ck_assert_msg(connect(fd, (struct sockaddr *)&to, sizeof to) == 0, "connect: %s",
                strerror(errno));
  return fd;
}

/* True when the server closes fd within `ms` (what it sends is dropped). */
static bool closed_within(int fd, int ms) {
  int64_t end = now_ms() + ms;
  for (;;) {
    int64_t left = end - now_ms();
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, left > 0 ? (int)left : 0) <= 0)
      return false;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
      return true;
  }
}

/* read_timeout is a hard deadline from the accept to the end of the
 * request headers: a client trickling a byte every 200 ms is cut at it
 * like an idle one, not kept alive by its bytes. On a kept-alive
 * connection it runs from the end of the previous response. */
START_TEST(test_header_deadline) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, "read_timeout = \"1s\";");
  static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  int64_t t0 = now_ms();
  int idle = connect_from("127.0.0.2", port), slow = connect_from("127.0.0.2", port);
  int64_t idle_cut = -1, slow_cut = -1;
  for (size_t i = 0; now_ms() - t0 < 6000 && (idle_cut < 0 || slow_cut < 0); i++) {
    if (slow_cut < 0) {
      send(slow, i < sizeof req - 1 ? &req[i] : "a", 1, MSG_NOSIGNAL);
      if (closed_within(slow, 200))
        slow_cut = now_ms() - t0;
    }
    if (idle_cut < 0 && closed_within(idle, slow_cut < 0 ? 0 : 200))
      idle_cut = now_ms() - t0;
  }
  ck_assert_msg(slow_cut >= 1000 && slow_cut < 3000, "trickling client cut after %lld ms",
                (long long)slow_cut);
  ck_assert_msg(idle_cut >= 1000 && idle_cut < 3000, "idle client cut after %lld ms",
                (long long)idle_cut);
  close(idle);
  close(slow);

  int ka = connect_from("127.0.0.2", port);
  static const char get[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  ck_assert_int_eq(send(ka, get, sizeof get - 1, MSG_NOSIGNAL), (ssize_t)(sizeof get - 1));
  char head[16] = {0};
  ck_assert_int_eq(recv(ka, head, 12, MSG_WAITALL), 12);
  ck_assert_str_eq(head, "HTTP/1.1 200");
  int64_t t1 = now_ms();
  ck_assert(closed_within(ka, 4000));
  int64_t kept = now_ms() - t1;
  ck_assert_msg(kept >= 900 && kept < 3000, "kept-alive connection closed after %lld ms",
                (long long)kept);
  close(ka);
  th_free(pl);
}
END_TEST

/* max_connections_per_ip: one address gets that many connections; the one
 * over is closed at accept, while another address is served. */
START_TEST(test_per_ip_limit) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, "max_connections_per_ip = 2;");
  int fds[3];
  for (int i = 0; i < 3; i++)
    fds[i] = connect_from("127.0.0.2", port);
  /* Which of the three is over the limit depends on the accept order. */
  int closed = 0;
  for (int i = 0; i < 3; i++)
    closed += closed_within(fds[i], closed ? 0 : 2000);
  ck_assert_int_eq(closed, 1);
  reply r = http(port, "GET", "/metrics", NULL);
  ck_assert_int_eq(r.status, 200);
  reply_free(&r);
  for (int i = 0; i < 3; i++)
    close(fds[i]);
  th_free(pl);
}
END_TEST

/* Idle connections cost no thread: with 200 of them open (and no
 * per-address limit), a scrape is answered at once, not after
 * read_timeout (10 s) frees one. */
START_TEST(test_idle_connections_do_not_block) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, "max_connections_per_ip = 0;");
  push_lp(pl, "m v=1\n", TOWER_GAUGE);
  int fds[200];
  for (int i = 0; i < 200; i++)
    fds[i] = connect_from("127.0.0.2", port);
  int64_t t0 = now_ms();
  reply r = http(port, "GET", "/metrics", NULL);
  int64_t took = now_ms() - t0;
  ck_assert_int_eq(r.status, 200);
  ck_assert_msg(took < 3000, "scrape took %lld ms", (long long)took);
  reply_free(&r);
  for (int i = 0; i < 200; i++)
    ck_assert(!closed_within(fds[i], 0));
  for (int i = 0; i < 200; i++)
    close(fds[i]);
  th_free(pl);
}
END_TEST

/* At max_connections, a new connection displaces the one that has waited
 * longest for a request: a scraper gets in although idle connections
 * fill the server. */
START_TEST(test_full_server_makes_room) {
  unsigned port = loopback_unused_port();
  twi_pipeline *pl = start(port, "max_connections = 8; max_connections_per_ip = 0;");
  int fds[8];
  for (int i = 0; i < 8; i++)
    fds[i] = connect_from("127.0.0.2", port);
  int64_t t0 = now_ms();
  reply r = http(port, "GET", "/metrics", NULL);
  int64_t took = now_ms() - t0;
  ck_assert_int_eq(r.status, 200);
  ck_assert_msg(took < 3000, "scrape took %lld ms", (long long)took);
  reply_free(&r);
  int closed = 0;
  for (int i = 0; i < 8; i++)
    closed += closed_within(fds[i], closed ? 0 : 2000);
  ck_assert_int_ge(closed, 1);
  for (int i = 0; i < 8; i++)
    close(fds[i]);
  th_free(pl);
}
END_TEST

/* ---- TLS ------------------------------------------------------------------------- */

static void sh(const char *cmd) {
  char *full = th_fmt("cd %s && (%s) >>openssl.log 2>&1", dir, cmd);
  int rc = system(full);
  if (rc != 0) {
    char *log = th_fmt("%s/openssl.log", dir);
    char *text = th_read_file(log);
    ck_abort_msg("%s failed: %s", cmd, text ? text : "");
  }
  free(full);
}

/* A CA, a server certificate for 127.0.0.1 and a client certificate. */
static void make_certs(void) {
  ck_assert_msg(access("/usr/bin/openssl", X_OK) == 0,
                "openssl is missing (apt-get install openssl)");
  sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "
     "/CN=test-ca");
  sh("printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext && "
     "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost "
     "&& "
     "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem "
     "-days 2 -extfile san.ext");
  sh("openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=prom && "
     "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem "
     "-days 2");
  sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 2 "
     "-subj /CN=other");
}

/* curl's HTTP status ("000" when the connection failed). */
static char *curl_status(unsigned port, const char *args) {
  char *cmd = th_fmt("curl -s -o /dev/null -w '%%{http_code}' --max-time 10 %s "
                     "https://127.0.0.1:%u/metrics",
                     args, port);
  char *out = run_out(cmd);
  free(cmd);
  return out;
}

START_TEST(test_tls) {
  make_certs();
  unsigned port = loopback_unused_port();
  char *opts = th_fmt("tls_cert = \"%s/server.pem\"; tls_key = \"%s/server.key\";", dir, dir);
  twi_pipeline *pl = start(port, opts);
  push_lp(pl, "secure v=1\n", TOWER_GAUGE);
  char *args = th_fmt("--cacert %s/ca.pem", dir);
  char *st = curl_status(port, args);
  ck_assert_str_eq(st, "200");
  free(st);
  free(args);
  st = curl_status(port, ""); /* not trusted by the system store */
  ck_assert_str_eq(st, "000");
  free(st);
  reply r = http(port, "GET", "/metrics", NULL); /* plain HTTP to a TLS port */
  ck_assert_int_ne(r.status, 200);
  reply_free(&r);
  th_free(pl);
  free(opts);
}
END_TEST

START_TEST(test_mtls) {
  make_certs();
  unsigned port = loopback_unused_port();
  char *opts = th_fmt("tls_cert = \"%s/server.pem\"; tls_key = \"%s/server.key\"; "
                      "tls_allowed_cacerts = [\"%s/ca.pem\"];",
                      dir, dir, dir);
  twi_pipeline *pl = start(port, opts);
  push_lp(pl, "secure v=1\n", TOWER_GAUGE);
  char *args = th_fmt("--cacert %s/ca.pem", dir);
  char *st = curl_status(port, args);
  ck_assert_str_ne(st, "200"); /* no client certificate */
  free(st);
  free(args);
  args = th_fmt("--cacert %s/ca.pem --cert %s/other.pem --key %s/other.key", dir, dir, dir);
  st = curl_status(port, args); /* a certificate from another CA */
  ck_assert_str_ne(st, "200");
  free(st);
  free(args);
  args = th_fmt("--cacert %s/ca.pem --cert %s/client.pem --key %s/client.key", dir, dir, dir);
  st = curl_status(port, args);
  ck_assert_str_eq(st, "200");
  free(st);
  free(args);
  th_free(pl);
  free(opts);
}
END_TEST

START_TEST(test_tls_bad_key) {
  make_certs();
  char *conf = th_fmt("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );\n"
                      "outputs = ( { plugin = \"prometheus\"; listen = \"127.0.0.1:%u\";\n"
                      "  tls_cert = \"%s/server.pem\"; tls_key = \"%s/other.key\"; } );\n",
                      loopback_unused_port(), dir, dir);
  char *err = init_error(conf);
  ck_assert_msg(strstr(err, "tls_cert/tls_key:"), "got: %s", err);
  free(err);
  free(conf);
}
END_TEST

/* --config-check parses the TLS files as the server would at start, and
 * binds nothing: the port stays free. */
static int check_only(const char *opts, char **log) {
  char *log_path = th_fmt("%s/check.log", dir);
  ck_assert_int_eq(twi_log_set_file(log_path), 0);
  char *conf = th_fmt("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );\n"
                      "outputs = ( { plugin = \"prometheus\"; %s } );\n",
                      opts);
  twi_pipeline *pl = th_build(conf, TWI_ONCE, NULL);
  ck_assert_ptr_nonnull(pl);
  int failed = twi_pipeline_check(pl);
  th_free(pl);
  twi_log_set_file(NULL);
  *log = th_read_file(log_path);
  unlink(log_path);
  free(log_path);
  free(conf);
  return failed;
}

#define ck_has(log, needle) ck_assert_msg(strstr(log, needle), "want \"%s\" in: %s", needle, log)

START_TEST(test_config_check_tls) {
  make_certs();
  unsigned port = loopback_unused_port();
  char *opts = th_fmt("listen = \"127.0.0.1:%u\"; tls_cert = \"%s/server.pem\"; tls_key = "
                      "\"%s/server.key\"; tls_allowed_cacerts = [\"%s/ca.pem\"];",
                      port, dir, dir, dir);
  char *log;
  ck_assert_msg(check_only(opts, &log) == 0, "log: %s", log);
  reply r = http(port, "GET", "/metrics", NULL);
  ck_assert_int_eq(r.status, 0); /* nothing listens */
  reply_free(&r);
  free(log);
  free(opts);

  opts = th_fmt("listen = \"127.0.0.1:%u\"; tls_cert = \"%s/server.pem\"; tls_key = "
                "\"%s/other.key\";",
                port, dir, dir);
  ck_assert_int_eq(check_only(opts, &log), 1);
  char *want = th_fmt("tls_cert \"%s/server.pem\" and tls_key \"%s/other.key\": ", dir, dir);
  ck_has(log, want);
  ck_has(log, "(is the key the one of this certificate, and not encrypted?)");
  free(want);
  free(log);
  free(opts);

  opts = th_fmt("listen = \"127.0.0.1:%u\"; tls_cert = \"%s/server.pem\"; tls_key = "
                "\"%s/server.key\"; tls_allowed_cacerts = [\"%s/ca.key\", \"%s/no/ca.pem\"];",
                port, dir, dir, dir, dir);
  ck_assert_int_eq(check_only(opts, &log), 1);
  want = th_fmt("tls_allowed_cacerts \"%s/ca.key\": %s/ca.key: it holds a private key but no "
                "certificate (PRIVATE KEY block); give a PEM file of certificates",
                dir, dir);
  ck_has(log, want);
  free(want);
  want =
      th_fmt("tls_allowed_cacerts \"%s/no/ca.pem\": %s/no does not exist; fix the path", dir, dir);
  ck_has(log, want);
  ck_has(log, "[outputs.prometheus] initialization failed; fix the error above");
  free(want);
  free(log);
  free(opts);
}
END_TEST

int main(void) {
  Suite *s = suite_create("outputs.prometheus");
  TCase *tc = tcase_create("mapping");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_counter_gauge_untyped);
  tcase_add_test(tc, test_histogram_summary);
  tcase_add_test(tc, test_string_as_label);
  tcase_add_test(tc, test_string_field_overrides_tag);
  tcase_add_test(tc, test_export_timestamp);
  tcase_add_test(tc, test_escaping_and_order);
  tcase_add_test(tc, test_promtool_lint);
  suite_add_tcase(s, tc);
  tc = tcase_create("store");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_expiry);
  tcase_add_test(tc, test_no_expiry);
  tcase_add_test(tc, test_max_series);
  tcase_add_test(tc, test_type_conflict);
  suite_add_tcase(s, tc);
  tc = tcase_create("render");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_render_matches_core_writer);
  tcase_add_test(tc, test_concurrent_scrapes_share_render);
  tcase_add_test(tc, test_rerender_after_writes);
  suite_add_tcase(s, tc);
  tc = tcase_create("http");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_http_basics);
  tcase_add_test(tc, test_gzip);
  tcase_add_test(tc, test_basic_auth);
  tcase_add_test(tc, test_basic_auth_bytes);
  tcase_add_test(tc, test_ip_range);
  tcase_add_test(tc, test_port_in_use);
  tcase_add_test(tc, test_bad_options);
  tcase_add_test(tc, test_two_instances);
  suite_add_tcase(s, tc);
  tc = tcase_create("connections");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_header_deadline);
  tcase_add_test(tc, test_per_ip_limit);
  tcase_add_test(tc, test_idle_connections_do_not_block);
  tcase_add_test(tc, test_full_server_makes_room);
  suite_add_tcase(s, tc);
  tc = tcase_create("tls");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_tls);
  tcase_add_test(tc, test_mtls);
  tcase_add_test(tc, test_tls_bad_key);
  tcase_add_test(tc, test_config_check_tls);
  suite_add_tcase(s, tc);
  return check_run(s);
}
