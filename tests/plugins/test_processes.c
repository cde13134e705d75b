/* inputs.processes against the recorded fixture trees of two kernels
 * (tests/fixtures/host, through HOST_PROC), against trees the test builds
 * for the edge cases (every state letter, a process that vanished, an
 * unreadable and a malformed stat file, a stat line longer than a page),
 * and once against the real /proc.
 *
 * Gathers are driven one at a time; metrics are captured as objects (the
 * record output's write is swapped for one that keeps the batch) to see
 * their value and field types. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tower/tower.h>

#include "check_run.h"
#include "harness.h"
#include "malloc_count.h"

static char *dir;

static void setup(void) {
  dir = th_tmpdir();
}

static void teardown(void) {
  unsetenv("HOST_PROC");
  th_rmrf(dir);
  free(dir);
}

/* ---- capturing what the output receives ---------------------------------- */

typedef struct {
  const tower_metric **v;
  size_t n;
} capture;

static tower_write_result capture_write(void *state, const tower_batch *b) {
  capture *c = state;
  for (size_t i = 0; i < tower_batch_len(b); i++) {
    c->v = realloc(c->v, (c->n + 1) * sizeof *c->v);
    ck_assert_ptr_nonnull(c->v);
    c->v[c->n++] = tower_metric_retain(tower_batch_at(b, i));
  }
  return TOWER_WRITE_OK;
}

static void capture_clear(capture *c) {
  for (size_t i = 0; i < c->n; i++)
    tower_metric_release(c->v[i]);
  free(c->v);
  c->v = NULL;
  c->n = 0;
}

typedef struct {
  twi_pipeline *pl;
  twi_plugin fake;
  const twi_plugin *real;
  void *real_state;
  capture got;
} rig;

/* A processes input reading `proc`, its output's writes kept in r->got. */
static void rig_start(rig *r, const char *proc) {
  memset(r, 0, sizeof *r);
  if (proc)
    setenv("HOST_PROC", proc, 1);
  else
    unsetenv("HOST_PROC");
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"processes\"; } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                   dir);
  r->pl = th_start(c, TWI_ONCE);
  free(c);
  tower_ctx *o = r->pl->outputs[0];
  r->real = o->plugin;
  r->real_state = o->state;
  r->fake = *o->plugin;
  r->fake.desc.write = capture_write;
  o->plugin = &r->fake;
  o->state = &r->got;
}

static void rig_free(rig *r) {
  tower_ctx *o = r->pl->outputs[0];
  o->plugin = r->real;
  o->state = r->real_state;
  capture_clear(&r->got);
  th_free(r->pl);
}

/* One gather and flush; returns the gather errors reported. */
static int gather(rig *r) {
  capture_clear(&r->got);
  tower_ctx *in = r->pl->inputs[0];
  tower_acc *acc = twi_acc_new_input(in, r->pl, false);
  ck_assert_ptr_nonnull(acc);
  twi_acc_begin(acc, 1700000000000000000LL);
  in->plugin->desc.gather(in->state, acc);
  tower_acc_commit(acc);
  int errors = (int)twi_acc_errors(acc);
  twi_acc_free(acc);
  ck_assert_uint_eq(th_flush(r->pl), 0);
  return errors;
}

/* ---- expectations -------------------------------------------------------- */

static const char *const keys[] = {"blocked",       "dead",     "idle",    "paging",
                                   "running",       "sleeping", "stopped", "total",
                                   "total_threads", "unknown",  "zombies"};
#define NKEYS (sizeof keys / sizeof *keys)

/* The one metric: "processes", a gauge without tags, whose int fields are
 * exactly want[] (in keys' order) plus parked when `parked` >= 0. */
static void expect(const capture *c, const int64_t want[NKEYS], int64_t parked) {
  ck_assert_uint_eq(c->n, 1);
  const tower_metric *m = c->v[0];
  ck_assert_str_eq(tower_metric_name(m), "processes");
  ck_assert_int_eq(tower_metric_type(m), TOWER_GAUGE);
  ck_assert_uint_eq(tower_metric_tag_count(m), 0);
  ck_assert_uint_eq(tower_metric_field_count(m), NKEYS + (parked >= 0));
  for (size_t i = 0; i < NKEYS; i++) {
    ptrdiff_t k = tower_metric_field_index(m, keys[i]);
    ck_assert_msg(k >= 0, "field %s missing", keys[i]);
    ck_assert_int_eq(tower_metric_field_type(m, (size_t)k), TOWER_FIELD_INT);
    ck_assert_msg(tower_metric_field_int(m, (size_t)k) == want[i], "%s = %lld, want %lld", keys[i],
                  (long long)tower_metric_field_int(m, (size_t)k), (long long)want[i]);
  }
  ptrdiff_t k = tower_metric_field_index(m, "parked");
  if (parked < 0) {
    ck_assert_int_lt(k, 0);
  } else {
    ck_assert_int_ge(k, 0);
    ck_assert_int_eq(tower_metric_field_int(m, (size_t)k), parked);
  }
}

