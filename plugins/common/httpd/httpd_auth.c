/* The request checks: HTTP basic auth and TLS client certificates, and the
 * TLS material checked before the server starts.
 *
 * Basic auth is decoded here rather than with libmicrohttpd's
 * MHD_basic_auth_get_username_password(): that returns NUL-terminated
 * strings, so "password\0anything" would compare equal to "password". The
 * credentials are decoded into bytes with their lengths, split at the first
 * ':' as RFC 7617 and libmicrohttpd do (a user name cannot contain ':', a
 * password can), and compared in constant time. */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "httpd_int.h"

/* ---- basic auth ------------------------------------------------------------- */

/* The value of a base64 digit, or -1. */
static int b64_digit(unsigned char ch) {
  if (ch >= 'A' && ch <= 'Z')
    return ch - 'A';
  if (ch >= 'a' && ch <= 'z')
    return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9')
    return ch - '0' + 52;
  return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Strict base64 (RFC 4648, padded) of in[0..len) into out (cap bytes).
 * Returns the decoded length, or -1 when the text is not base64 or does
 * not fit. */
static long b64_decode(const char *in, size_t len, unsigned char *out, size_t cap) {
  if (len % 4 || len / 4 * 3 > cap)
    return -1;
  size_t n = 0;
  for (size_t i = 0; i < len; i += 4) {
    int d[4];
    for (int k = 0; k < 4; k++)
      d[k] = b64_digit((unsigned char)in[i + k]);
    bool last = i + 4 == len;
    int pad = last && in[i + 3] == '=' ? (in[i + 2] == '=' ? 2 : 1) : 0;
    if (d[0] < 0 || d[1] < 0 || (pad < 2 && d[2] < 0) || (pad < 1 && d[3] < 0))
      return -1;
    uint32_t v = (uint32_t)d[0] << 18 | (uint32_t)d[1] << 12 | (uint32_t)(pad < 2 ? d[2] : 0) << 6 |
                 (uint32_t)(pad < 1 ? d[3] : 0);
    out[n++] = (unsigned char)(v >> 16);
    if (pad < 2)
      out[n++] = (unsigned char)(v >> 8);
    if (pad < 1)
      out[n++] = (unsigned char)v;
  }
  return (long)n;
}

/* Compares in time that depends only on the length of `want`, so that
 * timing tells nothing about how much of a guess was right. The lengths
 * are part of the comparison. */
static bool equal_ct(const unsigned char *given, size_t gl, const char *want, size_t wl) {
  volatile unsigned char diff = gl != wl;
  for (size_t i = 0; i < wl; i++)
    diff |= (unsigned char)((unsigned char)want[i] ^ (gl ? given[i % gl] : 0xffu));
  return diff == 0;
}

bool httpd_secret_equal(const char *given, size_t glen, const char *want, size_t wlen) {
  return equal_ct((const unsigned char *)given, glen, want, wlen);
}

/* Skips the "Basic" scheme (any case) and the spaces after it; NULL when
 * the value is another scheme. */
static const char *basic_token(const char *value, size_t len, size_t *tlen) {
  static const char scheme[] = "Basic";
  size_t sl = sizeof scheme - 1, i = sl;
  if (len <= sl || strncasecmp(value, scheme, sl) != 0 || value[sl] != ' ')
    return NULL;
  while (i < len && value[i] == ' ')
    i++;
  size_t end = len;
  while (end > i && value[end - 1] == ' ')
    end--;
  *tlen = end - i;
  return value + i;
}

bool httpd_basic_auth_ok(const char *value, size_t len, const char *user, size_t ulen,
                         const char *pass, size_t plen) {
  size_t tlen = 0;
  const char *token = value ? basic_token(value, len, &tlen) : NULL;
  unsigned char buf[HTTPD_CREDENTIALS_MAX];
  long n = token ? b64_decode(token, tlen, buf, sizeof buf) : -1;
  const unsigned char *colon = n > 0 ? memchr(buf, ':', (size_t)n) : NULL;
  size_t gul = colon ? (size_t)(colon - buf) : 0;
  size_t gpl = colon ? (size_t)n - gul - 1 : 0;
  /* Both compared, always: no early exit on a wrong user name. */
  bool ok = equal_ct(buf, gul, user, ulen);
  ok &= equal_ct(colon ? colon + 1 : buf, gpl, pass, plen);
  explicit_bzero(buf, sizeof buf);
  return ok && colon != NULL;
}

/* ---- TLS -------------------------------------------------------------------- */

bool httpd_client_cert_ok(tower_ctx *ctx, struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (!ci || !ci->tls_session)
    return false;
  unsigned status = 0;
  int rc = gnutls_certificate_verify_peers2((gnutls_session_t)ci->tls_session, &status);
  if (rc < 0 || status) {
    tower_debug(ctx, "client certificate refused: %s",
                rc < 0 ? gnutls_strerror(rc) : "not signed by tls_allowed_cacerts");
    return false;
  }
  return true;
}

static gnutls_datum_t datum(const char *pem) {
  return (gnutls_datum_t){(unsigned char *)(uintptr_t)pem, (unsigned)strlen(pem)};
}

int httpd_check_tls(tower_ctx *ctx, const httpd_cfg *cfg) {
  if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
    tower_error(ctx, "tls_cert is set but this libmicrohttpd was built without TLS support");
    return -ENOTSUP;
  }
  gnutls_certificate_credentials_t cred;
  if (gnutls_certificate_allocate_credentials(&cred) < 0)
    return -ENOMEM;
  gnutls_datum_t cert = datum(cfg->tls_cert), key = datum(cfg->tls_key);
  int rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
  if (rc < 0)
    tower_error(ctx, "tls_cert/tls_key: %s (PEM certificate and its matching private key?)",
                gnutls_strerror(rc));
  if (rc >= 0 && cfg->tls_ca) {
    gnutls_datum_t ca = datum(cfg->tls_ca);
    rc = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
    if (rc <= 0)
      tower_error(ctx, "tls_allowed_cacerts: no CA certificate could be read%s%s",
                  rc < 0 ? ": " : "", rc < 0 ? gnutls_strerror(rc) : "");
    rc = rc <= 0 ? -1 : 0;
  }
  gnutls_certificate_free_credentials(cred);
  return rc < 0 ? -EINVAL : 0;
}
