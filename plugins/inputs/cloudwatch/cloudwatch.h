/* inputs.cloudwatch internals, shared by
 *   cloudwatch.c  the descriptor, options, init/destroy and the gather;
 *   cw_config.c   the `metrics` groups, statistics, namespaces;
 *   cw_list.c     which metrics to query: configured ones, or ListMetrics
 *                 (wildcards, whole namespaces), cached for cache_ttl;
 *   cw_data.c     GetMetricData in batches, datapoints into metrics;
 *   cw_call.c     one request: the rate limit, retries with backoff;
 *   cw_names.c    Telegraf's snake_case names.
 * Requests use the AWS JSON 1.0 protocol CloudWatch offers
 * (X-Amz-Target: GraniteServiceVersion20100801.<Operation>), signed and
 * sent by plugins/common/aws. README.md documents the behaviour. */
#ifndef TOWER_INPUTS_CLOUDWATCH_H
#define TOWER_INPUTS_CLOUDWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <tower/tower.h>

#include "../../common/aws/aws.h"

#define CW_TARGET "GraniteServiceVersion20100801."
/* GetMetricData takes at most 500 queries per call. */
#define CW_MAX_BATCH 500

/* The statistics, in field-name order. */
enum { CW_AVERAGE, CW_MAXIMUM, CW_MINIMUM, CW_SAMPLE_COUNT, CW_SUM, CW_NSTATS };
extern const char *const cw_stat_field[CW_NSTATS]; /* "average", ..., "sample_count" */
extern const char *const cw_stat_api[CW_NSTATS];   /* "Average", ..., "SampleCount" */

typedef struct cw_dim {
  char *name, *value; /* value: a glob pattern in a filter */
} cw_dim;

/* One `metrics` group: names, dimensions, statistics. */
typedef struct cw_filter {
  const char **names; /* borrowed from the config */
  size_t nnames;
  cw_dim *dims;
  size_t ndims;
  bool wildcard;  /* a dimension value holds * or ?: resolved through ListMetrics */
  unsigned stats; /* bit per CW_* statistic */
} cw_filter;

/* One metric to query (namespace, name, concrete dimensions). */
typedef struct cw_series {
  const char *ns;
  char *name;
  cw_dim *dims;
  size_t ndims;
  char *account; /* owning account (include_linked_accounts), else NULL */
  unsigned stats;
  size_t group;            /* series with the same tags share one metric */
  char *fields[CW_NSTATS]; /* "cpu_utilization_average", ... */
} cw_series;

/* The tags of one group: measurement, region, dimensions, account. */
typedef struct cw_group {
  const char *measurement;
  const cw_series *first; /* its dimensions and account give the tags */
  char **tag_keys;        /* snake_case dimension names */
} cw_group;

typedef struct cw_list {
  cw_series *v;
  size_t n, cap;
  cw_group *groups;
  size_t ngroups;
  int64_t built_ns; /* monotonic; 0: never */
} cw_list;

/* One datapoint of one query: sorted by (group, time) into metrics. */
typedef struct cw_point {
  size_t group;
  int64_t time_ns;
  uint32_t query;
  double value;
} cw_point;

typedef struct cw_query {
  uint32_t series, stat;
} cw_query;

typedef struct cw_state {
  tower_ctx *ctx;
  const char **namespaces;
  char **measurements; /* per namespace: cloudwatch_aws_ec2 */
  size_t nns;
  cw_filter *filters;
  size_t nfilters;
  unsigned stats; /* the block's statistic_include/exclude */
  int64_t period_ns, delay_ns, cache_ttl_ns, timeout_ns;
  int64_t ratelimit;
  size_t batch_size;
  const char *recently_active;
  bool linked_accounts;
  aws_http http;
  aws_conn conn;
  aws_chain chain;
  cw_list list;
  cw_query *queries;
  size_t nqueries;
  cw_point *points; /* reused from gather to gather */
  size_t npoints, cap_points;
  json_t *request;      /* the GetMetricData request being paged */
  int64_t last_end_ns;  /* wall clock: where the last window ended; 0: none */
  int64_t next_call_ns; /* monotonic: the rate limit's next slot */
  uint64_t rng;
  unsigned requests, retries; /* in the last gather */
} cw_state;

/* cw_names.c: Telegraf's snake_case ("CPUUtilization" -> "cpu_utilization",
 * "AWS/EC2" -> "aws_ec2"). A new string, or NULL. */
char *cw_snake(const char *s);

/* cw_config.c */
int cw_config_load(cw_state *s, const tower_config *cfg);
void cw_config_free(cw_state *s);

/* cw_call.c: one operation ("ListMetrics"), rate limited and retried
 * within the deadline; the answer's JSON in *out (the caller decrefs).
 * false when it failed: the reason was reported on acc. */
bool cw_call(cw_state *s, tower_acc *acc, const char *op, json_t *req, int64_t deadline,
             json_t **out);

/* cw_list.c: the series to query, from the cache or resolved again.
 * false when resolving failed (reported on acc). */
bool cw_list_refresh(cw_state *s, tower_acc *acc, int64_t deadline);
void cw_list_free(cw_list *l);
bool cw_dims_match(const cw_filter *f, json_t *dims);

/* cw_data.c: GetMetricData over [start, end) for every series; metrics
 * into acc. false when a request failed (nothing is added then). */
bool cw_data_fetch(cw_state *s, tower_acc *acc, int64_t start_ns, int64_t end_ns, int64_t deadline);

#endif
