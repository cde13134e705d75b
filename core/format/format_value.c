/* The "value" data format (parser only): Telegraf's value parser
 * (plugins/parsers/value/parser.go). The whole input, a command's output
 * or one message, is one value and gives one metric named after the plugin
 * (the parser's default name, else "value") with one field,
 * value_field_name ("value"), and no timestamp (the gather's time).
 *
 * - NUL bytes at either end are dropped, then white space (Go's
 *   unicode.IsSpace: ASCII spaces, U+0085, U+00A0 and the Unicode space
 *   separators).
 * - data_type string: the rest is the value, inner spaces and newlines
 *   included. Any other type takes the last space-separated word, so that
 *   "uptime: 42" or several lines give the last number.
 * - integer (int, the default): Go's strconv.Atoi: optional sign, decimal
 *   digits, int64 range -> integer field.
 * - float (long): Go's strconv.ParseFloat: decimal with optional fraction
 *   and exponent, hexadecimal with a p exponent (0x1.8p1), inf, infinity
 *   and nan in any case -> float field.
 * - boolean (bool): 1 t T TRUE true True, 0 f F FALSE false False.
 * - auto_integer / auto_float: the number when it reads as one, else the
 *   word as a string field.
 * An empty input gives no metric and no error; a value that does not read
 * as its type is an error naming the text, its line and column.
 *
 * There is no "value" serializer (Telegraf has none either).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "format_json.h"
#include "metric_internal.h"
#include "numfmt.h"

#define QUOTE_MAX 64

typedef enum value_type {
  V_INT,
  V_FLOAT,
  V_STRING,
  V_BOOL,
  V_AUTO_INT,
  V_AUTO_FLOAT,
} value_type;

typedef struct value_state {
  value_type type;
  char *field;
} value_state;

static const struct {
  const char *name;
  value_type type;
} type_names[] = {
    {"integer", V_INT},           {"int", V_INT},
    {"float", V_FLOAT},           {"long", V_FLOAT},
    {"string", V_STRING},         {"str", V_STRING},
    {"boolean", V_BOOL},          {"bool", V_BOOL},
    {"auto_integer", V_AUTO_INT}, {"auto_float", V_AUTO_FLOAT},
};

/* ---- white space ------------------------------------------------------ */

/* Byte length of the white space character (unicode.IsSpace) at s, or 0. */
static size_t space_len(const unsigned char *s, size_t n) {
  if (s[0] < 0x80)
    return s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r');
  if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0)) /* U+0085, U+00A0 */
    return 2;
  if (n < 3 || (s[0] & 0xf0) != 0xe0 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
    return 0;
  unsigned cp = (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3fu);
  /* the space separators, and the line and paragraph separators */
  bool space = cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
               cp == 0x202f || cp == 0x205f || cp == 0x3000;
  return space ? 3 : 0;
}

/* Byte length of the white space character that ends s[0..n), or 0. */
static size_t space_len_back(const unsigned char *s, size_t n) {
  for (size_t k = 1; k <= 3 && k <= n; k++)
    if (space_len(s + n - k, k) == k)
      return k;
  return 0;
}

/* The value's bytes: NULs then spaces trimmed; for words, the last one. */
static void value_span(const char *data, size_t len, bool word, size_t *start, size_t *end) {
  const unsigned char *s = (const unsigned char *)data;
  size_t a = 0, b = len, k;
  while (a < b && s[a] == 0)
    a++;
  while (b > a && s[b - 1] == 0)
    b--;
  while (a < b && (k = space_len(s + a, b - a)))
    a += k;
  while (b > a && (k = space_len_back(s + a, b - a)))
    b -= k;
  for (size_t i = a; word && i < b;) {
    if ((k = space_len(s + i, b - i)))
      a = i += k; /* a word starts after each space */
    else
      i++;
  }
  *start = a;
  *end = b;
}

/* ---- values ----------------------------------------------------------- */

/* strconv.Atoi: [+-]digits in int64 range. -EINVAL or -ERANGE. */
static int read_int(const char *s, size_t n, int64_t *out) {
  bool neg = n > 0 && s[0] == '-';
  size_t sign = n > 0 && (s[0] == '-' || s[0] == '+');
  uint64_t u;
  int rc = twi_parse_uint64(s + sign, n - sign, &u);
  if (rc)
    return rc;
  if (u > (uint64_t)INT64_MAX + neg)
    return -ERANGE;
  *out = neg ? (int64_t)(0 - u) : (int64_t)u;
  return 0;
}

