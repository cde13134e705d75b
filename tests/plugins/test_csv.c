/* outputs.csv through the real core: a lines input feeds fixed metrics to a
 * csv output writing real files in a temporary directory; every test reads
 * the files back and compares them byte for byte.
 *
 * The disk-full tests mount a tiny tmpfs in a private mount namespace: they
 * need root (CI runs as root) or unprivileged user namespaces, and fail,
 * rather than skip, when neither is available. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tower/tower.h>

#include "harness.h"
#include "log_internal.h"
#include "check_run.h"
#include "unprivileged.h"

static char *dir; /* the test's temporary directory */
static char *out; /* dir/out: the csv output's directory */

static void setup(void) {
  dir = th_tmpdir();
  out = th_fmt("%s/out", dir);
}

static void teardown(void) {
  th_rmrf(dir);
  free(out);
  free(dir);
}

/* ---- helpers ------------------------------------------------------------ */

/* `lines` (NULL-terminated, raw line protocol) as a libconfig array. */
static char *lines_array(const char *const *lines) {
  size_t cap = 16;
  for (size_t i = 0; lines[i]; i++)
    cap += 2 * strlen(lines[i]) + 4;
  char *s = malloc(cap), *p = s;
  ck_assert_ptr_nonnull(s);
  *p++ = '[';
  for (size_t i = 0; lines[i]; i++) {
    if (i)
      *p++ = ',';
    *p++ = '"';
    for (const char *c = lines[i]; *c; c++) {
      if (*c == '\n') {
        *p++ = '\\';
        *p++ = 'n';
        continue;
      }
      if (*c == '"' || *c == '\\')
        *p++ = '\\';
      *p++ = *c;
    }
    *p++ = '"';
  }
  *p++ = ']';
  *p = '\0';
  return s;
}

/* A pipeline: lines -> csv (directory `out`, extra options `opts`), plus
 * `more_outputs` (may be NULL). */
static char *config2(const char *const *lines, const char *opts, const char *more_outputs) {
  char *arr = lines_array(lines);
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"lines\"; precision = \"1ns\"; lines = %s; } );\n"
                   "outputs = ( { plugin = \"csv\"; directory = \"%s\"; %s }%s%s );\n",
                   arr, out, opts ? opts : "", more_outputs ? ", " : "",
                   more_outputs ? more_outputs : "");
  free(arr);
  return c;
}

static char *config(const char *const *lines, const char *opts) {
  return config2(lines, opts, NULL);
}

static twi_pipeline *start(const char *const *lines, const char *opts) {
  char *c = config(lines, opts);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  free(c);
  return pl;
}

/* `gathers` gathers, then one flush that must write everything. */
static void run(const char *const *lines, const char *opts, int gathers) {
  twi_pipeline *pl = start(lines, opts);
  for (int i = 0; i < gathers; i++)
    ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
}

static char *read_out(const char *name) {
  char *path = th_fmt("%s/%s", out, name);
  char *text = th_read_file(path);
  free(path);
  return text;
}

#define ck_file_eq(name, expected)                                                                 \
  do {                                                                                             \
    char *got_ = read_out(name);                                                                   \
    ck_assert_msg(got_ != NULL, "%s/%s is missing", out, name);                                    \
    ck_assert_str_eq(got_, expected);                                                              \
    free(got_);                                                                                    \
  } while (0)

static bool out_exists(const char *name) {
  char *path = th_fmt("%s/%s", out, name);
  bool ok = access(path, F_OK) == 0;
  free(path);
  return ok;
}

/* Sorted names in `out`, joined by ' ', but the lock file every running
 * output keeps there (see test_lock_file). */
static char *list_out(void) {
  struct dirent **v;
  int n = scandir(out, &v, NULL, alphasort);
  ck_assert_int_ge(n, 0);
  char *s = calloc(1, 1);
  for (int i = 0; i < n; i++) {
    if (strcmp(v[i]->d_name, ".") != 0 && strcmp(v[i]->d_name, "..") != 0 &&
        strcmp(v[i]->d_name, ".tower-csv.lock") != 0) {
      char *t = th_fmt("%s%s%s", s, *s ? " " : "", v[i]->d_name);
      free(s);
      s = t;
    }
    free(v[i]);
  }
  free(v);
  return s;
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  ck_assert_ptr_nonnull(s);
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

static char *log_path;

static void log_begin(void) {
  log_path = th_fmt("%s/tower.log", dir);
  ck_assert_int_eq(twi_log_set_file(log_path), 0);
}

/* The log since log_begin (malloc'd). */
static char *log_end(void) {
  twi_log_set_file(NULL);
  char *text = th_read_file(log_path);
  free(log_path);
  log_path = NULL;
  return text ? text : strdup("");
}

/* ---- layout ------------------------------------------------------------- */

START_TEST(test_header_and_rows) {
  const char *lines[] = {
      "cpu,host=a,cpu=cpu0 usage=0.5,count=3i,ok=true,note=\"hi\",big=18446744073709551615u "
      "1700000000000000000",
      "mem,host=a used=10i 1700000000000000000",
      "cpu,host=b,cpu=cpu1 usage=1.25,count=-4i,ok=false,note=\"yo\",big=1u 1700000001000000000",
      NULL};
  run(lines, NULL, 1);
  ck_file_eq("cpu.csv", "timestamp,cpu,host,big,count,note,ok,usage\n"
                        "2023-11-14T22:13:20Z,cpu0,a,18446744073709551615,3,hi,true,0.5\n"
                        "2023-11-14T22:13:21Z,cpu1,b,1,-4,yo,false,1.25\n");
  ck_file_eq("mem.csv", "timestamp,host,used\n"
                        "2023-11-14T22:13:20Z,a,10\n");
  char *names = list_out();
  ck_assert_str_eq(names, "cpu.csv mem.csv");
  free(names);
}
END_TEST

/* Metrics of one measurement with different keys share one header: the
 * union, timestamp then tags sorted then fields sorted. */
START_TEST(test_union_header_in_first_batch) {
  const char *lines[] = {"m,b=2 y=1i 1000000000", "m,a=1 x=2i,z=3i 2000000000", NULL};
  run(lines, "timestamp_format = \"unix\";", 1);
  ck_file_eq("m.csv", "timestamp,a,b,x,y,z\n"
                      "1,,2,,1,\n"
                      "2,1,,2,,3\n");
}
END_TEST

START_TEST(test_timestamp_formats) {
  static const char *const formats[][2] = {
      {"unix", "1700000000"},
      {"unix_ms", "1700000000123"},
      {"unix_us", "1700000000123456"},
      {"unix_ns", "1700000000123456789"},
      {"rfc3339", "2023-11-14T22:13:20Z"},
      {"rfc3339nano", "2023-11-14T22:13:20.123456789Z"},
  };
  const char *lines[] = {"m v=1i 1700000000123456789", NULL};
  for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
    char *opts = th_fmt("timestamp_format = \"%s\"; timestamp_column = \"time\";", formats[i][0]);
    run(lines, opts, 1);
    char *want = th_fmt("time,v\n%s,1\n", formats[i][1]);
    ck_file_eq("m.csv", want);
    free(want);
    free(opts);
    th_rmrf(out);
  }
}
END_TEST

