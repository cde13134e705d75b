/* outputs.file: metrics in any of tower's data formats to files and stdout,
 * with Telegraf's outputs.file options (README.md).
 *
 * A batch is serialized once into one reused buffer, whatever the number of
 * files, with the end of each metric noted (so size rotation can cut
 * between metrics, as Telegraf's per-metric writes do). Each file then gets
 * the bytes with as few writes as rotation allows.
 *
 * When one file fails (a full disk) the batch is retried, and the files
 * that took it must not get it twice: each remembers how many metrics of
 * the batch it wrote and which metric began it (a retained reference, so
 * the address cannot be reused), and the retry, which begins with the very
 * same metric, starts after them. A batch that comes back different (the
 * buffer dropped its oldest metrics meanwhile) is written whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tower/tower.h>

#include "file_out.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

typedef struct file_out {
  tower_ctx *ctx;
  tower_serializer *ser;
  bool batch_format;
  file_rotation rot;
  file_dest *dests;
  size_t ndests;
  tower_buf *buf; /* the batch, serialized; reused */
  size_t *ends;   /* end of each unit (a metric, or the whole batch) in buf */
  size_t ends_cap;
  const tower_metric **ms; /* the batch as an array (use_batch_format) */
} file_out;

static const tower_option options[] = {
    {.name = "files",
     .type = TOWER_OPT_STRINGS,
     .default_value = "stdout",
     .help = "files to append to (created with mode 0644); \"stdout\" is standard output"},
    {.name = "use_batch_format",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "serialize each batch as one message ({\"metrics\":[...]} for json) instead of "
             "metric by metric"},
    {.name = "rotation_interval",
     .type = TOWER_OPT_DURATION,
     .default_value = "0s",
     .help = "rotate a file once it is older than this (from its modification time when "
             "opened); 0: never"},
    {.name = "rotation_max_size",
     .type = TOWER_OPT_SIZE,
     .default_value = "0",
     .help = "rotate a file once it reaches this size; 0: never"},
    {.name = "rotation_max_archives",
     .type = TOWER_OPT_INT,
     .default_value = "5",
     .min = "-1",
     .help = "rotated archives kept per file, the oldest removed first; -1: keep all"},
    TOWER_OPTION_END,
};

static void file_destroy(void *state) {
  file_out *o = state;
  for (size_t i = 0; i < o->ndests; i++)
    file_dest_free(&o->dests[i]);
  free(o->dests);
  free(o->ends);
  free(o->ms);
  tower_buf_free(o->buf);
  tower_serializer_free(o->ser);
  free(o);
}

/* --config-check: the file must be creatable or writable; nothing is
 * created. */
static int check_dest(const tower_config *cfg, const tower_setting *s, const file_dest *d) {
  if (d->is_stdout)
    return 0;
  bool exists = access(d->path, F_OK) == 0;
  if (access(exists ? d->path : d->dir, W_OK) != 0)
    return tower_config_error(cfg, s, "cannot write %s %s: %s", exists ? "to" : "in",
                              exists ? d->path : d->dir, strerror(errno));
  return 0;
}

static int add_dests(file_out *o, const tower_config *cfg) {
  const tower_setting *list = tower_config_setting(cfg, "files");
  size_t n = tower_config_strings_len(cfg, "files");
  if (!(o->dests = calloc(n ? n : 1, sizeof *o->dests)))
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const char *path = tower_config_strings_at(cfg, "files", i);
    const tower_setting *s = list ? tower_setting_at(list, i) : NULL;
    for (size_t j = 0; j < i; j++)
      if (strcmp(o->dests[j].path, path) == 0)
        return tower_config_error(cfg, s, "\"%s\" is listed twice; list each file once", path);
    if (!*path)
      return tower_config_error(cfg, s, "an empty file name; give a path or \"stdout\"");
    int rc = file_dest_init(&o->dests[i], path);
    if (rc)
      return rc;
    o->ndests = i + 1;
    if (tower_ctx_check_only(o->ctx))
      rc = check_dest(cfg, s, &o->dests[i]);
    else if ((rc = file_dest_open(o->ctx, &o->dests[i], &o->rot)) < 0)
      rc = tower_config_error(cfg, s, "cannot open %s (see above)", path);
    if (rc)
      return rc;
  }
  return 0;
}

static int file_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  file_out *o = calloc(1, sizeof *o);
  if (!o)
    return -ENOMEM;
  o->ctx = ctx;
  o->batch_format = tower_config_bool(cfg, "use_batch_format");
  o->rot = (file_rotation){tower_config_duration(cfg, "rotation_interval"),
                           tower_config_size(cfg, "rotation_max_size"),
                           tower_config_int(cfg, "rotation_max_archives")};
  int rc = (o->buf = tower_buf_new(64 * 1024)) ? tower_serializer_new(ctx, cfg, &o->ser) : -ENOMEM;
  if (rc == 0)
    rc = add_dests(o, cfg);
  if (rc) {
    file_destroy(o);
    return rc;
  }
  *state = o;
  return 0;
}

