/* processors.strings: string functions on the metric name, tag and field
 * keys, tag values and string field values, as Telegraf's
 * processors.strings. The operations run in Telegraf's order (lowercase,
 * uppercase, titlecase, trim, trim_left, trim_right, trim_prefix,
 * trim_suffix, replace, left, base64decode, valid_utf8), each list in the
 * order written; one operation acts on field, field_key, tag, tag_key,
 * then measurement. Scratch space lives in the instance: a metric
 * allocates only when it grows. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "textfn.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

typedef struct {
  textfn fn;
  textfn_args args;
  tower_globs *measurement, *tag, *field, *tag_key, *field_key;
  const char *dest; /* NULL: in place */
} op;

typedef struct {
  op *ops;
  size_t n;
  tower_buf *out, *value, *keys;
} strings_state;

#define TARGETS                                                                                    \
  {.name = "measurement",                                                                          \
   .type = TOWER_OPT_STRINGS,                                                                      \
   .flags = TOWER_OPT_GLOB,                                                                        \
   .help = "metric names to change (globs)"},                                                      \
      {.name = "tag",                                                                              \
       .type = TOWER_OPT_STRINGS,                                                                  \
       .flags = TOWER_OPT_GLOB,                                                                    \
       .help = "tags whose values change (globs)"},                                                \
      {.name = "field",                                                                            \
       .type = TOWER_OPT_STRINGS,                                                                  \
       .flags = TOWER_OPT_GLOB,                                                                    \
       .help = "string fields whose values change (globs)"},                                       \
      {.name = "tag_key",                                                                          \
       .type = TOWER_OPT_STRINGS,                                                                  \
       .flags = TOWER_OPT_GLOB,                                                                    \
       .help = "tag keys to change (globs)"},                                                      \
      {.name = "field_key",                                                                        \
       .type = TOWER_OPT_STRINGS,                                                                  \
       .flags = TOWER_OPT_GLOB,                                                                    \
       .help = "field keys to change (globs)"},                                                    \
  {                                                                                                \
    .name = "dest", .type = TOWER_OPT_STRING,                                                      \
    .help = "tag/field: write the result to this key and keep the source"                          \
  }

static const tower_option plain_options[] = {TARGETS, TOWER_OPTION_END};
static const tower_option cutset_options[] = {
    TARGETS,
    {.name = "cutset",
     .type = TOWER_OPT_STRING,
     .help = "characters to remove (omitted: white space)"},
    TOWER_OPTION_END};
static const tower_option prefix_options[] = {
    TARGETS,
    {.name = "prefix", .type = TOWER_OPT_STRING, .default_value = "", .help = "prefix to remove"},
    TOWER_OPTION_END};
static const tower_option suffix_options[] = {
    TARGETS,
    {.name = "suffix", .type = TOWER_OPT_STRING, .default_value = "", .help = "suffix to remove"},
    TOWER_OPTION_END};
static const tower_option replace_options[] = {
    TARGETS,
    {.name = "old",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_REQUIRED,
     .help = "text to replace (every occurrence)"},
    {.name = "new", .type = TOWER_OPT_STRING, .default_value = "", .help = "what replaces it"},
    TOWER_OPTION_END};
static const tower_option left_options[] = {
    TARGETS,
    {.name = "width",
     .type = TOWER_OPT_INT,
     .flags = TOWER_OPT_REQUIRED,
     .min = "0",
     .help = "bytes to keep from the start (never splitting a UTF-8 character)"},
    TOWER_OPTION_END};
static const tower_option utf8_options[] = {
    TARGETS,
    {.name = "replacement",
     .type = TOWER_OPT_STRING,
     .default_value = "",
     .help = "what replaces each run of invalid UTF-8 bytes"},
    TOWER_OPTION_END};

