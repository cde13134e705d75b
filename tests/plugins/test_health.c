/* outputs.health through the real core, driven synchronously: gathers and
 * flushes of a pipeline (the lines and record fixtures, which fail on
 * demand) change what the real health endpoint answers, asked over a real
 * loopback connection. The pipeline is registered as the running one by
 * hand (twi_stats_set_running), as twi_pipeline_start does for the daemon;
 * tests/integration/health.sh runs the real binary. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tower/tower.h>

#include "check_run.h"
#include "harness.h"
#include "loopback.h"

static char *dir;
static unsigned port;

static void setup(void) {
  dir = th_tmpdir();
  port = loopback_unused_port();
  ck_assert_uint_ne(port, 0);
}

static void teardown(void) {
  th_rmrf(dir);
  free(dir);
}

/* GET path: the status code, the body in body[size]. */
static int get(const char *path, char *body, size_t size) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  char req[256];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
  ck_assert_int_eq(write(fd, req, (size_t)n), n);
  static char resp[16384];
  size_t len = 0;
  for (ssize_t k; len < sizeof resp - 1 && (k = read(fd, resp + len, sizeof resp - 1 - len)) > 0;)
    len += (size_t)k;
  close(fd);
  resp[len] = '\0';
  int status = 0;
  ck_assert_int_eq(sscanf(resp, "HTTP/1.%*d %d", &status), 1);
  const char *b = strstr(resp, "\r\n\r\n");
  snprintf(body, size, "%s", b ? b + 4 : "");
  return status;
}

#define ck_get(path, want_status, want_body)                                                       \
  do {                                                                                             \
    char body_[8192];                                                                              \
    int st_ = get(path, body_, sizeof body_);                                                      \
    ck_assert_msg(st_ == (want_status), "%s: %d, not %d: %s", path, st_, want_status, body_);      \
    ck_assert_msg(strstr(body_, want_body), "%s lacks %s: %s", path, want_body, body_);            \
  } while (0)

START_TEST(test_checks_follow_the_pipeline) {
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"lines\"; lines = [\"a v=1i\"]; fail = true; "
                   "alias = \"bad\"; },\n"
                   "           { plugin = \"lines\"; lines = [\"b v=1i\"]; } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; fail_writes = 2; },\n"
                   "            { plugin = \"health\"; service_address = \"http://127.0.0.1:%u\"; "
                   "namepass = [\"none\"]; max_failed_gathers = 2; max_failed_writes = 2; "
                   "max_buffer_fill = 0.5; metric_buffer_limit = 10; } );\n",
                   dir, port);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  /* not registered as running yet: the agent runs nothing */
  ck_get("/health", 503, "\"check\":\"running\",\"plugin\":\"agent\"");
  twi_stats_set_running(pl);
  ck_get("/health", 200,
         "{\"status\":\"pass\",\"check\":\"health\",\"inputs\":2,\"outputs\":2,"
         "\"failures\":[]}");
  ck_get("/", 200, "\"status\":\"pass\"");
  /* a --once pipeline never starts its plugins: not ready */
  ck_get("/ready", 503, "\"check\":\"started\",\"plugin\":\"inputs.lines:bad\"");
  ck_get("/nope", 404, "use /health or /ready");

  ck_assert_int_eq(th_gather(pl), 1);
  ck_get("/health", 200, "\"failures\":[]"); /* one failure is not two in a row */
  ck_assert_int_eq(th_gather(pl), 1);
  ck_get("/health", 503,
         "{\"check\":\"max_failed_gathers\",\"plugin\":\"inputs.lines:bad\",\"message\":\"its "
         "last 2 gathers failed (max_failed_gathers 2; see its errors in the log)\"}");

  ck_assert_uint_ne(th_flush(pl), 0);
  ck_assert_uint_ne(th_flush(pl), 0);
  ck_get("/health", 503,
         "{\"check\":\"max_failed_writes\",\"plugin\":\"outputs.record\",\"message\":\"its last "
         "2 writes failed");
  ck_assert_uint_eq(th_flush(pl), 0);
  char body[8192];
  ck_assert_int_eq(get("/health", body, sizeof body), 503); /* the input still fails */
  ck_assert_ptr_null(strstr(body, "max_failed_writes"));
  twi_stats_unset_running(pl);
  ck_get("/ready", 503, "\"check\":\"running\"");
  th_free(pl);
  free(c);
}
END_TEST

/* max_buffer_fill: the output's buffer holds 4 of 5 metrics. */
START_TEST(test_buffer_fill) {
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"lines\"; lines = [\"a v=1i\", \"b v=1i\"]; } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; fail_writes = -1; "
                   "metric_buffer_limit = 5; },\n"
                   "            { plugin = \"health\"; service_address = \"127.0.0.1:%u\"; "
                   "namepass = [\"none\"]; max_buffer_fill = 0.7; } );\n",
                   dir, port);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  twi_stats_set_running(pl);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_get("/health", 200, "\"failures\":[]"); /* 2 of 5 */
  ck_assert_int_eq(th_gather(pl), 0);
  ck_get("/health", 503,
         "{\"check\":\"max_buffer_fill\",\"plugin\":\"outputs.record\",\"message\":\"its buffer "
         "holds 4 of 5 metrics (80%), more than max_buffer_fill 0.7");
  twi_stats_unset_running(pl);
  th_free(pl);
  free(c);
}
END_TEST

START_TEST(test_config_errors) {
  const char *bad[] = {"service_address = \"unix:///run/tower.sock\";",
                       "service_address = \"https://127.0.0.1:0\";",
                       "service_address = \"http://127.0.0.1:0/health\";", "max_buffer_fill = 1.5;",
                       "compares = ( { lt = 1.0; } );"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *c = th_fmt("inputs = ( { plugin = \"lines\"; lines = [\"a v=1i\"]; } );\n"
                     "outputs = ( { plugin = \"health\"; %s } );\n",
                     bad[i]);
    char *errors = NULL;
    twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
    if (pl) {
      ck_assert_msg(twi_pipeline_init(pl) != 0, "accepted: %s", bad[i]);
      th_free(pl);
    }
    free(errors);
    free(c);
  }
}
END_TEST

static Suite *health_suite(void) {
  Suite *s = suite_create("outputs.health");
  TCase *tc = tcase_create("health");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_checks_follow_the_pipeline);
  tcase_add_test(tc, test_buffer_fill);
  tcase_add_test(tc, test_config_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return check_run(health_suite());
}
