/* processors.regex: changes tag and field values and renames tags, fields
 * and metrics with regular expressions, as Telegraf's processors.regex
 * (plugins/processors/regex, v1.27 and later). For each metric, in this
 * order: `tag_values` (Telegraf's `tags`, a name the core keeps for the
 * tags every plugin may add), `fields`, `tag_rename`, `field_rename`, `metric_rename`;
 * within a section the rules apply one after the other, each seeing what
 * the ones before it made.
 *
 * Patterns are RE2 syntax matched by PCRE2 (rx.h says how, README.md why).
 * Patterns are compiled once; processing a metric allocates only when the
 * metric itself grows, all scratch space lives in the instance.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "rx.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* A `tags` or `fields` rule: a value conversion. */
typedef struct {
  tower_globs *keys;
  rx re;
  const char *pattern, *replacement;
  const char *result_key; /* NULL: the key being converted */
  bool append;
} convert_rule;

/* A `tag_rename`, `field_rename` or `metric_rename` rule. */
typedef struct {
  rx re;
  const char *pattern, *replacement;
  bool overwrite; /* result_key = "overwrite" */
} rename_rule;

typedef struct {
  const char *section; /* its option: "tag_values", ... */
  convert_rule *rules;
  size_t n;
} convert_list;

typedef struct {
  const char *section;
  rename_rule *rules;
  size_t n;
} rename_list;

/* Where matching failed, for the error message. */
typedef struct {
  const char *section;
  size_t rule;
  const char *pattern, *why;
  const char *key; /* the tag or field, NULL for the metric name */
} failure;

typedef struct {
  tower_ctx *ctx;
  convert_list tags, fields;
  rename_list tag_rename, field_rename, metric_rename;
  tower_buf *out;   /* a replacement's result */
  tower_buf *value; /* a value being moved or appended to */
  tower_buf *keys;  /* the keys a rule visits, NUL-separated */
  failure failed;
} regex_state;

static const tower_option tag_options[] = {
    {.name = "key",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_REQUIRED | TOWER_OPT_GLOB,
     .help = "the tags to convert, by key; globs (\"*\": every tag)"},
    {.name = "pattern",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_REQUIRED,
     .help = "regular expression (RE2 syntax, see README); a value that does not match is left "
             "alone"},
    {.name = "replacement",
     .type = TOWER_OPT_STRING,
     .default_value = "",
     .help = "what every match becomes: $1, $${1}, $${name} insert groups (write $${ for ${), $$ a "
             "'$'"},
    {.name = "result_key",
     .type = TOWER_OPT_STRING,
     .help = "write the result to this tag instead of the converted one"},
    {.name = "append",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "append the result to the target tag's value when it exists"},
    TOWER_OPTION_END,
};

static const tower_option field_options[] = {
    {.name = "key",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_REQUIRED | TOWER_OPT_GLOB,
     .help = "the string fields to convert, by key; globs (\"*\": every string field)"},
    {.name = "pattern",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_REQUIRED,
     .help = "regular expression (RE2 syntax, see README); a value that does not match is left "
             "alone"},
    {.name = "replacement",
     .type = TOWER_OPT_STRING,
     .default_value = "",
     .help = "what every match becomes: $1, $${1}, $${name} insert groups (write $${ for ${), $$ a "
             "'$'"},
    {.name = "result_key",
     .type = TOWER_OPT_STRING,
     .help = "write the result to this field instead of the converted one"},
    TOWER_OPTION_END,
};

static const tower_option rename_options[] = {
    {.name = "pattern",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_REQUIRED,
     .help = "regular expression on the key; keys that do not match keep their name"},
    {.name = "replacement",
     .type = TOWER_OPT_STRING,
     .default_value = "",
     .help = "the new key: $1, $${1}, $${name} insert groups (write $${ for ${)"},
    {.name = "result_key",
     .type = TOWER_OPT_ENUM,
     .default_value = "keep",
     .choices = "keep|overwrite",
     .help = "when the new key exists: keep both as they are, or overwrite it"},
    TOWER_OPTION_END,
};

