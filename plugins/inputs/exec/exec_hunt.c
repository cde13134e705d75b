/* inputs.exec: finding the processes of a killed command that SIGKILL to
 * its process group (and cgroup) did not reach, through the pipes they
 * hold.
 *
 * A command's stdout and stderr are pipes that only it and what it starts
 * inherit (tower's own descriptors are close-on-exec and the read ends
 * never reach a child). When those pipes stay open after the whole group
 * was SIGKILLed, something outside the group holds them: a process that
 * called setsid() or double-forked into a new session, and was not in a
 * cgroup of the command (no cgroup v2 here, or it forked in the instant
 * before the command was moved into its cgroup). /proc/PID/fd names the
 * pipe's inode ("pipe:[123]"), so those holders can be found, told apart
 * from the group's own members (getpgid) and killed through a pidfd, which
 * cannot hit a process that reused the pid.
 *
 * A process that left the group and closed or redirected its stdout and
 * stderr cannot be found this way; only a cgroup (exec_cgroup.c) reaches
 * it. The scan reads every process's fd directory: it runs only in this
 * rare case, never on a normal run.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../common/plural.h"
#include "exec.h"

/* The pipes' inodes (0: closed). */
typedef struct pipe_ids {
  ino_t ino[2];
} pipe_ids;

void exec_note_escape(exec_escapes *e, pid_t pid, bool alive) {
  for (unsigned i = 0; i < e->npids; i++)
    if (e->pids[i] == pid)
      return;
  if (alive)
    e->alive++;
  else
    e->killed++;
  if (e->npids < EXEC_PIDS_SHOWN) {
    e->pids[e->npids] = pid;
    e->pid_alive[e->npids++] = alive;
  }
}

static pipe_ids pipes_of(const exec_cmd *c) {
  pipe_ids ids = {{0, 0}};
  int fds[2] = {c->out_fd, c->err_fd};
  for (int i = 0; i < 2; i++) {
    struct stat st;
    if (fds[i] >= 0 && fstat(fds[i], &st) == 0)
      ids.ino[i] = st.st_ino;
  }
  return ids;
}

/* 1: `pid` holds one of the pipes; 0: it does not; -1: cannot tell (its
 * fd directory is not readable, e.g. another user's process). */
static int holds(pid_t pid, const pipe_ids *ids) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  if (!d)
    return errno == ENOENT ? 0 : -1;
  int found = 0;
  struct dirent *e;
  while (!found && (e = readdir(d))) {
    char link[64];
    ssize_t n = readlinkat(dirfd(d), e->d_name, link, sizeof link - 1);
    if (n <= 0)
      continue;
    link[n] = '\0';
    unsigned long ino;
    if (sscanf(link, "pipe:[%lu]", &ino) == 1)
      found = (ids->ino[0] && ino == ids->ino[0]) || (ids->ino[1] && ino == ids->ino[1]);
  }
  closedir(d);
  return found;
}

/* SIGKILL through a pidfd, checking after opening it that the process
 * still holds the pipe (the pid may have been reused since the scan). */
static void kill_holder(pid_t pid, const pipe_ids *ids) {
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) {
    if (holds(pid, ids) == 1)
      syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
    close(fd);
    return;
  }
#endif
  if (holds(pid, ids) == 1) /* no pidfds: a small window for pid reuse */
    kill(pid, SIGKILL);
}

/* What a scan of /proc saw besides the holders outside the group. */
typedef struct scan {
  unsigned outside;    /* holders outside the group (passed to fn) */
  unsigned in_group;   /* holders in the group: members SIGKILL did not end yet */
  unsigned unreadable; /* processes whose descriptors could not be read */
} scan;

/* Calls fn for every process outside the command's group that holds one
 * of its pipes. */
static scan each_holder(exec_cmd *c, const pipe_ids *ids,
                        void (*fn)(exec_cmd *, pid_t, const pipe_ids *)) {
  scan sc = {0, 0, 0};
  DIR *proc = opendir("/proc");
  if (!proc) {
    sc.unreadable++;
    return sc;
  }
  pid_t self = getpid();
  struct dirent *e;
  while ((e = readdir(proc))) {
    pid_t pid = (pid_t)atoi(e->d_name);
    if (pid <= 0 || pid == self)
      continue;
    int h = holds(pid, ids);
    if (h < 0)
      sc.unreadable++;
    if (h != 1)
      continue;
    if (getpgid(pid) == c->pid) {
      sc.in_group++;
      continue;
    }
    sc.outside++;
    fn(c, pid, ids);
  }
  closedir(proc);
  return sc;
}

static void hunt_one(exec_cmd *c, pid_t pid, const pipe_ids *ids) {
  kill_holder(pid, ids);
  exec_note_escape(&c->esc, pid, false);
}

static void survivor(exec_cmd *c, pid_t pid, const pipe_ids *ids) {
  (void)ids;
  for (unsigned i = 0; i < c->esc.npids; i++)
    if (c->esc.pids[i] == pid && !c->esc.pid_alive[i]) {
      c->esc.pid_alive[i] = true;
      c->esc.killed--;
      c->esc.alive++;
      return;
    }
  exec_note_escape(&c->esc, pid, true);
}

void exec_hunt_holders(exec_state *s, exec_cmd *c) {
  pipe_ids ids = pipes_of(c);
  scan sc = each_holder(c, &ids, hunt_one);
  tower_debug(s->ctx,
              "command '%s': its pipes stayed open after SIGKILL to its process group; "
              "holders: %u outside the group (killed), %u in it; %u process%s not readable",
              c->display, sc.outside, sc.in_group, sc.unreadable, plural_es(sc.unreadable));
}

void exec_hunt_survivors(exec_cmd *c) {
  pipe_ids ids = pipes_of(c);
  scan sc = each_holder(c, &ids, survivor);
  /* Held, but by no process found: one whose descriptors tower cannot
   * read, or one that passed the pipe on over a socket and exited. */
  if (sc.outside == 0 && sc.in_group == 0)
    c->esc.unseen_holder = true;
}
