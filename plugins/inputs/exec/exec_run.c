/* inputs.exec: running the commands of one gather.
 *
 * Every command is started with posix_spawn (glibc spawns with
 * clone(CLONE_VM | CLONE_VFORK), so starting a command does not copy
 * tower's page tables the way fork() would) into its own process group, with
 * the signal mask emptied and every signal disposition reset: tower blocks
 * SIGTERM/SIGINT/SIGHUP/SIGUSR1 in all its threads and ignores SIGPIPE, and
 * a command must inherit neither. stdin is /dev/null; stdout and stderr are
 * pipes; every other descriptor is closed (all of tower's are close-on-exec
 * too, and glibc >= 2.34 closes the rest in the child).
 *
 * All commands start first; then a single poll(2) loop reads every pipe and
 * watches every deadline, so N commands of one gather run in parallel on
 * the gather's thread. The leader's exit is seen through a pidfd (Linux
 * >= 5.3; without one, by polling waitid() at short intervals) and is
 * observed with WNOWAIT: the leader stays a zombie until tower is done with
 * its process group, so the group id cannot be reused by an unrelated
 * process while tower may still signal it.
 *
 * A command is done when its leader has exited and both pipes reached EOF.
 * At its deadline (start + timeout) a command that is not done gets SIGTERM
 * on its whole group, then SIGKILL after kill_grace; going over max_output
 * or the agent stopping does the same at once. A leader that exited while
 * something it started still holds the pipes open is waited for until the
 * deadline too (its output may not be complete before EOF), then that group
 * is killed. SIGKILL goes to the group and to the command's cgroup
 * (exec_cgroup.c), which also holds the processes that left the group.
 * After it tower waits at most KILL_WAIT_MS for the leader to die and the
 * pipes to close; pipes still open then are held by processes outside the
 * group, which exec_hunt.c finds, kills and names, and waits another
 * KILL_WAIT_MS for. A leader that does not die (stuck in the kernel) is
 * reaped at a later gather or at destroy, so no child is ever left a
 * zombie by tower.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"

extern char **environ;

/* Longest poll(2) sleep while commands run: how late tower notices that
 * the agent is stopping. */
#define STOP_CHECK_MS 100
/* Without a pidfd, how often a leader whose pipes are closed is checked. */
#define NO_PIDFD_CHECK_MS 5
/* After SIGKILL, how long the gather waits for the leader to die. */
#define KILL_WAIT_MS 100
/* Bytes read from a pipe per read(2). */
#define READ_CHUNK 32768
/* Longest SIGTERM-to-SIGKILL grace while the agent stops. */
#define STOP_GRACE_MS 1000
/* destroy: how long a command that ignored SIGKILL is waited for. */
#define FINI_WAIT_MS 1000

static void close_fd(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

/* ---- setup -------------------------------------------------------------- */

int exec_run_init(exec_state *s) {
  s->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (s->devnull < 0) {
    int err = errno;
    tower_error(s->ctx, "cannot open /dev/null for the commands' stdin: %s", strerror(err));
    return -err;
  }
  int rc = posix_spawnattr_init(&s->attr);
  if (rc)
    return -rc;
  s->attr_ready = true;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL); /* cannot be changed; some C libraries fail on them */
  sigdelset(&all, SIGSTOP);
  rc = posix_spawnattr_setflags(&s->attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                              POSIX_SPAWN_SETSIGDEF);
  if (!rc)
    rc = posix_spawnattr_setpgroup(&s->attr, 0); /* a new group, led by the command */
  if (!rc)
    rc = posix_spawnattr_setsigmask(&s->attr, &none);
  if (!rc)
    rc = posix_spawnattr_setsigdefault(&s->attr, &all);
  if (rc) {
    tower_error(s->ctx, "cannot set up process attributes: %s", strerror(rc));
    return -rc;
  }
  s->pfds = calloc(3 * s->ncmds, sizeof *s->pfds);
  s->pfd_cmd = calloc(3 * s->ncmds, sizeof *s->pfd_cmd);
  if (!s->pfds || !s->pfd_cmd)
    return -ENOMEM;
  exec_cgroup_init(s);
  return 0;
}

static bool reap_nohang(pid_t pid) {
  int st;
  pid_t r;
  while ((r = waitpid(pid, &st, WNOHANG)) < 0 && errno == EINTR)
    ;
  return r != 0; /* reaped, or not our child any more (ECHILD) */
}

/* Reaps the children that did not die in time after SIGKILL at an earlier
 * gather. */
