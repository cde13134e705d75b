/* outputs.prometheus internals, shared by prometheus.c (options, init,
 * write), prom_store.c (series store, expiry, per-family rendered chunks),
 * prom_text.c (the text of one series), prom_render.c (the shared rendered
 * exposition, its gzip, Accept-Encoding), prom_http.c (the scrape handler
 * on the shared HTTP server, plugins/common/httpd) and prom_tls_check.c (the
 * TLS files under --config-check). See README.md for the behaviour. */
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
 *
 * Each family remembers where its text went (render generation `gen`,
 * offset, length). A family not written to or expired since it was
 * rendered into `prev` (generation prev_gen, bytes borrowed for the call)
 * is copied from there instead of rendered again; prev NULL renders all.
 * One render at a time (the caller serializes them: prom_render.c), safe
 * concurrently with put/expire. 0 or -ENOMEM. */
int prom_store_render(prom_store *st, tower_buf *out, unsigned flags, const char *prev,
                      uint64_t prev_gen, uint64_t gen);

/* Bumped by every put (stored or refused) and by every expiry that removed
 * something: a render taken after reading version v shows at least every
 * change counted in v. */
uint64_t prom_store_version(const prom_store *st);

uint64_t prom_store_series(const prom_store *st);
uint64_t prom_store_rejected(const prom_store *st, prom_reject why);

/* ---- the text of one series (prom_text.c) ------------------------------- */

/* The merged labels of a series (id and string-field labels, a string field
 * winning over a tag of the same name), escaped and joined as they appear
 * between the braces: `a="x",b="y"`. *out is malloc'd (free()), not NUL
 * terminated. 0 or -ENOMEM. */
int prom_text_labels(const prom_labels *id, const prom_labels *extra, char **out,
                     uint32_t *out_len);

typedef struct prom_text_series {
  const char *name; /* the family's name */
  size_t namelen;
  tower_value_type type;
  const char *labels; /* from prom_text_labels() */
  size_t labelslen;
  double value;    /* counter, gauge, untyped */
  size_t nbuckets; /* histogram: le bounds; summary: quantiles */
  const double *bounds, *counts;
  double sum, count;
  bool has_time; /* write time_ns (export_timestamp and the metric had one) */
  int64_t time_ns;
} prom_text_series;

/* Appends the sample lines of s, byte for byte what tower_prom_write_series
 * writes for the same series. 0 or -ENOMEM. */
int prom_text_series_write(tower_buf *b, const prom_text_series *s);

/* ---- scrape bodies (prom_render.c) -------------------------------------- */

/* The exposition every scraper shares. A render is immutable once published
 * and reference counted: a scrape takes a reference and sends from its
 * bytes; a write or an expiry makes the next scrape publish a new render
 * (rebuilding only the families that changed), and the old one is freed
 * when its last scrape is done with it. The gzip of a render is built once,
 * by the first scraper that asks for it. */
typedef struct prom_cache prom_cache;
typedef struct prom_body prom_body;

/* NULL on allocation failure. st must outlive the cache. */
prom_cache *prom_cache_new(prom_store *st, unsigned flags, int gzip_level);
/* Drops the cache's reference to its render (scrapes may still hold it). */
void prom_cache_free(prom_cache *c);

/* The current render, a reference the caller drops with prom_body_release.
 * NULL: out of memory. */
prom_body *prom_cache_get(prom_cache *c);
/* The exposition text of b, borrowed while the reference is held. */
const char *prom_body_text(const prom_body *b, size_t *len);
/* Its gzip (built on the first call), borrowed while the reference is held.
 * NULL: out of memory or a zlib failure. */
const unsigned char *prom_body_gzip(prom_body *b, size_t *len);
void prom_body_release(prom_body *b);

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
