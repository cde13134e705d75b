/* InfluxDB line protocol serializer.
 *
 * Escaping follows Telegraf's serializer (plugins/serializers/influx):
 * - measurement: ',' and ' ' get a backslash; tag keys, tag values and
 *   field keys: ',', '=' and ' '; string field values: '"' and '\'.
 * - A newline cannot be carried, since it ends the line. Like Telegraf we
 *   write it as the two characters "\n" everywhere; InfluxDB (and our
 *   parser) read that back as a backslash and an 'n', the one lossy case.
 *   Telegraf also turns tab, CR and form feed into "\t", "\r", "\f", which
 *   no parser unescapes; we write those bytes unchanged, which InfluxDB and
 *   our parser read back as they were.
 * - A trailing backslash in a measurement, tag key, tag value or field key
 *   would escape the separator after it, so trailing backslashes are
 *   dropped (Telegraf does so for tags; we also do it for the measurement
 *   and field keys, which Telegraf writes broken). A tag left empty is
 *   skipped, as is a field whose key is left empty.
 * - A measurement left empty, or starting with '#' (the line would be a
 *   comment) or a tab (parsers skip it as leading white space), cannot be
 *   written: -EINVAL.
 * - NaN and +-Inf fields are skipped: line protocol has no such values.
 *   Unsigned fields get the 'u' suffix only with TOWER_LP_UINT; otherwise
 *   they are written as integers clipped to INT64_MAX, as Telegraf does for
 *   servers without unsigned support.
 * Fields come out sorted by key (the metric's order).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf_internal.h"
#include "format_influx.h"
#include "numfmt.h"
#include "timefmt.h"

enum { E_NAME = 1, E_KEY = 2, E_STR = 4 };

static const unsigned char esc_class[256] = {
    [','] = E_NAME | E_KEY, [' '] = E_NAME | E_KEY, ['='] = E_KEY,
    ['"'] = E_STR,          ['\\'] = E_STR,         ['\n'] = E_NAME | E_KEY | E_STR,
};

/* Length of s without its trailing backslashes. */
static size_t trimmed_len(const char *s) {
  size_t n = strlen(s);
  while (n > 0 && s[n - 1] == '\\')
    n--;
  return n;
}

/* Copies s[0..n) to d with a backslash before each byte of class `mask`
 * and a newline as "\n"; d has room for 2n bytes. Returns the end. The
 * part before the first special byte (usually all of it) goes in one
 * memcpy. */
static char *copy_escaped(char *d, const char *s, size_t n, unsigned mask) {
  size_t i = 0;
  while (i < n && !(esc_class[(unsigned char)s[i]] & mask))
    i++;
  memcpy(d, s, i);
  d += i;
  for (; i < n; i++) {
    char c = s[i];
    if (esc_class[(unsigned char)c] & mask) {
      *d++ = '\\';
      c = c == '\n' ? 'n' : c;
    }
    *d++ = c;
  }
  return d;
}

/* Room for `extra` more bytes and the NUL; 0 or -ENOMEM. */
static inline int room(tower_buf *b, size_t extra) {
  return b->len + extra + 1 > b->cap ? twi_buf_reserve(b, extra) : 0;
}

/* Ends a write of the bytes up to d (the buffer keeps a NUL after them). */
static void wrote_to(tower_buf *b, char *d) {
  b->len = (size_t)(d - b->data);
  *d = '\0';
}

/* Appends s[0..n) escaped for `mask`. 0 or -ENOMEM. */
static int put_escaped(tower_buf *b, const char *s, size_t n, unsigned mask) {
  if (room(b, 2 * n))
    return -ENOMEM;
  wrote_to(b, copy_escaped(b->data + b->len, s, n, mask));
  return 0;
}

/* Appends ",key=value" with one reservation. */
static int put_tag(tower_buf *b, const char *k, size_t klen, const char *v, size_t vlen) {
  if (room(b, 2 + 2 * (klen + vlen)))
    return -ENOMEM;
  char *d = b->data + b->len;
  *d++ = ',';
  d = copy_escaped(d, k, klen, E_KEY);
  *d++ = '=';
  wrote_to(b, copy_escaped(d, v, vlen, E_KEY));
  return 0;
}

static int write_tags(const tower_metric *m, tower_buf *out) {
  for (size_t i = 0, n = tower_metric_tag_count(m); i < n; i++) {
    const char *k = tower_metric_tag_key(m, i), *v = tower_metric_tag_value(m, i);
    size_t klen = trimmed_len(k), vlen = trimmed_len(v);
    if (klen == 0 || vlen == 0)
      continue;
    if (put_tag(out, k, klen, v, vlen))
      return -ENOMEM;
  }
  return 0;
}

