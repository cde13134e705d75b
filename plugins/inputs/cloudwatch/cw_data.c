/* GetMetricData: the queries in batches of batch_size (at most 500), each
 * batch paged by NextToken (a result with StatusCode PartialData goes on
 * in the next page), datapoints kept when they fall in the window
 * [start, end). The points of every batch are sorted by (group, time) and
 * become one metric per group and timestamp, as Telegraf groups them:
 * measurement cloudwatch_<namespace>, tags region, the dimensions and
 * (linked accounts) account, fields <metric>_<statistic>. Nothing is added
 * unless every batch succeeded. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/plural.h"
#include "cloudwatch.h"

static json_t *query_json(const cw_state *s, size_t qi) {
  const cw_query *q = &s->queries[qi];
  const cw_series *x = &s->list.v[q->series];
  json_t *dims = json_array();
  for (size_t k = 0; dims && k < x->ndims; k++)
    json_array_append_new(
        dims, json_pack("{s:s,s:s}", "Name", x->dims[k].name, "Value", x->dims[k].value));
  char id[32];
  snprintf(id, sizeof id, "q%zu", qi);
  json_t *j = json_pack("{s:s,s:{s:{s:s,s:s,s:o},s:I,s:s},s:b}", "Id", id, "MetricStat", "Metric",
                        "Namespace", x->ns, "MetricName", x->name, "Dimensions", dims, "Period",
                        (json_int_t)(s->period_ns / NS_PER_S), "Stat", cw_stat_api[q->stat],
                        "ReturnData", 1);
  if (j && x->account)
    json_object_set_new(j, "AccountId", json_string(x->account));
  return j;
}

static json_t *batch_request(const cw_state *s, size_t from, size_t n, int64_t start, int64_t end) {
  json_t *queries = json_array();
  for (size_t i = 0; queries && i < n; i++)
    if (json_array_append_new(queries, query_json(s, from + i)) != 0) {
      json_decref(queries);
      return NULL;
    }
  /* AWS JSON 1.0 timestamps are epoch seconds. */
  return json_pack("{s:o,s:I,s:I,s:s}", "MetricDataQueries", queries, "StartTime",
                   (json_int_t)(start / NS_PER_S), "EndTime", (json_int_t)(end / NS_PER_S),
                   "ScanBy", "TimestampAscending");
}

static int push(cw_state *s, cw_point p) {
  if (s->npoints == s->cap_points) {
    size_t cap = s->cap_points ? s->cap_points * 2 : 1024;
    cw_point *nv = realloc(s->points, cap * sizeof *nv);
    if (!nv)
      return -ENOMEM;
    s->points = nv;
    s->cap_points = cap;
  }
  s->points[s->npoints++] = p;
  return 0;
}

/* One result: its datapoints in the window. -EINVAL for an Id we did not
 * send, -ENOMEM. *partial: more of it comes in the next page. */
static int take_result(cw_state *s, json_t *r, size_t from, size_t n, int64_t start, int64_t end,
                       bool *partial) {
  const char *id = json_string_value(json_object_get(r, "Id"));
  char *tail = NULL;
  unsigned long qi = id && id[0] == 'q' ? strtoul(id + 1, &tail, 10) : 0;
  if (!id || id[0] != 'q' || !tail || *tail || qi < from || qi >= from + n)
    return -EINVAL;
  const char *status = json_string_value(json_object_get(r, "StatusCode"));
  *partial |= status && !strcmp(status, "PartialData");
  json_t *ts = json_object_get(r, "Timestamps"), *vs = json_object_get(r, "Values");
  size_t group = s->list.v[s->queries[qi].series].group;
  for (size_t i = 0; i < json_array_size(ts) && i < json_array_size(vs); i++) {
    json_t *t = json_array_get(ts, i), *v = json_array_get(vs, i);
    if (!json_is_number(t) || !json_is_number(v))
      continue;
    int64_t at = (int64_t)llround(json_number_value(t)) * NS_PER_S;
    if (at < start || at >= end)
      continue;
    if (push(s, (cw_point){group, at, (uint32_t)qi, json_number_value(v)}) != 0)
      return -ENOMEM;
  }
  return 0;
}

