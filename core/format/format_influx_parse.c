/* InfluxDB line protocol parser.
 *
 *   measurement[,tag=value...] field=value[,field=value...] [timestamp]
 *
 * Follows InfluxDB's own parser (models/points.go) and
 * influxdata/line-protocol:
 * - The measurement ends at an unescaped ',' or ' '; "\," and "\ " stand
 *   for the character. Tag keys, tag values and field keys end at an
 *   unescaped ',', '=' or ' '; "\,", "\=" and "\ " stand for the character.
 *   A backslash before any other byte is an ordinary character, so "a\\,b"
 *   is the two-byte "a\" followed by an escaped ','.
 * - Field values: floats (-1.5, 1e3, .5, -1.5E-3; nan and inf are not
 *   values), integers "123i" and unsigned "123u" (range checked), strings
 *   "..." in which only \" and \\ are escapes (other backslashes stay, as
 *   InfluxDB keeps them), booleans t T true True TRUE f F false False FALSE.
 * - One or more spaces separate the sections; spaces may trail the line.
 *   The optional timestamp is an integer in influx_timestamp_precision units.
 * - Leading spaces and tabs are skipped; blank lines and lines whose first
 *   other byte is '#' are comments. A repeated tag or field key: the last
 *   one wins. A NUL byte outside a comment makes the line invalid (metric
 *   strings are C strings).
 *
 * A malformed line is reported with the 1-based byte column of the problem
 * and skipped. The scan records token positions in a reusable table, so the
 * metric is then built with exactly one allocation of the right size, and
 * tokens are unescaped (into a scratch buffer) only when they hold a
 * backslash. Plain lines (no escape, quote or string field: most metrics)
 * are scanned by a fast path that jumps between separators found with SIMD
 * compares; any other line, and any error, goes to the general scanner,
 * which alone reports (see "the fast path" below).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_DISPATCH 1
#endif

#include "format_influx.h"
#include "metric_internal.h"
#include "numfmt.h"

/* Limits of one metric (see metric.c): 16-bit counts, 24-bit offsets. */
#define MAX_ITEMS 65535u
#define MAX_STR_BYTES ((1u << 24) - 1)

/* Longest key or value quoted in an error message. */
#define QUOTE_MAX 64

/* Token table and scratch sizes kept between lines; a longer line's are
 * released after it, so one odd line does not pin megabytes. */
#define KEEP_TOKS 1024
#define KEEP_SCRATCH 65536

/* Byte classes for the scanners. */
enum {
  C_SPACE = 0x01,
  C_COMMA = 0x02,
  C_EQ = 0x04,
  C_BSL = 0x08,
  C_NUL = 0x10,
  C_QUOTE = 0x20,
};
#define STOP_NAME (C_COMMA | C_SPACE)
#define STOP_KEY (C_COMMA | C_EQ | C_SPACE)

static const unsigned char cls[256] = {
    [' '] = C_SPACE, [','] = C_COMMA, ['='] = C_EQ, ['\\'] = C_BSL, [0] = C_NUL, ['"'] = C_QUOTE,
};

static unsigned char class_of(char c) {
  return cls[(unsigned char)c];
}

/* One tag or field of the line: offsets into the line. */
typedef struct lp_tok {
  uint32_t k, klen, v, vlen;
  uint64_t raw; /* numeric and bool fields: the value's bits */
  uint8_t type; /* 0 for a tag, else the tower_field_type */
  uint8_t kesc; /* the key holds a backslash */
  uint8_t vesc; /* the value holds an escape */
} lp_tok;

typedef uint64_t (*classify_fn)(const char *s, size_t len, size_t blk);

typedef struct lp_state {
  int64_t precision;    /* ns per timestamp unit */
  classify_fn classify; /* the fast path's stop finder for this CPU */
  lp_tok *tok;          /* tags, then fields, of the current line */
  size_t tok_cap;
  char *scratch; /* unescaped tokens of lines too long for the stack */
  size_t scratch_cap;
} lp_state;

/* What the scan found in one line. */
typedef struct lp_line {
  const char *s;
  size_t len;
  size_t name, name_len;
  size_t ntags, nfields;
  size_t str_bytes; /* keys and values plus NULs, before unescaping */
  int64_t time;
  bool name_esc, any_esc;
  bool ordered; /* no escapes, tag and field keys each strictly ascending */
} lp_line;

/* ---- state ------------------------------------------------------------ */

static classify_fn choose_classifier(void);

int twi_influx_set_precision(tower_parser *p, int64_t ns) {
  if (ns != 1 && ns != 1000 && ns != 1000000 && ns != 1000000000)
    return -EINVAL;
  ((lp_state *)p->state)->precision = ns;
  return 0;
}

