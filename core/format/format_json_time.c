/* Timestamps as Telegraf reads and writes them: Unix counts ("unix",
 * "unix_ms", "unix_us", "unix_ns") and Go reference-time layouts.
 *
 * Layouts follow Go's time package (format.go) element for element:
 *   year 2006 06 _2006(literal _)  month January Jan 1 01  weekday Monday Mon
 *   day 2 _2 02  day of year __2 002  hour 15 3 03  minute 4 04  second 5 05
 *   fraction .0 .00 ... .000000000 (fixed) and .9 ... .999999999 (trailing
 *   zeros dropped), with ',' instead of '.' too
 *   AM/PM PM pm  zones MST, Z0700 Z07:00 Z07 Z070000 Z07:00:00 (Z for UTC)
 *   and -0700 -07:00 -07 -070000 -07:00:00
 * and the names of Go's layout constants are accepted in any case as
 * Telegraf's internal.ParseTimestamp does (ANSIC, UnixDate, RubyDate,
 * RFC822, RFC822Z, RFC850, RFC1123, RFC1123Z, RFC3339, RFC3339Nano, Stamp,
 * StampMilli, StampMicro, StampNano).
 *
 * Parsing keeps Go's rules: a space in the layout matches one or more
 * spaces, "1"/"2"/"3"/"4"/"5" take one or two digits and "01"... exactly
 * two, month and weekday names match case-insensitively (weekdays are
 * checked but otherwise ignored), a fraction in the text right after the
 * seconds is read even when the layout has none, hours/minutes/seconds and
 * the day of the month are range checked, and missing fields default to
 * January 1st, 00:00:00 of year 0 (which Telegraf then moves to the current
 * year). The MST element resolves zone abbreviations the way Telegraf does
 * since v1.27: "UTC", "GMT" and "GMT+h" directly, any other name through the
 * zone database (EST, MST, CET... exist there; PST does not and is an
 * error). Unlike Go, no lookup is made in the machine's own zone, so the
 * result never depends on the host.
 *
 * Calendar arithmetic is proleptic Gregorian and independent of TZ and the
 * C library.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "format_json.h"
#include "timefmt.h"

#define NS_PER_S 1000000000LL

/* ---- calendar --------------------------------------------------------- */

/* Days since 1970-01-01 of y-m-d, linear in d, so a day past the month's
 * end rolls over as Go's time.Date does. The calendar is timefmt.c's. */
static int64_t days_from_civil(int64_t y, int m, int64_t d) {
  return twi_days_from_civil(y, (unsigned)m, 1) + (d - 1);
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  unsigned um, ud;
  twi_civil_from_days(z, y, &um, &ud);
  *m = (int)um;
  *d = (int)ud;
}

static bool is_leap(int64_t y) {
  return twi_is_leap(y);
}

static int days_in_month(int64_t y, int m) {
  return (int)twi_days_in_month(y, (unsigned)m);
}

static const char *const long_months[] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};
static const char *const long_days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};

/* ---- layout elements -------------------------------------------------- */

enum {
  STD_NONE = 0,
  STD_LONG_MONTH,
  STD_MONTH,
  STD_NUM_MONTH,
  STD_ZERO_MONTH,
  STD_LONG_WEEKDAY,
  STD_WEEKDAY,
  STD_DAY,
  STD_UNDER_DAY,
  STD_ZERO_DAY,
  STD_UNDER_YEARDAY,
  STD_ZERO_YEARDAY,
  STD_HOUR,
  STD_HOUR12,
  STD_ZERO_HOUR12,
  STD_MINUTE,
  STD_ZERO_MINUTE,
  STD_SECOND,
  STD_ZERO_SECOND,
  STD_LONG_YEAR,
  STD_YEAR,
  STD_PM,
  STD_PM_LOWER,
  STD_TZ,
  /* numeric zones: ISO variants accept "Z" for UTC */
  STD_ISO_TZ,
  STD_ISO_SECONDS_TZ,
  STD_ISO_SHORT_TZ,
  STD_ISO_COLON_TZ,
  STD_ISO_COLON_SECONDS_TZ,
  STD_NUM_TZ,
  STD_NUM_SECONDS_TZ,
  STD_NUM_SHORT_TZ,
  STD_NUM_COLON_TZ,
  STD_NUM_COLON_SECONDS_TZ,
  STD_FRAC0,
  STD_FRAC9,
};

/* A literal run of the layout followed by one element (STD_NONE at the
 * end). */
typedef struct chunk {
  uint16_t lit, lit_len;   /* offset and length of the literal in the layout */
  uint16_t elem, elem_len; /* the element's text, for messages */
  uint8_t std;
  uint8_t digits; /* fractions: number of digits in the layout */
  char sep;       /* fractions: '.' or ',' */
} chunk;

#define ZONE_CACHE 4

typedef struct zone_entry {
  char name[8];
  twi_zone *zone; /* NULL: not in the database */
} zone_entry;

struct twi_gotime {
  int64_t unix_unit; /* ns per unit for the Unix formats, else 0 */
  char *layout;
  chunk *chunks;
  size_t nchunks;
  /* MST: abbreviations resolved through the zone database */
  zone_entry cache[ZONE_CACHE];
  size_t ncache;
};

typedef struct tz_word {
  const char *text;
  uint8_t std;
} tz_word;

/* Zone elements by the character they start with, longest first. */
static const tz_word dash_words[] = {
    {"-070000", STD_NUM_SECONDS_TZ}, {"-07:00:00", STD_NUM_COLON_SECONDS_TZ},
    {"-0700", STD_NUM_TZ},           {"-07:00", STD_NUM_COLON_TZ},
    {"-07", STD_NUM_SHORT_TZ},       {NULL, 0}};
