/* The pidfile. A service manager or script that finds it must be able to
 * trust it: the file is locked (flock) by the tower that wrote it for as long
 * as it runs, so a second tower with the same --pidfile refuses to start
 * instead of overwriting it, and a tower removes only a pidfile it holds. A
 * stale file left by a crash carries no lock and is simply taken over.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <tower/plugin.h>

#include "pidfile.h"

/* The pid the holder wrote, or 0. */
static long holder_pid(int fd) {
  char buf[32];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  long pid = 0;
  return sscanf(buf, "%ld", &pid) == 1 ? pid : 0;
}

int twi_pidfile_take(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    tower_log(NULL, TOWER_LOG_ERROR, "cannot open pidfile %s: %s", path, strerror(errno));
    return -1;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    long pid = holder_pid(fd);
    if (err == EWOULDBLOCK)
      tower_log(NULL, TOWER_LOG_ERROR,
                "pidfile %s is held by another tower (pid %ld): it is running already; stop it "
                "first or give this one another --pidfile",
                path, pid);
    else
      tower_log(NULL, TOWER_LOG_ERROR, "cannot lock pidfile %s: %s", path, strerror(err));
    close(fd);
    return -1;
  }
  char buf[32];
  int len = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)len, 0) != len) {
    tower_log(NULL, TOWER_LOG_ERROR, "cannot write pidfile %s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

void twi_pidfile_release(const char *path, int fd) {
  if (fd < 0)
    return;
  unlink(path); /* while the lock is held: it is ours */
  close(fd);
}
