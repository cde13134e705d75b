/* libconfig's scanner, rule for rule (scanner.l of libconfig 1.5). Flex
 * takes the longest match, and the first rule among equals; so does this.
 *
 *   name      [A-Za-z\*][-A-Za-z0-9_\*]*      true/false: [Tt][Rr][Uu][Ee]...
 *   integer   [-+]?[0-9]+L?L?                 hex  0[Xx][0-9A-Fa-f]+L?L?
 *   float     [-+]?[0-9]*\.[0-9]*([eE][-+]?[0-9]+)? | [-+]?[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+
 *   comment   (#|\/\/).*$ (the $ wants a newline)   and   \/\* ... \*\/
 *   include   ^[ \t]*@include[ \t]+\"  then the name, \\ and \" escaped
 *   string    \" ... \"  with \n \r \t \f \\ \" \xNN; any other \ is kept
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_lex.h"

#define DIGITS "0123456789"
#define HEXDIGITS "0123456789abcdefABCDEF"
#define LETTERS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

void twi_lex_init(twi_lexer *lx, const char *text, size_t len) {
  memset(lx, 0, sizeof *lx);
  lx->p = text;
  lx->end = text + len;
  lx->line = 1;
  lx->bol = true;
}

static size_t span(const char *p, const char *end, const char *set) {
  size_t n = 0;
  while (p + n < end && p[n] && strchr(set, p[n]))
    n++;
  return n;
}

static unsigned count_lines(const char *from, const char *to) {
  unsigned n = 0;
  for (const char *p = from; p < to; p++)
    n += *p == '\n';
  return n;
}

/* ---- numbers ------------------------------------------------------------ */

/* [eE][-+]?[0-9]+ at p, or 0. */
static size_t exponent(const char *p, const char *end) {
  if (p >= end || (*p != 'e' && *p != 'E'))
    return 0;
  size_t sign = p + 1 < end && (p[1] == '-' || p[1] == '+');
  size_t d = span(p + 1 + sign, end, DIGITS);
  return d ? 1 + sign + d : 0;
}

/* Length of libconfig's float token at p, or 0. */
static size_t float_len(const char *p, const char *end) {
  size_t sign = *p == '-' || *p == '+';
  size_t d = span(p + sign, end, DIGITS);
  const char *q = p + sign + d;
  size_t frac = q < end && *q == '.' ? 1 + span(q + 1, end, DIGITS) : 0;
  size_t e = exponent(q + frac, end);
  if (frac)
    return sign + d + frac + e;
  return d && e ? sign + d + e : 0;
}

/* "L" or "LL" after an integer (libconfig's 64-bit marker). */
static size_t l_suffix(const char *p, const char *end) {
  return p < end && *p == 'L' ? 1 + (p + 1 < end && p[1] == 'L') : 0;
}

/* The value of [-+]?[0-9]+ (sign + d digits at p); false beyond int64. */
static bool decimal_value(const char *p, size_t sign, size_t d, int64_t *out) {
  size_t zeros = span(p + sign, p + sign + d, "0");
  if (d - zeros > 19) /* more digits than any int64 */
    return false;
  if (zeros == d) {
    *out = 0;
    return true;
  }
  char buf[24];
  snprintf(buf, sizeof buf, "%.*s%.*s", (int)sign, p, (int)(d - zeros), p + sign + zeros);
  errno = 0;
  *out = strtoll(buf, NULL, 10);
  return errno != ERANGE;
}

/* The value of h hex digits at p; false beyond int64. */
static bool hex_value(const char *p, size_t h, int64_t *out) {
  size_t zeros = span(p, p + h, "0");
  if (h - zeros > 16)
    return false;
  char buf[17];
  snprintf(buf, sizeof buf, "%.*s", (int)(h - zeros), p + zeros);
  uint64_t u = zeros == h ? 0 : strtoull(buf, NULL, 16);
  *out = (int64_t)(u & INT64_MAX);
  return u <= INT64_MAX;
}

/* A number at p (decimal, hex, float), or one character of garbage ("-"). */
static void lex_number(twi_lexer *lx, twi_tok *t) {
  const char *p = lx->p, *end = lx->end;
  size_t flen = float_len(p, end);
  size_t sign = *p == '-' || *p == '+';
  size_t d = span(p + sign, end, DIGITS);
  size_t ilen = d ? sign + d + l_suffix(p + sign + d, end) : 0;
  bool hex = !sign && d == 1 && *p == '0' && p + 1 < end && (p[1] == 'x' || p[1] == 'X');
  size_t h = hex ? span(p + 2, end, HEXDIGITS) : 0;
  size_t hlen = h ? 2 + h + l_suffix(p + 2 + h, end) : 0;
  if (flen >= ilen && flen >= hlen) {
    t->kind = flen ? TWI_TOK_FLOAT : TWI_TOK_GARBAGE;
    t->len = flen ? flen : 1;
    return;
  }
  t->kind = TWI_TOK_INT;
  bool fits = hlen > ilen ? hex_value(p + 2, h, &t->value) : decimal_value(p, sign, d, &t->value);
  t->overflow = !fits;
  t->len = hlen > ilen ? hlen : ilen;
}

