/* processors.enum: Telegraf's processors.enum. Each `mapping` selects tags
 * and fields by key (globs, `tags` / `fields`) and looks their values up in
 * `value_mappings`; a value found there (or, when it is not, the `default`
 * if one is given) is written to `dest`, or back to the same key when no
 * dest is set. Values not found without a default leave the metric alone.
 *
 * As in Telegraf:
 * - field values are looked up by their text: strings as they are, booleans
 *   as "true"/"false", integers in decimal; float fields are never mapped;
 * - the mapped value keeps its configured type for a field (integer, float,
 *   boolean or string); a tag gets its text;
 * - every mapping looks at the metric as it came in, and the results are
 *   written at the end (fields, then tags), a later mapping winning when
 *   two write the same key.
 *
 * The lookup tables are sorted at init and searched by bisection. The
 * writes of one metric are collected in arrays owned by the instance
 * (process calls of one instance never overlap) and reused, so a metric
 * costs no allocation of the plugin's own once they have grown.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "enum_value.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

typedef struct {
  tower_globs *fields; /* NULL: no field is mapped */
  tower_globs *tags;   /* NULL: no tag is mapped */
  const char *dest;    /* NULL: write back to the source key */
  enum_entry *table;   /* sorted by key */
  size_t nentries;
  enum_value deflt;
  bool has_default;
} enum_mapping;

/* One write collected while the mappings look at the metric. */
typedef struct {
  size_t key; /* offset of the key in the scratch buffer */
  const enum_value *value;
  bool tag;
} enum_write;

typedef struct {
  enum_mapping *mappings;
  size_t nmappings;
  enum_write *writes;
  size_t nwrites, capwrites;
  tower_buf *keys; /* the keys of `writes`, NUL-separated */
} enum_state;

static const tower_option mapping_options[] = {
    {.name = "fields",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_GLOB,
     .help = "globs on the keys of the fields to map"},
    {.name = "tags",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_GLOB,
     .help = "globs on the keys of the tags to map"},
    {.name = "field",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_DEPRECATED,
     .help = "one field key; use fields = [\"...\"] instead"},
    {.name = "tag",
     .type = TOWER_OPT_STRING,
     .flags = TOWER_OPT_DEPRECATED,
     .help = "one tag key; use tags = [\"...\"] instead"},
    {.name = "dest",
     .type = TOWER_OPT_STRING,
     .help = "key to write the mapped value to (default: the source key)"},
    {.name = "default",
     .type = TOWER_OPT_ANY,
     .help = "value for values not in value_mappings (string, integer, float or boolean; "
             "unset: such values are left alone)"},
    {.name = "value_mappings",
     .type = TOWER_OPT_ANY,
     .help = "{ green = 1; red = 3; } or ( (\"200\", \"ok\"), ... ): value -> mapped value"},
    TOWER_OPTION_END,
};

static const tower_option options[] = {
    {.name = "mapping",
     .type = TOWER_OPT_GROUPS,
     .help = "( { fields = [...]; tags = [...]; dest = \"...\"; default = ...; value_mappings = "
             "{ ... }; }, ... )",
     .children = mapping_options},
    TOWER_OPTION_END,
};

/* ---- mapping ------------------------------------------------------------- */

static const enum_value *map_value(const enum_mapping *mp, const char *text) {
  const enum_entry *e = enum_table_find(mp->table, mp->nentries, text);
  if (e)
    return &e->value;
  return mp->has_default ? &mp->deflt : NULL;
}

static int collect(enum_state *s, const char *key, const enum_value *v, bool tag) {
  if (s->nwrites == s->capwrites) {
    size_t cap = s->capwrites ? 2 * s->capwrites : 8;
    enum_write *w = realloc(s->writes, cap * sizeof *w);
    if (!w)
      return -ENOMEM;
    s->writes = w;
    s->capwrites = cap;
  }
  size_t off = tower_buf_len(s->keys);
  if (tower_buf_append(s->keys, key, strlen(key) + 1))
    return -ENOMEM;
  s->writes[s->nwrites++] = (enum_write){off, v, tag};
  return 0;
}

/* The text a field value is looked up by, or NULL for a float. */
static const char *field_text(const tower_metric *m, size_t i, char *buf, size_t len) {
  switch (tower_metric_field_type(m, i)) {
  case TOWER_FIELD_STRING:
    return tower_metric_field_string(m, i);
  case TOWER_FIELD_BOOL:
    return tower_metric_field_bool(m, i) ? "true" : "false";
  case TOWER_FIELD_INT:
    snprintf(buf, len, "%" PRId64, tower_metric_field_int(m, i));
    return buf;
  case TOWER_FIELD_UINT:
    snprintf(buf, len, "%" PRIu64, tower_metric_field_uint(m, i));
    return buf;
  default:
    return NULL;
  }
}

static int map_fields(enum_state *s, const enum_mapping *mp, const tower_metric *m) {
  char num[32];
  size_t n = tower_metric_field_count(m);
  for (size_t i = 0; i < n; i++) {
    const char *key = tower_metric_field_key(m, i);
    if (!tower_globs_match(mp->fields, key))
      continue;
    const char *text = field_text(m, i, num, sizeof num);
    const enum_value *v = text ? map_value(mp, text) : NULL;
    int rc = v ? collect(s, mp->dest ? mp->dest : key, v, false) : 0;
    if (rc)
      return rc;
  }
  return 0;
}

static int map_tags(enum_state *s, const enum_mapping *mp, const tower_metric *m) {
  size_t n = tower_metric_tag_count(m);
  for (size_t i = 0; i < n; i++) {
    const char *key = tower_metric_tag_key(m, i);
    if (!tower_globs_match(mp->tags, key))
      continue;
    const enum_value *v = map_value(mp, tower_metric_tag_value(m, i));
    int rc = v ? collect(s, mp->dest ? mp->dest : key, v, true) : 0;
    if (rc)
      return rc;
  }
  return 0;
}

