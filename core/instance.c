/* Plugin instances: one per config block. Creation validates the block and
 * reads the common options; init hands the block to the plugin. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format_options.h"
#include "suggest.h"
#include "config_view.h"
#include "pipeline.h"

static const char *const block_ignore[] = {"plugin", NULL};

/* ---- SDK accessors ---- */

const char *tower_ctx_id(const tower_ctx *ctx) {
  return ctx->id;
}
const char *tower_ctx_alias(const tower_ctx *ctx) {
  return ctx->alias;
}
const char *tower_ctx_hostname(const tower_ctx *ctx) {
  return ctx->hostname ? ctx->hostname : "";
}
int64_t tower_ctx_interval(const tower_ctx *ctx) {
  return ctx->interval;
}
bool tower_ctx_check_only(const tower_ctx *ctx) {
  return ctx->check_only;
}

bool tower_ctx_may_acknowledge(const tower_ctx *ctx) {
  return !ctx->trial;
}

bool tower_ctx_stopping(const tower_ctx *ctx) {
  return atomic_load(&ctx->stopping);
}

void tower_ctx_retry_after(tower_ctx *ctx, int64_t delay_ns) {
  atomic_store(&ctx->retry_after, delay_ns > 0 ? delay_ns : 0);
}

void tower_ctx_count_rejected(tower_ctx *ctx, uint64_t n) {
  atomic_fetch_add(&ctx->stats.rejected, n);
  atomic_fetch_add(&ctx->stats.dropped, n);
}

/* ---- creation ---- */

static int64_t duration_or(const tower_config *cfg, const char *key, int64_t fallback) {
  return tower_config_isset(cfg, key) ? tower_config_duration(cfg, key) : fallback;
}

static int64_t int_or(const tower_config *cfg, const char *key, int64_t fallback) {
  return tower_config_isset(cfg, key) ? tower_config_int(cfg, key) : fallback;
}

/* Telegraf's automatic precision: 1s for intervals of a second or more,
 * else the unit of the interval. */
static int64_t auto_precision(int64_t interval) {
  if (interval >= 1000000000LL)
    return 1000000000LL;
  if (interval >= 1000000LL)
    return 1000000LL;
  return interval >= 1000LL ? 1000LL : 1;
}

/* The buffer settings: a reload applies them to a running output in place
 * (reload.c), so they stay out of its fingerprint. */
static const char *const buffer_keys[] = {"buffer_strategy", "buffer_fsync",
                                          "buffer_fsync_interval", "buffer_max_bytes", NULL};

static void read_buffer_options(tower_ctx *ctx) {
  const tower_config *cfg = ctx->cfg;
  twi_buffer_conf *b = &ctx->buffer;
  const char *fsync = tower_config_string(cfg, "buffer_fsync");
  b->disk = strcmp(tower_config_string(cfg, "buffer_strategy"), "disk") == 0;
  b->fsync = strcmp(fsync, "interval") == 0 ? TWI_FSYNC_INTERVAL
             : strcmp(fsync, "never") == 0  ? TWI_FSYNC_NEVER
                                            : TWI_FSYNC_COMMIT;
  b->fsync_interval = tower_config_duration(cfg, "buffer_fsync_interval");
  b->max_bytes = tower_config_size(cfg, "buffer_max_bytes");
}

/* <agent.buffer_directory>/<the id as a file name>, for a disk buffer. */
static int buffer_dir(tower_ctx *ctx, const twi_settings *set) {
  char name[256];
  if (!ctx->buffer.disk)
    return 0;
  twi_buffer_dir_name(ctx->id, name, sizeof name);
  if (asprintf(&ctx->buffer.dir, "%s/%s", set->buffer_directory, name) < 0) {
    ctx->buffer.dir = NULL;
    return -ENOMEM;
  }
  return 0;
}

static void read_kind_options(tower_ctx *ctx, const twi_settings *set) {
  const tower_config *cfg = ctx->cfg;
  ctx->interval = set->interval;
  switch (ctx->kind) {
  case TOWER_INPUT:
    ctx->interval = duration_or(cfg, "interval", set->interval);
    ctx->precision = duration_or(cfg, "precision", set->precision);
    if (ctx->precision == 0)
      ctx->precision = auto_precision(ctx->interval);
    ctx->jitter = duration_or(cfg, "collection_jitter", set->jitter);
    ctx->offset = duration_or(cfg, "collection_offset", set->offset);
    ctx->round_interval = set->round_interval;
    break;
  case TOWER_PROCESSOR:
    ctx->order = int_or(cfg, "order", 0);
    break;
  case TOWER_AGGREGATOR:
    ctx->interval = duration_or(cfg, "period", 30000000000LL);
    ctx->delay = duration_or(cfg, "delay", 100000000LL);
    ctx->grace = duration_or(cfg, "grace", 0);
    ctx->drop_original = tower_config_bool(cfg, "drop_original");
    ctx->round_interval = set->round_interval;
    break;
  case TOWER_OUTPUT:
    ctx->flush_interval = duration_or(cfg, "flush_interval", set->flush_interval);
    ctx->flush_jitter = duration_or(cfg, "flush_jitter", set->flush_jitter);
    ctx->batch_size = int_or(cfg, "metric_batch_size", set->batch_size);
    ctx->buffer_limit = int_or(cfg, "metric_buffer_limit", set->buffer_limit);
    ctx->backoff_min = set->backoff_min;
    ctx->backoff_max = set->backoff_max;
    read_buffer_options(ctx);
    break;
  }
}