static const tz_word z_words[] = {
    {"Z070000", STD_ISO_SECONDS_TZ}, {"Z07:00:00", STD_ISO_COLON_SECONDS_TZ},
    {"Z0700", STD_ISO_TZ},           {"Z07:00", STD_ISO_COLON_TZ},
    {"Z07", STD_ISO_SHORT_TZ},       {NULL, 0}};

static bool has(const char *s, size_t len, size_t i, const char *word) {
  size_t n = strlen(word);
  return i + n <= len && memcmp(s + i, word, n) == 0;
}

static bool lower_at(const char *s, size_t len, size_t i) {
  return i < len && s[i] >= 'a' && s[i] <= 'z';
}

static bool digit_at(const char *s, size_t len, size_t i) {
  return i < len && s[i] >= '0' && s[i] <= '9';
}

/* The element starting at l[i], if any: sets *std and returns its length. */
static size_t elem_words(const char *l, size_t len, size_t i, uint8_t *std) {
  const tz_word *w = l[i] == '-' ? dash_words : l[i] == 'Z' ? z_words : NULL;
  for (; w && w->text; w++)
    if (has(l, len, i, w->text)) {
      *std = w->std;
      return strlen(w->text);
    }
  return 0;
}

static size_t elem_names(const char *l, size_t len, size_t i, uint8_t *std) {
  if (has(l, len, i, "January"))
    return *std = STD_LONG_MONTH, 7;
  if (has(l, len, i, "Jan") && !lower_at(l, len, i + 3))
    return *std = STD_MONTH, 3;
  if (has(l, len, i, "Monday"))
    return *std = STD_LONG_WEEKDAY, 6;
  if (has(l, len, i, "Mon") && !lower_at(l, len, i + 3))
    return *std = STD_WEEKDAY, 3;
  if (has(l, len, i, "MST"))
    return *std = STD_TZ, 3;
  if (has(l, len, i, "PM"))
    return *std = STD_PM, 2;
  if (has(l, len, i, "pm"))
    return *std = STD_PM_LOWER, 2;
  return 0;
}

static size_t elem_digits(const char *l, size_t len, size_t i, uint8_t *std) {
  static const uint8_t zero_x[] = {STD_ZERO_MONTH,  STD_ZERO_DAY,    STD_ZERO_HOUR12,
                                   STD_ZERO_MINUTE, STD_ZERO_SECOND, STD_YEAR};
  switch (l[i]) {
  case '0':
    if (i + 1 < len && l[i + 1] >= '1' && l[i + 1] <= '6')
      return *std = zero_x[l[i + 1] - '1'], 2;
    if (has(l, len, i, "002"))
      return *std = STD_ZERO_YEARDAY, 3;
    return 0;
  case '1':
    if (has(l, len, i, "15"))
      return *std = STD_HOUR, 2;
    return *std = STD_NUM_MONTH, 1;
  case '2':
    if (has(l, len, i, "2006"))
      return *std = STD_LONG_YEAR, 4;
    return *std = STD_DAY, 1;
  case '_':
    /* "_2006" is a literal '_' and the year: handled by the caller */
    if (has(l, len, i, "_2"))
      return *std = STD_UNDER_DAY, 2;
    if (has(l, len, i, "__2"))
      return *std = STD_UNDER_YEARDAY, 3;
    return 0;
  case '3':
    return *std = STD_HOUR12, 1;
  case '4':
    return *std = STD_MINUTE, 1;
  case '5':
    return *std = STD_SECOND, 1;
  }
  return 0;
}

/* A fraction at l[i] ('.' or ',' then a run of '0' or '9' not followed by
 * another digit). */
static size_t elem_fraction(const char *l, size_t len, size_t i, chunk *c) {
  if ((l[i] != '.' && l[i] != ',') || i + 1 >= len || (l[i + 1] != '0' && l[i + 1] != '9'))
    return 0;
  size_t j = i + 1;
  while (j < len && l[j] == l[i + 1])
    j++;
  if (digit_at(l, len, j))
    return 0;
  c->std = l[i + 1] == '0' ? STD_FRAC0 : STD_FRAC9;
  c->digits = (uint8_t)(j - i - 1 > 255 ? 255 : j - i - 1);
  c->sep = l[i];
  return j - i;
}

/* Go's nextStdChunk: finds the next element from l[i]; fills c and returns
 * where the layout goes on. */
static size_t next_chunk(const char *l, size_t len, size_t i, chunk *c) {
  memset(c, 0, sizeof *c);
  c->lit = (uint16_t)i;
  for (size_t j = i; j < len; j++) {
    uint8_t std = 0;
    size_t n = elem_names(l, len, j, &std);
    if (!n)
      n = elem_words(l, len, j, &std);
    if (!n && has(l, len, j, "_2006")) {
      j++; /* the '_' is literal */
      n = 4;
      std = STD_LONG_YEAR;
    }
    if (!n)
      n = elem_digits(l, len, j, &std);
    if (!n && (n = elem_fraction(l, len, j, c)))
      std = c->std;
    if (n) {
      c->lit_len = (uint16_t)(j - i);
      c->std = std;
      c->elem = (uint16_t)j;
      c->elem_len = (uint16_t)n;
      return j + n;
    }
  }
  c->lit_len = (uint16_t)(len - i);
  return len;
}

/* ---- compiling -------------------------------------------------------- */

