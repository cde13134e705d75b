/* processors.dedup through the real core: several gathers of `lines`
 * inputs (gathered in order) feed one dedup instance; the record output
 * shows what passed. Duplicates within the interval are dropped, changes,
 * other series, expired ones and same-timestamp merges pass, and
 * max_series bounds the table (a forgotten series passes again). */
#include "config.h"

#include "check_run.h"
#include "proc_test.h"

/* Runs `rounds` gathers of the inputs and returns the output with the
 * timestamps cut off (the gather time is now), one line per metric. */
static char *run_dedup(const char *const *const *inputs, size_t n, const char *procs, int rounds) {
  char *out = pt_run_rounds(inputs, n, procs, rounds);
  char *w = out;
  for (char *line = out, *nl; *line; line = nl + 1) {
    nl = strchr(line, '\n');
    ck_assert_ptr_nonnull(nl);
    char *sp = nl;
    while (sp > line && sp[-1] != ' ')
      sp--;
    ck_assert_ptr_ne(sp, line);
    memmove(w, line, (size_t)(sp - 1 - line));
    w += sp - 1 - line;
    *w++ = '\n';
  }
  *w = '\0';
  return out;
}

#define INPUTS(...) ((const char *const *const[]){__VA_ARGS__})
#define NINPUTS(...) (sizeof(INPUTS(__VA_ARGS__)) / sizeof(const char *const *))

#define expect_dedup(procs, rounds, want, ...)                                                     \
  do {                                                                                             \
    char *got_ = run_dedup(INPUTS(__VA_ARGS__), NINPUTS(__VA_ARGS__), procs, rounds);              \
    ck_assert_msg(strcmp(got_, want) == 0, "got:\n%s\nwant:\n%s", got_, want);                     \
    free(got_);                                                                                    \
  } while (0)

#define DEDUP "{ plugin = \"dedup\"; }"

START_TEST(duplicates_dropped) {
  expect_dedup(DEDUP, 3, "m,host=a v=1i\nn s=\"x\",v=2\n",
               PT_LINES("m,host=a v=1i", "n v=2,s=\"x\""));
  /* without the processor every round comes out */
  expect_dedup(NULL, 2, "m v=1i\nm v=1i\n", PT_LINES("m v=1i"));
}
END_TEST

START_TEST(changes_pass) {
  /* 1, 2, 1, 2: every metric differs from the one before it */
  expect_dedup(DEDUP, 2, "m v=1i\nm v=2i\nm v=1i\nm v=2i\n", PT_LINES("m v=1i"),
               PT_LINES("m v=2i"));
  /* the type counts: 1i and 1 differ; true and "true" too */
  expect_dedup(DEDUP, 1, "m v=1i\nm v=1\nm v=true\nm v=\"true\"\n", PT_LINES("m v=1i"),
               PT_LINES("m v=1"), PT_LINES("m v=true"), PT_LINES("m v=\"true\""));
  /* equal values from two inputs: one passes */
  expect_dedup(DEDUP, 2, "m v=1i\n", PT_LINES("m v=1i"), PT_LINES("m v=1i"));
}
END_TEST

START_TEST(series_are_name_and_tags) {
  expect_dedup(DEDUP, 2, "m,t=a v=1i\nm,t=b v=1i\nn,t=a v=1i\n",
               PT_LINES("m,t=a v=1i", "m,t=b v=1i", "n,t=a v=1i"));
}
END_TEST

START_TEST(expiry) {
  /* the remembered metric is older than the interval: the copy passes */
  expect_dedup(DEDUP, 2, "m v=1i\nm v=1i\n", PT_LINES("m v=1i 1000"));
  int64_t recent = tower_now() - 1000000000LL;
  char line[64];
  snprintf(line, sizeof line, "m v=1i %lld", (long long)recent);
  expect_dedup(DEDUP, 2, "m v=1i\n", PT_LINES(line));
  expect_dedup("{ plugin = \"dedup\"; dedup_interval = \"500ms\"; }", 2, "m v=1i\nm v=1i\n",
               PT_LINES(line));
}
END_TEST

START_TEST(merge_at_same_timestamp) {
  int64_t t = tower_now();
  char a[64], b[64], c[64];
  snprintf(a, sizeof a, "m v=1i %lld", (long long)t);
  snprintf(b, sizeof b, "m w=2i %lld", (long long)t);
  /* w joins v in the remembered metric: the next round is all duplicate */
  expect_dedup(DEDUP, 2, "m v=1i\nm w=2i\n", PT_LINES(a), PT_LINES(b));
  /* a new field at another timestamp is a change (Telegraf drops it) */
  snprintf(c, sizeof c, "m v=1i,w=2i %lld", (long long)t + 1);
  expect_dedup(DEDUP, 1, "m v=1i\nm v=1i,w=2i\n", PT_LINES(a), PT_LINES(c));
  /* fewer fields, all equal: a duplicate */
  snprintf(c, sizeof c, "m v=1i %lld", (long long)t + 1);
  snprintf(b, sizeof b, "m v=1i,w=2i %lld", (long long)t);
  expect_dedup(DEDUP, 1, "m v=1i,w=2i\n", PT_LINES(b), PT_LINES(c));
}
END_TEST

START_TEST(max_series_bounds_memory) {
  /* one series remembered: a and b push each other out, all pass */
  expect_dedup("{ plugin = \"dedup\"; max_series = 1; }", 2,
               "m,t=a v=1i\nm,t=b v=1i\nm,t=a v=1i\nm,t=b v=1i\n", PT_LINES("m,t=a v=1i"),
               PT_LINES("m,t=b v=1i"));
  expect_dedup("{ plugin = \"dedup\"; max_series = 2; }", 2, "m,t=a v=1i\nm,t=b v=1i\n",
               PT_LINES("m,t=a v=1i"), PT_LINES("m,t=b v=1i"));
}
END_TEST

START_TEST(many_series) {
  /* more series than the first table size: the table grows */
  enum { N = 300 };
  static char text[N][32];
  const char *lines[N + 1];
  for (int i = 0; i < N; i++) {
    snprintf(text[i], sizeof text[i], "m,i=%d v=%di", i, i);
    lines[i] = text[i];
  }
  lines[N] = NULL;
  char *once = run_dedup(INPUTS(lines), 1, NULL, 1);
  char *twice = run_dedup(INPUTS(lines), 1, DEDUP, 3);
  ck_assert_str_eq(twice, once);
  free(once);
  free(twice);
}
END_TEST

START_TEST(config_errors) {
  pt_build_error("{ plugin = \"dedup\"; dedup_interval = \"0s\"; }", "dedup_interval");
  pt_build_error("{ plugin = \"dedup\"; max_series = 0; }", "max_series");
}
END_TEST

int main(void) {
  Suite *s = suite_create("processors.dedup");
  TCase *t = tcase_create("dedup");
  tcase_add_checked_fixture(t, pt_setup, pt_teardown);
  tcase_add_test(t, duplicates_dropped);
  tcase_add_test(t, changes_pass);
  tcase_add_test(t, series_are_name_and_tags);
  tcase_add_test(t, expiry);
  tcase_add_test(t, merge_at_same_timestamp);
  tcase_add_test(t, max_series_bounds_memory);
  tcase_add_test(t, many_series);
  tcase_add_test(t, config_errors);
  suite_add_tcase(s, t);
  return check_run(s);
}
