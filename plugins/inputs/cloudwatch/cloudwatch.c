/* inputs.cloudwatch: AWS CloudWatch metrics through ListMetrics and
 * GetMetricData (README.md has every decision).
 *
 * This file holds the descriptor, the options, init/destroy and the
 * gather. Each gather reads the window from where the last one ended to
 * now - delay, both aligned to the period, so that every datapoint is
 * written exactly once; a failed gather leaves the window where it was and
 * the next one reads it again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/plural.h"
#include "cloudwatch.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* Longest window read at once after failures (a day of periods). */
#define MAX_BACKLOG_NS (24 * 3600 * NS_PER_S)

static const tower_option dimension_options[] = {
    {.name = "name",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_REQUIRED,
     .help = "dimension name, e.g. \"InstanceId\""},
    {.name = "value",
     .type = TOWER_OPT_STRING,
     .default_value = "*",
     .help = "dimension value; * and ? are wildcards resolved through ListMetrics"},
    TOWER_OPTION_END,
};

static const tower_option metric_options[] = {
    {.name = "names",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_REQUIRED,
     .help = "metric names, e.g. [\"CPUUtilization\", \"NetworkIn\"]"},
    {.name = "statistic_include",
     .type = TOWER_OPT_STRINGS,
     .help = "statistics of these metrics (default: the block's)"},
    {.name = "statistic_exclude",
     .type = TOWER_OPT_STRINGS,
     .help = "statistics not to query for these metrics"},
    {.name = "dimensions",
     .type = TOWER_OPT_GROUPS,
     .children = dimension_options,
     .help = "( { name = \"InstanceId\"; value = \"i-*\"; } ): the metric must have exactly "
             "these dimensions"},
    TOWER_OPTION_END,
};

static const tower_option options[] = {
    {.name = "region",
     .type = TOWER_OPT_STRING,
     .help = "AWS region, e.g. \"eu-west-1\" (default: AWS_REGION, AWS_DEFAULT_REGION)"},
    {.name = "endpoint_url",
     .type = TOWER_OPT_STRING,
     .help = "CloudWatch endpoint (default: https://monitoring.<region>.amazonaws.com)"},
    {.name = "namespaces",
     .type = TOWER_OPT_STRINGS,
     .help = "namespaces to read, e.g. [\"AWS/EC2\", \"AWS/ELB\"]"},
    {.name = "namespace",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_DEPRECATED,
     .help = "one namespace; use namespaces"},
    {.name = "period",
     .type = TOWER_OPT_DURATION,
     .default_value = "5m",
     .min = "1s",
     .help = "aggregation period of the statistics (CloudWatch: 60s multiples, or 1, 5, 10, "
             "30s for high-resolution metrics)"},
    {.name = "delay",
     .type = TOWER_OPT_DURATION,
     .default_value = "5m",
     .min = "0s",
     .help = "how far behind now the window ends: CloudWatch needs time to settle a period"},
    {.name = "recently_active",
     .type = TOWER_OPT_STRING,
     .default_value = "PT3H",
     .help = "ListMetrics: only metrics with data in the last 3 hours, \"PT3H\" (the one value "
             "CloudWatch takes); \"\": every metric, also long silent ones"},
    {.name = "cache_ttl",
     .type = TOWER_OPT_DURATION,
     .default_value = "1h",
     .min = "0s",
     .help = "how long the list of metrics (ListMetrics) is reused"},
    {.name = "ratelimit",
     .type = TOWER_OPT_INT,
     .default_value = "25",
     .min = "0",
     .help = "most requests per second to CloudWatch (0: no limit)"},
    {.name = "batch_size",
     .type = TOWER_OPT_INT,
     .default_value = "500",
     .min = "1",
     .max = "500",
     .help = "queries per GetMetricData request"},
    {.name = "timeout",
     .type = TOWER_OPT_DURATION,
     .default_value = "0s",
     .min = "0s",
     .help = "time budget of one gather, retries included (0s: the interval)"},
    {.name = "statistic_include",
     .type = TOWER_OPT_STRINGS,
     .help = "statistics to query: average, maximum, minimum, sample_count, sum (default: all)"},
    {.name = "statistic_exclude", .type = TOWER_OPT_STRINGS, .help = "statistics not to query"},
    {.name = "include_linked_accounts",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "a monitoring account also reads its source accounts' metrics (tag account)"},
    {.name = "metrics",
     .type = TOWER_OPT_GROUPS,
     .children = metric_options,
     .help = "( { names = [...]; dimensions = ( {...} ); } ) (default: every metric of the "
             "namespaces)"},
    AWS_CREDENTIAL_OPTIONS,
    HTTP_CLIENT_TLS_OPTIONS,
    /* The environment's proxy by default, as the AWS SDKs. */
    HTTP_CLIENT_PROXY_OPTIONS("true"),
    TOWER_OPTION_END,
};

