/* processors.filter: keeps or drops whole metrics by ordered rules, with the
 * semantics of Telegraf's processors.filter (plugins/processors/filter/
 * filter.go and rule.go, since v1.29):
 *
 * - Rules are tried in order; the first rule that matches decides (its
 *   `action`, "drop" unless given). No matching rule: `default` ("pass").
 * - Within a rule the criteria are ANDed and an omitted (or empty) criterion
 *   is ignored, so a rule without criteria matches every metric:
 *     name   the metric name matches one of the globs;
 *     tags   every listed key is present and its value matches one of the
 *            globs given for that key;
 *     fields at least one field key matches one of the globs.
 * - Metrics are never changed, only passed on or dropped.
 *
 * Globs are compiled once at init; matching a metric allocates nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

typedef struct {
  const char *key; /* borrowed from the config, valid until destroy */
  tower_globs *values;
} tag_rule;

typedef struct {
  tower_globs *name;   /* NULL: any name */
  tower_globs *fields; /* NULL: any fields */
  tag_rule *tags;
  size_t ntags;
  bool pass;
} filter_rule;

typedef struct {
  tower_ctx *ctx;
  bool default_pass;
  filter_rule *rules;
  size_t nrules;
} filter_state;

static const tower_option rule_options[] = {
    {.name = "name",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_GLOB,
     .help = "globs; the metric name must match one of them (omitted: any name)"},
    {.name = "tags",
     .type = TOWER_OPT_STRINGS_TABLE,
     .flags = TOWER_OPT_GLOB,
     .help = "{ key = [\"glob\", ...]; }: every key must be present with a value matching one "
             "of its globs"},
    {.name = "fields",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_GLOB,
     .help = "globs; at least one field key must match one of them (omitted: any fields)"},
    {.name = "action",
     .type = TOWER_OPT_ENUM,
     .default_value = "drop",
     .choices = "pass|drop",
     .help = "what happens to a metric this rule matches"},
    TOWER_OPTION_END,
};

static const tower_option options[] = {
    {.name = "default",
     .type = TOWER_OPT_ENUM,
     .default_value = "pass",
     .choices = "pass|drop",
     .help = "what happens to a metric no rule matches"},
    {.name = "rules",
     .type = TOWER_OPT_GROUPS,
     .help = "( { name = [...]; tags = { key = [...]; }; fields = [...]; action = \"drop\"; }, "
             "... ): tried in order, the first matching rule decides",
     .children = rule_options},
    TOWER_OPTION_END,
};

/* ---- matching ------------------------------------------------------------ */

static bool any_field_matches(const tower_globs *g, const tower_metric *m) {
  size_t n = tower_metric_field_count(m);
  for (size_t i = 0; i < n; i++)
    if (tower_globs_match(g, tower_metric_field_key(m, i)))
      return true;
  return false;
}

/* Telegraf's rule.apply: name, then tags, then fields; all must hold. */
static bool rule_matches(const filter_rule *r, const tower_metric *m) {
  if (r->name && !tower_globs_match(r->name, tower_metric_name(m)))
    return false;
  for (size_t i = 0; i < r->ntags; i++) {
    const char *value = tower_metric_tag(m, r->tags[i].key);
    if (!value || !tower_globs_match(r->tags[i].values, value))
      return false;
  }
  return !r->fields || any_field_matches(r->fields, m);
}

static bool decide(const filter_state *s, const tower_metric *m) {
  for (size_t i = 0; i < s->nrules; i++)
    if (rule_matches(&s->rules[i], m))
      return s->rules[i].pass;
  return s->default_pass;
}

static int filter_process(void *state, tower_metric *m, tower_acc *next) {
  if (decide(state, m))
    return tower_acc_add(next, m);
  tower_metric_free(m);
  return 0;
}

/* ---- configuration ------------------------------------------------------- */

