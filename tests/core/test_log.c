/* Log lines: format, levels, instance prefix, repeat limiting, escaping,
 * credentials kept out of URLs, configured secrets scrubbed from any text,
 * and drop counts that add up however hard the limiter suppresses. */
#include "config.h"

#include <check.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tower/tower.h>

#include "harness.h"
#include "log_internal.h"
#include "secrets.h"
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

/* One line over the burst: the count reads "1 similar message". */
START_TEST(one_suppressed_is_singular) {
  for (int i = 0; i < 6; i++)
    tower_log(NULL, TOWER_LOG_ERROR, "disk full (try %d)", i);
  twi_log_set_window(1);
  usleep(1000);
  tower_log(NULL, TOWER_LOG_ERROR, "disk full (try %d)", 9);
  twi_log_set_window(60LL * 1000000000LL);
  char *text = th_read_file(path);
  ck_assert_int_eq(count_lines(text, "disk full"), 6);
  ck_assert_ptr_nonnull(strstr(text, "(try 9) (1 similar message suppressed)\n"));
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

/* ---- configured secrets never reach a line ---- */

/* The message part of the last line in the log (malloc'd). */
static char *last_message(void) {
  char *text = th_read_file(path);
  ck_assert_ptr_nonnull(text);
  size_t n = strlen(text);
  ck_assert(n > 0 && text[n - 1] == '\n');
  text[n - 1] = '\0';
  char *line = strrchr(text, '\n');
  line = line ? line + 1 : text;
  char *msg = strstr(line, "Z I! ");
  ck_assert_msg(msg != NULL, "not an info line: %s", line);
  msg = strdup(msg + 5);
  free(text);
  return msg;
}

static char *logged(const char *msg) {
  tower_log(NULL, TOWER_LOG_INFO, "%s", msg);
  return last_message();
}

static void assert_logged(const char *msg, const char *want) {
  char *got = logged(msg);
  ck_assert_msg(strcmp(got, want) == 0, "logged \"%s\"\n  as \"%s\"\nwanted \"%s\"", msg, got,
                want);
  free(got);
}

static const char owner; /* stands for a config view */

START_TEST(secrets_are_scrubbed) {
  twi_secret_add(&owner, "s3cr3t-pass");
  assert_logged("401: bad password s3cr3t-pass for tower",
                "401: bad password <redacted> for tower");
  assert_logged("s3cr3t-pass", "<redacted>");
  assert_logged("s3cr3t-pass at the start", "<redacted> at the start");
  assert_logged("at the end s3cr3t-pass", "at the end <redacted>");
  assert_logged("twice: s3cr3t-pass,s3cr3t-pass.", "twice: <redacted>,<redacted>.");
  assert_logged("s3cr3t-pas is not it", "s3cr3t-pas is not it");
  /* percent-encoded (a query string or form body echoed back) */
  twi_secret_add(&owner, "p@ss w0rd!");
  assert_logged("GET /write?u=tower&p=p%40ss%20w0rd%21 denied",
                "GET /write?u=tower&p=<redacted> denied");
  twi_secrets_forget(&owner);
  assert_logged("forgotten: s3cr3t-pass", "forgotten: s3cr3t-pass");
  /* too short to scrub without scrubbing everything */
  twi_secret_add(&owner, "abc");
  assert_logged("abc", "abc");
  twi_secrets_forget(&owner);
}
END_TEST

START_TEST(overlapping_secrets) {
  /* one secret a prefix of another: the longer one leaves no tail */
  twi_secret_add(&owner, "abcdef12");
  twi_secret_add(&owner, "abcdef1234");
  assert_logged("key=abcdef1234.", "key=<redacted>.");
  assert_logged("key=abcdef12.", "key=<redacted>.");
  /* two secrets overlapping in the text: one redaction covers both */
  twi_secret_add(&owner, "tok-ABCD");
  twi_secret_add(&owner, "ABCD-xyz");
  assert_logged("[tok-ABCD-xyz]", "[<redacted>]");
  /* a secret overlapping itself */
  twi_secret_add(&owner, "aaaa");
  assert_logged("baaaaaab", "b<redacted>b");
  twi_secrets_forget(&owner);
}
END_TEST

/* "Authorization: Basic base64(user:password)" echoed by a server: the
 * password sits at each of the three base64 alignments for user names of
 * 2, 3 and 4 bytes (the encodings come from base64(1)). What stays is the
 * user name's characters and the padding: no character carries a bit of
 * the password. */
START_TEST(secrets_in_base64) {
  twi_secret_add(&owner, "s3cr3t-pass");
  struct {
    const char *encoded, *logged;
  } cases[] = {
      {"dHc6czNjcjN0LXBhc3M=", "dHc6<redacted>="},        /* "tw:" + password */
      {"dG93OnMzY3IzdC1wYXNz", "dG93O<redacted>"},        /* "tow:" + password */
      {"dG93cjpzM2NyM3QtcGFzcw==", "dG93cj<redacted>=="}, /* "towr:" + password */
  };
  for (size_t i = 0; i < 3; i++) {
    char *msg = th_fmt("echo: Basic %s end", cases[i].encoded);
    char *want = th_fmt("echo: Basic %s end", cases[i].logged);
    assert_logged(msg, want);
    free(want);
    free(msg);
  }
  twi_secrets_forget(&owner);
}
END_TEST

/* Scrubbing happens before escaping: a secret with bytes that get escaped
 * is still found, and the escapes around it are intact. */
START_TEST(secret_with_escaped_bytes) {
  twi_secret_add(&owner, "pa\nss\xc3\xa9wd");
  assert_logged("\tpa\nss\xc3\xa9wd\xff", "\\t<redacted>\\xff");
  assert_logged("pa\nss\xc3\xa9", "pa\\nss\\xc3\\xa9");
  twi_secrets_forget(&owner);
}
END_TEST

/* A message longer than a line is cut; a secret straddling the cut must not
 * leave its beginning behind. */
START_TEST(secret_cut_by_truncation) {
  twi_secret_add(&owner, "s3cr3t-pass");
  for (size_t pad = 4085; pad <= 4096; pad++) {
    char *msg = malloc(pad + 32);
    memset(msg, 'x', pad);
    strcpy(msg + pad, "s3cr3t-pass tail");
    char *got = logged(msg);
    ck_assert_msg(strstr(got, "s3cr") == NULL && strstr(got, "s3") == NULL, "pad %zu: ...%s", pad,
                  got + strlen(got) - 20);
    /* whatever of the secret fits is redacted, nothing of it is shown */
    size_t xs = strspn(got, "x");
    ck_assert_msg(got[xs] == '\0' || strncmp(got + xs, "<redacted>", 10) == 0, "pad %zu: %s", pad,
                  got + xs);
    free(got);
    free(msg);
  }
  twi_secrets_forget(&owner);
}
END_TEST

/* End to end: a secret option set through ${VAR} is scrubbed from every
 * line, the agent's included, while the pipeline that configured it lives. */
START_TEST(secret_option_from_environment) {
  setenv("TOWER_TEST_SECRET", "from-the-env-42", 1);
  char *c = th_fmt("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; "
                   "secret = \"${TOWER_TEST_SECRET}\"; } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n");
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  tower_log(pl->inputs[0], TOWER_LOG_ERROR, "stderr: token from-the-env-42 rejected");
  assert_logged("server said: from-the-env-42", "server said: <redacted>");
  th_free(pl);
  assert_logged("after the pipeline: from-the-env-42", "after the pipeline: from-the-env-42");
  char *text = th_read_file(path);
  ck_assert_ptr_nonnull(strstr(text, "[inputs.lines] stderr: token <redacted> rejected\n"));
  free(text);
  free(c);
  unsetenv("TOWER_TEST_SECRET");
}
END_TEST

/* Every byte value, alone in a message: the line is printable ASCII, and
 * each byte is itself or its escape. */
START_TEST(every_byte_is_escaped) {
  for (int b = 0; b < 256; b++)
    tower_log(NULL, TOWER_LOG_INFO, "[%c]", b);
  char *text = th_read_file(path);
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    ck_assert_msg(*p == '\n' || (*p >= 0x20 && *p < 0x7f), "raw byte 0x%02x in the log", *p);
  const char *line = text;
  for (int b = 0; b < 256; b++) {
    char want[16];
    if (b == '\n' || b == '\r' || b == '\t' || b == '\\')
      snprintf(want, sizeof want, "[\\%c]\n",
               b == '\n'   ? 'n'
               : b == '\r' ? 'r'
               : b == '\t' ? 't'
                           : '\\');
    else if (b < 0x20 || b >= 0x7f)
      snprintf(want, sizeof want, "[\\x%02x]\n", b);
    else
      snprintf(want, sizeof want, "[%c]\n", b);
    const char *msg = strstr(line, " I! ");
    ck_assert_ptr_nonnull(msg);
    ck_assert_msg(strncmp(msg + 4, want, strlen(want)) == 0, "byte 0x%02x logged as %.*s", b,
                  (int)strcspn(msg + 4, "\n"), msg + 4);
    line = strchr(msg, '\n') + 1;
  }
  ck_assert_str_eq(line, "");
  free(text);
}
END_TEST

/* ---- drop counts add up ---- */

/* Sum of N over "[id] metric buffer overflow; N metrics" lines. */
static unsigned long long overflow_sum(const char *text, const char *id) {
  char *needle = th_fmt("[%s] metric buffer overflow; ", id);
  unsigned long long sum = 0;
  for (const char *p = text; (p = strstr(p, needle)); p++)
    sum += strtoull(p + strlen(needle), NULL, 10);
  free(needle);
  return sum;
}

static void cycles(twi_pipeline *pl, int n) {
  for (int i = 0; i < n; i++) {
    th_gather(pl);
    th_flush(pl);
  }
}

/* Every gather pushes 10 metrics into a buffer of 2 (8 dropped) and every
 * flush writes 2, one of them rejected; a second output drops whatever it
 * is given. The limiter lets 5 overflow lines a minute through: the counts
 * of the lines it lets through, plus what the summary says no line
 * reported, add up to every metric dropped, and the summary at the end
 * splits the losses by cause. */
START_TEST(drop_counts_add_up) {
  char *c = th_fmt(
      "inputs = ( { plugin = \"lines\"; lines = [\"m v=1\", \"m v=2\", \"m v=3\", \"m v=4\", "
      "\"m v=5\", \"m v=6\", \"m v=7\", \"m v=8\", \"m v=9\", \"m v=10\"]; } );\n"
      "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; metric_buffer_limit = 2; "
      "metric_batch_size = 2; reject = 1; },\n"
      "  { plugin = \"record\"; alias = \"broken\"; path = \"/dev/null\"; drop = true; } );\n");
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  cycles(pl, 30); /* 5 lines print, 25 are suppressed */
  twi_log_set_window(1);
  cycles(pl, 1); /* a new window: this line carries the 25 suppressed counts */
  twi_log_set_window(60LL * 1000000000LL);
  cycles(pl, 10); /* 4 more lines fit the new window's burst, 6 are suppressed */
  char *text = th_read_file(path);
  ck_assert_int_eq(count_lines(text, "[outputs.record] metric buffer overflow; "), 10);
  ck_assert_ptr_nonnull(strstr(text, "[outputs.record] metric buffer overflow; 208 metrics"));
  ck_assert_int_eq(overflow_sum(text, "outputs.record"), 41 * 8 - 6 * 8);
  free(text);
  th_free(pl);
  text = th_read_file(path);
  ck_assert_ptr_nonnull(
      strstr(text, "[outputs.record] stopped; 369 metrics were dropped since it started: 328 on "
                   "buffer overflow (metric_buffer_limit = 2, 48 of them in no overflow line "
                   "above), 41 rejected by the server, 0 otherwise (permanent write failures, out "
                   "of memory); 41 were written\n"));
  ck_assert_ptr_nonnull(
      strstr(text, "[outputs.record:broken] stopped; 410 metrics were dropped since it started: 0 "
                   "on buffer overflow (metric_buffer_limit = 10000), 0 rejected by the server, "
                   "410 otherwise (permanent write failures, out of memory); 0 were written\n"));
  free(text);
  free(c);
}
END_TEST

/* An output that lost nothing says nothing when it stops. */
START_TEST(no_summary_without_drops) {
  twi_pipeline *pl = th_start("inputs = ( { plugin = \"lines\"; lines = [\"m v=1\"]; } );\n"
                              "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
                              TWI_ONCE);
  cycles(pl, 3);
  th_free(pl);
  char *text = th_read_file(path);
  ck_assert_ptr_null(strstr(text ? text : "", "stopped;"));
  free(text);
}
END_TEST

int main(void) {
  Suite *s = suite_create("log");
  TCase *t = tcase_create("log");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, line_format);
  tcase_add_test(t, instance_prefix_and_level_override);
  tcase_add_test(t, repeats_are_limited);
  tcase_add_test(t, one_suppressed_is_singular);
  tcase_add_test(t, redact_urls);
  tcase_add_test(t, secrets_are_scrubbed);
  tcase_add_test(t, overlapping_secrets);
  tcase_add_test(t, secrets_in_base64);
  tcase_add_test(t, secret_with_escaped_bytes);
  tcase_add_test(t, secret_cut_by_truncation);
  tcase_add_test(t, secret_option_from_environment);
  tcase_add_test(t, every_byte_is_escaped);
  tcase_add_test(t, drop_counts_add_up);
  tcase_add_test(t, no_summary_without_drops);
  suite_add_tcase(s, t);
  return check_run(s);
}
