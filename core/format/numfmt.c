/* Number formatting and parsing without printf/strtod on the common path.
 *
 * Shortest doubles. The fast path looks for the smallest k such that some
 * integer n gives a decimal n / 10^k that strtod() maps back to v, then
 * prints n with the point inserted. Comparing round(v * 10^k) / 10^k == v
 * in double arithmetic would do for values with few decimals (98.2), but
 * computed values such as 100.0 * 7 / 11 need 16-17 digits, where n passes
 * 2^53 and that test gives up. So the test is done exactly instead: with
 * v = m * 2^e, the decimals that read back as v form the interval
 * v +- 2^e / 2, and scaled by 2^(2-e) and 10^k its ends are integers that
 * fit in 128 bits for 2^-73 <= v < 2^53 and k <= 21. That covers nearly
 * every metric value in a few multiplications per k. Others (huge, tiny,
 * subnormal) go to printf("%.*e") with 15, 16 and then 17 digits, keeping
 * the first that reads back: 15 digits always survive a round trip through
 * a normal double and 17 always identify one; subnormals start at 1 digit,
 * and a power of two also tries the next decimal up because its interval is
 * asymmetric. The result equals the shortest-then-nearest digits of Steele
 * & White / Ryu (Python's repr, Go's 'g' -1).
 *
 * Parsing: Clinger's fast path (a mantissa below 2^53 and a power of ten up
 * to 10^22, both exact, one correctly rounded operation) covers the usual
 * metric values; anything else goes to strtod() in the C locale.
 */
#include "config.h"

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/format.h>

#include "buf_internal.h"
#include "numfmt.h"

