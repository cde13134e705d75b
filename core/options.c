/* Option tables: common options, checks, normalization. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

#define O(n, t, def, h)                                                                            \
  { .name = (n), .type = (t), .default_value = (def), .help = (h) }
#define G(n, t, h)                                                                                 \
  { .name = (n), .type = (t), .flags = TOWER_OPT_GLOB, .help = (h) }

/* Selectors and modifiers follow Telegraf's meaning (docs/CONFIGURATION.md
 * "Metric Filtering"): selectors decide whether a metric is handled at all,
 * modifiers remove tags/fields from the metrics that are. */
const tower_option twi_common_options[] = {
    O("alias", TOWER_OPT_STRING, NULL, "name of this instance in logs and internal metrics"),
    {.name = "log_level",
     .type = TOWER_OPT_ENUM,
     .choices = "error|warn|info|debug|trace",
     .help = "log level of this instance (default: the agent's)"},
    G("namepass", TOWER_OPT_STRINGS, "only metrics whose name matches one of these globs"),
    G("namedrop", TOWER_OPT_STRINGS, "drop metrics whose name matches one of these globs"),
    O("namepass_separator", TOWER_OPT_STRING, NULL, "characters '*' does not cross in namepass"),
    O("namedrop_separator", TOWER_OPT_STRING, NULL, "characters '*' does not cross in namedrop"),
    G("tagpass", TOWER_OPT_STRINGS_TABLE,
      "{ key = [\"glob\", ...]; }: only metrics with one of these tags matching"),
    G("tagdrop", TOWER_OPT_STRINGS_TABLE,
      "{ key = [\"glob\", ...]; }: drop metrics with one of these tags matching"),
    G("fieldinclude", TOWER_OPT_STRINGS, "keep only the fields matching these globs"),
    G("fieldexclude", TOWER_OPT_STRINGS, "remove the fields matching these globs"),
    G("taginclude", TOWER_OPT_STRINGS, "keep only the tags matching these globs"),
    G("tagexclude", TOWER_OPT_STRINGS, "remove the tags matching these globs"),
    TOWER_OPTION_END,
};

/* Renames, for inputs, outputs and aggregators: a processor changes metrics
 * by what it does, and processors.override is the one that renames (it
 * declares these itself), as in Telegraf. */
const tower_option twi_rename_options[] = {
    O("name_override", TOWER_OPT_STRING, NULL, "replace the measurement name"),
    O("name_prefix", TOWER_OPT_STRING, NULL, "prepend to the measurement name"),
    O("name_suffix", TOWER_OPT_STRING, NULL, "append to the measurement name"),
    O("tags", TOWER_OPT_TABLE, NULL, "tags added to every metric (a tag the metric has wins)"),
    TOWER_OPTION_END,
};

/* Defaults of these come from the agent block, so the tables carry none. */
static const tower_option input_options[] = {
    {.name = "interval",
     .type = TOWER_OPT_DURATION,
     .min = "1ms",
     .help = "how often to gather (default: agent.interval)"},
    O("precision", TOWER_OPT_DURATION, NULL, "round timestamps to this (default: agent.precision)"),
    O("collection_jitter", TOWER_OPT_DURATION, NULL,
      "random delay before each gather (default: agent.collection_jitter)"),
    O("collection_offset", TOWER_OPT_DURATION, NULL,
      "fixed shift of the schedule (default: agent.collection_offset)"),
    TOWER_OPTION_END,
};

static const tower_option processor_options[] = {
    O("order", TOWER_OPT_INT, NULL,
      "position among processors (those without order run first, then by order, ties in file "
      "order)"),
    TOWER_OPTION_END,
};

/* Telegraf's aggregator settings (models/running_aggregator.go). */
static const tower_option aggregator_options[] = {
    {.name = "period",
     .type = TOWER_OPT_DURATION,
     .default_value = "30s",
     .min = "1ms",
     .help = "length of the window whose summaries are pushed at its end"},
    O("delay", TOWER_OPT_DURATION, "100ms",
      "wait this long after the window's end for late metrics before pushing"),
    O("grace", TOWER_OPT_DURATION, "0s",
      "also take metrics this much older than the window's start (late arrivals)"),
    O("drop_original", TOWER_OPT_BOOL, "false",
      "the metrics this aggregator picks do not reach the outputs"),
    TOWER_OPTION_END,
};

