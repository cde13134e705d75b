/* libFuzzer target: the CSV reader of outputs.csv
 * (plugins/outputs/csv/csv_reader.c, compiled into this program with the
 * column index of csv_row.c), which adopts the header of a file it finds
 * and splits its records when a rewrite widens them.
 *
 * The first byte of an input is the separator (a quote, CR, LF or NUL, which
 * the plugin refuses, stand for ','); the rest is the file. For each input
 * it checks that
 *   1. scanning and parsing never crash or leak (the sanitizers watch);
 *   2. the records the scanner finds are the same however the file is fed
 *      (whole, or in chunks of a size taken from the data), and each one's
 *      byte count is its length without its "\n" or "\r\n";
 *   3. the first record, read as outputs.csv reads a header, parses, into
 *      as many columns as the scanner counted cells;
 *   4. those names, written back with the plugin's header writer, scan and
 *      parse to the same names;
 *   5. looking a name up finds its first column (a duplicate keeps it).
 * A failed check aborts, which libFuzzer reports with a reproducer.
 *
 * `make check` replays tests/fuzz/corpus/csv_header/ through this file with
 * tests/fuzz/replay.c; `make fuzz` builds the libFuzzer binary and
 * `make fuzz-run` runs it (tests/fuzz/README.md).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

#define FUZZ_TARGET "fuzz_csv_header"
#include "fuzz_util.h"

#define MAX_RECORDS 64

typedef struct record {
  size_t end; /* offset past the terminator */
  size_t cells, bytes;
  bool crlf;
} record;

/* Scans data in chunks of `chunk` bytes; returns the records that ended. */
static size_t scan(const char *data, size_t len, char sep, size_t chunk, record *out) {
  csv_scan s;
  csv_scan_init(&s, sep);
  size_t n = 0, off = 0, fed = 0;
  while (off < len && n < MAX_RECORDS) {
    size_t piece = len - off < chunk - fed ? len - off : chunk - fed;
    bool end;
    size_t used = csv_scan_feed(&s, data + off, piece, &end);
    if (used > piece || (!end && used != piece))
      die("feed of %zu bytes used %zu (end %d)", piece, used, end);
    off += used;
    fed = (fed + used) % chunk;
    if (end) {
      out[n++] = (record){.end = off, .cells = s.cells, .bytes = s.bytes, .crlf = s.crlf};
      csv_scan_next_record(&s);
    }
  }
  return n;
}

static void check_scan(const char *data, size_t len, char sep, size_t chunk) {
  record whole[MAX_RECORDS], parts[MAX_RECORDS];
  size_t n = scan(data, len, sep, len ? len : 1, whole);
  if (scan(data, len, sep, chunk, parts) != n)
    die("chunks of %zu find another number of records", chunk);
  for (size_t i = 0; i < n; i++) {
    size_t start = i ? whole[i - 1].end : 0;
    if (whole[i].end != parts[i].end || whole[i].cells != parts[i].cells ||
        whole[i].bytes != parts[i].bytes || whole[i].crlf != parts[i].crlf)
      die("record %zu differs when fed in chunks of %zu", i, chunk);
    if (whole[i].bytes != whole[i].end - start - 1 - whole[i].crlf)
      die("record %zu: %zu bytes counted in %zu", i, whole[i].bytes, whole[i].end - start);
  }
}

/* The header as csv_file.c's read_header() takes it: the first record,
 * without its terminator. 0, -EINVAL or -ENOMEM; *cells from the scanner. */
static int read_header(const char *data, size_t len, char sep, csv_cols *cols, size_t *cells) {
  csv_scan s;
  csv_scan_init(&s, sep);
  bool end;
  size_t used = csv_scan_feed(&s, data, len, &end);
  if (!end)
    return -EINVAL;
  *cells = s.cells;
  return csv_parse_header(data, used - 1 - (s.crlf ? 1 : 0), sep, cols);
}

static void check_lookup(const csv_cols *cols) {
  for (size_t i = 0; i < cols->n; i++) {
    size_t first = 0;
    while (strcmp(cols->names[first], cols->names[i]) != 0)
      first++;
    if (csv_cols_find(cols, cols->names[i], "") != (ptrdiff_t)first)
      die("\"%s\" is found at %td, not at its first column %zu", cols->names[i],
          csv_cols_find(cols, cols->names[i], ""), first);
  }
}

static void check_round_trip(const csv_cols *cols, char sep) {
  csv_out o = {.sep = sep};
  tower_buf *out = tower_buf_new(0);
  if (!out || csv_header(&o, cols, out) != 0)
    die("cannot write the header");
  csv_cols back = {0};
  size_t cells;
  if (read_header(tower_buf_data(out), tower_buf_len(out), sep, &back, &cells) != 0)
    die("the written header does not read back: %s", tower_buf_data(out));
  if (back.n != cols->n)
    die("%zu columns read back as %zu: %s", cols->n, back.n, tower_buf_data(out));
  for (size_t i = 0; i < cols->n; i++)
    if (strcmp(back.names[i], cols->names[i]) != 0)
      die("column %zu \"%s\" reads back as \"%s\"", i, cols->names[i], back.names[i]);
  csv_cols_free(&back);
  tower_buf_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0 || size > 65536)
    return 0;
  char sep = (char)data[0];
  if (sep == '"' || sep == '\r' || sep == '\n' || sep == '\0')
    sep = ',';
  const char *file = (const char *)data + 1;
  size_t len = size - 1;
  check_scan(file, len, sep, 1 + data[size - 1] % 7);
  csv_cols cols = {0};
  size_t cells = 0;
  int rc = read_header(file, len, sep, &cols, &cells);
  if (rc == 0 && cols.n != cells)
    die("the header has %zu columns, the scanner counted %zu cells", cols.n, cells);
  if (rc == 0) {
    check_lookup(&cols);
    check_round_trip(&cols, sep);
  } else if (rc != -EINVAL) {
    die("reading the header failed: %d", rc);
  } else if (memchr(file, '\n', len) && cells) {
    die("a complete first record is refused");
  }
  csv_cols_free(&cols);
  return 0;
}
