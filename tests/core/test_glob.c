/* Glob matching (core/glob.c, the SDK's tower/glob.h): every syntax element
 * and edge case from a table, random patterns against glibc's fnmatch(3)
 * (an independent matcher with the same syntax where no separator is set)
 * and against the plain recursive definition where one is, and the worst
 * cases of a backtracking matcher (`*a*b` against 100 kB of 'a') with a
 * bound on the time of each match. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tower/glob.h>

#include "globs.h"
#include "check_run.h"

struct glob_case {
  const char *pattern;
  const char *seps; /* NULL: '*' crosses everything */
  const char *s;
  bool want;
};

static const struct glob_case cases[] = {
    /* literals, and the empty pattern and string */
    {"cpu", NULL, "cpu", true},
    {"cpu", NULL, "cpu0", false},
    {"cpu", NULL, "cp", false},
    {"cpu", NULL, "CPU", false},
    {"", NULL, "", true},
    {"", NULL, "a", false},
    {"a", NULL, "", false},
    /* '*' anywhere, runs of it */
    {"*", NULL, "", true},
    {"*", NULL, "anything at all", true},
    {"**", NULL, "", true},
    {"**", NULL, "x", true},
    {"cpu*", NULL, "cpu", true},
    {"cpu*", NULL, "cpu_total", true},
    {"cpu*", NULL, "cp", false},
    {"*_bytes", NULL, "net_bytes", true},
    {"*_bytes", NULL, "_bytes", true},
    {"*_bytes", NULL, "bytes", false},
    {"*_bytes", NULL, "net_bytes_sent", false},
    {"a*b", NULL, "ab", true},
    {"a*b", NULL, "axxb", true},
    {"a*b", NULL, "abab", true},
    {"a*b", NULL, "axxbc", false},
    {"a**b", NULL, "a123b", true},
    {"a***", NULL, "a", true},
    {"*a*b*c", NULL, "xaybzc", true},
    {"*a*b*c", NULL, "cba", false},
    {"*a*a*b", NULL, "aab", true},
    {"*a*a*b", NULL, "ab", false},
    {"*aab", NULL, "aaab", true},
    {"*abc*abd", NULL, "abcabcabd", true},
    {"*abc*abd", NULL, "abcabdabc", false},
    /* '?': exactly one byte */
    {"?", NULL, "a", true},
    {"?", NULL, "", false},
    {"?", NULL, "ab", false},
    {"a?c", NULL, "abc", true},
    {"a?c", NULL, "ac", false},
    {"??", NULL, "ab", true},
    {"*?", NULL, "", false},
    {"*?", NULL, "a", true},
    {"?*?", NULL, "a", false},
    {"?*?", NULL, "ab", true},
    /* classes: sets, ranges, negation with '!' or '^', ']' and '-' as members */
    {"[abc]", NULL, "b", true},
    {"[abc]", NULL, "d", false},
    {"[abc]", NULL, "", false},
    {"[a-c]x", NULL, "bx", true},
    {"[a-c]x", NULL, "dx", false},
    {"[0-9][0-9]", NULL, "42", true},
    {"[0-9][0-9]", NULL, "4x", false},
    {"[a-cx-z]", NULL, "y", true},
    {"[a-cx-z]", NULL, "m", false},
    {"[!a-c]", NULL, "d", true},
    {"[!a-c]", NULL, "a", false},
    {"[!a-c]", NULL, "", false},
    {"[^a]", NULL, "b", true},
    {"[^a]", NULL, "a", false},
    {"[]a]", NULL, "]", true},
    {"[]a]", NULL, "a", true},
    {"[]a]", NULL, "b", false},
    {"[!]a]", NULL, "]", false},
    {"[!]a]", NULL, "b", true},
    {"[a-]", NULL, "-", true},
    {"[a-]", NULL, "b", false},
    {"[-a]", NULL, "-", true},
    {"[\\]]", NULL, "]", true},
    {"[\\!a]", NULL, "!", true},
    {"x[*]", NULL, "x*", true},
    {"x[*]", NULL, "xy", false},
    {"[?]", NULL, "?", true},
    {"[?]", NULL, "a", false},
    {"*[0-9]", NULL, "cpu12", true},
    {"*[0-9]", NULL, "cpu1x", false},
    /* escapes */
    {"\\*", NULL, "*", true},
    {"\\*", NULL, "a", false},
    {"\\*", NULL, "", false},
    {"a\\?", NULL, "a?", true},
    {"a\\?", NULL, "ab", false},
    {"\\[a]", NULL, "[a]", true},
    {"\\[a]", NULL, "a", false},
    {"\\\\", NULL, "\\", true},
    {"\\a", NULL, "a", true},
    {"*\\*", NULL, "x*", true},
    {"*\\*", NULL, "x", false},
    {"\\{a,b\\}", NULL, "{a,b}", true},
    /* brace alternatives, expanded when the list is compiled */
    {"{cpu,mem}", NULL, "mem", true},
    {"{cpu,mem}", NULL, "disk", false},
    {"net_{a,b}*", NULL, "net_bx", true},
    {"net_{a,b}*", NULL, "net_cx", false},
    {"{a,{b,c}}d", NULL, "cd", true},
    {"a{,b}", NULL, "a", true},
    {"a{,b}", NULL, "ab", true},
    {"{a\\,b,c}", NULL, "a,b", true},
    /* UTF-8 is matched as bytes: '?' takes one byte, not one character */
    {"caf\xc3\xa9", NULL, "caf\xc3\xa9", true},
    {"caf?", NULL, "caf\xc3\xa9", false},
    {"caf??", NULL, "caf\xc3\xa9", true},
    {"*\xc3\xa9", NULL, "caf\xc3\xa9", true},
    {"\xe6\x9d\xb1*", NULL, "\xe6\x9d\xb1\xe4\xba\xac", true},
    {"caf[\xc3][\x80-\xbf]", NULL, "caf\xc3\xa9", true},
    {"[a-z]", NULL, "\xc3", false},
    {"[!a-z]", NULL, "\xc3", true},
    /* separators: '*' does not cross them; '?', classes and literals do */
    {"a.*", ".", "a.b", true},
    {"a.*", ".", "a.b.c", false},
    {"a.*", ".", "a.", true},
    {"a.*.c", ".", "a.b.c", true},
    {"a.*.c", ".", "a.b.x.c", false},
    {"*", ".", "a.b", false},
    {"*", ".", "", true},
    {"*.b", ".", "a.b", true},
    {"**", ".", "a.b", false},
    {"a?b", ".", "a.b", true},
    {"a[.]b", ".", "a.b", true},
    {"*?*b", ".", "a.b", true},
    {"*?*?*c", ".", "a.b.c", true},
    {"*?*?*c", ".", "a.b.c.d", false},
    {"*a*.*b", ".", "xa.yb", true},
    {"*a*.*b", ".", "xa.y.b", false},
    {"*", "./", "a/b", false},
    {"*/*", "./", "a/b", true},
    {"{x,*}.y", ".", "q.y", true},
    {"a.*", "", "a.b.c", true},
};

