/* Outputs: a bounded buffer and a flush thread per output.
 *
 * The buffer (buffer.h: in memory or on disk) keeps the metrics in order up
 * to metric_buffer_limit; beyond it the oldest are dropped and counted
 * (Telegraf's behaviour). A batch being written is taken out; on RETRY it
 * goes back to the front, on DROP it is counted and logged. Inputs only ever
 * take the output's lock for a push, so a slow or dead output never blocks
 * them or another output.
 *
 * A flush happens on the timer (flush_interval + random flush_jitter), at
 * once when a full batch is buffered, or on SIGUSR1. After a RETRY the
 * output backs off exponentially (retry_backoff_min doubling up to
 * retry_backoff_max, with jitter, at least the plugin's retry-after hint);
 * timers and full batches wait for the backoff to end, SIGUSR1 does not.
 *
 * With buffer_strategy = "disk" the buffer starts in memory and moves to
 * disk when the output starts (twi_output_open_buffer), after a reload
 * retired the output it may replace (which held the directory's lock);
 * what the disk held from the last run comes first. The flush thread
 * also ticks the disk buffer every buffer_fsync_interval. A reload that
 * changes only the buffer settings converts the running buffer in place
 * (twi_output_rebuffer), between two writes, metrics and order kept.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buffer.h"
#include "delivery.h"
#include "pipeline.h"
#include "units.h"

struct twi_output_rt {
  pthread_mutex_t lock;
  pthread_cond_t wake, done_cond;
  pthread_t thread;
  bool started, stop, flush_now, done;
  int64_t deadline; /* of the final flush, monotonic */

  twi_buffer *buf;
  twi_spans spans;            /* which tracked commits the buffered metrics belong to */
  size_t in_flight;           /* metrics of the batch being written */
  uint64_t overflow_unlogged; /* carried until an overflow line is written */
  uint64_t overflow_logged;   /* reported by overflow lines so far */

  unsigned retries;
  int64_t retry_at; /* monotonic; 0: not backing off */

  bool on_disk;              /* buf is a disk buffer (in o->buffer.dir when opened) */
  char *disk_dir;            /* the directory of buf when on_disk */
  int64_t tick_every;        /* buffer_fsync_interval of a disk buffer */
  int64_t next_tick;         /* monotonic */
  twi_buffer_conf switch_to; /* a conversion waiting for the batch in flight */
  bool switch_pending;
  bool open_at_start; /* the disk buffer's directory was held at init */

  struct { /* counters at the last summary line */
    int64_t at;
    uint64_t dropped, errors, written;
  } summary;

  tower_metric **batch;
};

struct tower_batch {
  tower_metric *const *m;
  size_t n;
  bool ends_flush;
};

size_t tower_batch_len(const tower_batch *b) {
  return b->n;
}
const tower_metric *tower_batch_at(const tower_batch *b, size_t i) {
  return i < b->n ? b->m[i] : NULL;
}
bool tower_batch_ends_flush(const tower_batch *b) {
  return b->ends_flush;
}

/* ---- the buffer (called with the lock held) ---- */

static size_t buffered(const twi_output_rt *rt) {
  return rt->buf->ops->count(rt->buf);
}

/* The disk buffer's counters for inputs.internal. */
static void update_stats(tower_ctx *o) {
  twi_buffer *b = o->out->buf;
  twi_buffer_stats st;
  if (!b->ops->stats)
    return;
  b->ops->stats(b, &st);
  atomic_store(&o->stats.disk_bytes, st.disk_bytes);
  atomic_store(&o->stats.disk_records, st.disk_records);
  atomic_store(&o->stats.disk_replayed, st.replayed);
  atomic_store(&o->stats.disk_corrupt, st.corrupt);
  atomic_store(&o->stats.disk_unsaved, st.unsaved);
}

/* Metrics the buffer dropped to stay within its limits: the oldest of those
 * not in flight (buffer.h), which is where the spans settle them. */
static void count_overflow(tower_ctx *o, size_t dropped, size_t skip) {
  if (!dropped)
    return;
  atomic_fetch_add(&o->stats.dropped, dropped);
  o->out->overflow_unlogged += dropped;
  twi_spans_settle(&o->out->spans, skip, dropped, TWI_DROPPED);
}

/* Damaged records a take found where metrics were counted (logged by the
 * buffer): lost, settled where they were, `skip` metrics in. */
