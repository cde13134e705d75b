/* libFuzzer target: glob patterns through the SDK (sdk/include/tower/glob.h,
 * core/glob.c), the matcher behind every selector and TOWER_OPT_GLOB.
 *
 * An input is lines: patterns, an empty line, then subjects (without an
 * empty line the first line is the pattern and the rest are subjects). For
 * each input it checks that
 *   1. compiling and matching never crash or leak (the sanitizers watch); a
 *      refused list says why;
 *   2. a compiled list matches exactly when one of its patterns does,
 *      compiled alone or matched with tower_glob_match();
 *   3. every subject matches the pattern that escapes it, anchored: not
 *      with a character more, and inside "*...*" when surrounded;
 *   4. for short ASCII inputs whose classes are plain ([abc], [a-z], [!x]),
 *      validity and every match agree with a reference matcher written
 *      here from glob.h's rules: `*` any run, `?` one character, classes,
 *      `{a,b}` alternatives (nested, possibly empty), `\` escapes, anchored.
 * It uses the public API only: glob.c may change inside (a linear-time
 * matcher, say) while this keeps checking what plugins rely on.
 *
 * `make check` replays tests/fuzz/corpus/glob/ through this file with
 * tests/fuzz/replay.c; `make fuzz` builds the libFuzzer binary and
 * `make fuzz-run` runs it (tests/fuzz/README.md).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/glob.h>

#define FUZZ_TARGET "fuzz_glob"
#include "fuzz_util.h"

#define MAX_LINES 8
/* The reference backtracks: only short patterns and subjects go to it. */
#define REF_MAX 16
/* Past this many alternatives a list may be refused (glob.c expands). */
#define REF_MAX_EXPANSIONS 64

/* ---- the reference ---------------------------------------------------- */

/* A plain class: [!]? then items "c" or "c-d" up to ']', where c and d are
 * printable ASCII other than ] [ \ { } , ! ^ -. Returns the length of the
 * class, or 0 when it is not plain. */
static size_t plain_class(const char *p) {
  static const char *const special = "][\\{},!^-";
  size_t i = 1 + (p[1] == '!'), items = 0;
  while (p[i] && p[i] != ']') {
    if (p[i] < 0x21 || p[i] > 0x7e || strchr(special, p[i]))
      return 0;
    if (p[i + 1] == '-') {
      if (p[i + 2] < 0x21 || p[i + 2] > 0x7e || strchr(special, p[i + 2]))
        return 0;
      i += 2;
    }
    i++;
    items++;
  }
  return p[i] == ']' && items ? i + 1 : 0;
}

static bool class_has(const char *p, size_t len, char c) {
  bool negate = p[1] == '!', hit = false;
  for (size_t i = 1 + negate; i < len - 1; i++) {
    char lo = p[i], hi = lo;
    if (p[i + 1] == '-' && i + 2 < len - 1) {
      hi = p[i + 2];
      i += 2;
    }
    hit |= c >= lo && c <= hi;
  }
  return hit != negate;
}

/* Matches a pattern without braces. */
static bool ref_match(const char *p, const char *s) {
  switch (*p) {
  case '\0':
    return *s == '\0';
  case '*':
    while (p[1] == '*')
      p++;
    return ref_match(p + 1, s) || (*s && ref_match(p, s + 1));
  case '?':
    return *s && ref_match(p + 1, s + 1);
  case '[': {
    size_t len = plain_class(p);
    return *s && class_has(p, len, *s) && ref_match(p + len, s + 1);
  }
  case '\\':
    p++;
    /* fall through */
  default:
    return *p == *s && ref_match(p + 1, s + 1);
  }
}

/* Whether the ASCII pattern is within the reference's rules: true with
 * *valid for a plain pattern (every class plain), false when it is not. A
 * pattern is valid without a lone trailing '\', with balanced braces. */
