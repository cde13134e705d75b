/* Validating a config block against option tables, and reading it.
 *
 * Validation reports every problem with file:line, the block, what is wrong
 * and what would be right (the closest valid key, the valid keys, the
 * expected syntax). Reading never fails: the block was validated, so the
 * accessors only choose between the written value and the default.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/plugin.h>

#include "buf_internal.h"
#include "conf.h"
#include "closest.h"
#include "config_view.h"
#include "globs.h"
#include "log_internal.h"
#include "options.h"
#include "secrets.h"

/* A parsed default of a STRINGS option, kept so the pointers handed out stay
 * valid until the view is freed. */
typedef struct default_list {
  const char *key;
  char *storage;
  const char **items;
  size_t n;
  struct default_list *next;
} default_list;

typedef struct child {
  const config_setting_t *setting;
  tower_config *view;
  struct child *next;
} child;

struct tower_config {
  const config_setting_t *block;
  const tower_option *tables[TWI_MAX_TABLES + 1];
  char *what;
  const tower_ctx *ctx;
  default_list *defaults;
  child *children;
};

/* Telegraf names that tower spells differently: a precise hint beats a
 * distance-based guess. */
static const struct {
  const char *old, *now;
} renamed[] = {
    {"fieldpass", "fieldinclude"},
    {"fielddrop", "fieldexclude"},
    {"pass", "fieldinclude"},
    {"drop", "fieldexclude"},
};

/* ---- lookup ------------------------------------------------------------- */

static const tower_option *find_option(const tower_config *c, const char *key) {
  for (size_t i = 0; c->tables[i]; i++) {
    const tower_option *o = twi_option_find(c->tables[i], key);
    if (o)
      return o;
  }
  return NULL;
}

const char *twi_options_suggest(const tower_option *const *tables, const char *key) {
  for (size_t i = 0; i < sizeof renamed / sizeof *renamed; i++)
    if (strcmp(key, renamed[i].old) == 0)
      for (size_t t = 0; tables[t]; t++)
        if (twi_option_find(tables[t], renamed[i].now))
          return renamed[i].now;
  const char *best = NULL;
  size_t best_d = (size_t)-1, d;
  for (size_t t = 0; tables[t]; t++)
    for (const tower_option *o = tables[t]; o->name; o++)
      if (twi_is_close(key, o->name, &d) && d < best_d) {
        best = o->name;
        best_d = d;
      }
  return best;
}

/* ---- validation --------------------------------------------------------- */

static const char *setting_type_name(int type) {
  switch (type) {
  case CONFIG_TYPE_GROUP:
    return "a group { }";
  case CONFIG_TYPE_INT:
  case CONFIG_TYPE_INT64:
    return "an integer";
  case CONFIG_TYPE_FLOAT:
    return "a number";
  case CONFIG_TYPE_STRING:
    return "a string";
  case CONFIG_TYPE_BOOL:
    return "a boolean";
  case CONFIG_TYPE_ARRAY:
    return "an array [ ]";
  case CONFIG_TYPE_LIST:
    return "a list ( )";
  }
  return "nothing";
}

static const char *expected(const tower_option *o) {
  switch (o->type) {
  case TOWER_OPT_BOOL:
    return "true or false";
  case TOWER_OPT_INT:
    return "an integer";
  case TOWER_OPT_FLOAT:
    return "a number";
  case TOWER_OPT_STRING:
    return "a string in double quotes";
  case TOWER_OPT_DURATION:
    return "a duration string such as \"10s\"";
  case TOWER_OPT_SIZE:
    return "a size string such as \"16MiB\" (or a number of bytes)";
  case TOWER_OPT_ENUM:
    return "one of the strings listed in the docs";
  case TOWER_OPT_STRINGS:
    return "a string or an array of strings [\"a\", \"b\"]";
  case TOWER_OPT_TABLE:
    return "a group of strings { key = \"value\"; }";
  case TOWER_OPT_GROUPS:
    return "a list of groups ( { ... }, { ... } )";
  case TOWER_OPT_GROUP:
    return "a group { ... }";
  case TOWER_OPT_STRINGS_TABLE:
    return "a group of strings or string arrays { key = [\"a\", \"b\"]; }";
  default:
    return "a setting";
  }
}

