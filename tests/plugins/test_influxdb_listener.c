/* inputs.influxdb_listener through the real core: the input runs as the
 * agent runs a service input (twi_input_start / twi_input_stop), real HTTP
 * requests go to it over loopback sockets, and what it accepted is flushed
 * synchronously by the record output to <dir>/out.lp. The daemon, the
 * influx CLI, curl and a real influxd behind tower are in
 * tests/integration/influxdb_listener.sh. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <tower/tower.h>

#include "check_run.h"
#include "harness.h"
#include "log_internal.h"
#include "loopback.h"

static char *dir;

static void setup(void) {
  dir = th_tmpdir();
}

static void teardown(void) {
  th_rmrf(dir);
  free(dir);
}

/* ---- HTTP over a plain socket ------------------------------------------------ */

typedef struct reply {
  int status; /* 0: no reply (refused, or the connection was closed) */
  char *head; /* status line and headers */
  char *body;
} reply;

static void reply_free(reply *r) {
  free(r->head);
  free(r->body);
}

/* Sends one HTTP/1.1 request (Connection: close); returns the socket. */
static int send_request(unsigned port, const char *method, const char *path, const char *headers,
                        const void *body, size_t len) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                          .sin_port = htons((uint16_t)port)};
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  char *head = th_fmt("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "Content-Length: %zu\r\n%s\r\n",
                      method, path, len, headers ? headers : "");
  ck_assert_int_eq(write(fd, head, strlen(head)), (ssize_t)strlen(head));
  free(head);
  if (len)
    ck_assert_int_eq(write(fd, body, len), (ssize_t)len);
  return fd;
}

/* Reads the whole reply and closes the socket. */
static reply read_reply(int fd) {
  reply r = {0};
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
  if (sep) {
    *sep = '\0';
    r.head = strdup(buf);
    r.body = strdup(sep + 4);
    sscanf(buf, "HTTP/1.%*d %d", &r.status);
  }
  free(buf);
  return r;
}

static reply request(unsigned port, const char *method, const char *path, const char *headers,
                     const char *body) {
  return read_reply(send_request(port, method, path, headers, body, body ? strlen(body) : 0));
}

static reply post(unsigned port, const char *path, const char *body) {
  return request(port, "POST", path, NULL, body);
}

#define ck_has(text, needle)                                                                       \
  ck_assert_msg((text) && strstr(text, needle), "want \"%s\" in: %s", needle, (text) ? (text) : "")

static void gzip_text(const char *text, unsigned char **out, size_t *len) {
  z_stream z = {0};
  ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  size_t cap = deflateBound(&z, (uLong)strlen(text));
  *out = malloc(cap);
  z.next_in = (Bytef *)(uintptr_t)text;
  z.avail_in = (uInt)strlen(text);
  z.next_out = *out;
  z.avail_out = (uInt)cap;
  ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
  *len = cap - z.avail_out;
  deflateEnd(&z);
}

/* ---- the pipeline ---------------------------------------------------------------- */

typedef struct listener {
  twi_pipeline *pl;
  unsigned port;
} listener;

