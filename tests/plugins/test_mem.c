/* inputs.mem against the recorded /proc trees of tests/fixtures/host (two
 * kernels), against meminfo files the tests write (older kernels, 32-bit
 * kernels, broken files), and against the live /proc/meminfo compared with
 * sysinfo(2).
 *
 * Expectations are derived from the fixture's own meminfo, read here with
 * sscanf, so that a regenerated tree needs no change; free(1)'s output in
 * the tree's MANIFEST is a second, independent reader. Metrics are captured
 * as objects (the record output's write is swapped for one that keeps the
 * batch) to see value and field types. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <tower/tower.h>

#include "harness.h"
#include "check_run.h"
#include "log_internal.h"

static char *dir, *logpath;

static void setup(void) {
  dir = th_tmpdir();
  logpath = th_fmt("%s/tower.log", dir);
  ck_assert_int_eq(twi_log_set_file(logpath), 0);
  setenv("HOST_PROC", dir, 1);
}

static void teardown(void) {
  twi_log_set_file(NULL);
  unsetenv("HOST_PROC");
  th_rmrf(dir);
  free(dir);
  free(logpath);
}

/* ---- a running input whose output keeps what it is given ------------------ */

typedef struct {
  twi_pipeline *pl;
  twi_plugin fake;
  const twi_plugin *real;
  void *real_state;
  const tower_metric **got;
  size_t n;
} rig;

static tower_write_result keep(void *state, const tower_batch *b) {
  rig *r = state;
  for (size_t i = 0; i < tower_batch_len(b); i++) {
    r->got = realloc(r->got, (r->n + 1) * sizeof *r->got);
    ck_assert_ptr_nonnull(r->got);
    r->got[r->n++] = tower_metric_retain(tower_batch_at(b, i));
  }
  return TOWER_WRITE_OK;
}

static void forget(rig *r) {
  for (size_t i = 0; i < r->n; i++)
    tower_metric_release(r->got[i]);
  free(r->got);
  r->got = NULL;
  r->n = 0;
}

static void rig_start(rig *r, const char *options) {
  memset(r, 0, sizeof *r);
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"mem\"; %s } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
                   options);
  r->pl = th_start(c, TWI_ONCE);
  free(c);
  tower_ctx *o = r->pl->outputs[0];
  r->real = o->plugin;
  r->real_state = o->state;
  r->fake = *o->plugin;
  r->fake.desc.write = keep;
  o->plugin = &r->fake;
  o->state = r;
}

static void rig_free(rig *r) {
  tower_ctx *o = r->pl->outputs[0];
  o->plugin = r->real;
  o->state = r->real_state;
  forget(r);
  th_free(r->pl);
}

/* One gather, as the input thread makes it; what it gave replaces what the
 * rig held. Returns the gather errors reported. */
