/* JSON tokenizer: validates a document in one pass and records its values
 * as a tape of tokens (format_json.h), so that the parser can flatten
 * objects, follow json_query and point at any value without a DOM.
 *
 * It accepts exactly what Go's encoding/json accepts (RFC 8259): the four
 * JSON white space characters, no comments, no trailing commas, numbers
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, strings without raw
 * control characters and with the escapes \" \\ \/ \b \f \n \r \t \uXXXX.
 * Like Go it lets strings hold bytes that are not UTF-8 and lone
 * surrogates (decoding turns them into U+FFFD), nests at most 10000 deep,
 * and refuses numbers beyond the range of float64 (Go's Unmarshal fails on
 * them). Errors use Go's wording ("invalid character 'x' after object
 * key") and the offset of the offending byte.
 *
 * Strings are scanned 16 bytes at a time with SSE2 where available. A
 * document is limited to 4 GiB by the 32-bit offsets (the framework bounds
 * documents far below that).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "format_json.h"
#include "numfmt.h"

#define KEEP_TOKS 65536 /* a tape larger than this is freed after the document */

/* ---- errors ----------------------------------------------------------- */

/* Go's quoteChar: 'x' for printable ASCII, else an escape. */
static void quote_char(char out[12], unsigned char c) {
  if (c == '\'')
    snprintf(out, 12, "'\\''");
  else if (c == '"')
    snprintf(out, 12, "'\"'");
  else if (c >= 0x20 && c < 0x7f)
    snprintf(out, 12, "'%c'", c);
  else
    snprintf(out, 12, "'\\x%02x'", c);
}

static int fail(twi_jlex *lx, const char *s, size_t n, size_t at, const char *context) {
  char q[12];
  lx->err_at = at;
  if (at >= n) {
    snprintf(lx->err, sizeof lx->err, "unexpected end of JSON input");
  } else {
    quote_char(q, (unsigned char)s[at]);
    snprintf(lx->err, sizeof lx->err, "invalid character %s %s", q, context);
  }
  return -EINVAL;
}

/* ---- the tape --------------------------------------------------------- */

static int push(twi_jlex *lx, uint8_t type, size_t start, size_t len, uint8_t flags) {
  if (lx->ntok == lx->cap) {
    size_t cap = lx->cap ? lx->cap * 2 : 256;
    twi_jtok *t = realloc(lx->tok, cap * sizeof *t);
    if (!t)
      return -ENOMEM;
    lx->tok = t;
    lx->cap = cap;
  }
  lx->tok[lx->ntok++] = (twi_jtok){(uint32_t)start, (uint32_t)len, type, flags};
  return 0;
}

void twi_jlex_release(twi_jlex *lx, bool all) {
  if (all || lx->cap > KEEP_TOKS) {
    free(lx->tok);
    lx->tok = NULL;
    lx->cap = 0;
  }
  if (all || lx->stack_cap > KEEP_TOKS) {
    free(lx->stack);
    lx->stack = NULL;
    lx->stack_cap = 0;
  }
  lx->ntok = 0;
}

/* ---- scanning --------------------------------------------------------- */

static size_t skip_ws(const char *s, size_t n, size_t i) {
  while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
    i++;
  return i;
}

static bool is_hex(char c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

size_t twi_utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0], lo = 0x80, hi = 0xbf;
  if (c < 0x80)
    return 1;
  size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
  if (c < 0xc2 || c > 0xf4 || n < len)
    return 0;
  /* the second byte's range rules out overlong forms, surrogates (ED A0..)
   * and code points above U+10FFFF */
  if (c == 0xe0)
    lo = 0xa0;
  else if (c == 0xed)
    hi = 0x9f;
  else if (c == 0xf0)
    lo = 0x90;
  else if (c == 0xf4)
    hi = 0x8f;
  if (s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < len; i++)
    if ((s[i] & 0xc0) != 0x80)
      return 0;
  return len;
}

/* First byte at or after i that is '"', '\\', a control character or not
 * ASCII. */