static const tower_option metric_rename_options[] = {
    {.name = "pattern",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_REQUIRED,
     .help = "regular expression on the metric name"},
    {.name = "replacement",
     .type = TOWER_OPT_STRING,
     .default_value = "",
     .help = "the new name: $1, $${1}, $${name} insert groups (write $${ for ${)"},
    TOWER_OPTION_END,
};

static const tower_option options[] = {
    {.name = "tag_values",
     .type = TOWER_OPT_GROUPS,
     .help = "( { key = \"resp_code\"; pattern = \"^(\\\\d)\\\\d\\\\d$\"; replacement = "
             "\"$${1}xx\"; }, ... ): tag value conversions (Telegraf: tags)",
     .children = tag_options},
    {.name = "fields",
     .type = TOWER_OPT_GROUPS,
     .help = "( { key = \"request\"; pattern = ...; replacement = ...; result_key = ...; }, ... "
             "): string field conversions",
     .children = field_options},
    {.name = "tag_rename",
     .type = TOWER_OPT_GROUPS,
     .help = "( { pattern = ...; replacement = ...; result_key = \"keep\"; }, ... ): tag renames",
     .children = rename_options},
    {.name = "field_rename",
     .type = TOWER_OPT_GROUPS,
     .help = "( { pattern = ...; replacement = ...; result_key = \"keep\"; }, ... ): field "
             "renames",
     .children = rename_options},
    {.name = "metric_rename",
     .type = TOWER_OPT_GROUPS,
     .help = "( { pattern = ...; replacement = ...; }, ... ): metric renames",
     .children = metric_rename_options},
    TOWER_OPTION_END,
};

/* ---- the keys a rule visits ---------------------------------------------- */

/* Telegraf walks a copy of the tag (field) list, so a key a rule adds is not
 * visited by the same rule. The keys are copied into s->keys; the walk then
 * reads them from there while the metric changes. */
typedef enum { TAG_KEYS, FIELD_KEYS } key_kind;

static int snapshot_keys(regex_state *s, const tower_metric *m, key_kind kind,
                         const tower_globs *only) {
  tower_buf_reset(s->keys);
  size_t n = kind == TAG_KEYS ? tower_metric_tag_count(m) : tower_metric_field_count(m);
  for (size_t i = 0; i < n; i++) {
    const char *key = kind == TAG_KEYS ? tower_metric_tag_key(m, i) : tower_metric_field_key(m, i);
    if (only && !tower_globs_match(only, key))
      continue;
    if (kind == FIELD_KEYS && only && tower_metric_field_type(m, i) != TOWER_FIELD_STRING)
      continue;
    int rc = tower_buf_append(s->keys, key, strlen(key) + 1);
    if (rc)
      return rc;
  }
  return 0;
}

/* The next key of the snapshot after `key` (NULL: the first), or NULL. */
static const char *next_key(const regex_state *s, const char *key) {
  const char *end = tower_buf_data(s->keys) + tower_buf_len(s->keys);
  const char *k = key ? key + strlen(key) + 1 : tower_buf_data(s->keys);
  return k < end ? k : NULL;
}

/* ---- value conversions ------------------------------------------------- */

static int set_tag(tower_metric *m, const char *key, const char *value) {
  if (*value)
    return tower_metric_add_tag(m, key, value);
  /* tower has no empty tag values (no output can carry them): Telegraf's
   * empty tag disappears on the wire, so the tag goes */
  int rc = tower_metric_remove_tag(m, key);
  return rc == -ENOENT ? 0 : rc;
}

static int convert_tag(regex_state *s, convert_rule *r, tower_metric *m, const char *key) {
  int rc = rx_replace_all(&r->re, tower_metric_tag(m, key), r->replacement, s->out);
  if (rc <= 0)
    return rc;
  const char *target = r->result_key ? r->result_key : key;
  const char *result = tower_buf_data(s->out);
  const char *old = r->append ? tower_metric_tag(m, target) : NULL;
  if (old) {
    tower_buf_reset(s->value);
    if (tower_buf_append_str(s->value, old) || tower_buf_append_str(s->value, result))
      return -ENOMEM;
    result = tower_buf_data(s->value);
  }
  return set_tag(m, target, result);
}

