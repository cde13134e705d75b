/* processors.converter: Telegraf's processors.converter. Two groups of
 * glob lists say what to convert: `tag_conversions` (Telegraf's `tags`, a
 * name the core keeps for the common option) and `fields`. The key of each
 * list is the target:
 *   tags:   measurement, string, integer, unsigned, boolean, float, timestamp
 *   fields: measurement, tag, float, integer, unsigned, boolean, string,
 *           timestamp, base64_ieee_float32
 * A tag or field goes to the first target (in that order) one of whose
 * globs matches its key. Tags are converted first, then fields (a tag made
 * a field can be converted again as a field, as in Telegraf). A tag made a
 * field, or a field made a tag, keeps its key.
 *
 * A value that cannot be converted is dropped (the tag or field is
 * removed), the failure is counted as an error of the instance and logged,
 * and the metric goes on: what Telegraf does, except that it only logs.
 *
 * The conversions themselves (goconv.c) follow Go's strconv, which
 * Telegraf's use; timestamps take unix, unix_ms, unix_us, unix_ns (tower's
 * parser, format.h) or a Go layout (golayout.c). Keys and values are copied
 * into a scratch buffer of the instance before the metric changes (process
 * calls of one instance never overlap), so converting allocates nothing of
 * its own.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "goconv.h"
#include "golayout.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

typedef enum {
  TO_MEASUREMENT,
  TO_TAG,
  TO_STRING,
  TO_INTEGER,
  TO_UNSIGNED,
  TO_BOOLEAN,
  TO_FLOAT,
  TO_TIMESTAMP,
  TO_BASE64_FLOAT32,
  NTARGETS,
  TO_NONE = NTARGETS,
} target;

static const char *const target_names[NTARGETS] = {
    "measurement",        "tag", "string", "integer", "unsigned", "boolean", "float", "timestamp",
    "base64_ieee_float32"};

/* Telegraf's order of tests, for tags and for fields. */
static const target tag_order[] = {TO_MEASUREMENT, TO_STRING, TO_INTEGER,   TO_UNSIGNED,
                                   TO_BOOLEAN,     TO_FLOAT,  TO_TIMESTAMP, TO_NONE};
static const target field_order[] = {TO_MEASUREMENT,    TO_TAG,     TO_FLOAT,  TO_INTEGER,
                                     TO_UNSIGNED,       TO_BOOLEAN, TO_STRING, TO_TIMESTAMP,
                                     TO_BASE64_FLOAT32, TO_NONE};

typedef struct {
  tower_globs *globs[NTARGETS]; /* NULL: nothing goes to that target */
  const char *time_format;      /* borrowed from the config */
  int64_t unix_unit;            /* ns per unit of a unix format; 0: a Go layout */
  const char *layout;
  bool any;
} conversions;

typedef struct {
  conversions tags, fields;
  tower_buf *scratch;
} conv_state;

#define GLOBS(n, h)                                                                                \
  { .name = (n), .type = TOWER_OPT_STRINGS, .flags = TOWER_OPT_GLOB, .help = (h) }
#define TIME_FORMAT                                                                                \
  {                                                                                                \
    .name = "timestamp_format", .type = TOWER_OPT_STRING,                                          \
    .help = "unix, unix_ms, unix_us, unix_ns or a Go layout (required with timestamp)"             \
  }

static const tower_option tag_options[] = {
    GLOBS("measurement", "tags whose value becomes the metric name"),
    GLOBS("string", "tags to make string fields"),
    GLOBS("integer", "tags to make integer fields"),
    GLOBS("unsigned", "tags to make unsigned fields"),
    GLOBS("boolean", "tags to make boolean fields"),
    GLOBS("float", "tags to make float fields"),
    GLOBS("timestamp", "tag whose value becomes the metric time"),
    TIME_FORMAT,
    TOWER_OPTION_END,
};