static void settle_lost(tower_ctx *o, size_t skip) {
  twi_buffer *b = o->out->buf;
  if (!b->lost)
    return;
  atomic_fetch_add(&o->stats.dropped, b->lost);
  twi_spans_settle(&o->out->spans, skip + b->lost_after, b->lost, TWI_DROPPED);
  b->lost = 0;
}

/* The spans of a push into a buffer that does not sync at push. */
static void track_push(twi_output_rt *rt, twi_ticket *ticket, size_t n) {
  if (twi_spans_push(&rt->spans, ticket, n) && ticket) {
    /* no memory to remember them: say they are delivered rather than keep
     * the input waiting for ever (logged: the count is off) */
    twi_ticket_hold(ticket);
    twi_ticket_release(ticket, n, 0, 0);
  }
}

/* A tracked commit into a buffer that syncs at push: what reached the disk
 * is delivered now; what the buffer dropped at once (the limits) is lost;
 * what it had to keep in memory (a full disk) stays tracked. The buffer
 * drops the oldest first, so the first of these metrics are the dropped
 * ones, then those on disk, then those in memory (buffer.h). */
static void push_durable(tower_ctx *o, tower_metric **ms, size_t n, twi_ticket *ticket) {
  twi_output_rt *rt = o->out;
  size_t before = buffered(rt);
  size_t dropped = rt->buf->ops->push(rt->buf, ms, n);
  size_t old = dropped < before ? dropped : before, fresh = dropped - old;
  size_t safe = rt->buf->pushed_durable, kept = n - fresh;
  if (safe > kept)
    safe = kept;
  count_overflow(o, old, rt->in_flight);
  atomic_fetch_add(&o->stats.dropped, fresh);
  rt->overflow_unlogged += fresh;
  twi_ticket_hold(ticket);
  if (twi_spans_push(&rt->spans, NULL, safe) == 0 &&
      twi_spans_push(&rt->spans, ticket, kept - safe) != 0) {
    /* no memory to track them: delivered, as in track_push (this push
     * merges into the span before it, so it needs none) */
    twi_spans_push(&rt->spans, NULL, kept - safe);
    safe = kept;
  }
  twi_ticket_release(ticket, safe, fresh, 0);
}

void twi_output_push(tower_ctx *o, tower_metric **ms, size_t n, twi_ticket *ticket) {
  twi_output_rt *rt = o->out;
  pthread_mutex_lock(&rt->lock);
  if (ticket && rt->buf->durable_on_push) {
    push_durable(o, ms, n, ticket);
  } else {
    track_push(rt, ticket, n);
    count_overflow(o, rt->buf->ops->push(rt->buf, ms, n), rt->in_flight);
  }
  update_stats(o);
  atomic_fetch_add(&o->stats.metrics, n);
  size_t count = buffered(rt);
  atomic_store(&o->stats.buffer_size, (int64_t)count);
  if (count >= (size_t)o->batch_size)
    pthread_cond_signal(&rt->wake);
  pthread_mutex_unlock(&rt->lock);
}

/* ---- switching buffers (the disk buffer opening, reloads) ---- */

/* Puts an untracked span of n metrics before every other span: what a disk
 * buffer replays comes before everything pushed since. */
static int spans_prepend(twi_spans *s, uint64_t n) {
  if (n == 0)
    return 0;
  size_t cap = s->n + 1 > s->cap ? (s->cap ? s->cap * 2 : 16) : s->cap;
  twi_span *q = malloc(cap * sizeof *q);
  if (!q)
    return -ENOMEM;
  q[0] = (twi_span){.ticket = NULL, .left = n};
  for (size_t i = 0; i < s->n; i++)
    q[i + 1] = s->q[(s->head + i) % s->cap];
  free(s->q);
  s->q = q;
  s->cap = cap;
  s->head = 0;
  s->n++;
  return 0;
}

/* Moves every metric of `from` behind those of `to`, in order (lock held,
 * nothing in flight). Returns how many could not be read out of `from`
 * (a disk buffer's unreadable file); they stay there. */
static size_t move_all(tower_ctx *o, twi_buffer *from, twi_buffer *to) {
  size_t n = from->ops->count(from), got = 0;
  tower_metric **all = n ? malloc(n * sizeof *all) : NULL;
  if (n && !all)
    return n;
  while (got < n) {
    size_t k = from->ops->take(from, all + got, n - got);
    settle_lost(o, to->ops->count(to) + got);
    from->ops->ack(from, k);
    got += k;
    if (k == 0)
      break;
  }
  count_overflow(o, to->ops->push(to, all, got), 0);
  free(all);
  return from->ops->count(from);
}

