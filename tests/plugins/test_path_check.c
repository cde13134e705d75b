/* plugins/common/check: path_check() against a real file tree in a
 * temporary directory, judged by the real kernel (as root, and as an
 * unprivileged uid in a child that drops to it), and pem_check_file()
 * against certificates and keys made by the openssl command. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "check_run.h"
#include "unprivileged.h"
#include "../../plugins/common/check/path_check.h"
#include "../../plugins/common/check/pem_check.h"

static char *dir;
static char why[PATH_WHY_MAX];

static void setup(void) {
  dir = th_tmpdir();
  chmod(dir, 0755); /* the unprivileged child must reach what is inside */
}

static void teardown(void) {
  /* directories made unsearchable, so that a non-root run can remove them */
  char *cmd = th_fmt("chmod -R u+rwx '%s' 2>/dev/null", dir);
  int rc = system(cmd);
  (void)rc; /* th_rmrf reports what it cannot remove */
  free(cmd);
  th_rmrf(dir);
  free(dir);
}

/* <dir>/name (malloc'd). */
static char *at(const char *name) {
  return th_fmt("%s/%s", dir, name);
}

static void put(const char *name, const char *text, mode_t mode) {
  char *p = at(name);
  ck_assert_int_eq(th_write_file(p, text), 0);
  ck_assert_int_eq(chmod(p, mode), 0);
  free(p);
}

static void mkd(const char *name, mode_t mode) {
  char *p = at(name);
  ck_assert_int_eq(mkdir(p, 0755), 0);
  ck_assert_int_eq(chmod(p, mode), 0); /* not narrowed by the umask */
  free(p);
}

/* path_check(<dir>/name) with the reason in `why`. */
static int check(const char *name, path_kind kind, int mode) {
  char *p = at(name);
  int rc = path_check(p, kind, mode, why, sizeof why);
  free(p);
  return rc;
}

#define assert_why(needle) ck_assert_msg(strstr(why, needle), "want \"%s\" in: %s", needle, why)

typedef struct check_args {
  const char *name;
  path_kind kind;
  int mode;
} check_args;

static int check_child(void *arg, char *out, size_t len) {
  const check_args *a = arg;
  char *p = at(a->name);
  int rc = path_check(p, a->kind, a->mode, out, len);
  free(p);
  return rc;
}

/* The same check as an unprivileged user (tests/unprivileged.h), the
 * reason in `why`; *uid is the uid it ran as. */
static int check_unprivileged(const char *name, path_kind kind, int mode, long *uid) {
  check_args a = {name, kind, mode};
  *uid = th_unprivileged_uid();
  return th_unprivileged(check_child, &a, why, sizeof why);
}

/* ---- path_check ------------------------------------------------------- */

START_TEST(usable_paths) {
  mkd("d", 0755);
  put("d/f", "x", 0644);
  put("d/run.sh", "#!/bin/sh\n", 0755);
  ck_assert_int_eq(check("d", PATH_DIR, W_OK | X_OK), 0);
  ck_assert_int_eq(check("d/f", PATH_FILE, R_OK), 0);
  ck_assert_int_eq(check("d/run.sh", PATH_FILE, X_OK), 0);
  ck_assert_int_eq(check("d//f", PATH_ANY, R_OK), 0); /* repeated slashes */
  ck_assert_int_eq(check("d/", PATH_DIR, 0), 0);      /* trailing slash */
  char *link = at("l");
  ck_assert_int_eq(symlink("d/f", link), 0); /* followed */
  ck_assert_int_eq(check("l", PATH_FILE, R_OK), 0);
  free(link);
}
END_TEST

START_TEST(missing_components) {
  mkd("d", 0755);
  put("file", "x", 0644);
  ck_assert_int_eq(check("d/nope/x.sh", PATH_FILE, X_OK), -ENOENT);
  char *want = th_fmt("%s/d/nope does not exist", dir);
  assert_why(want);
  free(want);
  ck_assert_int_eq(check("d/x.sh", PATH_FILE, X_OK), -ENOENT);
  assert_why("/d/x.sh does not exist");
  ck_assert_int_eq(check("file/bin/x.sh", PATH_FILE, X_OK), -ENOTDIR);
  assert_why("/file is not a directory (it is a regular file)");
  char *link = at("dangling");
  ck_assert_int_eq(symlink("/nonexistent/target", link), 0);
  ck_assert_int_eq(check("dangling", PATH_FILE, R_OK), -ENOENT);
  assert_why("/dangling is a symbolic link to /nonexistent/target, which does not exist");
  free(link);
  ck_assert_int_eq(path_check("", PATH_ANY, 0, why, sizeof why), -EINVAL);
}
END_TEST

