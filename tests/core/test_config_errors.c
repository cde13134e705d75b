/* Configuration errors that guide: each broken text gives a message that
 * names the file and line where the text is wrong (where an unclosed bracket
 * was opened, which setting is repeated) and says what would be right.
 * Table-driven: a text (and the file it includes) -> fragments expected in
 * the message. The files are real files, loaded as the agent loads them. */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "config_view.h"
#include "format_options.h"
#include "format_internal.h"
#include "harness.h"
#include "options.h"
#include "sample.h"
#include "check_run.h"

static const char *or_empty(const char *s) {
  return s ? s : "";
}

#define ck_assert_contains(hay, needle)                                                            \
  ck_assert_msg(strstr(or_empty(hay), (needle)) != NULL, "expected \"%s\" in:\n%s", (needle),      \
                or_empty(hay))

typedef struct error_case {
  const char *main;    /* main.conf */
  const char *inc;     /* a.inc, or NULL */
  const char *want[3]; /* fragments of the message, in any order */
} error_case;

/* Loads the case's main.conf (with a.inc beside it); the error, which must
 * come, in a malloc'd string. */
static char *load_error(const error_case *c) {
  char *dir = th_tmpdir();
  char *path = th_fmt("%s/main.conf", dir), *inc = th_fmt("%s/a.inc", dir);
  ck_assert_int_eq(th_write_file(path, c->main), 0);
  if (c->inc)
    ck_assert_int_eq(th_write_file(inc, c->inc), 0);
  char err[2048] = "";
  twi_conf *conf = twi_conf_load(path, err, sizeof err);
  ck_assert_msg(conf == NULL, "loaded:\n%s", c->main);
  th_rmrf(dir);
  free(path);
  free(inc);
  free(dir);
  return strdup(err);
}

static void check_cases(const error_case *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char *e = load_error(&cases[i]);
    for (size_t k = 0; k < 3 && cases[i].want[k]; k++)
      ck_assert_msg(strstr(e, cases[i].want[k]), "case %zu: want \"%s\" in:\n%s\n--- text ---\n%s",
                    i, cases[i].want[k], e, cases[i].main);
    free(e);
  }
}

/* ---- syntax -------------------------------------------------------------- */

START_TEST(unclosed_brackets_point_where_they_open) {
  static const error_case cases[] = {
      /* libconfig: "main.conf:4: syntax error", the end of the file */
      {"agent = { interval = \"10s\";\n"
       "inputs = ( { plugin = \"cpu\"; } );\n"
       "outputs = ( { plugin = \"csv\"; } );\n",
       NULL,
       {"main.conf:4: syntax error: the file ends with a bracket not closed: \"{\" of agent "
        "opened at line 1; add \"}\"",
        "probably ends before line 2, where inputs begins"}},
      {"inputs = ( { plugin = \"lines\";\n",
       NULL,
       {"main.conf:2: syntax error: the file ends with brackets not closed: \"{\" of inputs[0] "
        "opened at line 1, \"(\" of inputs opened at line 1; add \"}\" then \")\""}},
      /* libconfig: main.conf:2, in the file after the include */
      {"@include \"a.inc\"\noutputs = ( { plugin = \"csv\"; } );\n",
       "\n\ninputs = ( { plugin = \"cpu\"; }\n",
       {"a.inc:4: syntax error: the file ends with a bracket not closed: \"(\" of inputs opened at "
        "line 3; add \")\"",
        "an @include'd file must close every bracket it opens"}},
      {"inputs = ( { plugin = \"cpu\"; ) );\n",
       NULL,
       {"main.conf:1: syntax error: \")\" where \"}\" is expected: the \"{\" of inputs[0] opened "
        "at line 1 is not closed"}},
      {"inputs = ( { plugin = \"cpu\"; }\n\noutputs = ( );\n",
       NULL,
       {"main.conf:3: syntax error: expected \",\" or \")\", not \"outputs\": the \"(\" of inputs "
        "opened at line 1 is not closed (is its \")\" missing?)"}},
      {"agent = { };\n}\n", NULL, {"main.conf:2: syntax error: \"}\" closes nothing"}},
      {"a = \"x\";\nb = \"never closed;\nc = 1;\n",
       NULL,
       {"main.conf:2: syntax error: the string that starts here has no closing double quote"}},
      /* libconfig silently ignores the rest of the file */
      {"agent = { };\n/* a comment\ninputs = ( );\n",
       NULL,
       {"main.conf:2: the /* comment that starts here has no closing */"}},
  };
  check_cases(cases, sizeof cases / sizeof *cases);
}
END_TEST