/* Replaces the output's buffer by one made for `c`, moving the metrics
 * (lock held, nothing in flight). A disk buffer that only changes its
 * fsync and size settings takes them in place. 0 or -errno (logged). */
static int switch_buffer(tower_ctx *o, const twi_buffer_conf *c) {
  twi_output_rt *rt = o->out;
  twi_buffer *from = rt->buf;
  rt->tick_every = c->fsync_interval;
  if (rt->on_disk && c->disk && strcmp(rt->disk_dir, c->dir) == 0) {
    from->ops->configure(from, c);
    return 0;
  }
  int err = -ENOMEM;
  char *dir = c->disk ? strdup(c->dir) : NULL;
  twi_buffer *to = !c->disk ? twi_buffer_mem_new((size_t)o->buffer_limit)
                   : dir    ? twi_buffer_disk_open(c, (size_t)o->buffer_limit, o, &err)
                            : NULL;
  if (!to) {
    free(dir);
    return err;
  }
  if (spans_prepend(&rt->spans, to->ops->count(to)))
    tower_log(o, TOWER_LOG_ERROR, "out of memory: delivery reports of tracked commits may be off");
  size_t left = move_all(o, from, to);
  if (left) {
    twi_spans_settle(&rt->spans, to->ops->count(to), left, TWI_DROPPED);
    atomic_fetch_add(&o->stats.dropped, left);
    tower_log(o, TOWER_LOG_ERROR,
              "%zu metric%s could not be read out of the disk buffer %s; they stay there (a "
              "disk buffer in that directory writes them)",
              left, twi_s(left), rt->disk_dir);
  }
  if (from->ops->discard && !left)
    from->ops->discard(from);
  else
    from->ops->destroy(from);
  rt->buf = to;
  rt->on_disk = c->disk;
  free(rt->disk_dir);
  rt->disk_dir = dir;
  rt->next_tick = tower_mono_ns() + rt->tick_every;
  if (!c->disk) { /* no disk counters any more */
    atomic_store(&o->stats.disk_bytes, 0);
    atomic_store(&o->stats.disk_records, 0);
    atomic_store(&o->stats.disk_replayed, 0);
    atomic_store(&o->stats.disk_corrupt, 0);
    atomic_store(&o->stats.disk_unsaved, 0);
  }
  update_stats(o);
  atomic_store(&o->stats.buffer_size, (int64_t)buffered(rt));
  return 0;
}

static const char *fsync_name(twi_buffer_fsync f) {
  return f == TWI_FSYNC_COMMIT ? "commit" : f == TWI_FSYNC_INTERVAL ? "interval" : "never";
}

/* A conversion a reload asked for, once no batch is in flight. */
static void apply_switch(tower_ctx *o) {
  twi_output_rt *rt = o->out;
  if (!rt->switch_pending)
    return;
  twi_buffer_conf *c = &rt->switch_to;
  bool was_disk = rt->on_disk;
  if (switch_buffer(o, c) == 0) {
    size_t n = buffered(rt);
    if (c->disk)
      tower_log(o, TOWER_LOG_INFO, "buffer on disk in %s (buffer_fsync = %s): %zu metric%s", c->dir,
                fsync_name(c->fsync), n, twi_s(n));
    else if (was_disk)
      tower_log(o, TOWER_LOG_INFO, "buffer in memory now: %zu metric%s read off the disk", n,
                twi_s(n));
  } else {
    tower_log(o, TOWER_LOG_ERROR, "keeps its buffer %s: the new buffer settings could not apply",
              rt->on_disk ? "on disk as it was" : "in memory");
  }
  free(c->dir);
  *c = (twi_buffer_conf){0};
  rt->switch_pending = false;
}

/* ---- writing ---- */

static void schedule_retry(tower_ctx *o) {
  twi_output_rt *rt = o->out;
  int64_t b = o->backoff_min;
  for (unsigned i = 0; i < rt->retries && b < o->backoff_max; i++)
    b *= 2;
  if (b > o->backoff_max)
    b = o->backoff_max;
  int64_t delay = b / 2 + twi_rand_below(b / 2 + 1);
  int64_t hint = atomic_load(&o->retry_after);
  if (hint > delay)
    delay = hint;
  rt->retries++;
  rt->retry_at = tower_mono_ns() + delay;
  char d[32];
  twi_fmt_duration(d, sizeof d, delay);
  size_t count = buffered(rt);
  tower_log(o, TOWER_LOG_WARN, "write failed; %zu metric%s kept in the buffer, retrying in %s",
            count, twi_s(count), d);
}

