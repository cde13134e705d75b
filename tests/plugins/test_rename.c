/* processors.rename through the real core: line protocol in (lines input),
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
    "net_throughput,hostname=a,iface=eth0 lower=1.5,upper=9i,state=\"up\",ok=true,n=3u 1",
    "mem,hostname=b used=10i 2",
    NULL,
};

START_TEST(no_processor_baseline) {
  pipe_lp_check(dir, input, "",
                "net_throughput,hostname=a,iface=eth0 lower=1.5,n=3u,ok=true,state=\"up\",upper=9i "
                "1\n"
                "mem,hostname=b used=10i 2\n");
}
END_TEST

START_TEST(measurement) {
  pipe_lp_check(dir, input,
                "{ plugin = \"rename\"; replace = ( { measurement = \"net_throughput\"; dest = "
                "\"net\"; } ); }",
                "net,hostname=a,iface=eth0 lower=1.5,n=3u,ok=true,state=\"up\",upper=9i 1\n"
                "mem,hostname=b used=10i 2\n");
  /* matched exactly, not as a glob */
  pipe_lp_check(dir, input,
                "{ plugin = \"rename\"; replace = { measurement = \"net*\"; dest = \"x\"; }; }",
                "net_throughput,hostname=a,iface=eth0 lower=1.5,n=3u,ok=true,state=\"up\",upper=9i "
                "1\n"
                "mem,hostname=b used=10i 2\n");
}
END_TEST

START_TEST(tag) {
  pipe_lp_check(dir, input,
                "{ plugin = \"rename\"; replace = ( { tag = \"hostname\"; dest = \"host\"; } ); }",
                "net_throughput,host=a,iface=eth0 lower=1.5,n=3u,ok=true,state=\"up\",upper=9i 1\n"
                "mem,host=b used=10i 2\n");
  /* onto an existing tag: replaces it */
  pipe_lp_check(dir, input,
                "{ plugin = \"rename\"; replace = ( { tag = \"hostname\"; dest = \"iface\"; } ); }",
                "net_throughput,iface=a lower=1.5,n=3u,ok=true,state=\"up\",upper=9i 1\n"
                "mem,iface=b used=10i 2\n");
}
END_TEST

START_TEST(field_every_type) {
  pipe_lp_check(
      dir, input,
      "{ plugin = \"rename\"; replace = (\n"
      "  { field = \"lower\"; dest = \"min\"; },\n"
      "  { field = \"upper\"; dest = \"max\"; },\n"
      "  { field = \"state\"; dest = \"link\"; },\n"
      "  { field = \"ok\"; dest = \"good\"; },\n"
      "  { field = \"n\"; dest = \"count\"; },\n"
      "  { field = \"used\"; dest = \"lower\"; } ); }",
      "net_throughput,hostname=a,iface=eth0 count=3u,good=true,link=\"up\",max=9i,min=1.5 "
      "1\n"
      "mem,hostname=b lower=10i 2\n");
  /* onto an existing field: replaces it, with the renamed field's type */
  pipe_lp_check(dir, input,
                "{ plugin = \"rename\"; replace = ( { field = \"state\"; dest = \"lower\"; } ); }",
                "net_throughput,hostname=a,iface=eth0 lower=\"up\",n=3u,ok=true,upper=9i 1\n"
                "mem,hostname=b used=10i 2\n");
}
END_TEST

START_TEST(rules_apply_in_order) {
  /* the second rule sees what the first renamed */
  pipe_lp_check(
      dir, input,
      "{ plugin = \"rename\"; replace = (\n"
      "  { tag = \"hostname\"; dest = \"host\"; },\n"
      "  { tag = \"host\"; dest = \"server\"; },\n"
      "  { measurement = \"mem\"; dest = \"memory\"; },\n"
      "  { measurement = \"memory\"; dest = \"ram\"; } ); }",
      "net_throughput,iface=eth0,server=a lower=1.5,n=3u,ok=true,state=\"up\",upper=9i 1\n"
      "ram,server=b used=10i 2\n");
}
END_TEST

START_TEST(absent_keys_and_same_name) {
  pipe_lp_check(dir, input,
                "{ plugin = \"rename\"; replace = (\n"
                "  { tag = \"nope\"; dest = \"x\"; },\n"
                "  { field = \"nope\"; dest = \"x\"; },\n"
                "  { field = \"used\"; dest = \"used\"; },\n"
                "  { tag = \"iface\"; dest = \"iface\"; } ); }",
                "net_throughput,hostname=a,iface=eth0 lower=1.5,n=3u,ok=true,state=\"up\",upper=9i "
                "1\n"
                "mem,hostname=b used=10i 2\n");
}
END_TEST

START_TEST(config_errors) {
  pipe_lp_init_error(dir,
                     "{ plugin = \"rename\"; replace = (\n { tag = \"a\"; field = \"b\"; "
                     "dest = \"c\"; } ); }",
                     5, "processors.rename", "replace[0] must name exactly one of measurement");
  pipe_lp_init_error(dir,
                     "{ plugin = \"rename\"; replace = (\n { dest = \"c\"; },\n"
                     " { tag = \"a\"; dest = \"b\"; } ); }",
                     5, "processors.rename", "(it names 0)");
  pipe_lp_init_error(dir,
                     "{ plugin = \"rename\"; replace = (\n { tag = \"a\"; dest = \"b\"; },\n"
                     " { field = \"\"; dest = \"b\"; } ); }",
                     6, "processors.rename", "replace[1]: field and dest must not be empty");
  pipe_lp_build_error(dir, "{ plugin = \"rename\"; replace = (\n { tag = \"a\"; } ); }", 5, "dest");
  pipe_lp_build_error(dir,
                      "{ plugin = \"rename\"; replace = (\n { tags = \"a\"; dest = \"b\"; } ); }",
                      5, "did you mean \"tag\"");
}
END_TEST

int main(void) {
  Suite *s = suite_create("processors.rename");
  TCase *t = tcase_create("rename");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, no_processor_baseline);
  tcase_add_test(t, measurement);
  tcase_add_test(t, tag);
  tcase_add_test(t, field_every_type);
  tcase_add_test(t, rules_apply_in_order);
  tcase_add_test(t, absent_keys_and_same_name);
  tcase_add_test(t, config_errors);
  suite_add_tcase(s, t);
  return check_run(s);
}