/* An input or output is "unchanged" across a reload when its block and
 * every agent setting it inherits are equal, its buffer settings aside. (An input's global tags and
 * host tag come from the pipeline it commits into, not from the instance.) */
static char *fingerprint(const tower_ctx *ctx) {
  char *block =
      twi_config_fingerprint_except(ctx->cfg, ctx->kind == TOWER_OUTPUT ? buffer_keys : NULL);
  if (!block)
    return NULL;
  char *fp = NULL;
  int n;
  if (ctx->kind == TOWER_OUTPUT)
    n = asprintf(&fp, "%s|%lld|%lld|%lld|%lld|%lld|%lld|%s", ctx->plugin->path,
                 (long long)ctx->flush_interval, (long long)ctx->flush_jitter,
                 (long long)ctx->batch_size, (long long)ctx->buffer_limit,
                 (long long)ctx->backoff_min, (long long)ctx->backoff_max, block);
  else
    n = asprintf(&fp, "%s|%lld|%lld|%lld|%lld|%d|%s|%s", ctx->plugin->path,
                 (long long)ctx->interval, (long long)ctx->precision, (long long)ctx->jitter,
                 (long long)ctx->offset, (int)ctx->round_interval,
                 ctx->hostname ? ctx->hostname : "", block);
  if (n < 0)
    fp = NULL;
  free(block);
  return fp;
}

static int set_identity(tower_ctx *ctx, const twi_settings *set) {
  const char *alias = tower_config_string(ctx->cfg, "alias");
  const char *level = tower_config_string(ctx->cfg, "log_level");
  int n =
      alias ? asprintf(&ctx->id, "%s.%s:%s", twi_kind_dir(ctx->kind), ctx->plugin->desc.name, alias)
            : asprintf(&ctx->id, "%s.%s", twi_kind_dir(ctx->kind), ctx->plugin->desc.name);
  if (n < 0) {
    ctx->id = NULL;
    return -ENOMEM;
  }
  if (alias && !(ctx->alias = strdup(alias)))
    return -ENOMEM;
  if (set->hostname && !(ctx->hostname = strdup(set->hostname)))
    return -ENOMEM;
  ctx->log.id = ctx->id;
  ctx->log.level = level ? twi_log_parse_level(level) : -1;
  return 0;
}

/* The instance's `tags`, read once here instead of for every metric. An
 * empty value is left out: an empty tag cannot be written anywhere. */
static int resolve_tags(tower_ctx *ctx);

/* name_override, name_prefix, name_suffix and tags (twi_rename_options):
 * inputs, outputs and aggregators only. */
static int read_renames(tower_ctx *ctx) {
  ctx->name_override = tower_config_string(ctx->cfg, "name_override");
  ctx->name_prefix = tower_config_string(ctx->cfg, "name_prefix");
  ctx->name_suffix = tower_config_string(ctx->cfg, "name_suffix");
  if (resolve_tags(ctx))
    return -ENOMEM;
  ctx->renames = ctx->name_override || ctx->name_prefix || ctx->name_suffix || ctx->ntags > 0;
  return 0;
}

static int resolve_tags(tower_ctx *ctx) {
  size_t n = tower_config_table_len(ctx->cfg, "tags");
  if (n == 0)
    return 0;
  ctx->tag_keys = calloc(n, sizeof *ctx->tag_keys);
  ctx->tag_values = calloc(n, sizeof *ctx->tag_values);
  if (!ctx->tag_keys || !ctx->tag_values)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const char *v = tower_config_table_value(ctx->cfg, "tags", i);
    if (!*v)
      continue;
    ctx->tag_keys[ctx->ntags] = tower_config_table_key(ctx->cfg, "tags", i);
    ctx->tag_values[ctx->ntags++] = v;
  }
  return 0;
}

