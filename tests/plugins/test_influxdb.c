/* outputs.influxdb through the real core, against a loopback InfluxDB
 * fixture (tests/fixtures/influx2: libmicrohttpd, answering the 2.x
 * /api/v2/write and the 1.x /write and /query APIs as the real servers do,
 * including their JSON error bodies and partial writes). Each test checks
 * the requests exactly as the fixture received them: method, raw URI and
 * decoded arguments, headers (Authorization: Token / Basic, Content-Encoding,
 * User-Agent, http_headers), and the body after gzip decoding.
 *
 * The response classification (ifx_response.c) is compiled in and driven
 * with the bodies real InfluxDB 1.6/1.8/2.7 servers send. A real influxd
 * is exercised by tests/integration/influxdb.sh. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <tower/tower.h>

#include "check_run.h"
#include "fixtures/certs/certs.h"
#include "fixtures/influx2/influx2.h"
#include "harness.h"
#include "influxdb.h"
#include "log_internal.h"
#include "loopback.h"

static char *dir; /* the test's temporary directory */

static void setup(void) {
  dir = th_tmpdir();
}

static void teardown(void) {
  th_rmrf(dir);
  free(dir);
}

/* ---- helpers --------------------------------------------------------------------- */

static influx2 *fixture(const influx2_config *cfg) {
  influx2 *f = influx2_start(cfg);
  ck_assert_ptr_nonnull(f);
  return f;
}

/* A pipeline: a lines input emitting `lines` (an array body such as
 * "\"m v=1 1\", \"m v=2 2\"") into the influxdb output with `opts`. Logs
 * go to <dir>/tower.log. */
static twi_pipeline *start(const char *lines, const char *opts) {
  char *log = th_fmt("%s/tower.log", dir);
  ck_assert_int_eq(twi_log_set_file(log), 0);
  free(log);
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"lines\"; precision = \"1ns\"; lines = [%s]; } );\n"
                   "outputs = ( { plugin = \"influxdb\"; %s } );\n",
                   lines, opts);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  free(c);
  return pl;
}

/* Gathers once and flushes; returns what th_flush() returns (metrics left
 * in the buffer plus those dropped or rejected). */
static size_t run(twi_pipeline *pl) {
  ck_assert_int_eq(th_gather(pl), 0);
  return th_flush(pl);
}

static char *read_log(void) {
  char *path = th_fmt("%s/tower.log", dir);
  char *text = th_read_file(path);
  free(path);
  return text ? text : strdup("");
}

static void stop(twi_pipeline *pl) {
  th_free(pl);
  twi_log_set_file(NULL);
}

static void ck_header(const influx2_request *r, const char *name, const char *want) {
  char *diff = influx2_header_diff(r, name, want);
  ck_assert_msg(!diff, "%s", diff);
}

static void ck_log_has(const char *want) {
  char *log = read_log();
  ck_assert_msg(strstr(log, want), "log lacks \"%s\":\n%s", want, log);
  free(log);
}

static void ck_log_lacks(const char *secret) {
  char *log = read_log();
  ck_assert_msg(!strstr(log, secret), "log shows \"%s\":\n%s", secret, log);
  free(log);
}

static void ck_points(influx2 *f, const char *bucket, const char *want) {
  char *got = influx2_points(f, bucket);
  ck_assert_msg(!strcmp(got, want), "bucket %s:\nwant:\n%s\ngot:\n%s", bucket, want, got);
  free(got);
}

static uint64_t rejected(twi_pipeline *pl) {
  return atomic_load(&pl->outputs[0]->stats.rejected);
}

/* Options for the v2 API against fixture f. */
static char *v2_opts(influx2 *f, const char *extra) {
  return th_fmt("api = \"v2\"; urls = [\"http://127.0.0.1:%u\"]; organization = \"tower-org\"; "
                "bucket = \"b\"; token = \"tok\"; %s",
                influx2_port(f), extra ? extra : "");
}

/* ---- the response classification ---------------------------------------------- */

typedef struct verdict_case {
  ifx_api api;
  long status;
  const char *body;
  ifx_verdict verdict;
  uint64_t rejected;
} verdict_case;

