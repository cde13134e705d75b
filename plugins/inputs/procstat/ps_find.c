/* Finding the processes to report, as Telegraf's procstat finds them
 * (plugins/inputs/procstat/procstat.go findPids, pgrep.go,
 * native_finder.go), but reading /proc and the cgroup tree directly:
 *
 *   pid_file      the number in the file
 *   exe           an extended regular expression (regcomp, as pgrep) on
 *                 the process name (comm), or with pid_finder = "native"
 *                 on the executable's path (/proc/<pid>/exe)
 *   pattern       the same on the command line, arguments joined by spaces
 *                 (pgrep -f)
 *   user          the effective uid (pgrep -u), or the real one with
 *                 pid_finder = "native"
 *   systemd_unit  the processes of the unit's cgroup whose parent is not
 *                 in it (the main process: what systemd's MainPID names,
 *                 without D-Bus), or all of them with
 *                 include_systemd_children
 *   cgroup        every process of the cgroups a path or glob names
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procstat.h"

int ps_pids_push(ps_pids *p, int pid) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    int *v = realloc(p->v, cap * sizeof *v);
    if (!v)
      return -ENOMEM;
    p->v = v;
    p->cap = cap;
  }
  p->v[p->n++] = pid;
  return 0;
}

/* Parses a whole decimal pid in [s, end) (blanks around allowed). */
static bool parse_pid(const char *s, const char *end, int *pid) {
  while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
    s++;
  while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
    end--;
  uint64_t v;
  const char *p = s;
  if (!host_parse_u64(&p, end, &v) || p != end || v == 0 || v > INT32_MAX)
    return false;
  *pid = (int)v;
  return true;
}

static int add_found(ps_state *s, int pid, size_t group) {
  int rc = ps_pids_push(&s->found, pid);
  return rc ? rc : ps_pids_push(&s->group_of, (int)group);
}

const char *ps_group_name(const ps_state *s, size_t g) {
  if (g >= s->ngroups)
    return "";
  const char *p = s->group_names.data;
  for (; g > 0; g--)
    p += strlen(p) + 1;
  return p;
}

/* Appends a group named `name` (its cgroup_full). */
static int add_group(ps_state *s, const char *name) {
  size_t n = strlen(name) + 1, at = s->ngroups ? s->group_names.len : 0;
  host_buf *b = &s->group_names;
  if (at + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < at + n + 1)
      cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
      return -ENOMEM;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + at, name, n);
  b->len = at + n;
  s->ngroups++;
  return 0;
}

/* ---- pid_file ------------------------------------------------------------ */

static int find_pid_file(ps_state *s, tower_acc *acc) {
  int rc = host_read(&s->rd.file, s->target, 4096);
  if (rc) {
    tower_acc_error(acc, "cannot read pid_file %s: %s", s->target, strerror(-rc));
    return rc;
  }
  int pid;
  if (!parse_pid(s->rd.file.data, s->rd.file.data + s->rd.file.len, &pid)) {
    tower_acc_error(acc, "pid_file %s does not hold a process id (it reads \"%.40s\")", s->target,
                    s->rd.file.data);
    return -EINVAL;
  }
  return add_found(s, pid, 0);
}

/* ---- scanning /proc (exe, pattern, user) --------------------------------- */

static bool is_pid(const char *name) {
  if (*name < '1' || *name > '9')
    return false;
  while (*name >= '0' && *name <= '9')
    name++;
  return *name == '\0';
}

static bool matches(const ps_state *s, const char *text) {
  return regexec(&s->re, text, 0, NULL, 0) == 0;
}

