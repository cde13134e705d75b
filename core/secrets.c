/* The secret registry: values of TOWER_OPT_SECRET options, registered when a
 * config block is read and dropped when it is freed, and the search the log
 * writer runs over every message it writes.
 *
 * Each value is kept in several encodings ("patterns"), because a server
 * that echoes a credential rarely echoes it raw: percent-encoded (a query
 * string, a form body) and base64 at each of the three alignments a value
 * can have inside a longer base64 text ("Basic " + base64("user:" +
 * password)). For base64 the pattern is the characters that depend on the
 * value alone, so it matches whatever bytes surround the value; the one
 * character on each side that mixes value bits with its neighbours' is
 * redacted along with a match.
 *
 * The search is Knuth-Morris-Pratt per pattern (skipping with memchr while
 * no prefix matches), so a log line costs time linear in its length for each
 * pattern, never quadratic, and the automaton's final state tells whether
 * the line ends with the beginning of a secret (a message cut off in the
 * middle of one).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tower/log.h>

#include "secrets.h"

/* A base64 pattern shorter than this would match unrelated base64 text. */
#define B64_MIN 6

typedef struct pattern {
  const void *owner;
  unsigned char *text;
  uint16_t *fail; /* KMP: longest proper prefix of text[0..i] that ends there */
  size_t len;
  unsigned char pad_before, pad_after; /* bytes also redacted around a match */
  bool is_value;                       /* the raw value (counted against TWI_SECRETS_LIMIT) */
} pattern;

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static pattern *pats;
static size_t npats, cap_pats, nvalues;
static atomic_bool warned_full;

/* ---- encodings ---------------------------------------------------------- */

static size_t percent_encode(const unsigned char *v, size_t n, char *out) {
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = v[i];
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '~';
    if (plain) {
      out[o++] = (char)c;
    } else {
      out[o++] = '%';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
    }
  }
  return o;
}

/* The complete 6-bit groups of in[0..n) as base64 characters (the last,
 * partial group depends on what follows, so it is left out). */
static size_t base64_full_groups(const unsigned char *in, size_t n, char *out) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  unsigned acc = 0, bits = 0;
  for (size_t i = 0; i < n; i++) {
    acc = (acc << 8 | in[i]) & 0x3fffu;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out[o++] = tbl[(acc >> bits) & 63];
    }
  }
  return o;
}

/* ---- the registry ------------------------------------------------------- */

static void pattern_free(pattern *p) {
  free(p->text);
  free(p->fail);
}

static int pattern_init(pattern *p, const void *owner, const char *text, size_t len,
                        bool is_value) {
  *p = (pattern){.owner = owner, .len = len, .is_value = is_value};
  p->text = malloc(len);
  p->fail = malloc(len * sizeof *p->fail);
  if (!p->text || !p->fail) {
    pattern_free(p);
    return -1;
  }
  memcpy(p->text, text, len);
  p->fail[0] = 0;
  for (size_t i = 1, k = 0; i < len; i++) {
    while (k > 0 && p->text[i] != p->text[k])
      k = p->fail[k - 1];
    if (p->text[i] == p->text[k])
      k++;
    p->fail[i] = (uint16_t)k;
  }
  return 0;
}

/* The patterns of one value, built outside the lock. Returns how many. */
static size_t build_patterns(const void *owner, const unsigned char *v, size_t n, pattern out[5]) {
  size_t k = 0;
  char *tmp = malloc(3 * n + 8);
  if (!tmp)
    return 0;
  if (pattern_init(&out[k], owner, (const char *)v, n, true) == 0)
    k++;
  size_t plen = percent_encode(v, n, tmp);
  if (k && plen != n && pattern_init(&out[k], owner, tmp, plen, false) == 0)
    k++;
  unsigned char *shifted = malloc(n + 2);
  for (size_t a = 0; k && shifted && a < 3; a++) {
    memset(shifted, 0, a);
    memcpy(shifted + a, v, n);
    size_t full = base64_full_groups(shifted, n + a, tmp);
    size_t first = (8 * a + 5) / 6; /* first character free of the a unknown bytes */
    if (full < first + B64_MIN || pattern_init(&out[k], owner, tmp + first, full - first, false))
      continue;
    out[k].pad_before = a > 0;
    out[k].pad_after = (8 * (a + n)) % 6 != 0;
    k++;
  }
  free(shifted);
  free(tmp);
  return k;
}

