/* Number formatting and parsing (core/format/numfmt.c). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/format.h>

#include "numfmt.h"
#include "check_run.h"

/* Inside loops of many iterations: Check records every passing ck_assert
 * (a write per call), so loops test with plain ifs. */
#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ck_abort_msg(__VA_ARGS__);                                                                   \
  } while (0)

/* xorshift64*: reproducible random bits without libc's rand(). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}

static double from_bits(uint64_t b) {
  double d;
  memcpy(&d, &b, sizeof d);
  return d;
}

static uint64_t to_bits(double d) {
  uint64_t b;
  memcpy(&b, &d, sizeof b);
  return b;
}

/* Significant digits of a formatted number ("1.25e+20" -> 3). */
static int sig_digits(const char *s) {
  int n = 0, lead = 1, zeros = 0;
  for (; *s && *s != 'e'; s++) {
    if (*s < '0' || *s > '9')
      continue;
    if (lead && *s == '0')
      continue;
    lead = 0;
    if (*s == '0') {
      zeros++;
    } else {
      n += zeros + 1;
      zeros = 0;
    }
  }
  return n ? n : 1;
}

/* Fewest significant digits printf needs for v to read back. */
static int ref_digits(double v) {
  char buf[64];
  for (int p = 1; p <= 17; p++) {
    snprintf(buf, sizeof buf, "%.*e", p - 1, v);
    if (strtod(buf, NULL) == v)
      return sig_digits(buf);
  }
  return 17;
}

static const struct {
  double v;
  const char *s;
} float_cases[] = {
    {0.0, "0"},
    {-0.0, "-0"},
    {0.1, "0.1"},
    {-0.1, "-0.1"},
    {1.0 / 3.0, "0.3333333333333333"},
    {2.0 / 3.0, "0.6666666666666666"},
    {0.1 + 0.2, "0.30000000000000004"},
    {1e21, "1e+21"},
    {1e22, "1e+22"},
    {1e23, "1e+23"},
    {1e-7, "1e-07"},
    {1e-5, "1e-05"},
    {1e-4, "0.0001"},
    {1.5e-4, "0.00015"},
    {5e-324, "5e-324"},
    {-5e-324, "-5e-324"},
    {DBL_MIN, "2.2250738585072014e-308"},
    {DBL_MAX, "1.7976931348623157e+308"},
    {-DBL_MAX, "-1.7976931348623157e+308"},
    {9007199254740992.0, "9007199254740992"},
    {9007199254740993.0, "9007199254740992"},
    {1e16, "10000000000000000"},
    {12345678901234567.0, "12345678901234568"},
    {1e17, "1e+17"},
    {1.5e20, "1.5e+20"},
    {1234567890123456789.0, "1.2345678901234568e+18"},
    {42.0, "42"},
    {-42.5, "-42.5"},
    {100.0, "100"},
    {98.2, "98.2"},
    {1.3, "1.3"},
    {123456.789, "123456.789"},
    {1700000000.0, "1700000000"},
    {0.000123, "0.000123"},
    {0x1p-1022, "2.2250738585072014e-308"},
    {0x1p-20, "9.5367431640625e-07"},
    {0x1p60, "1.152921504606847e+18"},
    {NAN, "NaN"},
    {INFINITY, "+Inf"},
    {-INFINITY, "-Inf"},
};

START_TEST(test_fmt_double_table) {
  char buf[TWI_FMT_DOUBLE_SIZE];
  size_t n = twi_fmt_double(buf, float_cases[_i].v);
  ck_assert_str_eq(buf, float_cases[_i].s);
  ck_assert_uint_eq(n, strlen(float_cases[_i].s));
}
END_TEST

