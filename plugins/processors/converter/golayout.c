/* processors.converter: Go reference-time layouts, parsed the way Go's
 * time.Parse reads them (time/format.go: the layout is a sequence of
 * literal text and elements of "Mon Jan 2 15:04:05 MST 2006"). Written from
 * Go's documentation; only parsing, in UTC. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "golayout.h"

typedef enum {
  T_NONE,
  T_MONTH_LONG, /* January */
  T_MONTH,      /* Jan */
  T_NUM_MONTH,  /* 1 */
  T_ZERO_MONTH, /* 01 */
  T_WEEKDAY_LONG,
  T_WEEKDAY,
  T_DAY,        /* 2 */
  T_UNDER_DAY,  /* _2 */
  T_ZERO_DAY,   /* 02 */
  T_UNDER_YDAY, /* __2 */
  T_ZERO_YDAY,  /* 002 */
  T_HOUR,       /* 15 */
  T_HOUR12,     /* 3 */
  T_ZERO_HOUR12,
  T_MINUTE, /* 4 */
  T_ZERO_MINUTE,
  T_SECOND, /* 5 */
  T_ZERO_SECOND,
  T_LONG_YEAR, /* 2006 */
  T_YEAR,      /* 06 */
  T_PM,        /* PM */
  T_pm,        /* pm */
  T_TZ,        /* MST */
  T_ISO_TZ,    /* Z0700 family: 'Z' in the value means UTC */
  T_NUM_TZ,    /* -0700 family */
  T_FRAC0,     /* .000: exactly that many digits */
  T_FRAC9,     /* .999: optional, any number of digits */
} tok;

typedef struct {
  tok t;
  size_t len;      /* characters of the layout it takes */
  int tz_colons;   /* T_*TZ: ':' between hours, minutes, seconds */
  int tz_parts;    /* 1: hh, 2: hhmm, 3: hhmmss */
  unsigned digits; /* T_FRAC0: how many */
} chunk;

static bool starts(const char *s, const char *p) {
  return strncmp(s, p, strlen(p)) == 0;
}

static chunk zone(tok t, const char *l) {
  /* longest first, as Go does */
  static const struct {
    const char *s;
    int colons, parts;
  } z[] = {{"070000", 0, 3}, {"07:00:00", 1, 3}, {"0700", 0, 2}, {"07:00", 1, 2}, {"07", 0, 1}};
  for (size_t i = 0; i < sizeof z / sizeof *z; i++)
    if (starts(l + 1, z[i].s))
      return (chunk){t, 1 + strlen(z[i].s), z[i].colons, z[i].parts, 0};
  return (chunk){T_NONE, 0, 0, 0, 0};
}

static chunk fraction(const char *l) {
  char d = l[1];
  if (d != '0' && d != '9')
    return (chunk){T_NONE, 0, 0, 0, 0};
  size_t n = 1;
  while (l[n] == d)
    n++;
  if (isdigit((unsigned char)l[n])) /* ".0001" is not a fraction in Go */
    return (chunk){T_NONE, 0, 0, 0, 0};
  return (chunk){d == '0' ? T_FRAC0 : T_FRAC9, n, 0, 0, (unsigned)(n - 1)};
}

/* The layout element at `l`, or T_NONE for a literal character. */
static chunk next_chunk(const char *l) {
  static const struct {
    const char *s;
    tok t;
  } fixed[] = {{"January", T_MONTH_LONG},
               {"Jan", T_MONTH},
               {"Monday", T_WEEKDAY_LONG},
               {"Mon", T_WEEKDAY},
               {"MST", T_TZ},
               {"002", T_ZERO_YDAY},
               {"01", T_ZERO_MONTH},
               {"02", T_ZERO_DAY},
               {"03", T_ZERO_HOUR12},
               {"04", T_ZERO_MINUTE},
               {"05", T_ZERO_SECOND},
               {"06", T_YEAR},
               {"15", T_HOUR},
               {"1", T_NUM_MONTH},
               {"2006", T_LONG_YEAR},
               {"2", T_DAY},
               {"__2", T_UNDER_YDAY},
               {"_2", T_UNDER_DAY},
               {"3", T_HOUR12},
               {"4", T_MINUTE},
               {"5", T_SECOND},
               {"PM", T_PM},
               {"pm", T_pm}};
  if (*l == '-')
    return zone(T_NUM_TZ, l);
  if (*l == 'Z')
    return zone(T_ISO_TZ, l);
  if (*l == '.' || *l == ',')
    return fraction(l);
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
    if (starts(l, fixed[i].s)) {
      /* "_2006" is '_' and a year; "__2" needs the third character */
      if (fixed[i].t == T_UNDER_DAY && starts(l, "_2006"))
        return (chunk){T_NONE, 0, 0, 0, 0};
      return (chunk){fixed[i].t, strlen(fixed[i].s), 0, 0, 0};
    }
  return (chunk){T_NONE, 0, 0, 0, 0};
}

