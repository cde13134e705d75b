/* One table's scan (README.md, "Scanning").
 *
 * With segments = N > 1 the table is read as a parallel scan: N threads,
 * each with its own libcurl handle, scan Segment 0..N-1 of TotalSegments N.
 * Each segment follows LastEvaluatedKey -> ExclusiveStartKey page after
 * page. A page is parsed, its items become metrics, and the page's JSON is
 * freed before the next request: only the compact metrics stay in memory.
 *
 * The table's metrics are held until every segment has reached the end of
 * the table (or max_items), and only then added to the accumulator: a scan
 * that fails half way adds nothing, so that a snapshot CSV never shows half
 * a table. When one segment fails the others are cancelled: their pages
 * would be thrown away.
 *
 * Throttling, 5xx and transport errors are retried with full-jitter
 * exponential backoff (the AWS SDKs' scheme) while the gather's time budget
 * lasts; the pauses end early at shutdown. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dynamodb.h"

/* Longest sleep between two looks at the stop flags. */
#define PAUSE_SLICE_NS (50 * NS_PER_MS)

typedef struct mvec {
  tower_metric **v;
  size_t n, cap;
} mvec;

/* Shared by the segments of one table's scan. */
typedef struct table_run {
  ddb_state *s;
  const ddb_table *t;
  const aws_creds *cr;
  int64_t deadline, time;
  atomic_bool cancel;
  _Atomic int64_t taken; /* items claimed against max_items */
  _Atomic unsigned pages, retries;
} table_run;

typedef struct segment {
  table_run *run;
  unsigned index;
  aws_conn *conn;
  ddb_scratch sc;
  mvec out;
  size_t items, skipped;
  char skip_reason[256];
  bool truncated, budget_out;
  unsigned attempts;
  uint64_t rng;
  aws_result res;
  pthread_t thread;
} segment;

static int mvec_push(mvec *v, tower_metric *m) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 256;
    tower_metric **nv = realloc(v->v, cap * sizeof *nv);
    if (!nv) {
      tower_metric_free(m);
      return -ENOMEM;
    }
    v->v = nv;
    v->cap = cap;
  }
  v->v[v->n++] = m;
  return 0;
}

static void mvec_free(mvec *v) {
  for (size_t i = 0; i < v->n; i++)
    tower_metric_free(v->v[i]);
  free(v->v);
  memset(v, 0, sizeof *v);
}

static void set_result(segment *g, aws_kind kind, const char *msg) {
  memset(&g->res, 0, sizeof g->res);
  g->res.kind = kind;
  snprintf(g->res.message, sizeof g->res.message, "%s", msg);
}

/* ---- stopping and pausing ------------------------------------------------------- */

/* True (with the result set) when the segment must stop now. */
static bool must_stop(segment *g) {
  table_run *r = g->run;
  if (atomic_load(&r->cancel))
    set_result(g, AWS_CANCELLED, "another segment failed");
  else if (tower_ctx_stopping(r->s->ctx))
    set_result(g, AWS_CANCELLED, "the agent is stopping");
  else if (tower_mono_ns() >= r->deadline)
    set_result(g, AWS_TIMEOUT, "the time budget ran out");
  else
    return false;
  return true;
}

/* Sleeps `ns` in slices; false when it had to stop early. */
static bool pause_for(segment *g, int64_t ns) {
  int64_t end = tower_mono_ns() + ns;
  for (int64_t now = tower_mono_ns(); now < end; now = tower_mono_ns()) {
    if (must_stop(g))
      return false;
    int64_t d = end - now < PAUSE_SLICE_NS ? end - now : PAUSE_SLICE_NS;
    struct timespec ts = {d / NS_PER_S, d % NS_PER_S};
    nanosleep(&ts, NULL);
  }
  return true;
}

/* ---- one page ---------------------------------------------------------------------- */

/* One request, retried while it is worth it. */
static void call(segment *g, const char *payload) {
  table_run *r = g->run;
  ddb_state *s = r->s;
  for (unsigned attempt = 0;; attempt++) {
    g->attempts = attempt + 1;
    aws_post(g->conn, "DynamoDB_20120810.Scan", payload, r->cr, r->deadline, &g->res);
    if (g->res.kind != AWS_RETRY || attempt >= (unsigned)s->max_retries)
      return;
    int64_t d = aws_backoff(s->backoff_base_ns, s->backoff_cap_ns, attempt, aws_next_rand(&g->rng));
    if (tower_mono_ns() + d >= r->deadline) {
      g->budget_out = true;
      return;
    }
    tower_debug(s->ctx, "table %s segment %u: %s%s%s (HTTP %ld); retry %u in %lld ms", r->t->name,
                g->index, g->res.type, *g->res.type ? ": " : "", g->res.message, g->res.status,
                attempt + 1, (long long)(d / NS_PER_MS));
    atomic_fetch_add(&r->retries, 1);
    if (!pause_for(g, d))
      return;
  }
}

