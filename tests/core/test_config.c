/* Configuration: units, environment substitution, @include, and validation
 * messages that name file, line, plugin and what would be right. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <tower/tower.h>

#include "conf.h"
#include "harness.h"
#include "options.h"
#include "check_run.h"

static const char *or_empty(const char *s) {
  return s ? s : "";
}

#define ck_assert_contains(hay, needle)                                                            \
  ck_assert_msg(strstr(or_empty(hay), (needle)) != NULL, "expected \"%s\" in:\n%s", (needle),      \
                or_empty(hay))

static const char *OUT = "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n";

/* The diagnostics for the config `text`, which must be refused. */
static char *rejected(const char *text) {
  char *errors = NULL;
  twi_pipeline *pl = th_build(text, TWI_ONCE, &errors);
  ck_assert_msg(pl == NULL, "config accepted although invalid:\n%s", text);
  return errors;
}

/* The diagnostics for a config made of `inputs` + a valid output. */
static char *errors_of(const char *body) {
  char *text = th_fmt("%s\n%s", body, OUT);
  char *errors = rejected(text);
  free(text);
  return errors;
}

START_TEST(durations) {
  struct {
    const char *text;
    int64_t ns;
  } ok[] = {{"0", 0},
            {"10s", 10000000000LL},
            {"500ms", 500000000LL},
            {"1h30m", 5400000000000LL},
            {"1.5s", 1500000000LL},
            {"250us", 250000LL},
            {"100ns", 100},
            {"2d", 172800000000000LL}};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    int64_t ns = -1;
    ck_assert_msg(tower_parse_duration(ok[i].text, &ns) == 0, "%s rejected", ok[i].text);
    ck_assert_int_eq(ns, ok[i].ns);
  }
  const char *bad[] = {"", "10", "s", "10 s", "-1s", "1x", "1e3s", "0x10s", "10s5"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int64_t ns;
    ck_assert_msg(tower_parse_duration(bad[i], &ns) == -EINVAL, "\"%s\" accepted", bad[i]);
  }
  /* the largest duration int64 holds, and beyond it a range error, not a
   * wrapped value */
  int64_t ns = 0;
  ck_assert_int_eq(tower_parse_duration("2562047h47m16s", &ns), 0);
  ck_assert_int_eq(ns, 9223372036000000000LL);
  const char *huge[] = {"2562048h", "300000000000h", "106752d",
                        "99999999999999999999999999999999999999999999999999s"};
  for (size_t i = 0; i < sizeof huge / sizeof *huge; i++)
    ck_assert_msg(tower_parse_duration(huge[i], &ns) == -ERANGE, "\"%s\" not a range error",
                  huge[i]);
}
END_TEST

START_TEST(sizes) {
  struct {
    const char *text;
    uint64_t bytes;
  } ok[] = {{"512", 512},           {"64kB", 64000}, {"16MiB", 16777216},
            {"1GB", 1000000000ULL}, {"2Ki", 2048},   {"3KiB", 3072},
            {"1.5MiB", 1572864},    {"10B", 10},     {"1TiB", 1099511627776ULL}};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    uint64_t b = 0;
    ck_assert_msg(tower_parse_size(ok[i].text, &b) == 0, "%s rejected", ok[i].text);
    ck_assert_uint_eq(b, ok[i].bytes);
  }
  const char *bad[] = {"", "MiB", "1 MiB", "-1", "1XB", "1MiBB"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    uint64_t b;
    ck_assert_msg(tower_parse_size(bad[i], &b) == -EINVAL, "\"%s\" accepted", bad[i]);
  }
  /* 0 is a size; a fraction of a byte and 2^64 bytes and more are not */
  uint64_t b = 1;
  ck_assert_int_eq(tower_parse_size("0B", &b), 0);
  ck_assert_uint_eq(b, 0);
  ck_assert_int_eq(tower_parse_size("10000000TB", &b), 0); /* beyond 2^63: exact */
  ck_assert_uint_eq(b, 10000000000000000000ULL);
  const char *range[] = {"0.4B", "0.5", "0.0001KiB", "99999999TB", "18446744073709551616"};
  for (size_t i = 0; i < sizeof range / sizeof *range; i++)
    ck_assert_msg(tower_parse_size(range[i], &b) == -ERANGE, "\"%s\" not a range error", range[i]);
}
END_TEST

