/* tower SDK: data formats shared by all plugins.
 *
 * Parsers turn bytes into metrics (inputs: exec, kafka_consumer...);
 * serializers turn metrics into bytes (outputs: kafka, file...). A plugin that
 * sets TOWER_PLUGIN_PARSER or TOWER_PLUGIN_SERIALIZER in its descriptor
 * accepts `data_format` and the format's options in its config block and
 * builds the configured parser/serializer with tower_parser_new() /
 * tower_serializer_new().
 *
 * Formats: "influx" (InfluxDB line protocol), "prometheus" (text exposition
 * 0.0.4), "openmetrics" (OpenMetrics text 1.0.0, parser only), "json",
 * "value" (parser only), "csv" (serializer only).
 *
 * Parsers stream: feed any chunks, complete lines are parsed at once and a
 * partial line waits for the next chunk (bounded by the maximum line length).
 * A malformed line is reported (source, line, column, what was expected),
 * counted and skipped; parsing goes on with the next line. Parsers never
 * crash on any input and never read past `len`.
 *
 * Ownership: where a function below says nothing else, its arguments are
 * only read during the call and nothing of them is kept, and what it
 * writes is appended to the caller's tower_buf.
 *
 * Thread safety: a parser or serializer belongs to one thread at a time.
 */
#ifndef TOWER_FORMAT_H
#define TOWER_FORMAT_H

#include <tower/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tower/buf.h>
#include <tower/config.h>
#include <tower/log.h>
#include <tower/metric.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where parsed metrics go. The sink takes ownership of `m` in every case and
 * returns 0 or a negative errno (which stops the parse). */
typedef int (*tower_sink_fn)(void *sink_ctx, tower_metric *m);
/* A sink that adds to a tower_acc (pass the accumulator as sink_ctx); takes
 * ownership of `m` in every case, as tower_acc_add() does. */
int tower_acc_sink(void *acc, tower_metric *m);

/* ---- parsers ---------------------------------------------------------- */

/* Builds the parser configured in `cfg` (data_format and its options) for
 * plugin instance `ctx`, which names errors in the log. Returns 0 or a
 * negative errno after logging why. The caller frees with
 * tower_parser_free(), at the latest in destroy: the parser refers to `ctx`
 * and to strings of `cfg`. */
int tower_parser_new(const tower_ctx *ctx, const tower_config *cfg, tower_parser **out);
/* Builds a parser for `format` (only read during the call) with default
 * options; `ctx` may be NULL. The caller frees with tower_parser_free(),
 * before `ctx` goes (destroy) when one is given. */
int tower_parser_new_format(const tower_ctx *ctx, const char *format, tower_parser **out);
/* Frees the parser and the partial line it keeps. NULL is accepted. */
void tower_parser_free(tower_parser *p);

/* Names the data in error messages: "command /app/check.sh",
 * "topic metrics partition 3 offset 42". Copied (NULL clears it); on
 * allocation failure the parser just names no source. */
void tower_parser_set_source(tower_parser *p, const char *source);
/* Writes the name of the data being parsed into buf (at most `size` bytes,
 * NUL included). */
typedef void (*tower_source_fn)(void *ctx, char *buf, size_t size);
/* Names the data in error messages through `name`, called only when an
 * error is reported: for a source that changes with every chunk (a Kafka
 * message's offset), so that naming it costs nothing while the data is
 * good. `name` and `ctx` are borrowed until the next
 * tower_parser_set_source*() call or tower_parser_free(); NULL `name`
 * clears the source. Replaces a name given to tower_parser_set_source().
 * Since ABI 1.3. */
void tower_parser_set_source_fn(tower_parser *p, tower_source_fn name, void *ctx);
/* Measurement name for formats whose data carries none (json, value).
 * Copied (NULL clears it). Returns 0, or -ENOMEM with the old name kept. */
int tower_parser_set_default_name(tower_parser *p, const char *name);

/* Parses the complete lines in data[0..len) and keeps a trailing partial line
 * for the next call (copied: `data` is only read during the call). Each
 * metric goes to `sink`, which owns it from then on. Returns the number of
 * metrics emitted, or a negative errno when parsing cannot go on (-ENOMEM,
 * or the sink's error). */