static const struct {
  const char *name, *layout;
} named_layouts[] = {
    {"ansic", "Mon Jan _2 15:04:05 2006"},
    {"unixdate", "Mon Jan _2 15:04:05 MST 2006"},
    {"rubydate", "Mon Jan 02 15:04:05 -0700 2006"},
    {"rfc822", "02 Jan 06 15:04 MST"},
    {"rfc822z", "02 Jan 06 15:04 -0700"},
    {"rfc850", "Monday, 02-Jan-06 15:04:05 MST"},
    {"rfc1123", "Mon, 02 Jan 2006 15:04:05 MST"},
    {"rfc1123z", "Mon, 02 Jan 2006 15:04:05 -0700"},
    {"rfc3339", "2006-01-02T15:04:05Z07:00"},
    {"rfc3339nano", "2006-01-02T15:04:05.999999999Z07:00"},
    {"stamp", "Jan _2 15:04:05"},
    {"stampmilli", "Jan _2 15:04:05.000"},
    {"stampmicro", "Jan _2 15:04:05.000000"},
    {"stampnano", "Jan _2 15:04:05.000000000"},
};

static const struct {
  const char *name;
  int64_t unit;
} unix_formats[] = {{"unix", NS_PER_S}, {"unix_ms", 1000000}, {"unix_us", 1000}, {"unix_ns", 1}};

static const char *resolve_name(const char *format) {
  for (size_t i = 0; i < sizeof named_layouts / sizeof named_layouts[0]; i++)
    if (strcasecmp(format, named_layouts[i].name) == 0)
      return named_layouts[i].layout;
  return format;
}

static int compile_layout(twi_gotime *t, const char *layout, const char **why) {
  size_t len = strlen(layout);
  if (len == 0 || len >= TWI_GOTIME_MAX_LAYOUT) {
    *why = len ? "the layout is longer than 255 bytes" : "the format is empty";
    return -EINVAL;
  }
  t->layout = strdup(layout);
  t->chunks = calloc(len + 1, sizeof *t->chunks);
  if (!t->layout || !t->chunks)
    return -ENOMEM;
  size_t i = 0, elements = 0;
  do {
    chunk *c = &t->chunks[t->nchunks++];
    i = next_chunk(layout, len, i, c);
    elements += c->std != STD_NONE;
  } while (t->chunks[t->nchunks - 1].std != STD_NONE);
  if (elements == 0) {
    *why = "the layout has no element of Go's reference time (Mon Jan 2 15:04:05 MST 2006); "
           "use unix, unix_ms, unix_us, unix_ns, a layout such as 2006-01-02T15:04:05Z07:00, "
           "or a layout name such as RFC3339";
    return -EINVAL;
  }
  return 0;
}

