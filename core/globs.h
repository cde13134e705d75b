/* Anchored glob matching, Telegraf's filter semantics: `*` any run, `?` one
 * character, `[abc]`/`[a-z]`/`[!a]` classes, `{a,b}` alternatives. Matching is
 * case-sensitive and covers the whole string. */
#ifndef TOWER_GLOBS_H
#define TOWER_GLOBS_H

#include <stdbool.h>
#include <stddef.h>

#include <tower/config.h>

/* A compiled list of patterns: matches when any pattern matches. */
typedef struct twi_globs twi_globs;

/* Compiles `n` patterns. `separators` (may be NULL) are characters `*` does
 * not cross (namepass_separator); `?`, classes and literals still match
 * them. Returns NULL with *err set to a message (static storage) when a
 * pattern is malformed, or on ENOMEM. Matching is O(len(pattern) *
 * len(string)) at worst (see core/glob.c), with or without separators. */
twi_globs *twi_globs_new(const char *const *patterns, size_t n, const char *separators,
                         const char **err);
void twi_globs_free(twi_globs *g);
bool twi_globs_match(const twi_globs *g, const char *s);

/* Compiles the STRINGS option `key` of a config block (written, or its
 * default); *out stays NULL when it has neither. 0, -EINVAL with *why
 * (static text) for a bad pattern, -ENOMEM. (config_globs.c: the config
 * layer's part; glob.c needs no configuration.) */
int twi_globs_from_config(const tower_config *cfg, const char *key, const char *separators,
                          twi_globs **out, const char **why);

/* One pattern, uncompiled. */
bool twi_glob_match(const char *pattern, const char *s, const char *separators);
/* NULL when `pattern` is well formed, else what is wrong with it. */
const char *twi_glob_check(const char *pattern);

#endif
