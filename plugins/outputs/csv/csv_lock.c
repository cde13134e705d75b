/* outputs.csv: one output per directory.
 *
 * Two outputs writing one directory would overwrite each other's files: one
 * snapshot replacing the other's, a header widened under the other's feet,
 * rotations crossing. So each output holds an exclusive flock(2) on
 * <directory>/.tower-csv.lock for as long as it lives. A flock belongs to the
 * open file description, so a second output of the same agent conflicts
 * exactly like one of another tower, and the kernel drops it when the
 * process dies: a crash leaves no stale lock. The holder writes who it is
 * into the file, so that the output refused can name it. The file stays
 * after use: removing it would let a third output lock a new file while a
 * second one still holds the old.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "csv.h"

/* Who holds the lock, from the line it wrote ("pid N: who"), made
 * printable (another user may have written it): "who (pid N)" into out,
 * and N in *pid (0 when unknown). */
static void read_holder(int fd, char *out, size_t size, long *pid) {
  char buf[256];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  buf[n > 0 ? n : 0] = '\0';
  buf[strcspn(buf, "\n")] = '\0';
  for (char *p = buf; *p; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
      *p = '?';
  char *who = NULL;
  *pid = strncmp(buf, "pid ", 4) == 0 ? strtol(buf + 4, &who, 10) : 0;
  if (*pid > 0 && who && strncmp(who, ": ", 2) == 0 && who[2])
    snprintf(out, size, "%s (pid %ld)", who + 2, *pid);
  else if (*buf)
    snprintf(out, size, "\"%s\"", buf);
  else
    snprintf(out, size, "another output (it has not written its name yet)");
}

static void describe_conflict(const csv_out *o, int fd, char *msg, size_t size) {
  char holder[300];
  long pid;
  read_holder(fd, holder, sizeof holder, &pid);
  bool ours = pid == (long)getpid();
  snprintf(msg, size,
           "directory %s is already used by %s%s; two outputs writing one directory would "
           "overwrite each other's files: give each csv output its own directory%s",
           o->dir, holder,
           ours      ? " in this agent"
           : pid > 0 ? " in another tower process"
                     : "",
           ours ? " (when that is the output this one replaces in a reload, the agent tries "
                  "again once it has stopped)"
                : "");
}

/* Says who holds the lock now (best effort: the lock is what counts). */
static void write_owner(const csv_out *o, int fd) {
  char line[512];
  int n = snprintf(line, sizeof line, "pid %ld: %s\n", (long)getpid(), o->owner);
  size_t len = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
  ssize_t w = pwrite(fd, line, len, 0);
  /* a short write sets no errno: say so rather than print a stale one */
  const char *why = w < 0 ? strerror(errno) : (size_t)w < len ? "short write" : NULL;
  if (!why && ftruncate(fd, (off_t)len) != 0)
    why = strerror(errno);
  if (why)
    tower_debug(o->ctx, "cannot write our name into %s/%s: %s", o->dir, CSV_LOCK_NAME, why);
}

int csv_lock_take(const csv_out *o, int dirfd, char *msg, size_t size) {
  csv_entry e;
  bool writable = true;
  int fd = csv_open_at(dirfd, CSV_LOCK_NAME, O_RDWR | O_CREAT, 0644, &e);
  if (fd == -EACCES) { /* another user's lock file: locking needs no write access */
    writable = false;
    fd = csv_open_at(dirfd, CSV_LOCK_NAME, O_RDONLY, 0, &e);
  }
  if (fd == -EPERM && e.unsafe) {
    snprintf(msg, size,
             "%s/%s is %s, not the lock file tower creates; it is not used, so that nothing "
             "is written through it: remove it (and find out who put it there)",
             o->dir, CSV_LOCK_NAME, e.unsafe);
    return fd;
  }
  if (fd < 0) {
    snprintf(msg, size, "cannot open the lock file %s/%s: %s", o->dir, CSV_LOCK_NAME,
             strerror(-fd));
    return fd;
  }
  int err = flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : errno == EWOULDBLOCK ? EBUSY : errno;
  if (err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS) {
    /* some FUSE and network file systems: refusing would make the output
     * unusable there, so go on without, and say what that means */
    tower_warn(o->ctx,
               "cannot lock %s/%s: %s; without a lock, nothing stops a second output from "
               "writing the same directory: make sure none does",
               o->dir, CSV_LOCK_NAME, strerror(err));
    err = 0;
  }
  if (err) {
    if (err == EBUSY)
      describe_conflict(o, fd, msg, size);
    else
      snprintf(msg, size, "cannot lock %s/%s: %s", o->dir, CSV_LOCK_NAME, strerror(err));
    close(fd);
    return -err;
  }
  if (writable)
    write_owner(o, fd);
  return fd;
}

void csv_lock_release(int lockfd) {
  if (lockfd >= 0)
    close(lockfd); /* drops the flock */
}