START_TEST(test_separator) {
  const char *lines[] = {"m,host=a;b,dc=x\\,y v=1.5,s=\"p;q\" 1000000000", NULL};
  run(lines, "separator = \";\"; timestamp_format = \"unix\";", 1);
  ck_file_eq("m.csv", "timestamp;dc;host;s;v\n"
                      "1;x,y;\"a;b\";\"p;q\";1.5\n");
  th_rmrf(out);
  run(lines, "separator = \"\\t\"; timestamp_format = \"unix\";", 1);
  ck_file_eq("m.csv", "timestamp\tdc\thost\ts\tv\n"
                      "1\tx,y\ta;b\tp;q\t1.5\n");
}
END_TEST

/* Hands `m` to the pipeline as a gather of its first input would. */
static void add_metric(twi_pipeline *pl, tower_metric *m) {
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, false);
  ck_assert_ptr_nonnull(acc);
  twi_acc_begin(acc, tower_now());
  ck_assert_int_eq(tower_acc_add(acc, m), 0);
  ck_assert_int_eq(tower_acc_commit(acc), 0);
  twi_acc_free(acc);
}

START_TEST(test_quoting) {
  const char *lines[] = {"m,comma=a\\,b,space=\\ x,quote=q\"t "
                         "s1=\"x,y\",s2=\"say \\\"hi\\\"\",s4=\" sp\",s5=\"e \" 1000000000",
                         NULL};
  twi_pipeline *pl = start(lines, "timestamp_format = \"unix\";");
  ck_assert_int_eq(th_gather(pl), 0);
  /* line protocol cannot carry a newline in a value: build that one */
  tower_metric *m = tower_metric_new("m", 2000000000);
  ck_assert_int_eq(tower_metric_add_tag(m, "comma", "line1\nline2"), 0);
  ck_assert_int_eq(tower_metric_add_string(m, "s1", "cr\rlf\r\n"), 0);
  add_metric(pl, m);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  ck_file_eq("m.csv", "timestamp,comma,quote,space,s1,s2,s4,s5\n"
                      "1,\"a,b\",\"q\"\"t\",\" x\",\"x,y\",\"say \"\"hi\"\"\",\" sp\",\"e \"\n"
                      "2,\"line1\nline2\",,,\"cr\rlf\r\n\",,,\n");
}
END_TEST

/* A tag and a field of one key: the field column is "<key>_field"; keys
 * named like the timestamp column get a suffix too. */
START_TEST(test_name_clashes) {
  const char *lines[] = {"m,host=a,timestamp=t host=\"f\",timestamp=5i,v=1i 1000000000", NULL};
  run(lines, "timestamp_format = \"unix\";", 1);
  ck_file_eq("m.csv", "timestamp,host,timestamp_tag,host_field,timestamp_field,v\n"
                      "1,a,t,f,5,1\n");
}
END_TEST

START_TEST(test_file_names) {
  const char *lines[] = {"a/b v=1i 1000000000", ".hidden v=2i 1000000000", "x.y v=3i 1000000000",
                         NULL};
  run(lines, "timestamp_format = \"unix\";", 1);
  ck_file_eq("a_b.csv", "timestamp,v\n1,1\n");
  ck_file_eq("_hidden.csv", "timestamp,v\n1,2\n");
  ck_file_eq("x.y.csv", "timestamp,v\n1,3\n");
}
END_TEST

START_TEST(test_file_mode) {
  const char *lines[] = {"m v=1i 1000000000", NULL};
  mode_t old = umask(077);
  run(lines, "file_mode = \"0640\";", 1);
  umask(old);
  char *path = th_fmt("%s/m.csv", out);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_uint_eq(st.st_mode & 07777, 0640);
  free(path);
}
END_TEST

/* ---- append ------------------------------------------------------------- */

START_TEST(test_append_two_flushes) {
  const char *lines[] = {"m,host=a v=1i 1000000000", NULL};
  twi_pipeline *pl = start(lines, "timestamp_format = \"unix\"; fsync = true;");
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(th_gather(pl), 0);
    ck_assert_uint_eq(th_flush(pl), 0);
  }
  th_free(pl);
  ck_file_eq("m.csv", "timestamp,host,v\n1,a,1\n1,a,1\n");
}
END_TEST

/* Several batches per flush (metric_batch_size = 2) keep the order. */
START_TEST(test_append_batches) {
  const char *lines[] = {"m v=1i 1000000000", "m v=2i 2000000000", "n v=3i 3000000000",
                         "m v=4i 4000000000", "m v=5i 5000000000", NULL};
  run(lines, "timestamp_format = \"unix\"; metric_batch_size = 2;", 1);
  ck_file_eq("m.csv", "timestamp,v\n1,1\n2,2\n4,4\n5,5\n");
  ck_file_eq("n.csv", "timestamp,v\n3,3\n");
}
END_TEST

/* A restart adopts the header on disk, in its order, and never writes a
 * second one. */
START_TEST(test_append_restart_adopts_header) {
  const char *lines[] = {"m,host=a v=1i,w=2i 1000000000", NULL};
  run(lines, "timestamp_format = \"unix\";", 1);
  run(lines, "timestamp_format = \"unix\";", 1);
  ck_file_eq("m.csv", "timestamp,host,v,w\n1,a,1,2\n1,a,1,2\n");

  /* a header written by someone else, in another order */
  th_rmrf(out);
  ck_assert_int_eq(mkdir(out, 0755), 0);
  char *path = th_fmt("%s/m.csv", out);
  ck_assert_int_eq(th_write_file(path, "w,\"v\",timestamp,host\n9,8,0,z\n"), 0);
  run(lines, "timestamp_format = \"unix\";", 1);
  ck_file_eq("m.csv", "w,\"v\",timestamp,host\n9,8,0,z\n2,1,1,a\n");
  free(path);
}
END_TEST

/* A last row cut short by a crash is removed before appending. */
START_TEST(test_append_repairs_partial_row) {
  const char *lines[] = {"m v=1i 2000000000", NULL};
  ck_assert_int_eq(mkdir(out, 0755), 0);
  char *path = th_fmt("%s/m.csv", out);
  ck_assert_int_eq(th_write_file(path, "timestamp,v\n1,0\n1,\"half"), 0);
  log_begin();
  run(lines, "timestamp_format = \"unix\";", 1);
  char *log = log_end();
  ck_file_eq("m.csv", "timestamp,v\n1,0\n2,1\n");
  ck_assert_msg(strstr(log, "incomplete last row") && strstr(log, path), "log: %s", log);
  free(log);
  free(path);
}
END_TEST