static bool is_int(const config_setting_t *s) {
  int t = config_setting_type(s);
  return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

static void type_error(const tower_config *c, twi_diag *d, const config_setting_t *s,
                       const tower_option *o) {
  twi_diag_error(d, s, "%s: option \"%s\" must be %s, not %s", c->what, o->name, expected(o),
                 setting_type_name(config_setting_type(s)));
}

static bool strings_ok(const config_setting_t *s) {
  int t = config_setting_type(s);
  if (t == CONFIG_TYPE_STRING)
    return true;
  if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
    return false;
  for (int i = 0; i < config_setting_length(s); i++)
    if (config_setting_type(config_setting_get_elem(s, (unsigned)i)) != CONFIG_TYPE_STRING)
      return false;
  return true;
}

/* With TOWER_OPT_GLOB, every string of `s` (a string or an array/list of
 * them) must be a well-formed pattern. */
static void check_globs(const tower_config *c, twi_diag *d, const config_setting_t *s,
                        const tower_option *o, const char *entry) {
  if (!(o->flags & TOWER_OPT_GLOB))
    return;
  bool one = config_setting_type(s) == CONFIG_TYPE_STRING;
  int n = one ? 1 : config_setting_length(s);
  for (int i = 0; i < n; i++) {
    const config_setting_t *e = one ? s : config_setting_get_elem(s, (unsigned)i);
    const char *pat = config_setting_get_string(e);
    const char *why = pat ? twi_glob_check(pat) : NULL;
    if (why)
      twi_diag_error(d, e, "%s: option \"%s%s%s\": pattern \"%s\" %s", c->what, o->name,
                     entry ? "." : "", entry ? entry : "", pat, why);
  }
}

/* { key = "a"; other = ["b", "c"]; } */
static void check_strings_table(const tower_config *c, twi_diag *d, const config_setting_t *s,
                                const tower_option *o) {
  if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
    type_error(c, d, s, o);
    return;
  }
  for (int i = 0; i < config_setting_length(s); i++) {
    const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
    if (!strings_ok(e))
      twi_diag_error(d, e, "%s: %s.%s must be a string or an array of strings, not %s", c->what,
                     o->name, config_setting_name(e), setting_type_name(config_setting_type(e)));
    else
      check_globs(c, d, e, o, config_setting_name(e));
  }
}

static tower_config *new_view(const config_setting_t *block, const tower_option *const *tables,
                              const char *what, const char *const *ignore,
                              const twi_block_rules *rules, twi_diag *d);

static void add_child(tower_config *c, const config_setting_t *s, const tower_option *o,
                      twi_diag *d) {
  char what[512];
  const char *name = config_setting_name(s);
  if (!name) { /* list element: name it by position */
    const config_setting_t *parent = config_setting_parent(s);
    snprintf(what, sizeof what, "%s: %s[%d]", c->what, config_setting_name(parent),
             config_setting_index(s));
  } else {
    snprintf(what, sizeof what, "%s: %s", c->what, name);
  }
  const tower_option *tables[2] = {o->children, NULL};
  tower_config *v = new_view(s, tables, what, NULL, NULL, d); /* a table option's group */
  child *ch = calloc(1, sizeof *ch);
  if (!v || !ch) {
    twi_config_free(v);
    free(ch);
    return;
  }
  v->ctx = c->ctx;
  config_setting_set_hook((config_setting_t *)s, v);
  ch->setting = s;
  ch->view = v;
  ch->next = c->children;
  c->children = ch;
}

