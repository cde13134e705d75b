/* processors.override: Telegraf's processors.override. Every metric that
 * reaches it gets
 *   name_override  as its new name, then
 *   name_prefix    before and name_suffix after the name, then
 *   tags           set, replacing a tag of the same key the metric has.
 *
 * These are the names of the renaming options of inputs, outputs and
 * aggregators, which the core applies to those (acc.c); a processor's block
 * has none (a processor changes metrics by what it does), so this plugin
 * declares them as its own. Unlike an input's `tags` (where
 * a tag the metric has wins), override replaces existing tags, as Telegraf's
 * does.
 *
 * The new name is built once at init when name_override is set, so such a
 * metric costs a set_name and no formatting; otherwise the name is composed
 * in a scratch buffer owned by the instance (process calls of one instance
 * never overlap), so nothing is allocated per metric here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

typedef struct {
  const char *override; /* all borrowed from the config until destroy */
  const char *prefix;
  const char *suffix;
  char *fixed_name; /* prefix + override + suffix, when override is set */
  const char **tag_keys;
  const char **tag_values;
  size_t ntags;
  tower_buf *scratch; /* the composed name without override */
} override_state;

/* Non-empty string option, or NULL (an empty one changes nothing, as in
 * Telegraf, which tests len() > 0). */
static const char *nonempty(const tower_config *cfg, const char *key) {
  const char *s = tower_config_string(cfg, key);
  return s && *s ? s : NULL;
}

static int set_name(override_state *s, tower_metric *m) {
  if (s->fixed_name)
    return tower_metric_set_name(m, s->fixed_name);
  if (!s->prefix && !s->suffix)
    return 0;
  /* the current name is borrowed from m: copy it out before changing m */
  tower_buf_reset(s->scratch);
  if (tower_buf_append_str(s->scratch, s->prefix ? s->prefix : "") ||
      tower_buf_append_str(s->scratch, tower_metric_name(m)) ||
      tower_buf_append_str(s->scratch, s->suffix ? s->suffix : "") ||
      tower_buf_append(s->scratch, "", 1))
    return -ENOMEM;
  return tower_metric_set_name(m, tower_buf_data(s->scratch));
}

static int override_process(void *state, tower_metric *m, tower_acc *next) {
  override_state *s = state;
  int rc = set_name(s, m);
  for (size_t i = 0; rc == 0 && i < s->ntags; i++)
    rc = tower_metric_add_tag(m, s->tag_keys[i], s->tag_values[i]);
  if (rc < 0)
    tower_acc_error(next, "cannot override metric \"%s\": %s; it was passed on as it was left",
                    tower_metric_name(m), strerror(-rc));
  int add = tower_acc_add(next, m);
  return rc < 0 ? rc : add;
}

static void override_destroy(void *state) {
  override_state *s = state;
  if (!s)
    return;
  free(s->fixed_name);
  free(s->tag_keys);
  free(s->tag_values);
  tower_buf_free(s->scratch);
  free(s);
}

/* The `tags` table. An empty value is left out, with a warning: a tag cannot
 * be empty (Telegraf would add it and every output would drop it). */
static int read_tags(override_state *s, tower_ctx *ctx, const tower_config *cfg) {
  size_t n = tower_config_table_len(cfg, "tags");
  if (n == 0)
    return 0;
  s->tag_keys = calloc(n, sizeof *s->tag_keys);
  s->tag_values = calloc(n, sizeof *s->tag_values);
  if (!s->tag_keys || !s->tag_values)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const char *k = tower_config_table_key(cfg, "tags", i);
    const char *v = tower_config_table_value(cfg, "tags", i);
    if (!*v) {
      tower_warn(ctx, "tags.%s is empty and is not set (a tag needs a value)", k);
      continue;
    }
    s->tag_keys[s->ntags] = k;
    s->tag_values[s->ntags++] = v;
  }
  return 0;
}

static int build_fixed_name(override_state *s) {
  size_t lp = s->prefix ? strlen(s->prefix) : 0, lo = strlen(s->override);
  size_t ls = s->suffix ? strlen(s->suffix) : 0;
  if (!(s->fixed_name = malloc(lp + lo + ls + 1)))
    return -ENOMEM;
  memcpy(s->fixed_name, s->prefix ? s->prefix : "", lp);
  memcpy(s->fixed_name + lp, s->override, lo);
  memcpy(s->fixed_name + lp + lo, s->suffix ? s->suffix : "", ls + 1);
  return 0;
}

static int override_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  override_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->override = nonempty(cfg, "name_override");
  s->prefix = nonempty(cfg, "name_prefix");
  s->suffix = nonempty(cfg, "name_suffix");
  int rc = read_tags(s, ctx, cfg);
  if (rc == 0 && s->override)
    rc = build_fixed_name(s);
  if (rc == 0 && !(s->scratch = tower_buf_new(128)))
    rc = -ENOMEM;
  if (rc) {
    override_destroy(s);
    return rc;
  }
  if (!s->override && !s->prefix && !s->suffix && s->ntags == 0)
    tower_warn(ctx, "none of name_override, name_prefix, name_suffix, tags is set: metrics pass "
                    "unchanged");
  *state = s;
  return 0;
}

static const tower_option options[] = {
    {.name = "name_override", .type = TOWER_OPT_STRING, .help = "the new measurement name"},
    {.name = "name_prefix", .type = TOWER_OPT_STRING, .help = "put before the name"},
    {.name = "name_suffix", .type = TOWER_OPT_STRING, .help = "put after the name"},
    {.name = "tags",
     .type = TOWER_OPT_TABLE,
     .help = "tags to set, replacing a tag of the same key the metric has"},
    TOWER_OPTION_END,
};

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_PROCESSOR),
    .name = "override",
    .description = "override the name (name_override/prefix/suffix) and set tags of metrics",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = override_init,
    .destroy = override_destroy,
    .process = override_process,
};

TOWER_PLUGIN_ENTRY(plugin)
