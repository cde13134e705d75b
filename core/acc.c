/* Accumulators: where inputs and processors put metrics, and the commit that
 * moves a gather's metrics through the processors into the output buffers.
 *
 * Order of the input-side steps follows Telegraf: the input's selectors and
 * modifiers first (they see the metric as gathered), then its renames and
 * tags, then the global tags and the host tag (a tag the metric already has
 * wins).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format_internal.h"
#include "log_internal.h"
#include "metric_internal.h"
#include "pipeline.h"

typedef struct mvec {
  tower_metric **v;
  size_t n, cap;
} mvec;

typedef enum { ACC_INPUT, ACC_NEXT } acc_kind;

struct tower_acc {
  acc_kind kind;
  tower_ctx *ctx;                   /* the input, or the processor for ACC_NEXT */
  twi_pipeline *pl;                 /* ACC_INPUT: referenced; only the input's thread changes it */
  _Atomic(twi_pipeline *) handover; /* referenced; the pipeline to feed next */
  mvec pending, scratch;
  mvec *next_out; /* ACC_NEXT: where the processor's metrics go */
  int64_t time;
  bool service, discard;
  _Atomic uint64_t errors;
};

static _Atomic uint64_t next_gather_id = 1;

static int mvec_push(mvec *v, tower_metric *m) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 64;
    tower_metric **nv = realloc(v->v, cap * sizeof *nv);
    if (!nv)
      return -ENOMEM;
    v->v = nv;
    v->cap = cap;
  }
  v->v[v->n++] = m;
  return 0;
}

static void mvec_clear(mvec *v) {
  for (size_t i = 0; i < v->n; i++)
    tower_metric_free(v->v[i]);
  v->n = 0;
}

tower_acc *twi_acc_new_input(tower_ctx *input, twi_pipeline *pl, bool service) {
  tower_acc *acc = calloc(1, sizeof *acc);
  if (!acc)
    return NULL;
  acc->kind = ACC_INPUT;
  acc->ctx = input;
  acc->pl = pl;
  twi_pipeline_ref(pl);
  acc->service = service;
  acc->time = tower_now();
  return acc;
}

void twi_acc_free(tower_acc *acc) {
  if (!acc)
    return;
  mvec_clear(&acc->pending);
  mvec_clear(&acc->scratch);
  free(acc->pending.v);
  free(acc->scratch.v);
  if (acc->kind == ACC_INPUT) {
    twi_pipeline_free(atomic_exchange(&acc->handover, NULL));
    twi_pipeline_free(acc->pl);
  }
  free(acc);
}

void twi_acc_hand_over(tower_acc *acc, twi_pipeline *pl) {
  twi_pipeline_ref(pl);
  twi_pipeline_free(atomic_exchange(&acc->handover, pl)); /* a reload not taken yet */
}

/* On the input's own thread, between commits: feed the pipeline a reload
 * handed over. Dropping the old one may free it (and the instances only it
 * still holds) right here. */
static void take_handover(tower_acc *acc) {
  if (!atomic_load_explicit(&acc->handover, memory_order_relaxed))
    return;
  twi_pipeline *next = atomic_exchange(&acc->handover, NULL);
  if (!next)
    return;
  twi_pipeline *prev = acc->pl;
  acc->pl = next;
  twi_pipeline_free(prev);
}

/* Go's time.Round: halfway away from zero. */
static int64_t round_to(int64_t t, int64_t precision) {
  if (precision <= 1)
    return t;
  int64_t r = t % precision;
  if (r < 0)
    r += precision;
  int64_t down = t - r;
  return r * 2 >= precision ? down + precision : down;
}

void twi_acc_begin(tower_acc *acc, int64_t time_ns) {
  if (acc->pending.n == 0)
    take_handover(acc);
  acc->time = round_to(time_ns, acc->ctx->precision);
}

void twi_acc_set_discard(tower_acc *acc, bool discard) {
  acc->discard = discard;
}
uint64_t twi_acc_errors(const tower_acc *acc) {
  return atomic_load(&acc->errors);
}

twi_pipeline *twi_acc_pipeline(const tower_acc *acc) {
  return acc->kind == ACC_INPUT ? acc->pl : NULL;
}
int64_t tower_acc_time(const tower_acc *acc) {
  return acc->service ? tower_now() : acc->time;
}

