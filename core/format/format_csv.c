/* CSV serializer, with the options and layout of Telegraf's:
 *
 *   [timestamp,measurement,<tag keys>,<field keys>]   header, csv_header only
 *   <time>,<name>,<tag values...>,<field values...>   one row per metric
 *
 * Tags and fields are in key order (the metric keeps them sorted; Telegraf
 * sorts the fields and keeps tags sorted too). The header is written once
 * per serializer, before its first row, from that row's metric: like
 * Telegraf, later metrics with other keys do not change it. Rows end with
 * "\n". Cells are quoted as RFC 4180 says (see tower_csv_cell); numbers and
 * times go through the same rule, so an unusual separator such as '.' or
 * '-' still gives a readable file.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf_internal.h"
#include "format_csv.h"
#include "numfmt.h"
#include "timefmt.h"

/* ---- cells ------------------------------------------------------------ */

static bool needs_quotes(const char *s, size_t n, char sep) {
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == sep || c == '"' || c == '\r' || c == '\n')
      return true;
  }
  return false;
}

static char *put_quoted(char *d, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"')
      *d++ = '"';
    *d++ = s[i];
  }
  return d;
}

/* One cell made of a[0..an) followed by b[0..bn) (a header prefix such as
 * "tag_" and a key), quoted as a whole when needed. */
static int put_cell2(tower_buf *out, const char *a, size_t an, const char *b, size_t bn, char sep) {
  size_t n = an + bn;
  char first = an ? a[0] : bn ? b[0] : 0, last = bn ? b[bn - 1] : an ? a[an - 1] : 0;
  bool quote = n > 0 && (first == ' ' || last == ' ' || needs_quotes(a, an, sep) ||
                         needs_quotes(b, bn, sep));
  if (!quote)
    return twi_buf_put(out, a, an) || twi_buf_put(out, b, bn) ? -ENOMEM : 0;
  if (twi_buf_reserve(out, 2 * n + 2))
    return -ENOMEM;
  char *d = out->data + out->len;
  *d++ = '"';
  d = put_quoted(put_quoted(d, a, an), b, bn);
  *d++ = '"';
  out->len = (size_t)(d - out->data);
  out->data[out->len] = '\0';
  return 0;
}

int tower_csv_cell(tower_buf *out, const char *s, size_t len, char separator) {
  return put_cell2(out, "", 0, s, len, separator);
}

int tower_csv_field_cell(tower_buf *out, const tower_metric *m, size_t i, char separator) {
  char buf[TWI_FMT_DOUBLE_SIZE];
  size_t n;
  switch (tower_metric_field_type(m, i)) {
  case TOWER_FIELD_FLOAT:
    n = twi_fmt_double(buf, tower_metric_field_float(m, i));
    break;
  case TOWER_FIELD_INT:
    n = twi_fmt_int64(buf, tower_metric_field_int(m, i));
    break;
  case TOWER_FIELD_UINT:
    n = twi_fmt_uint64(buf, tower_metric_field_uint(m, i));
    break;
  case TOWER_FIELD_BOOL:
    n = tower_metric_field_bool(m, i) ? 4 : 5;
    memcpy(buf, n == 4 ? "true" : "false", n);
    break;
  case TOWER_FIELD_STRING: {
    const char *s = tower_metric_field_string(m, i);
    return tower_csv_cell(out, s, strlen(s), separator);
  }
  default:
    return -EINVAL;
  }
  return tower_csv_cell(out, buf, n, separator);
}

/* ---- the serializer --------------------------------------------------- */

typedef struct csv_state {
  twi_time_format time_format;
  char sep;
  bool header;      /* csv_header */
  bool prefix;      /* csv_column_prefix */
  bool header_done; /* written (or not wanted) */
} csv_state;

static int put_str_cell(tower_buf *out, const char *s, char sep) {
  return tower_csv_cell(out, s, strlen(s), sep);
}

static int write_header(const csv_state *st, const tower_metric *m, tower_buf *out) {
  char sep = st->sep;
  int rc = put_str_cell(out, "timestamp", sep) || twi_buf_putc(out, sep) ||
           put_str_cell(out, "measurement", sep);
  for (size_t i = 0, n = tower_metric_tag_count(m); i < n && !rc; i++) {
    const char *k = tower_metric_tag_key(m, i);
    rc = twi_buf_putc(out, sep) || put_cell2(out, "tag_", st->prefix ? 4 : 0, k, strlen(k), sep);
  }
  for (size_t i = 0, n = tower_metric_field_count(m); i < n && !rc; i++) {
    const char *k = tower_metric_field_key(m, i);
    rc = twi_buf_putc(out, sep) || put_cell2(out, "field_", st->prefix ? 6 : 0, k, strlen(k), sep);
  }
  return rc || twi_buf_putc(out, '\n') ? -ENOMEM : 0;
}

