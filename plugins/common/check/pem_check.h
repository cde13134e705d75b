/* Whether a PEM file holds what a TLS option needs, checked without a TLS
 * library, for plugins that only hand the path to a library that loads it
 * later (libcurl, librdkafka) and link no TLS library themselves. The file
 * is read (at most PEM_CHECK_MAX bytes); its -----BEGIN/END----- lines
 * must pair up; block bodies must be base64, and an unencrypted body must
 * encode DER, which always starts with a SEQUENCE (0x30: base64 "M").
 *
 * That catches what operators get wrong: the wrong file (a key given as
 * the certificate, or the reverse), a DER file, an empty or cut-off file.
 * What only a TLS library sees (an expired certificate, a key that does
 * not match its certificate) is reported when the plugin connects; plugins
 * that link one (x509_cert, prometheus) parse with it instead.
 *
 * Header-only for the same reason as path_check.h. */
#ifndef TOWER_PEM_CHECK_H
#define TOWER_PEM_CHECK_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Larger files are not certificates or keys. */
#define PEM_CHECK_MAX (1u << 20)

/* What the file must hold. */
typedef enum pem_want {
  PEM_CERTS, /* at least one certificate (a CA bundle, a chain) */
  PEM_KEY,   /* a private key */
} pem_want;

typedef struct pem_scan {
  const char *path;
  char *why;
  size_t len;
  unsigned line;           /* of the current line, from 1 */
  unsigned certs, keys;    /* blocks found */
  char label[64];          /* of the open block; "" outside */
  char first[64];          /* label of the first block */
  unsigned begin_line;     /* of the open block */
  bool in_body, encrypted; /* past the block's headers; Proc-Type ENCRYPTED */
} pem_scan;

