/* outputs.prometheus under --config-check: the TLS files, which a check
 * reads but never serves. Each is reached (the path component at fault is
 * named), must hold the right PEM blocks, and is then parsed by GnuTLS as
 * the server will at start: the certificate with its key (which must
 * match), and each tls_allowed_cacerts file on its own, so that the
 * message names the file at fault. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "../../common/check/path_check.h"
#include "../../common/check/pem_check.h"
#include "prometheus.h"

static bool set(const char *s) {
  return s && *s;
}

/* Reachable, readable, and PEM of the kind wanted. */
static int check_file(const tower_config *cfg, const char *key, const char *path, pem_want want) {
  char why[PATH_WHY_MAX];
  int rc = path_check(path, PATH_FILE, R_OK, why, sizeof why);
  if (rc == 0)
    rc = pem_check_file(path, want, why, sizeof why);
  if (rc == 0)
    return 0;
  const char *hint = rc != -EINVAL     ? path_check_hint(rc)
                     : want == PEM_KEY ? "give the PEM file of the private key"
                                       : "give a PEM file of certificates";
  return tower_config_error(cfg, tower_config_setting(cfg, key), "%s \"%s\": %s; %s", key, path,
                            why, hint);
}

/* GnuTLS's verdict on the pair and on each CA file. */
static int parse_files(const tower_config *cfg, const char *cert, const char *key) {
  gnutls_certificate_credentials_t cred;
  if (gnutls_certificate_allocate_credentials(&cred) < 0)
    return -ENOMEM;
  int rc = gnutls_certificate_set_x509_key_file(cred, cert, key, GNUTLS_X509_FMT_PEM);
  if (rc < 0)
    rc = tower_config_error(cfg, tower_config_setting(cfg, "tls_key"),
                            "tls_cert \"%s\" and tls_key \"%s\": %s (is the key the one of this "
                            "certificate, and not encrypted?)",
                            cert, key, gnutls_strerror(rc));
  for (size_t i = 0; rc >= 0 && i < tower_config_strings_len(cfg, "tls_allowed_cacerts"); i++) {
    const char *ca = tower_config_strings_at(cfg, "tls_allowed_cacerts", i);
    int n = gnutls_certificate_set_x509_trust_file(cred, ca, GNUTLS_X509_FMT_PEM);
    if (n <= 0)
      rc = tower_config_error(cfg, tower_config_setting(cfg, "tls_allowed_cacerts"),
                              "tls_allowed_cacerts \"%s\": no CA certificate could be read%s%s", ca,
                              n < 0 ? ": " : "", n < 0 ? gnutls_strerror(n) : "");
  }
  gnutls_certificate_free_credentials(cred);
  return rc < 0 ? rc : 0;
}

int prom_check_tls(const tower_config *cfg) {
  const char *cert = tower_config_string(cfg, "tls_cert");
  const char *key = tower_config_string(cfg, "tls_key");
  if (!set(cert) || !set(key))
    return 0; /* no TLS, or a half pair, which load_tls refuses as such */
  int rc = check_file(cfg, "tls_cert", cert, PEM_CERTS);
  int rc2 = check_file(cfg, "tls_key", key, PEM_KEY);
  for (size_t i = 0; i < tower_config_strings_len(cfg, "tls_allowed_cacerts"); i++) {
    int r = check_file(cfg, "tls_allowed_cacerts",
                       tower_config_strings_at(cfg, "tls_allowed_cacerts", i), PEM_CERTS);
    rc2 = rc2 ? rc2 : r;
  }
  rc = rc ? rc : rc2;
  return rc ? rc : parse_files(cfg, cert, key);
}
