/* Log lines: format, levels, instance prefix, repeat limiting, escaping,
 * and credentials kept out of URLs. */
#include "config.h"

#include <check.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tower/tower.h>

#include "harness.h"
#include "log_internal.h"
#include "check_run.h"

static char *dir, *path;

static void setup(void) {
  dir = th_tmpdir();
  path = th_fmt("%s/log", dir);
  ck_assert_int_eq(twi_log_set_file(path), 0);
  twi_log_set_level(TOWER_LOG_INFO);
}

static void teardown(void) {
  twi_log_set_file(NULL);
  th_rmrf(dir);
  free(path);
  free(dir);
}

static int count_lines(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p++)
    n++;
  return n;
}

START_TEST(line_format) {
  tower_log(NULL, TOWER_LOG_ERROR, "disk %s is full", "/data");
  tower_log(NULL, TOWER_LOG_DEBUG, "not shown at info");
  char *text = th_read_file(path);
  regex_t re;
  ck_assert_int_eq(regcomp(&re,
                           "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z E! disk /data "
                           "is full\n$",
                           REG_EXTENDED),
                   0);
  ck_assert_msg(regexec(&re, text, 0, NULL, 0) == 0, "bad line: %s", text);
  regfree(&re);
  free(text);
}
END_TEST

START_TEST(instance_prefix_and_level_override) {
  char *c = th_fmt("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; alias = \"db\"; "
                   "log_level = \"debug\"; } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n");
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  tower_log(pl->inputs[0], TOWER_LOG_DEBUG, "visible because of the instance level");
  tower_log(pl->outputs[0], TOWER_LOG_DEBUG, "hidden at the agent level");
  tower_log(pl->outputs[0], TOWER_LOG_WARN, "multi\nline\tmessage");
  th_free(pl);
  char *text = th_read_file(path);
  ck_assert_ptr_nonnull(
      strstr(text, " D! [inputs.lines:db] visible because of the instance level\n"));
  ck_assert_ptr_null(strstr(text, "hidden"));
  ck_assert_ptr_nonnull(strstr(text, " W! [outputs.record] multi\\nline\\tmessage\n"));
  free(text);
  free(c);
}
END_TEST

START_TEST(repeats_are_limited) {
  for (int i = 0; i < 50; i++)
    tower_log(NULL, TOWER_LOG_ERROR, "connection refused (attempt %d)", i);
  for (int i = 0; i < 20; i++)
    tower_log(NULL, TOWER_LOG_INFO, "info %d is never limited", i);
  char *text = th_read_file(path);
  ck_assert_int_eq(count_lines(text, "connection refused"), 5);
  ck_assert_int_eq(count_lines(text, "is never limited"), 20);
  free(text);
  /* after the window the next line reports how many were suppressed */
  twi_log_set_window(1);
  usleep(1000);
  tower_log(NULL, TOWER_LOG_ERROR, "connection refused (attempt %d)", 99);
  twi_log_set_window(60LL * 1000000000LL);
  text = th_read_file(path);
  ck_assert_ptr_nonnull(strstr(text, "(attempt 99) (45 similar messages suppressed)"));
  free(text);
}
END_TEST

START_TEST(redact_urls) {
  struct {
    const char *in, *out;
  } cases[] = {
      {"http://db:8086/write?db=x", "http://db:8086/write?db=x"},
      {"http://user:s3cret@db:8086/write", "http://user:xxxxx@db:8086/write"},
      {"https://user@db/x", "https://user@db/x"},
      {"http://db/write?db=x&u=tower&p=s3cret", "http://db/write?db=x&u=tower&p=xxxxx"},
      {"http://db/?token=abc&x=1#frag", "http://db/?token=xxxxx&x=1#frag"},
      {"http://a:b@c@host/path?Password=1", "http://a:xxxxx@host/path?Password=xxxxx"},
      {"unix:///var/run/docker.sock", "unix:///var/run/docker.sock"},
      {"", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char out[256];
    ck_assert_str_eq(tower_redact_url(cases[i].in, out, sizeof out), cases[i].out);
  }
  char tiny[8];
  ck_assert_str_eq(tower_redact_url("http://user:pw@host", tiny, sizeof tiny), "http://");
}
END_TEST

int main(void) {
  Suite *s = suite_create("log");
  TCase *t = tcase_create("log");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, line_format);
  tcase_add_test(t, instance_prefix_and_level_override);
  tcase_add_test(t, repeats_are_limited);
  tcase_add_test(t, redact_urls);
  suite_add_tcase(s, t);
  return check_run(s);
}
