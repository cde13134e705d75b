/* Scrape bodies: the rendered exposition every scraper shares, its gzip,
 * and Accept-Encoding negotiation. The text itself comes from
 * prom_store_render().
 *
 * Publishing (RCU-like). c->current is the last published render, with
 * the store version it shows. A scrape takes c->lock, and when the store
 * has not changed since, takes a reference to c->current and leaves: no
 * render, no copy, no allocation of the body's size. Otherwise it renders
 * a new body under the lock (concurrent scrapers wait for that one render
 * instead of each doing their own), from the previous one for the families
 * that did not change, and swaps it in; the old body lives on until the
 * scrapes sending it drop their references. A published body is never
 * written again, except for its gzip, which is added once under its own
 * lock. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "prometheus.h"

int prom_gzip(const char *data, size_t len, int level, unsigned char **out, size_t *out_len) {
  z_stream z = {0};
  /* windowBits 15 + 16: a gzip wrapper rather than zlib's. */
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return -ENOMEM;
  size_t cap = deflateBound(&z, (uLong)len);
  unsigned char *buf = malloc(cap);
  if (!buf) {
    deflateEnd(&z);
    return -ENOMEM;
  }
  z.next_in = (Bytef *)(uintptr_t)data;
  z.avail_in = (uInt)len;
  z.next_out = buf;
  z.avail_out = (uInt)cap;
  /* deflateBound() is enough for a single Z_FINISH call. */
  int zr = deflate(&z, Z_FINISH);
  deflateEnd(&z);
  if (zr != Z_STREAM_END) {
    free(buf);
    return -EIO;
  }
  *out = buf;
  *out_len = cap - z.avail_out;
  return 0;
}

/* ---- the shared render ---------------------------------------------------------- */

struct prom_body {
  _Atomic unsigned refs;
  uint64_t version; /* prom_store_version() it was rendered at (or after) */
  uint64_t gen;     /* render generation: families' chunk_gen */
  tower_buf *text;
  int gzip_level;
  pthread_mutex_t gz_lock;
  unsigned char *gz; /* built on the first gzip scrape */
  size_t gz_len;
};

struct prom_cache {
  prom_store *st;
  unsigned flags;
  int gzip_level;
  pthread_mutex_t lock; /* current, next_gen; one render at a time */
  prom_body *current;
  uint64_t next_gen;
};

prom_cache *prom_cache_new(prom_store *st, unsigned flags, int gzip_level) {
  prom_cache *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->st = st;
  c->flags = flags;
  c->gzip_level = gzip_level;
  c->next_gen = 1; /* families start at chunk_gen 0: never a body's */
  pthread_mutex_init(&c->lock, NULL);
  return c;
}

void prom_cache_free(prom_cache *c) {
  if (!c)
    return;
  if (c->current)
    prom_body_release(c->current);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

void prom_body_release(prom_body *b) {
  if (atomic_fetch_sub(&b->refs, 1) != 1)
    return;
  tower_buf_free(b->text);
  free(b->gz);
  pthread_mutex_destroy(&b->gz_lock);
  free(b);
}

/* Under c->lock: a new body of the store at `version`, made from the
 * current one. */
static prom_body *render(prom_cache *c, uint64_t version) {
  prom_body *b = calloc(1, sizeof *b);
  const prom_body *prev = c->current;
  size_t hint = prev ? tower_buf_len(prev->text) + tower_buf_len(prev->text) / 8 : 64 * 1024;
  if (!b || !(b->text = tower_buf_new(hint))) {
    free(b);
    return NULL;
  }
  atomic_init(&b->refs, 1);
  b->version = version;
  b->gen = c->next_gen++;
  b->gzip_level = c->gzip_level;
  pthread_mutex_init(&b->gz_lock, NULL);
  if (prom_store_render(c->st, b->text, c->flags, prev ? tower_buf_data(prev->text) : NULL,
                        prev ? prev->gen : 0, b->gen)) {
    prom_body_release(b);
    return NULL;
  }
  return b;
}

prom_body *prom_cache_get(prom_cache *c) {
  pthread_mutex_lock(&c->lock);
  /* Read before rendering: a write counted after this is seen by the next
   * scrape, which then renders again. */
  uint64_t version = prom_store_version(c->st);
  if (!c->current || c->current->version != version) {
    prom_body *b = render(c, version);
    if (!b) {
      pthread_mutex_unlock(&c->lock);
      return NULL;
    }
    if (c->current)
      prom_body_release(c->current);
    c->current = b;
  }
  prom_body *b = c->current;
  atomic_fetch_add(&b->refs, 1);
  pthread_mutex_unlock(&c->lock);
  return b;
}

const char *prom_body_text(const prom_body *b, size_t *len) {
  *len = tower_buf_len(b->text);
  return tower_buf_data(b->text);
}

const unsigned char *prom_body_gzip(prom_body *b, size_t *len) {
  pthread_mutex_lock(&b->gz_lock);
  if (!b->gz &&
      prom_gzip(tower_buf_data(b->text), tower_buf_len(b->text), b->gzip_level, &b->gz, &b->gz_len))
    b->gz = NULL;
  const unsigned char *gz = b->gz;
  *len = b->gz_len;
  pthread_mutex_unlock(&b->gz_lock);
  return gz;
}

/* ---- Accept-Encoding ----------------------------------------------------------- */

/* The q value of one coding's parameters ("q=0.5"); 1 when absent. */
static double qvalue(const char *params, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (params[i] != 'q' && params[i] != 'Q')
      continue;
    size_t j = i + 1;
    while (j < len && params[j] == ' ')
      j++;
    if (j < len && params[j] == '=' && (i == 0 || params[i - 1] == ';' || params[i - 1] == ' '))
      return strtod(params + j + 1, NULL);
  }
  return 1;
}

bool prom_accepts_gzip(const char *ae) {
  if (!ae)
    return false;
  while (*ae) {
    size_t len = strcspn(ae, ",");
    const char *tok = ae, *end = ae + len;
    while (tok < end && isspace((unsigned char)*tok))
      tok++;
    size_t name = strcspn(tok, ";, \t");
    if (name > (size_t)(end - tok))
      name = (size_t)(end - tok);
    bool match = (name == 4 && strncasecmp(tok, "gzip", 4) == 0) || (name == 1 && *tok == '*');
    if (match && qvalue(tok + name, (size_t)(end - tok - (ptrdiff_t)name)) > 0)
      return true;
    ae = *end ? end + 1 : end;
  }
  return false;
}
