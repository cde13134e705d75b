/* Anchored globs. Brace alternatives are expanded when a list is compiled,
 * so matching only deals with '*', '?', classes and escapes; patterns without
 * any of them compare with strcmp. Matching never backtracks further than
 * the last run of '*' that can still grow (see struct matcher), so it takes
 * O(len(pattern) * len(string)) at worst: a hostile tag value cannot stall a
 * selector. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tower/glob.h>

#include "globs.h"

#define MAX_EXPANSIONS 256

struct twi_globs {
  size_t n;
  char **pat;
  bool *literal;
  size_t max_stars; /* the most '*' in one pattern: match_glob's state */
  char *separators;
};

static bool is_sep(const char *seps, char c) {
  return seps && c && strchr(seps, c) != NULL;
}

/* Matches the class at *pp ("[...]") against c and advances *pp past it. A
 * ']' right after the opening (or after '!') is a literal member. */
static bool match_class(const char **pp, char c) {
  const char *p = *pp + 1;
  bool negate = (*p == '!' || *p == '^');
  if (negate)
    p++;
  const char *first = p;
  bool hit = false;
  while (*p && (*p != ']' || p == first)) {
    char lo = *p;
    if (lo == '\\' && p[1])
      lo = *++p;
    char hi = lo;
    if (p[1] == '-' && p[2] && p[2] != ']') {
      hi = p[2];
      p += 2;
    }
    if (c >= lo && c <= hi)
      hit = true;
    p++;
  }
  *pp = *p ? p + 1 : p;
  return hit != negate;
}

/* Steps the one-character token at p (not '*' or the end) over c: the
 * pattern after the token, or NULL when c does not match it. */
static const char *match_one(const char *p, char c) {
  switch (*p) {
  case '?':
    return c ? p + 1 : NULL;
  case '[':
    return c && match_class(&p, c) ? p : NULL;
  case '\\':
    if (p[1])
      p++;
    /* fall through */
  default:
    return *p == c ? p + 1 : NULL;
  }
}

/* A run of '*' the matcher can come back to and stretch by one character. */
struct star {
  const char *p;    /* the pattern after the run */
  const char *s;    /* where the run's match ends now; the rest is tried here */
  const char *stop; /* the separator where it last got stuck, or NULL */
};

/* Between two runs of '*' every token takes exactly one character. So when
 * the rest after a run fails from every end up to where the run must stop,
 * it fails for any later start of that run up to the same stop, and only the
 * most recent run needs stretching. Without separators a run stops only at
 * the end of the string, where the whole match fails: stars[0] alone is the
 * classic two-pointer matcher. With separators a stuck run hands back to
 * the run before it, and `stop` keeps each run from retrying ends it has
 * tried: every run's end only moves forward, so matching costs
 * O(len(pattern) * len(string)) at worst. */
struct matcher {
  const char *seps; /* NULL, or the characters a run does not cross */
  struct star *stars;
  size_t depth; /* the runs on the current path: stars[0..depth) */
  size_t seen;  /* stars[] entries ever used: their `stop` is set */
};

/* Enters the run whose rest is p at s; false when an earlier try of this
 * run already covered s. */
static bool enter_star(struct matcher *m, const char *p, const char *s) {
  size_t d = m->seps ? m->depth : 0;
  struct star *t = &m->stars[d];
  if (d < m->seen && t->stop && s <= t->stop)
    return false;
  if (d >= m->seen) {
    t->stop = NULL;
    m->seen = d + 1;
  }
  t->p = p;
  t->s = s;
  m->depth = d + 1;
  return true;
}

/* Stretches the most recent run that can still grow and restarts after it;
 * false when none can. */
static bool backtrack(struct matcher *m, const char **p, const char **s) {
  while (m->depth > 0) {
    struct star *t = &m->stars[m->depth - 1];
    if (!*t->s)
      return false; /* every later start of this run ends here too */
    if (!is_sep(m->seps, *t->s)) {
      *p = t->p;
      *s = ++t->s;
      return true;
    }
    t->stop = t->s;
    m->depth--;
  }
  return false;
}