int twi_influx_parser_init(tower_parser *p, const tower_config *cfg) {
  lp_state *st = calloc(1, sizeof *st);
  if (!st)
    return -ENOMEM;
  st->precision = 1;
  st->classify = choose_classifier();
  p->state = st;
  if (!cfg)
    return 0;
  int64_t prec = tower_config_duration(cfg, "influx_timestamp_precision");
  if (prec != 0 && twi_influx_set_precision(p, prec) < 0) {
    free(st);
    p->state = NULL;
    return tower_config_error(cfg, tower_config_setting(cfg, "influx_timestamp_precision"),
                              "influx_timestamp_precision must be 1ns, 1us, 1ms or 1s, not %lld ns",
                              (long long)prec);
  }
  return 0;
}

void twi_influx_parser_fini(tower_parser *p) {
  lp_state *st = p->state;
  if (!st)
    return;
  free(st->tok);
  free(st->scratch);
  free(st);
  p->state = NULL;
}

/* Out of memory: stops the feed (the framework returns sink_rc). */
static int oom(tower_parser *p) {
  if (!p->sink_rc)
    p->sink_rc = -ENOMEM;
  return -ENOMEM;
}

/* Entry n of the token table, grown as needed; NULL without memory. */
static inline lp_tok *tok_at(lp_state *st, size_t n) {
  if (n == st->tok_cap) {
    size_t cap = st->tok_cap ? st->tok_cap * 2 : 32;
    lp_tok *t = realloc(st->tok, cap * sizeof *t);
    if (!t)
      return NULL;
    st->tok = t;
    st->tok_cap = cap;
  }
  return &st->tok[n];
}

/* The line's next token, zeroed (the general scanner). */
static lp_tok *push_tok(lp_state *st, const lp_line *L) {
  lp_tok *t = tok_at(st, L->ntags + L->nfields);
  if (t)
    memset(t, 0, sizeof *t);
  return t;
}

static int qlen(size_t n) {
  return n > QUOTE_MAX ? QUOTE_MAX : (int)n;
}

/* ---- scanning --------------------------------------------------------- */

#ifdef __SSE2__
/* Skips bytes that are neither separators, backslash nor NUL, 16 at a time
 * while 16 remain in the line. */
static size_t skip_plain(const char *s, size_t i, size_t len, unsigned stop) {
  const __m128i comma = _mm_set1_epi8(','), space = _mm_set1_epi8(' '), eq = _mm_set1_epi8('=');
  const __m128i bsl = _mm_set1_epi8('\\'), zero = _mm_setzero_si128();
  for (; i + 16 <= len; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, space)),
                             _mm_or_si128(_mm_cmpeq_epi8(v, bsl), _mm_cmpeq_epi8(v, zero)));
    if (stop & C_EQ)
      m = _mm_or_si128(m, _mm_cmpeq_epi8(v, eq));
    unsigned bits = (unsigned)_mm_movemask_epi8(m);
    if (bits)
      return i + (size_t)__builtin_ctz(bits);
  }
  return i;
}
#else
static size_t skip_plain(const char *s, size_t i, size_t len, unsigned stop) {
  (void)s;
  (void)len;
  (void)stop;
  return i;
}
#endif

/* End of the token at s[i]: the first byte of class `stop` that no
 * backslash escapes, a NUL, or the end of the line. Sets *esc when the token
 * holds a backslash. */
static size_t scan_token(const char *s, size_t i, size_t len, unsigned stop, uint8_t *esc) {
  for (i = skip_plain(s, i, len, stop); i < len; i++) {
    unsigned c = class_of(s[i]);
    if (!(c & (stop | C_BSL | C_NUL)))
      continue;
    if (!(c & C_BSL))
      break;
    *esc = 1;
    if (i + 1 < len && (class_of(s[i + 1]) & stop))
      i++;
  }
  return i;
}

static bool nul_at(const lp_line *L, size_t i) {
  return i < L->len && L->s[i] == '\0';
}

static int nul_error(tower_parser *p, size_t i) {
  return twi_parser_error(p, i + 1, "NUL byte in line");
}

static int scan_name(tower_parser *p, lp_line *L, size_t *pi) {
  uint8_t esc = 0;
  size_t i = *pi, end = scan_token(L->s, i, L->len, STOP_NAME, &esc);
  if (nul_at(L, end))
    return nul_error(p, end);
  if (end == i)
    return twi_parser_error(p, i + 1, "missing measurement name");
  L->name = i;
  L->name_len = end - i;
  L->name_esc = L->any_esc = esc;
  *pi = end;
  return 0;
}

