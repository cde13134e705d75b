/* processors.enum through the real core: line protocol in (lines input),
 * the processor, line protocol out (record output). */
#include "config.h"

#include <check.h>

#include <tower/tower.h>

#include "check_run.h"
#include "pipe_lp.h"

static char *dir;

static void setup(void) {
  dir = th_tmpdir();
}
static void teardown(void) {
  th_rmrf(dir);
  free(dir);
}

static const char *const input[] = {
    "web,color=green,code=200 state=\"amber\",http=200i,up=true,ratio=0.5,other=\"red\",n=7u 1",
    "web,color=blue state=\"purple\" 2",
    NULL,
};

START_TEST(no_processor_baseline) {
  pipe_lp_check(dir, input, "",
                "web,code=200,color=green http=200i,n=7u,other=\"red\",ratio=0.5,state=\"amber\","
                "up=true 1\n"
                "web,color=blue state=\"purple\" 2\n");
}
END_TEST

START_TEST(field_to_dest_with_types) {
  /* mapped values keep their configured types; unmapped values are left alone */
  pipe_lp_check(dir, input,
                "{ plugin = \"enum\"; mapping = ( { fields = [\"state\"]; dest = \"state_code\";\n"
                "  value_mappings = { green = 1; amber = 2.5; red = true; }; } ); }",
                "web,code=200,color=green http=200i,n=7u,other=\"red\",ratio=0.5,state=\"amber\","
                "state_code=2.5,up=true 1\n"
                "web,color=blue state=\"purple\" 2\n");
}
END_TEST

START_TEST(in_place_and_default) {
  /* no dest: the source field is replaced, here by an integer; default for the rest */
  pipe_lp_check(dir, input,
                "{ plugin = \"enum\"; mapping = { fields = [\"state\", \"other\"]; default = -1;\n"
                "  value_mappings = { green = 1; amber = 2; red = 3; }; }; }",
                "web,code=200,color=green http=200i,n=7u,other=3i,ratio=0.5,state=2i,up=true 1\n"
                "web,color=blue state=-1i 2\n");
}
END_TEST

START_TEST(non_string_fields_by_text) {
  /* booleans as true/false, integers in decimal; floats are never mapped */
  pipe_lp_check(
      dir, input,
      "{ plugin = \"enum\"; mapping = ( { fields = [\"up\", \"http\", \"n\", \"ratio\"];\n"
      "  value_mappings = ( (\"true\", \"yes\"), (200, \"ok\"), (\"7\", 8),"
      " (\"0.5\", \"half\") ); } ); }",
      "web,code=200,color=green http=\"ok\",n=8i,other=\"red\",ratio=0.5,state=\"amber\","
      "up=\"yes\" 1\n"
      "web,color=blue state=\"purple\" 2\n");
}
END_TEST

START_TEST(tags_get_text) {
  pipe_lp_check(
      dir, input,
      "{ plugin = \"enum\"; mapping = ( { tags = [\"c*\"];\n"
      "  value_mappings = ( (\"green\", 1), (\"200\", \"OK\"), (\"blue\", 0.25) ); } ); }",
      "web,code=OK,color=1 http=200i,n=7u,other=\"red\",ratio=0.5,state=\"amber\","
      "up=true 1\n"
      "web,color=0.25 state=\"purple\" 2\n");
  /* to another tag, with a default */
  pipe_lp_check(dir, input,
                "{ plugin = \"enum\"; mapping = ( { tags = [\"color\"]; dest = \"ok\"; "
                "default = false;\n"
                "  value_mappings = { green = true; }; } ); }",
                "web,code=200,color=green,ok=true http=200i,n=7u,other=\"red\",ratio=0.5,"
                "state=\"amber\",up=true 1\n"
                "web,color=blue,ok=false state=\"purple\" 2\n");
}
END_TEST