/* Writes one batch of k metrics (lock held on entry and exit, released
 * during the write). Returns the plugin's verdict. */
static tower_write_result write_batch(tower_ctx *o, size_t k, bool ends) {
  twi_output_rt *rt = o->out;
  tower_batch b = {.m = rt->batch, .n = k, .ends_flush = ends};
  atomic_store(&o->retry_after, 0);
  uint64_t rejected_before = atomic_load(&o->stats.rejected);
  atomic_store(&o->stats.buffer_size, (int64_t)buffered(rt));
  pthread_mutex_unlock(&rt->lock);
  int64_t t0 = tower_mono_ns();
  twi_heartbeat(o, t0);
  tower_write_result r = o->plugin->desc.write(o->state, &b);
  atomic_store(&o->stats.last_time_ns, tower_mono_ns() - t0);
  pthread_mutex_lock(&rt->lock);
  switch (r) {
  case TOWER_WRITE_OK: {
    uint64_t rejected = atomic_load(&o->stats.rejected) - rejected_before;
    atomic_fetch_add(&o->stats.written, k > rejected ? k - rejected : 0);
    tower_log(o, TOWER_LOG_DEBUG, "wrote batch of %zu metric%s in %.1f ms; buffer %zu of %lld", k,
              twi_s(k), (double)atomic_load(&o->stats.last_time_ns) / 1e6, buffered(rt),
              (long long)o->buffer_limit);
    rt->buf->ops->ack(rt->buf, k);
    for (size_t i = 0; i < k; i++)
      twi_buffer_release(rt->batch[i], false);
    twi_spans_settle(&rt->spans, 0, k, TWI_DELIVERED);
    rt->retries = 0;
    rt->retry_at = 0;
    break;
  }
  case TOWER_WRITE_DROP:
    atomic_fetch_add(&o->stats.errors, 1);
    atomic_fetch_add(&o->stats.dropped, k);
    rt->buf->ops->ack(rt->buf, k); /* gone for good, though unwritten */
    for (size_t i = 0; i < k; i++)
      twi_buffer_release(rt->batch[i], true);
    twi_spans_settle(&rt->spans, 0, k, TWI_DROPPED);
    tower_log(o, TOWER_LOG_ERROR,
              "%zu metric%s dropped: the output reported a permanent failure (see above)", k,
              twi_s(k));
    break;
  default:
    r = TOWER_WRITE_RETRY;
    atomic_fetch_add(&o->stats.errors, 1);
    rt->in_flight = 0;
    count_overflow(o, rt->buf->ops->put_back(rt->buf, rt->batch, k), 0);
    break;
  }
  rt->in_flight = 0;
  apply_switch(o);
  update_stats(o);
  atomic_store(&o->stats.buffer_size, (int64_t)buffered(rt));
  twi_stats_outcome(o, r == TOWER_WRITE_OK);
  return r;
}

/* The count is reset only when the line was written: while the repeat
 * limiter suppresses it, drops add up into the next line that prints. */
static void log_overflow(tower_ctx *o) {
  twi_output_rt *rt = o->out;
  if (!rt->overflow_unlogged)
    return;
  char disk[64] = "";
  if (rt->on_disk)
    snprintf(disk, sizeof disk, ", buffer_max_bytes = %llu",
             (unsigned long long)o->buffer.max_bytes);
  if (twi_log_written(
          o, TOWER_LOG_WARN,
          "metric buffer overflow; %llu metric%s dropped (metric_buffer_limit = %lld%s)",
          (unsigned long long)rt->overflow_unlogged, twi_s(rt->overflow_unlogged),
          (long long)o->buffer_limit, disk)) {
    rt->overflow_logged += rt->overflow_unlogged;
    rt->overflow_unlogged = 0;
  }
}

/* One line when an output that lost metrics goes away (shutdown, or a reload
 * that removed or changed it), with its counts since it started. "Other" is
 * what is neither overflow nor rejected: DROP verdicts of the plugin, and
 * the rare out-of-memory losses (each also logged where it happened). */