/* Bodies as InfluxDB 1.6.7 (the Debian package), 1.8 and 2.7 send them. */
static const verdict_case verdicts[] = {
    {IFX_V1, 204, "", IFX_WRITTEN, 0},
    {IFX_V1, 200, "", IFX_WRITTEN, 0},
    {IFX_V1, 400,
     "{\"error\":\"partial write: field type conflict: input field \\\"v\\\" on measurement "
     "\\\"m\\\" is type integer, already exists as type float dropped=2\"}",
     IFX_PARTIAL, 2},
    {IFX_V1, 400,
     "{\"error\":\"partial write: unable to parse 'bad line': invalid field format\\nunable to "
     "parse 'x': missing fields dropped=0\"}",
     IFX_PARTIAL, 2},
    {IFX_V1, 400, "{\"error\":\"partial write: points beyond retention policy dropped=7\"}",
     IFX_PARTIAL, 7},
    {IFX_V1, 400, "{\"error\":\"unable to parse 'garbage': missing fields\"}", IFX_REJECTED, 0},
    {IFX_V1, 400, "{\"error\":\"field type conflict\"}", IFX_REJECTED, 0},
    {IFX_V1, 404, "{\"error\":\"database not found: \\\"nodb\\\"\"}", IFX_DB_NOT_FOUND, 0},
    {IFX_V1, 404, "404 page not found\n", IFX_CONFIG, 0},
    {IFX_V1, 401, "{\"error\":\"authorization failed\"}", IFX_CONFIG, 0},
    {IFX_V1, 403, "{\"error\":\"user is not authorized to write to database \\\"x\\\"\"}",
     IFX_CONFIG, 0},
    {IFX_V1, 413, "{\"error\":\"Request Entity Too Large\"}", IFX_TOO_LARGE, 0},
    {IFX_V1, 500, "{\"error\":\"retention policy not found: nope\"}", IFX_CONFIG, 0},
    {IFX_V1, 500, "{\"error\":\"timeout\"}", IFX_UNAVAILABLE, 0},
    {IFX_V1, 500, "{\"error\":\"write failed: hinted handoff queue not empty\"}", IFX_WRITTEN, 0},
    {IFX_V1, 503, "<html>Service Unavailable</html>", IFX_UNAVAILABLE, 0},
    {IFX_V1, 0, "", IFX_UNAVAILABLE, 0},
    {IFX_V1, 301, "", IFX_CONFIG, 0},
    {IFX_V1, 407, "", IFX_CONFIG, 0},
    {IFX_V1, 405, "", IFX_REFUSED, 0},
    {IFX_V2, 204, "", IFX_WRITTEN, 0},
    {IFX_V2, 422,
     "{\"code\":\"unprocessable entity\",\"message\":\"failure writing points to database: "
     "partial write: field type conflict: input field \\\"v\\\" on measurement \\\"m\\\" is "
     "type string, already exists as type float dropped=1\"}",
     IFX_PARTIAL, 1},
    {IFX_V2, 422,
     "{\"code\":\"unprocessable entity\",\"message\":\"failure writing points to database: "
     "partial write: dropped 350 points outside retention policy of duration 72h0m0s - ... "
     "dropped=350 for database: 0123 for retention policy: autogen\"}",
     IFX_PARTIAL, 350},
    {IFX_V2, 400, "{\"code\":\"invalid\",\"message\":\"unable to parse 'x': missing fields\"}",
     IFX_REJECTED, 0},
    {IFX_V2, 401, "{\"code\":\"unauthorized\",\"message\":\"unauthorized access\"}", IFX_CONFIG, 0},
    {IFX_V2, 404, "{\"code\":\"not found\",\"message\":\"bucket \\\"b\\\" not found\"}", IFX_CONFIG,
     0},
    {IFX_V2, 413,
     "{\"code\":\"request too large\",\"message\":\"unable to read data: points batch is too "
     "large\"}",
     IFX_TOO_LARGE, 0},
    {IFX_V2, 429, "{\"code\":\"too many requests\",\"message\":\"slow down\"}", IFX_THROTTLED, 0},
    {IFX_V2, 503, "", IFX_UNAVAILABLE, 0},
    {IFX_V2, 502, "Bad Gateway", IFX_UNAVAILABLE, 0},
};

START_TEST(test_classify) {
  for (size_t i = 0; i < sizeof verdicts / sizeof *verdicts; i++) {
    const verdict_case *c = &verdicts[i];
    char reason[IFX_REASON_MAX];
    ifx_body_reason(c->body, strlen(c->body), reason, sizeof reason);
    uint64_t n = 99;
    ifx_verdict v = ifx_classify(c->api, c->status, reason, &n);
    ck_assert_msg(v == c->verdict && n == c->rejected,
                  "case %zu (v%d %ld %s): verdict %d rejected %llu, want %d and %llu", i,
                  (int)c->api, c->status, c->body, (int)v, (unsigned long long)n, (int)c->verdict,
                  (unsigned long long)c->rejected);
  }
}
END_TEST

START_TEST(test_body_reason) {
  char out[IFX_REASON_MAX];
  const char *b = "{\"error\":\"a \\\"q\\\" \\\\ \\u00e9\\nnext\"}";
  ck_assert_str_eq(ifx_body_reason(b, strlen(b), out, sizeof out), "a \"q\" \\ \xc3\xa9 next");
  b = "{ \"code\" : \"invalid\", \"line\": 3, \"message\": \"bad\" }";
  ck_assert_str_eq(ifx_body_reason(b, strlen(b), out, sizeof out), "invalid: bad");
  b = "{\"nested\":{\"message\":\"no\"},\"error\":\"yes\"}";
  ck_assert_str_eq(ifx_body_reason(b, strlen(b), out, sizeof out), "yes");
  b = "<html>\r\n<body>502</body>";
  ck_assert_str_eq(ifx_body_reason(b, strlen(b), out, sizeof out), "<html>");
  ck_assert_str_eq(ifx_body_reason("", 0, out, sizeof out), "");
  b = "{\"error\":\"unterminated";
  ck_assert_str_eq(ifx_body_reason(b, strlen(b), out, sizeof out), "{\"error\":\"unterminated");
  /* Truncated to the room given, still terminated. */
  b = "{\"error\":\"0123456789\"}";
  ck_assert_str_eq(ifx_body_reason(b, strlen(b), out, 5), "0123");
  /* A /query answer carries its error inside results. */
  ifx_response r = {.status = 200};
  snprintf(r.body, sizeof r.body, "{\"results\":[{\"statement_id\":0,\"error\":\"nope\"}]}");
  r.body_len = strlen(r.body);
  ifx_response_reason(&r);
  ck_assert_str_eq(r.reason, "nope");
}
END_TEST