static const double pow10_tab[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

/* ---- the C locale, for the printf/strtod fallbacks -------------------- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void) {
  c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Switches this thread to the C locale; returns what to restore (0 when the
 * C locale could not be created and nothing changed). */
static locale_t enter_c_locale(void) {
  pthread_once(&c_locale_once, c_locale_init);
  return c_locale ? uselocale(c_locale) : (locale_t)0;
}

static void leave_c_locale(locale_t old) {
  if (old)
    uselocale(old);
}

double twi_strtod_c(const char *s, char **end) {
  locale_t old = enter_c_locale();
  double v = strtod(s, end);
  leave_c_locale(old);
  return v;
}

/* ---- integers --------------------------------------------------------- */

size_t twi_fmt_uint64(char *buf, uint64_t v) {
  char tmp[20];
  char *p = tmp + sizeof tmp;
  while (v >= 100) {
    unsigned r = (unsigned)(v % 100);
    v /= 100;
    p -= 2;
    memcpy(p, digit_pairs + 2 * r, 2);
  }
  if (v >= 10) {
    p -= 2;
    memcpy(p, digit_pairs + 2 * v, 2);
  } else {
    *--p = (char)('0' + v);
  }
  size_t n = (size_t)(tmp + sizeof tmp - p);
  memcpy(buf, p, n);
  buf[n] = '\0';
  return n;
}

size_t twi_fmt_int64(char *buf, int64_t v) {
  if (v >= 0)
    return twi_fmt_uint64(buf, (uint64_t)v);
  buf[0] = '-';
  /* Negate in unsigned arithmetic: -INT64_MIN does not fit an int64_t. */
  return 1 + twi_fmt_uint64(buf + 1, 0 - (uint64_t)v);
}

/* ---- shortest doubles ------------------------------------------------- */

/* Digits of a finite positive double: d[0..nd) without trailing zeros,
 * value = 0.d * 10^(x + 1), i.e. d[0] is the 10^x digit. */
typedef struct decimal {
  char d[24];
  int nd;
  int x;
} decimal;

/* Sets `dec` from the integer n and k fraction digits. */
static void decimal_from(decimal *dec, uint64_t n, int k) {
  int nd = (int)twi_fmt_uint64(dec->d, n);
  dec->x = nd - 1 - k;
  while (nd > 1 && dec->d[nd - 1] == '0')
    nd--;
  dec->nd = nd;
}

/* True when v is a power of two above DBL_MIN: its rounding interval is then
 * twice as wide above v as below. */
static bool is_pow2(double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  return (bits & 0xfffffffffffffull) == 0 && (bits >> 52 & 0x7ff) > 1;
}

#ifdef __SIZEOF_INT128__
typedef unsigned __int128 u128;

static const uint64_t pow10_u64[20] = {1ull,
                                       10ull,
                                       100ull,
                                       1000ull,
                                       10000ull,
                                       100000ull,
                                       1000000ull,
                                       10000000ull,
                                       100000000ull,
                                       1000000000ull,
                                       10000000000ull,
                                       100000000000ull,
                                       1000000000000ull,
                                       10000000000000ull,
                                       100000000000000ull,
                                       1000000000000000ull,
                                       10000000000000000ull,
                                       100000000000000000ull,
                                       1000000000000000000ull,
                                       10000000000000000000ull};

/* x * 10^k: one 64x64 multiplication below 10^20. */
static u128 times_pow10(uint64_t x, int k) {
  return k < 20 ? (u128)x * pow10_u64[k] : (u128)x * pow10_u64[19] * pow10_u64[k - 19];
}

/* The fast path, exact. v = m * 2^e, and strtod() maps to v every decimal
 * strictly inside (v - ulp/2, v + ulp/2), the ends too when m is even
 * (ties go to even). Scaled by 2^s (s = 2 - e) and 10^k the interval ends
 * and v are integers, and for 2^-73 <= v < 2^53 and k <= 21 they fit in 128
 * bits. For k = 0, 1, 2... the first k whose scaled interval holds an
 * integer n gives the fewest digits; of those n the one nearest v. (A
 * binary search over k, valid since k + 1 works whenever k does, measured
 * slower: most values stop at a small k.) */
static bool shortest_fast(decimal *dec, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  int e = (int)(bits >> 52 & 0x7ff) - 1075;
  if ((bits >> 52 & 0x7ff) == 0 || e > 0 || e < -125)
    return false;
  uint64_t m = (bits & 0xfffffffffffffull) | 1ull << 52;
  bool incl = (m & 1) == 0;
  unsigned s = (unsigned)(2 - e);
  u128 mask = ((u128)1 << s) - 1, half = (u128)1 << (s - 1);
  u128 lo = 4 * (u128)m - (is_pow2(v) ? 1 : 2), hi = 4 * (u128)m + 2;
  for (int k = 0; k <= 21; k++, lo *= 10, hi *= 10) {
    u128 nmin = (lo >> s) + ((incl && (lo & mask) == 0) ? 0 : 1);
    u128 nmax = (hi >> s) - ((!incl && (hi & mask) == 0) ? 1 : 0);
    if (nmin > nmax)
      continue;
    u128 mid = times_pow10(4 * m, k), q = mid >> s, r = mid & mask;
    u128 n = q + (r > half || (r == half && (q & 1)));
    n = n < nmin ? nmin : n > nmax ? nmax : n;
    decimal_from(dec, (uint64_t)n, k);
    return true;
  }
  return false;
}
#else
static bool shortest_fast(decimal *dec, double v) {
  (void)dec;
  (void)v;
  return false;
}
#endif

/* Largest k of the short-decimal path: metric values seldom carry more
 * decimals than this, and each k costs up to three divisions. */
#define SHORT_K_MAX 4

/* The short-decimal path, for values such as 98.2, 0.25 or 1234: plain
 * double arithmetic, exact all the same. For k = 0, 1, ... SHORT_K_MAX the
 * decimals with k fraction digits that read back as v are integers c with
 * c / 10^k == v: with c < 2^53 and 10^k exact, that division is correctly
 * rounded, so it is exactly what strtod() makes of c * 10^-k. Such a c lies
 * within r = ulp(v) * 10^k / 2 <= ulp(p) of the exact v * 10^k, and the
 * product p = v * 10^k is within ulp(p) / 2 of that, so |p - c| <= tol with
 * tol = p * 2^-51 >= 2 ulp(p). While tol < 1/2 that leaves only the integer
 * m nearest p, tested with one division when p is that close to it; a value
 * of many digits (97.23618090452261) costs a multiplication and a compare
 * per k. Larger p (up to 2^52: below it p's rounding error is at most 1/4
 * and r at most 1/2) tests m - 1, m and m + 1. The first k with exactly one
 * c gives the shortest digits (a shorter decimal would have been found at
 * a smaller k, zeros appended); two at once, or p too large, is left to the
 * 128-bit path, which also picks the nearest. */
/* The integer nearest p, for 0 <= p < 2^52 (p + 1/2 is exact from 2^50 on,
 * and below it can only misround where no integer is within tol of p). */
static double nearest_int(double p) {
  return (double)(uint64_t)(p + 0.5);
}

/* False when no decimal of at most SHORT_K_MAX fraction digits reads back
 * as v: one of k digits is one of SHORT_K_MAX digits too (c * 10^(K-k)
 * divides to the same double), so v * 10^K must be within tol of an
 * integer. Rejects a value of many digits (a computed ratio) at once. */
static bool may_be_short(double v) {
  double p = v * pow10_tab[SHORT_K_MAX], tol = p * 0x1p-51;
  return !(tol < 0.5) || fabs(p - nearest_int(p)) <= tol;
}

static bool shortest_short(decimal *dec, double v) {
  if (v < 5e-5) /* c >= 1 needs v >= 10^-SHORT_K_MAX; no subnormal p either */
    return false;
  if (!may_be_short(v))
    return false;
  for (int k = 0; k <= SHORT_K_MAX; k++) {
    double p = v * pow10_tab[k];
    if (!(p < 4503599627370496.0)) /* 2^52 */
      return false;
    double m = nearest_int(p), tol = p * 0x1p-51;
    if (tol < 0.5) {
      if (fabs(p - m) <= tol && m / pow10_tab[k] == v) {
        decimal_from(dec, (uint64_t)m, k);
        return true;
      }
      continue;
    }
    double found = -1;
    int hits = 0;
    for (double c = m - 1; c <= m + 1; c++) {
      if (c / pow10_tab[k] == v) {
        found = c;
        hits++;
      }
    }
    if (hits == 1) {
      decimal_from(dec, (uint64_t)found, k);
      return true;
    }
    if (hits > 1)
      return false;
  }
  return false;
}

/* Reads printf's "d.ddde+XX" (any decimal point) into `dec`. */
static void decimal_from_e(decimal *dec, const char *s) {
  int nd = 0;
  for (; *s && *s != 'e'; s++)
    if (*s >= '0' && *s <= '9' && nd < (int)sizeof dec->d - 1)
      dec->d[nd++] = *s;
  int x = s[0] == 'e' ? atoi(s + 1) : 0;
  while (nd > 1 && dec->d[nd - 1] == '0')
    nd--;
  dec->nd = nd;
  dec->x = x;
}

/* Writes dec (nd digits) back as "d.ddde+X" for strtod. */
static void decimal_to_e(char *s, const decimal *dec) {
  *s++ = dec->d[0];
  *s++ = '.';
  memcpy(s, dec->d + 1, (size_t)dec->nd - 1);
  s += dec->nd - 1;
  *s++ = 'e';
  twi_fmt_int64(s, dec->x);
}

/* The next decimal up with `prec` digits: dec + 10^(x - prec + 1). */
static void decimal_next_up(decimal *dec, int prec) {
  while (dec->nd < prec)
    dec->d[dec->nd++] = '0';
  int i = prec - 1;
  while (i >= 0 && dec->d[i] == '9')
    dec->d[i--] = '0';
  if (i >= 0) {
    dec->d[i]++;
  } else {
    dec->d[0] = '1';
    dec->x++;
  }
  while (dec->nd > 1 && dec->d[dec->nd - 1] == '0')
    dec->nd--;
}

/* printf with 15, 16, then 17 significant digits, keeping the first that
 * reads back. Below DBL_MIN fewer digits are significant, so subnormals
 * start at 1; a power of two also tries the next decimal up (see is_pow2). */
static void shortest_slow(decimal *dec, double v) {
  char tmp[48];
  locale_t old = enter_c_locale();
  for (int prec = v < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
    decimal_from_e(dec, tmp);
    if (prec == 17 || strtod(tmp, NULL) == v)
      break;
    if (is_pow2(v)) {
      decimal up = *dec;
      decimal_next_up(&up, prec);
      decimal_to_e(tmp, &up);
      if (strtod(tmp, NULL) == v) {
        *dec = up;
        break;
      }
    }
  }
  leave_c_locale(old);
}

static char *put_exponent(char *p, int x) {
  *p++ = 'e';
  *p++ = x < 0 ? '-' : '+';
  unsigned ax = (unsigned)(x < 0 ? -x : x);
  if (ax >= 100) {
    *p++ = (char)('0' + ax / 100);
    ax %= 100;
  }
  memcpy(p, digit_pairs + 2 * ax, 2);
  return p + 2;
}

/* Lays out the digits by the rule in numfmt.h; returns the end. */
static char *layout(char *p, const decimal *dec) {
  const char *d = dec->d;
  int nd = dec->nd, x = dec->x;
  if (x < -4 || x >= 17) {
    *p++ = d[0];
    if (nd > 1) {
      *p++ = '.';
      memcpy(p, d + 1, (size_t)nd - 1);
      p += nd - 1;
    }
    return put_exponent(p, x);
  }
  if (x < 0) {
    *p++ = '0';
    *p++ = '.';
    for (int i = 0; i < -x - 1; i++)
      *p++ = '0';
    memcpy(p, d, (size_t)nd);
    return p + nd;
  }
  if (nd <= x + 1) {
    memcpy(p, d, (size_t)nd);
    p += nd;
    for (int i = nd; i <= x; i++)
      *p++ = '0';
    return p;
  }
  memcpy(p, d, (size_t)x + 1);
  p += x + 1;
  *p++ = '.';
  memcpy(p, d + x + 1, (size_t)(nd - x - 1));
  return p + (nd - x - 1);
}

static size_t put_literal(char *buf, const char *s) {
  size_t n = strlen(s);
  memcpy(buf, s, n + 1);
  return n;
}

/* The shortest digits of v > 0: the short-decimal path when `short_path`
 * and it applies, else the exact 128-bit path, else printf. */
static void shortest(decimal *dec, double v, bool short_path) {
  if (short_path && shortest_short(dec, v))
    return;
  if (!shortest_fast(dec, v))
    shortest_slow(dec, v);
}

static size_t fmt_double(char buf[TWI_FMT_DOUBLE_SIZE], double v, bool short_path) {
  if (isnan(v))
    return put_literal(buf, "NaN");
  if (isinf(v))
    return put_literal(buf, v > 0 ? "+Inf" : "-Inf");
  char *p = buf;
  if (signbit(v)) {
    *p++ = '-';
    v = -v;
  }
  if (v == 0) {
    *p++ = '0';
    *p = '\0';
    return (size_t)(p - buf);
  }
  decimal dec;
  shortest(&dec, v, short_path);
  p = layout(p, &dec);
  *p = '\0';
  return (size_t)(p - buf);
}

size_t twi_fmt_double(char buf[TWI_FMT_DOUBLE_SIZE], double v) {
  return fmt_double(buf, v, true);
}

size_t twi_fmt_double_exact(char buf[TWI_FMT_DOUBLE_SIZE], double v) {
  return fmt_double(buf, v, false);
}

int tower_format_float(tower_buf *out, double v) {
  char buf[TWI_FMT_DOUBLE_SIZE];
  size_t n = twi_fmt_double(buf, v);
  return twi_buf_put(out, buf, n);
}

/* ---- parsing ---------------------------------------------------------- */

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int twi_parse_uint64(const char *s, size_t len, uint64_t *out) {
  return twi_parse_uint64_inline(s, len, out);
}

int twi_parse_int64(const char *s, size_t len, int64_t *out) {
  return twi_parse_int64_inline(s, len, out);
}

/* What a float's text holds, read in one pass. */
typedef struct float_scan {
  uint64_t mant; /* first 19 significant digits */
  int exp10;     /* value = mant * 10^exp10 when !truncated */
  bool truncated;
  bool neg;
} float_scan;

/* Reads the digits at s[i..len) into f; returns the index after them.
 * Fraction digits lower exp10; integer digits past the 19 kept raise it. */
static inline size_t scan_digits(const char *s, size_t i, size_t len, float_scan *f, int fraction,
                                 int *nsig) {
  uint64_t mant = f->mant;
  int n = *nsig, exp10 = f->exp10;
  for (; i < len; i++) {
    unsigned d = (unsigned)(unsigned char)s[i] - '0';
    if (d > 9)
      break;
    if (n < 19) {
      mant = mant * 10 + d;
      n += mant != 0;
      exp10 -= fraction;
    } else {
      f->truncated |= d != 0;
      exp10 += !fraction;
    }
  }
  f->mant = mant;
  f->exp10 = exp10;
  *nsig = n;
  return i;
}

/* Reads an exponent "[eE][+-]?d+" at s[*i]; false on a malformed one. */
static bool scan_exponent(const char *s, size_t *i, size_t len, float_scan *f) {
  if (*i == len || (s[*i] != 'e' && s[*i] != 'E'))
    return true;
  (*i)++;
  bool neg = *i < len && s[*i] == '-';
  if (*i < len && (s[*i] == '-' || s[*i] == '+'))
    (*i)++;
  size_t start = *i;
  int e = 0;
  for (; *i < len && is_digit(s[*i]); (*i)++)
    if (e < 100000)
      e = e * 10 + (s[*i] - '0');
  f->exp10 += neg ? -e : e;
  return *i > start;
}

/* Checks the grammar and reads the mantissa; false on a syntax error. */
static bool scan_float(const char *s, size_t len, float_scan *f) {
  int nsig = 0;
  *f = (float_scan){.neg = len > 0 && s[0] == '-'};
  size_t start = f->neg, i = scan_digits(s, start, len, f, 0, &nsig);
  size_t ndig = i - start;
  if (i < len && s[i] == '.') {
    size_t fstart = i + 1;
    i = scan_digits(s, fstart, len, f, 1, &nsig);
    ndig += i - fstart;
  }
  if (ndig == 0 || !scan_exponent(s, &i, len, f))
    return false;
  return i == len;
}

/* strtod() on a NUL-terminated copy (the text is not terminated). */
static int parse_double_slow(const char *s, size_t len, double *out) {
  char stack[128];
  char *tmp = len < sizeof stack ? stack : malloc(len + 1);
  if (!tmp)
    return -ENOMEM;
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  double v = twi_strtod_c(tmp, NULL);
  if (tmp != stack)
    free(tmp);
  if (isinf(v))
    return -ERANGE;
  *out = v;
  return 0;
}

#ifdef __SIZEOF_INT128__
/* mant / 10^k correctly rounded, without strtod, for the 16-19 digit
 * mantissas Clinger's fast path cannot take (computed values such as
 * 97.23618090452261). The double quotient is within an ulp or so of the
 * answer; scaled by 2^(2-e2) * 10^k, it and the midpoints to its neighbours
 * are integers, and comparing them in 128 bits moves it to the nearest
 * double (ties to even). False when the numbers would not fit (k > 21,
 * results outside roughly [2^-10, 2^54)). */
static bool div_pow10_exact(uint64_t mant, int k, double *out) {
  if (k > 21 || mant == 0)
    return false;
  u128 scale = times_pow10(1, k);
  int mbits = 64 - __builtin_clzll(mant);
  double x = (double)mant / pow10_tab[k];
  for (int iter = 0; iter < 4; iter++) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int be = (int)(bits >> 52 & 0x7ff), sh = 2 - (be - 1075);
    if (be == 0 || sh < 0 || mbits + sh > 127)
      return false;
    uint64_t m2 = (bits & 0xfffffffffffffull) | 1ull << 52;
    u128 d = (u128)mant << sh;
    u128 hi = (u128)(4 * m2 + 2) * scale, lo = (u128)(4 * m2 - (is_pow2(x) ? 1 : 2)) * scale;
    bool odd = m2 & 1;
    if (d > hi || (d == hi && odd))
      bits++;
    else if (d < lo || (d == lo && odd))
      bits--;
    else {
      *out = x;
      return true;
    }
    memcpy(&x, &bits, sizeof x);
  }
  return false;
}
#else
static bool div_pow10_exact(uint64_t mant, int k, double *out) {
  (void)mant;
  (void)k;
  (void)out;
  return false;
}
#endif

