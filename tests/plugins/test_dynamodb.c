/* inputs.dynamodb.
 *
 * Table tests of the code compiled in directly: item -> metric conversion
 * (every AttributeValue type, numbers, maps, tags, timestamps), the
 * classification of DynamoDB's error responses, the shared credentials
 * file, the backoff.
 *
 * Then the plugin through the real core against a loopback DynamoDB
 * stand-in and EC2 metadata service (tests/fixtures/dynamo): pagination,
 * the request JSON, parallel segments, max_items, throttling retried and
 * given up, a failure half way (nothing emitted for that table), an
 * unknown table, refused credentials, the time budget; credentials from
 * each source of the chain (config, profile, environment, shared file,
 * IMDSv2 with refresh before expiry), and the SigV4 Authorization header
 * checked against an independent implementation of the AWS specification
 * (GnuTLS SHA-256/HMAC, not libcurl's OpenSSL), itself checked against the
 * published aws-sig-v4-test-suite vectors. Real DynamoDB semantics
 * (dynalite) are exercised by tests/integration/dynamodb.sh. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tower/tower.h>

#include "check_run.h"
#include "dynamodb.h"
#include "fixtures/dynamo/dynamo.h"
#include "harness.h"
#include "log_internal.h"

static char *dir;
static dynamo *fx;

#define KEYS "access_key_id = \"AKIDEXAMPLE\"; secret_access_key = \"not-a-real-secret\"; "

static void clean_env(void) {
  static const char *const vars[] = {"AWS_ACCESS_KEY_ID",
                                     "AWS_SECRET_ACCESS_KEY",
                                     "AWS_SESSION_TOKEN",
                                     "AWS_PROFILE",
                                     "AWS_REGION",
                                     "AWS_DEFAULT_REGION",
                                     "AWS_EC2_METADATA_SERVICE_ENDPOINT"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
    unsetenv(vars[i]);
  char *none = th_fmt("%s/no-credentials-file", dir);
  setenv("AWS_SHARED_CREDENTIALS_FILE", none, 1);
  free(none);
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void setup(void) {
  dir = th_tmpdir();
  clean_env();
  fx = dynamo_start();
  ck_assert_ptr_nonnull(fx);
}

static void teardown(void) {
  dynamo_stop(fx);
  fx = NULL;
  th_rmrf(dir);
  free(dir);
}

/* ---- helpers -------------------------------------------------------------------------- */

static char *read_log(void) {
  char *path = th_fmt("%s/tower.log", dir);
  char *text = th_read_file(path);
  free(path);
  return text ? text : strdup("");
}

static void ck_log_has(const char *want) {
  char *log = read_log();
  ck_assert_msg(strstr(log, want), "log lacks \"%s\":\n%s", want, log);
  free(log);
}

static void ck_log_lacks(const char *text) {
  char *log = read_log();
  ck_assert_msg(!strstr(log, text), "log shows \"%s\":\n%s", text, log);
  free(log);
}

static char *config(const char *opts) {
  return th_fmt("agent = { omit_hostname = true; interval = \"10s\"; };\n"
                "inputs = ( { plugin = \"dynamodb\"; endpoint_url = \"http://127.0.0.1:%u\"; %s "
                "} );\n"
                "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                dynamo_port(fx), opts, dir);
}

static void log_to_dir(void) {
  char *log = th_fmt("%s/tower.log", dir);
  ck_assert_int_eq(twi_log_set_file(log), 0);
  free(log);
}

static twi_pipeline *start(const char *opts) {
  log_to_dir();
  char *c = config(opts);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  free(c);
  return pl;
}

/* init must fail; returns the log. */
static char *start_fails(const char *opts) {
  log_to_dir();
  char *c = config(opts), *errors = NULL;
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  if (pl) {
    ck_assert_msg(twi_pipeline_init(pl) != 0, "init succeeded for: %s", opts);
    th_free(pl);
  }
  free(c);
  char *log = read_log();
  if (errors) {
    char *both = th_fmt("%s\n%s", errors, log);
    free(log);
    free(errors);
    log = both;
  }
  twi_log_set_file(NULL);
  return log;
}

static void stop(twi_pipeline *pl) {
  th_free(pl);
  twi_log_set_file(NULL);
}

/* Gathers once, flushes; returns the gather errors. */
static int run(twi_pipeline *pl) {
  int errors = th_gather(pl);
  th_flush(pl);
  return errors;
}

/* What the record output wrote, timestamps cut off ("m,t=v f=1i"), one
 * line each. */
static char *written(void) {
  char *path = th_fmt("%s/out.lp", dir);
  char *text = th_read_file(path);
  free(path);
  if (!text)
    return strdup("");
  char *out = calloc(1, strlen(text) + 1), *o = out;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char *sp = strrchr(line, ' ');
    size_t n = sp ? (size_t)(sp - line) : strlen(line);
    memcpy(o, line, n);
    o += n;
    *o++ = '\n';
  }
  free(text);
  return out;
}

static void ck_written(const char *want) {
  char *got = written();
  ck_assert_msg(!strcmp(got, want), "written:\n%s\nwant:\n%s", got, want);
  free(got);
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

/* n items {"id": {"S": "<prefix><i>"}, "n": {"N": "<i>"}}. */
static char *items(const char *prefix, int n) {
  char *out = strdup("[");
  for (int i = 0; i < n; i++) {
    char *next = th_fmt("%s%s{\"id\":{\"S\":\"%s%d\"},\"n\":{\"N\":\"%d\"}}", out, i ? "," : "",
                        prefix, i, i);
    free(out);
    out = next;
  }
  char *done = th_fmt("%s]", out);
  free(out);
  return done;
}

static void add_table(dynamo *f, const char *name, const char *prefix, int n) {
  char *it = items(prefix, n);
  dynamo_table(f, name, it);
  free(it);
}

/* The Scan requests' bodies, in order ("\n"-separated). */
static char *scan_bodies(void) {
  char *out = strdup("");
  for (size_t i = 0; i < dynamo_count(fx); i++) {
    const dynamo_request *r = dynamo_request_at(fx, i);
    if (!r->table)
      continue;
    char *next = th_fmt("%s%s\n", out, r->body);
    free(out);
    out = next;
  }
  return out;
}

static const dynamo_request *first_scan(void) {
  for (size_t i = 0; i < dynamo_count(fx); i++)
    if (dynamo_request_at(fx, i)->table)
      return dynamo_request_at(fx, i);
  ck_abort_msg("no Scan request");
  return NULL;
}

static const dynamo_request *last_scan(void) {
  const dynamo_request *last = NULL;
  for (size_t i = 0; i < dynamo_count(fx); i++)
    if (dynamo_request_at(fx, i)->table)
      last = dynamo_request_at(fx, i);
  ck_assert_ptr_nonnull(last);
  return last;
}

static void ck_header(const dynamo_request *r, const char *name, const char *want) {
  char buf[2048];
  const char *got = dynamo_header(r, name, buf, sizeof buf);
  if (!want)
    ck_assert_msg(!got, "header %s should be absent, is \"%s\"", name, got);
  else
    ck_assert_msg(got && !strcmp(got, want), "header %s: want \"%s\", got \"%s\"\n%s", name, want,
                  got ? got : "(absent)", r->headers);
}

/* The Credential=<key>/ part of the Authorization header holds `key`. */
static void ck_signed_by(const dynamo_request *r, const char *key) {
  char buf[2048], want[256];
  const char *auth = dynamo_header(r, "Authorization", buf, sizeof buf);
  snprintf(want, sizeof want, "Credential=%s/", key);
  ck_assert_msg(auth && strstr(auth, want), "Authorization %s lacks %s", auth ? auth : "(none)",
                want);
}

/* ---- items into metrics --------------------------------------------------------------------- */

static const char *const default_tags[] = {"address_city", "id"};

static tower_metric *convert(const char *item_json, const ddb_convert *cv, char *err) {
  json_t *item = json_loads(item_json, 0, NULL);
  ck_assert_msg(item != NULL, "bad test item %s", item_json);
  ddb_scratch sc;
  ck_assert_int_eq(ddb_scratch_init(&sc), 0);
  tower_metric *m = NULL;
  char local[256];
  int rc = ddb_item_metric(cv, "tbl", item, 1000, &sc, &m, err ? err : local, 256);
  ddb_scratch_fini(&sc);
  json_decref(item);
  ck_assert_int_eq(rc == 0, m != NULL);
  return m;
}

static ptrdiff_t field(const tower_metric *m, const char *key) {
  ptrdiff_t i = tower_metric_field_index(m, key);
  ck_assert_msg(i >= 0, "no field %s", key);
  return i;
}

static void ck_str(const tower_metric *m, const char *key, const char *want) {
  ptrdiff_t i = field(m, key);
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_STRING);
  ck_assert_str_eq(tower_metric_field_string(m, (size_t)i), want);
}

