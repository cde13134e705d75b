/* Timestamp formats (core/format/timefmt.c). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tower/format.h>

#include "timefmt.h"
#include "check_run.h"

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ck_abort_msg(__VA_ARGS__);                                                                   \
  } while (0)

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}

static const struct {
  int64_t ns;
  const char *format;
  const char *want;
} format_cases[] = {
    {0, "unix", "0"},
    {0, "unix_ms", "0"},
    {0, "unix_us", "0"},
    {0, "unix_ns", "0"},
    {0, "rfc3339", "1970-01-01T00:00:00Z"},
    {0, "rfc3339nano", "1970-01-01T00:00:00Z"},
    {1700000000123456789, "unix", "1700000000"},
    {1700000000123456789, "unix_ms", "1700000000123"},
    {1700000000123456789, "unix_us", "1700000000123456"},
    {1700000000123456789, "unix_ns", "1700000000123456789"},
    {1700000000123456789, "rfc3339", "2023-11-14T22:13:20Z"},
    {1700000000123456789, "rfc3339nano", "2023-11-14T22:13:20.123456789Z"},
    {1700000000500000000, "rfc3339nano", "2023-11-14T22:13:20.5Z"},
    {1700000000000001000, "rfc3339nano", "2023-11-14T22:13:20.000001Z"},
    /* before 1970: floor, so the order of times is kept */
    {-1, "unix", "-1"},
    {-1, "unix_ms", "-1"},
    {-1, "unix_us", "-1"},
    {-1, "unix_ns", "-1"},
    {-1, "rfc3339", "1969-12-31T23:59:59Z"},
    {-1, "rfc3339nano", "1969-12-31T23:59:59.999999999Z"},
    {-1000000000, "unix", "-1"},
    {-1000000001, "unix", "-2"},
    /* calendar corners */
    {951782400000000000, "rfc3339", "2000-02-29T00:00:00Z"},
    {951868800000000000, "rfc3339", "2000-03-01T00:00:00Z"},
    {1709164800000000000, "rfc3339", "2024-02-29T00:00:00Z"},
    {4107542400000000000, "rfc3339", "2100-03-01T00:00:00Z"},
    {946684799000000000, "rfc3339", "1999-12-31T23:59:59Z"},
    {-2208988800000000000, "rfc3339", "1900-01-01T00:00:00Z"},
    /* the int64 range, TOWER_TIME_UNSET included */
    {INT64_MAX, "rfc3339nano", "2262-04-11T23:47:16.854775807Z"},
    {INT64_MIN, "rfc3339nano", "1677-09-21T00:12:43.145224192Z"},
    {INT64_MIN, "unix", "-9223372037"},
    {INT64_MIN, "unix_ns", "-9223372036854775808"},
};

START_TEST(test_format_table) {
  tower_buf *b = tower_buf_new(0);
  ck_assert_int_eq(tower_buf_append_str(b, ">"), 0);
  ck_assert_int_eq(tower_format_time(b, format_cases[_i].ns, format_cases[_i].format), 0);
  ck_assert_str_eq(tower_buf_data(b) + 1, format_cases[_i].want);
  tower_buf_free(b);
}
END_TEST

START_TEST(test_format_names) {
  const char *good[] = {"unix", "unix_ms", "unix_us", "unix_ns", "rfc3339", "rfc3339nano"};
  const char *bad[] = {"", "UNIX", "unix_s", "rfc3339 ", "2006-01-02", "iso8601"};
  for (size_t i = 0; i < 6; i++) {
    ck_assert(tower_time_format_valid(good[i]));
    ck_assert_int_eq(twi_time_format_id(good[i]), (int)i);
    ck_assert(!tower_time_format_valid(bad[i]));
  }
  ck_assert(!tower_time_format_valid(NULL));
  tower_buf *b = tower_buf_new(0);
  ck_assert_int_eq(tower_format_time(b, 0, "iso"), -EINVAL);
  ck_assert_uint_eq(tower_buf_len(b), 0);
  int64_t ns;
  ck_assert_int_eq(tower_parse_time("0", 1, "iso", &ns), -EINVAL);
  tower_buf_free(b);
}
END_TEST

