/* outputs.prometheus internals, shared by prometheus.c (options, init,
 * write), prom_store.c (series store and expiry), prom_render.c (scrape
 * body, gzip), prom_http.c (the scrape handler on the shared HTTP server,
 * plugins/common/httpd) and prom_tls_check.c (the TLS files under
 * --config-check). See README.md for the behaviour. */
#ifndef TOWER_OUTPUTS_PROMETHEUS_H
#define TOWER_OUTPUTS_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tower/tower.h>

#include "httpd.h"

/* ---- the series store (prom_store.c) ------------------------------------
 *
 * Families (one per series name) hold series keyed by their identity
 * labels: the tags of the metric (Telegraf's sample ID), so that a changed
 * string field updates its series instead of creating another one. Each
 * family has its own lock; a table lock guards only the family table, so
 * writes, scrapes and expiry of different families never wait for each
 * other, and a scrape holds one family's lock at a time. */

typedef struct prom_store prom_store;

/* Labels serialized as "name\0value\0name\0value\0", sorted by name, names
 * unique. */
typedef struct prom_labels {
  const char *data;
  size_t len; /* bytes */
  size_t n;   /* pairs */
} prom_labels;

/* Why a series was not stored. */
typedef enum prom_reject {
  PROM_STORED = 0,
  PROM_REJECT_MAX = 1,  /* max_series reached */
  PROM_REJECT_TYPE = 2, /* type conflicts with its family, or a reserved name */
} prom_reject;

/* max_series 0: unlimited. NULL on allocation failure. */
prom_store *prom_store_new(uint64_t max_series);
void prom_store_free(prom_store *st);

/* Stores (or updates) series `s` (its labels are ignored: `id` and `extra`
 * replace them) at monotonic time `now`. `id` identifies the series within
 * its family; `extra` (string fields) are labels that replace their values
 * in place. Returns a prom_reject, or -ENOMEM. Called from one thread at a
 * time (the output's write thread). */
int prom_store_put(prom_store *st, const tower_prom_series *s, const prom_labels *id,
                   const prom_labels *extra, int64_t now);

/* Removes the series last updated before `cutoff` (monotonic ns) and the
 * families left empty. Returns the number of series removed. */
size_t prom_store_expire(prom_store *st, int64_t cutoff);

/* Appends the exposition of every family, sorted by family name, series in
 * label order, then the endpoint's own series. flags: TOWER_PROM_TIMESTAMP.
 * Safe to call from many threads at once, concurrently with put/expire.
 * 0 or -ENOMEM. */
int prom_store_render(prom_store *st, tower_buf *out, unsigned flags);

uint64_t prom_store_series(const prom_store *st);
uint64_t prom_store_rejected(const prom_store *st, prom_reject why);

/* ---- scrape bodies (prom_render.c) -------------------------------------- */

/* gzip of data[0..len) (level: zlib 1..9). *out is malloc'd (free()).
 * 0 or -ENOMEM / -EIO. */
int prom_gzip(const char *data, size_t len, int level, unsigned char **out, size_t *out_len);

/* True when an Accept-Encoding header value accepts gzip (a "gzip" or "*"
 * token whose q is not 0). NULL: no. */
bool prom_accepts_gzip(const char *accept_encoding);

/* ---- the HTTP endpoint (prom_http.c) ------------------------------------ */

/* The scrape handler on the shared HTTP server (plugins/common/httpd, which
 * does listen, TLS, ip_range, basic auth, deadlines and limits). */
typedef struct prom_http prom_http;

typedef struct prom_http_cfg {
  httpd_cfg server; /* from httpd_cfg_load(); the handler is set here */
  const char *path;
  unsigned flags; /* render flags (TOWER_PROM_TIMESTAMP) */
  int gzip_level;
} prom_http_cfg;

/* Starts serving `st`. The cfg strings must outlive the server. Returns 0 or
 * a negative errno after logging why (for ctx). */
int prom_http_start(tower_ctx *ctx, const prom_http_cfg *cfg, prom_store *st, prom_http **out);
/* Stops the server: waits for the requests in progress. NULL is fine. */
void prom_http_stop(prom_http *h);
uint16_t prom_http_port(const prom_http *h);

/* ---- --config-check (prom_tls_check.c) ---------------------------------- */

/* The TLS files (tls_cert, tls_key, tls_allowed_cacerts) are reachable,
 * readable PEM of the right kind, and parse with GnuTLS (the key matching
 * the certificate). 0 or -EINVAL, each refusal logged at its option. */
int prom_check_tls(const tower_config *cfg);

#endif
