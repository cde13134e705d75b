/* outputs.file through the real core: the lines fixture input feeds fixed
 * metrics to a file output writing real files in a temporary directory (and
 * the real tower binary's stdout); every test reads the files back and
 * compares them byte for byte. Archive names are checked exactly, in UTC,
 * against the seconds around the flush that rotated. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <tower/tower.h>

#include "check_run.h"
#include "harness.h"
#include "log_internal.h"

static char *dir;

static void setup(void) {
  setenv("TZ", "UTC", 1);
  tzset();
  dir = th_tmpdir();
}

static void teardown(void) {
  th_rmrf(dir);
  free(dir);
}

#define LINE_A "cpu,host=a usage=1.5 1700000000000000000\n"
#define LINE_B "cpu,host=b usage=2.5 1700000001000000000\n"
#define LINE_C "mem,host=a used=7i 1700000002000000000\n"

/* lines -> file with `opts`; the lines input emits A, B, C each gather. */
static twi_pipeline *start(const char *opts) {
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"lines\"; precision = \"1ns\"; lines = [\"%.*s\", "
                   "\"%.*s\", \"%.*s\"]; } );\n"
                   "outputs = ( { plugin = \"file\"; %s } );\n",
                   (int)strlen(LINE_A) - 1, LINE_A, (int)strlen(LINE_B) - 1, LINE_B,
                   (int)strlen(LINE_C) - 1, LINE_C, opts);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  free(c);
  return pl;
}

static char *path(const char *name) {
  return th_fmt("%s/%s", dir, name);
}

#define ck_file_eq(name, expected)                                                                 \
  do {                                                                                             \
    char *p_ = path(name), *got_ = th_read_file(p_);                                               \
    ck_assert_msg(got_ != NULL, "%s is missing", p_);                                              \
    ck_assert_str_eq(got_, expected);                                                              \
    free(got_);                                                                                    \
    free(p_);                                                                                      \
  } while (0)

/* Sorted names in dir, joined by ' '. */
static char *list_dir(const char *sub) {
  char *d = sub ? path(sub) : strdup(dir);
  struct dirent **v;
  int n = scandir(d, &v, NULL, alphasort);
  ck_assert_int_ge(n, 0);
  char *s = calloc(1, 1);
  for (int i = 0; i < n; i++) {
    if (v[i]->d_name[0] != '.') {
      char *t = th_fmt("%s%s%s", s, *s ? " " : "", v[i]->d_name);
      free(s);
      s = t;
    }
    free(v[i]);
  }
  free(v);
  free(d);
  return s;
}

/* "m.2023-11-14-1700000000" for unix time t (UTC, see setup). */
static char *archive_stem(const char *stem, time_t t) {
  struct tm tm;
  char date[16];
  gmtime_r(&t, &tm);
  strftime(date, sizeof date, "%Y-%m-%d", &tm);
  return th_fmt("%s.%s-%lld", stem, date, (long long)t);
}

/* The seconds in archive name `name` ("m.2023-11-14-1700000000..."), which
 * must lie within [t0, t1] (the flush may straddle a second). */
static time_t secs_of(const char *name, time_t t0, time_t t1) {
  long long v = -1;
  ck_assert_msg(sscanf(name, "m.%*4d-%*2d-%*2d-%lld", &v) == 1, "not an archive: %s", name);
  ck_assert_msg(v >= t0 && v <= t1, "%s: not rotated between %lld and %lld", name, (long long)t0,
                (long long)t1);
  return (time_t)v;
}

/* ---- formats ------------------------------------------------------------ */

START_TEST(test_influx_to_file) {
  char *opts = th_fmt("files = [\"%s/m.out\"];", dir);
  twi_pipeline *pl = start(opts);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  ck_file_eq("m.out", LINE_A LINE_B LINE_C LINE_A LINE_B LINE_C);
  free(opts);
}
END_TEST

/* An existing file is appended to, never truncated. */
START_TEST(test_appends_to_existing) {
  char *p = path("m.out");
  ck_assert_int_eq(th_write_file(p, "old line\n"), 0);
  char *opts = th_fmt("files = [\"%s\"];", p);
  twi_pipeline *pl = start(opts);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  ck_file_eq("m.out", "old line\n" LINE_A LINE_B LINE_C);
  free(opts);
  free(p);
}
END_TEST

