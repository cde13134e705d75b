/* processors.converter: value conversions with the semantics of Telegraf's
 * converter (Go's strconv underneath): what a string reads as, how numbers
 * round and saturate, how values are written as text. */
#ifndef TOWER_CONVERTER_GOCONV_H
#define TOWER_CONVERTER_GOCONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A field or tag value as the conversions see it. */
typedef struct {
  enum { GV_FLOAT, GV_INT, GV_UINT, GV_BOOL, GV_STRING } type;
  union {
    double f;
    int64_t i;
    uint64_t u;
    bool b;
    const char *s; /* NUL-terminated, borrowed */
  } v;
} goval;

/* Each returns true and sets *out when `in` converts; false when it cannot
 * (the caller drops the value, as Telegraf does).
 * integer: floats round half away from zero (Go's math.Round) and saturate
 *   at the int64 bounds, as do uint64 values beyond it; strings are read as
 *   Go's ParseInt with base 0 ("0x1f", "0o17", "017", "0b101", "1_000"),
 *   else as a float ("1.5" -> 2, "1e30" -> max); booleans are 1 and 0;
 *   NaN does not convert.
 * unsigned: the same with 0 for negative values and the uint64 bound.
 * float: integers exactly as doubles can; strings as Go's ParseFloat, hex
 *   integers ("0x1f") too; out of range ("1e400") does not convert.
 * boolean: numbers are true unless 0; strings as Go's ParseBool ("1", "t",
 *   "T", "TRUE", "true", "True" and their false twins). */
bool go_to_int(const goval *in, int64_t *out);
bool go_to_uint(const goval *in, uint64_t *out);
bool go_to_float(const goval *in, double *out);
bool go_to_bool(const goval *in, bool *out);
/* A string holding four bytes in standard base64 with padding, read as a
 * big-endian IEEE 754 float32 ("RKeAAA==" -> 1340): Telegraf's
 * base64_ieee_float32. */
bool go_base64_float32(const goval *in, double *out);
/* Writes `in` as text into buf (len >= GO_TEXT_MAX): floats as Go's
 * FormatFloat(v, 'f', -1, 64) (shortest, never an exponent: 1e21 ->
 * "1000000000000000000000"), integers in decimal, booleans true/false.
 * Returns buf, or the string itself for a string value. */
#define GO_TEXT_MAX 400
const char *go_to_text(const goval *in, char *buf);

#endif