/* Every finite double reads back bit for bit, in fewer than 32 bytes. */
START_TEST(test_fmt_double_roundtrip_random) {
  char buf[TWI_FMT_DOUBLE_SIZE];
  for (int i = 0; i < 1000000; i++) {
    /* Half any bits, half the range the exact fast path covers. */
    uint64_t b = rnd();
    if (i & 1)
      b = (b & 0x800fffffffffffffull) | (uint64_t)(1023 - 73 + rnd() % 126) << 52;
    double v = from_bits(b);
    if (isnan(v))
      continue;
    size_t n = twi_fmt_double(buf, v);
    CHECK(n < sizeof buf && n == strlen(buf), "%a: length %zu", v, n);
    double back = strtod(buf, NULL);
    CHECK(to_bits(back) == to_bits(v), "%a formatted as %s reads back as %a", v, buf, back);
  }
}
END_TEST

/* No more digits than the shortest printf precision that reads back. */
START_TEST(test_fmt_double_shortest_random) {
  char buf[TWI_FMT_DOUBLE_SIZE];
  for (int i = 0; i < 60000; i++) {
    double v;
    switch (i % 4) {
    case 0: /* any double */
      v = from_bits(rnd() & ~(1ull << 63));
      break;
    case 3: /* a computed ratio: 16-17 digits */
      v = 100.0 * (double)(rnd() % 100000) / (double)(1 + rnd() % 100000);
      break;
    case 1: /* a metric-like value: few decimals */
      v = (double)(int64_t)(rnd() % 100000000) / pow(10, (double)(rnd() % 8));
      break;
    default: /* a power of two: asymmetric rounding interval */
      v = ldexp(1.0, (int)(rnd() % 2098) - 1074);
      break;
    }
    if (!isfinite(v) || v == 0)
      continue;
    twi_fmt_double(buf, v);
    CHECK(strtod(buf, NULL) == v, "%a: %s does not read back", v, buf);
    CHECK(sig_digits(buf) <= ref_digits(v), "%a: %s has %d digits, %d suffice", v, buf,
          sig_digits(buf), ref_digits(v));
  }
}
END_TEST

/* Integers up to 2^53 print as plain integers, with no ".0". */
START_TEST(test_fmt_double_integers) {
  char buf[TWI_FMT_DOUBLE_SIZE], want[32];
  for (int i = 0; i < 200000; i++) {
    int64_t n = (int64_t)(rnd() >> (11 + rnd() % 53)) * (rnd() & 1 ? 1 : -1);
    if (n == 0)
      continue;
    twi_fmt_double(buf, (double)n);
    snprintf(want, sizeof want, "%lld", (long long)n);
    CHECK(strcmp(buf, want) == 0, "%lld formatted as %s", (long long)n, buf);
  }
}
END_TEST

/* The output does not depend on the locale's decimal point. */
START_TEST(test_fmt_double_locale) {
  if (!setlocale(LC_NUMERIC, "de_DE.UTF-8") && !setlocale(LC_NUMERIC, "fr_FR.UTF-8"))
    return; /* no comma locale installed: nothing to show */
  char buf[TWI_FMT_DOUBLE_SIZE];
  twi_fmt_double(buf, 0.1 + 0.2);
  ck_assert_str_eq(buf, "0.30000000000000004");
  twi_fmt_double(buf, 5e-324);
  ck_assert_str_eq(buf, "5e-324");
  double d;
  ck_assert_int_eq(twi_parse_double("0.30000000000000004", 19, &d), 0);
  ck_assert(d == 0.1 + 0.2);
  setlocale(LC_NUMERIC, "C");
}
END_TEST

START_TEST(test_tower_format_float) {
  tower_buf *b = tower_buf_new(0);
  ck_assert_int_eq(tower_format_float(b, 0.5), 0);
  ck_assert_int_eq(tower_format_float(b, -1e-7), 0);
  ck_assert_int_eq(tower_format_float(b, NAN), 0);
  ck_assert_str_eq(tower_buf_data(b), "0.5-1e-07NaN");
  ck_assert_uint_eq(tower_buf_len(b), 12);
  tower_buf_free(b);
}
END_TEST