/* Reads one ",key=value" tag; *pi is at the ','. */
static int scan_tag(tower_parser *p, lp_tok *t, lp_line *L, size_t *pi) {
  const char *s = L->s;
  size_t len = L->len, i = *pi + 1;
  size_t kend = scan_token(s, i, len, STOP_KEY, &t->kesc);
  if (nul_at(L, kend))
    return nul_error(p, kend);
  if (kend == i)
    return twi_parser_error(p, i + 1, "expected tag key after ','");
  t->k = (uint32_t)i;
  t->klen = (uint32_t)(kend - i);
  if (kend == len || s[kend] != '=')
    return twi_parser_error(p, kend + 1, "expected '=' after tag key \"%.*s\"", qlen(t->klen),
                            s + i);
  size_t v = kend + 1, vend = scan_token(s, v, len, STOP_KEY, &t->vesc);
  if (nul_at(L, vend))
    return nul_error(p, vend);
  if (vend == v)
    return twi_parser_error(p, v + 1, "missing value for tag \"%.*s\"", qlen(t->klen), s + i);
  if (vend < len && s[vend] == '=')
    return twi_parser_error(p, vend + 1, "unescaped '=' in value of tag \"%.*s\"", qlen(t->klen),
                            s + i);
  t->v = (uint32_t)v;
  t->vlen = (uint32_t)(vend - v);
  L->str_bytes += t->klen + t->vlen + 2;
  L->any_esc |= t->kesc | t->vesc;
  *pi = vend;
  return 0;
}

static int too_many(tower_parser *p, size_t i, const char *what) {
  return twi_parser_error(p, i + 1, "too many %s: a metric holds at most %u", what, MAX_ITEMS);
}

static int scan_tags(tower_parser *p, lp_state *st, lp_line *L, size_t *pi) {
  while (*pi < L->len && L->s[*pi] == ',') {
    if (L->ntags == MAX_ITEMS)
      return too_many(p, *pi, "tags");
    lp_tok *t = push_tok(st, L);
    if (!t)
      return oom(p);
    int rc = scan_tag(p, t, L, pi);
    if (rc)
      return rc;
    L->ntags++;
  }
  return 0;
}

/* A quoted string value; v is at the opening quote. */
static int scan_string(tower_parser *p, lp_tok *t, const lp_line *L, size_t v, size_t *end) {
  const char *s = L->s;
  size_t i = v + 1;
  for (; i < L->len; i++) {
    unsigned c = class_of(s[i]);
    if (!(c & (C_QUOTE | C_BSL | C_NUL)))
      continue;
    if (c & C_QUOTE)
      break;
    if (c & C_NUL)
      return nul_error(p, i);
    if (i + 1 < L->len && (s[i + 1] == '"' || s[i + 1] == '\\')) {
      t->vesc = 1;
      i++;
    }
  }
  if (i == L->len)
    return twi_parser_error(p, v + 1, "unterminated string value for field \"%.*s\"", qlen(t->klen),
                            s + t->k);
  t->type = TOWER_FIELD_STRING;
  t->v = (uint32_t)(v + 1);
  t->vlen = (uint32_t)(i - v - 1);
  *end = i + 1;
  return 0;
}

/* A boolean word: 1 true, 0 false, -1 none of t T true True TRUE f F false
 * False FALSE. */
static int bool_word(const char *w, size_t n) {
  switch (n) {
  case 1:
    return w[0] == 't' || w[0] == 'T' ? 1 : w[0] == 'f' || w[0] == 'F' ? 0 : -1;
  case 4:
    return memcmp(w, "true", 4) == 0 || memcmp(w, "True", 4) == 0 || memcmp(w, "TRUE", 4) == 0 ? 1
                                                                                               : -1;
  case 5:
    return memcmp(w, "false", 5) == 0 || memcmp(w, "False", 5) == 0 || memcmp(w, "FALSE", 5) == 0
               ? 0
               : -1;
  default:
    return -1;
  }
}

static int parse_bool(tower_parser *p, lp_tok *t, const char *s, size_t v, size_t n) {
  int b = bool_word(s + v, n);
  if (b < 0)
    return twi_parser_error(p, v + 1, "invalid boolean value \"%.*s\" for field \"%.*s\"", qlen(n),
                            s + v, qlen(t->klen), s + t->k);
  t->type = TOWER_FIELD_BOOL;
  t->raw = (uint64_t)b;
  return 0;
}

/* Reports a bad number: kind "integer", "unsigned" or "float"/"number". */
static int number_error(tower_parser *p, const lp_tok *t, const char *s, size_t v, size_t n, int rc,
                        const char *kind) {
  if (rc == -ENOMEM)
    return oom(p);
  if (rc == -ERANGE)
    return twi_parser_error(p, v + 1, "%s value \"%.*s\" out of range for field \"%.*s\"", kind,
                            qlen(n), s + v, qlen(t->klen), s + t->k);
  return twi_parser_error(p, v + 1, "invalid %s value \"%.*s\" for field \"%.*s\"", kind, qlen(n),
                          s + v, qlen(t->klen), s + t->k);
}