int twi_gotime_compile(const char *format, bool allow_unix, twi_gotime **out, const char **why) {
  *out = NULL;
  *why = NULL;
  if (!format)
    format = "";
  twi_gotime *t = calloc(1, sizeof *t);
  if (!t)
    return -ENOMEM;
  for (size_t i = 0; i < sizeof unix_formats / sizeof unix_formats[0]; i++)
    if (strcmp(format, unix_formats[i].name) == 0) {
      if (!allow_unix) {
        free(t);
        *why = "a Unix format is not a layout here";
        return -EINVAL;
      }
      t->unix_unit = unix_formats[i].unit;
      *out = t;
      return 0;
    }
  int rc = compile_layout(t, resolve_name(format), why);
  if (rc < 0) {
    twi_gotime_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

void twi_gotime_free(twi_gotime *t) {
  if (!t)
    return;
  for (size_t i = 0; i < t->ncache; i++)
    twi_zone_free(t->cache[i].zone);
  free(t->chunks);
  free(t->layout);
  free(t);
}

bool twi_gotime_is_unix(const twi_gotime *t) {
  return t->unix_unit != 0;
}

/* ---- Unix timestamps -------------------------------------------------- */

int twi_gotime_unix_int(const twi_gotime *t, int64_t v, int64_t *out_ns) {
  int64_t ns;
  if (!t->unix_unit || __builtin_mul_overflow(v, t->unix_unit, &ns))
    return -ERANGE;
  *out_ns = ns;
  return 0;
}

/* floor(m * 2^e * unit) for the double's exact value: the 53-bit mantissa
 * times a unit of at most 1e9 needs 83 bits. */
int twi_gotime_unix_double(const twi_gotime *t, double v, int64_t *out_ns) {
  if (!t->unix_unit || !isfinite(v))
    return -ERANGE;
  int e;
  double frac = frexp(fabs(v), &e);
  uint64_t m = (uint64_t)ldexp(frac, 53);
  e -= 53;
#ifdef __SIZEOF_INT128__
  unsigned __int128 p = (unsigned __int128)m * (uint64_t)t->unix_unit, q;
  if (e >= 0) {
    if (e > 63 || (p << e) >> e != p)
      return -ERANGE;
    q = p << e;
  } else if (-e >= 128) {
    q = 0;
    p = p != 0;
  } else {
    q = p >> -e;
    p &= ((unsigned __int128)1 << -e) - 1; /* the dropped part */
  }
  bool dropped = e < 0 && p != 0;
#else
  long double x = ldexpl((long double)m * t->unix_unit, e);
  long double qf = floorl(x);
  bool dropped = qf != x;
  if (qf > 9.3e18L)
    return -ERANGE;
  uint64_t q = (uint64_t)qf;
#endif
  if (v < 0) {
    /* floor of a negative value: round the magnitude up */
    if (q + dropped > (uint64_t)INT64_MAX + 1)
      return -ERANGE;
    *out_ns = (int64_t)(0 - (uint64_t)(q + dropped));
  } else {
    if (q > INT64_MAX)
      return -ERANGE;
    *out_ns = (int64_t)q;
  }
  return 0;
}

/* A decimal number: sign, digits with at most one '.', optional exponent
 * (what big.Rat.SetString reads for the usual cases). */
typedef struct decimal {
  bool neg;
  const char *mant; /* the mantissa text: digits and maybe one '.' */
  size_t mant_len;
  size_t ndigits;
  int64_t exp10; /* value = integer(digits) * 10^exp10 */
} decimal;

static bool read_exponent(const char *s, size_t len, size_t *i, int64_t *e) {
  *e = 0;
  if (*i >= len || (s[*i] != 'e' && s[*i] != 'E'))
    return true;
  (*i)++;
  bool neg = *i < len && s[*i] == '-';
  *i += *i < len && (s[*i] == '+' || s[*i] == '-');
  if (!digit_at(s, len, *i))
    return false;
  for (; digit_at(s, len, *i); (*i)++)
    if (*e < 1000000) /* saturate: far beyond any int64 timestamp */
      *e = *e * 10 + (s[*i] - '0');
  *e = neg ? -*e : *e;
  return true;
}

static bool read_decimal(const char *s, size_t len, decimal *d) {
  size_t i = 0, frac = 0;
  bool dot = false;
  memset(d, 0, sizeof *d);
  if (i < len && (s[i] == '+' || s[i] == '-'))
    d->neg = s[i++] == '-';
  d->mant = s + i;
  for (; i < len && (digit_at(s, len, i) || (s[i] == '.' && !dot)); i++) {
    if (s[i] == '.')
      dot = true;
    else
      d->ndigits++, frac += dot;
  }
  d->mant_len = (size_t)(s + i - d->mant);
  int64_t e;
  if (d->ndigits == 0 || !read_exponent(s, len, &i, &e) || i != len)
    return false;
  d->exp10 = e - (int64_t)frac;
  return true;
}

/* floor(decimal * 10^shift) as an int64. */
static int decimal_floor(const decimal *d, int64_t shift, int64_t *out) {
  int64_t e = d->exp10 + shift;
  int64_t keep = (int64_t)d->ndigits + (e < 0 ? e : 0); /* digits above the unit */
  uint64_t v = 0;
  bool dropped = false;
  int64_t k = 0;
  for (size_t i = 0; i < d->mant_len; i++) {
    char c = d->mant[i];
    if (c == '.')
      continue;
    if (k++ >= keep) {
      dropped |= c != '0';
    } else if (v > (UINT64_MAX - 9) / 10) {
      return -ERANGE;
    } else {
      v = v * 10 + (uint64_t)(c - '0');
    }
  }
  for (; e > 0 && v != 0; e--)
    if (__builtin_mul_overflow(v, 10, &v))
      return -ERANGE;
  if (d->neg) {
    if (v + dropped > (uint64_t)INT64_MAX + 1 || v + dropped < v)
      return -ERANGE;
    *out = (int64_t)(0 - (v + dropped));
  } else {
    if (v > INT64_MAX)
      return -ERANGE;
    *out = (int64_t)v;
  }
  return 0;
}

/* Telegraf's sanitizeTimestamp with its default separators: spaces are
 * thousands separators and go, the first ',' is the decimal point. */
static size_t sanitize_unix(const char *s, size_t len, char *buf, size_t cap) {
  size_t n = 0;
  bool comma = memchr(s, ',', len) != NULL, replaced = false;
  for (size_t i = 0; i < len && n < cap; i++) {
    if (s[i] == ' ')
      continue;
    if (comma && s[i] == ',' && !replaced) {
      buf[n++] = '.';
      replaced = true;
    } else {
      buf[n++] = s[i];
    }
  }
  return n;
}

static int parse_unix_text(const twi_gotime *t, const char *s, size_t len, int64_t *out_ns,
                           char *why, size_t whylen) {
  char buf[128];
  decimal d;
  size_t n = sanitize_unix(s, len, buf, sizeof buf);
  if (len > sizeof buf || !read_decimal(buf, n, &d)) {
    snprintf(why, whylen, "not a number");
    return -EINVAL;
  }
  int64_t shift = t->unix_unit == NS_PER_S  ? 9
                  : t->unix_unit == 1000000 ? 6
                  : t->unix_unit == 1000    ? 3
                                            : 0;
  if (decimal_floor(&d, shift, out_ns) < 0) {
    snprintf(why, whylen, "out of the range of nanosecond timestamps");
    return -EINVAL;
  }
  return 0;
}

/* ---- parsing layouts -------------------------------------------------- */

typedef struct parsed {
  int64_t year;
  int month, day, yday, hour, min, sec;
  int64_t nsec;
  bool pm, am, utc, has_offset;
  int32_t offset;
  const char *zname; /* MST: the abbreviation in the text */
  size_t zlen;
  const char *range; /* set when a value is out of range */
} parsed;

/* The text still to read. */
typedef struct cursor {
  const char *s;
  size_t n;
} cursor;

static void adv(cursor *v, size_t k) {
  v->s += k;
  v->n -= k;
}

static void cut_spaces(cursor *v) {
  while (v->n && v->s[0] == ' ')
    adv(v, 1);
}

/* Go's skip(): a space in the layout matches a run of spaces. */
static bool skip_literal(const char *lit, size_t llen, cursor *v) {
  while (llen > 0) {
    if (lit[0] == ' ') {
      if (v->n && v->s[0] != ' ')
        return false;
      while (llen && lit[0] == ' ')
        lit++, llen--;
      cut_spaces(v);
      continue;
    }
    if (!v->n || v->s[0] != lit[0])
      return false;
    lit++, llen--;
    adv(v, 1);
  }
  return true;
}

/* One or two digits (exactly `width` when fixed); Go's getnum/getnum3. */
static bool getnum(cursor *v, int width, bool fixed, int *out) {
  int n = 0, val = 0;
  while (n < width && digit_at(v->s, v->n, (size_t)n))
    val = val * 10 + (v->s[n++] - '0');
  if (n == 0 || (fixed && n < width))
    return false;
  adv(v, (size_t)n);
  *out = val;
  return true;
}

/* Index of the name that prefixes the text, case-insensitively; names are
 * the long ones, `short_len` 3 compares their first three letters. */
static int lookup(const char *const *names, int count, size_t short_len, cursor *v) {
  for (int i = 0; i < count; i++) {
    size_t n = short_len ? short_len : strlen(names[i]);
    if (v->n >= n && strncasecmp(v->s, names[i], n) == 0) {
      adv(v, n);
      return i;
    }
  }
  return -1;
}

/* Go's parseNanoseconds on v->s[0..nbytes): the separator then digits;
 * digits past the ninth are read and dropped. */
static bool take_nanos(cursor *v, size_t nbytes, int64_t *ns) {
  if (nbytes < 2 || nbytes > v->n || (v->s[0] != '.' && v->s[0] != ','))
    return false;
  int64_t val = 0, scale = 100000000;
  for (size_t i = 1; i < nbytes; i++, scale /= 10) {
    if (!digit_at(v->s, v->n, i))
      return false;
    val += scale * (v->s[i] - '0');
  }
  *ns = val;
  adv(v, nbytes);
  return true;
}

static size_t digit_run(const cursor *v, size_t from) {
  size_t i = from;
  while (digit_at(v->s, v->n, i))
    i++;
  return i;
}

/* Go's parseSignedOffset: "+h" / "-hh" (hours up to 24) at v[from]; the
 * length read, or 0. */
static size_t signed_offset_len(const cursor *v, size_t from) {
  if (from >= v->n || (v->s[from] != '+' && v->s[from] != '-'))
    return 0;
  size_t end = digit_run(v, from + 1);
  if (end == from + 1)
    return 0;
  int h = 0;
  for (size_t i = from + 1; i < end; i++)
    h = h > 24 ? h : h * 10 + (v->s[i] - '0');
  return h > 24 ? 0 : end - from;
}

/* Go's parseTimeZone: the length of a zone abbreviation, or 0. */
static size_t zone_name_len(const cursor *v) {
  if (v->n < 3)
    return 0;
  if (v->n >= 4 && (memcmp(v->s, "ChST", 4) == 0 || memcmp(v->s, "MeST", 4) == 0))
    return 4;
  if (memcmp(v->s, "GMT", 3) == 0)
    return 3 + signed_offset_len(v, 3);
  if (v->s[0] == '+' || v->s[0] == '-')
    return signed_offset_len(v, 0);
  size_t upper = 0;
  while (upper < 6 && upper < v->n && v->s[upper] >= 'A' && v->s[upper] <= 'Z')
    upper++;
  if (upper == 3)
    return 3;
  if (upper == 4 && (v->s[3] == 'T' || memcmp(v->s, "WITA", 4) == 0))
    return 4;
  if (upper == 5 && v->s[4] == 'T')
    return 5;
  return 0;
}

static bool parse_zone_name(cursor *v, parsed *pt) {
  if (v->n >= 3 && memcmp(v->s, "UTC", 3) == 0) {
    pt->utc = true;
    adv(v, 3);
    return true;
  }
  size_t n = zone_name_len(v);
  if (!n)
    return false;
  pt->zname = v->s;
  pt->zlen = n;
  adv(v, n);
  return true;
}

/* Numeric zones: sign, hh, then mm and ss as the element says. */
static bool parse_zone_offset(cursor *v, uint8_t std, parsed *pt) {
  if ((std >= STD_ISO_TZ && std <= STD_ISO_COLON_SECONDS_TZ) && v->n && v->s[0] == 'Z') {
    adv(v, 1);
    pt->utc = true;
    return true;
  }
  bool colon = std == STD_ISO_COLON_TZ || std == STD_NUM_COLON_TZ ||
               std == STD_ISO_COLON_SECONDS_TZ || std == STD_NUM_COLON_SECONDS_TZ;
  bool secs = std == STD_ISO_SECONDS_TZ || std == STD_NUM_SECONDS_TZ ||
              std == STD_ISO_COLON_SECONDS_TZ || std == STD_NUM_COLON_SECONDS_TZ;
  bool hours_only = std == STD_ISO_SHORT_TZ || std == STD_NUM_SHORT_TZ;
  size_t need = hours_only ? 3 : colon ? (secs ? 9 : 6) : (secs ? 7 : 5);
  if (v->n < need || (v->s[0] != '+' && v->s[0] != '-'))
    return false;
  if (colon && (v->s[3] != ':' || (secs && v->s[6] != ':')))
    return false;
  int part[3] = {0, 0, 0};
  for (int k = 0; k < (hours_only ? 1 : secs ? 3 : 2); k++) {
    size_t at = 1 + (size_t)k * (colon ? 3 : 2);
    if (!digit_at(v->s, v->n, at) || !digit_at(v->s, v->n, at + 1))
      return false;
    part[k] = (v->s[at] - '0') * 10 + (v->s[at + 1] - '0');
  }
  if (part[0] > 24)
    pt->range = "time zone offset hour";
  else if (part[1] > 60)
    pt->range = "time zone offset minute";
  else if (part[2] > 60)
    pt->range = "time zone offset second";
  int32_t off = (part[0] * 60 + part[1]) * 60 + part[2];
  pt->offset = v->s[0] == '-' ? -off : off;
  pt->has_offset = true;
  adv(v, need);
  return true;
}

static bool parse_ampm(cursor *v, const char *pm, const char *am, parsed *pt) {
  if (v->n < 2)
    return false;
  if (memcmp(v->s, pm, 2) == 0)
    pt->pm = true;
  else if (memcmp(v->s, am, 2) == 0)
    pt->am = true;
  else
    return false;
  adv(v, 2);
  return true;
}

static bool parse_year(cursor *v, bool two_digits, parsed *pt) {
  size_t w = two_digits ? 2 : 4;
  if (v->n < w)
    return false;
  int64_t y = 0;
  for (size_t i = 0; i < w; i++) {
    if (!digit_at(v->s, v->n, i))
      return false;
    y = y * 10 + (v->s[i] - '0');
  }
  if (two_digits)
    y += y >= 69 ? 1900 : 2000;
  pt->year = y;
  adv(v, w);
  return true;
}

/* Seconds, and a fraction the layout does not have but the text does. */
static bool parse_seconds(const twi_gotime *t, size_t ci, cursor *v, uint8_t std, parsed *pt) {
  if (!getnum(v, 2, std == STD_ZERO_SECOND, &pt->sec))
    return false;
  if (pt->sec >= 60) {
    pt->range = "second";
    return true;
  }
  if (v->n >= 2 && (v->s[0] == '.' || v->s[0] == ',') && digit_at(v->s, v->n, 1)) {
    uint8_t next = t->chunks[ci + 1].std;
    if (next == STD_FRAC0 || next == STD_FRAC9)
      return true;
    return take_nanos(v, digit_run(v, 1), &pt->nsec);
  }
  return true;
}

static bool parse_fraction(const chunk *c, cursor *v, parsed *pt) {
  if (c->std == STD_FRAC0) {
    size_t nd = 1 + (size_t)c->digits;
    if (v->n < nd)
      return false;
    return take_nanos(v, nd, &pt->nsec);
  }
  /* .999: optional, and any number of digits */
  if (v->n < 2 || (v->s[0] != '.' && v->s[0] != ',') || !digit_at(v->s, v->n, 1))
    return true;
  return take_nanos(v, digit_run(v, 1), &pt->nsec);
}

static bool parse_date_elem(cursor *v, uint8_t std, parsed *pt) {
  int x;
  switch (std) {
  case STD_YEAR:
  case STD_LONG_YEAR:
    return parse_year(v, std == STD_YEAR, pt);
  case STD_MONTH:
  case STD_LONG_MONTH:
    x = lookup(long_months, 12, std == STD_MONTH ? 3 : 0, v);
    pt->month = x + 1;
    return x >= 0;
  case STD_NUM_MONTH:
  case STD_ZERO_MONTH:
    if (!getnum(v, 2, std == STD_ZERO_MONTH, &pt->month))
      return false;
    if (pt->month < 1 || pt->month > 12)
      pt->range = "month";
    return true;
  case STD_WEEKDAY:
  case STD_LONG_WEEKDAY:
    return lookup(long_days, 7, std == STD_WEEKDAY ? 3 : 0, v) >= 0;
  case STD_DAY:
  case STD_UNDER_DAY:
  case STD_ZERO_DAY:
    if (std == STD_UNDER_DAY && v->n && v->s[0] == ' ')
      adv(v, 1);
    return getnum(v, 2, std == STD_ZERO_DAY, &pt->day);
  case STD_UNDER_YEARDAY:
  case STD_ZERO_YEARDAY:
    for (int i = 0; i < 2 && std == STD_UNDER_YEARDAY && v->n && v->s[0] == ' '; i++)
      adv(v, 1);
    return getnum(v, 3, std == STD_ZERO_YEARDAY, &pt->yday);
  }
  return false;
}

static bool parse_elem(const twi_gotime *t, size_t ci, cursor *v, parsed *pt) {
  const chunk *c = &t->chunks[ci];
  switch (c->std) {
  case STD_HOUR:
    if (!getnum(v, 2, false, &pt->hour))
      return false;
    if (pt->hour >= 24)
      pt->range = "hour";
    return true;
  case STD_HOUR12:
  case STD_ZERO_HOUR12:
    if (!getnum(v, 2, c->std == STD_ZERO_HOUR12, &pt->hour))
      return false;
    if (pt->hour > 12)
      pt->range = "hour";
    return true;
  case STD_MINUTE:
  case STD_ZERO_MINUTE:
    if (!getnum(v, 2, c->std == STD_ZERO_MINUTE, &pt->min))
      return false;
    if (pt->min >= 60)
      pt->range = "minute";
    return true;
  case STD_SECOND:
  case STD_ZERO_SECOND:
    return parse_seconds(t, ci, v, c->std, pt);
  case STD_PM:
    return parse_ampm(v, "PM", "AM", pt);
  case STD_PM_LOWER:
    return parse_ampm(v, "pm", "am", pt);
  case STD_TZ:
    return parse_zone_name(v, pt);
  case STD_FRAC0:
  case STD_FRAC9:
    return parse_fraction(c, v, pt);
  }
  if (c->std >= STD_ISO_TZ && c->std <= STD_NUM_COLON_SECONDS_TZ)
    return parse_zone_offset(v, c->std, pt);
  return parse_date_elem(v, c->std, pt);
}

/* ---- finishing a parse ------------------------------------------------ */

#define QUOTE_MAX 40
#define QLEN(n) ((int)((n) > QUOTE_MAX ? QUOTE_MAX : (n)))

static int fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t whylen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, whylen, fmt, ap);
  va_end(ap);
  return -EINVAL;
}