static void ck_int(const tower_metric *m, const char *key, int64_t want) {
  ptrdiff_t i = field(m, key);
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_INT);
  ck_assert_int_eq(tower_metric_field_int(m, (size_t)i), want);
}

static void ck_float(const tower_metric *m, const char *key, double want) {
  ptrdiff_t i = field(m, key);
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_FLOAT);
  ck_assert_double_eq(tower_metric_field_float(m, (size_t)i), want);
}

static void ck_bool(const tower_metric *m, const char *key, bool want) {
  ptrdiff_t i = field(m, key);
  ck_assert_int_eq(tower_metric_field_type(m, (size_t)i), TOWER_FIELD_BOOL);
  ck_assert_int_eq(tower_metric_field_bool(m, (size_t)i), want);
}

START_TEST(item_every_type) {
  ddb_convert cv = {.tag_keys = default_tags, .ntag_keys = 2, .separator = "_"};
  tower_metric *m = convert(
      "{\"id\":{\"S\":\"dev-1\"},\"count\":{\"N\":\"42\"},\"neg\":{\"N\":\"-7\"},"
      "\"ratio\":{\"N\":\"0.25\"},\"big\":{\"N\":\"123456789012345678901234567890\"},"
      "\"max\":{\"N\":\"9223372036854775807\"},\"over\":{\"N\":\"9223372036854775808\"},"
      "\"min\":{\"N\":\"-9223372036854775808\"},\"sci\":{\"N\":\"1.5E+40\"},"
      "\"ok\":{\"BOOL\":true},\"off\":{\"BOOL\":false},\"gone\":{\"NULL\":true},"
      "\"bin\":{\"B\":\"AAEC\"},\"text\":{\"S\":\"say \\\"hi\\\"\\n\"},\"s_empty\":{\"S\":\"\"},"
      "\"address\":{\"M\":{\"city\":{\"S\":\"Seoul\"},\"geo\":{\"M\":{\"lat\":{\"N\":\"37.5\"}}},"
      "\"none\":{\"NULL\":true}}},\"empty\":{\"M\":{}},"
      "\"set\":{\"SS\":[\"a\",\"b\\\"q\"]},\"nums\":{\"NS\":[\"1\",\"2.5\",\"-3E+2\"]},"
      "\"bins\":{\"BS\":[\"AAE=\",\"Ag==\"]},"
      "\"list\":{\"L\":[{\"S\":\"x\"},{\"N\":\"3\"},{\"BOOL\":true},{\"NULL\":true},"
      "{\"M\":{\"k\":{\"S\":\"v\"}}},{\"L\":[]},{\"B\":\"AA==\"},{\"NS\":[\"7\"]}]}}",
      &cv, NULL);
  ck_assert_str_eq(tower_metric_name(m), "tbl");
  ck_assert_int_eq(tower_metric_time(m), 1000);
  ck_assert_int_eq(tower_metric_tag_count(m), 2);
  ck_assert_str_eq(tower_metric_tag(m, "id"), "dev-1");
  ck_assert_str_eq(tower_metric_tag(m, "address_city"), "Seoul");
  ck_int(m, "count", 42);
  ck_int(m, "neg", -7);
  ck_float(m, "ratio", 0.25);
  ck_float(m, "big", 123456789012345678901234567890.0);
  ck_int(m, "max", INT64_MAX);
  ck_float(m, "over", 9223372036854775808.0);
  ck_int(m, "min", INT64_MIN);
  ck_float(m, "sci", 1.5e40);
  ck_bool(m, "ok", true);
  ck_bool(m, "off", false);
  ck_assert_int_lt(tower_metric_field_index(m, "gone"), 0);
  ck_assert_int_lt(tower_metric_field_index(m, "address_none"), 0);
  ck_assert_int_lt(tower_metric_field_index(m, "empty"), 0);
  ck_str(m, "bin", "AAEC");
  ck_str(m, "text", "say \"hi\"\n");
  ck_str(m, "s_empty", "");
  ck_float(m, "address_geo_lat", 37.5);
  ck_str(m, "set", "[\"a\",\"b\\\"q\"]");
  ck_str(m, "nums", "[1,2.5,-3E+2]");
  ck_str(m, "bins", "[\"AAE=\",\"Ag==\"]");
  ck_str(m, "list", "[\"x\",3,true,null,{\"k\":\"v\"},[],\"AA==\",[7]]");
  ck_assert_int_eq(tower_metric_field_count(m), 18);
  tower_metric_free(m);
}
END_TEST

START_TEST(item_tags_and_separator) {
  static const char *const tags[] = {"flag", "loc.zone", "n", "nothing", "set"};
  ddb_convert cv = {.tag_keys = tags, .ntag_keys = 5, .separator = "."};
  tower_metric *m = convert("{\"n\":{\"N\":\"5\"},\"flag\":{\"BOOL\":false},"
                            "\"loc\":{\"M\":{\"zone\":{\"S\":\"z1\"},\"x\":{\"M\":{\"y\":{\"S\":"
                            "\"deep\"}}}}},\"nothing\":{\"S\":\"\"},\"set\":{\"SS\":[\"b\"]},"
                            "\"v\":{\"N\":\"1\"}}",
                            &cv, NULL);
  ck_assert_str_eq(tower_metric_tag(m, "n"), "5");
  ck_assert_str_eq(tower_metric_tag(m, "flag"), "false");
  ck_assert_str_eq(tower_metric_tag(m, "loc.zone"), "z1");
  ck_assert_str_eq(tower_metric_tag(m, "set"), "[\"b\"]");
  ck_assert_ptr_null(tower_metric_tag(m, "nothing")); /* empty: no tag */
  ck_str(m, "loc.x.y", "deep");
  ck_int(m, "v", 1);
  ck_assert_int_eq(tower_metric_field_count(m), 2);
  tower_metric_free(m);
}
END_TEST

/* Deeper than DDB_MAX_DEPTH: the rest of the map is one JSON field. */
START_TEST(item_deep_map) {
  ddb_convert cv = {.separator = "_"};
  char *json = strdup("{\"S\":\"bottom\"}");
  for (int i = 0; i < DDB_MAX_DEPTH + 2; i++) {
    char *next = th_fmt("{\"M\":{\"k\":%s}}", json);
    free(json);
    json = next;
  }
  char *item = th_fmt("{\"a\":%s}", json);
  tower_metric *m = convert(item, &cv, NULL);
  ck_assert_int_eq(tower_metric_field_count(m), 1);
  const char *key = tower_metric_field_key(m, 0);
  ck_assert_uint_eq(strlen(key), 1 + 2 * DDB_MAX_DEPTH); /* a_k_k... */
  ck_str(m, key, "{\"k\":{\"k\":\"bottom\"}}");
  tower_metric_free(m);
  free(item);
  free(json);
}
END_TEST