bool golayout_valid(const char *layout) {
  for (const char *l = layout; *l; l++)
    if (next_chunk(l).t != T_NONE)
      return true;
  return false;
}

const char *golayout_named(const char *name) {
  static const char *const named[][2] = {
      {"ANSIC", "Mon Jan _2 15:04:05 2006"},
      {"UnixDate", "Mon Jan _2 15:04:05 MST 2006"},
      {"RubyDate", "Mon Jan 02 15:04:05 -0700 2006"},
      {"RFC822", "02 Jan 06 15:04 MST"},
      {"RFC822Z", "02 Jan 06 15:04 -0700"},
      {"RFC850", "Monday, 02-Jan-06 15:04:05 MST"},
      {"RFC1123", "Mon, 02 Jan 2006 15:04:05 MST"},
      {"RFC1123Z", "Mon, 02 Jan 2006 15:04:05 -0700"},
      {"RFC3339", "2006-01-02T15:04:05Z07:00"},
      {"RFC3339Nano", "2006-01-02T15:04:05.999999999Z07:00"},
      {"Kitchen", "3:04PM"},
      {"Stamp", "Jan _2 15:04:05"},
      {"StampMilli", "Jan _2 15:04:05.000"},
      {"StampMicro", "Jan _2 15:04:05.000000"},
      {"StampNano", "Jan _2 15:04:05.000000000"},
      {"DateTime", "2006-01-02 15:04:05"},
      {"DateOnly", "2006-01-02"},
      {"TimeOnly", "15:04:05"},
  };
  for (size_t i = 0; i < sizeof named / sizeof *named; i++)
    if (strcasecmp(name, named[i][0]) == 0)
      return named[i][1];
  return name;
}

/* ---- parsing ------------------------------------------------------------- */

typedef struct {
  int64_t year;
  int month, day, yday, hour, min, sec;
  int64_t nsec, offset; /* offset: seconds east of UTC */
  bool pm, am;
} fields;

/* Up to `max` digits, at least `min`. */
static bool num(const char **v, int min, int max, int *out) {
  int n = 0, x = 0;
  while (n < max && isdigit((unsigned char)(*v)[n]))
    x = x * 10 + ((*v)[n++] - '0');
  if (n < min)
    return false;
  *v += n;
  *out = x;
  return true;
}

static bool name(const char **v, const char *const *names, size_t n, bool long_form, int *out) {
  for (size_t i = 0; i < n; i++) {
    size_t len = long_form ? strlen(names[i]) : 3;
    if (strncasecmp(*v, names[i], len) == 0) {
      *v += len;
      *out = (int)i;
      return true;
    }
  }
  return false;
}

static const char *const months[] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};
static const char *const days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                   "Thursday", "Friday", "Saturday"};

static bool tz(const char **v, const chunk *c, int64_t *offset) {
  if (c->t == T_ISO_TZ && **v == 'Z') {
    (*v)++;
    *offset = 0;
    return true;
  }
  char sign = **v;
  if (sign != '+' && sign != '-')
    return false;
  (*v)++;
  int part[3] = {0, 0, 0};
  for (int i = 0; i < c->tz_parts; i++) {
    if (i > 0 && c->tz_colons && *(*v)++ != ':')
      return false;
    if (!num(v, 2, 2, &part[i]))
      return false;
  }
  *offset = (sign == '-' ? -1 : 1) * (part[0] * 3600 + part[1] * 60 + part[2]);
  return true;
}

/* A zone abbreviation: three to five upper-case letters ("UTC", "CEST"). */
static bool tz_abbrev(const char **v) {
  int n = 0;
  while (n < 5 && isupper((unsigned char)(*v)[n]))
    n++;
  if (n < 3)
    return false;
  *v += n;
  return true;
}

/* Digits after '.' or ',' at *v, as nanoseconds (beyond 9 digits ignored);
 * `exact` digits when non-zero. */
static bool frac(const char **v, unsigned exact, int64_t *ns) {
  if (**v != '.' && **v != ',')
    return exact == 0;
  const char *p = *v + 1;
  unsigned n = 0;
  int64_t x = 0;
  for (; isdigit((unsigned char)p[n]); n++)
    if (n < 9)
      x = x * 10 + (p[n] - '0');
  if (n == 0 || (exact && n != exact))
    return false;
  for (unsigned k = n; k < 9; k++)
    x *= 10;
  *ns = x;
  *v = p + n;
  return true;
}