/* Go's day-of-year rules: month and day from yday, and consistency with a
 * month or day also in the text. NULL or what is wrong. */
static const char *apply_yday(parsed *pt) {
  if (pt->yday < 0) {
    pt->month = pt->month < 0 ? 1 : pt->month;
    pt->day = pt->day < 0 ? 1 : pt->day;
    return NULL;
  }
  int yd = pt->yday, m = 1;
  if (yd < 1 || yd > 365 + is_leap(pt->year))
    return "day-of-year out of range";
  while (yd > days_in_month(pt->year, m))
    yd -= days_in_month(pt->year, m++);
  if (pt->month >= 0 && pt->month != m)
    return "day-of-year does not match month";
  if (pt->day >= 0 && pt->day != yd)
    return "day-of-year does not match day";
  pt->month = m;
  pt->day = yd;
  return NULL;
}

static int64_t current_year(void) {
  int64_t y;
  int m, d;
  civil_from_days(twi_floor_div((int64_t)time(NULL), 86400), &y, &m, &d);
  return y;
}

/* The zone named by an MST element, from the zone database, cached. */
static const twi_zone *abbrev_zone(twi_gotime *t, const char *name, size_t len, bool *found) {
  for (size_t i = 0; i < t->ncache && i < ZONE_CACHE; i++)
    if (strlen(t->cache[i].name) == len && memcmp(t->cache[i].name, name, len) == 0) {
      *found = t->cache[i].zone != NULL;
      return t->cache[i].zone;
    }
  zone_entry *e = &t->cache[t->ncache++ % ZONE_CACHE];
  twi_zone_free(e->zone);
  memcpy(e->name, name, len);
  e->name[len] = '\0';
  const char *why;
  e->zone = NULL;
  *found = twi_zone_load(e->name, &e->zone, &why) == 0 && e->zone;
  return e->zone;
}