START_TEST(env_substitution) {
  setenv("TW_A", "alpha", 1);
  setenv("TW_EMPTY", "", 1);
  unsetenv("TW_UNSET");
  struct {
    const char *in, *out;
  } cases[] = {
      {"${TW_A}", "alpha"},
      {"x-${TW_A}-y", "x-alpha-y"},
      {"${TW_UNSET:-dflt}", "dflt"},
      {"${TW_EMPTY:-dflt}", "dflt"},
      {"${TW_EMPTY-dflt}", ""},
      {"${TW_UNSET-dflt}", "dflt"},
      {"$${TW_A}", "${TW_A}"},
      {"no vars $ here", "no vars $ here"},
      {"${TW_A}${TW_A}", "alphaalpha"},
      /* Telegraf's forms: $VAR without braces, $$ for a literal $ */
      {"$TW_A", "alpha"},
      {"x-$TW_A-y", "x-alpha-y"},
      {"$TW_A.$TW_A", "alpha.alpha"},
      {"pa$$word", "pa$word"},
      {"$$TW_A", "$TW_A"},
      {"$${TW_A}", "${TW_A}"},
      /* a shell's $$ (its process id) stays */
      {"kill -9 $$; echo $$ $!", "kill -9 $$; echo $$ $!"},
      {"$$$TW_A", "$$alpha"},
      {"${TW_A:?needed}", "alpha"},
      {"${TW_EMPTY?needed}", ""},
      /* a $ before anything but a name, "{" or "$" stays */
      {"^cpu$", "^cpu$"},
      {"$1 and 100$ and $-x and $.a", "$1 and 100$ and $-x and $.a"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char err[256] = "";
    char *got = twi_env_subst(cases[i].in, err, sizeof err);
    ck_assert_msg(got != NULL, "%s: %s", cases[i].in, err);
    ck_assert_str_eq(got, cases[i].out);
    free(got);
  }
  char err[256];
  ck_assert_ptr_null(twi_env_subst("${TW_UNSET}", err, sizeof err));
  ck_assert_contains(err, "environment variable TW_UNSET is not set");
  ck_assert_contains(err, "${TW_UNSET:-value}");
  ck_assert_ptr_null(twi_env_subst("${TW_A", err, sizeof err));
  ck_assert_contains(err, "without a closing");
  /* never kept as written in silence: an unset $VAR is an error that says
   * how to write a literal $ */
  ck_assert_ptr_null(twi_env_subst("pa$TW_UNSET", err, sizeof err));
  ck_assert_contains(err, "environment variable TW_UNSET is not set; set it, give a default with "
                          "${TW_UNSET:-value}, or write $$ for a literal $");
  ck_assert_ptr_null(twi_env_subst("${TW_UNSET:?the password of the database}", err, sizeof err));
  ck_assert_contains(err, "environment variable TW_UNSET is not set: the password of the database");
  ck_assert_ptr_null(twi_env_subst("${TW_EMPTY:?empty is not enough}", err, sizeof err));
  ck_assert_contains(err, "TW_EMPTY is not set: empty is not enough");
  ck_assert_ptr_null(twi_env_subst("${1}", err, sizeof err));
  ck_assert_contains(err, "bad variable reference \"${1}\"");
}
END_TEST

START_TEST(env_in_config_and_unset_reported) {
  setenv("TW_LINE", "m v=7i", 1);
  twi_pipeline *pl = th_start("inputs = ( { plugin = \"lines\"; lines = [\"${TW_LINE}\"]; } );\n"
                              "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
                              TWI_ONCE);
  ck_assert_str_eq(tower_config_strings_at(pl->inputs[0]->cfg, "lines", 0), "m v=7i");
  th_free(pl);
  unsetenv("TW_NOPE");
  char *e = NULL;
  pl = th_build("\n\ninputs = ( { plugin = \"lines\"; lines = [\"${TW_NOPE}\"]; } );\n", TWI_ONCE,
                &e);
  ck_assert_ptr_null(pl);
  ck_assert_contains(e, "tower.conf:3: environment variable TW_NOPE is not set");
  free(e);
  /* $VAR (Telegraf's form) in a real block, and $$ */
  setenv("TW_NAME", "disk", 1);
  pl = th_start("inputs = ( { plugin = \"lines\"; lines = [\"$TW_NAME v=1i\"];\n"
                "  alias = \"a$$b\"; } );\n"
                "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
                TWI_ONCE);
  ck_assert_str_eq(tower_config_strings_at(pl->inputs[0]->cfg, "lines", 0), "disk v=1i");
  ck_assert_str_eq(tower_config_string(pl->inputs[0]->cfg, "alias"), "a$b");
  th_free(pl);
  pl = th_build("\ninputs = ( { plugin = \"lines\"; lines = [\"m v=1\"];\n"
                "  secret = \"pa$word\"; } );\n",
                TWI_ONCE, &e);
  ck_assert_ptr_null(pl);
  /* a secret's piece ("word") is not printed */
  ck_assert_contains(e, "tower.conf:3: a variable of the value is not set in the environment (not "
                        "shown: the value may be a secret); set it, give a default with "
                        "${NAME:-value}, or write $$ for a literal $");
  ck_assert_msg(!strstr(e, "word"), "a piece of the secret was printed: %s", e);
  free(e);
  pl = th_build("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"];\n"
                "  tags = { authorization = \"Bearer 0x${Secret\"; }; } );\n",
                TWI_ONCE, &e);
  ck_assert_ptr_null(pl);
  ck_assert_contains(e, "tower.conf:2: \"${\" without a closing \"}\" (not shown: the value may be "
                        "a secret)");
  ck_assert_msg(!strstr(e, "Bearer"), "the secret was printed: %s", e);
  free(e);
}
END_TEST