START_TEST(common_mistakes_get_hints) {
  static const error_case cases[] = {
      {"inputs = [ { plugin = \"cpu\"; } ];\n",
       NULL,
       {"main.conf:1: syntax error: an array [ ] holds only strings, numbers or booleans; a list "
        "of groups is written with parentheses: inputs = ( { ... }, { ... } );"}},
      {"\nagent = { hostname = 'web1'; };\n",
       NULL,
       {"main.conf:2: syntax error: single quotes are not libconfig syntax: write strings in "
        "double quotes"}},
      {"inputs = ( { plugin = \"cpu\"; } { plugin = \"exec\"; } );\n",
       NULL,
       {"main.conf:1: syntax error: \",\" missing before \"{\": elements of the \"(\" of inputs "
        "opened at line 1 are separated by commas"}},
      {"inputs = ( { plugin = \"cpu\"; },\n);\n",
       NULL,
       {"main.conf:2: syntax error: \",\" before \")\": libconfig allows no comma after the last "
        "element"}},
      {"inputs = ( plugin = \"cpu\"; );\n",
       NULL,
       {"main.conf:1: syntax error: a list ( ) holds values, not settings such as plugin = ...",
        "( { plugin = \"...\"; ... } )"}},
      {"outputs = { { plugin = \"csv\"; } };\n",
       NULL,
       {"main.conf:1: syntax error: a group { } holds settings (name = value;); a list of plugin "
        "blocks is written outputs = ( { plugin = \"...\"; }, { ... } );"}},
      {"agent { interval = \"1s\"; };\n",
       NULL,
       {"main.conf:1: syntax error: \"=\" missing after \"agent\": write agent = { ... };"}},
      {"inputs = ( { plugin = \"exec\"; data_format = json; } );\n",
       NULL,
       {"main.conf:1: syntax error: text values are written in double quotes: data_format = "
        "\"json\";"}},
      {"agent = { interval = $INTERVAL; };\n",
       NULL,
       {"main.conf:1: syntax error: \"$\" outside a string: environment variables are replaced "
        "inside strings only, as in \"${VAR}\""}},
      {"\"agent\" = { };\n",
       NULL,
       {"main.conf:1: syntax error: a setting name is written without quotes: name = value, not "
        "\"agent\" = value"}},
      {"agent = { interval = ; };\n",
       NULL,
       {"main.conf:1: syntax error: the value of \"interval\" is missing before \";\""}},
      {"tags = [\"a\", 1];\n",
       NULL,
       {"main.conf:1: syntax error: 1 is not of the type of the first element of the \"[\" of tags",
        "use a list ( ) for mixed values"}},
      {"agent = { };;\n", NULL, {"main.conf:1: syntax error: \";\" with no setting before it"}},
      /* libconfig's comment ends at a newline: none after the last one is
       * a syntax error there */
      {"agent = { };\n# the end",
       NULL,
       {"main.conf:2: syntax error: a comment on the last line must end with a newline"}},
      {"inputs = ( ); @include \"a.inc\"\n",
       "",
       {"main.conf:1: syntax error: @include must begin its own line"}},
  };
  check_cases(cases, sizeof cases / sizeof *cases);
}
END_TEST

