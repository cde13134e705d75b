/* rx: RE2-syntax patterns on POSIX extended regular expressions, and Go's
 * ReplaceAllString (see rx.h for what is translated and why). */
#include "rx.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RE2_SPACE "\t\n\f\r "
#define RE2_WORD "0-9A-Za-z_"

/* The translation state: the POSIX text being written and the groups. */
typedef struct {
  rx *r;
  tower_buf *out;
  size_t posix_groups; /* every '(' written so far */
  char *err;
  size_t errlen;
} translation;

static int fail(translation *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(translation *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->err, t->errlen, fmt, ap);
  va_end(ap);
  return -EINVAL;
}

static bool is_word(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

/* The control character of \t \n \r \f \v, or 0. */
static char control_escape(char c) {
  switch (c) {
  case 't':
    return '\t';
  case 'n':
    return '\n';
  case 'r':
    return '\r';
  case 'f':
    return '\f';
  case 'v':
    return '\v';
  default:
    return 0;
  }
}

/* Records RE2 capturing group number ngroups+1 (named when name_len > 0). */
static int add_group(translation *t, const char *name, size_t name_len) {
  rx *r = t->r;
  size_t n = r->ngroups + 1;
  size_t *g = realloc(r->posix_group, n * sizeof *g);
  if (!g)
    return -ENOMEM;
  r->posix_group = g;
  char **names = realloc(r->names, n * sizeof *names);
  if (!names)
    return -ENOMEM;
  r->names = names;
  names[n - 1] = name_len ? strndup(name, name_len) : NULL;
  if (name_len && !names[n - 1])
    return -ENOMEM;
  g[n - 1] = t->posix_groups;
  r->ngroups = n;
  return 0;
}

/* A class [...] starting at p (on the '['); *end gets the character after
 * the closing ']'. POSIX needs ']' first and '-' last, so escaped ones are
 * moved there. */
static int translate_class(translation *t, const char *p, const char **end) {
  const char *start = p++;
  bool negated = *p == '^';
  if (negated)
    p++;
  bool rbracket = false, dash = false;
  tower_buf *body = tower_buf_new(32);
  if (!body)
    return -ENOMEM;
  int rc = 0;
  if (*p == ']') { /* a ']' first is literal in both syntaxes */
    rbracket = true;
    p++;
  }
  while (rc == 0 && *p && *p != ']') {
    if (p[0] == '[' && p[1] == ':') { /* [:alpha:] */
      const char *close = strstr(p + 2, ":]");
      if (!close) {
        rc = fail(t, "class \"%s\" has '[:' without ':]'", start);
        break;
      }
      rc = tower_buf_append(body, p, (size_t)(close + 2 - p));
      p = close + 2;
    } else if (*p == '\\') {
      char c = p[1], ctl = control_escape(c);
      if (c == 'd')
        rc = tower_buf_append_str(body, "0-9");
      else if (c == 'w')
        rc = tower_buf_append_str(body, RE2_WORD);
      else if (c == 's')
        rc = tower_buf_append_str(body, RE2_SPACE);
      else if (ctl)
        rc = tower_buf_append(body, &ctl, 1);
      else if (c == ']')
        rbracket = true;
      else if (c == '-')
        dash = true;
      else if (c && !is_word(c))
        rc = tower_buf_append(body, &c, 1); /* \\ \. \^ \[ ...: the character */
      else
        rc = fail(t,
                  "\\%c inside [...] is not supported here (POSIX classes take \\d \\w \\s "
                  "and escaped punctuation)",
                  c ? c : '\\');
      p += c ? 2 : 1;
    } else {
      rc = tower_buf_append(body, p++, 1);
    }
  }
  if (rc == 0 && *p != ']')
    rc = fail(t, "'[' without a closing ']'");
  if (rc == 0) {
    const char *b = tower_buf_data(body);
    if (!negated && !rbracket && !dash && strcmp(b, "^") == 0) {
      rc = tower_buf_append_str(t->out, "\\^");
    } else {
      /* a literal '^' must not come first in a non-negated class */
      bool caret_first = !negated && !rbracket && b[0] == '^';
      rc = tower_buf_append_str(t->out, negated ? "[^" : "[");
      if (rc == 0 && rbracket)
        rc = tower_buf_append_str(t->out, "]");
      if (rc == 0)
        rc = tower_buf_append_str(t->out, caret_first ? b + 1 : b);
      if (rc == 0 && caret_first)
        rc = tower_buf_append_str(t->out, "^");
      if (rc == 0 && dash)
        rc = tower_buf_append_str(t->out, "-");
      if (rc == 0)
        rc = tower_buf_append_str(t->out, "]");
    }
    *end = p + 1;
  }
  tower_buf_free(body);
  return rc;
}

/* An escape outside a class, at p (on the '\'). */
static int translate_escape(translation *t, const char *p) {
  char c = p[1], ctl = control_escape(c);
  switch (c) {
  case 'd':
    return tower_buf_append_str(t->out, "[0-9]");
  case 'D':
    return tower_buf_append_str(t->out, "[^0-9]");
  case 'w':
    return tower_buf_append_str(t->out, "[" RE2_WORD "]");
  case 'W':
    return tower_buf_append_str(t->out, "[^" RE2_WORD "]");
  case 's':
    return tower_buf_append_str(t->out, "[" RE2_SPACE "]");
  case 'S':
    return tower_buf_append_str(t->out, "[^" RE2_SPACE "]");
  case 'b':
  case 'B':
    return tower_buf_append(t->out, p, 2); /* GNU extensions of the same meaning */
  case 'A':
    return tower_buf_append_str(t->out, "^");
  case 'z':
    return tower_buf_append_str(t->out, "$");
  case '\0':
    return fail(t, "the pattern ends with a lone backslash");
  default:
    break;
  }
  if (ctl)
    return tower_buf_append(t->out, &ctl, 1);
  if (c >= '1' && c <= '9')
    return fail(t, "\\%c: RE2 has no back-references", c);
  if (is_word(c))
    return fail(t, "\\%c is not supported (POSIX extended regular expressions; see the README)", c);
  if (strchr(".[]{}()*+?|^$\\", c))
    return tower_buf_append(t->out, p, 2);
  return tower_buf_append(t->out, &c, 1); /* escaped slash, dash, colon...: the character */
}

/* A '(' at p; *end gets the first character of the group's body. */
static int translate_group(translation *t, const char *p, const char **end) {
  t->posix_groups++;
  int rc = tower_buf_append_str(t->out, "(");
  if (rc)
    return rc;
  if (p[1] != '?') {
    *end = p + 1;
    return add_group(t, NULL, 0);
  }
  if (p[2] == ':') {
    *end = p + 3;
    return 0; /* non-capturing: a POSIX group no replacement can name */
  }
  const char *name = NULL;
  if (p[2] == 'P' && p[3] == '<')
    name = p + 4;
  else if (p[2] == '<')
    name = p + 3;
  if (!name)
    return fail(t,
                "\"%.6s\": only (?:...), (?P<name>...), (?<name>...) and a leading (?i) are "
                "supported",
                p);
  size_t len = 0;
  while (is_word(name[len]))
    len++;
  if (len == 0 || name[len] != '>')
    return fail(t, "\"%.12s\": a group name is letters, digits and '_' closed by '>'", p);
  *end = name + len + 1;
  return add_group(t, name, len);
}

static bool is_quantifier_end(char c) {
  return c == '*' || c == '+' || c == '?' || c == '}';
}

static int translate(translation *t, const char *p, int *cflags) {
  if (strncmp(p, "(?i)", 4) == 0) {
    *cflags |= REG_ICASE;
    p += 4;
  }
  int rc = 0;
  char prev = 0;
  while (rc == 0 && *p) {
    const char *next = p + 1;
    if (*p == '\\') {
      rc = translate_escape(t, p);
      next = p + 2;
    } else if (*p == '[') {
      rc = translate_class(t, p, &next);
    } else if (*p == '(') {
      rc = translate_group(t, p, &next);
    } else if (*p == '?' && is_quantifier_end(prev)) {
      rc = fail(t, "lazy quantifier \"%c?\" is not supported (POSIX matches leftmost-longest)",
                prev);
    } else {
      rc = tower_buf_append(t->out, p, 1);
    }
    prev = *p == '\\' ? 0 : *p;
    p = next;
  }
  return rc;
}

int rx_compile(rx *r, const char *pattern, char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  tower_buf *out = tower_buf_new(64);
  if (!out)
    return -ENOMEM;
  translation t = {.r = r, .out = out, .err = err, .errlen = errlen};
  int cflags = REG_EXTENDED;
  int rc = translate(&t, pattern, &cflags);
  if (rc == 0) {
    int prc = regcomp(&r->re, tower_buf_data(out), cflags);
    if (prc == REG_ESPACE) {
      rc = -ENOMEM;
    } else if (prc) {
      char why[128];
      regerror(prc, &r->re, why, sizeof why);
      rc = fail(&t, "%s", why);
    } else {
      r->compiled = true;
    }
  }
  if (rc == 0 && !(r->match = calloc(r->re.re_nsub + 1, sizeof *r->match)))
    rc = -ENOMEM;
  tower_buf_free(out);
  return rc;
}

void rx_free(rx *r) {
  if (r->compiled)
    regfree(&r->re);
  for (size_t i = 0; i < r->ngroups; i++)
    free(r->names[i]);
  free(r->names);
  free(r->posix_group);
  free(r->match);
  memset(r, 0, sizeof *r);
}

/* ---- replacement templates (Go's Regexp.Expand) ---------------------------- */

/* The name after a '$' at t[0]: sets *name and *len and returns the text after
 * it, or NULL when the '$' starts no valid reference (it is then literal). */
static const char *template_name(const char *t, const char **name, size_t *len) {
  const char *p = t + 1;
  bool braced = *p == '{';
  if (braced)
    p++;
  size_t n = 0;
  while (is_word(p[n]))
    n++;
  if (n == 0 || (braced && p[n] != '}'))
    return NULL;
  *name = p;
  *len = n;
  return p + n + (braced ? 1 : 0);
}

/* The POSIX group a reference names, or -1 when none (it expands to
 * nothing). */
static long group_of(const rx *r, const char *name, size_t len) {
  bool numeric = true;
  for (size_t i = 0; i < len; i++)
    numeric = numeric && name[i] >= '0' && name[i] <= '9';
  if (numeric) {
    if (len > 9)
      return -1;
    long n = strtol(name, NULL, 10);
    if (n == 0)
      return 0;
    return (size_t)n <= r->ngroups ? (long)r->posix_group[n - 1] : -1;
  }
  for (size_t i = 0; i < r->ngroups; i++)
    if (r->names[i] && strlen(r->names[i]) == len && memcmp(r->names[i], name, len) == 0)
      return (long)r->posix_group[i];
  return -1;
}

int rx_check_template(const rx *r, const char *tmpl, char *err, size_t errlen) {
  for (const char *p = tmpl; (p = strchr(p, '$'));) {
    const char *name;
    size_t len;
    const char *next = p[1] == '$' ? p + 2 : template_name(p, &name, &len);
    if (!next) {
      p++;
      continue;
    }
    if (p[1] != '$' && !(name[0] >= '0' && name[0] <= '9') && group_of(r, name, len) < 0) {
      snprintf(err, errlen, "replacement refers to group \"%.*s\", which the pattern does not name",
               (int)len, name);
      return -EINVAL;
    }
    p = next;
  }
  return 0;
}

/* Appends the expansion of `tmpl` for the match in r->match on `s`. */
static int expand(const rx *r, const char *s, const char *tmpl, tower_buf *out) {
  int rc = 0;
  for (const char *p = tmpl; rc == 0 && *p;) {
    const char *dollar = strchr(p, '$');
    if (!dollar)
      return tower_buf_append_str(out, p);
    rc = tower_buf_append(out, p, (size_t)(dollar - p));
    const char *name;
    size_t len;
    const char *next = dollar[1] == '$' ? NULL : template_name(dollar, &name, &len);
    if (!next) { /* "$$" or a malformed reference: a literal '$' */
      rc = rc ? rc : tower_buf_append(out, "$", 1);
      p = dollar + (dollar[1] == '$' ? 2 : 1);
      continue;
    }
    long g = group_of(r, name, len);
    if (rc == 0 && g >= 0 && r->match[g].rm_so >= 0)
      rc = tower_buf_append(out, s + r->match[g].rm_so,
                            (size_t)(r->match[g].rm_eo - r->match[g].rm_so));
    p = next;
  }
  return rc;
}

/* Bytes of the UTF-8 character at s (1 for a stray byte, 0 at the end). */
static size_t char_width(const char *s) {
  unsigned char c = (unsigned char)*s;
  if (!c)
    return 0;
  size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  for (size_t i = 1; i < n; i++)
    if (((unsigned char)s[i] & 0xc0) != 0x80)
      return 1;
  return n;
}

int rx_replace_all(rx *r, const char *s, const char *tmpl, tower_buf *out) {
  size_t len = strlen(s), last = 0, pos = 0, nmatch = r->re.re_nsub + 1;
  int found = 0, rc = 0;
  tower_buf_reset(out);
  while (rc == 0 && pos <= len) {
    int erc = regexec(&r->re, s + pos, nmatch, r->match, pos ? REG_NOTBOL : 0);
    if (erc == REG_NOMATCH)
      break;
    if (erc)
      return -ENOMEM; /* REG_ESPACE, the only failure of a compiled pattern */
    for (size_t i = 0; i < nmatch; i++)
      if (r->match[i].rm_so >= 0) {
        r->match[i].rm_so += (regoff_t)pos;
        r->match[i].rm_eo += (regoff_t)pos;
      }
    size_t a0 = (size_t)r->match[0].rm_so, a1 = (size_t)r->match[0].rm_eo;
    rc = tower_buf_append(out, s + last, a0 - last);
    /* Go: no replacement for an empty match right after another match */
    if (rc == 0 && (a1 > last || a0 == 0))
      rc = expand(r, s, tmpl, out);
    found = 1;
    last = a1;
    size_t width = char_width(s + pos);
    if (pos + width > a1)
      pos += width;
    else if (pos + 1 > a1)
      pos++;
    else
      pos = a1;
  }
  if (rc == 0)
    rc = tower_buf_append(out, s + last, len - last);
  return rc ? rc : found;
}
