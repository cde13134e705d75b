/* From the parser's metrics (Telegraf's metric_version 1 mapping: one
 * metric per family and label set) to the plugin's: the url tag, the
 * samples' timestamps dropped when asked, and metric_version 2, Telegraf's
 * sparse mapping (plugins/parsers/prometheus/metric_v2.go):
 *   counter, gauge, untyped  prometheus,<labels> <name>=<value>
 *   summary                  prometheus,<labels> <name>_count=..,<name>_sum=..
 *                            and per quantile prometheus,<labels>,quantile=<q> <name>=..
 *   histogram                prometheus,<labels> <name>_count=..,<name>_sum=..
 *                            and per bound prometheus,<labels>,le=<b> <name>_bucket=..
 *                            (an +Inf bucket holding the count when the
 *                            target sent none)
 * with the value type of the family. The quantile and le values are the
 * parser's field keys, which it formats as Go's %v, the same digits as
 * Telegraf's strconv.FormatFloat(v, 'g', -1, 64). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prometheus.h"

static int push(promin_batch *b, tower_metric *m) {
  if (b->n == b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 256;
    tower_metric **a = realloc(b->m, cap * sizeof *a);
    if (!a) {
      tower_metric_free(m);
      return -ENOMEM;
    }
    b->m = a;
    b->cap = cap;
  }
  b->m[b->n++] = m;
  return 0;
}

void promin_batch_clear(promin_batch *b) {
  for (size_t i = 0; i < b->n; i++)
    tower_metric_free(b->m[i]);
  b->n = 0;
}

void promin_batch_fini(promin_batch *b) {
  promin_batch_clear(b);
  free(b->m);
  memset(b, 0, sizeof *b);
}

/* A new "prometheus" metric with src's time, type and tags, plus the url
 * tag and one extra tag (key NULL: none), and one field. */
static tower_metric *sparse(const promin_map *map, const tower_metric *src, const char *key,
                            const char *value, const char *field, double v) {
  tower_metric *m = tower_metric_new("prometheus", tower_metric_time(src));
  int rc = m ? tower_metric_set_type(m, tower_metric_type(src)) : -ENOMEM;
  for (size_t i = 0; rc == 0 && i < tower_metric_tag_count(src); i++)
    rc = tower_metric_add_tag(m, tower_metric_tag_key(src, i), tower_metric_tag_value(src, i));
  if (rc == 0 && key)
    rc = tower_metric_add_tag(m, key, value);
  if (rc == 0 && map->url_key)
    rc = tower_metric_add_tag(m, map->url_key, map->url_value);
  if (rc == 0)
    rc = tower_metric_add_float(m, field, v);
  if (rc) {
    tower_metric_free(m);
    return NULL;
  }
  return m;
}

static double field_or_zero(const tower_metric *m, const char *key) {
  ptrdiff_t i = tower_metric_field_index(m, key);
  return i < 0 ? 0 : tower_metric_field_float(m, (size_t)i);
}

/* The _count/_sum metric of a summary or histogram; names[] holds the
 * family's name with "_count", "_sum" and "_bucket". */
static int add_head(const promin_map *map, const tower_metric *m, char *const names[3],
                    promin_batch *b) {
  tower_metric *head = sparse(map, m, NULL, NULL, names[0], field_or_zero(m, "count"));
  if (head && tower_metric_add_float(head, names[1], field_or_zero(m, "sum")) != 0) {
    tower_metric_free(head);
    head = NULL;
  }
  return head ? push(b, head) : -ENOMEM;
}

/* A summary or histogram: the _count/_sum metric, then one per quantile or
 * bound. */
static int split_grouped(const promin_map *map, const tower_metric *m, char *const names[3],
                         promin_batch *b) {
  bool hist = tower_metric_type(m) == TOWER_HISTOGRAM;
  const char *field = hist ? names[2] : tower_metric_name(m);
  int rc = add_head(map, m, names, b);
  bool inf = false;
  for (size_t i = 0; rc == 0 && i < tower_metric_field_count(m); i++) {
    const char *k = tower_metric_field_key(m, i);
    if (strcmp(k, "count") == 0 || strcmp(k, "sum") == 0)
      continue;
    inf = inf || strcmp(k, "+Inf") == 0;
    tower_metric *q =
        sparse(map, m, hist ? "le" : "quantile", k, field, tower_metric_field_float(m, i));
    rc = q ? push(b, q) : -ENOMEM;
  }
  if (rc == 0 && hist && !inf) {
    tower_metric *q = sparse(map, m, "le", "+Inf", field, field_or_zero(m, "count"));
    rc = q ? push(b, q) : -ENOMEM;
  }
  return rc;
}

/* The field names of a summary or histogram, on the stack when they fit
 * (they nearly always do), so that a series costs no allocation of its
 * own beyond its metrics. */
static int grouped(const promin_map *map, const tower_metric *m, promin_batch *b) {
  static const char *const suffix[3] = {"_count", "_sum", "_bucket"};
  const char *name = tower_metric_name(m);
  size_t len = strlen(name), cap = len + sizeof "_bucket";
  char stack[3][256], *names[3];
  for (int i = 0; i < 3; i++) {
    names[i] = cap <= sizeof stack[i] ? stack[i] : malloc(cap);
    if (names[i])
      snprintf(names[i], cap, "%s%s", name, suffix[i]);
  }
  int rc = names[0] && names[1] && names[2] ? split_grouped(map, m, names, b) : -ENOMEM;
  for (int i = 0; i < 3 && cap > sizeof stack[i]; i++)
    free(names[i]);
  return rc;
}

/* counter, gauge, untyped: the parser's one field, renamed to the family. */
static int to_v2(const promin_map *map, tower_metric *m, promin_batch *b) {
  tower_value_type t = tower_metric_type(m);
  int rc;
  if (t == TOWER_SUMMARY || t == TOWER_HISTOGRAM) {
    rc = grouped(map, m, b);
  } else {
    tower_metric *s =
        tower_metric_field_count(m) == 1
            ? sparse(map, m, NULL, NULL, tower_metric_name(m), tower_metric_field_float(m, 0))
            : NULL;
    rc = s ? push(b, s) : -ENOMEM;
  }
  tower_metric_free(m);
  return rc;
}

int promin_map_metric(const promin_map *map, tower_metric *m, promin_batch *b) {
  if (map->ignore_timestamp && tower_metric_time(m) != TOWER_TIME_UNSET)
    tower_metric_set_time(m, TOWER_TIME_UNSET);
  if (map->version == 2)
    return to_v2(map, m, b);
  if (map->url_key && tower_metric_add_tag(m, map->url_key, map->url_value) != 0) {
    tower_metric_free(m);
    return -ENOMEM;
  }
  return push(b, m);
}