/* Appends under the write lock; false when the registry is full. */
static bool append_patterns(pattern *ps, size_t k) {
  if (nvalues >= TWI_SECRETS_LIMIT)
    return false;
  if (npats + k > cap_pats) {
    size_t cap = cap_pats ? cap_pats * 2 : 16;
    while (cap < npats + k)
      cap *= 2;
    pattern *grown = realloc(pats, cap * sizeof *grown);
    if (!grown)
      return false;
    pats = grown;
    cap_pats = cap;
  }
  memcpy(pats + npats, ps, k * sizeof *ps);
  npats += k;
  nvalues++;
  return true;
}

void twi_secret_add(const void *owner, const char *value) {
  size_t n = value ? strnlen(value, TWI_SECRET_MAX) : 0;
  if (n < TWI_SECRET_MIN)
    return;
  pattern ps[5];
  size_t k = build_patterns(owner, (const unsigned char *)value, n, ps);
  pthread_rwlock_wrlock(&lock);
  bool added = k && append_patterns(ps, k);
  pthread_rwlock_unlock(&lock);
  if (added)
    return;
  for (size_t i = 0; i < k; i++)
    pattern_free(&ps[i]);
  /* Logged outside the lock: the log writer takes it. */
  if (!atomic_exchange(&warned_full, true))
    tower_log(NULL, TOWER_LOG_WARN,
              "more than %d secret option values are configured (or memory ran out); later "
              "ones are not scrubbed from log lines",
              TWI_SECRETS_LIMIT);
}

void twi_secrets_forget(const void *owner) {
  pthread_rwlock_wrlock(&lock);
  size_t kept = 0;
  for (size_t i = 0; i < npats; i++) {
    if (pats[i].owner != owner) {
      pats[kept++] = pats[i];
      continue;
    }
    nvalues -= pats[i].is_value;
    pattern_free(&pats[i]);
  }
  npats = kept;
  if (!npats) { /* nothing left to find: leave nothing allocated */
    free(pats);
    pats = NULL;
    cap_pats = 0;
  }
  pthread_rwlock_unlock(&lock);
}

/* ---- the search --------------------------------------------------------- */

/* Marks the occurrences of one pattern; returns whether any byte was. */
static bool mark_pattern(const pattern *p, const unsigned char *s, size_t n, bool cut,
                         unsigned char *mark) {
  size_t q = 0, done = 0; /* matched prefix length; bytes already marked */
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    if (q == 0) {
      const unsigned char *hit = memchr(s + i, p->text[0], n - i);
      if (!hit)
        break;
      i = (size_t)(hit - s);
    }
    while (q > 0 && s[i] != p->text[q])
      q = p->fail[q - 1];
    if (s[i] == p->text[q])
      q++;
    if (q == p->len) {
      size_t start = i + 1 - q >= p->pad_before ? i + 1 - q - p->pad_before : 0;
      size_t end = i + 1 + p->pad_after <= n ? i + 1 + p->pad_after : n;
      size_t from = start > done ? start : done;
      memset(mark + from, 1, end - from);
      done = end;
      any = true;
      q = p->fail[q - 1];
    }
  }
  if (cut && q > 0) { /* the text ends with the first q bytes of the pattern */
    memset(mark + n - q, 1, q);
    any = true;
  }
  return any;
}

bool twi_secrets_mark(const char *s, size_t n, bool cut, unsigned char *mark) {
  bool any = false;
  pthread_rwlock_rdlock(&lock);
  if (npats && n)
    memset(mark, 0, n);
  for (size_t i = 0; i < npats && n; i++)
    any |= mark_pattern(&pats[i], (const unsigned char *)s, n, cut, mark);
  pthread_rwlock_unlock(&lock);
  return any;
}
