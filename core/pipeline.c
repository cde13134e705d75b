/* Building and running a pipeline from a loaded config file. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_agent.h"
#include "config_view.h"
#include "options.h"
#include "pipeline.h"

static const char *const root_keys[] = {"agent",   "global_tags", "inputs", "processors",
                                        "outputs", "aggregators", NULL};

/* ---- building ---- */

/* The top-level settings of file i: the five known ones, and in a drop-in
 * file only the plugin lists. */
static void check_root(const twi_conf *conf, size_t file, twi_diag *d) {
  const config_setting_t *root = twi_conf_file_root(conf, file);
  bool drop_in = twi_conf_file_is_drop_in(conf, file);
  for (int i = 0; i < config_setting_length(root); i++) {
    const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
    const char *name = config_setting_name(s);
    bool known = false;
    for (size_t k = 0; root_keys[k]; k++)
      known |= strcmp(name, root_keys[k]) == 0;
    if (!known)
      twi_diag_error(d, s,
                     "unknown top-level setting \"%s\"; the file holds agent, global_tags, inputs, "
                     "processors, aggregators and outputs",
                     name);
    else if (drop_in && (!strcmp(name, "agent") || !strcmp(name, "global_tags")))
      twi_diag_error(d, s,
                     "%s cannot be set in a drop-in file (a file of --config-directory or of a "
                     "pattern @include), which only adds inputs, processors, aggregators and "
                     "outputs; set it "
                     "in %s",
                     name, twi_conf_path(conf));
  }
}

/* Two blocks of one plugin with the same alias would be one instance to the
 * operator reading logs and metrics (and share a buffer directory): the
 * alias is what tells instances apart. Unaliased twins stay allowed, as in
 * Telegraf. */
static void check_alias_unique(tower_ctx **list, size_t n, const config_setting_t *block,
                               const tower_ctx *ctx, twi_diag *d) {
  if (!ctx->alias)
    return;
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i]->id, ctx->id) == 0)
      twi_diag_error(d, config_setting_get_member(block, "alias"),
                     "%s is configured twice (alias \"%s\" is already used by another %s block); "
                     "give each block its own alias",
                     ctx->id, ctx->alias, twi_kind_dir(ctx->kind));
}

/* Two disk buffers in one directory would take each other's metrics, so
 * unaliased twins may not both keep one (aliased ones have directories of
 * their own names; equal aliases are refused above). */
static void check_buffer_dir_unique(tower_ctx **list, size_t n, const config_setting_t *block,
                                    const tower_ctx *ctx, twi_diag *d) {
  if (!ctx->buffer.disk || ctx->alias)
    return;
  const config_setting_t *at = config_setting_get_member(block, "buffer_strategy");
  for (size_t i = 0; i < n; i++)
    if (list[i]->buffer.disk && strcmp(list[i]->buffer.dir, ctx->buffer.dir) == 0)
      twi_diag_error(d, at ? at : block,
                     "%s: two blocks of this output without an alias keep a disk buffer, and "
                     "both would use %s; give each block its own alias = \"...\"",
                     ctx->id, ctx->buffer.dir);
}

/* The list `key` of file i, or NULL when absent or not a list. */
static const config_setting_t *file_list(const twi_conf *conf, size_t i, const char *key,
                                         twi_diag *d) {
  const config_setting_t *list = config_setting_get_member(twi_conf_file_root(conf, i), key);
  if (list && config_setting_type(list) != CONFIG_TYPE_LIST) {
    twi_diag_error(d, list, "%s must be a list ( { plugin = \"...\"; }, ... )", key);
    return NULL;
  }
  return list;
}

