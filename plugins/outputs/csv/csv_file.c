/* outputs.csv: writing one measurement's file.
 *
 * Append mode keeps the file open (O_APPEND) and writes each batch's rows
 * for the file with one writev; a failed or short write is cut back with
 * ftruncate, so the file never ends in a half row. Every write first checks
 * that the name still points at the open file (someone may have removed,
 * rotated or truncated it) and reopens it if not.
 *
 * Snapshot mode writes <m>.csv.tmp.XXXXXX and renames it over <m>.csv, so a
 * reader sees the old file or the new one, never a part of one.
 *
 * Names are reached through csv_fs.c: nothing is opened through a link, and
 * an existing <m>.csv that is not a regular file with a single name is
 * refused (the write is retried) rather than written, read or replaced.
 *
 * Errors are logged here, where the path and errno are known, and returned
 * as -errno; the caller turns them into TOWER_WRITE_RETRY.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../../common/fileio/write_all.h"
#include "../../common/plural.h"
#include "csv.h"

#define HEADER_MAX (1024 * 1024) /* longest header (and last row) we look for */
#define CHUNK (64 * 1024)

static const char *path_of(const csv_out *o, const char *name, char *buf, size_t n) {
  snprintf(buf, n, "%s/%s", o->dir, name);
  return buf;
}

/* What an operator can do about err. */
static const char *hint(int err) {
  switch (err) {
  case ENOSPC:
  case EDQUOT:
    return "; free space on that file system (or lower rotate_max_size/rotate_max_files)";
  case EACCES:
  case EPERM:
  case EROFS:
    return "; check the permissions and mount options of the directory";
  default:
    return "";
  }
}

static int write_buf(int fd, const tower_buf *b) {
  return fileio_write_buf(fd, tower_buf_data(b), tower_buf_len(b));
}