START_TEST(unknown_option_suggests) {
  char *e = errors_of("inputs = (\n  { plugin = \"lines\";\n    lnes = [\"m v=1\"]; } );");
  ck_assert_contains(e, "tower.conf:3: inputs.lines: unknown option \"lnes\"");
  ck_assert_contains(e, "did you mean \"lines\"?");
  ck_assert_contains(e, "valid options: lines, sleep, fail, init_fail, secret");
  /* the required option is missing too: every problem in one pass */
  ck_assert_contains(e, "tower.conf:2: inputs.lines: option \"lines\" is required");
  free(e);
}
END_TEST

START_TEST(telegraf_names_are_translated) {
  char *e =
      errors_of("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; fieldpass = [\"v\"]; } );");
  ck_assert_contains(e, "unknown option \"fieldpass\"; did you mean \"fieldinclude\"?");
  free(e);
}
END_TEST

START_TEST(wrong_types) {
  char *e = errors_of("inputs = ( { plugin = \"lines\";\n lines = [\"m v=1\"];\n"
                      " fail = \"yes\";\n sleep = 5;\n interval = \"fast\";\n"
                      " tags = { a = 1; };\n namepass = [1, 2]; } );");
  ck_assert_contains(e, ":3: inputs.lines: option \"fail\" must be true or false, not a string");
  ck_assert_contains(e, ":4: inputs.lines: option \"sleep\" must be a duration string with a unit, "
                        "e.g. \"5s\"");
  ck_assert_contains(e, ":5: inputs.lines: option \"interval\": \"fast\" is not a duration");
  ck_assert_contains(e, ":6: inputs.lines: tags.a must be a string, not an integer");
  ck_assert_contains(e, ":7: inputs.lines: option \"namepass\" must be a string or an array");
  free(e);
}
END_TEST

START_TEST(ranges_and_choices) {
  char *e =
      errors_of("agent = { metric_batch_size = 0; log_level = \"loud\"; interval = \"1ns\"; };\n"
                "inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );");
  ck_assert_contains(e, "agent: option \"metric_batch_size\": 0 is too small (below the minimum "
                        "1)");
  ck_assert_contains(e, "agent: option \"log_level\": \"loud\" is not one of "
                        "error|warn|info|debug|trace");
  ck_assert_contains(e, "agent: option \"interval\": 1ns is too small (below the minimum 1ms)");
  free(e);
}
END_TEST

START_TEST(secret_values_never_printed) {
  /* a secret option given a value of the wrong type: the message must not
   * carry the value */
  char *e =
      errors_of("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; secret = 12345678; } );");
  ck_assert_contains(e, "option \"secret\" must be");
  ck_assert_msg(strstr(e, "12345678") == NULL, "secret value leaked: %s", e);
  free(e);
}
END_TEST

