/* Configurations of several files: drop-in files named by a pattern
 * @include or found in a directory (their inputs, processors and outputs
 * are appended, in name order; they may not set agent), and several main
 * files (later ones override agent settings, with a warning). Real files
 * in a temporary directory, loaded as the agent loads them. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "harness.h"
#include "check_run.h"

static const char *or_empty(const char *s) {
  return s ? s : "";
}

#define ck_assert_contains(hay, needle)                                                            \
  ck_assert_msg(strstr(or_empty(hay), (needle)) != NULL, "expected \"%s\" in:\n%s", (needle),      \
                or_empty(hay))

static char *dir;

static void setup(void) {
  dir = th_tmpdir();
}

static void teardown(void) {
  th_rmrf(dir);
  free(dir);
}

/* Writes `text` to dir/name (creating dir/conf.d when the name is in it). */
static void put(const char *name, const char *text) {
  char *sub = th_fmt("%s/conf.d", dir), *path = th_fmt("%s/%s", dir, name);
  mkdir(sub, 0700);
  ck_assert_int_eq(th_write_file(path, text), 0);
  free(path);
  free(sub);
}

static char *at(const char *name) {
  return th_fmt("%s/%s", dir, name);
}

/* "lines" input with alias `alias` (its metric is named after it). */
static char *input(const char *alias) {
  return th_fmt("inputs = ( { plugin = \"lines\"; alias = \"%s\"; lines = [\"%s v=1i\"]; } );\n",
                alias, alias);
}

static const char *OUT = "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n";

/* Loads main.conf (+ extra files, + a directory) and builds the pipeline;
 * NULL with the problems in *errors. */
static twi_pipeline *build(const char *const *extra, const char *conf_dir, char **errors) {
  char err[2048] = "";
  char *main_path = at("main.conf");
  twi_conf *conf = twi_conf_load_many(main_path, extra, conf_dir, err, sizeof err);
  free(main_path);
  *errors = NULL;
  if (!conf) {
    *errors = strdup(err);
    return NULL;
  }
  twi_diag d = {0};
  twi_pipeline *pl = twi_pipeline_build(conf, getenv("TOWER_PLUGIN_DIR"), TWI_ONCE, &d);
  *errors = d.text ? strdup(d.text) : NULL;
  twi_diag_free(&d);
  twi_conf_unref(conf);
  return pl;
}

static void assert_inputs(const twi_pipeline *pl, const char *const *ids) {
  size_t n = 0;
  while (ids[n])
    n++;
  ck_assert_uint_eq(pl->ninputs, n);
  for (size_t i = 0; i < n; i++)
    ck_assert_str_eq(pl->inputs[i]->id, ids[i]);
}

START_TEST(pattern_include_appends_in_name_order) {
  char *a = input("a"), *b = input("b"), *m = input("main");
  char *main_text =
      th_fmt("agent = { interval = \"7s\"; };\n%s@include \"conf.d/*.conf\"\n%s", m, OUT);
  put("main.conf", main_text);
  put("conf.d/20-b.conf", b);
  put("conf.d/10-a.conf", a);
  put("conf.d/15-p.conf", "processors = ( { plugin = \"mark\"; } );\n");
  put("conf.d/README", "not a configuration");
  put("conf.d/.10-hidden.conf", "this is no configuration at all");
  char *e;
  twi_pipeline *pl = build(NULL, NULL, &e);
  ck_assert_msg(pl != NULL, "%s", or_empty(e));
  static const char *const ids[] = {"inputs.lines:main", "inputs.lines:a", "inputs.lines:b", NULL};
  assert_inputs(pl, ids);
  ck_assert_uint_eq(pl->nprocessors, 1);
  ck_assert_uint_eq(pl->noutputs, 1);
  ck_assert_int_eq(pl->inputs[2]->interval, 7000000000LL); /* the main file's agent */
  twi_pipeline_free(pl);
  free(e);
  /* an empty directory is no error */
  char *sub = at("conf.d");
  th_rmrf(sub);
  ck_assert_int_eq(mkdir(sub, 0700), 0);
  pl = build(NULL, NULL, &e);
  ck_assert_msg(pl != NULL, "%s", or_empty(e));
  ck_assert_uint_eq(pl->ninputs, 1);
  twi_pipeline_free(pl);
  free(e);
  free(sub);
  free(main_text);
  free(a);
  free(b);
  free(m);
}
END_TEST

