/* Durations ("1h30m", "500ms") and sizes ("16MiB", "64kB"). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/config.h>

#include "units.h"

typedef struct {
  const char *suffix;
  double scale;
} unit;

/* Longest suffixes first so that "ms" is not read as "m". */
static const unit duration_units[] = {
    {"ns", 1},  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
    {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},      {"d", 86400e9},
};

static const unit size_units[] = {
    {"KiB", 1024.0},
    {"MiB", 1048576.0},
    {"GiB", 1073741824.0},
    {"TiB", 1099511627776.0},
    {"Ki", 1024.0},
    {"Mi", 1048576.0},
    {"Gi", 1073741824.0},
    {"Ti", 1099511627776.0},
    {"kB", 1e3},
    {"KB", 1e3},
    {"MB", 1e6},
    {"GB", 1e9},
    {"TB", 1e12},
    {"k", 1e3},
    {"K", 1e3},
    {"M", 1e6},
    {"G", 1e9},
    {"T", 1e12},
    {"B", 1},
};

/* Reads a non-negative decimal number at *p; advances *p. -EINVAL when
 * there is none, -ERANGE when it is too long for a double. */
static int read_number(const char **p, double *out) {
  const char *s = *p;
  /* strtod accepts signs, hex and exponents; units follow plain decimals
   * only. */
  size_t n = strspn(s, "0123456789.");
  if (n == 0)
    return -EINVAL;
  char *end;
  double v = strtod(s, &end);
  if (end != s + n)
    return -EINVAL;
  if (!isfinite(v))
    return -ERANGE;
  *p = end;
  *out = v;
  return 0;
}

static const unit *match_unit(const char **p, const unit *units, size_t n) {
  const unit *best = NULL;
  size_t best_len = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(units[i].suffix);
    if (len > best_len && strncmp(*p, units[i].suffix, len) == 0) {
      best = &units[i];
      best_len = len;
    }
  }
  *p += best_len;
  return best;
}

int tower_parse_duration(const char *text, int64_t *out_ns) {
  if (!text || !*text)
    return -EINVAL;
  if (strcmp(text, "0") == 0) {
    *out_ns = 0;
    return 0;
  }
  double total = 0;
  const char *p = text;
  while (*p) {
    double v;
    int rc = read_number(&p, &v);
    if (rc)
      return rc;
    const unit *u = match_unit(&p, duration_units, sizeof duration_units / sizeof *duration_units);
    if (!u)
      return -EINVAL;
    total += v * u->scale;
  }
  /* 2^63 ns (about 292 years) does not fit in int64; below it, a double
   * rounds to a multiple of 1024 at most, which llround keeps in range. */
  if (total >= 0x1p63)
    return -ERANGE;
  *out_ns = (int64_t)llround(total);
  return 0;
}

int tower_parse_size(const char *text, uint64_t *out_bytes) {
  if (!text || !*text)
    return -EINVAL;
  const char *p = text;
  double v;
  int rc = read_number(&p, &v);
  if (rc)
    return rc;
  double scale = 1;
  if (*p) {
    const unit *u = match_unit(&p, size_units, sizeof size_units / sizeof *size_units);
    if (!u)
      return -EINVAL;
    scale = u->scale;
    if (*p == 'B' && u->suffix[strlen(u->suffix) - 1] != 'B')
      p++; /* "Ki" + "B" */
    if (*p)
      return -EINVAL;
  }
  double bytes = v * scale;
  /* 2^64 does not fit; a fraction of a byte ("0.4B") is neither nothing nor
   * a byte, so it is refused rather than rounded to either. */
  if (bytes >= 0x1p64 || (bytes > 0 && bytes < 1))
    return -ERANGE;
  /* round, not llround: sizes from 2^63 on do not fit in a long long. */
  *out_bytes = (uint64_t)round(bytes);
  return 0;
}

/* Go's time.Duration.String() in short: "1h30m", "10s", "1.5s", "250ms". */
void twi_fmt_duration(char *buf, size_t len, int64_t ns) {
  const int64_t s = 1000000000LL, m = 60 * s, h = 60 * m;
  if (ns <= 0) {
    snprintf(buf, len, "0s");
  } else if (ns < s) {
    if (ns % 1000000 == 0)
      snprintf(buf, len, "%lldms", (long long)(ns / 1000000));
    else
      snprintf(buf, len, "%.3gms", (double)ns / 1e6);
  } else if (ns % s != 0 && ns < m) {
    snprintf(buf, len, "%.3gs", (double)ns / 1e9);
  } else {
    int64_t hours = ns / h, mins = ns % h / m;
    double secs = (double)(ns % m) / 1e9;
    int n = 0;
    if (hours)
      n += snprintf(buf + n, len - (size_t)n, "%lldh", (long long)hours);
    if (mins && (size_t)n < len)
      n += snprintf(buf + n, len - (size_t)n, "%lldm", (long long)mins);
    if ((secs > 0 || n == 0) && (size_t)n < len)
      snprintf(buf + n, len - (size_t)n, "%gs", secs);
  }
}