void tower_acc_error(tower_acc *acc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tower_vlog(acc->ctx, TOWER_LOG_ERROR, fmt, ap);
  va_end(ap);
  atomic_fetch_add(&acc->errors, 1);
  atomic_fetch_add(&acc->ctx->stats.errors, 1);
}

/* name_override/prefix/suffix and the instance's tags (a tag the metric
 * has wins), on an unshared metric. 0 or -ENOMEM. */
static int apply_renames(const tower_ctx *ctx, tower_metric *m) {
  int rc = 0;
  if (ctx->name_override || ctx->name_prefix || ctx->name_suffix) {
    const char *base = ctx->name_override ? ctx->name_override : tower_metric_name(m);
    const char *pre = ctx->name_prefix ? ctx->name_prefix : "";
    const char *suf = ctx->name_suffix ? ctx->name_suffix : "";
    size_t len = strlen(pre) + strlen(base) + strlen(suf) + 1;
    char stackbuf[256];
    char *name = len <= sizeof stackbuf ? stackbuf : malloc(len);
    if (!name)
      return -ENOMEM;
    snprintf(name, len, "%s%s%s", pre, base, suf);
    rc = tower_metric_set_name(m, name);
    if (name != stackbuf)
      free(name);
  }
  for (size_t i = 0; rc == 0 && i < ctx->ntags; i++)
    if (!tower_metric_tag(m, ctx->tag_keys[i]))
      rc = tower_metric_add_tag(m, ctx->tag_keys[i], ctx->tag_values[i]);
  return rc;
}

/* Global tags, then host: added unless the metric has them. */
static int add_agent_tags(const twi_settings *set, tower_metric *m) {
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < set->nglobal; i++)
    if (!tower_metric_tag(m, set->global_keys[i]))
      rc = tower_metric_add_tag(m, set->global_keys[i], set->global_values[i]);
  if (rc == 0 && set->hostname && *set->hostname && !tower_metric_tag(m, "host"))
    rc = tower_metric_add_tag(m, "host", set->hostname);
  return rc;
}

/* The input-side steps for one metric. Returns false when it is dropped. */
static bool prepare_input_metric(tower_acc *acc, tower_metric *m) {
  tower_ctx *ctx = acc->ctx;
  /* A service input has no gather: its metrics are as old as their receipt. */
  if (tower_metric_time(m) == TOWER_TIME_UNSET)
    tower_metric_set_time(m, acc->service ? tower_now() : acc->time);
  else if (!acc->service)
    tower_metric_set_time(m, round_to(tower_metric_time(m), ctx->precision));
  if (!twi_selector_select(&ctx->sel, m) || !twi_selector_modify(&ctx->sel, m))
    return false;
  if (ctx->renames && apply_renames(ctx, m))
    return false;
  return add_agent_tags(&acc->pl->set, m) == 0;
}

int tower_acc_add(tower_acc *acc, tower_metric *m) {
  if (!m)
    return -EINVAL;
  if (acc->kind == ACC_NEXT) {
    if (tower_metric_time(m) == TOWER_TIME_UNSET)
      tower_metric_set_time(m, acc->time);
    int rc = mvec_push(acc->next_out, m);
    if (rc)
      tower_metric_free(m);
    return rc;
  }
  if (acc->pending.n == 0)
    take_handover(acc); /* so that the global tags are the new ones */
  if (acc->discard || tower_metric_is_shared(m) || !prepare_input_metric(acc, m)) {
    tower_metric_free(m);
    return 0;
  }
  /* With no processor to change it, the metric takes its buffered form
   * now, while it is in the cache: the block the parser built goes back to
   * malloc before the next metric of a large gather takes one, so a gather
   * never holds its metrics twice (unpacked, then packed beside holes that
   * keep the heap's pages resident). */
  if (acc->pl->nprocessors == 0)
    twi_metric_pack(&m); /* on ENOMEM the unpacked metric is kept */
  int rc = mvec_push(&acc->pending, m);
  if (rc) {
    tower_metric_free(m);
    tower_log(acc->ctx, TOWER_LOG_ERROR, "out of memory: a metric was lost");
    return rc;
  }
  atomic_fetch_add(&acc->ctx->stats.metrics, 1);
  return 0;
}

int tower_acc_sink(void *acc, tower_metric *m) {
  return tower_acc_add(acc, m);
}

