/* outputs.csv: the directory. It is opened once (created when allowed) and
 * every file is reached relative to that descriptor (csv_fs.c); each write
 * first checks that the path still names it, so a directory removed or
 * replaced under a running agent is picked up again instead of writing into
 * a deleted one. The configured path itself is the operator's: it may be a
 * link (to another disk, say); only the names inside it are distrusted. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
  if ((rc = dir_remember(o, fd))) {
    close(fd);
    return tower_config_error(cfg, at, "cannot stat directory %s: %s", o->dir, strerror(-rc));
  }
  return 0;
}

/* Before each write: when the directory was removed or replaced, use the
 * one now at the path (files are reopened there as they are written). */
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
  tower_warn(o->ctx, "directory %s was removed or replaced; writing into the one now there",
             o->dir);
  int old = o->dirfd;
  if ((rc = dir_remember(o, fd))) {
    close(fd);
    return rc;
  }
  close(old);
  return 0;
}
