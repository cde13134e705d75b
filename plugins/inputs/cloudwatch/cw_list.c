/* Which metrics a gather queries. A `metrics` group whose dimensions are
 * all concrete is queried as written (no ListMetrics call, as Telegraf);
 * wildcards, and namespaces without `metrics` groups, go through
 * ListMetrics (paged by NextToken, RecentlyActive = recently_active,
 * IncludeLinkedAccounts). The result is kept for cache_ttl.
 *
 * Series with the same namespace, dimensions and account share one group:
 * their fields end up in one metric per timestamp, as Telegraf's grouping
 * does. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/plural.h"
#include "cloudwatch.h"

static void series_free(cw_series *x) {
  free(x->name);
  for (size_t k = 0; k < x->ndims; k++) {
    free(x->dims[k].name);
    free(x->dims[k].value);
  }
  free(x->dims);
  free(x->account);
  for (int k = 0; k < CW_NSTATS; k++)
    free(x->fields[k]);
}

void cw_list_free(cw_list *l) {
  for (size_t g = 0; g < l->ngroups; g++) {
    for (size_t k = 0; l->groups[g].tag_keys && k < l->groups[g].first->ndims; k++)
      free(l->groups[g].tag_keys[k]);
    free(l->groups[g].tag_keys);
  }
  free(l->groups);
  for (size_t i = 0; i < l->n; i++)
    series_free(&l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static int by_dim_name(const void *a, const void *b) {
  return strcmp(((const cw_dim *)a)->name, ((const cw_dim *)b)->name);
}

static int set_fields(cw_series *x) {
  char *snake = cw_snake(x->name);
  if (!snake)
    return -ENOMEM;
  for (int k = 0; k < CW_NSTATS; k++) {
    size_t len = strlen(snake) + strlen(cw_stat_field[k]) + 2;
    if (!(x->stats & (1u << k)))
      continue;
    if (!(x->fields[k] = malloc(len))) {
      free(snake);
      return -ENOMEM;
    }
    snprintf(x->fields[k], len, "%s_%s", snake, cw_stat_field[k]);
  }
  free(snake);
  return 0;
}

/* Adds one series; dims from the config (cd) or from a ListMetrics answer (jd). */
static int series_add(cw_list *l, const char *ns, const char *name, const cw_dim *cd, size_t ncd,
                      json_t *jd, const char *account, unsigned stats) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    cw_series *nv = realloc(l->v, cap * sizeof *nv);
    if (!nv)
      return -ENOMEM;
    l->v = nv;
    l->cap = cap;
  }
  cw_series *x = &l->v[l->n];
  memset(x, 0, sizeof *x);
  x->ns = ns;
  x->stats = stats;
  x->name = strdup(name);
  x->account = account ? strdup(account) : NULL;
  x->ndims = jd ? json_array_size(jd) : ncd;
  x->dims = x->ndims ? calloc(x->ndims, sizeof *x->dims) : NULL;
  bool ok = x->name && (!account || x->account) && (!x->ndims || x->dims);
  for (size_t k = 0; ok && k < x->ndims; k++) {
    json_t *d = jd ? json_array_get(jd, k) : NULL;
    const char *dn = jd ? json_string_value(json_object_get(d, "Name")) : cd[k].name;
    const char *dv = jd ? json_string_value(json_object_get(d, "Value")) : cd[k].value;
    x->dims[k].name = strdup(dn ? dn : "");
    x->dims[k].value = strdup(dv ? dv : "");
    ok = x->dims[k].name && x->dims[k].value;
  }
  if (ok && x->ndims > 1)
    qsort(x->dims, x->ndims, sizeof *x->dims, by_dim_name);
  l->n++;
  return ok && set_fields(x) == 0 ? 0 : -ENOMEM;
}

bool cw_dims_match(const cw_filter *f, json_t *dims) {
  if (json_array_size(dims) != f->ndims)
    return false;
  for (size_t k = 0; k < f->ndims; k++) {
    bool hit = false;
    for (size_t i = 0; !hit && i < json_array_size(dims); i++) {
      json_t *d = json_array_get(dims, i);
      const char *n = json_string_value(json_object_get(d, "Name"));
      const char *v = json_string_value(json_object_get(d, "Value"));
      hit = n && v && !strcmp(n, f->dims[k].name) && fnmatch(f->dims[k].value, v, 0) == 0;
    }
    if (!hit)
      return false;
  }
  return true;
}

