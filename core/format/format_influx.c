/* InfluxDB line protocol: the format descriptor and its options. */
#include "config.h"

#include "format_influx.h"

static const tower_option parser_options[] = {
    {.name = "influx_timestamp_precision",
     .type = TOWER_OPT_DURATION,
     .default_value = "1ns",
     .min = "1ns",
     .max = "1s",
     .help = "unit of timestamps without one: 1ns, 1us, 1ms or 1s"},
    TOWER_OPTION_END,
};

static const tower_option serializer_options[] = {
    {.name = "influx_uint_support",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "write unsigned fields with the u suffix (InfluxDB 1.4+ with uint support, "
             "2.x); else as integers clipped to 9223372036854775807"},
    {.name = "influx_omit_timestamp",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "leave the timestamp out, letting the server use its receive time"},
    TOWER_OPTION_END,
};

const twi_format twi_format_influx = {
    .name = "influx",
    .description = "InfluxDB line protocol",
    .parser_options = parser_options,
    .parser_init = twi_influx_parser_init,
    .parser_fini = twi_influx_parser_fini,
    .parse_line = twi_influx_parse_line,
    .serializer_options = serializer_options,
    .serializer_init = twi_influx_serializer_init,
    .serializer_fini = twi_influx_serializer_fini,
    .serialize = twi_influx_serialize,
};