typedef struct time_case {
  const char *format, *item;
  int64_t want; /* -1: the item is refused */
  const char *err;
} time_case;

static const time_case time_cases[] = {
    {"unix", "{\"ts\":{\"N\":\"1700000000\"}}", 1700000000000000000LL, NULL},
    {"unix", "{\"ts\":{\"N\":\"1700000000.25\"}}", 1700000000250000000LL, NULL},
    {"unix", "{\"ts\":{\"S\":\"1700000000\"}}", 1700000000000000000LL, NULL},
    {"unix_ms", "{\"ts\":{\"N\":\"1700000000123\"}}", 1700000000123000000LL, NULL},
    {"unix_us", "{\"ts\":{\"N\":\"1700000000123456\"}}", 1700000000123456000LL, NULL},
    {"unix_ns", "{\"ts\":{\"N\":\"1700000000123456789\"}}", 1700000000123456789LL, NULL},
    {"rfc3339", "{\"ts\":{\"S\":\"2023-11-14T22:13:20Z\"}}", 1700000000000000000LL, NULL},
    {"rfc3339", "{\"ts\":{\"S\":\"2023-11-15T07:13:20+09:00\"}}", 1700000000000000000LL, NULL},
    {"rfc3339nano", "{\"ts\":{\"S\":\"2023-11-14T22:13:20.123456789Z\"}}", 1700000000123456789LL,
     NULL},
    {"unix", "{\"meta\":{\"M\":{\"ts\":{\"N\":\"1700000000\"}}}}", -1, "no attribute ts"},
    {"unix", "{\"ts\":{\"S\":\"yesterday\"}}", -1, "ts = \"yesterday\" is not a unix timestamp"},
    {"rfc3339", "{\"ts\":{\"N\":\"1700000000\"}}", -1, "is not a rfc3339 timestamp"},
    {"unix", "{\"ts\":{\"BOOL\":true}}", -1, "of type BOOL"},
    {"unix", "{\"v\":{\"N\":\"1\"}}", -1, "no attribute ts"},
};

START_TEST(item_timestamp) {
  const time_case *c = &time_cases[_i];
  ddb_convert cv = {.timestamp_key = "ts", .timestamp_format = c->format, .separator = "_"};
  char *item = th_fmt("{\"v\":{\"N\":\"1\"},%s", c->item + 1);
  if (!strncmp(c->item, "{\"v\"", 4))
    snprintf(item, strlen(item) + 1, "%s", c->item);
  char err[256] = "";
  tower_metric *m = convert(item, &cv, err);
  if (c->want < 0) {
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err, c->err), "case %d: error \"%s\" lacks \"%s\"", _i, err, c->err);
  } else {
    ck_assert_msg(m != NULL, "case %d: %s", _i, err);
    ck_assert_int_eq(tower_metric_time(m), c->want);
    ck_assert_int_lt(tower_metric_field_index(m, "ts"), 0); /* not a field too */
    ck_int(m, "v", 1);
  }
  tower_metric_free(m);
  free(item);
}
END_TEST

START_TEST(item_refused) {
  ddb_convert cv = {.tag_keys = default_tags + 1, .ntag_keys = 1, .separator = "_"};
  char err[256];
  ck_assert_ptr_null(convert("{\"id\":{\"S\":\"x\"},\"z\":{\"NULL\":true}}", &cv, err));
  ck_assert_msg(strstr(err, "no fields"), "%s", err);
  ck_assert_ptr_null(convert("{\"v\":{\"S\":\"x\",\"N\":\"1\"}}", &cv, err));
  ck_assert_msg(strstr(err, "attribute v is not a DynamoDB AttributeValue"), "%s", err);
  ck_assert_ptr_null(convert("{\"v\":{\"BOOL\":\"yes\"}}", &cv, err));
  ck_assert_msg(strstr(err, "attribute v is not a valid BOOL value"), "%s", err);
  ck_assert_ptr_null(convert("[1]", &cv, err));
}
END_TEST

/* ---- responses ---------------------------------------------------------------------------- */

typedef struct class_case {
  long status;
  const char *body;
  aws_kind kind;
  const char *type, *message;
} class_case;

static const class_case class_cases[] = {
    {200, "{\"Items\":[]}", AWS_OK, "", ""},
    {400,
     "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException\","
     "\"message\":\"The level of configured provisioned throughput for the table was exceeded.\"}",
     AWS_RETRY, "ProvisionedThroughputExceededException",
     "The level of configured provisioned throughput for the table was exceeded."},
    {400,
     "{\"__type\":\"com.amazon.coral.availability#ThrottlingException\",\"message\":\"Rate of "
     "requests exceeds the allowed throughput.\"}",
     AWS_RETRY, "ThrottlingException", "Rate of requests exceeds the allowed throughput."},
    {400,
     "{\"__type\":\"com.amazonaws.dynamodb.v20120810#RequestLimitExceeded\",\"message\":\"x\"}",
     AWS_RETRY, "RequestLimitExceeded", "x"},
    {500,
     "{\"__type\":\"com.amazonaws.dynamodb.v20120810#InternalServerError\",\"message\":\"The "
     "server encountered an internal error trying to fulfill the request\"}",
     AWS_RETRY, "InternalServerError", NULL},
    {503, "<html>Service Unavailable</html>\n", AWS_RETRY, "", "<html>Service Unavailable</html>"},
    {400,
     "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\",\"message\":"
     "\"Requested resource not found\"}",
     AWS_NOT_FOUND, "ResourceNotFoundException", "Requested resource not found"},
    {400,
     "{\"__type\":\"com.amazon.coral.service#UnrecognizedClientException\",\"message\":\"The "
     "security token included in the request is invalid.\"}",
     AWS_AUTH, "UnrecognizedClientException",
     "The security token included in the request is invalid."},
    {400,
     "{\"__type\":\"com.amazon.coral.service#InvalidSignatureException\",\"message\":\"The "
     "request signature we calculated does not match the signature you provided.\"}",
     AWS_AUTH, "InvalidSignatureException", NULL},
    {400,
     "{\"__type\":\"com.amazon.coral.service#ExpiredTokenException\",\"Message\":\"The "
     "security token included in the request is expired\"}",
     AWS_AUTH, "ExpiredTokenException", "The security token included in the request is expired"},
    {400, "{\"__type\":\"com.amazon.coral.service#MissingAuthenticationTokenException\"}", AWS_AUTH,
     "MissingAuthenticationTokenException", ""},
    {400,
     "{\"__type\":\"com.amazon.coral.service#AccessDeniedException\",\"Message\":\"User: x is "
     "not authorized to perform: dynamodb:Scan\"}",
     AWS_FATAL, "AccessDeniedException", NULL},
    {400,
     "{\"__type\":\"com.amazon.coral.validate#ValidationException\",\"message\":\"Invalid "
     "FilterExpression\"}",
     AWS_FATAL, "ValidationException", "Invalid FilterExpression"},
    {404, "", AWS_FATAL, "", ""},
};

START_TEST(classify) {
  const class_case *c = &class_cases[_i];
  aws_result r;
  aws_classify(c->status, CURLE_OK, NULL, c->body, strlen(c->body), &r);
  ck_assert_int_eq(r.kind, c->kind);
  ck_assert_int_eq(r.status, c->status);
  ck_assert_str_eq(r.type, c->type);
  if (c->message)
    ck_assert_str_eq(r.message, c->message);
}
END_TEST

