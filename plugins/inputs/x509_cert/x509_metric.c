/* One certificate -> one `x509_cert` metric, with Telegraf's tags and
 * fields and Go's spelling of every value (Telegraf prints Go's x509
 * types): "SHA256-RSA", "ECDSA", lowercase hexadecimal serials, the last
 * CN but the first O/OU/C/ST/L of a name, SANs as DNS names, e-mail
 * addresses, IP addresses, URIs, in that order. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "x509_cert.h"

/* ---- names of algorithms ---------------------------------------------------- */

typedef struct nid_name {
  int nid;
  const char *name;
} nid_name;

/* Go's SignatureAlgorithm.String(). */
static const nid_name sig_names[] = {
    {NID_md2WithRSAEncryption, "MD2-RSA"},       {NID_md5WithRSAEncryption, "MD5-RSA"},
    {NID_sha1WithRSAEncryption, "SHA1-RSA"},     {NID_sha1WithRSA, "SHA1-RSA"},
    {NID_sha256WithRSAEncryption, "SHA256-RSA"}, {NID_sha384WithRSAEncryption, "SHA384-RSA"},
    {NID_sha512WithRSAEncryption, "SHA512-RSA"}, {NID_dsaWithSHA1, "DSA-SHA1"},
    {NID_dsa_with_SHA256, "DSA-SHA256"},         {NID_ecdsa_with_SHA1, "ECDSA-SHA1"},
    {NID_ecdsa_with_SHA256, "ECDSA-SHA256"},     {NID_ecdsa_with_SHA384, "ECDSA-SHA384"},
    {NID_ecdsa_with_SHA512, "ECDSA-SHA512"},     {NID_ED25519, "Ed25519"},
};

/* RSASSA-PSS, by the hash in its parameters. */
static const nid_name pss_names[] = {
    {NID_sha256, "SHA256-RSAPSS"},
    {NID_sha384, "SHA384-RSAPSS"},
    {NID_sha512, "SHA512-RSAPSS"},
};

/* Go's PublicKeyAlgorithm.String(). */
static const nid_name key_names[] = {
    {NID_rsaEncryption, "RSA"}, {NID_dsa, "DSA"},       {NID_X9_62_id_ecPublicKey, "ECDSA"},
    {NID_ED25519, "Ed25519"},   {NID_X25519, "X25519"},
};

static const char *lookup(const nid_name *t, size_t n, int nid) {
  for (size_t i = 0; i < n; i++)
    if (t[i].nid == nid)
      return t[i].name;
  return NULL;
}

#define LOOKUP(table, nid) lookup(table, sizeof table / sizeof table[0], nid)

/* An algorithm Go does not name (Go prints "0"): OpenSSL's name for it, or
 * its dotted OID, which say more. */
static const char *object_text(const ASN1_OBJECT *o, char *buf, size_t len) {
  if (!o || OBJ_obj2txt(buf, (int)len, o, 0) <= 0)
    snprintf(buf, len, "unknown");
  return buf;
}

const char *x509_signature_name(X509 *x, char *buf, size_t len) {
  int nid = X509_get_signature_nid(x);
  const char *name = LOOKUP(sig_names, nid);
  if (!name && nid == NID_rsassaPss) {
    int md = NID_undef;
    X509_get_signature_info(x, &md, NULL, NULL, NULL);
    name = LOOKUP(pss_names, md);
  }
  if (name)
    return name;
  const X509_ALGOR *alg = NULL;
  const ASN1_OBJECT *obj = NULL;
  X509_get0_signature(NULL, &alg, x);
  if (alg)
    X509_ALGOR_get0(&obj, NULL, NULL, alg);
  return object_text(obj, buf, len);
}

const char *x509_pubkey_name(X509 *x, char *buf, size_t len) {
  ASN1_OBJECT *obj = NULL;
  X509_PUBKEY *pub = X509_get_X509_PUBKEY(x);
  if (pub)
    X509_PUBKEY_get0_param(&obj, NULL, NULL, NULL, pub);
  const char *name = obj ? LOOKUP(key_names, OBJ_obj2nid(obj)) : NULL;
  return name ? name : object_text(obj, buf, len);
}

/* Bits of the public key: the RSA/DSA modulus, the EC curve size, and 256
 * for Ed25519/X25519 keys (OpenSSL says 253, the curve's order). */