/* The list, compiled, and the one pattern, uncompiled, agree. */
static bool match_both(const char *pattern, const char *seps, const char *s) {
  const char *err = NULL;
  twi_globs *g = twi_globs_new(&pattern, 1, seps, &err);
  ck_assert_msg(g, "pattern \"%s\" rejected: %s", pattern, err);
  bool compiled = twi_globs_match(g, s);
  twi_globs_free(g);
  bool one = twi_glob_match(pattern, s, seps);
  ck_assert_msg(compiled == one, "\"%s\" on \"%s\": compiled %d, uncompiled %d", pattern, s,
                compiled, one);
  return one;
}

START_TEST(table) {
  const struct glob_case *c = &cases[_i];
  bool got = match_both(c->pattern, c->seps, c->s);
  ck_assert_msg(got == c->want, "\"%s\" (separators \"%s\") on \"%s\": got %d, want %d", c->pattern,
                c->seps ? c->seps : "", c->s, got, c->want);
  if (!c->seps)
    ck_assert_int_eq(tower_glob_match(c->pattern, c->s), c->want);
}
END_TEST

START_TEST(sdk_lists) {
  const char *pats[] = {"cpu", "disk[0-9]", "net_*_bytes", "proc{s,esses}"};
  tower_globs *g = NULL;
  const char *err = NULL;
  ck_assert_int_eq(tower_globs_new(pats, 4, &g, &err), 0);
  ck_assert(tower_globs_match(g, "cpu"));
  ck_assert(tower_globs_match(g, "disk7"));
  ck_assert(tower_globs_match(g, "net_recv_bytes"));
  ck_assert(tower_globs_match(g, "processes"));
  ck_assert(!tower_globs_match(g, "disk"));
  ck_assert(!tower_globs_match(g, "net_bytes"));
  ck_assert(!tower_globs_match(g, NULL));
  tower_globs_free(g);
  const char *empty[] = {NULL};
  ck_assert_int_eq(tower_globs_new(empty, 0, &g, &err), 0);
  ck_assert(!tower_globs_match(g, ""));
  tower_globs_free(g);
  ck_assert(!tower_globs_match(NULL, "x"));
  ck_assert(!tower_glob_match(NULL, "x"));
  ck_assert(!tower_glob_match("*", NULL));
}
END_TEST