static bool is_hex(char c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* Go's hexadecimal float: 0x mantissa (hex digits, one '.') p exponent. */
static bool hex_float_syntax(const char *s, size_t n) {
  size_t i = 2, digits = 0;
  bool dot = false;
  for (; i < n && (is_hex(s[i]) || (s[i] == '.' && !dot)); i++) {
    if (s[i] == '.')
      dot = true;
    else
      digits++;
  }
  if (digits == 0 || i >= n || (s[i] | 0x20) != 'p')
    return false;
  i += i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-');
  size_t e = ++i;
  while (i < n && s[i] >= '0' && s[i] <= '9')
    i++;
  return i > e && i == n;
}

/* inf, infinity and nan in any case (nan without a sign), as Go reads. */
static bool special_float(const char *s, size_t n, bool neg, bool signed_, double *out) {
  if ((n == 3 || n == 8) && strncasecmp(s, "infinity", n) == 0) {
    *out = neg ? -INFINITY : INFINITY;
    return true;
  }
  if (n == 3 && !signed_ && strncasecmp(s, "nan", 3) == 0) {
    *out = NAN;
    return true;
  }
  return false;
}

/* strconv.ParseFloat(s, 64). -EINVAL or -ERANGE. */
static int read_float(const char *s, size_t n, double *out) {
  bool neg = n > 0 && s[0] == '-';
  size_t sign = n > 0 && (s[0] == '-' || s[0] == '+');
  const char *u = s + sign;
  size_t un = n - sign;
  double v;
  if (special_float(u, un, neg, sign, out))
    return 0;
  if (un > 2 && u[0] == '0' && (u[1] | 0x20) == 'x') {
    if (!hex_float_syntax(u, un))
      return -EINVAL;
    /* strtod wants a terminated string; Go takes any length */
    char stack[72], *buf = un < sizeof stack ? stack : malloc(un + 1);
    if (!buf)
      return -ENOMEM;
    memcpy(buf, u, un);
    buf[un] = '\0';
    v = twi_strtod_c(buf, NULL);
    if (buf != stack)
      free(buf);
    if (isinf(v))
      return -ERANGE;
  } else {
    /* twi_parse_double reads its own '-': give it the unsigned part */
    if (un > 0 && u[0] == '-')
      return -EINVAL;
    int rc = twi_parse_double(u, un, &v);
    if (rc)
      return rc;
  }
  *out = neg ? -v : v;
  return 0;
}

static int read_bool(const char *s, size_t n, bool *out) {
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (size_t i = 0; i < 6; i++) {
    if (strlen(yes[i]) == n && memcmp(yes[i], s, n) == 0)
      return *out = true, 0;
    if (strlen(no[i]) == n && memcmp(no[i], s, n) == 0)
      return *out = false, 0;
  }
  return -EINVAL;
}

/* Adds the field for s[0..n) to m. -EINVAL/-ERANGE (bad value), -ENOMEM. */
static int add_value(const value_state *st, tower_metric *m, const char *s, size_t n,
                     const char **what) {
  int64_t i;
  double f;
  bool b;
  int rc;
  size_t klen = strlen(st->field);
  switch (st->type) {
  case V_INT:
  case V_AUTO_INT:
    *what = "integer";
    if ((rc = read_int(s, n, &i)) == 0)
      return tower_metric_add_int(m, st->field, i);
    break;
  case V_FLOAT:
  case V_AUTO_FLOAT:
    *what = "float";
    if ((rc = read_float(s, n, &f)) == 0)
      return tower_metric_add_float(m, st->field, f);
    if (rc == -ENOMEM)
      return rc;
    break;
  case V_BOOL:
    *what = "boolean";
    if ((rc = read_bool(s, n, &b)) == 0)
      return tower_metric_add_bool(m, st->field, b);
    break;
  default:
    rc = -EINVAL;
    break;
  }
  if (st->type == V_STRING || st->type == V_AUTO_INT || st->type == V_AUTO_FLOAT) {
    *what = "string";
    if (memchr(s, '\0', n))
      return -EINVAL;
    return tower_metric_add_string_n(m, st->field, klen, s, n);
  }
  return rc;
}

/* Line (from 1) and column (in bytes, from 1) of data[off]. */
static void where(const char *data, size_t off, uint64_t *line, size_t *col) {
  const char *nl = NULL;
  *line = 1;
  for (size_t i = 0; i < off; i++)
    if (data[i] == '\n')
      (*line)++, nl = data + i;
  *col = (size_t)(data + off - (nl ? nl + 1 : data)) + 1;
}

static int value_parse(tower_parser *p, const char *data, size_t len) {
  const value_state *st = p->state;
  size_t a, b, col;
  value_span(data, len, st->type != V_STRING, &a, &b);
  if (a == b)
    return 0;
  const char *name = p->default_name ? p->default_name : "value";
  tower_metric *m = twi_metric_new_sized(name, strlen(name), TOWER_TIME_UNSET, 0, 1,
                                         strlen(st->field) + 1 + (b - a) + 1);
  if (!m) {
    p->sink_rc = p->sink_rc ? p->sink_rc : -ENOMEM;
    return -ENOMEM;
  }
  const char *what = "value";
  int rc = add_value(st, m, data + a, b - a, &what);
  if (rc == -ENOMEM) {
    tower_metric_free(m);
    p->sink_rc = p->sink_rc ? p->sink_rc : -ENOMEM;
    return rc;
  }
  if (rc) {
    tower_metric_free(m);
    where(data, a, &p->lineno, &col);
    int n = (int)(b - a > QUOTE_MAX ? QUOTE_MAX : b - a);
    return twi_parser_error(p, col, "cannot read \"%.*s%s\" as %s: %s", n, data + a,
                            b - a > QUOTE_MAX ? "..." : "", what,
                            rc == -ERANGE                   ? "value out of range"
                            : memchr(data + a, '\0', b - a) ? "it holds a NUL byte"
                                                            : "invalid syntax");
  }
  return twi_parser_emit(p, m);
}

/* ---- setup ------------------------------------------------------------ */

/* The state for data_type `type` (NULL: integer) and field name `field`
 * (NULL or empty: "value", as Telegraf). */
static int configure(tower_parser *p, const char *type, const char *field) {
  value_state *st = calloc(1, sizeof *st);
  if (!st)
    return -ENOMEM;
  st->type = (value_type)-1;
  for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
    if (strcmp(type ? type : "integer", type_names[i].name) == 0)
      st->type = type_names[i].type;
  if (st->type == (value_type)-1) {
    free(st);
    tower_error(p->ctx, "unknown data_type \"%s\"", type);
    return -EINVAL;
  }
  st->field = strdup(field && *field ? field : "value");
  if (!st->field) {
    free(st);
    return -ENOMEM;
  }
  free(p->state ? ((value_state *)p->state)->field : NULL);
  free(p->state);
  p->state = st;
  return 0;
}

static int value_init(tower_parser *p, const tower_config *cfg) {
  const char *type = cfg ? tower_config_string(cfg, "data_type") : NULL;
  return configure(p, type, cfg ? tower_config_string(cfg, "value_field_name") : NULL);
}

int twi_value_parser_new(const tower_ctx *ctx, const char *data_type, const char *field,
                         tower_parser **out) {
  tower_parser *p = NULL;
  int rc = tower_parser_new_format(ctx, "value", &p);
  if (!rc && (rc = configure(p, data_type, field)) < 0)
    tower_parser_free(p);
  if (!rc)
    *out = p;
  return rc;
}

static void value_fini(tower_parser *p) {
  value_state *st = p->state;
  if (!st)
    return;
  free(st->field);
  free(st);
  p->state = NULL;
}

static const tower_option parser_options[] = {
    {.name = "data_type",
     .type = TOWER_OPT_ENUM,
     .default_value = "integer",
     .choices = "integer|int|float|long|string|str|boolean|bool|auto_integer|auto_float",
     .help = "value: type of the value; auto_integer/auto_float fall back to a string"},
    {.name = "value_field_name",
     .type = TOWER_OPT_STRING,
     .default_value = "value",
     .help = "value: name of the field"},
    TOWER_OPTION_END,
};

const twi_format twi_format_value = {
    .name = "value",
    .description = "a single value: the whole input is one field of one metric (parser only)",
    .parser_options = parser_options,
    .parser_init = value_init,
    .parser_fini = value_fini,
    .parse_document = value_parse,
};
