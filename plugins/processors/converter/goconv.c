/* processors.converter: Telegraf's conversions (processors/converter and
 * internal/type_conversions.go) on Go's strconv rules, written from their
 * documentation. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goconv.h"

#define TWO63 9223372036854775808.0
#define TWO64 18446744073709551616.0

/* ---- reading strings ----------------------------------------------------- */

static int digit_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z')
    return c - 'A' + 10;
  return 99;
}

/* Go's integer syntax with base 0: optional sign, then 0x/0o/0b or a
 * leading 0 (octal) or decimal digits; '_' may separate digits and follow
 * the prefix. Returns 0 with the magnitude in *mag, -ERANGE when it is
 * beyond uint64 (*approx then holds it), -EINVAL for anything else. */
static int parse_int(const char *s, bool *neg, uint64_t *mag, double *approx) {
  *neg = *s == '-';
  if (*s == '-' || *s == '+')
    s++;
  unsigned base = 10;
  bool prefixed = false;
  if (s[0] == '0' && s[1]) {
    char p = (char)tolower((unsigned char)s[1]);
    base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 8;
    prefixed = p == 'x' || p == 'o' || p == 'b';
    s += prefixed ? 2 : 1;
  }
  uint64_t x = 0;
  double d = 0;
  bool over = false, any = false, under = prefixed; /* '_' allowed after a prefix */
  for (; *s; s++) {
    if (*s == '_') {
      if (!under)
        return -EINVAL;
      under = false;
      continue;
    }
    unsigned v = (unsigned)digit_value(*s);
    if (v >= base)
      return -EINVAL;
    over = over || __builtin_mul_overflow(x, base, &x) || __builtin_add_overflow(x, v, &x);
    d = d * base + v;
    any = under = true;
  }
  if (!any || !under) /* "0x", "1_" */
    return -EINVAL;
  *mag = x;
  *approx = *neg ? -d : d;
  return over ? -ERANGE : 0;
}

static bool hexadecimal(const char *s) {
  return strlen(s) >= 3 && (s[1] == 'x' || s[1] == 'X');
}

/* Go's ParseFloat: no surrounding space, the whole string, finite or an
 * explicit inf/nan; out of range is an error. */
static bool parse_float(const char *s, double *out) {
  if (!*s || isspace((unsigned char)*s) || strchr(s, '('))
    return false;
  if (strpbrk(s, "xX") && !strpbrk(s, "pP")) /* Go's hex floats need an exponent */
    return false;
  char *end;
  errno = 0;
  double d = strtod(s, &end);
  if (*end || (errno == ERANGE && isinf(d)))
    return false;
  *out = d;
  return true;
}

/* A string as a number: an integer (exact) or else a float. */
typedef struct {
  bool is_int, neg;
  uint64_t mag;
  double d;
} number;

static bool parse_number(const char *s, number *n) {
  int rc = parse_int(s, &n->neg, &n->mag, &n->d);
  n->is_int = rc == 0;
  if (rc == 0) {
    n->d = n->neg ? -(double)n->mag : (double)n->mag;
    return true;
  }
  if (rc == -ERANGE) /* beyond 64 bits: saturates below, unless beyond a double too, which
                       Go's ParseFloat refuses (a hex integer goes through big.Float: +-Inf) */
    return !isinf(n->d) || hexadecimal(s);
  return !hexadecimal(s) && parse_float(s, &n->d);
}

/* ---- to integers --------------------------------------------------------- */

static bool float_to_int(double d, int64_t *out) {
  if (isnan(d))
    return false;
  if (d < -TWO63)
    *out = INT64_MIN;
  else if (d >= TWO63)
    *out = INT64_MAX;
  else
    *out = (int64_t)round(d);
  return true;
}

static bool float_to_uint(double d, uint64_t *out) {
  if (isnan(d))
    return false;
  if (d < 0)
    *out = 0;
  else if (d >= TWO64)
    *out = UINT64_MAX;
  else
    *out = (uint64_t)round(d);
  return true;
}

bool go_to_int(const goval *in, int64_t *out) {
  number n;
  switch (in->type) {
  case GV_INT:
    *out = in->v.i;
    return true;
  case GV_UINT:
    *out = in->v.u > INT64_MAX ? INT64_MAX : (int64_t)in->v.u;
    return true;
  case GV_BOOL:
    *out = in->v.b;
    return true;
  case GV_FLOAT:
    return float_to_int(in->v.f, out);
  case GV_STRING:
    if (!parse_number(in->v.s, &n))
      return false;
    if (!n.is_int)
      return float_to_int(n.d, out);
    if (n.neg)
      *out = n.mag > (uint64_t)INT64_MAX + 1 ? INT64_MIN : (int64_t)(0 - n.mag);
    else
      *out = n.mag > INT64_MAX ? INT64_MAX : (int64_t)n.mag;
    return true;
  }
  return false;
}