START_TEST(classify_transport) {
  aws_result r;
  aws_classify(0, CURLE_COULDNT_CONNECT, "Failed to connect to 127.0.0.1 port 1", "", 0, &r);
  ck_assert_int_eq(r.kind, AWS_RETRY);
  ck_assert_str_eq(r.message, "Failed to connect to 127.0.0.1 port 1");
  aws_classify(0, CURLE_PEER_FAILED_VERIFICATION, "", "", 0, &r);
  ck_assert_int_eq(r.kind, AWS_FATAL);
  ck_assert_str_ne(r.message, "");
}
END_TEST

START_TEST(backoff) {
  int64_t base = 50 * NS_PER_MS, cap = 5 * NS_PER_S;
  for (unsigned a = 0; a < 20; a++) {
    int64_t ceil = a < 7 ? base << a : cap;
    if (ceil > cap)
      ceil = cap;
    ck_assert_int_eq(aws_backoff(base, cap, a, 0), 0);
    ck_assert_int_eq(aws_backoff(base, cap, a, (uint64_t)ceil), ceil);
    for (uint64_t r = 1; r < 1000000; r = r * 7 + 13)
      ck_assert_int_le(aws_backoff(base, cap, a, r * 0x9e3779b97f4a7c15ULL), ceil);
  }
}
END_TEST

/* ---- the shared credentials file ----------------------------------------------------------- */

static const char credentials_file[] = "# comment\n"
                                       "[default]\n"
                                       "aws_access_key_id = AKIDDEFAULT\n"
                                       "aws_secret_access_key=default/secret+key\n"
                                       "\n"
                                       "  [ prod ]  \n"
                                       "; another comment\n"
                                       "AWS_ACCESS_KEY_ID = AKIDPROD\r\n"
                                       "aws_secret_access_key = prod-secret\r\n"
                                       "aws_session_token = prod-token==\n"
                                       "[old]\n"
                                       "aws_access_key_id=AKIDOLD\n"
                                       "aws_secret_access_key=old\n"
                                       "aws_security_token=old-token\n"
                                       "[half]\n"
                                       "aws_access_key_id=AKIDHALF\n"
                                       "[role]\n"
                                       "role_arn = arn:aws:iam::123456789012:role/r\n"
                                       "source_profile = default\n";

START_TEST(profile_file) {
  char *path = th_fmt("%s/credentials", dir), err[512];
  ck_assert_int_eq(th_write_file(path, credentials_file), 0);
  aws_creds c = {0};
  ck_assert_int_eq(aws_profile_read(path, "default", &c, err, sizeof err), 0);
  ck_assert_str_eq(c.access_key, "AKIDDEFAULT");
  ck_assert_str_eq(c.secret_key, "default/secret+key");
  ck_assert_ptr_null(c.token);
  ck_assert_int_eq(aws_profile_read(path, "prod", &c, err, sizeof err), 0);
  ck_assert_str_eq(c.access_key, "AKIDPROD");
  ck_assert_str_eq(c.secret_key, "prod-secret");
  ck_assert_str_eq(c.token, "prod-token==");
  ck_assert_int_eq(aws_profile_read(path, "old", &c, err, sizeof err), 0);
  ck_assert_str_eq(c.token, "old-token");
  ck_assert_int_eq(aws_profile_read(path, "half", &c, err, sizeof err), -ESRCH);
  ck_assert_msg(strstr(err, "profile [half]") && strstr(err, "has no aws_secret_access_key"), "%s",
                err);
  ck_assert_int_eq(aws_profile_read(path, "role", &c, err, sizeof err), -ESRCH);
  ck_assert_msg(strstr(err, "uses role_arn"), "%s", err);
  ck_assert_int_eq(aws_profile_read(path, "nope", &c, err, sizeof err), -ESRCH);
  ck_assert_msg(strstr(err, "profile [nope] is not in"), "%s", err);
  char *missing = th_fmt("%s/none", dir);
  ck_assert_int_eq(aws_profile_read(missing, "default", &c, err, sizeof err), -ENOENT);
  aws_creds_clear(&c);
  free(missing);
  free(path);
}
END_TEST

/* ---- scanning through the core --------------------------------------------------------------- */

START_TEST(scan_pages) {
  add_table(fx, "orders", "o", 7);
  twi_pipeline *pl = start(KEYS "tables = [\"orders\"]; page_size = 3; tag_keys = [\"id\"];");
  ck_assert_int_eq(run(pl), 0);
  ck_written("orders,id=o0 n=0i\norders,id=o1 n=1i\norders,id=o2 n=2i\norders,id=o3 n=3i\n"
             "orders,id=o4 n=4i\norders,id=o5 n=5i\norders,id=o6 n=6i\n");
  char *bodies = scan_bodies();
  ck_assert_str_eq(bodies,
                   "{\"TableName\":\"orders\",\"Limit\":3}\n"
                   "{\"TableName\":\"orders\",\"Limit\":3,\"ExclusiveStartKey\":{\"fixture_pos\":{"
                   "\"N\":\"3\"}}}\n"
                   "{\"TableName\":\"orders\",\"Limit\":3,\"ExclusiveStartKey\":{\"fixture_pos\":{"
                   "\"N\":\"6\"}}}\n");
  free(bodies);
  const dynamo_request *r = first_scan();
  ck_assert_str_eq(r->method, "POST");
  ck_assert_str_eq(r->path, "/");
  ck_header(r, "Content-Type", "application/x-amz-json-1.0");
  ck_header(r, "X-Amz-Target", "DynamoDB_20120810.Scan");
  ck_header(r, "X-Amz-Security-Token", NULL);
  char buf[1024];
  const char *auth = dynamo_header(r, "Authorization", buf, sizeof buf);
  ck_assert_ptr_nonnull(auth);
  ck_assert_msg(strstr(auth, "/us-east-1/dynamodb/aws4_request"), "%s", auth);
  ck_assert_msg(strstr(auth, "SignedHeaders=content-type;host;x-amz-date;x-amz-target,"), "%s",
                auth);
  /* Every item of one gather has the gather's time. */
  char *path = th_fmt("%s/out.lp", dir), *lp = th_read_file(path);
  const char *t = strrchr(strtok(lp, "\n"), ' ');
  for (char *line = strtok(NULL, "\n"); line; line = strtok(NULL, "\n"))
    ck_assert_str_eq(strrchr(line, ' '), t);
  free(lp);
  free(path);
  stop(pl);
}
END_TEST