/* The operations in Telegraf's order of application. */
static const struct {
  const char *name;
  textfn fn;
  const tower_option *options;
} operations[] = {
    {"lowercase", textfn_lowercase, plain_options},
    {"uppercase", textfn_uppercase, plain_options},
    {"titlecase", textfn_titlecase, plain_options},
    {"trim", textfn_trim, cutset_options},
    {"trim_left", textfn_trim_left, cutset_options},
    {"trim_right", textfn_trim_right, cutset_options},
    {"trim_prefix", textfn_trim_prefix, prefix_options},
    {"trim_suffix", textfn_trim_suffix, suffix_options},
    {"replace", textfn_replace, replace_options},
    {"left", textfn_left, left_options},
    {"base64decode", textfn_base64decode, plain_options},
    {"valid_utf8", textfn_valid_utf8, utf8_options},
};
#define NOPERATIONS (sizeof operations / sizeof operations[0])

/* ---- applying ------------------------------------------------------------ */

typedef enum { TAGS, FIELDS } kind;

/* Copies the keys of `kind` that match `g` (string fields only for values)
 * into s->keys, NUL-separated: the walk then survives the metric's changes,
 * and a key an operation adds is not visited again (Telegraf walks a copy). */
static int snapshot(strings_state *s, const tower_metric *m, kind k, const tower_globs *g,
                    bool strings_only) {
  tower_buf_reset(s->keys);
  size_t n = k == TAGS ? tower_metric_tag_count(m) : tower_metric_field_count(m);
  for (size_t i = 0; i < n; i++) {
    const char *key = k == TAGS ? tower_metric_tag_key(m, i) : tower_metric_field_key(m, i);
    if (!tower_globs_match(g, key) ||
        (strings_only && tower_metric_field_type(m, i) != TOWER_FIELD_STRING))
      continue;
    int rc = tower_buf_append(s->keys, key, strlen(key) + 1);
    if (rc)
      return rc;
  }
  return 0;
}

static const char *next_key(const strings_state *s, const char *key) {
  const char *end = tower_buf_data(s->keys) + tower_buf_len(s->keys);
  const char *k = key ? key + strlen(key) + 1 : tower_buf_data(s->keys);
  return k < end ? k : NULL;
}

static int set_tag(tower_metric *m, const char *key, const char *value) {
  if (*value)
    return tower_metric_add_tag(m, key, value);
  int rc = tower_metric_remove_tag(m, key); /* tower has no empty tag values */
  return rc == -ENOENT ? 0 : rc;
}

static int change_value(strings_state *s, const op *o, tower_metric *m, kind k, const char *key) {
  const char *in;
  if (k == TAGS) {
    in = tower_metric_tag(m, key);
  } else {
    ptrdiff_t i = tower_metric_field_index(m, key);
    if (i < 0 || tower_metric_field_type(m, (size_t)i) != TOWER_FIELD_STRING)
      return 0;
    in = tower_metric_field_string(m, (size_t)i);
  }
  if (!in)
    return 0;
  int rc = o->fn(&o->args, in, s->out);
  if (rc)
    return rc;
  const char *to = o->dest ? o->dest : key;
  return k == TAGS ? set_tag(m, to, tower_buf_data(s->out))
                   : tower_metric_add_string(m, to, tower_buf_data(s->out));
}