static size_t skip_plain(const char *s, size_t n, size_t i) {
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"'), bsl = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    /* signed compare: bytes >= 0x80 are negative, so below 0x20 too */
    __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bsl)),
                             _mm_cmplt_epi8(v, space));
    unsigned bits = (unsigned)_mm_movemask_epi8(m);
    if (bits)
      return i + (size_t)__builtin_ctz(bits);
  }
#endif
  while (i < n && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x80 && s[i] != '"' &&
         s[i] != '\\')
    i++;
  return i;
}

/* An escape at s[i] ('\\'); returns its end or 0 after reporting. */
static size_t scan_escape(twi_jlex *lx, const char *s, size_t n, size_t i) {
  if (i + 1 >= n)
    return fail(lx, s, n, n, ""), 0;
  char e = s[i + 1];
  if (strchr("\"\\/bfnrt", e) && e)
    return i + 2;
  if (e != 'u')
    return fail(lx, s, n, i + 1, "in string escape code"), 0;
  for (size_t k = i + 2; k < i + 6; k++)
    if (k >= n || !is_hex(s[k]))
      return fail(lx, s, n, k, "in \\u hexadecimal character escape"), 0;
  return i + 6;
}

/* The string whose opening quote is at s[*i]. */
static int scan_string(twi_jlex *lx, const char *s, size_t n, size_t *i) {
  size_t start = *i + 1, p = start;
  uint8_t flags = 0;
  for (;;) {
    p = skip_plain(s, n, p);
    if (p >= n)
      return fail(lx, s, n, n, "");
    unsigned char c = (unsigned char)s[p];
    if (c == '"')
      break;
    if (c == '\\') {
      flags |= TWI_J_ESC;
      if (!(p = scan_escape(lx, s, n, p)))
        return -EINVAL;
    } else if (c < 0x20) {
      return fail(lx, s, n, p, "in string literal");
    } else {
      size_t k = twi_utf8_len((const unsigned char *)s + p, n - p);
      flags |= k ? 0 : TWI_J_ESC; /* invalid bytes become U+FFFD */
      p += k ? k : 1;
    }
  }
  *i = p + 1;
  return push(lx, TWI_J_STR, start, p - start, flags);
}

static size_t digits(const char *s, size_t n, size_t i) {
  while (i < n && s[i] >= '0' && s[i] <= '9')
    i++;
  return i;
}

/* Beyond DBL_MAX? Only numbers that may be (more than 300 decimal digits
 * before the point, counting the exponent) are converted to find out. */
static bool too_big(const char *s, size_t len, size_t int_digits, size_t exp_at) {
  long e = 0;
  if (exp_at) {
    size_t k = exp_at + (s[exp_at] == '+' || s[exp_at] == '-');
    for (; k < len && e < 100000; k++)
      e = e * 10 + (s[k] - '0');
    e = s[exp_at] == '-' ? -e : e;
  }
  if ((long)int_digits + e <= 300)
    return false;
  double d;
  return twi_parse_double(s + (s[0] == '-'), len - (s[0] == '-'), &d) == -ERANGE;
}

static int scan_number(twi_jlex *lx, const char *s, size_t n, size_t *i) {
  size_t start = *i, p = start + (s[start] == '-'), exp_at = 0;
  uint8_t flags = 0;
  if (p < n && s[p] == '0')
    p++;
  else if (p < n && s[p] >= '1' && s[p] <= '9')
    p = digits(s, n, p);
  else
    return fail(lx, s, n, p, "in numeric literal");
  size_t int_digits = p - start - (s[start] == '-');
  if (p < n && s[p] == '.') {
    flags = TWI_J_FRAC;
    if (++p >= n || s[p] < '0' || s[p] > '9')
      return fail(lx, s, n, p, "after decimal point in numeric literal");
    p = digits(s, n, p);
  }
  if (p < n && (s[p] == 'e' || s[p] == 'E')) {
    flags = TWI_J_FRAC;
    exp_at = ++p - start;
    p += p < n && (s[p] == '+' || s[p] == '-');
    if (p >= n || s[p] < '0' || s[p] > '9')
      return fail(lx, s, n, p, "in exponent of numeric literal");
    p = digits(s, n, p);
  }
  if (too_big(s + start, p - start, int_digits, exp_at)) {
    lx->err_at = start;
    snprintf(lx->err, sizeof lx->err, "number %.*s is out of the range of float64",
             (int)(p - start > 40 ? 40 : p - start), s + start);
    return -EINVAL;
  }
  *i = p;
  return push(lx, TWI_J_NUM, start, p - start, flags);
}