static const tower_option field_options[] = {
    GLOBS("measurement", "fields whose value becomes the metric name"),
    GLOBS("tag", "fields to make tags"),
    GLOBS("string", "fields to make strings"),
    GLOBS("integer", "fields to make integers"),
    GLOBS("unsigned", "fields to make unsigned integers"),
    GLOBS("boolean", "fields to make booleans"),
    GLOBS("float", "fields to make floats"),
    GLOBS("timestamp", "field whose value becomes the metric time"),
    GLOBS("base64_ieee_float32",
          "string fields holding a base64 big-endian IEEE 754 float32 to make floats"),
    TIME_FORMAT,
    TOWER_OPTION_END,
};

static const tower_option options[] = {
    {.name = "tag_conversions",
     .type = TOWER_OPT_GROUP,
     .help = "{ <target> = [\"tag glob\", ...]; ... }: Telegraf's [processors.converter.tags]",
     .children = tag_options},
    {.name = "fields",
     .type = TOWER_OPT_GROUP,
     .help = "{ <target> = [\"field glob\", ...]; ... }",
     .children = field_options},
    TOWER_OPTION_END,
};

/* ---- converting ---------------------------------------------------------- */

static target match(const conversions *c, const target *order, const char *key) {
  for (; *order != TO_NONE; order++)
    if (c->globs[*order] && tower_globs_match(c->globs[*order], key))
      return *order;
  return TO_NONE;
}

static bool to_time(const conversions *c, const goval *in, int64_t *ns) {
  if (in->type == GV_STRING)
    return c->unix_unit ? tower_parse_time(in->v.s, strlen(in->v.s), c->time_format, ns) == 0
                        : golayout_parse(c->layout, in->v.s, ns) == 0;
  if (!c->unix_unit || in->type == GV_BOOL)
    return false;
  if (in->type == GV_INT)
    return !__builtin_mul_overflow(in->v.i, c->unix_unit, ns);
  if (in->type == GV_UINT)
    return in->v.u <= INT64_MAX && !__builtin_mul_overflow((int64_t)in->v.u, c->unix_unit, ns);
  double whole, frac = modf(in->v.f, &whole);
  double t = whole * (double)c->unix_unit;
  if (!(t > -9.2e18 && t < 9.2e18)) /* NaN too */
    return false;
  *ns = (int64_t)t + (int64_t)llround(frac * (double)c->unix_unit);
  return true;
}

/* Writes `in` converted to target `t` under `key`. 0, -EDOM when it does not
 * convert, or what a mutator returns (-EINVAL for an empty tag or name). */
static int put(const conversions *c, target t, tower_metric *m, const char *key, const goval *in) {
  char text[GO_TEXT_MAX];
  union {
    int64_t i;
    uint64_t u;
    double f;
    bool b;
  } v;
  switch (t) {
  case TO_MEASUREMENT:
    return tower_metric_set_name(m, go_to_text(in, text));
  case TO_TAG:
    return tower_metric_add_tag(m, key, go_to_text(in, text));
  case TO_STRING:
    return tower_metric_add_string(m, key, go_to_text(in, text));
  case TO_INTEGER:
    return go_to_int(in, &v.i) ? tower_metric_add_int(m, key, v.i) : -EDOM;
  case TO_UNSIGNED:
    return go_to_uint(in, &v.u) ? tower_metric_add_uint(m, key, v.u) : -EDOM;
  case TO_BOOLEAN:
    return go_to_bool(in, &v.b) ? tower_metric_add_bool(m, key, v.b) : -EDOM;
  case TO_FLOAT:
    return go_to_float(in, &v.f) ? tower_metric_add_float(m, key, v.f) : -EDOM;
  case TO_TIMESTAMP:
    return to_time(c, in, &v.i) ? tower_metric_set_time(m, v.i) : -EDOM;
  case TO_BASE64_FLOAT32:
    return go_base64_float32(in, &v.f) ? tower_metric_add_float(m, key, v.f) : -EDOM;
  default:
    return 0;
  }
}

