/* The bearer_token file. Tokens that expire are rotated by rewriting or
 * replacing the file (Kubernetes swaps a projected service account token
 * in by renaming a directory), so the file is checked before each request
 * with one stat() and read again only when it is another file or changed:
 * a request never waits for more than a stat() when nothing changed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "curl_internal.h"

static int64_t mtime_ns(const struct stat *st) {
  return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static bool same_file(const http_token_file *t, const struct stat *st) {
  return t->token && t->dev == st->st_dev && t->ino == st->st_ino && t->size == st->st_size &&
         t->mtime_ns == mtime_ns(st);
}

/* The whole file into buf (HTTP_TOKEN_MAX + 1 bytes), NUL-terminated;
 * its length, or a negative errno. */
static ssize_t read_all(int fd, char *buf) {
  size_t n = 0;
  while (n <= HTTP_TOKEN_MAX) {
    ssize_t r = read(fd, buf + n, HTTP_TOKEN_MAX + 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -errno;
    if (r == 0)
      break;
    n += (size_t)r;
  }
  buf[n < HTTP_TOKEN_MAX ? n : HTTP_TOKEN_MAX] = '\0';
  return n > HTTP_TOKEN_MAX ? -EFBIG : (ssize_t)n;
}

/* The token: the text without surrounding white space (a file usually ends
 * with a newline), which must be one line of printable characters. NULL
 * with err set otherwise. Points into text. */
static char *token_of(char *text, size_t len, char *err, size_t errlen) {
  char *end = text + len;
  while (text < end && strchr(" \t\r\n", *text))
    text++;
  while (end > text && strchr(" \t\r\n", end[-1]))
    end--;
  *end = '\0';
  if (text == end) {
    snprintf(err, errlen, "the file is empty; it must hold the token");
    return NULL;
  }
  for (const char *p = text; p < end; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) {
      snprintf(err, errlen,
               "the file holds more than one line or a control character; it must "
               "hold the token alone");
      return NULL;
    }
  return text;
}

/* Reads the open file fd into t. */
static int read_token(http_token_file *t, int fd, char *err, size_t errlen) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "\"%s\" is not a regular file", t->path);
    return -EINVAL;
  }
  char *buf = malloc(HTTP_TOKEN_MAX + 1);
  if (!buf)
    return -ENOMEM;
  ssize_t n = read_all(fd, buf);
  char *tok = n >= 0 ? token_of(buf, (size_t)n, err, errlen) : NULL;
  if (n == -EFBIG)
    snprintf(err, errlen, "\"%s\" is larger than %u KiB; is it a token?", t->path,
             HTTP_TOKEN_MAX >> 10);
  else if (n < 0)
    snprintf(err, errlen, "cannot read \"%s\": %s", t->path, strerror((int)-n));
  char *copy = tok ? strdup(tok) : NULL;
  explicit_bzero(buf, HTTP_TOKEN_MAX + 1);
  free(buf);
  if (!copy)
    return n < 0 ? (int)n : tok ? -ENOMEM : -EINVAL;
  http_token_clear(t);
  t->token = copy;
  t->dev = st.st_dev;
  t->ino = st.st_ino;
  t->size = st.st_size;
  t->mtime_ns = mtime_ns(&st);
  return 0;
}

int http_token_read(http_token_file *t, char *err, size_t errlen) {
  struct stat st;
  if (stat(t->path, &st) == 0 && same_file(t, &st))
    return 0;
  int fd = open(t->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    snprintf(err, errlen, "cannot read \"%s\": %s", t->path, strerror(e));
    return -e;
  }
  int rc = read_token(t, fd, err, errlen);
  close(fd);
  return rc;
}

void http_token_clear(http_token_file *t) {
  if (t->token) {
    explicit_bzero(t->token, strlen(t->token));
    free(t->token);
  }
  t->token = NULL;
}