static int parse_number(tower_parser *p, lp_tok *t, const char *s, size_t v, size_t n) {
  int rc;
  if (s[v + n - 1] == 'i') {
    int64_t x;
    if ((rc = twi_parse_int64_inline(s + v, n - 1, &x)))
      return number_error(p, t, s, v, n, rc, "integer");
    t->type = TOWER_FIELD_INT;
    t->raw = (uint64_t)x;
  } else if (s[v + n - 1] == 'u') {
    if ((rc = twi_parse_uint64_inline(s + v, n - 1, &t->raw)))
      return number_error(p, t, s, v, n, rc, "unsigned");
    t->type = TOWER_FIELD_UINT;
  } else {
    double d;
    if ((rc = twi_parse_double_inline(s + v, n, &d)))
      return number_error(p, t, s, v, n, rc, "float");
    t->type = TOWER_FIELD_FLOAT;
    memcpy(&t->raw, &d, sizeof d);
  }
  return 0;
}

/* The value of field t at s[v]; *end gets the byte after it. */
static int scan_value(tower_parser *p, lp_tok *t, const lp_line *L, size_t v, size_t *end) {
  const char *s = L->s;
  if (v == L->len || s[v] == ',' || s[v] == ' ')
    return twi_parser_error(p, v + 1, "missing value for field \"%.*s\"", qlen(t->klen), s + t->k);
  if (s[v] == '"')
    return scan_string(p, t, L, v, end);
  size_t e = v;
  while (e < L->len && !(class_of(s[e]) & (C_COMMA | C_SPACE)))
    e++;
  *end = e;
  char c = s[v];
  if (c == 't' || c == 'T' || c == 'f' || c == 'F')
    return parse_bool(p, t, s, v, e - v);
  if (c == '-' || c == '.' || (c >= '0' && c <= '9'))
    return parse_number(p, t, s, v, e - v);
  return twi_parser_error(p, v + 1,
                          "invalid value \"%.*s\" for field \"%.*s\": expected a number, a "
                          "quoted string or a boolean",
                          qlen(e - v), s + v, qlen(t->klen), s + t->k);
}

/* Reads one "key=value" field at *pi, leaving *pi after the value. */
static int scan_field(tower_parser *p, lp_tok *t, lp_line *L, size_t *pi) {
  const char *s = L->s;
  size_t i = *pi, kend = scan_token(s, i, L->len, STOP_KEY, &t->kesc);
  if (nul_at(L, kend))
    return nul_error(p, kend);
  if (kend == i)
    return twi_parser_error(p, i + 1, "missing field key");
  t->k = (uint32_t)i;
  t->klen = (uint32_t)(kend - i);
  if (kend == L->len || s[kend] != '=')
    return twi_parser_error(p, kend + 1, "expected '=' after field key \"%.*s\"", qlen(t->klen),
                            s + i);
  int rc = scan_value(p, t, L, kend + 1, pi);
  if (rc)
    return rc;
  L->str_bytes += t->klen + 1 + (t->type == TOWER_FIELD_STRING ? t->vlen + 1 : 0);
  L->any_esc |= t->kesc | t->vesc;
  return 0;
}

static int scan_fields(tower_parser *p, lp_state *st, lp_line *L, size_t *pi) {
  for (;;) {
    if (L->nfields == MAX_ITEMS)
      return too_many(p, *pi, "fields");
    lp_tok *t = push_tok(st, L);
    if (!t)
      return oom(p);
    int rc = scan_field(p, t, L, pi);
    if (rc)
      return rc;
    L->nfields++;
    if (*pi == L->len || L->s[*pi] == ' ')
      return 0;
    if (L->s[*pi] != ',')
      return twi_parser_error(p, *pi + 1, "expected ',' or ' ' after value of field \"%.*s\"",
                              qlen(t->klen), L->s + t->k);
    (*pi)++;
  }
}

static size_t skip_spaces(const char *s, size_t i, size_t len) {
  while (i < len && s[i] == ' ')
    i++;
  return i;
}

static int scan_time(tower_parser *p, const lp_state *st, lp_line *L, size_t i) {
  const char *s = L->s;
  i = skip_spaces(s, i, L->len);
  if (i == L->len)
    return 0;
  const char *sp = memchr(s + i, ' ', L->len - i);
  size_t e = sp ? (size_t)(sp - s) : L->len;
  int64_t ts;
  int rc = twi_parse_int64_inline(s + i, e - i, &ts);
  if (rc == -EINVAL)
    return twi_parser_error(p, i + 1, "invalid timestamp \"%.*s\"", qlen(e - i), s + i);
  /* INT64_MIN is TOWER_TIME_UNSET, so it is out of range too. */
  if (rc || __builtin_mul_overflow(ts, st->precision, &ts) || ts == INT64_MIN)
    return twi_parser_error(p, i + 1, "timestamp \"%.*s\" out of range", qlen(e - i), s + i);
  e = skip_spaces(s, e, L->len);
  if (e < L->len)
    return twi_parser_error(p, e + 1, "unexpected text after timestamp");
  L->time = ts;
  return 0;
}

static int scan_line(tower_parser *p, lp_state *st, lp_line *L, size_t i) {
  int rc;
  if ((rc = scan_name(p, L, &i)) || (rc = scan_tags(p, st, L, &i)))
    return rc;
  i = skip_spaces(L->s, i, L->len);
  if (i == L->len)
    return twi_parser_error(p, i + 1, "missing fields");
  if ((rc = scan_fields(p, st, L, &i)))
    return rc;
  return scan_time(p, st, L, i);
}

