/* libconfig's grammar, followed token by token over the scanned text, to
 * explain a syntax error better than libconfig 1.5 does ("syntax error" at
 * the line where its parser gave up, which may be the end of the file or
 * the next file): the first problem, with the file and line where the text
 * is wrong, where the bracket not closed was opened, and what would be
 * right. A text with a problem is refused without libconfig (which would
 * refuse it too); otherwise libconfig is the judge. tests/core/
 * test_config_errors.c holds the two to the same verdict over thousands of
 * mutated files. */
#ifndef TOWER_CONF_SYNTAX_H
#define TOWER_CONF_SYNTAX_H

#include <stdbool.h>

#include "conf_lex.h"

typedef struct twi_syntax twi_syntax;

twi_syntax *twi_syntax_new(void);
void twi_syntax_free(twi_syntax *s);

/* A file starts (the main one, or an included one where its @include
 * stands); `name` is copied. */
void twi_syntax_enter(twi_syntax *s, const char *name);
void twi_syntax_token(twi_syntax *s, const twi_tok *t);
/* The file entered last ends at `line`. */
void twi_syntax_leave(twi_syntax *s, unsigned line);

/* "file:line: syntax error: ..." of the first problem, or NULL. */
const char *twi_syntax_problem(const twi_syntax *s);
/* True between top-level settings of the main file (where a setting name
 * may come next), as far as the grammar was followed. */
bool twi_syntax_at_top(const twi_syntax *s);

#endif