static void add_instance(twi_pipeline *pl, const config_setting_t *block, tower_plugin_kind kind,
                         tower_ctx **out, size_t *nout, twi_diag *d) {
  tower_ctx *ctx = twi_instance_new(pl->conf, block, kind, &pl->set, d);
  if (!ctx)
    return;
  check_alias_unique(out, *nout, block, ctx, d);
  if (kind == TOWER_OUTPUT)
    check_buffer_dir_unique(out, *nout, block, ctx, d);
  ctx->index = (int)*nout;
  ctx->owner = pl;
  out[(*nout)++] = ctx;
  if (kind == TOWER_OUTPUT && twi_output_create(ctx))
    twi_diag_error(d, block, "out of memory creating the output buffer");
  if (kind == TOWER_AGGREGATOR && twi_aggr_create(ctx))
    twi_diag_error(d, block, "out of memory creating the aggregator");
}

/* The blocks of every file's list of `kind`, file after file. */
static int build_list(twi_pipeline *pl, tower_plugin_kind kind, tower_ctx ***out, size_t *nout,
                      twi_diag *d) {
  const char *key = twi_kind_dir(kind);
  size_t files = twi_conf_files(pl->conf), total = 0;
  const config_setting_t **lists = calloc(files, sizeof *lists);
  if (!lists)
    return -ENOMEM;
  for (size_t f = 0; f < files; f++) {
    lists[f] = file_list(pl->conf, f, key, d);
    total += lists[f] ? (size_t)config_setting_length(lists[f]) : 0;
  }
  *out = total ? calloc(total + 1, sizeof **out) : NULL;
  for (size_t f = 0; *out && f < files; f++)
    for (int i = 0; lists[f] && i < config_setting_length(lists[f]); i++)
      add_instance(pl, config_setting_get_elem(lists[f], (unsigned)i), kind, *out, nout, d);
  free(lists);
  if (total && !*out)
    twi_diag_error(d, NULL, "out of memory building the %s", key);
  return total && !*out ? -ENOMEM : 0;
}

/* Telegraf's processor order: stable by `order` (default 0), ties in file
 * order. */
static int cmp_order(const void *a, const void *b) {
  const tower_ctx *x = *(tower_ctx *const *)a, *y = *(tower_ctx *const *)b;
  if (x->order != y->order)
    return x->order < y->order ? -1 : 1;
  return x->index - y->index;
}

/* Writers first: a reload waiting to retire a pipeline must not starve
 * behind a steady stream of commits. */
static void init_commit_lock(pthread_rwlock_t *lock) {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(lock, &attr);
  pthread_rwlockattr_destroy(&attr);
}

twi_pipeline *twi_pipeline_build(twi_conf *conf, const char *plugin_dir, twi_mode mode,
                                 twi_diag *d) {
  twi_pipeline *pl = calloc(1, sizeof *pl);
  if (!pl) {
    twi_diag_error(d, NULL, "out of memory");
    return NULL;
  }
  atomic_init(&pl->refs, 1);
  pl->conf = twi_conf_ref(conf);
  pl->mode = mode;
  pthread_mutex_init(&pl->test_lock, NULL);
  init_commit_lock(&pl->commit_lock);
  for (size_t i = 0; i < twi_conf_files(conf); i++)
    check_root(conf, i, d);
  /* An invalid agent block reads as defaults: its errors are reported with
   * those of the plugin blocks, in one pass. */
  if (twi_settings_load_conf(&pl->set, conf, d) != -ENOMEM) {
    if (plugin_dir && *plugin_dir) {
      free(pl->set.plugin_dir);
      pl->set.plugin_dir = strdup(plugin_dir);
    } else if (pl->set.plugin_dir && !*pl->set.plugin_dir) {
      free(pl->set.plugin_dir);
      pl->set.plugin_dir = strdup(TOWER_DEFAULT_PLUGIN_DIR);
    }
  }
  if (pl->set.plugin_dir) {
    build_list(pl, TOWER_OUTPUT, &pl->outputs, &pl->noutputs, d);
    build_list(pl, TOWER_PROCESSOR, &pl->processors, &pl->nprocessors, d);
    build_list(pl, TOWER_AGGREGATOR, &pl->aggregators, &pl->naggregators, d);
    build_list(pl, TOWER_INPUT, &pl->inputs, &pl->ninputs, d);
  }
  if (pl->nprocessors > 1)
    qsort(pl->processors, pl->nprocessors, sizeof *pl->processors, cmp_order);
  if (!d->errors && pl->ninputs == 0)
    twi_diag_error(d, NULL, "%s: no inputs configured; add inputs = ( { plugin = \"cpu\"; } );",
                   twi_conf_path(conf));
  if (!d->errors && pl->noutputs == 0 && mode != TWI_TEST)
    twi_diag_error(d, NULL,
                   "%s: no outputs configured; add outputs = ( { plugin = \"...\"; } ); (or run "
                   "with --test)",
                   twi_conf_path(conf));
  if (d->errors) {
    twi_pipeline_free(pl);
    return NULL;
  }
  return pl;
}