/* Telegraf's handling of zone abbreviations (internal.parseTime): an
 * offset Go knows (UTC, GMT+h, a numeric zone next to it) is used; else the
 * name is looked up in the zone database and the wall time read there. */
static int abbrev_to_utc(twi_gotime *t, const parsed *pt, int64_t wall, int64_t *secs, char *why,
                         size_t whylen) {
  int32_t off = 0;
  if (pt->has_offset) {
    off = pt->offset;
  } else if (pt->zlen > 3 && memcmp(pt->zname, "GMT", 3) == 0) {
    int h = 0;
    for (size_t i = 4; i < pt->zlen; i++)
      h = h * 10 + (pt->zname[i] - '0');
    off = (pt->zname[3] == '-' ? -h : h) * 3600;
  }
  if (off != 0) {
    *secs = wall - off;
    return 0;
  }
  bool found;
  const twi_zone *z = abbrev_zone(t, pt->zname, pt->zlen, &found);
  if (!found)
    return fail(why, whylen, "cannot resolve time zone abbreviation \"%.*s\"", (int)pt->zlen,
                pt->zname);
  int32_t zoff = 0;
  if (!pt->has_offset && !twi_zone_lookup_name(z, pt->zname, pt->zlen, wall, &zoff))
    zoff = 0;
  *secs = wall - zoff;
  return 0;
}