START_TEST(test_retry_after) {
  ck_assert_int_eq(ifx_parse_retry_after("7", 0), 7000000000LL);
  ck_assert_int_eq(ifx_parse_retry_after(" 120 \r\n", 0), 120000000000LL);
  ck_assert_int_eq(ifx_parse_retry_after("0", 0), 0);
  ck_assert_int_eq(ifx_parse_retry_after("99999", 0), IFX_RETRY_AFTER_MAX);
  ck_assert_int_eq(ifx_parse_retry_after("soon", 0), -1);
  ck_assert_int_eq(ifx_parse_retry_after("5s", 0), -1);
  /* An HTTP date: 30 s after "now". */
  ck_assert_int_eq(ifx_parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", 1445412480),
                   30000000000LL);
  ck_assert_int_eq(ifx_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490), 0);
}
END_TEST

/* ---- v2: the request ---------------------------------------------------------------- */

START_TEST(test_v2_request) {
  influx2 *f =
      fixture(&(influx2_config){.org = "my org", .buckets = "metrics/b", .token = "s3cr3t-token"});
  char *o = th_fmt("api = \"v2\"; urls = [\"http://127.0.0.1:%u/\"]; organization = \"my org\"; "
                   "bucket = \"metrics/b\"; token = \"s3cr3t-token\"; "
                   "http_headers = { X-Tenant = \"t1\"; };",
                   influx2_port(f));
  twi_pipeline *pl = start("\"cpu,host=a,cpu=cpu0 usage=1.5,n=3i,s=\\\"x y\\\",ok=true "
                           "1700000000000000001\", \"mem used=7u 1700000000000000002\"",
                           o);
  ck_assert_uint_eq(run(pl), 0);
  ck_assert_uint_eq(influx2_count(f), 1);
  const influx2_request *r = influx2_request_at(f, 0);
  ck_assert_str_eq(r->method, "POST");
  ck_assert_str_eq(r->path, "/api/v2/write");
  ck_assert_str_eq(r->uri, "/api/v2/write?org=my%20org&bucket=metrics%2Fb&precision=ns");
  ck_assert_str_eq(r->args, "org=my org&bucket=metrics/b&precision=ns");
  ck_header(r, "Authorization", "Token s3cr3t-token");
  ck_header(r, "Content-Encoding", "gzip");
  ck_header(r, "Content-Type", "text/plain; charset=utf-8");
  ck_header(r, "User-Agent", "tower/" PACKAGE_VERSION);
  ck_header(r, "X-Tenant", "t1");
  ck_header(r, "Expect", NULL);
  ck_assert(r->gzip_ok);
  ck_assert_uint_lt(r->raw_len, r->body_len + 40);
  const char *want = "cpu,cpu=cpu0,host=a n=3i,ok=true,s=\"x y\",usage=1.5 1700000000000000001\n"
                     "mem used=7i 1700000000000000002\n";
  ck_assert_str_eq(r->body, want);
  ck_assert_int_eq(r->status, 204);
  ck_points(f, "metrics/b", want);
  stop(pl);
  ck_log_lacks("s3cr3t-token");
  free(o);
  influx2_stop(f);
}
END_TEST

START_TEST(test_v2_bucket_tag) {
  influx2 *f = fixture(&(influx2_config){.buckets = "b,b1,b 2", .token = "tok"});
  char *o = v2_opts(f, "bucket_tag = \"dest\"; exclude_bucket_tag = true;");
  twi_pipeline *pl = start("\"m,dest=b1,k=v v=1 1\", \"m,a\\\\ b=1,dest=b\\\\ 2,k=v v=2 2\", "
                           "\"m v=3 3\", \"m,dest=b1 v=4 4\", \"m,k=dest\\\\=x v=5 5\"",
                           o);
  ck_assert_uint_eq(run(pl), 0);
  ck_assert_uint_eq(influx2_count(f), 3);
  ck_assert_str_eq(influx2_request_at(f, 0)->args, "org=tower-org&bucket=b1&precision=ns");
  ck_assert_str_eq(influx2_request_at(f, 1)->args, "org=tower-org&bucket=b 2&precision=ns");
  ck_assert_str_eq(influx2_request_at(f, 2)->args, "org=tower-org&bucket=b&precision=ns");
  ck_points(f, "b1", "m,k=v v=1 1\nm v=4 4\n");
  ck_points(f, "b 2", "m,a\\ b=1,k=v v=2 2\n");
  ck_points(f, "b", "m v=3 3\nm,k=dest\\=x v=5 5\n");
  stop(pl);
  free(o);
  /* Without exclude_bucket_tag the tag is written. */
  influx2 *g = fixture(&(influx2_config){.buckets = "b,b1", .token = "tok"});
  o = v2_opts(g, "bucket_tag = \"dest\";");
  pl = start("\"m,dest=b1 v=1 1\"", o);
  ck_assert_uint_eq(run(pl), 0);
  ck_points(g, "b1", "m,dest=b1 v=1 1\n");
  stop(pl);
  free(o);
  influx2_stop(f);
  influx2_stop(g);
}
END_TEST

START_TEST(test_v2_precision_uint_identity) {
  influx2 *f = fixture(&(influx2_config){.buckets = "b", .token = "tok"});
  char *o = v2_opts(f, "precision = \"s\"; influx_uint_support = true; "
                       "content_encoding = \"identity\"; user_agent = \"probe/1\";");
  twi_pipeline *pl = start("\"m u=18446744073709551615u,i=-5i 1700000000999999999\"", o);
  ck_assert_uint_eq(run(pl), 0);
  const influx2_request *r = influx2_request_at(f, 0);
  ck_assert_str_eq(r->args, "org=tower-org&bucket=b&precision=s");
  ck_header(r, "Content-Encoding", NULL);
  ck_header(r, "User-Agent", "probe/1");
  ck_assert_uint_eq(r->raw_len, r->body_len);
  ck_assert_str_eq(r->body, "m i=-5i,u=18446744073709551615u 1700000000\n");
  stop(pl);
  free(o);
  /* Without uint support the value is clipped to the largest integer. */
  o = v2_opts(f, "precision = \"ms\";");
  pl = start("\"m2 u=18446744073709551615u 1700000000999999999\"", o);
  ck_assert_uint_eq(run(pl), 0);
  r = influx2_request_at(f, 1);
  ck_assert_str_eq(r->args, "org=tower-org&bucket=b&precision=ms");
  ck_assert_str_eq(r->body, "m2 u=9223372036854775807i 1700000000999\n");
  stop(pl);
  free(o);
  influx2_stop(f);
}
END_TEST

