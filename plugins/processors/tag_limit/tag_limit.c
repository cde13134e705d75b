/* processors.tag_limit: keeps the number of tags of a metric at or below
 * `limit`, as Telegraf's processors.tag_limit: tags are removed from the
 * end of the key-sorted list, skipping those named in `keep`, until the
 * limit is reached. Metrics with few enough tags pass untouched; nothing is
 * allocated per metric except a key longer than the instance's scratch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

typedef struct {
  size_t limit;
  const char *const *keep; /* borrowed from the config */
  size_t nkeep;
  tower_buf *key; /* the key being removed, copied out of the metric */
} tag_limit_state;

static const tower_option options[] = {
    {.name = "limit",
     .type = TOWER_OPT_INT,
     .flags = TOWER_OPT_REQUIRED,
     .min = "0",
     .max = "1000000",
     .help = "the most tags a metric keeps"},
    {.name = "keep",
     .type = TOWER_OPT_STRINGS,
     .help = "tag keys that are never removed (they count towards the limit)"},
    TOWER_OPTION_END,
};

static bool kept(const tag_limit_state *s, const char *key) {
  for (size_t i = 0; i < s->nkeep; i++)
    if (strcmp(s->keep[i], key) == 0)
      return true;
  return false;
}

static int tag_limit_process(void *state, tower_metric *m, tower_acc *next) {
  tag_limit_state *s = state;
  size_t n = tower_metric_tag_count(m);
  size_t excess = n > s->limit ? n - s->limit : 0;
  int rc = 0;
  /* removing tag i leaves the indices below i in place */
  for (size_t i = n; rc == 0 && excess > 0 && i-- > 0;) {
    const char *key = tower_metric_tag_key(m, i);
    if (kept(s, key))
      continue;
    tower_buf_reset(s->key);
    rc = tower_buf_append_str(s->key, key);
    if (rc == 0)
      rc = tower_metric_remove_tag(m, tower_buf_data(s->key));
    excess--;
  }
  if (rc)
    tower_acc_error(next, "metric %s: cannot remove a tag: %s; the metric was passed on",
                    tower_metric_name(m), strerror(-rc));
  int arc = tower_acc_add(next, m);
  return rc ? rc : arc;
}

static void tag_limit_destroy(void *state) {
  tag_limit_state *s = state;
  if (!s)
    return;
  free((void *)s->keep);
  tower_buf_free(s->key);
  free(s);
}

static int tag_limit_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  (void)ctx;
  tag_limit_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->limit = (size_t)tower_config_int(cfg, "limit");
  s->nkeep = tower_config_strings_len(cfg, "keep");
  const char **keep = calloc(s->nkeep + 1, sizeof *keep);
  s->keep = keep;
  s->key = tower_buf_new(64);
  if (!keep || !s->key) {
    tag_limit_destroy(s);
    return -ENOMEM;
  }
  for (size_t i = 0; i < s->nkeep; i++)
    keep[i] = tower_config_strings_at(cfg, "keep", i);
  if (s->nkeep > s->limit) {
    int rc = tower_config_error(cfg, tower_config_setting(cfg, "keep"),
                                "keep lists %zu tags but limit is %zu: raise limit to at least "
                                "%zu or keep fewer tags",
                                s->nkeep, s->limit, s->nkeep);
    tag_limit_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_PROCESSOR),
    .name = "tag_limit",
    .description = "keep the number of tags per metric under a limit",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = tag_limit_init,
    .destroy = tag_limit_destroy,
    .process = tag_limit_process,
};

TOWER_PLUGIN_ENTRY(plugin)
