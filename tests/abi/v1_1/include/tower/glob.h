/* tower SDK: glob patterns, with the semantics of the selectors every plugin
 * accepts (Telegraf's): `*` any run of characters, `?` one character,
 * `[abc]` `[a-z]` `[!a]` classes, `{a,b}` alternatives, `\` escapes the next
 * character. Matching is case-sensitive and anchored (the whole string),
 * and works on bytes: `?` takes one byte of a UTF-8 character.
 *
 * Matching takes time linear in the string: O(len(pattern) * len(string)) at
 * worst, never exponential in the number of `*`, so a hostile value (a 100 kB
 * tag against `*a*a*b`) costs microseconds to milliseconds, not hours.
 *
 * A compiled list is immutable: it may be matched from many threads at once.
 */
#ifndef TOWER_GLOB_H
#define TOWER_GLOB_H

#include <tower/types.h>
#include <stdbool.h>
#include <stddef.h>

#include <tower/config.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Compiles `n` patterns (copied) into one list that matches when any
 * pattern does. Returns 0, or -EINVAL with *err (static text, may be NULL)
 * saying what is wrong with a pattern, or -ENOMEM. The caller frees with
 * tower_globs_free(). */
int tower_globs_new(const char *const *patterns, size_t n, tower_globs **out, const char **err);
/* Compiles the STRINGS option `key` of a config block; *out is NULL when the
 * option is unset (and has no default). A bad pattern is reported with the
 * option's file:line and returns -EINVAL; -ENOMEM. The patterns are copied:
 * the caller frees the list with tower_globs_free() and may keep it past
 * destroy. */
int tower_globs_from_config(const tower_config *cfg, const char *key, tower_globs **out);
/* Compiles a raw setting holding a string or an array/list of strings (an
 * entry of a TOWER_OPT_STRINGS_TABLE, say). Errors as above, reported at the
 * setting's file:line. The caller frees with tower_globs_free(), as above. */
int tower_globs_from_setting(const tower_config *cfg, const tower_setting *s, tower_globs **out);
/* Frees a list. NULL is accepted. */
void tower_globs_free(tower_globs *g);
/* True when `s` (only read during the call) matches; false for a NULL list
 * or string. */
bool tower_globs_match(const tower_globs *g, const char *s);

/* Matches one pattern without compiling it (nothing is kept). */
bool tower_glob_match(const char *pattern, const char *s);

#ifdef __cplusplus
}
#endif

#endif