/* ---- v2: what the server says ------------------------------------------------------ */

START_TEST(test_v2_partial_write) {
  influx2 *f = fixture(&(influx2_config){.buckets = "b", .token = "tok"});
  char *o = v2_opts(f, NULL);
  /* The first point fixes v as a float; the integer one conflicts. */
  twi_pipeline *pl = start("\"m v=1 1\", \"m v=2i 2\", \"m v=3 3\", \"n w=1 4\"", o);
  ck_assert_uint_eq(run(pl), 1); /* one rejected, none left */
  ck_assert_uint_eq(rejected(pl), 1);
  ck_assert_uint_eq(influx2_count(f), 1);
  ck_assert_int_eq(influx2_request_at(f, 0)->status, 422);
  ck_points(f, "b", "m v=1 1\nm v=3 3\nn w=1 4\n");
  ck_log_has("1 of 4 metrics refused by http://127.0.0.1:");
  ck_log_has("(bucket \"b\") and lost: HTTP 422: unprocessable entity: failure writing points "
             "to database: partial write: field type conflict: input field \"v\" on measurement "
             "\"m\" is type integer, already exists as type float dropped=1");
  stop(pl);
  free(o);
  influx2_stop(f);
}
END_TEST

/* A 400 refuses the whole batch (2.x: one unparsable line): halves are
 * sent until the bad point is alone, so only it is lost. */
START_TEST(test_v2_bisect) {
  influx2 *f = fixture(&(influx2_config){.buckets = "b", .token = "tok", .poison = "POISON"});
  char *o = v2_opts(f, NULL);
  twi_pipeline *pl = start("\"m v=1 1\", \"m v=2 2\", \"m v=3 3\", \"m,t=POISON v=4 4\", "
                           "\"m v=5 5\", \"m v=6 6\", \"m v=7 7\", \"m v=8 8\"",
                           o);
  ck_assert_uint_eq(run(pl), 1);
  ck_assert_uint_eq(rejected(pl), 1);
  ck_points(f, "b", "m v=1 1\nm v=2 2\nm v=3 3\nm v=5 5\nm v=6 6\nm v=7 7\nm v=8 8\n");
  /* 8 -> 4+4 -> 2+2 -> 1+1: 7 requests. */
  ck_assert_uint_eq(influx2_count(f), 7);
  ck_log_has("1 of 8 metrics refused by");
  ck_log_has("HTTP 400: invalid: unable to parse 'm,t=POISON v=4 4'");
  stop(pl);
  free(o);
  influx2_stop(f);
}
END_TEST

/* 413: the batch is split in halves (recursively) until the server takes
 * the parts; nothing is lost. A single point still too large is. */
START_TEST(test_v2_too_large) {
  influx2 *f = fixture(&(influx2_config){.buckets = "b", .token = "tok", .max_body = 40});
  char *o = v2_opts(f, NULL);
  twi_pipeline *pl = start("\"m v=1 1\", \"m v=2 2\", \"m v=3 3\", \"m v=4 4\", \"m v=5 5\", "
                           "\"m v=6 6\", \"m v=7 7\", \"m v=8 8\", \"m v=9 9\", \"m v=10 10\"",
                           o);
  ck_assert_uint_eq(run(pl), 0);
  ck_points(f, "b",
            "m v=1 1\nm v=2 2\nm v=3 3\nm v=4 4\nm v=5 5\nm v=6 6\nm v=7 7\nm v=8 8\nm v=9 9\n"
            "m v=10 10\n");
  size_t n = influx2_count(f), big = 0;
  for (size_t i = 0; i < n; i++)
    big += influx2_request_at(f, i)->status == 413;
  /* 10 lines (82 bytes) -> 5 (40 bytes) + 5 (42 bytes) -> 2 + 3. */
  ck_assert_uint_eq(n, 5);
  ck_assert_uint_eq(big, 2);
  stop(pl);
  free(o);
  pl = start("\"big,tag=0123456789012345678901234567890123456789 v=1 1\"", o = v2_opts(f, NULL));
  ck_assert_uint_eq(run(pl), 1);
  ck_assert_uint_eq(rejected(pl), 1);
  ck_log_has("HTTP 413: request too large");
  stop(pl);
  free(o);
  influx2_stop(f);
}
END_TEST

START_TEST(test_v2_throttled) {
  influx2 *f = fixture(&(influx2_config){.buckets = "b", .token = "tok"});
  influx2_push_reply(f, 429, "Retry-After: 7\n",
                     "{\"code\":\"too many requests\",\"message\":\"org over quota\"}");
  char *o = v2_opts(f, NULL);
  twi_pipeline *pl = start("\"m v=1 1\", \"m v=2 2\"", o);
  ck_assert_uint_eq(run(pl), 2); /* kept */
  ck_assert_int_eq(atomic_load(&pl->outputs[0]->retry_after), 7000000000LL);
  ck_assert_uint_eq(rejected(pl), 0);
  ck_log_has("asks to slow down (HTTP 429: too many requests: org over quota)");
  /* The next flush writes them. */
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_points(f, "b", "m v=1 1\nm v=2 2\n");
  /* 503 with a date works too, and the server's hint is kept. */
  influx2_push_reply(f, 503, "Retry-After: Wed, 21 Oct 2037 07:28:00 GMT\n", "");
  ck_assert_uint_eq(run(pl), 2);
  ck_assert_int_eq(atomic_load(&pl->outputs[0]->retry_after), IFX_RETRY_AFTER_MAX);
  ck_assert_uint_eq(th_flush(pl), 0);
  stop(pl);
  free(o);
  influx2_stop(f);
}
END_TEST