/* `stars` holds one entry, or with separators one per run of '*' in p. */
static bool match_stars(const char *p, const char *s, const char *seps, struct star *stars) {
  struct matcher m = {seps, stars, 0, 0};
  for (;;) {
    const char *next;
    if (*p == '*') {
      while (*p == '*')
        p++;
      if (!*p && !seps)
        return true; /* a trailing '*' takes the rest */
      if (enter_star(&m, p, s))
        continue;
    } else if (!*p) {
      if (!*s)
        return true;
    } else if ((next = match_one(p, *s))) {
      p = next;
      s++;
      continue;
    }
    if (!backtrack(&m, &p, &s))
      return false;
  }
}

/* Room for the runs of '*' of usual patterns without touching the heap. */
#define STARS_ON_STACK 32

/* Matches p against s; `nstars` bounds the runs of '*' in p (its count of
 * '*' does). `seps` is NULL or not empty. */
static bool match_glob(const char *p, const char *s, const char *seps, size_t nstars) {
  struct star local[STARS_ON_STACK];
  if (!seps || nstars <= STARS_ON_STACK)
    return match_stars(p, s, seps, local);
  /* many '*' and separators: rare enough for one allocation per match; out
   * of memory counts as no match */
  struct star *heap = malloc(nstars * sizeof *heap);
  bool hit = heap && match_stars(p, s, seps, heap);
  free(heap);
  return hit;
}

static size_t count_stars(const char *p) {
  size_t n = 0;
  for (; (p = strchr(p, '*')); p++)
    n++;
  return n;
}

/* The ']' that closes the class opening at p ('['), or NULL: braces and
 * commas inside a class are its characters, not alternatives. */
static const char *class_end(const char *p) {
  const char *q = p + 1;
  if (*q == '!' || *q == '^')
    q++;
  if (*q == ']')
    q++;
  while (*q && *q != ']')
    q++;
  return *q ? q : NULL;
}

/* Steps over an escape or a whole class at p: where the scan goes on. */
static const char *skip_literal(const char *p) {
  if (*p == '\\' && p[1])
    return p + 1;
  if (*p == '[') {
    const char *q = class_end(p);
    return q ? q : p;
  }
  return p;
}

/* Finds the '}' closing the '{' at p. */
static const char *brace_end(const char *p) {
  int depth = 0;
  for (; *p; p++) {
    if (*p == '\\' || *p == '[')
      p = skip_literal(p);
    else if (*p == '{')
      depth++;
    else if (*p == '}' && --depth == 0)
      return p;
  }
  return NULL;
}

/* Expands the first brace group of `pat` into out[]; recursive. */
static int expand(const char *pat, char **out, size_t *n, size_t cap) {
  const char *open = NULL;
  for (const char *p = pat; *p; p++) {
    if (*p == '\\' || *p == '[')
      p = skip_literal(p);
    else if (*p == '{') {
      open = p;
      break;
    }
  }
  if (!open) {
    if (*n >= cap)
      return -1;
    out[*n] = strdup(pat);
    return out[(*n)++] ? 0 : -1;
  }
  const char *close = brace_end(open);
  if (!close)
    return -1;
  size_t pre = (size_t)(open - pat), post = strlen(close + 1);
  const char *alt = open + 1;
  while (alt <= close) {
    const char *end = alt;
    int depth = 0;
    for (; end < close; end++) {
      if (*end == '\\' || *end == '[')
        end = skip_literal(end);
      else if (*end == '{')
        depth++;
      else if (*end == '}')
        depth--;
      else if (*end == ',' && depth == 0)
        break;
    }
    size_t alen = (size_t)(end - alt);
    char *tmp = malloc(pre + alen + post + 1);
    if (!tmp)
      return -1;
    memcpy(tmp, pat, pre);
    memcpy(tmp + pre, alt, alen);
    memcpy(tmp + pre + alen, close + 1, post + 1);
    int rc = expand(tmp, out, n, cap);
    free(tmp);
    if (rc)
      return rc;
    alt = end + 1;
  }
  return 0;
}