/* Every page of one batch. */
static bool fetch_batch(cw_state *s, tower_acc *acc, size_t from, size_t n, int64_t start,
                        int64_t end, int64_t deadline) {
  json_t *req = batch_request(s, from, n, start, end);
  bool ok = req != NULL, partial = false;
  if (!req)
    tower_acc_error(acc, "out of memory building a GetMetricData request");
  while (ok) {
    json_t *ans = NULL;
    ok = cw_call(s, acc, "GetMetricData", req, deadline, &ans);
    json_t *results = ok ? json_object_get(ans, "MetricDataResults") : NULL;
    for (size_t i = 0; ok && i < json_array_size(results); i++) {
      int rc = take_result(s, json_array_get(results, i), from, n, start, end, &partial);
      if (rc == -EINVAL)
        tower_warn(s->ctx, "GetMetricData answered a result with an Id it was not asked for; "
                           "skipped");
      else if (rc)
        ok = false, tower_acc_error(acc, "out of memory reading GetMetricData results");
    }
    const char *next = ok ? json_string_value(json_object_get(ans, "NextToken")) : NULL;
    bool more = next && *next;
    if (more)
      json_object_set_new(req, "NextToken", json_string(next));
    json_decref(ans);
    if (!more)
      break;
    partial = false;
  }
  if (ok && partial)
    tower_warn(s->ctx, "GetMetricData marked results PartialData without a NextToken; the "
                       "missing datapoints are not read");
  json_decref(req);
  return ok;
}

static int point_cmp(const void *pa, const void *pb) {
  const cw_point *a = pa, *b = pb;
  if (a->group != b->group)
    return a->group < b->group ? -1 : 1;
  if (a->time_ns != b->time_ns)
    return a->time_ns < b->time_ns ? -1 : 1;
  return a->query < b->query ? -1 : a->query > b->query;
}

static tower_metric *start_metric(const cw_state *s, const cw_group *g, int64_t t) {
  tower_metric *m = tower_metric_new(g->measurement, t);
  bool ok = m && tower_metric_add_tag(m, "region", s->http.region) == 0;
  for (size_t k = 0; ok && k < g->first->ndims; k++)
    ok = tower_metric_add_tag(m, g->tag_keys[k], g->first->dims[k].value) == 0;
  if (ok && g->first->account)
    ok = tower_metric_add_tag(m, "account", g->first->account) == 0;
  if (!ok)
    tower_metric_free(m);
  return ok ? m : NULL;
}

/* The sorted points as metrics; returns how many were added. */
static size_t emit(cw_state *s, tower_acc *acc) {
  size_t added = 0;
  for (size_t i = 0; i < s->npoints;) {
    const cw_point *p = &s->points[i];
    tower_metric *m = start_metric(s, &s->list.groups[p->group], p->time_ns);
    size_t j = i;
    for (; j < s->npoints && s->points[j].group == p->group && s->points[j].time_ns == p->time_ns;
         j++) {
      /* A datapoint seen twice (pages that overlap) is written once. */
      if (m && (j == i || s->points[j].query != s->points[j - 1].query)) {
        const cw_query *q = &s->queries[s->points[j].query];
        tower_metric_add_float(m, s->list.v[q->series].fields[q->stat], s->points[j].value);
      }
    }
    if (m && tower_acc_add(acc, m) == 0)
      added++;
    else if (!m)
      tower_acc_error(acc, "out of memory building a metric");
    i = j;
  }
  return added;
}

bool cw_data_fetch(cw_state *s, tower_acc *acc, int64_t start, int64_t end, int64_t deadline) {
  s->npoints = 0;
  for (size_t from = 0; from < s->nqueries; from += s->batch_size) {
    size_t n = s->nqueries - from < s->batch_size ? s->nqueries - from : s->batch_size;
    if (!fetch_batch(s, acc, from, n, start, end, deadline))
      return false;
  }
  if (s->npoints > 1)
    qsort(s->points, s->npoints, sizeof *s->points, point_cmp);
  size_t added = emit(s, acc);
  tower_debug(s->ctx, "%zu datapoint%s in %zu metric%s from %u request%s (%u retr%s)", s->npoints,
              plural_s(s->npoints), added, plural_s(added), s->requests, plural_s(s->requests),
              s->retries, s->retries == 1 ? "y" : "ies");
  return true;
}