START_TEST(top_level_and_structure) {
  char *e = errors_of("input = ( );\ninputs = { plugin = \"lines\"; };");
  ck_assert_contains(e, "tower.conf:1: unknown top-level setting \"input\"");
  ck_assert_contains(e, "tower.conf:2: inputs must be a list");
  free(e);
  e = errors_of("inputs = ( { lines = [\"m v=1\"]; } );");
  ck_assert_contains(e, "inputs[0] has no plugin = \"name\"; setting");
  free(e);
  e = NULL;
  ck_assert_ptr_null(th_build("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } )\n"
                              "outputs = (",
                              TWI_ONCE, &e));
  ck_assert_contains(e, "tower.conf:2: syntax error");
  free(e);
  e = NULL;
  ck_assert_ptr_null(
      th_build("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );\n", TWI_ONCE, &e));
  ck_assert_contains(e, "no outputs configured");
  free(e);
}
END_TEST

START_TEST(include_relative_to_file) {
  char *dir = th_tmpdir();
  char *inc = th_fmt("%s/inputs.inc", dir), *main_path = th_fmt("%s/main.conf", dir);
  ck_assert_int_eq(
      th_write_file(inc, "inputs = ( { plugin = \"lines\"; lines = [\"inc v=1i\"]; } );\n"), 0);
  ck_assert_int_eq(th_write_file(main_path,
                                 "@include \"inputs.inc\"\n"
                                 "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n"),
                   0);
  char err[1024];
  /* load from another working directory: @include must follow the file */
  ck_assert_int_eq(chdir("/"), 0);
  twi_conf *conf = twi_conf_load(main_path, err, sizeof err);
  ck_assert_msg(conf != NULL, "%s", err);
  twi_diag d = {0};
  twi_pipeline *pl = twi_pipeline_build(conf, getenv("TOWER_PLUGIN_DIR"), TWI_ONCE, &d);
  ck_assert_msg(pl != NULL, "%s", d.text);
  ck_assert_uint_eq(pl->ninputs, 1);
  twi_pipeline_free(pl);
  twi_conf_unref(conf);
  /* an error inside the included file names that file */
  ck_assert_int_eq(
      th_write_file(inc, "inputs = ( { plugin = \"lines\"; lines = [\"x\"]; colour = 1; } );\n"),
      0);
  conf = twi_conf_load(main_path, err, sizeof err);
  ck_assert_ptr_nonnull(conf);
  pl = twi_pipeline_build(conf, getenv("TOWER_PLUGIN_DIR"), TWI_ONCE, &d);
  ck_assert_ptr_null(pl);
  ck_assert_contains(d.text, "inputs.inc:1: inputs.lines: unknown option \"colour\"");
  twi_diag_free(&d);
  twi_conf_unref(conf);
  th_rmrf(dir);
  free(inc);
  free(main_path);
  free(dir);
}
END_TEST

START_TEST(defaults_and_agent_inheritance) {
  twi_pipeline *pl = th_start(
      "agent = { interval = \"7s\"; flush_interval = \"3s\"; metric_batch_size = 9; "
      "hostname = \"hh\"; };\n"
      "global_tags = { dc = \"seoul\"; };\n"
      "inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; },\n"
      "           { plugin = \"lines\"; lines = [\"m v=1\"]; interval = \"1m\"; alias = \"slow\"; "
      "} );\n"
      "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; metric_buffer_limit = 5; } );\n",
      TWI_ONCE);
  ck_assert_int_eq(pl->inputs[0]->interval, 7000000000LL);
  ck_assert_int_eq(pl->inputs[1]->interval, 60000000000LL);
  ck_assert_int_eq(pl->inputs[0]->precision, 1000000000LL); /* auto: 1s */
  ck_assert_str_eq(pl->inputs[1]->id, "inputs.lines:slow");
  ck_assert_int_eq(pl->outputs[0]->flush_interval, 3000000000LL);
  ck_assert_int_eq(pl->outputs[0]->batch_size, 9);
  ck_assert_int_eq(pl->outputs[0]->buffer_limit, 5);
  ck_assert_str_eq(pl->set.hostname, "hh");
  ck_assert_uint_eq(pl->set.nglobal, 1);
  /* plugin defaults through the accessors */
  ck_assert(!tower_config_bool(pl->inputs[0]->cfg, "fail"));
  ck_assert_int_eq(tower_config_duration(pl->inputs[0]->cfg, "sleep"), 0);
  th_free(pl);
}
END_TEST