START_TEST(scan_request_options) {
  add_table(fx, "orders", "o", 2);
  twi_pipeline *pl = start(
      KEYS "tables = [\"orders\"]; region = \"eu-west-1\"; consistent_read = true;"
           "projection_expression = \"id, #s, n\";"
           "filter_expression = \"#s = :st AND n >= :min AND ok = :yes AND r < :ratio AND "
           "contains(:ids, n) AND k = :raw\";"
           "expression_attribute_values = { st = \"active\"; min = 5; yes = true; ratio = 0.5; "
           "ids = \"{\\\"NS\\\": [\\\"1\\\", \\\"2\\\"]}\"; raw = \"{\\\"S\\\": \\\"{x}\\\"}\"; };"
           "expression_attribute_names = { s = \"status\"; };");
  ck_assert_int_eq(run(pl), 0);
  json_t *got = json_loads(first_scan()->body, 0, NULL);
  json_t *want = json_loads(
      "{\"TableName\":\"orders\",\"Limit\":1000,\"ConsistentRead\":true,\"ProjectionExpression\":"
      "\"id, #s, n\","
      "\"FilterExpression\":\"#s = :st AND n >= :min AND ok = :yes AND r < :ratio AND "
      "contains(:ids, n) AND k = :raw\","
      "\"ExpressionAttributeValues\":{\":st\":{\"S\":\"active\"},\":min\":{\"N\":\"5\"},"
      "\":yes\":{\"BOOL\":true},\":ratio\":{\"N\":\"0.5\"},\":ids\":{\"NS\":[\"1\",\"2\"]},"
      "\":raw\":{\"S\":\"{x}\"}},"
      "\"ExpressionAttributeNames\":{\"#s\":\"status\"}}",
      0, NULL);
  ck_assert_ptr_nonnull(got);
  ck_assert_ptr_nonnull(want);
  ck_assert_msg(json_equal(got, want), "request %s", first_scan()->body);
  ck_assert_msg(strstr(dynamo_header(first_scan(), "Authorization", (char[512]){0}, 512),
                       "/eu-west-1/dynamodb/aws4_request"),
                "region not in the credential scope");
  json_decref(got);
  json_decref(want);
  stop(pl);
}
END_TEST

typedef struct bad_option {
  const char *opts, *message;
} bad_option;

static const bad_option bad_options[] = {
    {"tables = [\"ab\"];", "tables[0] = \"ab\" is not a DynamoDB table name"},
    {"tables = [\"t_1\", \"t_1\"];", "table \"t_1\" is listed twice"},
    {"tables = [\"t_1\"]; filter_expression = \"a = :x\"; expression_attribute_values = { y = 1; "
     "};",
     "filter_expression does not use :y"},
    {"tables = [\"t_1\"]; filter_expression = \"a = :x\"; expression_attribute_values = { x = "
     "\"{\\\"Q\\\": 1}\"; };",
     "is not a DynamoDB AttributeValue"},
    {"tables = [\"t_1\"]; filter_expression = \"a = :x\"; expression_attribute_values = { x = "
     "\"{\\\"S\\\": \"; };",
     "is not valid JSON"},
    {"tables = [\"t_1\"]; filter_expression = \"a = :x\"; expression_attribute_values = { x = "
     "[1, 2]; };",
     "write lists, sets and maps as DynamoDB JSON"},
    {"tables = [\"t_1\"]; expression_attribute_names = { n = \"name\"; };",
     "neither filter_expression nor projection_expression uses it"},
    {"tables = [\"t_1\"]; region = \"eu west\";", "is not an AWS region name"},
    {"tables = [\"t_1\"]; access_key_id = \"AKID\";", "access_key_id and secret_access_key go "
                                                      "together"},
};

START_TEST(bad_options_fail) {
  const bad_option *b = &bad_options[_i];
  char *opts = th_fmt(KEYS "%s", b->opts);
  if (strstr(b->opts, "access_key_id")) {
    free(opts);
    opts = strdup(b->opts);
  }
  char *log = start_fails(opts);
  ck_assert_msg(strstr(log, b->message), "case %d: log lacks \"%s\":\n%s", _i, b->message, log);
  free(log);
  free(opts);
}
END_TEST

START_TEST(no_region_without_endpoint) {
  log_to_dir();
  char *c = th_fmt("inputs = ( { plugin = \"dynamodb\"; tables = [\"t_1\"]; " KEYS " } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                   dir);
  twi_pipeline *pl = th_build(c, TWI_ONCE, NULL);
  ck_assert_ptr_nonnull(pl);
  ck_assert_int_ne(twi_pipeline_init(pl), 0);
  th_free(pl);
  ck_log_has("no region: set region");
  /* AWS_REGION is enough, and gives the default endpoint. */
  setenv("AWS_REGION", "ap-northeast-2", 1);
  free(c);
  c = th_fmt("inputs = ( { plugin = \"dynamodb\"; log_level = \"debug\"; tables = [\"t_1\"]; " KEYS
             " } );\n"
             "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
             dir);
  pl = th_start(c, TWI_ONCE);
  ck_log_has("at https://dynamodb.ap-northeast-2.amazonaws.com (region ap-northeast-2");
  th_free(pl);
  twi_log_set_file(NULL);
  free(c);
}
END_TEST

START_TEST(scan_segments) {
  add_table(fx, "events", "e", 10);
  twi_pipeline *pl = start(KEYS "tables = [\"events\"]; segments = 3; page_size = 2;");
  ck_assert_int_eq(run(pl), 0);
  char *got = written();
  ck_assert_uint_eq(count_lines(got), 10);
  for (int i = 0; i < 10; i++) {
    char *line = th_fmt("events id=\"e%d\",n=%di\n", i, i);
    ck_assert_msg(strstr(got, line), "missing %s in\n%s", line, got);
    free(line);
  }
  free(got);
  /* Segment k holds items k, k+3, k+6 (k+9): 2 pages each. */
  ck_assert_uint_eq(dynamo_scans(fx, "events"), 6);
  bool seen[3] = {false};
  for (size_t i = 0; i < dynamo_count(fx); i++) {
    json_t *b = json_loads(dynamo_request_at(fx, i)->body, 0, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(b, "TotalSegments")), 3);
    seen[json_integer_value(json_object_get(b, "Segment"))] = true;
    json_decref(b);
  }
  ck_assert(seen[0] && seen[1] && seen[2]);
  stop(pl);
}
END_TEST

START_TEST(scan_max_items) {
  add_table(fx, "big", "b", 10);
  twi_pipeline *pl = start(KEYS "tables = [\"big\"]; max_items = 4; page_size = 3;");
  ck_assert_int_eq(run(pl), 0);
  ck_written("big id=\"b0\",n=0i\nbig id=\"b1\",n=1i\nbig id=\"b2\",n=2i\nbig id=\"b3\",n=3i\n");
  /* The second page asks only for what max_items still allows. */
  char *bodies = scan_bodies();
  ck_assert_msg(strstr(bodies, "\"Limit\":1,"), "%s", bodies);
  free(bodies);
  ck_log_has("table big: stopped at max_items = 4 items; the rest of the table was not read");
  stop(pl);
}
END_TEST

START_TEST(timestamp_key_and_skips) {
  dynamo_table(
      fx, "tsd",
      "[{\"id\":{\"S\":\"a\"},\"at\":{\"S\":\"2023-11-14T22:13:20Z\"},\"v\":{\"N\":\"1\"}},"
      "{\"id\":{\"S\":\"b\"},\"v\":{\"N\":\"2\"}},"
      "{\"id\":{\"S\":\"c\"},\"at\":{\"S\":\"2023-11-14T22:13:21Z\"}}]");
  twi_pipeline *pl = start(KEYS "tables = [\"tsd\"]; tag_keys = [\"id\"]; timestamp_key = \"at\";"
                                "timestamp_format = \"rfc3339\";");
  ck_assert_int_eq(run(pl), 0);
  char *path = th_fmt("%s/out.lp", dir), *lp = th_read_file(path);
  ck_assert_str_eq(lp, "tsd,id=a v=1i 1700000000000000000\n");
  ck_log_has("table tsd: 2 items skipped, the first because: no attribute at for the timestamp");
  free(lp);
  free(path);
  stop(pl);
}
END_TEST

/* ---- failures ----------------------------------------------------------------------------- */

