/* The tokens of libconfig's scanner (scanner.l of libconfig 1.5), so that
 * the loader sees the text exactly as libconfig will: where strings,
 * comments and numbers start and end, and which @include lines it takes.
 * Comments and white space are skipped; everything else is a token. */
#ifndef TOWER_CONF_LEX_H
#define TOWER_CONF_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum twi_tok_kind {
  TWI_TOK_END = 0,
  TWI_TOK_NAME,    /* [A-Za-z*][-A-Za-z0-9_*]* other than true/false */
  TWI_TOK_BOOL,    /* true, false in any case */
  TWI_TOK_INT,     /* decimal or hexadecimal, with or without L */
  TWI_TOK_FLOAT,   /* 1.5, .5, 1e3, "." */
  TWI_TOK_STRING,  /* "..." through the closing quote (or to the end) */
  TWI_TOK_INCLUDE, /* ^[ \t]*@include[ \t]+"file" */
  TWI_TOK_PUNCT,   /* one of = : , ; { } [ ] ( ) */
  TWI_TOK_GARBAGE, /* one character no rule takes (libconfig's TOK_GARBAGE) */
} twi_tok_kind;

/* The longest include file name taken (libconfig has no limit; a longer
 * one is reported, not cut). */
#define TWI_LEX_MAX_INCLUDE 4096

typedef struct twi_tok {
  twi_tok_kind kind;
  const char *text; /* the token in the source */
  size_t len;
  unsigned line; /* where it starts */
  /* TWI_TOK_INT: the value written, or overflow when beyond 64 bits */
  int64_t value;
  bool overflow;
  /* TWI_TOK_STRING, TWI_TOK_INCLUDE: no closing quote before the end */
  bool unterminated;
  /* TWI_TOK_STRING: line of a "\x00" escape (libconfig drops it), or 0 */
  unsigned nul_line;
  /* TWI_TOK_INCLUDE: the file name is longer than TWI_LEX_MAX_INCLUDE */
  bool too_long;
} twi_tok;

typedef struct twi_lexer {
  const char *p, *end;
  unsigned line;
  bool bol; /* flex's ^: the last character read was a newline */
  /* line of a block comment without its closing, or 0: libconfig ignores
   * the rest of the file without a word */
  unsigned open_comment_line;
  char include[TWI_LEX_MAX_INCLUDE + 1]; /* TWI_TOK_INCLUDE: the name */
} twi_lexer;

void twi_lex_init(twi_lexer *lx, const char *text, size_t len);
/* The next token into t; returns its kind (TWI_TOK_END at the end). */
twi_tok_kind twi_lex_next(twi_lexer *lx, twi_tok *t);

#endif