/* A started listener with `opts`, and a record output. */
static listener start(const char *opts) {
  listener l = {.port = loopback_unused_port()};
  char *text = th_fmt("agent = { omit_hostname = true; };\n"
                      "inputs = ( { plugin = \"influxdb_listener\"; "
                      "service_address = \"127.0.0.1:%u\"; %s } );\n"
                      "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                      l.port, opts, dir);
  l.pl = th_start(text, TWI_ONCE);
  free(text);
  ck_assert_int_eq(twi_input_start(l.pl->inputs[0], l.pl), 0);
  return l;
}

static void stop(listener *l) {
  ck_assert(twi_input_stop(l->pl->inputs[0], tower_mono_ns() + 10000000000LL));
  th_free(l->pl);
}

/* Everything the output took so far (flushed now). */
static char *recorded(listener *l) {
  ck_assert_uint_eq(th_flush(l->pl), 0);
  char *path = th_fmt("%s/out.lp", dir);
  char *text = th_read_file(path);
  free(path);
  return text ? text : strdup("");
}

/* ---- tests -------------------------------------------------------------------------- */

START_TEST(ping_answers_as_influxd) {
  listener l = start("");
  reply r = request(l.port, "GET", "/ping", NULL, NULL);
  ck_assert_int_eq(r.status, 204);
  ck_has(r.head, "X-Influxdb-Version: 1.8.10");
  ck_has(r.head, "X-Influxdb-Build: OSS");
  ck_has(r.head, "Request-Id: ");
  ck_has(r.head, "Content-Type: application/json");
  reply_free(&r);
  r = request(l.port, "GET", "/ping?verbose=true", NULL, NULL);
  ck_assert_int_eq(r.status, 200);
  ck_assert_str_eq(r.body, "{\"version\":\"1.8.10\"}");
  reply_free(&r);
  r = request(l.port, "GET", "/health", NULL, NULL);
  ck_assert_int_eq(r.status, 200);
  ck_has(r.body, "\"status\":\"pass\"");
  reply_free(&r);
  r = request(l.port, "GET", "/nothing", NULL, NULL);
  ck_assert_int_eq(r.status, 404);
  reply_free(&r);
  r = post(l.port, "/nothing", "m v=1i 1\n"); /* a body nothing reads is dropped */
  ck_assert_int_eq(r.status, 404);
  reply_free(&r);
  r = request(l.port, "GET", "/write?db=x", NULL, NULL);
  ck_assert_int_eq(r.status, 405);
  reply_free(&r);
  stop(&l);
}
END_TEST

/* influxd 1.x keeps the good lines of a body and names every bad one. */
START_TEST(partial_write_keeps_the_good_lines) {
  listener l = start("database_tag = \"database\"; retention_policy_tag = \"rp\";");
  reply r = post(l.port, "/write?db=telegraf&rp=week",
                 "good v=1 1\nbad v= 2\ngood v=3 3\r\nbad2\n\n# comment\ngood v=4 4");
  ck_assert_int_eq(r.status, 400);
  ck_assert_str_eq(r.body, "{\"error\":\"partial write: unable to parse 'bad v= 2': line 2, "
                           "column 7: missing value for field \\\"v\\\"\\nunable to parse "
                           "'bad2': line 4, column 5: missing fields dropped=0\"}");
  ck_has(r.head, "X-Influxdb-Error: partial write: unable to parse 'bad v= 2'");
  reply_free(&r);
  char *out = recorded(&l);
  ck_assert_str_eq(out, "good,database=telegraf,rp=week v=1 1\n"
                        "good,database=telegraf,rp=week v=3 3\n"
                        "good,database=telegraf,rp=week v=4 4\n");
  free(out);
  /* nothing good: no "partial write", as influxd answers */
  r = post(l.port, "/write?db=telegraf", "bad v= 2\n");
  ck_assert_int_eq(r.status, 400);
  ck_assert_str_eq(r.body, "{\"error\":\"unable to parse 'bad v= 2': line 1, column 7: missing "
                           "value for field \\\"v\\\"\"}");
  reply_free(&r);
  /* an empty body is fine */
  r = post(l.port, "/write?db=telegraf", "");
  ck_assert_int_eq(r.status, 204);
  reply_free(&r);
  stop(&l);
}
END_TEST

START_TEST(precision_and_default_time) {
  listener l = start("");
  reply r = post(l.port, "/write?precision=s", "s v=1i 1700000000\n");
  ck_assert_int_eq(r.status, 204);
  reply_free(&r);
  r = post(l.port, "/write?precision=ms", "ms v=1i 1700000000123\n");
  ck_assert_int_eq(r.status, 204);
  reply_free(&r);
  r = post(l.port, "/write?precision=h", "h v=1i 2\n");
  ck_assert_int_eq(r.status, 204);
  reply_free(&r);
  int64_t before = tower_now();
  r = post(l.port, "/write?precision=s", "now v=1i\n");
  int64_t after = tower_now();
  ck_assert_int_eq(r.status, 204);
  reply_free(&r);
  /* a timestamp that does not fit in ns once scaled is a bad line */
  r = post(l.port, "/write?precision=h", "far v=1i 9000000000000\nnear v=2i 1\n");
  ck_assert_int_eq(r.status, 400);
  ck_has(r.body, "unable to parse 'far v=1i 9000000000000': line 1: timestamp out of range");
  reply_free(&r);
  /* 2.x refuses other precisions */
  r = post(l.port, "/api/v2/write?bucket=b&precision=h", "x v=1i\n");
  ck_assert_int_eq(r.status, 400);
  ck_assert_str_eq(r.body, "{\"code\":\"invalid\",\"message\":\"invalid precision; valid "
                           "precision units are ns, us, ms, and s\"}");
  reply_free(&r);
  char *out = recorded(&l);
  ck_has(out, "s v=1i 1700000000000000000\n");
  ck_has(out, "ms v=1i 1700000000123000000\n");
  ck_has(out, "h v=1i 7200000000000\n");
  ck_has(out, "near v=2i 3600000000000\n");
  long long t = 0;
  const char *now = strstr(out, "now v=1i ");
  ck_assert_ptr_nonnull(now);
  sscanf(now, "now v=1i %lld", &t);
  ck_assert_int_eq(t % 1000000000, 0); /* truncated to the precision */
  ck_assert(t >= before - before % 1000000000 && t <= after);
  free(out);
  stop(&l);
}
END_TEST

START_TEST(gzip_bodies) {
  listener l = start("max_body_size = \"2KiB\";");
  unsigned char *gz;
  size_t len;
  gzip_text("gz v=1i 1\ngz v=2i 2\n", &gz, &len);
  reply r =
      read_reply(send_request(l.port, "POST", "/write", "Content-Encoding: gzip\r\n", gz, len));
  ck_assert_int_eq(r.status, 204);
  reply_free(&r);
  free(gz);
  /* 40 KiB of lines compress far under the limit but expand over it */
  char *big = malloc(40 * 1024 + 1);
  for (size_t i = 0; i < 40 * 1024; i++)
    big[i] = i % 20 == 19 ? '\n' : "big v=1i 1234567890"[i % 20];
  big[40 * 1024] = '\0';
  gzip_text(big, &gz, &len);
  ck_assert_uint_lt(len, 2048);
  r = read_reply(send_request(l.port, "POST", "/write", "Content-Encoding: gzip\r\n", gz, len));
  ck_assert_int_eq(r.status, 413);
  ck_has(r.body, "request body (uncompressed) larger than max_body_size (2048 bytes)");
  reply_free(&r);
  free(gz);
  /* declared too large: refused before the body is read */
  r = post(l.port, "/write", big);
  ck_assert_int_eq(r.status, 413);
  reply_free(&r);
  free(big);
  /* not gzip, and cut short */
  r = read_reply(send_request(l.port, "POST", "/write", "Content-Encoding: gzip\r\n", "plain", 5));
  ck_assert_int_eq(r.status, 400);
  ck_has(r.body, "not valid gzip");
  reply_free(&r);
  gzip_text("cut v=1i 1\n", &gz, &len);
  r = read_reply(send_request(l.port, "POST", "/write", "Content-Encoding: gzip\r\n", gz, len - 4));
  ck_assert_int_eq(r.status, 400);
  reply_free(&r);
  free(gz);
  r = read_reply(send_request(l.port, "POST", "/write", "Content-Encoding: br\r\n", "x", 1));
  ck_assert_int_eq(r.status, 415);
  reply_free(&r);
  char *out = recorded(&l);
  ck_assert_str_eq(out, "gz v=1i 1\ngz v=2i 2\n");
  free(out);
  stop(&l);
}
END_TEST

START_TEST(credentials) {
  listener l = start("basic_username = \"user\"; basic_password = \"pa:ss\"; token = \"tok\"; "
                     "bucket_tag = \"bucket\";");
  reply r = post(l.port, "/write", "m v=1i 1\n");
  ck_assert_int_eq(r.status, 401);
  reply_free(&r);
  r = post(l.port, "/write?u=user&p=wrong", "m v=1i 1\n");
  ck_assert_int_eq(r.status, 401);
  reply_free(&r);
  r = post(l.port, "/write?u=user&p=pa%3Ass", "m v=1i 2\n");
  ck_assert_int_eq(r.status, 204);
  reply_free(&r);
  /* user:pa:ss */
  r = request(l.port, "POST", "/write", "Authorization: Basic dXNlcjpwYTpzcw==\r\n", "m v=1i 3\n");
  ck_assert_int_eq(r.status, 204);
  reply_free(&r);
  r = request(l.port, "POST", "/api/v2/write?org=o&bucket=b1", "Authorization: Token tokx\r\n",
              "m v=1i 4\n");
  ck_assert_int_eq(r.status, 401);
  reply_free(&r);
  r = request(l.port, "POST", "/api/v2/write?org=o&bucket=b1", "Authorization: Token tok\r\n",
              "m v=1i 5\n");
  ck_assert_int_eq(r.status, 204);
  reply_free(&r);
  r = request(l.port, "GET", "/ping", NULL, NULL); /* open, as influxd's */
  ck_assert_int_eq(r.status, 204);
  reply_free(&r);
  char *out = recorded(&l);
  ck_assert_str_eq(out, "m v=1i 2\nm v=1i 3\nm,bucket=b1 v=1i 5\n");
  free(out);
  stop(&l);
}
END_TEST

START_TEST(query_answers_what_clients_need) {
  listener l = start("");
  reply r = post(l.port, "/query", "q=CREATE+DATABASE+%22my+db%22");
  ck_assert_int_eq(r.status, 200);
  ck_assert_str_eq(r.body, "{\"results\":[{\"statement_id\":0}]}");
  reply_free(&r);
  r = post(l.port, "/write?db=other", "m v=1i 1\n");
  reply_free(&r);
  r = request(l.port, "GET",
              "/query?q=SHOW%20DATABASES;SHOW%20RETENTION%20POLICIES%20ON%20x;"
              "select%20*%20from%20m",
              NULL, NULL);
  ck_assert_int_eq(r.status, 200);
  ck_assert_str_eq(
      r.body, "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"databases\",\"columns\":"
              "[\"name\"],\"values\":[[\"my db\"],[\"other\"]]}]},{\"statement_id\":1,"
              "\"series\":[{\"columns\":[\"name\",\"duration\",\"shardGroupDuration\","
              "\"replicaN\",\"default\"],\"values\":[[\"autogen\",\"0s\",\"168h0m0s\",1,true]]}]},"
              "{\"statement_id\":2,\"error\":\"tower accepts writes only and stores nothing to "
              "query: select * from m\"}]}");
  reply_free(&r);
  r = post(l.port, "/query", "q=DROP+DATABASE+other");
  reply_free(&r);
  r = request(l.port, "GET", "/query?q=SHOW+DATABASES", NULL, NULL);
  ck_has(r.body, "\"values\":[[\"my db\"]]");
  reply_free(&r);
  r = request(l.port, "GET", "/query", NULL, NULL);
  ck_assert_int_eq(r.status, 400);
  ck_assert_str_eq(r.body, "{\"error\":\"missing required parameter \\\"q\\\"\"}");
  reply_free(&r);
  stop(&l);
}
END_TEST

/* response_after = "delivery": no answer until the output wrote them. */
START_TEST(answered_after_delivery) {
  listener l = start("response_after = \"delivery\";");
  int fd = send_request(l.port, "POST", "/write", NULL, "d v=1i 1\nd v=2i 2\n", 18);
  for (int i = 0; i < 1000 && twi_output_buffered(l.pl->outputs[0]) < 2; i++)
    usleep(5000);
  ck_assert_uint_eq(twi_output_buffered(l.pl->outputs[0]), 2);
  struct pollfd p = {.fd = fd, .events = POLLIN};
  ck_assert_int_eq(poll(&p, 1, 100), 0); /* buffered, not written: no answer yet */
  char *out = recorded(&l);              /* the output writes them */
  reply r = read_reply(fd);
  ck_assert_int_eq(r.status, 204);
  ck_assert_str_eq(out, "d v=1i 1\nd v=2i 2\n");
  reply_free(&r);
  free(out);
  /* the agent stops before the delivery: 503, send again */
  fd = send_request(l.port, "POST", "/write", NULL, "e v=1i 1\n", 9);
  for (int i = 0; i < 1000 && twi_output_buffered(l.pl->outputs[0]) < 1; i++)
    usleep(5000);
  ck_assert(twi_input_stop(l.pl->inputs[0], tower_mono_ns() + 10000000000LL));
  r = read_reply(fd);
  ck_assert_msg(r.status == 503 || r.status == 0, "status %d", r.status);
  reply_free(&r);
  th_free(l.pl); /* the output goes with the metric pending: the callback after the input */
}
END_TEST

/* Init failures: the reason is logged; capture it. */
static char *init_error(const char *opts) {
  char *log_path = th_fmt("%s/init.log", dir);
  ck_assert_int_eq(twi_log_set_file(log_path), 0);
  char *conf = th_fmt("inputs = ( { plugin = \"influxdb_listener\"; %s } );\n"
                      "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                      opts, dir);
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
  free(conf);
  return all;
}

START_TEST(config_errors) {
  char *err = init_error("database_tag = \"\";");
  ck_has(err, "database_tag is empty; remove it for no tag");
  free(err);
  err = init_error("basic_username = \"u\";");
  ck_has(err, "basic_username needs basic_password");
  free(err);
  err = init_error("response_after = \"never\";");
  ck_has(err, "response_after");
  free(err);
  /* a port in use is named at start, with what to do */
  int fd = -1;
  unsigned port = 0;
  fd = loopback_listen(&port);
  ck_assert_int_ge(fd, 0);
  char *text = th_fmt("inputs = ( { plugin = \"influxdb_listener\"; service_address = "
                      "\"127.0.0.1:%u\"; } );\noutputs = ( { plugin = \"record\"; path = "
                      "\"%s/out.lp\"; } );\n",
                      port, dir);
  char *log_path = th_fmt("%s/start.log", dir);
  ck_assert_int_eq(twi_log_set_file(log_path), 0);
  twi_pipeline *pl = th_start(text, TWI_ONCE);
  ck_assert_int_ne(twi_input_start(pl->inputs[0], pl), 0);
  twi_input_stop(pl->inputs[0], tower_mono_ns()); /* as the core does after a failed start */
  twi_log_set_file(NULL);
  char *log = th_read_file(log_path);
  ck_has(log,
         "Address already in use; another tower or exporter is running? change service_address");
  th_free(pl);
  close(fd);
  free(log);
  free(log_path);
  free(text);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("influxdb_listener");
  TCase *tc = tcase_create("listener");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, ping_answers_as_influxd);
  tcase_add_test(tc, partial_write_keeps_the_good_lines);
  tcase_add_test(tc, precision_and_default_time);
  tcase_add_test(tc, gzip_bodies);
  tcase_add_test(tc, credentials);
  tcase_add_test(tc, query_answers_what_clients_need);
  tcase_add_test(tc, answered_after_delivery);
  tcase_add_test(tc, config_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return check_run(suite());
}