/* ---- running ---- */

void twi_pipeline_set_trial(twi_pipeline *pl) {
  tower_ctx **lists[] = {pl->inputs, pl->processors, pl->outputs, pl->aggregators};
  size_t counts[] = {pl->ninputs, pl->nprocessors, pl->noutputs, pl->naggregators};
  for (size_t l = 0; l < 4; l++)
    for (size_t i = 0; i < counts[l]; i++)
      lists[l][i]->trial = true;
}

int twi_pipeline_init(twi_pipeline *pl) {
  int rc = 0;
  if (pl->mode != TWI_TEST)
    for (size_t i = 0; i < pl->noutputs && rc == 0; i++)
      rc = twi_instance_init(pl->outputs[i]);
  for (size_t i = 0; i < pl->nprocessors && rc == 0; i++)
    rc = twi_instance_init(pl->processors[i]);
  for (size_t i = 0; i < pl->naggregators && rc == 0; i++)
    rc = twi_instance_init(pl->aggregators[i]);
  for (size_t i = 0; i < pl->ninputs && rc == 0; i++)
    rc = twi_instance_init(pl->inputs[i]);
  return rc;
}

static int check_list(tower_ctx **list, size_t n) {
  int failed = 0;
  for (size_t i = 0; i < n; i++) {
    list[i]->check_only = true;
    failed += twi_instance_init(list[i]) != 0;
  }
  return failed;
}

int twi_pipeline_check(twi_pipeline *pl) {
  return check_list(pl->outputs, pl->noutputs) + check_list(pl->processors, pl->nprocessors) +
         check_list(pl->aggregators, pl->naggregators) + check_list(pl->inputs, pl->ninputs);
}

/* How long an input's schedule or an output's flush thread may be away
 * before the watchdog calls it stalled: three of its intervals, and never
 * less than shutdown_timeout, the time the agent already grants a gather or
 * a final flush. A gather that legitimately takes long is its input's
 * business (it only delays that input), hence the generous bound; beyond
 * it, the thread is taken for hung. */
static void set_stall_after(tower_ctx *ctx, int64_t every, const twi_settings *set) {
  int64_t grace = every > INT64_MAX / 3 ? INT64_MAX : every * 3;
  atomic_store(&ctx->stall_after, grace > set->shutdown_timeout ? grace : set->shutdown_timeout);
}

const tower_ctx *twi_pipeline_stalled(const twi_pipeline *pl, int64_t now) {
  for (size_t k = 0; k < 2; k++) {
    tower_ctx *const *list = k ? pl->outputs : pl->inputs;
    size_t n = k ? pl->noutputs : pl->ninputs;
    for (size_t i = 0; i < n; i++) {
      if (!list[i] || list[i]->owner != pl)
        continue;
      int64_t due = atomic_load_explicit(&list[i]->due, memory_order_relaxed);
      if (due && now > due)
        return list[i];
    }
  }
  return NULL;
}

