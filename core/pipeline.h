/* The pipeline: instances built from one config file, and how they run.
 *
 *   inputs --(tower_acc: select, modify, rename, tags)--> processors in order
 *          --> aggregators (add; push at each window's end, aggregate.c)
 *          --(fan-out, shared refcounted metrics)--> output buffers
 *   output thread: flush timer / full batch / SIGUSR1 -> write -> OK|RETRY|DROP
 *
 * Every input has its own thread; every output has its own buffer and flush
 * thread; processors run on the input's thread under a per-processor lock.
 * A pipeline's structure is immutable while its inputs run. A reload builds
 * a new pipeline that shares the unchanged instances of the old one (see
 * reload.c for who owns what while both exist).
 *
 * Lifetimes. Pipelines and instances are reference counted: a pipeline
 * holds a reference on every instance it lists, and every input
 * accumulator holds one on the pipeline it commits into, so a commit in
 * flight (or a gather abandoned at shutdown) never sees freed memory. Which
 * pipeline *runs* an instance (starts it, stops it, flushes it at the end)
 * is a separate question, answered by ctx->owner.
 */
#ifndef TOWER_PIPELINE_H
#define TOWER_PIPELINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <tower/plugin.h>

#include "buffer.h"
#include "clock.h"
#include "conf.h"
#include "config_agent.h"
#include "delivery.h"
#include "diag.h"
#include "loader.h"
#include "log_internal.h"
#include "select.h"

typedef struct twi_output_rt twi_output_rt;
typedef struct twi_aggr_rt twi_aggr_rt;
typedef struct twi_input_rt twi_input_rt;
typedef struct twi_pipeline twi_pipeline;

/* Counters, read by inputs.internal and the tests. */
typedef struct twi_stats {
  _Atomic uint64_t metrics;     /* inputs: gathered; outputs: added to the buffer */
  _Atomic uint64_t written;     /* outputs */
  _Atomic uint64_t dropped;     /* outputs: overflow, DROP, rejected */
  _Atomic uint64_t filtered;    /* outputs: not selected */
  _Atomic uint64_t rejected;    /* outputs: partial writes */
  _Atomic uint64_t errors;      /* gather errors / failed writes */
  _Atomic uint64_t overruns;    /* inputs: gathers longer than the interval */
  _Atomic int64_t last_time_ns; /* duration of the last gather / write */
  _Atomic int64_t buffer_size;  /* outputs */
  /* outputs with a disk buffer (buffer.h: twi_buffer_stats) */
  _Atomic uint64_t disk_bytes, disk_records, disk_replayed, disk_corrupt, disk_unsaved;
  /* For health checks (TOWER_STATS_HEALTH), kept by twi_stats_outcome and
   * twi_stats_started. */
  _Atomic uint64_t errors_in_row; /* failed gathers / writes since the last good one */
  _Atomic int64_t last_ok_ns;     /* wall clock of the last good gather / write; 0: none */
  _Atomic int64_t started_ns;     /* wall clock the input / output started; 0: not started */
  _Atomic uint64_t pushed;        /* aggregators: summaries pushed */
  _Atomic uint64_t series;        /* aggregators: series held (the plugin's report) */
  _Atomic uint64_t refused;       /* aggregators: metrics refused beyond max series */
} twi_stats;

/* One configured plugin instance. This is what plugins see as tower_ctx. */
struct tower_ctx {
  twi_log_src log; /* first: the logger reads it (log_internal.h) */
  char *id;        /* "inputs.cpu" or "inputs.cpu:alias" (log.id too) */
  char *alias;     /* NULL when unset */
  char *hostname;
  tower_plugin_kind kind;
  const twi_plugin *plugin;
  twi_conf *conf; /* keeps the config tree alive for cfg */
  tower_config *cfg;
  void *state;
  bool initialized;
  bool check_only;           /* --config-check: init validates, acquires nothing */
  bool trial;                /* --test, --once: acknowledge nothing to a source */
  _Atomic unsigned refs;     /* pipelines listing it, threads abandoned with it */
  const twi_pipeline *owner; /* the pipeline that starts and stops it */
  char *fingerprint;         /* inputs, outputs: equal means unchanged by a reload */
  _Atomic bool stopping;
  int index; /* position in its list, for ordering */

  /* common options */
  twi_selector sel;
  const char *name_override, *name_prefix, *name_suffix;
  const char **tag_keys, **tag_values; /* `tags`, borrowed from cfg */
  size_t ntags;
  bool renames; /* any of the three set, or tags */