static int finish(twi_gotime *t, parsed *pt, const twi_zone *zone, int64_t *out_ns, char *why,
                  size_t whylen) {
  if (pt->pm && pt->hour < 12)
    pt->hour += 12;
  else if (pt->am && pt->hour == 12)
    pt->hour = 0;
  const char *bad = apply_yday(pt);
  if (!bad && (pt->day < 1 || pt->day > days_in_month(pt->year, pt->month)))
    bad = "day out of range";
  if (bad)
    return fail(why, whylen, "%s", bad);
  if (pt->year == 0) /* Telegraf: a layout without a year means this year */
    pt->year = current_year();
  int64_t wall = days_from_civil(pt->year, pt->month, pt->day) * 86400 + pt->hour * 3600 +
                 pt->min * 60 + pt->sec;
  int64_t secs = wall;
  if (pt->utc)
    secs = wall;
  else if (pt->zname) {
    int rc = abbrev_to_utc(t, pt, wall, &secs, why, whylen);
    if (rc)
      return rc;
  } else if (pt->has_offset)
    secs = wall - pt->offset;
  else
    secs = twi_zone_to_utc(zone, wall);
  if (secs < 0 && pt->nsec > 0) {
    /* borrow a second so that the first second above INT64_MIN fits */
    secs++;
    pt->nsec -= NS_PER_S;
  }
  if (__builtin_mul_overflow(secs, NS_PER_S, out_ns) ||
      __builtin_add_overflow(*out_ns, pt->nsec, out_ns))
    return fail(why, whylen, "out of the range of nanosecond timestamps (1677..2262)");
  return 0;
}

int twi_gotime_parse(twi_gotime *t, const char *s, size_t len, const twi_zone *zone,
                     int64_t *out_ns, char *why, size_t whylen) {
  if (t->unix_unit)
    return parse_unix_text(t, s, len, out_ns, why, whylen);
  cursor v = {s, len};
  parsed pt = {.month = -1, .day = -1, .yday = -1};
  for (size_t ci = 0; ci < t->nchunks; ci++) {
    const chunk *c = &t->chunks[ci];
    if (!skip_literal(t->layout + c->lit, c->lit_len, &v))
      return fail(why, whylen, "cannot parse \"%.*s\" as \"%.*s\"", QLEN(v.n), v.s, (int)c->lit_len,
                  t->layout + c->lit);
    if (c->std == STD_NONE) {
      if (v.n)
        return fail(why, whylen, "extra text \"%.*s\"", QLEN(v.n), v.s);
      break;
    }
    cursor hold = v;
    bool ok = parse_elem(t, ci, &v, &pt);
    if (pt.range)
      return fail(why, whylen, "%s out of range", pt.range);
    if (!ok)
      return fail(why, whylen, "cannot parse \"%.*s\" as \"%.*s\"", QLEN(hold.n), hold.s,
                  (int)c->elem_len, t->layout + c->elem);
  }
  return finish(t, &pt, zone, out_ns, why, whylen);
}

/* ---- formatting ------------------------------------------------------- */

typedef struct civil {
  int64_t year;
  int month, day, yday, wday, hour, min, sec;
  int64_t nsec;
} civil;

static void to_civil(int64_t ns, civil *c) {
  int64_t secs = twi_floor_div(ns, NS_PER_S), days = twi_floor_div(secs, 86400);
  int64_t sod = secs - days * 86400;
  c->nsec = ns % NS_PER_S; /* not ns - secs * 1e9: that overflows near INT64_MIN */
  c->nsec += c->nsec < 0 ? NS_PER_S : 0;
  civil_from_days(days, &c->year, &c->month, &c->day);
  c->yday = (int)(days - days_from_civil(c->year, 1, 1)) + 1;
  int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
  c->wday = (int)(w < 0 ? w + 7 : w);
  c->hour = (int)(sod / 3600);
  c->min = (int)(sod / 60 % 60);
  c->sec = (int)(sod % 60);
}

