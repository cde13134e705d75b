/* Statement digests from performance_schema.events_statements_summary_by_digest.
 *
 * Two metrics per digest:
 *  - `mysql_perf_schema` (Telegraf's): the table's running totals, for the
 *    top perf_events_statements_limit digests by total latency among those
 *    seen within perf_events_statements_time_limit seconds;
 *  - `mysql_statement_digest` (tower's): what happened in the last interval,
 *    for the top perf_events_statements_limit digests by the interval's
 *    latency among those that ran in it.
 *
 * Deltas. Each gather reads the whole table (the server bounds it:
 * performance_schema_digests_size) so that a digest missing from the answer
 * is really gone, and keeps the previous totals per (schema, digest) in a
 * hash table keyed by a 64-bit hash. The delta is the current total minus
 * the previous one. When the row's FIRST_SEEN changed (TRUNCATE of the
 * table, the digest evicted and back), a total went down, or the server's
 * Uptime went down (a restart), the previous totals count as zero, so the delta is what accumulated
 * since the reset. A digest not seen before counts from zero too, except on the first gather of the
 * instance, which only takes the baseline (it cannot know what ran in an interval it did not see).
 * Rows are copied into an arena reused between gathers: no allocation per digest once warm. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql_input.h"

#define PICO 1e12

enum { C_COUNT, C_TIMER, C_EXAMINED, C_SENT, C_ERRORS, C_NOINDEX, NDELTA };

struct my_digest_prev {
  uint64_t key;   /* 0: free */
  uint64_t first; /* hash of FIRST_SEEN: another value is another life */
  uint64_t c[NDELTA];
};

/* One row of the answer. */
typedef struct drow {
  size_t schema, digest, text; /* offsets into the arena */
  double total[12];            /* Telegraf's fields, in its order */
  uint64_t d[NDELTA];          /* this interval's deltas */
  int64_t age;                 /* seconds since LAST_SEEN */
} drow;

typedef struct work {
  drow *rows;
  size_t n, cap;
  char *arena;
  size_t used, size;
  size_t *order;
  my_digest_prev *next; /* the table being built */
  size_t next_cap, next_used;
} work;

static const char *const total_names[12] = {
    "events_statements_total",
    "events_statements_seconds_total",
    "events_statements_errors_total",
    "events_statements_warnings_total",
    "events_statements_rows_affected_total",
    "events_statements_rows_sent_total",
    "events_statements_rows_examined_total",
    "events_statements_tmp_disk_tables_total",
    "events_statements_tmp_tables_total",
    "events_statements_sort_merge_passes_total",
    "events_statements_sort_rows_total",
    "events_statements_no_index_used_total",
};