static const tower_option output_options[] = {
    {.name = "flush_interval",
     .type = TOWER_OPT_DURATION,
     .min = "1ms",
     .help = "how often to write (default: agent.flush_interval)"},
    O("flush_jitter", TOWER_OPT_DURATION, NULL,
      "random delay added to each flush (default: agent.flush_jitter)"),
    {.name = "metric_batch_size",
     .type = TOWER_OPT_INT,
     .min = "1",
     .max = "10000000", /* the batch array is allocated up front */
     .help = "metrics per write; a full batch is written at once (default: agent's)"},
    {.name = "metric_buffer_limit",
     .type = TOWER_OPT_INT,
     .min = "1",
     .help = "metrics kept while the output cannot write; the oldest are dropped beyond "
             "(default: agent's)"},
    {.name = "buffer_strategy",
     .type = TOWER_OPT_ENUM,
     .default_value = "memory",
     .choices = "memory|disk",
     .help = "where metrics wait to be written: memory, or disk (a directory of its own under "
             "agent.buffer_directory; what was not written survives a crash and is written after "
             "the restart)"},
    {.name = "buffer_fsync",
     .type = TOWER_OPT_ENUM,
     .default_value = "commit",
     .choices = "commit|interval|never",
     .help = "disk buffer: when metrics count as safe. commit: synced before each commit of an "
             "input returns (a power cut loses nothing accepted); interval: synced every "
             "buffer_fsync_interval (a power cut loses up to that much); never: left to the "
             "kernel (a power cut loses what it had not written back, typically up to 30s). A "
             "crash or kill -9 of tower loses nothing in any mode"},
    {.name = "buffer_fsync_interval",
     .type = TOWER_OPT_DURATION,
     .default_value = "1s",
     .min = "1ms",
     .help = "disk buffer: how often to sync under buffer_fsync = \"interval\", save the read "
             "position, and move to disk what a full disk made it keep in memory"},
    {.name = "buffer_max_bytes",
     .type = TOWER_OPT_SIZE,
     .default_value = "512MiB",
     .min = "64KiB",
     .help = "disk buffer: most bytes of files; beyond, the oldest metrics are dropped and "
             "counted (metric_buffer_limit applies too)"},
    TOWER_OPTION_END,
};

const tower_option twi_agent_options[] = {
    {.name = "interval",
     .type = TOWER_OPT_DURATION,
     .default_value = "10s",
     .min = "1ms",
     .help = "default gather interval of inputs"},
    O("round_interval", TOWER_OPT_BOOL, "true",
      "align gathers to multiples of the interval (:00, :10, :20...)"),
    O("collection_jitter", TOWER_OPT_DURATION, "0s", "random delay before each gather"),
    O("collection_offset", TOWER_OPT_DURATION, "0s", "fixed shift of the gather schedule"),
    O("precision", TOWER_OPT_DURATION, "0s",
      "round gathered timestamps to this; 0s: 1s for intervals of 1s and more, else 1ms/1us"),
    {.name = "flush_interval",
     .type = TOWER_OPT_DURATION,
     .default_value = "10s",
     .min = "1ms",
     .help = "default write interval of outputs"},
    O("flush_jitter", TOWER_OPT_DURATION, "0s", "random delay added to each flush"),
    {.name = "metric_batch_size",
     .type = TOWER_OPT_INT,
     .default_value = "1000",
     .min = "1",
     .max = "10000000", /* the batch array is allocated up front */
     .help = "metrics per write"},
    {.name = "metric_buffer_limit",
     .type = TOWER_OPT_INT,
     .default_value = "10000",
     .min = "1",
     .help = "metrics each output keeps while it cannot write (oldest dropped beyond)"},
    O("hostname", TOWER_OPT_STRING, "", "value of the host tag (empty: the system's host name)"),
    O("omit_hostname", TOWER_OPT_BOOL, "false", "do not add the host tag"),
    {.name = "log_level",
     .type = TOWER_OPT_ENUM,
     .default_value = "info",
     .choices = "error|warn|info|debug|trace",
     .help = "agent log level (--log-level overrides)"},
    O("logfile", TOWER_OPT_STRING, "", "log to this file instead of stderr"),
    O("plugin_dir", TOWER_OPT_STRING, "",
      "where plugins are found (--plugin-dir and TOWER_PLUGIN_DIR override)"),
    O("buffer_directory", TOWER_OPT_STRING, "",
      "where outputs with buffer_strategy = \"disk\" keep their buffers, one directory each "
      "named after the instance (empty: " TOWER_DEFAULT_BUFFER_DIR ")"),
    {.name = "shutdown_timeout",
     .type = TOWER_OPT_DURATION,
     .default_value = "10s",
     .min = "0s",
     .help = "longest wait for inputs to stop and outputs to write their last metrics (outputs "
             "get at least half of it)"},
    {.name = "retry_backoff_min",
     .type = TOWER_OPT_DURATION,
     .default_value = "1s",
     .min = "1ms",
     .help = "first wait before retrying a failed write (doubles per failure, with jitter)"},
    {.name = "retry_backoff_max",
     .type = TOWER_OPT_DURATION,
     .default_value = "60s",
     .min = "1ms",
     .help = "longest wait between write retries"},
    TOWER_OPTION_END,
};