START_TEST(throttled_then_ok) {
  add_table(fx, "busy", "x", 3);
  dynamo_script(fx, "busy", 0, 3, 400, "ThrottlingException",
                "Rate of requests exceeds the allowed throughput.");
  twi_pipeline *pl = start(KEYS "tables = [\"busy\"]; log_level = \"debug\";");
  ck_assert_int_eq(run(pl), 0);
  ck_written("busy id=\"x0\",n=0i\nbusy id=\"x1\",n=1i\nbusy id=\"x2\",n=2i\n");
  ck_assert_uint_eq(dynamo_scans(fx, "busy"), 4);
  ck_log_has("table busy segment 0: ThrottlingException: Rate of requests exceeds the allowed "
             "throughput. (HTTP 400); retry 3 in");
  ck_log_has("table busy: 3 items in 1 page, 3 retries");
  stop(pl);
}
END_TEST

START_TEST(throttled_gives_up) {
  add_table(fx, "busy", "x", 3);
  add_table(fx, "calm", "c", 1);
  dynamo_script(fx, "busy", 0, 50, 400, "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded.");
  twi_pipeline *pl = start(KEYS "tables = [\"busy\", \"calm\"]; max_retries = 2;");
  ck_assert_int_eq(run(pl), 1);
  ck_written("calm id=\"c0\",n=0i\n");
  ck_assert_uint_eq(dynamo_scans(fx, "busy"), 3);
  ck_log_has("scan of table busy failed after 0 pages: ProvisionedThroughputExceededException: "
             "The level of configured provisioned throughput for the table was exceeded. (HTTP "
             "400), still failing after 3 attempts (max_retries); nothing emitted for busy this "
             "gather");
  stop(pl);
}
END_TEST

/* Two pages arrive, the third keeps failing: the table's first items are
 * not emitted. The next gather, with the server healthy, emits them all. */
START_TEST(failure_half_way) {
  add_table(fx, "half", "h", 7);
  add_table(fx, "whole", "w", 2);
  dynamo_script(fx, "half", 2, 10, 500, "InternalServerError", "boom");
  twi_pipeline *pl = start(KEYS "tables = [\"half\", \"whole\"]; page_size = 3; max_retries = 1;");
  ck_assert_int_eq(run(pl), 1);
  ck_written("whole id=\"w0\",n=0i\nwhole id=\"w1\",n=1i\n");
  ck_log_has("scan of table half failed after 2 pages: InternalServerError: boom (HTTP 500), "
             "still failing after 2 attempts (max_retries); nothing emitted for half this "
             "gather");
  dynamo_script(fx, "half", 0, 0, 500, NULL, NULL);
  ck_assert_int_eq(run(pl), 0);
  char *got = written();
  ck_assert_uint_eq(count_lines(got), 2 + 7 + 2);
  free(got);
  stop(pl);
}
END_TEST

START_TEST(table_not_found) {
  add_table(fx, "present", "p", 1);
  twi_pipeline *pl =
      start(KEYS "tables = [\"missing_table\", \"present\"]; region = \"eu-west-3\";");
  ck_assert_int_eq(run(pl), 1);
  ck_written("present id=\"p0\",n=0i\n");
  ck_log_has("scan of table missing_table failed after 0 pages: ResourceNotFoundException: "
             "Requested resource not found (HTTP 400): there is no table missing_table in region "
             "eu-west-3 at http://127.0.0.1:");
  stop(pl);
}
END_TEST

/* Refused credentials: one error, and the other tables are not tried. */
START_TEST(credentials_refused) {
  add_table(fx, "first", "f", 1);
  add_table(fx, "second", "s", 1);
  dynamo_script(fx, "first", 0, 5, 400, "UnrecognizedClientException",
                "The security token included in the request is invalid.");
  twi_pipeline *pl = start(KEYS "tables = [\"first\", \"second\"];");
  ck_assert_int_eq(run(pl), 1);
  ck_written("");
  ck_assert_uint_eq(dynamo_scans(fx, "first"), 1);
  ck_assert_uint_eq(dynamo_scans(fx, "second"), 0);
  ck_log_has("DynamoDB at http://127.0.0.1:");
  ck_log_has("refused the credentials from the configuration (access_key_id) (access key "
             "****************MPLE): UnrecognizedClientException: The security token included in "
             "the request is invalid. (HTTP 400); check the access key id, the secret access key");
  ck_log_has("nothing emitted this gather for first, second");
  ck_log_lacks("not-a-real-secret");
  stop(pl);
}
END_TEST

START_TEST(time_budget) {
  add_table(fx, "slow", "s", 1);
  dynamo_script(fx, "slow", 0, 1000, 400, "ThrottlingException", "slow down");
  twi_pipeline *pl = start(KEYS "tables = [\"slow\"]; max_retries = 100; timeout = \"700ms\";");
  ck_assert_int_eq(run(pl), 1);
  ck_written("");
  ck_log_has("scan of table slow failed after 0 pages");
  char *log = read_log();
  ck_assert_msg(strstr(log, "another would outlast the gather's time budget") ||
                    strstr(log, "the gather's time budget of 0.7s ran out (timeout"),
                "%s", log);
  free(log);
  stop(pl);
}
END_TEST

START_TEST(unreachable) {
  /* The fixture's port after it stopped: nobody listens. */
  char *opts = th_fmt(KEYS "tables = [\"t_1\"]; max_retries = 1;");
  add_table(fx, "t_1", "t", 1);
  twi_pipeline *pl = start(opts);
  dynamo_stop(fx);
  fx = dynamo_start();
  ck_assert_int_eq(run(pl), 1);
  ck_log_has("scan of table t_1 failed after 0 pages: cannot reach http://127.0.0.1:");
  ck_log_has("still failing after 2 attempts");
  stop(pl);
  free(opts);
}
END_TEST

/* ---- credentials --------------------------------------------------------------------------- */

START_TEST(creds_config_with_token) {
  add_table(fx, "t_1", "t", 1);
  twi_pipeline *pl = start(KEYS "session_token = \"config-token\"; tables = [\"t_1\"];");
  ck_assert_int_eq(run(pl), 0);
  ck_signed_by(first_scan(), "AKIDEXAMPLE");
  ck_header(first_scan(), "X-Amz-Security-Token", "config-token");
  ck_log_has("AWS credentials: the configuration (access_key_id), access key "
             "****************MPLE, with a session token");
  ck_log_lacks("not-a-real-secret");
  ck_log_lacks("config-token");
  stop(pl);
}
END_TEST

START_TEST(creds_env) {
  add_table(fx, "t_1", "t", 1);
  setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
  setenv("AWS_SESSION_TOKEN", "env-token", 1);
  twi_pipeline *pl = start("tables = [\"t_1\"];");
  ck_assert_int_eq(run(pl), 0);
  ck_signed_by(first_scan(), "AKIDFROMENV");
  ck_header(first_scan(), "X-Amz-Security-Token", "env-token");
  ck_log_has("AWS credentials: the environment (AWS_ACCESS_KEY_ID), access key "
             "****************MENV");
  ck_log_lacks("env-secret");
  stop(pl);
}
END_TEST