int twi_parse_double_digits(const char *s, size_t len, uint64_t mant, unsigned frac, double *out) {
  double v;
  if (div_pow10_exact(mant, (int)frac, &v)) {
    *out = len > 0 && s[0] == '-' ? -v : v;
    return 0;
  }
  return parse_double_slow(s, len, out);
}

int twi_parse_double(const char *s, size_t len, double *out) {
  float_scan f;
  if (!scan_float(s, len, &f))
    return -EINVAL;
#if FLT_EVAL_METHOD == 0
  /* Clinger: exact operands, one rounding. Needs double evaluation. */
  if (!f.truncated && f.mant < (uint64_t)1 << 53 && f.exp10 >= -22 && f.exp10 <= 22) {
    double v = (double)f.mant;
    v = f.exp10 < 0 ? v / pow10_tab[-f.exp10] : v * pow10_tab[f.exp10];
    *out = f.neg ? -v : v;
    return 0;
  }
#endif
  if (f.mant == 0 && !f.truncated) {
    *out = f.neg ? -0.0 : 0.0;
    return 0;
  }
  double v;
  if (!f.truncated && f.exp10 <= 0 && div_pow10_exact(f.mant, -f.exp10, &v)) {
    *out = f.neg ? -v : v;
    return 0;
  }
  return parse_double_slow(s, len, out);
}