static int scan_literal(twi_jlex *lx, const char *s, size_t n, size_t *i) {
  static const struct {
    const char *word;
    uint8_t type;
  } lits[] = {{"true", TWI_J_TRUE}, {"false", TWI_J_FALSE}, {"null", TWI_J_NULL}};
  for (size_t k = 0; k < 3; k++) {
    if (s[*i] != lits[k].word[0])
      continue;
    size_t len = strlen(lits[k].word);
    for (size_t j = 1; j < len; j++)
      if (*i + j >= n || s[*i + j] != lits[k].word[j])
        return fail(lx, s, n, *i + j, "in literal (expecting a JSON value)");
    size_t start = *i;
    *i += len;
    return push(lx, lits[k].type, start, len, 0);
  }
  return fail(lx, s, n, *i, "looking for beginning of value");
}

/* ---- structure -------------------------------------------------------- */

/* An object key and its ':' at s[*i]. */
static int scan_key(twi_jlex *lx, const char *s, size_t n, size_t *i) {
  *i = skip_ws(s, n, *i);
  if (*i >= n || s[*i] != '"')
    return fail(lx, s, n, *i, "looking for beginning of object key string");
  int rc = scan_string(lx, s, n, i);
  if (rc)
    return rc;
  *i = skip_ws(s, n, *i);
  if (*i >= n || s[*i] != ':')
    return fail(lx, s, n, *i, "after object key");
  (*i)++;
  return 0;
}

/* Opens an object or array at s[*i]; an empty one is closed at once
 * (*closed). */
static int open_container(twi_jlex *lx, const char *s, size_t n, size_t *i, size_t *depth,
                          bool *closed) {
  bool obj = s[*i] == '{';
  if (*depth >= TWI_JSON_MAX_DEPTH) {
    lx->err_at = *i;
    snprintf(lx->err, sizeof lx->err, "exceeded max depth (%d)", TWI_JSON_MAX_DEPTH);
    return -EINVAL;
  }
  if (*depth == lx->stack_cap) {
    size_t cap = lx->stack_cap ? lx->stack_cap * 2 : 64;
    uint32_t *st = realloc(lx->stack, cap * sizeof *st);
    if (!st)
      return -ENOMEM;
    lx->stack = st;
    lx->stack_cap = cap;
  }
  int rc = push(lx, obj ? TWI_J_OBJ : TWI_J_ARR, *i, 0, 0);
  if (rc)
    return rc;
  lx->stack[(*depth)++] = (uint32_t)(lx->ntok - 1);
  *i = skip_ws(s, n, *i + 1);
  *closed = *i < n && s[*i] == (obj ? '}' : ']');
  if (*closed) {
    lx->tok[lx->ntok - 1].len = (uint32_t)lx->ntok;
    (*depth)--;
    (*i)++;
    return 0;
  }
  return obj ? scan_key(lx, s, n, i) : 0;
}

static int scan_value(twi_jlex *lx, const char *s, size_t n, size_t *i, size_t *depth, bool *done) {
  *i = skip_ws(s, n, *i);
  *done = true;
  if (*i >= n)
    return fail(lx, s, n, n, "");
  char c = s[*i];
  if (c == '{' || c == '[') {
    bool closed;
    int rc = open_container(lx, s, n, i, depth, &closed);
    *done = closed;
    return rc;
  }
  if (c == '"')
    return scan_string(lx, s, n, i);
  if (c == '-' || (c >= '0' && c <= '9'))
    return scan_number(lx, s, n, i);
  return scan_literal(lx, s, n, i);
}

/* After a value inside a container: ',' and the next member, or the
 * closing bracket. Sets *more when a value must follow. */
