/* The "json" data format: the pieces of twi_format_json, split over
 * format_json.c (descriptor, options), format_json_lex.c (tokenizer),
 * format_json_parse.c (parser), format_json_write.c (serializer),
 * format_json_time.c (Go time layouts and Unix timestamps) and
 * format_json_zone.c (time zones); and the constructor of the "value"
 * parser (format_value.c), which has no header of its own.
 *
 * The time and zone helpers are generic (Telegraf uses Go layouts and zone
 * names wherever a timestamp is read or written: csv_timestamp_format,
 * processors.date...), so other formats may use them too.
 */
#ifndef TOWER_FORMAT_JSON_H
#define TOWER_FORMAT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format_internal.h"

/* ---- format callbacks ------------------------------------------------- */

int twi_json_parser_init(tower_parser *p, const tower_config *cfg);
void twi_json_parser_fini(tower_parser *p);
int twi_json_parse_document(tower_parser *p, const char *data, size_t len);

int twi_json_serializer_init(tower_serializer *s, const tower_config *cfg);
void twi_json_serializer_fini(tower_serializer *s);
int twi_json_serialize(tower_serializer *s, const tower_metric *m, tower_buf *out);
int twi_json_serialize_batch(tower_serializer *s, const tower_metric *const *ms, size_t n,
                             tower_buf *out);

/* The parser's options, for callers without a config block (tests, benches,
 * plugins that build a parser by hand). Strings are borrowed for the call. */
typedef struct twi_json_options {
  const char *const *tag_keys; /* globs, n_tag_keys of them */
  size_t n_tag_keys;
  const char *const *string_fields; /* globs */
  size_t n_string_fields;
  const char *name_key;    /* json_name_key, NULL for none */
  const char *query;       /* json_query, NULL for none */
  const char *time_key;    /* json_time_key, NULL for none */
  const char *time_format; /* json_time_format */
  const char *timezone;    /* json_timezone, NULL: UTC */
  bool lenient;            /* json_strict = false */
} twi_json_options;

/* Builds a json parser with options `o`. 0, -EINVAL after logging which
 * option is wrong, -ENOMEM. The caller frees with tower_parser_free(). */
int twi_json_parser_new(const tower_ctx *ctx, const twi_json_options *o, tower_parser **out);

/* The serializer's options without a config block. */
typedef struct twi_json_write_options {
  int64_t units_ns;             /* json_timestamp_units; 0: 1s */
  const char *timestamp_format; /* json_timestamp_format, NULL: a number */
} twi_json_write_options;

int twi_json_serializer_new(const tower_ctx *ctx, const twi_json_write_options *o,
                            tower_serializer **out);

/* The "value" parser (format_value.c) without a config block: data_type
 * and value_field_name as in a config (NULL: "integer", "value"). 0,
 * -EINVAL for an unknown type, -ENOMEM. Freed with tower_parser_free(). */
int twi_value_parser_new(const tower_ctx *ctx, const char *data_type, const char *field,
                         tower_parser **out);

/* ---- JSON text -------------------------------------------------------- */

/* The tokenizer (format_json_lex.c): one pass over a document checks it
 * is JSON (RFC 8259, as Go's encoding/json accepts it) and lays its values
 * out as a flat "tape" of tokens, in document order, without allocating
 * per value. A container's token is followed by its members (an object's
 * as key, value, key, value...) and knows the index just past them. */
enum {
  TWI_J_OBJ = 1,
  TWI_J_ARR,
  TWI_J_STR,
  TWI_J_NUM,
  TWI_J_TRUE,
  TWI_J_FALSE,
  TWI_J_NULL,
};
#define TWI_J_ESC 0x1u  /* string: holds escapes or invalid UTF-8; decode it */
#define TWI_J_FRAC 0x2u /* number: has a fraction or an exponent */

typedef struct twi_jtok {
  uint32_t start; /* strings: first byte after the quote; others: first byte */
  uint32_t len;   /* strings (without quotes), numbers: bytes; containers: the
                     index of the token after the container */
  uint8_t type, flags;
} twi_jtok;

/* Nesting deeper than this is an error (Go's encoding/json limit). */
#define TWI_JSON_MAX_DEPTH 10000

typedef struct twi_jlex {
  twi_jtok *tok;
  size_t ntok, cap;
  uint32_t *stack; /* open containers */
  size_t stack_cap;
  size_t err_at; /* offset of the error */
  char err[128]; /* what is wrong, in Go's words */
} twi_jlex;

/* Tokenizes s[0..n). Returns 0; -EINVAL with err/err_at set (not JSON, a
 * number beyond float64, too deep); -E2BIG (n >= 4 GiB); -ENOMEM. */
int twi_json_lex(twi_jlex *lx, const char *s, size_t n);
/* Frees the token tape (all) or only an unusually large one. */
void twi_jlex_release(twi_jlex *lx, bool all);

/* The token after t and everything inside it. */
static inline uint32_t twi_jtok_next(const twi_jlex *lx, uint32_t t) {
  uint8_t type = lx->tok[t].type;
  return type == TWI_J_OBJ || type == TWI_J_ARR ? lx->tok[t].len : t + 1;
}