/* ---- numbers: the value written, or an error that says what is wrong ---- */

/* An output block of the record fixture with `opts` added. */
static char *record_with(const char *opts) {
  return th_fmt("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );\n"
                "outputs = ( { plugin = \"record\"; path = \"/dev/null\";\n%s } );\n",
                opts);
}

START_TEST(integers_keep_their_value) {
  /* libconfig keeps integers without an L suffix in 32 bits: 4294967296
   * would read as 0, 0xFFFFFFFF as -1. The loader restores them. Numbers in
   * comments, strings and names come first, so that a scanner that took
   * them for integers would misplace the values and fail. */
  static const struct {
    const char *text;
    int64_t want;
  } cases[] = {
      {"reject = 4294967296;", 4294967296LL},
      {"reject = 0xFFFFFFFF;", 4294967295LL},
      {"reject = 5000000000L;", 5000000000LL},
      {"reject = 0x7FFFFFFFFFFFFFFFL;", INT64_MAX},
      {"reject = 9223372036854775807;", INT64_MAX},
      {"reject = 000000000000000000000000000042;", 42},
      {"# 4294967297\n // 17179869184\n /* 8589934592\n 3 */ tags = { t1 = \"99999999999 "
       "@include\"; };\n reject = 2147483648;",
       2147483648LL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *text = record_with(cases[i].text);
    twi_pipeline *pl = th_start(text, TWI_ONCE);
    ck_assert_msg(tower_config_int(pl->outputs[0]->cfg, "reject") == cases[i].want, "%s: read %lld",
                  cases[i].text, (long long)tower_config_int(pl->outputs[0]->cfg, "reject"));
    th_free(pl);
    free(text);
  }
  /* the agent's own integers too */
  twi_pipeline *pl = th_start("agent = { metric_buffer_limit = 6000000000; };\n"
                              "inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );\n"
                              "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
                              TWI_ONCE);
  ck_assert_int_eq(pl->outputs[0]->buffer_limit, 6000000000LL);
  th_free(pl);
}
END_TEST

START_TEST(numbers_out_of_range) {
  /* each message names file:line, the option and the value as written */
  static const struct {
    const char *text, *want;
  } cases[] = {
      /* was "-1 is below the minimum 1": libconfig had wrapped the value */
      {"agent = { metric_batch_size = 99999999999999999999; };",
       "tower.conf:1: agent.metric_batch_size: 99999999999999999999 is too large (above the "
       "maximum 9223372036854775807, the largest 64-bit integer)"},
      {"agent = { metric_batch_size = -99999999999999999999; };",
       "tower.conf:1: agent.metric_batch_size: -99999999999999999999 is too small (below the "
       "minimum -9223372036854775808, the smallest 64-bit integer)"},
      {"agent = { metric_batch_size = 0xFFFFFFFFFFFFFFFFL; };",
       "agent.metric_batch_size: 0xFFFFFFFFFFFFFFFFL is too large"},
      {"global_tags = { a = \"x\"; };\nagent = {\n  metric_buffer_limit = 9223372036854775808; };",
       "tower.conf:3: agent.metric_buffer_limit: 9223372036854775808 is too large"},
      /* was accepted as 0 (4294967296 wrapped) */
      {"agent = { metric_batch_size = 4294967296; metric_buffer_limit = -2147483649; };",
       "tower.conf:1: agent: option \"metric_buffer_limit\": -2147483649 is too small (below the "
       "minimum 1)"},
      {"agent = { interval = \"300000000000h\"; };",
       "tower.conf:1: agent: option \"interval\": 300000000000h is too large (above the maximum "
       "2562047h47m16.854775807s, about 292 years)"},
      {"agent = { flush_interval = \"106752d\"; };",
       "agent: option \"flush_interval\": 106752d is too large"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *text =
        th_fmt("%s\ninputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );", cases[i].text);
    char *e = errors_of(text);
    free(text);
    ck_assert_msg(strstr(or_empty(e), cases[i].want), "case %zu: want \"%s\" in:\n%s", i,
                  cases[i].want, or_empty(e));
    free(e);
  }
  /* an option with its own bounds: from the real value, in both directions */
  char *text = record_with("fail_writes = -4294967296;\n reject = -1;");
  char *e = rejected(text);
  ck_assert_contains(e, "tower.conf:3: outputs.record: option \"fail_writes\": -4294967296 is too "
                        "small (below the minimum -1)");
  ck_assert_contains(e, "tower.conf:4: outputs.record: option \"reject\": -1 is too small (below "
                        "the minimum 0)");
  free(e);
  free(text);
}
END_TEST

/* Size options of the three kinds a table can declare: no minimum (a size
 * is then at least one byte), min = "0", and a default of "0" that gives 0
 * a meaning ("0: never"). */
static const tower_option size_opts[] = {
    {.name = "buf", .type = TOWER_OPT_SIZE, .default_value = "4MiB"},
    {.name = "limit", .type = TOWER_OPT_SIZE, .default_value = "1MB", .min = "0", .max = "1GiB"},
    {.name = "rotate", .type = TOWER_OPT_SIZE, .default_value = "0", .help = "0: never"},
    TOWER_OPTION_END,
};

START_TEST(sizes_below_one_byte) {
  static const struct {
    const char *opt, *value, *want; /* want NULL: accepted */
  } cases[] = {
      {"buf", "0B", "0B is too small (below the minimum 1B)"},
      {"buf", "0", "0 is too small (below the minimum 1B)"},
      {"buf", "0.4B", "0.4B is too small (below the minimum 1B)"},
      {"buf", "-1KiB", "-1KiB is too small (below the minimum 1B)"},
      {"buf", "1B", NULL},
      {"buf", "20000000TB", "20000000TB is too large (above the maximum 18446744073709551615B)"},
      {"limit", "0", NULL},
      {"limit", "0.4B", "0.4B is a fraction of a byte: write 0 or at least 1B"},
      {"limit", "-5", "-5 is too small (below the minimum 0)"},
      {"limit", "2GiB", "2GiB is too large (above the maximum 1GiB)"},
      {"rotate", "0B", NULL},
      {"rotate", "0.4B", "0.4B is a fraction of a byte"},
  };
  char err[256];
  ck_assert_int_eq(twi_options_check(size_opts, NULL, err, sizeof err), 0);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const tower_option *o = twi_option_find(size_opts, cases[i].opt);
    err[0] = '\0';
    int rc = twi_option_check_text(o, cases[i].value, err, sizeof err);
    if (!cases[i].want) {
      ck_assert_msg(rc == 0, "%s = %s refused: %s", cases[i].opt, cases[i].value, err);
      continue;
    }
    ck_assert_msg(rc == -ERANGE, "%s = %s: rc %d", cases[i].opt, cases[i].value, rc);
    ck_assert_msg(strstr(err, cases[i].want), "%s = %s: want \"%s\", got \"%s\"", cases[i].opt,
                  cases[i].value, cases[i].want, err);
  }
  /* a table whose default is below one byte is refused when loaded */
  static const tower_option bad_default[] = {
      {.name = "buf", .type = TOWER_OPT_SIZE, .default_value = "0.5B"}, TOWER_OPTION_END};
  ck_assert_int_ne(twi_options_check(bad_default, NULL, err, sizeof err), 0);
  ck_assert_contains(err, "option \"buf\": default 0.5B is too small");
  /* and through a real plugin block: outputs.csv documents 0 as "never" */
  char *e = rejected("outputs = ( { plugin = \"csv\"; directory = \"/tmp\";\n"
                     "  rotate_max_size = \"0.4B\"; },\n"
                     "  { plugin = \"csv\"; directory = \"/tmp\"; rotate_max_size = -5; } );\n"
                     "inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );");
  ck_assert_contains(e, "tower.conf:2: outputs.csv: option \"rotate_max_size\": 0.4B is a "
                        "fraction of a byte");
  ck_assert_contains(e, "tower.conf:3: outputs.csv: option \"rotate_max_size\": -5 is too small "
                        "(below the minimum 0)");
  free(e);
}
END_TEST

/* ---- the text itself: NUL bytes ------------------------------------------ */

START_TEST(nul_bytes_refused) {
  char *e = NULL;
  ck_assert_ptr_null(th_build("outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n"
                              "inputs = ( { plugin = \"lines\";\n"
                              "  lines = [\"m v=1\", \"m\\x00 v=2\"]; } );\n",
                              TWI_ONCE, &e));
  ck_assert_contains(e, "tower.conf:3: \"\\x00\" in a string: strings cannot hold a NUL byte");
  free(e);
  /* "\\x00" is a backslash and "x00"; \x00 in a comment is a comment */
  twi_pipeline *pl = th_start("# \\x00\n"
                              "inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; "
                              "alias = \"a\\\\x00\"; } );\n"
                              "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
                              TWI_ONCE);
  ck_assert_str_eq(tower_config_string(pl->inputs[0]->cfg, "alias"), "a\\x00");
  th_free(pl);
  /* a raw NUL byte in the file */
  char *dir = th_tmpdir(), *path = th_fmt("%s/nul.conf", dir);
  static const char raw[] = "agent = { hostname = \"a\";\n omit_hostname = false; };\n"
                            "global_tags = { t = \"x\0y\"; };\n";
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(raw, 1, sizeof raw - 1, f), sizeof raw - 1);
  ck_assert_int_eq(fclose(f), 0);
  char err[1024];
  ck_assert_ptr_null(twi_conf_load(path, err, sizeof err));
  ck_assert_contains(err, "nul.conf:3: the file holds a NUL byte");
  th_rmrf(dir);
  free(path);
  free(dir);
}
END_TEST