  /* inputs */
  int64_t interval, precision, jitter, offset;
  bool round_interval;
  twi_input_rt *in;

  /* processors */
  int64_t order;
  pthread_mutex_t process_lock;

  /* aggregators (interval is the period) */
  int64_t delay, grace;
  bool drop_original;
  twi_aggr_rt *aggr;

  /* outputs */
  int64_t flush_interval, flush_jitter, backoff_min, backoff_max;
  int64_t batch_size, buffer_limit;
  twi_buffer_conf buffer; /* buffer_strategy and the disk buffer's settings */
  _Atomic int64_t retry_after;
  twi_output_rt *out;

  /* Liveness, for the service manager's watchdog (twi_pipeline_stalled):
   * the input's schedule thread or the output's flush thread is overdue
   * after `due` (CLOCK_MONOTONIC ns; 0 while no thread of ours runs it),
   * which it moves on with twi_heartbeat before every wait and call. */
  _Atomic int64_t due;
  _Atomic int64_t stall_after; /* the grace past the moment it was due back */

  twi_stats stats;
};

/* The calling thread is back by `mono` (the end of the wait it starts, or
 * the start of the plugin call it makes): it is stalled when still away
 * stall_after later. */
static inline void twi_heartbeat(tower_ctx *ctx, int64_t mono) {
  int64_t grace = atomic_load_explicit(&ctx->stall_after, memory_order_relaxed);
  int64_t due = mono > INT64_MAX - grace ? INT64_MAX : mono + grace;
  atomic_store_explicit(&ctx->due, due, memory_order_relaxed);
}
/* The thread ended: nothing to watch. */
static inline void twi_heartbeat_end(tower_ctx *ctx) {
  atomic_store_explicit(&ctx->due, 0, memory_order_relaxed);
}

/* How a pipeline delivers. */
typedef enum twi_mode {
  TWI_RUN = 0,  /* daemon: output threads */
  TWI_TEST = 1, /* --test: line protocol to a stream, no outputs */
  TWI_ONCE = 2, /* --once: outputs written synchronously by the caller */
} twi_mode;

struct twi_pipeline {
  _Atomic unsigned refs; /* the agent's, and one per input accumulator */
  twi_conf *conf;
  twi_settings set;
  twi_mode mode;
  tower_ctx **inputs, **processors, **outputs, **aggregators;
  size_t ninputs, nprocessors, noutputs, naggregators;
  /* Commits hold it shared; a reload takes it exclusively once to wait for
   * the commits still running through a pipeline it retires. */
  pthread_rwlock_t commit_lock;
  /* Per input: the fresh instance that an adopted one replaced, kept (not
   * initialized) in case the reload fails and the adopted one goes back. */
  tower_ctx **spares;
  /* TWI_TEST */
  FILE *test_out;
  pthread_mutex_t test_lock;
};

/* ---- instances (instance.c) ---- */

/* Builds an instance for `block` (validated against the plugin's tables)
 * without calling init. NULL when the block is invalid (problems in d). */
tower_ctx *twi_instance_new(twi_conf *conf, const config_setting_t *block, tower_plugin_kind kind,
                            const twi_settings *set, twi_diag *d);
/* Calls the plugin's init. 0 or the negative errno it returned. */
int twi_instance_init(tower_ctx *ctx);
/* References: twi_instance_new returns one; the last unref calls destroy
 * (when init succeeded), frees an output's buffer and frees the instance. */
void twi_instance_ref(tower_ctx *ctx);
void twi_instance_unref(tower_ctx *ctx);

/* ---- accumulators (acc.c) ---- */

/* Input accumulator; `service` inputs keep their own timestamps. */
tower_acc *twi_acc_new_input(tower_ctx *input, twi_pipeline *pl, bool service);
void twi_acc_free(tower_acc *acc);
/* Starts a gather at wall-clock `time_ns` (rounded to the input's precision). */
void twi_acc_begin(tower_acc *acc, int64_t time_ns);
/* Makes the accumulator drop what it is given (first sample of two). */
void twi_acc_set_discard(tower_acc *acc, bool discard);
/* Errors reported through tower_acc_error() since creation. */
uint64_t twi_acc_errors(const tower_acc *acc);
/* The pipeline an input accumulator feeds (NULL for a processor's). */
twi_pipeline *twi_acc_pipeline(const tower_acc *acc);
/* A reload kept this input: from its next commit on (or its next gather),
 * the accumulator feeds `pl` instead (taking a reference on it) and lets go
 * of the one it fed. Callable from any thread. */
void twi_acc_hand_over(tower_acc *acc, twi_pipeline *pl);