static int pread_all(int fd, char *buf, size_t len, off_t off) {
  while (len > 0) {
    ssize_t n = pread(fd, buf, len, off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n < 0 ? -errno : -EIO; /* shorter than fstat said */
    buf += n;
    len -= (size_t)n;
    off += n;
  }
  return 0;
}

/* With fsync = true: makes created, renamed and removed names durable. */
static void sync_dir(csv_out *o) {
  if (o->fsync && fsync(o->dirfd) != 0)
    tower_warn(o->ctx, "fsync of directory %s failed: %s", o->dir, strerror(errno));
}

/* Refuses what is at the data file's name. */
static void refuse(csv_out *o, csv_file *f, const char *what) {
  char path[PATH_MAX];
  tower_error(o->ctx,
              "%s is %s: the output writes only a regular file with a single name there, never "
              "through a link or into a FIFO or device, which could make it overwrite another "
              "file or hang; remove it or move it away (and find out who put it there); the "
              "metrics are kept for a retry",
              path_of(o, f->fname, path, sizeof path), what);
}

/* ---- opening: adopt the header, repair an interrupted last row ---------- */

/* Cuts a last row that lacks its "\n" (a crash during a write): finds the
 * last newline within HEADER_MAX bytes of the end. New size, -EINVAL when
 * there is none that close, or -errno. */
static off_t repair_tail(csv_out *o, csv_file *f, int fd, off_t size) {
  char chunk[4096], path[PATH_MAX];
  off_t end = size, keep = -1;
  while (end > 0 && keep < 0 && size - end < HEADER_MAX) {
    off_t start = end > (off_t)sizeof chunk ? end - (off_t)sizeof chunk : 0;
    int rc = pread_all(fd, chunk, (size_t)(end - start), start);
    if (rc)
      return rc;
    for (off_t i = end - start; i-- > 0 && keep < 0;)
      if (chunk[i] == '\n')
        keep = start + i + 1;
    end = start;
  }
  if (keep == size)
    return size;
  if (keep < 0 && end > 0)
    return -EINVAL;
  keep = keep < 0 ? 0 : keep;
  if (ftruncate(fd, keep) != 0)
    return -errno;
  long long cut = (long long)(size - keep);
  tower_warn(o->ctx,
             "%s: removed an incomplete last row (%lld byte%s) left by an interrupted write",
             path_of(o, f->fname, path, sizeof path), cut, plural_s((unsigned long long)cut));
  return keep;
}

/* Reads the first record of fd (size bytes) into f->cols. 0, -EINVAL when
 * there is no complete, valid header within HEADER_MAX bytes, -errno. */
static int read_header(csv_out *o, csv_file *f, int fd, off_t size) {
  size_t want = size < HEADER_MAX ? (size_t)size : HEADER_MAX;
  char *data = malloc(want);
  if (!data)
    return -ENOMEM;
  int rc = pread_all(fd, data, want, 0);
  csv_scan s;
  csv_scan_init(&s, o->sep);
  bool end = false;
  size_t used = rc ? 0 : csv_scan_feed(&s, data, want, &end);
  if (!rc && !end)
    rc = -EINVAL;
  if (!rc) {
    csv_cols_reset(&f->cols);
    rc = csv_parse_header(data, used - 1 - (s.crlf ? 1 : 0), o->sep, &f->cols);
    f->head_len = (off_t)used;
  }
  free(data);
  if (rc)
    csv_cols_reset(&f->cols);
  return rc;
}

/* A file we cannot read as CSV keeps its data under another name. */
static int move_aside(csv_out *o, csv_file *f) {
  char aside[NAME_MAX + 1], path[PATH_MAX];
  snprintf(aside, sizeof aside, "%s.invalid", f->fname);
  path_of(o, f->fname, path, sizeof path);
  if (renameat(o->dirfd, f->fname, o->dirfd, aside) != 0) {
    int err = errno;
    tower_error(o->ctx, "%s has no valid CSV header and cannot be moved aside: %s; move it away",
                path, strerror(err));
    return -err;
  }
  tower_warn(o->ctx,
             "%s has no valid CSV header (or an unterminated last row); moved it to %s.invalid "
             "and starting a new file",
             path, path);
  return 0;
}

/* Adopts the header and size of the freshly opened f->fd. */
static int adopt(csv_out *o, csv_file *f, const struct stat *st) {
  f->size = 0;
  f->disk_ncols = 0;
  f->head_len = 0;
  if (st->st_size == 0)
    return 0; /* a new file: we write a header */
  off_t size = repair_tail(o, f, f->fd, st->st_size);
  if (size < 0)
    return (int)size;
  if (size > 0) {
    int rc = read_header(o, f, f->fd, size);
    if (rc)
      return rc;
    f->disk_ncols = f->cols.n;
  }
  f->size = size;
  return 0;
}

static int open_append(csv_out *o, csv_file *f, bool retry) {
  char path[PATH_MAX];
  csv_entry e;
  int fd = csv_open_at(o->dirfd, f->fname, O_RDWR | O_APPEND | O_CREAT, o->file_mode, &e);
  if (fd == -EPERM && e.unsafe) {
    refuse(o, f, e.unsafe);
    return fd;
  }
  if (fd < 0) {
    tower_error(o->ctx, "cannot open %s for appending: %s%s",
                path_of(o, f->fname, path, sizeof path), strerror(-fd), hint(-fd));
    return fd;
  }
  if (e.created)
    sync_dir(o);
  f->fd = fd;
  f->dev = e.st.st_dev;
  f->ino = e.st.st_ino;
  int rc = adopt(o, f, &e.st);
  if (rc == 0)
    return 0;
  close(f->fd);
  f->fd = -1;
  if (rc == -EINVAL && retry && move_aside(o, f) == 0)
    return open_append(o, f, false);
  if (rc != -EINVAL)
    tower_error(o->ctx, "cannot read %s: %s", path_of(o, f->fname, path, sizeof path),
                strerror(-rc));
  return rc;
}

/* Reopens the file when its name no longer points at what we hold open. */
static int check_open(csv_out *o, csv_file *f) {
  if (f->fd >= 0) {
    struct stat st;
    if (fstatat(o->dirfd, f->fname, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == f->dev &&
        st.st_ino == f->ino) {
      if (st.st_size == f->size)
        return 0;
      if (st.st_size > f->size) { /* appended by someone else: keep going after it */
        f->size = st.st_size;
        return 0;
      }
    }
    char path[PATH_MAX];
    tower_info(o->ctx, "%s was removed, replaced or truncated by someone else; reopening it",
               path_of(o, f->fname, path, sizeof path));
    close(f->fd);
    f->fd = -1;
  }
  return open_append(o, f, true);
}

/* ---- rotation and widening ----------------------------------------------- */

/* m.csv.(N-1) -> m.csv.N, ..., m.csv -> m.csv.1, then a new m.csv. */
static int rotate(csv_out *o, csv_file *f) {
  char from[NAME_MAX + 1], to[NAME_MAX + 1], path[PATH_MAX];
  int rc = 0;
  for (int64_t i = o->rotate_files - 1; i >= 1 && !rc; i--) {
    snprintf(from, sizeof from, "%s.%lld", f->fname, (long long)i);
    snprintf(to, sizeof to, "%s.%lld", f->fname, (long long)i + 1);
    if (renameat(o->dirfd, from, o->dirfd, to) != 0 && errno != ENOENT)
      rc = -errno;
  }
  snprintf(to, sizeof to, "%s.1", f->fname);
  if (!rc && o->rotate_files > 0 && renameat(o->dirfd, f->fname, o->dirfd, to) != 0)
    rc = -errno;
  if (!rc && o->rotate_files == 0 && unlinkat(o->dirfd, f->fname, 0) != 0)
    rc = -errno;
  if (rc) {
    tower_error(o->ctx, "cannot rotate %s: %s%s", path_of(o, f->fname, path, sizeof path),
                strerror(-rc), hint(-rc));
    return rc;
  }
  close(f->fd);
  f->fd = -1;
  sync_dir(o);
  return open_append(o, f, true);
}

/* Copies one scanned piece of an old row; at the row's end, pads it with
 * empty cells up to `width` and ends it with "\n" (empty lines go away). */
static int copy_piece(tower_buf *out, const char *p, size_t used, bool end, const csv_scan *s,
                      size_t width, char sep) {
  if (!end)
    return tower_buf_append(out, p, used);
  int rc = tower_buf_append(out, p, used - 1);
  if (s->crlf) /* the '\r' is the last byte copied, in this piece or the one before */
    tower_buf_truncate(out, tower_buf_len(out) - 1);
  if (s->bytes == 0)
    return rc;
  for (size_t k = s->cells; k < width && !rc; k++)
    rc = tower_buf_append(out, &sep, 1);
  return rc ? rc : tower_buf_append(out, "\n", 1);
}

/* Streams the rows of f->fd after the header into `to`, padded to the
 * current width. Flushes only at row ends, so a "\r\n" never straddles. */
static int copy_rows(csv_out *o, csv_file *f, int to, char *chunk) {
  tower_buf *out = o->tmp;
  csv_scan s;
  csv_scan_init(&s, o->sep);
  bool in_header = true, end = false;
  int rc = 0;
  for (off_t off = 0; off < f->size && !rc;) {
    size_t n = f->size - off < CHUNK ? (size_t)(f->size - off) : CHUNK;
    if ((rc = pread_all(f->fd, chunk, n, off)))
      break;
    off += (off_t)n;
    size_t i = 0;
    while (i < n && !rc) {
      size_t used = csv_scan_feed(&s, chunk + i, n - i, &end);
      if (!in_header)
        rc = copy_piece(out, chunk + i, used, end, &s, f->cols.n, o->sep);
      i += used;
      if (!end)
        continue;
      in_header = false;
      csv_scan_next_record(&s);
      if (!rc && tower_buf_len(out) >= CHUNK && !(rc = write_buf(to, out)))
        tower_buf_reset(out);
    }
  }
  if (!rc && !in_header && (s.bytes > 0 || s.cr)) { /* an unterminated last row */
    s.crlf = s.cr;
    rc = copy_piece(out, "\n", 1, true, &s, f->cols.n, o->sep);
  }
  return rc ? rc : write_buf(to, out);
}

/* Creates a new <m>.csv.tmp.XXXXXX (f->tmpname) with `mode`, not narrowed
 * by the umask. The name is fresh each time, so a stale or planted file of
 * that name is never reused. */
static int open_tmp(csv_out *o, csv_file *f, int flags, mode_t mode) {
  char prefix[NAME_MAX + 1];
  snprintf(prefix, sizeof prefix, "%s%s", f->fname, CSV_TEMP_SUFFIX);
  return csv_create_temp(o->dirfd, prefix, &o->rnd, flags, mode, f->tmpname, NAME_MAX + 1);
}

/* Writes the widened header and the padded old rows to fd, then renames it
 * over the file. 0 or -errno. */
static int rewrite_into(csv_out *o, csv_file *f, int fd, off_t *head_len) {
  char *chunk = malloc(CHUNK);
  if (!chunk)
    return -ENOMEM;
  tower_buf_reset(o->tmp);
  int rc = csv_header(o, &f->cols, o->tmp);
  *head_len = (off_t)tower_buf_len(o->tmp);
  if (!rc)
    rc = copy_rows(o, f, fd, chunk);
  free(chunk);
  if (!rc && o->fsync && fsync(fd) != 0)
    rc = -errno;
  if (!rc && renameat(o->dirfd, f->tmpname, o->dirfd, f->fname) != 0)
    rc = -errno;
  return rc;
}

/* Rewrites the file with the header widened to f->cols. The old file stays
 * as it was when anything fails. */
static int widen(csv_out *o, csv_file *f) {
  char path[PATH_MAX];
  struct stat st;
  size_t added = f->cols.n - f->disk_ncols;
  /* the mode of the file replaced, without set-id bits (it may not be ours) */
  int fd = fstat(f->fd, &st) == 0 ? open_tmp(o, f, O_RDWR | O_APPEND, st.st_mode & 0777) : -errno;
  off_t head_len = 0;
  int rc = fd < 0 ? fd : rewrite_into(o, f, fd, &head_len);
  if (!rc && fstat(fd, &st) != 0)
    rc = -errno;
  if (rc) {
    tower_error(o->ctx, "cannot rewrite %s with %zu new column%s: %s%s; the file is unchanged",
                path_of(o, f->fname, path, sizeof path), added, plural_s(added), strerror(-rc),
                hint(-rc));
    if (fd >= 0) {
      close(fd);
      unlinkat(o->dirfd, f->tmpname, 0);
    }
    return rc;
  }
  tower_debug(o->ctx, "%s rewritten with %zu new column%s", path_of(o, f->fname, path, sizeof path),
              added, plural_s(added));
  close(f->fd);
  f->fd = fd;
  f->dev = st.st_dev;
  f->ino = st.st_ino;
  f->size = st.st_size;
  f->disk_ncols = f->cols.n;
  f->head_len = head_len;
  sync_dir(o);
  return 0;
}

/* ---- append mode --------------------------------------------------------- */

static bool needs_rotation(const csv_out *o, const csv_file *f) {
  return o->rotate_size && f->size > f->head_len &&
         (uint64_t)f->size + tower_buf_len(f->buf) > o->rotate_size;
}

/* Opens the file (reopening, rotating, widening as needed) and renders the
 * rows into f->buf against its final header. */
static int prepare_append(csv_out *o, csv_file *f) {
  char path[PATH_MAX];
  for (int round = 0; round < 3; round++) {
    int rc = check_open(o, f);
    if (!rc && (rc = csv_file_render(o, f)))
      tower_error(o->ctx, "cannot lay out rows for %s: %s", path_of(o, f->fname, path, sizeof path),
                  strerror(-rc));
    if (rc)
      return rc;
    if (!needs_rotation(o, f))
      return f->size > 0 && f->cols.n > f->disk_ncols ? widen(o, f) : 0;
    if ((rc = rotate(o, f))) /* the new file may hold another header: render again */
      return rc;
  }
  return 0;
}

int csv_file_append(csv_out *o, csv_file *f) {
  char path[PATH_MAX];
  int rc = prepare_append(o, f);
  if (rc)
    return rc;
  tower_buf_reset(o->head);
  if (f->size == 0 && (rc = csv_header(o, &f->cols, o->head)))
    return rc;
  size_t hl = tower_buf_len(o->head), bl = tower_buf_len(f->buf);
  struct iovec iov[2] = {{(void *)tower_buf_data(o->head), hl},
                         {(void *)tower_buf_data(f->buf), bl}};
  rc = fileio_write_all(f->fd, iov, 2);
  if (!rc && o->fsync && fsync(f->fd) != 0)
    rc = -errno;
  if (rc) {
    /* cut back what reached the file, so it never ends in a half row and
     * the retry does not duplicate rows; reopen (and re-check) next time */
    if (ftruncate(f->fd, f->size) != 0)
      tower_error(o->ctx, "cannot cut %s back to %lld byte%s: %s; its last row may be incomplete",
                  path_of(o, f->fname, path, sizeof path), (long long)f->size,
                  plural_s((unsigned long long)f->size), strerror(errno));
    close(f->fd);
    f->fd = -1;
    tower_error(o->ctx,
                "cannot append %zu row%s (%zu byte%s) to %s: %s%s; the row%s %s kept for a retry",
                f->nrows, plural_s(f->nrows), hl + bl, plural_s(hl + bl),
                path_of(o, f->fname, path, sizeof path), strerror(-rc), hint(-rc),
                plural_s(f->nrows), f->nrows == 1 ? "is" : "are");
    return rc;
  }
  if (f->size == 0) {
    f->disk_ncols = f->cols.n;
    f->head_len = (off_t)hl;
  }
  f->size += (off_t)(hl + bl);
  return 0;
}

/* ---- snapshot mode ------------------------------------------------------- */

/* Snapshot mode: reads the header of an existing file once, so that a
 * restart keeps its columns. -EPERM (logged) when the name holds something
 * that is not ours to read or replace. */
static int adopt_snapshot(csv_out *o, csv_file *f) {
  if (f->opened_once)
    return 0;
  csv_entry e;
  int fd = csv_open_at(o->dirfd, f->fname, O_RDONLY, 0, &e);
  if (fd == -EPERM && e.unsafe) {
    refuse(o, f, e.unsafe);
    return fd;
  }
  if (fd < 0 && fd != -ENOENT)
    return 0; /* writing will tell what is wrong */
  f->opened_once = true;
  if (fd >= 0 && e.st.st_size > 0 && read_header(o, f, fd, e.st.st_size) == -EINVAL) {
    char path[PATH_MAX];
    tower_warn(o->ctx, "%s has no valid CSV header; it will be replaced with a new one",
               path_of(o, f->fname, path, sizeof path));
  }
  if (fd >= 0)
    close(fd);
  return 0;
}

static int write_snapshot(csv_out *o, csv_file *f, int fd) {
  struct iovec iov[2] = {{(void *)tower_buf_data(o->head), tower_buf_len(o->head)},
                         {(void *)tower_buf_data(f->buf), tower_buf_len(f->buf)}};
  int rc = fileio_write_all(fd, iov, 2);
  if (!rc && o->fsync && fsync(fd) != 0)
    rc = -errno;
  if (close(fd) != 0 && !rc)
    rc = -errno;
  if (!rc && renameat(o->dirfd, f->tmpname, o->dirfd, f->fname) != 0)
    rc = -errno;
  return rc;
}

int csv_file_replace(csv_out *o, csv_file *f) {
  char path[PATH_MAX];
  /* the rename would only replace a planted link, but whoever planted it
   * should hear about it, and the rows wait until it is gone */
  const char *what;
  int rc = f->opened_once ? csv_check_entry(o->dirfd, f->fname, &what) : 0;
  if (rc == -EPERM) {
    refuse(o, f, what);
    return rc;
  }
  if ((rc = adopt_snapshot(o, f)))
    return rc;
  tower_buf_reset(o->head);
  rc = csv_file_render(o, f);
  if (!rc)
    rc = csv_header(o, &f->cols, o->head);
  if (rc) {
    tower_error(o->ctx, "cannot lay out rows for %s: %s", path_of(o, f->fname, path, sizeof path),
                strerror(-rc));
    return rc;
  }
  int fd = open_tmp(o, f, O_WRONLY, o->file_mode);
  rc = fd < 0 ? fd : write_snapshot(o, f, fd);
  if (rc) {
    if (fd >= 0)
      unlinkat(o->dirfd, f->tmpname, 0);
    tower_error(o->ctx,
                "cannot replace %s (via %s): %s%s; the previous file is kept and the rows "
                "are kept for a retry",
                path_of(o, f->fname, path, sizeof path), f->tmpname, strerror(-rc), hint(-rc));
    return rc;
  }
  sync_dir(o);
  return 0;
}

/* ---- file states --------------------------------------------------------- */

csv_file *csv_file_new(const char *sanitized, csv_mode mode) {
  csv_file *f = calloc(1, sizeof *f);
  if (!f)
    return NULL;
  f->fd = -1;
  f->mode = mode;
  if (asprintf(&f->fname, "%s.csv", sanitized) < 0)
    f->fname = NULL;
  if (!f->fname || !(f->tmpname = calloc(1, NAME_MAX + 1))) {
    free(f->fname);
    free(f);
    return NULL;
  }
  return f;
}

void csv_file_free(csv_file *f) {
  if (!f)
    return;
  if (f->fd >= 0)
    close(f->fd);
  for (size_t i = 0; i < f->npend; i++)
    tower_metric_release(f->pend[i]);
  free(f->pend);
  free(f->rows);
  free(f->cell_off);
  free(f->cell_len);
  tower_buf_free(f->buf);
  csv_cols_free(&f->cols);
  free(f->tmpname);
  free(f->fname);
  free(f);
}