START_TEST(malformed_rejected) {
  static const char *const bad[] = {"a\\", "[ab", "[!]", "{a,b", "a}", "x{a,{b}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    tower_globs *g = NULL;
    const char *err = NULL;
    ck_assert_int_eq(tower_globs_new(&bad[i], 1, &g, &err), -EINVAL);
    ck_assert_msg(err && *err, "no reason for \"%s\"", bad[i]);
    ck_assert_ptr_null(g);
  }
}
END_TEST

/* ---- random patterns against independent matchers ---- */

static unsigned long long rng_state;

static unsigned rnd(unsigned n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (unsigned)(rng_state % n);
}

static void random_string(char *out, size_t max, const char *alphabet) {
  size_t len = rnd((unsigned)max + 1), k = strlen(alphabet);
  for (size_t i = 0; i < len; i++)
    out[i] = alphabet[rnd((unsigned)k)];
  out[len] = '\0';
}

static void random_pattern(char *out, size_t ntokens, const char *const *tokens, size_t k) {
  out[0] = '\0';
  size_t n = rnd((unsigned)ntokens + 1);
  for (size_t i = 0; i < n; i++)
    strcat(out, tokens[rnd((unsigned)k)]);
}

/* fnmatch(3) without flags has tower's syntax and meaning when no separator
 * is set; the tokens avoid what only one of them accepts (unclosed classes,
 * braces, a trailing backslash). */
START_TEST(random_against_fnmatch) {
  static const char *const tokens[] = {"a",    "b",    "c",     "*",    "*",   "?",   "[ab]",
                                       "[!a]", "[^b]", "[a-c]", "[]a]", "\\*", "\\?", "-"};
  rng_state = 0x9e3779b97f4a7c15ULL;
  char p[128], s[16];
  for (int i = 0; i < 20000; i++) {
    random_pattern(p, 8, tokens, sizeof tokens / sizeof tokens[0]);
    random_string(s, 10, "abc*?-]");
    bool want = fnmatch(p, s, 0) == 0;
    ck_assert_msg(match_both(p, NULL, s) == want, "\"%s\" on \"%s\": fnmatch says %d", p, s, want);
  }
}
END_TEST

/* The definition of matching with separators, as plain recursion over one
 * '*' at a time: exponential, so for short strings only. Classes are the
 * simple kind the generator makes: "[xy]" or "[!xy]". */
static bool ref_match(const char *p, const char *s, const char *seps) {
  if (!*p)
    return !*s;
  if (*p == '*') {
    for (const char *t = s;; t++) {
      if (ref_match(p + 1, t, seps))
        return true;
      if (!*t || strchr(seps, *t))
        return false;
    }
  }
  if (!*s)
    return false;
  if (*p == '[') {
    const char *end = strchr(p, ']');
    bool negate = p[1] == '!';
    bool member = memchr(p + 1 + negate, *s, (size_t)(end - p - 1 - negate)) != NULL;
    return member != negate && ref_match(end + 1, s + 1, seps);
  }
  return (*p == '?' || *p == *s) && ref_match(p + 1, s + 1, seps);
}

START_TEST(random_with_separators) {
  static const char *const tokens[] = {"a", "b", ".", "/", "*", "*", "*", "?", "[a.]", "[!.]"};
  rng_state = 0x2545f4914f6cdd1dULL;
  char p[128], s[16];
  for (int i = 0; i < 20000; i++) {
    random_pattern(p, 9, tokens, sizeof tokens / sizeof tokens[0]);
    random_string(s, 10, "ab./");
    const char *seps = i % 2 ? "." : "./";
    bool want = ref_match(p, s, seps);
    ck_assert_msg(match_both(p, seps, s) == want, "\"%s\" (separators \"%s\") on \"%s\": want %d",
                  p, seps, s, want);
  }
}
END_TEST