/* An accumulator that collects what a callback adds (an aggregator's
 * push): metrics without a time get `time`. */
tower_acc *twi_acc_new_collector(tower_ctx *ctx, int64_t time);
/* Hands the collected metrics over (the caller frees each and the array). */
tower_metric **twi_acc_take(tower_acc *acc, size_t *n);
/* Delivers metrics of aggregator `from` (taken over) to the outputs as a
 * commit does, after the aggregator's renames and tags. */
void twi_pipeline_deliver(twi_pipeline *pl, tower_ctx *from, tower_metric **ms, size_t n);

/* ---- aggregators (aggregate.c) ---- */

int twi_aggr_create(tower_ctx *a);
void twi_aggr_destroy(tower_ctx *a);
/* Starts the window that contains wall-clock `now` (aligned to the period
 * when agent.round_interval is set, as Telegraf does). */
void twi_aggr_begin(tower_ctx *a, int64_t now);
/* Sets the window to [start, start + period) (tests). */
void twi_aggr_set_window(tower_ctx *a, int64_t start);
/* Offers one metric (after the processors); true when the original must
 * not reach the outputs (drop_original and the selectors picked it). */
bool twi_aggr_add(tower_ctx *a, const tower_metric *m);
/* Pushes the window's summaries into `pl`'s outputs, resets, and moves
 * the window on by one period. */
void twi_aggr_push(tower_ctx *a, twi_pipeline *pl);
/* Starts the thread that pushes at every window's end + delay. */
int twi_aggr_start(tower_ctx *a, twi_pipeline *pl);
/* Stops that thread (no push). */
void twi_aggr_stop(tower_ctx *a);

/* ---- agent totals (stats.c) ---- */
/* Adds a freed instance's counters to the agent totals that outlive it. */
void twi_stats_retire(const tower_ctx *ctx);
/* One gather or write ended: `ok` when it failed in no way. */
void twi_stats_outcome(tower_ctx *ctx, bool ok);
/* The input or output runs now (its thread or service started). */
void twi_stats_started(tower_ctx *ctx);
/* `pl` is the pipeline the agent runs from now on (tower_agent_stats_each
 * reports on it); it keeps a reference until replaced. */
void twi_stats_set_running(twi_pipeline *pl);
/* `pl` stops: when it is the one reported on, none is until the next. */
void twi_stats_unset_running(twi_pipeline *pl);

/* ---- outputs (output.c) ---- */

int twi_output_create(tower_ctx *out);
void twi_output_destroy(tower_ctx *out);
/* Starts the flush thread (TWI_RUN). */
int twi_output_start(tower_ctx *out);
/* Adds metrics (each one reference, taken over) in one go; drops the oldest
 * beyond the buffer limit. `ticket` (may be NULL) is the tracked commit they
 * belong to: the output holds it until it has settled every one of them. */
void twi_output_push(tower_ctx *out, tower_metric **ms, size_t n, twi_ticket *ticket);
/* Asks the flush thread to write now (SIGUSR1). */
void twi_output_flush_now(tower_ctx *out);
/* Tells the flush thread to make its final flush and end (no waiting), so
 * that several outputs flush in parallel. */
void twi_output_begin_stop(tower_ctx *out, int64_t deadline_mono);
/* Stops the flush thread after a final flush; waits until `deadline_mono`
 * (CLOCK_MONOTONIC ns). Returns false when the thread did not finish. */
bool twi_output_stop(tower_ctx *out, int64_t deadline_mono);
/* Writes everything buffered from the calling thread (no thread running).
 * Returns the number of metrics left unwritten (0: all written). */
size_t twi_output_flush_sync(tower_ctx *out);
size_t twi_output_buffered(tower_ctx *out);
/* Of those, the metrics only memory holds (all of them but those a disk
 * buffer keeps for the next start). */
size_t twi_output_unsaved(tower_ctx *out);
/* Opens the disk buffer of an output with buffer_strategy = "disk" (not
 * yet open): what it held is replayed ahead of what the output buffered in
 * memory meanwhile. When the directory is held by the instance a reload
 * replaces, waits for twi_output_start. 0 or -errno (logged). */
int twi_output_open_buffer(tower_ctx *out);
/* A reload changed only the buffer settings of a running output: the
 * buffer converts in place (memory <-> disk, another directory, fsync and
 * size settings), metrics and their order kept, once no batch is in
 * flight. A conversion that fails is logged and keeps the buffer. */
void twi_output_rebuffer(tower_ctx *out, const twi_buffer_conf *c);

/* ---- inputs (input.c) ---- */