/* config > profile option > environment > shared file (AWS_PROFILE). */
START_TEST(creds_precedence) {
  add_table(fx, "t_1", "t", 1);
  char *path = th_fmt("%s/credentials", dir);
  ck_assert_int_eq(th_write_file(path, credentials_file), 0);
  setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
  twi_pipeline *pl = start("tables = [\"t_1\"];");
  ck_assert_int_eq(run(pl), 0);
  ck_signed_by(last_scan(), "AKIDDEFAULT");
  ck_log_has(", profile [default], access key");
  stop(pl);

  setenv("AWS_PROFILE", "prod", 1);
  pl = start("tables = [\"t_1\"];");
  ck_assert_int_eq(run(pl), 0);
  ck_signed_by(last_scan(), "AKIDPROD");
  ck_header(last_scan(), "X-Amz-Security-Token", "prod-token==");
  stop(pl);

  setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
  pl = start("tables = [\"t_1\"];");
  ck_assert_int_eq(run(pl), 0);
  ck_signed_by(last_scan(), "AKIDFROMENV");
  ck_header(last_scan(), "X-Amz-Security-Token", NULL);
  stop(pl);

  char *opts =
      th_fmt("tables = [\"t_1\"]; profile = \"old\"; shared_credentials_file = \"%s\";", path);
  pl = start(opts);
  ck_assert_int_eq(run(pl), 0);
  ck_signed_by(last_scan(), "AKIDOLD");
  stop(pl);

  pl = start(KEYS "tables = [\"t_1\"]; profile = \"old\";");
  ck_assert_int_eq(run(pl), 0);
  ck_signed_by(last_scan(), "AKIDEXAMPLE");
  stop(pl);
  free(opts);
  free(path);
}
END_TEST

START_TEST(creds_profile_missing) {
  char *path = th_fmt("%s/credentials", dir);
  ck_assert_int_eq(th_write_file(path, credentials_file), 0);
  char *opts = th_fmt("tables = [\"t_1\"]; profile = \"staging\"; shared_credentials_file = "
                      "\"%s\";",
                      path);
  char *log = start_fails(opts);
  ck_assert_msg(strstr(log, "profile [staging] is not in") && strstr(log, "credentials"), "%s",
                log);
  free(log);
  setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
  setenv("AWS_PROFILE", "half", 1);
  log = start_fails("tables = [\"t_1\"];");
  ck_assert_msg(strstr(log, "profile [half]") && strstr(log, "has no aws_secret_access_key"), "%s",
                log);
  free(log);
  free(opts);
  free(path);
}
END_TEST

START_TEST(creds_none) {
  char *log = start_fails("tables = [\"t_1\"];");
  ck_assert_msg(strstr(log, "no AWS credentials: none in the configuration") &&
                    strstr(log, "disabled by AWS_EC2_METADATA_DISABLED"),
                "%s", log);
  free(log);
  unsetenv("AWS_EC2_METADATA_DISABLED");
  log = start_fails("tables = [\"t_1\"]; imds = false;");
  ck_assert_msg(strstr(log, "off (imds = false)"), "%s", log);
  free(log);
  setenv("AWS_ACCESS_KEY_ID", "AKIDHALF", 1);
  log = start_fails("tables = [\"t_1\"];");
  ck_assert_msg(strstr(log, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"), "%s",
                log);
  free(log);
}
END_TEST

static void use_imds(void) {
  char *ep = th_fmt("http://127.0.0.1:%u", dynamo_port(fx));
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ep, 1);
  unsetenv("AWS_EC2_METADATA_DISABLED");
  free(ep);
}

/* IMDSv2: token PUT with its TTL header, role listing, credential document;
 * long-lived credentials are fetched once. */
START_TEST(creds_imds) {
  add_table(fx, "t_1", "t", 1);
  dynamo_imds(fx, "tower-reader", 6 * 3600);
  use_imds();
  twi_pipeline *pl = start("tables = [\"t_1\"];");
  ck_log_has("AWS credentials: the EC2 instance profile (IMDSv2 at http://127.0.0.1:");
  ck_assert_int_eq(run(pl), 0);
  ck_assert_int_eq(run(pl), 0);
  ck_assert_uint_eq(dynamo_token_puts(fx), 1);
  ck_assert_uint_eq(dynamo_cred_fetches(fx), 1);
  ck_signed_by(first_scan(), "ASIAFIXTURE0001");
  ck_header(first_scan(), "X-Amz-Security-Token", "fixture-session-1");
  ck_signed_by(last_scan(), "ASIAFIXTURE0001");
  const dynamo_request *put = dynamo_request_at(fx, 0);
  ck_assert_str_eq(put->method, "PUT");
  ck_assert_str_eq(put->path, "/latest/api/token");
  ck_header(put, "X-aws-ec2-metadata-token-ttl-seconds", "21600");
  const dynamo_request *list = dynamo_request_at(fx, 1);
  ck_assert_str_eq(list->path, "/latest/meta-data/iam/security-credentials/");
  ck_header(list, "X-aws-ec2-metadata-token", "fixture-imds-token-1");
  ck_assert_str_eq(dynamo_request_at(fx, 2)->path,
                   "/latest/meta-data/iam/security-credentials/tower-reader");
  ck_log_has("instance profile credentials of role tower-reader fetched (access key "
             "****************0001); they expire at ");
  ck_log_lacks("fixture-secret-1");
  stop(pl);
}
END_TEST

/* Credentials expiring within 5 minutes are fetched again before use. */
START_TEST(creds_imds_refresh) {
  add_table(fx, "t_1", "t", 1);
  dynamo_imds(fx, "tower-reader", 120);
  use_imds();
  twi_pipeline *pl = start("tables = [\"t_1\"];");
  ck_assert_int_eq(run(pl), 0);
  ck_signed_by(last_scan(), "ASIAFIXTURE0001");
  ck_assert_int_eq(run(pl), 0);
  ck_assert_uint_eq(dynamo_cred_fetches(fx), 2);
  ck_assert_uint_eq(dynamo_token_puts(fx), 1); /* the session token is still good */
  ck_signed_by(last_scan(), "ASIAFIXTURE0002");
  ck_header(last_scan(), "X-Amz-Security-Token", "fixture-session-2");
  stop(pl);
}
END_TEST

/* ExpiredTokenException: one error, and new instance profile credentials
 * at the next gather even though Expiration is hours away. */
START_TEST(creds_imds_expired_token) {
  add_table(fx, "t_1", "t", 1);
  dynamo_imds(fx, "tower-reader", 6 * 3600);
  dynamo_script(fx, "t_1", 0, 1, 400, "ExpiredTokenException",
                "The security token included in the request is expired");
  use_imds();
  twi_pipeline *pl = start("tables = [\"t_1\"];");
  ck_assert_int_eq(run(pl), 1);
  ck_log_has("ExpiredTokenException: The security token included in the request is expired (HTTP "
             "400); new instance profile credentials are fetched at the next gather");
  ck_written("");
  ck_assert_int_eq(run(pl), 0);
  ck_assert_uint_eq(dynamo_cred_fetches(fx), 2);
  ck_signed_by(last_scan(), "ASIAFIXTURE0002");
  ck_written("t_1 id=\"t0\",n=0i\n");
  stop(pl);
}
END_TEST

START_TEST(creds_imds_no_role) {
  add_table(fx, "t_1", "t", 1);
  dynamo_imds(fx, NULL, 3600);
  use_imds();
  twi_pipeline *pl = start("tables = [\"t_1\"];");
  ck_assert_int_eq(run(pl), 1);
  ck_assert_uint_eq(dynamo_scans(fx, "t_1"), 0);
  ck_log_has("no credentials from the EC2 instance metadata service at http://127.0.0.1:");
  ck_log_has("no IAM role is attached to this instance");
  stop(pl);
}
END_TEST

/* ---- SigV4, computed independently ------------------------------------------------------------
 */

static void hex(const unsigned char *d, size_t n, char *out) {
  for (size_t i = 0; i < n; i++)
    sprintf(out + 2 * i, "%02x", d[i]);
}

static void sha256_hex(const char *data, size_t len, char out[65]) {
  unsigned char h[32];
  ck_assert_int_eq(gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, h), 0);
  hex(h, 32, out);
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32]) {
  ck_assert_int_eq(gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, klen, msg, strlen(msg), out), 0);
}

