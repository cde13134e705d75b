/* The "json" data format: descriptor and options. Parser and serializer
 * semantics are described in format_json_parse.c and format_json_write.c. */
#include "config.h"

#include "format_json.h"

static const tower_option parser_options[] = {
    {.name = "tag_keys",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_GLOB,
     .help = "json: flattened keys (globs) whose values become tags; strings, numbers and "
             "booleans alike"},
    {.name = "json_string_fields",
     .type = TOWER_OPT_STRINGS,
     .flags = TOWER_OPT_GLOB,
     .help = "json: flattened keys (globs) whose string or boolean values are kept as fields "
             "(other strings and booleans are dropped)"},
    {.name = "json_name_key",
     .type = TOWER_OPT_STRING,
     .help = "json: flattened key whose string value names the metric"},
    {.name = "json_query",
     .type = TOWER_OPT_STRING,
     .help = "json: GJSON-style path of the object or array to read (\"data.items\", "
             "\"a.0.b\", \"items.#.attrs\")"},
    {.name = "json_time_key",
     .type = TOWER_OPT_STRING,
     .help = "json: flattened key holding the metric's time (needs json_time_format)"},
    {.name = "json_time_format",
     .type = TOWER_OPT_STRING,
     .help = "json: unix, unix_ms, unix_us, unix_ns, a Go layout (2006-01-02T15:04:05Z07:00) "
             "or a layout name (RFC3339, RFC1123Z...)"},
    {.name = "json_timezone",
     .type = TOWER_OPT_STRING,
     .help = "json: zone of times written without one: UTC (default), Local or a zone "
             "database name such as America/New_York"},
    {.name = "json_strict",
     .type = TOWER_OPT_BOOL,
     .default_value = "true",
     .help = "json: an object that fails rejects its whole array (false: skip that object)"},
    TOWER_OPTION_END,
};

static const tower_option serializer_options[] = {
    {.name = "json_timestamp_units",
     .type = TOWER_OPT_DURATION,
     .default_value = "1s",
     .min = "1ns",
     .max = "1s",
     .help = "json: unit of the numeric timestamp (truncated to a power of ten: 1ns ... 1s)"},
    {.name = "json_timestamp_format",
     .type = TOWER_OPT_STRING,
     .help = "json: write the timestamp as a string in this Go layout, in UTC "
             "(2006-01-02T15:04:05Z07:00, or a name such as RFC3339Nano)"},
    TOWER_OPTION_END,
};

const twi_format twi_format_json = {
    .name = "json",
    .description = "JSON: objects or arrays of objects in (Telegraf's json parser), one object "
                   "per metric out",
    .parser_options = parser_options,
    .parser_init = twi_json_parser_init,
    .parser_fini = twi_json_parser_fini,
    .parse_document = twi_json_parse_document,
    .serializer_options = serializer_options,
    .serializer_init = twi_json_serializer_init,
    .serializer_fini = twi_json_serializer_fini,
    .serialize = twi_json_serialize,
    .serialize_batch = twi_json_serialize_batch,
};