START_TEST(libconfig_accepts_these) {
  /* `key: value`, a missing ";" between settings and adjacent strings are
   * libconfig syntax: no hint may refuse them */
  twi_conf *conf = NULL;
  char err[1024];
  conf = twi_conf_load_string("agent: { hostname: \"a\" \"b\" interval = \"1s\" }\n"
                              "global_tags = { dc = \"x\", rack = \"y\" }\n",
                              "ok.conf", NULL, err, sizeof err);
  ck_assert_msg(conf != NULL, "%s", err);
  const char *host = NULL;
  ck_assert(config_setting_lookup_string(config_setting_get_member(twi_conf_root(conf), "agent"),
                                         "hostname", &host));
  ck_assert_contains(host, "ab");
  ck_assert_uint_eq(strlen(host), 2);
  twi_conf_unref(conf);
}
END_TEST

START_TEST(duplicates_are_named) {
  static const error_case cases[] = {
      /* libconfig: "duplicate setting name", without the name */
      {"agent = { interval = \"1s\";\n  hostname = \"a\";\n  interval = \"2s\"; };\n",
       NULL,
       {"main.conf:3: syntax error: \"interval\" is set twice in the same group: first at "
        "line 1"}},
      {"inputs = ( { plugin = \"cpu\"; } );\n@include \"a.inc\"\n",
       "# more inputs\ninputs = ( { plugin = \"exec\"; } );\n",
       {"a.inc:2: syntax error: \"inputs\" is set twice at the top level: first at ",
        "/main.conf:1; an @include'd file is read in place",
        "@include a pattern (conf.d/*.conf) or use --config-directory"}},
  };
  check_cases(cases, sizeof cases / sizeof *cases);
}
END_TEST

START_TEST(telegraf_files_are_recognized) {
  static const error_case cases[] = {
      {"# Telegraf Configuration\n\n[global_tags]\n  dc = \"us-east-1\"\n\n[agent]\n"
       "  interval = \"10s\"\n\n[[inputs.cpu]]\n  percpu = true\n",
       NULL,
       {"main.conf:3: syntax error: this is a Telegraf configuration (TOML tables such as [agent] "
        "and [[inputs.cpu]]); tower reads libconfig syntax",
        "see tower.conf(5)"}},
      {"[[outputs.influxdb]]\n  urls = [\"http://127.0.0.1:8086\"]\n",
       NULL,
       {"main.conf:1: syntax error: this is a Telegraf configuration"}},
  };
  check_cases(cases, sizeof cases / sizeof *cases);
}
END_TEST

/* ---- plugin names --------------------------------------------------------- */

/* The diagnostics of building `text` (a complete configuration), which
 * must be refused. Plugins come from the build tree and the fixtures. */
static char *build_errors(const char *text) {
  char *errors = NULL;
  twi_pipeline *pl = th_build(text, TWI_ONCE, &errors);
  ck_assert_msg(pl == NULL, "accepted:\n%s", text);
  return errors;
}

START_TEST(unknown_plugins_get_what_to_write) {
  char *e = build_errors("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; },\n"
                         "  { plugin = \"liens\"; } );\n"
                         "processors = ( { plugin = \"record\"; } );\n"
                         "outputs = ( { plugin = \"lines\"; },\n"
                         "  { plugin = \"prometheus_client\"; },\n"
                         "  { plugin = \"influxdb_v2\"; },\n"
                         "  { plugin = \"zzzzzzzz\"; } );\n");
  /* a typo of an installed plugin of the kind */
  ck_assert_contains(e, "tower.conf:2: no input plugin \"liens\"; did you mean \"lines\"?");
  /* a plugin of another kind */
  ck_assert_contains(e, "tower.conf:3: no processor plugin \"record\"; record is an output "
                        "plugin: move its block into outputs = ( ... );");
  ck_assert_contains(e, "tower.conf:4: no output plugin \"lines\"; lines is an input plugin: "
                        "move its block into inputs = ( ... );");
  /* Telegraf's names */
  ck_assert_contains(e, "tower.conf:5: no output plugin \"prometheus_client\"; Telegraf's "
                        "prometheus_client output is tower's prometheus output: write plugin = "
                        "\"prometheus\";");
  ck_assert_contains(e, "tower.conf:6: no output plugin \"influxdb_v2\"; Telegraf's influxdb_v2 "
                        "output is tower's influxdb output with api = \"v2\"");
  /* nothing close: where it was looked for */
  ck_assert_contains(e, "tower.conf:7: no output plugin \"zzzzzzzz\": no outputs/zzzzzzzz.so in "
                        "the plugin path ");
  free(e);
}
END_TEST

