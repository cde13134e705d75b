/* tower SDK: the plugin ABI.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * tower_plugin_entry(), which returns a static descriptor (struct
 * tower_plugin). TOWER_PLUGIN_ENTRY() defines it. Build with
 * -fvisibility=hidden so nothing else is exported.
 *
 * The loader checks, in order: the entry symbol, magic, ABI major equal to
 * the core's and minor not newer, struct size, kind, the name against the file
 * name (<plugin-dir>/<kind>s/<name>.so), and the option table. Descriptor
 * structs only grow at the end; the core reads a field only when
 * struct_size covers it, so a plugin built against an older minor keeps
 * loading.
 *
 * Lifecycle of an instance (one per config block):
 *   init -> (gather* | start .. stop | process* | write* | (add* push reset)*) -> destroy
 * - init(ctx, cfg, &state) builds the instance from its validated block and
 *   returns 0, or a negative errno after logging why. On failure destroy is not
 *   called: free what init allocated before returning.
 * - destroy(state) frees it. ctx and every pointer read from cfg stay valid
 *   until destroy returns.
 *
 * Threads. Callbacks of one instance are never called concurrently with each
 * other, except stop(), which may run while the instance's own threads (started
 * in start()) are busy. Different instances run concurrently, so a plugin keeps
 * no mutable globals: everything lives in its state.
 * - gather runs on the input's own thread, once per interval. A gather that
 *   overruns its interval delays only its own next gather.
 * - start runs on the agent thread and must return promptly: a service input
 *   starts its own thread(s) there and feeds the accumulator from them (one
 *   thread at a time per accumulator). stop joins them; after stop returns the
 *   plugin must not use the accumulator.
 * - process runs on the thread of whichever input produced the metric.
 * - write runs on the output's own flush thread. A slow write delays only its
 *   own output. The core owns retries, backoff and buffering: a plugin never
 *   sleeps to retry; it returns TOWER_WRITE_RETRY.
 */
#ifndef TOWER_PLUGIN_H
#define TOWER_PLUGIN_H

#include <tower/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tower/config.h>
#include <tower/log.h>
#include <tower/metric.h>
#include <tower/option.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TOWER_PLUGIN_MAGIC 0x31525754u /* "TWR1" in memory on little endian */
#define TOWER_ABI_MAJOR 1
#define TOWER_ABI_MINOR 3

typedef enum tower_plugin_kind {
  TOWER_INPUT = 1,
  TOWER_PROCESSOR = 2,
  TOWER_OUTPUT = 3,
  TOWER_AGGREGATOR = 4, /* ABI 1.2 */
} tower_plugin_kind;

/* Descriptor flags. */
/* The input reports rates from the difference of two samples (cpu): --test
 * and --once gather twice, half a second apart, and keep the second. */
#define TOWER_PLUGIN_TWO_SAMPLES 0x1u
/* The plugin reads data in a configurable format: the core accepts
 * `data_format` and the parser options in its block (see format.h). */
#define TOWER_PLUGIN_PARSER 0x2u
/* The plugin writes data in a configurable format: the core accepts
 * `data_format` and the serializer options in its block (see format.h). */
#define TOWER_PLUGIN_SERIALIZER 0x4u

typedef enum tower_write_result {
  TOWER_WRITE_OK = 0,    /* every metric of the batch is dealt with */
  TOWER_WRITE_RETRY = 1, /* transient failure: keep the batch, back off, retry */
  TOWER_WRITE_DROP = 2,  /* permanent failure: the core counts and logs the loss */
} tower_write_result;

