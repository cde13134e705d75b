/* The service-manager protocol (sd_notify) as the real tower binary speaks
 * it: this test owns the unix datagram socket NOTIFY_SOCKET names, which is
 * all systemd is to a Type=notify service (no systemd needed), and reads
 * what the agent says as it starts, reloads and stops, and the WATCHDOG=1
 * pings that WATCHDOG_USEC asks for, which must stop when an output's
 * write hangs or an input's schedule stalls (the fixture plugins' delay
 * and sleep options). Waits are on the socket, never blind sleeps. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"
#include "harness.h"

typedef struct {
  char *dir;
  int sock;
  pid_t pid;
} agent;

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mono_usec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void run_tower(const agent *a, const char *conf, const char *watchdog_usec,
                      const char *sock) {
  setenv("NOTIFY_SOCKET", sock, 1);
  if (watchdog_usec)
    setenv("WATCHDOG_USEC", watchdog_usec, 1);
  else
    unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  char *log = th_fmt("%s/tower.log", a->dir);
  int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
  }
  const char *tower = getenv("TOWER");
  execl(tower, "tower", "--config", conf, (char *)NULL);
  _exit(127);
}

/* Binds the socket, writes the configuration and starts tower. */
static void agent_start(agent *a, const char *conf_text, const char *watchdog_usec) {
  ck_assert_msg(getenv("TOWER") != NULL, "TOWER (the binary under test) is not set");
  a->dir = th_tmpdir();
  char *sock = th_fmt("%s/notify", a->dir), *conf = th_fmt("%s/tower.conf", a->dir);
  ck_assert_int_eq(th_write_file(conf, conf_text), 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  ck_assert_uint_lt(strlen(sock), sizeof sa.sun_path);
  strcpy(sa.sun_path, sock);
  a->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(a->sock, 0);
  ck_assert_int_eq(bind(a->sock, (struct sockaddr *)&sa, sizeof sa), 0);
  a->pid = fork();
  ck_assert_int_ge(a->pid, 0);
  if (a->pid == 0)
    run_tower(a, conf, watchdog_usec, sock);
  free(sock);
  free(conf);
}

/* The next datagram within timeout_ms (the caller frees it), or NULL. */
static char *next_msg(agent *a, int timeout_ms) {
  struct pollfd p = {.fd = a->sock, .events = POLLIN};
  int n;
  while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
    ;
  if (n <= 0)
    return NULL;
  char buf[4096];
  ssize_t len = recv(a->sock, buf, sizeof buf - 1, 0);
  ck_assert_int_ge(len, 0);
  buf[len] = '\0';
  return strdup(buf);
}

static char *tower_log_text(const agent *a) {
  char *path = th_fmt("%s/tower.log", a->dir), *text = th_read_file(path);
  free(path);
  return text ? text : strdup("(no log)");
}

/* The next message starting with `prefix` within timeout_ms, skipping
 * watchdog pings (counted in *pings when given) and lone STATUS= lines. */
static char *wait_msg(agent *a, const char *prefix, int timeout_ms, int *pings) {
  int64_t end = mono_ms() + timeout_ms;
  for (int64_t left; (left = end - mono_ms()) > 0;) {
    char *m = next_msg(a, (int)left);
    if (!m)
      break;
    if (strncmp(m, prefix, strlen(prefix)) == 0)
      return m;
    if (strcmp(m, "WATCHDOG=1") == 0 && pings)
      (*pings)++;
    else
      ck_assert_msg(strcmp(m, "WATCHDOG=1") == 0 || strncmp(m, "STATUS=", 7) == 0,
                    "unexpected message while waiting for %s: %s", prefix, m);
    free(m);
  }
  ck_abort_msg("no %s within %d ms; tower's log:\n%s", prefix, timeout_ms, tower_log_text(a));
  return NULL;
}

/* Sends `sig`, waits for the exit and cleans up; returns the wait status. */
static int agent_end(agent *a, int sig) {
  kill(a->pid, sig);
  int status = 0;
  while (waitpid(a->pid, &status, 0) < 0 && errno == EINTR)
    ;
  close(a->sock);
  th_rmrf(a->dir);
  free(a->dir);
  return status;
}

static char *conf(const char *agent_extra, const char *input_extra, const char *output_extra) {
  return th_fmt("agent = { omit_hostname = true; %s };\n"
                "inputs = ( { plugin = \"lines\"; lines = [\"m v=1i\"]; %s } );\n"
                "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; %s } );\n",
                agent_extra, input_extra, output_extra);
}

START_TEST(ready_reload_stop) {
  agent a;
  char *c = conf("interval = \"100ms\"; flush_interval = \"100ms\";", "", "");
  agent_start(&a, c, NULL);
  char *m = wait_msg(&a, "READY=1", 10000, NULL);
  ck_assert_str_eq(m, "READY=1\nSTATUS=running: 1 input, 1 output");
  free(m);

  /* SIGHUP: RELOADING=1 with the monotonic time it began, then READY=1. */
  uint64_t before = mono_usec();
  kill(a.pid, SIGHUP);
  m = wait_msg(&a, "RELOADING=1\n", 10000, NULL);
  unsigned long long at = 0;
  ck_assert_msg(sscanf(m, "RELOADING=1\nMONOTONIC_USEC=%llu\n", &at) == 1, "%s", m);
  ck_assert_uint_ge(at, before);
  ck_assert_uint_le(at, mono_usec());
  ck_assert_ptr_nonnull(strstr(m, "\nSTATUS=reloading"));
  free(m);
  m = wait_msg(&a, "READY=1", 10000, NULL);
  ck_assert_str_eq(m, "READY=1\nSTATUS=running (reloaded): 1 input, 1 output");
  free(m);

  /* SIGTERM: STOPPING=1 before the final flush, then a clean exit. Not a
   * single ping in all this: nobody asked for them. */
  kill(a.pid, SIGTERM);
  m = next_msg(&a, 10000);
  ck_assert_ptr_nonnull(m);
  ck_assert_str_eq(m, "STOPPING=1\nSTATUS=stopping: final flush");
  free(m);
  int status = agent_end(&a, 0);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
  free(c);
}
END_TEST

/* Pings every WATCHDOG_USEC/2 (100 ms here) while all is alive, including
 * an input whose gathers (300ms) overrun its 100ms interval but stay
 * within max(3 intervals, shutdown_timeout = 2s): slow is not hung. */
START_TEST(pings_while_alive) {
  agent a;
  char *c = conf("interval = \"100ms\"; flush_interval = \"100ms\"; shutdown_timeout = \"2s\";",
                 "sleep = \"300ms\";", "");
  agent_start(&a, c, "200000");
  free(wait_msg(&a, "READY=1", 10000, NULL));
  int pings = 0;
  int64_t t0 = mono_ms(), first = 0, last = 0;
  while (mono_ms() - t0 < 3000) {
    char *m = next_msg(&a, 500);
    ck_assert_msg(m != NULL, "pings stopped; tower's log:\n%s", tower_log_text(&a));
    ck_assert_msg(strcmp(m, "WATCHDOG=1") == 0, "unexpected: %s", m);
    last = mono_ms();
    if (!pings++)
      first = last;
    free(m);
  }
  double every = (double)(last - first) / (pings - 1);
  ck_assert_msg(every > 70 && every < 140, "%d pings, one every %.0f ms (want 100)", pings, every);
  char *log = tower_log_text(&a);
  ck_assert_msg(strstr(log, "longer than the 0.100s interval"), "the gathers did not overrun:\n%s",
                log);
  ck_assert_ptr_null(strstr(log, "stalled"));
  free(log);
  agent_end(&a, SIGKILL);
  free(c);
}
END_TEST

/* Something stalls: the status says what, and the pings stop for good
 * (systemd would restart the agent WatchdogSec after the last one). */
static void expect_stall(const char *c, const char *what) {
  agent a;
  agent_start(&a, c, "200000");
  free(wait_msg(&a, "READY=1", 10000, NULL));
  int64_t ready = mono_ms();
  int pings = 0;
  char *m = wait_msg(&a, "STATUS=stalled: ", 10000, &pings);
  int64_t stalled = mono_ms() - ready;
  ck_assert_msg(strstr(m, what), "%s", m);
  /* alive at first, and stalled no sooner than the grace (1s) */
  ck_assert_int_gt(pings, 3);
  ck_assert_int_ge(stalled, 900);
  free(m);
  /* fifteen ping periods of silence */
  m = next_msg(&a, 1500);
  ck_assert_msg(m == NULL, "still pinging: %s", m);
  char *log = tower_log_text(&a);
  ck_assert_msg(strstr(log, "E! watchdog: ") && strstr(log, what), "%s", log);
  free(log);
  agent_end(&a, SIGKILL);
}

START_TEST(hung_write_stops_pings) {
  char *c = conf("interval = \"100ms\"; flush_interval = \"100ms\"; shutdown_timeout = \"1s\";", "",
                 "delay = \"1h\";");
  expect_stall(c, "outputs.record: its flush thread is stalled: a write has run longer than 1s");
  free(c);
}
END_TEST

START_TEST(stalled_input_stops_pings) {
  char *c = conf("interval = \"100ms\"; flush_interval = \"100ms\"; shutdown_timeout = \"1s\";",
                 "sleep = \"1h\";", "");
  expect_stall(c, "inputs.lines: its schedule is stalled: a gather has run longer than 1s");
  free(c);
}
END_TEST

/* A write slower than stall_after (1s) but not hung: the pings stop while
 * it runs and resume once it returns, with a status line saying so. */
START_TEST(pings_resume_after_slow_write) {
  agent a;
  char *c = conf("interval = \"100ms\"; flush_interval = \"100ms\"; shutdown_timeout = \"1s\";", "",
                 "delay = \"1500ms\";");
  agent_start(&a, c, "200000");
  free(wait_msg(&a, "READY=1", 10000, NULL));
  free(wait_msg(&a, "STATUS=stalled: outputs.record", 10000, NULL));
  char *m = wait_msg(&a, "STATUS=running", 5000, NULL);
  free(m);
  m = next_msg(&a, 1000);
  ck_assert_msg(m && strcmp(m, "WATCHDOG=1") == 0, "no ping after the recovery: %s", m);
  free(m);
  char *log = tower_log_text(&a);
  ck_assert_msg(strstr(log, "watchdog: everything is alive again; pings resume"), "%s", log);
  free(log);
  agent_end(&a, SIGKILL);
  free(c);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("notify");
  TCase *tc = tcase_create("sd_notify");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, ready_reload_stop);
  tcase_add_test(tc, pings_while_alive);
  tcase_add_test(tc, hung_write_stops_pings);
  tcase_add_test(tc, stalled_input_stops_pings);
  tcase_add_test(tc, pings_resume_after_slow_write);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return check_run(suite());
}