/* The core has already checked shapes and pattern syntax (TOWER_OPT_GLOB,
 * TOWER_OPT_STRINGS_TABLE), so compiling cannot fail on the user's input
 * except for a tag listed without any value. */

/* A STRINGS criterion; *out stays NULL when it is omitted or empty (Telegraf
 * ignores an empty criterion). */
static int compile_strings(const tower_config *rcfg, const char *key, tower_globs **out) {
  if (tower_config_strings_len(rcfg, key) == 0)
    return 0;
  return tower_globs_from_config(rcfg, key, out);
}

static int compile_tags(const tower_config *rcfg, size_t rule, filter_rule *r) {
  const tower_setting *tags = tower_config_setting(rcfg, "tags");
  size_t n = tower_setting_len(tags);
  if (n == 0)
    return 0;
  if (!(r->tags = calloc(n, sizeof *r->tags)))
    return -ENOMEM;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++, r->ntags++) {
    const tower_setting *e = tower_setting_at(tags, i);
    r->tags[i].key = tower_setting_name(e);
    if (tower_setting_kind(e) != TOWER_SETTING_STRING && tower_setting_len(e) == 0)
      return tower_config_error(rcfg, e,
                                "rules[%zu]: tags.%s lists no value; give at least one glob "
                                "(\"*\" accepts any value)",
                                rule, r->tags[i].key);
    rc = tower_globs_from_setting(rcfg, e, &r->tags[i].values);
  }
  return rc;
}

static int compile_rule(const tower_setting *rs, size_t rule, filter_rule *r) {
  const tower_config *rcfg = tower_setting_config(rs);
  if (!rcfg) /* the core validates every GROUPS element; never NULL */
    return -EINVAL;
  const char *action = tower_config_string(rcfg, "action");
  r->pass = action && strcmp(action, "pass") == 0;
  int rc = compile_strings(rcfg, "name", &r->name);
  if (rc == 0)
    rc = compile_tags(rcfg, rule, r);
  if (rc == 0)
    rc = compile_strings(rcfg, "fields", &r->fields);
  return rc;
}

static void free_rules(filter_state *s) {
  for (size_t i = 0; i < s->nrules; i++) {
    filter_rule *r = &s->rules[i];
    tower_globs_free(r->name);
    tower_globs_free(r->fields);
    for (size_t j = 0; j < r->ntags; j++)
      tower_globs_free(r->tags[j].values);
    free(r->tags);
  }
  free(s->rules);
}

/* `rules` is a list of groups, or a single group (the core accepts both). */
static int compile_rules(filter_state *s, const tower_config *cfg) {
  const tower_setting *rules = tower_config_setting(cfg, "rules");
  bool single = tower_setting_kind(rules) == TOWER_SETTING_GROUP;
  size_t n = single ? 1 : tower_setting_len(rules);
  if (n == 0)
    return 0;
  if (!(s->rules = calloc(n, sizeof *s->rules)))
    return -ENOMEM;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++, s->nrules++)
    rc = compile_rule(single ? rules : tower_setting_at(rules, i), i, &s->rules[i]);
  return rc;
}

static void filter_destroy(void *state) {
  filter_state *s = state;
  if (!s)
    return;
  free_rules(s);
  free(s);
}

static int filter_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  filter_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  const char *def = tower_config_string(cfg, "default");
  s->default_pass = !def || strcmp(def, "pass") == 0;
  int rc = compile_rules(s, cfg);
  if (rc) {
    filter_destroy(s);
    return rc;
  }
  if (!s->default_pass && s->nrules == 0)
    tower_warn(ctx, "default is \"drop\" and no rule is given: every metric is dropped");
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_PROCESSOR),
    .name = "filter",
    .description = "keep or drop metrics by ordered rules on name, tags and field keys",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = filter_init,
    .destroy = filter_destroy,
    .process = filter_process,
};

TOWER_PLUGIN_ENTRY(plugin)