/* A file removed (or rotated by logrotate) is noticed and recreated. */
START_TEST(test_append_reopens_removed_file) {
  const char *lines[] = {"m v=1i 1000000000", NULL};
  twi_pipeline *pl = start(lines, "timestamp_format = \"unix\";");
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  char *path = th_fmt("%s/m.csv", out), *moved = th_fmt("%s/m.csv.old", out);
  ck_assert_int_eq(rename(path, moved), 0);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_file_eq("m.csv", "timestamp,v\n1,1\n");
  ck_file_eq("m.csv.old", "timestamp,v\n1,1\n");
  /* truncated in place */
  ck_assert_int_eq(truncate(path, 0), 0);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_file_eq("m.csv", "timestamp,v\n1,1\n");
  th_free(pl);
  free(path);
  free(moved);
}
END_TEST

/* The whole directory removed under a running agent: created again. */
START_TEST(test_directory_recreated) {
  const char *lines[] = {"m v=1i 1000000000", NULL};
  twi_pipeline *pl = start(lines, "timestamp_format = \"unix\";");
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_rmrf(out);
  ck_assert(!out_exists("m.csv"));
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_file_eq("m.csv", "timestamp,v\n1,1\n");
  th_free(pl);
}
END_TEST

START_TEST(test_append_rotation) {
  const char *lines[] = {"m v=1i 1000000000", "m v=2i 2000000000", NULL};
  /* each flush writes 8 bytes of rows after a 12-byte header */
  twi_pipeline *pl = start(lines, "timestamp_format = \"unix\"; rotate_max_size = \"30\"; "
                                  "rotate_max_files = 2;");
  for (int i = 0; i < 5; i++) {
    ck_assert_int_eq(th_gather(pl), 0);
    ck_assert_uint_eq(th_flush(pl), 0);
  }
  th_free(pl);
  /* 12+8+8 = 28 fits, a third flush would reach 36: rotate */
  ck_file_eq("m.csv", "timestamp,v\n1,1\n2,2\n");
  ck_file_eq("m.csv.1", "timestamp,v\n1,1\n2,2\n1,1\n2,2\n");
  ck_file_eq("m.csv.2", "timestamp,v\n1,1\n2,2\n1,1\n2,2\n");
  ck_assert(!out_exists("m.csv.3"));
}
END_TEST

/* ---- schema changes ----------------------------------------------------- */

START_TEST(test_append_widens_file) {
  const char *first[] = {"m,host=a v=1i 1000000000", NULL};
  const char *second[] = {"m,host=b,dc=x v=2i,w=3i 2000000000", "m u=4i 3000000000", NULL};
  run(first, "timestamp_format = \"unix\";", 1);
  char *path = th_fmt("%s/m.csv", out);
  struct stat before, after;
  ck_assert_int_eq(stat(path, &before), 0);
  run(second, "timestamp_format = \"unix\";", 1);
  ck_assert_int_eq(stat(path, &after), 0);
  ck_assert_msg(before.st_ino != after.st_ino, "the file was not rewritten (renamed over)");
  ck_file_eq("m.csv", "timestamp,host,v,dc,u,w\n"
                      "1,a,1,,,\n"
                      "2,b,2,x,,3\n"
                      "3,,,,4,\n");
  char *names = list_out();
  ck_assert_str_eq(names, "m.csv");
  free(names);
  free(path);
}
END_TEST

/* The rewrite reads RFC 4180: quoted separators and newlines, "" escapes,
 * CRLF line ends (normalized to LF) and empty lines (dropped). */
START_TEST(test_append_widens_foreign_file) {
  ck_assert_int_eq(mkdir(out, 0755), 0);
  char *path = th_fmt("%s/m.csv", out);
  ck_assert_int_eq(th_write_file(path, "timestamp,v\r\n"
                                       "0,\"a,\"\"b\"\"\r\nc\"\r\n"
                                       "\r\n"
                                       "0,\"x\"\n"),
                   0);
  const char *lines[] = {"m v=\"y\",w=1i 1000000000", NULL};
  run(lines, "timestamp_format = \"unix\";", 1);
  ck_file_eq("m.csv", "timestamp,v,w\n"
                      "0,\"a,\"\"b\"\"\r\nc\",\n"
                      "0,\"x\",\n"
                      "1,y,1\n");
  free(path);
}
END_TEST

START_TEST(test_snapshot_widens_header) {
  const char *first[] = {"m,host=a v=1i 1000000000", NULL};
  const char *second[] = {"m w=2i 2000000000", NULL};
  run(first, "mode = \"snapshot\"; timestamp_format = \"unix\";", 1);
  ck_file_eq("m.csv", "timestamp,host,v\n1,a,1\n");
  run(second, "mode = \"snapshot\"; timestamp_format = \"unix\";", 1);
  ck_file_eq("m.csv", "timestamp,host,v,w\n2,,,2\n");
}
END_TEST

/* ---- snapshot ----------------------------------------------------------- */

START_TEST(test_snapshot_replaces_file) {
  const char *lines[] = {"m,host=a v=1i 1000000000", "m,host=b v=2i 1000000000", NULL};
  twi_pipeline *pl =
      start(lines, "mode = \"snapshot\"; timestamp_format = \"unix\"; fsync = true;");
  char *path = th_fmt("%s/m.csv", out);
  ino_t inos[2];
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(th_gather(pl), 0);
    ck_assert_uint_eq(th_flush(pl), 0);
    ck_file_eq("m.csv", "timestamp,host,v\n1,a,1\n1,b,2\n");
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    inos[i] = st.st_ino;
  }
  ck_assert_msg(inos[0] != inos[1], "the file was changed in place, not replaced by rename");
  char *names = list_out();
  ck_assert_str_eq(names, "m.csv"); /* no temporary file left behind */
  free(names);
  th_free(pl);
  free(path);
}
END_TEST

/* The timestamp of the last line of a line-protocol file. */
static long long last_lp_time(const char *text) {
  const char *end = text + strlen(text);
  while (end > text && end[-1] == '\n')
    end--;
  const char *p = end;
  while (p > text && p[-1] != ' ')
    p--;
  return atoll(p);
}

/* Two gathers in one flush: only the newest gather's rows are in the file,
 * whether the gathers share a batch or spread over several. */