/* ---- strings and includes ----------------------------------------------- */

static bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string from its opening quote through the closing one (or the end). */
static void lex_string(twi_lexer *lx, twi_tok *t) {
  const char *p = lx->p, *end = lx->end, *q = p + 1;
  t->kind = TWI_TOK_STRING;
  while (q < end && *q != '"') {
    if (*q != '\\') {
      q++;
    } else if (q + 3 < end && (q[1] == 'x' || q[1] == 'X') && is_hex(q[2]) && is_hex(q[3])) {
      if (q[2] == '0' && q[3] == '0' && !t->nul_line)
        t->nul_line = lx->line + count_lines(p, q);
      q += 4;
    } else {
      /* \n \r \t \f \\ \" are two characters; any other backslash is
       * one, kept as it is */
      q += q + 1 < end && strchr("nrtf\\\"", q[1]) ? 2 : 1;
    }
  }
  t->unterminated = q >= end;
  t->len = (size_t)(q < end ? q + 1 - p : end - p);
}

/* At the start of a line: the length of ^[ \t]*@include[ \t]+" or 0. */
static size_t include_prefix(const char *p, const char *end) {
  static const char directive[] = "@include";
  size_t dl = sizeof directive - 1;
  size_t lead = span(p, end, " \t");
  if ((size_t)(end - p - lead) < dl || memcmp(p + lead, directive, dl) != 0)
    return 0;
  size_t ws = span(p + lead + dl, end, " \t");
  if (!ws || p + lead + dl + ws >= end || p[lead + dl + ws] != '"')
    return 0;
  return lead + dl + ws + 1;
}

/* An include from the start of its line: the quoted name, decoded. */
static void lex_include(twi_lexer *lx, twi_tok *t, size_t prefix) {
  const char *p = lx->p, *end = lx->end, *q = p + prefix;
  t->kind = TWI_TOK_INCLUDE;
  size_t n = 0;
  for (; q < end && *q != '"'; q++) {
    if (*q == '\\' && q + 1 < end && (q[1] == '\\' || q[1] == '"'))
      q++;
    else if (*q == '\\')
      continue; /* no rule of libconfig's takes it: flex drops it */
    if (n == TWI_LEX_MAX_INCLUDE) {
      t->too_long = true;
      continue;
    }
    lx->include[n++] = *q;
  }
  lx->include[n] = '\0';
  t->unterminated = q >= end;
  t->len = (size_t)(q < end ? q + 1 - p : end - p);
}

/* ---- the scanner -------------------------------------------------------- */

/* Skips white space and comments up to the next token, or to the start of
 * an @include line; false at the end. */
static bool skip_blank(twi_lexer *lx) {
  while (lx->p < lx->end) {
    const char *p = lx->p, *end = lx->end;
    size_t n = 0;
    if (lx->bol && include_prefix(p, end)) {
      return true;
    } else if (*p && strchr(" \t\r\f\n", *p)) {
      n = 1;
    } else if (*p == '#' || (*p == '/' && p + 1 < end && p[1] == '/')) {
      /* (#|\/\/).*$ : flex's $ wants a newline, so a comment on a last
       * line without one is no comment but garbage */
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      if (!nl)
        return true;
      n = (size_t)(nl - p);
    } else if (*p == '/' && p + 1 < end && p[1] == '*') {
      const char *close = memmem(p + 2, (size_t)(end - p - 2), "*/", 2);
      if (!close && !lx->open_comment_line)
        lx->open_comment_line = lx->line;
      n = close ? (size_t)(close + 2 - p) : (size_t)(end - p);
    } else {
      return true;
    }
    /* only a lone newline leaves flex at the start of a line */
    lx->bol = n == 1 && *p == '\n';
    lx->line += count_lines(p, p + n);
    lx->p += n;
  }
  return false;
}

static bool is_bool(const char *p, size_t n) {
  return (n == 4 && strncasecmp(p, "true", 4) == 0) || (n == 5 && strncasecmp(p, "false", 5) == 0);
}

twi_tok_kind twi_lex_next(twi_lexer *lx, twi_tok *t) {
  memset(t, 0, sizeof *t);
  bool more = skip_blank(lx);
  const char *p = lx->p;
  t->text = p;
  t->line = lx->line;
  if (!more)
    return t->kind = TWI_TOK_END;
  size_t prefix = lx->bol ? include_prefix(p, lx->end) : 0;
  char c = *p;
  if (prefix) {
    lex_include(lx, t, prefix); /* the file's text comes here; the line goes on after it */
  } else if (c == '"') {
    lex_string(lx, t);
  } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '*') {
    t->len = 1 + span(p + 1, lx->end, "-_*" DIGITS LETTERS);
    t->kind = is_bool(p, t->len) ? TWI_TOK_BOOL : TWI_TOK_NAME;
  } else if (c && strchr("+-." DIGITS, c)) {
    lex_number(lx, t);
  } else {
    t->kind = c && strchr("=:,;{}[]()", c) ? TWI_TOK_PUNCT : TWI_TOK_GARBAGE;
    t->len = 1;
  }
  lx->bol = false;
  lx->line += count_lines(p, p + t->len);
  lx->p += t->len;
  return t->kind;
}