static int after_value(twi_jlex *lx, const char *s, size_t n, size_t *i, size_t *depth,
                       bool *more) {
  uint32_t top = lx->stack[*depth - 1];
  bool obj = lx->tok[top].type == TWI_J_OBJ;
  *i = skip_ws(s, n, *i);
  *more = false;
  if (*i < n && s[*i] == ',') {
    (*i)++;
    *more = true;
    return obj ? scan_key(lx, s, n, i) : 0;
  }
  if (*i < n && s[*i] == (obj ? '}' : ']')) {
    lx->tok[top].len = (uint32_t)lx->ntok;
    (*depth)--;
    (*i)++;
    return 0;
  }
  return fail(lx, s, n, *i, obj ? "after object key:value pair" : "after array element");
}

int twi_json_lex(twi_jlex *lx, const char *s, size_t n) {
  size_t i = 0, depth = 0;
  lx->ntok = 0;
  lx->err[0] = '\0';
  if (n >= UINT32_MAX)
    return -E2BIG;
  bool need_value = true;
  for (;;) {
    int rc = 0;
    if (need_value) {
      bool done;
      rc = scan_value(lx, s, n, &i, &depth, &done);
      need_value = !done;
    } else if (depth > 0) {
      rc = after_value(lx, s, n, &i, &depth, &need_value);
    } else {
      i = skip_ws(s, n, i);
      return i < n ? fail(lx, s, n, i, "after top-level value") : 0;
    }
    if (rc)
      return rc;
  }
}

/* ---- strings ---------------------------------------------------------- */

static unsigned hex4(const char *s) {
  unsigned v = 0;
  for (int k = 0; k < 4; k++) {
    char c = s[k];
    v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

static char *put_utf8(char *d, unsigned cp) {
  if (cp < 0x80) {
    *d++ = (char)cp;
  } else if (cp < 0x800) {
    *d++ = (char)(0xc0 | cp >> 6);
    *d++ = (char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *d++ = (char)(0xe0 | cp >> 12);
    *d++ = (char)(0x80 | (cp >> 6 & 0x3f));
    *d++ = (char)(0x80 | (cp & 0x3f));
  } else {
    *d++ = (char)(0xf0 | cp >> 18);
    *d++ = (char)(0x80 | (cp >> 12 & 0x3f));
    *d++ = (char)(0x80 | (cp >> 6 & 0x3f));
    *d++ = (char)(0x80 | (cp & 0x3f));
  }
  return d;
}

/* \uXXXX at s[*i] (validated), with a following low surrogate when it
 * makes a pair; lone surrogates become U+FFFD, as Go decodes them. */
static char *put_u_escape(char *d, const char *s, size_t n, size_t *i) {
  unsigned cp = hex4(s + *i + 2);
  *i += 6;
  if (cp >= 0xd800 && cp < 0xe000) {
    unsigned lo = 0;
    if (cp < 0xdc00 && *i + 6 <= n && s[*i] == '\\' && s[*i + 1] == 'u')
      lo = hex4(s + *i + 2);
    if (lo >= 0xdc00 && lo < 0xe000) {
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      *i += 6;
    } else {
      cp = 0xfffd;
    }
  }
  return put_utf8(d, cp);
}

static char *put_escape(char *d, const char *s, size_t n, size_t *i) {
  static const char simple[128] = {['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
                                   ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t'};
  char e = s[*i + 1];
  if (e == 'u')
    return put_u_escape(d, s, n, i);
  *i += 2;
  *d++ = simple[e & 0x7f];
  return d;
}

size_t twi_json_decode(const char *s, size_t n, char *out) {
  char *d = out;
  size_t i = 0;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\\') {
      d = put_escape(d, s, n, &i);
    } else if (c < 0x80) {
      *d++ = (char)c;
      i++;
    } else {
      size_t k = twi_utf8_len((const unsigned char *)s + i, n - i);
      if (k == 0) {
        memcpy(d, "\xef\xbf\xbd", 3);
        d += 3;
        i++;
      } else {
        memcpy(d, s + i, k);
        d += k;
        i += k;
      }
    }
  }
  return (size_t)(d - out);
}
