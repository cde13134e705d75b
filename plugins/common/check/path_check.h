/* Whether a configured path can be used by this process, found out
 * without opening, creating or locking anything (for --config-check, when
 * init must acquire nothing), with a message that names the component at
 * fault and why:
 *   "/opt/app is not a directory (it is a regular file)"
 *   "/opt/app/bin is not searchable by uid 1000 (mode 0700, owner root, group root)"
 *   "/opt/app/bin/check.sh is not executable by uid 0 (mode 0644, owner root, group root)"
 *
 * Access is asked of the kernel (faccessat with AT_EACCESS: the effective
 * uid and groups, ACLs, read-only and noexec mounts), so the answer is the
 * one the plugin will get later: for root every directory is searchable and
 * every file readable and writable whatever the mode, but running a file
 * still takes an execute bit.
 *
 * Header-only, like plugins/common/curl: a few static functions that the
 * in-tree plugins share, not a promise of the public SDK (whose ABI third
 * parties build on, and whose messages would then be frozen). */
#ifndef TOWER_PATH_CHECK_H
#define TOWER_PATH_CHECK_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* What the path must name (through symbolic links). */
typedef enum path_kind {
  PATH_ANY = 0,
  PATH_FILE,   /* a regular file */
  PATH_DIR,    /* a directory */
  PATH_SOCKET, /* a unix socket */
} path_kind;

/* ST_NOEXEC is a GNU extension of <sys/statvfs.h>; its value is the
 * kernel's MS_NOEXEC, fixed by the Linux ABI. */
#ifdef ST_NOEXEC
#define PATH_ST_NOEXEC ST_NOEXEC
#else
#define PATH_ST_NOEXEC 8
#endif

/* Room for a message: a path and the words around it. */
#define PATH_WHY_MAX (PATH_MAX + 256)

/* "a regular file", "a directory"... */
static inline const char *path_kind_text(mode_t m) {
  if (S_ISREG(m))
    return "a regular file";
  if (S_ISDIR(m))
    return "a directory";
  if (S_ISSOCK(m))
    return "a socket";
  if (S_ISLNK(m))
    return "a symbolic link";
  if (S_ISFIFO(m))
    return "a FIFO";
  if (S_ISCHR(m))
    return "a character device";
  return S_ISBLK(m) ? "a block device" : "a special file";
}

/* "mode 0700, owner root, group root" (numbers for ids without a name). */
static inline void path_owner_text(const struct stat *st, char *out, size_t len) {
  char buf[2048], user[64], group[64];
  struct passwd pw, *pwp = NULL;
  struct group gr, *grp = NULL;
  if (getpwuid_r(st->st_uid, &pw, buf, sizeof buf, &pwp) == 0 && pwp)
    snprintf(user, sizeof user, "%s", pw.pw_name);
  else
    snprintf(user, sizeof user, "%ld", (long)st->st_uid);
  if (getgrgid_r(st->st_gid, &gr, buf, sizeof buf, &grp) == 0 && grp)
    snprintf(group, sizeof group, "%s", gr.gr_name);
  else
    snprintf(group, sizeof group, "%ld", (long)st->st_gid);
  snprintf(out, len, "mode %04o, owner %s, group %s", (unsigned)(st->st_mode & 07777), user, group);
}

/* stat() failed on `path` with `err`: says why. A dangling symbolic link
 * says where it points, since "does not exist" would look false in ls. */
static inline int path_stat_error(const char *path, int err, char *why, size_t len) {
  struct stat st;
  char target[PATH_MAX];
  ssize_t n;
  if (err == ENOENT && lstat(path, &st) == 0 && S_ISLNK(st.st_mode) &&
      (n = readlink(path, target, sizeof target - 1)) > 0) {
    target[n] = '\0';
    snprintf(why, len, "%s is a symbolic link to %s, which does not exist", path, target);
  } else if (err == ENOENT) {
    snprintf(why, len, "%s does not exist", path);
  } else if (err == ELOOP) {
    snprintf(why, len, "%s: too many levels of symbolic links (a loop?)", path);
  } else {
    snprintf(why, len, "%s: %s", path, strerror(err));
  }
  return -err;
}

