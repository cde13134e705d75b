/* The loader against real fixture .so files: each way of being broken gets
 * its own message that says what to do, and a good plugin loads and runs. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "loader.h"
#include "check_run.h"

static char *fixture(const char *name) {
  const char *top = getenv("top_builddir");
  ck_assert_msg(top != NULL, "top_builddir is not set (run through make check)");
  return th_fmt("%s/tests/abi/.libs/%s.so", top, name);
}

/* Opens fixture `name` expecting failure; returns the message. */
static char *open_fails(const char *name, const char *expect_name) {
  char *path = fixture(name), err[2048] = "";
  twi_plugin *p = NULL;
  int rc = twi_plugin_open(path, TOWER_INPUT, expect_name, &p, err, sizeof err);
  ck_assert_msg(rc < 0, "%s loaded although it is broken", name);
  ck_assert_ptr_null(p);
  ck_assert_msg(strstr(err, path) != NULL, "message does not name the file: %s", err);
  free(path);
  return strdup(err);
}

#define ck_assert_contains(hay, needle)                                                            \
  ck_assert_msg(strstr((hay), (needle)) != NULL, "expected \"%s\" in: %s", (needle), (hay))

START_TEST(good_loads) {
  char *path = fixture("good"), err[2048] = "";
  twi_plugin *p = NULL;
  ck_assert_int_eq(twi_plugin_open(path, TOWER_INPUT, "good", &p, err, sizeof err), 0);
  ck_assert_str_eq(p->desc.name, "good");
  ck_assert_uint_eq(p->desc.abi_major, TOWER_ABI_MAJOR);
  ck_assert_ptr_nonnull(p->desc.gather);
  ck_assert_str_eq(p->options[0].name, "greeting");
  ck_assert_str_eq(p->options[0].default_value, "hello");
  ck_assert_ptr_null(p->options[1].name);
  twi_plugin_close(p);
  free(path);
}
END_TEST

START_TEST(wrong_major) {
  char *e = open_fails("wrong_major", "wrong_major");
  char *want = th_fmt("built for tower plugin ABI %d.%d", TOWER_ABI_MAJOR + 1, TOWER_ABI_MINOR);
  ck_assert_contains(e, want);
  free(want);
  ck_assert_contains(e, "rebuild the plugin against this tower's SDK");
  free(e);
}
END_TEST

START_TEST(newer_minor) {
  char *e = open_fails("newer_minor", "newer_minor");
  ck_assert_contains(e, "needs tower plugin ABI 1.99");
  ck_assert_contains(e, "upgrade tower");
  free(e);
}
END_TEST

START_TEST(truncated) {
  char *e = open_fails("truncated", "truncated");
  ck_assert_contains(e, "descriptor is truncated");
  ck_assert_contains(e, "TOWER_PLUGIN_HEAD()");
  free(e);
}
END_TEST

START_TEST(no_entry) {
  char *e = open_fails("no_entry", "no_entry");
  ck_assert_contains(e, "is not a tower plugin: it does not export tower_plugin_entry()");
  ck_assert_contains(e, "TOWER_PLUGIN_ENTRY()");
  free(e);
}
END_TEST

START_TEST(bad_magic) {
  char *e = open_fails("bad_magic", "bad_magic");
  ck_assert_contains(e, "bad magic number 0x12345678");
  free(e);
}
END_TEST

START_TEST(bad_options) {
  char *e = open_fails("bad_options", "bad_options");
  ck_assert_contains(e, "invalid option table: option \"interval\" is reserved");
  free(e);
}
END_TEST

START_TEST(misnamed) {
  char *e = open_fails("misnamed", "misnamed");
  ck_assert_contains(e, "calls itself \"other_name\" but the file is named misnamed.so");
  ck_assert_contains(e, "rename the file to other_name.so");
  free(e);
}
END_TEST

START_TEST(wrong_kind_directory) {
  char *path = fixture("good"), err[2048] = "";
  twi_plugin *p = NULL;
  ck_assert_int_lt(twi_plugin_open(path, TOWER_OUTPUT, "good", &p, err, sizeof err), 0);
  ck_assert_contains(err, "the plugin is an input but lies in the outputs directory");
  ck_assert_contains(err, "move it to inputs/");
  free(path);
}
END_TEST

START_TEST(unresolved_symbol) {
  char *e = open_fails("unresolved", "unresolved");
  ck_assert_contains(e, "undefined symbol: tower_fixture_missing_function");
  ck_assert_contains(e, "ldd");
  free(e);
}
END_TEST

START_TEST(not_elf) {
  char *dir = th_tmpdir(), *path = th_fmt("%s/junk.so", dir), err[2048] = "";
  ck_assert_int_eq(th_write_file(path, "this is not a shared object\n"), 0);
  twi_plugin *p = NULL;
  ck_assert_int_lt(twi_plugin_open(path, 0, NULL, &p, err, sizeof err), 0);
  ck_assert_contains(err, "cannot load");
  ck_assert_contains(err, path);
  th_rmrf(dir);
  free(path);
  free(dir);
}
END_TEST

/* A plugin directory holding fixture `name` as inputs/<as>.so, prepended to
 * the test plugin path so that the record output is found too. */
