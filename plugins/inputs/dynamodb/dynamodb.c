/* inputs.dynamodb: the items of DynamoDB tables as metrics, one metric per
 * item, read with Scan at every gather (README.md has every decision).
 *
 * This file holds the descriptor, the options, init/destroy and the
 * gather: tables are scanned one after the other within the gather's time
 * budget (the interval, or `timeout`); each table's metrics reach the
 * accumulator all together or not at all. A refusal of the credentials
 * ends the gather with one error: every other table would fail the same
 * way. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/plural.h"
#include "dynamodb.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

static const tower_option options[] = {
    {.name = "tables",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_REQUIRED,
     .help = "tables to scan at every gather; each item becomes one metric named after its table"},
    {.name = "region",
     .type = TOWER_OPT_STRING,
     .help = "AWS region, e.g. \"eu-west-1\" (default: AWS_REGION, AWS_DEFAULT_REGION; us-east-1 "
             "with endpoint_url)"},
    {.name = "endpoint_url",
     .type = TOWER_OPT_STRING,
     .help = "DynamoDB-compatible server (DynamoDB Local, dynalite), e.g. "
             "\"http://127.0.0.1:8000\" (default: https://dynamodb.<region>.amazonaws.com)"},
    {.name = "page_size",
     .type = TOWER_OPT_INT,
     .default_value = "1000",
     .min = "0",
     .max = "1000000",
     .help = "items evaluated per Scan request (Limit), which bounds the JSON held at once; 0: "
             "as many as fit in DynamoDB's 1 MB page"},
    {.name = "max_items",
     .type = TOWER_OPT_INT,
     .default_value = "100000",
     .min = "0",
     .help = "most items read per table per gather (bounds memory; 0: no limit); a warning says "
             "when a table has more"},
    {.name = "consistent_read",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "strongly consistent reads (twice the read capacity of eventually consistent ones)"},
    {.name = "projection_expression",
     .type = TOWER_OPT_STRING,
     .help = "attributes to read, e.g. \"id, #n, address.city\" (default: all)"},
    {.name = "filter_expression",
     .type = TOWER_OPT_STRING,
     .help = "keep only items matching it, e.g. \"#s = :active AND hits > :min\"; filtered items "
             "still consume read capacity"},
    {.name = "expression_attribute_values",
     .type = TOWER_OPT_ANY,
     .help = "values for filter_expression placeholders, without the ':': { active = \"on\"; min "
             "= 5; ok = true; ids = \"{\\\"NS\\\": [\\\"1\\\", \\\"2\\\"]}\"; } (a string starting "
             "with { is DynamoDB JSON)"},
    {.name = "expression_attribute_names",
     .type = TOWER_OPT_TABLE,
     .help = "attribute names for # placeholders, without the '#': { s = \"status\"; n = "
             "\"name\"; }"},
    {.name = "segments",
     .type = TOWER_OPT_INT,
     .default_value = "1",
     .min = "1",
     .max = "64",
     .help = "parallel scan: split each table into this many segments, scanned concurrently"},
    {.name = "tag_keys",
     .type = TOWER_OPT_STRINGS,
     .help = "attributes that become tags instead of fields (flattened names such as "
             "\"address_city\" work)"},
    {.name = "timestamp_key",
     .type = TOWER_OPT_STRING,
     .help = "attribute holding each item's time (default: the gather's time for every item)"},
    {.name = "timestamp_format",
     .type = TOWER_OPT_ENUM,
     .default_value = "unix",
     .choices = "unix|unix_ms|unix_us|unix_ns|rfc3339|rfc3339nano",
     .help = "how timestamp_key is written: unix (seconds, fractions allowed), unix_ms, unix_us, "
             "unix_ns, rfc3339, rfc3339nano"},
    {.name = "separator",
     .type = TOWER_OPT_STRING,
     .default_value = "_",
     .help = "joins the keys of nested maps into field names: address.city -> address_city"},
    {.name = "timeout",
     .type = TOWER_OPT_DURATION,
     .default_value = "0s",
     .min = "0s",
     .help = "time budget of one gather for all tables, retries included (0s: the interval)"},
    {.name = "max_retries",
     .type = TOWER_OPT_INT,
     .default_value = "10",
     .min = "0",
     .max = "100",
     .help = "retries of a throttled or failed request (jittered exponential backoff)"},
    AWS_CREDENTIAL_OPTIONS,
    HTTP_CLIENT_TLS_OPTIONS,
    /* The environment's proxy by default, as the AWS SDKs. */
    HTTP_CLIENT_PROXY_OPTIONS("true"),
    TOWER_OPTION_END,
};

/* ---- init / destroy --------------------------------------------------------------- */