static bool pubkey_bits(X509 *x, uint64_t *bits) {
  EVP_PKEY *k = X509_get0_pubkey(x);
  if (!k)
    return false;
  int id = EVP_PKEY_base_id(k);
  int b = (id == EVP_PKEY_ED25519 || id == EVP_PKEY_X25519) ? 256 : EVP_PKEY_bits(k);
  if (b <= 0)
    return false;
  *bits = (uint64_t)b;
  return true;
}

/* ---- serial, names, SANs ------------------------------------------------------- */

char *x509_serial_hex(X509 *x) {
  BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
  char *hex = bn ? BN_bn2hex(bn) : NULL;
  BN_free(bn);
  if (!hex)
    return NULL;
  bool neg = hex[0] == '-';
  const char *d = hex + neg;
  while (d[0] == '0' && d[1]) /* BN_bn2hex prints whole bytes: "0A" */
    d++;
  char *out = malloc(strlen(d) + 2);
  if (out) {
    char *p = out;
    if (neg)
      *p++ = '-';
    while (*d)
      *p++ = (char)tolower((unsigned char)*d++);
    *p = '\0';
  }
  OPENSSL_free(hex);
  return out;
}

/* Attribute `nid` of a name, as UTF-8: the first value, or with `last` the
 * last one. Adds it as tag `key` when present and not empty. */
static int add_name_tag(tower_metric *m, const char *key, const X509_NAME *n, int nid, bool last) {
  int idx = -1, found = -1;
  while ((idx = X509_NAME_get_index_by_NID(n, nid, idx)) >= 0) {
    found = idx;
    if (!last)
      break;
  }
  if (found < 0)
    return 0;
  unsigned char *utf8 = NULL;
  int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, found)));
  if (len < 0)
    return 0; /* not a string type: Go would not parse the certificate */
  size_t vlen = strnlen((const char *)utf8, (size_t)len);
  int rc = vlen ? tower_metric_add_tag_n(m, key, strlen(key), (const char *)utf8, vlen) : 0;
  OPENSSL_free(utf8);
  return rc == -EINVAL ? 0 : rc;
}

/* Go's net.IP.String(): IPv4-mapped IPv6 addresses print as IPv4. */
static void ip_text(const ASN1_OCTET_STRING *ip, char *buf, size_t len) {
  const unsigned char *b = ASN1_STRING_get0_data(ip);
  int n = ASN1_STRING_length(ip);
  static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (n == 16 && memcmp(b, v4mapped, sizeof v4mapped) == 0) {
    b += 12;
    n = 4;
  }
  if ((n == 4 && inet_ntop(AF_INET, b, buf, (socklen_t)len)) ||
      (n == 16 && inet_ntop(AF_INET6, b, buf, (socklen_t)len)))
    return;
  size_t k = 0; /* Go: "?" and the bytes in hex */
  buf[k++] = '?';
  for (int i = 0; i < n && k + 3 < len; i++)
    k += (size_t)snprintf(buf + k, len - k, "%02x", b[i]);
  buf[k] = '\0';
}

static int append_san(tower_buf *b, const char *s, size_t len) {
  if (tower_buf_len(b) && tower_buf_append(b, ",", 1))
    return -ENOMEM;
  return tower_buf_append(b, s, len);
}

static int append_sans_of(tower_buf *b, const GENERAL_NAMES *gens, int type) {
  for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
    int gtype;
    void *v = GENERAL_NAME_get0_value(g, &gtype);
    if (gtype != type)
      continue;
    int rc;
    if (type == GEN_IPADD) {
      char ip[INET6_ADDRSTRLEN + 40];
      ip_text(v, ip, sizeof ip);
      rc = append_san(b, ip, strlen(ip));
    } else {
      const char *s = (const char *)ASN1_STRING_get0_data(v);
      rc = append_san(b, s, strnlen(s, (size_t)ASN1_STRING_length(v)));
    }
    if (rc)
      return rc;
  }
  return 0;
}

static int add_san_tag(tower_metric *m, X509 *x) {
  GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  if (!gens)
    return 0;
  tower_buf *b = tower_buf_new(256);
  static const int order[] = {GEN_DNS, GEN_EMAIL, GEN_IPADD, GEN_URI};
  int rc = b ? 0 : -ENOMEM;
  for (size_t i = 0; i < sizeof order / sizeof order[0] && rc == 0; i++)
    rc = append_sans_of(b, gens, order[i]);
  if (rc == 0 && tower_buf_len(b))
    rc = tower_metric_add_tag(m, "san", tower_buf_data(b));
  tower_buf_free(b);
  GENERAL_NAMES_free(gens);
  return rc == -EINVAL ? 0 : rc;
}

/* ---- the metric ------------------------------------------------------------------ */

