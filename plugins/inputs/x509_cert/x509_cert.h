/* inputs.x509_cert internals, shared by
 *   x509_cert.c   options, init/destroy, gather (jobs, worker threads, order)
 *   x509_source.c parsing `sources`, expanding file globs
 *   x509_net.c    connect, SMTP STARTTLS, TLS handshake -> peer chain
 *   x509_file.c   PEM/DER files -> certificates
 *   x509_store.c  trust store: the system's (read once, shared) + tls_ca
 *   x509_verify.c verification of one certificate, type
 *   x509_metric.c certificate -> x509_cert metric (Telegraf's tags/fields)
 *   x509_check.c  TLS files before OpenSSL reads them; --config-check
 * Private to the plugin: nothing here is exported. */
#ifndef TOWER_X509_CERT_H
#define TOWER_X509_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <tower/tower.h>

/* Certificates in order, leaf first (OpenSSL's stack: sk_X509_*). The
 * typedef keeps clang-format from mangling STACK_OF() declarations. */
typedef STACK_OF(X509) x509_chain;

/* Room for one error message (what failed, where, what to do). */
#define X509_ERR_MAX 512

typedef enum x509_kind {
  X509_SRC_TLS = 1,  /* tcp://, tcp4://, tcp6://, https://: TLS right away */
  X509_SRC_SMTP = 2, /* smtp://: SMTP dialogue, STARTTLS, then TLS */
  X509_SRC_FILE = 3, /* file:// or an absolute path: a glob of PEM/DER files */
} x509_kind;

/* One entry of `sources`, parsed once at init. */
typedef struct x509_source {
  x509_kind kind;
  char *tag; /* network: the `source` tag (malloc'd); files: NULL */
  /* network */
  char *host; /* without IPv6 brackets (malloc'd) */
  char *port; /* service for getaddrinfo (malloc'd) */
  int family; /* AF_UNSPEC, or AF_INET / AF_INET6 for tcp4:// / tcp6:// */
  /* files */
  char *pattern; /* the glob (malloc'd) */
  bool magic;    /* it has wildcards: no match is "no file matches" */
} x509_source;

typedef struct x509_state {
  tower_ctx *ctx;
  x509_source *sources;
  size_t nsources;
  int64_t timeout_ns;
  const char *server_name; /* SNI and verified name; NULL: each source's host */
  bool exclude_root;
  char ehlo[256];    /* the name tower gives in SMTP EHLO */
  SSL_CTX *ssl;      /* handshakes (shared by the workers; never verifies) */
  X509_STORE *ca;    /* tls_ca's certificates, until the store is ready */
  X509_STORE *store; /* verification: system store + tls_ca; NULL until
                        a gather needs it (x509_store_ready) */
} x509_state;

/* One unit of work of a gather: a network source or one matched file. */
typedef struct x509_job {
  const x509_source *src;
  char *path; /* files: the file (malloc'd) */
  char *tag;  /* the `source` tag (malloc'd) */
  tower_metric **metrics;
  size_t nmetrics;
  bool failed;  /* the source gave nothing; `error` says why */
  bool stopped; /* abandoned because the agent is stopping: no error */
  char error[X509_ERR_MAX];
} x509_job;

/* What the metric of one certificate needs besides the certificate. */
typedef struct x509_certinfo {
  const char *source;
  const char *type;  /* leaf / intermediate / root */
  const char *error; /* verification error, NULL when valid */
  int64_t now_ns;    /* the gather's clock */
} x509_certinfo;

/* ---- x509_source.c ---- */

/* Parses `sources`; errors are configuration errors (file:line). */
int x509_sources_load(x509_state *s, const tower_config *cfg);
void x509_sources_free(x509_state *s);
/* This gather's jobs, in configuration order: one per network source and
 * one per file a glob matches (a glob without match: one job holding the
 * error). 0 or -ENOMEM. Free with x509_jobs_free. */
int x509_jobs_new(const x509_state *s, x509_job **jobs, size_t *njobs);
void x509_jobs_free(x509_job *jobs, size_t njobs);
/* True when `host` is an IPv4 or IPv6 address literal. */
bool x509_is_ip(const char *host);

/* ---- x509_net.c ---- */

/* The peer's chain (leaf first) of a network source, fetched within the
 * timeout. 0; -ECANCELED when the agent is stopping; another negative errno
 * with `err` saying what failed. The caller frees with sk_X509_pop_free. */
int x509_fetch(const x509_state *s, const x509_source *src, x509_chain **chain, char *err,
               size_t errlen);
/* The handshake context: no verification during the handshake (the chain
 * is verified afterwards, so that bad certificates are reported, not
 * hidden), client certificate from tls_cert/tls_key. */
int x509_ssl_ctx_new(x509_state *s, const tower_config *cfg);

/* ---- x509_file.c ---- */

/* Every certificate of a PEM file (or the one of a DER file), in file
 * order. 0, or a negative errno with `err` saying what failed. */
int x509_read_file(const char *path, x509_chain **chain, char *err, size_t errlen);

/* ---- x509_check.c ---- */

/* tls_ca, tls_cert, tls_key: each set one is a readable PEM file of the
 * right kind, or a configuration error naming the path component at fault
 * (every bad one is reported). 0 or -EINVAL. */
int x509_check_tls_files(const tower_config *cfg);
/* For --config-check: every file source without wildcards is a readable
 * file of certificates; a glob's fixed directory can be read. Network
 * sources are not contacted. 0 or -EINVAL (each bad one reported). */
int x509_check_sources(const x509_state *s, const tower_config *cfg);

/* ---- x509_store.c ---- */

/* Reads tls_ca, if set, into s->ca. 0, or a configuration error. */
int x509_store_new(x509_state *s, const tower_config *cfg);
/* Makes s->store (the system's certificates, read at the first call in the
 * process, plus s->ca) unless it is there already. Call it before the
 * workers start. 0 or -ENOMEM. */
int x509_store_ready(x509_state *s);

/* ---- x509_verify.c ---- */
/* Verifies chain[idx] against the store at time `now`, the other
 * certificates of the chain as untrusted intermediates, and its name
 * against `host` when not NULL. True when valid; else `err` says why. */
bool x509_verify(X509_STORE *store, x509_chain *chain, int idx, const char *host, time_t now,
                 char *err, size_t errlen);
/* "root" (self-signed), "leaf" (the server's own certificate, or not a CA)
 * or "intermediate" (any other CA certificate). */
const char *x509_cert_type(X509 *x, int idx, bool from_server);

/* ---- x509_metric.c ---- */

/* The x509_cert metric of one certificate (caller owns it), or NULL when
 * out of memory. */
tower_metric *x509_metric_new(X509 *x, const x509_certinfo *info);
/* Go's names, as Telegraf prints them ("SHA256-RSA", "ECDSA"...). */
const char *x509_signature_name(X509 *x, char *buf, size_t len);
const char *x509_pubkey_name(X509 *x, char *buf, size_t len);
/* The serial number in lowercase hexadecimal without leading zeros
 * (Go's big.Int.Text(16)); malloc'd, NULL when out of memory. */
char *x509_serial_hex(X509 *x);
/* Seconds from `from_ns` to `to_s`, truncated toward zero and saturated as
 * Go's time.Sub saturates (about +-292 years). */
int64_t x509_seconds_between(int64_t from_ns, int64_t to_s);

#endif
