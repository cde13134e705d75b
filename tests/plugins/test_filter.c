/* processors.filter: every rule criterion alone and combined, first match
 * wins, defaults, globs, configuration errors, and metrics passing through
 * unchanged. A lines input feeds fixed metrics through the filter into a
 * record output; what passes is compared, as line protocol, with the same
 * metrics run through no processor at all. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "harness.h"
#include "log_internal.h"
#include "check_run.h"

static char *dir;

static void setup(void) {
  dir = th_tmpdir();
}
static void teardown(void) {
  th_rmrf(dir);
  free(dir);
}

/* The metrics every test starts from, one per line (index = bit of `keep`). */
#define INPUT_LINES                                                                                \
  "\"cpu,cpu=cpu0,host=a usage_user=1,usage_idle=99 1\","                                          \
  "\"cpu,cpu=cpu1,host=a usage_user=2,time_user=5 2\","                                            \
  "\"cpu,cpu=cpu-total,host=a usage_user=3 3\","                                                   \
  "\"mem,host=a used=10i,free=1i 4\","                                                             \
  "\"disk,host=b,path=/ free=5i,used_percent=50 5\""
#define NINPUT 5

/* Config: the input, then `procs` (the processors list body, may be NULL),
 * then the output, each starting on a known line:
 *   line 1 agent, line 2 inputs, line 3 "processors = (", line 4.. procs. */