static void ddb_destroy(void *state) {
  ddb_state *s = state;
  if (!s)
    return;
  for (unsigned i = 0; s->conns && i < s->segments; i++)
    aws_conn_fini(&s->conns[i]);
  free(s->conns);
  aws_http_fini(&s->http);
  aws_chain_fini(&s->chain);
  json_decref(s->request);
  free(s->tables);
  free(s->tag_keys);
  free(s);
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int load_convert(ddb_state *s, const tower_config *cfg) {
  size_t n = tower_config_strings_len(cfg, "tag_keys");
  if (n && !(s->tag_keys = calloc(n, sizeof *s->tag_keys)))
    return -ENOMEM;
  for (size_t i = 0; i < n; i++)
    s->tag_keys[i] = tower_config_strings_at(cfg, "tag_keys", i);
  if (n)
    qsort(s->tag_keys, n, sizeof *s->tag_keys, by_name);
  const char *ts = tower_config_string(cfg, "timestamp_key");
  s->cv = (ddb_convert){
      .tag_keys = s->tag_keys,
      .ntag_keys = n,
      .timestamp_key = ts && *ts ? ts : NULL,
      .timestamp_format = tower_config_string(cfg, "timestamp_format"),
      .separator = tower_config_string(cfg, "separator"),
  };
  return 0;
}

static int load_conns(ddb_state *s, const tower_config *cfg) {
  s->http.user_agent = "tower/" PLUGIN_VERSION " inputs.dynamodb";
  int rc = http_client_load(&s->http.client, s->ctx, cfg, HTTP_CLIENT_TLS | HTTP_CLIENT_PROXY);
  if (rc)
    return rc;
  s->conns = calloc(s->segments, sizeof *s->conns);
  if (!s->conns)
    return -ENOMEM;
  for (unsigned i = 0; rc == 0 && i < s->segments; i++)
    rc = aws_conn_init(&s->conns[i], &s->http, s->ctx);
  return rc;
}

static void load_numbers(ddb_state *s, const tower_config *cfg) {
  s->page_size = tower_config_int(cfg, "page_size");
  s->max_items = tower_config_int(cfg, "max_items");
  s->max_retries = tower_config_int(cfg, "max_retries");
  s->timeout_ns = tower_config_duration(cfg, "timeout");
  s->segments = (unsigned)tower_config_int(cfg, "segments");
  /* The AWS SDKs' standard retry mode: 50 ms doubling, capped (theirs is
   * 20 s; a gather's budget is usually tens of seconds). */
  s->backoff_base_ns = 50 * NS_PER_MS;
  s->backoff_cap_ns = 5 * NS_PER_S;
}

static int load(ddb_state *s, const tower_config *cfg) {
  load_numbers(s, cfg);
  int rc = ddb_config_tables(s, cfg);
  if (rc == 0)
    rc = aws_endpoint_load(&s->http, cfg, "dynamodb", "a DynamoDB-compatible server");
  if (rc == 0)
    rc = ddb_config_request(s, cfg);
  if (rc == 0)
    rc = load_convert(s, cfg);
  if (rc == 0)
    rc = aws_chain_init(&s->chain, s->ctx, cfg, s->http.region);
  if (rc == 0)
    rc = load_conns(s, cfg);
  return rc;
}

static int ddb_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  ddb_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  int rc = load(s, cfg);
  if (rc) {
    if (rc == -ENOMEM)
      tower_error(ctx, "out of memory setting up");
    ddb_destroy(s);
    return rc;
  }
  tower_debug(ctx, "scanning %zu table%s at %s (region %s, %u segment%s each)", s->ntables,
              plural_s(s->ntables), s->http.redacted, s->http.region, s->segments,
              plural_s(s->segments));
  *state = s;
  return 0;
}

/* ---- reporting ---------------------------------------------------------------------- */

static double seconds(int64_t ns) {
  return (double)ns / (double)NS_PER_S;
}

/* "ThrottlingException: Rate exceeded (HTTP 400)" */
static void server_said(const ddb_state *s, const aws_result *r, char *out, size_t size) {
  if (r->status == 0)
    snprintf(out, size, "cannot reach %s: %s", s->http.redacted, r->message);
  else
    snprintf(out, size, "%s%s%s (HTTP %ld)", r->type, *r->type && *r->message ? ": " : "",
             r->message, r->status);
}

static const char *fatal_hint(const aws_result *r) {
  if (!strcmp(r->type, "AccessDeniedException"))
    return "; allow dynamodb:Scan on this table in the IAM policy of these credentials";
  if (!strcmp(r->type, "ValidationException"))
    return "; check filter_expression, projection_expression and the expression attributes";
  return "";
}