START_TEST(test_v2_server_errors_keep_metrics) {
  influx2 *f = fixture(&(influx2_config){.buckets = "b", .token = "tok"});
  influx2_push_reply(f, 500, NULL, "{\"code\":\"internal error\",\"message\":\"engine: boom\"}");
  influx2_push_reply(f, 502, NULL, "<html>bad gateway</html>");
  char *o = v2_opts(f, NULL);
  twi_pipeline *pl = start("\"m v=1 1\"", o);
  ck_assert_uint_eq(run(pl), 1);
  ck_log_has("(bucket \"b\") failed: HTTP 500: internal error: engine: boom");
  ck_assert_uint_eq(th_flush(pl), 1);
  ck_log_has("failed: HTTP 502: <html>bad gateway</html>");
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_points(f, "b", "m v=1 1\n");
  ck_assert_uint_eq(rejected(pl), 0);
  stop(pl);
  free(o);
  influx2_stop(f);
}
END_TEST

/* Several URLs are failover: each request goes to one; a down or failing
 * one passes it on, and the one that answered stays first. */
START_TEST(test_v2_failover) {
  influx2 *a = fixture(&(influx2_config){.buckets = "b", .token = "tok"});
  influx2 *b = fixture(&(influx2_config){.buckets = "b", .token = "tok"});
  unsigned dead = loopback_unused_port();
  influx2_push_reply(a, 503, NULL, "");
  char *o = th_fmt("api = \"v2\"; organization = \"tower-org\"; bucket = \"b\"; token = \"tok\"; "
                   "urls = [\"http://127.0.0.1:%u\", \"http://127.0.0.1:%u\", "
                   "\"http://127.0.0.1:%u\"];",
                   influx2_port(a), dead, influx2_port(b));
  twi_pipeline *pl = start("\"m v=1 1\"", o);
  ck_assert_uint_eq(run(pl), 0);
  ck_points(b, "b", "m v=1 1\n");
  ck_assert_uint_eq(influx2_count(a), 1);
  ck_log_has("failed: HTTP 503");
  ck_log_has("trying the next URL");
  char *want = th_fmt("write to http://127.0.0.1:%u (bucket \"b\") failed: ", dead);
  ck_log_has(want);
  free(want);
  /* The next write starts with b. */
  ck_assert_uint_eq(run(pl), 0);
  ck_points(b, "b", "m v=1 1\nm v=1 1\n");
  ck_assert_uint_eq(influx2_count(a), 1);
  ck_assert_uint_eq(influx2_count(b), 2);
  stop(pl);
  free(o);
  influx2_stop(a);
  influx2_stop(b);
}
END_TEST

START_TEST(test_v2_config_errors_keep_metrics) {
  influx2 *f = fixture(&(influx2_config){.buckets = "b", .token = "tok"});
  char *o = th_fmt("api = \"v2\"; urls = [\"http://127.0.0.1:%u\"]; organization = \"tower-org\"; "
                   "bucket = \"b\"; token = \"wrong-secret\";",
                   influx2_port(f));
  twi_pipeline *pl = start("\"m v=1 1\"", o);
  ck_assert_uint_eq(run(pl), 1);
  ck_assert_uint_eq(rejected(pl), 0);
  ck_log_has("(bucket \"b\") refused: HTTP 401: unauthorized: unauthorized access; check token "
             "(the metrics stay in the buffer and are retried)");
  stop(pl);
  ck_log_lacks("wrong-secret");
  free(o);
  o = v2_opts(f, NULL);
  char *nob = th_fmt("%s bucket_tag = \"to\";", o);
  pl = start("\"m,to=nope v=1 1\"", nob);
  ck_assert_uint_eq(run(pl), 1);
  ck_log_has("(bucket \"nope\") refused: HTTP 404: not found: bucket \"nope\" not found; check "
             "organization and bucket");
  stop(pl);
  free(nob);
  free(o);
  influx2_stop(f);
}
END_TEST