static bool take(const char **v, const chunk *c, const char *rest, fields *f) {
  int x;
  switch (c->t) {
  case T_MONTH_LONG:
  case T_MONTH:
    if (!name(v, months, 12, c->t == T_MONTH_LONG, &x))
      return false;
    f->month = x + 1;
    return true;
  case T_WEEKDAY_LONG:
  case T_WEEKDAY:
    return name(v, days, 7, c->t == T_WEEKDAY_LONG, &x);
  case T_NUM_MONTH:
  case T_ZERO_MONTH:
    return num(v, c->t == T_ZERO_MONTH ? 2 : 1, 2, &f->month);
  case T_UNDER_DAY:
    if (**v == ' ')
      (*v)++;
    return num(v, 1, 2, &f->day);
  case T_DAY:
  case T_ZERO_DAY:
    return num(v, c->t == T_ZERO_DAY ? 2 : 1, 2, &f->day);
  case T_UNDER_YDAY:
    for (int i = 0; i < 2 && **v == ' '; i++)
      (*v)++;
    return num(v, 1, 3, &f->yday);
  case T_ZERO_YDAY:
    return num(v, 3, 3, &f->yday);
  case T_HOUR:
    return num(v, 1, 2, &f->hour) && f->hour < 24;
  case T_HOUR12:
  case T_ZERO_HOUR12:
    return num(v, c->t == T_ZERO_HOUR12 ? 2 : 1, 2, &f->hour) && f->hour <= 12;
  case T_MINUTE:
  case T_ZERO_MINUTE:
    return num(v, c->t == T_ZERO_MINUTE ? 2 : 1, 2, &f->min) && f->min < 60;
  case T_SECOND:
  case T_ZERO_SECOND:
    if (!num(v, c->t == T_ZERO_SECOND ? 2 : 1, 2, &f->sec) || f->sec >= 60)
      return false;
    /* Go takes a fraction here even when the layout has none next */
    if (((*v)[0] == '.' || (*v)[0] == ',') && isdigit((unsigned char)(*v)[1])) {
      tok n = next_chunk(rest).t;
      if (n != T_FRAC0 && n != T_FRAC9)
        return frac(v, 0, &f->nsec);
    }
    return true;
  case T_LONG_YEAR:
    if (!num(v, 4, 4, &x))
      return false;
    f->year = x;
    return true;
  case T_YEAR:
    if (!num(v, 2, 2, &x))
      return false;
    f->year = x >= 69 ? 1900 + x : 2000 + x;
    return true;
  case T_PM:
  case T_pm: {
    const char *pm = c->t == T_PM ? "PM" : "pm", *am = c->t == T_PM ? "AM" : "am";
    f->pm = starts(*v, pm);
    f->am = starts(*v, am);
    if (!f->pm && !f->am)
      return false;
    *v += 2;
    return true;
  }
  case T_TZ:
    return tz_abbrev(v);
  case T_ISO_TZ:
  case T_NUM_TZ:
    return tz(v, c, &f->offset);
  case T_FRAC0:
    return frac(v, c->digits, &f->nsec);
  case T_FRAC9:
    return frac(v, 0, &f->nsec);
  case T_NONE:
    break;
  }
  return false;
}

static bool leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m) {
  static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* Day of year to month and day, when the layout gave only a day of year. */
static bool resolve_yday(fields *f) {
  if (f->yday == 0)
    return true;
  if (f->yday > (leap(f->year) ? 366 : 365))
    return false;
  int m = 1, d = f->yday;
  while (d > month_days(f->year, m))
    d -= month_days(f->year, m++);
  if ((f->month && f->month != m) || (f->day && f->day != d))
    return false;
  f->month = m;
  f->day = d;
  return true;
}

static int to_ns(fields *f, int64_t *out) {
  if (f->pm && f->hour < 12)
    f->hour += 12;
  else if (f->am && f->hour == 12)
    f->hour = 0;
  if (!resolve_yday(f))
    return -EINVAL;
  if (f->month == 0)
    f->month = 1;
  if (f->day == 0)
    f->day = 1;
  if (f->month < 1 || f->month > 12 || f->day > month_days(f->year, f->month))
    return -EINVAL;
  int64_t secs = days_from_civil(f->year, f->month, f->day) * 86400 + f->hour * 3600 + f->min * 60 +
                 f->sec - f->offset;
  int64_t ns;
  if (__builtin_mul_overflow(secs, (int64_t)1000000000, &ns) ||
      __builtin_add_overflow(ns, f->nsec, &ns))
    return -ERANGE;
  *out = ns;
  return 0;
}

int golayout_parse(const char *layout, const char *value, int64_t *out_ns) {
  fields f = {0};
  const char *l = layout, *v = value;
  while (*l) {
    chunk c = next_chunk(l);
    if (c.t == T_NONE) {
      if (*v != *l)
        return -EINVAL;
      l++, v++;
      continue;
    }
    l += c.len;
    if (!take(&v, &c, l, &f))
      return -EINVAL;
  }
  if (*v) /* Go: "extra text" */
    return -EINVAL;
  return to_ns(&f, out_ns);
}