static void failure_reason(const ddb_state *s, const ddb_table *t, const ddb_table_result *res,
                           int64_t budget, char *out, size_t size) {
  const aws_result *r = &res->fail;
  char said[700];
  server_said(s, r, said, sizeof said);
  switch (r->kind) {
  case AWS_NOT_FOUND:
    snprintf(out, size,
             "%s: there is no table %s in region %s at %s; check the name, the region "
             "and the account",
             said, t->name, s->http.region, s->http.redacted);
    break;
  case AWS_RETRY:
    snprintf(out, size, "%s, still failing after %u attempt%s%s", said, res->attempts,
             plural_s(res->attempts),
             res->budget_out ? " and another would outlast the gather's time budget"
                             : " (max_retries)");
    break;
  case AWS_TIMEOUT:
    snprintf(out, size, "the gather's time budget of %gs ran out (%s; set timeout to change it)",
             seconds(budget), s->timeout_ns ? "timeout" : "the interval");
    break;
  default:
    snprintf(out, size, "%s%s", r->status ? said : r->message, fatal_hint(r));
  }
}

static void report_auth(ddb_state *s, tower_acc *acc, const aws_result *r, size_t table) {
  char said[700], hint[64], rest[512] = "";
  server_said(s, r, said, sizeof said);
  aws_key_hint(s->chain.creds.access_key, hint, sizeof hint);
  for (size_t i = table; i < s->ntables; i++)
    snprintf(rest + strlen(rest), sizeof rest - strlen(rest), "%s%s", i > table ? ", " : "",
             s->tables[i].name);
  bool expired = !strcmp(r->type, "ExpiredTokenException");
  bool refreshes = aws_chain_refreshes(&s->chain);
  if (expired)
    aws_chain_expire(&s->chain);
  tower_acc_error(acc,
                  "DynamoDB at %s refused the credentials from %s (access key %s): %s; %s; "
                  "nothing emitted this gather for %s",
                  s->http.redacted, s->chain.origin, hint, said,
                  expired && s->chain.source == AWS_SRC_IMDS
                      ? "new instance profile credentials are fetched at the next gather"
                  : expired && refreshes
                      ? "new temporary credentials are fetched at the next gather"
                  : expired ? "renew the session token"
                            : "check the access key id, the secret access key (and the session "
                              "token), and that the clock is right",
                  rest);
}

static void report_ok(ddb_state *s, const ddb_table *t, const ddb_table_result *res, int64_t took) {
  tower_debug(s->ctx, "table %s: %zu item%s in %u page%s, %u retr%s, %.3fs", t->name, res->items,
              plural_s(res->items), res->pages, plural_s(res->pages), res->retries,
              res->retries == 1 ? "y" : "ies", seconds(took));
  if (res->skipped)
    tower_warn(s->ctx, "table %s: %zu item%s skipped, the first because: %s", t->name, res->skipped,
               plural_s(res->skipped), res->skip_reason);
  if (res->truncated)
    tower_warn(s->ctx,
               "table %s: stopped at max_items = %lld item%s; the rest of the table was not "
               "read (raise max_items, or narrow the scan with filter_expression)",
               t->name, (long long)s->max_items, plural_s((unsigned long long)s->max_items));
}

/* Returns false when the gather must end (credentials refused). */
static bool report(ddb_state *s, tower_acc *acc, size_t i, const ddb_table_result *res,
                   int64_t budget, int64_t took) {
  const ddb_table *t = &s->tables[i];
  char why[1500];
  switch (res->fail.kind) {
  case AWS_OK:
    report_ok(s, t, res, took);
    return true;
  case AWS_AUTH:
    report_auth(s, acc, &res->fail, i);
    return false;
  case AWS_CANCELLED:
    tower_info(s->ctx, "scan of table %s abandoned: the agent is stopping", t->name);
    return false;
  default:
    failure_reason(s, t, res, budget, why, sizeof why);
    tower_acc_error(acc,
                    "scan of table %s failed after %u page%s: %s; nothing emitted for %s "
                    "this gather",
                    t->name, res->pages, plural_s(res->pages), why, t->name);
    return true;
  }
}

/* ---- gather ----------------------------------------------------------------------- */

static int ddb_gather(void *state, tower_acc *acc) {
  ddb_state *s = state;
  int64_t budget = s->timeout_ns > 0 ? s->timeout_ns : tower_ctx_interval(s->ctx);
  int64_t start = tower_mono_ns(), deadline = start + budget;
  char err[1024];
  for (size_t i = 0; i < s->ntables && !tower_ctx_stopping(s->ctx); i++) {
    /* Before each table: instance profile credentials near their expiry
     * are refreshed even in a long gather. */
    if (aws_chain_get(&s->chain, err, sizeof err) != 0) {
      tower_acc_error(acc, "%s; nothing emitted this gather for table %s%s", err, s->tables[i].name,
                      i + 1 < s->ntables ? " and the tables after it" : "");
      break;
    }
    ddb_table_result res;
    int64_t t0 = tower_mono_ns();
    ddb_scan_table(s, &s->tables[i], &s->chain.creds, acc, deadline, &res);
    if (!report(s, acc, i, &res, budget, tower_mono_ns() - t0))
      break;
  }
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "dynamodb",
    .description = "items of DynamoDB tables as metrics (Scan with pagination, parallel segments, "
                   "retries; AWS credential chain with IMDSv2)",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = ddb_init,
    .destroy = ddb_destroy,
    .gather = ddb_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
