/* Prometheus text exposition 0.0.4 and OpenMetrics text 1.0.0: the format
 * descriptors and their options
 * (Telegraf's names: the parser's prometheus_ignore_timestamp, the
 * serializer's prometheus_export_timestamp, prometheus_string_as_label and
 * prometheus_compact_encoding). */
#include "config.h"

#include "format_prometheus.h"

static const tower_option parser_options[] = {
    {.name = "prometheus_ignore_timestamp",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "ignore the timestamps of samples; metrics get the time of the gather"},
    TOWER_OPTION_END,
};

static const tower_option serializer_options[] = {
    {.name = "prometheus_export_timestamp",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "write the metric's timestamp (ms) on each sample"},
    {.name = "prometheus_string_as_label",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "write string fields as labels; when false they are left out"},
    {.name = "prometheus_compact_encoding",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "leave out the # HELP lines (only # TYPE and samples)"},
    TOWER_OPTION_END,
};

/* OpenMetrics text 1.0.0, read by the Prometheus parser in its OpenMetrics
 * mode and mapped as the "prometheus" format maps (metric_version 1), with
 * each series under the name Prometheus stores it under. No options yet:
 * Telegraf's openmetrics_ignore_timestamp comes with its entry in
 * tower.conf(5), which documents every format option
 * (inputs.prometheus has its own ignore_timestamp). */
const twi_format twi_format_openmetrics = {
    .name = "openmetrics",
    .description = "OpenMetrics text format 1.0.0 (parser only)",
    .parser_init = twi_om_parser_init,
    .parser_fini = twi_prom_parser_fini,
    .parse_line = twi_prom_parse_line,
    .parse_end = twi_prom_parse_end,
};

const twi_format twi_format_prometheus = {
    .name = "prometheus",
    .description = "Prometheus text exposition format 0.0.4",
    .parser_options = parser_options,
    .parser_init = twi_prom_parser_init,
    .parser_fini = twi_prom_parser_fini,
    .parse_line = twi_prom_parse_line,
    .parse_end = twi_prom_parse_end,
    .serializer_options = serializer_options,
    .serializer_init = twi_prom_serializer_init,
    .serializer_fini = twi_prom_serializer_fini,
    .serialize = twi_prom_serialize,
};
