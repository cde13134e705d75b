/* The trust store that certificates are verified against: the system's
 * trusted certificates plus tls_ca.
 *
 * Parsing the system's CA file (Debian: ~140 certificates) costs ~20 ms of
 * CPU, most of `tower --config-check` when this input is configured. So it
 * is read only when a gather has sources to verify, once per process
 * (pthread_once), and shared by every instance: an instance without tls_ca
 * verifies against the shared store itself (X509_STORE is safe to share
 * between threads: its lookups lock it); one with tls_ca gets its own
 * store holding its CA certificates and references to the system's. A
 * config check reads tls_ca only, to report a bad file. The shared store
 * lives as long as the process: plugins are never unloaded (RTLD_NODELETE)
 * and a worker left behind by a hung gather may still use it at exit. */
#include <errno.h>
#include <pthread.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "x509_cert.h"

static pthread_once_t system_once = PTHREAD_ONCE_INIT;
static X509_STORE *system_store;           /* NULL: it could not be built */
static STACK_OF(X509) * system_file_certs; /* the CA file's certificates */

/* The system's trusted certificates: the default CA file (loaded now) and
 * the default hashed directory (read by need), honouring SSL_CERT_FILE and
 * SSL_CERT_DIR. This is X509_STORE_set_default_paths() without the lookup
 * OpenSSL 3 adds for its default store URI: that one reads the whole
 * certificate directory at every lookup that misses, which happens in
 * every verification, and made reading a PEM chain 3x slower. `file`
 * false: the directory only. */
static bool add_system_paths(X509_STORE *store, bool file) {
  X509_LOOKUP *dir = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir());
  X509_LOOKUP *f = file ? X509_STORE_add_lookup(store, X509_LOOKUP_file()) : NULL;
  if (!dir || (file && !f))
    return false;
  /* a missing default file or directory is not an error: either may be */
  if (f)
    X509_LOOKUP_load_file(f, NULL, X509_FILETYPE_DEFAULT);
  X509_LOOKUP_add_dir(dir, NULL, X509_FILETYPE_DEFAULT);
  ERR_clear_error();
  return true;
}

#if OPENSSL_VERSION_NUMBER < 0x30000000L
/* OpenSSL 1.1.1 has no X509_STORE_get1_all_certs. */
static STACK_OF(X509) * X509_STORE_get1_all_certs(X509_STORE *store) {
  STACK_OF(X509) *certs = sk_X509_new_null();
  STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
  for (int i = 0; certs && i < sk_X509_OBJECT_num(objs); i++) {
    X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
    if (x && (!sk_X509_push(certs, x) || !X509_up_ref(x))) {
      sk_X509_pop_free(certs, X509_free);
      certs = NULL;
    }
  }
  return certs;
}
#endif

static void load_system_store(void) {
  X509_STORE *store = X509_STORE_new();
  if (!store || !add_system_paths(store, true)) {
    X509_STORE_free(store);
    return;
  }
  /* Taken before any verification, so that it holds the file's
   * certificates only (the directory's are added to the store as found). */
  system_file_certs = X509_STORE_get1_all_certs(store);
  if (!system_file_certs) {
    X509_STORE_free(store);
    return;
  }
  system_store = store;
}

int x509_store_new(x509_state *s, const tower_config *cfg) {
  const char *ca = tower_config_string(cfg, "tls_ca");
  if (!ca || !*ca)
    return 0;
  s->ca = X509_STORE_new();
  if (!s->ca) {
    tower_error(s->ctx, "cannot set up the trust store: out of memory");
    return -ENOMEM;
  }
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  int ok = X509_STORE_load_file(s->ca, ca);
#else
  int ok = X509_STORE_load_locations(s->ca, ca, NULL);
#endif
  if (ok == 1)
    return 0;
  unsigned long e = ERR_peek_last_error();
  const char *why = e && ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown error";
  ERR_clear_error();
  return tower_config_error(cfg, tower_config_setting(cfg, "tls_ca"),
                            "tls_ca \"%s\": cannot load its certificates: %s (a PEM file of CA "
                            "certificates is expected)",
                            ca, why);
}

/* s->ca plus the system's certificates (by reference) and directory. */
static X509_STORE *merge_system(X509_STORE *ca) {
  for (int i = 0; i < sk_X509_num(system_file_certs); i++)
    if (X509_STORE_add_cert(ca, sk_X509_value(system_file_certs, i)) != 1)
      return NULL;
  return add_system_paths(ca, false) ? ca : NULL;
}

int x509_store_ready(x509_state *s) {
  if (s->store)
    return 0;
  pthread_once(&system_once, load_system_store);
  if (!system_store) {
    ERR_clear_error();
    return -ENOMEM;
  }
  if (!s->ca) {
    if (X509_STORE_up_ref(system_store) != 1)
      return -ENOMEM;
    s->store = system_store;
    return 0;
  }
  if (!merge_system(s->ca)) {
    ERR_clear_error();
    return -ENOMEM;
  }
  s->store = s->ca; /* the instance's own store now holds both */
  s->ca = NULL;
  return 0;
}
