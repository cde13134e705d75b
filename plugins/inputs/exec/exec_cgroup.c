/* inputs.exec: one cgroup v2 per command, so that killing a command reaches
 * every process it started, those that left its process group included.
 *
 * Why: a process group is a convention, not a boundary. setsid(), the
 * double fork of a daemonizing program or a shell's job control (`set -m`)
 * put a process in a group of its own, and kill(-pgid) no longer reaches
 * it. An unprivileged process cannot leave its cgroup, and writing "1" to
 * cgroup.kill (Linux 5.14) SIGKILLs every member at once, processes forked
 * during the kill included.
 *
 * Why not a child subreaper (prctl(PR_SET_CHILD_SUBREAPER)), which would
 * make escaped orphans tower's children: it is a property of the whole
 * process. Every orphan of every plugin's commands would be reparented to
 * tower and would have to be reaped by it, and the only way to reap
 * children one did not start is waitpid(-1)/waitid(P_ALL), which also
 * reaps, and steals the exit status of, the children that other code in
 * tower waits for by pid or pidfd (this plugin's other instances first of
 * all). It would also still not say which command an orphan came from.
 *
 * Layout: at init tower finds its own cgroup ("0::/path" in
 * /proc/self/cgroup) under the cgroup2 mount (/proc/self/mountinfo) and
 * makes tower-exec.<pid>.<n> there, with cmd<i>-<gen> inside for command i,
 * made at its first run and kept while it is empty after a run. When this
 * fails (no cgroup v2, /sys/fs/cgroup read-only as in most containers, not
 * root and not delegated, no cgroup.kill before Linux 5.14, no clone3, the
 * `cgroup` option off) commands run in their process group only, and exec_hunt.c
 * finds escaped processes that still hold the command's stdout or stderr.
 * Under systemd a service must not create cgroups below its own without
 * delegation: in a .service or .scope cgroup that systemd did not mark as
 * delegated (Delegate=yes), commands run without cgroups. The
 * empty cgroups of a tower that died without cleaning up (kill -9) are
 * removed by the next one that starts in the same cgroup.
 *
 * Placement: exec_clone.c starts the command in its cgroup (clone3 with
 * CLONE_INTO_CGROUP), so no process of it ever runs outside. Where clone3
 * is refused (valgrind, a seccomp filter) there are no cgroups: moving the
 * command in after posix_spawn would race with its first forks, and lose.
 *
 * After a run: a killed run's cgroup gets cgroup.kill and is waited for
 * until empty; the processes a successful run leaves running (background
 * daemons with their output redirected, which tower deliberately leaves
 * alone) are moved to tower's own cgroup, so that the command's cgroup is
 * empty for its next run and can always be removed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "../../common/plural.h"
#include "exec.h"

/* How long a killed cgroup is waited for until it is empty. */
#define CG_KILL_WAIT_MS 100
/* Passes at moving the processes a run left running; each pass moves those
 * seen, a fork racing with it may need another. */
#define CG_MOVE_PASSES 4
/* Instance directories tried (tower-exec.<pid>.1 ...). */
#define CG_INSTANCE_TRIES 1000

static void close_fd(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

/* ---- finding tower's cgroup --------------------------------------------- */

/* The cgroup v2 path of tower ("/system.slice/tower.service"), from the
 * "0::" line of /proc/self/cgroup. */
static bool own_cgroup(char *out, size_t len) {
  FILE *f = fopen("/proc/self/cgroup", "re");
  if (!f)
    return false;
  char line[4096];
  bool found = false;
  while (!found && fgets(line, sizeof line, f)) {
    if (strncmp(line, "0::", 3) != 0)
      continue;
    line[strcspn(line, "\n")] = '\0';
    found = line[3] == '/' && snprintf(out, len, "%s", line + 3) < (int)len;
  }
  fclose(f);
  return found;
}

/* Where cgroup path `cg` is mounted: the cgroup2 mount whose root is a
 * prefix of it (a container sees its own cgroup as its mount's root). */
static bool cgroup_dir(const char *cg, char *out, size_t len) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return false;
  char line[4096];
  bool found = false;
  while (!found && fgets(line, sizeof line, f)) {
    char root[1024], mnt[1024];
    const char *sep = strstr(line, " - cgroup2 ");
    if (!sep || sscanf(line, "%*s %*s %*s %1023s %1023s", root, mnt) != 2)
      continue;
    if (strchr(mnt, '\\') || strchr(root, '\\')) /* octal escapes: not worth it */
      continue;
    size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
    if (strncmp(cg, root, rl) != 0 || (cg[rl] != '/' && cg[rl] != '\0'))
      continue;
    const char *rest = strcmp(cg + rl, "/") == 0 ? "" : cg + rl;
    found = snprintf(out, len, "%s%s", mnt, rest) < (int)len;
  }
  fclose(f);
  return found;
}