/* Copies key and (string) value into the scratch buffer: changing the
 * metric may move the originals. */
static int keep(conv_state *s, const char *key, const char *value, const char **k, const char **v) {
  tower_buf_reset(s->scratch);
  size_t kl = strlen(key) + 1;
  if (tower_buf_append(s->scratch, key, kl) ||
      (value && tower_buf_append(s->scratch, value, strlen(value) + 1)))
    return -ENOMEM;
  *k = tower_buf_data(s->scratch);
  *v = value ? *k + kl : NULL;
  return 0;
}

static void report(tower_acc *next, const tower_metric *m, const char *what, const char *key,
                   const goval *in, target t, int rc) {
  char text[GO_TEXT_MAX];
  const char *shown = go_to_text(in, text);
  if (rc == -EDOM || rc == -EINVAL)
    tower_acc_error(next,
                    "metric \"%s\": cannot convert %s \"%s\" (\"%.64s%s\") to %s; the %s was "
                    "dropped",
                    tower_metric_name(m), what, key, shown, strlen(shown) > 64 ? "..." : "",
                    target_names[t], what);
  else
    tower_acc_error(next,
                    "metric \"%s\": converting %s \"%s\" to %s failed: %s; the %s was dropped",
                    tower_metric_name(m), what, key, target_names[t], strerror(-rc), what);
}

/* Backwards, so that removing tag i leaves the ones before it in place. */
static void convert_tags(conv_state *s, tower_metric *m, tower_acc *next) {
  for (size_t i = tower_metric_tag_count(m); i-- > 0;) {
    target t = match(&s->tags, tag_order, tower_metric_tag_key(m, i));
    if (t == TO_NONE)
      continue;
    const char *key, *value;
    int rc = keep(s, tower_metric_tag_key(m, i), tower_metric_tag_value(m, i), &key, &value);
    goval in = {.type = GV_STRING, .v.s = value};
    if (rc == 0)
      rc = tower_metric_remove_tag(m, key);
    if (rc == 0)
      rc = put(&s->tags, t, m, key, &in);
    if (rc)
      report(next, m, "tag", key ? key : "?", &in, t, rc);
  }
}

static goval field_value(const tower_metric *m, size_t i, const char *string_copy) {
  goval g = {.type = GV_STRING, .v.s = string_copy};
  switch (tower_metric_field_type(m, i)) {
  case TOWER_FIELD_FLOAT:
    return (goval){.type = GV_FLOAT, .v.f = tower_metric_field_float(m, i)};
  case TOWER_FIELD_INT:
    return (goval){.type = GV_INT, .v.i = tower_metric_field_int(m, i)};
  case TOWER_FIELD_UINT:
    return (goval){.type = GV_UINT, .v.u = tower_metric_field_uint(m, i)};
  case TOWER_FIELD_BOOL:
    return (goval){.type = GV_BOOL, .v.b = tower_metric_field_bool(m, i)};
  default:
    return g;
  }
}

/* The field stays where it is when it keeps its key (a new value replaces
 * the old one in place) and goes when it becomes something else or does
 * not convert; backwards, as for tags. */
static void convert_fields(conv_state *s, tower_metric *m, tower_acc *next) {
  for (size_t i = tower_metric_field_count(m); i-- > 0;) {
    target t = match(&s->fields, field_order, tower_metric_field_key(m, i));
    if (t == TO_NONE)
      continue;
    const char *key = NULL, *str = NULL;
    int rc = keep(s, tower_metric_field_key(m, i), tower_metric_field_string(m, i), &key, &str);
    goval in = field_value(m, i, str);
    bool stays = t != TO_MEASUREMENT && t != TO_TAG && t != TO_TIMESTAMP;
    if (rc == 0 && !stays)
      rc = tower_metric_remove_field(m, key);
    if (rc == 0)
      rc = put(&s->fields, t, m, key, &in);
    if (rc && stays)
      tower_metric_remove_field(m, key);
    if (rc)
      report(next, m, "field", key ? key : "?", &in, t, rc);
  }
}

