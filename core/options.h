/* Option tables: the common options every block accepts, sanity checks of a
 * plugin's table, and normalized copies (plugins may be built with an older,
 * shorter struct tower_option). */
#ifndef TOWER_OPTIONS_H
#define TOWER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include <tower/plugin.h>

/* Options every plugin block accepts (alias, tags, selectors...). */
extern const tower_option twi_common_options[];
extern const tower_option twi_rename_options[];
/* Options of one kind only (inputs: interval...; outputs: flush_interval...). */
const tower_option *twi_kind_options(tower_plugin_kind kind);
/* The agent = { ... } block. */
extern const tower_option twi_agent_options[];

/* The option named `name` in a terminated table, or NULL. */
const tower_option *twi_option_find(const tower_option *opts, const char *name);

/* "duration", "list of strings"... for messages and docs. */
const char *twi_option_type_name(tower_option_type t);

/* Checks that `value` is valid for `o` (type syntax, bounds, choices). On
 * failure writes why into err and returns -EINVAL. For STRINGS the value
 * is one element. */
int twi_option_check_text(const tower_option *o, const char *value, char *err, size_t errlen);

/* Checks a table: names [a-z][a-z0-9_]*, unique, not among `reserved`
 * (NULL-terminated list of tables), known types, defaults and bounds that
 * parse, ENUM choices holding the default, GROUP(S) with children. */
int twi_options_check(const tower_option *opts, const tower_option *const *reserved, char *err,
                      size_t errlen);

/* Deep-copies a plugin's table whose entries are `stride` bytes apart into
 * the current layout (fields past the stride read as zero). Returns NULL on
 * ENOMEM or a stride too small to hold a name and type. Free with
 * twi_options_free(). */
tower_option *twi_options_normalize(const void *table, size_t stride);
void twi_options_free(tower_option *opts);

#endif