/* A processor does not rename: name_override and tags in its block are an
 * error that names processors.override (they used to pass and do nothing). */
START_TEST(processor_renames_are_refused) {
  char *e = build_errors("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );\n"
                         "processors = ( { plugin = \"mark\"; name_override = \"x\";\n"
                         "  tags = { a = \"b\"; }; } );\n"
                         "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n");
  ck_assert_contains(e, "tower.conf:2: processors.mark: unknown option \"name_override\" (a "
                        "processor renames nothing and sets no tags: add a processors.override "
                        "block for that)");
  ck_assert_contains(e, "tower.conf:3: processors.mark: unknown option \"tags\" (a processor");
  free(e);
}
END_TEST

/* ---- one pass ------------------------------------------------------------ */

START_TEST(agent_errors_do_not_hide_plugin_errors) {
  char *e = build_errors("agent = { interval = \"fast\"; colour = \"red\"; };\n"
                         "global_tags = { dc = 1; };\n"
                         "inputs = ( { plugin = \"lines\"; lnes = [\"m v=1\"]; } );\n"
                         "outputs = ( { plugin = \"recrod\"; path = \"/dev/null\"; } );\n");
  ck_assert_contains(e, "tower.conf:1: agent: option \"interval\": \"fast\" is not a duration");
  ck_assert_contains(e, "tower.conf:1: agent: unknown option \"colour\"");
  ck_assert_contains(e, "tower.conf:2: global_tags.dc must be a non-empty string");
  ck_assert_contains(e, "tower.conf:3: inputs.lines: unknown option \"lnes\"; did you mean "
                        "\"lines\"?");
  ck_assert_contains(e, "tower.conf:4: no output plugin \"recrod\"; did you mean \"record\"?");
  free(e);
  /* the agent block's plugin_dir still counts when another agent option
   * is wrong: the plugins are looked for where it says */
  char *dir = th_tmpdir();
  char *text = th_fmt("agent = { plugin_dir = \"%s\"; interval = 5; };\n"
                      "inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );\n",
                      dir);
  e = NULL;
  twi_conf *conf = NULL;
  char err[1024];
  char *path = th_fmt("%s/t.conf", dir);
  ck_assert_int_eq(th_write_file(path, text), 0);
  conf = twi_conf_load(path, err, sizeof err);
  ck_assert_msg(conf != NULL, "%s", err);
  twi_diag d = {0};
  ck_assert_ptr_null(twi_pipeline_build(conf, NULL, TWI_TEST, &d));
  ck_assert_contains(d.text, "agent: option \"interval\" must be a duration string");
  ck_assert_contains(d.text, "no input plugin \"lines\": no inputs/lines.so in the plugin path ");
  ck_assert_contains(d.text, dir);
  twi_diag_free(&d);
  twi_conf_unref(conf);
  th_rmrf(dir);
  free(path);
  free(text);
  free(dir);
}
END_TEST

/* ---- data format options -------------------------------------------------- */

static const tower_option parser_plugin_opts[] = {
    {.name = "commands", .type = TOWER_OPT_STRINGS, .help = "what to run"},
    TOWER_OPTION_END,
};

/* Validates `block_text` (the members of a block) as a parsing plugin's
 * block, as the core does: the plugin's table, the data format table, the
 * common options. */
