/* File sources: every certificate of a PEM file, in file order.
 *
 * Like Telegraf, blocks that are not certificates (private keys, CRLs) are
 * skipped and a CERTIFICATE block that does not parse is an error. Unlike
 * Telegraf, text around the PEM blocks is ignored as OpenSSL ignores it
 * (files written by `openssl x509 -text` start with a dump), and a file
 * without any PEM block is read as one DER certificate. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "../../common/plural.h"
#include "x509_cert.h"

/* Certificate files are small (the whole Debian CA bundle is ~220 KB); a
 * glob that catches a log file must not make tower read gigabytes. */
#define FILE_MAX (16u * 1024 * 1024)

static int failf(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int failf(char *err, size_t errlen, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return rc;
}

static const char *ssl_reason(void) {
  unsigned long e = ERR_peek_last_error();
  const char *r = e ? ERR_reason_error_string(e) : NULL;
  return r ? r : "unknown error";
}

static const char *open_hint(int e) {
  switch (e) {
  case EACCES:
    return " (tower's user needs read access to the file and search access to its directories)";
  case ENOENT:
    return " (check the path)";
  default:
    return "";
  }
}

/* Reads to EOF (st_size is not trusted: /proc files, pipes), bounded. */
static int read_all(int fd, const char *path, unsigned char **data, size_t *len, char *err,
                    size_t errlen) {
  size_t cap = 0, n = 0;
  unsigned char *buf = NULL;
  for (;;) {
    if (n == cap) {
      if (cap >= FILE_MAX) {
        free(buf);
        return failf(err, errlen, -EFBIG, "%s is larger than %u MiB: not a certificate file", path,
                     FILE_MAX >> 20);
      }
      cap = cap ? cap * 2 : 16384;
      unsigned char *b = realloc(buf, cap);
      if (!b) {
        free(buf);
        return failf(err, errlen, -ENOMEM, "out of memory reading %s", path);
      }
      buf = b;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r > 0)
      n += (size_t)r;
    else if (r == 0)
      break;
    else if (errno != EINTR) {
      int e = errno;
      free(buf);
      return failf(err, errlen, -e, "cannot read %s: %s", path, strerror(e));
    }
  }
  *data = buf;
  *len = n;
  return 0;
}

/* The whole file, malloc'd. */
static int slurp(const char *path, unsigned char **data, size_t *len, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return failf(err, errlen, -e, "cannot open %s: %s%s", path, strerror(e), open_hint(e));
  }
  struct stat st;
  int rc;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
    rc = failf(err, errlen, -EISDIR, "%s is a directory; use a glob such as %s/*.pem", path, path);
  else
    rc = read_all(fd, path, data, len, err, errlen);
  close(fd);
  return rc;
}

static bool is_cert_block(const char *name) {
  return strcmp(name, PEM_STRING_X509) == 0 || strcmp(name, PEM_STRING_X509_OLD) == 0 ||
         strcmp(name, PEM_STRING_X509_TRUSTED) == 0;
}

/* One PEM block: a certificate is pushed, anything else skipped. */
static int take_block(x509_chain *out, const char *name, const unsigned char *der, long len,
                      const char *path, char *err, size_t errlen) {
  if (!is_cert_block(name))
    return 0;
  const unsigned char *p = der;
  X509 *x = strcmp(name, PEM_STRING_X509_TRUSTED) == 0 ? d2i_X509_AUX(NULL, &p, len)
                                                       : d2i_X509(NULL, &p, len);
  if (!x)
    return failf(err, errlen, -EINVAL, "%s: certificate %d does not parse: %s", path,
                 sk_X509_num(out) + 1, ssl_reason());
  if (!sk_X509_push(out, x)) {
    X509_free(x);
    return -ENOMEM;
  }
  return 0;
}

/* Every PEM block; *blocks counts them. */
static int read_pem(BIO *bio, x509_chain *out, int *blocks, const char *path, char *err,
                    size_t errlen) {
  for (;;) {
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long len = 0;
    ERR_clear_error();
    if (!PEM_read_bio(bio, &name, &header, &der, &len)) {
      unsigned long e = ERR_peek_last_error();
      if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
        return 0; /* no further block */
      return failf(err, errlen, -EINVAL, "%s: bad PEM block after %d block%s: %s", path, *blocks,
                   plural_s((unsigned long long)*blocks), ssl_reason());
    }
    (*blocks)++;
    int rc = take_block(out, name, der, len, path, err, errlen);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    if (rc)
      return rc;
  }
}

/* A file without PEM blocks: one DER certificate filling the whole file. */
static int read_der(const unsigned char *data, size_t len, x509_chain *out, const char *path,
                    char *err, size_t errlen) {
  const unsigned char *p = data;
  X509 *x = len <= LONG_MAX ? d2i_X509(NULL, &p, (long)len) : NULL;
  if (!x || p != data + len) {
    X509_free(x);
    return failf(err, errlen, -EINVAL,
                 "%s holds no certificate (expected PEM blocks \"-----BEGIN CERTIFICATE-----\" or "
                 "one DER certificate)",
                 path);
  }
  if (!sk_X509_push(out, x)) {
    X509_free(x);
    return -ENOMEM;
  }
  return 0;
}

int x509_read_file(const char *path, x509_chain **chain, char *err, size_t errlen) {
  unsigned char *data = NULL;
  size_t len = 0;
  int rc = slurp(path, &data, &len, err, errlen);
  if (rc)
    return rc;
  x509_chain *out = sk_X509_new_null();
  BIO *bio = len <= INT_MAX ? BIO_new_mem_buf(data, (int)len) : NULL;
  int blocks = 0;
  rc = out && bio ? read_pem(bio, out, &blocks, path, err, errlen) : -ENOMEM;
  if (rc == 0 && blocks == 0)
    rc = read_der(data, len, out, path, err, errlen);
  else if (rc == 0 && sk_X509_num(out) == 0)
    rc = failf(err, errlen, -EINVAL,
               "%s holds %d PEM block%s but no certificate (keys and CRLs are not reported)", path,
               blocks, plural_s((unsigned long long)blocks));
  if (rc == -ENOMEM)
    failf(err, errlen, rc, "out of memory reading %s", path);
  BIO_free(bio);
  free(data);
  ERR_clear_error();
  if (rc) {
    sk_X509_pop_free(out, X509_free);
    return rc;
  }
  *chain = out;
  return 0;
}