START_TEST(wrong_kinds) {
  mkd("d", 0755);
  put("f", "x", 0644);
  ck_assert_int_eq(check("d", PATH_FILE, X_OK), -EISDIR);
  assert_why("/d is a directory, not a regular file");
  ck_assert_int_eq(check("f", PATH_DIR, W_OK), -ENOTDIR);
  assert_why("/f is a regular file, not a directory");
  ck_assert_int_eq(check("f", PATH_SOCKET, W_OK), -ENOTSOCK);
  assert_why("/f is a regular file, not a socket");
  /* a real listening socket is one */
  char *p = at("s.sock");
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", p);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  ck_assert_int_eq(check("s.sock", PATH_SOCKET, 0), 0);
  close(fd);
  free(p);
}
END_TEST

/* Execution takes an x bit even for root, whom the kernel lets read and
 * write anything. */
START_TEST(not_executable) {
  put("plain", "#!/bin/sh\n", 0644);
  ck_assert_int_eq(check("plain", PATH_FILE, X_OK), -EACCES);
  char *want = th_fmt("/plain is not executable by uid %ld (mode 0644, owner ", (long)geteuid());
  assert_why(want);
  free(want);
}
END_TEST

/* A directory nobody may search stops an unprivileged user, naming the
 * directory with its mode and owner; root is let through, as the kernel
 * lets it through. */
START_TEST(unsearchable_directory) {
  mkd("app", 0755);
  mkd("app/bin", 0755);
  put("app/bin/check.sh", "#!/bin/sh\n", 0755);
  char *bin = at("app/bin");
  ck_assert_int_eq(chmod(bin, 0000), 0);
  long uid;
  ck_assert_int_eq(check_unprivileged("app/bin/check.sh", PATH_FILE, X_OK, &uid), -EACCES);
  char *want = th_fmt("%s is not searchable by uid %ld (mode 0000, owner ", bin, uid);
  assert_why(want);
  free(want);
  if (geteuid() == 0)
    ck_assert_msg(check("app/bin/check.sh", PATH_FILE, X_OK) == 0, "root: %s", why);
  free(bin);
}
END_TEST

START_TEST(unwritable_directory) {
  mkd("out", 0555);
  long uid;
  ck_assert_int_eq(check_unprivileged("out", PATH_DIR, W_OK | X_OK, &uid), -EACCES);
  char *want = th_fmt("/out is not writable by uid %ld (mode 0555, owner ", uid);
  assert_why(want);
  free(want);
}
END_TEST

START_TEST(hints) {
  ck_assert_str_eq(path_check_hint(-ENOENT), "fix the path");
  ck_assert_ptr_nonnull(strstr(path_check_hint(-EACCES), "permissions"));
  ck_assert_ptr_nonnull(strstr(path_check_hint(-EROFS), "writable file system"));
}
END_TEST

/* ---- pem_check_file ---------------------------------------------------- */

/* Runs the openssl command in dir; fails the test when it fails. */
static void openssl(const char *args) {
  char *cmd = th_fmt("cd '%s' && openssl %s >/dev/null 2>&1", dir, args);
  ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
  free(cmd);
}

static void make_pki(void) {
  openssl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=t "
          "-keyout key.pem -out cert.pem");
  openssl("x509 -in cert.pem -outform der -out cert.der");
  openssl("pkey -in key.pem -aes256 -passout pass:secret -out key.enc.pem");
  /* the traditional format: "EC PRIVATE KEY" with Proc-Type and DEK-Info headers */
  openssl("ec -in key.pem -aes256 -passout pass:secret -out key.legacy.pem");
}

static int pem(const char *name, pem_want want) {
  char *p = at(name);
  int rc = pem_check_file(p, want, why, sizeof why);
  free(p);
  return rc;
}

/* "<dir>/<name>" with `transform` applied by sed (a new file). */
static void derive(const char *from, const char *to, const char *sed) {
  char *cmd = th_fmt("cd '%s' && sed '%s' %s > %s", dir, sed, from, to);
  ck_assert_int_eq(system(cmd), 0);
  free(cmd);
}

