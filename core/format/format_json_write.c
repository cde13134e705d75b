/* JSON serializer, byte for byte what Telegraf's (plugins/serializers/json,
 * non-batch mode) writes through Go's encoding/json:
 *
 *   {"fields":{"idle":98.2,"ok":true},"name":"cpu","tags":{"host":"a"},"timestamp":1700000000}\n
 *
 * - Keys in that order, as json.Marshal sorts map keys; tags and fields by
 *   key (the metric keeps them sorted bytewise, as Go sorts strings).
 * - Floats as encoding/json writes a float64: the shortest digits that read
 *   back exactly, plain for 1e-6 <= |v| < 1e21 ("0.000001", "1e+21",
 *   "1.5e-7"); NaN and +-Inf fields are left out, since JSON has no such
 *   numbers (Telegraf skips them too). Integers and unsigned integers are
 *   written in full, booleans as true/false.
 * - Strings are escaped as encoding/json does by default: \" \\ \b \f \n
 *   \r \t, other control characters as \u00XX, and the HTML-sensitive <, >,
 *   & and U+2028/U+2029 as \u003c, \u003e, \u0026, \u2028, \u2029. Invalid
 *   UTF-8 cannot reach Go's encoder (Go strings from Telegraf's parsers hold
 *   U+FFFD instead); here each byte of an invalid sequence is written as
 *   \ufffd, which is what Go's encoder does with such bytes, so the output
 *   is always valid UTF-8 JSON.
 * - timestamp: the time in json_timestamp_units (truncated to a power of
 *   ten, as Telegraf does; the division truncates toward zero like Go's),
 *   or with json_timestamp_format a string in that Go layout, in UTC.
 * The object ends with "\n": one metric per line.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf_internal.h"
#include "format_json.h"
#include "numfmt.h"

/* ---- numbers ---------------------------------------------------------- */

/* Shortest digits of a finite, non-zero |v|: value = 0.d[0..n) * 10^point. */
typedef struct digits {
  char d[24];
  int n, point;
} digits;

static void shortest(double v, digits *out) {
  char buf[TWI_FMT_DOUBLE_SIZE];
  size_t len = twi_fmt_double(buf, fabs(v));
  int before = 0, exp = 0;
  bool dot = false;
  out->n = 0;
  for (size_t i = 0; i < len; i++) {
    char c = buf[i];
    if (c == '.') {
      dot = true;
    } else if (c == 'e') {
      exp = atoi(buf + i + 1);
      break;
    } else if (c != '0' || out->n > 0) {
      out->d[out->n++] = c;
      before += !dot;
    } else if (!dot) {
      before += out->n > 0;
    } else {
      before--; /* a zero right after the point, before any digit */
    }
  }
  while (out->n > 1 && out->d[out->n - 1] == '0')
    out->n--;
  out->point = before + exp;
}

static char *put_zeros(char *p, int n) {
  for (; n > 0; n--)
    *p++ = '0';
  return p;
}

/* %f layout of the digits: "123.45", "0.00012", "1200". */
static char *put_plain(char *p, const digits *g) {
  if (g->point <= 0) {
    *p++ = '0';
    *p++ = '.';
    p = put_zeros(p, -g->point);
    memcpy(p, g->d, (size_t)g->n);
    return p + g->n;
  }
  if (g->point >= g->n) {
    memcpy(p, g->d, (size_t)g->n);
    return put_zeros(p + g->n, g->point - g->n);
  }
  memcpy(p, g->d, (size_t)g->point);
  p += g->point;
  *p++ = '.';
  memcpy(p, g->d + g->point, (size_t)(g->n - g->point));
  return p + g->n - g->point;
}

/* %e layout as encoding/json leaves it: "1e+21", "1.5e-7", "2e-100". */
static char *put_exp(char *p, const digits *g) {
  int e = g->point - 1;
  *p++ = g->d[0];
  if (g->n > 1) {
    *p++ = '.';
    memcpy(p, g->d + 1, (size_t)(g->n - 1));
    p += g->n - 1;
  }
  *p++ = 'e';
  *p++ = e < 0 ? '-' : '+';
  e = e < 0 ? -e : e;
  if (e >= 100)
    *p++ = (char)('0' + e / 100);
  /* Go writes two exponent digits, then drops a leading zero after '-' */
  if (e >= 10 || p[-1] == '+')
    *p++ = (char)('0' + e / 10 % 10);
  *p++ = (char)('0' + e % 10);
  return p;
}

size_t twi_json_fmt_float(char buf[32], double v) {
  char *p = buf;
  if (signbit(v))
    *p++ = '-';
  if (v == 0) {
    *p++ = '0';
  } else {
    digits g;
    shortest(v, &g);
    double a = fabs(v);
    p = a < 1e-6 || a >= 1e21 ? put_exp(p, &g) : put_plain(p, &g);
  }
  *p = '\0';
  return (size_t)(p - buf);
}