/* A systemd unit's own cgroup (.../tower.service) is tower's to divide only
 * with Delegate=yes, which systemd (>= 251) marks with a delegate xattr. */
static bool undelegated_unit(const char *cg, const char *dir) {
  const char *last = strrchr(cg, '/');
  size_t n = last ? strlen(last) : 0;
  bool unit = (n > 8 && strcmp(last + n - 8, ".service") == 0) ||
              (n > 6 && strcmp(last + n - 6, ".scope") == 0);
  char v[8];
  return unit && getxattr(dir, "trusted.delegate", v, sizeof v) <= 0 &&
         getxattr(dir, "user.delegate", v, sizeof v) <= 0;
}

/* Removes the empty cgroups of a tower that died without its destroy
 * (kill -9, a crash): tower-exec.<pid>.<n> of a pid that no longer runs.
 * A cgroup that still has processes is left alone (rmdir refuses it). */
static void remove_stale(int own) {
  int fd = dup(own);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0)
      close(fd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    int pid = 0, n = 0;
    if (sscanf(e->d_name, "tower-exec.%d.%d", &pid, &n) != 2 || pid <= 0 || pid == getpid() ||
        kill(pid, 0) == 0 || errno != ESRCH)
      continue;
    int inst = openat(own, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *sub = inst >= 0 ? fdopendir(inst) : NULL;
    struct dirent *c;
    while (sub && (c = readdir(sub)))
      if (strncmp(c->d_name, "cmd", 3) == 0)
        unlinkat(inst, c->d_name, AT_REMOVEDIR);
    if (sub)
      closedir(sub);
    else if (inst >= 0)
      close(inst);
    unlinkat(own, e->d_name, AT_REMOVEDIR);
  }
  closedir(d);
}

/* Makes tower-exec.<pid>.<n> in `own`; its name goes to `name`. */
static int make_instance_dir(int own, char *name, size_t len) {
  for (int n = 1; n <= CG_INSTANCE_TRIES; n++) {
    snprintf(name, len, "tower-exec.%d.%d", (int)getpid(), n);
    if (mkdirat(own, name, 0755) == 0)
      return 0;
    if (errno != EEXIST)
      return -errno;
  }
  return -EEXIST;
}

/* In tower's cgroup `own` (at `dir`): opens its cgroup.procs, removes
 * stale cgroups and makes the instance's. NULL, or why not. */
static const char *setup_instance(exec_state *s, int own, const char *dir) {
  s->cg_own_procs = openat(own, "cgroup.procs", O_WRONLY | O_CLOEXEC);
  if (s->cg_own_procs < 0)
    return strerror(errno);
  remove_stale(own);
  char name[64];
  int rc = make_instance_dir(own, name, sizeof name);
  if (rc)
    return strerror(-rc);
  const char *why = NULL;
  s->cg_base = openat(own, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->cg_base < 0)
    why = strerror(errno);
  else if (faccessat(s->cg_base, "cgroup.kill", W_OK, 0) != 0)
    why = "no cgroup.kill (Linux before 5.14)";
  else if (asprintf(&s->cg_path, "%s/%s", dir, name) < 0)
    why = strerror(ENOMEM);
  if (why)
    unlinkat(own, name, AT_REMOVEDIR);
  return why;
}

/* Sets up the instance's cgroup under tower's (`dir`); NULL, or why not. */
static const char *open_instance(exec_state *s, const char *dir) {
  int own = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (own < 0)
    return strerror(errno);
  const char *why = setup_instance(s, own, dir);
  close(own);
  if (why) {
    close_fd(&s->cg_base);
    close_fd(&s->cg_own_procs);
    s->cg_path = NULL; /* asprintf's failure leaves it undefined */
  }
  return why;
}

void exec_cgroup_init(exec_state *s) {
  char cg[2048], dir[4096];
  const char *why = NULL;
  if (!s->use_cgroup)
    why = "cgroup = false";
  else if (!exec_clone_usable())
    why = "clone3 is not available (valgrind? seccomp?)";
  else if (!own_cgroup(cg, sizeof cg))
    why = "tower is in no cgroup v2 hierarchy";
  else if (!cgroup_dir(cg, dir, sizeof dir))
    why = "its cgroup v2 hierarchy is not mounted here";
  else if (undelegated_unit(cg, dir))
    why = "tower's systemd unit has no Delegate=yes";
  else
    why = open_instance(s, dir);
  if (why) {
    tower_debug(s->ctx,
                "commands run in their process group only (%s); processes that leave it are "
                "found only while they hold the command's stdout or stderr",
                why);
    return;
  }
  tower_debug(s->ctx, "each command runs in a cgroup of its own under %s", s->cg_path);
}