/* strcmp's order of two keys (no NUL in them): a before b. Eight bytes at
 * a time while both keys have them (byte-swapped, a word compares as its
 * bytes in order). */
static inline bool key_before(const char *s, const lp_tok *a, const lp_tok *b) {
  const unsigned char *x = (const unsigned char *)s + a->k, *y = (const unsigned char *)s + b->k;
  size_t n = a->klen < b->klen ? a->klen : b->klen, i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for (; i + 8 <= n; i += 8) {
    uint64_t p, q;
    memcpy(&p, x + i, sizeof p);
    memcpy(&q, y + i, sizeof q);
    if (p != q)
      return __builtin_bswap64(p) < __builtin_bswap64(q);
  }
#endif
  while (i < n && x[i] == y[i])
    i++;
  return i < n ? x[i] < y[i] : a->klen < b->klen;
}

/* Keys t[0..n) strictly ascending: no sorting or duplicate to resolve. */
static bool keys_ascending(const char *s, const lp_tok *t, size_t n) {
  for (size_t i = 1; i < n; i++)
    if (!key_before(s, &t[i - 1], &t[i]))
      return false;
  return true;
}

/* ---- the fast path ---------------------------------------------------- */

/* Most lines hold plain tokens: no backslash, quote or NUL, and numeric or
 * boolean fields. fast_scan() reads such a line by jumping from stop byte to
 * stop byte (the bytes that can end or change a token: space , = \ " NUL),
 * found 64 bytes at a time by SIMD compares (SSE2, or AVX2 where the CPU has
 * it) and a count of trailing zeros, and checks each stop against the one
 * separator the grammar allows there.
 * The ordinary bytes between stops are never visited one by one, and the
 * order of the keys is checked on the way.
 *
 * It never reports anything: on any other stop (an escape, a string field),
 * any error, or anything unusual it returns false, and scan_line() scans
 * the line again from the start, taking every case and reporting errors. So
 * it must accept only lines that scan_line() reads, and read them the same;
 * tests/unit/test_lp_roundtrip.c compares the two over the fuzz corpus and
 * generated lines. */

/* Bit i: s[at + i] is a stop byte, for n <= 64 bytes of a line of len. */
#ifdef __SSE2__
static unsigned stops16(const char *s) {
  __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
  __m128i a =
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(v, _mm_set1_epi8(',')));
  __m128i b =
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('=')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
  __m128i c =
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_setzero_si128()));
  return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), c));
}

static uint64_t stops_sse2(const char *s, size_t len, size_t at, size_t n) {
  size_t j = 0;
  uint64_t m = 0;
  for (; j + 16 <= n; j += 16)
    m |= (uint64_t)stops16(s + at + j) << j;
  if (j == n)
    return m;
  size_t r = n - j; /* the last r < 16 bytes, without reading past len */
  if (len >= 16)
    return m | (uint64_t)(stops16(s + len - 16) >> (16 - r)) << j;
  char tmp[16] = {0};
  memcpy(tmp, s + at + j, r);
  return m | (uint64_t)(stops16(tmp) & ((1u << r) - 1)) << j;
}
#else
static uint64_t stops_sse2(const char *s, size_t len, size_t at, size_t n) {
  (void)len;
  uint64_t m = 0;
  for (size_t j = 0; j < n; j++)
    m |= (uint64_t)(class_of(s[at + j]) != 0) << j;
  return m;
}
#endif

/* Classifies the 64-byte block of the line at blk. */
static uint64_t classify_block(const char *s, size_t len, size_t blk) {
  return stops_sse2(s, len, blk, len - blk < 64 ? len - blk : 64);
}

#ifdef HAVE_AVX2_DISPATCH
/* The same with AVX2, 32 bytes at a time, for lines of 32 bytes or more
 * (shorter ones take the SSE2 code); chosen at run time (parser init). A
 * byte is looked up by its low and its high nibble in two 16-entry tables
 * whose bits name the stop bytes (NUL 0x00, space 0x20, '"' 0x22, ','
 * 0x2c, '=' 0x3d, '\' 0x5c); it is a stop when the two lookups share a bit.
 * Bytes from 0x80 look up 0 in the high table. */
#define LO_TABLE 0x03, 0, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x24, 0x10, 0, 0
#define HI_TABLE 0x01, 0, 0x0e, 0x10, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0

__attribute__((target("avx2"))) static inline uint32_t stops32(const char *at) {
  const __m256i lo = _mm256_setr_epi8(LO_TABLE, LO_TABLE),
                hi = _mm256_setr_epi8(HI_TABLE, HI_TABLE);
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)at);
  __m256i c =
      _mm256_and_si256(_mm256_shuffle_epi8(lo, _mm256_and_si256(v, nibble)),
                       _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble)));
  return ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(c, _mm256_setzero_si256()));
}