static int convert_field(regex_state *s, convert_rule *r, tower_metric *m, const char *key) {
  ptrdiff_t i = tower_metric_field_index(m, key);
  if (i < 0 || tower_metric_field_type(m, (size_t)i) != TOWER_FIELD_STRING)
    return 0; /* an earlier key's result replaced it with another type */
  int rc = rx_replace_all(&r->re, tower_metric_field_string(m, (size_t)i), r->replacement, s->out);
  if (rc <= 0)
    return rc;
  return tower_metric_add_string(m, r->result_key ? r->result_key : key, tower_buf_data(s->out));
}

/* Notes where matching failed (rx_replace_all's -ERANGE). */
static int note_failure(regex_state *s, int rc, const char *section, size_t rule, const rx *re,
                        const char *pattern, const char *key) {
  if (rc == -ERANGE)
    s->failed = (failure){section, rule, pattern, re->why, key};
  return rc;
}

static int apply_conversions(regex_state *s, convert_list *l, key_kind kind, tower_metric *m) {
  for (size_t i = 0; i < l->n; i++) {
    convert_rule *r = &l->rules[i];
    int rc = snapshot_keys(s, m, kind, r->keys);
    const char *k = NULL;
    while (rc == 0 && (k = next_key(s, k)))
      rc = kind == TAG_KEYS ? convert_tag(s, r, m, k) : convert_field(s, r, m, k);
    if (rc)
      return note_failure(s, rc, l->section, i, &r->re, r->pattern, k);
  }
  return 0;
}

/* ---- renames ------------------------------------------------------------- */

static int move_tag(regex_state *s, tower_metric *m, const char *from, const char *to) {
  tower_buf_reset(s->value);
  if (tower_buf_append_str(s->value, tower_metric_tag(m, from)))
    return -ENOMEM;
  int rc = tower_metric_remove_tag(m, from);
  return rc ? rc : tower_metric_add_tag(m, to, tower_buf_data(s->value));
}

static int move_field(regex_state *s, tower_metric *m, const char *from, const char *to) {
  size_t i = (size_t)tower_metric_field_index(m, from);
  tower_field_type type = tower_metric_field_type(m, i);
  double f = tower_metric_field_float(m, i);
  int64_t n = tower_metric_field_int(m, i);
  uint64_t u = tower_metric_field_uint(m, i);
  bool b = tower_metric_field_bool(m, i);
  tower_buf_reset(s->value);
  if (type == TOWER_FIELD_STRING && tower_buf_append_str(s->value, tower_metric_field_string(m, i)))
    return -ENOMEM;
  int rc = tower_metric_remove_field(m, from);
  if (rc)
    return rc;
  switch (type) {
  case TOWER_FIELD_FLOAT:
    return tower_metric_add_float(m, to, f);
  case TOWER_FIELD_INT:
    return tower_metric_add_int(m, to, n);
  case TOWER_FIELD_UINT:
    return tower_metric_add_uint(m, to, u);
  case TOWER_FIELD_BOOL:
    return tower_metric_add_bool(m, to, b);
  default:
    return tower_metric_add_string(m, to, tower_buf_data(s->value));
  }
}

static bool has_key(const tower_metric *m, key_kind kind, const char *key) {
  return kind == TAG_KEYS ? tower_metric_tag(m, key) != NULL
                          : tower_metric_field_index(m, key) >= 0;
}

static int rename_key(regex_state *s, rename_rule *r, tower_metric *m, key_kind kind,
                      const char *key) {
  int rc = rx_replace_all(&r->re, key, r->replacement, s->out);
  const char *to = tower_buf_data(s->out);
  if (rc <= 0 || !*to || strcmp(to, key) == 0)
    return rc < 0 ? rc : 0;
  if (!r->overwrite && has_key(m, kind, to))
    return 0; /* "keep": both stay as they are */
  return kind == TAG_KEYS ? move_tag(s, m, key, to) : move_field(s, m, key, to);
}

static int apply_renames(regex_state *s, rename_list *l, key_kind kind, tower_metric *m) {
  for (size_t i = 0; i < l->n; i++) {
    rename_rule *r = &l->rules[i];
    int rc = snapshot_keys(s, m, kind, NULL);
    const char *k = NULL;
    while (rc == 0 && (k = next_key(s, k)))
      rc = rename_key(s, r, m, kind, k);
    if (rc)
      return note_failure(s, rc, l->section, i, &r->re, r->pattern, k);
  }
  return 0;
}

