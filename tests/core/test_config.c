/* Configuration: units, environment substitution, @include, and validation
 * messages that name file, line, plugin and what would be right. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tower/tower.h>

#include "conf.h"
#include "harness.h"
#include "check_run.h"

static const char *or_empty(const char *s) {
  return s ? s : "";
}

#define ck_assert_contains(hay, needle)                                                            \
  ck_assert_msg(strstr(or_empty(hay), (needle)) != NULL, "expected \"%s\" in:\n%s", (needle),      \
                or_empty(hay))

static const char *OUT = "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n";

/* The diagnostics for a config made of `inputs` + a valid output. */
static char *errors_of(const char *body) {
  char *text = th_fmt("%s\n%s", body, OUT);
  char *errors = NULL;
  twi_pipeline *pl = th_build(text, TWI_ONCE, &errors);
  ck_assert_msg(pl == NULL, "config accepted although invalid:\n%s", text);
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
    ck_assert_msg(tower_parse_duration(bad[i], &ns) != 0, "\"%s\" accepted", bad[i]);
  }
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
  const char *bad[] = {"", "MiB", "1 MiB", "-1", "1XB", "1MiBB", "99999999TB"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    uint64_t b;
    ck_assert_msg(tower_parse_size(bad[i], &b) != 0, "\"%s\" accepted", bad[i]);
  }
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
  ck_assert_contains(e, "agent: option \"metric_batch_size\": 0 is below the minimum 1");
  ck_assert_contains(e, "agent: option \"log_level\": \"loud\" is not one of "
                        "error|warn|info|debug|trace");
  ck_assert_contains(e, "agent: option \"interval\": 1ns is below the minimum 1ms");
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
  suite_add_tcase(s, t);
  return check_run(s);
}