int twi_input_start(tower_ctx *in, twi_pipeline *pl);
/* True once started and until stopped. */
bool twi_input_running(const tower_ctx *in);
/* A service input (start/stop: it receives data) rather than a polled one. */
bool twi_input_is_service(const tower_ctx *in);
/* Lets the running input commit into `pl` from now on (a reload kept it). */
void twi_input_hand_over(tower_ctx *in, twi_pipeline *pl);
/* Signals the input to stop; with `deadline_mono`, waits for its thread or
 * service to end. Returns false when it did not end in time: the thread is
 * abandoned with a reference on the instance and its pipeline, and frees
 * its part when (if ever) the gather returns. */
bool twi_input_stop(tower_ctx *in, int64_t deadline_mono);
/* Gathers once on the calling thread (--test / --once); two samples half a
 * second apart for TOWER_PLUGIN_TWO_SAMPLES inputs. Service inputs run for
 * `service_wait` ns. Returns the errors counted. */
int twi_input_run_once(tower_ctx *in, twi_pipeline *pl, int64_t service_wait);
/* Ends the sleeps of one-shot runs (--test-wait, between two samples) at
 * once, for good: a signal interrupted the run. */
void twi_run_cancel(void);
/* Sleeps `ns` unless the run is cancelled; false when it is. */
bool twi_run_sleep(int64_t ns);

/* ---- pipeline (pipeline.c) ---- */

/* Builds (validates, loads plugins, creates instances) from a loaded file.
 * plugin_dir overrides agent.plugin_dir when non-NULL. Nothing is
 * initialized. NULL when anything is wrong (problems in d). */
twi_pipeline *twi_pipeline_build(twi_conf *conf, const char *plugin_dir, twi_mode mode,
                                 twi_diag *d);
/* Marks every instance as part of a trial run (tower --test, --once): no
 * input acknowledges anything to its source (tower_ctx_may_acknowledge).
 * Before init. */
void twi_pipeline_set_trial(twi_pipeline *pl);
/* Calls init on every instance (outputs, processors, inputs). */
int twi_pipeline_init(twi_pipeline *pl);
/* Calls init on every instance in check mode (tower_ctx_check_only() true)
 * and reports how many failed; the pipeline is only good for freeing. */
int twi_pipeline_check(twi_pipeline *pl);
/* Starts the output threads, then the inputs (those not running yet: an
 * input kept by a reload runs on). */
int twi_pipeline_start(twi_pipeline *pl);
/* Pushes what every aggregator holds (the end of a run). */
void twi_pipeline_push_aggregators(twi_pipeline *pl);
/* Stops the inputs it owns, waits for commits in flight, pushes what the
 * aggregators hold, then stops the
 * outputs it owns with a final flush, within the shutdown timeout. Returns
 * the number of metrics that could not be written. */
size_t twi_pipeline_stop(twi_pipeline *pl);
void twi_pipeline_ref(twi_pipeline *pl);
/* Drops a reference (the one twi_pipeline_build returned, say); the last
 * one frees the pipeline and unrefs its instances. */
void twi_pipeline_free(twi_pipeline *pl);
void twi_pipeline_flush_now(twi_pipeline *pl);
/* The first input or output `pl` runs whose thread is overdue at `now`
 * (monotonic): a gather or write running longer than its stall_after, or a
 * schedule or flush thread that did not wake stall_after after it should
 * have. NULL when all are alive. Service inputs run their own threads and
 * are not watched. Lock-free: callable from any thread while `pl` is the
 * running pipeline and no reload replaces it. */
const tower_ctx *twi_pipeline_stalled(const twi_pipeline *pl, int64_t now);

/* ---- reloads (reload.c) ---- */

/* Makes `pl` share the instances of `old` that the reload leaves unchanged
 * (equal fingerprints): running outputs with their buffers, and running
 * inputs. `pl` becomes their owner; `old` keeps its references until it is
 * freed, so that its inputs' last commits still reach those outputs. */
void twi_pipeline_adopt(twi_pipeline *pl, twi_pipeline *old);
/* After `pl` initialized: the adopted inputs commit into `pl` from now on. */
void twi_pipeline_hand_over(twi_pipeline *pl);
/* `pl` could not initialize beside `old`: the adopted inputs go back to
 * `old` (which stops them) and `pl` takes its fresh instances back; the
 * adopted outputs stay with `pl`. */
void twi_pipeline_give_back_inputs(twi_pipeline *pl, twi_pipeline *old);
/* Waits until no commit runs through `pl` (taking its commit lock once). */
void twi_pipeline_drain(twi_pipeline *pl);

#endif
