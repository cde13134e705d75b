/* Number formatting and parsing for the serializers and parsers.
 *
 * Every function here is independent of the process locale (the decimal
 * point is always '.') and of the environment, and never allocates on the
 * common path.
 */
#ifndef TOWER_NUMFMT_H
#define TOWER_NUMFMT_H

#include <stddef.h>
#include <stdint.h>

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

/* strtod() in the "C" locale, for callers holding a NUL-terminated string. */
double twi_strtod_c(const char *s, char **end);

#endif