static int rename_metric(regex_state *s, tower_metric *m) {
  for (size_t i = 0; i < s->metric_rename.n; i++) {
    rename_rule *r = &s->metric_rename.rules[i];
    int rc = rx_replace_all(&r->re, tower_metric_name(m), r->replacement, s->out);
    if (rc < 0)
      return note_failure(s, rc, "metric_rename", i, &r->re, r->pattern, NULL);
    if (rc > 0 && *tower_buf_data(s->out) &&
        (rc = tower_metric_set_name(m, tower_buf_data(s->out))))
      return rc;
  }
  return 0;
}

static int regex_process(void *state, tower_metric *m, tower_acc *next) {
  regex_state *s = state;
  int rc = apply_conversions(s, &s->tags, TAG_KEYS, m);
  if (rc == 0)
    rc = apply_conversions(s, &s->fields, FIELD_KEYS, m);
  if (rc == 0)
    rc = apply_renames(s, &s->tag_rename, TAG_KEYS, m);
  if (rc == 0)
    rc = apply_renames(s, &s->field_rename, FIELD_KEYS, m);
  if (rc == 0)
    rc = rename_metric(s, m);
  const failure *f = &s->failed;
  if (rc == -ERANGE)
    tower_acc_error(next,
                    "metric %s: %s[%zu]: pattern \"%s\" on %s%s%s: %s; the metric was passed on "
                    "with the rules before this one applied",
                    tower_metric_name(m), f->section, f->rule, f->pattern,
                    f->key ? "\"" : "the metric name", f->key ? f->key : "", f->key ? "\"" : "",
                    f->why);
  else if (rc)
    tower_acc_error(next,
                    "metric %s: %s; the metric was passed on with the rules before the "
                    "failing one applied",
                    tower_metric_name(m), strerror(-rc));
  int arc = tower_acc_add(next, m);
  return rc ? rc : arc;
}

/* ---- configuration ------------------------------------------------------- */

/* Compiles pattern and replacement of one rule; errors name the rule. */
static int compile_pattern(const tower_config *rcfg, const char *section, size_t i, rx *re,
                           const char **pattern, const char **replacement) {
  *pattern = tower_config_string(rcfg, "pattern");
  *replacement = tower_config_string(rcfg, "replacement");
  char why[256] = "";
  int rc = rx_compile(re, *pattern, why, sizeof why);
  if (rc == 0)
    rc = rx_check_template(re, *replacement, why, sizeof why);
  if (rc == -EINVAL)
    return tower_config_error(rcfg, tower_config_setting(rcfg, "pattern"),
                              "%s[%zu]: pattern \"%s\": %s", section, i, *pattern, why);
  return rc;
}

/* The groups of a GROUPS option (a single group counts as a list of one). */
static size_t groups_len(const tower_setting *list) {
  if (!list)
    return 0;
  return tower_setting_kind(list) == TOWER_SETTING_GROUP ? 1 : tower_setting_len(list);
}

static const tower_config *group_at(const tower_setting *list, size_t i) {
  return tower_setting_config(
      tower_setting_kind(list) == TOWER_SETTING_GROUP ? list : tower_setting_at(list, i));
}

static int compile_conversions(const tower_config *cfg, const char *section, convert_list *l) {
  l->section = section;
  const tower_setting *list = tower_config_setting(cfg, section);
  size_t n = groups_len(list);
  if (n == 0)
    return 0;
  if (!(l->rules = calloc(n, sizeof *l->rules)))
    return -ENOMEM;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++, l->n++) {
    convert_rule *r = &l->rules[i];
    const tower_config *rcfg = group_at(list, i);
    rc = compile_pattern(rcfg, section, i, &r->re, &r->pattern, &r->replacement);
    if (rc == 0)
      rc = tower_globs_from_config(rcfg, "key", &r->keys);
    const char *result_key = tower_config_string(rcfg, "result_key");
    r->result_key = result_key && *result_key ? result_key : NULL;
    r->append = strcmp(section, "tag_values") == 0 && tower_config_bool(rcfg, "append");
  }
  return rc;
}