static tower_config *parser_block(const char *block_text, twi_diag *d, twi_conf **conf) {
  char *text = th_fmt("block = {\n%s\n};\n", block_text);
  char err[1024];
  *conf = twi_conf_load_string(text, "p.conf", NULL, err, sizeof err);
  ck_assert_msg(*conf != NULL, "%s", err);
  free(text);
  const tower_option *tables[] = {parser_plugin_opts, twi_parser_common_options(),
                                  twi_common_options, NULL};
  return twi_config_new_ruled(config_setting_get_member(twi_conf_root(*conf), "block"), tables,
                              "inputs.p", NULL, &twi_format_rules, d);
}

START_TEST(format_options_listed_and_checked) {
  twi_diag d = {0};
  twi_conf *conf;
  /* an unknown option lists the options of the chosen format */
  ck_assert_ptr_null(parser_block("data_format = \"json\";\njson_qery = \"a\";", &d, &conf));
  ck_assert_contains(d.text, "p.conf:3: inputs.p: unknown option \"json_qery\"; did you mean "
                             "\"json_query\"?; valid options: commands; data format options: "
                             "data_format and, for data_format \"json\", tag_keys, "
                             "json_string_fields, json_name_key, json_query, json_time_key");
  twi_diag_free(&d);
  twi_conf_unref(conf);
  /* the default format when none is chosen */
  ck_assert_ptr_null(parser_block("colour = 1;", &d, &conf));
  ck_assert_contains(d.text, "data format options: data_format and, for data_format \"influx\", "
                             "influx_timestamp_precision; and the common options");
  twi_diag_free(&d);
  twi_conf_unref(conf);
  /* an option of another format: accepted, with a warning that says whose
   * option it is */
  tower_config *c = parser_block("commands = \"x\";\njson_query = \"data\";\n"
                                 "prometheus_ignore_timestamp = true;",
                                 &d, &conf);
  ck_assert_ptr_nonnull(c);
  ck_assert_uint_eq(d.errors, 0);
  ck_assert_uint_eq(d.warnings, 2);
  ck_assert_contains(d.text, "p.conf:3: warning: inputs.p: option \"json_query\" has no effect "
                             "with data_format = \"influx\" (it is an option of data_format "
                             "\"json\")");
  ck_assert_contains(d.text, "p.conf:4: warning: inputs.p: option \"prometheus_ignore_timestamp\" "
                             "has no effect with data_format = \"influx\"");
  twi_config_free(c);
  twi_diag_free(&d);
  twi_conf_unref(conf);
  /* the options of the chosen format: no warning */
  c = parser_block("data_format = \"json\"; json_query = \"data\"; tag_keys = [\"a\"];", &d, &conf);
  ck_assert_ptr_nonnull(c);
  ck_assert_msg(d.warnings == 0 && d.errors == 0, "%s", d.text);
  twi_config_free(c);
  twi_diag_free(&d);
  twi_conf_unref(conf);
}
END_TEST

START_TEST(format_options_in_sample_config) {
  twi_plugin p = {.path = "x.so", .options = (tower_option *)parser_plugin_opts};
  p.desc.kind = TOWER_INPUT;
  p.desc.flags = TOWER_PLUGIN_PARSER;
  p.desc.name = "p";
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  ck_assert_ptr_nonnull(f);
  twi_sample_plugin(f, &p, true);
  fclose(f);
  ck_assert_contains(out, "# data_format = \"influx\";");
  ck_assert_contains(out, "# With data_format = \"json\" (see tower.conf(5), DATA FORMATS):");
  ck_assert_contains(out, "# json_query = \"\";");
  ck_assert_contains(out, "# json_strict = true;");
  ck_assert_contains(out, "# With data_format = \"value\"");
  ck_assert_msg(!strstr(out, "csv_header"), "a serializer option in a parser's sample:\n%s", out);
  free(out);
}
END_TEST