static const struct {
  const char *text;
  const char *format;
  int rc;
  int64_t ns;
} parse_cases[] = {
    {"2023-11-14T22:13:20Z", "rfc3339", 0, 1700000000000000000},
    {"2023-11-14T22:13:20.123456789Z", "rfc3339", 0, 1700000000123456789},
    {"2023-11-14T22:13:20.123456789Z", "rfc3339nano", 0, 1700000000123456789},
    {"2023-11-14T22:13:20.5Z", "rfc3339nano", 0, 1700000000500000000},
    {"2023-11-14T22:13:20.1234567891234Z", "rfc3339nano", 0, 1700000000123456789},
    {"2023-11-14t22:13:20z", "rfc3339", 0, 1700000000000000000},
    {"2023-11-15T03:43:20+05:30", "rfc3339", 0, 1700000000000000000},
    {"2023-11-14T14:13:20-08:00", "rfc3339", 0, 1700000000000000000},
    {"2023-11-14T22:13:20+00:00", "rfc3339", 0, 1700000000000000000},
    {"2023-11-14T22:13:20-00:00", "rfc3339", 0, 1700000000000000000},
    {"1970-01-01T00:00:00Z", "rfc3339", 0, 0},
    {"1969-12-31T23:59:59.999999999Z", "rfc3339nano", 0, -1},
    {"2000-02-29T00:00:00Z", "rfc3339", 0, 951782400000000000},
    {"2262-04-11T23:47:16.854775807Z", "rfc3339nano", 0, INT64_MAX},
    {"1677-09-21T00:12:43.145224193Z", "rfc3339nano", 0, INT64_MIN + 1},
    {"2262-04-11T23:47:16.854775808Z", "rfc3339nano", -EINVAL, 0}, /* past int64 */
    {"9999-12-31T23:59:59Z", "rfc3339", -EINVAL, 0},
    {"1600-01-01T00:00:00Z", "rfc3339", -EINVAL, 0},
    {"2023-02-29T00:00:00Z", "rfc3339", -EINVAL, 0},
    {"1900-02-29T00:00:00Z", "rfc3339", -EINVAL, 0},
    {"2023-04-31T00:00:00Z", "rfc3339", -EINVAL, 0},
    {"2023-13-01T00:00:00Z", "rfc3339", -EINVAL, 0},
    {"2023-00-01T00:00:00Z", "rfc3339", -EINVAL, 0},
    {"2023-01-00T00:00:00Z", "rfc3339", -EINVAL, 0},
    {"2023-01-01T24:00:00Z", "rfc3339", -EINVAL, 0},
    {"2023-01-01T00:60:00Z", "rfc3339", -EINVAL, 0},
    {"2023-01-01T00:00:60Z", "rfc3339", -EINVAL, 0},
    {"2023-01-01T00:00:00", "rfc3339", -EINVAL, 0},
    {"2023-01-01T00:00:00+0530", "rfc3339", -EINVAL, 0},
    {"2023-01-01T00:00:00+24:00", "rfc3339", -EINVAL, 0},
    {"2023-01-01T00:00:00.Z", "rfc3339", -EINVAL, 0},
    {"2023-01-01 00:00:00Z", "rfc3339", -EINVAL, 0},
    {"2023-1-01T00:00:00Z", "rfc3339", -EINVAL, 0},
    {"2023-01-01T00:00:00Zjunk", "rfc3339", -EINVAL, 0},
    {"", "rfc3339", -EINVAL, 0},
    {"1700000000", "unix", 0, 1700000000000000000},
    {"1700000000.5", "unix", 0, 1700000000500000000},
    {"-1.5", "unix", 0, -1500000000},
    {"1700000000123", "unix_ms", 0, 1700000000123000000},
    {"1700000000123.456789", "unix_ms", 0, 1700000000123456789},
    {"1700000000123456", "unix_us", 0, 1700000000123456000},
    {"1700000000123456789", "unix_ns", 0, 1700000000123456789},
    {"1.9", "unix_ns", 0, 1},
    {"0", "unix", 0, 0},
    {"9223372036", "unix", 0, 9223372036000000000},
    {"9223372037", "unix", -EINVAL, 0},
    {"99999999999999999999", "unix_ns", -EINVAL, 0},
    {"", "unix", -EINVAL, 0},
    {"-", "unix", -EINVAL, 0},
    {"+1", "unix", -EINVAL, 0},
    {"1.", "unix", -EINVAL, 0},
    {".5", "unix", -EINVAL, 0},
    {"12a", "unix", -EINVAL, 0},
    {" 1", "unix", -EINVAL, 0},
    {"1e9", "unix", -EINVAL, 0},
};