static const char *were(uint64_t n) {
  return n == 1 ? "was" : "were";
}

static void log_drop_summary(tower_ctx *o) {
  twi_output_rt *rt = o->out;
  uint64_t total = atomic_load(&o->stats.dropped), rejected = atomic_load(&o->stats.rejected);
  if (!total)
    return;
  uint64_t overflow = rt->overflow_logged + rt->overflow_unlogged;
  uint64_t other = total - (overflow + rejected < total ? overflow + rejected : total);
  uint64_t written = atomic_load(&o->stats.written);
  char unreported[96] = "";
  if (rt->overflow_unlogged)
    snprintf(unreported, sizeof unreported, ", %llu of them in no overflow line above",
             (unsigned long long)rt->overflow_unlogged);
  tower_log(o, TOWER_LOG_WARN,
            "stopped; %llu metric%s %s dropped since it started: %llu on buffer overflow "
            "(metric_buffer_limit = %lld%s), %llu rejected by the server, %llu otherwise "
            "(permanent write failures, out of memory); %llu %s written",
            (unsigned long long)total, twi_s(total), were(total), (unsigned long long)overflow,
            (long long)o->buffer_limit, unreported, (unsigned long long)rejected,
            (unsigned long long)other, (unsigned long long)written, were(written));
}

static void maybe_tick(tower_ctx *o, int64_t now);

/* One flush: writes what was buffered when it started, batch by batch.
 * full_only: only full batches (a batch-ready wake-up). final: ignore
 * backoff, stop at the deadline. Returns false when a write asked to retry. */
static bool flush_cycle(tower_ctx *o, bool full_only, bool final) {
  twi_output_rt *rt = o->out;
  size_t bs = (size_t)o->batch_size, todo = buffered(rt);
  bool ok = true;
  while (todo > 0 && (!full_only || buffered(rt) >= bs)) {
    if (final && tower_mono_ns() > rt->deadline)
      break;
    size_t k = rt->buf->ops->take(rt->buf, rt->batch, todo < bs ? todo : bs);
    settle_lost(o, 0);
    if (k == 0)
      break;
    rt->in_flight = k;
    todo -= k;
    if (write_batch(o, k, todo == 0) == TOWER_WRITE_RETRY) {
      if (!final)
        schedule_retry(o);
      ok = false;
      break;
    }
    size_t left = buffered(rt);
    todo = todo < left ? todo : left; /* overflow may have taken some */
    maybe_tick(o, tower_mono_ns());   /* a long backlog does not hold back the syncs */
  }
  log_overflow(o);
  return ok;
}

static int64_t next_flush_time(const tower_ctx *o) {
  return tower_mono_ns() + o->flush_interval + twi_rand_below(o->flush_jitter);
}

static void wait_until(tower_ctx *o, int64_t mono) {
  twi_output_rt *rt = o->out;
  if (rt->buf->ops->tick && rt->next_tick < mono)
    mono = rt->next_tick;
  twi_heartbeat(o, mono);
  struct timespec ts = twi_timespec(mono);
  pthread_cond_timedwait(&rt->wake, &rt->lock, &ts);
}

/* The disk buffer's periodic work (buffer.h: tick). */
static void maybe_tick(tower_ctx *o, int64_t now) {
  twi_output_rt *rt = o->out;
  if (!rt->buf->ops->tick || now < rt->next_tick)
    return;
  rt->buf->ops->tick(rt->buf);
  rt->next_tick = now + rt->tick_every;
  update_stats(o);
}

/* At info level an output says nothing while all is well. When it drops
 * metrics or fails to write, one line every SUMMARY_NS sums it up, so that
 * an operator sees the trouble without a line per failed write. */
#define SUMMARY_NS (5LL * 60 * 1000000000LL)

static void maybe_summarize(tower_ctx *o, int64_t now) {
  twi_output_rt *rt = o->out;
  if (now - rt->summary.at < SUMMARY_NS)
    return;
  uint64_t dropped = atomic_load(&o->stats.dropped), errors = atomic_load(&o->stats.errors);
  uint64_t written = atomic_load(&o->stats.written);
  uint64_t d = dropped - rt->summary.dropped, e = errors - rt->summary.errors;
  if (d || e)
    tower_log(o, TOWER_LOG_INFO,
              "in the last %lld minutes: %llu metric%s dropped, %llu failed write%s, %llu "
              "written; %zu of %lld buffered",
              (long long)((now - rt->summary.at) / 60000000000LL), (unsigned long long)d, twi_s(d),
              (unsigned long long)e, twi_s(e), (unsigned long long)(written - rt->summary.written),
              buffered(rt), (long long)o->buffer_limit);
  rt->summary.at = now;
  rt->summary.dropped = dropped;
  rt->summary.errors = errors;
  rt->summary.written = written;
}