int tower_parser_feed(tower_parser *p, const char *data, size_t len, tower_sink_fn sink,
                      void *sink_ctx);
/* Ends the document: parses the kept partial line and resets line numbers.
 * Same result as tower_parser_feed(). */
int tower_parser_end(tower_parser *p, tower_sink_fn sink, void *sink_ctx);
/* feed + end for a whole document. */
int tower_parser_parse(tower_parser *p, const char *data, size_t len, tower_sink_fn sink,
                       void *sink_ctx);

/* Lines rejected since the parser was created. */
uint64_t tower_parser_errors(const tower_parser *p);
/* The last error ("line 3, column 12: expected '=' after field key"), or
 * NULL. Borrowed until the next parse call. */
const char *tower_parser_last_error(const tower_parser *p);

/* ---- serializers ------------------------------------------------------ */

/* Builds the serializer configured in `cfg` (data_format and its options,
 * for a plugin with TOWER_PLUGIN_SERIALIZER) for instance `ctx`, which names
 * errors in the log. Returns 0 or a negative errno after logging why. The
 * caller frees with tower_serializer_free(), at the latest in destroy: the
 * serializer refers to `ctx` and to strings of `cfg`. */
int tower_serializer_new(const tower_ctx *ctx, const tower_config *cfg, tower_serializer **out);
/* Builds a serializer for `format` (only read during the call) with default
 * options; `ctx` may be NULL. The caller frees with tower_serializer_free(),
 * before `ctx` goes (destroy) when one is given. */
int tower_serializer_new_format(const tower_ctx *ctx, const char *format, tower_serializer **out);
/* Frees the serializer. NULL is accepted. */
void tower_serializer_free(tower_serializer *s);

/* Appends `m` (only read during the call) to `out` (the caller's). Returns
 * 0; -EINVAL when the metric cannot be represented in the format (nothing
 * is appended; the caller counts it); -ENOMEM (nothing is appended). */
int tower_serialize(tower_serializer *s, const tower_metric *m, tower_buf *out);

/* Appends `n` metrics as one message: Telegraf's batch format, that is
 * {"metrics":[...]} for json and one serialization after the other for the
 * line-based formats. Metrics the format cannot represent are skipped.
 * The metrics and the array are only read during the call. Returns the
 * number of metrics written, or -ENOMEM. */
int tower_serialize_batch(tower_serializer *s, const tower_metric *const *ms, size_t n,
                          tower_buf *out);

/* ---- InfluxDB line protocol, directly --------------------------------- */

#define TOWER_LP_UINT                                                                              \
  0x1u                        /* write uint64 fields with the u suffix (else as                    \
                                 i, clipped to INT64_MAX) */
#define TOWER_LP_NO_TIME 0x2u /* omit the timestamp */

/* Appends one line (with '\n') for `m` (only read during the call) to the
 * caller's `out`, timestamps divided by precision_ns
 * (1 for ns, 1000 for us, ...; 0 means 1). Fields that line protocol cannot
 * carry (NaN, +-Inf) are skipped; a metric left without fields returns
 * -EINVAL and appends nothing. Returns 0, -EINVAL, -ENOMEM. */
int tower_lp_write(const tower_metric *m, tower_buf *out, unsigned flags, int64_t precision_ns);

/* ---- values, times and CSV cells ------------------------------------- */

/* Appends `v` in the shortest decimal form that reads back as the same
 * double ("0.1", "1234.5", "1e-07", "NaN", "+Inf", "-Inf"). 0 or -ENOMEM. */
int tower_format_float(tower_buf *out, double v);

/* Timestamp formats: "unix" (seconds), "unix_ms", "unix_us", "unix_ns",
 * "rfc3339" (UTC, whole seconds: 2026-11-21T05:36:00Z) and "rfc3339nano"
 * (UTC with up to 9 fractional digits, trailing zeros dropped). */
bool tower_time_format_valid(const char *format);
/* Appends `time_ns` in `format`. 0, -EINVAL (unknown format), -ENOMEM. */
int tower_format_time(tower_buf *out, int64_t time_ns, const char *format);
/* Parses `text` written in `format` into ns since the epoch ("rfc3339"
 * accepts fractions and numeric zone offsets). 0 or -EINVAL. */
