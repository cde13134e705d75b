/* What to write instead of a plugin name that does not exist (a typo,
 * Telegraf's name for a tower plugin, a plugin of another kind). */
#ifndef TOWER_SUGGEST_H
#define TOWER_SUGGEST_H

#include <stdbool.h>
#include <stddef.h>

#include <tower/plugin.h>

/* The message for a plugin `name` of `kind` that is not in the search path
 * `dirs`: "no output plugin \"x\"" and what to write instead. */
void twi_suggest_plugin(const char *dirs, tower_plugin_kind kind, const char *name, char *buf,
                        size_t len);

#endif