static void newest_gather_wins(int batch_size) {
  const char *lines[] = {"m,k=1 v=1i", "m,k=2 v=2i", "m,k=3 v=3i", "other v=0i", NULL};
  char *record = th_fmt("{ plugin = \"record\"; path = \"%s/all.lp\"; }", dir);
  char *opts = th_fmt("mode = \"snapshot\"; timestamp_format = \"unix_ns\"; "
                      "metric_batch_size = %d;",
                      batch_size);
  char *c = config2(lines, opts, record);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  char *lp_path = th_fmt("%s/all.lp", dir);
  char *all = th_read_file(lp_path);
  ck_assert_ptr_nonnull(all);
  ck_assert_uint_eq(count_lines(all), 8);
  long long t2 = last_lp_time(all);
  char *want = th_fmt("timestamp,k,v\n%lld,1,1\n%lld,2,2\n%lld,3,3\n", t2, t2, t2);
  ck_file_eq("m.csv", want);
  free(want);
  want = th_fmt("timestamp,v\n%lld,0\n", t2);
  ck_file_eq("other.csv", want);
  free(want);
  remove(lp_path);
  free(all);
  free(lp_path);
  free(record);
  free(opts);
  free(c);
}

START_TEST(test_snapshot_newest_gather_wins) {
  newest_gather_wins(1000); /* both gathers in one batch */
  newest_gather_wins(3);    /* gathers straddle batches */
  newest_gather_wins(1);
}
END_TEST

/* A measurement absent from a flush keeps its file. */
START_TEST(test_snapshot_absent_measurement_kept) {
  const char *first[] = {"a v=1i 1000000000", "b v=2i 1000000000", NULL};
  const char *second[] = {"a v=3i 2000000000", NULL};
  run(first, "mode = \"snapshot\"; timestamp_format = \"unix\";", 1);
  run(second, "mode = \"snapshot\"; timestamp_format = \"unix\";", 1);
  ck_file_eq("a.csv", "timestamp,v\n2,3\n");
  ck_file_eq("b.csv", "timestamp,v\n1,2\n");
}
END_TEST

START_TEST(test_mode_globs) {
  const char *lines[] = {"snap_x v=1i 1000000000", "keep_y v=2i 1000000000",
                         "both_z v=3i 1000000000", "plain v=4i 1000000000", NULL};
  twi_pipeline *pl =
      start(lines, "timestamp_format = \"unix\"; snapshot = [\"snap_*\", \"both_*\"]; "
                   "append = [\"both_*\"];");
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(th_gather(pl), 0);
    ck_assert_uint_eq(th_flush(pl), 0);
  }
  th_free(pl);
  ck_file_eq("snap_x.csv", "timestamp,v\n1,1\n");
  ck_file_eq("keep_y.csv", "timestamp,v\n1,2\n1,2\n");
  ck_file_eq("both_z.csv", "timestamp,v\n1,3\n1,3\n"); /* append wins */
  ck_file_eq("plain.csv", "timestamp,v\n1,4\n1,4\n");

  th_rmrf(out);
  pl = start(lines, "mode = \"snapshot\"; timestamp_format = \"unix\"; append = [\"keep_*\"];");
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(th_gather(pl), 0);
    ck_assert_uint_eq(th_flush(pl), 0);
  }
  th_free(pl);
  ck_file_eq("snap_x.csv", "timestamp,v\n1,1\n");
  ck_file_eq("keep_y.csv", "timestamp,v\n1,2\n1,2\n");
  ck_file_eq("plain.csv", "timestamp,v\n1,4\n");
}
END_TEST

/* ---- configuration and directory errors -------------------------------- */

/* Builds and initializes; returns whether init failed, with the log. */
static bool init_fails(const char *opts, char **log) {
  const char *lines[] = {"m v=1i", NULL};
  char *c = config(lines, opts);
  char *errors = NULL;
  log_begin();
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  bool failed = !pl || twi_pipeline_init(pl) != 0;
  *log = log_end();
  if (errors) {
    char *t = th_fmt("%s%s", *log, errors);
    free(*log);
    *log = t;
  }
  if (pl)
    th_free(pl);
  free(errors);
  free(c);
  return failed;
}

START_TEST(test_unwritable_directory) {
  char *log;
  /* a path through a regular file cannot be created, even by root */
  char *file = th_fmt("%s/file", dir);
  ck_assert_int_eq(th_write_file(file, "x"), 0);
  free(out);
  out = th_fmt("%s/sub/csv", file);
  ck_assert(init_fails(NULL, &log));
  ck_assert_msg(strstr(log, out) && strstr(log, strerror(ENOTDIR)), "log: %s", log);
  free(log);

  /* missing, and not to be created */
  free(out);
  out = th_fmt("%s/missing", dir);
  ck_assert(init_fails("create_directory = false;", &log));
  ck_assert_msg(strstr(log, out) && strstr(log, strerror(ENOENT)) &&
                    strstr(log, "create_directory = true"),
                "log: %s", log);
  free(log);

  /* read-only for a user without CAP_DAC_OVERRIDE */
  if (geteuid() != 0) {
    free(out);
    out = th_fmt("%s/ro", dir);
    ck_assert_int_eq(mkdir(out, 0555), 0);
    ck_assert(init_fails(NULL, &log));
    ck_assert_msg(strstr(log, "not writable") && strstr(log, out), "log: %s", log);
    free(log);
  }
  free(file);
}
END_TEST

START_TEST(test_bad_options) {
  char *log;
  ck_assert(init_fails("separator = \";;\";", &log));
  ck_assert_msg(strstr(log, "separator"), "log: %s", log);
  free(log);
  ck_assert(init_fails("separator = \"\\\"\";", &log));
  free(log);
  ck_assert(init_fails("file_mode = \"0999\";", &log));
  ck_assert_msg(strstr(log, "file_mode"), "log: %s", log);
  free(log);
  ck_assert(init_fails("mode = \"sometimes\";", &log));
  free(log);
  ck_assert(init_fails("snapshot = [\"[\"];", &log));
  free(log);
}
END_TEST

/* ---- disk full ---------------------------------------------------------- */

/* A batch holding snapshot rows fails because of an append file (a link,
 * which the output refuses until it is gone): the retry must not count
 * those snapshot rows twice. */
START_TEST(test_failed_file_mixed_modes) {
  const char *lines[] = {"snap,k=1 v=1i 1000000000", "full v=1i 1000000000",
                         "snap,k=2 v=2i 1000000000", "full v=2i 2000000000", NULL};
  ck_assert_int_eq(mkdir(out, 0755), 0);
  char *link = th_fmt("%s/full.csv", out);
  ck_assert_int_eq(symlink("/dev/full", link), 0);
  twi_pipeline *pl = start(lines, "timestamp_format = \"unix\"; snapshot = [\"snap\"]; "
                                  "metric_batch_size = 2;");
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 4); /* the first batch fails */
  ck_assert(!out_exists("snap.csv"));
  ck_assert_uint_eq(th_flush(pl), 4);
  ck_assert_int_eq(unlink(link), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_file_eq("snap.csv", "timestamp,k,v\n1,1,1\n1,2,2\n");
  ck_file_eq("full.csv", "timestamp,v\n1,1\n2,2\n");
  th_free(pl);
  free(link);
}
END_TEST

static void write_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