int tower_parse_time(const char *text, size_t len, const char *format, int64_t *out_ns);

/* Appends `len` bytes of `s` as one RFC 4180 CSV cell: quoted, with quotes
 * doubled, when it holds the separator, a quote, CR or LF, or starts or ends
 * with a space. 0 or -ENOMEM. */
int tower_csv_cell(tower_buf *out, const char *s, size_t len, char separator);
/* Appends field i of `m` as one CSV cell: numbers as tower_format_float()
 * or decimal integers, booleans as true/false, strings as tower_csv_cell(). */
int tower_csv_field_cell(tower_buf *out, const tower_metric *m, size_t i, char separator);

/* ---- Prometheus exposition (text format 0.0.4) ------------------------ *
 *
 * Metrics map to Prometheus series the way Telegraf's prometheus_client
 * output does with metric_version 1, so that data parsed from an exposition
 * (the "prometheus" parser: counter -> field "counter", gauge -> "gauge",
 * untyped -> "value", histogram -> one field per `le` bound plus "sum" and
 * "count", summary -> one field per quantile plus "sum" and "count")
 * re-exposes the same series:
 *  - counter, gauge, untyped: one series per numeric field, named
 *    <measurement>_<field>; the field "value" (and "counter" for counters,
 *    "gauge" for gauges) is named <measurement>;
 *  - histogram / summary metrics are rebuilt into one series from their
 *    numeric bound/quantile fields and "sum"/"count";
 *  - tags become labels; string fields too with TOWER_PROM_STRING_AS_LABEL
 *    (a string field wins over a tag of the same label name), else they
 *    are skipped, as are booleans; `le` / `quantile` are never labels of a
 *    histogram / summary;
 *  - series names: every character outside [a-zA-Z0-9_:] becomes '_'; a
 *    name starting with a digit gives no series (as in Telegraf);
 *  - label names follow Telegraf's SanitizeLabelName: an invalid first
 *    character is dropped, later ones become '_', '_' is trimmed at both
 *    ends; a label left empty or starting with a digit is dropped;
 *  - a label name starting with "__" or a label value that is not UTF-8
 *    makes the metric give no series (Prometheus would reject the scrape);
 *  - bucket counts and counts are truncated to integers. */

#define TOWER_PROM_STRING_AS_LABEL 0x1u /* string fields become labels */
#define TOWER_PROM_TIMESTAMP 0x2u       /* write sample timestamps (ms) */

typedef struct tower_prom_series {
  const char *name;      /* family name, sanitized */
  tower_value_type type; /* counter, gauge, untyped, summary or histogram */
  size_t nlabels;        /* labels, sorted by name, names sanitized */
  const char *const *label_names;
  const char *const *label_values;
  double value; /* counter, gauge, untyped */
  /* histogram: nbuckets upper bounds (ascending, the last +Inf) and their
   * cumulative counts; summary: nbuckets quantiles and their values */
  size_t nbuckets;
  const double *bounds;
  const double *counts;
  double sum, count; /* histogram, summary */
  int64_t time_ns;
} tower_prom_series;

/* Called once per series of a metric; everything pointed to is borrowed
 * for the call. Return 0 to go on, a negative errno to stop. */
typedef int (*tower_prom_fn)(void *ud, const tower_prom_series *s);

/* Maps `m` to its series (flags: TOWER_PROM_STRING_AS_LABEL). Returns the
 * number of series, or the callback's error / -ENOMEM. */
int tower_prom_map(const tower_metric *m, unsigned flags, tower_prom_fn fn, void *ud);

/* Appends "# HELP name help\n# TYPE name type\n" (help may be NULL). */
int tower_prom_write_header(tower_buf *out, const char *name, tower_value_type type,
                            const char *help);
/* Appends the sample lines of one series (a histogram's _bucket, _sum and
 * _count lines...), label values escaped; flags: TOWER_PROM_TIMESTAMP.
 * 0 or -ENOMEM. */
int tower_prom_write_series(tower_buf *out, const tower_prom_series *s, unsigned flags);

#ifdef __cplusplus
}
#endif

#endif
