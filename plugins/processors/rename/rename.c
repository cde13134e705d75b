/* processors.rename: Telegraf's processors.rename. `replace` is an ordered
 * list of rules; each names exactly one of `measurement`, `tag` or `field`
 * (matched exactly, not as a glob, as in Telegraf) and the new name `dest`.
 * Every rule is applied to every metric in order, so a later rule sees what
 * an earlier one renamed. A tag or field renamed onto an existing key
 * replaces it.
 *
 * A tag or string field value is borrowed from the metric and changing the
 * metric may move it, so it is copied into a scratch buffer owned by the
 * instance first (process calls of one instance never overlap): renaming
 * allocates nothing of its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

typedef enum { RENAME_MEASUREMENT, RENAME_TAG, RENAME_FIELD } rename_what;

typedef struct {
  rename_what what;
  const char *from; /* borrowed from the config until destroy */
  const char *dest;
} rename_rule;

typedef struct {
  rename_rule *rules;
  size_t nrules;
  tower_buf *scratch;
} rename_state;

static const tower_option rule_options[] = {
    {.name = "measurement", .type = TOWER_OPT_STRING, .help = "rename metrics of this name"},
    {.name = "tag", .type = TOWER_OPT_STRING, .help = "rename the tag of this key"},
    {.name = "field", .type = TOWER_OPT_STRING, .help = "rename the field of this key"},
    {.name = "dest", .type = TOWER_OPT_STRING, .flags = TOWER_OPT_REQUIRED, .help = "the new name"},
    TOWER_OPTION_END,
};

static const tower_option options[] = {
    {.name = "replace",
     .type = TOWER_OPT_GROUPS,
     .help = "( { measurement|tag|field = \"old\"; dest = \"new\"; }, ... ): applied in order",
     .children = rule_options},
    TOWER_OPTION_END,
};

/* ---- renaming ------------------------------------------------------------ */

/* Copies `s` into the scratch buffer and returns the copy (NULL: no memory). */
static const char *keep(rename_state *st, const char *s) {
  tower_buf_reset(st->scratch);
  if (tower_buf_append(st->scratch, s, strlen(s) + 1))
    return NULL;
  return tower_buf_data(st->scratch);
}

static int rename_tag(rename_state *st, tower_metric *m, const rename_rule *r) {
  const char *v = tower_metric_tag(m, r->from);
  if (!v)
    return 0;
  if (!(v = keep(st, v)))
    return -ENOMEM;
  int rc = tower_metric_remove_tag(m, r->from);
  return rc ? rc : tower_metric_add_tag(m, r->dest, v);
}

/* Adds field `i` of `m` as `dest` with its value and type. */
static int copy_field(rename_state *st, tower_metric *m, size_t i, const char *dest) {
  switch (tower_metric_field_type(m, i)) {
  case TOWER_FIELD_FLOAT:
    return tower_metric_add_float(m, dest, tower_metric_field_float(m, i));
  case TOWER_FIELD_INT:
    return tower_metric_add_int(m, dest, tower_metric_field_int(m, i));
  case TOWER_FIELD_UINT:
    return tower_metric_add_uint(m, dest, tower_metric_field_uint(m, i));
  case TOWER_FIELD_BOOL:
    return tower_metric_add_bool(m, dest, tower_metric_field_bool(m, i));
  case TOWER_FIELD_STRING: {
    const char *v = keep(st, tower_metric_field_string(m, i));
    return v ? tower_metric_add_string(m, dest, v) : -ENOMEM;
  }
  }
  return -EINVAL;
}

static int rename_field(rename_state *st, tower_metric *m, const rename_rule *r) {
  ptrdiff_t i = tower_metric_field_index(m, r->from);
  if (i < 0 || strcmp(r->from, r->dest) == 0)
    return 0;
  int rc = copy_field(st, m, (size_t)i, r->dest);
  return rc ? rc : tower_metric_remove_field(m, r->from);
}

static int apply(rename_state *st, tower_metric *m, const rename_rule *r) {
  switch (r->what) {
  case RENAME_MEASUREMENT:
    return strcmp(tower_metric_name(m), r->from) == 0 ? tower_metric_set_name(m, r->dest) : 0;
  case RENAME_TAG:
    return rename_tag(st, m, r);
  case RENAME_FIELD:
    return rename_field(st, m, r);
  }
  return 0;
}

static int rename_process(void *state, tower_metric *m, tower_acc *next) {
  rename_state *st = state;
  int rc = 0;
  size_t i;
  for (i = 0; rc == 0 && i < st->nrules; i++)
    rc = apply(st, m, &st->rules[i]);
  if (rc < 0)
    tower_acc_error(next,
                    "replace[%zu] failed on metric \"%s\": %s; it was passed on with the "
                    "renames before it",
                    i - 1, tower_metric_name(m), strerror(-rc));
  int add = tower_acc_add(next, m);
  return rc < 0 ? rc : add;
}

/* ---- configuration ------------------------------------------------------- */

static int compile_rule(const tower_config *cfg, const tower_setting *rs, size_t i,
                        rename_rule *r) {
  const tower_config *rc = tower_setting_config(rs);
  if (!rc) /* the core validates every GROUPS element; never NULL */
    return -EINVAL;
  static const char *const keys[] = {"measurement", "tag", "field"};
  size_t set = 0;
  for (size_t k = 0; k < 3; k++)
    if (tower_config_isset(rc, keys[k])) {
      r->what = (rename_what)k;
      r->from = tower_config_string(rc, keys[k]);
      set++;
    }
  if (set != 1)
    return tower_config_error(cfg, rs,
                              "replace[%zu] must name exactly one of measurement, tag or field "
                              "(it names %zu); write one rule per rename",
                              i, set);
  r->dest = tower_config_string(rc, "dest");
  if (!*r->from || !*r->dest)
    return tower_config_error(cfg, rs, "replace[%zu]: %s and dest must not be empty", i,
                              keys[r->what]);
  return 0;
}

static void rename_destroy(void *state) {
  rename_state *st = state;
  if (!st)
    return;
  free(st->rules);
  tower_buf_free(st->scratch);
  free(st);
}

/* `replace` is a list of groups, or a single group (the core accepts both). */
static int compile_rules(rename_state *st, tower_ctx *ctx, const tower_config *cfg) {
  const tower_setting *rules = tower_config_setting(cfg, "replace");
  bool single = tower_setting_kind(rules) == TOWER_SETTING_GROUP;
  size_t n = single ? 1 : tower_setting_len(rules);
  if (n == 0) {
    tower_warn(ctx, "no replace rule is given: metrics pass unchanged");
    return 0;
  }
  if (!(st->rules = calloc(n, sizeof *st->rules)))
    return -ENOMEM;
  for (size_t i = 0; i < n; i++, st->nrules++) {
    int rc = compile_rule(cfg, single ? rules : tower_setting_at(rules, i), i, &st->rules[i]);
    if (rc)
      return rc;
  }
  return 0;
}

static int rename_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  rename_state *st = calloc(1, sizeof *st);
  if (!st)
    return -ENOMEM;
  int rc = (st->scratch = tower_buf_new(64)) ? compile_rules(st, ctx, cfg) : -ENOMEM;
  if (rc) {
    rename_destroy(st);
    return rc;
  }
  *state = st;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_PROCESSOR),
    .name = "rename",
    .description = "rename measurements, tags and fields by ordered replace rules",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = rename_init,
    .destroy = rename_destroy,
    .process = rename_process,
};

TOWER_PLUGIN_ENTRY(plugin)
