/* outputs.file: one destination file.
 *
 * The file is opened once with O_APPEND and kept open. Before each write the
 * output compares its name with the open descriptor (stat against fstat):
 * when logrotate (or anyone) moved or deleted the file, the name leads to
 * another file or to none, and the output closes the old descriptor and
 * opens the name again, creating the file. So logrotate needs neither
 * copytruncate nor a signal; with copytruncate, O_APPEND writes at the new
 * end and the size is taken from the file again.
 *
 * Rotation follows Telegraf's internal/rotate: after a write, a file that
 * reached rotation_max_size or is older than rotation_interval (counted
 * from its modification time when it was opened) is renamed to
 * <stem>.<YYYY-MM-DD>-<unix seconds><ext> and a new file is started; then
 * the oldest archives beyond rotation_max_archives are removed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../common/fileio/write_all.h"
#include "file_out.h"

#define FILE_MODE 0644 /* Telegraf's rotate.FilePerm */
#define KEPT "; the metrics are kept for a retry"

/* What an operator can do about err. */
static const char *hint(int err) {
  switch (err) {
  case ENOSPC:
  case EDQUOT:
    return "; free space on that file system (or lower rotation_max_size or "
           "rotation_max_archives)";
  case EACCES:
  case EPERM:
  case EROFS:
    return "; check the permissions of the file and its directory and the mount options";
  case ENOENT:
  case ENOTDIR:
    return "; create the directory";
  default:
    return "";
  }
}

int file_dest_init(file_dest *d, const char *path) {
  *d = (file_dest){.path = path, .fd = -1, .is_stdout = strcmp(path, "stdout") == 0};
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  const char *dot = strrchr(base, '.');
  if (!dot || dot == base) /* Go's filepath.Ext: ".bashrc" is all extension */
    dot = dot == base ? base : base + strlen(base);
  d->dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
  d->stem = strndup(base, (size_t)(dot - base));
  d->ext = strdup(dot);
  if (!d->dir || !d->stem || !d->ext) {
    file_dest_free(d);
    return -ENOMEM;
  }
  return 0;
}

void file_dest_free(file_dest *d) {
  file_dest_close(d);
  tower_metric_release(d->done_first);
  d->done_first = NULL;
  free(d->dir);
  free(d->stem);
  free(d->ext);
  d->dir = d->stem = d->ext = NULL;
}

void file_dest_close(file_dest *d) {
  if (d->fd > STDERR_FILENO)
    close(d->fd);
  d->fd = -1;
}

/* `then`: what becomes of the metrics, for the message. */
static int open_file(tower_ctx *ctx, file_dest *d, const file_rotation *r, const char *then) {
  int fd = open(d->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, FILE_MODE);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    int err = errno;
    if (fd >= 0)
      close(fd);
    tower_error(ctx, "cannot open %s: %s%s%s", d->path, strerror(err), hint(err), then);
    return -err;
  }
  d->fd = fd;
  d->dev = st.st_dev;
  d->ino = st.st_ino;
  d->size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
  d->expire_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec + r->interval;
  return 0;
}

int file_dest_open(tower_ctx *ctx, file_dest *d, const file_rotation *r) {
  if (d->is_stdout) {
    d->fd = STDOUT_FILENO;
    return 0;
  }
  int rc = open_file(ctx, d, r, "");
  if (rc == 0 && file_dest_due(d, r, tower_now()))
    rc = file_dest_rotate(ctx, d, r);
  return rc;
}

int file_dest_check(tower_ctx *ctx, file_dest *d, const file_rotation *r) {
  if (d->is_stdout)
    return 0;
  struct stat st;
  if (d->fd >= 0 && stat(d->path, &st) == 0 && st.st_dev == d->dev && st.st_ino == d->ino) {
    if (S_ISREG(st.st_mode))
      d->size = (uint64_t)st.st_size; /* truncated by copytruncate, or appended by others */
    return 0;
  }
  if (d->fd >= 0)
    tower_info(ctx, "%s was moved or deleted (logrotate?); opening it again", d->path);
  file_dest_close(d);
  return open_file(ctx, d, r, KEPT);
}

int file_dest_write(tower_ctx *ctx, file_dest *d, const char *data, size_t len) {
  if (d->fd < 0)
    return -EBADF;
  if (len == 0)
    return 0;
  int rc = fileio_write_buf(d->fd, data, len);
  if (rc == 0) {
    d->size += len;
    return 0;
  }
  /* Cut a partial write back to the old end, so the retry adds whole lines;
   * a pipe or terminal cannot be cut, and ftruncate then fails harmlessly. */
  if (!d->is_stdout && ftruncate(d->fd, (off_t)d->size) != 0 && errno != EINVAL)
    tower_warn(ctx, "%s may end in a partial metric: cannot cut it back: %s", d->path,
               strerror(errno));
  tower_error(ctx, "cannot write to %s: %s%s" KEPT, d->path, strerror(-rc), hint(-rc));
  return rc;
}

bool file_dest_due(const file_dest *d, const file_rotation *r, int64_t now_ns) {
  if (d->is_stdout)
    return false;
  return (r->interval > 0 && now_ns > d->expire_ns) || (r->max_size > 0 && d->size >= r->max_size);
}

/* A free archive name for now: Telegraf's, or with _1, _2... after it. */
static bool free_archive_name(const file_dest *d, int64_t now, char *buf, size_t size) {
  struct stat st;
  for (unsigned n = 0; n < 1000; n++)
    if (file_archive_name(d, now, n, buf, size) && lstat(buf, &st) != 0 && errno == ENOENT)
      return true;
  return false;
}

int file_dest_rotate(tower_ctx *ctx, file_dest *d, const file_rotation *r) {
  char archive[PATH_MAX];
  if (!free_archive_name(d, tower_now(), archive, sizeof archive)) {
    tower_error(ctx, "cannot rotate %s: no free archive name; writing on to it", d->path);
    return 0;
  }
  if (rename(d->path, archive) != 0) {
    tower_error(ctx, "cannot rotate %s to %s: %s%s; writing on to it", d->path, archive,
                strerror(errno), hint(errno));
    return 0;
  }
  tower_debug(ctx, "rotated %s to %s", d->path, archive);
  file_dest_close(d);
  file_purge_archives(ctx, d, r->max_archives);
  return open_file(ctx, d, r, KEPT);
}