static char *plugin_dir_with(const char *name, const char *as) {
  char *dir = th_tmpdir(), *sub = th_fmt("%s/inputs", dir), *link = th_fmt("%s/%s.so", sub, as);
  char *target = fixture(name);
  ck_assert_int_eq(mkdir(sub, 0755), 0);
  ck_assert_int_eq(symlink(target, link), 0);
  char *path = th_fmt("%s:%s", dir, getenv("TOWER_PLUGIN_DIR"));
  setenv("TOWER_PLUGIN_DIR", path, 1);
  free(path);
  free(target);
  free(link);
  free(sub);
  return dir;
}

/* Fixture `name` (an input named like its file) gathers in a pipeline and
 * its metric reaches the record output. */
static void runs_in_a_pipeline(const char *name) {
  char *saved = strdup(getenv("TOWER_PLUGIN_DIR"));
  char *dir = plugin_dir_with(name, name), *out = th_fmt("%s/out.lp", dir);
  char *conf = th_fmt("agent = { omit_hostname = true; };\n"
                      "inputs = ( { plugin = \"%s\"; greeting = \"hi\"; } );\n"
                      "outputs = ( { plugin = \"record\"; path = \"%s\"; } );\n",
                      name, out);
  twi_pipeline *pl = th_start(conf, TWI_ONCE);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  char *text = th_read_file(out);
  ck_assert_ptr_nonnull(text);
  ck_assert_msg(strncmp(text, "fixture,greeting=hi value=1i ", 29) == 0, "got: %s", text);
  th_free(pl);
  free(text);
  th_rmrf(dir);
  setenv("TOWER_PLUGIN_DIR", saved, 1);
  free(saved);
  free(conf);
  free(out);
  free(dir);
}

START_TEST(good_runs_in_a_pipeline) {
  runs_in_a_pipeline("good");
}
END_TEST

/* A plugin built against the SDK headers of ABI 1.0 (tests/abi/frozen/1.0)
 * loads in this newer core (minor 0 <= the core's) and runs. */
START_TEST(older_minor_loads_and_runs) {
  ck_assert_int_gt(TOWER_ABI_MINOR, 0); /* else there is no older minor to try */
  char *path = fixture("abi_1_0"), err[2048] = "";
  twi_plugin *p = NULL;
  ck_assert_msg(twi_plugin_open(path, TOWER_INPUT, "abi_1_0", &p, err, sizeof err) == 0, "%s", err);
  ck_assert_uint_eq(p->desc.abi_major, 1);
  ck_assert_uint_eq(p->desc.abi_minor, 0);
  ck_assert_str_eq(p->options[0].name, "greeting");
  twi_plugin_close(p);
  free(path);
  runs_in_a_pipeline("abi_1_0");
}
END_TEST

START_TEST(init_failure_is_reported) {
  char *saved = strdup(getenv("TOWER_PLUGIN_DIR"));
  char *dir = plugin_dir_with("init_fails", "init_fails"), *out = th_fmt("%s/out.lp", dir);
  char *conf = th_fmt("inputs = ( { plugin = \"init_fails\"; } );\n"
                      "outputs = ( { plugin = \"record\"; path = \"%s\"; } );\n",
                      out);
  char *errors = NULL;
  twi_pipeline *pl = th_build(conf, TWI_ONCE, &errors);
  ck_assert_ptr_nonnull(pl);
  ck_assert_int_lt(twi_pipeline_init(pl), 0);
  th_free(pl); /* frees what did initialize, never destroys the failed one */
  th_rmrf(dir);
  setenv("TOWER_PLUGIN_DIR", saved, 1);
  free(saved);
  free(errors);
  free(conf);
  free(out);
  free(dir);
}
END_TEST

START_TEST(missing_plugin_is_named) {
  char *errors = NULL;
  twi_pipeline *pl = th_build("inputs = ( { plugin = \"no_such_thing\"; } );\n"
                              "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
                              TWI_ONCE, &errors);
  ck_assert_ptr_null(pl);
  ck_assert_ptr_nonnull(errors);
  ck_assert_contains(errors, "tower.conf:1: no input plugin \"no_such_thing\"");
  ck_assert_contains(errors, "inputs/no_such_thing.so");
  ck_assert_contains(errors, "tower plugins");
  free(errors);
}
END_TEST

static Suite *loader_suite(void) {
  Suite *s = suite_create("loader");
  TCase *t = tcase_create("fixtures");
  tcase_add_test(t, good_loads);
  tcase_add_test(t, wrong_major);
  tcase_add_test(t, newer_minor);
  tcase_add_test(t, truncated);
  tcase_add_test(t, no_entry);
  tcase_add_test(t, bad_magic);
  tcase_add_test(t, bad_options);
  tcase_add_test(t, misnamed);
  tcase_add_test(t, wrong_kind_directory);
  tcase_add_test(t, unresolved_symbol);
  tcase_add_test(t, not_elf);
  tcase_add_test(t, good_runs_in_a_pipeline);
  tcase_add_test(t, older_minor_loads_and_runs);
  tcase_add_test(t, init_failure_is_reported);
  tcase_add_test(t, missing_plugin_is_named);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  return check_run(loader_suite());
}