static int compile_renames(const tower_config *cfg, const char *section, rename_list *l) {
  l->section = section;
  const tower_setting *list = tower_config_setting(cfg, section);
  size_t n = groups_len(list);
  if (n == 0)
    return 0;
  if (!(l->rules = calloc(n, sizeof *l->rules)))
    return -ENOMEM;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++, l->n++) {
    rename_rule *r = &l->rules[i];
    const tower_config *rcfg = group_at(list, i);
    rc = compile_pattern(rcfg, section, i, &r->re, &r->pattern, &r->replacement);
    const char *mode =
        strcmp(section, "metric_rename") ? tower_config_string(rcfg, "result_key") : NULL;
    r->overwrite = mode && strcmp(mode, "overwrite") == 0;
  }
  return rc;
}

static void free_conversions(convert_list *l) {
  for (size_t i = 0; i < l->n; i++) {
    rx_free(&l->rules[i].re);
    tower_globs_free(l->rules[i].keys);
  }
  free(l->rules);
}

static void free_renames(rename_list *l) {
  for (size_t i = 0; i < l->n; i++)
    rx_free(&l->rules[i].re);
  free(l->rules);
}

static void regex_destroy(void *state) {
  regex_state *s = state;
  if (!s)
    return;
  free_conversions(&s->tags);
  free_conversions(&s->fields);
  free_renames(&s->tag_rename);
  free_renames(&s->field_rename);
  free_renames(&s->metric_rename);
  tower_buf_free(s->out);
  tower_buf_free(s->value);
  tower_buf_free(s->keys);
  free(s);
}

/* The first rule PCRE2 could not compile to machine code, if any. */
static const rx *without_jit(const regex_state *s) {
  for (size_t i = 0; i < s->tags.n; i++)
    if (s->tags.rules[i].re.jit_error)
      return &s->tags.rules[i].re;
  for (size_t i = 0; i < s->fields.n; i++)
    if (s->fields.rules[i].re.jit_error)
      return &s->fields.rules[i].re;
  const rename_list *r[] = {&s->tag_rename, &s->field_rename, &s->metric_rename};
  for (size_t l = 0; l < 3; l++)
    for (size_t i = 0; i < r[l]->n; i++)
      if (r[l]->rules[i].re.jit_error)
        return &r[l]->rules[i].re;
  return NULL;
}

/* Says once why the patterns run slower than they could: PCRE2 without
 * its JIT, or (the usual case) a sandbox without writable executable memory
 * (systemd's MemoryDenyWriteExecute=yes, tower.service's default). */
static void report_jit(tower_ctx *ctx, const regex_state *s) {
  const rx *re = without_jit(s);
  if (!re)
    return;
  PCRE2_UCHAR msg[128] = "";
  pcre2_get_error_message(re->jit_error, msg, sizeof msg);
  tower_info(ctx,
             "PCRE2's JIT is not available here (%s): the patterns run in its interpreter, with "
             "the same results, more slowly; under systemd, MemoryDenyWriteExecute=no allows it",
             (const char *)msg);
}

static int regex_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  regex_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  int rc = -ENOMEM;
  if ((s->out = tower_buf_new(256)) && (s->value = tower_buf_new(256)) &&
      (s->keys = tower_buf_new(256)))
    rc = compile_conversions(cfg, "tag_values", &s->tags);
  if (rc == 0)
    rc = compile_conversions(cfg, "fields", &s->fields);
  if (rc == 0)
    rc = compile_renames(cfg, "tag_rename", &s->tag_rename);
  if (rc == 0)
    rc = compile_renames(cfg, "field_rename", &s->field_rename);
  if (rc == 0)
    rc = compile_renames(cfg, "metric_rename", &s->metric_rename);
  if (rc) {
    regex_destroy(s);
    return rc;
  }
  if (s->tags.n + s->fields.n + s->tag_rename.n + s->field_rename.n + s->metric_rename.n == 0)
    tower_warn(ctx,
               "no rule is given (tag_values, fields, tag_rename, field_rename, metric_rename): "
               "metrics pass unchanged");
  report_jit(ctx, s);
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_PROCESSOR),
    .name = "regex",
    .description = "change tag and field values, rename tags, fields and metrics with regular "
                   "expressions",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = regex_init,
    .destroy = regex_destroy,
    .process = regex_process,
};

TOWER_PLUGIN_ENTRY(plugin)