/* Renames key `from` to the function's result (an empty one is ignored). */
static int change_key(strings_state *s, const op *o, tower_metric *m, kind k, const char *from) {
  int rc = o->fn(&o->args, from, s->out);
  const char *to = tower_buf_data(s->out);
  if (rc || !*to || strcmp(to, from) == 0)
    return rc;
  if (k == TAGS) {
    tower_buf_reset(s->value);
    if ((rc = tower_buf_append_str(s->value, tower_metric_tag(m, from))) ||
        (rc = tower_metric_remove_tag(m, from)))
      return rc;
    return tower_metric_add_tag(m, to, tower_buf_data(s->value));
  }
  size_t i = (size_t)tower_metric_field_index(m, from);
  tower_field_type type = tower_metric_field_type(m, i);
  double f = tower_metric_field_float(m, i);
  int64_t n = tower_metric_field_int(m, i);
  uint64_t u = tower_metric_field_uint(m, i);
  bool b = tower_metric_field_bool(m, i);
  tower_buf_reset(s->value);
  if (type == TOWER_FIELD_STRING &&
      (rc = tower_buf_append_str(s->value, tower_metric_field_string(m, i))))
    return rc;
  if ((rc = tower_metric_remove_field(m, from)))
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

typedef int (*change_fn)(strings_state *, const op *, tower_metric *, kind, const char *);

static int walk(strings_state *s, const op *o, tower_metric *m, kind k, const tower_globs *g,
                bool values, change_fn change) {
  if (!g)
    return 0;
  int rc = snapshot(s, m, k, g, values && k == FIELDS);
  for (const char *key = NULL; rc == 0 && (key = next_key(s, key));)
    rc = change(s, o, m, k, key);
  return rc;
}

/* Telegraf's converter.convert: field, field_key, tag, tag_key, measurement. */
static int apply(strings_state *s, const op *o, tower_metric *m) {
  int rc = walk(s, o, m, FIELDS, o->field, true, change_value);
  if (rc == 0)
    rc = walk(s, o, m, FIELDS, o->field_key, false, change_key);
  if (rc == 0)
    rc = walk(s, o, m, TAGS, o->tag, true, change_value);
  if (rc == 0)
    rc = walk(s, o, m, TAGS, o->tag_key, false, change_key);
  if (rc == 0 && o->measurement && tower_globs_match(o->measurement, tower_metric_name(m))) {
    rc = o->fn(&o->args, tower_metric_name(m), s->out);
    if (rc == 0 && *tower_buf_data(s->out))
      rc = tower_metric_set_name(m, tower_buf_data(s->out));
  }
  return rc;
}

static int strings_process(void *state, tower_metric *m, tower_acc *next) {
  strings_state *s = state;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < s->n; i++)
    rc = apply(s, &s->ops[i], m);
  if (rc)
    tower_acc_error(next,
                    "metric %s: %s; the metric was passed on with the operations before the "
                    "failing one applied",
                    tower_metric_name(m), strerror(-rc));
  int arc = tower_acc_add(next, m);
  return rc ? rc : arc;
}

/* ---- configuration ------------------------------------------------------- */

static size_t groups_len(const tower_setting *list) {
  if (!list)
    return 0;
  return tower_setting_kind(list) == TOWER_SETTING_GROUP ? 1 : tower_setting_len(list);
}

static const tower_config *group_at(const tower_setting *list, size_t i) {
  return tower_setting_config(
      tower_setting_kind(list) == TOWER_SETTING_GROUP ? list : tower_setting_at(list, i));
}

static int read_op(const tower_config *c, const char *name, size_t i, textfn fn, op *o) {
  o->fn = fn;
  const tower_option *opt = NULL;
  for (size_t k = 0; k < NOPERATIONS; k++)
    if (operations[k].fn == fn)
      opt = operations[k].options;
  int rc = tower_globs_from_config(c, "measurement", &o->measurement);
  if (rc == 0)
    rc = tower_globs_from_config(c, "tag", &o->tag);
  if (rc == 0)
    rc = tower_globs_from_config(c, "field", &o->field);
  if (rc == 0)
    rc = tower_globs_from_config(c, "tag_key", &o->tag_key);
  if (rc == 0)
    rc = tower_globs_from_config(c, "field_key", &o->field_key);
  if (rc)
    return rc;
  const char *dest = tower_config_string(c, "dest");
  o->dest = dest && *dest ? dest : NULL;
  if (!o->measurement && !o->tag && !o->field && !o->tag_key && !o->field_key)
    return tower_config_error(c, NULL,
                              "%s[%zu]: says nothing to change: give measurement, tag, field, "
                              "tag_key or field_key",
                              name, i);
  for (; opt && opt->name; opt++) {
    if (strcmp(opt->name, "cutset") == 0)
      o->args.set = tower_config_string(c, "cutset");
    else if (strcmp(opt->name, "prefix") == 0 || strcmp(opt->name, "suffix") == 0 ||
             strcmp(opt->name, "old") == 0 || strcmp(opt->name, "replacement") == 0)
      o->args.text = tower_config_string(c, opt->name);
    else if (strcmp(opt->name, "new") == 0)
      o->args.with = tower_config_string(c, "new");
    else if (strcmp(opt->name, "width") == 0)
      o->args.width = (size_t)tower_config_int(c, "width");
  }
  if (fn == textfn_replace && !*o->args.text)
    return tower_config_error(c, tower_config_setting(c, "old"),
                              "%s[%zu]: old is empty: say which text to replace", name, i);
  return 0;
}