/* The ListMetrics request for a namespace, optionally one name and filter. */
static json_t *list_request(const cw_state *s, const char *ns, const char *name,
                            const cw_filter *f) {
  json_t *req = json_pack("{s:s}", "Namespace", ns);
  if (req && name)
    json_object_set_new(req, "MetricName", json_string(name));
  if (req && s->recently_active && *s->recently_active)
    json_object_set_new(req, "RecentlyActive", json_string(s->recently_active));
  if (req && s->linked_accounts)
    json_object_set_new(req, "IncludeLinkedAccounts", json_true());
  json_t *dims = f && f->ndims ? json_array() : NULL;
  for (size_t k = 0; dims && k < f->ndims; k++) {
    json_t *d = json_pack("{s:s}", "Name", f->dims[k].name);
    /* A wildcard value is matched here, not by CloudWatch. */
    if (d && !strpbrk(f->dims[k].value, "*?["))
      json_object_set_new(d, "Value", json_string(f->dims[k].value));
    json_array_append_new(dims, d);
  }
  if (req && dims)
    json_object_set_new(req, "Dimensions", dims);
  return req;
}

/* Every page of one ListMetrics query; matching metrics into l. */
static bool list_all(cw_state *s, tower_acc *acc, cw_list *l, const char *ns, const char *name,
                     const cw_filter *f, int64_t deadline) {
  json_t *req = list_request(s, ns, name, f);
  bool ok = req != NULL;
  for (json_t *ans = NULL; ok; json_decref(ans)) {
    ok = cw_call(s, acc, "ListMetrics", req, deadline, &ans);
    json_t *metrics = ok ? json_object_get(ans, "Metrics") : NULL;
    json_t *owners = ok ? json_object_get(ans, "OwningAccounts") : NULL;
    for (size_t i = 0; ok && i < json_array_size(metrics); i++) {
      json_t *m = json_array_get(metrics, i), *dims = json_object_get(m, "Dimensions");
      const char *mn = json_string_value(json_object_get(m, "MetricName"));
      if (!mn || (f && !cw_dims_match(f, dims)))
        continue;
      const char *acct = json_string_value(json_array_get(owners, i));
      ok = series_add(l, ns, mn, NULL, 0, dims, s->linked_accounts ? acct : NULL,
                      f ? f->stats : s->stats) == 0;
    }
    const char *next = ok ? json_string_value(json_object_get(ans, "NextToken")) : NULL;
    if (!next || !*next) {
      json_decref(ans);
      break;
    }
    json_object_set_new(req, "NextToken", json_string(next));
  }
  json_decref(req);
  return ok;
}

static bool resolve_ns(cw_state *s, tower_acc *acc, cw_list *l, const char *ns, int64_t deadline) {
  if (!s->nfilters)
    return list_all(s, acc, l, ns, NULL, NULL, deadline);
  for (size_t i = 0; i < s->nfilters; i++) {
    const cw_filter *f = &s->filters[i];
    for (size_t k = 0; k < f->nnames; k++) {
      bool ok = f->wildcard
                    ? list_all(s, acc, l, ns, f->names[k], f, deadline)
                    : series_add(l, ns, f->names[k], f->dims, f->ndims, NULL, NULL, f->stats) == 0;
      if (!ok)
        return false;
    }
  }
  return true;
}

/* ---- groups -------------------------------------------------------------------- */

/* Orders series by namespace, account, dimensions, then name. */
static int series_cmp(const void *pa, const void *pb) {
  const cw_series *a = pa, *b = pb;
  int c = strcmp(a->ns, b->ns);
  if (!c)
    c = strcmp(a->account ? a->account : "", b->account ? b->account : "");
  if (!c && a->ndims != b->ndims)
    c = a->ndims < b->ndims ? -1 : 1;
  for (size_t k = 0; !c && k < a->ndims; k++) {
    c = strcmp(a->dims[k].name, b->dims[k].name);
    if (!c)
      c = strcmp(a->dims[k].value, b->dims[k].value);
  }
  return c;
}