static int converter_process(void *state, tower_metric *m, tower_acc *next) {
  conv_state *s = state;
  if (s->tags.any)
    convert_tags(s, m, next);
  if (s->fields.any)
    convert_fields(s, m, next);
  return tower_acc_add(next, m);
}

/* ---- configuration ------------------------------------------------------- */

/* ns per unit of a unix timestamp format, or 0 for any other. */
static int64_t unix_unit(const char *format) {
  static const struct {
    const char *name;
    int64_t unit;
  } u[] = {{"unix", 1000000000}, {"unix_ms", 1000000}, {"unix_us", 1000}, {"unix_ns", 1}};
  for (size_t i = 0; i < sizeof u / sizeof *u; i++)
    if (strcmp(format, u[i].name) == 0)
      return u[i].unit;
  return 0;
}

static int read_time_format(const tower_config *gc, conversions *c) {
  const tower_setting *where = tower_config_setting(gc, "timestamp_format");
  const char *f = tower_config_string(gc, "timestamp_format");
  if (!c->globs[TO_TIMESTAMP])
    return 0;
  if (!f || !*f)
    return tower_config_error(gc, tower_config_setting(gc, "timestamp"),
                              "timestamp needs timestamp_format: unix, unix_ms, unix_us, unix_ns "
                              "or a Go layout such as \"2006-01-02T15:04:05Z07:00\"");
  c->time_format = f;
  c->unix_unit = unix_unit(f);
  c->layout = golayout_named(f);
  if (!c->unix_unit && !golayout_valid(c->layout))
    return tower_config_error(gc, where,
                              "timestamp_format \"%s\" is neither unix, unix_ms, unix_us, unix_ns "
                              "nor a Go layout (one with elements of the reference time "
                              "\"Mon Jan 2 15:04:05 MST 2006\", such as \"2006-01-02 15:04:05\")",
                              f);
  return 0;
}

static int read_group(const tower_config *cfg, const char *name, const tower_option *children,
                      conversions *c) {
  const tower_config *gc = tower_setting_config(tower_config_setting(cfg, name));
  if (!gc)
    return 0;
  for (const tower_option *o = children; o->name; o++) {
    if (o->type != TOWER_OPT_STRINGS || tower_config_strings_len(gc, o->name) == 0)
      continue;
    size_t t = 0;
    while (strcmp(target_names[t], o->name) != 0)
      t++;
    int rc = tower_globs_from_config(gc, o->name, &c->globs[t]);
    if (rc)
      return rc;
    c->any = true;
  }
  return read_time_format(gc, c);
}

static void free_conversions(conversions *c) {
  for (size_t i = 0; i < NTARGETS; i++)
    tower_globs_free(c->globs[i]);
}

static void converter_destroy(void *state) {
  conv_state *s = state;
  if (!s)
    return;
  free_conversions(&s->tags);
  free_conversions(&s->fields);
  tower_buf_free(s->scratch);
  free(s);
}

static int converter_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  conv_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  int rc = (s->scratch = tower_buf_new(128)) ? 0 : -ENOMEM;
  if (rc == 0)
    rc = read_group(cfg, "tag_conversions", tag_options, &s->tags);
  if (rc == 0)
    rc = read_group(cfg, "fields", field_options, &s->fields);
  if (rc == 0 && !s->tags.any && !s->fields.any)
    rc = tower_config_error(cfg, NULL,
                            "nothing to convert: give tag_conversions = { <target> = [...]; } "
                            "or fields = { <target> = [...]; }");
  if (rc) {
    converter_destroy(s);
    return rc;
  }
  (void)ctx;
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_PROCESSOR),
    .name = "converter",
    .description = "convert tags and fields to other types, tags, fields, the name or the time",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = converter_init,
    .destroy = converter_destroy,
    .process = converter_process,
};

TOWER_PLUGIN_ENTRY(plugin)
