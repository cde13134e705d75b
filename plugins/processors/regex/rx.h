/* rx: the regular expressions of processors.regex, on PCRE2.
 *
 * Telegraf's patterns are Go (RE2) syntax. PCRE2 reads that syntax as RE2
 * does, with the options rx_compile sets ($ only at the very end, '.' not
 * matching "\n" alone, UTF-8). The few RE2 constructs PCRE2 would read
 * differently are refused at compile time with a message, never misread:
 * \v (RE2: the vertical tab; PCRE2: any vertical space), \1 to \9 (RE2:
 * octal or an error; PCRE2: back-references), "{," (RE2: literal; PCRE2
 * 10.43 and later: a quantifier) and "(*" (PCRE2's verbs, which can change
 * the newline convention; RE2: an error).
 *
 * Matching allocates nothing: each rx owns its match data, made at compile
 * time, so an rx is used by one thread at a time (the core never runs a
 * processor instance's process() concurrently: plugin.h). A match limit
 * turns catastrophic backtracking on a hostile value into an error.
 *
 * Replacements follow Go's Regexp.Expand: $1, ${1}, $name, ${name}, $$ for a
 * literal $, an unknown or unmatched group expands to nothing.
 */
#ifndef TOWER_PROCESSORS_REGEX_RX_H
#define TOWER_PROCESSORS_REGEX_RX_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>

#include <tower/buf.h>

/* Backtracking steps one match may take (PCRE2's default is 10 million):
 * an ordinary pattern on a value of a few kilobytes stays far below it. */
#define RX_MATCH_LIMIT 1000000u

typedef struct rx {
  pcre2_code *code;
  pcre2_match_data *md; /* the ovector of every match of this rx */
  pcre2_match_context *mctx;
  size_t ngroups; /* capturing groups */
  bool jit;       /* compiled to machine code (else PCRE2's interpreter) */
  int jit_error;  /* pcre2_jit_compile's error when it refused (0: JIT or valgrind) */
  char why[256];  /* why the last rx_replace_all failed */
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
 * when it did not (out then holds `s`), -ENOMEM when out could not grow, or
 * -ERANGE when matching failed (the match limit: r->why says so). */
int rx_replace_all(rx *r, const char *s, const char *tmpl, tower_buf *out);

#endif
