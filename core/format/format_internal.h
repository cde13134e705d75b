/* The format framework: what a data format implements.
 *
 * The generic parser (format.c) splits input into lines, keeps partial lines
 * between feeds (bounded), counts line numbers, and reports errors; a
 * line-based format implements parse_line, a document format (json)
 * parse_document. Formats emit metrics with twi_parser_emit() and report a
 * bad line with twi_parser_error().
 */
#ifndef TOWER_FORMAT_INTERNAL_H
#define TOWER_FORMAT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tower/format.h>
#include <tower/option.h>

typedef struct twi_format {
  const char *name;        /* data_format value */
  const char *description; /* one line for docs */

  /* Parser side (NULL parse functions: no parser for this format). */
  const tower_option *parser_options; /* format-specific keys, may be NULL */
  int (*parser_init)(tower_parser *p, const tower_config *cfg); /* cfg may be NULL */
  void (*parser_fini)(tower_parser *p);
  /* One line without its newline (and without a trailing '\r'). */
  int (*parse_line)(tower_parser *p, const char *line, size_t len);
  /* A whole document (formats that are not line based). */
  int (*parse_document)(tower_parser *p, const char *data, size_t len);
  /* End of a document: emit what is still pending (may be NULL). */
  int (*parse_end)(tower_parser *p);

  /* Serializer side (NULL serialize: no serializer). */
  const tower_option *serializer_options;
  int (*serializer_init)(tower_serializer *s, const tower_config *cfg); /* cfg may be NULL */
  void (*serializer_fini)(tower_serializer *s);
  int (*serialize)(tower_serializer *s, const tower_metric *m, tower_buf *out);
  /* Several metrics as one document (NULL: one serialize after the other).
   * Returns the number of metrics written or a negative errno. */
  int (*serialize_batch)(tower_serializer *s, const tower_metric *const *ms, size_t n,
                         tower_buf *out);
} twi_format;

struct tower_parser {
  const twi_format *fmt;
  void *state; /* the format's */
  const tower_ctx *ctx;
  char *source;              /* names the data in errors, may be NULL */
  tower_source_fn source_fn; /* else names it on demand, when set */
  void *source_ctx;
  char *default_name; /* measurement for formats without names */
  size_t max_line;    /* longest line (or document) accepted */

  /* line splitting */
  char *pending;
  size_t pending_len, pending_cap;
  bool skipping; /* discarding the rest of an over-long line */
  uint64_t lineno;

  /* current feed */
  tower_sink_fn sink;
  void *sink_ctx;
  int sink_rc;
  int emitted;

  uint64_t errors;
  char last_error[256];

  /* Tests only: a format with a fast path for common input takes its
   * general path for everything, so that a differential test can compare
   * the two (tests/unit/test_lp_roundtrip.c). */
  bool general_only;
};

struct tower_serializer {
  const twi_format *fmt;
  void *state;
  const tower_ctx *ctx;
};

/* Passes a parsed metric to the sink. Returns 0 or the sink's error, which
 * ends the current feed. Takes ownership of m. */
int twi_parser_emit(tower_parser *p, tower_metric *m);
/* Records a rejected line: counts it, keeps "line L, column C: message" as
 * the last error and logs it with the parser's source. column is 1-based (0:
 * unknown). Always returns -EINVAL. */
int twi_parser_error(tower_parser *p, size_t column, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The built-in formats. */
const twi_format *twi_format_find(const char *name);
/* i-th format (NULL past the end), for listings and option merging. */
const twi_format *twi_format_at(size_t i);

/* The options every parsing / serializing plugin gets (data_format and the
 * union of the formats' own), terminated. Built once, never freed. */
const tower_option *twi_parser_common_options(void);
const tower_option *twi_serializer_common_options(void);

extern const twi_format twi_format_influx;
extern const twi_format twi_format_csv;
extern const twi_format twi_format_json;
extern const twi_format twi_format_value;
extern const twi_format twi_format_prometheus;
extern const twi_format twi_format_openmetrics;

#endif