static char *config(const char *procs) {
  return th_fmt("agent = { omit_hostname = true; };\n"
                "inputs = ( { plugin = \"lines\"; precision = \"1ns\"; lines = [" INPUT_LINES
                "]; } );\n"
                "%s%s%s"
                "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                procs ? "processors = (\n" : "", procs ? procs : "", procs ? "\n);\n" : "", dir);
}

/* One gather and flush; returns what the output wrote (malloc'd). */
static char *run(const char *procs) {
  char *c = config(procs);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  free(c);
  char *path = th_fmt("%s/out.lp", dir);
  char *text = th_read_file(path);
  remove(path);
  free(path);
  return text ? text : strdup("");
}

/* The unfiltered output lines selected by the bits of `keep` (bit i: input
 * line i), in order. */
static char *expected(unsigned keep) {
  char *all = run(NULL);
  char *out = calloc(1, strlen(all) + 1);
  ck_assert_ptr_nonnull(out);
  size_t i = 0;
  for (char *line = all, *nl; *line; line = nl + 1, i++) {
    nl = strchr(line, '\n');
    ck_assert_ptr_nonnull(nl);
    if (keep & (1u << i))
      strncat(out, line, (size_t)(nl - line + 1));
  }
  ck_assert_uint_eq(i, NINPUT);
  free(all);
  return out;
}

/* Runs the filter block `filter` and checks that exactly the input lines in
 * `keep` come out, unchanged. */
static void check_keeps(const char *filter, unsigned keep) {
  char *want = expected(keep);
  char *got = run(filter);
  ck_assert_msg(strcmp(got, want) == 0, "filter:\n%s\ngot:\n%s\nwant:\n%s", filter, got, want);
  free(want);
  free(got);
}

#define CPU0 0x01u
#define CPU1 0x02u
#define TOTAL 0x04u
#define MEM 0x08u
#define DISK 0x10u
#define ALL 0x1fu
#define CPUS (CPU0 | CPU1 | TOTAL)

/* ---- semantics ----------------------------------------------------------- */

START_TEST(baseline_is_the_input) {
  /* guards the comparisons below: the unfiltered run is the input itself */
  char *all = run(NULL);
  ck_assert_str_eq(all, "cpu,cpu=cpu0,host=a usage_idle=99,usage_user=1 1\n"
                        "cpu,cpu=cpu1,host=a time_user=5,usage_user=2 2\n"
                        "cpu,cpu=cpu-total,host=a usage_user=3 3\n"
                        "mem,host=a free=1i,used=10i 4\n"
                        "disk,host=b,path=/ free=5i,used_percent=50 5\n");
  free(all);
}
END_TEST

START_TEST(no_rules_default_pass) {
  check_keeps("{ plugin = \"filter\"; }", ALL);
  check_keeps("{ plugin = \"filter\"; default = \"pass\"; rules = (); }", ALL);
}
END_TEST

START_TEST(no_rules_default_drop) {
  check_keeps("{ plugin = \"filter\"; default = \"drop\"; }", 0);
}
END_TEST

START_TEST(name_criterion) {
  check_keeps("{ plugin = \"filter\"; rules = ( { name = [\"cpu\"]; } ); }", MEM | DISK);
  check_keeps("{ plugin = \"filter\"; rules = ( { name = \"mem\"; } ); }", CPUS | DISK);
  check_keeps("{ plugin = \"filter\"; rules = ( { name = [\"d*\", \"m?m\"]; } ); }", CPUS);
  check_keeps("{ plugin = \"filter\"; rules = ( { name = [\"{cpu,disk}\"]; } ); }", MEM);
  /* globs are anchored and case-sensitive */
  check_keeps("{ plugin = \"filter\"; rules = ( { name = [\"cp\", \"CPU\", \"pu\"]; } ); }", ALL);
}
END_TEST

START_TEST(tags_criterion) {
  /* one of the values of a key matches */
  check_keeps("{ plugin = \"filter\"; rules = ( { tags = { cpu = [\"cpu0\", \"cpu1\"]; }; } ); }",
              TOTAL | MEM | DISK);
  check_keeps("{ plugin = \"filter\"; rules = ( { tags = { host = \"b\"; }; } ); }", CPUS | MEM);
  check_keeps("{ plugin = \"filter\"; rules = ( { tags = { cpu = \"cpu[0-9]\"; }; } ); }",
              TOTAL | MEM | DISK);
  /* a metric without the key does not match, whatever the glob */
  check_keeps("{ plugin = \"filter\"; rules = ( { tags = { cpu = \"*\"; }; } ); }", MEM | DISK);
}
END_TEST

START_TEST(tags_every_key_required) {
  /* every key must be present and match: host=a and cpu=cpu-* */
  check_keeps(
      "{ plugin = \"filter\"; rules = ( { tags = { host = \"a\"; cpu = \"cpu-*\"; }; } ); }",
      CPU0 | CPU1 | MEM | DISK);
  /* no metric has both cpu and path */
  check_keeps("{ plugin = \"filter\"; rules = ( { tags = { cpu = \"*\"; path = \"*\"; }; } ); }",
              ALL);
  /* both present, one value does not match */
  check_keeps("{ plugin = \"filter\"; rules = ( { tags = { host = \"b\"; cpu = \"*\"; }; } ); }",
              ALL);
}
END_TEST

START_TEST(fields_criterion) {
  /* at least one field key matches */
  check_keeps("{ plugin = \"filter\"; rules = ( { fields = [\"time_*\"]; } ); }",
              CPU0 | TOTAL | MEM | DISK);
  check_keeps("{ plugin = \"filter\"; rules = ( { fields = [\"used*\"]; } ); }", CPUS);
  check_keeps("{ plugin = \"filter\"; rules = ( { fields = [\"usage_idle\", \"free\"]; } ); }",
              CPU1 | TOTAL);
  check_keeps("{ plugin = \"filter\"; rules = ( { fields = [\"nope\"]; } ); }", ALL);
}
END_TEST

START_TEST(criteria_are_anded) {
  /* name, tags and fields must all hold: only cpu0 has usage_idle */
  check_keeps("{ plugin = \"filter\"; rules = ( { name = [\"cpu\"]; tags = { cpu = [\"cpu*\"]; }; "
              "fields = [\"usage_idle\"]; action = \"drop\"; } ); }",
              CPU1 | TOTAL | MEM | DISK);
  /* the brief's example: usage_* of cpu0/cpu1 */
  check_keeps(
      "{ plugin = \"filter\"; default = \"pass\"; rules = ( { name = [\"cpu*\"]; "
      "tags = { cpu = [\"cpu0\", \"cpu1\"]; }; fields = [\"usage_*\"]; action = \"drop\"; } "
      "); }",
      TOTAL | MEM | DISK);
  /* a name that matches with a tag that does not: no match */
  check_keeps(
      "{ plugin = \"filter\"; rules = ( { name = [\"mem\"]; tags = { host = \"b\"; }; } ); }", ALL);
}
END_TEST

START_TEST(first_matching_rule_wins) {
  /* keep only cpu-total among the cpu metrics */
  check_keeps("{ plugin = \"filter\"; rules = (\n"
              "  { name = [\"cpu\"]; tags = { cpu = \"cpu-total\"; }; action = \"pass\"; },\n"
              "  { name = [\"cpu\"]; action = \"drop\"; } ); }",
              TOTAL | MEM | DISK);
  /* the same rules the other way round: the drop rule decides first */
  check_keeps("{ plugin = \"filter\"; rules = (\n"
              "  { name = [\"cpu\"]; action = \"drop\"; },\n"
              "  { name = [\"cpu\"]; tags = { cpu = \"cpu-total\"; }; action = \"pass\"; } ); }",
              MEM | DISK);
}
END_TEST

START_TEST(default_drop_with_pass_rules) {
  check_keeps("{ plugin = \"filter\"; default = \"drop\"; rules = (\n"
              "  { name = [\"mem\", \"disk\"]; action = \"pass\"; } ); }",
              MEM | DISK);
  /* a drop rule under default drop changes nothing */
  check_keeps("{ plugin = \"filter\"; default = \"drop\"; rules = ( { name = \"mem\"; } ); }", 0);
}
END_TEST

START_TEST(empty_criteria_are_ignored) {
  /* a rule without criteria matches everything */
  check_keeps("{ plugin = \"filter\"; rules = ( { action = \"drop\"; } ); }", 0);
  check_keeps("{ plugin = \"filter\"; default = \"drop\"; rules = ( { action = \"pass\"; } ); }",
              ALL);
  /* empty lists are omitted criteria (Telegraf compiles them to no filter) */
  check_keeps("{ plugin = \"filter\"; rules = ( { name = []; fields = []; tags = { }; "
              "action = \"drop\"; } ); }",
              0);
  check_keeps("{ plugin = \"filter\"; rules = ( { name = []; tags = { host = \"b\"; }; } ); }",
              CPUS | MEM);
}
END_TEST

START_TEST(single_group_rules) {
  check_keeps("{ plugin = \"filter\"; rules = { name = [\"mem\"]; }; }", CPUS | DISK);
}
END_TEST

/* The selectors every processor has decide which metrics reach the filter;
 * the others bypass it unchanged, even under default = "drop". */
START_TEST(selectors_bypass) {
  check_keeps("{ plugin = \"filter\"; namepass = [\"cpu\"]; default = \"drop\"; rules = (\n"
              "  { tags = { cpu = \"cpu-total\"; }; action = \"pass\"; } ); }",
              TOTAL | MEM | DISK);
}
END_TEST

START_TEST(two_filters_in_a_row) {
  check_keeps("{ plugin = \"filter\"; rules = ( { name = \"mem\"; } ); },\n"
              "{ plugin = \"filter\"; rules = ( { tags = { host = \"b\"; }; } ); }",
              CPUS);
}
END_TEST

/* ---- configuration errors ------------------------------------------------ */

/* Builds `procs` (which must pass the core's validation) and runs init with
 * the log captured. Returns the log (malloc'd); init must fail. */
static char *init_log(const char *procs) {
  char *c = config(procs);
  char *errors = NULL;
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  ck_assert_msg(pl != NULL, "rejected at build: %s", errors ? errors : "?");
  free(errors);
  char *path = th_fmt("%s/log", dir);
  ck_assert_int_eq(twi_log_set_file(path), 0);
  int rc = twi_pipeline_init(pl);
  twi_log_set_file(NULL);
  ck_assert_int_ne(rc, 0);
  th_free(pl);
  free(c);
  char *log = th_read_file(path);
  ck_assert_ptr_nonnull(log);
  free(path);
  return log;
}

/* The log says `what` at tower.conf:`line`. */
static void check_init_error(const char *procs, unsigned line, const char *what) {
  char *log = init_log(procs);
  char *where = th_fmt("/tower.conf:%u: ", line);
  ck_assert_msg(strstr(log, where) && strstr(log, what), "want %s... %s in:\n%s", where, what, log);
  ck_assert_msg(strstr(log, "[processors.filter]"), "no instance in:\n%s", log);
  free(where);
  free(log);
}

/* What the core validates against the option table fails at build. */
static void check_build_error(const char *procs, unsigned line, const char *what) {
  char *c = config(procs);
  char *errors = NULL;
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  ck_assert_ptr_null(pl);
  ck_assert_ptr_nonnull(errors);
  char *where = th_fmt("/tower.conf:%u: ", line);
  ck_assert_msg(strstr(errors, where) && strstr(errors, what), "want %s... %s in:\n%s", where, what,
                errors);
  free(where);
  free(errors);
  free(c);
}

START_TEST(bad_glob_in_name) {
  check_build_error("{ plugin = \"filter\"; rules = (\n"
                    "  { name = [\"cpu\", \"cpu[0\"]; } ); }",
                    5,
                    "rules[0]: option \"name\": pattern \"cpu[0\" has '[' without a closing ']'");
}
END_TEST

START_TEST(bad_glob_in_fields_and_tags) {
  check_build_error("{ plugin = \"filter\"; rules = (\n"
                    "  { name = \"cpu\"; },\n"
                    "  { fields = [\"usage_{user\"]; } ); }",
                    6,
                    "rules[1]: option \"fields\": pattern \"usage_{user\" has '{' without a "
                    "closing '}'");
  check_build_error("{ plugin = \"filter\"; rules = (\n"
                    "  { tags = {\n"
                    "      cpu = [\"cpu0\", \"x\\\\\"]; }; } ); }",
                    6, "rules[0]: option \"tags.cpu\": pattern \"x\\\" ends with a lone backslash");
}
END_TEST

START_TEST(bad_tags_shape) {
  check_build_error("{ plugin = \"filter\"; rules = (\n"
                    "  { tags = [\"cpu\"]; } ); }",
                    5, "rules[0]: option \"tags\" must be a group of strings or string arrays");
  check_build_error("{ plugin = \"filter\"; rules = (\n"
                    "  { tags = { cpu = 5; }; } ); }",
                    5,
                    "rules[0]: tags.cpu must be a string or an array of strings, not an integer");
  check_build_error("{ plugin = \"filter\"; rules = (\n"
                    "  { tags = { cpu = (\"a\", 1); }; } ); }",
                    5, "rules[0]: tags.cpu must be a string or an array of strings, not a list");
  check_build_error("{ plugin = \"filter\"; rules = (\n"
                    "  { tags = { cpu = { x = \"y\"; }; }; } ); }",
                    5, "not a group");
  /* shape-valid but meaningless: found by the plugin at init */
  check_init_error("{ plugin = \"filter\"; rules = (\n"
                   "  { tags = { cpu = [ ]; }; } ); }",
                   5, "rules[0]: tags.cpu lists no value");
}
END_TEST

START_TEST(bad_action_and_default) {
  check_build_error("{ plugin = \"filter\"; rules = (\n"
                    "  { action = \"keep\"; } ); }",
                    5, "\"keep\" is not one of pass|drop");
  check_build_error("{ plugin = \"filter\";\n default = \"allow\"; }", 5,
                    "\"allow\" is not one of pass|drop");
  check_build_error("{ plugin = \"filter\"; rules = (\n"
                    "  { nmae = [\"cpu\"]; } ); }",
                    5, "did you mean \"name\"");
  check_build_error("{ plugin = \"filter\"; rules = (\n"
                    "  { name = 5; } ); }",
                    5, "\"name\" must be a string or an array of strings");
  check_build_error("{ plugin = \"filter\";\n rules = ( \"cpu\" ); }", 5, "must be a group");
}
END_TEST

int main(void) {
  Suite *s = suite_create("processors.filter");
  TCase *t = tcase_create("rules");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, baseline_is_the_input);
  tcase_add_test(t, no_rules_default_pass);
  tcase_add_test(t, no_rules_default_drop);
  tcase_add_test(t, name_criterion);
  tcase_add_test(t, tags_criterion);
  tcase_add_test(t, tags_every_key_required);
  tcase_add_test(t, fields_criterion);
  tcase_add_test(t, criteria_are_anded);
  tcase_add_test(t, first_matching_rule_wins);
  tcase_add_test(t, default_drop_with_pass_rules);
  tcase_add_test(t, empty_criteria_are_ignored);
  tcase_add_test(t, single_group_rules);
  tcase_add_test(t, selectors_bypass);
  tcase_add_test(t, two_filters_in_a_row);
  suite_add_tcase(s, t);
  TCase *e = tcase_create("config errors");
  tcase_add_checked_fixture(e, setup, teardown);
  tcase_add_test(e, bad_glob_in_name);
  tcase_add_test(e, bad_glob_in_fields_and_tags);
  tcase_add_test(e, bad_tags_shape);
  tcase_add_test(e, bad_action_and_default);
  suite_add_tcase(s, e);
  return check_run(s);
}