int twi_pipeline_start(twi_pipeline *pl) {
  for (size_t i = 0; i < pl->noutputs; i++)
    set_stall_after(pl->outputs[i], pl->outputs[i]->flush_interval, &pl->set);
  for (size_t i = 0; i < pl->ninputs; i++)
    set_stall_after(pl->inputs[i], pl->inputs[i]->interval, &pl->set);
  for (size_t i = 0; i < pl->noutputs; i++) {
    int rc = twi_output_start(pl->outputs[i]);
    if (rc)
      return rc;
  }
  for (size_t i = 0; i < pl->naggregators; i++) {
    int rc = twi_aggr_start(pl->aggregators[i], pl);
    if (rc)
      return rc;
  }
  int failed = 0;
  for (size_t i = 0; i < pl->ninputs; i++)
    if (!twi_input_running(pl->inputs[i]) && twi_input_start(pl->inputs[i], pl))
      failed++; /* logged; the other inputs go on */
  if (failed && failed == (int)pl->ninputs)
    return -EIO;
  if (pl->mode == TWI_RUN)
    twi_stats_set_running(pl);
  return 0;
}

/* Each input stops on a thread of its own, so that slow stops (a consumer
 * committing and leaving its group) overlap instead of adding up. An input
 * still stopping at the deadline is abandoned: its stopper frees itself,
 * and its reference keeps the instance alive until the stop returns. */
typedef struct stopper {
  tower_ctx *in;
  int64_t deadline;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool done, ok, abandoned;
} stopper;

static void stopper_free(stopper *s) {
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->cond);
  free(s);
}

static void *stop_one(void *arg) {
  stopper *s = arg;
  tower_ctx *in = s->in;
  bool ok = twi_input_stop(in, s->deadline);
  pthread_mutex_lock(&s->lock);
  bool orphan = s->abandoned;
  /* A waiter still waits: drop this thread's reference before it learns
   * the stop is done, or the pipeline could be freed and the plugins
   * unloaded while this thread still frees the instance. */
  if (!orphan)
    twi_instance_unref(in);
  s->ok = ok;
  s->done = true;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->lock);
  if (orphan) {
    stopper_free(s);
    twi_instance_unref(in);
  }
  return NULL;
}

static stopper *start_stopper(tower_ctx *in, int64_t deadline) {
  stopper *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->in = in;
  twi_instance_ref(in);
  s->deadline = deadline;
  pthread_mutex_init(&s->lock, NULL);
  twi_cond_init_mono(&s->cond);
  pthread_t t;
  if (pthread_create(&t, NULL, stop_one, s) != 0) {
    stop_one(s); /* no thread: stop it here */
    return s;
  }
  pthread_detach(t);
  return s;
}

/* While inputs stop, the outputs write what they are handed every
 * STOP_FLUSH_NS instead of at their next flush_interval: an input that
 * acknowledges its source only after delivery (inputs.kafka_consumer) waits
 * for it in its stop, before it leaves its Kafka group. */
#define STOP_FLUSH_NS (100 * 1000000LL)

/* Waits for one stopper (NULL: none could be made, stop the input here),
 * flushing the outputs meanwhile; false when the input must be abandoned. */
static bool await_stopper(twi_pipeline *pl, stopper *s, tower_ctx *in, int64_t deadline) {
  if (!s)
    return twi_input_stop(in, deadline);
  pthread_mutex_lock(&s->lock);
  for (int64_t now; !s->done && (now = tower_mono_ns()) < s->deadline;) {
    struct timespec ts =
        twi_timespec(now + STOP_FLUSH_NS < s->deadline ? now + STOP_FLUSH_NS : s->deadline);
    if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) != ETIMEDOUT)
      continue;
    pthread_mutex_unlock(&s->lock);
    twi_pipeline_flush_now(pl);
    pthread_mutex_lock(&s->lock);
  }
  bool done = s->done, ok = s->ok;
  s->abandoned = !done;
  pthread_mutex_unlock(&s->lock);
  if (!done) {
    tower_log(in, TOWER_LOG_ERROR, "still stopping when the shutdown timeout ended; abandoning it");
    return false;
  }
  stopper_free(s);
  return ok;
}

static bool owns(const twi_pipeline *pl, const tower_ctx *ctx) {
  return ctx && ctx->owner == pl;
}