/* Checks a scalar written as a string or number against the option. */
static void check_scalar_text(tower_config *c, twi_diag *d, const config_setting_t *s,
                              const tower_option *o, const char *text) {
  char why[256];
  if (twi_option_check_text(o, text, why, sizeof why) == 0)
    return;
  if (o->flags & TOWER_OPT_SECRET) /* the value itself must not reach a log */
    twi_diag_error(d, s, "%s: option \"%s\" is not a valid %s (value hidden: secret)", c->what,
                   o->name, twi_option_type_name(o->type));
  else
    twi_diag_error(d, s, "%s: option \"%s\": %s", c->what, o->name, why);
}

static void check_value(tower_config *c, twi_diag *d, const config_setting_t *s,
                        const tower_option *o) {
  int t = config_setting_type(s);
  char num[64];
  switch (o->type) {
  case TOWER_OPT_BOOL:
    if (t != CONFIG_TYPE_BOOL)
      type_error(c, d, s, o);
    break;
  case TOWER_OPT_INT:
  case TOWER_OPT_FLOAT:
    if (!is_int(s) && !(o->type == TOWER_OPT_FLOAT && t == CONFIG_TYPE_FLOAT)) {
      type_error(c, d, s, o);
      break;
    }
    if (is_int(s))
      snprintf(num, sizeof num, "%lld", config_setting_get_int64(s));
    else
      snprintf(num, sizeof num, "%.17g", config_setting_get_float(s));
    check_scalar_text(c, d, s, o, num);
    break;
  case TOWER_OPT_SIZE:
    if (is_int(s)) { /* a number of bytes; a negative one is "too small" */
      snprintf(num, sizeof num, "%lld", config_setting_get_int64(s));
      check_scalar_text(c, d, s, o, num);
      break;
    }
    /* fall through */
  case TOWER_OPT_DURATION:
  case TOWER_OPT_ENUM:
    if (t == CONFIG_TYPE_STRING)
      check_scalar_text(c, d, s, o, config_setting_get_string(s));
    else if (o->type == TOWER_OPT_DURATION && is_int(s))
      twi_diag_error(d, s,
                     "%s: option \"%s\" must be a duration string with a unit, e.g. \"%llds\"",
                     c->what, o->name, config_setting_get_int64(s));
    else
      type_error(c, d, s, o);
    break;
  case TOWER_OPT_STRING:
    if (t != CONFIG_TYPE_STRING)
      type_error(c, d, s, o);
    else
      check_globs(c, d, s, o, NULL);
    break;
  case TOWER_OPT_STRINGS:
    if (!strings_ok(s))
      type_error(c, d, s, o);
    else
      check_globs(c, d, s, o, NULL);
    break;
  case TOWER_OPT_STRINGS_TABLE:
    check_strings_table(c, d, s, o);
    break;
  case TOWER_OPT_TABLE:
    if (t != CONFIG_TYPE_GROUP) {
      type_error(c, d, s, o);
      break;
    }
    for (int i = 0; i < config_setting_length(s); i++) {
      const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
      if (config_setting_type(e) != CONFIG_TYPE_STRING)
        twi_diag_error(d, e, "%s: %s.%s must be a string, not %s", c->what, o->name,
                       config_setting_name(e), setting_type_name(config_setting_type(e)));
    }
    break;
  case TOWER_OPT_GROUP:
    if (t != CONFIG_TYPE_GROUP)
      type_error(c, d, s, o);
    else
      add_child(c, s, o, d);
    break;
  case TOWER_OPT_GROUPS:
    if (t == CONFIG_TYPE_GROUP) {
      add_child(c, s, o, d);
      break;
    }
    if (t != CONFIG_TYPE_LIST) {
      type_error(c, d, s, o);
      break;
    }
    for (int i = 0; i < config_setting_length(s); i++) {
      const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
      if (config_setting_type(e) != CONFIG_TYPE_GROUP)
        twi_diag_error(d, e, "%s: every element of \"%s\" must be a group { ... }, not %s", c->what,
                       o->name, setting_type_name(config_setting_type(e)));
      else
        add_child(c, e, o, d);
    }
    break;
  default:
    break;
  }
}