START_TEST(mappings_see_the_input) {
  /* the second mapping sees state="amber", not the first mapping's result */
  pipe_lp_check(dir, input,
                "{ plugin = \"enum\"; mapping = (\n"
                "  { fields = [\"state\"]; value_mappings = { amber = \"red\"; }; },\n"
                "  { fields = [\"state\"]; dest = \"level\"; value_mappings = { amber = 2; red = "
                "3; }; } ); }",
                "web,code=200,color=green http=200i,level=2i,n=7u,other=\"red\",ratio=0.5,"
                "state=\"red\",up=true 1\n"
                "web,color=blue state=\"purple\" 2\n");
}
END_TEST

START_TEST(deprecated_single_keys) {
  pipe_lp_check(dir, input,
                "{ plugin = \"enum\"; mapping = ( { field = \"state\"; tag = \"color\";\n"
                "  value_mappings = { amber = 2; green = \"g\"; }; } ); }",
                "web,code=200,color=g http=200i,n=7u,other=\"red\",ratio=0.5,state=2i,up=true 1\n"
                "web,color=blue state=\"purple\" 2\n");
}
END_TEST

START_TEST(empty_tag_value_removes_the_tag) {
  /* no output can write an empty tag: it goes, as from Telegraf's serializers */
  pipe_lp_check(dir, input,
                "{ plugin = \"enum\"; mapping = ( { tags = [\"code\"]; dest = \"color\";\n"
                "  value_mappings = ( (\"200\", \"\") ); } ); }",
                "web,code=200 http=200i,n=7u,other=\"red\",ratio=0.5,state=\"amber\",up=true 1\n"
                "web,color=blue state=\"purple\" 2\n");
}
END_TEST

START_TEST(config_errors) {
  pipe_lp_init_error(dir, "{ plugin = \"enum\"; mapping = (\n { dest = \"x\"; } ); }", 5,
                     "processors.enum", "mapping[0] selects nothing");
  pipe_lp_init_error(dir,
                     "{ plugin = \"enum\"; mapping = ( { fields = [\"a\"];\n"
                     " value_mappings = { a = [1, 2]; }; } ); }",
                     5, "processors.enum", "value_mappings must be a string, an integer");
  pipe_lp_init_error(dir,
                     "{ plugin = \"enum\"; mapping = ( { fields = [\"a\"];\n"
                     " value_mappings = ( (\"a\", 1), (\"a\", 2) ); } ); }",
                     5, "processors.enum", "maps \"a\" twice");
  pipe_lp_init_error(dir,
                     "{ plugin = \"enum\"; mapping = ( { fields = [\"a\"];\n"
                     " value_mappings = ( (\"a\", 1, 2) ); } ); }",
                     5, "processors.enum", "value_mappings[0] must be a pair");
  pipe_lp_init_error(dir,
                     "{ plugin = \"enum\"; mapping = ( { fields = [\"a\"];\n"
                     " value_mappings = \"a\"; } ); }",
                     5, "processors.enum", "value_mappings must be a group");
  pipe_lp_init_error(dir,
                     "{ plugin = \"enum\"; mapping = ( { fields = [\"a\"];\n"
                     " default = { x = 1; }; } ); }",
                     5, "processors.enum", "default must be a string");
  pipe_lp_build_error(dir, "{ plugin = \"enum\"; mapping = ( {\n fields = [\"a[\"]; } ); }", 5,
                      "has '[' without a closing ']'");
}
END_TEST

int main(void) {
  Suite *s = suite_create("processors.enum");
  TCase *t = tcase_create("enum");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, no_processor_baseline);
  tcase_add_test(t, field_to_dest_with_types);
  tcase_add_test(t, in_place_and_default);
  tcase_add_test(t, non_string_fields_by_text);
  tcase_add_test(t, tags_get_text);
  tcase_add_test(t, mappings_see_the_input);
  tcase_add_test(t, deprecated_single_keys);
  tcase_add_test(t, empty_tag_value_removes_the_tag);
  tcase_add_test(t, config_errors);
  suite_add_tcase(s, t);
  return check_run(s);
}
