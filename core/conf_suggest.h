/* "Did you mean": the closest name to a mistyped one, and what to write
 * instead of a plugin name that does not exist (a typo, Telegraf's name for
 * a tower plugin, a plugin of another kind). */
#ifndef TOWER_CONF_SUGGEST_H
#define TOWER_CONF_SUGGEST_H

#include <stdbool.h>
#include <stddef.h>

#include <tower/plugin.h>

/* Levenshtein distance (insertions, deletions, substitutions); names longer
 * than 64 bytes are far from everything. */
size_t twi_edit_distance(const char *a, const char *b);
/* Whether `candidate` is close enough to `typed` to be what was meant. */
bool twi_is_close(const char *typed, const char *candidate, size_t *distance);

/* The message for a plugin `name` of `kind` that is not in the search path
 * `dirs`: "no output plugin \"x\"" and what to write instead. data_format is
 * the block's (NULL when unknown). */
void twi_suggest_plugin(const char *dirs, tower_plugin_kind kind, const char *name,
                        const char *data_format, char *buf, size_t len);

#endif