static const struct {
  int64_t v;
  const char *s;
} int_cases[] = {
    {0, "0"},
    {7, "7"},
    {-7, "-7"},
    {10, "10"},
    {99, "99"},
    {100, "100"},
    {-100, "-100"},
    {1234567890, "1234567890"},
    {INT64_MAX, "9223372036854775807"},
    {INT64_MIN, "-9223372036854775808"},
    {INT64_MIN + 1, "-9223372036854775807"},
};

START_TEST(test_fmt_int64) {
  char buf[TWI_FMT_INT_SIZE];
  ck_assert_uint_eq(twi_fmt_int64(buf, int_cases[_i].v), strlen(int_cases[_i].s));
  ck_assert_str_eq(buf, int_cases[_i].s);
}
END_TEST

START_TEST(test_fmt_uint64) {
  char buf[TWI_FMT_INT_SIZE], want[32];
  ck_assert_uint_eq(twi_fmt_uint64(buf, UINT64_MAX), 20);
  ck_assert_str_eq(buf, "18446744073709551615");
  for (int i = 0; i < 100000; i++) {
    uint64_t v = rnd() >> (rnd() % 64);
    twi_fmt_uint64(buf, v);
    snprintf(want, sizeof want, "%llu", (unsigned long long)v);
    CHECK(strcmp(buf, want) == 0, "%s != %s", buf, want);
  }
}
END_TEST

static const struct {
  const char *s;
  int rc;
  double v;
} parse_float_cases[] = {
    {"0", 0, 0.0},
    {"-0", 0, -0.0},
    {"1", 0, 1.0},
    {"98.2", 0, 98.2},
    {"-1.5E-3", 0, -1.5e-3},
    {"1e3", 0, 1000.0},
    {"1E+3", 0, 1000.0},
    {".5", 0, 0.5},
    {"5.", 0, 5.0},
    {"-.5", 0, -0.5},
    {"000123.4500", 0, 123.45},
    {"0.1", 0, 0.1},
    {"9007199254740993", 0, 9007199254740992.0},
    {"123456789012345678901234567890", 0, 123456789012345678901234567890.0},
    {"0.30000000000000004", 0, 0.30000000000000004},
    {"1.7976931348623157e308", 0, DBL_MAX},
    {"4.9e-324", 0, 5e-324},
    {"1e-400", 0, 0.0},
    {"2.2250738585072011e-308", 0, 2.2250738585072011e-308},
    {"1e23", 0, 1e23},
    {"8.98846567431158e307", 0, 8.98846567431158e307},
    {"1e309", -ERANGE, 0},
    {"-1e309", -ERANGE, 0},
    {"", -EINVAL, 0},
    {"-", -EINVAL, 0},
    {".", -EINVAL, 0},
    {"-.", -EINVAL, 0},
    {"e3", -EINVAL, 0},
    {"1e", -EINVAL, 0},
    {"1e+", -EINVAL, 0},
    {"1.2.3", -EINVAL, 0},
    {"+1", -EINVAL, 0},
    {" 1", -EINVAL, 0},
    {"1 ", -EINVAL, 0},
    {"nan", -EINVAL, 0},
    {"inf", -EINVAL, 0},
    {"-inf", -EINVAL, 0},
    {"0x10", -EINVAL, 0},
    {"1,5", -EINVAL, 0},
    {"--1", -EINVAL, 0},
};

START_TEST(test_parse_double_table) {
  double d = 12345;
  const char *s = parse_float_cases[_i].s;
  int rc = twi_parse_double(s, strlen(s), &d);
  ck_assert_msg(rc == parse_float_cases[_i].rc, "\"%s\": rc %d", s, rc);
  if (rc == 0)
    ck_assert_msg(to_bits(d) == to_bits(parse_float_cases[_i].v), "\"%s\" -> %a", s, d);
  else
    ck_assert(d == 12345); /* untouched */
}
END_TEST

/* Agrees with strtod bit for bit, on both the fast and the slow path, and
 * never reads past len. */
