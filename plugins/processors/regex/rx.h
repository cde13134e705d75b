/* rx: the regular expressions of processors.regex.
 *
 * Telegraf's patterns are Go (RE2) syntax. tower matches with the C
 * library's POSIX extended regular expressions (regcomp, no new dependency,
 * no backtracking blow-up without back-references) and translates the RE2
 * constructs Telegraf configurations use into them at compile time:
 * \d \D \w \W \s \S (also inside [...]), \t \n \r \f \v, escaped
 * punctuation, (?:...), named groups (?P<name>...) and (?<name>...), and a
 * leading (?i). RE2 constructs POSIX cannot express (lazy quantifiers,
 * other flags, \pN, \Q..\E) are refused with a message, never misread.
 *
 * Replacements follow Go's Regexp.Expand: $1, ${1}, $name, ${name}, $$ for a
 * literal $, an unknown or unmatched group expands to nothing.
 *
 * An rx holds its match scratch space, so it is used by one thread at a time
 * (a processor instance's callbacks never run concurrently).
 */
#ifndef TOWER_PROCESSORS_REGEX_RX_H
#define TOWER_PROCESSORS_REGEX_RX_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include <tower/buf.h>

typedef struct rx {
  regex_t re;
  bool compiled;
  size_t ngroups;      /* RE2 capturing groups */
  size_t *posix_group; /* RE2 group i+1 -> POSIX group number */
  char **names;        /* name of RE2 group i+1, or NULL */
  regmatch_t *match;   /* scratch for every POSIX group + the whole match */
} rx;

/* Compiles the RE2-syntax `pattern`. Returns 0, or -EINVAL with a message
 * in err, or -ENOMEM. rx_free() releases it either way. */
int rx_compile(rx *r, const char *pattern, char *err, size_t errlen);
void rx_free(rx *r);

/* Checks that every named group the replacement `tmpl` refers to exists
 * (Go would silently expand a misspelled name to nothing). Returns 0 or
 * -EINVAL with a message in err. */
int rx_check_template(const rx *r, const char *tmpl, char *err, size_t errlen);

/* Go's ReplaceAllString: `out` receives `s` with every non-overlapping match
 * replaced by the expansion of `tmpl`. Returns 1 when the pattern matched, 0
 * when it did not (out then holds `s`), -ENOMEM when the matcher ran out of
 * memory. */
int rx_replace_all(rx *r, const char *s, const char *tmpl, tower_buf *out);

#endif
