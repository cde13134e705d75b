/* Verification and classification of the certificates of a source
 * (x509_store.c builds the store).
 *
 * As Telegraf does with Go's x509.Verify, every certificate of a chain is
 * verified on its own: against the trust store (the system's, plus
 * tls_ca), with the other certificates of the chain as untrusted
 * intermediates, with any extended key usage accepted, and for the first
 * certificate of a server's chain also against the host name (or
 * server_name). README.md lists where OpenSSL's rules differ from Go's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "x509_cert.h"

/* Security level 2 of the verification (112-bit security): RSA/DSA keys of
 * 2048 bits or more, EC keys of 224 bits or more, no MD5 or SHA-1
 * signatures below the trust anchor. Go refuses SHA-1 and MD5 signatures
 * too; it still accepts RSA-1024 keys, which tower reports as invalid. */
#define AUTH_LEVEL 2

/* Go checks names as RFC 6125 says: no partial wildcards ("w*.example"),
 * and the subject's CN is never used as a host name (since Go 1.15). */
static void expect_host(X509_VERIFY_PARAM *p, const char *host) {
  if (x509_is_ip(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(p, host);
    return;
  }
  X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
                                         X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  X509_VERIFY_PARAM_set1_host(p, host, 0);
}

/* The subject's CN, else its one-line form, for errors about a CA. */
static void subject_text(X509 *x, char *buf, size_t len) {
  X509_NAME *n = x ? X509_get_subject_name(x) : NULL;
  buf[0] = '\0';
  if (n && X509_NAME_get_text_by_NID(n, NID_commonName, buf, (int)len) > 0)
    return;
  if (n)
    X509_NAME_oneline(n, buf, (int)len);
}

/* OpenSSL's text, plus the expected name for a name mismatch, or which
 * certificate failed when it is not the one being verified. */
static void describe(X509_STORE_CTX *ctx, const char *host, char *err, size_t errlen) {
  int e = X509_STORE_CTX_get_error(ctx);
  int depth = X509_STORE_CTX_get_error_depth(ctx);
  const char *text = X509_verify_cert_error_string(e);
  if (e == X509_V_ERR_HOSTNAME_MISMATCH || e == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    snprintf(err, errlen, "%s: the certificate is not valid for %s", text, host);
  } else if (depth > 0) {
    char who[256];
    subject_text(X509_STORE_CTX_get_current_cert(ctx), who, sizeof who);
    snprintf(err, errlen, "%s (certificate at depth %d of the chain: %s)", text, depth,
             who[0] ? who : "?");
  } else {
    snprintf(err, errlen, "%s", text);
  }
}

bool x509_verify(X509_STORE *store, x509_chain *chain, int idx, const char *host, time_t now,
                 char *err, size_t errlen) {
  X509 *x = sk_X509_value(chain, idx);
  x509_chain *untrusted = sk_X509_new_null(); /* borrows the chain's references */
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  bool ready = untrusted && ctx;
  for (int i = 0; ready && i < sk_X509_num(chain); i++)
    if (i != idx && !sk_X509_push(untrusted, sk_X509_value(chain, i)))
      ready = false;
  ready = ready && X509_STORE_CTX_init(ctx, store, x, untrusted) == 1;
  bool ok = false;
  if (!ready) {
    snprintf(err, errlen, "cannot verify: out of memory");
  } else {
    X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(p, now);
    /* Like Go, any certificate of the store is a trust anchor, even one
     * that is not self-signed (an intermediate given as tls_ca). */
    X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_PARTIAL_CHAIN);
    X509_VERIFY_PARAM_set_auth_level(p, AUTH_LEVEL);
    if (host)
      expect_host(p, host);
    ok = X509_verify_cert(ctx) == 1;
    if (!ok)
      describe(ctx, host, err, errlen);
  }
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  ERR_clear_error();
  return ok;
}

/* Telegraf's test for a root: the certificate verifies with its own key.
 * The names are compared first, which is cheaper and rules out the leaf
 * and intermediates without a signature check. */
static bool self_signed(X509 *x) {
  if (X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) != 0)
    return false;
  EVP_PKEY *k = X509_get0_pubkey(x);
  bool yes = k && X509_verify(x, k) == 1;
  ERR_clear_error();
  return yes;
}

const char *x509_cert_type(X509 *x, int idx, bool from_server) {
  if (self_signed(x))
    return "root";
  if (idx == 0 && from_server)
    return "leaf";
  return (X509_get_extension_flags(x) & EXFLAG_CA) ? "intermediate" : "leaf";
}
