/* Timestamp formatting and parsing: Unix counts and RFC 3339 in UTC.
 *
 * Calendar arithmetic is done here (Howard Hinnant's days_from_civil and
 * civil_from_days, proleptic Gregorian) rather than with timegm()/gmtime_r(),
 * so the result never depends on TZ, the time zone database or the C
 * library's range of time_t.
 *
 * Rounding: every conversion to a coarser unit floors (-1 ns is second -1,
 * 1969-12-31T23:59:59.999999999Z), so that formatted times keep their order.
 * Telegraf truncates toward zero for unix_ms/us; the two only differ before
 * 1970.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <tower/format.h>

#include "buf_internal.h"
#include "numfmt.h"
#include "timefmt.h"

#define NS_PER_S 1000000000LL

static const char *const format_names[] = {
    [TWI_TIME_UNIX] = "unix",       [TWI_TIME_UNIX_MS] = "unix_ms",
    [TWI_TIME_UNIX_US] = "unix_us", [TWI_TIME_UNIX_NS] = "unix_ns",
    [TWI_TIME_RFC3339] = "rfc3339", [TWI_TIME_RFC3339NANO] = "rfc3339nano",
};

/* Nanoseconds per unit of the Unix formats. */
static const int64_t unix_unit[] = {
    [TWI_TIME_UNIX] = NS_PER_S,
    [TWI_TIME_UNIX_MS] = 1000000,
    [TWI_TIME_UNIX_US] = 1000,
    [TWI_TIME_UNIX_NS] = 1,
};

int twi_time_format_id(const char *name) {
  for (size_t i = 0; name && i < sizeof format_names / sizeof format_names[0]; i++)
    if (strcmp(name, format_names[i]) == 0)
      return (int)i;
  return -1;
}

bool tower_time_format_valid(const char *format) {
  return twi_time_format_id(format) >= 0;
}

/* ---- calendar --------------------------------------------------------- */

int64_t twi_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 of y-m-d (m 1..12, d 1..31). */
int64_t twi_days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = twi_floor_div(y, 400);
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

void twi_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = twi_floor_div(z, 146097);
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

bool twi_is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned twi_days_in_month(int64_t y, unsigned m) {
  static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && twi_is_leap(y) ? 29 : mdays[m - 1];
}

/* ---- formatting ------------------------------------------------------- */

static char *put2(char *p, unsigned v) {
  p[0] = (char)('0' + v / 10);
  p[1] = (char)('0' + v % 10);
  return p + 2;
}

/* "YYYY-MM-DDTHH:MM:SS[.fffffffff]Z"; int64 ns always fall in years
 * 1677..2262, so the year has four digits. */
static size_t fmt_rfc3339(char *buf, int64_t ns, bool nano) {
  /* Not ns - sec * NS_PER_S: for INT64_MIN (TOWER_TIME_UNSET) the product
   * overflows. */
  int64_t sec = ns / NS_PER_S, rem = ns % NS_PER_S;
  if (rem < 0) {
    sec--;
    rem += NS_PER_S;
  }
  unsigned frac = (unsigned)rem;
  int64_t days = twi_floor_div(sec, 86400);
  unsigned sod = (unsigned)(sec - days * 86400);
  int64_t y;
  unsigned mo, d;
  twi_civil_from_days(days, &y, &mo, &d);
  char *p = put2(put2(buf, (unsigned)(y / 100)), (unsigned)(y % 100));
  *p++ = '-';
  p = put2(p, mo);
  *p++ = '-';
  p = put2(p, d);
  *p++ = 'T';
  p = put2(p, sod / 3600);
  *p++ = ':';
  p = put2(p, sod / 60 % 60);
  *p++ = ':';
  p = put2(p, sod % 60);
  if (nano && frac) {
    *p++ = '.';
    int n = 9;
    while (frac % 10 == 0) {
      frac /= 10;
      n--;
    }
    for (int i = n - 1; i >= 0; i--, frac /= 10)
      p[i] = (char)('0' + frac % 10);
    p += n;
  }
  *p++ = 'Z';
  *p = '\0';
  return (size_t)(p - buf);
}

size_t twi_fmt_time(char buf[TWI_FMT_TIME_SIZE], int64_t time_ns, twi_time_format id) {
  switch (id) {
  case TWI_TIME_RFC3339:
    return fmt_rfc3339(buf, time_ns, false);
  case TWI_TIME_RFC3339NANO:
    return fmt_rfc3339(buf, time_ns, true);
  default:
    return twi_fmt_int64(buf, twi_floor_div(time_ns, unix_unit[id]));
  }
}

int tower_format_time(tower_buf *out, int64_t time_ns, const char *format) {
  int id = twi_time_format_id(format);
  if (id < 0)
    return -EINVAL;
  char buf[TWI_FMT_TIME_SIZE];
  size_t n = twi_fmt_time(buf, time_ns, (twi_time_format)id);
  return twi_buf_put(out, buf, n);
}

/* ---- parsing ---------------------------------------------------------- */