const tower_option *twi_kind_options(tower_plugin_kind kind) {
  switch (kind) {
  case TOWER_INPUT:
    return input_options;
  case TOWER_PROCESSOR:
    return processor_options;
  case TOWER_OUTPUT:
    return output_options;
  case TOWER_AGGREGATOR:
    return aggregator_options;
  }
  return NULL;
}

const tower_option *twi_option_find(const tower_option *opts, const char *name) {
  for (; opts && opts->name; opts++)
    if (strcmp(opts->name, name) == 0)
      return opts;
  return NULL;
}

const char *twi_option_type_name(tower_option_type t) {
  switch (t) {
  case TOWER_OPT_BOOL:
    return "boolean";
  case TOWER_OPT_INT:
    return "integer";
  case TOWER_OPT_FLOAT:
    return "number";
  case TOWER_OPT_STRING:
    return "string";
  case TOWER_OPT_DURATION:
    return "duration";
  case TOWER_OPT_SIZE:
    return "size";
  case TOWER_OPT_ENUM:
    return "choice";
  case TOWER_OPT_STRINGS:
    return "list of strings";
  case TOWER_OPT_TABLE:
    return "table of strings";
  case TOWER_OPT_GROUPS:
    return "list of groups";
  case TOWER_OPT_GROUP:
    return "group";
  case TOWER_OPT_ANY:
    return "setting";
  case TOWER_OPT_STRINGS_TABLE:
    return "table of string lists";
  }
  return "unknown";
}

/* ---- values as text ---------------------------------------------------- */

static bool enum_has(const char *choices, const char *value) {
  size_t vlen = strlen(value);
  for (const char *p = choices; p && *p;) {
    size_t n = strcspn(p, "|");
    if (n == vlen && strncmp(p, value, n) == 0)
      return true;
    p += n + (p[n] == '|');
  }
  return false;
}

static const char *syntax_hint(tower_option_type t) {
  switch (t) {
  case TOWER_OPT_DURATION:
    return "a duration such as \"500ms\", \"10s\" or \"1h30m\"";
  case TOWER_OPT_SIZE:
    return "a size such as \"512\", \"64kB\" or \"16MiB\"";
  case TOWER_OPT_BOOL:
    return "true or false";
  case TOWER_OPT_INT:
    return "an integer";
  case TOWER_OPT_FLOAT:
    return "a number";
  default:
    return "a value";
  }
}

/* A value of a numeric option, held exactly in the option's own type:
 * int64 for INT and DURATION (ns), uint64 for SIZE (bytes), double for
 * FLOAT. Comparing through doubles would blur integers above 2^53. */
typedef struct number {
  int64_t i;
  uint64_t u;
  double f;
} number;

/* What parsing a value found. */
typedef enum num_status {
  NUM_OK,
  NUM_SYNTAX,    /* not a value of this type */
  NUM_TOO_SMALL, /* below what the type holds (a negative size) */
  NUM_TOO_LARGE, /* beyond what the type holds (int64, 2^63 ns, 2^64 B) */
  NUM_FRACTION,  /* a size between 0 and 1 byte */
} num_status;

static num_status parse_int(const char *text, number *n) {
  char *end;
  errno = 0;
  n->i = strtoll(text, &end, 10);
  if (end == text || *end)
    return NUM_SYNTAX;
  if (errno == ERANGE)
    return n->i < 0 ? NUM_TOO_SMALL : NUM_TOO_LARGE;
  return NUM_OK;
}

static num_status parse_float(const char *text, number *n) {
  char *end;
  n->f = strtod(text, &end);
  if (end == text || *end || isnan(n->f))
    return NUM_SYNTAX;
  if (isinf(n->f))
    return n->f < 0 ? NUM_TOO_SMALL : NUM_TOO_LARGE;
  return NUM_OK;
}

static num_status parse_size(const char *text, number *n) {
  /* "-1KiB" is a size, only a negative one: say that rather than "not a
   * size". */
  bool negative = text[0] == '-';
  int rc = tower_parse_size(text + negative, &n->u);
  if (rc == -EINVAL)
    return NUM_SYNTAX;
  if (negative && !(rc == 0 && n->u == 0))
    return NUM_TOO_SMALL;
  if (rc == -ERANGE)
    return strtod(text, NULL) < 1 ? NUM_FRACTION : NUM_TOO_LARGE;
  return NUM_OK;
}

