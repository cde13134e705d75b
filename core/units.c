/* Durations ("1h30m", "500ms") and sizes ("16MiB", "64kB"). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <tower/config.h>

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

/* Reads a non-negative decimal number at *p; advances *p. */
static int read_number(const char **p, double *out) {
  const char *s = *p;
  if (!((*s >= '0' && *s <= '9') || *s == '.'))
    return -EINVAL;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno == ERANGE || !isfinite(v) || v < 0)
    return -EINVAL;
  /* strtod accepts hex and exponents; units follow plain decimals only. */
  for (const char *c = s; c < end; c++)
    if (!((*c >= '0' && *c <= '9') || *c == '.'))
      return -EINVAL;
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
    if (read_number(&p, &v))
      return -EINVAL;
    const unit *u = match_unit(&p, duration_units, sizeof duration_units / sizeof *duration_units);
    if (!u)
      return -EINVAL;
    total += v * u->scale;
  }
  if (total >= 9.2e18)
    return -ERANGE;
  *out_ns = (int64_t)llround(total);
  return 0;
}

int tower_parse_size(const char *text, uint64_t *out_bytes) {
  if (!text || !*text)
    return -EINVAL;
  const char *p = text;
  double v;
  if (read_number(&p, &v))
    return -EINVAL;
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
  if (bytes >= 1.8e19)
    return -ERANGE;
  /* llround's long ends at 2^63; doubles above it are whole numbers */
  *out_bytes = bytes < 0x1p63 ? (uint64_t)llround(bytes) : (uint64_t)bytes;
  return 0;
}