/* ---- worst cases: linear time, asserted ---- */

struct worst_case {
  const char *pattern; /* NULL: built by worst_pattern() */
  const char *seps;
  size_t len;
  const char *fill; /* the string repeats this */
  const char *tail; /* then ends with this */
  bool want;
};

static const struct worst_case worst[] = {
    {"*a*b", NULL, 100000, "a", "", false},
    {"*a*a*b", NULL, 100000, "a", "", false},
    {"*a*a*b", NULL, 20000, "a", "", false},
    {"*a*a*a*a*a*b", NULL, 100000, "a", "", false},
    {"*a*a*a*a*a*b", NULL, 100000, "a", "b", true},
    {"*?*?*?*?*?*?*?*?*b", NULL, 100000, "a", "", false},
    {"*aaaaaaaaaaaaaaaab", NULL, 100000, "a", "", false},
    {"*a*b", ".", 100000, "a", "", false},
    {"*a*a*a*a*a*b", ".", 100000, "a", "", false},
    {"*a*a*a*a*a*b", ".", 100000, "aaaaaaaaa.", "", false},
    {"*a*a*a*a*a*b", ".", 100000, "a", "b", true},
    {"*?*?*?*?*?*b", ".", 100000, "a.", "b", false},
    {"*?*?*?*?*?*b", ".", 100000, "a", ".b", true},
    {NULL, NULL, 100000, "a", "", false},
    {NULL, ".", 100000, "aaaa.", "", false},
    {NULL, ".", 100000, "a", "b", true},
    {NULL, ".", 100000, "a", ".b", true},
};

/* 40 runs of "*?" then "*b": more runs of '*' than the matcher keeps on the
 * stack, and 40 '?' */
static char *worst_pattern(void) {
  char *p = malloc(2 * 40 + 3);
  ck_assert_ptr_nonnull(p);
  p[0] = '\0';
  for (int i = 0; i < 40; i++)
    strcat(p, "*?");
  strcat(p, "*b");
  return p;
}

static char *worst_string(const struct worst_case *w) {
  size_t flen = strlen(w->fill), tlen = strlen(w->tail);
  char *s = malloc(w->len + tlen + 1);
  ck_assert_ptr_nonnull(s);
  for (size_t i = 0; i < w->len; i++)
    s[i] = w->fill[i % flen];
  memcpy(s + w->len, w->tail, tlen + 1);
  return s;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A backtracking matcher takes seconds to hours on these; a linear one
 * milliseconds, and well under the bound under valgrind. */
START_TEST(worst_case_is_fast) {
  const struct worst_case *w = &worst[_i];
  char *built = w->pattern ? NULL : worst_pattern();
  const char *p = w->pattern ? w->pattern : built;
  char *s = worst_string(w);
  const char *err = NULL;
  twi_globs *g = twi_globs_new(&p, 1, w->seps, &err);
  ck_assert_msg(g, "%s", err);
  double t0 = now();
  bool compiled = twi_globs_match(g, s);
  double t1 = now();
  bool one = twi_glob_match(p, s, w->seps);
  double t2 = now();
  ck_assert_msg(compiled == w->want && one == w->want, "\"%s\" on %zu bytes of \"%s\"+\"%s\"", p,
                w->len, w->fill, w->tail);
  ck_assert_msg(t1 - t0 < 1.0 && t2 - t1 < 1.0,
                "\"%s\" (separators \"%s\") on %zu bytes took %.3f s compiled, %.3f s not", p,
                w->seps ? w->seps : "", w->len, t1 - t0, t2 - t1);
  twi_globs_free(g);
  free(s);
  free(built);
}
END_TEST

static Suite *glob_suite(void) {
  Suite *s = suite_create("glob");
  TCase *t = tcase_create("syntax");
  tcase_add_loop_test(t, table, 0, (int)(sizeof cases / sizeof cases[0]));
  tcase_add_test(t, sdk_lists);
  tcase_add_test(t, malformed_rejected);
  suite_add_tcase(s, t);
  t = tcase_create("random");
  tcase_add_test(t, random_against_fnmatch);
  tcase_add_test(t, random_with_separators);
  suite_add_tcase(s, t);
  t = tcase_create("worst");
  tcase_add_loop_test(t, worst_case_is_fast, 0, (int)(sizeof worst / sizeof worst[0]));
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  return check_run(glob_suite());
}