START_TEST(test_json_batch_format) {
  char *opts =
      th_fmt("files = [\"%s/m.json\"]; data_format = \"json\"; use_batch_format = true;", dir);
  twi_pipeline *pl = start(opts);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  ck_file_eq("m.json", "{\"metrics\":["
                       "{\"fields\":{\"usage\":1.5},\"name\":\"cpu\",\"tags\":{\"host\":\"a\"},"
                       "\"timestamp\":1700000000},"
                       "{\"fields\":{\"usage\":2.5},\"name\":\"cpu\",\"tags\":{\"host\":\"b\"},"
                       "\"timestamp\":1700000001},"
                       "{\"fields\":{\"used\":7},\"name\":\"mem\",\"tags\":{\"host\":\"a\"},"
                       "\"timestamp\":1700000002}]}\n");
  free(opts);
}
END_TEST

START_TEST(test_json_lines) {
  char *opts = th_fmt("files = [\"%s/m.json\"]; data_format = \"json\";", dir);
  twi_pipeline *pl = start(opts);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  ck_file_eq("m.json", "{\"fields\":{\"usage\":1.5},\"name\":\"cpu\",\"tags\":{\"host\":\"a\"},"
                       "\"timestamp\":1700000000}\n"
                       "{\"fields\":{\"usage\":2.5},\"name\":\"cpu\",\"tags\":{\"host\":\"b\"},"
                       "\"timestamp\":1700000001}\n"
                       "{\"fields\":{\"used\":7},\"name\":\"mem\",\"tags\":{\"host\":\"a\"},"
                       "\"timestamp\":1700000002}\n");
  free(opts);
}
END_TEST

/* The real binary: tower --once writes the metrics to its stdout. */
START_TEST(test_stdout_of_binary) {
  const char *tower = getenv("TOWER");
  ck_assert_msg(tower != NULL, "TOWER (the binary) is not set by the harness");
  char *conf = path("t.conf");
  ck_assert_int_eq(th_write_file(conf, "agent = { omit_hostname = true; };\n"
                                       "inputs = ( { plugin = \"lines\"; precision = \"1ns\"; "
                                       "lines = [\"cpu,host=a usage=1.5 1700000000000000000\"]; "
                                       "} );\n"
                                       "outputs = ( { plugin = \"file\"; files = [\"stdout\"]; "
                                       "data_format = \"influx\"; } );\n"),
                   0);
  char *cmd = th_fmt("'%s' --once --config '%s' 2>/dev/null", tower, conf);
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  char got[256] = "";
  size_t n = fread(got, 1, sizeof got - 1, p);
  got[n] = '\0';
  ck_assert_int_eq(pclose(p), 0);
  ck_assert_str_eq(got, LINE_A);
  free(cmd);
  free(conf);
}
END_TEST

/* ---- rotation ----------------------------------------------------------- */

/* Three metrics of 41, 41 and 39 bytes with rotation_max_size = 50: the
 * first write that reaches 50 bytes ends the file, as in Telegraf: A+B go
 * to the first archive, C starts the second file, which the next batch's A
 * fills past 50 (archive 2), and so on. */
START_TEST(test_rotation_by_size) {
  char *opts = th_fmt("files = [\"%s/m.out\"]; rotation_max_size = \"50B\"; "
                      "rotation_max_archives = -1;",
                      dir);
  twi_pipeline *pl = start(opts);
  ck_assert_int_eq(th_gather(pl), 0);
  time_t t0 = time(NULL);
  ck_assert_uint_eq(th_flush(pl), 0);
  time_t t1 = time(NULL);
  th_free(pl);
  char *got = list_dir(NULL);
  char *stem = archive_stem("m", secs_of(got, t0, t1));
  char *want = th_fmt("%s.out m.out", stem);
  ck_assert_str_eq(got, want);
  char *arch = th_fmt("%s.out", stem);
  ck_file_eq(arch, LINE_A LINE_B);
  ck_file_eq("m.out", LINE_C);
  free(arch);
  free(got);
  free(want);
  free(stem);
  free(opts);
}
END_TEST

/* Two rotations within one second: the second archive gets "_1" rather
 * than overwriting the first (Telegraf would overwrite it). */
START_TEST(test_rotation_same_second) {
  char *opts = th_fmt("files = [\"%s/m.out\"]; rotation_max_size = \"40B\"; "
                      "rotation_max_archives = -1;",
                      dir);
  twi_pipeline *pl = start(opts);
  ck_assert_int_eq(th_gather(pl), 0);
  time_t t0 = time(NULL);
  ck_assert_uint_eq(th_flush(pl), 0);
  time_t t1 = time(NULL);
  th_free(pl);
  /* A and B (41 bytes each) close a file of their own; C (39) stays */
  char *got = list_dir(NULL);
  time_t x = secs_of(got, t0, t1), y = secs_of(strchr(got, ' ') + 1, t0, t1);
  char *stem = archive_stem("m", x), *stem_y = archive_stem("m", y);
  /* within one second the second archive gets _1; across two, its own time */
  char *a0 = th_fmt("%s.out", stem),
       *a1 = x == y ? th_fmt("%s_1.out", stem) : th_fmt("%s.out", stem_y);
  char *want = th_fmt("%s %s m.out", a0, a1);
  ck_assert_str_eq(got, want);
  ck_file_eq(a0, LINE_A);
  ck_file_eq(a1, LINE_B);
  ck_file_eq("m.out", LINE_C);
  free(a0);
  free(a1);
  free(got);
  free(want);
  free(stem);
  free(stem_y);
  free(opts);
}
END_TEST