/* tower.conf(5) documents every option of every format. */
START_TEST(format_options_documented) {
  const char *top = getenv("top_srcdir");
  ck_assert_msg(top != NULL, "top_srcdir is not set (run through make check)");
  char *path = th_fmt("%s/man/tower.conf.5", top);
  char *man = th_read_file(path);
  ck_assert_msg(man != NULL, "cannot read %s", path);
  for (size_t i = 0; twi_format_at(i); i++)
    for (int side = 0; side < 2; side++) {
      const twi_format *fmt = twi_format_at(i);
      const tower_option *o = side ? fmt->serializer_options : fmt->parser_options;
      for (; o && o->name; o++) {
        char *b = th_fmt("\n.B %s\n", o->name), *br = th_fmt("\n.BR %s ", o->name);
        ck_assert_msg(strstr(man, b) || strstr(man, br), "%s does not document %s (%s)", path,
                      o->name, fmt->name);
        free(b);
        free(br);
      }
    }
  free(man);
  free(path);
}
END_TEST

/* ---- the same verdict as libconfig ---------------------------------------- */

/* Mutations of a valid configuration: 1 to 3 characters replaced or
 * deleted, from a fixed seed. */
#define MUTATIONS 4000

static const char base_text[] =
    "agent = { interval = \"10s\"; hostname = \"h\"; metric_batch_size = 5000000000; };\n"
    "global_tags = { dc = \"seoul\"; rack: \"r1\" }\n"
    "inputs = ( { plugin = \"exec\"; commands = ([\"/bin/true\", \"-x\"]);\n"
    "  data_format = \"json\"; tag_keys = [\"a*\", \"b\"]; },\n"
    "  { plugin = \"cpu\"; percpu = true; ratio = 1.5e3; mask = 0xFFL; list = (1, \"a\"); } );\n"
    "/* c */ outputs = ( { plugin = \"csv\"; directory = \"/tmp\" \"/x\"; } ); // end\n"
    "processors = ();\n";

static char *mutate(unsigned *seed, int i) {
  static const char alphabet[] = "{}[]()=:;,\"'$@#/*\n xL0.-";
  char *text = strdup(base_text);
  size_t len = strlen(text);
  for (int k = 0; k < 1 + i % 3 && len > 1; k++) {
    *seed = *seed * 1103515245u + 12345u;
    size_t at = (*seed >> 8) % len;
    *seed = *seed * 1103515245u + 12345u;
    if (*seed & 0x10000) {
      text[at] = alphabet[(*seed >> 8) % (sizeof alphabet - 1)];
    } else {
      memmove(text + at, text + at + 1, len - at);
      len--;
    }
  }
  return text;
}

/* The child's side: libconfig's verdict on each NUL-terminated text of
 * stdin, one line each ("ok" or "error"). A process of its own because
 * libconfig 1.5 leaks when it refuses a text, which the sanitizer and
 * valgrind runs of this program must not see. */
static int libconfig_verdicts(void) {
  static char buf[sizeof base_text + 16];
  size_t n = 0;
  int c;
  while ((c = getchar()) != EOF) {
    if (n + 1 < sizeof buf)
      buf[n++] = (char)c;
    if (c)
      continue;
    config_t cfg;
    config_init(&cfg);
    puts(config_read_string(&cfg, buf) ? "ok" : "error");
    config_destroy(&cfg);
    n = 0;
  }
  fflush(stdout);
  _exit(0);
}