static uint64_t hash_key(const char *schema, const char *digest) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (const char *p = schema; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  h = (h ^ 0xff) * 1099511628211ull; /* a separator no name holds */
  for (const char *p = digest; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  return h ? h : 1;
}

static my_digest_prev *slot(my_digest_prev *t, size_t cap, uint64_t key) {
  if (!cap)
    return NULL;
  for (size_t i = key & (cap - 1);; i = (i + 1) & (cap - 1))
    if (t[i].key == key || t[i].key == 0)
      return &t[i];
}

static int next_put(work *w, uint64_t key, uint64_t first, const uint64_t *c) {
  if (2 * (w->next_used + 1) > w->next_cap) {
    size_t cap = w->next_cap ? w->next_cap * 2 : 256;
    my_digest_prev *t = calloc(cap, sizeof *t);
    if (!t)
      return -ENOMEM;
    for (size_t i = 0; i < w->next_cap; i++)
      if (w->next[i].key)
        *slot(t, cap, w->next[i].key) = w->next[i];
    free(w->next);
    w->next = t;
    w->next_cap = cap;
  }
  my_digest_prev *p = slot(w->next, w->next_cap, key);
  if (!p->key)
    w->next_used++;
  p->key = key;
  p->first = first;
  memcpy(p->c, c, sizeof p->c);
  return 0;
}

static size_t keep(work *w, const char *v) {
  size_t n = strlen(v ? v : "NONE") + 1;
  if (w->used + n > w->size) {
    size_t size = w->size ? w->size * 2 : 65536;
    while (size < w->used + n)
      size *= 2;
    char *a = realloc(w->arena, size);
    if (!a)
      return SIZE_MAX;
    w->arena = a;
    w->size = size;
  }
  memcpy(w->arena + w->used, v ? v : "NONE", n);
  w->used += n;
  return w->used - n;
}

/* Reads one answer row into w->rows with its deltas against `prev`. */
static int take_row(my_server *s, work *w, MYSQL_ROW r, bool reset) {
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 256;
    drow *rows = realloc(w->rows, cap * sizeof *rows);
    if (!rows)
      return -ENOMEM;
    w->rows = rows;
    w->cap = cap;
  }
  drow *x = &w->rows[w->n];
  x->schema = keep(w, r[0]);
  x->digest = keep(w, r[1]);
  x->text = keep(w, r[2]);
  if (x->schema == SIZE_MAX || x->digest == SIZE_MAX || x->text == SIZE_MAX)
    return -ENOMEM;
  /* columns 3..14 in Telegraf's field order; timers are picoseconds */
  for (int k = 0; k < 12; k++)
    x->total[k] = my_f64(r[3 + k]);
  x->total[1] /= PICO;
  x->age = r[15] ? strtoll(r[15], NULL, 10) : 0;
  uint64_t c[NDELTA] = {my_u64(r[3]), my_u64(r[4]), my_u64(r[9]),
                        my_u64(r[8]), my_u64(r[5]), my_u64(r[14])};
  uint64_t key = hash_key(w->arena + x->schema, w->arena + x->digest);
  uint64_t first = hash_key(r[16] ? r[16] : "", "");
  my_digest_prev *p = reset ? NULL : slot(s->digests.slots, s->digests.cap, key);
  bool known = p && p->key == key && p->first == first;
  bool went_down = false;
  for (int k = 0; known && k < NDELTA; k++)
    went_down |= c[k] < p->c[k];
  /* a statement adds to the totals when it ends, count included: other
   * totals that moved under an unchanged count belong to a new row (the
   * table truncated within FIRST_SEEN's second) */
  for (int k = 1; known && c[C_COUNT] == p->c[C_COUNT] && k < NDELTA; k++)
    went_down |= c[k] != p->c[k];
  for (int k = 0; k < NDELTA; k++)
    x->d[k] = c[k] - (known && !went_down ? p->c[k] : 0);
  w->n++;
  return next_put(w, key, first, c);
}

/* Descending by total latency, or by the interval's (qsort_r: servers sort
 * on their own threads at once). */
static int by_total(const void *a, const void *b, void *arg) {
  const work *w = arg;
  double x = w->rows[*(const size_t *)a].total[1];
  double y = w->rows[*(const size_t *)b].total[1];
  return x < y ? 1 : x > y ? -1 : 0;
}
static int by_delta(const void *a, const void *b, void *arg) {
  const work *w = arg;
  uint64_t x = w->rows[*(const size_t *)a].d[C_TIMER];
  uint64_t y = w->rows[*(const size_t *)b].d[C_TIMER];
  return x < y ? 1 : x > y ? -1 : 0;
}

static tower_metric *digest_metric(my_server *s, const work *w, const drow *x, const char *name) {
  tower_metric *m = my_metric(s, name);
  if (m && (tower_metric_add_tag(m, "schema", w->arena + x->schema) ||
            tower_metric_add_tag(m, "digest", w->arena + x->digest) ||
            (w->arena[x->text] && tower_metric_add_tag(m, "digest_text", w->arena + x->text)))) {
    tower_metric_free(m);
    m = NULL;
  }
  return m;
}

static void emit_totals(my_server *s, const work *w, size_t i) {
  const drow *x = &w->rows[i];
  tower_metric *m = digest_metric(s, w, x, "mysql_perf_schema");
  for (int k = 0; m && k < 12; k++)
    tower_metric_add_float(m, total_names[k], x->total[k]);
  my_emit(s, m);
}

static void emit_delta(my_server *s, const work *w, size_t i) {
  const drow *x = &w->rows[i];
  tower_metric *m = digest_metric(s, w, x, "mysql_statement_digest");
  if (!m)
    return;
  double secs = (double)x->d[C_TIMER] / PICO;
  tower_metric_set_type(m, TOWER_GAUGE);
  tower_metric_add_uint(m, "count", x->d[C_COUNT]);
  tower_metric_add_float(m, "latency_seconds", secs);
  tower_metric_add_float(m, "latency_avg_seconds", secs / (double)x->d[C_COUNT]);
  tower_metric_add_uint(m, "rows_examined", x->d[C_EXAMINED]);
  tower_metric_add_uint(m, "rows_sent", x->d[C_SENT]);
  tower_metric_add_uint(m, "errors", x->d[C_ERRORS]);
  tower_metric_add_uint(m, "no_index_used", x->d[C_NOINDEX]);
  my_emit(s, m);
}