static void unknown_key(const tower_config *c, twi_diag *d, const config_setting_t *s,
                        const twi_block_rules *rules) {
  const char *key = config_setting_name(s);
  const char *hint = twi_options_suggest(c->tables, key);
  char valid[2048] = "", formats[1024] = "";
  size_t len = 0;
  for (const tower_option *o = c->tables[0]; o && o->name && len + 64 < sizeof valid; o++)
    len += (size_t)snprintf(valid + len, sizeof valid - len, "%s%s", len ? ", " : "", o->name);
  if (rules && rules->valid_options)
    rules->valid_options(c->tables, c->block, formats, sizeof formats);
  bool more = c->tables[1] != NULL;
  /* A rename in a processor's block (Telegraf's processors have none). */
  bool rename =
      twi_option_find(twi_rename_options, key) && strncmp(c->what, "processors.", 11) == 0;
  twi_diag_error(d, s, "%s: unknown option \"%s\"%s%s%s%s; valid options: %s%s%s%s", c->what, key,
                 rename
                     ? " (a processor renames nothing and sets no tags: add a processors.override "
                       "block for that)"
                     : "",
                 hint ? "; did you mean \"" : "", hint ? hint : "", hint ? "\"?" : "",
                 len ? valid : "(none)", formats[0] ? "; data format options: " : "", formats,
                 more ? "; and the common options (see tower.conf(5))" : "");
}

/* Every string of a secret option's setting goes into the registry the log
 * writer scrubs with, for as long as this view lives. The strings are already
 * ${VAR}-substituted, so the value registered is the one plugins send. */
static void register_secrets(const tower_config *c, const config_setting_t *s) {
  if (config_setting_type(s) == CONFIG_TYPE_STRING)
    twi_secret_add(c, config_setting_get_string(s));
  for (int i = 0; config_setting_is_aggregate(s) && i < config_setting_length(s); i++)
    register_secrets(c, config_setting_get_elem(s, (unsigned)i));
}

static bool ignored(const char *const *ignore, const char *key) {
  for (size_t i = 0; ignore && ignore[i]; i++)
    if (strcmp(ignore[i], key) == 0)
      return true;
  return false;
}

static tower_config *new_view(const config_setting_t *block, const tower_option *const *tables,
                              const char *what, const char *const *ignore,
                              const twi_block_rules *rules, twi_diag *d) {
  tower_config *c = calloc(1, sizeof *c);
  if (!c || !(c->what = strdup(what))) {
    free(c);
    twi_diag_error(d, block, "%s: out of memory", what);
    return NULL;
  }
  c->block = block;
  for (size_t i = 0; i < TWI_MAX_TABLES && tables[i]; i++)
    c->tables[i] = tables[i];
  unsigned before = d->errors;
  for (int i = 0; i < config_setting_length(block); i++) {
    const config_setting_t *s = config_setting_get_elem(block, (unsigned)i);
    const char *key = config_setting_name(s);
    if (ignored(ignore, key))
      continue;
    const tower_option *o = find_option(c, key);
    if (!o) {
      unknown_key(c, d, s, rules);
      continue;
    }
    if (o->flags & TOWER_OPT_DEPRECATED)
      twi_diag_warn(d, s, "%s: option \"%s\" is deprecated: %s", c->what, key,
                    o->help ? o->help : "");
    check_value(c, d, s, o);
    if (o->flags & TOWER_OPT_SECRET)
      register_secrets(c, s);
  }
  if (rules && rules->check_block)
    rules->check_block(c->tables, block, c->what, d);
  for (size_t t = 0; c->tables[t]; t++)
    for (const tower_option *o = c->tables[t]; o->name; o++)
      if ((o->flags & TOWER_OPT_REQUIRED) && !config_setting_get_member(block, o->name))
        twi_diag_error(d, block, "%s: option \"%s\" is required (%s)", c->what, o->name,
                       o->help ? o->help : twi_option_type_name(o->type));
  if (d->errors != before) {
    twi_config_free(c);
    return NULL;
  }
  return c;
}