/* Takes one item against max_items; false once the limit is reached. */
static bool claim(segment *g) {
  table_run *r = g->run;
  if (r->s->max_items <= 0)
    return true;
  return atomic_fetch_add(&r->taken, 1) < r->s->max_items;
}

static void skip(segment *g, const char *why) {
  if (g->skipped++ == 0)
    snprintf(g->skip_reason, sizeof g->skip_reason, "%s", why);
}

static int convert_page(segment *g, json_t *page) {
  table_run *r = g->run;
  json_t *items = json_object_get(page, "Items"), *item;
  size_t i;
  if (items && !json_is_array(items)) {
    set_result(g, AWS_FATAL, "the response's Items is not a JSON array");
    return -EINVAL;
  }
  json_array_foreach(items, i, item) {
    if (!claim(g)) {
      g->truncated = true;
      return 0;
    }
    tower_metric *m;
    char err[256];
    int rc =
        ddb_item_metric(&r->s->cv, r->t->measurement, item, r->time, &g->sc, &m, err, sizeof err);
    if (rc == -EINVAL)
      skip(g, err);
    else if (rc || mvec_push(&g->out, m)) {
      set_result(g, AWS_FATAL, "out of memory converting items");
      return -ENOMEM;
    }
    g->items += rc == 0;
  }
  return 0;
}

/* Parses and converts the page in the connection's buffer; returns the
 * page's LastEvaluatedKey (a new reference) or NULL at the end. */
static json_t *take_page(segment *g, bool *ok) {
  tower_buf *b = g->conn->body;
  json_error_t je;
  json_t *page = json_loadb(tower_buf_data(b), tower_buf_len(b), 0, &je), *next = NULL;
  *ok = false;
  if (!page || !json_is_object(page)) {
    char msg[300];
    snprintf(msg, sizeof msg, "the response is not a JSON object (%s)",
             page ? "another JSON value" : je.text);
    set_result(g, AWS_FATAL, msg);
  } else if (convert_page(g, page) == 0) {
    *ok = true;
    atomic_fetch_add(&g->run->pages, 1);
    json_t *lek = json_object_get(page, "LastEvaluatedKey");
    if (json_is_object(lek) && json_object_size(lek) > 0)
      next = json_incref(lek);
  }
  json_decref(page); /* the page's JSON goes before the next request */
  return next;
}

/* ---- one segment ------------------------------------------------------------------- */

static json_t *segment_request(segment *g) {
  table_run *r = g->run;
  json_t *req = json_deep_copy(r->s->request);
  if (!req || json_object_set_new(req, "TableName", json_string(r->t->name)))
    goto fail;
  if (r->s->segments > 1 &&
      (json_object_set_new(req, "Segment", json_integer(g->index)) ||
       json_object_set_new(req, "TotalSegments", json_integer(r->s->segments))))
    goto fail;
  return req;
fail:
  json_decref(req);
  set_result(g, AWS_FATAL, "out of memory building the request");
  return NULL;
}

/* Limit for the next page: page_size, but no more than max_items still
 * allows. 0: stop (max_items reached). -1: send no Limit. */
static int64_t next_limit(segment *g) {
  ddb_state *s = g->run->s;
  int64_t limit = s->page_size > 0 ? s->page_size : -1;
  if (s->max_items > 0) {
    int64_t left = s->max_items - atomic_load(&g->run->taken);
    if (left <= 0)
      return 0;
    if (limit < 0 || left < limit)
      limit = left;
  }
  return limit;
}

/* Sets Limit and ExclusiveStartKey; the payload text (malloc'd) or NULL. */
static char *page_payload(segment *g, json_t *req, json_t *start, int64_t limit) {
  if (limit > 0)
    json_object_set_new(req, "Limit", json_integer(limit));
  else
    json_object_del(req, "Limit");
  if (start)
    json_object_set(req, "ExclusiveStartKey", start);
  char *p = json_dumps(req, JSON_COMPACT);
  if (!p)
    set_result(g, AWS_FATAL, "out of memory building the request");
  return p;
}