static void reap_pending(exec_state *s) {
  size_t kept = 0;
  for (size_t i = 0; i < s->npending; i++)
    if (!reap_nohang(s->pending[i]))
      s->pending[kept++] = s->pending[i];
  s->npending = kept;
}

static void add_pending(exec_state *s, pid_t pid) {
  if (s->npending == s->pending_cap) {
    size_t cap = s->pending_cap ? 2 * s->pending_cap : 4;
    pid_t *p = realloc(s->pending, cap * sizeof *p);
    if (!p) { /* cannot remember it: wait for it here rather than leak a zombie */
      waitpid(pid, NULL, 0);
      return;
    }
    s->pending = p;
    s->pending_cap = cap;
  }
  s->pending[s->npending++] = pid;
}

void exec_run_fini(exec_state *s) {
  for (int waited = 0; s->npending && waited < FINI_WAIT_MS; waited += 10) {
    reap_pending(s);
    if (s->npending)
      usleep(10000);
  }
  for (size_t i = 0; i < s->npending; i++)
    tower_error(s->ctx,
                "process %d has not died %d ms after SIGKILL (stuck in the kernel?); leaving it "
                "unreaped",
                (int)s->pending[i], FINI_WAIT_MS);
  exec_cgroup_fini(s);
  free(s->pending);
  free(s->pfds);
  free(s->pfd_cmd);
  if (s->attr_ready)
    posix_spawnattr_destroy(&s->attr);
  if (s->devnull >= 0)
    close(s->devnull);
}

/* ---- starting ----------------------------------------------------------- */

/* Moves a descriptor above 2 so that the dup2()s in the child cannot
 * clobber each other when tower itself runs with stdio closed. */
static int lift_fd(int fd) {
  if (fd > 2)
    return fd;
  int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  return high;
}

int exec_pipe(int p[2]) {
  if (pipe2(p, O_CLOEXEC) < 0)
    return -errno;
  p[0] = lift_fd(p[0]);
  p[1] = lift_fd(p[1]);
  if (p[0] < 0 || p[1] < 0) {
    close_fd(&p[0]);
    close_fd(&p[1]);
    return -EMFILE;
  }
  return 0;
}