tower_config *twi_config_new_ruled(const config_setting_t *block, const tower_option *const *tables,
                                   const char *what, const char *const *ignore,
                                   const twi_block_rules *rules, twi_diag *d) {
  if (!block || config_setting_type(block) != CONFIG_TYPE_GROUP) {
    twi_diag_error(d, block, "%s must be a group { ... }", what);
    return NULL;
  }
  return new_view(block, tables, what, ignore, rules, d);
}

tower_config *twi_config_new(const config_setting_t *block, const tower_option *const *tables,
                             const char *what, const char *const *ignore, twi_diag *d) {
  return twi_config_new_ruled(block, tables, what, ignore, NULL, d);
}

void twi_config_free(tower_config *c) {
  if (!c)
    return;
  for (child *ch = c->children, *next; ch; ch = next) {
    next = ch->next;
    config_setting_set_hook((config_setting_t *)ch->setting, NULL);
    twi_config_free(ch->view);
    free(ch);
  }
  for (default_list *l = c->defaults, *next; l; l = next) {
    next = l->next;
    free(l->storage);
    free(l->items);
    free(l);
  }
  twi_secrets_forget(c);
  free(c->what);
  free(c);
}

const config_setting_t *twi_config_block(const tower_config *c) {
  return c->block;
}

void twi_config_set_ctx(tower_config *c, const tower_ctx *ctx) {
  c->ctx = ctx;
  for (child *ch = c->children; ch; ch = ch->next)
    twi_config_set_ctx(ch->view, ctx);
}

/* ---- reading ------------------------------------------------------------ */

/* The option for `key` and the setting written for it (NULL if unset). A key
 * outside the tables is a plugin bug, logged once per call site. */
static const tower_option *lookup(const tower_config *c, const char *key, tower_option_type want,
                                  const config_setting_t **s) {
  const tower_option *o = key ? find_option(c, key) : NULL;
  if (!o || (want && o->type != want && !(want == TOWER_OPT_STRING && o->type == TOWER_OPT_ENUM))) {
    tower_log(c->ctx, TOWER_LOG_ERROR,
              "plugin bug: reads option \"%s\" as a %s, but its option table %s", key ? key : "",
              twi_option_type_name(want), o ? "declares another type" : "does not declare it");
    *s = NULL;
    return NULL;
  }
  *s = config_setting_get_member(c->block, key);
  return o;
}

bool tower_config_isset(const tower_config *c, const char *key) {
  return key && config_setting_get_member(c->block, key) != NULL;
}

bool tower_config_bool(const tower_config *c, const char *key) {
  const config_setting_t *s;
  const tower_option *o = lookup(c, key, TOWER_OPT_BOOL, &s);
  if (s)
    return config_setting_get_bool(s);
  return o && o->default_value && strcmp(o->default_value, "true") == 0;
}

int64_t tower_config_int(const tower_config *c, const char *key) {
  const config_setting_t *s;
  const tower_option *o = lookup(c, key, TOWER_OPT_INT, &s);
  if (s)
    return config_setting_get_int64(s);
  return o && o->default_value ? strtoll(o->default_value, NULL, 10) : 0;
}

double tower_config_float(const tower_config *c, const char *key) {
  const config_setting_t *s;
  const tower_option *o = lookup(c, key, TOWER_OPT_FLOAT, &s);
  if (s)
    return is_int(s) ? (double)config_setting_get_int64(s) : config_setting_get_float(s);
  return o && o->default_value ? strtod(o->default_value, NULL) : 0;
}