static void cw_destroy(void *state) {
  cw_state *s = state;
  if (!s)
    return;
  aws_conn_fini(&s->conn);
  aws_http_fini(&s->http);
  aws_chain_fini(&s->chain);
  cw_list_free(&s->list);
  cw_config_free(s);
  free(s->queries);
  free(s->points);
  free(s);
}

static void load_numbers(cw_state *s, const tower_config *cfg) {
  s->period_ns = tower_config_duration(cfg, "period");
  s->delay_ns = tower_config_duration(cfg, "delay");
  s->cache_ttl_ns = tower_config_duration(cfg, "cache_ttl");
  s->timeout_ns = tower_config_duration(cfg, "timeout");
  s->ratelimit = tower_config_int(cfg, "ratelimit");
  s->batch_size = (size_t)tower_config_int(cfg, "batch_size");
  s->recently_active = tower_config_string(cfg, "recently_active");
  s->linked_accounts = tower_config_bool(cfg, "include_linked_accounts");
  s->rng = (uint64_t)tower_mono_ns() ^ (uint64_t)(uintptr_t)s;
}

static int load(cw_state *s, const tower_config *cfg) {
  load_numbers(s, cfg);
  int rc = cw_config_load(s, cfg);
  if (rc == 0)
    rc = aws_endpoint_load(&s->http, cfg, "monitoring", "a CloudWatch stand-in");
  if (rc == 0)
    rc = aws_chain_init(&s->chain, s->ctx, cfg, s->http.region);
  s->http.user_agent = "tower/" PLUGIN_VERSION " inputs.cloudwatch";
  if (rc == 0)
    rc = http_client_load(&s->http.client, s->ctx, cfg, HTTP_CLIENT_TLS | HTTP_CLIENT_PROXY);
  if (rc == 0)
    rc = aws_conn_init(&s->conn, &s->http, s->ctx);
  return rc;
}

static int cw_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  cw_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  int rc = load(s, cfg);
  if (rc) {
    if (rc == -ENOMEM)
      tower_error(ctx, "out of memory setting up");
    cw_destroy(s);
    return rc;
  }
  tower_debug(ctx, "reading %zu namespace%s from %s (region %s), period %llds", s->nns,
              plural_s(s->nns), s->http.redacted, s->http.region,
              (long long)(s->period_ns / NS_PER_S));
  *state = s;
  return 0;
}

/* The window: [the last end, now - delay), both on period boundaries. */
static bool window(cw_state *s, int64_t *start, int64_t *end) {
  int64_t edge = tower_now() - s->delay_ns;
  *end = edge - edge % s->period_ns;
  *start = s->last_end_ns ? s->last_end_ns : *end - s->period_ns;
  if (*end - *start > MAX_BACKLOG_NS) {
    int64_t from = *end - MAX_BACKLOG_NS;
    tower_warn(s->ctx, "skipping %lld s of CloudWatch data that earlier gathers could not read",
               (long long)((from - *start) / NS_PER_S));
    *start = from - from % s->period_ns;
  }
  return *start < *end;
}

static int cw_gather(void *state, tower_acc *acc) {
  cw_state *s = state;
  int64_t start, end;
  if (!window(s, &start, &end)) {
    tower_debug(s->ctx, "no complete period since the last gather");
    return 0;
  }
  int64_t budget = s->timeout_ns > 0 ? s->timeout_ns : tower_ctx_interval(s->ctx);
  int64_t deadline = tower_mono_ns() + budget;
  s->requests = s->retries = 0;
  if (!cw_list_refresh(s, acc, deadline))
    return 0;
  if (cw_data_fetch(s, acc, start, end, deadline))
    s->last_end_ns = end;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "cloudwatch",
    .description = "AWS CloudWatch metrics (ListMetrics, GetMetricData in batches; AWS "
                   "credential chain)",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = cw_init,
    .destroy = cw_destroy,
    .gather = cw_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