static int spawn_actions(posix_spawn_file_actions_t *fa, int devnull, int out, int err) {
  int rc = posix_spawn_file_actions_init(fa);
  if (rc)
    return rc;
  rc = posix_spawn_file_actions_adddup2(fa, devnull, STDIN_FILENO);
  if (!rc)
    rc = posix_spawn_file_actions_adddup2(fa, out, STDOUT_FILENO);
  if (!rc)
    rc = posix_spawn_file_actions_adddup2(fa, err, STDERR_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  /* Descriptors opened without O_CLOEXEC (by a library, say) stay out of
   * the command too. */
  if (!rc)
    rc = posix_spawn_file_actions_addclosefrom_np(fa, 3);
#endif
  if (rc)
    posix_spawn_file_actions_destroy(fa);
  return rc;
}

/* A descriptor that polls readable when `pid` exits, or -1. After one
 * ENOSYS (kernel before 5.3, seccomp, valgrind) it is not asked again. */
static int open_pidfd(exec_state *s, pid_t pid) {
#ifdef SYS_pidfd_open
  if (!s->no_pidfd) {
    int fd = (int)syscall(SYS_pidfd_open, pid, 0); /* close-on-exec by definition */
    if (fd < 0 && (errno == ENOSYS || errno == EPERM))
      s->no_pidfd = true;
    return fd;
  }
#else
  (void)pid;
  s->no_pidfd = true;
#endif
  return -1;
}

static void reset_run(exec_cmd *c) {
  c->phase = EXEC_IDLE;
  c->why = EXEC_WHY_NONE;
  c->pid = 0;
  c->pidfd = c->out_fd = c->err_fd = -1;
  c->spawn_err = 0;
  c->exited = c->status_lost = c->over_cap = c->err_cut = false;
  c->out_done_at_stop = c->exited_at_stop = false;
  memset(&c->esc, 0, sizeof c->esc);
  c->wait_code = c->wait_status = 0;
  c->out_len = c->err_len = 0;
  c->last_err[0] = '\0';
  c->err_relayed = c->err_suppressed = 0;
}

static int spawn_plain(exec_state *s, exec_cmd *c, int out, int err) {
  posix_spawn_file_actions_t fa;
  int rc = spawn_actions(&fa, s->devnull, out, err);
  if (rc)
    return rc;
  rc = posix_spawnp(&c->pid, c->argv[0], &fa, &s->attr, c->argv, s->envp ? s->envp : environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc;
}

/* Starts the command in its cgroup when it has one, else with posix_spawn
 * in its process group only. 0 or an errno value. */
static int start(exec_state *s, exec_cmd *c, int out, int err) {
  if (exec_cgroup_prepare(s, c)) {
    int rc = exec_clone_spawn(s, c, out, err);
    if (rc != ENOSYS)
      return rc;
  }
  return spawn_plain(s, c, out, err);
}

static void spawn_one(exec_state *s, exec_cmd *c, int64_t now) {
  reset_run(c);
  int out[2], err[2];
  int rc = -exec_pipe(out);
  if (rc == 0 && (rc = -exec_pipe(err)) != 0) {
    close_fd(&out[0]);
    close_fd(&out[1]);
  }
  if (rc) {
    c->spawn_err = rc;
    return;
  }
  rc = start(s, c, out[1], err[1]);
  close(out[1]);
  close(err[1]);
  if (rc) {
    close(out[0]);
    close(err[0]);
    c->spawn_err = rc;
    return;
  }
  c->out_fd = out[0];
  c->err_fd = err[0];
  c->pidfd = open_pidfd(s, c->pid);
  c->deadline = now + s->timeout;
  c->phase = EXEC_RUNNING;
}

/* ---- signals and exit --------------------------------------------------- */

/* Signals the command's whole group. The leader is not reaped before tower
 * is done with the group, so its id still names this group. */
static void signal_group(exec_cmd *c, int sig) {
  if (c->status_lost)
    return;
  if (kill(-c->pid, sig) < 0 && errno == ESRCH)
    kill(c->pid, sig); /* the leader alone (it may have left its group) */
}

static void terminate(exec_state *s, exec_cmd *c, exec_why why, int64_t now) {
  if (c->phase != EXEC_RUNNING)
    return;
  c->why = why;
  signal_group(c, SIGTERM);
  c->phase = EXEC_TERM_SENT;
  /* A stopping agent has its own deadline (agent.shutdown_timeout) and
   * abandons a gather that overruns it, commands still alive. */
  int64_t grace = s->grace;
  if (why == EXEC_WHY_STOP && grace > STOP_GRACE_MS * 1000000LL)
    grace = STOP_GRACE_MS * 1000000LL;
  c->kill_at = now + grace;
}

/* Notes the leader's exit without reaping it (WNOWAIT). */
static bool check_exit(exec_cmd *c) {
  if (c->exited)
    return true;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  while (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
    if (errno == ECHILD) {
      /* Someone else reaped it: SIGCHLD set to SIG_IGN, or a waitpid(-1)
       * elsewhere in the process. The status is lost, and the pid may
       * name another process already: it is never signalled again. */
      c->exited = c->status_lost = true;
      return true;
    }
    if (errno != EINTR)
      return false;
  }
  if (si.si_pid != c->pid)
    return false;
  c->exited = true;
  c->wait_code = si.si_code;
  c->wait_status = si.si_status;
  return true;
}

static void reap(exec_cmd *c) {
  int st;
  while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
    ;
}

/* The agent stops. A command whose stdout reached EOF and whose leader has
 * exited has its whole output: it is not cut short (only what it left
 * holding stderr is killed), and exec.c parses it. Any other command is
 * killed now and its partial output dropped. One that tower is already
 * killing gets at most STOP_GRACE_MS more. */
static void stop_cmd(exec_state *s, exec_cmd *c, int64_t now) {
  int64_t latest = now + STOP_GRACE_MS * 1000000LL;
  if (c->phase == EXEC_TERM_SENT && c->kill_at > latest)
    c->kill_at = latest;
  if (c->phase != EXEC_RUNNING)
    return;
  c->exited_at_stop = check_exit(c);
  c->out_done_at_stop = c->out_fd < 0;
  terminate(s, c, EXEC_WHY_STOP, now);
}

/* SIGKILL to the group and to the command's cgroup. */
static void kill_all(exec_state *s, exec_cmd *c, int64_t now) {
  signal_group(c, SIGKILL);
  exec_cgroup_kill(s, c);
  c->phase = EXEC_KILLED;
  c->kill_at = now + KILL_WAIT_MS * 1000000LL;
}

/* The pipes outlived the SIGKILL: their holders left the group. */
static void hunt(exec_state *s, exec_cmd *c, int64_t now) {
  exec_hunt_holders(s, c);
  c->phase = EXEC_HUNTED;
  c->kill_at = now + KILL_WAIT_MS * 1000000LL;
}

static void finish(exec_state *s, exec_cmd *c) {
  close_fd(&c->out_fd);
  close_fd(&c->err_fd);
  close_fd(&c->pidfd);
  bool killed = c->why != EXEC_WHY_NONE;
  if (c->exited) {
    /* A group tower decided to kill loses its stragglers too: a member that
     * ignored SIGTERM and no longer holds the pipes. */
    if (killed)
      signal_group(c, SIGKILL);
    if (!c->status_lost)
      reap(c);
  } else {
    add_pending(s, c->pid);
  }
  exec_cgroup_end(s, c, killed);
  c->phase = EXEC_IDLE;
}

/* ---- reading ------------------------------------------------------------ */

static void log_stderr_line(exec_state *s, exec_cmd *c, const char *line, size_t len) {
  while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
    len--;
  if (!len)
    return;
  memcpy(c->last_err, line, len);
  c->last_err[len] = '\0';
  if (c->err_relayed >= s->stderr_lines) {
    c->err_suppressed++;
    return;
  }
  c->err_relayed++;
  /* Telegraf's convention for commands that log: "E! ", "W! ", "I! ",
   * "D! ", "T! " choose the level; anything else is a warning. */
  static const char levels[] = "EWIDT";
  tower_log_level level = TOWER_LOG_WARN;
  const char *l = len >= 3 && line[1] == '!' && line[2] == ' ' ? strchr(levels, line[0]) : NULL;
  if (l && *l) {
    level = (tower_log_level)(l - levels);
    line += 3;
    len -= 3;
  }
  tower_log(s->ctx, level, "command '%s': %.*s%s", c->display, (int)len, line,
            c->err_cut ? "..." : "");
}

static void end_stderr_line(exec_state *s, exec_cmd *c) {
  log_stderr_line(s, c, c->err_line, c->err_len);
  c->err_len = 0;
  c->err_cut = false;
}

/* Splits stderr into lines; a line longer than the buffer is cut. */
static void take_stderr(exec_state *s, exec_cmd *c, const char *data, size_t len) {
  while (len) {
    const char *nl = memchr(data, '\n', len);
    size_t n = nl ? (size_t)(nl - data) : len;
    size_t room = sizeof c->err_line - 1 - c->err_len;
    if (n > room)
      c->err_cut = true;
    memcpy(c->err_line + c->err_len, data, n < room ? n : room);
    c->err_len += n < room ? n : room;
    if (!nl)
      return;
    end_stderr_line(s, c);
    data = nl + 1;
    len -= n + 1;
  }
}

/* Reads what the pipe holds; EOF or an error closes it. Returns the bytes
 * read (0 at EOF). */
static ssize_t read_pipe(int *fd, char *buf, size_t len) {
  ssize_t n = read(*fd, buf, len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return -1;
  if (n <= 0)
    close_fd(fd);
  return n;
}

static void read_stderr(exec_state *s, exec_cmd *c) {
  char buf[READ_CHUNK];
  ssize_t n = read_pipe(&c->err_fd, buf, sizeof buf);
  if (n > 0)
    take_stderr(s, c, buf, (size_t)n);
  else if (c->err_fd < 0 && c->err_len)
    end_stderr_line(s, c); /* a last line without its newline */
}

/* Makes room to read into; the buffer never grows past max_output + 1, the
 * byte that tells an over-long output. 0 or -ENOMEM. */
static int out_room(exec_state *s, exec_cmd *c) {
  return exec_out_room(c, s->max_output + 1, 4096);
}

static void read_stdout(exec_state *s, exec_cmd *c, int64_t now) {
  if (c->over_cap || out_room(s, c) < 0) {
    char sink[READ_CHUNK]; /* keep draining so the command is never blocked */
    read_pipe(&c->out_fd, sink, sizeof sink);
    if (!c->over_cap) {
      c->over_cap = true; /* out of memory counts as too much output */
      terminate(s, c, EXEC_WHY_OUTPUT, now);
    }
    return;
  }
  size_t room = c->out_cap - c->out_len;
  ssize_t n = read_pipe(&c->out_fd, c->out + c->out_len, room < READ_CHUNK ? room : READ_CHUNK);
  if (n <= 0)
    return;
  c->out_len += (size_t)n;
  if (c->out_len > s->max_output) {
    c->over_cap = true;
    terminate(s, c, EXEC_WHY_OUTPUT, now);
  }
}

/* ---- the loop ----------------------------------------------------------- */

static void add_pfd(exec_state *s, size_t *n, exec_cmd *c, int fd) {
  if (fd < 0)
    return;
  s->pfds[*n] = (struct pollfd){.fd = fd, .events = POLLIN};
  s->pfd_cmd[*n] = c;
  (*n)++;
}

static size_t build_pollset(exec_state *s) {
  size_t n = 0;
  for (size_t i = 0; i < s->ncmds; i++) {
    exec_cmd *c = &s->cmds[i];
    if (c->phase == EXEC_IDLE)
      continue;
    add_pfd(s, &n, c, c->out_fd);
    add_pfd(s, &n, c, c->err_fd);
    if (!c->exited)
      add_pfd(s, &n, c, c->pidfd);
  }
  return n;
}

static void handle_events(exec_state *s, size_t n, int64_t now) {
  for (size_t i = 0; i < n; i++) {
    if (!s->pfds[i].revents)
      continue;
    exec_cmd *c = s->pfd_cmd[i];
    int fd = s->pfds[i].fd;
    if (fd == c->out_fd)
      read_stdout(s, c, now);
    else if (fd == c->err_fd)
      read_stderr(s, c);
    else if (fd == c->pidfd)
      check_exit(c);
  }
}

static bool killing(const exec_cmd *c) {
  return c->phase == EXEC_KILLED || c->phase == EXEC_HUNTED;
}

/* Moves one command along its timers; returns when it next needs
 * attention (INT64_MAX: only when a pipe or the pidfd wakes it). */
static int64_t advance(exec_state *s, exec_cmd *c, int64_t now) {
  bool pipes_open = c->out_fd >= 0 || c->err_fd >= 0;
  if (c->pidfd < 0 || !pipes_open)
    check_exit(c);
  if (c->phase == EXEC_RUNNING && now >= c->deadline)
    terminate(s, c, check_exit(c) ? EXEC_WHY_LINGER : EXEC_WHY_TIMEOUT, now);
  if (c->phase == EXEC_TERM_SENT && now >= c->kill_at)
    kill_all(s, c, now);
  else if (c->phase == EXEC_KILLED && now >= c->kill_at && pipes_open)
    hunt(s, c, now);
  if ((!pipes_open && c->exited) || (killing(c) && now >= c->kill_at)) {
    if (pipes_open) /* still, after the hunt */
      exec_hunt_survivors(c);
    close_fd(&c->out_fd);
    close_fd(&c->err_fd);
    if (c->err_len)
      end_stderr_line(s, c);
    finish(s, c);
    return INT64_MAX;
  }
  int64_t next = c->phase == EXEC_RUNNING ? c->deadline : c->kill_at;
  if (c->pidfd < 0 && !pipes_open) {
    int64_t soon = now + NO_PIDFD_CHECK_MS * 1000000LL;
    next = soon < next ? soon : next;
  }
  return next;
}

static int poll_ms(int64_t next, int64_t now) {
  int64_t ms = next == INT64_MAX ? STOP_CHECK_MS : (next - now + 999999) / 1000000;
  if (ms > STOP_CHECK_MS)
    ms = STOP_CHECK_MS;
  return ms < 0 ? 0 : (int)ms;
}

/* A gather that begins while the agent stops starts nothing. */
static void skip_all(exec_state *s) {
  for (size_t i = 0; i < s->ncmds; i++) {
    reset_run(&s->cmds[i]);
    s->cmds[i].spawn_err = ECANCELED;
  }
}

void exec_run_all(exec_state *s) {
  reap_pending(s);
  exec_cgroup_tidy(s);
  if (tower_ctx_stopping(s->ctx)) {
    skip_all(s);
    return;
  }
  int64_t now = tower_mono_ns();
  for (size_t i = 0; i < s->ncmds; i++)
    spawn_one(s, &s->cmds[i], now);
  for (;;) {
    now = tower_mono_ns();
    bool stopping = tower_ctx_stopping(s->ctx);
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < s->ncmds; i++) {
      exec_cmd *c = &s->cmds[i];
      if (stopping)
        stop_cmd(s, c, now);
      if (c->phase != EXEC_IDLE) {
        int64_t t = advance(s, c, now);
        next = t < next ? t : next;
      }
    }
    size_t n = build_pollset(s);
    if (n == 0 && next == INT64_MAX)
      return;
    int ready = poll(s->pfds, (nfds_t)n, poll_ms(next, now));
    if (ready > 0)
      handle_events(s, n, tower_mono_ns());
  }
}