/* Makes room for n units and, with the batch format, n metric pointers. */
static int reserve(file_out *o, size_t n) {
  if (o->ends_cap >= n)
    return 0;
  size_t *e = realloc(o->ends, n * sizeof *e);
  if (e)
    o->ends = e;
  const tower_metric **ms = e && o->batch_format ? realloc(o->ms, n * sizeof *ms) : NULL;
  if (ms)
    o->ms = ms;
  if (!e || (o->batch_format && !ms))
    return -ENOMEM;
  o->ends_cap = n;
  return 0;
}

/* Serializes the batch into o->buf and o->ends. Returns the number of
 * units (metrics, or 1 for a batch message), or -ENOMEM; *rejected counts
 * the metrics the format cannot represent. */
static int serialize(file_out *o, const tower_batch *b, uint64_t *rejected) {
  size_t n = tower_batch_len(b);
  tower_buf_reset(o->buf);
  *rejected = 0;
  if (reserve(o, n ? n : 1))
    return -ENOMEM;
  if (o->batch_format) {
    for (size_t i = 0; i < n; i++)
      o->ms[i] = tower_batch_at(b, i);
    int k = tower_serialize_batch(o->ser, o->ms, n, o->buf);
    if (k < 0)
      return k;
    *rejected = n - (size_t)k;
    o->ends[0] = tower_buf_len(o->buf);
    return 1;
  }
  for (size_t i = 0; i < n; i++) {
    int rc = tower_serialize(o->ser, tower_batch_at(b, i), o->buf);
    if (rc == -ENOMEM)
      return rc;
    *rejected += rc < 0;
    o->ends[i] = tower_buf_len(o->buf);
  }
  return (int)n;
}

/* Metrics of this batch the file wrote in an earlier attempt (see the
 * top); forgets an attempt of another batch. */
static size_t done_before(file_dest *d, const tower_batch *b) {
  size_t n = tower_batch_len(b);
  if (d->done_first && n && d->done_first == tower_batch_at(b, 0) && d->done_n <= n)
    return d->done_n;
  tower_metric_release(d->done_first);
  d->done_first = NULL;
  d->done_n = 0;
  return 0;
}

/* Notes that the file holds the first `done` metrics of a batch that will
 * be retried. */
static void remember(file_dest *d, const tower_batch *b, size_t done) {
  if (done && !d->done_first)
    d->done_first = tower_metric_retain(tower_batch_at(b, 0));
  d->done_n = done;
}

static void forget(file_dest *d) {
  tower_metric_release(d->done_first);
  d->done_first = NULL;
  d->done_n = 0;
}

/* Writes units [from, units) to d, rotating between units whenever the file
 * is due. Returns the units written. */
static size_t write_units(file_out *o, file_dest *d, size_t from, size_t units) {
  const char *data = tower_buf_data(o->buf);
  size_t i = from, start = from ? o->ends[from - 1] : 0;
  bool by_size = o->rot.max_size && !d->is_stdout;
  while (i < units) {
    size_t j = by_size ? i : units - 1; /* the last unit of this write */
    while (by_size && j + 1 < units && d->size + (o->ends[j] - start) < o->rot.max_size)
      j++;
    if (file_dest_write(o->ctx, d, data + start, o->ends[j] - start) != 0)
      return i;
    i = j + 1;
    start = o->ends[j];
    if (file_dest_due(d, &o->rot, tower_now()) && file_dest_rotate(o->ctx, d, &o->rot) != 0)
      return i; /* no new file yet: the next write opens it again */
  }
  return units;
}

/* Writes the serialized batch to d; returns the metrics of the batch d
 * now holds (all of them, or what it took before it failed). */
static size_t write_dest(file_out *o, file_dest *d, const tower_batch *b, size_t units) {
  size_t n = tower_batch_len(b), done = done_before(d, b);
  /* with the batch format, one unit is the whole batch: all or nothing */
  size_t from = o->batch_format ? (done == n) : done;
  if (from == units || file_dest_check(o->ctx, d, &o->rot) != 0)
    return done;
  size_t wrote = write_units(o, d, from, units);
  return o->batch_format ? (wrote == units ? n : 0) : wrote;
}

static tower_write_result file_write(void *state, const tower_batch *batch) {
  file_out *o = state;
  uint64_t rejected;
  int units = serialize(o, batch, &rejected);
  if (units < 0) {
    tower_error(o->ctx, "out of memory serializing %zu metrics; will retry",
                tower_batch_len(batch));
    return TOWER_WRITE_RETRY;
  }
  size_t n = tower_batch_len(batch), failed = 0;
  for (size_t i = 0; i < o->ndests; i++) {
    size_t done = write_dest(o, &o->dests[i], batch, (size_t)units);
    failed += done < n;
    remember(&o->dests[i], batch, done);
  }
  for (size_t i = 0; i < o->ndests; i++)
    if (!failed)
      forget(&o->dests[i]);
  if (failed)
    return TOWER_WRITE_RETRY;
  if (rejected) {
    tower_warn(o->ctx, "%llu metric%s cannot be written in this data format and were dropped",
               (unsigned long long)rejected, rejected == 1 ? "" : "s");
    tower_ctx_count_rejected(o->ctx, rejected);
  }
  return TOWER_WRITE_OK;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_OUTPUT),
    .flags = TOWER_PLUGIN_SERIALIZER,
    .name = "file",
    .description = "metrics in any data format to files (with rotation) and stdout",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = file_init,
    .destroy = file_destroy,
    .write = file_write,
};

TOWER_PLUGIN_ENTRY(plugin)