START_TEST(test_parse_double_random) {
  char buf[64];
  for (int i = 0; i < 500000; i++) {
    double v = from_bits(rnd());
    if (!isfinite(v))
      continue;
    int n = i % 2 ? snprintf(buf, sizeof buf, "%.17g", v)
                  : snprintf(buf, sizeof buf, "%.*f", (int)(rnd() % 6),
                             (double)(int64_t)(rnd() % 10000000) / 1000.0);
    double want = strtod(buf, NULL), got;
    buf[n] = 'x'; /* not NUL-terminated */
    CHECK(twi_parse_double(buf, (size_t)n, &got) == 0, "%.*s rejected", n, buf);
    CHECK(to_bits(got) == to_bits(want), "%.*s: got %a want %a", n, buf, got, want);
  }
}
END_TEST

static const struct {
  const char *s;
  int rc;
  int64_t v;
} parse_int_cases[] = {
    {"0", 0, 0},
    {"-0", 0, 0},
    {"42", 0, 42},
    {"-42", 0, -42},
    {"0042", 0, 42},
    {"9223372036854775807", 0, INT64_MAX},
    {"-9223372036854775808", 0, INT64_MIN},
    {"9223372036854775808", -ERANGE, 0},
    {"-9223372036854775809", -ERANGE, 0},
    {"99999999999999999999999", -ERANGE, 0},
    {"", -EINVAL, 0},
    {"-", -EINVAL, 0},
    {"+1", -EINVAL, 0},
    {"1.0", -EINVAL, 0},
    {"12x", -EINVAL, 0},
    {"99999999999999999999x", -EINVAL, 0},
    {" 1", -EINVAL, 0},
};

START_TEST(test_parse_int64_table) {
  int64_t v = 777;
  const char *s = parse_int_cases[_i].s;
  ck_assert_int_eq(twi_parse_int64(s, strlen(s), &v), parse_int_cases[_i].rc);
  ck_assert_int_eq(v, parse_int_cases[_i].rc ? 777 : parse_int_cases[_i].v);
}
END_TEST

START_TEST(test_parse_uint64) {
  uint64_t v = 0;
  ck_assert_int_eq(twi_parse_uint64("18446744073709551615", 20, &v), 0);
  ck_assert(v == UINT64_MAX);
  ck_assert_int_eq(twi_parse_uint64("18446744073709551616", 20, &v), -ERANGE);
  ck_assert_int_eq(twi_parse_uint64("-1", 2, &v), -EINVAL);
  ck_assert_int_eq(twi_parse_uint64("", 0, &v), -EINVAL);
  ck_assert_int_eq(twi_parse_uint64("123", 2, &v), 0); /* stops at len */
  ck_assert(v == 12);
}
END_TEST

static Suite *numfmt_suite(void) {
  Suite *s = suite_create("numfmt");
  TCase *tc = tcase_create("format");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_fmt_double_table, 0, sizeof float_cases / sizeof float_cases[0]);
  tcase_add_test(tc, test_fmt_double_roundtrip_random);
  tcase_add_test(tc, test_fmt_double_shortest_random);
  tcase_add_test(tc, test_fmt_double_integers);
  tcase_add_test(tc, test_fmt_double_locale);
  tcase_add_test(tc, test_tower_format_float);
  tcase_add_loop_test(tc, test_fmt_int64, 0, sizeof int_cases / sizeof int_cases[0]);
  tcase_add_test(tc, test_fmt_uint64);
  suite_add_tcase(s, tc);
  tc = tcase_create("parse");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_parse_double_table, 0,
                      sizeof parse_float_cases / sizeof parse_float_cases[0]);
  tcase_add_test(tc, test_parse_double_random);
  tcase_add_loop_test(tc, test_parse_int64_table, 0,
                      sizeof parse_int_cases / sizeof parse_int_cases[0]);
  tcase_add_test(tc, test_parse_uint64);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return check_run(numfmt_suite());
}