/* Enters a private mount namespace (with a user namespace when not root). */
static void private_mounts(void) {
  if (unshare(CLONE_NEWNS) == 0) {
    ck_assert_msg(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0,
                  "cannot make mounts private: %s", strerror(errno));
    return;
  }
  int err = errno;
  uid_t uid = geteuid();
  gid_t gid = getegid();
  ck_assert_msg(unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0,
                "the disk-full test mounts a tiny tmpfs and needs root (CI runs as root) or "
                "unprivileged user namespaces: unshare(CLONE_NEWNS): %s; "
                "unshare(CLONE_NEWUSER): %s",
                strerror(err), strerror(errno));
  write_text("/proc/self/setgroups", "deny");
  char *map = th_fmt("0 %u 1", (unsigned)uid);
  write_text("/proc/self/uid_map", map);
  free(map);
  map = th_fmt("0 %u 1", (unsigned)gid);
  write_text("/proc/self/gid_map", map);
  free(map);
  ck_assert_msg(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0,
                "cannot make mounts private: %s", strerror(errno));
}

/* A 20 KiB tmpfs at `out`: five pages, enough for the lock file, a file of
 * two pages and its snapshot's temporary copy. */
static void mount_tiny_fs(void) {
  private_mounts();
  ck_assert_int_eq(mkdir(out, 0755), 0);
  ck_assert_msg(mount("tmpfs", out, "tmpfs", 0, "size=20k,mode=0755") == 0,
                "cannot mount a tmpfs on %s: %s (the disk-full test needs it)", out,
                strerror(errno));
}

/* Fills the file system of `out` with a filler file. */
static void fill_fs(void) {
  char *path = th_fmt("%s/filler", out);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ck_assert_int_ge(fd, 0);
  char block[512];
  memset(block, 'f', sizeof block);
  while (write(fd, block, sizeof block) > 0)
    ;
  ck_assert_int_eq(errno, ENOSPC);
  close(fd);
  free(path);
}

static void free_fs(void) {
  char *path = th_fmt("%s/filler", out);
  ck_assert_int_eq(unlink(path), 0);
  free(path);
}

static void unmount_tiny_fs(void) {
  umount2(out, MNT_DETACH);
}

/* Rows of ~1.5 KB, so that one flush needs more than the slack of a page. */
static char *big_line(int k, long long t) {
  char pad[1501];
  memset(pad, 'a' + k, 1500);
  pad[1500] = '\0';
  return th_fmt("big,k=%d s=\"%s\" %lld", k, pad, t);
}

START_TEST(test_disk_full_append) {
  mount_tiny_fs();
  char *l[4];
  for (int k = 0; k < 4; k++)
    l[k] = big_line(k, 1000000000LL * (k + 1));
  const char *lines[] = {l[0], l[1], l[2], l[3], NULL};
  twi_pipeline *pl = start(lines, "timestamp_format = \"unix\";");
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  char *before = read_out("big.csv");
  ck_assert_uint_eq(count_lines(before), 5);

  fill_fs();
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 4); /* RETRY: kept */
  char *now = read_out("big.csv");
  ck_assert_msg(strcmp(now, before) == 0, "the failed write left %zu bytes behind",
                strlen(now) - strlen(before));
  free(now);

  free_fs();
  ck_assert_uint_eq(th_flush(pl), 0);
  now = read_out("big.csv");
  ck_assert_uint_eq(count_lines(now), 9); /* header + 4 + 4: once each */
  ck_assert(strncmp(now, before, strlen(before)) == 0);
  ck_assert_str_eq(now + strlen(before), before + strlen("timestamp,k,s\n"));
  free(now);
  free(before);
  th_free(pl);
  unmount_tiny_fs();
  for (int k = 0; k < 4; k++)
    free(l[k]);
}
END_TEST

/* One file of a batch hits ENOSPC: the metrics stay in the buffer, and
 * another file of the same batch, which still had room (tmpfs allocates
 * whole pages), is not written twice by the retries. */
START_TEST(test_disk_full_other_file) {
  mount_tiny_fs();
  const char *first[] = {"ok v=0i 1000000000", NULL};
  run(first, "timestamp_format = \"unix\";", 1);
  fill_fs();
  const char *lines[] = {"full v=1i 1000000000", "ok v=2i 1000000000", "full v=3i 2000000000",
                         NULL};
  twi_pipeline *pl = start(lines, "timestamp_format = \"unix\";");
  ck_assert_int_eq(th_gather(pl), 0);
  log_begin();
  ck_assert_uint_eq(th_flush(pl), 3); /* RETRY: all three kept */
  char *log = log_end();
  ck_assert_msg(strstr(log, "full.csv") && strstr(log, strerror(ENOSPC)), "log: %s", log);
  free(log);
  ck_file_eq("ok.csv", "timestamp,v\n1,0\n1,2\n");
  ck_assert_uint_eq(th_flush(pl), 3); /* still full; ok.csv untouched */
  ck_file_eq("ok.csv", "timestamp,v\n1,0\n1,2\n");

  free_fs();
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_file_eq("full.csv", "timestamp,v\n1,1\n2,3\n");
  ck_file_eq("ok.csv", "timestamp,v\n1,0\n1,2\n");
  th_free(pl);
  unmount_tiny_fs();
}
END_TEST

START_TEST(test_disk_full_snapshot) {
  mount_tiny_fs();
  char *l[4];
  for (int k = 0; k < 4; k++)
    l[k] = big_line(k, 1000000000LL * (k + 1));
  const char *lines[] = {l[0], l[1], l[2], l[3], NULL};
  twi_pipeline *pl = start(lines, "mode = \"snapshot\"; timestamp_format = \"unix\";");
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  char *before = read_out("big.csv");
  ck_assert_uint_eq(count_lines(before), 5);

  fill_fs();
  ck_assert_int_eq(th_gather(pl), 0);
  log_begin();
  ck_assert_uint_eq(th_flush(pl), 4);
  char *log = log_end();
  ck_assert_msg(strstr(log, "big.csv") && strstr(log, strerror(ENOSPC)), "log: %s", log);
  free(log);
  ck_file_eq("big.csv", before); /* the old file is intact */
  char *names = list_out();
  ck_assert_str_eq(names, "big.csv filler"); /* the temporary file is gone */
  free(names);

  free_fs();
  ck_assert_int_eq(th_gather(pl), 0); /* a newer gather joins the retry */
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_file_eq("big.csv", before); /* one gather's rows, not two or three */
  names = list_out();
  ck_assert_str_eq(names, "big.csv");
  free(names);
  free(before);
  th_free(pl);
  unmount_tiny_fs();
  for (int k = 0; k < 4; k++)
    free(l[k]);
}
END_TEST

/* ---- planted files ------------------------------------------------------ */

/* Someone who can write the directory plants links (or FIFOs, hard links)
 * where the output creates or writes files. The victim is a file outside
 * the directory that must come through byte for byte, mode included. */

#define VICTIM_TEXT "precious: not a CSV file\n"

static char *victim; /* dir/victim */