static void *output_main(void *arg) {
  tower_ctx *o = arg;
  twi_output_rt *rt = o->out;
  pthread_mutex_lock(&rt->lock);
  int64_t next_flush = next_flush_time(o);
  rt->summary.at = tower_mono_ns();
  while (!rt->stop) {
    int64_t now = tower_mono_ns();
    maybe_summarize(o, now);
    maybe_tick(o, now);
    bool backing_off = rt->retry_at && now < rt->retry_at;
    bool timer = now >= next_flush || (rt->retry_at && !backing_off);
    bool full = buffered(rt) >= (size_t)o->batch_size;
    if (rt->flush_now || (!backing_off && (timer || full))) {
      bool whole = rt->flush_now || timer;
      rt->flush_now = false;
      flush_cycle(o, !whole, false);
      if (whole)
        next_flush = next_flush_time(o);
      continue;
    }
    wait_until(o, backing_off ? rt->retry_at : next_flush);
  }
  twi_heartbeat_end(o); /* the final flush has its own deadline */
  flush_cycle(o, false, true);
  rt->done = true;
  pthread_cond_broadcast(&rt->done_cond);
  pthread_mutex_unlock(&rt->lock);
  return NULL;
}

/* ---- lifecycle ---- */

int twi_output_create(tower_ctx *o) {
  twi_output_rt *rt = calloc(1, sizeof *rt);
  if (!rt)
    return -ENOMEM;
  rt->batch = malloc((size_t)o->batch_size * sizeof *rt->batch);
  rt->buf = twi_buffer_mem_new((size_t)o->buffer_limit);
  if (!rt->batch || !rt->buf) {
    if (rt->buf)
      rt->buf->ops->destroy(rt->buf);
    twi_spans_free(&rt->spans); /* what is left is pending: the input hears so */
    free(rt->batch);
    free(rt);
    return -ENOMEM;
  }
  pthread_mutex_init(&rt->lock, NULL);
  twi_cond_init_mono(&rt->wake);
  twi_cond_init_mono(&rt->done_cond);
  o->out = rt;
  atomic_store(&o->stats.buffer_size, 0);
  return 0;
}

int twi_output_open_buffer(tower_ctx *o) {
  twi_output_rt *rt = o->out;
  if (!o->buffer.disk || rt->on_disk)
    return 0;
  if (twi_buffer_disk_in_use(o->buffer.dir)) {
    /* the output this one replaces in a reload: it lets go when its
     * pipeline retires, before this one starts */
    rt->open_at_start = true;
    return 0;
  }
  pthread_mutex_lock(&rt->lock);
  int rc = switch_buffer(o, &o->buffer);
  pthread_mutex_unlock(&rt->lock);
  if (rc == 0)
    tower_log(o, TOWER_LOG_DEBUG, "buffer on disk in %s (buffer_fsync = %s)", o->buffer.dir,
              fsync_name(o->buffer.fsync));
  return rc;
}

int twi_output_start(tower_ctx *o) {
  twi_output_rt *rt = o->out;
  if (rt->started) /* kept running across a reload */
    return 0;
  if (rt->open_at_start) {
    rt->open_at_start = false;
    if (twi_output_open_buffer(o) != 0 || !rt->on_disk)
      tower_log(o, TOWER_LOG_ERROR,
                "keeps its metrics in memory: its disk buffer %s could not be opened (see above)",
                o->buffer.dir);
  }
  int rc = pthread_create(&rt->thread, NULL, output_main, o);
  if (rc) {
    tower_log(o, TOWER_LOG_ERROR, "cannot start the flush thread: %s", strerror(rc));
    return -rc;
  }
  rt->started = true;
  twi_stats_started(o);
  return 0;
}

void twi_output_flush_now(tower_ctx *o) {
  twi_output_rt *rt = o->out;
  pthread_mutex_lock(&rt->lock);
  rt->flush_now = true;
  pthread_cond_signal(&rt->wake);
  pthread_mutex_unlock(&rt->lock);
}

