/* inputs.kafka_lag: the metrics, all named kafka_lag, gauges:
 *   group, topic, partition: committed_offset, log_end_offset, lag
 *                            (and lag_seconds);
 *   group, topic:            lag_total, lag_max, partitions (and
 *                            lag_seconds_max);
 *   group:                   state, members (when the brokers say).
 * A partition without a known log end offset has committed_offset only,
 * and counts in `partitions` but not in the lag sums. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_lag.h"

/* By group (in the order of s->groups), topic, partition. */
static int by_group(const void *a, const void *b) {
  const kl_entry *x = a, *y = b;
  if (x->group != y->group)
    return x->group < y->group ? -1 : 1;
  int c = strcmp(x->topic, y->topic);
  if (c)
    return c;
  return (x->partition > y->partition) - (x->partition < y->partition);
}

static tower_metric *metric(const char *group, const char *topic) {
  tower_metric *m = tower_metric_new("kafka_lag", TOWER_TIME_UNSET);
  if (m && (tower_metric_set_type(m, TOWER_GAUGE) || tower_metric_add_tag(m, "group", group) ||
            (topic && tower_metric_add_tag(m, "topic", topic)))) {
    tower_metric_free(m);
    return NULL;
  }
  return m;
}

static int64_t lag_of(const kl_entry *e) {
  return e->end > e->committed ? e->end - e->committed : 0;
}

/* Seconds since the first unconsumed message was written (0 without lag);
 * negative when unknown. */
static double seconds_of(const kl_entry *e, int64_t now_ms) {
  if (e->end < 0)
    return -1;
  if (lag_of(e) == 0)
    return 0;
  if (e->first_ms < 0)
    return -1;
  return now_ms > e->first_ms ? (double)(now_ms - e->first_ms) / 1000.0 : 0;
}

static void emit_partition(kl_state *s, tower_acc *acc, const kl_entry *e, int64_t now_ms) {
  tower_metric *m = metric(s->groups[e->group].name, e->topic);
  char partition[16];
  snprintf(partition, sizeof partition, "%d", (int)e->partition);
  double secs = s->lag_seconds ? seconds_of(e, now_ms) : -1;
  if (!m || tower_metric_add_tag(m, "partition", partition) ||
      tower_metric_add_int(m, "committed_offset", e->committed) ||
      (e->end >= 0 && (tower_metric_add_int(m, "log_end_offset", e->end) ||
                       tower_metric_add_int(m, "lag", lag_of(e)))) ||
      (secs >= 0 && tower_metric_add_float(m, "lag_seconds", secs))) {
    tower_metric_free(m);
    return;
  }
  tower_acc_add(acc, m);
}

/* One topic of one group: entries [from, to). */
static void emit_topic(kl_state *s, tower_acc *acc, size_t from, size_t to, int64_t now_ms) {
  int64_t total = 0, max = 0, known = 0;
  double secs_max = -1;
  for (size_t i = from; i < to; i++) {
    const kl_entry *e = &s->entries[i];
    emit_partition(s, acc, e, now_ms);
    if (e->end < 0)
      continue;
    known++;
    total += lag_of(e);
    max = lag_of(e) > max ? lag_of(e) : max;
    double secs = s->lag_seconds ? seconds_of(e, now_ms) : -1;
    secs_max = secs > secs_max ? secs : secs_max;
  }
  const kl_entry *e = &s->entries[from];
  tower_metric *m = metric(s->groups[e->group].name, e->topic);
  if (!m || tower_metric_add_int(m, "partitions", (int64_t)(to - from)) ||
      (known &&
       (tower_metric_add_int(m, "lag_total", total) || tower_metric_add_int(m, "lag_max", max))) ||
      (secs_max >= 0 && tower_metric_add_float(m, "lag_seconds_max", secs_max))) {
    tower_metric_free(m);
    return;
  }
  tower_acc_add(acc, m);
}

static void emit_group(const kl_group *g, tower_acc *acc) {
  if (!g->state && g->members < 0)
    return;
  tower_metric *m = metric(g->name, NULL);
  if (!m || (g->state && tower_metric_add_string(m, "state", g->state)) ||
      (g->members >= 0 && tower_metric_add_int(m, "members", g->members))) {
    tower_metric_free(m);
    return;
  }
  tower_acc_add(acc, m);
}

void kl_emit(kl_state *s, tower_acc *acc) {
  if (s->nentries) /* (entries is NULL until a first partition is seen) */
    qsort(s->entries, s->nentries, sizeof *s->entries, by_group);
  int64_t now_ms = tower_now() / 1000000;
  size_t i = 0;
  for (uint32_t g = 0; g < s->ngroups; g++) {
    emit_group(&s->groups[g], acc);
    while (i < s->nentries && s->entries[i].group == g) {
      size_t j = i + 1;
      while (j < s->nentries && s->entries[j].group == g &&
             strcmp(s->entries[j].topic, s->entries[i].topic) == 0)
        j++;
      emit_topic(s, acc, i, j, now_ms);
      i = j;
    }
  }
}