static void hostile_setup(void) {
  setup();
  victim = th_fmt("%s/victim", dir);
  ck_assert_int_eq(th_write_file(victim, VICTIM_TEXT), 0);
  ck_assert_int_eq(chmod(victim, 0600), 0);
  ck_assert_int_eq(mkdir(out, 0755), 0);
}

static void hostile_teardown(void) {
  free(victim);
  teardown();
}

#define ck_victim_intact()                                                                         \
  do {                                                                                             \
    char *v_ = th_read_file(victim);                                                               \
    ck_assert_ptr_nonnull(v_);                                                                     \
    ck_assert_str_eq(v_, VICTIM_TEXT);                                                             \
    free(v_);                                                                                      \
    struct stat vst_;                                                                              \
    ck_assert_int_eq(stat(victim, &vst_), 0);                                                      \
    ck_assert_uint_eq(vst_.st_mode & 07777, 0600);                                                 \
  } while (0)

/* out/name becomes a symbolic link to the victim. */
static void plant_link(const char *name) {
  char *path = th_fmt("%s/%s", out, name);
  ck_assert_int_eq(symlink(victim, path), 0);
  free(path);
}

static void unplant(const char *name) {
  char *path = th_fmt("%s/%s", out, name);
  ck_assert_int_eq(unlink(path), 0);
  free(path);
}

static bool is_link(const char *name) {
  char *path = th_fmt("%s/%s", out, name);
  struct stat st;
  bool link = lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
  free(path);
  return link;
}

/* One flush of a running pipeline; the number of metrics left, with the log. */
static size_t flush_logged(twi_pipeline *pl, char **log) {
  log_begin();
  size_t left = th_flush(pl);
  *log = log_end();
  return left;
}

/* The data file is refused: the flush keeps the metrics and the log says
 * what is where and what to do. */
static void ck_refused(twi_pipeline *pl, size_t n, const char *name, const char *what) {
  char *log;
  ck_assert_uint_eq(flush_logged(pl, &log), n);
  char *path = th_fmt("%s/%s", out, name);
  ck_assert_msg(strstr(log, path) && strstr(log, what) && strstr(log, "remove it") &&
                    strstr(log, "kept for a retry"),
                "log: %s", log);
  free(path);
  free(log);
}

/* The attack of the issue: the temporary file of a snapshot used to have a
 * fixed name, and a link planted there made the output overwrite and chmod
 * the link's target. */
START_TEST(test_planted_snapshot_temp) {
  plant_link("m.csv.tmp");
  const char *lines[] = {"m v=1i 1000000000", NULL};
  twi_pipeline *pl = start(lines, "mode = \"snapshot\"; timestamp_format = \"unix\"; "
                                  "file_mode = \"0666\";");
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(th_gather(pl), 0);
    ck_assert_uint_eq(th_flush(pl), 0);
  }
  th_free(pl);
  ck_victim_intact();
  ck_file_eq("m.csv", "timestamp,v\n1,1\n");
  ck_assert(is_link("m.csv.tmp")); /* not ours: left alone */
}
END_TEST

/* The same through an append-mode rewrite that adds columns. */
START_TEST(test_planted_widen_temp) {
  const char *first[] = {"m v=1i 1000000000", NULL};
  const char *second[] = {"m v=2i,w=3i 2000000000", NULL};
  run(first, "timestamp_format = \"unix\";", 1);
  plant_link("m.csv.tmp");
  run(second, "timestamp_format = \"unix\";", 1);
  ck_victim_intact();
  ck_file_eq("m.csv", "timestamp,v,w\n1,1,\n2,2,3\n");
}
END_TEST

/* The writability probe at init used a predictable name and O_TRUNC: a
 * planted link got its target truncated. */
START_TEST(test_planted_probe) {
  char *name = th_fmt(".tower-csv-probe.%ld", (long)getpid());
  plant_link(name);
  const char *lines[] = {"m v=1i 1000000000", NULL};
  run(lines, "timestamp_format = \"unix\";", 1);
  ck_victim_intact();
  ck_assert(is_link(name));
  free(name);
}
END_TEST

/* A link as the data file itself: refused in both modes (RETRY, metrics
 * kept) until it is removed, then written once. */
START_TEST(test_planted_data_file) {
  static const char *const modes[] = {"append", "snapshot"};
  const char *lines[] = {"m v=1i 1000000000", "m v=2i 2000000000", NULL};
  for (int i = 0; i < 2; i++) {
    plant_link("m.csv");
    char *opts = th_fmt("mode = \"%s\"; timestamp_format = \"unix\";", modes[i]);
    twi_pipeline *pl = start(lines, opts);
    ck_assert_int_eq(th_gather(pl), 0);
    ck_refused(pl, 2, "m.csv", "is a symbolic link");
    ck_refused(pl, 2, "m.csv", "is a symbolic link");
    ck_victim_intact();
    unplant("m.csv");
    ck_assert_uint_eq(th_flush(pl), 0);
    ck_file_eq("m.csv", "timestamp,v\n1,1\n2,2\n");
    th_free(pl);
    free(opts);
    unplant("m.csv");
  }
}
END_TEST

/* A link swapped in for the open data file between two writes: the check
 * before each write notices, and the reopen refuses it. */
START_TEST(test_planted_after_open) {
  static const char *const modes[] = {"append", "snapshot"};
  const char *lines[] = {"m v=1i 1000000000", NULL};
  char *path = th_fmt("%s/m.csv", out), *tmp = th_fmt("%s/link", out);
  for (int i = 0; i < 2; i++) {
    char *opts = th_fmt("mode = \"%s\"; timestamp_format = \"unix\";", modes[i]);
    twi_pipeline *pl = start(lines, opts);
    ck_assert_int_eq(th_gather(pl), 0);
    ck_assert_uint_eq(th_flush(pl), 0);
    ck_assert_int_eq(symlink(victim, tmp), 0);
    ck_assert_int_eq(rename(tmp, path), 0); /* atomically, as an attacker would */
    ck_assert_int_eq(th_gather(pl), 0);
    ck_refused(pl, 1, "m.csv", "is a symbolic link");
    ck_victim_intact();
    unplant("m.csv");
    ck_assert_uint_eq(th_flush(pl), 0);
    ck_file_eq("m.csv", "timestamp,v\n1,1\n");
    th_free(pl);
    free(opts);
    unplant("m.csv");
  }
  free(path);
  free(tmp);
}
END_TEST

/* Links at the rotation targets: rename(2) replaces a link, never its
 * target, so rotation goes on and the victim is untouched. */