/* ---- processors ---- */

/* Whether process() put the metric that was at address `m` into `out`. */
static bool passed_on(const mvec *out, size_t from, uintptr_t m) {
  for (size_t i = from; i < out->n; i++)
    if ((uintptr_t)out->v[i] == m)
      return true;
  return false;
}

/* Runs one processor over `in`, leaving its result in `out`. Metrics its
 * selectors do not pick pass by unchanged, as in Telegraf. */
static void run_processor(tower_ctx *p, mvec *in, mvec *out, int64_t time) {
  tower_acc next = {.kind = ACC_NEXT, .ctx = p, .next_out = out, .time = time};
  pthread_mutex_lock(&p->process_lock);
  for (size_t i = 0; i < in->n; i++) {
    tower_metric *m = in->v[i];
    in->v[i] = NULL;
    if (!twi_selector_select(&p->sel, m)) {
      if (mvec_push(out, m))
        tower_metric_free(m);
      continue;
    }
    if (!twi_selector_modify(&p->sel, m)) {
      tower_metric_free(m);
      continue;
    }
    size_t before = out->n;
    uintptr_t given = (uintptr_t)m; /* compared afterwards only: m may be freed */
    uint64_t reported = atomic_load(&next.errors);
    int rc = p->plugin->desc.process(p->state, m, &next);
    /* One error per failed call, unless the plugin reported it (plugin.h). */
    if (rc < 0 && atomic_load(&next.errors) == reported)
      tower_acc_error(&next, "process failed: %s; the metric was %s", strerror(-rc),
                      passed_on(out, before, given) ? "passed on" : "dropped");
  }
  pthread_mutex_unlock(&p->process_lock);
  in->n = 0;
}

static void run_processors(tower_acc *acc) {
  twi_pipeline *pl = acc->pl;
  for (size_t i = 0; i < pl->nprocessors; i++) {
    run_processor(pl->processors[i], &acc->pending, &acc->scratch, acc->time);
    mvec t = acc->pending;
    acc->pending = acc->scratch;
    acc->scratch = t;
  }
}

/* ---- fan-out ---- */

/* The metric as output `o` receives it: shared when the output changes
 * nothing, else a private copy. NULL when the output filters it out. */
static tower_metric *for_output(tower_ctx *o, tower_metric *m) {
  if (!twi_selector_select(&o->sel, m)) {
    atomic_fetch_add(&o->stats.filtered, 1);
    return NULL;
  }
  if (!o->renames && !twi_selector_would_modify(&o->sel, m))
    return (tower_metric *)tower_metric_retain(m);
  tower_metric *c = tower_metric_clone(m);
  if (c && twi_selector_modify(&o->sel, c) && apply_renames(o, c) == 0 && twi_metric_pack(&c) == 0)
    return c;
  if (c)
    atomic_fetch_add(&o->stats.filtered, 1);
  tower_metric_free(c);
  return NULL;
}

static void deliver(twi_pipeline *pl, mvec *ms, twi_ticket *ticket) {
  tower_metric *stack[256];
  for (size_t oi = 0; oi < pl->noutputs; oi++) {
    tower_ctx *o = pl->outputs[oi];
    tower_metric **sel = ms->n <= 256 ? stack : malloc(ms->n * sizeof *sel);
    if (!sel) {
      tower_log(o, TOWER_LOG_ERROR, "out of memory: %zu metric%s lost", ms->n, twi_s(ms->n));
      atomic_fetch_add(&o->stats.dropped, ms->n);
      continue;
    }
    size_t k = 0;
    for (size_t i = 0; i < ms->n; i++) {
      tower_metric *c = for_output(o, ms->v[i]);
      if (c)
        sel[k++] = c;
    }
    if (k)
      twi_output_push(o, sel, k, ticket);
    if (sel != stack)
      free(sel);
  }
}

static void print_test(twi_pipeline *pl, mvec *ms) {
  tower_buf *b = tower_buf_new(4096);
  if (!b)
    return;
  for (size_t i = 0; i < ms->n; i++)
    tower_lp_write(ms->v[i], b, TOWER_LP_UINT, 1);
  pthread_mutex_lock(&pl->test_lock);
  fwrite(tower_buf_data(b), 1, tower_buf_len(b), pl->test_out);
  fflush(pl->test_out);
  pthread_mutex_unlock(&pl->test_lock);
  tower_buf_free(b);
}