START_TEST(config_directory_appends_in_name_order) {
  char *a = input("a"), *b = input("b"), *m = input("main");
  char *main_text = th_fmt("%s%s", m, OUT);
  put("main.conf", main_text);
  put("conf.d/b.conf", b);
  put("conf.d/a.conf", a);
  put("conf.d/a.conf.bak", "inputs = ( { plugin = \"nope\"; } );\n");
  char *e, *confd = at("conf.d");
  twi_pipeline *pl = build(NULL, confd, &e);
  ck_assert_msg(pl != NULL, "%s", or_empty(e));
  static const char *const ids[] = {"inputs.lines:main", "inputs.lines:a", "inputs.lines:b", NULL};
  assert_inputs(pl, ids);
  twi_pipeline_free(pl);
  free(e);
  /* a file added since is read by the next load, as a reload does */
  char *c = input("c");
  put("conf.d/c.conf", c);
  pl = build(NULL, confd, &e);
  ck_assert_msg(pl != NULL, "%s", or_empty(e));
  ck_assert_uint_eq(pl->ninputs, 4);
  ck_assert_str_eq(pl->inputs[3]->id, "inputs.lines:c");
  twi_pipeline_free(pl);
  free(e);
  free(c);
  free(confd);
  free(main_text);
  free(a);
  free(b);
  free(m);
}
END_TEST

START_TEST(drop_ins_may_not_set_agent) {
  char *m = input("main");
  char *main_text = th_fmt("%s@include \"conf.d/*.conf\"\n%s", m, OUT);
  put("main.conf", main_text);
  put("conf.d/a.conf", "# tuning\nagent = { interval = \"1s\"; };\n"
                       "global_tags = { dc = \"x\"; };\n"
                       "inputs = ( { plugin = \"lines\"; lnes = [\"a v=1\"]; } );\n");
  char *e;
  ck_assert_ptr_null(build(NULL, NULL, &e));
  ck_assert_contains(e, "conf.d/a.conf:2: agent cannot be set in a drop-in file (a file of "
                        "--config-directory or of a pattern @include), which only adds inputs, "
                        "processors, aggregators and outputs; set it in ");
  ck_assert_contains(e, "/main.conf");
  ck_assert_contains(e, "conf.d/a.conf:3: global_tags cannot be set in a drop-in file");
  /* and every other problem of the drop-in in the same pass */
  ck_assert_contains(e, "conf.d/a.conf:4: inputs.lines: unknown option \"lnes\"");
  free(e);
  free(main_text);
  free(m);
}
END_TEST