START_TEST(test_planted_rotation_target) {
  plant_link("m.csv.1");
  plant_link("m.csv.2");
  const char *lines[] = {"m v=1i 1000000000", "m v=2i 2000000000", NULL};
  twi_pipeline *pl = start(lines, "timestamp_format = \"unix\"; rotate_max_size = \"30\"; "
                                  "rotate_max_files = 2;");
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(th_gather(pl), 0);
    ck_assert_uint_eq(th_flush(pl), 0);
  }
  th_free(pl);
  ck_victim_intact();
  ck_file_eq("m.csv", "timestamp,v\n1,1\n2,2\n");
  ck_file_eq("m.csv.1", "timestamp,v\n1,1\n2,2\n1,1\n2,2\n");
  ck_assert(!is_link("m.csv.1"));
  ck_assert(is_link("m.csv.2")); /* .1 held a link, not a file: nothing to move */
}
END_TEST

/* A FIFO as the data file: opening it must not block the flush (Check's
 * timeout fails the test if it does), and it is refused in both modes. */
START_TEST(test_planted_fifo) {
  static const char *const modes[] = {"append", "snapshot"};
  const char *lines[] = {"m v=1i 1000000000", NULL};
  char *path = th_fmt("%s/m.csv", out);
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(mkfifo(path, 0666), 0);
    char *opts = th_fmt("mode = \"%s\"; timestamp_format = \"unix\";", modes[i]);
    twi_pipeline *pl = start(lines, opts);
    ck_assert_int_eq(th_gather(pl), 0);
    ck_refused(pl, 1, "m.csv", "is a FIFO");
    unplant("m.csv");
    ck_assert_uint_eq(th_flush(pl), 0);
    ck_file_eq("m.csv", "timestamp,v\n1,1\n");
    th_free(pl);
    free(opts);
    unplant("m.csv");
  }
  free(path);
}
END_TEST

/* A hard link to the victim as the data file: appending would change the
 * victim, adopting its "header" would copy its first line out. */
START_TEST(test_planted_hard_link) {
  static const char *const modes[] = {"append", "snapshot"};
  const char *lines[] = {"m v=1i 1000000000", NULL};
  char *path = th_fmt("%s/m.csv", out);
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(link(victim, path), 0);
    char *opts = th_fmt("mode = \"%s\"; timestamp_format = \"unix\";", modes[i]);
    twi_pipeline *pl = start(lines, opts);
    ck_assert_int_eq(th_gather(pl), 0);
    ck_refused(pl, 1, "m.csv", "other hard links");
    ck_victim_intact();
    unplant("m.csv");
    ck_assert_uint_eq(th_flush(pl), 0);
    ck_file_eq("m.csv", "timestamp,v\n1,1\n");
    th_free(pl);
    free(opts);
    unplant("m.csv");
  }
  free(path);
}
END_TEST

/* Temporary files (and probes) left by an interrupted run are removed at
 * start, a link among them as a link; other names stay. */
START_TEST(test_stale_temps_removed) {
  char *tmp = th_fmt("%s/m.csv.tmp.abc234", out),
       *probe = th_fmt("%s/.tower-csv-probe.zzzzzz", out);
  char *other = th_fmt("%s/m.csv.tmp.notours", out);
  ck_assert_int_eq(th_write_file(tmp, "half"), 0);
  ck_assert_int_eq(th_write_file(probe, ""), 0);
  ck_assert_int_eq(th_write_file(other, "keep"), 0);
  plant_link("x.csv.tmp.qqqqqq");
  const char *lines[] = {"m v=1i 1000000000", NULL};
  run(lines, "timestamp_format = \"unix\";", 1);
  ck_victim_intact();
  char *names = list_out();
  ck_assert_str_eq(names, "m.csv m.csv.tmp.notours");
  free(names);
  free(tmp);
  free(probe);
  free(other);
}
END_TEST

/* ---- one output per directory ------------------------------------------ */

/* Builds `c` and initializes it: 0, or the error with the log in *log. */
static int init_logged(const char *c, twi_pipeline **pl, char **log) {
  char *errors = NULL;
  log_begin();
  *pl = th_build(c, TWI_ONCE, &errors);
  int rc = *pl ? twi_pipeline_init(*pl) : -1;
  *log = log_end();
  if (errors) {
    char *t = th_fmt("%s%s", *log, errors);
    free(*log);
    *log = t;
  }
  free(errors);
  return rc;
}

/* The lock file holds who owns the directory, and only while it does. */
START_TEST(test_lock_file) {
  const char *lines[] = {"m v=1i 1000000000", NULL};
  twi_pipeline *pl = start(lines, "alias = \"main\";");
  char *lock = th_fmt("%s/.tower-csv.lock", out);
  int fd = open(lock, O_RDONLY);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), -1); /* held */
  ck_assert_int_eq(errno, EWOULDBLOCK);
  char *text = th_read_file(lock);
  char *want = th_fmt("pid %ld: outputs.csv:main (", (long)getpid());
  ck_assert_msg(strncmp(text, want, strlen(want)) == 0, "lock file: %s", text);
  th_free(pl);
  ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0); /* released by destroy */
  close(fd);
  free(want);
  free(text);
  free(lock);
}
END_TEST

/* Two outputs of one configuration on one directory: refused at start,
 * naming both and what to do. */
START_TEST(test_two_outputs_one_directory) {
  const char *lines[] = {"m v=1i 1000000000", NULL};
  char *second = th_fmt("{ plugin = \"csv\"; directory = \"%s/\"; alias = \"b\"; }", out);
  char *c = config2(lines, "alias = \"a\";", second);
  twi_pipeline *pl;
  char *log;
  ck_assert_int_ne(init_logged(c, &pl, &log), 0);
  ck_assert_msg(strstr(log, "[outputs.csv:b]") && strstr(log, "already used by") &&
                    strstr(log, "outputs.csv:a (") && strstr(log, "in this agent") &&
                    strstr(log, "give each csv output its own directory"),
                "log: %s", log);
  if (pl)
    th_free(pl);
  free(log);
  free(c);
  free(second);
}
END_TEST

/* A running output holds the directory; a second pipeline (a reload's new
 * one, or another agent) cannot start on it until the first one is gone. */
START_TEST(test_lock_held_until_destroy) {
  const char *lines[] = {"m v=1i 1000000000", NULL};
  twi_pipeline *first = start(lines, "timestamp_format = \"unix\";");
  char *c = config(lines, "timestamp_format = \"unix\"; alias = \"next\";");
  twi_pipeline *pl;
  char *log;
  ck_assert_int_ne(init_logged(c, &pl, &log), 0);
  ck_assert_msg(strstr(log, "already used by outputs.csv (") && strstr(log, "reload"), "log: %s",
                log);
  free(log);
  th_free(pl);
  th_free(first);
  ck_assert_int_eq(init_logged(c, &pl, &log), 0);
  ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  ck_file_eq("m.csv", "timestamp,v\n1,1\n");
  free(log);
  free(c);
}
END_TEST

