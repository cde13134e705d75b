/* Number formatting and parsing for the serializers and parsers.
 *
 * Every function here is independent of the process locale (the decimal
 * point is always '.') and of the environment, and never allocates on the
 * common path.
 */
#ifndef TOWER_NUMFMT_H
#define TOWER_NUMFMT_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Buffer sizes that always suffice, NUL included. */
#define TWI_FMT_DOUBLE_SIZE 32
#define TWI_FMT_INT_SIZE 24

/* Writes the shortest decimal string that strtod() reads back as exactly `v`
 * (bit for bit, -0 included) and a NUL; returns its length.
 *
 * Layout rule, that of printf("%.17g") applied to the shortest digits: with
 * X the decimal exponent of the first significant digit, plain notation when
 * -4 <= X < 17 ("42", "0.1", "0.0001", "12345678901234567"), otherwise
 * d[.ddd]e<sign><at least two digits> ("1e-05", "1e-07", "1.5e+20",
 * "5e-324"). Integral values carry no ".0". Non-finite values are written as
 * in the Prometheus text format: "NaN", "+Inf", "-Inf". */
size_t twi_fmt_double(char buf[TWI_FMT_DOUBLE_SIZE], double v);
/* The same without the short-decimal path: the reference the tests compare
 * that path with (tests/unit/test_lp_roundtrip.c). */
size_t twi_fmt_double_exact(char buf[TWI_FMT_DOUBLE_SIZE], double v);

/* Decimal integers, NUL-terminated; return the length. `buf` holds at least
 * TWI_FMT_INT_SIZE bytes. */
size_t twi_fmt_int64(char *buf, int64_t v);
size_t twi_fmt_uint64(char *buf, uint64_t v);

/* Parses s[0..len) (not NUL-terminated) as a whole. Integers: an optional
 * '-' (int64 only) and decimal digits, nothing else. Floats: the line
 * protocol grammar -?(d+(.d*)?|.d+)([eE][+-]?d+)? ; nan, inf, hex floats, a
 * leading '+' and surrounding spaces are rejected. Floats are correctly
 * rounded; values beyond DBL_MAX are -ERANGE, underflow gives 0 or a
 * subnormal. Return 0, -EINVAL (syntax) or -ERANGE (out of range); *out is
 * set only on success. */
int twi_parse_int64(const char *s, size_t len, int64_t *out);
int twi_parse_uint64(const char *s, size_t len, uint64_t *out);
int twi_parse_double(const char *s, size_t len, double *out);

/* The same integer parsers inline, for the parsers' hot paths (a call into
 * an exported function of a shared library goes through the PLT). Up to 19
 * digits cannot overflow, so only longer numbers check each step; on little
 * endian machines the first 16 go eight at a time (nanosecond timestamps
 * have 19). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline int twi_is_8digits(uint64_t w) {
  return ((w & 0xf0f0f0f0f0f0f0f0ull) |
          (((w + 0x0606060606060606ull) & 0xf0f0f0f0f0f0f0f0ull) >> 4)) == 0x3333333333333333ull;
}

/* Eight ASCII digits, first in the lowest byte, as a number. */
static inline uint64_t twi_8digits(uint64_t w) {
  w -= 0x3030303030303030ull;
  w = w * 10 + (w >> 8);
  return (((w & 0x000000ff000000ffull) * 0x000f424000000064ull) +
          (((w >> 16) & 0x000000ff000000ffull) * 0x0000271000000001ull)) >>
         32;
}
#endif

