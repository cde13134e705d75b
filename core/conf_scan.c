/* The scan of the text before libconfig reads it (see conf_scan.h).
 *
 * It reads the main file and every @include before libconfig does, because
 * libconfig (1.5, Debian's) trusts its input in ways an agent must not:
 *   - it opens includes with a blocking fopen and reads them whole: a FIFO
 *     hangs the loader, a device or a huge file balloons it;
 *   - it drops "\x00" from strings and truncates at a raw NUL byte, so the
 *     value silently differs from the file;
 *   - it keeps integers without an L suffix in 32 bits and saturates the
 *     others at 64, so 4294967296 reads as 0 and 99999999999999999999 as -1.
 * The scan refuses the first two with file:line, and records the true value
 * of every integer libconfig cannot hold, which twi_scan_fix_integers() then
 * writes into the tree (or reports as too large for 64 bits). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_lex.h"
#include "conf_scan.h"

/* ---- reading ------------------------------------------------------------ */

static const char *file_kind(mode_t m) {
  if (S_ISFIFO(m))
    return "a FIFO";
  if (S_ISDIR(m))
    return "a directory";
  if (S_ISCHR(m))
    return "a character device";
  if (S_ISBLK(m))
    return "a block device";
  if (S_ISSOCK(m))
    return "a socket";
  return "not a regular file";
}

/* Reads what `fd` holds, up to `limit` bytes: 0, -EFBIG beyond the limit
 * (a file that grew since fstat), or a negative errno. */
