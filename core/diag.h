/* Collected configuration errors: validation reports every problem of a
 * file at once, one "file:line: message" line each, so an operator fixes
 * them in one pass. */
#ifndef TOWER_DIAG_H
#define TOWER_DIAG_H

#include <libconfig.h>
#include <stddef.h>

typedef struct twi_diag {
  char *text; /* lines, each ending in '\n' */
  size_t len, cap;
  unsigned errors, warnings;
} twi_diag;

/* Adds "file:line: message" for setting `at` (NULL: no location). */
void twi_diag_error(twi_diag *d, const config_setting_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void twi_diag_warn(twi_diag *d, const config_setting_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void twi_diag_free(twi_diag *d);

/* Turns every control byte of a message into a space: text quoted from a
 * file (a string left open, say) must not break one message into lines. */
void twi_one_line(char *text);

#endif