typedef struct tower_plugin {
  uint32_t magic;       /* TOWER_PLUGIN_MAGIC */
  uint16_t abi_major;   /* TOWER_ABI_MAJOR */
  uint16_t abi_minor;   /* TOWER_ABI_MINOR */
  uint32_t struct_size; /* sizeof(tower_plugin) as compiled */
  uint32_t option_size; /* sizeof(tower_option) as compiled */
  uint32_t kind;        /* tower_plugin_kind */
  uint32_t flags;       /* TOWER_PLUGIN_* */
  const char *name;     /* [a-z0-9_]+, equal to the file name without .so */
  const char *description;
  const char *version;
  const tower_option *options; /* may be NULL when the plugin has none */

  /* Builds an instance from its validated config block: returns 0 with the
   * state in *state, or a negative errno after logging why (with
   * tower_config_error()). On failure destroy is not called, so init frees
   * what it allocated before returning. */
  int (*init)(tower_ctx *ctx, const tower_config *cfg, void **state);
  /* Frees the state. `ctx`, `cfg` and every pointer read from them stay
   * valid until destroy returns, and never after. */
  void (*destroy)(void *state);

  /* Inputs: either gather (polled) or start and stop (service). */

  /* Adds this interval's metrics to `acc`. Returns 0, or a negative errno
   * when the gather failed. A failed gather is one gather error (the
   * `errors` of internal_gather, internal_agent's gather_errors), logged by
   * the core at error level as "gather failed: <strerror>" -- unless the
   * plugin already reported it with tower_acc_error() during this gather:
   * each of those reports counts one error and is the log line, and the
   * negative return then adds nothing. Metrics added before the failure are
   * kept and delivered. The core does not retry: the next gather comes at
   * the next interval. `tower --test` exits 1 after any gather error. */
  int (*gather)(void *state, tower_acc *acc);
  /* Starts the service: launches the thread(s) that add to `acc` and must
   * return promptly. Returns 0, or a negative errno: the input then does
   * not run until a reload (SIGHUP) builds it again. stop is not called
   * after a failed start, so start undoes what it began (joins its threads)
   * before it returns; destroy is called as usual, and metrics added but
   * not committed are discarded. The failure is one gather error, logged
   * by the core as "start failed: <strerror>; the input does not run ..."
   * (after a tower_acc_error() report from start it is not counted again,
   * and the core's line only adds that the input does not run). The other
   * inputs run on; at startup tower exits only when no input starts. */
  int (*start)(void *state, tower_acc *acc);
  /* Stops and joins the service's threads; called only after a start that
   * returned 0. After stop returns the plugin must not use `acc`. */
  void (*stop)(void *state);

  /* Processors: called for each metric the processor's selectors pick.
   * process owns `m` from the call on, whatever it returns (as
   * tower_acc_add() does): it changes it and passes it on with
   * tower_acc_add(next, m), or frees it with tower_metric_free() to drop
   * it; the core never touches `m` after the call. It may add new metrics
   * to `next` too. Returns 0, or a negative errno when processing failed:
   * the core counts one error for the processor instance and logs at error
   * level "process failed: <strerror>; the metric was passed on" (when `m`
   * is among what the call added to `next`) or "... was dropped" -- unless
   * the plugin reported the failure with tower_acc_error(next, ...) during
   * the call; its message then says what became of the metric. Whatever
   * was added to `next` goes on either way. A processor that cannot do its
   * work should pass the metric on unchanged rather than lose it. */
  int (*process)(void *state, tower_metric *m, tower_acc *next);

  /* Outputs. The batch and its metrics are borrowed during the call (see
   * tower_batch_at()). TOWER_WRITE_RETRY and TOWER_WRITE_DROP each count
   * one write error (internal_write errors) and the plugin logs why: after
   * RETRY the core keeps the batch and retries it after a backoff; after
   * DROP it counts the batch's metrics as dropped and logs the loss. Any
   * other value is taken as RETRY. */
  tower_write_result (*write)(void *state, const tower_batch *batch);

  /* Aggregators (ABI 1.2; the core reads these only when struct_size covers
   * them). The core keeps a window per instance of `period` (see the
   * aggregator options), calls add for every metric its selectors pick
   * whose time falls in the window, and at the window's end (plus `delay`)
   * calls push, then reset. add, push and reset of one instance never run
   * concurrently; add runs on the thread of whichever input committed the
   * metric, push and reset on the aggregator's own thread (or the agent's
   * at shutdown), so both must be quick. */

  /* Takes in one metric. `m` is borrowed during the call: copy what you
   * keep. Returns 0, or a negative errno: one error of the instance,
   * logged by the core as "add failed: <strerror>"; the metric still goes
   * on to the outputs unless drop_original is set. */
  int (*add)(void *state, const tower_metric *m);
  /* Adds the summaries of the window to `acc` with tower_acc_add(). A
   * metric added without a time gets the window's end. Returns 0, or a
   * negative errno (one error of the instance; what was added goes on). */
  int (*push)(void *state, tower_acc *acc);
  /* Called after every push: forget what the next window must not see
   * (basicstats clears everything, histogram with reset = false keeps its
   * counts). May be NULL. */
  void (*reset)(void *state);
} tower_plugin;

/* The fixed head of every descriptor:
 *   static const tower_plugin plugin = { TOWER_PLUGIN_HEAD(TOWER_INPUT), .name = ... }; */
#define TOWER_PLUGIN_HEAD(plugin_kind)                                                             \
  .magic = TOWER_PLUGIN_MAGIC, .abi_major = TOWER_ABI_MAJOR, .abi_minor = TOWER_ABI_MINOR,         \
  .struct_size = sizeof(tower_plugin), .option_size = sizeof(tower_option), .kind = (plugin_kind)

