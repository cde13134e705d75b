/* inputs.exec: splitting a command string into words the way a POSIX shell
 * does (XCU 2.2 quoting, 2.6.5 field splitting with the default IFS), and
 * joining an argv back into a command line for messages.
 *
 * No shell runs, so nothing a shell would expand is expanded. Rather than
 * pass "$HOME", "*.sh" or "| grep x" to the program literally (which is
 * never what the operator meant), such syntax is a configuration error that
 * says how to write it: quote it to pass it as is, use `environment` for
 * variables, or set `shell = true`.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

/* Where the words go. The counting pass has out == NULL. */
typedef struct {
  char *out;    /* string storage */
  char **argv;  /* word pointers */
  size_t bytes; /* storage used, NULs included */
  size_t words;
} sink;

typedef struct {
  const char *text, *p;
  sink *k;
  char *err;
  size_t errlen;
} scanner;

static void put(sink *k, char c) {
  if (k->out)
    k->out[k->bytes] = c;
  k->bytes++;
}

static void begin_word(sink *k) {
  if (k->argv)
    k->argv[k->words] = k->out + k->bytes;
}

static void end_word(sink *k) {
  put(k, '\0');
  k->words++;
}

static int fail(scanner *sc, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(scanner *sc, const char *at, const char *fmt, ...) {
  int n = snprintf(sc->err, sc->errlen, "column %zu: ", (size_t)(at - sc->text) + 1);
  if (n >= 0 && (size_t)n < sc->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sc->err + n, sc->errlen - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return -EINVAL;
}

static bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n';
}

/* '...': everything up to the next quote, literally. */
static int single_quoted(scanner *sc) {
  const char *open = sc->p, *close = strchr(open + 1, '\'');
  if (!close)
    return fail(sc, open, "unterminated single quote");
  for (const char *q = open + 1; q < close; q++)
    put(sc->k, *q);
  sc->p = close + 1;
  return 0;
}

/* "...": a backslash quotes only $ ` " \ and newline (a quoted newline
 * disappears); $ and ` would expand, which needs a shell. */
static int double_quoted(scanner *sc) {
  const char *open = sc->p, *q = open + 1;
  for (; *q && *q != '"'; q++) {
    if (*q == '\\' && q[1] && strchr("$`\"\\\n", q[1])) {
      if (q[1] != '\n')
        put(sc->k, q[1]);
      q++;
    } else if (*q == '$' || *q == '`') {
      return fail(sc, q,
                  "'%c' inside double quotes is an expansion, which needs a shell: escape it "
                  "(\\%c) or use single quotes to pass it as is, `environment` for variables, or "
                  "shell = true",
                  *q, *q);
    } else {
      put(sc->k, *q);
    }
  }
  if (!*q)
    return fail(sc, open, "unterminated double quote");
  sc->p = q + 1;
  return 0;
}

/* Syntax that only a shell gives a meaning to, at an unquoted position. */
static int unquoted_special(scanner *sc, bool word_start) {
  char c = *sc->p;
  if (strchr("|&;<>()", c))
    return fail(sc, sc->p,
                "'%c' is shell syntax (pipe, list or redirection) but tower runs commands "
                "without a shell: quote it ('%c') to pass it as an argument, or set shell = true",
                c, c);
  if (c == '$' || c == '`')
    return fail(sc, sc->p,
                "'%c' is a shell expansion but tower runs commands without a shell: quote it to "
                "pass it as is, use `environment` for variables (${VAR} in the config file is "
                "substituted when it is read), or set shell = true",
                c);
  if (strchr("*?[", c))
    return fail(sc, sc->p,
                "'%c' is a glob but tower does not expand globs: quote it to pass it as is, list "
                "the commands one by one, or set shell = true",
                c);
  if (word_start && (c == '#' || c == '~'))
    return fail(sc, sc->p,
                "'%c' at the start of a word is %s in a shell, but tower runs commands without "
                "one: quote it to pass it as is, or set shell = true",
                c, c == '#' ? "a comment" : "a home directory expansion");
  return 0;
}

/* One unquoted character (or quoted sequence) inside a word. */
static int word_part(scanner *sc, bool word_start) {
  switch (*sc->p) {
  case '\\':
    if (!sc->p[1])
      return fail(sc, sc->p, "a backslash ends the command; it must quote a character");
    put(sc->k, sc->p[1]);
    sc->p += 2;
    return 0;
  case '\'':
    return single_quoted(sc);
  case '"':
    return double_quoted(sc);
  default: {
    int rc = unquoted_special(sc, word_start);
    if (rc == 0)
      put(sc->k, *sc->p++);
    return rc;
  }
  }
}

static int scan(scanner *sc) {
  bool in_word = false;
  while (*sc->p) {
    if (is_blank(*sc->p)) {
      if (in_word)
        end_word(sc->k);
      in_word = false;
      sc->p++;
      continue;
    }
    if (sc->p[0] == '\\' && sc->p[1] == '\n') { /* line continuation */
      sc->p += 2;
      continue;
    }
    bool start = !in_word;
    if (start)
      begin_word(sc->k);
    in_word = true;
    int rc = word_part(sc, start);
    if (rc)
      return rc;
  }
  if (in_word)
    end_word(sc->k);
  return 0;
}

/* "NAME=value cmd" assigns a variable in a shell; without one, NAME=value
 * would be taken for the program. */
static int leading_assignment(scanner *sc) {
  const char *p = sc->text;
  while (is_blank(*p))
    p++;
  const char *name = p;
  if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_'))
    return 0;
  while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
         *p == '_')
    p++;
  if (*p != '=')
    return 0;
  return fail(sc, name,
              "'%.*s=...' sets a variable in a shell, but tower runs commands without one: use "
              "environment = [\"%.*s=...\"]",
              (int)(p - name), name, (int)(p - name), name);
}

