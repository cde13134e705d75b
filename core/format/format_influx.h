/* InfluxDB line protocol: the pieces of twi_format_influx, split over
 * format_influx.c (descriptor, options), format_influx_parse.c and
 * format_influx_write.c. */
#ifndef TOWER_FORMAT_INFLUX_H
#define TOWER_FORMAT_INFLUX_H

#include <stddef.h>
#include <stdint.h>

#include "format_internal.h"

int twi_influx_parser_init(tower_parser *p, const tower_config *cfg);
void twi_influx_parser_fini(tower_parser *p);
int twi_influx_parse_line(tower_parser *p, const char *line, size_t len);

/* Sets the unit of parsed timestamps (1, 1000, 1000000 or 1000000000 ns),
 * as influx_timestamp_precision does. 0 or -EINVAL. */
int twi_influx_set_precision(tower_parser *p, int64_t ns);

int twi_influx_serializer_init(tower_serializer *s, const tower_config *cfg);
void twi_influx_serializer_fini(tower_serializer *s);
int twi_influx_serialize(tower_serializer *s, const tower_metric *m, tower_buf *out);

#endif