START_TEST(pem_accepts_real_files) {
  make_pki();
  ck_assert_msg(pem("cert.pem", PEM_CERTS) == 0, "%s", why);
  ck_assert_msg(pem("key.pem", PEM_KEY) == 0, "%s", why);
  ck_assert_msg(pem("key.enc.pem", PEM_KEY) == 0, "%s", why);
  ck_assert_msg(pem("key.legacy.pem", PEM_KEY) == 0, "%s", why);
  char *cmd = th_fmt("cd '%s' && cat cert.pem key.pem > both.pem && sed 's/$/\\r/' cert.pem > "
                     "crlf.pem && (echo 'subject=/CN=t'; cat cert.pem cert.pem) > bundle.pem",
                     dir);
  ck_assert_int_eq(system(cmd), 0);
  free(cmd);
  ck_assert_msg(pem("both.pem", PEM_CERTS) == 0 && pem("both.pem", PEM_KEY) == 0, "%s", why);
  ck_assert_msg(pem("crlf.pem", PEM_CERTS) == 0, "%s", why);
  ck_assert_msg(pem("bundle.pem", PEM_CERTS) == 0, "%s", why);
}
END_TEST

START_TEST(pem_refuses_the_wrong_file) {
  make_pki();
  ck_assert_int_eq(pem("key.pem", PEM_CERTS), -EINVAL);
  assert_why("/key.pem: it holds a private key but no certificate (PRIVATE KEY block)");
  ck_assert_int_eq(pem("cert.pem", PEM_KEY), -EINVAL);
  assert_why("/cert.pem: it holds a certificate but no private key (CERTIFICATE block)");
  ck_assert_int_eq(pem("cert.der", PEM_CERTS), -EINVAL);
  assert_why("/cert.der: the file is DER (binary), not PEM");
  put("empty.pem", "", 0644);
  ck_assert_int_eq(pem("empty.pem", PEM_CERTS), -EINVAL);
  assert_why("/empty.pem: the file is empty");
  put("text.pem", "hello\n", 0644);
  ck_assert_int_eq(pem("text.pem", PEM_CERTS), -EINVAL);
  assert_why("no PEM block");
  ck_assert_int_eq(pem("missing.pem", PEM_CERTS), -ENOENT);
  assert_why("/missing.pem: cannot read it: No such file or directory");
  char *d = at("d");
  ck_assert_int_eq(mkdir(d, 0755), 0);
  free(d);
  ck_assert_int_eq(pem("d", PEM_CERTS), -EISDIR);
  assert_why("/d is not a regular file");
}
END_TEST

START_TEST(pem_refuses_damaged_files) {
  make_pki();
  derive("cert.pem", "cut.pem", "/END/d");
  ck_assert_int_eq(pem("cut.pem", PEM_CERTS), -EINVAL);
  assert_why(
      "the CERTIFICATE block starting at line 1 has no -----END line (is the file cut off?)");
  derive("cert.pem", "bad64.pem", "2s/^./#/");
  ck_assert_int_eq(pem("bad64.pem", PEM_CERTS), -EINVAL);
  assert_why("line 2 is not base64, inside the CERTIFICATE block");
  derive("cert.pem", "notder.pem", "2s/^M/Q/");
  ck_assert_int_eq(pem("notder.pem", PEM_CERTS), -EINVAL);
  assert_why("the CERTIFICATE block at line 1 does not hold DER data");
  derive("cert.pem", "mixed.pem", "s/END CERTIFICATE/END PRIVATE KEY/");
  ck_assert_int_eq(pem("mixed.pem", PEM_CERTS), -EINVAL);
  assert_why("-----END PRIVATE KEY----- at line");
  put("hollow.pem", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", 0644);
  ck_assert_int_eq(pem("hollow.pem", PEM_CERTS), -EINVAL);
  assert_why("the CERTIFICATE block ending at line 2 is empty");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("plugins/common/check");
  TCase *t = tcase_create("path_check");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, usable_paths);
  tcase_add_test(t, missing_components);
  tcase_add_test(t, wrong_kinds);
  tcase_add_test(t, not_executable);
  tcase_add_test(t, unsearchable_directory);
  tcase_add_test(t, unwritable_directory);
  tcase_add_test(t, hints);
  suite_add_tcase(s, t);
  t = tcase_create("pem_check");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, pem_accepts_real_files);
  tcase_add_test(t, pem_refuses_the_wrong_file);
  tcase_add_test(t, pem_refuses_damaged_files);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  return check_run(suite());
}
