/* Anchored glob matching, Telegraf's filter semantics: `*` any run, `?` one
 * character, `[abc]`/`[a-z]`/`[!a]` classes, `{a,b}` alternatives. Matching is
 * case-sensitive and covers the whole string. */
#ifndef TOWER_GLOBS_H
#define TOWER_GLOBS_H

#include <stdbool.h>
#include <stddef.h>

/* A compiled list of patterns: matches when any pattern matches. */
typedef struct twi_globs twi_globs;

/* Compiles `n` patterns. `separators` (may be NULL) are characters `*` does
 * not cross (namepass_separator). Returns NULL with *err set to a message
 * (static storage) when a pattern is malformed, or on ENOMEM. */
twi_globs *twi_globs_new(const char *const *patterns, size_t n, const char *separators,
                         const char **err);
void twi_globs_free(twi_globs *g);
bool twi_globs_match(const twi_globs *g, const char *s);

/* One pattern, uncompiled. */
bool twi_glob_match(const char *pattern, const char *s, const char *separators);
/* NULL when `pattern` is well formed, else what is wrong with it. */
const char *twi_glob_check(const char *pattern);

#endif
