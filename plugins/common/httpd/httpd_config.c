/* HTTPD_OPTIONS into an httpd_cfg: the PEM files read whole, ip_range
 * parsed, and the options that only make sense together checked, each
 * error reported at the option's file:line. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd_int.h"

/* PEM files larger than this are not certificates. */
#define PEM_MAX (1u << 20)

/* Reads a PEM file whole and appends it (NUL-terminated) to *text. */
static int read_pem(const tower_config *cfg, const char *key, const char *path, char **text) {
  const tower_setting *at = tower_config_setting(cfg, key);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return tower_config_error(cfg, at, "%s: cannot open %s: %s", key, path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > (off_t)PEM_MAX) {
    close(fd);
    return tower_config_error(cfg, at, "%s: %s is not a regular file of at most 1 MiB", key, path);
  }
  size_t old = *text ? strlen(*text) : 0, len = (size_t)st.st_size;
  char *t = realloc(*text, old + len + 2);
  ssize_t got = t ? read(fd, t + old, len) : -1;
  close(fd);
  if (!t)
    return -ENOMEM;
  *text = t;
  if (got != (ssize_t)len) {
    t[old] = '\0';
    return tower_config_error(cfg, at, "%s: short read from %s", key, path);
  }
  t[old + len] = '\n'; /* several CA files concatenate into one PEM list */
  t[old + len + 1] = '\0';
  return 0;
}

static bool set(const char *s) {
  return s && *s;
}

static int load_tls(const tower_config *cfg, httpd_cfg *out) {
  const char *cert = tower_config_string(cfg, "tls_cert"),
             *key = tower_config_string(cfg, "tls_key");
  size_t ncas = tower_config_strings_len(cfg, "tls_allowed_cacerts");
  if (set(cert) != set(key))
    return tower_config_error(cfg, tower_config_setting(cfg, set(cert) ? "tls_cert" : "tls_key"),
                              "tls_cert and tls_key go together: set both, or neither");
  if (ncas && !set(cert))
    return tower_config_error(cfg, tower_config_setting(cfg, "tls_allowed_cacerts"),
                              "tls_allowed_cacerts needs tls_cert and tls_key (mutual TLS)");
  if (!set(cert))
    return 0;
  int rc = read_pem(cfg, "tls_cert", cert, &out->tls_cert);
  if (rc == 0)
    rc = read_pem(cfg, "tls_key", key, &out->tls_key);
  for (size_t i = 0; rc == 0 && i < ncas; i++)
    rc = read_pem(cfg, "tls_allowed_cacerts",
                  tower_config_strings_at(cfg, "tls_allowed_cacerts", i), &out->tls_ca);
  return rc;
}

static int load_ranges(const tower_config *cfg, httpd_cfg *out) {
  size_t n = tower_config_strings_len(cfg, "ip_range");
  if (!n)
    return 0;
  if (!(out->ranges = calloc(n, sizeof *out->ranges)))
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const char *text = tower_config_strings_at(cfg, "ip_range", i);
    if (httpd_cidr_parse(text, &out->ranges[i]))
      return tower_config_error(cfg, tower_config_setting(cfg, "ip_range"),
                                "ip_range: \"%s\" is not an address or CIDR range "
                                "(\"10.0.0.0/8\", \"fd00::/8\")",
                                text);
  }
  out->nranges = n;
  return 0;
}

static int load_auth(const tower_config *cfg, httpd_cfg *out) {
  const char *u = tower_config_string(cfg, "basic_username");
  const char *p = tower_config_string(cfg, "basic_password");
  if (set(u) && !set(p))
    return tower_config_error(cfg, tower_config_setting(cfg, "basic_username"),
                              "basic_username needs basic_password");
  if (!set(u) && set(p))
    return tower_config_error(cfg, tower_config_setting(cfg, "basic_password"),
                              "basic_password needs basic_username");
  if (!set(u))
    return 0;
  if (strchr(u, ':'))
    return tower_config_error(cfg, tower_config_setting(cfg, "basic_username"),
                              "basic_username cannot contain ':' (basic auth sends "
                              "user:password and splits at the first ':')");
  if (strlen(u) + 1 + strlen(p) > HTTPD_CREDENTIALS_MAX)
    return tower_config_error(cfg, tower_config_setting(cfg, "basic_password"),
                              "basic_username and basic_password together are longer than %u "
                              "bytes",
                              HTTPD_CREDENTIALS_MAX - 1);
  out->username = u;
  out->password = p;
  return 0;
}

int httpd_cfg_load(const tower_config *cfg, const char *listen_key, httpd_cfg *out) {
  memset(out, 0, sizeof *out);
  out->listen = tower_config_string(cfg, listen_key);
  out->listen_key = listen_key;
  out->read_timeout = tower_config_duration(cfg, "read_timeout");
  out->write_timeout = tower_config_duration(cfg, "write_timeout");
  out->max_connections = (unsigned)tower_config_int(cfg, "max_connections");
  out->max_per_ip = (unsigned)tower_config_int(cfg, "max_connections_per_ip");
  int rc = load_auth(cfg, out);
  if (rc == 0)
    rc = load_tls(cfg, out);
  if (rc == 0)
    rc = load_ranges(cfg, out);
  return rc;
}

static void free_secret(char *s) {
  if (s) {
    explicit_bzero(s, strlen(s));
    free(s);
  }
}

void httpd_cfg_free(httpd_cfg *c) {
  free(c->tls_cert);
  free_secret(c->tls_key);
  free(c->tls_ca);
  free(c->ranges);
  c->tls_cert = c->tls_key = c->tls_ca = NULL;
  c->ranges = NULL;
  c->nranges = 0;
}