static bool ref_check(const char *p, bool *valid) {
  int depth = 0;
  *valid = true;
  for (; *p; p++) {
    if ((unsigned char)*p >= 0x80)
      return false;
    if (*p == '\\') {
      if (!p[1])
        return *valid = false, true;
      p++;
    } else if (*p == '[') {
      size_t len = plain_class(p);
      if (!len)
        return false;
      p += len - 1;
    } else if (*p == '{') {
      depth++;
    } else if (*p == '}' && --depth < 0) {
      return *valid = false, true;
    }
  }
  *valid = depth == 0;
  return true;
}

/* The '}' closing the '{' at p (classes are plain: no braces inside). */
static const char *ref_close(const char *p) {
  int depth = 0;
  for (; *p; p++) {
    if (*p == '\\')
      p++;
    else if (*p == '{')
      depth++;
    else if (*p == '}' && --depth == 0)
      return p;
  }
  return NULL;
}

/* Matches a valid pattern: the first brace group is tried alternative by
 * alternative, each followed by the rest of the pattern. *budget counts the
 * expansions; false with *budget < 0 means too many to tell. With s NULL it
 * only counts them. */
static bool ref_expand_match(const char *p, const char *s, int *budget) {
  const char *open = NULL;
  for (const char *q = p; *q && !open; q++) {
    if (*q == '\\')
      q++;
    else if (*q == '{')
      open = q;
  }
  if (!open)
    return --*budget >= 0 && s && ref_match(p, s);
  const char *close = ref_close(open), *alt = open + 1;
  size_t pre = (size_t)(open - p), post = strlen(close + 1);
  char *buf = malloc(strlen(p) + 1);
  if (!buf)
    die("out of memory");
  bool hit = false;
  while (!hit && *budget >= 0 && alt <= close) {
    const char *end = alt;
    for (int depth = 0; end < close && (depth || *end != ','); end++) {
      if (*end == '\\')
        end++;
      else
        depth += (*end == '{') - (*end == '}');
    }
    memcpy(buf, p, pre);
    memcpy(buf + pre, alt, (size_t)(end - alt));
    memcpy(buf + pre + (end - alt), close + 1, post + 1);
    hit = ref_expand_match(buf, s, budget);
    alt = end + 1;
  }
  free(buf);
  return hit;
}

/* ---- checks ------------------------------------------------------------- */

static tower_globs *compile(const char *const *pats, size_t n, const char *what) {
  tower_globs *g = NULL;
  const char *err = NULL;
  int rc = tower_globs_new(pats, n, &g, &err);
  if (rc == 0 && !g)
    die("%s: compiled to nothing", what);
  if (rc != 0 && (g || rc != -EINVAL || !err || !*err))
    die("%s: refused with %d without a reason", what, rc);
  return g;
}

/* s with every special character escaped, into a malloc'd string. */
static char *escaped(const char *s, const char *before, const char *after) {
  char *e = malloc(strlen(before) + 2 * strlen(s) + strlen(after) + 1), *d = e;
  if (!e)
    die("out of memory");
  d = stpcpy(d, before);
  for (; *s; s++) {
    if (strchr("*?[]{}\\,!^-", *s))
      *d++ = '\\';
    *d++ = *s;
  }
  strcpy(d, after);
  return e;
}

static void check_escaped(const char *s) {
  char *exact = escaped(s, "", ""), *inside = escaped(s, "*", "*"), *more = malloc(strlen(s) + 2);
  if (!more)
    die("out of memory");
  strcpy(stpcpy(more, s), "x");
  const char *pats[] = {exact};
  tower_globs *g = compile(pats, 1, "an escaped subject");
  if (!g)
    die("\"%s\" (the subject escaped) is refused", exact);
  if (!tower_globs_match(g, s) || !tower_glob_match(exact, s))
    die("\"%s\" does not match \"%s\"", exact, s);
  if (tower_globs_match(g, more) || tower_glob_match(exact, more))
    die("\"%s\" matches \"%s\": not anchored", exact, more);
  char *around = malloc(strlen(s) + 3);
  if (!around)
    die("out of memory");
  sprintf(around, "<%s>", s);
  if (!tower_glob_match(inside, around))
    die("\"%s\" does not match \"%s\"", inside, around);
  tower_globs_free(g);
  free(around);
  free(more);
  free(inside);
  free(exact);
}

