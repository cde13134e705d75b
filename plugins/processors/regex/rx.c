/* rx: RE2-syntax patterns on PCRE2, and Go's ReplaceAllString (see rx.h
 * for what is refused and why). */
#include "rx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PCRE2's JIT finds characters with aligned vector loads that read the
 * bytes after the value's terminator and then ignores them (within the
 * same aligned block, so never past a page). Valgrind reports each as a
 * jump on uninitialised data; under it the interpreter matches instead, as
 * PHP does, so that valgrind checks a path it can see into. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define RX_UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef RX_UNDER_VALGRIND
#define RX_UNDER_VALGRIND() 0
#endif

/* ---- RE2 constructs PCRE2 reads differently -------------------------------- */

/* Returns NULL when `p` (a pattern) has none of them, else why not. Walks
 * the pattern once, skipping \Q...\E quotes, telling classes [...] apart. */
static const char *re2_difference(const char *p) {
  bool in_class = false;
  for (; *p; p++) {
    if (p[0] == '\\' && p[1] == 'Q') { /* quoted: literal up to \E */
      const char *e = strstr(p + 2, "\\E");
      if (!e)
        return NULL;
      p = e + 1;
    } else if (p[0] == '\\') {
      if (p[1] == 'v')
        return "\\v is the vertical tab in RE2 but any vertical space in PCRE2: write \\x0B";
      if (p[1] >= '1' && p[1] <= '9')
        return "\\1 to \\9 are back-references in PCRE2 (RE2 has none; it reads \\1N as octal): "
               "write a character as \\x{..} or \\0NN";
      if (p[1])
        p++;
    } else if (in_class) {
      if (p[0] == '[' && p[1] == ':') { /* [:alpha:] */
        const char *e = strstr(p + 2, ":]");
        if (e)
          p = e + 1;
      } else if (p[0] == ']') {
        in_class = false;
      }
    } else if (p[0] == '[') {
      in_class = true;
      p += p[1] == '^';
      p += p[1] == ']'; /* a ']' first is literal */
    } else if (p[0] == '{' && p[1] == ',') {
      return "\"{,\" is literal in RE2 but a quantifier in PCRE2 10.43 and later: write \\{";
    } else if (p[0] == '(' && p[1] == '*') {
      return "\"(*\" starts a PCRE2 verb (RE2 refuses it)";
    }
  }
  return NULL;
}

/* ---- compiling ------------------------------------------------------------ */

/* UTF-8 (so '.' is a character; invalid bytes are matched by nothing rather
 * than failing the match), '$' only at the end of the value (RE2's, not
 * Perl's "or before a final newline"), (?m)^ after a final newline too. */
#define RX_OPTIONS                                                                                 \
  (PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_CIRCUMFLEX)

static int compile_error(int code, size_t offset, char *err, size_t errlen) {
  if (code == PCRE2_ERROR_NOMEMORY)
    return -ENOMEM;
  char why[120];
  pcre2_get_error_message(code, (PCRE2_UCHAR *)why, sizeof why);
  snprintf(err, errlen, "at offset %zu: %s", offset, why);
  return -EINVAL;
}

int rx_compile(rx *r, const char *pattern, char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  const char *diff = re2_difference(pattern);
  if (diff) {
    snprintf(err, errlen, "%s", diff);
    return -EINVAL;
  }
  /* newline is LF whatever PCRE2 was built with: '.' and (?m) as in RE2 */
  pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
  if (!cctx || pcre2_set_newline(cctx, PCRE2_NEWLINE_LF)) {
    pcre2_compile_context_free(cctx);
    return -ENOMEM;
  }
  int code;
  PCRE2_SIZE offset;
  r->code =
      pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, RX_OPTIONS, &code, &offset, cctx);
  pcre2_compile_context_free(cctx);
  if (!r->code)
    return compile_error(code, offset, err, errlen);
  /* no JIT (not built in, or no executable memory): the interpreter */
  if (!RX_UNDER_VALGRIND()) {
    r->jit_error = pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE);
    r->jit = r->jit_error == 0;
  }
  uint32_t groups = 0;
  pcre2_pattern_info(r->code, PCRE2_INFO_CAPTURECOUNT, &groups);
  r->ngroups = groups;
  r->md = pcre2_match_data_create_from_pattern(r->code, NULL);
  r->mctx = pcre2_match_context_create(NULL);
  if (!r->md || !r->mctx || pcre2_set_match_limit(r->mctx, RX_MATCH_LIMIT))
    return -ENOMEM;
  return 0;
}

void rx_free(rx *r) {
  pcre2_match_context_free(r->mctx);
  pcre2_match_data_free(r->md);
  pcre2_code_free(r->code);
  memset(r, 0, sizeof *r);
}

/* ---- replacement templates (Go's Regexp.Expand) ---------------------------- */

static bool is_word(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

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

/* The group a reference names, or -1 when none (it expands to nothing). */
static long group_of(const rx *r, const char *name, size_t len) {
  bool numeric = true;
  for (size_t i = 0; i < len; i++)
    numeric = numeric && name[i] >= '0' && name[i] <= '9';
  if (numeric) {
    if (len > 9)
      return -1;
    long n = strtol(name, NULL, 10);
    return (size_t)n <= r->ngroups ? n : -1;
  }
  char z[64]; /* PCRE2 names have at most 32 characters */
  if (len >= sizeof z)
    return -1;
  memcpy(z, name, len);
  z[len] = '\0';
  int n = pcre2_substring_number_from_name(r->code, (PCRE2_SPTR)z);
  return n > 0 ? n : -1;
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

/* Appends the expansion of `tmpl` for the match in r->md on `s`. */
static int expand(const rx *r, const char *s, const char *tmpl, tower_buf *out) {
  const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
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
    if (rc == 0 && g >= 0 && ov[2 * g] != PCRE2_UNSET)
      rc = tower_buf_append(out, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
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

static int match_failed(rx *r, int code) {
  if (code == PCRE2_ERROR_NOMEMORY)
    return -ENOMEM;
  char why[120];
  pcre2_get_error_message(code, (PCRE2_UCHAR *)why, sizeof why);
  snprintf(r->why, sizeof r->why, "%s%s", why,
           code == PCRE2_ERROR_MATCHLIMIT || code == PCRE2_ERROR_JIT_STACKLIMIT ||
                   code == PCRE2_ERROR_DEPTHLIMIT || code == PCRE2_ERROR_HEAPLIMIT
               ? " (the pattern backtracks too much on this value: avoid nested quantifiers "
                 "such as (a+)+)"
               : "");
  return -ERANGE;
}

int rx_replace_all(rx *r, const char *s, const char *tmpl, tower_buf *out) {
  size_t len = strlen(s), last = 0, pos = 0;
  const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
  int found = 0, rc = 0;
  tower_buf_reset(out);
  while (rc == 0 && pos <= len) {
    int mrc = pcre2_match(r->code, (PCRE2_SPTR)s, len, pos, 0, r->md, r->mctx);
    if (mrc == PCRE2_ERROR_NOMATCH)
      break;
    if (mrc < 0)
      return match_failed(r, mrc);
    size_t a0 = ov[0], a1 = ov[1];
    if (a0 < last || a1 < a0) /* \K (PCRE2, not RE2) can move the start */
      a0 = a1 = a1 < last ? last : a1;
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