typedef struct sig_request {
  const char *method, *path, *query;
  const char *const *headers; /* "name:value" lowercase names, sorted */
  const char *signed_headers; /* "host;x-amz-date" */
  const char *body, *date;    /* date: 20150830T123600Z */
  const char *key, *secret, *region, *service;
} sig_request;

/* The Authorization header by the letter of the specification:
 * canonical request, string to sign, derived key, signature. */
static char *sigv4(const sig_request *q) {
  char body_hash[65], creq_hash[65], sig[65], day[9];
  snprintf(day, sizeof day, "%.8s", q->date);
  sha256_hex(q->body, strlen(q->body), body_hash);
  char *canon = th_fmt("%s\n%s\n%s\n", q->method, q->path, q->query);
  for (const char *const *h = q->headers; *h; h++) {
    char *next = th_fmt("%s%s\n", canon, *h);
    free(canon);
    canon = next;
  }
  char *creq = th_fmt("%s\n%s\n%s", canon, q->signed_headers, body_hash);
  sha256_hex(creq, strlen(creq), creq_hash);
  char *scope = th_fmt("%s/%s/%s/aws4_request", day, q->region, q->service);
  char *to_sign = th_fmt("AWS4-HMAC-SHA256\n%s\n%s\n%s", q->date, scope, creq_hash);
  char *k0 = th_fmt("AWS4%s", q->secret);
  unsigned char kd[32], kr[32], ks[32], kk[32], s[32];
  hmac(k0, strlen(k0), day, kd);
  hmac(kd, 32, q->region, kr);
  hmac(kr, 32, q->service, ks);
  hmac(ks, 32, "aws4_request", kk);
  hmac(kk, 32, to_sign, s);
  hex(s, 32, sig);
  char *auth = th_fmt("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s", q->key,
                      scope, q->signed_headers, sig);
  free(canon);
  free(creq);
  free(scope);
  free(to_sign);
  free(k0);
  return auth;
}

/* The published aws-sig-v4-test-suite cases get-vanilla and post-vanilla. */
START_TEST(sigv4_vectors) {
  static const char *const hdrs[] = {"host:example.amazonaws.com", "x-amz-date:20150830T123600Z",
                                     NULL};
  sig_request q = {.method = "GET",
                   .path = "/",
                   .query = "",
                   .headers = hdrs,
                   .signed_headers = "host;x-amz-date",
                   .body = "",
                   .date = "20150830T123600Z",
                   .key = "AKIDEXAMPLE",
                   .secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                   .region = "us-east-1",
                   .service = "service"};
  char *a = sigv4(&q);
  ck_assert_str_eq(a, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                      "aws4_request, SignedHeaders=host;x-amz-date, "
                      "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  free(a);
  q.method = "POST";
  a = sigv4(&q);
  ck_assert_str_eq(a, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                      "aws4_request, SignedHeaders=host;x-amz-date, "
                      "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
  free(a);
}
END_TEST

/* A real Scan request of the plugin, as the fixture received it: its
 * Authorization header equals the one the specification gives for the
 * received headers and body, the fixed credentials and the request's own
 * X-Amz-Date. With another secret key (what a wrong secret_access_key
 * gives) the signature differs, so DynamoDB would refuse it. */
START_TEST(sigv4_scan_request) {
  add_table(fx, "signed_table", "s", 1);
  twi_pipeline *pl = start("tables = [\"signed_table\"]; region = \"eu-central-1\";"
                           "access_key_id = \"AKIDEXAMPLE\";"
                           "secret_access_key = \"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\";"
                           "session_token = \"FQoDYXdzEXAMPLE//token+\";");
  ck_assert_int_eq(run(pl), 0);
  const dynamo_request *r = first_scan();
  char date[64], auth[1024], host[64], h0[128], h1[128], h2[128], h3[128], h4[128];
  ck_assert_ptr_nonnull(dynamo_header(r, "X-Amz-Date", date, sizeof date));
  ck_assert_ptr_nonnull(dynamo_header(r, "Authorization", auth, sizeof auth));
  snprintf(host, sizeof host, "127.0.0.1:%u", dynamo_port(fx));
  snprintf(h0, sizeof h0, "content-type:application/x-amz-json-1.0");
  snprintf(h1, sizeof h1, "host:%s", host);
  snprintf(h2, sizeof h2, "x-amz-date:%s", date);
  snprintf(h3, sizeof h3, "x-amz-security-token:FQoDYXdzEXAMPLE//token+");
  snprintf(h4, sizeof h4, "x-amz-target:DynamoDB_20120810.Scan");
  const char *hdrs[] = {h0, h1, h2, h3, h4, NULL};
  ck_assert_str_eq(r->body, "{\"TableName\":\"signed_table\",\"Limit\":1000}");
  sig_request q = {.method = "POST",
                   .path = "/",
                   .query = "",
                   .headers = hdrs,
                   .signed_headers = "content-type;host;x-amz-date;x-amz-security-token;"
                                     "x-amz-target",
                   .body = r->body,
                   .date = date,
                   .key = "AKIDEXAMPLE",
                   .secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                   .region = "eu-central-1",
                   .service = "dynamodb"};
  char *want = sigv4(&q);
  ck_assert_str_eq(auth, want);
  q.secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ";
  char *wrong = sigv4(&q);
  ck_assert_str_ne(auth, wrong);
  free(want);
  free(wrong);
  ck_log_lacks("wJalrXUtnFEMI");
  ck_log_lacks("FQoDYXdz");
  stop(pl);
}
END_TEST

/* ---- the suite --------------------------------------------------------------------------------
 */

static Suite *suite(void) {
  Suite *s = suite_create("inputs.dynamodb");
  TCase *t = tcase_create("items");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, item_every_type);
  tcase_add_test(t, item_tags_and_separator);
  tcase_add_test(t, item_deep_map);
  tcase_add_loop_test(t, item_timestamp, 0, (int)(sizeof time_cases / sizeof *time_cases));
  tcase_add_test(t, item_refused);
  tcase_add_loop_test(t, classify, 0, (int)(sizeof class_cases / sizeof *class_cases));
  tcase_add_test(t, classify_transport);
  tcase_add_test(t, backoff);
  tcase_add_test(t, profile_file);
  suite_add_tcase(s, t);

  t = tcase_create("scan");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 60);
  tcase_add_test(t, scan_pages);
  tcase_add_test(t, scan_request_options);
  tcase_add_loop_test(t, bad_options_fail, 0, (int)(sizeof bad_options / sizeof *bad_options));
  tcase_add_test(t, no_region_without_endpoint);
  tcase_add_test(t, scan_segments);
  tcase_add_test(t, scan_max_items);
  tcase_add_test(t, timestamp_key_and_skips);
  tcase_add_test(t, throttled_then_ok);
  tcase_add_test(t, throttled_gives_up);
  tcase_add_test(t, failure_half_way);
  tcase_add_test(t, table_not_found);
  tcase_add_test(t, credentials_refused);
  tcase_add_test(t, time_budget);
  tcase_add_test(t, unreachable);
  suite_add_tcase(s, t);

  t = tcase_create("credentials");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 60);
  tcase_add_test(t, creds_config_with_token);
  tcase_add_test(t, creds_env);
  tcase_add_test(t, creds_precedence);
  tcase_add_test(t, creds_profile_missing);
  tcase_add_test(t, creds_none);
  tcase_add_test(t, creds_imds);
  tcase_add_test(t, creds_imds_refresh);
  tcase_add_test(t, creds_imds_no_role);
  tcase_add_test(t, creds_imds_expired_token);
  tcase_add_test(t, sigv4_vectors);
  tcase_add_test(t, sigv4_scan_request);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  return check_run(suite());
}