/* rotation_interval counts from the file's modification time when it is
 * opened (Telegraf): a file last written two hours ago with a one-hour
 * interval is archived at once, under the name of the time of rotation;
 * the new file then lasts its hour. */
START_TEST(test_rotation_by_interval) {
  char *p = path("m.out");
  ck_assert_int_eq(th_write_file(p, "old\n"), 0);
  struct timespec old[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
  ck_assert_int_eq(utimensat(AT_FDCWD, p, old, 0), 0);
  char *opts = th_fmt("files = [\"%s\"]; rotation_interval = \"1h\";", p);
  time_t t0 = time(NULL);
  twi_pipeline *pl = start(opts);
  time_t t1 = time(NULL);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  char *got = list_dir(NULL);
  char *stem = archive_stem("m", secs_of(got, t0, t1));
  char *arch = th_fmt("%s.out", stem);
  char *want = th_fmt("%s m.out", arch);
  ck_assert_str_eq(got, want);
  ck_file_eq(arch, "old\n");
  ck_file_eq("m.out", LINE_A LINE_B LINE_C LINE_A LINE_B LINE_C);
  free(got);
  free(want);
  free(arch);
  free(stem);
  free(opts);
  free(p);
}
END_TEST

/* rotation_max_archives removes the oldest archives of that file only, by
 * their time: other files (and names of another shape) stay. */
START_TEST(test_max_archives) {
  const char *keep[] = {"m.2020-01-01-1577836800.out",   "m.2021-01-01-1609459200.out",
                        "m.2021-01-01-1609459200_1.out", "m.old.out",
                        "n.2020-01-01-1577836800.out",   "m.2020-01-01-1577836800.log"};
  for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
    char *p = path(keep[i]);
    ck_assert_int_eq(th_write_file(p, "x\n"), 0);
    free(p);
  }
  char *opts = th_fmt("files = [\"%s/m.out\"]; rotation_max_size = \"100B\"; "
                      "rotation_max_archives = 2;",
                      dir);
  twi_pipeline *pl = start(opts);
  ck_assert_int_eq(th_gather(pl), 0);
  time_t t0 = time(NULL);
  ck_assert_uint_eq(th_flush(pl), 0);
  time_t t1 = time(NULL);
  th_free(pl);
  char *got = list_dir(NULL);
  const char *mine = strstr(got, "_1.out ") + strlen("_1.out ");
  char *stem = archive_stem("m", secs_of(mine, t0, t1));
  /* kept: the newest two archives, the new file and the foreign names */
  char *want = th_fmt("m.2020-01-01-1577836800.log m.2021-01-01-1609459200_1.out %s.out m.old.out "
                      "m.out n.2020-01-01-1577836800.out",
                      stem);
  ck_assert_str_eq(got, want);
  free(got);
  free(want);
  free(stem);
  free(opts);
}
END_TEST

/* ---- logrotate, failures ------------------------------------------------ */

/* A file moved away (logrotate's default) or deleted is opened again by
 * name before the next write; what was written before stays where it went. */
START_TEST(test_reopen_after_move_and_delete) {
  char *p = path("m.out"), *moved = path("m.out.1");
  char *opts = th_fmt("files = [\"%s\"];", p);
  twi_pipeline *pl = start(opts);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_assert_int_eq(rename(p, moved), 0);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_file_eq("m.out.1", LINE_A LINE_B LINE_C);
  ck_file_eq("m.out", LINE_A LINE_B LINE_C);
  ck_assert_int_eq(unlink(p), 0);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_file_eq("m.out", LINE_A LINE_B LINE_C);
  th_free(pl);
  free(opts);
  free(moved);
  free(p);
}
END_TEST

/* One of two files fails (its directory is gone): the batch is retried,
 * the error names the file and what to do, and when the directory is back
 * the failed file gets the batch while the other does not get it twice. */