static bool short_ascii(const char *s) {
  if (strlen(s) > REF_MAX)
    return false;
  for (; *s; s++)
    if ((unsigned char)*s >= 0x80)
      return false;
  return true;
}

static void check_reference(const char *pat, const tower_globs *g, const char *const *subj,
                            size_t ns) {
  bool valid;
  if (!short_ascii(pat) || !ref_check(pat, &valid))
    return;
  if (!valid) {
    if (g)
      die("\"%s\" compiles; the reference finds it malformed", pat);
    return;
  }
  if (!g) {
    /* a list may refuse too many alternatives; count them */
    int budget = REF_MAX_EXPANSIONS;
    ref_expand_match(pat, NULL, &budget);
    if (budget >= 0)
      die("\"%s\" is refused; the reference finds it well formed", pat);
    return;
  }
  for (size_t i = 0; i < ns; i++) {
    int budget = REF_MAX_EXPANSIONS;
    if (!short_ascii(subj[i]))
      continue;
    bool want = ref_expand_match(pat, subj[i], &budget);
    if (budget >= 0 && want != tower_globs_match(g, subj[i]))
      die("\"%s\" %s \"%s\"; the reference says the opposite", pat,
          want ? "does not match" : "matches", subj[i]);
  }
}

/* Splits the input into patterns and subjects (copies in *buf): the lines
 * before the first empty line are patterns, the lines after it subjects
 * (without an empty line: the first line, then the others); the empty
 * piece after a final newline is no subject. */
static void split(const char *data, size_t size, char **buf, const char **pats, size_t *np,
                  const char **subj, size_t *ns) {
  char *b = malloc(size + 1);
  if (!b)
    die("out of memory");
  memcpy(b, data, size);
  b[size] = '\0';
  bool blank = memmem(b, size, "\n\n", 2) != NULL || (size && b[0] == '\n');
  bool in_pats = true;
  *np = *ns = 0;
  for (char *line = b, *nl; line; line = nl) {
    if ((nl = strchr(line, '\n')))
      *nl++ = '\0';
    if (in_pats && blank && *line == '\0') {
      in_pats = false;
      continue;
    }
    if (in_pats && *np < MAX_LINES)
      pats[(*np)++] = line;
    else if (!in_pats && (*line || nl) && *ns < MAX_LINES)
      subj[(*ns)++] = line;
    if (!blank)
      in_pats = false;
  }
  *buf = b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1024)
    return 0;
  const char *pats[MAX_LINES], *subj[MAX_LINES];
  size_t np, ns;
  char *buf;
  split((const char *)data, size, &buf, pats, &np, subj, &ns);
  tower_globs *all = compile(pats, np, "the list");
  bool any[MAX_LINES] = {false};
  for (size_t i = 0; i < np; i++) {
    tower_globs *one = compile(&pats[i], 1, "a pattern");
    if (all && !one)
      die("the list compiles but its pattern \"%s\" does not", pats[i]);
    for (size_t k = 0; one && k < ns; k++) {
      bool hit = tower_globs_match(one, subj[k]);
      if (hit != tower_glob_match(pats[i], subj[k]))
        die("\"%s\" on \"%s\": compiled and uncompiled disagree", pats[i], subj[k]);
      any[k] |= hit;
    }
    check_reference(pats[i], one, subj, ns);
    tower_globs_free(one);
  }
  for (size_t k = 0; all && k < ns; k++)
    if (tower_globs_match(all, subj[k]) != any[k])
      die("the list and its patterns disagree on \"%s\"", subj[k]);
  for (size_t k = 0; k < ns; k++)
    check_escaped(subj[k]);
  tower_globs_free(all);
  free(buf);
  return 0;
}
