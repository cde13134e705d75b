/* Writing a whole buffer to a descriptor, for the outputs that write files
 * (outputs.csv, outputs.file). Header only: each plugin gets its own copy,
 * so nothing is shared at run time. */
#ifndef TOWER_COMMON_WRITE_ALL_H
#define TOWER_COMMON_WRITE_ALL_H

#include <errno.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* Writes every byte of iov[0..cnt), going on after short writes and EINTR
 * (iov is consumed in place). 0, or -errno of the write that failed (-EIO
 * when the file takes no more bytes without saying why). */
static inline int fileio_write_all(int fd, struct iovec *iov, int cnt) {
  while (cnt > 0) {
    ssize_t n = writev(fd, iov, cnt);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      return -EIO;
    while (cnt > 0 && (size_t)n >= iov->iov_len) {
      n -= (ssize_t)iov->iov_len;
      iov++;
      cnt--;
    }
    if (cnt > 0) {
      iov->iov_base = (char *)iov->iov_base + n;
      iov->iov_len -= (size_t)n;
    }
  }
  return 0;
}

/* Writes data[0..len): fileio_write_all for one piece. */
static inline int fileio_write_buf(int fd, const void *data, size_t len) {
  struct iovec iov = {(void *)data, len};
  return fileio_write_all(fd, &iov, 1);
}

#endif