tower_ctx *twi_instance_new(twi_conf *conf, const config_setting_t *block, tower_plugin_kind kind,
                            const twi_settings *set, twi_diag *d) {
  const char *name = NULL;
  char where[64];
  snprintf(where, sizeof where, "%s[%d]", twi_kind_dir(kind), config_setting_index(block));
  if (config_setting_type(block) != CONFIG_TYPE_GROUP) {
    twi_diag_error(d, block, "%s must be a group { plugin = \"...\"; ... }", where);
    return NULL;
  }
  if (!config_setting_lookup_string(block, "plugin", &name)) {
    twi_diag_error(d, block, "%s has no plugin = \"name\"; setting", where);
    return NULL;
  }
  const twi_plugin *p;
  char err[2048];
  int rc = twi_plugin_get(set->plugin_dir, kind, name, &p, err, sizeof err);
  if (rc) {
    twi_diag_error(d, config_setting_get_member(block, "plugin"), "%s", err);
    return NULL;
  }
  tower_ctx *ctx = calloc(1, sizeof *ctx);
  if (!ctx) {
    twi_diag_error(d, block, "out of memory");
    return NULL;
  }
  atomic_init(&ctx->refs, 1);
  ctx->kind = kind;
  ctx->plugin = p;
  ctx->conf = twi_conf_ref(conf);
  ctx->log.level = -1;
  twi_log_limiter_init(&ctx->log.limiter);
  pthread_mutex_init(&ctx->process_lock, NULL);
  const tower_option *tables[TWI_BLOCK_TABLES];
  twi_block_tables(&p->desc, p->options, tables);
  char what[256];
  snprintf(what, sizeof what, "%s.%s", twi_kind_dir(kind), name);
  ctx->cfg = twi_config_new_ruled(block, tables, what, block_ignore, &twi_format_rules, d);
  if (!ctx->cfg || twi_selector_init(&ctx->sel, ctx->cfg, d) || set_identity(ctx, set))
    goto fail;
  twi_config_set_ctx(ctx->cfg, ctx);
  if (kind != TOWER_PROCESSOR && read_renames(ctx))
    goto fail;
  read_kind_options(ctx, set);
  /* Processors and aggregators are rebuilt by every reload (their state
   * is per pipeline), so only inputs and outputs need a fingerprint. */
  bool kept_by_reload = kind == TOWER_INPUT || kind == TOWER_OUTPUT;
  if (kept_by_reload && !(ctx->fingerprint = fingerprint(ctx)))
    goto fail;
  if (buffer_dir(ctx, set))
    goto fail;
  return ctx;
fail:
  if (d->errors == 0)
    twi_diag_error(d, block, "%s: out of memory", what);
  twi_instance_unref(ctx);
  return NULL;
}

int twi_instance_init(tower_ctx *ctx) {
  if (ctx->initialized)
    return 0;
  int rc = 0;
  /* An output's disk buffer comes first: it replays what the last run left
   * and refuses a directory another tower holds. A trial run (--once) or a
   * check never touches it. */
  if (ctx->kind == TOWER_OUTPUT && ctx->out && !ctx->check_only && !ctx->trial &&
      (rc = twi_output_open_buffer(ctx))) {
    tower_log(ctx, TOWER_LOG_ERROR, "cannot start without its disk buffer; fix the error above");
    return rc;
  }
  if (ctx->plugin->desc.init)
    rc = ctx->plugin->desc.init(ctx, ctx->cfg, &ctx->state);
  if (rc < 0) {
    /* The plugin has logged why (the SDK's contract). -EINVAL is what
     * tower_config_error() returns for any refused setting, whatever the
     * cause (a permission, a missing file), so "Invalid argument" would
     * contradict that reason; other codes are the plugin's own choice. */
    if (rc == -EINVAL)
      tower_log(ctx, TOWER_LOG_ERROR, "initialization failed; fix the error above");
    else
      tower_log(ctx, TOWER_LOG_ERROR, "initialization failed (%s); fix the error above",
                strerror(-rc));
    return rc;
  }
  ctx->initialized = true;
  return 0;
}

static void instance_free(tower_ctx *ctx) {
  twi_stats_retire(ctx);
  if (ctx->initialized && ctx->plugin->desc.destroy)
    ctx->plugin->desc.destroy(ctx->state);
  twi_selector_free(&ctx->sel);
  twi_config_free(ctx->cfg);
  if (ctx->conf)
    twi_conf_unref(ctx->conf);
  pthread_mutex_destroy(&ctx->process_lock);
  twi_aggr_destroy(ctx);
  twi_log_limiter_destroy(&ctx->log.limiter);
  free(ctx->fingerprint);
  free(ctx->buffer.dir);
  free(ctx->tag_keys);
  free(ctx->tag_values);
  free(ctx->hostname);
  free(ctx->alias);
  free(ctx->id);
  free(ctx);
}

void twi_instance_ref(tower_ctx *ctx) {
  atomic_fetch_add(&ctx->refs, 1);
}

void twi_instance_unref(tower_ctx *ctx) {
  if (!ctx || atomic_fetch_sub(&ctx->refs, 1) != 1)
    return;
  if (ctx->out)
    twi_output_destroy(ctx);
  if (ctx->aggr)
    twi_aggr_stop(ctx); /* before destroy: the thread may be in push */
  instance_free(ctx);
}