size_t twi_json_fmt_float_plain(char *buf, size_t cap, double v) {
  if (cap < 400)
    return 0;
  if (!isfinite(v))
    return twi_fmt_double(buf, v); /* NaN, +Inf, -Inf as FormatFloat writes them */
  char *p = buf;
  if (signbit(v))
    *p++ = '-';
  if (v == 0) {
    *p++ = '0';
  } else {
    digits g;
    shortest(v, &g);
    p = put_plain(p, &g);
  }
  *p = '\0';
  return (size_t)(p - buf);
}

/* ---- strings ---------------------------------------------------------- */

/* 0: copied as is; 1: needs an escape; 2: start of a multi-byte sequence. */
static const unsigned char esc_class[256] = {
    [0 ... 31] = 1, ['"'] = 1, ['\\'] = 1, ['<'] = 1, ['>'] = 1, ['&'] = 1, [128 ... 255] = 2,
};

static char *put_u(char *d, unsigned cp) {
  static const char hex[] = "0123456789abcdef";
  memcpy(d, "\\u", 2);
  d[2] = hex[cp >> 12 & 15];
  d[3] = hex[cp >> 8 & 15];
  d[4] = hex[cp >> 4 & 15];
  d[5] = hex[cp & 15];
  return d + 6;
}

static char *put_escape(char *d, unsigned char c) {
  static const char short_esc[32] = {
      ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
  if (c == '"' || c == '\\') {
    *d++ = '\\';
    *d++ = (char)c;
  } else if (c < 32 && short_esc[c]) {
    *d++ = '\\';
    *d++ = short_esc[c];
  } else {
    d = put_u(d, c);
  }
  return d;
}

/* A multi-byte sequence at s[*i]: copied, escaped (U+2028/9) or replaced
 * (invalid: \ufffd for its first byte). */
static char *put_multibyte(char *d, const unsigned char *s, size_t len, size_t *i) {
  size_t n = twi_utf8_len(s + *i, len - *i);
  if (n == 0) {
    (*i)++;
    return put_u(d, 0xfffd);
  }
  if (n == 3 && s[*i] == 0xe2 && s[*i + 1] == 0x80 && (s[*i + 2] & 0xfe) == 0xa8) {
    d = put_u(d, s[*i + 2] == 0xa8 ? 0x2028 : 0x2029);
  } else {
    memcpy(d, s + *i, n);
    d += n;
  }
  *i += n;
  return d;
}

int twi_json_put_string(tower_buf *out, const char *str, size_t len) {
  if (twi_buf_reserve(out, 6 * len + 2))
    return -ENOMEM;
  const unsigned char *s = (const unsigned char *)str;
  char *d = out->data + out->len;
  *d++ = '"';
  size_t i = 0;
  while (i < len) {
    size_t start = i;
    while (i < len && esc_class[s[i]] == 0)
      i++;
    memcpy(d, s + start, i - start);
    d += i - start;
    if (i == len)
      break;
    if (esc_class[s[i]] == 1)
      d = put_escape(d, s[i++]);
    else
      d = put_multibyte(d, s, len, &i);
  }
  *d++ = '"';
  out->len = (size_t)(d - out->data);
  out->data[out->len] = '\0';
  return 0;
}

/* ---- the serializer --------------------------------------------------- */

typedef struct json_writer {
  int64_t units;      /* ns per timestamp unit, a power of ten */
  twi_gotime *layout; /* json_timestamp_format, or NULL */
} json_writer;

static int put_cstr(tower_buf *out, const char *s) {
  return twi_json_put_string(out, s, strlen(s));
}

static int put_value(tower_buf *out, const tower_metric *m, size_t i) {
  char num[TWI_FMT_INT_SIZE + 8];
  size_t n;
  switch (tower_metric_field_type(m, i)) {
  case TOWER_FIELD_FLOAT:
    n = twi_json_fmt_float(num, tower_metric_field_float(m, i));
    break;
  case TOWER_FIELD_INT:
    n = twi_fmt_int64(num, tower_metric_field_int(m, i));
    break;
  case TOWER_FIELD_UINT:
    n = twi_fmt_uint64(num, tower_metric_field_uint(m, i));
    break;
  case TOWER_FIELD_BOOL:
    return tower_metric_field_bool(m, i) ? twi_buf_put(out, "true", 4)
                                         : twi_buf_put(out, "false", 5);
  case TOWER_FIELD_STRING:
    return put_cstr(out, tower_metric_field_string(m, i));
  default:
    return -EINVAL;
  }
  return twi_buf_put(out, num, n);
}

static bool skipped(const tower_metric *m, size_t i) {
  return tower_metric_field_type(m, i) == TOWER_FIELD_FLOAT &&
         !isfinite(tower_metric_field_float(m, i));
}

static int put_fields(tower_buf *out, const tower_metric *m) {
  int rc = twi_buf_put(out, "{\"fields\":{", 11);
  bool first = true;
  for (size_t i = 0, n = tower_metric_field_count(m); i < n && !rc; i++) {
    if (skipped(m, i))
      continue;
    rc = (!first && twi_buf_putc(out, ',')) || put_cstr(out, tower_metric_field_key(m, i)) ||
         twi_buf_putc(out, ':') || put_value(out, m, i);
    first = false;
  }
  return rc;
}

static int put_tags(tower_buf *out, const tower_metric *m) {
  int rc = twi_buf_put(out, "\"tags\":{", 8);
  for (size_t i = 0, n = tower_metric_tag_count(m); i < n && !rc; i++)
    rc = (i && twi_buf_putc(out, ',')) || put_cstr(out, tower_metric_tag_key(m, i)) ||
         twi_buf_putc(out, ':') || put_cstr(out, tower_metric_tag_value(m, i));
  return rc || twi_buf_put(out, "},", 2);
}

static int put_time(tower_buf *out, const json_writer *w, int64_t ns) {
  if (w->layout) {
    char text[TWI_GOTIME_FMT_SIZE];
    size_t n = twi_gotime_format(w->layout, ns, text);
    return twi_json_put_string(out, text, n);
  }
  char num[TWI_FMT_INT_SIZE];
  return twi_buf_put(out, num, twi_fmt_int64(num, ns / w->units));
}

/* One metric's object, without a newline. */
static int put_metric(tower_buf *out, const json_writer *w, const tower_metric *m) {
  return put_fields(out, m) || twi_buf_put(out, "},\"name\":", 9) ||
         put_cstr(out, tower_metric_name(m)) || twi_buf_putc(out, ',') || put_tags(out, m) ||
         twi_buf_put(out, "\"timestamp\":", 12) || put_time(out, w, tower_metric_time(m)) ||
         twi_buf_putc(out, '}');
}

int twi_json_serialize(tower_serializer *s, const tower_metric *m, tower_buf *out) {
  size_t start = out->len;
  if (put_metric(out, s->state, m) || twi_buf_putc(out, '\n')) {
    tower_buf_truncate(out, start);
    return -ENOMEM;
  }
  return 0;
}

/* Telegraf's batch form: {"metrics":[{...},{...}]} and a newline. */
int twi_json_serialize_batch(tower_serializer *s, const tower_metric *const *ms, size_t n,
                             tower_buf *out) {
  size_t start = out->len;
  int rc = twi_buf_put(out, "{\"metrics\":[", 12);
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = (i && twi_buf_putc(out, ',')) || put_metric(out, s->state, ms[i]);
  if (rc || twi_buf_put(out, "]}\n", 3)) {
    tower_buf_truncate(out, start);
    return -ENOMEM;
  }
  return (int)n;
}

/* Telegraf's json_timestamp_units: the largest power of ten not above the
 * duration; 0 or less means 1s. */
static int64_t power_of_ten_units(int64_t ns) {
  if (ns <= 0)
    return 1000000000;
  int64_t d = 1;
  while (d <= INT64_MAX / 10 && d * 10 <= ns)
    d *= 10;
  return d;
}

static int writer_new(tower_serializer *s, const tower_config *cfg,
                      const twi_json_write_options *o) {
  json_writer *w = calloc(1, sizeof *w);
  if (!w)
    return -ENOMEM;
  w->units = power_of_ten_units(o->units_ns);
  if (o->timestamp_format && *o->timestamp_format) {
    const char *why;
    int rc = twi_gotime_compile(o->timestamp_format, false, &w->layout, &why);
    if (rc < 0) {
      free(w);
      if (rc != -EINVAL)
        return rc;
      if (cfg)
        return tower_config_error(cfg, tower_config_setting(cfg, "json_timestamp_format"),
                                  "invalid json_timestamp_format \"%s\": %s", o->timestamp_format,
                                  why);
      tower_error(s->ctx, "invalid json_timestamp_format \"%s\": %s", o->timestamp_format, why);
      return -EINVAL;
    }
  }
  s->state = w;
  return 0;
}

int twi_json_serializer_init(tower_serializer *s, const tower_config *cfg) {
  twi_json_write_options o = {0};
  if (cfg) {
    o.units_ns = tower_config_duration(cfg, "json_timestamp_units");
    o.timestamp_format = tower_config_string(cfg, "json_timestamp_format");
  }
  return writer_new(s, cfg, &o);
}

void twi_json_serializer_fini(tower_serializer *s) {
  json_writer *w = s->state;
  if (!w)
    return;
  twi_gotime_free(w->layout);
  free(w);
  s->state = NULL;
}

int twi_json_serializer_new(const tower_ctx *ctx, const twi_json_write_options *o,
                            tower_serializer **out) {
  static const twi_json_write_options defaults = {0};
  tower_serializer *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->fmt = &twi_format_json;
  s->ctx = ctx;
  int rc = writer_new(s, NULL, o ? o : &defaults);
  if (rc < 0) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}