const char *twi_glob_check(const char *pattern) {
  int depth = 0;
  for (const char *p = pattern; *p; p++) {
    if (*p == '\\') {
      if (!p[1])
        return "ends with a lone backslash";
      p++;
    } else if (*p == '[') {
      const char *q = class_end(p);
      if (!q)
        return "has '[' without a closing ']'";
      p = q;
    } else if (*p == '{') {
      depth++;
    } else if (*p == '}') {
      if (--depth < 0)
        return "has '}' without an opening '{'";
    }
  }
  return depth ? "has '{' without a closing '}'" : NULL;
}

static bool has_meta(const char *p) {
  return strpbrk(p, "*?[\\") != NULL;
}

bool twi_glob_match(const char *pattern, const char *s, const char *separators) {
  if (!strchr(pattern, '{')) {
    if (separators && !*separators)
      separators = NULL;
    return match_glob(pattern, s, separators, separators ? count_stars(pattern) : 0);
  }
  twi_globs *g = twi_globs_new(&pattern, 1, separators, NULL);
  bool hit = g && twi_globs_match(g, s);
  twi_globs_free(g);
  return hit;
}

twi_globs *twi_globs_new(const char *const *patterns, size_t n, const char *separators,
                         const char **err) {
  const char *dummy;
  if (!err)
    err = &dummy;
  *err = NULL;
  twi_globs *g = calloc(1, sizeof *g);
  char **tmp = calloc(MAX_EXPANSIONS, sizeof *tmp);
  if (!g || !tmp)
    goto nomem;
  for (size_t i = 0; i < n; i++) {
    if ((*err = twi_glob_check(patterns[i])))
      goto fail;
    if (expand(patterns[i], tmp, &g->n, MAX_EXPANSIONS)) {
      *err = "expands to too many alternatives";
      goto fail;
    }
  }
  g->pat = tmp;
  tmp = NULL;
  g->literal = calloc(g->n ? g->n : 1, sizeof *g->literal);
  if (!g->literal)
    goto nomem;
  for (size_t i = 0; i < g->n; i++) {
    g->literal[i] = !has_meta(g->pat[i]);
    size_t stars = count_stars(g->pat[i]);
    if (stars > g->max_stars)
      g->max_stars = stars;
  }
  if (separators && *separators && !(g->separators = strdup(separators)))
    goto nomem;
  return g;
nomem:
  *err = "out of memory";
fail:
  if (tmp) {
    for (size_t i = 0; i < MAX_EXPANSIONS; i++)
      free(tmp[i]);
    free(tmp);
  }
  if (g && !g->pat)
    g->n = 0;
  twi_globs_free(g);
  return NULL;
}

void twi_globs_free(twi_globs *g) {
  if (!g)
    return;
  for (size_t i = 0; i < g->n; i++)
    free(g->pat[i]);
  free(g->pat);
  free(g->literal);
  free(g->separators);
  free(g);
}

bool twi_globs_match(const twi_globs *g, const char *s) {
  for (size_t i = 0; i < g->n; i++) {
    if (g->literal[i] ? strcmp(g->pat[i], s) == 0
                      : match_glob(g->pat[i], s, g->separators, g->max_stars))
      return true;
  }
  return false;
}

/* ---- the SDK's view (tower/glob.h): the same lists under public names ---- */

int tower_globs_new(const char *const *patterns, size_t n, tower_globs **out, const char **err) {
  const char *why = NULL;
  twi_globs *g = twi_globs_new(patterns, n, NULL, &why);
  if (err)
    *err = why;
  *out = (tower_globs *)g;
  if (g)
    return 0;
  return why && strcmp(why, "out of memory") == 0 ? -ENOMEM : -EINVAL;
}

void tower_globs_free(tower_globs *g) {
  twi_globs_free((twi_globs *)g);
}

bool tower_globs_match(const tower_globs *g, const char *s) {
  return g && s && twi_globs_match((const twi_globs *)g, s);
}

bool tower_glob_match(const char *pattern, const char *s) {
  return pattern && s && twi_glob_match(pattern, s, NULL);
}
