/* outputs.csv: the directory. It is opened once (created when allowed) and
 * every file is reached relative to that descriptor (csv_fs.c); each write
 * first checks that the path still names it, so a directory removed or
 * replaced under a running agent is picked up again instead of writing into
 * a deleted one. The configured path itself is the operator's: it may be a
 * link (to another disk, say); only the names inside it are distrusted.
 * Whatever directory is in use, this output holds its lock (csv_lock.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/check/path_check.h"
#include "csv.h"

/* mkdir -p with mode 0755. */
static int mkdir_p(const char *path) {
  char *p = strdup(path);
  if (!p)
    return -ENOMEM;
  int rc = 0;
  for (char *q = p + 1; !rc; q++) {
    if (*q != '/' && *q != '\0')
      continue;
    char c = *q;
    *q = '\0';
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
      rc = -errno;
    *q = c;
    if (!c)
      break;
  }
  free(p);
  struct stat st;
  if (!rc && stat(path, &st) != 0)
    rc = -errno;
  else if (!rc && !S_ISDIR(st.st_mode))
    rc = -ENOTDIR;
  return rc;
}

static int dir_remember(csv_out *o, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return -errno;
  o->dirfd = fd;
  o->dir_dev = st.st_dev;
  o->dir_ino = st.st_ino;
  return 0;
}

/* Creates and removes a file, so that a wrong permission fails at start.
 * Its name is unpredictable and created exclusively, so a planted link
 * cannot turn the check into a write elsewhere. 0 or -errno. */
static int probe(csv_out *o, int fd) {
  char name[NAME_MAX + 1];
  int pfd = csv_create_temp(fd, CSV_PROBE_PREFIX, &o->rnd, O_WRONLY, 0600, name, sizeof name);
  if (pfd < 0)
    return pfd;
  close(pfd);
  unlinkat(fd, name, 0);
  return 0;
}

/* Temporary files (and probes) an interrupted run left behind: ours to
 * remove, now that we hold the directory's lock. unlinkat removes a link
 * itself, never its target. */
static void remove_stale_temps(csv_out *o, int fd) {
  int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (!d) {
    if (dfd >= 0)
      close(dfd);
    return;
  }
  for (struct dirent *e; (e = readdir(d));)
    if (csv_is_temp_name(e->d_name) && unlinkat(fd, e->d_name, 0) == 0)
      tower_info(o->ctx, "removed %s/%s, left by an interrupted write", o->dir, e->d_name);
  closedir(d);
}

int csv_dir_open(csv_out *o, const tower_config *cfg) {
  const tower_setting *at = tower_config_setting(cfg, "directory");
  int rc = o->create_dir ? mkdir_p(o->dir) : 0;
  if (rc)
    return tower_config_error(cfg, at,
                              "cannot create directory %s: %s; create it or fix the "
                              "permissions of its parent",
                              o->dir, strerror(-rc));
  int fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return tower_config_error(cfg, at, "cannot open directory %s: %s%s", o->dir, strerror(err),
                              err == ENOENT ? "; create it or set create_directory = true" : "");
  }
  if ((rc = probe(o, fd))) {
    close(fd);
    return tower_config_error(cfg, at,
                              "directory %s is not writable: %s; make it writable for the "
                              "user tower runs as (uid %ld) or choose another directory",
                              o->dir, strerror(-rc), (long)geteuid());
  }
  char msg[1024];
  if ((o->lockfd = csv_lock_take(o, fd, msg, sizeof msg)) < 0) {
    close(fd);
    tower_config_error(cfg, at, "%s", msg);
    return o->lockfd;
  }
  if ((rc = dir_remember(o, fd))) {
    close(fd);
    return tower_config_error(cfg, at, "cannot stat directory %s: %s", o->dir, strerror(-rc));
  }
  remove_stale_temps(o, fd);
  return 0;
}

/* Nearest existing ancestor of path (for a directory still to be made). */
static int existing_ancestor(const char *path, char *out, size_t size) {
  snprintf(out, size, "%s", path);
  for (;;) {
    char *slash = strrchr(out, '/');
    if (!slash)
      return snprintf(out, size, ".") > 0 ? 0 : -EINVAL;
    *(slash == out ? slash + 1 : slash) = '\0';
    if (access(out, F_OK) == 0)
      return 0;
  }
}

/* What to do about a directory path_check() refused for `why`. */
static const char *dir_hint(int rc, const char *why, bool create) {
  switch (rc) {
  case -ENOENT:
    return create ? "create it, or fix the path" : "create it or set create_directory = true";
  case -EACCES:
    return strstr(why, "not searchable")
               ? "let the user tower runs as search that directory (chmod), or choose another "
                 "directory"
               : "make it writable for the user tower runs as, or choose another directory";
  case -EROFS:
    return "choose a directory on a writable file system";
  default:
    return "fix the path, or choose another directory";
  }
}

/* --config-check: the directory (or, when it is still to be created, its
 * nearest existing ancestor) is reachable, a directory, and lets tower
 * create files; each refusal names the component at fault. */
int csv_dir_check(csv_out *o, const tower_config *cfg) {
  const tower_setting *at = tower_config_setting(cfg, "directory");
  char why[PATH_WHY_MAX], parent[PATH_MAX];
  int rc = path_check(o->dir, PATH_DIR, W_OK | X_OK, why, sizeof why);
  if (rc == -ENOENT && o->create_dir) {
    /* made at start: the ancestor it is made in must allow that */
    if (existing_ancestor(o->dir, parent, sizeof parent))
      return 0; /* start will tell */
    rc = path_check(parent, PATH_DIR, W_OK | X_OK, why, sizeof why);
    if (rc)
      return tower_config_error(cfg, at, "directory %s cannot be created: %s; %s", o->dir, why,
                                dir_hint(rc, why, true));
    return 0;
  }
  if (rc)
    return tower_config_error(cfg, at, "directory %s cannot be used: %s; %s", o->dir, why,
                              dir_hint(rc, why, false));
  return 0;
}

/* Before each write: when the directory was removed or replaced, use the
 * one now at the path (files are reopened there as they are written), once
 * its lock is ours. */
int csv_dir_reopen(csv_out *o) {
  struct stat st;
  if (stat(o->dir, &st) == 0 && st.st_dev == o->dir_dev && st.st_ino == o->dir_ino)
    return 0;
  int rc = o->create_dir ? mkdir_p(o->dir) : 0;
  int fd = rc ? -1 : open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    rc = rc ? rc : -errno;
    tower_error(o->ctx,
                "directory %s is gone and cannot be %s: %s; the metrics are kept for a retry",
                o->dir, o->create_dir ? "created again" : "opened", strerror(-rc));
    return rc;
  }
  char msg[1024];
  int lockfd = csv_lock_take(o, fd, msg, sizeof msg);
  if (lockfd < 0) {
    tower_error(o->ctx,
                "directory %s was replaced, and the new one cannot be used: %s; the "
                "metrics are kept for a retry",
                o->dir, msg);
    close(fd);
    return lockfd;
  }
  tower_warn(o->ctx, "directory %s was removed or replaced; writing into the one now there",
             o->dir);
  int old = o->dirfd;
  if ((rc = dir_remember(o, fd))) {
    csv_lock_release(lockfd);
    close(fd);
    return rc;
  }
  csv_lock_release(o->lockfd);
  o->lockfd = lockfd;
  close(old);
  return 0;
}
