/* inputs.x509_cert: the files it is given, checked before OpenSSL reads
 * them, so that a refusal names the path component at fault and what the
 * file holds instead of OpenSSL's "system lib" or "PEM lib"; and, under
 * --config-check, the file sources a gather would read. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../../common/check/path_check.h"
#include "../../common/check/pem_check.h"
#include "x509_cert.h"

/* One TLS file option: a readable PEM file holding `want`. */
static int check_tls_file(const tower_config *cfg, const char *key, pem_want want) {
  const char *path = tower_config_string(cfg, key);
  if (!path || !*path)
    return 0;
  char why[PATH_WHY_MAX];
  int rc = path_check(path, PATH_FILE, R_OK, why, sizeof why);
  if (rc == 0)
    rc = pem_check_file(path, want, why, sizeof why);
  if (rc == 0)
    return 0;
  const char *hint = rc != -EINVAL                ? path_check_hint(rc)
                     : want == PEM_KEY            ? "give the PEM file of the private key"
                     : strcmp(key, "tls_ca") == 0 ? "give a PEM file of CA certificates"
                                                  : "give a PEM file of the certificate (chain)";
  return tower_config_error(cfg, tower_config_setting(cfg, key), "%s \"%s\": %s; %s", key, path,
                            why, hint);
}

static bool set(const tower_config *cfg, const char *key) {
  const char *v = tower_config_string(cfg, key);
  return v && *v;
}

int x509_check_tls_files(const tower_config *cfg) {
  int rc = check_tls_file(cfg, "tls_ca", PEM_CERTS);
  if (set(cfg, "tls_cert") != set(cfg, "tls_key"))
    return rc; /* the pair is refused as such when the client context is made */
  int rc2 = check_tls_file(cfg, "tls_cert", PEM_CERTS);
  int rc3 = check_tls_file(cfg, "tls_key", PEM_KEY);
  return rc ? rc : rc2 ? rc2 : rc3;
}

/* The directories of a glob before its first wildcard ("/etc/ssl/x*.pem"
 * gives "/etc/ssl"), into dir[size]. */
static void glob_base(const char *pattern, char *dir, size_t size) {
  size_t magic = strcspn(pattern, "*?[{");
  snprintf(dir, size, "%.*s", (int)magic, pattern);
  char *slash = strrchr(dir, '/');
  if (slash)
    *(slash == dir ? slash + 1 : slash) = '\0';
}

/* A file source as the gather reads it: a path must be a readable file of
 * certificates now; a glob's fixed directory must be readable (what it
 * matches may come later). */
static int check_file_source(const x509_source *src, const tower_config *cfg,
                             const tower_setting *at) {
  char why[PATH_WHY_MAX], dir[PATH_MAX];
  if (src->magic) {
    glob_base(src->pattern, dir, sizeof dir);
    int rc = path_check(dir, PATH_DIR, R_OK | X_OK, why, sizeof why);
    if (rc)
      return tower_config_error(cfg, at, "source \"%s\": %s; %s", src->pattern, why,
                                path_check_hint(rc));
    return 0;
  }
  int rc = path_check(src->pattern, PATH_FILE, R_OK, why, sizeof why);
  if (rc)
    return tower_config_error(cfg, at, "source \"%s\": %s; %s", src->pattern, why,
                              path_check_hint(rc));
  x509_chain *chain = NULL;
  rc = x509_read_file(src->pattern, &chain, why, sizeof why);
  if (rc)
    return tower_config_error(cfg, at, "source \"%s\": %s", src->pattern, why);
  sk_X509_pop_free(chain, X509_free);
  return 0;
}

int x509_check_sources(const x509_state *s, const tower_config *cfg) {
  const tower_setting *set = tower_config_setting(cfg, "sources");
  int first = 0;
  for (size_t i = 0; i < s->nsources; i++) {
    if (s->sources[i].kind != X509_SRC_FILE)
      continue; /* servers are not contacted by a check */
    const tower_setting *at = tower_setting_at(set, i);
    int rc = check_file_source(&s->sources[i], cfg, at ? at : set);
    if (rc && !first)
      first = rc;
  }
  return first;
}