static int64_t field_of(const tower_metric *m, const char *key) {
  ptrdiff_t k = tower_metric_field_index(m, key);
  ck_assert_msg(k >= 0, "field %s missing", key);
  return tower_metric_field_int(m, (size_t)k);
}

static char *fixture(const char *tree) {
  const char *top = getenv("top_srcdir");
  return th_fmt("%s/tests/fixtures/host/%s/proc", top ? top : "..", tree);
}

/* <dir>/proc/<pid>/stat with state `st` and `threads` threads. */
static void put_stat(const char *pid, const char *comm, char st, int threads) {
  char *d = th_fmt("%s/proc/%s", dir, pid);
  ck_assert_int_eq(mkdir(d, 0755), 0);
  char *f = th_fmt("%s/stat", d);
  char *text = th_fmt("%s (%s) %c 1 1 1 0 -1 4194560 80 0 0 0 0 0 0 0 20 0 %d 0 851798 2654208 "
                      "395 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
                      pid, comm, st, threads);
  ck_assert_int_eq(th_write_file(f, text), 0);
  free(text);
  free(f);
  free(d);
}

static char *make_proc(void) {
  char *p = th_fmt("%s/proc", dir);
  ck_assert_int_eq(mkdir(p, 0755), 0);
  return p;
}

/* ---- tests --------------------------------------------------------------- */

/* Debian 12's 6.1 kernel: init, the recorder's shell, two sleeps, a
 * 4-thread process, a long command line, an odd name, kthreadd (all S) and
 * one zombie (README.md of the fixtures). */
START_TEST(fixture_linux_6_1) {
  char *proc = fixture("linux-6.1-qemu");
  rig r;
  rig_start(&r, proc);
  ck_assert_int_eq(gather(&r), 0);
  /* blocked dead idle paging running sleeping stopped total threads unknown zombies */
  expect(&r.got, (int64_t[NKEYS]){0, 0, 0, 0, 0, 8, 0, 9, 12, 0, 1}, -1);
  rig_free(&r);
  free(proc);
}
END_TEST

/* The 6.18 tree, recorded in a PID namespace: no kernel thread. */
START_TEST(fixture_linux_6_18) {
  char *proc = fixture("linux-6.18.44-fc-v1300");
  rig r;
  rig_start(&r, proc);
  ck_assert_int_eq(gather(&r), 0);
  expect(&r.got, (int64_t[NKEYS]){0, 0, 0, 0, 0, 7, 0, 8, 11, 0, 1}, -1);
  rig_free(&r);
  free(proc);
}
END_TEST

/* Every letter proc(5) lists, as Telegraf maps them; K (wakekill, 2.6.33
 * to 3.13) is none of them: unknown. Names with spaces and parentheses. */
START_TEST(every_state) {
  char *proc = make_proc();
  const char states[] = "RSDZXTtWIPPK";
  for (int i = 0; states[i]; i++) {
    char pid[8];
    snprintf(pid, sizeof pid, "%d", 100 + i);
    put_stat(pid, i == 3 ? "a) b (c" : "x", states[i], i + 1);
  }
  rig r;
  rig_start(&r, proc);
  ck_assert_int_eq(gather(&r), 0);
  /* threads 1 + 2 + ... + 12 = 78 */
  expect(&r.got, (int64_t[NKEYS]){1, 1, 1, 1, 1, 1, 2, 12, 78, 1, 1}, 2);
  rig_free(&r);
  free(proc);
}
END_TEST

/* A process listed but gone before its stat is read (no stat file: open
 * says ENOENT) is skipped without an error; non-numeric entries are not
 * processes. */
START_TEST(vanished_process_is_skipped) {
  char *proc = make_proc();
  put_stat("1", "init", 'S', 1);
  char *gone = th_fmt("%s/4242", proc);
  ck_assert_int_eq(mkdir(gone, 0755), 0);
  char *self = th_fmt("%s/self", proc);
  ck_assert_int_eq(symlink("1", self), 0);
  rig r;
  rig_start(&r, proc);
  ck_assert_int_eq(gather(&r), 0);
  expect(&r.got, (int64_t[NKEYS]){0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0}, -1);
  rig_free(&r);
  free(self);
  free(gone);
  free(proc);
}
END_TEST

/* A stat that cannot be read (a directory: EISDIR, whoever runs the test)
 * and one that is not a stat line give one error for the gather; the
 * other processes are still counted. */
