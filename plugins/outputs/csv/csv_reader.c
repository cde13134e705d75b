/* outputs.csv: a small RFC 4180 reader, enough to adopt the header of an
 * existing file and to widen its rows when a column is added.
 *
 * It is lenient the way spreadsheet tools are: a quote inside an unquoted
 * cell is data, text after a closing quote joins the cell, and records may
 * end with "\r\n" (files edited elsewhere) as well as "\n" (ours).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

enum { S_START, S_UNQUOTED, S_QUOTED, S_QUOTE_IN_QUOTED };

void csv_scan_init(csv_scan *s, char sep) {
  memset(s, 0, sizeof *s);
  s->sep = sep;
  s->cells = 1;
}

void csv_scan_next_record(csv_scan *s) {
  s->state = S_START;
  s->cells = 1;
  s->bytes = 0;
  s->cr = false;
  s->crlf = false;
}

/* One byte outside quotes; returns true at the end of the record. */
static bool scan_plain(csv_scan *s, char c) {
  if (c == '\n')
    return true;
  if (c == '\r') {
    s->cr = true; /* data or the start of "\r\n": the next byte tells */
    return false;
  }
  s->bytes++;
  if (c == s->sep) {
    s->cells++;
    s->state = S_START;
  } else if (c == '"' && s->state == S_START) {
    s->state = S_QUOTED;
  } else if (c == '"' && s->state == S_QUOTE_IN_QUOTED) {
    s->state = S_QUOTED; /* "" inside quotes */
  } else {
    s->state = S_UNQUOTED;
  }
  return false;
}

size_t csv_scan_feed(csv_scan *s, const char *data, size_t len, bool *end) {
  *end = false;
  for (size_t i = 0; i < len; i++) {
    char c = data[i];
    if (s->cr) {
      s->cr = false;
      if (c == '\n') {
        s->crlf = true;
        *end = true;
        return i + 1;
      }
      s->bytes++; /* a lone '\r' is data */
      s->state = S_UNQUOTED;
    }
    if (s->state == S_QUOTED) {
      s->bytes++;
      if (c == '"')
        s->state = S_QUOTE_IN_QUOTED;
      continue;
    }
    if (scan_plain(s, c)) {
      *end = true;
      return i + 1;
    }
  }
  return len;
}

/* Appends the unescaped cell data[0..len) as a column name. */
static int add_cell(csv_cols *cols, const char *data, size_t len) {
  if (len == 0 || data[0] != '"')
    return csv_cols_add(cols, data, len);
  char *name = malloc(len);
  if (!name)
    return -ENOMEM;
  size_t n = 0;
  bool quoted = true;
  for (size_t i = 1; i < len; i++) {
    if (quoted && data[i] == '"') {
      if (i + 1 < len && data[i + 1] == '"')
        name[n++] = data[i++];
      else
        quoted = false;
      continue;
    }
    name[n++] = data[i];
  }
  int rc = quoted ? -EINVAL : csv_cols_add(cols, name, n);
  free(name);
  return rc;
}

int csv_parse_header(const char *data, size_t len, char sep, csv_cols *cols) {
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && quoted) {
      if (data[i] == '"' && i + 1 < len && data[i + 1] == '"')
        i++; /* "" inside quotes */
      else if (data[i] == '"')
        quoted = false;
      continue;
    }
    if (i < len && data[i] == '"' && i == start) {
      quoted = true;
      continue;
    }
    if (i < len && data[i] != sep)
      continue;
    if (quoted)
      return -EINVAL; /* the record ends inside quotes */
    int rc = add_cell(cols, data + start, i - start);
    if (rc)
      return rc;
    start = i + 1;
  }
  return 0;
}