/* ---- what may be read: regular files of a sane size ---------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Loads `main_text` as main.conf of `dir`; the error, which must come. */
static char *load_error(const char *dir, const char *main_text) {
  char *path = th_fmt("%s/main.conf", dir);
  ck_assert_int_eq(th_write_file(path, main_text), 0);
  char err[2048] = "";
  twi_conf *conf = twi_conf_load(path, err, sizeof err);
  ck_assert_msg(conf == NULL, "loaded:\n%s", main_text);
  free(path);
  return strdup(err);
}

START_TEST(include_of_fifo_or_directory) {
  char *dir = th_tmpdir();
  char *fifo = th_fmt("%s/fifo.inc", dir), *sub = th_fmt("%s/sub.inc", dir);
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  ck_assert_int_eq(mkdir(sub, 0700), 0);
  /* nobody ever writes the FIFO: a blocking open would never return */
  double t0 = now_s();
  char *e = load_error(dir, "agent = { };\n@include \"fifo.inc\"\n");
  ck_assert_msg(now_s() - t0 < 5, "the loader waited on the FIFO");
  ck_assert_contains(e, "main.conf:2: @include \"fifo.inc\": ");
  ck_assert_contains(e, "/fifo.inc is a FIFO; give a regular file");
  free(e);
  e = load_error(dir, "@include \"sub.inc\"\n");
  ck_assert_contains(e, "main.conf:1: @include \"sub.inc\": ");
  ck_assert_contains(e, "/sub.inc is a directory; give a regular file");
  free(e);
  e = load_error(dir, "\n\n@include \"missing.inc\"\n");
  ck_assert_contains(e, "main.conf:3: @include \"missing.inc\": cannot read ");
  ck_assert_contains(e, "/missing.inc: No such file or directory");
  free(e);
  /* the main file itself */
  char err[1024];
  ck_assert_ptr_null(twi_conf_load(fifo, err, sizeof err));
  ck_assert_contains(err, "fifo.inc: the file is a FIFO; give a regular file");
  ck_assert_ptr_null(twi_conf_load(sub, err, sizeof err));
  ck_assert_contains(err, "sub.inc: the file is a directory");
  th_rmrf(dir);
  free(fifo);
  free(sub);
  free(dir);
}
END_TEST