START_TEST(test_parse_table) {
  int64_t ns = 42;
  const char *t = parse_cases[_i].text;
  int rc = tower_parse_time(t, strlen(t), parse_cases[_i].format, &ns);
  ck_assert_msg(rc == parse_cases[_i].rc, "\"%s\" as %s: rc %d", t, parse_cases[_i].format, rc);
  ck_assert_int_eq(ns, rc ? 42 : parse_cases[_i].ns);
}
END_TEST

/* Only len bytes are read: the text need not be NUL-terminated. */
START_TEST(test_parse_length) {
  int64_t ns;
  const char *t = "2023-11-14T22:13:20Zgarbage";
  ck_assert_int_eq(tower_parse_time(t, 20, "rfc3339", &ns), 0);
  ck_assert_int_eq(ns, 1700000000000000000);
  ck_assert_int_eq(tower_parse_time("123456", 3, "unix", &ns), 0);
  ck_assert_int_eq(ns, 123000000000);
}
END_TEST

/* Every day of the int64 range: midnight formats as the next date and
 * parses back. */
START_TEST(test_every_day) {
  char buf[TWI_FMT_TIME_SIZE], prev[TWI_FMT_TIME_SIZE] = "";
  int64_t first = -106751 * 86400LL, last = 106750 * 86400LL;
  for (int64_t s = first; s <= last; s += 86400) {
    int64_t ns = s * 1000000000, back;
    size_t n = twi_fmt_time(buf, ns, TWI_TIME_RFC3339);
    CHECK(n == 20 && strcmp(buf + 10, "T00:00:00Z") == 0, "%lld: %s", (long long)s, buf);
    CHECK(strcmp(prev, buf) < 0, "%s not after %s", buf, prev);
    CHECK(tower_parse_time(buf, n, "rfc3339", &back) == 0 && back == ns, "%s", buf);
    memcpy(prev, buf, sizeof buf);
  }
}
END_TEST

/* Random times survive rfc3339nano and the Unix formats (floored). */
START_TEST(test_roundtrip_random) {
  char buf[TWI_FMT_TIME_SIZE];
  static const int64_t unit[] = {1000000000, 1000000, 1000, 1};
  for (int i = 0; i < 200000; i++) {
    int64_t ns = (int64_t)rnd(), back;
    if (ns == INT64_MIN)
      continue;
    size_t n = twi_fmt_time(buf, ns, TWI_TIME_RFC3339NANO);
    CHECK(tower_parse_time(buf, n, "rfc3339nano", &back) == 0 && back == ns, "%s", buf);
    for (int f = TWI_TIME_UNIX; f <= TWI_TIME_UNIX_NS; f++) {
      n = twi_fmt_time(buf, ns, (twi_time_format)f);
      int64_t floor = ns / unit[f] - (ns % unit[f] < 0);
      CHECK(strtoll(buf, NULL, 10) == floor, "%lld format %d: %s", (long long)ns, f, buf);
    }
    n = twi_fmt_time(buf, ns, TWI_TIME_RFC3339);
    int64_t sec = ns / 1000000000 - (ns % 1000000000 < 0);
    CHECK(tower_parse_time(buf, n, "rfc3339", &back) == 0 && back == sec * 1000000000, "%s", buf);
  }
}
END_TEST

/* TZ plays no part. */
START_TEST(test_timezone_independent) {
  setenv("TZ", "Asia/Seoul", 1);
  tzset();
  char buf[TWI_FMT_TIME_SIZE];
  twi_fmt_time(buf, 1700000000000000000, TWI_TIME_RFC3339);
  ck_assert_str_eq(buf, "2023-11-14T22:13:20Z");
  int64_t ns;
  ck_assert_int_eq(tower_parse_time("2023-11-14T22:13:20Z", 20, "rfc3339", &ns), 0);
  ck_assert_int_eq(ns, 1700000000000000000);
}
END_TEST

static Suite *timefmt_suite(void) {
  Suite *s = suite_create("timefmt");
  TCase *tc = tcase_create("timefmt");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_format_table, 0, sizeof format_cases / sizeof format_cases[0]);
  tcase_add_test(tc, test_format_names);
  tcase_add_loop_test(tc, test_parse_table, 0, sizeof parse_cases / sizeof parse_cases[0]);
  tcase_add_test(tc, test_parse_length);
  tcase_add_test(tc, test_every_day);
  tcase_add_test(tc, test_roundtrip_random);
  tcase_add_test(tc, test_timezone_independent);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return check_run(timefmt_suite());
}
