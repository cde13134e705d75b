/* plugins/common/host: the roots from Telegraf's HOST_* variables, and
 * reading /proc-like files whole, however long, into a reused buffer. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../plugins/common/host/host.h"
#include "check_run.h"
#include "harness.h"

static char *dir;

static void setup(void) {
  dir = th_tmpdir();
}

static void teardown(void) {
  th_rmrf(dir);
  free(dir);
  unsetenv("HOST_PROC");
  unsetenv("HOST_MOUNT_PREFIX");
}

START_TEST(roots_default_and_from_environment) {
  host_roots r;
  unsetenv("HOST_PROC");
  ck_assert_int_eq(host_roots_load(&r, NULL, NULL), 0);
  ck_assert_str_eq(r.proc, "/proc");
  ck_assert_str_eq(r.sys, "/sys");
  ck_assert_str_eq(r.mount_prefix, "");
  setenv("HOST_PROC", "/host/proc//", 1);
  setenv("HOST_MOUNT_PREFIX", "/", 1);
  ck_assert_int_eq(host_roots_load(&r, NULL, NULL), 0);
  ck_assert_str_eq(r.proc, "/host/proc");
  ck_assert_str_eq(r.mount_prefix, ""); /* "/" + "/home" stays "/home" */
  char p[64];
  ck_assert(host_path(p, sizeof p, r.proc, "meminfo"));
  ck_assert_str_eq(p, "/host/proc/meminfo");
  ck_assert(host_path(p, sizeof p, r.proc, "/stat"));
  ck_assert_str_eq(p, "/host/proc/stat");
  ck_assert(!host_path(p, 8, r.proc, "meminfo"));
}
END_TEST

START_TEST(reads_long_files_and_lines) {
  /* longer than several pages, a last line without a newline */
  size_t n = 50000;
  char *text = malloc(n + 64);
  size_t len = 0;
  for (int i = 0; len + 32 < n; i++)
    len += (size_t)sprintf(text + len, "Key%d:  %d kB\n", i, i * 7);
  strcpy(text + len, "Last: 18446744073709551615");
  char *path = th_fmt("%s/meminfo", dir);
  ck_assert_int_eq(th_write_file(path, text), 0);
  host_buf b = {0};
  ck_assert_int_eq(host_read(&b, path, 0), 0);
  ck_assert_uint_eq(b.len, strlen(text));
  ck_assert_str_eq(b.data, text);
  uint64_t v;
  ck_assert(host_key_u64(&b, "Key100", &v));
  ck_assert_uint_eq(v, 700);
  ck_assert(host_key_u64(&b, "Last", &v));
  ck_assert_uint_eq(v, UINT64_MAX);
  ck_assert(!host_key_u64(&b, "Key", &v)); /* a prefix of a key is not the key */
  host_lines it;
  host_lines_init(&it, &b);
  const char *line;
  size_t l, lines = 0;
  while (host_lines_next(&it, &line, &l))
    lines++;
  size_t want = 1;
  for (const char *c = text; *c; c++)
    want += *c == '\n';
  ck_assert_uint_eq(lines, want);
  /* the buffer is reused: a second read of a shorter file allocates nothing */
  char *cap_before = b.data;
  ck_assert_int_eq(th_write_file(path, "Short: 1\n"), 0);
  ck_assert_int_eq(host_read(&b, path, 0), 0);
  ck_assert_ptr_eq(b.data, cap_before);
  ck_assert_str_eq(b.data, "Short: 1\n");
  /* too large for the bound, and gone */
  ck_assert_int_eq(th_write_file(path, text), 0);
  ck_assert_int_eq(host_read(&b, path, 100), -EFBIG);
  unlink(path);
  ck_assert_int_eq(host_read(&b, path, 0), -ENOENT);
  host_buf_free(&b);
  free(path);
  free(text);
}
END_TEST

START_TEST(parses_numbers) {
  const char *s = "  12345 x", *end = s + strlen(s);
  uint64_t v;
  ck_assert(host_parse_u64(&s, end, &v));
  ck_assert_uint_eq(v, 12345);
  ck_assert_str_eq(s, " x");
  ck_assert(!host_parse_u64(&s, end, &v));
  const char *big = "18446744073709551616";
  ck_assert(!host_parse_u64(&big, big + strlen(big), &v));
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("host_common");
  TCase *t = tcase_create("host");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, roots_default_and_from_environment);
  tcase_add_test(t, reads_long_files_and_lines);
  tcase_add_test(t, parses_numbers);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  return check_run(suite());
}