START_TEST(include_size_and_depth_bounded) {
  char *dir = th_tmpdir();
  /* 17 MiB, sparse: refused from its size, never read */
  char *big = th_fmt("%s/big.inc", dir);
  int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(ftruncate(fd, 17 << 20), 0);
  close(fd);
  char *e = load_error(dir, "@include \"big.inc\"\n");
  ck_assert_contains(e, "main.conf:1: @include \"big.inc\": ");
  ck_assert_contains(e, "/big.inc is larger than 16 MiB");
  free(e);
  char err[1024];
  ck_assert_ptr_null(twi_conf_load(big, err, sizeof err));
  ck_assert_contains(err, "big.inc: the file is larger than 16 MiB");
  /* 3 MiB of comment included six times: each fits, all together do not */
  char *comment = malloc(3 << 20);
  memset(comment, 'x', 3 << 20);
  comment[0] = '#';
  comment[(3 << 20) - 1] = '\0';
  char *part = th_fmt("%s/part.inc", dir);
  ck_assert_int_eq(th_write_file(part, comment), 0);
  free(comment);
  e = load_error(dir, "@include \"part.inc\"\n@include \"part.inc\"\n@include \"part.inc\"\n"
                      "@include \"part.inc\"\n@include \"part.inc\"\n@include \"part.inc\"\n");
  ck_assert_contains(e, "main.conf:6: @include \"part.inc\": with ");
  ck_assert_contains(e, "grows beyond 16 MiB");
  free(e);
  /* a file that includes itself */
  char *self = th_fmt("%s/self.inc", dir);
  ck_assert_int_eq(th_write_file(self, "# again\n@include \"self.inc\"\n"), 0);
  e = load_error(dir, "@include \"self.inc\"\n");
  ck_assert_contains(e, "self.inc:2: @include \"self.inc\": includes nest deeper than 10");
  free(e);
  th_rmrf(dir);
  free(big);
  free(part);
  free(self);
  free(dir);
}
END_TEST

