/* Values as Telegraf's metric_version 2 converts them (its v2/convert.go):
 * status and variables by their text, replica status by column type. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mysql_input.h"

void my_lower(char *out, size_t n, const char *in, size_t len) {
  size_t i = 0;
  for (; i + 1 < n && i < len; i++)
    out[i] = (char)tolower((unsigned char)in[i]);
  out[i] = '\0';
}

static bool whole_int(const char *v, int64_t *out) {
  if (!*v || isspace((unsigned char)*v))
    return false;
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  *out = x;
  return *end == '\0' && errno == 0;
}

static bool whole_uint(const char *v, uint64_t *out) {
  if (!isdigit((unsigned char)*v))
    return false;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  *out = x;
  return *end == '\0' && errno == 0;
}

static bool whole_float(const char *v, double *out) {
  if (!*v || isspace((unsigned char)*v))
    return false;
  char *end;
  *out = strtod(v, &end);
  return *end == '\0';
}

uint64_t my_u64(const char *v) {
  return v ? strtoull(v, NULL, 10) : 0;
}

double my_f64(const char *v) {
  return v ? strtod(v, NULL) : 0;
}

int my_add_value(tower_metric *m, const char *key, const char *v, size_t len) {
  if (!v || len == 0)
    return 1; /* Telegraf reports "unconvertible value" for each: noise */
  /* YES and NO in any case, ON and OFF in upper case only (as Telegraf) */
  if (strcasecmp(v, "YES") == 0 || strcmp(v, "ON") == 0)
    return tower_metric_add_int(m, key, 1);
  if (strcasecmp(v, "NO") == 0 || strcmp(v, "OFF") == 0)
    return tower_metric_add_int(m, key, 0);
  int64_t i;
  double f;
  if (whole_int(v, &i))
    return tower_metric_add_int(m, key, i);
  if (whole_float(v, &f))
    return tower_metric_add_float(m, key, f);
  return tower_metric_add_string_n(m, key, strlen(key), v, len);
}

int my_add_typed(tower_metric *m, const char *key, const MYSQL_FIELD *f, const char *v,
                 size_t len) {
  if (!v || len == 0)
    return 1;
  int64_t i;
  uint64_t u;
  switch (f->type) {
  case MYSQL_TYPE_TINY:
  case MYSQL_TYPE_SHORT:
  case MYSQL_TYPE_INT24:
  case MYSQL_TYPE_LONG:
    return whole_int(v, &i) ? tower_metric_add_int(m, key, i) : 1;
  case MYSQL_TYPE_LONGLONG:
    return whole_uint(v, &u) ? tower_metric_add_uint(m, key, u) : 1;
  case MYSQL_TYPE_VARCHAR:
  case MYSQL_TYPE_VAR_STRING:
  case MYSQL_TYPE_STRING:
    return tower_metric_add_string_n(m, key, strlen(key), v, len);
  default:
    return my_add_value(m, key, v, len);
  }
}