/* A tag mapped to "" goes: no output can write an empty tag (Telegraf's
 * serializers skip it), so the result is the same as Telegraf's. */
static int remove_tag(tower_metric *m, const char *key) {
  int rc = tower_metric_remove_tag(m, key);
  return rc == -ENOENT ? 0 : rc;
}

/* Fields first, then tags, each in the order collected: a later write to
 * the same key wins. */
static int write_all(enum_state *s, tower_metric *m) {
  const char *keys = tower_buf_data(s->keys);
  int first = 0;
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < s->nwrites; i++) {
      const enum_write *w = &s->writes[i];
      if (w->tag != (pass == 1))
        continue;
      int rc = !w->tag           ? enum_value_add_field(m, keys + w->key, w->value)
               : *w->value->text ? tower_metric_add_tag(m, keys + w->key, w->value->text)
                                 : remove_tag(m, keys + w->key);
      if (rc && !first)
        first = rc;
    }
  return first;
}

static int enum_process(void *state, tower_metric *m, tower_acc *next) {
  enum_state *s = state;
  s->nwrites = 0;
  tower_buf_reset(s->keys);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < s->nmappings; i++) {
    const enum_mapping *mp = &s->mappings[i];
    if (mp->fields)
      rc = map_fields(s, mp, m);
    if (rc == 0 && mp->tags)
      rc = map_tags(s, mp, m);
  }
  if (rc == 0)
    rc = write_all(s, m);
  if (rc < 0)
    tower_acc_error(next,
                    "cannot map the values of metric \"%s\": %s; it was passed on partly "
                    "mapped",
                    tower_metric_name(m), strerror(-rc));
  int add = tower_acc_add(next, m);
  return rc < 0 ? rc : add;
}

/* ---- configuration ------------------------------------------------------- */

/* The STRINGS option `many` and the deprecated single `one`, as one list. */
static int compile_selector(const tower_config *mc, const char *many, const char *one,
                            tower_globs **out) {
  size_t n = tower_config_strings_len(mc, many);
  const char *single = tower_config_string(mc, one);
  bool has_one = single && *single;
  if (n + has_one == 0)
    return 0;
  const char **pats = calloc(n + 1, sizeof *pats);
  if (!pats)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++)
    pats[i] = tower_config_strings_at(mc, many, i);
  if (has_one)
    pats[n] = single;
  const char *err = NULL;
  int rc = tower_globs_new(pats, n + has_one, out, &err);
  free(pats);
  if (rc == -EINVAL)
    return tower_config_error(mc, tower_config_setting(mc, one), "%s: pattern \"%s\": %s", one,
                              single, err ? err : "invalid");
  return rc;
}

static int compile_mapping(const tower_config *cfg, const tower_setting *ms, size_t i,
                           enum_mapping *mp) {
  const tower_config *mc = tower_setting_config(ms);
  if (!mc) /* the core validates every GROUPS element; never NULL */
    return -EINVAL;
  const char *dest = tower_config_string(mc, "dest");
  mp->dest = dest && *dest ? dest : NULL;
  int rc = compile_selector(mc, "fields", "field", &mp->fields);
  if (rc == 0)
    rc = compile_selector(mc, "tags", "tag", &mp->tags);
  if (rc == 0)
    rc = enum_table_read(mc, tower_config_setting(mc, "value_mappings"), &mp->table, &mp->nentries);
  const tower_setting *d = tower_config_setting(mc, "default");
  if (rc == 0 && d) {
    rc = enum_value_read(mc, d, "default", &mp->deflt);
    mp->has_default = rc == 0;
  }
  if (rc == 0 && !mp->fields && !mp->tags)
    return tower_config_error(
        cfg, ms, "mapping[%zu] selects nothing; give fields = [...] or tags = [...]", i);
  return rc;
}

static void enum_destroy(void *state) {
  enum_state *s = state;
  if (!s)
    return;
  for (size_t i = 0; i < s->nmappings; i++) {
    tower_globs_free(s->mappings[i].fields);
    tower_globs_free(s->mappings[i].tags);
    enum_table_free(s->mappings[i].table, s->mappings[i].nentries);
    enum_value_clear(&s->mappings[i].deflt);
  }
  free(s->mappings);
  free(s->writes);
  tower_buf_free(s->keys);
  free(s);
}

/* `mapping` is a list of groups, or a single group (the core accepts both). */
static int compile_mappings(enum_state *s, tower_ctx *ctx, const tower_config *cfg) {
  const tower_setting *list = tower_config_setting(cfg, "mapping");
  bool single = tower_setting_kind(list) == TOWER_SETTING_GROUP;
  size_t n = single ? 1 : tower_setting_len(list);
  if (n == 0) {
    tower_warn(ctx, "no mapping is given: metrics pass unchanged");
    return 0;
  }
  if (!(s->mappings = calloc(n, sizeof *s->mappings)))
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    s->nmappings++; /* counted first: destroy frees what a failed mapping holds */
    int rc = compile_mapping(cfg, single ? list : tower_setting_at(list, i), i, &s->mappings[i]);
    if (rc)
      return rc;
  }
  return 0;
}

static int enum_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  enum_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  int rc = (s->keys = tower_buf_new(128)) ? compile_mappings(s, ctx, cfg) : -ENOMEM;
  if (rc) {
    enum_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_PROCESSOR),
    .name = "enum",
    .description = "map tag and field values to other values through lookup tables",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = enum_init,
    .destroy = enum_destroy,
    .process = enum_process,
};

TOWER_PLUGIN_ENTRY(plugin)