/* Parses a bound or value of a numeric option. */
static num_status parse_number(const tower_option *o, const char *text, number *n) {
  switch (o->type) {
  case TOWER_OPT_INT:
    return parse_int(text, n);
  case TOWER_OPT_FLOAT:
    return parse_float(text, n);
  case TOWER_OPT_DURATION: {
    int rc = tower_parse_duration(text, &n->i);
    return rc == -ERANGE ? NUM_TOO_LARGE : rc ? NUM_SYNTAX : NUM_OK;
  }
  case TOWER_OPT_SIZE:
    return parse_size(text, n);
  default:
    return NUM_SYNTAX;
  }
}

/* <0, 0, >0 as a is below, equal to or above b. */
static int compare(const tower_option *o, const number *a, const number *b) {
  switch (o->type) {
  case TOWER_OPT_FLOAT:
    return (a->f > b->f) - (a->f < b->f);
  case TOWER_OPT_SIZE:
    return (a->u > b->u) - (a->u < b->u);
  default:
    return (a->i > b->i) - (a->i < b->i);
  }
}

/* True when a size option gives 0 a meaning ("0: no limit"): its table
 * says so with min = "0", or with a default of 0. */
static bool size_allows_zero(const tower_option *o) {
  uint64_t b;
  const char *zero = o->min ? o->min : o->default_value;
  return zero && tower_parse_size(zero, &b) == 0 && b == 0;
}

/* The smallest and largest values of `o`, as text: its bounds, or what its
 * type holds. A size is at least one byte unless 0 means something. */
static const char *min_text(const tower_option *o) {
  if (o->min)
    return o->min;
  switch (o->type) {
  case TOWER_OPT_INT:
    return "-9223372036854775808";
  case TOWER_OPT_FLOAT:
    return "-1.7976931348623157e308";
  case TOWER_OPT_SIZE:
    return size_allows_zero(o) ? "0" : "1B";
  default:
    return "0";
  }
}

static const char *max_text(const tower_option *o) {
  if (o->max)
    return o->max;
  switch (o->type) {
  case TOWER_OPT_INT:
    return "9223372036854775807";
  case TOWER_OPT_FLOAT:
    return "1.7976931348623157e308";
  case TOWER_OPT_DURATION:
    return "2562047h47m16.854775807s, about 292 years";
  default:
    return "18446744073709551615B";
  }
}

/* Checks a numeric value against its type and bounds. */
static int check_number(const tower_option *o, const char *value, char *err, size_t errlen) {
  number v, bound;
  num_status st = parse_number(o, value, &v);
  if (st == NUM_OK && o->type == TOWER_OPT_SIZE && !o->min && v.u == 0 && !size_allows_zero(o))
    st = NUM_TOO_SMALL;
  if (st == NUM_OK && o->min && parse_number(o, o->min, &bound) == NUM_OK &&
      compare(o, &v, &bound) < 0)
    st = NUM_TOO_SMALL;
  if (st == NUM_OK && o->max && parse_number(o, o->max, &bound) == NUM_OK &&
      compare(o, &v, &bound) > 0)
    st = NUM_TOO_LARGE;
  if (st == NUM_FRACTION && !size_allows_zero(o))
    st = NUM_TOO_SMALL;
  switch (st) {
  case NUM_OK:
    return 0;
  case NUM_SYNTAX:
    snprintf(err, errlen, "\"%s\" is not %s", value, syntax_hint(o->type));
    return -EINVAL;
  case NUM_TOO_SMALL:
    snprintf(err, errlen, "%s is too small (below the minimum %s)", value, min_text(o));
    return -ERANGE;
  case NUM_TOO_LARGE:
    snprintf(err, errlen, "%s is too large (above the maximum %s)", value, max_text(o));
    return -ERANGE;
  case NUM_FRACTION:
    snprintf(err, errlen, "%s is a fraction of a byte: write 0 or at least 1B", value);
    return -ERANGE;
  }
  return -EINVAL;
}

int twi_option_check_text(const tower_option *o, const char *value, char *err, size_t errlen) {
  switch (o->type) {
  case TOWER_OPT_BOOL:
    if (strcmp(value, "true") && strcmp(value, "false")) {
      snprintf(err, errlen, "\"%s\" is not true or false", value);
      return -EINVAL;
    }
    return 0;
  case TOWER_OPT_ENUM:
    if (!enum_has(o->choices, value)) {
      snprintf(err, errlen, "\"%s\" is not one of %s", value, o->choices ? o->choices : "");
      return -EINVAL;
    }
    return 0;
  case TOWER_OPT_INT:
  case TOWER_OPT_FLOAT:
  case TOWER_OPT_DURATION:
  case TOWER_OPT_SIZE:
    return check_number(o, value, err, errlen);
  default:
    return 0;
  }
}