/* ---- one command's cgroup ----------------------------------------------- */

static void cmd_cgroup_name(const exec_state *s, const exec_cmd *c, char *out, size_t len) {
  snprintf(out, len, "cmd%zu-%u", (size_t)(c - s->cmds), c->cg_gen);
}

static void close_cmd_cgroup(exec_cmd *c) {
  close_fd(&c->cg_dir);
  close_fd(&c->cg_procs);
  close_fd(&c->cg_events);
}

bool exec_cgroup_prepare(exec_state *s, exec_cmd *c) {
  c->cg_counted = false;
  if (s->cg_base < 0 || s->no_clone3)
    return false;
  if (c->cg_dir >= 0)
    return true;
  char name[48];
  cmd_cgroup_name(s, c, name, sizeof name);
  if (mkdirat(s->cg_base, name, 0755) < 0 && errno != EEXIST) {
    tower_warn(s->ctx,
               "cannot create cgroup %s/%s: %s; command '%s' runs in its process group only",
               s->cg_path, name, strerror(errno), c->display);
    return false;
  }
  c->cg_dir = openat(s->cg_base, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (c->cg_dir >= 0) {
    c->cg_procs = openat(c->cg_dir, "cgroup.procs", O_RDWR | O_CLOEXEC);
    c->cg_events = openat(c->cg_dir, "cgroup.events", O_RDONLY | O_CLOEXEC);
  }
  if (c->cg_procs < 0 || c->cg_events < 0) {
    tower_warn(s->ctx, "cannot open cgroup %s/%s: %s; command '%s' runs in its process group only",
               s->cg_path, name, strerror(errno), c->display);
    close_cmd_cgroup(c);
    unlinkat(s->cg_base, name, AT_REMOVEDIR);
    return false;
  }
  return true;
}

static int write_pid(int fd, pid_t pid) {
  char buf[24];
  int n = snprintf(buf, sizeof buf, "%d\n", (int)pid);
  return write(fd, buf, (size_t)n) == n ? 0 : -errno;
}

/* ---- members ------------------------------------------------------------ */

/* Calls fn for every pid in the command's cgroup.procs; returns how many. */
static unsigned each_member(exec_cmd *c, void (*fn)(exec_cmd *, pid_t, void *), void *arg) {
  char buf[4096];
  unsigned n = 0;
  size_t have = 0;
  off_t off = 0;
  for (;;) {
    ssize_t got = pread(c->cg_procs, buf + have, sizeof buf - 1 - have, off);
    if (got <= 0)
      break;
    off += got;
    have += (size_t)got;
    buf[have] = '\0';
    char *p = buf, *nl;
    while ((nl = strchr(p, '\n'))) {
      *nl = '\0';
      pid_t pid = (pid_t)atoi(p);
      if (pid > 0) {
        n++;
        if (fn)
          fn(c, pid, arg);
      }
      p = nl + 1;
    }
    have = strlen(p);
    memmove(buf, p, have);
  }
  return n;
}

/* A member that is not in the leader's process group left it. */
static void count_escape(exec_cmd *c, pid_t pid, void *arg) {
  (void)arg;
  pid_t pg = getpgid(pid);
  if (pg >= 0 && pg != c->pid) {
    c->esc.by_cgroup = true;
    exec_note_escape(&c->esc, pid, false);
  }
}

static void mark_alive(exec_cmd *c, pid_t pid, void *arg) {
  (void)arg;
  for (unsigned i = 0; i < c->esc.npids; i++)
    if (c->esc.pids[i] == pid && !c->esc.pid_alive[i]) {
      c->esc.pid_alive[i] = true;
      c->esc.killed--;
      c->esc.alive++;
    }
}

static void move_out(exec_cmd *c, pid_t pid, void *arg) {
  (void)c;
  write_pid(*(int *)arg, pid); /* ESRCH: it exited meanwhile */
}

static bool populated(exec_cmd *c) {
  char buf[256];
  ssize_t n = pread(c->cg_events, buf, sizeof buf - 1, 0);
  if (n <= 0)
    return true; /* cannot tell: assume so, the rmdir will tell */
  buf[n] = '\0';
  return strstr(buf, "populated 1") != NULL;
}

/* Waits until the cgroup is empty; cgroup.events polls POLLPRI on change. */
static bool wait_empty(exec_cmd *c, int ms) {
  int64_t end = tower_mono_ns() + (int64_t)ms * 1000000;
  while (populated(c)) {
    int64_t left = (end - tower_mono_ns()) / 1000000;
    if (left <= 0)
      return false;
    struct pollfd p = {.fd = c->cg_events, .events = POLLPRI};
    poll(&p, 1, (int)left);
  }
  return true;
}

void exec_cgroup_kill(exec_state *s, exec_cmd *c) {
  if (c->cg_dir < 0)
    return;
  if (!c->cg_counted) {
    each_member(c, count_escape, NULL);
    c->cg_counted = true;
  }
  int fd = openat(c->cg_dir, "cgroup.kill", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, "1", 1) != 1)
    tower_warn(s->ctx, "cannot kill cgroup of command '%s' in %s: %s", c->display, s->cg_path,
               strerror(errno));
  if (fd >= 0)
    close(fd);
}