int exec_split(const char *text, char ***argv, char *err, size_t errlen) {
  sink count = {0};
  scanner sc = {.text = text, .p = text, .k = &count, .err = err, .errlen = errlen};
  int rc = leading_assignment(&sc);
  if (rc == 0)
    rc = scan(&sc);
  if (rc)
    return rc;
  if (count.words == 0) {
    snprintf(err, errlen, "the command is empty");
    return -EINVAL;
  }
  size_t ptrs = (count.words + 1) * sizeof(char *);
  char **v = malloc(ptrs + count.bytes);
  if (!v) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  sink fill = {.out = (char *)v + ptrs, .argv = v};
  sc = (scanner){.text = text, .p = text, .k = &fill, .err = err, .errlen = errlen};
  scan(&sc); /* cannot fail: the counting pass accepted the same text */
  v[fill.words] = NULL;
  *argv = v;
  return 0;
}

/* ---- joining ------------------------------------------------------------ */

static bool needs_quotes(const char *a) {
  if (!*a)
    return true;
  for (; *a; a++)
    if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-", *a))
      return true;
  return false;
}

/* Appends `a`, single-quoted when needed ('\'' for a quote inside). */
static size_t put_arg(char *out, const char *a) {
  size_t n = 0;
  if (!needs_quotes(a)) {
    n = strlen(a);
    memcpy(out, a, n);
    return n;
  }
  out[n++] = '\'';
  for (; *a; a++) {
    if (*a == '\'') {
      memcpy(out + n, "'\\''", 4);
      n += 4;
    } else {
      out[n++] = *a;
    }
  }
  out[n++] = '\'';
  return n;
}

char *exec_join(const char *const *argv, size_t max) {
  size_t cap = 1;
  for (size_t i = 0; argv[i]; i++)
    cap += 4 * strlen(argv[i]) + 3;
  char *s = malloc(cap), *p = s;
  if (!s)
    return NULL;
  for (size_t i = 0; argv[i]; i++) {
    if (i)
      *p++ = ' ';
    p += put_arg(p, argv[i]);
  }
  *p = '\0';
  if (max >= 4 && (size_t)(p - s) > max)
    memcpy(s + max - 3, "...", 4);
  return s;
}
