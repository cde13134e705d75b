/* Running part of a test as an unprivileged user, for checks whose answer
 * depends on permissions: root may search, read and write anything, so a
 * test running as root asks as uid and gid 65534 (nobody) in a child; a
 * test running as another user asks as itself. Header-only, for the Check
 * programs of --config-check. */
#ifndef TOWER_TEST_UNPRIVILEGED_H
#define TOWER_TEST_UNPRIVILEGED_H

#include <check.h>
#include <grp.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define TH_NOBODY 65534

/* The uid th_unprivileged() runs as. */
static inline long th_unprivileged_uid(void) {
  return geteuid() == 0 ? TH_NOBODY : (long)geteuid();
}

/* Runs fn(arg, out, len) as th_unprivileged_uid() and returns its result,
 * with the text it left in out[len]. The child reports through a pipe and
 * then execs /bin/true instead of exiting: an exit would make valgrind (or
 * LeakSanitizer) count the parent's allocations, which the child cannot
 * free, as its leaks. */
static inline int th_unprivileged(int (*fn)(void *arg, char *out, size_t len), void *arg, char *out,
                                  size_t len) {
  int p[2];
  ck_assert_int_eq(pipe(p), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(p[0]);
    out[0] = '\0';
    int rc = -1000; /* could not drop the privileges */
    if (geteuid() != 0 ||
        (setgroups(0, NULL) == 0 && setresgid(TH_NOBODY, TH_NOBODY, TH_NOBODY) == 0 &&
         setresuid(TH_NOBODY, TH_NOBODY, TH_NOBODY) == 0))
      rc = fn(arg, out, len);
    if (write(p[1], &rc, sizeof rc) == sizeof rc && write(p[1], out, strlen(out) + 1) < 0)
      rc = -1001;
    execl("/bin/true", "true", (char *)NULL);
    _exit(1);
  }
  close(p[1]);
  int rc = -1002;
  ck_assert_int_eq(read(p[0], &rc, sizeof rc), (ssize_t)sizeof rc);
  size_t got = 0;
  for (ssize_t n; got + 1 < len && (n = read(p[0], out + got, len - 1 - got)) > 0;)
    got += (size_t)n;
  out[got] = '\0';
  close(p[0]);
  int st;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert_msg(rc != -1000, "cannot drop to uid %d", TH_NOBODY);
  return rc;
}

static inline int th_check_child(void *text, char *out, size_t len) {
  (void)out, (void)len;
  twi_pipeline *pl = th_build(text, TWI_ONCE, NULL);
  int failed = pl ? twi_pipeline_check(pl) : -1;
  if (pl)
    th_free(pl);
  return failed;
}

/* --config-check of the configuration `text` (twi_pipeline_check) as
 * th_unprivileged_uid(): the number of plugins that refused, -1 when the
 * configuration does not build. The log goes where the parent's goes. */
static inline int th_config_check_unprivileged(const char *text) {
  char unused[1];
  return th_unprivileged(th_check_child, (void *)text, unused, sizeof unused);
}

#endif