START_TEST(pattern_include_errors_say_where) {
  static const struct {
    const char *main, *drop_in, *want[2];
  } cases[] = {
      {"@include \"nowhere/*.conf\"\n",
       NULL,
       {"main.conf:1: @include \"nowhere/*.conf\": there is no directory ", "/nowhere"}},
      {"inputs = (\n@include \"conf.d/*.conf\"\n);\n",
       NULL,
       {"main.conf:2: @include \"conf.d/*.conf\": an @include of a pattern must stand between "
        "top-level settings, outside any group or list",
        NULL}},
      {"@include \"conf.d/*.conf\"\n",
       "@include \"../*.inc\"\n",
       {"a.conf:1: @include \"../*.inc\": a drop-in file cannot @include a pattern", NULL}},
      {"@include \"inc.inc\"\n",
       NULL,
       {"inc.inc:2: @include \"conf.d/*.conf\": a pattern may only be @include'd by a "
        "configuration file given to tower, not by an @include'd file",
        NULL}},
      {"@include \"*.conf\"\n",
       NULL,
       {"main.conf:1: @include \"*.conf\": ", "/main.conf is already part of the configuration; "
                                              "each file is read once"}},
      {"@include \"conf.d/*.conf\"\n",
       "inputs = ( { plugin = \"lines\";\n",
       {"a.conf:2: syntax error: the file ends with brackets not closed", NULL}},
      {"@include \"conf.d/*.conf\"\n",
       "\xef\xbb\xbf",
       {"a.conf:1: syntax error: the file starts with a byte order mark", NULL}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *confd = at("conf.d");
    th_rmrf(confd);
    put("main.conf", cases[i].main);
    put("inc.inc", "# included\n@include \"conf.d/*.conf\"\n");
    if (cases[i].drop_in)
      put("conf.d/a.conf", cases[i].drop_in);
    else
      rmdir(confd);
    char *e;
    ck_assert_ptr_null(build(NULL, NULL, &e));
    for (size_t k = 0; k < 2 && cases[i].want[k]; k++)
      ck_assert_msg(strstr(or_empty(e), cases[i].want[k]), "case %zu: want \"%s\" in:\n%s", i,
                    cases[i].want[k], or_empty(e));
    free(e);
    free(confd);
  }
}
END_TEST

START_TEST(several_main_files_override_agent) {
  char *a = input("a"), *b = input("b");
  char *first = th_fmt("agent = { interval = \"7s\"; hostname = \"one\"; };\n"
                       "global_tags = { dc = \"seoul\"; rack = \"r1\"; };\n%s%s",
                       a, OUT);
  put("main.conf", first);
  put("second.conf", "# overrides\nagent = { interval = \"3s\"; };\n"
                     "global_tags = { rack = \"r2\"; };\n");
  char *third = th_fmt("%s", b);
  put("third.conf", third);
  char *second = at("second.conf"), *third_path = at("third.conf");
  const char *extra[] = {second, third_path, NULL};
  char *e;
  twi_pipeline *pl = build(extra, NULL, &e);
  ck_assert_msg(pl != NULL, "%s", or_empty(e));
  /* never silently only the last: every file's plugins, the agent merged
   * setting by setting, each override reported */
  static const char *const ids[] = {"inputs.lines:a", "inputs.lines:b", NULL};
  assert_inputs(pl, ids);
  ck_assert_int_eq(pl->set.interval, 3000000000LL);
  ck_assert_str_eq(pl->set.hostname, "one");
  ck_assert_uint_eq(pl->set.nglobal, 2);
  ck_assert_str_eq(pl->set.global_keys[1], "rack");
  ck_assert_str_eq(pl->set.global_values[1], "r2");
  ck_assert_str_eq(pl->set.global_values[0], "seoul");
  ck_assert_contains(e, "second.conf:2: warning: agent.interval overrides the value set at ");
  ck_assert_contains(e, "main.conf:1 (a later configuration file wins, as in Telegraf)");
  ck_assert_contains(e, "second.conf:3: warning: global_tags.rack overrides the value set at ");
  twi_pipeline_free(pl);
  free(e);
  /* the same file twice */
  char *main_path = at("main.conf");
  const char *twice[] = {main_path, NULL};
  ck_assert_ptr_null(build(twice, NULL, &e));
  ck_assert_contains(e, "/main.conf is already part of the configuration");
  free(e);
  free(main_path);
  free(second);
  free(third_path);
  free(first);
  free(third);
  free(a);
  free(b);
}
END_TEST

START_TEST(config_directory_errors) {
  char *m = input("main");
  char *main_text = th_fmt("%s%s", m, OUT);
  put("main.conf", main_text);
  char *e, *missing = at("missing.d");
  ck_assert_ptr_null(build(NULL, missing, &e));
  ck_assert_contains(e, "--config-directory ");
  ck_assert_contains(e, "/missing.d: cannot read the directory: No such file or directory");
  free(e);
  /* the main file's own directory: the main file would be read twice */
  ck_assert_ptr_null(build(NULL, dir, &e));
  ck_assert_contains(e, "/main.conf is already part of the configuration");
  free(e);
  /* a FIFO named like a drop-in is refused, never waited on */
  char *confd = at("conf.d"), *fifo = at("conf.d/x.conf"); /* put() made conf.d */
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  ck_assert_ptr_null(build(NULL, confd, &e));
  ck_assert_contains(e, "/conf.d/x.conf is a FIFO; give a regular file");
  free(e);
  free(fifo);
  free(confd);
  free(missing);
  free(main_text);
  free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("config_files");
  TCase *t = tcase_create("config_files");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, pattern_include_appends_in_name_order);
  tcase_add_test(t, config_directory_appends_in_name_order);
  tcase_add_test(t, drop_ins_may_not_set_agent);
  tcase_add_test(t, pattern_include_errors_say_where);
  tcase_add_test(t, several_main_files_override_agent);
  tcase_add_test(t, config_directory_errors);
  suite_add_tcase(s, t);
  return check_run(s);
}