const char *tower_config_string(const tower_config *c, const char *key) {
  const config_setting_t *s;
  const tower_option *o = lookup(c, key, TOWER_OPT_STRING, &s);
  if (s)
    return config_setting_get_string(s);
  return o ? o->default_value : NULL;
}

int64_t tower_config_duration(const tower_config *c, const char *key) {
  const config_setting_t *s;
  const tower_option *o = lookup(c, key, TOWER_OPT_DURATION, &s);
  const char *text = s ? config_setting_get_string(s) : o ? o->default_value : NULL;
  int64_t ns = 0;
  if (text)
    tower_parse_duration(text, &ns);
  return ns;
}

uint64_t tower_config_size(const tower_config *c, const char *key) {
  const config_setting_t *s;
  const tower_option *o = lookup(c, key, TOWER_OPT_SIZE, &s);
  if (s && is_int(s))
    return (uint64_t)config_setting_get_int64(s);
  const char *text = s ? config_setting_get_string(s) : o ? o->default_value : NULL;
  uint64_t bytes = 0;
  if (text)
    tower_parse_size(text, &bytes);
  return bytes;
}

/* The default of a STRINGS option split at commas, cached in the view. */
static const default_list *default_strings(const tower_config *c, const tower_option *o) {
  for (default_list *l = c->defaults; l; l = l->next)
    if (l->key == o->name)
      return l;
  default_list *l = calloc(1, sizeof *l);
  if (!l || !(l->storage = strdup(o->default_value ? o->default_value : "")))
    goto fail;
  size_t n = *l->storage ? 1 : 0;
  for (const char *p = l->storage; *p; p++)
    n += *p == ',';
  if (!(l->items = calloc(n ? n : 1, sizeof *l->items)))
    goto fail;
  for (char *p = l->storage; n && p;) {
    char *comma = strchr(p, ',');
    if (comma)
      *comma = '\0';
    while (*p == ' ')
      p++;
    l->items[l->n++] = p;
    p = comma ? comma + 1 : NULL;
  }
  l->key = o->name;
  /* The cache is logically const: it only memoizes the default. */
  tower_config *mc = (tower_config *)c;
  l->next = mc->defaults;
  mc->defaults = l;
  return l;
fail:
  if (l)
    free(l->storage);
  free(l);
  return NULL;
}

size_t tower_config_strings_len(const tower_config *c, const char *key) {
  const config_setting_t *s;
  const tower_option *o = lookup(c, key, TOWER_OPT_STRINGS, &s);
  if (s)
    return config_setting_type(s) == CONFIG_TYPE_STRING ? 1 : (size_t)config_setting_length(s);
  const default_list *l = o ? default_strings(c, o) : NULL;
  return l ? l->n : 0;
}

const char *tower_config_strings_at(const tower_config *c, const char *key, size_t i) {
  const config_setting_t *s;
  const tower_option *o = lookup(c, key, TOWER_OPT_STRINGS, &s);
  if (s) {
    if (config_setting_type(s) == CONFIG_TYPE_STRING)
      return i == 0 ? config_setting_get_string(s) : NULL;
    const config_setting_t *e =
        i < (size_t)config_setting_length(s) ? config_setting_get_elem(s, (unsigned)i) : NULL;
    return e ? config_setting_get_string(e) : NULL;
  }
  const default_list *l = o ? default_strings(c, o) : NULL;
  return l && i < l->n ? l->items[i] : NULL;
}

size_t tower_config_table_len(const tower_config *c, const char *key) {
  const config_setting_t *s;
  lookup(c, key, TOWER_OPT_TABLE, &s);
  return s ? (size_t)config_setting_length(s) : 0;
}

static const config_setting_t *table_elem(const tower_config *c, const char *key, size_t i) {
  const config_setting_t *s;
  lookup(c, key, TOWER_OPT_TABLE, &s);
  return s && i < (size_t)config_setting_length(s) ? config_setting_get_elem(s, (unsigned)i) : NULL;
}