/* Length of the valid UTF-8 sequence at s[0..n) (n > 0), or 0 when it is
 * not one: Go's utf8.DecodeRune rules (shortest form, no surrogates, at
 * most U+10FFFF). 1 for ASCII. */
size_t twi_utf8_len(const unsigned char *s, size_t n);

/* Decodes the body of a lexed string s[0..n) into out (room for 3 * n
 * bytes) as Go does: escapes, surrogate pairs, and U+FFFD for lone
 * surrogates and for each byte that is not valid UTF-8. \u0000 gives a NUL.
 * Returns the length. */
size_t twi_json_decode(const char *s, size_t n, char *out);

/* Appends s[0..len) as a JSON string with quotes, escaped as Go's
 * encoding/json does (see format_json_write.c). 0 or -ENOMEM. */
int twi_json_put_string(tower_buf *out, const char *s, size_t len);

/* Writes `v` (finite) as Go's encoding/json writes a float64 ("1e+21",
 * "1e-7", "0.000001", "123.5") and a NUL; returns the length. */
size_t twi_json_fmt_float(char buf[32], double v);
/* Writes `v` as Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest
 * digits, never an exponent ("1000000000000000000000", "0.0000001"). buf
 * must hold 400 bytes (the longest subnormal). Returns the length. */
size_t twi_json_fmt_float_plain(char *buf, size_t cap, double v);

/* ---- time zones (format_json_zone.c) ---------------------------------- */

typedef struct twi_zone twi_zone;

/* Loads zone `name` the way Go's time.LoadLocation does: "" and "UTC" are
 * UTC (*out = NULL), "Local" is the system zone (TZ, else /etc/localtime),
 * anything else a TZif file of the zone database (/usr/share/zoneinfo).
 * 0, -EINVAL with *why (static text) for an unknown zone, -ENOMEM. */
int twi_zone_load(const char *name, twi_zone **out, const char **why);
void twi_zone_free(twi_zone *z);
/* Offset east of UTC in seconds in effect at `utc_sec` (0 for NULL: UTC). */
int32_t twi_zone_offset(const twi_zone *z, int64_t utc_sec);
/* UTC seconds of wall time `local_sec` (seconds since 1970-01-01 00:00 as if
 * it were UTC) in zone z; a wall time that a transition skips or repeats
 * resolves as Go's time.Date does. */
int64_t twi_zone_to_utc(const twi_zone *z, int64_t local_sec);
/* Go's Location.lookupName: the offset of abbreviation name[0..len) ("CEST")
 * in z, preferring a use of it in effect at wall time local_sec. False when
 * z never uses that abbreviation. */
bool twi_zone_lookup_name(const twi_zone *z, const char *name, size_t len, int64_t local_sec,
                          int32_t *offset);

/* ---- timestamps (format_json_time.c) ---------------------------------- */

/* A compiled json_time_format / json_timestamp_format: "unix", "unix_ms",
 * "unix_us", "unix_ns", a Go layout ("2006-01-02T15:04:05Z07:00") or the
 * name of a Go layout constant ("RFC3339", "rfc1123z", "Stamp", ...). */
typedef struct twi_gotime twi_gotime;

/* Compiles `format`. Unix formats are accepted only when allow_unix is set.
 * A layout without any reference-time element is rejected, since it can
 * only be a mistake. 0, -EINVAL with *why (static text), -ENOMEM. */
int twi_gotime_compile(const char *format, bool allow_unix, twi_gotime **out, const char **why);
void twi_gotime_free(twi_gotime *t);
/* True for the Unix formats (numbers are accepted as well as strings). */
bool twi_gotime_is_unix(const twi_gotime *t);

/* Parses text in format `t`: Unix formats as Telegraf's parseUnix (spaces
 * dropped, a ',' read as the decimal point), layouts as Go's
 * time.ParseInLocation with `zone` for text without a zone (NULL: UTC). A
 * year left at 0 by the layout becomes the current year, as Telegraf does.
 * Returns 0, or -EINVAL with a message in `why`. Not const: zones named in
 * the text (MST) are cached in `t`, so one thread at a time. */
int twi_gotime_parse(twi_gotime *t, const char *s, size_t len, const twi_zone *zone,
                     int64_t *out_ns, char *why, size_t whylen);
/* Unix formats: a number (an integer is exact; a double is taken exactly
 * and floored to the nanosecond as Telegraf's big.Rat does). */
int twi_gotime_unix_int(const twi_gotime *t, int64_t v, int64_t *out_ns);
int twi_gotime_unix_double(const twi_gotime *t, double v, int64_t *out_ns);

/* Longest text twi_gotime_format() writes for any layout of up to
 * TWI_GOTIME_MAX_LAYOUT bytes (NUL included). */
#define TWI_GOTIME_MAX_LAYOUT 256
#define TWI_GOTIME_FMT_SIZE (TWI_GOTIME_MAX_LAYOUT * 5 + 1)
/* Formats `ns` in UTC with layout `t` (Go's time.Time.UTC().Format).
 * Returns the length. */
size_t twi_gotime_format(const twi_gotime *t, int64_t ns, char buf[TWI_GOTIME_FMT_SIZE]);

#endif