bool go_to_uint(const goval *in, uint64_t *out) {
  number n;
  switch (in->type) {
  case GV_INT:
    *out = in->v.i < 0 ? 0 : (uint64_t)in->v.i;
    return true;
  case GV_UINT:
    *out = in->v.u;
    return true;
  case GV_BOOL:
    *out = in->v.b;
    return true;
  case GV_FLOAT:
    return float_to_uint(in->v.f, out);
  case GV_STRING:
    if (!parse_number(in->v.s, &n))
      return false;
    if (!n.is_int)
      return float_to_uint(n.d, out);
    *out = n.neg ? 0 : n.mag;
    return true;
  }
  return false;
}

bool go_to_float(const goval *in, double *out) {
  number n;
  switch (in->type) {
  case GV_INT:
    *out = (double)in->v.i;
    return true;
  case GV_UINT:
    *out = (double)in->v.u;
    return true;
  case GV_BOOL:
    *out = in->v.b;
    return true;
  case GV_FLOAT:
    *out = in->v.f;
    return true;
  case GV_STRING:
    /* Telegraf reads "0x1f" as a (big) integer and everything else with
     * ParseFloat, where Go's integer prefixes and '_' are not numbers */
    if (hexadecimal(in->v.s)) {
      if (!parse_number(in->v.s, &n))
        return false;
      *out = n.d;
      return true;
    }
    return parse_float(in->v.s, out);
  }
  return false;
}

bool go_to_bool(const goval *in, bool *out) {
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
  switch (in->type) {
  case GV_INT:
    *out = in->v.i != 0;
    return true;
  case GV_UINT:
    *out = in->v.u != 0;
    return true;
  case GV_BOOL:
    *out = in->v.b;
    return true;
  case GV_FLOAT:
    *out = in->v.f != 0;
    return true;
  case GV_STRING:
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
      if (strcmp(in->v.s, yes[i]) == 0)
        return *out = true, true;
      if (strcmp(in->v.s, no[i]) == 0)
        return *out = false, true;
    }
    return false;
  }
  return false;
}

/* ---- to text ------------------------------------------------------------- */

/* FormatFloat(v, 'f', -1, 64): the fewest significant digits that read back
 * as v, written without an exponent. */
static void format_f(double v, char *buf) {
  if (isnan(v)) {
    strcpy(buf, "NaN");
    return;
  }
  if (isinf(v)) {
    strcpy(buf, v > 0 ? "+Inf" : "-Inf");
    return;
  }
  char e[40];
  int p = 0;
  for (; p < 17; p++) {
    snprintf(e, sizeof e, "%.*e", p, v);
    if (strtod(e, NULL) == v)
      break;
  }
  int exp = atoi(strchr(e, 'e') + 1);
  int decimals = p - exp > 0 ? p - exp : 0;
  snprintf(buf, GO_TEXT_MAX, "%.*f", decimals, v);
}

const char *go_to_text(const goval *in, char *buf) {
  switch (in->type) {
  case GV_STRING:
    return in->v.s;
  case GV_INT:
    snprintf(buf, GO_TEXT_MAX, "%" PRId64, in->v.i);
    return buf;
  case GV_UINT:
    snprintf(buf, GO_TEXT_MAX, "%" PRIu64, in->v.u);
    return buf;
  case GV_BOOL:
    return in->v.b ? "true" : "false";
  case GV_FLOAT:
    format_f(in->v.f, buf);
    return buf;
  }
  return "";
}

/* ---- base64 float32 ------------------------------------------------------ */

static int b64(char c) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const char *p = c ? strchr(alphabet, c) : NULL;
  return p ? (int)(p - alphabet) : -1;
}

bool go_base64_float32(const goval *in, double *out) {
  /* four bytes are exactly "xxxxxx==": 6 symbols and 2 of padding; the
   * unused low 4 bits of the sixth symbol are ignored, as Go's (not strict)
   * StdEncoding does */
  const char *s = in->type == GV_STRING ? in->v.s : NULL;
  if (!s || strlen(s) != 8 || strcmp(s + 6, "==") != 0)
    return false;
  uint64_t bits = 0;
  for (int i = 0; i < 6; i++) {
    int v = b64(s[i]);
    if (v < 0)
      return false;
    bits = bits << 6 | (uint64_t)v;
  }
  uint32_t word = (uint32_t)(bits >> 4);
  float f;
  memcpy(&f, &word, sizeof f);
  *out = f;
  return true;
}
