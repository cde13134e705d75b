/* The scan of a configuration's text before libconfig reads it: what
 * libconfig (1.5, Debian's) would take wrongly or dangerously is refused
 * with file:line, and the true value of every integer it cannot hold is
 * recorded so that twi_scan_fix_integers() can write it into the tree. */
#ifndef TOWER_CONF_SCAN_H
#define TOWER_CONF_SCAN_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf_syntax.h"

/* The most text one configuration may hold: the main file and all its
 * includes together. Real configurations are kilobytes; the bound keeps a
 * mistaken @include (a log, a disk image) from making the loader read and
 * allocate without end. */
#define TWI_CONF_MAX_BYTES (16u << 20)
/* libconfig's own include nesting limit (MAX_INCLUDE_DEPTH): deeper is a
 * file that includes itself. */
#define TWI_CONF_MAX_DEPTH 10
/* Includes of one configuration: each opens a file, so even tiny ones
 * must end somewhere. */
#define TWI_CONF_MAX_INCLUDES 1000

/* An integer literal libconfig cannot hold as written: its position among
 * all integer literals (the order of the tree) and its true value. */
typedef struct twi_big_int {
  size_t index;
  int64_t value;
} twi_big_int;

/* An @include of a pattern (the "*.conf" of conf.d): libconfig never sees it; the
 * loader reads each file it names as a drop-in file. */
typedef struct twi_glob_include {
  char *pattern;
  unsigned line;
} twi_glob_include;

typedef struct twi_scan {
  const char *include_dir; /* as libconfig resolves @include; may be NULL */
  bool drop_in;            /* the text is a drop-in file: no pattern @include */
  size_t bytes;            /* read so far, against TWI_CONF_MAX_BYTES */
  unsigned includes;       /* against TWI_CONF_MAX_INCLUDES */
  size_t nints;            /* integer literals seen */
  twi_big_int *big;
  size_t nbig, capbig;
  /* The first literal beyond 64 bits: reported from the tree, where its
   * setting is known. */
  bool overflow;
  size_t overflow_index;
  char overflow_text[64];
  /* libconfig's grammar followed over the same tokens, to explain its
   * syntax errors (created by the first scan) */
  twi_syntax *syntax;
  /* the pattern @includes of the text, in file order */
  twi_glob_include *globs;
  size_t nglobs;
  char *err;
  size_t errlen;
} twi_scan;

/* Reads the regular file at `path` whole into *text (malloc'd), counting
 * it against the configuration's bound. `what` starts every message
 * ("tower.conf", or "tower.conf:3: @include \"x.inc\""). */
int twi_scan_read(twi_scan *sc, const char *path, const char *what, char **text, size_t *len);
/* Scans `text` (of the file `name`) and every file it includes. Pattern
 * @includes are recorded in sc->globs and blanked out of `text` (replaced by
 * spaces, lines kept), so that libconfig reads the rest. 0 or a negative
 * errno with the message in sc->err. */
int twi_scan_text(twi_scan *sc, const char *name, char *text, size_t len);
/* Whether an @include names a pattern (holds *, ? or [). */
bool twi_scan_is_pattern(const char *file);
/* Gives every integer setting under `root` the value written in the file
 * (after libconfig parsed what was scanned). */
int twi_scan_fix_integers(const twi_scan *sc, config_setting_t *root, const char *name, char *err,
                          size_t errlen);
void twi_scan_free(twi_scan *sc);

#endif