/* ---- aggregators ---- */

/* Offers every metric to every aggregator; removes the originals one of
 * them asked to drop. */
static void run_aggregators(twi_pipeline *pl, mvec *ms) {
  if (!pl->naggregators)
    return;
  size_t k = 0;
  for (size_t i = 0; i < ms->n; i++) {
    bool drop = false;
    for (size_t a = 0; a < pl->naggregators; a++)
      drop |= twi_aggr_add(pl->aggregators[a], ms->v[i]);
    if (drop)
      tower_metric_free(ms->v[i]);
    else
      ms->v[k++] = ms->v[i];
  }
  ms->n = k;
}

tower_acc *twi_acc_new_collector(tower_ctx *ctx, int64_t time) {
  tower_acc *acc = calloc(1, sizeof *acc);
  if (!acc)
    return NULL;
  acc->kind = ACC_NEXT;
  acc->ctx = ctx;
  acc->next_out = &acc->pending;
  acc->time = time;
  return acc;
}

tower_metric **twi_acc_take(tower_acc *acc, size_t *n) {
  tower_metric **v = acc->pending.v;
  *n = acc->pending.n;
  acc->pending = (mvec){0};
  return v;
}

void twi_pipeline_deliver(twi_pipeline *pl, tower_ctx *from, tower_metric **v, size_t n) {
  mvec ms = {.v = v, .n = n, .cap = n};
  uint64_t id = atomic_fetch_add(&next_gather_id, 1);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (tower_metric_is_shared(v[i]) || (from->renames && apply_renames(from, v[i]))) {
      tower_metric_free(v[i]); /* a plugin's retained metric, or no memory */
      continue;
    }
    twi_metric_pack(&v[i]);
    twi_metric_set_gather_id(v[i], id);
    v[k++] = v[i];
  }
  ms.n = k;
  if (pl->mode == TWI_TEST)
    print_test(pl, &ms);
  else
    deliver(pl, &ms, NULL);
  for (size_t i = 0; i < ms.n; i++)
    tower_metric_free(ms.v[i]);
}

/* Locks the pipeline to commit into. A reload publishes the handover before
 * it drains the pipeline it retires, so a commit that locks the old one
 * after the drain sees the handover here and moves on. */
static twi_pipeline *lock_for_commit(tower_acc *acc) {
  for (;;) {
    twi_pipeline *pl = acc->pl;
    pthread_rwlock_rdlock(&pl->commit_lock);
    if (!atomic_load(&acc->handover))
      return pl;
    pthread_rwlock_unlock(&pl->commit_lock);
    take_handover(acc);
  }
}

/* The commit itself; `ticket` (may be NULL) follows the metrics into the
 * outputs. */
static int commit(tower_acc *acc, twi_ticket *ticket) {
  if (acc->kind != ACC_INPUT)
    return 0;
  if (acc->pending.n == 0) {
    take_handover(acc);
    return 0;
  }
  twi_pipeline *pl = lock_for_commit(acc);
  run_processors(acc);
  run_aggregators(pl, &acc->pending);
  mvec *ms = &acc->pending;
  uint64_t id = atomic_fetch_add(&next_gather_id, 1);
  for (size_t i = 0; i < ms->n; i++) {
    twi_metric_pack(&ms->v[i]); /* on ENOMEM the unpacked metric is kept */
    twi_metric_set_gather_id(ms->v[i], id);
  }
  if (pl->mode == TWI_TEST)
    print_test(pl, ms);
  else
    deliver(pl, ms, ticket);
  pthread_rwlock_unlock(&pl->commit_lock);
  mvec_clear(ms);
  return 0;
}

int tower_acc_commit(tower_acc *acc) {
  return commit(acc, NULL);
}

int tower_acc_commit_tracked(tower_acc *acc, tower_delivered_fn done, void *arg) {
  twi_ticket *t = done ? twi_ticket_new(done, arg) : NULL;
  if (done && !t) { /* no memory to track it: say so at once, nothing delivered */
    tower_delivery d = {.pending = acc->pending.n};
    done(arg, &d);
    return -ENOMEM;
  }
  int rc = commit(acc, t);
  if (t) /* the committer's hold: outputs hold it now, or it completes here */
    twi_ticket_release(t, 0, 0, 0);
  return rc;
}