/* Go's appendInt(b, x, width): zero-padded to width, '-' before the
 * padding for negative values. */
static char *put_int(char *p, int64_t x, int width) {
  char tmp[24];
  int n = 0;
  uint64_t u = x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
  do
    tmp[n++] = (char)('0' + u % 10);
  while ((u /= 10) != 0);
  if (x < 0)
    *p++ = '-';
  for (int i = n; i < width; i++)
    *p++ = '0';
  while (n > 0)
    *p++ = tmp[--n];
  return p;
}

static char *put_space_padded(char *p, int x, int width) {
  char tmp[8];
  char *e = put_int(tmp, x, 0);
  for (int i = (int)(e - tmp); i < width; i++)
    *p++ = ' ';
  memcpy(p, tmp, (size_t)(e - tmp));
  return p + (e - tmp);
}

static char *put_str(char *p, const char *s, size_t n) {
  memcpy(p, s, n);
  return p + n;
}

static char *put_fraction(char *p, const chunk *c, int64_t nsec) {
  int n = c->digits > 9 ? 9 : c->digits;
  if (c->std == STD_FRAC9 && nsec == 0)
    return p;
  char digits[10];
  put_int(digits, nsec, 9);
  if (c->std == STD_FRAC9)
    while (n > 0 && digits[n - 1] == '0')
      n--;
  if (n == 0)
    return p;
  *p++ = c->sep;
  return put_str(p, digits, (size_t)n);
}

/* Zones in UTC: "Z" for the ISO elements, "+00..." for the others. */
static char *put_utc_zone(char *p, uint8_t std) {
  static const char *const text[] = {
      [STD_ISO_TZ - STD_ISO_TZ] = "Z",
      [STD_ISO_SECONDS_TZ - STD_ISO_TZ] = "Z",
      [STD_ISO_SHORT_TZ - STD_ISO_TZ] = "Z",
      [STD_ISO_COLON_TZ - STD_ISO_TZ] = "Z",
      [STD_ISO_COLON_SECONDS_TZ - STD_ISO_TZ] = "Z",
      [STD_NUM_TZ - STD_ISO_TZ] = "+0000",
      [STD_NUM_SECONDS_TZ - STD_ISO_TZ] = "+000000",
      [STD_NUM_SHORT_TZ - STD_ISO_TZ] = "+00",
      [STD_NUM_COLON_TZ - STD_ISO_TZ] = "+00:00",
      [STD_NUM_COLON_SECONDS_TZ - STD_ISO_TZ] = "+00:00:00",
  };
  const char *s = text[std - STD_ISO_TZ];
  return put_str(p, s, strlen(s));
}

static char *put_elem(char *p, const chunk *c, const civil *t) {
  int h12 = t->hour % 12 ? t->hour % 12 : 12;
  switch (c->std) {
  case STD_LONG_YEAR:
    return put_int(p, t->year, 4);
  case STD_YEAR:
    return put_int(p, (t->year % 100 + 100) % 100, 2);
  case STD_LONG_MONTH:
    return put_str(p, long_months[t->month - 1], strlen(long_months[t->month - 1]));
  case STD_MONTH:
    return put_str(p, long_months[t->month - 1], 3);
  case STD_NUM_MONTH:
  case STD_ZERO_MONTH:
    return put_int(p, t->month, c->std == STD_ZERO_MONTH ? 2 : 0);
  case STD_LONG_WEEKDAY:
    return put_str(p, long_days[t->wday], strlen(long_days[t->wday]));
  case STD_WEEKDAY:
    return put_str(p, long_days[t->wday], 3);
  case STD_DAY:
  case STD_ZERO_DAY:
    return put_int(p, t->day, c->std == STD_ZERO_DAY ? 2 : 0);
  case STD_UNDER_DAY:
    return put_space_padded(p, t->day, 2);
  case STD_UNDER_YEARDAY:
    return put_space_padded(p, t->yday, 3);
  case STD_ZERO_YEARDAY:
    return put_int(p, t->yday, 3);
  case STD_HOUR:
    return put_int(p, t->hour, 2);
  case STD_HOUR12:
  case STD_ZERO_HOUR12:
    return put_int(p, h12, c->std == STD_ZERO_HOUR12 ? 2 : 0);
  case STD_MINUTE:
  case STD_ZERO_MINUTE:
    return put_int(p, t->min, c->std == STD_ZERO_MINUTE ? 2 : 0);
  case STD_SECOND:
  case STD_ZERO_SECOND:
    return put_int(p, t->sec, c->std == STD_ZERO_SECOND ? 2 : 0);
  case STD_PM:
    return put_str(p, t->hour >= 12 ? "PM" : "AM", 2);
  case STD_PM_LOWER:
    return put_str(p, t->hour >= 12 ? "pm" : "am", 2);
  case STD_TZ:
    return put_str(p, "UTC", 3);
  case STD_FRAC0:
  case STD_FRAC9:
    return put_fraction(p, c, t->nsec);
  }
  return put_utc_zone(p, c->std);
}

size_t twi_gotime_format(const twi_gotime *t, int64_t ns, char buf[TWI_GOTIME_FMT_SIZE]) {
  civil c;
  to_civil(ns, &c);
  char *p = buf;
  for (size_t i = 0; i < t->nchunks; i++) {
    const chunk *ch = &t->chunks[i];
    p = put_str(p, t->layout + ch->lit, ch->lit_len);
    if (ch->std != STD_NONE)
      p = put_elem(p, ch, &c);
  }
  *p = '\0';
  return (size_t)(p - buf);
}