/* ---- table checks ------------------------------------------------------- */

static bool valid_name(const char *n) {
  if (!n || !(*n >= 'a' && *n <= 'z'))
    return false;
  for (; *n; n++)
    if (!((*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') || *n == '_'))
      return false;
  return true;
}

static int check_default(const tower_option *o, char *err, size_t errlen) {
  char why[256];
  const char *d = o->default_value;
  if (o->type == TOWER_OPT_STRINGS) {
    /* comma-separated elements: nothing to check beyond being a string */
    return 0;
  }
  if (o->type == TOWER_OPT_STRING || o->type == TOWER_OPT_TABLE || o->type >= TOWER_OPT_GROUPS)
    return 0;
  if (twi_option_check_text(o, d, why, sizeof why)) {
    snprintf(err, errlen, "option \"%s\": default %s", o->name, why);
    return -EINVAL;
  }
  return 0;
}

static int check_one(const tower_option *o, const tower_option *table,
                     const tower_option *const *reserved, char *err, size_t errlen) {
  if (!valid_name(o->name)) {
    snprintf(err, errlen, "option name \"%s\" is not [a-z][a-z0-9_]*", o->name);
    return -EINVAL;
  }
  for (const tower_option *p = table; p < o; p++)
    if (strcmp(p->name, o->name) == 0) {
      snprintf(err, errlen, "option \"%s\" is declared twice", o->name);
      return -EINVAL;
    }
  for (size_t i = 0; reserved && reserved[i]; i++)
    if (twi_option_find(reserved[i], o->name)) {
      snprintf(err, errlen, "option \"%s\" is reserved: the core handles it for every plugin",
               o->name);
      return -EINVAL;
    }
  if (o->type < TOWER_OPT_BOOL || o->type > TOWER_OPT_STRINGS_TABLE) {
    snprintf(err, errlen, "option \"%s\" has unknown type %u", o->name, o->type);
    return -EINVAL;
  }
  if (o->type == TOWER_OPT_ENUM && (!o->choices || !*o->choices)) {
    snprintf(err, errlen, "option \"%s\" is an enum without choices", o->name);
    return -EINVAL;
  }
  if ((o->type == TOWER_OPT_GROUPS || o->type == TOWER_OPT_GROUP) && !o->children) {
    snprintf(err, errlen, "option \"%s\" is a group without a children table", o->name);
    return -EINVAL;
  }
  const char *bounds[] = {o->min, o->max};
  for (int i = 0; i < 2; i++) {
    number v;
    if (!bounds[i])
      continue;
    if (parse_number(o, bounds[i], &v) != NUM_OK) {
      snprintf(err, errlen, "option \"%s\": bound \"%s\" is not %s", o->name, bounds[i],
               syntax_hint(o->type));
      return -EINVAL;
    }
  }
  if (o->default_value && check_default(o, err, errlen))
    return -EINVAL;
  if (o->children)
    return twi_options_check(o->children, NULL, err, errlen);
  return 0;
}

int twi_options_check(const tower_option *opts, const tower_option *const *reserved, char *err,
                      size_t errlen) {
  for (const tower_option *o = opts; o && o->name; o++)
    if (check_one(o, opts, reserved, err, errlen))
      return -EINVAL;
  return 0;
}

/* ---- normalization ------------------------------------------------------ */

tower_option *twi_options_normalize(const void *table, size_t stride) {
  if (!table)
    return calloc(1, sizeof(tower_option));
  size_t min_stride = offsetof(tower_option, type) + sizeof(uint32_t);
  if (stride < min_stride)
    return NULL;
  size_t n = 0;
  const char *p = table;
  while (*(const char *const *)(const void *)(p + n * stride))
    n++;
  tower_option *out = calloc(n + 1, sizeof *out);
  if (!out)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    memcpy(&out[i], p + i * stride, stride < sizeof *out ? stride : sizeof *out);
    if (out[i].children) {
      out[i].children = twi_options_normalize(out[i].children, stride);
      if (!out[i].children) {
        twi_options_free(out);
        return NULL;
      }
    }
  }
  return out;
}

void twi_options_free(tower_option *opts) {
  if (!opts)
    return;
  for (tower_option *o = opts; o->name; o++)
    twi_options_free((tower_option *)o->children);
  free(opts);
}
