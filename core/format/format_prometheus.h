/* Prometheus text exposition 0.0.4: the pieces of twi_format_prometheus,
 * split over format_prometheus.c (descriptor, options),
 * format_prometheus_parse.c and format_prometheus_write.c, plus the number
 * helpers that the parser and the metric -> series mapping (format_prom_map.c) share
 * so that both read and name bounds the same way. */
#ifndef TOWER_FORMAT_PROMETHEUS_H
#define TOWER_FORMAT_PROMETHEUS_H

#include <stddef.h>
#include <stdint.h>

#include "format_internal.h"

/* Parser limits (see format_prometheus_parse.c). Histogram and summary
 * series are held until their family ends; these bound that state. When a
 * family holds TWI_PROM_MAX_SERIES series or TWI_PROM_MAX_FAMILY_BYTES bytes,
 * the series held so far are emitted early (a warning is logged) and the
 * family goes on. */
#define TWI_PROM_MAX_SERIES 10000
#define TWI_PROM_MAX_FAMILY_BYTES (32u << 20)
/* Buckets or quantiles of one series; more is an error on the line. */
#define TWI_PROM_MAX_BUCKETS 4096

int twi_prom_parser_init(tower_parser *p, const tower_config *cfg);
/* The same parser for OpenMetrics text 1.0.0 (twi_format_openmetrics):
 * "# EOF", seconds as timestamps, exemplars, _created samples, the
 * OpenMetrics types; see format_prometheus_parse.c. */
int twi_om_parser_init(tower_parser *p, const tower_config *cfg);
void twi_prom_parser_fini(tower_parser *p);
int twi_prom_parse_line(tower_parser *p, const char *line, size_t len);
int twi_prom_parse_end(tower_parser *p);

int twi_prom_serializer_init(tower_serializer *s, const tower_config *cfg);
void twi_prom_serializer_fini(tower_serializer *s);
int twi_prom_serialize(tower_serializer *s, const tower_metric *m, tower_buf *out);

/* Reads s[0..len) as Go's strconv.ParseFloat does after expfmt's check
 * (no 'p', 'P' or '_'): an optional sign, decimal digits with an optional
 * fraction and exponent, or "Inf"/"Infinity" (any case, optional sign) or
 * "NaN" (any case, no sign). Overflow is an error, underflow gives 0.
 * 0 or -EINVAL. Defined in format_prom_map.c. */
int twi_prom_parse_float(const char *s, size_t len, double *out);

/* Writes v as Go's fmt "%v" does (the field names Telegraf gives buckets
 * and quantiles): shortest round-trip digits, exponent form when the
 * decimal exponent is < -4 or >= 6 ("0.5", "125000", "1e+06",
 * "2.5e-05"), "+Inf", "-Inf", "NaN". Returns the length; buf holds 32
 * bytes. Defined in format_prom_map.c. */
size_t twi_prom_format_key(char *buf, double v);

/* A histogram/summary count as Telegraf stores it: Go's uint64(v)
 * truncation when v is in [0, 2^64); other values (negative, NaN, +Inf,
 * huge) are kept as they are rather than given Go's platform-specific
 * result. Defined in format_prom_map.c. */
double twi_prom_count(double v);

/* Length of the longest valid UTF-8 prefix of s[0..len) (len when all of
 * it is valid), by Go's rules. Defined in format_prom_map.c. */
size_t twi_prom_utf8_valid_prefix(const char *s, size_t len);
/* Length (1-4) of the valid UTF-8 character at s (len > 0 bytes), or 0. */
size_t twi_prom_rune_len(const char *s, size_t len);

#endif