/* Does process `pid` match the exe, pattern or user selector? */
static bool pid_matches(ps_state *s, int pid, uint32_t uid) {
  ps_proc p;
  if (s->by == PS_BY_USER) {
    uint32_t ruid, euid;
    return ps_read_uids(&s->rd, pid, &ruid, &euid) == 0 && (s->native ? ruid : euid) == uid;
  }
  if (s->by == PS_BY_EXE && s->native) {
    char path[PATH_MAX], exe[PATH_MAX];
    snprintf(path, sizeof path, "%s/%d/exe", s->rd.roots.proc, pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    if (n < 0) /* gone, a kernel thread, or not ours to see: skipped */
      return false;
    exe[n] = '\0';
    return matches(s, exe);
  }
  if (s->by == PS_BY_PATTERN) {
    const char *cmd;
    size_t len;
    if (!ps_read_cmdline(&s->rd, pid, !s->native, &cmd, &len))
      return false;
    if (len > 0 || s->native)
      return matches(s, cmd);
  }
  /* exe with pgrep, or pattern on a process without a command line
   * (kernel threads, zombies): pgrep matches the name */
  return ps_read_stat(&s->rd, pid, &p) == 0 && matches(s, p.comm);
}

static int pid_cmp(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int scan_proc(ps_state *s, tower_acc *acc) {
  uint32_t uid = 0;
  if (s->by == PS_BY_USER) {
    ps_users_reset(&s->users);
    if (!ps_user_id(&s->users, s->target, &uid)) {
      tower_acc_error(acc, "user \"%s\" is unknown: it is not in %s%s", s->target, s->users.path,
                      s->users.err ? " (which cannot be read)" : "");
      return -ENOENT;
    }
  }
  host_dir d;
  int rc = host_dir_open(&d, &s->rd.dir, s->rd.roots.proc);
  if (rc) {
    tower_acc_error(acc,
                    "cannot list %s: %s (set HOST_PROC when the host's /proc is mounted "
                    "elsewhere)",
                    s->rd.roots.proc, strerror(-rc));
    return rc;
  }
  for (const char *name; rc == 0 && (name = host_dir_next(&d));) {
    if (!is_pid(name))
      continue;
    int pid = atoi(name);
    if (pid_matches(s, pid, uid))
      rc = add_found(s, pid, 0);
  }
  host_dir_close(&d);
  if (rc == 0 && d.err) {
    tower_acc_error(acc, "listing %s failed: %s", s->rd.roots.proc, strerror(d.err));
    rc = -d.err;
  }
  /* pgrep lists in pid order; every match is in group 0 */
  if (s->found.n > 1) /* qsort wants a non-null array even for 0 elements */
    qsort(s->found.v, s->found.n, sizeof *s->found.v, pid_cmp);
  return rc;
}

/* ---- cgroups ------------------------------------------------------------- */

/* The pids of <dir>/cgroup.procs, as group `group`. */
static int read_procs(ps_state *s, tower_acc *acc, const char *dir, size_t group) {
  char path[PATH_MAX];
  if (!host_path(path, sizeof path, dir, "cgroup.procs"))
    return -ENAMETOOLONG;
  int rc = host_read(&s->rd.file, path, 0);
  if (rc) {
    tower_acc_error(acc, "cannot read %s: %s", path, strerror(-rc));
    return rc;
  }
  host_lines it;
  host_lines_init(&it, &s->rd.file);
  const char *line;
  size_t len;
  while (rc == 0 && host_lines_next(&it, &line, &len)) {
    int pid;
    if (len && parse_pid(line, line + len, &pid))
      rc = add_found(s, pid, group);
  }
  return rc;
}

/* A path of this machine shown as the host names it: <HOST_SYS>/x is
 * /sys/x. */
static void host_view(const ps_state *s, const char *path, char *out, size_t len) {
  size_t n = strlen(s->rd.roots.sys);
  if (strcmp(s->rd.roots.sys, "/sys") != 0 && strncmp(path, s->rd.roots.sys, n) == 0 &&
      path[n] == '/')
    snprintf(out, len, "/sys%s", path + n);
  else
    snprintf(out, len, "%s", path);
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int find_cgroup(ps_state *s, tower_acc *acc) {
  char pattern[PATH_MAX];
  const char *t = s->target;
  if (t[0] != '/')
    snprintf(pattern, sizeof pattern, "%s/fs/cgroup/%s", s->rd.roots.sys, t);
  else if (strncmp(t, "/sys/", 5) == 0)
    snprintf(pattern, sizeof pattern, "%s/%s", s->rd.roots.sys, t + 5);
  else
    snprintf(pattern, sizeof pattern, "%s", t);
  glob_t g;
  int grc = glob(pattern, 0, NULL, &g); /* sorted, as Go's filepath.Glob */
  if (grc == GLOB_NOMATCH)
    return 0; /* nothing runs there: a successful lookup of 0 processes */
  if (grc) {
    tower_acc_error(acc, "cannot expand cgroup \"%s\" (%s): %s", t, pattern,
                    grc == GLOB_NOSPACE ? "out of memory" : "read error");
    return grc == GLOB_NOSPACE ? -ENOMEM : -EIO;
  }
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
    char shown[PATH_MAX];
    if (!is_dir(g.gl_pathv[i])) {
      tower_acc_error(acc, "cgroup \"%s\" matches %s, which is not a directory", t, g.gl_pathv[i]);
      rc = -ENOTDIR;
      break;
    }
    host_view(s, g.gl_pathv[i], shown, sizeof shown);
    rc = add_group(s, shown);
    if (rc == 0)
      rc = read_procs(s, acc, g.gl_pathv[i], s->ngroups - 1);
  }
  globfree(&g);
  return rc;
}

/* ---- systemd units ------------------------------------------------------- */

/* Where systemd puts a unit's cgroup: system.slice on the unified (v2)
 * hierarchy, under unified/ on a hybrid one, under the named systemd/
 * hierarchy on v1; a unit with Slice= elsewhere sits in another *.slice. */
static const char *const unit_dirs[] = {
    "system.slice/",    "unified/system.slice/",    "systemd/system.slice/",
    "*.slice/",         "unified/*.slice/",         "systemd/*.slice/",
    "*.slice/*.slice/", "unified/*.slice/*.slice/", "systemd/*.slice/*.slice/",
};

/* The unit's cgroup directory into out; false when it runs nowhere. */
static bool unit_dir(const ps_state *s, char *out, size_t len) {
  char pattern[PATH_MAX];
  for (size_t i = 0; i < sizeof unit_dirs / sizeof *unit_dirs; i++) {
    int n = snprintf(pattern, sizeof pattern, "%s/fs/cgroup/%s%s", s->rd.roots.sys, unit_dirs[i],
                     s->target);
    if (n < 0 || (size_t)n >= sizeof pattern)
      return false;
    if (!strchr(unit_dirs[i], '*')) {
      if (!is_dir(pattern))
        continue;
      snprintf(out, len, "%s", pattern);
      return true;
    }
    glob_t g;
    bool found = glob(pattern, GLOB_ONLYDIR, NULL, &g) == 0 && g.gl_pathc > 0;
    if (found)
      snprintf(out, len, "%s", g.gl_pathv[0]);
    globfree(&g);
    if (found)
      return true;
  }
  return false;
}

static bool in_found(const ps_state *s, int pid) {
  for (size_t i = 0; i < s->found.n; i++)
    if (s->found.v[i] == pid)
      return true;
  return false;
}

/* Keeps the processes whose parent is outside the unit: its main
 * process (and any other it started directly). */
static void keep_roots(ps_state *s) {
  size_t w = 0;
  for (size_t i = 0; i < s->found.n; i++) {
    ps_proc p;
    if (ps_read_stat(&s->rd, s->found.v[i], &p) == 0 && in_found(s, p.ppid))
      continue;
    s->found.v[w] = s->found.v[i];
    s->group_of.v[w++] = s->group_of.v[i];
  }
  s->found.n = s->group_of.n = w;
}

static int find_unit(ps_state *s, tower_acc *acc) {
  char dir[PATH_MAX], shown[PATH_MAX];
  if (!unit_dir(s, dir, sizeof dir))
    return 0; /* not running (or unknown): 0 processes */
  int rc = 0;
  if (s->systemd_children) {
    host_view(s, dir, shown, sizeof shown);
    rc = add_group(s, shown);
  }
  if (rc == 0)
    rc = read_procs(s, acc, dir, 0);
  if (rc == 0 && !s->systemd_children)
    keep_roots(s);
  return rc;
}

int ps_find(ps_state *s, tower_acc *acc) {
  s->found.n = s->group_of.n = 0;
  s->ngroups = 0;
  s->group_names.len = 0;
  switch (s->by) {
  case PS_BY_PID_FILE:
    return find_pid_file(s, acc);
  case PS_BY_SYSTEMD_UNIT:
    return find_unit(s, acc);
  case PS_BY_CGROUP:
    return find_cgroup(s, acc);
  default:
    return scan_proc(s, acc);
  }
}