static void scan_pages(segment *g, json_t *req) {
  json_t *start = NULL;
  bool ok = true;
  for (;;) {
    if (must_stop(g))
      break;
    int64_t limit = next_limit(g);
    if (limit == 0) {
      /* max_items was reached (by this or another segment) before this
       * segment's end: the table may have more. */
      g->truncated = true;
      break;
    }
    char *payload = page_payload(g, req, start, limit);
    if (!payload)
      break;
    call(g, payload);
    free(payload);
    json_decref(start);
    start = NULL;
    if (g->res.kind != AWS_OK)
      break;
    start = take_page(g, &ok);
    if (!ok || !start || g->truncated)
      break;
  }
  json_decref(start);
}

static void *segment_main(void *arg) {
  segment *g = arg;
  json_t *req = segment_request(g);
  if (req)
    scan_pages(g, req);
  json_decref(req);
  if (g->res.kind != AWS_OK)
    atomic_store(&g->run->cancel, true);
  return NULL;
}

/* ---- the table ---------------------------------------------------------------------- */

static int segments_init(segment *segs, table_run *run) {
  ddb_state *s = run->s;
  uint64_t seed = (uint64_t)tower_mono_ns() ^ (uint64_t)(uintptr_t)segs;
  for (unsigned i = 0; i < s->segments; i++) {
    segment *g = &segs[i];
    *g = (segment){.run = run, .index = i, .conn = &s->conns[i], .rng = seed + i};
    g->conn->cancel = &run->cancel;
    if (ddb_scratch_init(&g->sc))
      return -ENOMEM;
  }
  return 0;
}

static void segments_run(segment *segs, unsigned n) {
  if (n == 1) {
    segment_main(&segs[0]);
    return;
  }
  bool started[64] = {false};
  for (unsigned i = 0; i < n; i++)
    started[i] = pthread_create(&segs[i].thread, NULL, segment_main, &segs[i]) == 0;
  for (unsigned i = 0; i < n; i++) {
    if (started[i])
      pthread_join(segs[i].thread, NULL);
    else
      set_result(&segs[i], AWS_FATAL, "cannot start a thread for the segment");
  }
}

/* The segment whose failure explains the table's: a real error before a
 * cancellation caused by it. NULL when all succeeded. */
static const segment *failure(const segment *segs, unsigned n) {
  const segment *cancelled = NULL;
  for (unsigned i = 0; i < n; i++) {
    if (segs[i].res.kind == AWS_CANCELLED && !cancelled)
      cancelled = &segs[i];
    else if (segs[i].res.kind != AWS_OK && segs[i].res.kind != AWS_CANCELLED)
      return &segs[i];
  }
  return cancelled;
}

static void summarize(const segment *segs, unsigned n, table_run *run, ddb_table_result *res) {
  memset(res, 0, sizeof *res);
  for (unsigned i = 0; i < n; i++) {
    res->items += segs[i].items;
    res->truncated |= segs[i].truncated;
    if (segs[i].skipped && !res->skipped)
      snprintf(res->skip_reason, sizeof res->skip_reason, "%s", segs[i].skip_reason);
    res->skipped += segs[i].skipped;
  }
  res->pages = atomic_load(&run->pages);
  res->retries = atomic_load(&run->retries);
  const segment *f = failure(segs, n);
  if (f) {
    res->fail = f->res;
    res->attempts = f->attempts;
    res->budget_out = f->budget_out;
  }
}

/* All or nothing: every metric of every segment, in segment order. */
static void deliver(segment *segs, unsigned n, bool ok, tower_acc *acc) {
  for (unsigned i = 0; i < n; i++) {
    if (ok) {
      for (size_t k = 0; k < segs[i].out.n; k++)
        tower_acc_add(acc, segs[i].out.v[k]);
      segs[i].out.n = 0;
    }
    mvec_free(&segs[i].out);
  }
}

void ddb_scan_table(ddb_state *s, const ddb_table *t, const aws_creds *cr, tower_acc *acc,
                    int64_t deadline, ddb_table_result *res) {
  table_run run = {.s = s, .t = t, .cr = cr, .deadline = deadline, .time = tower_acc_time(acc)};
  segment *segs = calloc(s->segments, sizeof *segs);
  int rc = segs ? segments_init(segs, &run) : -ENOMEM;
  if (rc == 0)
    segments_run(segs, s->segments);
  if (rc == 0) {
    summarize(segs, s->segments, &run, res);
  } else {
    memset(res, 0, sizeof *res);
    res->fail.kind = AWS_FATAL;
    snprintf(res->fail.message, sizeof res->fail.message, "out of memory");
  }
  for (unsigned i = 0; segs && i < s->segments; i++) {
    s->conns[i].cancel = NULL;
    ddb_scratch_fini(&segs[i].sc);
  }
  if (segs)
    deliver(segs, s->segments, res->fail.kind == AWS_OK, acc);
  free(segs);
}