static int add_tag(tower_metric *m, const char *key, const char *value) {
  if (!value || !*value)
    return 0; /* tower keeps no empty tags; Telegraf's outputs drop them */
  return tower_metric_add_tag(m, key, value);
}

static int add_subject_tags(tower_metric *m, X509 *x) {
  static const struct {
    const char *key;
    int nid;
  } attrs[] = {
      {"organization", NID_organizationName}, {"organizational_unit", NID_organizationalUnitName},
      {"country", NID_countryName},           {"province", NID_stateOrProvinceName},
      {"locality", NID_localityName},
  };
  const X509_NAME *subject = X509_get_subject_name(x), *issuer = X509_get_issuer_name(x);
  int rc = add_name_tag(m, "common_name", subject, NID_commonName, true);
  for (size_t i = 0; i < sizeof attrs / sizeof attrs[0] && rc == 0; i++)
    rc = add_name_tag(m, attrs[i].key, subject, attrs[i].nid, false);
  if (rc == 0)
    rc = add_name_tag(m, "issuer_common_name", issuer, NID_commonName, true);
  if (rc == 0)
    rc = add_name_tag(m, "issuer_serial_number", issuer, NID_serialNumber, true);
  return rc;
}

static int add_tags(tower_metric *m, X509 *x, const x509_certinfo *in) {
  char sig[128], key[128];
  char *serial = x509_serial_hex(x);
  int rc = serial ? 0 : -ENOMEM;
  if (rc == 0)
    rc = add_tag(m, "source", in->source);
  if (rc == 0)
    rc = add_tag(m, "type", in->type);
  if (rc == 0)
    rc = add_tag(m, "serial_number", serial);
  if (rc == 0)
    rc = add_tag(m, "signature_algorithm", x509_signature_name(x, sig, sizeof sig));
  if (rc == 0)
    rc = add_tag(m, "public_key_algorithm", x509_pubkey_name(x, key, sizeof key));
  if (rc == 0)
    rc = add_tag(m, "verification", in->error ? "invalid" : "valid");
  if (rc == 0)
    rc = add_subject_tags(m, x);
  if (rc == 0)
    rc = add_san_tag(m, x);
  free(serial);
  return rc;
}

static bool unix_time(const ASN1_TIME *t, int64_t *out) {
  struct tm tm;
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
    return false;
  *out = (int64_t)timegm(&tm);
  return true;
}

int64_t x509_seconds_between(int64_t from_ns, int64_t to_s) {
  /* Go's Duration holds +-292 years of nanoseconds; time.Sub saturates. */
  const int64_t limit = INT64_MAX / 1000000000; /* 9223372036 */
  int64_t from_s = from_ns / 1000000000, from_frac = from_ns % 1000000000;
  if (from_frac < 0) {
    from_s--;
    from_frac += 1000000000;
  }
  int64_t ds = to_s - from_s;
  if (ds >= limit)
    return limit;
  if (ds <= -limit)
    return -limit;
  return (ds * 1000000000 - from_frac) / 1000000000; /* C truncates toward zero, as Go's int() */
}

static int add_fields(tower_metric *m, X509 *x, const x509_certinfo *in) {
  int64_t start, end;
  uint64_t bits;
  int rc = 0;
  if (unix_time(X509_get0_notBefore(x), &start)) {
    rc = tower_metric_add_int(m, "startdate", start);
    if (rc == 0)
      rc = tower_metric_add_int(m, "age", -x509_seconds_between(in->now_ns, start));
  }
  if (rc == 0 && unix_time(X509_get0_notAfter(x), &end)) {
    rc = tower_metric_add_int(m, "enddate", end);
    if (rc == 0)
      rc = tower_metric_add_int(m, "expiry", x509_seconds_between(in->now_ns, end));
  }
  if (rc == 0 && pubkey_bits(x, &bits))
    rc = tower_metric_add_uint(m, "public_key_length", bits);
  if (rc == 0)
    rc = tower_metric_add_int(m, "verification_code", in->error ? 1 : 0);
  if (rc == 0 && in->error)
    rc = tower_metric_add_string(m, "verification_error", in->error);
  return rc;
}

tower_metric *x509_metric_new(X509 *x, const x509_certinfo *info) {
  tower_metric *m = tower_metric_new("x509_cert", TOWER_TIME_UNSET);
  if (!m)
    return NULL;
  int rc = add_tags(m, x, info);
  if (rc == 0)
    rc = add_fields(m, x, info);
  if (rc) {
    tower_metric_free(m);
    return NULL;
  }
  return m;
}