void twi_output_rebuffer(tower_ctx *o, const twi_buffer_conf *c) {
  twi_output_rt *rt = o->out;
  char *dir = c->dir ? strdup(c->dir) : NULL, *intent = c->dir ? strdup(c->dir) : NULL;
  if (c->dir && (!dir || !intent)) {
    free(dir);
    free(intent);
    tower_log(o, TOWER_LOG_ERROR, "out of memory: keeps its buffer settings");
    return;
  }
  pthread_mutex_lock(&rt->lock);
  free(rt->switch_to.dir);
  rt->switch_to = *c;
  rt->switch_to.dir = dir;
  rt->switch_pending = true;
  free(o->buffer.dir); /* what the configuration says from now on */
  o->buffer = *c;
  o->buffer.dir = intent;
  if (rt->in_flight == 0)
    apply_switch(o);
  pthread_mutex_unlock(&rt->lock);
}

size_t twi_output_unsaved(tower_ctx *o) {
  twi_output_rt *rt = o->out;
  pthread_mutex_lock(&rt->lock);
  size_t n = rt->buf->ops->volatile_count ? rt->buf->ops->volatile_count(rt->buf) : buffered(rt);
  pthread_mutex_unlock(&rt->lock);
  return n;
}

size_t twi_output_buffered(tower_ctx *o) {
  pthread_mutex_lock(&o->out->lock);
  size_t n = buffered(o->out);
  pthread_mutex_unlock(&o->out->lock);
  return n;
}

void twi_output_begin_stop(tower_ctx *o, int64_t deadline_mono) {
  twi_output_rt *rt = o->out;
  if (!rt || !rt->started)
    return;
  pthread_mutex_lock(&rt->lock);
  if (!rt->stop) {
    rt->stop = true;
    rt->deadline = deadline_mono;
    pthread_cond_signal(&rt->wake);
  }
  pthread_mutex_unlock(&rt->lock);
}

bool twi_output_stop(tower_ctx *o, int64_t deadline_mono) {
  twi_output_rt *rt = o->out;
  if (!rt || !rt->started)
    return true;
  twi_output_begin_stop(o, deadline_mono);
  pthread_mutex_lock(&rt->lock);
  struct timespec ts = twi_timespec(deadline_mono);
  while (!rt->done && pthread_cond_timedwait(&rt->done_cond, &rt->lock, &ts) != ETIMEDOUT)
    ;
  bool done = rt->done;
  size_t left = buffered(rt);
  pthread_mutex_unlock(&rt->lock);
  if (!done) {
    tower_log(o, TOWER_LOG_ERROR,
              "still writing when the shutdown timeout ended; abandoning it with %zu metric%s "
              "unwritten",
              left, twi_s(left));
    pthread_detach(rt->thread);
    return false;
  }
  pthread_join(rt->thread, NULL);
  rt->started = false;
  return true;
}

size_t twi_output_flush_sync(tower_ctx *o) {
  twi_output_rt *rt = o->out;
  uint64_t dropped = atomic_load(&o->stats.dropped);
  pthread_mutex_lock(&rt->lock);
  rt->deadline = INT64_MAX;
  flush_cycle(o, false, true);
  size_t left = buffered(rt);
  pthread_mutex_unlock(&rt->lock);
  return left + (size_t)(atomic_load(&o->stats.dropped) - dropped);
}

void twi_output_destroy(tower_ctx *o) {
  twi_output_rt *rt = o->out;
  if (!rt)
    return;
  log_drop_summary(o);
  size_t left = buffered(rt);
  size_t lost = rt->buf->ops->volatile_count ? rt->buf->ops->volatile_count(rt->buf) : left;
  if (left > lost)
    tower_log(o, TOWER_LOG_INFO, "%zu metric%s kept in the disk buffer %s for the next start",
              left - lost, twi_s(left - lost), rt->disk_dir);
  if (lost)
    tower_log(o, TOWER_LOG_ERROR, "%zu buffered metric%s never written and lost", lost,
              twi_s(lost));
  rt->buf->ops->destroy(rt->buf);
  free(rt->disk_dir);
  free(rt->switch_to.dir);
  twi_spans_free(&rt->spans); /* what is left is pending: the input hears so */
  free(rt->batch);
  pthread_mutex_destroy(&rt->lock);
  pthread_cond_destroy(&rt->wake);
  pthread_cond_destroy(&rt->done_cond);
  free(rt);
  o->out = NULL;
}