static void stop_inputs(twi_pipeline *pl, int64_t deadline) {
  stopper *stack[64] = {0};
  stopper **st = pl->ninputs <= 64 ? stack : calloc(pl->ninputs, sizeof *st);
  for (size_t i = 0; i < pl->ninputs; i++)
    if (owns(pl, pl->inputs[i]))
      atomic_store(&pl->inputs[i]->stopping, true);
  for (size_t i = 0; i < pl->ninputs; i++)
    if (st && owns(pl, pl->inputs[i]))
      st[i] = start_stopper(pl->inputs[i], deadline);
  for (size_t i = 0; i < pl->ninputs; i++)
    if (owns(pl, pl->inputs[i]))
      await_stopper(pl, st ? st[i] : NULL, pl->inputs[i], deadline);
  if (st != stack)
    free(st);
}

size_t twi_pipeline_stop(twi_pipeline *pl) {
  twi_stats_unset_running(pl);
  int64_t timeout = pl->set.shutdown_timeout, deadline = tower_mono_ns() + timeout;
  stop_inputs(pl, deadline);
  /* Inputs a reload kept may be committing through this pipeline still;
   * their metrics must reach the outputs before those flush for the last
   * time. (They commit into the new pipeline after this.) */
  twi_pipeline_drain(pl);
  /* Telegraf pushes at shutdown too: what was aggregated so far reaches
   * the outputs' final flush. */
  twi_pipeline_push_aggregators(pl);
  /* However long the inputs took, the outputs get at least half of the
   * timeout for their final flush. */
  int64_t floor = tower_mono_ns() + timeout / 2;
  if (deadline < floor)
    deadline = floor;
  for (size_t i = 0; i < pl->noutputs; i++)
    if (owns(pl, pl->outputs[i])) {
      atomic_store(&pl->outputs[i]->stopping, true);
      twi_output_begin_stop(pl->outputs[i], deadline);
    }
  size_t lost = 0;
  for (size_t i = 0; i < pl->noutputs; i++) {
    tower_ctx *o = pl->outputs[i];
    if (!owns(pl, o))
      continue;
    if (!twi_output_stop(o, deadline)) {
      pl->outputs[i] = NULL; /* abandoned mid-write: its thread keeps it */
      continue;
    }
    lost += twi_output_unsaved(o); /* a disk buffer keeps the rest for the next start */
  }
  return lost;
}

void twi_pipeline_push_aggregators(twi_pipeline *pl) {
  for (size_t i = 0; i < pl->naggregators; i++) {
    tower_ctx *a = pl->aggregators[i];
    if (!a->initialized)
      continue;
    twi_aggr_stop(a);
    twi_aggr_push(a, pl);
  }
}

void twi_pipeline_drain(twi_pipeline *pl) {
  pthread_rwlock_wrlock(&pl->commit_lock);
  pthread_rwlock_unlock(&pl->commit_lock);
}

void twi_pipeline_flush_now(twi_pipeline *pl) {
  for (size_t i = 0; i < pl->noutputs; i++)
    if (pl->outputs[i])
      twi_output_flush_now(pl->outputs[i]);
}

static void free_list(tower_ctx **list, size_t n) {
  for (size_t i = 0; list && i < n; i++)
    twi_instance_unref(list[i]);
  free(list);
}

void twi_pipeline_ref(twi_pipeline *pl) {
  atomic_fetch_add(&pl->refs, 1);
}

void twi_pipeline_free(twi_pipeline *pl) {
  if (!pl || atomic_fetch_sub(&pl->refs, 1) != 1)
    return;
  free_list(pl->inputs, pl->ninputs);
  free_list(pl->processors, pl->nprocessors);
  free_list(pl->aggregators, pl->naggregators);
  free_list(pl->outputs, pl->noutputs);
  free_list(pl->spares, pl->spares ? pl->ninputs : 0);
  twi_settings_free(&pl->set);
  twi_conf_unref(pl->conf);
  pthread_mutex_destroy(&pl->test_lock);
  pthread_rwlock_destroy(&pl->commit_lock);
  free(pl);
}