START_TEST(test_timeout) {
  influx2 *f = fixture(&(influx2_config){.buckets = "b", .token = "tok"});
  influx2_set_delay(f, 1500);
  char *o = v2_opts(f, "timeout = \"300ms\";");
  twi_pipeline *pl = start("\"m v=1 1\"", o);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  ck_assert_uint_eq(run(pl), 1);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  ck_assert_msg(secs < 1.2, "the write took %.2f s despite timeout = 300ms", secs);
  ck_log_has("Operation timed out");
  influx2_set_delay(f, 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  stop(pl);
  free(o);
  influx2_stop(f);
}
END_TEST

START_TEST(test_keepalive) {
  influx2 *f = fixture(&(influx2_config){.buckets = "b", .token = "tok"});
  char *o = v2_opts(f, NULL);
  twi_pipeline *pl = start("\"m v=1 1\"", o);
  for (int i = 0; i < 4; i++)
    ck_assert_uint_eq(run(pl), 0);
  ck_assert_uint_eq(influx2_count(f), 4);
  ck_assert_uint_eq(influx2_connections(f), 1);
  ck_assert_uint_eq(influx2_request_at(f, 3)->connection, 1);
  stop(pl);
  free(o);
  influx2_stop(f);
}
END_TEST

/* Metrics line protocol cannot carry (only NaN/Inf fields) are counted. */
START_TEST(test_unwritable_metric) {
  influx2 *f = fixture(&(influx2_config){.buckets = "b", .token = "tok"});
  char *o = v2_opts(f, NULL);
  twi_pipeline *pl = start("\"m v=1 1\"", o);
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, false);
  twi_acc_begin(acc, 1700000000000000000LL);
  tower_metric *m = tower_metric_new("nan", 5);
  tower_metric_add_float(m, "v", 0.0 / 0.0);
  ck_assert_int_eq(tower_acc_add(acc, m), 0);
  tower_acc_commit(acc);
  twi_acc_free(acc);
  ck_assert_uint_eq(run(pl), 1);
  ck_assert_uint_eq(rejected(pl), 1);
  ck_points(f, "b", "m v=1 1\n");
  ck_log_has("1 of 2 metrics not written to");
  ck_log_has("no field line protocol can carry");
  stop(pl);
  free(o);
  influx2_stop(f);
}
END_TEST

/* ---- TLS ------------------------------------------------------------------------- */

/* The certificates of tests/fixtures/certs in the test's directory. */
static void make_certs(void) {
  char *err = certs_make(dir);
  ck_assert_msg(!err, "%s", err);
}

static char *pem(const char *name) {
  char *text = certs_read(dir, name);
  ck_assert_msg(text, "cannot read %s/%s", dir, name);
  return text;
}

START_TEST(test_tls) {
  make_certs();
  char *cert = pem("server.pem"), *key = pem("server.key"), *ca = pem("ca.pem");
  influx2 *f = fixture(&(influx2_config){
      .buckets = "b", .token = "tok", .tls_cert = cert, .tls_key = key, .tls_ca = ca});
  /* Verified server, client certificate presented. */
  char *o = th_fmt("api = \"v2\"; urls = [\"https://127.0.0.1:%u\"]; organization = \"tower-org\"; "
                   "bucket = \"b\"; token = \"tok\"; tls_ca = \"%s/ca.pem\"; "
                   "tls_cert = \"%s/client.pem\"; tls_key = \"%s/client.key\";",
                   influx2_port(f), dir, dir, dir);
  twi_pipeline *pl = start("\"m v=1 1\"", o);
  ck_assert_uint_eq(run(pl), 0);
  ck_assert(influx2_request_at(f, 0)->client_cert);
  ck_points(f, "b", "m v=1 1\n");
  stop(pl);
  free(o);
  /* A server the configured CA did not sign: refused, kept, said why. */
  o = th_fmt("api = \"v2\"; urls = [\"https://127.0.0.1:%u\"]; organization = \"tower-org\"; "
             "bucket = \"b\"; token = \"tok\"; tls_ca = \"%s/other.pem\";",
             influx2_port(f), dir);
  pl = start("\"m v=2 2\"", o);
  ck_assert_uint_eq(run(pl), 1);
  ck_log_has("SSL certificate problem");
  ck_assert_uint_eq(influx2_count(f), 1);
  stop(pl);
  free(o);
  /* insecure_skip_verify writes anyway, with a warning. */
  o = th_fmt("api = \"v2\"; urls = [\"https://127.0.0.1:%u\"]; organization = \"tower-org\"; "
             "bucket = \"b\"; token = \"tok\"; tls_ca = \"%s/other.pem\"; "
             "insecure_skip_verify = true;",
             influx2_port(f), dir);
  pl = start("\"m v=3 3\"", o);
  ck_assert_uint_eq(run(pl), 0);
  ck_log_has("insecure_skip_verify is set");
  ck_assert(!influx2_request_at(f, 1)->client_cert);
  ck_points(f, "b", "m v=1 1\nm v=3 3\n");
  stop(pl);
  free(o);
  influx2_stop(f);
  free(cert);
  free(key);
  free(ca);
}
END_TEST

/* ---- v1 -------------------------------------------------------------------------- */

START_TEST(test_v1_request) {
  influx2 *f = fixture(&(influx2_config){.username = "bob", .password = "p@ss", .admin = true});
  char *o = th_fmt("urls = [\"http://127.0.0.1:%u\"]; database = \"my \\\"db\\\"\"; "
                   "retention_policy = \"autogen\"; precision = \"ms\"; username = \"bob\"; "
                   "password = \"p@ss\";",
                   influx2_port(f));
  twi_pipeline *pl = start("\"m,t=a v=1.5 1700000000123456789\"", o);
  ck_assert_uint_eq(run(pl), 0);
  ck_assert_uint_eq(influx2_count(f), 2);
  const influx2_request *q = influx2_request_at(f, 0);
  ck_assert_str_eq(q->method, "POST");
  ck_assert_str_eq(q->uri, "/query");
  ck_assert_str_eq(q->body, "q=CREATE%20DATABASE%20%22my%20%5C%22db%5C%22%22");
  ck_header(q, "Content-Type", "application/x-www-form-urlencoded");
  ck_header(q, "Authorization", "Basic Ym9iOnBAc3M=");
  ck_assert_int_eq(q->status, 200);
  const influx2_request *w = influx2_request_at(f, 1);
  ck_assert_str_eq(w->uri, "/write?db=my%20%22db%22&rp=autogen&consistency=any&precision=ms");
  ck_header(w, "Authorization", "Basic Ym9iOnBAc3M=");
  ck_header(w, "Content-Encoding", "gzip");
  ck_assert_str_eq(w->body, "m,t=a v=1.5 1700000000123\n");
  ck_assert_int_eq(w->status, 204);
  ck_points(f, "my \"db\"", "m,t=a v=1.5 1700000000123\n");
  /* The database is created once, not before every write. */
  ck_assert_uint_eq(run(pl), 0);
  ck_assert_uint_eq(influx2_count(f), 3);
  stop(pl);
  ck_log_lacks("p@ss");
  free(o);
  influx2_stop(f);
}
END_TEST