__attribute__((target("avx2"))) static uint64_t classify_block_avx2(const char *s, size_t len,
                                                                    size_t blk) {
  size_t n = len - blk;
  if (n >= 64)
    return (uint64_t)stops32(s + blk) | (uint64_t)stops32(s + blk + 32) << 32;
  if (len < 32)
    return classify_block(s, len, blk);
  /* the line's last 32 bytes hold its end; below them, a full 32 if n > 32 */
  uint64_t end = (uint64_t)stops32(s + len - 32) << 32 >> (64 - n);
  return n > 32 ? end | stops32(s + blk) : end;
}
#endif

static classify_fn choose_classifier(void) {
#ifdef HAVE_AVX2_DISPATCH
  if (__builtin_cpu_supports("avx2"))
    return classify_block_avx2;
#endif
  return classify_block;
}

/* The stops of a line, in order. */
typedef struct stop_iter {
  classify_fn classify;
  const char *s;
  size_t len;
  size_t blk; /* start of the 64-byte block that `w` maps */
  uint64_t w; /* its stops not taken yet */
} stop_iter;

/* Takes the next stop: its position, or len at the end of the line. */
static inline size_t stop_next(stop_iter *it) {
  while (!it->w) {
    if (it->blk + 64 >= it->len)
      return it->len;
    it->blk += 64;
    it->w = it->classify(it->s, it->len, it->blk);
  }
  size_t at = it->blk + (size_t)__builtin_ctzll(it->w);
  it->w &= it->w - 1;
  return at;
}

/* Takes the spaces at *pos (a stop each), moving *pos past them; returns
 * the stop that ends the token then at *pos. */
static inline size_t skip_space_stops(stop_iter *it, size_t *pos) {
  size_t e;
  while ((e = stop_next(it)) == *pos && e < it->len && it->s[e] == ' ')
    (*pos)++;
  return e;
}

/* A field value s[v..v+n), n > 0, without stops: a number or a boolean as
 * scan_value() reads them. */
static bool fast_value(lp_tok *t, const char *s, size_t v, size_t n) {
  char c = s[v], last = s[v + n - 1];
  t->v = t->vlen = 0;
  if (c == '-' || c == '.' || (c >= '0' && c <= '9')) {
    if (last == 'i') {
      int64_t x;
      t->type = TOWER_FIELD_INT;
      if (twi_parse_int64_inline(s + v, n - 1, &x))
        return false;
      t->raw = (uint64_t)x;
      return true;
    }
    if (last == 'u') {
      t->type = TOWER_FIELD_UINT;
      return twi_parse_uint64_inline(s + v, n - 1, &t->raw) == 0;
    }
    double d;
    t->type = TOWER_FIELD_FLOAT;
    if (twi_parse_double_inline(s + v, n, &d))
      return false;
    memcpy(&t->raw, &d, sizeof d);
    return true;
  }
  int b = bool_word(s + v, n);
  t->type = TOWER_FIELD_BOOL;
  t->raw = (uint64_t)b;
  return b >= 0;
}

/* The optional timestamp and trailing spaces after the space at e. */
static bool fast_time(stop_iter *it, const lp_state *st, lp_line *L, size_t e) {
  const char *s = L->s;
  size_t pos = e + 1;
  e = skip_space_stops(it, &pos);
  if (pos == L->len)
    return true;
  if (e < L->len && s[e] != ' ')
    return false;
  int64_t ts;
  if (twi_parse_int64_inline(s + pos, e - pos, &ts) ||
      __builtin_mul_overflow(ts, st->precision, &ts) || ts == INT64_MIN)
    return false;
  L->time = ts;
  if (e == L->len)
    return true;
  pos = e + 1;
  skip_space_stops(it, &pos);
  return pos == L->len;
}

/* Tags ",k=v" while the stop at *pe is a ','; *pe: the stop after them. */
static bool fast_tags(stop_iter *it, lp_state *st, lp_line *L, size_t *pe) {
  const char *s = L->s;
  size_t e = *pe;
  while (s[e] == ',') {
    size_t k = e + 1, ke = stop_next(it);
    if (ke == k || ke == L->len || s[ke] != '=')
      return false;
    size_t v = ke + 1;
    e = stop_next(it);
    if (e == v || e == L->len) /* the loop and the caller check the stop */
      return false;
    lp_tok *t = L->ntags < MAX_ITEMS ? tok_at(st, L->ntags) : NULL;
    if (!t)
      return false;
    *t = (lp_tok){
        .k = (uint32_t)k, .klen = (uint32_t)(ke - k), .v = (uint32_t)v, .vlen = (uint32_t)(e - v)};
    if (L->ntags > 0 && !key_before(s, t - 1, t))
      L->ordered = false;
    L->str_bytes += t->klen + t->vlen + 2;
    L->ntags++;
  }
  *pe = e;
  return true;
}

/* Fields "k=v[,k=v...]" from pos, whose key ends at the stop e; *pe: the
 * stop after the last value (a space or the end). */