static int full_cmp(const void *pa, const void *pb) {
  int c = series_cmp(pa, pb);
  return c ? c : strcmp(((const cw_series *)pa)->name, ((const cw_series *)pb)->name);
}

static const char *measurement_of(const cw_state *s, const char *ns) {
  for (size_t i = 0; i < s->nns; i++)
    if (s->namespaces[i] == ns)
      return s->measurements[i];
  return "cloudwatch";
}

/* Sorts, merges duplicates (two groups naming one metric: the union of
 * their statistics), and numbers the groups. */
static int group(const cw_state *s, cw_list *l) {
  if (l->n > 1)
    qsort(l->v, l->n, sizeof *l->v, full_cmp);
  size_t w = 0;
  for (size_t i = 0; i < l->n; i++) {
    if (w > 0 && full_cmp(&l->v[w - 1], &l->v[i]) == 0) {
      cw_series *keep = &l->v[w - 1];
      keep->stats |= l->v[i].stats;
      series_free(&l->v[i]);
      for (int k = 0; k < CW_NSTATS; k++)
        free(keep->fields[k]), keep->fields[k] = NULL;
      if (set_fields(keep))
        return -ENOMEM;
      continue;
    }
    l->v[w++] = l->v[i];
  }
  l->n = w;
  l->groups = calloc(l->n ? l->n : 1, sizeof *l->groups);
  if (!l->groups)
    return -ENOMEM;
  for (size_t i = 0; i < l->n; i++) {
    if (i == 0 || series_cmp(&l->v[i - 1], &l->v[i]) != 0) {
      cw_group *g = &l->groups[l->ngroups++];
      g->first = &l->v[i];
      g->measurement = measurement_of(s, l->v[i].ns);
      g->tag_keys = calloc(l->v[i].ndims ? l->v[i].ndims : 1, sizeof *g->tag_keys);
      if (!g->tag_keys)
        return -ENOMEM;
      for (size_t k = 0; k < l->v[i].ndims; k++)
        if (!(g->tag_keys[k] = cw_snake(l->v[i].dims[k].name)))
          return -ENOMEM;
    }
    l->v[i].group = l->ngroups - 1;
  }
  return 0;
}

/* The queries: one per series and statistic. */
static int build_queries(cw_state *s) {
  size_t n = 0;
  for (size_t i = 0; i < s->list.n; i++)
    n += (size_t)__builtin_popcount(s->list.v[i].stats);
  cw_query *q = realloc(s->queries, (n ? n : 1) * sizeof *q);
  if (!q)
    return -ENOMEM;
  s->queries = q;
  s->nqueries = 0;
  for (size_t i = 0; i < s->list.n; i++)
    for (uint32_t k = 0; k < CW_NSTATS; k++)
      if (s->list.v[i].stats & (1u << k))
        q[s->nqueries++] = (cw_query){.series = (uint32_t)i, .stat = k};
  return 0;
}

bool cw_list_refresh(cw_state *s, tower_acc *acc, int64_t deadline) {
  int64_t now = tower_mono_ns();
  if (s->list.built_ns && now - s->list.built_ns < s->cache_ttl_ns)
    return true;
  cw_list l = {0};
  bool ok = true;
  for (size_t i = 0; ok && i < s->nns; i++)
    ok = resolve_ns(s, acc, &l, s->namespaces[i], deadline);
  if (ok && group(s, &l) != 0) {
    tower_acc_error(acc, "out of memory listing the metrics to query");
    ok = false;
  }
  l.built_ns = now;
  if (!ok) {
    /* Keep querying what was known before (a stale list beats none). */
    cw_list_free(&l);
    return s->list.built_ns != 0;
  }
  cw_list_free(&s->list);
  s->list = l;
  if (build_queries(s) != 0) {
    tower_acc_error(acc, "out of memory building the queries");
    return false;
  }
  tower_debug(s->ctx, "%zu metric%s in %zu series, %zu quer%s", s->list.n, plural_s(s->list.n),
              s->list.ngroups, s->nqueries, s->nqueries == 1 ? "y" : "ies");
  return true;
}