START_TEST(test_one_file_fails) {
  char *sub = path("sub");
  ck_assert_int_eq(mkdir(sub, 0755), 0);
  char *opts = th_fmt("files = [\"%s/a.out\", \"%s/b.out\"];", dir, sub);
  twi_pipeline *pl = start(opts);
  th_rmrf(sub);
  char *log = path("tower.log");
  ck_assert_int_eq(twi_log_set_file(log), 0);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 3);
  twi_log_set_file(NULL);
  char *text = th_read_file(log);
  char *want = th_fmt("cannot open %s/b.out: No such file or directory; create the directory; "
                      "the metrics are kept for a retry",
                      sub);
  ck_assert_msg(text && strstr(text, want), "log lacks \"%s\":\n%s", want, text);
  ck_assert_int_eq(mkdir(sub, 0755), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  ck_file_eq("a.out", LINE_A LINE_B LINE_C);
  ck_file_eq("sub/b.out", LINE_A LINE_B LINE_C);
  free(want);
  free(text);
  free(log);
  free(opts);
  free(sub);
}
END_TEST

/* A full device: the error says which file and what to do. */
START_TEST(test_disk_full_message) {
  char *opts = th_fmt("files = [\"/dev/full\"];");
  twi_pipeline *pl = start(opts);
  char *log = path("tower.log");
  ck_assert_int_eq(twi_log_set_file(log), 0);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 3);
  twi_log_set_file(NULL);
  th_free(pl);
  char *text = th_read_file(log);
  const char *want = "cannot write to /dev/full: No space left on device; free space on that "
                     "file system (or lower rotation_max_size or rotation_max_archives); the "
                     "metrics are kept for a retry";
  ck_assert_msg(text && strstr(text, want), "log lacks \"%s\":\n%s", want, text);
  free(text);
  free(log);
  free(opts);
}
END_TEST

START_TEST(test_config_errors) {
  char *errors = NULL;
  char *c = th_fmt("inputs = ( { plugin = \"lines\"; lines = [\"a x=1\"]; } );\n"
                   "outputs = ( { plugin = \"file\"; files = [\"%s/m\", \"%s/m\"]; } );\n",
                   dir, dir);
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  if (pl) {
    ck_assert_int_ne(twi_pipeline_init(pl), 0);
    th_free(pl);
  }
  free(c);
  free(errors);
  c = th_fmt("inputs = ( { plugin = \"lines\"; lines = [\"a x=1\"]; } );\n"
             "outputs = ( { plugin = \"file\"; files = [\"%s/no/such/m\"]; } );\n",
             dir);
  pl = th_build(c, TWI_ONCE, NULL);
  ck_assert_ptr_nonnull(pl);
  ck_assert_int_ne(twi_pipeline_init(pl), 0);
  th_free(pl);
  free(c);
}
END_TEST

/* tower --config-check: writable places pass and nothing is created; a
 * missing directory is an error. */
START_TEST(test_config_check_creates_nothing) {
  char *c = th_fmt("inputs = ( { plugin = \"lines\"; lines = [\"a x=1\"]; } );\n"
                   "outputs = ( { plugin = \"file\"; files = [\"stdout\", \"%s/m.out\"]; } );\n",
                   dir);
  twi_pipeline *pl = th_build(c, TWI_ONCE, NULL);
  ck_assert_ptr_nonnull(pl);
  ck_assert_int_eq(twi_pipeline_check(pl), 0);
  th_free(pl);
  free(c);
  char *got = list_dir(NULL);
  ck_assert_str_eq(got, "");
  free(got);
  c = th_fmt("inputs = ( { plugin = \"lines\"; lines = [\"a x=1\"]; } );\n"
             "outputs = ( { plugin = \"file\"; files = [\"%s/no/m.out\"]; } );\n",
             dir);
  pl = th_build(c, TWI_ONCE, NULL);
  ck_assert_ptr_nonnull(pl);
  ck_assert_int_ne(twi_pipeline_check(pl), 0);
  th_free(pl);
  free(c);
}
END_TEST

static Suite *file_suite(void) {
  Suite *s = suite_create("outputs.file");
  TCase *tc = tcase_create("formats");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_influx_to_file);
  tcase_add_test(tc, test_appends_to_existing);
  tcase_add_test(tc, test_json_batch_format);
  tcase_add_test(tc, test_json_lines);
  tcase_add_test(tc, test_stdout_of_binary);
  suite_add_tcase(s, tc);

  tc = tcase_create("rotation");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_rotation_by_size);
  tcase_add_test(tc, test_rotation_same_second);
  tcase_add_test(tc, test_rotation_by_interval);
  tcase_add_test(tc, test_max_archives);
  suite_add_tcase(s, tc);

  tc = tcase_create("failures");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_reopen_after_move_and_delete);
  tcase_add_test(tc, test_one_file_fails);
  tcase_add_test(tc, test_disk_full_message);
  tcase_add_test(tc, test_config_errors);
  tcase_add_test(tc, test_config_check_creates_nothing);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return check_run(file_suite());
}