/* Writes a numeric or bool value of field i; 1 when it has none to write. */
static int put_scalar(tower_buf *out, const tower_metric *m, size_t i, unsigned flags) {
  char buf[TWI_FMT_DOUBLE_SIZE + 1];
  size_t n;
  switch (tower_metric_field_type(m, i)) {
  case TOWER_FIELD_FLOAT: {
    double v = tower_metric_field_float(m, i);
    if (!isfinite(v))
      return 1;
    n = twi_fmt_double(buf, v);
    break;
  }
  case TOWER_FIELD_INT:
    n = twi_fmt_int64(buf, tower_metric_field_int(m, i));
    buf[n++] = 'i';
    break;
  case TOWER_FIELD_UINT: {
    uint64_t v = tower_metric_field_uint(m, i);
    bool u = flags & TOWER_LP_UINT;
    n = twi_fmt_uint64(buf, u || v <= INT64_MAX ? v : (uint64_t)INT64_MAX);
    buf[n++] = u ? 'u' : 'i';
    break;
  }
  case TOWER_FIELD_BOOL:
    return twi_buf_put(out, tower_metric_field_bool(m, i) ? "true" : "false",
                       tower_metric_field_bool(m, i) ? 4 : 5);
  default:
    return 1;
  }
  return twi_buf_put(out, buf, n);
}

/* Appends ",key=value" (no comma for the first); 1 when the field is
 * skipped, 0 when written, -ENOMEM. */
static int write_field(const tower_metric *m, size_t i, tower_buf *out, unsigned flags,
                       bool first) {
  const char *k = tower_metric_field_key(m, i);
  size_t klen = trimmed_len(k), mark = out->len;
  if (klen == 0)
    return 1;
  if ((!first && twi_buf_putc(out, ',')) || put_escaped(out, k, klen, E_KEY) ||
      twi_buf_putc(out, '='))
    return -ENOMEM;
  int rc;
  if (tower_metric_field_type(m, i) == TOWER_FIELD_STRING) {
    const char *s = tower_metric_field_string(m, i);
    rc = twi_buf_putc(out, '"') || put_escaped(out, s, strlen(s), E_STR) || twi_buf_putc(out, '"')
             ? -ENOMEM
             : 0;
  } else {
    rc = put_scalar(out, m, i, flags);
  }
  if (rc == 1)
    tower_buf_truncate(out, mark);
  return rc;
}

static int write_time(const tower_metric *m, tower_buf *out, unsigned flags, int64_t prec) {
  int64_t t = tower_metric_time(m);
  if ((flags & TOWER_LP_NO_TIME) || t == TOWER_TIME_UNSET)
    return 0;
  char buf[TWI_FMT_INT_SIZE + 1];
  buf[0] = ' ';
  size_t n = 1 + twi_fmt_int64(buf + 1, prec > 1 ? twi_floor_div(t, prec) : t);
  return twi_buf_put(out, buf, n);
}

static int write_line(const tower_metric *m, tower_buf *out, unsigned flags, int64_t prec) {
  const char *name = tower_metric_name(m);
  size_t nlen = trimmed_len(name);
  if (nlen == 0 || name[0] == '#' || name[0] == '\t')
    return -EINVAL;
  if (put_escaped(out, name, nlen, E_NAME) || write_tags(m, out) || twi_buf_putc(out, ' '))
    return -ENOMEM;
  bool first = true;
  for (size_t i = 0, n = tower_metric_field_count(m); i < n; i++) {
    int rc = write_field(m, i, out, flags, first);
    if (rc < 0)
      return rc;
    first &= rc == 1;
  }
  if (first)
    return -EINVAL;
  if (write_time(m, out, flags, prec) || twi_buf_putc(out, '\n'))
    return -ENOMEM;
  return 0;
}

int tower_lp_write(const tower_metric *m, tower_buf *out, unsigned flags, int64_t precision_ns) {
  if (!m || !out)
    return -EINVAL;
  size_t start = out->len;
  int rc = write_line(m, out, flags, precision_ns);
  if (rc)
    tower_buf_truncate(out, start);
  return rc;
}

/* ---- the format's serializer ----------------------------------------- */

typedef struct lp_writer {
  unsigned flags;
} lp_writer;

int twi_influx_serializer_init(tower_serializer *s, const tower_config *cfg) {
  lp_writer *w = calloc(1, sizeof *w);
  if (!w)
    return -ENOMEM;
  if (cfg && tower_config_bool(cfg, "influx_uint_support"))
    w->flags |= TOWER_LP_UINT;
  if (cfg && tower_config_bool(cfg, "influx_omit_timestamp"))
    w->flags |= TOWER_LP_NO_TIME;
  s->state = w;
  return 0;
}

void twi_influx_serializer_fini(tower_serializer *s) {
  free(s->state);
  s->state = NULL;
}

int twi_influx_serialize(tower_serializer *s, const tower_metric *m, tower_buf *out) {
  const lp_writer *w = s->state;
  return tower_lp_write(m, out, w ? w->flags : 0, 1);
}