START_TEST(unreadable_and_malformed_stat) {
  char *proc = make_proc();
  put_stat("1", "init", 'S', 1);
  put_stat("2", "w", 'R', 3);
  char *d = th_fmt("%s/7/stat", proc);
  char *d7 = th_fmt("%s/7", proc);
  ck_assert_int_eq(mkdir(d7, 0755), 0);
  ck_assert_int_eq(mkdir(d, 0755), 0);
  char *bad = th_fmt("%s/8", proc);
  ck_assert_int_eq(mkdir(bad, 0755), 0);
  char *badf = th_fmt("%s/8/stat", proc);
  ck_assert_int_eq(th_write_file(badf, "garbage without parentheses\n"), 0);
  rig r;
  rig_start(&r, proc);
  ck_assert_int_eq(gather(&r), 1);
  expect(&r.got, (int64_t[NKEYS]){0, 0, 0, 0, 1, 1, 0, 2, 4, 0, 0}, -1);
  rig_free(&r);
  free(badf);
  free(bad);
  free(d7);
  free(d);
  free(proc);
}
END_TEST

/* A stat line longer than a page (a command name full of ") " pairs, as
 * a hostile process could not make but a corrupt file could) is read
 * whole: the state follows the last ')'. */
START_TEST(stat_longer_than_a_page) {
  char *proc = make_proc();
  char comm[6001];
  for (int i = 0; i < 6000; i += 2)
    memcpy(comm + i, ") ", 2);
  comm[6000] = '\0';
  put_stat("9", comm, 'D', 5);
  rig r;
  rig_start(&r, proc);
  ck_assert_int_eq(gather(&r), 0);
  expect(&r.got, (int64_t[NKEYS]){1, 0, 0, 0, 0, 0, 0, 1, 5, 0, 0}, -1);
  rig_free(&r);
  free(proc);
}
END_TEST

/* A HOST_PROC that does not exist, or holds no process: one error that
 * says what to set, and no metric (not a row of zeros). */
START_TEST(wrong_host_proc) {
  char *missing = th_fmt("%s/nowhere", dir);
  rig r;
  rig_start(&r, missing);
  ck_assert_int_eq(gather(&r), 1);
  ck_assert_uint_eq(r.got.n, 0);
  rig_free(&r);
  rig_start(&r, dir);
  ck_assert_int_eq(gather(&r), 1);
  ck_assert_uint_eq(r.got.n, 0);
  rig_free(&r);
  free(missing);
}
END_TEST

/* Once warm, a gather allocates the same whatever the number of
 * processes: nothing per process. */
START_TEST(no_allocation_per_process) {
#ifdef NO_MALLOC_COUNT
  return; /* AddressSanitizer brings its own allocator */
#else
  char *proc = make_proc();
  put_stat("1", "init", 'S', 1);
  rig r;
  rig_start(&r, proc);
  gather(&r);
  gather(&r);
  unsigned long before = nallocs;
  gather(&r);
  unsigned long one = nallocs - before;
  for (int i = 2; i < 200; i++) {
    char pid[8];
    snprintf(pid, sizeof pid, "%d", i);
    put_stat(pid, "p", 'S', 2);
  }
  gather(&r); /* warm: the listing buffer may grow */
  before = nallocs;
  gather(&r);
  unsigned long many = nallocs - before;
  ck_assert_uint_eq(field_of(r.got.v[0], "total"), 199);
  ck_assert_msg(many == one, "1 process: %lu allocations, 199: %lu", one, many);
  rig_free(&r);
  free(proc);
#endif
}
END_TEST

/* The real /proc: this test process is there, running. */
START_TEST(real_proc) {
  rig r;
  rig_start(&r, NULL);
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(r.got.n, 1);
  const tower_metric *m = r.got.v[0];
  int64_t sum = 0;
  for (size_t i = 0; i < NKEYS; i++)
    if (strcmp(keys[i], "total") && strcmp(keys[i], "total_threads"))
      sum += field_of(m, keys[i]);
  ck_assert_int_ge(field_of(m, "running"), 1);
  ck_assert_int_eq(sum, field_of(m, "total")); /* every process in one state */
  ck_assert_int_ge(field_of(m, "total_threads"), field_of(m, "total"));
  rig_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("inputs.processes");
  TCase *t = tcase_create("proc trees");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, fixture_linux_6_1);
  tcase_add_test(t, fixture_linux_6_18);
  tcase_add_test(t, every_state);
  tcase_add_test(t, vanished_process_is_skipped);
  tcase_add_test(t, unreadable_and_malformed_stat);
  tcase_add_test(t, stat_longer_than_a_page);
  tcase_add_test(t, wrong_host_proc);
  tcase_add_test(t, no_allocation_per_process);
  tcase_add_test(t, real_proc);
  suite_add_tcase(s, t);
  return check_run(s);
}