static int write_row(const csv_state *st, const tower_metric *m, tower_buf *out) {
  char sep = st->sep, tbuf[TWI_FMT_TIME_SIZE];
  size_t tlen = twi_fmt_time(tbuf, tower_metric_time(m), st->time_format);
  int rc = tower_csv_cell(out, tbuf, tlen, sep) || twi_buf_putc(out, sep) ||
           put_str_cell(out, tower_metric_name(m), sep);
  for (size_t i = 0, n = tower_metric_tag_count(m); i < n && !rc; i++)
    rc = twi_buf_putc(out, sep) || put_str_cell(out, tower_metric_tag_value(m, i), sep);
  for (size_t i = 0, n = tower_metric_field_count(m); i < n && !rc; i++)
    rc = twi_buf_putc(out, sep) || tower_csv_field_cell(out, m, i, sep);
  return rc || twi_buf_putc(out, '\n') ? -ENOMEM : 0;
}

static int csv_serialize(tower_serializer *s, const tower_metric *m, tower_buf *out) {
  csv_state *st = s->state;
  size_t start = out->len;
  int rc = 0;
  if (!st->header_done && st->header)
    rc = write_header(st, m, out);
  if (!rc)
    rc = write_row(st, m, out);
  if (rc) {
    tower_buf_truncate(out, start);
    return rc;
  }
  st->header_done = true;
  return 0;
}

/* Logs a bad option: at its line in the config file when there is one. */
static int option_error(const tower_serializer *s, const tower_config *cfg, const char *key,
                        const char *value, const char *what) {
  if (cfg)
    return tower_config_error(cfg, tower_config_setting(cfg, key), "invalid %s \"%s\": %s", key,
                              value, what);
  tower_error(s->ctx, "invalid %s \"%s\": %s", key, value, what);
  return -EINVAL;
}

static int configure(tower_serializer *s, const tower_config *cfg, const twi_csv_options *o) {
  const char *tf = o->timestamp_format ? o->timestamp_format : "unix";
  const char *sep = o->separator && *o->separator ? o->separator : ",";
  int id = twi_time_format_id(tf);
  if (id < 0)
    return option_error(s, cfg, "csv_timestamp_format", tf,
                        "choose unix, unix_ms, unix_us, unix_ns, rfc3339 or rfc3339nano");
  if (strlen(sep) != 1 || sep[0] == '"' || sep[0] == '\r' || sep[0] == '\n')
    return option_error(s, cfg, "csv_separator", sep,
                        "the separator must be a single byte other than '\"', CR and LF");
  csv_state *st = calloc(1, sizeof *st);
  if (!st)
    return -ENOMEM;
  st->time_format = (twi_time_format)id;
  st->sep = sep[0];
  st->header = o->header;
  st->prefix = o->column_prefix;
  s->state = st;
  return 0;
}

static int csv_init(tower_serializer *s, const tower_config *cfg) {
  twi_csv_options o = {0};
  if (cfg) {
    o.timestamp_format = tower_config_string(cfg, "csv_timestamp_format");
    o.separator = tower_config_string(cfg, "csv_separator");
    o.header = tower_config_bool(cfg, "csv_header");
    o.column_prefix = tower_config_bool(cfg, "csv_column_prefix");
  }
  return configure(s, cfg, &o);
}

static void csv_fini(tower_serializer *s) {
  free(s->state);
  s->state = NULL;
}

int twi_csv_serializer_new(const tower_ctx *ctx, const twi_csv_options *o, tower_serializer **out) {
  static const twi_csv_options defaults = {0};
  tower_serializer *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->fmt = &twi_format_csv;
  s->ctx = ctx;
  int rc = configure(s, NULL, o ? o : &defaults);
  if (rc < 0) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

static const tower_option serializer_options[] = {
    {.name = "csv_timestamp_format",
     .type = TOWER_OPT_ENUM,
     .default_value = "unix",
     .choices = "unix|unix_ms|unix_us|unix_ns|rfc3339|rfc3339nano",
     .help = "how the timestamp column is written (rfc3339 times are UTC)"},
    {.name = "csv_separator",
     .type = TOWER_OPT_STRING,
     .default_value = ",",
     .help = "column separator: one byte, not '\"', CR or LF"},
    {.name = "csv_header",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "write a header row before the first row, named after the first metric's keys"},
    {.name = "csv_column_prefix",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "name header columns tag_<key> and field_<key>"},
    TOWER_OPTION_END,
};

const twi_format twi_format_csv = {
    .name = "csv",
    .description = "comma-separated values, one row per metric (serializer only)",
    .serializer_options = serializer_options,
    .serializer_init = csv_init,
    .serializer_fini = csv_fini,
    .serialize = csv_serialize,
};