/* The top perf_events_statements_limit rows: by total latency among those
 * seen within the time limit, or by the interval's latency among those
 * that ran in it. */
static void emit_top(my_server *s, work *w, bool deltas) {
  size_t n = 0;
  for (size_t i = 0; i < w->n; i++) {
    const drow *x = &w->rows[i];
    bool pick = deltas ? x->d[C_COUNT] > 0 : x->age <= s->opts->statements_time_limit;
    if (pick)
      w->order[n++] = i;
  }
  qsort_r(w->order, n, sizeof *w->order, deltas ? by_delta : by_total, w);
  size_t limit = (size_t)s->opts->statements_limit;
  for (size_t i = 0; i < n && i < limit; i++)
    (deltas ? emit_delta : emit_totals)(s, w, w->order[i]);
}

static int read_table(my_server *s, work *w, bool reset) {
  char sql[1024];
  snprintf(sql, sizeof sql,
           "SELECT IFNULL(SCHEMA_NAME, 'NONE'), IFNULL(DIGEST, 'NONE'), LEFT(DIGEST_TEXT, %lld), "
           "COUNT_STAR, SUM_TIMER_WAIT, SUM_ERRORS, SUM_WARNINGS, SUM_ROWS_AFFECTED, "
           "SUM_ROWS_SENT, SUM_ROWS_EXAMINED, SUM_CREATED_TMP_DISK_TABLES, "
           "SUM_CREATED_TMP_TABLES, SUM_SORT_MERGE_PASSES, SUM_SORT_ROWS, SUM_NO_INDEX_USED, "
           "TIMESTAMPDIFF(SECOND, LAST_SEEN, NOW()), FIRST_SEEN "
           "FROM performance_schema.events_statements_summary_by_digest "
           "WHERE SCHEMA_NAME IS NULL OR SCHEMA_NAME NOT IN ('mysql', 'performance_schema', "
           "'information_schema')",
           (long long)s->opts->digest_text_limit);
  const char *what = "performance_schema.events_statements_summary_by_digest";
  MYSQL_RES *r = my_query(s, what, sql);
  if (!r)
    return -EIO;
  MYSQL_ROW row;
  int rc = 0;
  while ((row = mysql_fetch_row(r)))
    if (rc == 0 && mysql_num_fields(r) == 17 && (rc = take_row(s, w, row, reset)))
      my_fail(s, what, "out of memory");
  int end = my_rows_end(s, what, r);
  return rc ? rc : end;
}

static work *work_of(my_server *s) {
  /* the arena, row and order arrays are reused between gathers */
  if (!s->digests.work)
    s->digests.work = calloc(1, sizeof(work));
  return s->digests.work;
}

int my_gather_digests(my_server *s) {
  work *w = work_of(s);
  if (!w) {
    my_fail(s, "statement digests", "out of memory");
    return -ENOMEM;
  }
  w->n = w->used = 0;
  w->next = NULL;
  w->next_cap = w->next_used = 0;
  bool restarted = s->digests.baseline && s->uptime < s->prev_uptime;
  int rc = read_table(s, w, restarted);
  if (rc) {
    free(w->next); /* keep the old baseline: the next gather compares to it */
    return rc;
  }
  size_t *order = realloc(w->order, (w->n ? w->n : 1) * sizeof *order);
  if (!order) {
    free(w->next);
    my_fail(s, "statement digests", "out of memory");
    return -ENOMEM;
  }
  w->order = order;
  emit_top(s, w, false);
  if (s->digests.baseline)
    emit_top(s, w, true);
  free(s->digests.slots);
  s->digests.slots = w->next;
  s->digests.cap = w->next_cap;
  s->digests.used = w->next_used;
  s->digests.baseline = true;
  s->prev_uptime = s->uptime;
  return 0;
}

void my_digests_free(my_digests *d) {
  work *w = d->work;
  if (w) {
    free(w->rows);
    free(w->arena);
    free(w->order);
    free(w);
  }
  free(d->slots);
  memset(d, 0, sizeof *d);
}
