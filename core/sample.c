/* Commented sample configuration, generated from the option tables so that
 * it always matches the code. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "format_options.h"
#include "options.h"
#include "sample.h"

/* Writes `v` as a libconfig value for option type `t`. */
static void print_value(FILE *f, const tower_option *o, const char *v) {
  switch (o->type) {
  case TOWER_OPT_BOOL:
  case TOWER_OPT_INT:
  case TOWER_OPT_FLOAT:
    fputs(v, f);
    break;
  case TOWER_OPT_STRINGS: {
    fputc('[', f);
    for (const char *p = v; *p;) {
      size_t n = strcspn(p, ",");
      while (n && *p == ' ')
        p++, n--;
      fprintf(f, "%s\"%.*s\"", p == v ? "" : ", ", (int)n, p);
      p += n + (p[n] == ',');
    }
    fputc(']', f);
    break;
  }
  case TOWER_OPT_TABLE:
  case TOWER_OPT_GROUP:
  case TOWER_OPT_STRINGS_TABLE:
    fputs("{ }", f);
    break;
  case TOWER_OPT_GROUPS:
  case TOWER_OPT_ANY:
    fputs("( )", f);
    break;
  default:
    fputc('"', f);
    for (const char *p = v; *p; p++) {
      if (*p == '"' || *p == '\\')
        fputc('\\', f);
      fputc(*p, f);
    }
    fputc('"', f);
  }
}

static const char *placeholder(const tower_option *o) {
  switch (o->type) {
  case TOWER_OPT_BOOL:
    return "false";
  case TOWER_OPT_INT:
  case TOWER_OPT_FLOAT:
    return "0";
  default:
    return "";
  }
}

static void print_options(FILE *f, const tower_option *opts, const char *indent, bool active);

static void print_help(FILE *f, const tower_option *o, const char *indent) {
  fprintf(f, "%s# %s", indent, o->help ? o->help : o->name);
  if (o->type == TOWER_OPT_ENUM)
    fprintf(f, " (%s)", o->choices);
  if (o->min || o->max)
    fprintf(f, " [%s..%s]", o->min ? o->min : "", o->max ? o->max : "");
  if (o->flags & TOWER_OPT_SECRET)
    fputs(" (secret: use ${ENV_VAR})", f);
  fputc('\n', f);
}

static void print_option(FILE *f, const tower_option *o, const char *indent, bool active) {
  print_help(f, o, indent);
  if (o->children) {
    char deeper[64];
    snprintf(deeper, sizeof deeper, "%s#   ", indent);
    bool list = o->type == TOWER_OPT_GROUPS;
    fprintf(f, "%s# %s = %s\n%s#   {\n", indent, o->name, list ? "(" : "", indent);
    print_options(f, o->children, deeper, false);
    if (list)
      fprintf(f, "%s#   }\n%s# );\n", indent, indent);
    else
      fprintf(f, "%s#   };\n", indent);
    return;
  }
  if (o->type == TOWER_OPT_ANY)
    return; /* free-form: its help line says what to write */
  bool required = o->flags & TOWER_OPT_REQUIRED;
  const char *v = o->default_value ? o->default_value : placeholder(o);
  fprintf(f, "%s%s%s = ", indent, active && required ? "" : "# ", o->name);
  print_value(f, o, v);
  fprintf(f, ";%s\n", required ? "  # required" : "");
}

static void print_options(FILE *f, const tower_option *opts, const char *indent, bool active) {
  for (const tower_option *o = opts; o && o->name; o++)
    print_option(f, o, indent, active);
}

/* data_format, then the options of each format, under the format they
 * belong to: only those of the chosen format have an effect. */
static void print_format_options(FILE *f, const tower_option *const *tables, const char *indent) {
  bool parser;
  const tower_option *table = twi_format_table(tables, &parser);
  if (!table)
    return;
  print_option(f, twi_option_find(table, "data_format"), indent, false);
  for (size_t i = 0; twi_format_at(i); i++) {
    const twi_format *fmt = twi_format_at(i);
    const tower_option *opts = twi_format_options(fmt, parser);
    if (!opts || !opts->name)
      continue;
    fprintf(f, "%s# With data_format = \"%s\" (see tower.conf(5), DATA FORMATS):\n", indent,
            fmt->name);
    print_options(f, opts, indent, false);
  }
}

void twi_sample_agent(FILE *f) {
  fputs("agent = {\n", f);
  print_options(f, twi_agent_options, "  ", false);
  fputs("};\n\n# Tags added to every metric (a tag the metric has wins).\n"
        "# global_tags = { dc = \"seoul\"; };\n",
        f);
}

void twi_sample_plugin(FILE *f, const twi_plugin *p, bool active) {
  const char *c = active ? "" : "# ";
  const tower_plugin *d = &p->desc;
  fprintf(f, "  # %s.%s %s: %s\n", twi_kind_dir((tower_plugin_kind)d->kind), d->name,
          d->version ? d->version : "", d->description ? d->description : "");
  fprintf(f, "  %s{\n  %s  plugin = \"%s\";\n", c, c, d->name);
  char indent[16];
  snprintf(indent, sizeof indent, "  %s  ", c);
  print_options(f, p->options, indent, active);
  const tower_option *tables[TWI_BLOCK_TABLES];
  twi_block_tables(d, p->options, tables);
  print_format_options(f, tables, indent);
  const char *kind_opts = d->kind == TOWER_INPUT        ? ", interval, precision, collection_jitter"
                          : d->kind == TOWER_OUTPUT     ? ","
                          : d->kind == TOWER_AGGREGATOR ? ", period, delay, grace, drop_original"
                                                        : ", order";
  if (d->kind == TOWER_PROCESSOR)
    fprintf(f,
            "  %s  # Common options: alias, log_level, namepass, namedrop, tagpass, tagdrop,\n"
            "  %s  # fieldinclude, fieldexclude, taginclude, tagexclude%s\n",
            c, c, kind_opts);
  else
    fprintf(f,
            "  %s  # Common options: alias, log_level, tags, name_override, name_prefix,\n"
            "  %s  # name_suffix, namepass, namedrop, tagpass, tagdrop, fieldinclude,\n"
            "  %s  # fieldexclude, taginclude, tagexclude%s\n",
            c, c, c, kind_opts);
  if (d->kind == TOWER_OUTPUT)
    fprintf(f,
            "  %s  # flush_interval, flush_jitter, metric_batch_size, metric_buffer_limit,\n"
            "  %s  # buffer_strategy, buffer_fsync, buffer_fsync_interval, buffer_max_bytes\n",
            c, c);
  fprintf(f, "  %s  # (see tower.conf(5)).\n", c);
  fprintf(f, "  %s}", c);
}

void twi_sample_header(FILE *f) {
  fputs("# tower configuration (libconfig syntax), generated by `tower sample-config`.\n"
        "# Durations and sizes are strings (\"10s\", \"16MiB\"); $VAR, ${VAR} and\n"
        "# ${VAR:-default} in strings are replaced by environment variables ($$VAR is\n"
        "# a literal $VAR); @include \"file\" reads another file relative to this one, and\n"
        "# @include \"conf.d/*.conf\" adds the plugins of drop-in files. Commented lines\n"
        "# show the defaults.\n\n",
        f);
}