static void strings_destroy(void *state) {
  strings_state *s = state;
  if (!s)
    return;
  for (size_t i = 0; i < s->n; i++) {
    op *o = &s->ops[i];
    tower_globs_free(o->measurement);
    tower_globs_free(o->tag);
    tower_globs_free(o->field);
    tower_globs_free(o->tag_key);
    tower_globs_free(o->field_key);
  }
  free(s->ops);
  tower_buf_free(s->out);
  tower_buf_free(s->value);
  tower_buf_free(s->keys);
  free(s);
}

static int strings_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  strings_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  size_t total = 0;
  for (size_t k = 0; k < NOPERATIONS; k++)
    total += groups_len(tower_config_setting(cfg, operations[k].name));
  int rc = -ENOMEM;
  if ((s->ops = calloc(total ? total : 1, sizeof *s->ops)) && (s->out = tower_buf_new(256)) &&
      (s->value = tower_buf_new(256)) && (s->keys = tower_buf_new(256)))
    rc = 0;
  for (size_t k = 0; rc == 0 && k < NOPERATIONS; k++) {
    const tower_setting *list = tower_config_setting(cfg, operations[k].name);
    for (size_t i = 0; rc == 0 && i < groups_len(list); i++, s->n++)
      rc = read_op(group_at(list, i), operations[k].name, i, operations[k].fn, &s->ops[s->n]);
  }
  if (rc) {
    strings_destroy(s);
    return rc;
  }
  if (s->n == 0)
    tower_warn(ctx, "no operation is given: metrics pass unchanged");
  *state = s;
  return 0;
}

static const tower_option options_table[] = {
    {.name = "lowercase",
     .type = TOWER_OPT_GROUPS,
     .help = "( { tag = \"method\"; }, ... ): to lower case (ASCII)",
     .children = plain_options},
    {.name = "uppercase",
     .type = TOWER_OPT_GROUPS,
     .help = "to upper case (ASCII)",
     .children = plain_options},
    {.name = "titlecase",
     .type = TOWER_OPT_GROUPS,
     .help = "first letter of each word to upper case",
     .children = plain_options},
    {.name = "trim",
     .type = TOWER_OPT_GROUPS,
     .help = "remove `cutset` (or white space) at both ends",
     .children = cutset_options},
    {.name = "trim_left",
     .type = TOWER_OPT_GROUPS,
     .help = "remove `cutset` (or white space) at the start",
     .children = cutset_options},
    {.name = "trim_right",
     .type = TOWER_OPT_GROUPS,
     .help = "remove `cutset` (or white space) at the end",
     .children = cutset_options},
    {.name = "trim_prefix",
     .type = TOWER_OPT_GROUPS,
     .help = "remove `prefix` once",
     .children = prefix_options},
    {.name = "trim_suffix",
     .type = TOWER_OPT_GROUPS,
     .help = "remove `suffix` once",
     .children = suffix_options},
    {.name = "replace",
     .type = TOWER_OPT_GROUPS,
     .help = "replace every `old` with `new`",
     .children = replace_options},
    {.name = "left",
     .type = TOWER_OPT_GROUPS,
     .help = "keep the first `width` bytes",
     .children = left_options},
    {.name = "base64decode",
     .type = TOWER_OPT_GROUPS,
     .help = "decode standard base64 (left alone when invalid or not UTF-8)",
     .children = plain_options},
    {.name = "valid_utf8",
     .type = TOWER_OPT_GROUPS,
     .help = "replace invalid UTF-8 with `replacement`",
     .children = utf8_options},
    TOWER_OPTION_END,
};

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_PROCESSOR),
    .name = "strings",
    .description = "string functions on metric names, tag and field keys and values",
    .version = PLUGIN_VERSION,
    .options = options_table,
    .init = strings_init,
    .destroy = strings_destroy,
    .process = strings_process,
};

TOWER_PLUGIN_ENTRY(plugin)