static int gather(rig *r) {
  forget(r);
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

typedef struct {
  const char *key;
  tower_field_type type;
  uint64_t u; /* TOWER_FIELD_UINT */
  double f;   /* TOWER_FIELD_FLOAT */
} want;

/* `m` has exactly the fields of w[0..n), with their types and values. */
static void check_fields(const tower_metric *m, const want *w, size_t n) {
  ck_assert_ptr_nonnull(m);
  for (size_t i = 0; i < n; i++) {
    ptrdiff_t k = tower_metric_field_index(m, w[i].key);
    ck_assert_msg(k >= 0, "field %s missing", w[i].key);
    ck_assert_msg(tower_metric_field_type(m, (size_t)k) == w[i].type, "field %s: type %d", w[i].key,
                  (int)tower_metric_field_type(m, (size_t)k));
    if (w[i].type == TOWER_FIELD_UINT)
      ck_assert_msg(tower_metric_field_uint(m, (size_t)k) == w[i].u, "%s = %llu, want %llu",
                    w[i].key, (unsigned long long)tower_metric_field_uint(m, (size_t)k),
                    (unsigned long long)w[i].u);
    else
      ck_assert_msg(tower_metric_field_float(m, (size_t)k) == w[i].f, "%s = %.17g, want %.17g",
                    w[i].key, tower_metric_field_float(m, (size_t)k), w[i].f);
  }
  ck_assert_uint_eq(tower_metric_field_count(m), n);
}

static void check_gauge(const rig *r) {
  ck_assert_uint_eq(r->n, 1);
  ck_assert_str_eq(tower_metric_name(r->got[0]), "mem");
  ck_assert_int_eq(tower_metric_type(r->got[0]), TOWER_GAUGE);
  ck_assert_uint_eq(tower_metric_tag_count(r->got[0]), 0);
}

static uint64_t field_u(const tower_metric *m, const char *key) {
  ptrdiff_t k = tower_metric_field_index(m, key);
  ck_assert_msg(k >= 0, "field %s missing", key);
  return tower_metric_field_uint(m, (size_t)k);
}

/* The value of `key` in <tree>/proc/meminfo, as written (kB or a count). */
static uint64_t meminfo(const char *tree, const char *key) {
  char *path = th_fmt("%s/proc/meminfo", tree), line[256], k[64];
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  unsigned long long v = 0;
  bool found = false;
  while (!found && fgets(line, sizeof line, f))
    found = sscanf(line, "%63[^:]: %llu", k, &v) == 2 && strcmp(k, key) == 0;
  fclose(f);
  ck_assert_msg(found, "%s has no %s", path, key);
  free(path);
  return v;
}

static char *tree_path(const char *name) {
  const char *top = getenv("top_srcdir");
  return th_fmt("%s/tests/fixtures/host/%s", top ? top : "..", name);
}

/* Every field a 64-bit kernel's meminfo gives, from the tree's file. */
static size_t expect_tree(const char *t, want *w, bool extended) {
#define KB(key) (meminfo(t, key) * 1024)
  uint64_t total = KB("MemTotal"), avail = KB("MemAvailable");
  want base[] = {
      {"total", TOWER_FIELD_UINT, total, 0},
      {"free", TOWER_FIELD_UINT, KB("MemFree"), 0},
      {"available", TOWER_FIELD_UINT, avail, 0},
      {"used", TOWER_FIELD_UINT, total - avail, 0},
      {"used_percent", TOWER_FIELD_FLOAT, 0, 100.0 * (double)(total - avail) / (double)total},
      {"available_percent", TOWER_FIELD_FLOAT, 0, 100.0 * (double)avail / (double)total},
      {"buffered", TOWER_FIELD_UINT, KB("Buffers"), 0},
      {"cached", TOWER_FIELD_UINT, KB("Cached") + KB("SReclaimable"), 0},
      {"sreclaimable", TOWER_FIELD_UINT, KB("SReclaimable"), 0},
      {"sunreclaim", TOWER_FIELD_UINT, KB("SUnreclaim"), 0},
      {"active", TOWER_FIELD_UINT, KB("Active"), 0},
      {"inactive", TOWER_FIELD_UINT, KB("Inactive"), 0},
      {"write_back", TOWER_FIELD_UINT, KB("Writeback"), 0},
      {"write_back_tmp", TOWER_FIELD_UINT, KB("WritebackTmp"), 0},
      {"dirty", TOWER_FIELD_UINT, KB("Dirty"), 0},
      {"shared", TOWER_FIELD_UINT, KB("Shmem"), 0},
      {"slab", TOWER_FIELD_UINT, KB("Slab"), 0},
      {"page_tables", TOWER_FIELD_UINT, KB("PageTables"), 0},
      {"swap_cached", TOWER_FIELD_UINT, KB("SwapCached"), 0},
      {"swap_total", TOWER_FIELD_UINT, KB("SwapTotal"), 0},
      {"swap_free", TOWER_FIELD_UINT, KB("SwapFree"), 0},
      {"commit_limit", TOWER_FIELD_UINT, KB("CommitLimit"), 0},
      {"committed_as", TOWER_FIELD_UINT, KB("Committed_AS"), 0},
      {"mapped", TOWER_FIELD_UINT, KB("Mapped"), 0},
      {"vmalloc_total", TOWER_FIELD_UINT, KB("VmallocTotal"), 0},
      {"vmalloc_used", TOWER_FIELD_UINT, KB("VmallocUsed"), 0},
      {"vmalloc_chunk", TOWER_FIELD_UINT, KB("VmallocChunk"), 0},
      {"huge_pages_total", TOWER_FIELD_UINT, meminfo(t, "HugePages_Total"), 0},
      {"huge_pages_free", TOWER_FIELD_UINT, meminfo(t, "HugePages_Free"), 0},
      {"huge_page_size", TOWER_FIELD_UINT, KB("Hugepagesize"), 0},
  };
  want ext[] = {
      {"active_anon", TOWER_FIELD_UINT, KB("Active(anon)"), 0},
      {"inactive_anon", TOWER_FIELD_UINT, KB("Inactive(anon)"), 0},
      {"active_file", TOWER_FIELD_UINT, KB("Active(file)"), 0},
      {"inactive_file", TOWER_FIELD_UINT, KB("Inactive(file)"), 0},
      {"unevictable", TOWER_FIELD_UINT, KB("Unevictable"), 0},
      {"percpu", TOWER_FIELD_UINT, KB("Percpu"), 0},
  };
#undef KB
  size_t n = sizeof base / sizeof base[0];
  memcpy(w, base, sizeof base);
  if (extended) {
    memcpy(w + n, ext, sizeof ext);
    n += sizeof ext / sizeof ext[0];
  }
  return n;
}

static void gather_tree(const char *name, bool extended) {
  char *t = tree_path(name), *proc = th_fmt("%s/proc", t);
  setenv("HOST_PROC", proc, 1);
  rig r;
  rig_start(&r, extended ? "collect_extended = true;" : "");
  ck_assert_int_eq(gather(&r), 0);
  check_gauge(&r);
  want w[64];
  size_t n = expect_tree(t, w, extended);
  check_fields(r.got[0], w, n);
  rig_free(&r);
  free(proc);
  free(t);
}

/* ---- the recorded trees -------------------------------------------------- */

START_TEST(tree_linux_6_1) {
  gather_tree("linux-6.1-qemu", false);
}
END_TEST

START_TEST(tree_linux_6_18_extended) {
  gather_tree("linux-6.18.44-fc-v1300", true);
}
END_TEST

/* Spot values written out, so that the file-derived expectations above
 * cannot both be wrong in the same way: the 6.1 tree's MemTotal 466120 kB,
 * MemAvailable 412080 kB, Cached 22148 + SReclaimable 10480 kB. */
START_TEST(tree_linux_6_1_literal) {
  char *t = tree_path("linux-6.1-qemu"), *proc = th_fmt("%s/proc", t);
  setenv("HOST_PROC", proc, 1);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(field_u(r.got[0], "total"), 477306880u);
  ck_assert_uint_eq(field_u(r.got[0], "available"), 421969920u);
  ck_assert_uint_eq(field_u(r.got[0], "used"), 477306880u - 421969920u);
  ck_assert_uint_eq(field_u(r.got[0], "cached"), 33411072u);
  ck_assert_uint_eq(field_u(r.got[0], "vmalloc_total"), 13743895347199ull * 1024);
  rig_free(&r);
  free(proc);
  free(t);
}
END_TEST

/* free(1) from procps, run by the recorder right after it copied the files:
 * its total is MemTotal exactly, and since procps-ng 4.0.1 its used is
 * total - available, as ours; the others moved a little in between
 * (tolerance: 1% of the total). */
static void compare_with_free(const char *name) {
  char *t = tree_path(name), *proc = th_fmt("%s/proc", t), *mf = th_fmt("%s/MANIFEST", t);
  char *manifest = th_read_file(mf);
  ck_assert_ptr_nonnull(manifest);
  const char *mem = strstr(manifest, "\nMem:");
  ck_assert_ptr_nonnull(mem);
  unsigned long long total, used, free_b, shared, buff_cache, avail;
  ck_assert_int_eq(sscanf(mem, "\nMem: %llu %llu %llu %llu %llu %llu", &total, &used, &free_b,
                          &shared, &buff_cache, &avail),
                   6);
  setenv("HOST_PROC", proc, 1);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  const tower_metric *m = r.got[0];
  ck_assert_uint_eq(field_u(m, "total"), total);
  double tol = (double)total / 100;
  ck_assert_double_eq_tol((double)field_u(m, "used"), (double)used, tol);
  ck_assert_double_eq_tol((double)field_u(m, "free"), (double)free_b, tol);
  ck_assert_double_eq_tol((double)field_u(m, "shared"), (double)shared, tol);
  ck_assert_double_eq_tol((double)(field_u(m, "buffered") + field_u(m, "cached")),
                          (double)buff_cache, tol);
  ck_assert_double_eq_tol((double)field_u(m, "available"), (double)avail, tol);
  rig_free(&r);
  free(manifest);
  free(mf);
  free(proc);
  free(t);
}

START_TEST(trees_agree_with_free) {
  compare_with_free("linux-6.1-qemu");
  compare_with_free("linux-6.18.44-fc-v1300");
}
END_TEST

/* ---- files written by the tests ------------------------------------------ */

static void write_proc(const char *name, const char *text) {
  char *path = th_fmt("%s/%s", dir, name);
  ck_assert_int_eq(th_write_file(path, text), 0);
  free(path);
}

/* Kernels 2.6.28 to 3.13: no MemAvailable; gopsutil estimates it from the
 * low watermarks of /proc/zoneinfo (its "low" lines, in pages). */
START_TEST(no_memavailable_estimate) {
  write_proc("meminfo", "MemTotal:        1000000 kB\n"
                        "MemFree:          100000 kB\n"
                        "Buffers:            1000 kB\n"
                        "Cached:           200000 kB\n"
                        "Active(file):     150000 kB\n"
                        "Inactive(file):    50000 kB\n"
                        "SReclaimable:      30000 kB\n");
  write_proc("zoneinfo", "Node 0, zone      DMA\n"
                         "  pages free     3970\n"
                         "        min      16\n"
                         "        low      20\n"
                         "        high     24\n"
                         "Node 0, zone    DMA32\n"
                         "  pages free     12345\n"
                         "        min      1000\n"
                         "        low      1230\n"
                         "        high     1500\n"
                         "        protection: (0, 1900, 1900, 1900)\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), wm = 1250 * page;
  uint64_t pc = 200000 * 1024, sr = 30000 * 1024;
  /* free - wm + page cache - min(pc/2, wm) + SReclaimable - min(sr/2, wm) */
  uint64_t avail =
      100000 * 1024 - wm + pc - (pc / 2 < wm ? pc / 2 : wm) + sr - (sr / 2 < wm ? sr / 2 : wm);
  uint64_t total = 1000000 * 1024;
  check_gauge(&r);
  want w[] = {
      {"total", TOWER_FIELD_UINT, total, 0},
      {"free", TOWER_FIELD_UINT, 100000 * 1024, 0},
      {"buffered", TOWER_FIELD_UINT, 1000 * 1024, 0},
      {"cached", TOWER_FIELD_UINT, 230000 * 1024, 0},
      {"sreclaimable", TOWER_FIELD_UINT, sr, 0},
      {"available", TOWER_FIELD_UINT, avail, 0},
      {"used", TOWER_FIELD_UINT, total - avail, 0},
      {"used_percent", TOWER_FIELD_FLOAT, 0, 100.0 * (double)(total - avail) / (double)total},
      {"available_percent", TOWER_FIELD_FLOAT, 0, 100.0 * (double)avail / (double)total},
  };
  check_fields(r.got[0], w, sizeof w / sizeof w[0]);
  /* with 4 KiB pages: 102,400,000 - 5,120,000 + 204,800,000 - 5,120,000 +
   * 30,720,000 - 5,120,000 = 322,560,000 */
  if (page == 4096)
    ck_assert_uint_eq(avail, 322560000u);
  rig_free(&r);
}
END_TEST

/* Before 2.6.13 there is no zoneinfo: free + cached. Before 2.6.19 no
 * SReclaimable either, and before 2.6.28 no Active(file): free + Cached. */
START_TEST(no_memavailable_fallbacks) {
  write_proc("meminfo", "MemTotal: 1000 kB\nMemFree: 100 kB\nCached: 200 kB\n"
                        "Active(file): 10 kB\nInactive(file): 20 kB\nSReclaimable: 30 kB\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0); /* no zoneinfo: not an error */
  ck_assert_uint_eq(field_u(r.got[0], "available"), (100 + 200 + 30) * 1024);
  rig_free(&r);
  write_proc("meminfo", "MemTotal: 1000 kB\nMemFree: 100 kB\nCached: 200 kB\nBuffers: 5 kB\n");
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  check_gauge(&r);
  want w[] = {
      {"total", TOWER_FIELD_UINT, 1000 * 1024, 0},
      {"free", TOWER_FIELD_UINT, 100 * 1024, 0},
      {"buffered", TOWER_FIELD_UINT, 5 * 1024, 0},
      {"cached", TOWER_FIELD_UINT, 200 * 1024, 0},
      {"available", TOWER_FIELD_UINT, 300 * 1024, 0},
      {"used", TOWER_FIELD_UINT, 700 * 1024, 0},
      {"used_percent", TOWER_FIELD_FLOAT, 0, 70.0},
      {"available_percent", TOWER_FIELD_FLOAT, 0, 30.0},
  };
  check_fields(r.got[0], w, sizeof w / sizeof w[0]);
  rig_free(&r);
}
END_TEST

/* 32-bit kernels with highmem print HighTotal ... LowFree: then they are
 * reported; 64-bit kernels do not print them, and they are left out. */
START_TEST(highmem_fields_when_present) {
  write_proc("meminfo", "MemTotal: 3000000 kB\nMemFree: 1000000 kB\nMemAvailable: 2000000 kB\n"
                        "HighTotal: 2200000 kB\nHighFree: 900000 kB\n"
                        "LowTotal: 800000 kB\nLowFree: 100000 kB\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(field_u(r.got[0], "high_total"), 2200000ull * 1024);
  ck_assert_uint_eq(field_u(r.got[0], "high_free"), 900000ull * 1024);
  ck_assert_uint_eq(field_u(r.got[0], "low_total"), 800000ull * 1024);
  ck_assert_uint_eq(field_u(r.got[0], "low_free"), 100000ull * 1024);
  /* total, free, available, used and the two percentages, and those four */
  ck_assert_uint_eq(tower_metric_field_count(r.got[0]), 6 + 4);
  rig_free(&r);
}
END_TEST

/* A line far longer than a page before the lines that matter (the buffer
 * grows), a line without a colon, and a last line without a newline. */
START_TEST(long_and_odd_lines) {
  size_t n = 20000;
  char *big = malloc(n + 1);
  memset(big, '7', n);
  big[n] = '\0';
  char *text = th_fmt("Junk: %s kB\nno colon here\nMemTotal: 1000 kB\nMemFree: 400 kB\n"
                      "MemAvailable: 600 kB",
                      big);
  write_proc("meminfo", text);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  want w[] = {
      {"total", TOWER_FIELD_UINT, 1000 * 1024, 0},
      {"free", TOWER_FIELD_UINT, 400 * 1024, 0},
      {"available", TOWER_FIELD_UINT, 600 * 1024, 0},
      {"used", TOWER_FIELD_UINT, 400 * 1024, 0},
      {"used_percent", TOWER_FIELD_FLOAT, 0, 40.0},
      {"available_percent", TOWER_FIELD_FLOAT, 0, 60.0},
  };
  check_fields(r.got[0], w, sizeof w / sizeof w[0]);
  rig_free(&r);
  free(text);
  free(big);
}
END_TEST

static bool log_has(const char *text) {
  char *log = th_read_file(logpath);
  bool has = log && strstr(log, text);
  free(log);
  return has;
}

START_TEST(missing_file_is_one_error) {
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 1);
  ck_assert_uint_eq(r.n, 0);
  char *text = th_fmt("cannot read %s/meminfo: No such file or directory (set HOST_PROC", dir);
  ck_assert_msg(log_has(text), "log lacks: %s", text);
  free(text);
  rig_free(&r);
}
END_TEST

/* A file that exists but cannot be read (a directory stands in for a mode
 * the tests, maybe run as root, could not enforce). */
START_TEST(unreadable_file_is_one_error) {
  char *path = th_fmt("%s/meminfo", dir);
  ck_assert_int_eq(mkdir(path, 0755), 0);
  free(path);
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 1);
  ck_assert_uint_eq(r.n, 0);
  ck_assert(log_has("meminfo: Is a directory"));
  rig_free(&r);
}
END_TEST

/* A known key whose value is not a number leaves that field out (one
 * error); the rest is reported. Without MemTotal, total, used and the
 * percentages cannot be. */
START_TEST(bad_lines_leave_fields_out) {
  write_proc("meminfo", "MemTotal: 1000 kB\nMemFree: lots kB\nMemAvailable: 600 kB\n"
                        "Buffers: 10 kB\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 1);
  ck_assert(log_has("cannot parse the line \"MemFree: lots kB\""));
  ck_assert_int_lt(tower_metric_field_index(r.got[0], "free"), 0);
  ck_assert_uint_eq(field_u(r.got[0], "used"), 400 * 1024);
  write_proc("meminfo", "MemFree: 100 kB\nBuffers: 10 kB\n");
  ck_assert_int_eq(gather(&r), 1);
  ck_assert(log_has("has no MemTotal line"));
  want w[] = {{"free", TOWER_FIELD_UINT, 100 * 1024, 0},
              {"buffered", TOWER_FIELD_UINT, 10 * 1024, 0}};
  check_fields(r.got[0], w, 2);
  rig_free(&r);
}
END_TEST

/* A broken file with more available than total: used is 0, not a wrapped
 * 2^64 - n. A total of 0 gives no percentages (no NaN). */
START_TEST(inconsistent_values_do_not_wrap) {
  write_proc("meminfo", "MemTotal: 100 kB\nMemFree: 10 kB\nMemAvailable: 200 kB\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(field_u(r.got[0], "used"), 0);
  write_proc("meminfo", "MemTotal: 0 kB\nMemFree: 0 kB\nMemAvailable: 0 kB\n");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_int_lt(tower_metric_field_index(r.got[0], "used_percent"), 0);
  ck_assert_int_lt(tower_metric_field_index(r.got[0], "available_percent"), 0);
  rig_free(&r);
}
END_TEST

/* The file is read anew at every gather. */
START_TEST(values_follow_the_file) {
  write_proc("meminfo", "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 500 kB\n");
  rig r;
  rig_start(&r, "");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(field_u(r.got[0], "free"), 100 * 1024);
  write_proc("meminfo", "MemTotal: 1000 kB\nMemFree: 300 kB\nMemAvailable: 700 kB\n");
  ck_assert_int_eq(gather(&r), 0);
  ck_assert_uint_eq(field_u(r.got[0], "free"), 300 * 1024);
  ck_assert_uint_eq(field_u(r.got[0], "used"), 300 * 1024);
  rig_free(&r);
}
END_TEST

/* The live /proc/meminfo: MemTotal is what sysinfo(2) calls totalram. */
START_TEST(live_total_is_sysinfo_totalram) {
  unsetenv("HOST_PROC");
  rig r;
  rig_start(&r, "");
  struct sysinfo si;
  ck_assert_int_eq(sysinfo(&si), 0);
  ck_assert_int_eq(gather(&r), 0);
  check_gauge(&r);
  ck_assert_uint_eq(field_u(r.got[0], "total"), (uint64_t)si.totalram * si.mem_unit);
  ck_assert_uint_le(field_u(r.got[0], "available"), field_u(r.got[0], "total"));
  ck_assert_uint_eq(field_u(r.got[0], "used"),
                    field_u(r.got[0], "total") - field_u(r.got[0], "available"));
  rig_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("inputs.mem");
  TCase *t = tcase_create("mem");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, tree_linux_6_1);
  tcase_add_test(t, tree_linux_6_18_extended);
  tcase_add_test(t, tree_linux_6_1_literal);
  tcase_add_test(t, trees_agree_with_free);
  tcase_add_test(t, no_memavailable_estimate);
  tcase_add_test(t, no_memavailable_fallbacks);
  tcase_add_test(t, highmem_fields_when_present);
  tcase_add_test(t, long_and_odd_lines);
  tcase_add_test(t, missing_file_is_one_error);
  tcase_add_test(t, unreadable_file_is_one_error);
  tcase_add_test(t, bad_lines_leave_fields_out);
  tcase_add_test(t, inconsistent_values_do_not_wrap);
  tcase_add_test(t, values_follow_the_file);
  tcase_add_test(t, live_total_is_sysinfo_totalram);
  suite_add_tcase(s, t);
  return check_run(s);
}