START_TEST(test_v1_auth_in_query_redacted) {
  influx2 *f = fixture(
      &(influx2_config){.buckets = "telegraf", .username = "bob", .password = "pa ss&w0rd"});
  char *o = th_fmt("urls = [\"http://127.0.0.1:%u\"]; username = \"bob\"; password = "
                   "\"pa ss&w0rd\"; auth_in_query = true; write_consistency = \"one\"; "
                   "skip_database_creation = true;",
                   influx2_port(f));
  twi_pipeline *pl = start("\"m v=1 1\"", o);
  ck_assert_uint_eq(run(pl), 0);
  const influx2_request *w = influx2_request_at(f, 0);
  ck_assert_str_eq(w->uri, "/write?db=telegraf&precision=n&u=bob&p=pa%20ss%26w0rd");
  ck_header(w, "Authorization", NULL);
  stop(pl);
  free(o);
  /* Nothing listens: the error names the URL, never the password. */
  unsigned dead = loopback_unused_port();
  o = th_fmt("urls = [\"http://alice:hunter2@127.0.0.1:%u/influx/\"]; username = \"bob\"; "
             "password = \"pa ss&w0rd\"; auth_in_query = true;",
             dead);
  pl = start("\"m v=1 1\"", o);
  ck_assert_uint_eq(run(pl), 1);
  char *want = th_fmt("write to http://alice:xxxxx@127.0.0.1:%u/influx/ (database \"telegraf\") "
                      "failed: ",
                      dead);
  ck_log_has(want);
  stop(pl);
  ck_log_lacks("hunter2");
  ck_log_lacks("w0rd");
  ck_log_lacks("pa%20ss");
  free(want);
  free(o);
  influx2_stop(f);
}
END_TEST

START_TEST(test_v1_database_tag) {
  influx2 *f = fixture(&(influx2_config){.buckets = ""});
  char *o = th_fmt("urls = [\"http://127.0.0.1:%u\"]; database = \"main\"; "
                   "database_tag = \"d b,x\"; exclude_database_tag = true;",
                   influx2_port(f));
  twi_pipeline *pl = start("\"m,d\\\\ b\\\\,x=one,z=1 v=1 1\", \"m v=2 2\", "
                           "\"m,a=1,d\\\\ b\\\\,x=two v=3 3\", \"m,d\\\\ b\\\\,x=one v=4 4\"",
                           o);
  ck_assert_uint_eq(run(pl), 0);
  ck_points(f, "one", "m,z=1 v=1 1\nm v=4 4\n");
  ck_points(f, "main", "m v=2 2\n");
  ck_points(f, "two", "m,a=1 v=3 3\n");
  /* One CREATE DATABASE and one write per database. */
  ck_assert_uint_eq(influx2_count(f), 6);
  stop(pl);
  free(o);
  influx2_stop(f);
}
END_TEST

/* A database dropped while tower runs (or missing on a failover server)
 * is created again and the write repeated. */
START_TEST(test_v1_database_recreated) {
  influx2 *f = fixture(&(influx2_config){.buckets = ""});
  char *o = th_fmt("urls = [\"http://127.0.0.1:%u\"]; database = \"db\";", influx2_port(f));
  twi_pipeline *pl = start("\"m v=1 1\"", o);
  ck_assert_uint_eq(run(pl), 0);
  influx2_drop_bucket(f, "db");
  ck_assert_uint_eq(run(pl), 0);
  ck_points(f, "db", "m v=1 1\n");
  /* CREATE, write; write (404), CREATE, write. */
  ck_assert_uint_eq(influx2_count(f), 5);
  ck_assert_int_eq(influx2_request_at(f, 2)->status, 404);
  ck_assert_str_eq(influx2_request_at(f, 3)->path, "/query");
  ck_assert_int_eq(influx2_request_at(f, 4)->status, 204);
  stop(pl);
  free(o);
  influx2_stop(f);
}
END_TEST

START_TEST(test_v1_missing_database) {
  influx2 *f = fixture(&(influx2_config){.buckets = "other"});
  char *o = th_fmt("urls = [\"http://127.0.0.1:%u\"]; database = \"absent\"; "
                   "skip_database_creation = true;",
                   influx2_port(f));
  twi_pipeline *pl = start("\"m v=1 1\"", o);
  ck_assert_uint_eq(run(pl), 1);
  ck_assert_uint_eq(influx2_count(f), 1); /* no CREATE DATABASE */
  ck_log_has("(database \"absent\") refused: HTTP 404: database not found: \"absent\"; create "
             "the database (CREATE DATABASE), or unset skip_database_creation so tower creates "
             "it (the metrics stay in the buffer and are retried)");
  stop(pl);
  free(o);
  influx2_stop(f);
}
END_TEST

/* A user without admin privileges cannot create the database: a warning
 * says so once, the write says what to do, the metrics stay. */