static inline int pem_fail(pem_scan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Says what is wrong with the file; -EINVAL. */
static inline int pem_fail(pem_scan *p, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(p->why, p->len, "%s: %s", p->path, msg);
  return -EINVAL;
}

static inline bool pem_is_b64(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/' || c == '=';
}

/* "-----BEGIN X-----" or "-----END X-----": X into label. */
static inline bool pem_marker(const char *line, size_t n, const char *word, char *label,
                              size_t size) {
  size_t w = strlen(word);
  if (n < w + 10 || memcmp(line, "-----", 5) || memcmp(line + 5, word, w) || line[5 + w] != ' ' ||
      memcmp(line + n - 5, "-----", 5))
    return false;
  size_t l = n - 5 - (5 + w + 1);
  if (l >= size)
    l = size - 1;
  memcpy(label, line + 6 + w, l);
  label[l] = '\0';
  return true;
}

static inline void pem_count(pem_scan *p) {
  const char *l = p->label;
  size_t n = strlen(l);
  if (!strcmp(l, "CERTIFICATE") || !strcmp(l, "TRUSTED CERTIFICATE") ||
      !strcmp(l, "X509 CERTIFICATE"))
    p->certs++;
  else if (n >= 11 && !strcmp(l + n - 11, "PRIVATE KEY"))
    p->keys++;
  if (!p->first[0])
    snprintf(p->first, sizeof p->first, "%s", l);
}

/* One line inside a block. */
static inline int pem_body_line(pem_scan *p, const char *line, size_t n) {
  char other[64];
  if (pem_marker(line, n, "END", other, sizeof other)) {
    if (strcmp(other, p->label))
      return pem_fail(p, "-----END %s----- at line %u closes a block of another kind", other,
                      p->line);
    if (!p->in_body)
      return pem_fail(p, "the %s block ending at line %u is empty", p->label, p->line);
    pem_count(p);
    p->label[0] = '\0';
    return 0;
  }
  if (pem_marker(line, n, "BEGIN", other, sizeof other))
    return pem_fail(p, "the %s block starting at line %u has no -----END line", p->label,
                    p->begin_line);
  if (n == 0)
    return 0;
  if (!p->in_body && memchr(line, ':', n)) { /* RFC 1421 headers of an encrypted key */
    if (n >= 10 && !memcmp(line, "Proc-Type:", 10) && strstr(line, "ENCRYPTED"))
      p->encrypted = true;
    return 0;
  }
  for (size_t i = 0; i < n; i++)
    if (!pem_is_b64(line[i]))
      return pem_fail(p, "line %u is not base64, inside the %s block", p->line, p->label);
  if (!p->in_body && !p->encrypted && line[0] != 'M')
    return pem_fail(p, "the %s block at line %u does not hold DER data", p->label, p->begin_line);
  p->in_body = true;
  return 0;
}

static inline int pem_line(pem_scan *p, const char *line, size_t n) {
  while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
    n--;
  if (p->label[0])
    return pem_body_line(p, line, n);
  if (pem_marker(line, n, "BEGIN", p->label, sizeof p->label)) {
    if (!p->label[0])
      snprintf(p->label, sizeof p->label, "?");
    p->begin_line = p->line;
    p->in_body = p->encrypted = false;
  }
  return 0; /* text outside blocks is ignored, as OpenSSL does */
}

/* The file's verdict once every block was read. */
static inline int pem_verdict(pem_scan *p, const unsigned char *data, size_t n, pem_want want) {
  if (p->label[0])
    return pem_fail(p,
                    "the %s block starting at line %u has no -----END line (is the file cut "
                    "off?)",
                    p->label, p->begin_line);
  if (!p->certs && !p->keys && !p->first[0]) {
    if (n == 0)
      return pem_fail(p, "the file is empty");
    if (data[0] == 0x30)
      return pem_fail(p, "the file is DER (binary), not PEM; convert it with openssl (x509 or "
                         "pkey -inform der -outform pem)");
    return pem_fail(p, "no PEM block (no -----BEGIN ...----- line)");
  }
  if (want == PEM_CERTS && !p->certs)
    return pem_fail(p,
                    p->keys ? "it holds a private key but no certificate (%s block)"
                            : "it holds no certificate, only a %s block",
                    p->first);
  if (want == PEM_KEY && !p->keys)
    return pem_fail(p,
                    p->certs ? "it holds a certificate but no private key (%s block)"
                             : "it holds no private key, only a %s block",
                    p->first);
  return 0;
}

/* Reads at most PEM_CHECK_MAX bytes of `path` into *data (malloc'd). */
static inline int pem_read(const char *path, char **data, size_t *n, char *why, size_t len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;
  int err = fd < 0 || fstat(fd, &st) ? errno : 0;
  if (!err && (!S_ISREG(st.st_mode) || st.st_size > (off_t)PEM_CHECK_MAX))
    err = S_ISREG(st.st_mode) ? EFBIG : EISDIR;
  char *buf = err ? NULL : malloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (buf && got < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      err = r < 0 ? errno : 0;
      break;
    }
    got += (size_t)r;
  }
  if (fd >= 0)
    close(fd);
  if (!err && !buf)
    err = ENOMEM;
  if (err) {
    free(buf);
    if (err == EFBIG)
      snprintf(why, len, "%s is larger than %u bytes: not a PEM file", path, PEM_CHECK_MAX);
    else if (err == EISDIR)
      snprintf(why, len, "%s is not a regular file", path);
    else
      snprintf(why, len, "%s: cannot read it: %s", path, strerror(err));
    return -err;
  }
  buf[got] = '\0';
  *data = buf;
  *n = got;
  return 0;
}

/* Checks that the PEM file `path` holds `want`. 0; else a negative errno
 * with the reason (naming the path) in why[len]. */
static inline int pem_check_file(const char *path, pem_want want, char *why, size_t len) {
  char *data;
  size_t n;
  int rc = pem_read(path, &data, &n, why, len);
  if (rc)
    return rc;
  pem_scan p = {.path = path, .why = why, .len = len};
  for (char *line = data; rc == 0 && line < data + n;) {
    char *end = memchr(line, '\n', (size_t)(data + n - line));
    size_t l = end ? (size_t)(end - line) : (size_t)(data + n - line);
    p.line++;
    rc = pem_line(&p, line, l);
    line += l + 1;
  }
  if (rc == 0)
    rc = pem_verdict(&p, (const unsigned char *)data, n, want);
  free(data);
  return rc;
}

#endif