const char *tower_config_table_key(const tower_config *c, const char *key, size_t i) {
  const config_setting_t *e = table_elem(c, key, i);
  return e ? config_setting_name(e) : NULL;
}

const char *tower_config_table_value(const tower_config *c, const char *key, size_t i) {
  const config_setting_t *e = table_elem(c, key, i);
  return e ? config_setting_get_string(e) : NULL;
}

/* ---- raw settings ------------------------------------------------------- */

#define CS(s) ((const config_setting_t *)(const void *)(s))
#define TS(s) ((const tower_setting *)(const void *)(s))

const tower_setting *tower_config_setting(const tower_config *c, const char *key) {
  return key ? TS(config_setting_get_member(c->block, key)) : NULL;
}

tower_setting_type tower_setting_kind(const tower_setting *s) {
  if (!s)
    return TOWER_SETTING_NONE;
  switch (config_setting_type(CS(s))) {
  case CONFIG_TYPE_GROUP:
    return TOWER_SETTING_GROUP;
  case CONFIG_TYPE_INT:
  case CONFIG_TYPE_INT64:
    return TOWER_SETTING_INT;
  case CONFIG_TYPE_FLOAT:
    return TOWER_SETTING_FLOAT;
  case CONFIG_TYPE_STRING:
    return TOWER_SETTING_STRING;
  case CONFIG_TYPE_BOOL:
    return TOWER_SETTING_BOOL;
  case CONFIG_TYPE_ARRAY:
    return TOWER_SETTING_ARRAY;
  case CONFIG_TYPE_LIST:
    return TOWER_SETTING_LIST;
  }
  return TOWER_SETTING_NONE;
}

const char *tower_setting_name(const tower_setting *s) {
  return s ? config_setting_name(CS(s)) : NULL;
}

size_t tower_setting_len(const tower_setting *s) {
  return s && config_setting_is_aggregate(CS(s)) ? (size_t)config_setting_length(CS(s)) : 0;
}

const tower_setting *tower_setting_at(const tower_setting *s, size_t i) {
  return i < tower_setting_len(s) ? TS(config_setting_get_elem(CS(s), (unsigned)i)) : NULL;
}

const tower_setting *tower_setting_member(const tower_setting *s, const char *key) {
  return s && key && config_setting_is_group(CS(s)) ? TS(config_setting_get_member(CS(s), key))
                                                    : NULL;
}

const char *tower_setting_string(const tower_setting *s) {
  return tower_setting_kind(s) == TOWER_SETTING_STRING ? config_setting_get_string(CS(s)) : NULL;
}

int64_t tower_setting_int(const tower_setting *s) {
  return tower_setting_kind(s) == TOWER_SETTING_INT ? config_setting_get_int64(CS(s)) : 0;
}

double tower_setting_float(const tower_setting *s) {
  tower_setting_type k = tower_setting_kind(s);
  if (k == TOWER_SETTING_FLOAT)
    return config_setting_get_float(CS(s));
  return k == TOWER_SETTING_INT ? (double)config_setting_get_int64(CS(s)) : 0;
}

bool tower_setting_bool(const tower_setting *s) {
  return tower_setting_kind(s) == TOWER_SETTING_BOOL && config_setting_get_bool(CS(s));
}

const char *tower_setting_file(const tower_setting *s) {
  return s ? config_setting_source_file(CS(s)) : NULL;
}

unsigned tower_setting_line(const tower_setting *s) {
  return s ? config_setting_source_line(CS(s)) : 0;
}

/* A GROUP(S) element's view is found through the setting itself: libconfig
 * gives every setting a spare `hook` pointer, set while the view lives. */
const tower_config *tower_setting_config(const tower_setting *s) {
  return s ? config_setting_get_hook(CS(s)) : NULL;
}