/* libconfig's verdicts on `texts`, from this program run again. */
static bool *run_libconfig(char **texts, size_t n) {
  char *dir = th_tmpdir(), *in = th_fmt("%s/in", dir), *out = th_fmt("%s/out", dir);
  FILE *f = fopen(in, "w");
  ck_assert_ptr_nonnull(f);
  for (size_t i = 0; i < n; i++)
    fwrite(texts[i], 1, strlen(texts[i]) + 1, f);
  ck_assert_int_eq(fclose(f), 0);
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  ck_assert_int_gt(len, 0);
  self[len] = '\0';
  const char *asan = getenv("ASAN_OPTIONS");
  char *opts = th_fmt("%s%sdetect_leaks=0", asan ? asan : "", asan ? ":" : "");
  char *cmd = th_fmt("ASAN_OPTIONS='%s' '%s' --libconfig < '%s' > '%s'", opts, self, in, out);
  ck_assert_int_eq(system(cmd), 0);
  char *verdicts = th_read_file(out);
  ck_assert_ptr_nonnull(verdicts);
  bool *refused = calloc(n, sizeof *refused);
  char *p = verdicts;
  for (size_t i = 0; i < n; i++) {
    ck_assert_msg(*p, "libconfig gave %zu verdicts for %zu texts", i, n);
    refused[i] = strncmp(p, "error", 5) == 0;
    p = strchr(p, '\n') + 1;
  }
  th_rmrf(dir);
  free(verdicts);
  free(cmd);
  free(opts);
  free(out);
  free(in);
  free(dir);
  return refused;
}

/* Every mutation of a valid configuration: the scan refuses a text on its
 * own (without libconfig, which leaks) only when libconfig refuses it too,
 * and explains nearly every text libconfig refuses. Never a crash (the ASan
 * and valgrind runs watch), never a message without the file's name. */
START_TEST(same_verdict_as_libconfig) {
  char *texts[MUTATIONS];
  unsigned seed = 42;
  for (int i = 0; i < MUTATIONS; i++)
    texts[i] = mutate(&seed, i);
  bool *refused = run_libconfig(texts, MUTATIONS);
  unsigned libconfig_errors = 0, explained = 0;
  char unexplained[4096] = "";
  for (int i = 0; i < MUTATIONS; i++) {
    char err[2048] = "";
    twi_conf *conf = twi_conf_load_string(texts[i], "m.conf", NULL, err, sizeof err);
    bool ours = !conf && strstr(err, ": syntax error: ");
    ck_assert_msg(!ours || refused[i], "refused what libconfig accepts: %s\n--- text ---\n%s", err,
                  texts[i]);
    ck_assert_msg(conf || strncmp(err, "m.conf", 6) == 0, "no place in \"%s\" for:\n%s", err,
                  texts[i]);
    ck_assert_msg(!conf || !refused[i], "loaded what libconfig refuses:\n%s", texts[i]);
    libconfig_errors += refused[i];
    explained += ours;
    if (refused[i] && !ours && !*unexplained)
      snprintf(unexplained, sizeof unexplained, "%s\n--- text ---\n%s", err, texts[i]);
    twi_conf_unref(conf);
    free(texts[i]);
  }
  free(refused);
  /* the rest would reach libconfig's bare "syntax error" (and its leak) */
  ck_assert_msg(libconfig_errors > MUTATIONS / 4, "only %u refusals", libconfig_errors);
  ck_assert_msg(explained == libconfig_errors, "%u of %u refusals explained; the first not:\n%s",
                explained, libconfig_errors, unexplained);
}
END_TEST

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--libconfig") == 0)
    return libconfig_verdicts();
  Suite *s = suite_create("config_errors");
  TCase *t = tcase_create("config_errors");
  tcase_add_test(t, unclosed_brackets_point_where_they_open);
  tcase_add_test(t, common_mistakes_get_hints);
  tcase_add_test(t, libconfig_accepts_these);
  tcase_add_test(t, duplicates_are_named);
  tcase_add_test(t, telegraf_files_are_recognized);
  tcase_add_test(t, unknown_plugins_get_what_to_write);
  tcase_add_test(t, processor_renames_are_refused);
  tcase_add_test(t, agent_errors_do_not_hide_plugin_errors);
  tcase_add_test(t, format_options_listed_and_checked);
  tcase_add_test(t, format_options_in_sample_config);
  tcase_add_test(t, format_options_documented);
  tcase_add_test(t, same_verdict_as_libconfig);
  suite_add_tcase(s, t);
  return check_run(s);
}