/* A lock file that is a link is refused at start; its target is untouched. */
START_TEST(test_planted_lock_file) {
  plant_link(".tower-csv.lock");
  const char *lines[] = {"m v=1i 1000000000", NULL};
  char *c = config(lines, NULL);
  twi_pipeline *pl;
  char *log;
  ck_assert_int_ne(init_logged(c, &pl, &log), 0);
  char *path = th_fmt("%s/.tower-csv.lock", out);
  ck_assert_msg(strstr(log, path) && strstr(log, "symbolic link") && strstr(log, "remove it"),
                "log: %s", log);
  ck_victim_intact();
  if (pl)
    th_free(pl);
  free(path);
  free(log);
  free(c);
}
END_TEST

/* --config-check takes nothing: it passes beside a running output on the
 * same directory, creates no directory, and still reports one it cannot
 * use. */
static int check_only(const char *c, char **log) {
  char *errors = NULL;
  log_begin();
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  int failed = pl ? twi_pipeline_check(pl) : -1;
  if (pl)
    th_free(pl);
  *log = log_end();
  free(errors);
  return failed;
}

START_TEST(test_config_check_acquires_nothing) {
  const char *lines[] = {"m v=1i 1000000000", NULL};
  twi_pipeline *running = start(lines, NULL);
  char *c = config(lines, NULL), *log;
  ck_assert_msg(check_only(c, &log) == 0, "log: %s", log);
  free(log);
  th_free(running);
  free(c);

  th_rmrf(out);
  c = config(lines, NULL);
  ck_assert_msg(check_only(c, &log) == 0, "log: %s", log);
  ck_assert_int_ne(access(out, F_OK), 0); /* not created */
  free(log);
  free(c);

  c = config(lines, "create_directory = false;");
  ck_assert_int_ne(check_only(c, &log), 0);
  ck_assert_msg(strstr(log, out) && strstr(log, "create_directory = true"), "log: %s", log);
  free(log);
  free(c);

  ck_assert_int_eq(th_write_file(out, "a file"), 0);
  c = config(lines, NULL);
  ck_assert_int_ne(check_only(c, &log), 0);
  ck_assert_msg(strstr(log, out) && strstr(log, "not a directory"), "log: %s", log);
  free(log);
  free(c);
}
END_TEST

/* check_only() as an unprivileged user (tests/unprivileged.h), the log in
 * the file log_begin() opened. Returns the uid checked as. */
static long check_unprivileged(const char *c, int *failed) {
  ck_assert_int_eq(chmod(dir, 0755), 0);
  log_begin();
  *failed = th_config_check_unprivileged(c);
  return th_unprivileged_uid();
}

/* The component at fault is named, with its mode and owner, for the user
 * who runs the check; and no "Invalid argument" follows the reason. */
START_TEST(test_config_check_names_component) {
  const char *lines[] = {"m v=1i 1000000000", NULL};
  char *c = config(lines, NULL), *log;
  int failed;
  long uid = check_unprivileged(c, &failed); /* out is to be created in dir */
  log = log_end();
  ck_assert_msg(failed == 1, "failed %d, log: %s", failed, log);
  char *want = th_fmt("directory %s cannot be created: %s is not writable by uid %ld (mode 0755, "
                      "owner ",
                      out, dir, uid);
  ck_assert_msg(strstr(log, want), "want \"%s\" in: %s", want, log);
  ck_assert_msg(strstr(log, "[outputs.csv] initialization failed; fix the error above") &&
                    !strstr(log, "Invalid argument"),
                "log: %s", log);
  free(want);
  free(log);

  ck_assert_int_eq(mkdir(out, 0555), 0);
  ck_assert_int_eq(chmod(out, 0555), 0);
  check_unprivileged(c, &failed);
  log = log_end();
  ck_assert_int_eq(failed, 1);
  want = th_fmt("directory %s cannot be used: %s is not writable by uid %ld (mode 0555, owner ",
                out, out, uid);
  ck_assert_msg(strstr(log, want), "want \"%s\" in: %s", want, log);
  free(want);
  free(log);
  free(c);
}
END_TEST

static Suite *csv_suite(void) {
  Suite *s = suite_create("outputs.csv");
  TCase *tc = tcase_create("layout");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_header_and_rows);
  tcase_add_test(tc, test_union_header_in_first_batch);
  tcase_add_test(tc, test_timestamp_formats);
  tcase_add_test(tc, test_separator);
  tcase_add_test(tc, test_quoting);
  tcase_add_test(tc, test_name_clashes);
  tcase_add_test(tc, test_file_names);
  tcase_add_test(tc, test_file_mode);
  suite_add_tcase(s, tc);

  tc = tcase_create("append");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_append_two_flushes);
  tcase_add_test(tc, test_append_batches);
  tcase_add_test(tc, test_append_restart_adopts_header);
  tcase_add_test(tc, test_append_repairs_partial_row);
  tcase_add_test(tc, test_append_reopens_removed_file);
  tcase_add_test(tc, test_append_rotation);
  tcase_add_test(tc, test_directory_recreated);
  suite_add_tcase(s, tc);

  tc = tcase_create("schema");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_append_widens_file);
  tcase_add_test(tc, test_append_widens_foreign_file);
  tcase_add_test(tc, test_snapshot_widens_header);
  suite_add_tcase(s, tc);

  tc = tcase_create("snapshot");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_snapshot_replaces_file);
  tcase_add_test(tc, test_snapshot_newest_gather_wins);
  tcase_add_test(tc, test_snapshot_absent_measurement_kept);
  tcase_add_test(tc, test_mode_globs);
  suite_add_tcase(s, tc);

  tc = tcase_create("errors");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_unwritable_directory);
  tcase_add_test(tc, test_bad_options);
  tcase_add_test(tc, test_failed_file_mixed_modes);
  tcase_add_test(tc, test_disk_full_other_file);
  tcase_add_test(tc, test_disk_full_append);
  tcase_add_test(tc, test_disk_full_snapshot);
  suite_add_tcase(s, tc);

  tc = tcase_create("planted");
  tcase_add_checked_fixture(tc, hostile_setup, hostile_teardown);
  tcase_add_test(tc, test_planted_snapshot_temp);
  tcase_add_test(tc, test_planted_widen_temp);
  tcase_add_test(tc, test_planted_probe);
  tcase_add_test(tc, test_planted_data_file);
  tcase_add_test(tc, test_planted_after_open);
  tcase_add_test(tc, test_planted_rotation_target);
  tcase_add_test(tc, test_planted_fifo);
  tcase_add_test(tc, test_planted_hard_link);
  tcase_add_test(tc, test_stale_temps_removed);
  tcase_add_test(tc, test_planted_lock_file);
  suite_add_tcase(s, tc);

  tc = tcase_create("lock");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_lock_file);
  tcase_add_test(tc, test_two_outputs_one_directory);
  tcase_add_test(tc, test_lock_held_until_destroy);
  tcase_add_test(tc, test_config_check_acquires_nothing);
  tcase_add_test(tc, test_config_check_names_component);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return check_run(csv_suite());
}
