/* inputs.exec: starting a command inside its cgroup.
 *
 * posix_spawn cannot start a process in a given cgroup before glibc 2.39
 * (posix_spawnattr_setcgroup_np), and moving the command there once it runs
 * loses a race: a shell forks its first children within microseconds,
 * before tower's write to cgroup.procs, and those would stay outside (it
 * does happen: measured with `sh -c 'setsid sleep 30 &'`). clone3 with
 * CLONE_INTO_CGROUP (Linux 5.7) creates the process in its cgroup.
 *
 * clone3 is used with fork semantics. Sharing tower's memory as vfork does
 * (CLONE_VM) would need a stack of its own for the child and assembly glue
 * that only the C library has; the cost is a copy of tower's page tables
 * per command (README.md has the figures). CLONE_CLEAR_SIGHAND resets
 * tower's handlers in the child as it is created, so none of them can run
 * there.
 *
 * Between clone3 and exec the child is a copy of one thread of a threaded
 * program: locks other threads held are copied held, so it makes only
 * async-signal-safe calls (no malloc, no stdio). It sets what posix_spawn
 * sets for the other commands (default dispositions, empty signal mask,
 * own process group, stdio, no stray descriptors) and looks the program up
 * in PATH as posix_spawnp does (execvpe would also run a script without a
 * #! line with /bin/sh; posix_spawnp reports ENOEXEC). A failed exec sends
 * its errno back through a close-on-exec pipe, which a successful exec
 * closes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"

extern char **environ;

/* The kernel's struct clone_args up to `cgroup` (Linux 5.7), and its
 * flags: <linux/sched.h> cannot be included next to glibc's <sched.h>. */
struct exec_clone_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
      set_tid_size, cgroup;
};
#define EXEC_CLONE_CLEAR_SIGHAND 0x100000000ULL /* Linux 5.5 */
#define EXEC_CLONE_INTO_CGROUP 0x200000000ULL   /* Linux 5.7 */
#define EXEC_CLOSE_RANGE_CLOEXEC (1U << 2)      /* Linux 5.11 */

/* Reports errno to the parent and ends the child. */
static _Noreturn void child_fail(int report) {
  int e = errno;
  ssize_t n = write(report, &e, sizeof e);
  (void)n; /* nothing else can be done with a failed report */
  _exit(127);
}

/* execvp's search without its /bin/sh fallback for ENOEXEC, and without
 * allocating: the first of PATH's directories that has the program. */
static void exec_path(const char *file, char *const argv[], char *const envp[]) {
  if (strchr(file, '/')) {
    execve(file, argv, envp);
    return;
  }
  const char *path = getenv("PATH"); /* tower's PATH, as posix_spawnp uses */
  if (!path)
    path = "/bin:/usr/bin";
  size_t flen = strlen(file);
  bool denied = false;
  for (const char *p = path;; p++) {
    const char *end = strchrnul(p, ':');
    size_t dlen = (size_t)(end - p);
    char buf[PATH_MAX];
    if (dlen + 1 + flen < sizeof buf) {
      memcpy(buf, p, dlen);
      size_t n = dlen ? dlen : 1;
      buf[0] = dlen ? buf[0] : '.'; /* an empty element is the current directory */
      buf[n] = '/';
      memcpy(buf + n + 1, file, flen + 1);
      execve(buf, argv, envp);
      if (errno == EACCES)
        denied = true;
      else if (errno != ENOENT && errno != ENOTDIR)
        return; /* ENOEXEC, E2BIG, ...: found, but it cannot run */
    }
    if (!*end)
      break;
    p = end;
  }
  if (denied)
    errno = EACCES;
}

static _Noreturn void child(const exec_state *s, const exec_cmd *c, int out, int err, int report) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) /* ignored ones; handled ones are reset */
    if (sig != SIGKILL && sig != SIGSTOP)
      sigaction(sig, &dfl, NULL); /* glibc's internal signals: EINVAL, harmless */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (setpgid(0, 0) < 0 || dup2(s->devnull, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
      dup2(err, STDERR_FILENO) < 0)
    child_fail(report);
  /* Descriptors opened without O_CLOEXEC (by a library, say) stay out of
   * the command too; the report pipe is close-on-exec already. */
  syscall(SYS_close_range, 3U, ~0U, EXEC_CLOSE_RANGE_CLOEXEC);
  exec_path(c->argv[0], c->argv, s->envp ? s->envp : environ);
  child_fail(report);
}

/* What the child reported: 0 when it exec'd (EOF), else its errno. */
static int child_result(int fd) {
  int e = 0;
  ssize_t n;
  while ((n = read(fd, &e, sizeof e)) < 0 && errno == EINTR)
    ;
  return n == (ssize_t)sizeof e ? (e ? e : ECHILD) : 0;
}

bool exec_clone_usable(void) {
#ifdef SYS_clone3
  /* A size below the first version's is EINVAL where clone3 exists; ENOSYS
   * (or EPERM) where a kernel, valgrind or a seccomp filter refuses it. */
  return syscall(SYS_clone3, NULL, (size_t)0) < 0 && errno == EINVAL;
#else
  return false;
#endif
}

int exec_clone_spawn(exec_state *s, exec_cmd *c, int out, int err) {
#ifdef SYS_clone3
  if (s->no_clone3)
    return ENOSYS;
  int report[2];
  if (exec_pipe(report) < 0)
    return EMFILE;
  struct exec_clone_args a;
  memset(&a, 0, sizeof a);
  a.flags = EXEC_CLONE_INTO_CGROUP | EXEC_CLONE_CLEAR_SIGHAND;
  a.exit_signal = SIGCHLD;
  a.cgroup = (uint64_t)c->cg_dir;
  /* No signal may run a handler of tower's between clone3 and the child's
   * reset: all are blocked around it (the child inherits this mask). */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid = syscall(SYS_clone3, &a, sizeof a);
  if (pid == 0)
    child(s, c, out, err, report[1]);
  int e = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(report[1]);
  if (pid < 0 && (e == EAGAIN || e == ENOMEM)) { /* a limit, not clone3 itself */
    close(report[0]);
    return e;
  }
  if (pid < 0) {
    close(report[0]);
    s->no_clone3 = true;
    tower_warn(s->ctx,
               "cannot start command '%s' in its cgroup (clone3: %s); commands of this input "
               "run in their process group only from now on",
               c->display, strerror(e));
    return ENOSYS;
  }
  c->pid = (pid_t)pid;
  int rc = child_result(report[0]);
  close(report[0]);
  if (rc) /* the exec failed: the child has exited with 127 */
    while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
      ;
  return rc;
#else
  (void)c;
  (void)out;
  (void)err;
  s->no_clone3 = true;
  return ENOSYS;
#endif
}