#define TOWER_PLUGIN_ENTRY_SYMBOL "tower_plugin_entry"

/* Defines the one exported symbol, returning descriptor `desc`. */
#define TOWER_PLUGIN_ENTRY(desc)                                                                   \
  __attribute__((visibility("default"))) const tower_plugin *tower_plugin_entry(void);             \
  const tower_plugin *tower_plugin_entry(void) {                                                   \
    return &(desc);                                                                                \
  }

/* ---- the instance's handle to the core (all calls thread-safe) -------- */

/* "inputs.cpu" or "inputs.cpu:alias"; borrowed until destroy returns. */
const char *tower_ctx_id(const tower_ctx *ctx);
/* The `alias` option, or NULL when unset; borrowed until destroy returns. */
const char *tower_ctx_alias(const tower_ctx *ctx);
/* The agent's host name (agent.hostname, else gethostname(); "" when
 * neither gives one); borrowed until destroy returns. */
const char *tower_ctx_hostname(const tower_ctx *ctx);
/* Inputs: the gather interval in ns. Aggregators: the period. Others: the
 * agent interval. */
int64_t tower_ctx_interval(const tower_ctx *ctx);
/* True once the agent is shutting down or reloading this instance; long
 * gathers and service threads should finish early when it turns true. */
bool tower_ctx_stopping(const tower_ctx *ctx);
/* True while `tower --config-check` initializes the instance: init must
 * validate all it can but acquire nothing a running tower may hold
 * (listening sockets, files, directories, locks); destroy follows at once. */
bool tower_ctx_check_only(const tower_ctx *ctx);
/* False in `tower --test` and `tower --once`: those runs are trials, and an
 * input must not acknowledge anything to its source (commit Kafka offsets,
 * delete queue messages, mark files read), so that the real agent later
 * gets all of it. True when the agent runs. */
bool tower_ctx_may_acknowledge(const tower_ctx *ctx);
/* Outputs: ask the core to wait at least `delay_ns` before the next attempt
 * after a TOWER_WRITE_RETRY (a server's Retry-After, say). */
void tower_ctx_retry_after(tower_ctx *ctx, int64_t delay_ns);
/* Outputs: `n` metrics of the batch being written were rejected by the peer
 * and are lost although write returns TOWER_WRITE_OK (a partial write).
 * They are counted as dropped; the plugin logs why. */
void tower_ctx_count_rejected(tower_ctx *ctx, uint64_t n);

/* Wall-clock time in ns since the Unix epoch. */
int64_t tower_now(void);
/* Monotonic time in ns (CLOCK_MONOTONIC; the epoch is arbitrary): for
 * deadlines and durations, which a wall-clock step must not stretch. */
int64_t tower_mono_ns(void);

/* ---- accumulators ----------------------------------------------------- */

/* Hands `m` to the pipeline. Takes ownership in every case (on error the
 * metric is freed). A metric with TOWER_TIME_UNSET gets the gather's time
 * (a service input's: the time it is added).
 * Returns 0, or -ENOMEM. */
int tower_acc_add(tower_acc *acc, tower_metric *m);

/* Logs an error for the instance (at error level) and counts one error: a
 * gather error on an input's accumulator, a processor error on a
 * processor's `next`. It does not end the gather (one of several sources
 * failed, say). A callback that reports its failure here and then returns a
 * negative errno is counted once, not twice (see gather, start, process).
 * The message is formatted into the log line; nothing is kept. */