/* The cgroup could not be emptied: it is removed later, and the command
 * gets a new one. */
static void set_aside(exec_state *s, exec_cmd *c) {
  char name[48];
  cmd_cgroup_name(s, c, name, sizeof name);
  close_cmd_cgroup(c);
  c->cg_gen++;
  char **list = realloc(s->cg_stuck, (s->ncg_stuck + 1) * sizeof *list);
  char *copy = strdup(name);
  if (list)
    s->cg_stuck = list;
  if (list && copy)
    s->cg_stuck[s->ncg_stuck++] = copy;
  else
    free(copy);
}

void exec_cgroup_end(exec_state *s, exec_cmd *c, bool killed) {
  if (c->cg_dir < 0)
    return;
  if (killed) {
    exec_cgroup_kill(s, c);
    if (!wait_empty(c, CG_KILL_WAIT_MS)) {
      unsigned left = each_member(c, mark_alive, NULL);
      tower_error(s->ctx,
                  "command '%s': %u process%s of its cgroup %s/cmd%zu-%u %s alive %d ms "
                  "after cgroup.kill (stuck in the kernel?)",
                  c->display, left, plural_es(left), s->cg_path, (size_t)(c - s->cmds), c->cg_gen,
                  left == 1 ? "is" : "are", CG_KILL_WAIT_MS);
      set_aside(s, c);
    }
    return;
  }
  for (int pass = 0; pass < CG_MOVE_PASSES && populated(c); pass++)
    each_member(c, move_out, &s->cg_own_procs);
  if (populated(c)) {
    tower_debug(s->ctx,
                "command '%s': processes it left running could not all be moved out of "
                "its cgroup; it gets a new one",
                c->display);
    set_aside(s, c);
  }
}

/* ---- tidying up --------------------------------------------------------- */

void exec_cgroup_tidy(exec_state *s) {
  size_t kept = 0;
  for (size_t i = 0; i < s->ncg_stuck; i++) {
    if (unlinkat(s->cg_base, s->cg_stuck[i], AT_REMOVEDIR) == 0 || errno == ENOENT)
      free(s->cg_stuck[i]);
    else
      s->cg_stuck[kept++] = s->cg_stuck[i];
  }
  s->ncg_stuck = kept;
}

void exec_cgroup_fini(exec_state *s) {
  if (s->cg_base < 0)
    return;
  for (size_t i = 0; i < s->ncmds; i++) {
    exec_cmd *c = &s->cmds[i];
    if (c->cg_dir >= 0)
      set_aside(s, c); /* empty after every run: removed just below */
  }
  exec_cgroup_tidy(s);
  for (size_t i = 0; i < s->ncg_stuck; i++) {
    tower_error(s->ctx,
                "cannot remove cgroup %s/%s: it still has processes (stuck in the kernel?); "
                "leaving it",
                s->cg_path, s->cg_stuck[i]);
    free(s->cg_stuck[i]);
  }
  free(s->cg_stuck);
  s->cg_stuck = NULL;
  s->ncg_stuck = 0;
  close_fd(&s->cg_base);
  close_fd(&s->cg_own_procs);
  if (rmdir(s->cg_path) < 0 && errno != ENOENT)
    tower_error(s->ctx, "cannot remove cgroup %s: %s; leaving it", s->cg_path, strerror(errno));
  free(s->cg_path);
  s->cg_path = NULL;
}