START_TEST(include_values_checked_too) {
  /* integers and NUL escapes of included files, with their file and line */
  char *dir = th_tmpdir();
  char *inc = th_fmt("%s/out.inc", dir), *main_path = th_fmt("%s/main.conf", dir);
  ck_assert_int_eq(th_write_file(inc, "outputs = ( { plugin = \"record\"; path = \"/dev/null\";\n"
                                      "  reject = 4294967297; } );\n"),
                   0);
  ck_assert_int_eq(th_write_file(main_path, "inputs = ( { plugin = \"lines\"; lines = "
                                            "[\"m v=1\"]; } );\n@include \"out.inc\"\n"),
                   0);
  char err[1024];
  twi_conf *conf = twi_conf_load(main_path, err, sizeof err);
  ck_assert_msg(conf != NULL, "%s", err);
  twi_diag d = {0};
  twi_pipeline *pl = twi_pipeline_build(conf, getenv("TOWER_PLUGIN_DIR"), TWI_ONCE, &d);
  ck_assert_msg(pl != NULL, "%s", d.text);
  ck_assert_int_eq(tower_config_int(pl->outputs[0]->cfg, "reject"), 4294967297LL);
  twi_pipeline_free(pl);
  twi_conf_unref(conf);
  ck_assert_int_eq(th_write_file(inc, "outputs = ( { plugin = \"record\";\n"
                                      "  path = \"/dev/null\\x00\"; } );\n"),
                   0);
  ck_assert_ptr_null(twi_conf_load(main_path, err, sizeof err));
  ck_assert_contains(err, "out.inc:2: \"\\x00\" in a string");
  ck_assert_int_eq(th_write_file(inc, "outputs = ( { plugin = \"record\"; path = \"/dev/null\";\n"
                                      "  reject = 99999999999999999999; } );\n"),
                   0);
  ck_assert_ptr_null(twi_conf_load(main_path, err, sizeof err));
  ck_assert_contains(err, "out.inc:2: outputs[0].reject: 99999999999999999999 is too large");
  th_rmrf(dir);
  free(inc);
  free(main_path);
  free(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("config");
  TCase *t = tcase_create("config");
  tcase_add_test(t, durations);
  tcase_add_test(t, sizes);
  tcase_add_test(t, env_substitution);
  tcase_add_test(t, env_in_config_and_unset_reported);
  tcase_add_test(t, unknown_option_suggests);
  tcase_add_test(t, telegraf_names_are_translated);
  tcase_add_test(t, wrong_types);
  tcase_add_test(t, ranges_and_choices);
  tcase_add_test(t, secret_values_never_printed);
  tcase_add_test(t, top_level_and_structure);
  tcase_add_test(t, include_relative_to_file);
  tcase_add_test(t, defaults_and_agent_inheritance);
  tcase_add_test(t, integers_keep_their_value);
  tcase_add_test(t, numbers_out_of_range);
  tcase_add_test(t, sizes_below_one_byte);
  tcase_add_test(t, nul_bytes_refused);
  tcase_add_test(t, include_of_fifo_or_directory);
  tcase_add_test(t, include_size_and_depth_bounded);
  tcase_add_test(t, include_values_checked_too);
  suite_add_tcase(s, t);
  return check_run(s);
}