static int read_all(int fd, size_t limit, char **out, size_t *len) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  int rc = buf ? 0 : -ENOMEM;
  while (rc == 0) {
    if (n > limit) {
      rc = -EFBIG;
      break;
    }
    if (n == cap - 1) {
      char *b = realloc(buf, cap * 2);
      if (!b) {
        rc = -ENOMEM;
        break;
      }
      buf = b;
      cap *= 2;
    }
    ssize_t got = read(fd, buf + n, cap - 1 - n);
    if (got == 0)
      break;
    if (got < 0 && errno != EINTR)
      rc = -errno;
    n += got > 0 ? (size_t)got : 0;
  }
  if (rc) {
    free(buf);
    return rc;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

/* O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then
 * refuses it. libconfig opens an include again by name: whoever can swap it
 * in between can already edit the configuration. */
int twi_scan_read(twi_scan *sc, const char *path, const char *what, char **text, size_t *len) {
  const char *shown = strcmp(what, path) ? path : "the file";
  size_t room = TWI_CONF_MAX_BYTES - sc->bytes;
  struct stat st;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  int rc = fd < 0 || fstat(fd, &st) ? -errno : 0;
  if (rc == 0 && !S_ISREG(st.st_mode))
    rc = -EBADF;
  else if (rc == 0 && (uintmax_t)st.st_size > room)
    rc = -EFBIG;
  else if (rc == 0)
    rc = read_all(fd, room, text, len);
  if (fd >= 0)
    close(fd);
  if (rc == 0) {
    sc->bytes += *len;
    return 0;
  }
  if (rc == -EBADF)
    snprintf(sc->err, sc->errlen, "%s: %s is %s; give a regular file", what, shown,
             file_kind(st.st_mode));
  else if (rc == -EFBIG && sc->bytes && (uintmax_t)st.st_size <= TWI_CONF_MAX_BYTES)
    snprintf(sc->err, sc->errlen,
             "%s: with %s the configuration (main file and includes together) grows beyond "
             "%u MiB; is a file included over and over?",
             what, shown, TWI_CONF_MAX_BYTES >> 20);
  else if (rc == -EFBIG)
    snprintf(sc->err, sc->errlen,
             "%s: %s is larger than %u MiB, the most a configuration may hold; is it the "
             "right file?",
             what, shown, TWI_CONF_MAX_BYTES >> 20);
  else
    snprintf(sc->err, sc->errlen, "%s: cannot read %s: %s", what, shown, strerror(-rc));
  return rc;
}

/* ---- scanning ----------------------------------------------------------- */

/* The line of `at` in `text`. */
static unsigned line_of(const char *text, const char *at) {
  unsigned line = 1;
  for (const char *p = text; p < at; p++)
    line += *p == '\n';
  return line;
}

/* A text that is the file itself: a NUL byte would end libconfig's reading
 * of a string (or of the file) early, so whatever follows would be lost
 * without a word. */
static int check_no_nul(twi_scan *sc, const char *name, const char *text, size_t len) {
  const char *nul = memchr(text, '\0', len);
  if (!nul)
    return 0;
  snprintf(sc->err, sc->errlen, "%s:%u: the file holds a NUL byte; is it a text file?", name,
           line_of(text, nul));
  return -EINVAL;
}

static int scan_file(twi_scan *sc, const char *name, char *text, size_t len, int depth);

static int scan_include(twi_scan *sc, const char *name, unsigned line, const char *file,
                        int depth) {
  /* libconfig's rule: every @include, nested ones too, is relative to the
   * include directory (the main file's), which it prepends even to an
   * absolute path. The same file must be checked as libconfig will open. */
  char *what = NULL, *path = NULL;
  if (asprintf(&what, "%s:%u: @include \"%s\"", name, line, file) < 0)
    what = NULL;
  if (!what || (sc->include_dir ? asprintf(&path, "%s/%s", sc->include_dir, file) < 0
                                : !(path = strdup(file)))) {
    free(what);
    snprintf(sc->err, sc->errlen, "out of memory");
    return -ENOMEM;
  }
  int rc = -EINVAL;
  char *text = NULL;
  size_t n = 0;
  if (depth >= TWI_CONF_MAX_DEPTH)
    snprintf(sc->err, sc->errlen, "%s: includes nest deeper than %d (does a file include itself?)",
             what, TWI_CONF_MAX_DEPTH);
  else if (++sc->includes > TWI_CONF_MAX_INCLUDES)
    snprintf(sc->err, sc->errlen, "%s: more than %d includes in one configuration", what,
             TWI_CONF_MAX_INCLUDES);
  else if ((rc = twi_scan_read(sc, path, what, &text, &n)) == 0)
    rc = scan_file(sc, path, text, n, depth + 1); /* messages name the file by its path */
  free(text);
  free(path);
  free(what);
  return rc;
}

static int record_int(twi_scan *sc, const twi_tok *t) {
  size_t index = sc->nints++;
  if (t->overflow && !sc->overflow) {
    sc->overflow = true;
    sc->overflow_index = index;
    snprintf(sc->overflow_text, sizeof sc->overflow_text, "%.*s", (int)t->len, t->text);
  }
  if (t->overflow || (t->value >= INT32_MIN && t->value <= INT32_MAX))
    return 0; /* libconfig holds it as written (or the tree walk reports it) */
  if (sc->nbig == sc->capbig) {
    size_t cap = sc->capbig ? sc->capbig * 2 : 16;
    twi_big_int *b = realloc(sc->big, cap * sizeof *b);
    if (!b) {
      snprintf(sc->err, sc->errlen, "out of memory");
      return -ENOMEM;
    }
    sc->big = b;
    sc->capbig = cap;
  }
  sc->big[sc->nbig++] = (twi_big_int){index, t->value};
  return 0;
}

bool twi_scan_is_pattern(const char *file) {
  return strpbrk(file, "*?[") != NULL;
}

/* An @include of a pattern: only between the top-level settings of a file
 * given to tower, where the files it names can add their plugins. */
static int pattern_include(twi_scan *sc, const char *name, const twi_lexer *lx, const twi_tok *t,
                           char *blank, int depth) {
  const char *why = NULL;
  if (depth > 0)
    why = "a pattern may only be @include'd by a configuration file given to tower, not by an "
          "@include'd file";
  else if (sc->drop_in)
    why = "a drop-in file cannot @include a pattern";
  else if (!twi_syntax_at_top(sc->syntax))
    why = "an @include of a pattern must stand between top-level settings, outside any group or "
          "list: each file it names adds its inputs, processors and outputs to this file's";
  if (why) {
    snprintf(sc->err, sc->errlen, "%s:%u: @include \"%s\": %s", name, lx->line, lx->include, why);
    return -EINVAL;
  }
  twi_glob_include *g = realloc(sc->globs, (sc->nglobs + 1) * sizeof *g);
  char *pattern = strdup(lx->include);
  if (!g || !pattern) {
    if (g)
      sc->globs = g;
    free(pattern);
    snprintf(sc->err, sc->errlen, "out of memory");
    return -ENOMEM;
  }
  sc->globs = g;
  sc->globs[sc->nglobs++] = (twi_glob_include){pattern, lx->line};
  for (size_t i = 0; i < t->len; i++) /* libconfig must not see it; lines stay */
    if (blank[i] != '\n')
      blank[i] = ' ';
  return 0;
}

static int scan_token(twi_scan *sc, const char *name, const twi_lexer *lx, const twi_tok *t,
                      char *text, int depth) {
  switch (t->kind) {
  case TWI_TOK_INT:
    return record_int(sc, t);
  case TWI_TOK_STRING:
    if (!t->nul_line)
      return 0;
    snprintf(sc->err, sc->errlen, "%s:%u: \"\\x00\" in a string: strings cannot hold a NUL byte",
             name, t->nul_line);
    return -EINVAL;
  case TWI_TOK_INCLUDE:
    if (t->too_long) {
      snprintf(sc->err, sc->errlen, "%s:%u: @include: the file name is longer than %d bytes", name,
               t->line, TWI_LEX_MAX_INCLUDE);
      return -ENAMETOOLONG;
    }
    if (t->unterminated)
      return 0; /* libconfig reports it */
    if (twi_scan_is_pattern(lx->include))
      return pattern_include(sc, name, lx, t, text + (t->text - text), depth);
    /* the line of the closing quote, where the lexer now stands */
    return scan_include(sc, name, lx->line, lx->include, depth);
  default:
    return 0;
  }
}

static int scan_file(twi_scan *sc, const char *name, char *text, size_t len, int depth) {
  int rc = check_no_nul(sc, name, text, len);
  twi_lexer *lx = rc ? NULL : malloc(sizeof *lx);
  if (!rc && !lx) {
    snprintf(sc->err, sc->errlen, "out of memory");
    rc = -ENOMEM;
  }
  if (lx)
    twi_lex_init(lx, text, len);
  twi_syntax_enter(sc->syntax, name);
  twi_tok t;
  while (rc == 0 && twi_lex_next(lx, &t) != TWI_TOK_END) {
    twi_syntax_token(sc->syntax, &t);
    rc = scan_token(sc, name, lx, &t, text, depth);
  }
  if (rc == 0 && lx->open_comment_line && !twi_syntax_problem(sc->syntax)) {
    snprintf(sc->err, sc->errlen,
             "%s:%u: the /* comment that starts here has no closing */: libconfig would ignore "
             "the rest of the file",
             name, lx->open_comment_line);
    rc = -EINVAL;
  }
  if (rc == 0)
    twi_syntax_leave(sc->syntax, lx->line);
  free(lx);
  return rc;
}

int twi_scan_text(twi_scan *sc, const char *name, char *text, size_t len) {
  if (!sc->syntax && !(sc->syntax = twi_syntax_new())) {
    snprintf(sc->err, sc->errlen, "out of memory");
    return -ENOMEM;
  }
  return scan_file(sc, name, text, len, 0);
}

void twi_scan_free(twi_scan *sc) {
  twi_syntax_free(sc->syntax);
  sc->syntax = NULL;
  for (size_t i = 0; i < sc->nglobs; i++)
    free(sc->globs[i].pattern);
  free(sc->globs);
  sc->globs = NULL;
  sc->nglobs = 0;
  free(sc->big);
  sc->big = NULL;
  sc->nbig = sc->capbig = 0;
}

/* ---- writing the true integers into the tree ---------------------------- */

/* "agent.metric_batch_size", "inputs[0].lines[2]": where a setting sits. */
static void setting_path(const config_setting_t *s, char *buf, size_t len) {
  const config_setting_t *parent = config_setting_parent(s);
  if (!parent) {
    buf[0] = '\0';
    return;
  }
  setting_path(parent, buf, len);
  size_t used = strlen(buf);
  const char *name = config_setting_name(s);
  if (name)
    snprintf(buf + used, len - used, "%s%s", used ? "." : "", name);
  else
    snprintf(buf + used, len - used, "[%d]", config_setting_index(s));
}

typedef struct fixer {
  const twi_scan *sc;
  size_t index; /* integer settings seen, in file order */
  size_t next_big;
} fixer;

static int fix_integer(fixer *f, config_setting_t *s, char *err, size_t errlen) {
  size_t index = f->index++;
  char where[256], path[256];
  const twi_scan *sc = f->sc;
  if (sc->overflow && index == sc->overflow_index) {
    setting_path(s, path, sizeof path);
    bool neg = sc->overflow_text[0] == '-';
    snprintf(err, errlen, "%s: %s: %s is too %s (%s the %s %s, the %s 64-bit integer)",
             twi_setting_where(s, where, sizeof where), path, sc->overflow_text,
             neg ? "small" : "large", neg ? "below" : "above", neg ? "minimum" : "maximum",
             neg ? "-9223372036854775808" : "9223372036854775807", neg ? "smallest" : "largest");
    return -ERANGE;
  }
  if (f->next_big >= sc->nbig || sc->big[f->next_big].index != index)
    return 0;
  int64_t value = sc->big[f->next_big++].value;
  /* libconfig kept the low 32 bits (1.5) or the whole value (1.7): anything
   * else means the tree and the scanned text disagree. */
  if ((uint32_t)config_setting_get_int64(s) != (uint32_t)value)
    return -EAGAIN;
  /* No setter turns an int into an int64 (config_setting_set_int64 zeroes
   * a value beyond 32 bits); the struct is public, so write it. */
  s->type = CONFIG_TYPE_INT64;
  s->value.llval = value;
  return 0;
}

static int fix_tree(fixer *f, config_setting_t *s, char *err, size_t errlen) {
  int t = config_setting_type(s);
  if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
    return fix_integer(f, s, err, errlen);
  int n = config_setting_is_aggregate(s) ? config_setting_length(s) : 0;
  for (int i = 0; i < n; i++) {
    int rc = fix_tree(f, config_setting_get_elem(s, (unsigned)i), err, errlen);
    if (rc)
      return rc;
  }
  return 0;
}

int twi_scan_fix_integers(const twi_scan *sc, config_setting_t *root, const char *name, char *err,
                          size_t errlen) {
  fixer f = {.sc = sc};
  int rc = fix_tree(&f, root, err, errlen);
  if (rc == -EAGAIN || (rc == 0 && f.index != sc->nints)) {
    snprintf(err, errlen,
             "%s: the integers libconfig parsed differ from those in the text (did a file "
             "change while it was read?); load it again",
             name);
    return -EINVAL;
  }
  return rc;
}