void tower_acc_error(tower_acc *acc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The timestamp of the current gather (rounded to the input's precision);
 * for a service input, the current time. */
int64_t tower_acc_time(const tower_acc *acc);

/* Service inputs: sends every metric added since the last commit through the
 * processors into the output buffers. Returns 0 once every output has
 * accepted them into its buffer (or filtered them out). Metrics of one
 * commit enter each output buffer together. For gathers the core commits
 * after gather returns. An input that acknowledges its source (commits a
 * Kafka offset) should wait for delivery instead: tower_acc_commit_tracked. */
int tower_acc_commit(tower_acc *acc);

/* ---- delivery (ABI 1.1) ----------------------------------------------- */

/* What became of the metrics of one tracked commit, counted once per output
 * that took them (a metric two outputs took counts twice). */
typedef struct tower_delivery {
  uint64_t delivered; /* written by the output, or safe in its disk buffer
                         under buffer_fsync = "commit" */
  uint64_t dropped;   /* lost for good: buffer overflow or a DROP verdict of
                         the output (metrics it reported rejected with
                         tower_ctx_count_rejected are not told apart: they
                         count as delivered) */
  uint64_t pending;   /* still waiting when the agent stopped (a disk buffer
                         keeps them for the next start) */
} tower_delivery;

/* Called once per tracked commit. Runs on whichever thread settled the
 * commit last (an output's flush thread, the agent's thread at shutdown, or
 * the committing thread itself when no output took anything): it must be
 * quick, must not block, and must not call tower_acc_* functions. `d` is
 * borrowed during the call. */
typedef void (*tower_delivered_fn)(void *arg, const tower_delivery *d);

/* tower_acc_commit, and `done(arg, ...)` once every output that took
 * metrics of this commit has written them, or holds them durably, or lost
 * them; at the latest when the agent stops (then with `pending` set). The
 * input acknowledges its source when nothing is pending: a dropped metric
 * will not come back however often the source sends it (Telegraf does the
 * same), a pending one will after a restart. Returns what tower_acc_commit
 * returns; on an error, `done` has been called already. Needs a core of
 * ABI 1.1 or later (the loader refuses a plugin of a newer minor). */
int tower_acc_commit_tracked(tower_acc *acc, tower_delivered_fn done, void *arg);

/* ---- aggregators (ABI 1.2) ------------------------------------------ */

/* Aggregators: report the number of series the instance holds now
 * (`held`) and how many metrics it refused since the last report because
 * it already held its maximum (`refused`, added to a running total). The
 * core shows both in internal_aggregate (series, metrics_refused). Call it
 * from add, push or reset. */
void tower_ctx_aggregate_series(tower_ctx *ctx, uint64_t held, uint64_t refused);

/* ---- output batches --------------------------------------------------- */

size_t tower_batch_len(const tower_batch *b);
/* Metric i (i < len), borrowed during write; tower_metric_retain() keeps it. */
const tower_metric *tower_batch_at(const tower_batch *b, size_t i);
/* True when this is the last batch of the current flush: the output may
 * write files or close transactions now. */
bool tower_batch_ends_flush(const tower_batch *b);

/* ---- the agent's own metrics (inputs.internal) ------------------------ */

#define TOWER_STATS_PROCESS 0x1u /* also internal_process */

/* Adds the agent's self-monitoring metrics to an input's accumulator, with
 * Telegraf's names where they exist:
 *   internal_agent   tag version; metrics_gathered, metrics_written,
 *                    metrics_dropped, metrics_rejected, gather_errors,
 *                    write_errors (totals since the agent started)
 *   internal_gather  per input, tags input (and alias): gather_time_ns,
 *                    metrics_gathered, errors, gather_overruns
 *   internal_write   per output, tags output (and alias): buffer_size,
 *                    buffer_limit, metrics_added, metrics_written,
 *                    metrics_dropped, metrics_filtered, metrics_rejected,
 *                    write_time_ns, errors
 *   internal_aggregate per aggregator, tags aggregator (and alias):
 *                    metrics_added, metrics_pushed, metrics_filtered,
 *                    metrics_dropped (outside the window), metrics_refused
 *                    (beyond max_series), series, push_time_ns, errors
 *   internal_process rss_bytes, vms_bytes, cpu_user_seconds,
 *                    cpu_system_seconds, threads, open_fds (flag
 *                    TOWER_STATS_PROCESS; Linux /proc/self)
 * Per-instance counters start at 0 when a reload replaces the instance;
 * internal_agent totals keep counting. Returns 0, -EINVAL for an accumulator
 * that is not an input's, -ENOMEM. */
int tower_agent_stats(tower_acc *acc, unsigned flags);

/* ---- the agent's health (ABI 1.2) ------------------------------------- */

/* With tower_agent_stats_each: also the fields health checks read, on
 *   internal_gather  started (bool: the input's thread or service runs),
 *                    consecutive_errors (gathers that failed since the last
 *                    good one; a gather that reported any error counts),
 *                    last_success_ns (wall clock of the last good gather;
 *                    0: none yet)
 *   internal_write   started, consecutive_errors (failed writes since the
 *                    last good one), last_write_ns (wall clock of the last
 *                    good write, or of the output's start before its first)
 */
#define TOWER_STATS_HEALTH 0x2u

/* Called with each metric of a report; `m` is lent during the call. A
 * negative return stops the report. */
typedef int (*tower_stats_fn)(void *arg, const tower_metric *m);

/* The metrics tower_agent_stats adds, for the pipeline the agent runs now,
 * handed to `fn` one by one instead of an accumulator: for plugins that are
 * not inputs (outputs.health answers probes with them). Callable from any
 * thread. Returns 0, -ESRCH when no pipeline runs (tower --once, --test, a
 * reload between two pipelines, shutdown), -ENOMEM, or what `fn` returned
 * to stop. Needs a core of ABI 1.2 or later. */
int tower_agent_stats_each(unsigned flags, tower_stats_fn fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif
