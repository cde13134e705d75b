/* The data format options of a plugin block: the options of every format
 * are accepted by every block with a data_format (the union table of
 * format.c), but only those of the chosen format have an effect. This says
 * which those are, for messages, warnings and the sample configuration. */
#ifndef TOWER_FORMAT_OPTIONS_H
#define TOWER_FORMAT_OPTIONS_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include <tower/option.h>

#include "config_view.h"
#include "diag.h"
#include "format_internal.h"

/* The parser's or serializer's option table among `tables` (NULL-
 * terminated), or NULL; *parser says which. */
const tower_option *twi_format_table(const tower_option *const *tables, bool *parser);

/* The format the block chooses: its data_format when that names one, else
 * the default of the data_format option. */
const twi_format *twi_format_chosen(const tower_option *table, const config_setting_t *block);

/* The options a format adds on one side (parser or serializer); may be NULL. */
const tower_option *twi_format_options(const twi_format *f, bool parser);

/* "data_format and, for data_format \"json\", tag_keys, ..." into buf, for
 * the list of valid options of an "unknown option" message. */
void twi_format_valid_options(const tower_option *const *tables, const config_setting_t *block,
                              char *buf, size_t len);

/* A warning for every option of `block` that belongs to another format
 * than the chosen one (json_query with data_format = "influx"). */
void twi_format_check_block(const tower_option *const *tables, const config_setting_t *block,
                            const char *what, twi_diag *d);

/* The two above as the rules a config view applies to a plugin block
 * (config_view.h): the configuration layer knows no data format itself. */
extern const twi_block_rules twi_format_rules;

#endif