static bool fast_fields(stop_iter *it, lp_state *st, lp_line *L, size_t pos, size_t *pe) {
  const char *s = L->s;
  size_t e = *pe;
  for (;;) {
    size_t k = pos, ke = e;
    if (ke == k || ke == L->len || s[ke] != '=')
      return false;
    size_t v = ke + 1;
    e = stop_next(it);
    if (e == v || (e < L->len && s[e] != ',' && s[e] != ' '))
      return false;
    lp_tok *t = L->nfields < MAX_ITEMS ? tok_at(st, L->ntags + L->nfields) : NULL;
    if (!t)
      return false;
    t->k = (uint32_t)k;
    t->klen = (uint32_t)(ke - k);
    t->kesc = t->vesc = 0;
    if (!fast_value(t, s, v, e - v))
      return false;
    if (L->nfields > 0 && !key_before(s, t - 1, t))
      L->ordered = false;
    L->str_bytes += t->klen + 1;
    L->nfields++;
    if (e == L->len || s[e] == ' ')
      break;
    pos = e + 1;
    e = stop_next(it);
  }
  *pe = e;
  return true;
}

/* Scans a plain line from s[i] (after leading white space) into L and the
 * token table; false: not a plain line, or not valid. */
static bool fast_scan(lp_state *st, lp_line *L, size_t i) {
  const char *s = L->s;
  if (i >= 64)
    return false; /* that much indentation: the general scanner */
  stop_iter it = {st->classify, s, L->len, 0, st->classify(s, L->len, 0) & (~0ull << i)};
  size_t e = stop_next(&it);
  while (e < L->len && s[e] == '=') /* ordinary in a measurement */
    e = stop_next(&it);
  if (e == i || e == L->len)
    return false;
  L->name = i;
  L->name_len = e - i;
  L->ordered = true;
  if (!fast_tags(&it, st, L, &e) || s[e] != ' ')
    return false;
  size_t pos = e + 1;
  e = skip_space_stops(&it, &pos);
  if (pos == L->len || !fast_fields(&it, st, L, pos, &e))
    return false;
  return e == L->len || fast_time(&it, st, L, e);
}

/* Scans the line from s[i] into L and the token table: the fast path when
 * it takes the line, else the general scanner, which reports errors. */
static int scan(tower_parser *p, lp_state *st, lp_line *L, size_t i) {
  const lp_line fresh = *L;
  if (!p->general_only && fast_scan(st, L, i))
    return 0;
  *L = fresh;
  int rc = scan_line(p, st, L, i);
  if (!rc)
    L->ordered = !L->any_esc && keys_ascending(L->s, st->tok, L->ntags) &&
                 keys_ascending(L->s, st->tok + L->ntags, L->nfields);
  return rc;
}

/* ---- building --------------------------------------------------------- */

/* Copies a key, tag value or measurement without its escapes. */
static size_t unescape(char *dst, const char *s, size_t n, unsigned stop) {
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\' && i + 1 < n && (class_of(s[i + 1]) & stop))
      i++;
    dst[j++] = s[i];
  }
  return j;
}

static size_t unescape_string(char *dst, const char *s, size_t n) {
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\'))
      i++;
    dst[j++] = s[i];
  }
  return j;
}

/* Room for any two unescaped tokens of the line (together at most len). */
static char *scratch_for(lp_state *st, const lp_line *L, char *stack, size_t stack_size) {
  if (!L->any_esc || L->len <= stack_size)
    return stack;
  if (st->scratch_cap < L->len) {
    char *s = realloc(st->scratch, L->len);
    if (!s)
      return NULL;
    st->scratch = s;
    st->scratch_cap = L->len;
  }
  return st->scratch;
}

static int add_tag(tower_metric *m, const lp_line *L, const lp_tok *t, char *buf) {
  const char *k = L->s + t->k, *v = L->s + t->v;
  size_t klen = t->klen, vlen = t->vlen;
  if (t->kesc) {
    klen = unescape(buf, k, klen, STOP_KEY);
    k = buf;
  }
  if (t->vesc) {
    vlen = unescape(buf + klen, v, vlen, STOP_KEY);
    v = buf + klen;
  }
  return tower_metric_add_tag_n(m, k, klen, v, vlen);
}

static int add_field(tower_metric *m, const lp_line *L, const lp_tok *t, char *buf) {
  const char *k = L->s + t->k;
  size_t klen = t->klen;
  if (t->kesc) {
    klen = unescape(buf, k, klen, STOP_KEY);
    k = buf;
  }
  if (t->type != TOWER_FIELD_STRING)
    return twi_metric_add_field_n(m, k, klen, (tower_field_type)t->type, t->raw);
  const char *v = L->s + t->v;
  size_t vlen = t->vlen;
  if (t->vesc) {
    vlen = unescape_string(buf + klen, v, vlen);
    v = buf + klen;
  }
  return tower_metric_add_string_n(m, k, klen, v, vlen);
}