/* Reads exactly n digits at s[*i]; false if they are not all there. */
static bool take_digits(const char *s, size_t len, size_t *i, int n, unsigned *out) {
  unsigned v = 0;
  for (int k = 0; k < n; k++, (*i)++) {
    if (*i >= len || s[*i] < '0' || s[*i] > '9')
      return false;
    v = v * 10 + (unsigned)(s[*i] - '0');
  }
  *out = v;
  return true;
}

static bool take_char(const char *s, size_t len, size_t *i, char c1, char c2) {
  if (*i < len && (s[*i] == c1 || s[*i] == c2)) {
    (*i)++;
    return true;
  }
  return false;
}

/* Reads ".d+" at s[*i] as nanoseconds; digits past the ninth are dropped. */
static bool take_fraction(const char *s, size_t len, size_t *i, int64_t *ns) {
  *ns = 0;
  if (*i >= len || s[*i] != '.')
    return true;
  size_t start = ++(*i);
  int64_t scale = 100000000;
  for (; *i < len && s[*i] >= '0' && s[*i] <= '9'; (*i)++, scale /= 10)
    *ns += (s[*i] - '0') * scale;
  return *i > start;
}

/* "Z" or "+hh:mm" / "-hh:mm" at the end; offset in seconds east of UTC. */
static bool take_zone(const char *s, size_t len, size_t *i, int64_t *offset) {
  *offset = 0;
  if (take_char(s, len, i, 'Z', 'z'))
    return true;
  if (*i >= len || (s[*i] != '+' && s[*i] != '-'))
    return false;
  int sign = s[(*i)++] == '-' ? -1 : 1;
  unsigned hh, mm;
  if (!take_digits(s, len, i, 2, &hh) || !take_char(s, len, i, ':', ':') ||
      !take_digits(s, len, i, 2, &mm) || hh > 23 || mm > 59)
    return false;
  *offset = sign * (int64_t)(hh * 3600 + mm * 60);
  return true;
}

/* RFC 3339 date-time (T or t, Z or z as the RFC allows; seconds 00..59:
 * like Go, leap second 60 is rejected). */
static int parse_rfc3339(const char *s, size_t len, int64_t *out) {
  size_t i = 0;
  unsigned y, mo, d, h, mi, sec;
  int64_t frac, offset;
  if (!take_digits(s, len, &i, 4, &y) || !take_char(s, len, &i, '-', '-') ||
      !take_digits(s, len, &i, 2, &mo) || !take_char(s, len, &i, '-', '-') ||
      !take_digits(s, len, &i, 2, &d) || !take_char(s, len, &i, 'T', 't') ||
      !take_digits(s, len, &i, 2, &h) || !take_char(s, len, &i, ':', ':') ||
      !take_digits(s, len, &i, 2, &mi) || !take_char(s, len, &i, ':', ':') ||
      !take_digits(s, len, &i, 2, &sec) || !take_fraction(s, len, &i, &frac) ||
      !take_zone(s, len, &i, &offset) || i != len)
    return -EINVAL;
  if (mo < 1 || mo > 12 || d < 1 || d > twi_days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
    return -EINVAL;
  int64_t secs = twi_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
  if (secs < 0 && frac > 0) {
    /* Borrow a second so that the first second above INT64_MIN fits. */
    secs++;
    frac -= NS_PER_S;
  }
  int64_t ns;
  if (__builtin_mul_overflow(secs, NS_PER_S, &ns) || __builtin_add_overflow(ns, frac, &ns))
    return -EINVAL;
  *out = ns;
  return 0;
}

/* "-?d+(.d+)?" in units of `unit` ns; fraction digits finer than 1 ns are
 * dropped. */
static int parse_unix(const char *s, size_t len, int64_t unit, int64_t *out) {
  bool neg = len > 0 && s[0] == '-';
  size_t i = neg, start = i;
  while (i < len && s[i] >= '0' && s[i] <= '9')
    i++;
  uint64_t whole;
  if (i == start || twi_parse_uint64(s + start, i - start, &whole) < 0)
    return -EINVAL;
  int64_t frac = 0;
  if (i < len && s[i] == '.') {
    size_t fstart = ++i;
    for (int64_t scale = unit / 10; i < len && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
      frac += scale * (s[i] - '0');
    if (i == fstart)
      return -EINVAL;
  }
  if (i != len)
    return -EINVAL;
  int64_t ns;
  if (whole > INT64_MAX || __builtin_mul_overflow((int64_t)whole, unit, &ns) ||
      __builtin_add_overflow(ns, frac, &ns))
    return -EINVAL;
  *out = neg ? -ns : ns;
  return 0;
}

int tower_parse_time(const char *text, size_t len, const char *format, int64_t *out_ns) {
  int id = twi_time_format_id(format);
  if (id < 0 || !text)
    return -EINVAL;
  if (id == TWI_TIME_RFC3339 || id == TWI_TIME_RFC3339NANO)
    return parse_rfc3339(text, len, out_ns);
  return parse_unix(text, len, unix_unit[id], out_ns);
}