int tower_config_error(const tower_config *c, const tower_setting *s, const char *fmt, ...) {
  char msg[1024], where[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const config_setting_t *at = s ? CS(s) : c->block;
  twi_log_every(c->ctx, TOWER_LOG_ERROR, "%s: %s", twi_setting_where(at, where, sizeof where), msg);
  return -EINVAL;
}

/* ---- fingerprint -------------------------------------------------------- */

static int cmp_names(const void *a, const void *b) {
  const config_setting_t *x = *(const config_setting_t *const *)a;
  const config_setting_t *y = *(const config_setting_t *const *)b;
  return strcmp(config_setting_name(x), config_setting_name(y));
}

static void fingerprint(tower_buf *b, const config_setting_t *s) {
  const char *name = config_setting_name(s);
  if (name)
    tower_buf_printf(b, "%s=", name);
  switch (config_setting_type(s)) {
  case CONFIG_TYPE_GROUP: {
    int n = config_setting_length(s);
    const config_setting_t **m = calloc((size_t)n + 1, sizeof *m);
    if (!m)
      return;
    for (int i = 0; i < n; i++)
      m[i] = config_setting_get_elem(s, (unsigned)i);
    qsort(m, (size_t)n, sizeof *m, cmp_names);
    tower_buf_append_str(b, "{");
    for (int i = 0; i < n; i++)
      fingerprint(b, m[i]);
    tower_buf_append_str(b, "}");
    free(m);
    break;
  }
  case CONFIG_TYPE_ARRAY:
  case CONFIG_TYPE_LIST:
    tower_buf_append_str(b, "(");
    for (int i = 0; i < config_setting_length(s); i++)
      fingerprint(b, config_setting_get_elem(s, (unsigned)i));
    tower_buf_append_str(b, ")");
    break;
  case CONFIG_TYPE_STRING: {
    const char *v = config_setting_get_string(s);
    tower_buf_printf(b, "%zu:%s", strlen(v), v);
    break;
  }
  case CONFIG_TYPE_BOOL:
    tower_buf_append_str(b, config_setting_get_bool(s) ? "true" : "false");
    break;
  case CONFIG_TYPE_FLOAT:
    tower_buf_printf(b, "%.17g", config_setting_get_float(s));
    break;
  default:
    tower_buf_printf(b, "%lld", config_setting_get_int64(s));
  }
  tower_buf_append_str(b, ";");
}

static bool skipped(const config_setting_t *s, const char *const *skip) {
  for (size_t i = 0; skip && skip[i]; i++)
    if (strcmp(config_setting_name(s), skip[i]) == 0)
      return true;
  return false;
}

char *twi_config_fingerprint(const tower_config *c) {
  return twi_config_fingerprint_except(c, NULL);
}

char *twi_config_fingerprint_except(const tower_config *c, const char *const *skip) {
  tower_buf *b = tower_buf_new(256);
  if (!b)
    return NULL;
  if (skip && config_setting_type(c->block) == CONFIG_TYPE_GROUP) {
    /* the block's members in the order fingerprint() sorts them to, less
     * those skipped */
    int n = config_setting_length(c->block), k = 0;
    const config_setting_t **m = calloc((size_t)n + 1, sizeof *m);
    if (!m) {
      tower_buf_free(b);
      return NULL;
    }
    for (int i = 0; i < n; i++) {
      const config_setting_t *e = config_setting_get_elem(c->block, (unsigned)i);
      if (!skipped(e, skip))
        m[k++] = e;
    }
    qsort(m, (size_t)k, sizeof *m, cmp_names);
    tower_buf_append_str(b, "{");
    for (int i = 0; i < k; i++)
      fingerprint(b, m[i]);
    tower_buf_append_str(b, "};");
    free(m);
  } else {
    fingerprint(b, c->block);
  }
  char *s = strdup(tower_buf_data(b));
  tower_buf_free(b);
  return s;
}