START_TEST(test_v1_not_admin) {
  influx2 *f = fixture(&(influx2_config){.username = "bob", .password = "pw"});
  char *o = th_fmt("urls = [\"http://127.0.0.1:%u\"]; database = \"db\"; username = \"bob\"; "
                   "password = \"pw\";",
                   influx2_port(f));
  twi_pipeline *pl = start("\"m v=1 1\"", o);
  ck_assert_uint_eq(run(pl), 1);
  ck_log_has("cannot create database \"db\" on http://127.0.0.1:");
  ck_log_has(": 403 error authorizing query: bob not authorized to execute statement 'CREATE "
             "DATABASE \"db\"', requires admin privilege; create it with an admin user");
  ck_log_has("refused: HTTP 404: database not found: \"db\"; create the database with an admin "
             "user (CREATE DATABASE)");
  stop(pl);
  free(o);
  influx2_stop(f);
}
END_TEST

START_TEST(test_v1_partial_and_rp) {
  influx2 *f = fixture(&(influx2_config){.buckets = "db"});
  char *o = th_fmt("urls = [\"http://127.0.0.1:%u\"]; database = \"db\"; "
                   "skip_database_creation = true;",
                   influx2_port(f));
  twi_pipeline *pl = start("\"m v=1 1\", \"m v=\\\"s\\\" 2\", \"m v=3 3\"", o);
  ck_assert_uint_eq(run(pl), 1);
  ck_assert_uint_eq(rejected(pl), 1);
  ck_points(f, "db", "m v=1 1\nm v=3 3\n");
  ck_log_has("1 of 3 metrics refused by http://127.0.0.1:");
  ck_log_has("HTTP 400: partial write: field type conflict: input field \"v\" on measurement "
             "\"m\" is type string, already exists as type float dropped=1");
  stop(pl);
  free(o);
  o = th_fmt("urls = [\"http://127.0.0.1:%u\"]; database = \"db\"; retention_policy = \"rp1\";"
             "skip_database_creation = true;",
             influx2_port(f));
  pl = start("\"m v=1 1\"", o);
  ck_assert_uint_eq(run(pl), 1);
  ck_log_has("refused: HTTP 500: retention policy not found: rp1; create the retention policy, "
             "or fix retention_policy");
  stop(pl);
  free(o);
  influx2_stop(f);
}
END_TEST

/* ---- configuration ---------------------------------------------------------------- */

static char *init_error(const char *opts) {
  char *log_path = th_fmt("%s/init.log", dir);
  ck_assert_int_eq(twi_log_set_file(log_path), 0);
  char *conf = th_fmt("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );\n"
                      "outputs = ( { plugin = \"influxdb\"; %s } );\n",
                      opts);
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

START_TEST(test_bad_options) {
  static const char *const cases[][2] = {
      {"token = \"t\";", "token is a v2 option, but api = \"v1\""},
      {"api = \"v2\"; bucket = \"b\"; organization = \"o\"; database = \"d\";",
       "database is a v1 option, but api = \"v2\""},
      {"api = \"v2\"; bucket = \"b\";", "api = \"v2\" needs organization"},
      {"api = \"v2\"; organization = \"o\";", "api = \"v2\" needs bucket"},
      {"urls = [\"udp://127.0.0.1:8089\"];", "is not an http:// or https:// URL"},
      {"urls = [\"http://u:secretpw@h:8086/?db=x\"];",
       "urls: \"http://u:xxxxx@h:8086/?db=x\" must be a server's base URL"},
      {"urls = [\"http://\"];", "must be a server's base URL"},
      {"urls = [];", "urls must list at least one URL"},
      {"tls_cert = \"/x.pem\";", "tls_cert and tls_key go together"},
      {"password = \"p\";", "password needs username"},
      {"database = \"\";", "database must not be empty"},
      {"precision = \"m\";", "precision"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *err = init_error(cases[i][0]);
    ck_assert_msg(strstr(err, cases[i][1]), "%s: got: %s", cases[i][0], err);
    ck_assert_msg(!strstr(err, "secretpw"), "password in: %s", err);
    free(err);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("outputs.influxdb");
  TCase *tc = tcase_create("responses");
  tcase_add_test(tc, test_classify);
  tcase_add_test(tc, test_body_reason);
  tcase_add_test(tc, test_retry_after);
  suite_add_tcase(s, tc);
  tc = tcase_create("v2");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_v2_request);
  tcase_add_test(tc, test_v2_bucket_tag);
  tcase_add_test(tc, test_v2_precision_uint_identity);
  tcase_add_test(tc, test_v2_partial_write);
  tcase_add_test(tc, test_v2_bisect);
  tcase_add_test(tc, test_v2_too_large);
  tcase_add_test(tc, test_v2_throttled);
  tcase_add_test(tc, test_v2_server_errors_keep_metrics);
  tcase_add_test(tc, test_v2_failover);
  tcase_add_test(tc, test_v2_config_errors_keep_metrics);
  tcase_add_test(tc, test_timeout);
  tcase_add_test(tc, test_keepalive);
  tcase_add_test(tc, test_unwritable_metric);
  suite_add_tcase(s, tc);
  tc = tcase_create("tls");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_tls);
  suite_add_tcase(s, tc);
  tc = tcase_create("v1");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_v1_request);
  tcase_add_test(tc, test_v1_auth_in_query_redacted);
  tcase_add_test(tc, test_v1_database_tag);
  tcase_add_test(tc, test_v1_database_recreated);
  tcase_add_test(tc, test_v1_missing_database);
  tcase_add_test(tc, test_v1_not_admin);
  tcase_add_test(tc, test_v1_partial_and_rp);
  suite_add_tcase(s, tc);
  tc = tcase_create("config");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_bad_options);
  suite_add_tcase(s, tc);
  return check_run(s);
}