static inline int twi_parse_uint64_inline(const char *s, size_t len, uint64_t *out) {
  if (len == 0)
    return -22; /* -EINVAL */
  uint64_t v = 0, w;
  size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (len >= 8 && (memcpy(&w, s, sizeof w), twi_is_8digits(w))) {
    v = twi_8digits(w);
    i = 8;
    if (len >= 16 && (memcpy(&w, s + 8, sizeof w), twi_is_8digits(w))) {
      v = v * 100000000 + twi_8digits(w);
      i = 16;
    }
  }
#else
  (void)w;
#endif
  for (size_t end = len < 19 ? len : 19; i < end; i++) {
    unsigned d = (unsigned)(unsigned char)s[i] - '0';
    if (d > 9)
      return -22;
    v = v * 10 + d;
  }
  int overflow = 0;
  for (; i < len; i++) {
    unsigned d = (unsigned)(unsigned char)s[i] - '0';
    if (d > 9)
      return -22; /* a syntax error wins over range */
    overflow |= v > (UINT64_MAX - d) / 10;
    v = v * 10 + d;
  }
  if (overflow)
    return -34; /* -ERANGE */
  *out = v;
  return 0;
}

static inline int twi_parse_int64_inline(const char *s, size_t len, int64_t *out) {
  size_t neg = len > 0 && s[0] == '-';
  uint64_t u;
  int rc = twi_parse_uint64_inline(s + neg, len - neg, &u);
  if (rc)
    return rc;
  if (u > (uint64_t)INT64_MAX + neg)
    return -34;
  *out = neg ? (int64_t)(0 - u) : (int64_t)u;
  return 0;
}

/* twi_parse_double of a plain decimal whose digits, 19 at most, read as
 * mant / 10^frac (the caller scanned s[0..len) already): exact without
 * strtod() for most 16-19 digit values. */
int twi_parse_double_digits(const char *s, size_t len, uint64_t mant, unsigned frac, double *out);

/* Reads the digits at s[i..len) into *mant (which wraps past 19 digits),
 * eight at a time while eight remain; returns the index after them. */
__attribute__((always_inline)) static inline size_t twi_read_digits(const char *s, size_t i,
                                                                    size_t len, uint64_t *mant) {
  uint64_t m = *mant;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for (uint64_t w; i + 8 <= len && (memcpy(&w, s + i, sizeof w), twi_is_8digits(w)); i += 8)
    m = m * 100000000 + twi_8digits(w);
#endif
  for (unsigned d; i < len && (d = (unsigned)(unsigned char)s[i] - '0') <= 9; i++)
    m = m * 10 + d;
  *mant = m;
  return i;
}

/* twi_parse_double inline, for the parsers' hot paths: the usual metric
 * value, [-]d+[.d*] or [-].d+ with at most 19 digits and no exponent, is
 * read here in one pass. With a mantissa below 2^53 it is Clinger's exact
 * case (the mantissa and the power of ten are exact doubles, so one
 * division rounds correctly); longer mantissas go straight to the exact
 * 128-bit path. Anything else, errors included, goes to twi_parse_double.
 * Same results either way. */
__attribute__((always_inline)) static inline int twi_parse_double_inline(const char *s, size_t len,
                                                                         double *out) {
#if FLT_EVAL_METHOD == 0
  static const double exact_pow10[20] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,
                                         1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13,
                                         1e14, 1e15, 1e16, 1e17, 1e18, 1e19};
  size_t neg = len > 0 && s[0] == '-', frac = 0;
  uint64_t mant = 0;
  size_t i = twi_read_digits(s, neg, len, &mant), ndig = i - neg;
  if (i < len && s[i] == '.') {
    size_t f0 = i + 1;
    i = twi_read_digits(s, f0, len, &mant);
    frac = i - f0;
    ndig += frac;
  }
  if (i == len && ndig > 0 && ndig <= 19) {
    if (mant >= (uint64_t)1 << 53)
      return twi_parse_double_digits(s, len, mant, (unsigned)frac, out);
    double v = (double)mant / exact_pow10[frac];
    *out = neg ? -v : v;
    return 0;
  }
#endif
  return twi_parse_double(s, len, out);
}

/* strtod() in the "C" locale, for callers holding a NUL-terminated string. */
double twi_strtod_c(const char *s, char **end);

#endif