/* faccessat() refused `what` ("searchable"...) on `path` with `err`. */
static inline int path_access_error(const char *path, const struct stat *st, const char *what,
                                    int err, char *why, size_t len) {
  struct statvfs vfs;
  char owner[256];
  if (err == EROFS) {
    snprintf(why, len, "%s is on a read-only file system", path);
    return -EROFS;
  }
  if (err != EACCES)
    return path_stat_error(path, err, why, len);
  /* x bits set but no execution: the file system is mounted noexec */
  if (S_ISREG(st->st_mode) && (st->st_mode & 0111) && strcmp(what, "executable") == 0 &&
      statvfs(path, &vfs) == 0 && (vfs.f_flag & PATH_ST_NOEXEC)) {
    snprintf(why, len, "%s is on a file system mounted noexec", path);
    return -EACCES;
  }
  path_owner_text(st, owner, sizeof owner);
  snprintf(why, len, "%s is not %s by uid %ld (%s)", path, what, (long)geteuid(), owner);
  return -EACCES;
}

/* One directory on the way: it exists, is a directory, may be searched. */
static inline int path_check_step(const char *dir, char *why, size_t len) {
  struct stat st;
  if (stat(dir, &st) != 0)
    return path_stat_error(dir, errno, why, len);
  if (!S_ISDIR(st.st_mode)) {
    snprintf(why, len, "%s is not a directory (it is %s)", dir, path_kind_text(st.st_mode));
    return -ENOTDIR;
  }
  if (faccessat(AT_FDCWD, dir, X_OK, AT_EACCESS) != 0)
    return path_access_error(dir, &st, "searchable", errno, why, len);
  return 0;
}

/* Every directory before the last component, from the root (or the
 * current directory) down. */
static inline int path_check_parents(const char *path, char *why, size_t len) {
  char buf[PATH_MAX];
  size_t n = strlen(path);
  if (n >= sizeof buf) {
    snprintf(why, len, "%.80s...: the path is longer than %d bytes", path, PATH_MAX - 1);
    return -ENAMETOOLONG;
  }
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i < n; i++) {
    if (buf[i] != '/' || buf[i - 1] == '/')
      continue;
    buf[i] = '\0';
    int rc = path_check_step(buf, why, len);
    buf[i] = '/';
    if (rc)
      return rc;
  }
  return 0;
}

static inline int path_check_kind(const char *path, const struct stat *st, path_kind kind,
                                  char *why, size_t len) {
  static const char *const wanted[] = {"", "a regular file", "a directory", "a socket"};
  bool ok = kind == PATH_ANY || (kind == PATH_FILE && S_ISREG(st->st_mode)) ||
            (kind == PATH_DIR && S_ISDIR(st->st_mode)) ||
            (kind == PATH_SOCKET && S_ISSOCK(st->st_mode));
  if (ok)
    return 0;
  snprintf(why, len, "%s is %s, not %s", path, path_kind_text(st->st_mode), wanted[kind]);
  return kind == PATH_DIR ? -ENOTDIR : kind == PATH_SOCKET ? -ENOTSOCK : -EISDIR;
}

/* Checks that `path` names a `kind` that allows `mode` (R_OK, W_OK, X_OK
 * or'ed; X_OK is "searchable" for a directory) to this process, every
 * directory on the way included. 0; else a negative errno (-ENOENT,
 * -ENOTDIR, -EACCES, -EROFS, -EISDIR for a wrong kind...) with the reason,
 * naming the path or the component at fault, in why[len]. Creates, opens
 * and changes nothing. */
static inline int path_check(const char *path, path_kind kind, int mode, char *why, size_t len) {
  static const struct {
    int bit;
    const char *file, *dir;
  } bits[] = {{R_OK, "readable", "readable"},
              {W_OK, "writable", "writable"},
              {X_OK, "executable", "searchable"}};
  if (!path || !*path) {
    snprintf(why, len, "the path is empty");
    return -EINVAL;
  }
  int rc = path_check_parents(path, why, len);
  if (rc)
    return rc;
  struct stat st;
  if (stat(path, &st) != 0)
    return path_stat_error(path, errno, why, len);
  if ((rc = path_check_kind(path, &st, kind, why, len)))
    return rc;
  for (size_t i = 0; i < sizeof bits / sizeof *bits; i++)
    if ((mode & bits[i].bit) && faccessat(AT_FDCWD, path, bits[i].bit, AT_EACCESS) != 0)
      return path_access_error(path, &st, S_ISDIR(st.st_mode) ? bits[i].dir : bits[i].file, errno,
                               why, len);
  return 0;
}

/* What to do about a path_check() failure, in general words; callers with
 * something more precise to say (the option to fix) say that instead. */
static inline const char *path_check_hint(int rc) {
  switch (rc) {
  case -ENOENT:
  case -ENOTDIR:
  case -ELOOP:
    return "fix the path";
  case -EACCES:
    return "change the permissions, or run tower as a user who has access";
  case -EROFS:
    return "choose a path on a writable file system";
  default:
    return "fix the path";
  }
}

#endif