static tower_metric *new_metric(const lp_line *L, char *buf) {
  const char *name = L->s + L->name;
  size_t nlen = L->name_len;
  if (L->name_esc) {
    nlen = unescape(buf, name, nlen, STOP_NAME);
    name = buf;
  }
  return twi_metric_new_sized(name, nlen, L->time, L->ntags, L->nfields, L->str_bytes);
}

static void append_fields(tower_metric *m, const lp_state *st, const lp_line *L) {
  const lp_tok *t = st->tok;
  for (size_t i = L->ntags; i < L->ntags + L->nfields; i++)
    twi_metric_append_field(m, L->s + t[i].k, t[i].klen, (tower_field_type)t[i].type, t[i].raw,
                            L->s + t[i].v, t[i].vlen);
}

/* An ordered line whose head is not contiguous: tag by tag. */
static tower_metric *build_tag_by_tag(const lp_state *st, const lp_line *L) {
  const lp_tok *t = st->tok;
  tower_metric *m = twi_metric_new_sized(L->s + L->name, L->name_len, L->time, L->ntags, L->nfields,
                                         L->str_bytes);
  if (!m)
    return NULL;
  for (size_t i = 0; i < L->ntags; i++)
    twi_metric_append_tag(m, L->s + t[i].k, t[i].klen, L->s + t[i].v, t[i].vlen);
  append_fields(m, st, L);
  return m;
}

/* The common line: nothing escaped, tags and fields in order (Telegraf and
 * InfluxDB clients sort them). Appended as they are, with no search. */
static tower_metric *build_in_order(const lp_state *st, const lp_line *L) {
  const lp_tok *t = st->tok;
  if (!L->ordered)
    return NULL;
  /* The head, `name,k1=v1,...`, goes into the metric in one copy when it
   * is exactly that: one separator byte between the tokens. */
  size_t head = L->name, head_len = L->name_len, want = L->name_len;
  for (size_t i = 0; i < L->ntags; i++)
    want += t[i].klen + t[i].vlen + 2;
  if (L->ntags)
    head_len = t[L->ntags - 1].v + t[L->ntags - 1].vlen - head;
  if (head_len != want)
    return build_tag_by_tag(st, L);
  tower_metric *m = twi_metric_new_head(L->s + head, head_len, L->name_len, L->time, L->ntags,
                                        L->nfields, L->str_bytes);
  if (!m)
    return NULL;
  for (size_t i = 0; i < L->ntags; i++)
    twi_metric_append_tag_at(m, t[i].k - head, t[i].klen, t[i].v - head, t[i].vlen);
  append_fields(m, st, L);
  return m;
}

static int build(tower_parser *p, lp_state *st, const lp_line *L) {
  if (L->name_len + 1 + L->str_bytes > MAX_STR_BYTES)
    return twi_parser_error(p, 0, "line holds more than %u bytes of names and values",
                            MAX_STR_BYTES);
  tower_metric *fast = build_in_order(st, L);
  if (fast)
    return twi_parser_emit(p, fast);
  char stack[512];
  char *buf = scratch_for(st, L, stack, sizeof stack);
  tower_metric *m = buf ? new_metric(L, buf) : NULL;
  if (!m)
    return oom(p);
  int rc = 0;
  for (size_t i = 0; i < L->ntags && !rc; i++)
    rc = add_tag(m, L, &st->tok[i], buf);
  for (size_t i = L->ntags; i < L->ntags + L->nfields && !rc; i++)
    rc = add_field(m, L, &st->tok[i], buf);
  if (rc) {
    /* Cannot happen with the sizes computed above; never emit half a line. */
    tower_metric_free(m);
    return rc == -ENOMEM ? oom(p) : twi_parser_error(p, 0, "cannot build the metric (%d)", rc);
  }
  return twi_parser_emit(p, m);
}

static void trim_state(lp_state *st) {
  if (st->tok_cap > KEEP_TOKS) {
    free(st->tok);
    st->tok = NULL;
    st->tok_cap = 0;
  }
  if (st->scratch_cap > KEEP_SCRATCH) {
    free(st->scratch);
    st->scratch = NULL;
    st->scratch_cap = 0;
  }
}

int twi_influx_parse_line(tower_parser *p, const char *line, size_t len) {
  size_t i = 0;
  while (i < len && (line[i] == ' ' || line[i] == '\t'))
    i++;
  if (i == len || line[i] == '#')
    return 0;
  if (len > MAX_STR_BYTES)
    return twi_parser_error(p, 0, "line longer than %u bytes", MAX_STR_BYTES);
  lp_line L = {.s = line, .len = len, .time = TOWER_TIME_UNSET};
  lp_state *st = p->state;
  int rc = scan(p, st, &L, i);
  if (!rc)
    rc = build(p, st, &L);
  if (st->tok_cap > KEEP_TOKS || st->scratch_cap > KEEP_SCRATCH)
    trim_state(st);
  return rc;
}
