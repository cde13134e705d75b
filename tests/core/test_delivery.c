/* Delivery tracking (tower_acc_commit_tracked): the input hears, once per
 * commit, what became of its metrics in every output that took them —
 * written, dropped (overflow, a DROP verdict) or still pending when the
 * output went away — counted once per output, and nothing for outputs that
 * filtered them out. Driven synchronously with the fixture plugins. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "check_run.h"
#include "harness.h"

static char *dir;

static void setup(void) {
  dir = th_tmpdir();
}

static void teardown(void) {
  th_rmrf(dir);
  free(dir);
}

typedef struct seen {
  int calls;
  tower_delivery d;
} seen;

static void done(void *arg, const tower_delivery *d) {
  seen *s = arg;
  s->calls++;
  s->d = *d;
}

/* A pipeline of the lines input (not started: the test commits through its
 * accumulator as a service input would) and `outputs`. */
static twi_pipeline *start(const char *outputs) {
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"lines\"; lines = [\"m v=1i\"]; } );\n"
                   "outputs = ( %s );\n",
                   outputs);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  free(c);
  return pl;
}

/* Commits n metrics named `name` as one tracked commit. */
static void commit(tower_acc *acc, const char *name, int n, seen *s) {
  for (int i = 0; i < n; i++) {
    tower_metric *m = tower_metric_new(name, 1700000000000000000LL + i);
    tower_metric_add_int(m, "v", i);
    ck_assert_int_eq(tower_acc_add(acc, m), 0);
  }
  ck_assert_int_eq(tower_acc_commit_tracked(acc, done, s), 0);
}

START_TEST(delivered_once_per_output_that_took_them) {
  char *o =
      th_fmt("{ plugin = \"record\"; path = \"%s/a.lp\"; },"
             "{ plugin = \"record\"; path = \"%s/b.lp\"; alias = \"b\"; },"
             "{ plugin = \"record\"; path = \"%s/c.lp\"; alias = \"c\"; namepass = [\"x\"]; }",
             dir, dir, dir);
  twi_pipeline *pl = start(o);
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, true);
  seen s = {0};
  commit(acc, "m", 3, &s);
  ck_assert_int_eq(s.calls, 0); /* buffered, not written */
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_assert_int_eq(s.calls, 1);
  ck_assert_uint_eq(s.d.delivered, 6); /* 3 metrics x 2 outputs; c filtered them out */
  ck_assert_uint_eq(s.d.dropped, 0);
  ck_assert_uint_eq(s.d.pending, 0);
  /* all outputs filter a commit out: done at once, nothing to wait for */
  seen f = {0};
  char *only = th_fmt("{ plugin = \"record\"; path = \"%s/d.lp\"; namepass = [\"x\"]; }", dir);
  twi_acc_free(acc);
  th_free(pl);
  pl = start(only);
  acc = twi_acc_new_input(pl->inputs[0], pl, true);
  commit(acc, "m", 2, &f);
  ck_assert_int_eq(f.calls, 1);
  ck_assert_uint_eq(f.d.delivered + f.d.dropped + f.d.pending, 0);
  twi_acc_free(acc);
  th_free(pl);
  free(only);
  free(o);
}
END_TEST

START_TEST(dropped_by_the_output_and_by_overflow) {
  char *o = th_fmt("{ plugin = \"record\"; path = \"%s/a.lp\"; drop = true; },"
                   "{ plugin = \"record\"; path = \"%s/b.lp\"; alias = \"small\"; "
                   "metric_buffer_limit = 2; }",
                   dir, dir);
  twi_pipeline *pl = start(o);
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, true);
  seen first = {0}, second = {0};
  commit(acc, "m", 2, &first);  /* overflows out of "small" when the next comes */
  commit(acc, "m", 2, &second); /* fits "small" */
  th_flush(pl);
  ck_assert_int_eq(first.calls, 1);
  ck_assert_uint_eq(first.d.delivered, 0);
  ck_assert_uint_eq(first.d.dropped, 4); /* DROP verdict 2 + overflow 2 */
  ck_assert_int_eq(second.calls, 1);
  ck_assert_uint_eq(second.d.delivered, 2);
  ck_assert_uint_eq(second.d.dropped, 2);
  twi_acc_free(acc);
  th_free(pl);
  free(o);
}
END_TEST

START_TEST(pending_when_the_output_goes_away) {
  char *o = th_fmt("{ plugin = \"record\"; path = \"%s/a.lp\"; fail_writes = -1; }", dir);
  twi_pipeline *pl = start(o);
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, true);
  seen s = {0};
  commit(acc, "m", 3, &s);
  ck_assert_uint_gt(th_flush(pl), 0); /* the write fails: kept, not settled */
  ck_assert_int_eq(s.calls, 0);
  twi_acc_free(acc);
  th_free(pl); /* the output is destroyed with them unwritten */
  ck_assert_int_eq(s.calls, 1);
  ck_assert_uint_eq(s.d.pending, 3);
  ck_assert_uint_eq(s.d.delivered + s.d.dropped, 0);
  free(o);
}
END_TEST

START_TEST(untracked_commits_between_tracked_ones) {
  char *o = th_fmt("{ plugin = \"record\"; path = \"%s/a.lp\"; metric_batch_size = 2; }", dir);
  twi_pipeline *pl = start(o);
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, true);
  seen a = {0}, b = {0};
  tower_acc_add(acc, tower_metric_new("u", 1));
  tower_acc_commit(acc);
  commit(acc, "m", 3, &a);
  tower_acc_add(acc, tower_metric_new("u", 2));
  tower_acc_commit(acc);
  commit(acc, "m", 1, &b);
  th_flush(pl); /* batches of 2 cut across the commits */
  ck_assert_int_eq(a.calls, 1);
  ck_assert_uint_eq(a.d.delivered, 3);
  ck_assert_int_eq(b.calls, 1);
  ck_assert_uint_eq(b.d.delivered, 1);
  twi_acc_free(acc);
  th_free(pl);
  free(o);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("delivery");
  TCase *t = tcase_create("tracked commits");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, delivered_once_per_output_that_took_them);
  tcase_add_test(t, dropped_by_the_output_and_by_overflow);
  tcase_add_test(t, pending_when_the_output_goes_away);
  tcase_add_test(t, untracked_commits_between_tracked_ones);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  return check_run(suite());
}
