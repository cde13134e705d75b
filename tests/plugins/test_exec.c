/* inputs.exec through the real core: an exec input feeding the record output
 * (line protocol in <dir>/out.lp), gathered and flushed synchronously, with
 * the log captured in <dir>/log. The commands are the scripts of
 * tests/plugins/exec/ and small /bin/sh -c lines.
 *
 * Processes killed by a test are checked with /proc: gone, or a zombie
 * whose parent is not us. An orphan (the background child of a killed
 * script) is reaped by init, which in some containers never happens, so a
 * zombie of another parent counts as dead; zombies of the test process
 * itself are counted separately and must be none. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tower/tower.h>

#include "harness.h"
#include "log_internal.h"
#include "check_run.h"
#include "unprivileged.h"
#include "../../plugins/inputs/exec/exec.h"

static char *dir, *logpath, *scripts;

static void setup(void) {
  dir = th_tmpdir();
  logpath = th_fmt("%s/log", dir);
  ck_assert_int_eq(twi_log_set_file(logpath), 0);
  twi_log_set_level(TOWER_LOG_INFO);
  const char *top = getenv("top_srcdir");
  scripts = th_fmt("%s/tests/plugins/exec", top && *top ? top : ".");
}

static void teardown(void) {
  twi_log_set_file(NULL);
  th_rmrf(dir);
  free(dir);
  free(logpath);
  free(scripts);
}

/* ---- helpers ------------------------------------------------------------ */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* `s` as a libconfig string literal (quotes, backslashes, tabs and
 * newlines escaped). */
static char *lc(const char *s) {
  char *out = malloc(2 * strlen(s) + 3), *p = out;
  ck_assert_ptr_nonnull(out);
  *p++ = '"';
  for (; *s; s++) {
    if (*s == '\n' || *s == '\t') {
      *p++ = '\\';
      *p++ = *s == '\n' ? 'n' : 't';
      continue;
    }
    if (*s == '"' || *s == '\\')
      *p++ = '\\';
    *p++ = *s;
  }
  *p++ = '"';
  *p = '\0';
  return out;
}

static char *config(const char *opts) {
  return th_fmt("agent = { omit_hostname = true; };\n"
                "inputs = ( { plugin = \"exec\"; %s } );\n"
                "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                opts, dir);
}

typedef struct {
  twi_pipeline *pl;
  int errors;     /* of the last gather */
  double seconds; /* the last gather took */
} rig;

static void rig_start(rig *r, const char *opts) {
  char *c = config(opts);
  r->pl = th_start(c, TWI_ONCE);
  free(c);
}

/* One gather and flush; returns the line protocol written (malloc'd). */
static char *rig_gather(rig *r) {
  double t0 = now_s();
  r->errors = th_gather(r->pl);
  r->seconds = now_s() - t0;
  ck_assert_uint_eq(th_flush(r->pl), 0);
  char *path = th_fmt("%s/out.lp", dir);
  char *text = th_read_file(path);
  unlink(path);
  free(path);
  return text ? text : strdup("");
}

/* Builds, gathers once, frees. */
static char *run(const char *opts, rig *r) {
  rig_start(r, opts);
  char *out = rig_gather(r);
  th_free(r->pl);
  r->pl = NULL;
  return out;
}

static char *log_text(void) {
  char *t = th_read_file(logpath);
  return t ? t : strdup("");
}

static int count(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p++)
    n++;
  return n;
}

#define assert_has(text, needle)                                                                   \
  ck_assert_msg(strstr(text, needle), "missing \"%s\" in:\n%s", needle, text)
#define assert_lacks(text, needle)                                                                 \
  ck_assert_msg(!strstr(text, needle), "unexpected \"%s\" in:\n%s", needle, text)

/* State and parent of a process from /proc (0 when it does not exist). */
static char proc_state(pid_t pid, pid_t *ppid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')');
  char state = 0;
  int pp = 0;
  if (!p || sscanf(p + 1, " %c %d", &state, &pp) != 2)
    return 0;
  if (ppid)
    *ppid = pp;
  return state;
}

/* Dead: no such process, or a zombie waiting for a parent that is not us. */
static bool dead(pid_t pid) {
  pid_t ppid = 0;
  char st = proc_state(pid, &ppid);
  return st == 0 || ((st == 'Z' || st == 'X') && ppid != getpid());
}

/* Waits up to a second (SIGKILL is delivered asynchronously). */
static bool dies(pid_t pid) {
  for (int i = 0; i < 100 && !dead(pid); i++)
    usleep(10000);
  return dead(pid);
}

static int zombie_children(void) {
  DIR *d = opendir("/proc");
  ck_assert_ptr_nonnull(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    pid_t pid = (pid_t)atoi(e->d_name), ppid = 0;
    if (pid > 0 && proc_state(pid, &ppid) == 'Z' && ppid == getpid())
      n++;
  }
  closedir(d);
  return n;
}

/* Reads "child shell" pids written by tree.sh / linger.sh. */
static void read_pids(const char *pidfile, pid_t *child, pid_t *shell) {
  char *t = th_read_file(pidfile);
  ck_assert_msg(t != NULL, "no pid file %s", pidfile);
  int a = 0, b = 0;
  ck_assert_int_eq(sscanf(t, "%d %d", &a, &b), 2);
  free(t);
  *child = a;
  *shell = b;
}

/* Waits up to 5 s until `path` exists; false if it never does. */
static bool appears(const char *path) {
  for (int i = 0; i < 500; i++) {
    if (access(path, F_OK) == 0)
      return true;
    usleep(10000);
  }
  return false;
}

/* The pid in a file written by a command (0 when missing). */
static pid_t pid_in(const char *path) {
  char *t = th_read_file(path);
  pid_t pid = t ? (pid_t)atoi(t) : 0;
  free(t);
  return pid;
}

/* The command has exited: a zombie tower has not reaped yet, or gone. */
static bool exited(pid_t pid) {
  char st = proc_state(pid, NULL);
  return st == 0 || st == 'Z' || st == 'X';
}

/* Kills a process a test left running on purpose. */
static void kill_leftover(pid_t pid) {
  if (pid > 0 && !dead(pid))
    kill(pid, SIGKILL);
}

/* The line of the cgroup v2 file of `pid` ("0::/path"), or "". */
static void cgroup_of(pid_t pid, char *out, size_t len) {
  char path[64], line[1024];
  snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
  out[0] = '\0';
  FILE *f = fopen(path, "r");
  if (!f)
    return;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "0::", 3) == 0) {
      line[strcspn(line, "\n")] = '\0';
      snprintf(out, len, "%s", line);
    }
  fclose(f);
}

/* Our own cgroup v2 directory (malloc'd), found independently of the
 * plugin: a cgroup2 file system at one of the two usual places (unified,
 * or hybrid under /unified) plus our path in it; NULL without. */
static char *own_cgroup_dir(void) {
  static const char *const mounts[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
  char own[1024];
  cgroup_of(getpid(), own, sizeof own);
  for (size_t i = 0; own[0] && i < 2; i++) {
    struct statfs fs;
    if (statfs(mounts[i], &fs) == 0 && fs.f_type == 0x63677270 /* CGROUP2_SUPER_MAGIC */)
      return th_fmt("%s%s", mounts[i], strcmp(own + 3, "/") ? own + 3 : "");
  }
  return NULL;
}

static bool under_valgrind(void);

/* Whether the plugin can give a command a cgroup of its own here: our
 * cgroup is writable and a child cgroup has cgroup.kill (Linux 5.14), and
 * clone3 works (valgrind refuses it). The tests that depend on it say
 * which path they exercised. */
static bool cgroups_usable(void) {
  if (under_valgrind())
    return false;
  char *own = own_cgroup_dir();
  if (!own)
    return false;
  char *probe = th_fmt("%s/tower-test-probe.%d", own, (int)getpid());
  char *kill_file = th_fmt("%s/cgroup.kill", probe);
  bool ok = mkdir(probe, 0755) == 0 && access(kill_file, W_OK) == 0;
  rmdir(probe);
  free(kill_file);
  free(probe);
  free(own);
  return ok;
}

/* The cgroups the plugin left in our cgroup (tower-exec.<our pid>.*). */
static int leftover_cgroups(void) {
  char *own = own_cgroup_dir();
  DIR *d = own ? opendir(own) : NULL;
  free(own);
  if (!d)
    return 0;
  char *prefix = th_fmt("tower-exec.%d.", (int)getpid());
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
  closedir(d);
  free(prefix);
  return n;
}

static const char *containment_path(bool cgroups) {
  return cgroups ? "cgroup v2 (cgroup.kill)" : "process group + /proc pipe holders";
}

/* ---- data formats ------------------------------------------------------- */

START_TEST(influx_output) {
  rig r;
  char *o = th_fmt("commands = ([\"%s/influx.sh\"]);", scripts);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 0);
  assert_has(out, "disk,path=/data inodes=1234i,used_percent=41.5 ");
  assert_has(out, "net,iface=eth0 rx=10u,up=true 1700000000000000000\n");
  ck_assert_int_eq(count(out, "\n"), 2);
  free(out);
  free(o);
}
END_TEST

START_TEST(json_output) {
  rig r;
  char *o = th_fmt("commands = ([\"%s/json.sh\"]); data_format = \"json\";", scripts);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 0);
  assert_has(out, "exec a=0.5,b_c=0.1,b_d=5 ");
  free(out);
  free(o);
}
END_TEST

START_TEST(prometheus_output) {
  rig r;
  char *o = th_fmt("commands = ([\"%s/prometheus.sh\"]); data_format = \"prometheus\";", scripts);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 0);
  assert_has(out, "x509_expiry_seconds,host=a.example gauge=86400 ");
  assert_has(out, "jobs_total counter=7 ");
  free(out);
  free(o);
}
END_TEST

START_TEST(value_output) {
  rig r;
  char *o = th_fmt("commands = ([\"%s/value.sh\"]); data_format = \"value\"; "
                   "data_type = \"integer\";",
                   scripts);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 0);
  assert_has(out, "exec value=42i ");
  free(out);
  free(o);
}
END_TEST

START_TEST(garbage_output) {
  rig r;
  char *o = th_fmt("commands = ([\"%s/garbage.sh\"]);", scripts);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 1);
  assert_has(out, "good v=1i ");
  assert_has(out, "good v=2i ");
  char *log = log_text();
  char *where = th_fmt("parse error in command '%s/garbage.sh' at line 2", scripts);
  assert_has(log, where);
  assert_has(log, "garbage.sh': 1 influx parse error in its output, the bad parts skipped (2 "
                  "metrics kept); last error: line 2, column ");
  free(where);
  free(log);
  free(out);
  free(o);
}
END_TEST

/* A document format names the command too; a bad document adds nothing. */
START_TEST(json_parse_error) {
  rig r;
  char *out =
      run("commands = (\"/bin/echo '{\\\"a\\\": 1, \\\"b\\\": '\"); data_format = \"json\";", &r);
  ck_assert_int_eq(r.errors, 1);
  ck_assert_str_eq(out, "");
  char *log = log_text();
  assert_has(log, "json parse error in command '/bin/echo '{\"a\": 1, \"b\": '' at line 1");
  free(log);
  free(out);
}
END_TEST

/* ---- commands, arguments, environment ----------------------------------- */

static const char *const expected_args[] = {"a b",         "c\"d", "",    "$HOME", "*",
                                            "back\\slash", "e f",  "xyz", NULL};

/* The NUL-separated arguments argv.sh wrote match expected_args. */
static void check_args(const char *path) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  char buf[1024];
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  size_t pos = 0, i = 0;
  for (; expected_args[i]; i++) {
    ck_assert_msg(pos < len, "argument %zu missing", i);
    ck_assert_str_eq(buf + pos, expected_args[i]);
    pos += strlen(buf + pos) + 1;
  }
  ck_assert_uint_eq(pos, len);
}

START_TEST(argv_array) {
  rig r;
  char *args = th_fmt("%s/args", dir);
  char *o = th_fmt("commands = ([\"%s/argv.sh\", \"a b\", \"c\\\"d\", \"\", \"$$HOME\", \"*\", "
                   "\"back\\\\slash\", \"e f\", \"xyz\"]); environment = [\"ARGV_OUT=%s\"];",
                   scripts, args);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 0);
  assert_has(out, "argv count=8i ");
  check_args(args);
  free(out);
  free(o);
  free(args);
}
END_TEST

START_TEST(string_split) {
  rig r;
  char *args = th_fmt("%s/args", dir);
  char *cmd = th_fmt("  %s/argv.sh 'a b' \"c\\\"d\" '' '$$HOME' \\* back\\\\slash\te\\ f "
                     "\"x\"'y'z\\\n  ",
                     scripts);
  char *q = lc(cmd);
  char *o = th_fmt("commands = (%s); environment = [\"ARGV_OUT=%s\"];", q, args);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 0);
  assert_has(out, "argv count=8i ");
  check_args(args);
  free(out);
  free(o);
  free(q);
  free(cmd);
  free(args);
}
END_TEST

/* A Telegraf-style array of strings: each one a command; relative program
 * names are looked up in PATH. */
START_TEST(string_array_and_path) {
  rig r;
  char *o = th_fmt("commands = [\"sh -c 'echo a v=1i'\", \"%s/influx.sh\"];", scripts);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 0);
  assert_has(out, "a v=1i ");
  assert_has(out, "disk,path=/data ");
  free(out);
  free(o);
}
END_TEST

START_TEST(shell_option) {
  rig r;
  char *out = run("commands = (\"echo 'sh v='$((40 + 2))i | cat\"); shell = true;", &r);
  ck_assert_int_eq(r.errors, 0);
  assert_has(out, "sh v=42i ");
  free(out);
}
END_TEST

START_TEST(environment) {
  rig r;
  char *o = th_fmt("commands = ([\"%s/env.sh\"]); "
                   "environment = [\"EXEC_A=first\", \"HOME=/nowhere\", \"EXEC_A=hello world\"];",
                   scripts);
  setenv("EXEC_A", "from tower", 1);
  char *out = run(o, &r);
  unsetenv("EXEC_A");
  ck_assert_int_eq(r.errors, 0);
  assert_has(out, "env a=\"hello world\",home=\"/nowhere\",path=true ");
  free(out);
  free(o);
}
END_TEST

/* What a command inherits: an empty signal mask and default dispositions
 * although the calling thread blocks and ignores signals as tower's threads
 * do; its own process group; /dev/null as stdin; no stray descriptors. */
START_TEST(child_environment) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGHUP);
  sigaddset(&block, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  void (*oldpipe)(int) = signal(SIGPIPE, SIG_IGN);
  int leak = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
  ck_assert_int_ge(leak, 3);
  rig r;
  char *o = th_fmt("commands = ([\"%s/proc.sh\"], "
                   "[\"/bin/sh\", \"-c\", \"[ -e /proc/self/fd/%d ] && echo fd leak=1i || echo fd "
                   "leak=0i\"]);",
                   scripts, leak);
  char *out = run(o, &r);
  close(leak);
  signal(SIGPIPE, oldpipe);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  ck_assert_int_eq(r.errors, 0);
  assert_has(out, "proc blk=\"0000000000000000\",ign=\"");
  assert_has(out, "\",leader=true,stdin=\"/dev/null\" ");
  /* Nothing ignored, SIGPIPE included, but for glibc's two internal
   * signals (32 and 33), which its posix_spawn sets to SIG_IGN in every
   * child it starts (a glibc limitation, see README.md). */
  unsigned long long ign = 0;
  ck_assert_int_eq(sscanf(strstr(out, "ign=\"") + 5, "%llx", &ign), 1);
  ck_assert_msg((ign & ~0x180000000ULL) == 0, "ignored signals: %llx", ign);
  assert_has(out, "fd leak=0i ");
  free(out);
  free(o);
}
END_TEST

/* ---- the word splitter, directly ----------------------------------------- */

START_TEST(split_words) {
  static const struct {
    const char *text;
    const char *words[8]; /* NULL-terminated */
  } ok[] = {
      {"a", {"a"}},
      {"  a\tb \n c  ", {"a", "b", "c"}},
      {"'a b' \"c d\"", {"a b", "c d"}},
      {"'' \"\"", {"", ""}},
      {"a'b'\"c\"d", {"abcd"}},
      {"\\  \\\\ \\'", {" ", "\\", "'"}},
      {"\"\\$x \\` \\\" \\\\ \\n\"", {"$x ` \" \\ \\n"}},
      {"'$HOME' '*' '|' '#' '~'", {"$HOME", "*", "|", "#", "~"}},
      {"a\\\nb", {"ab"}},
      {"a#b x~y = ! { }", {"a#b", "x~y", "=", "!", "{", "}"}},
      {"\"a\\\nb\"", {"ab"}},
      {"/x --opt=val", {"/x", "--opt=val"}},
      {"/x 'it'\\''s'", {"/x", "it's"}},
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    char **argv = NULL, err[256] = "";
    ck_assert_msg(exec_split(ok[i].text, &argv, err, sizeof err) == 0, "case %zu: %s", i, err);
    size_t n = 0;
    for (; ok[i].words[n]; n++) {
      ck_assert_msg(argv[n] != NULL, "case %zu: word %zu missing", i, n);
      ck_assert_str_eq(argv[n], ok[i].words[n]);
    }
    ck_assert_msg(argv[n] == NULL, "case %zu: extra word \"%s\"", i, argv[n]);
    free(argv);
  }
  static const char *const bad[] = {
      "",   " \t\n", "a|b", "a;b", "a&",     "a>b",     "a<b", "(a)", "$x",  "`x`",   "a*",
      "a?", "[a]",   "#x",  "~x",  "\"$x\"", "\"`x`\"", "'a",  "\"a", "a\\", "X=1 a", "_x=1"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char **argv = NULL, err[256] = "";
    ck_assert_msg(exec_split(bad[i], &argv, err, sizeof err) == -EINVAL, "accepted \"%s\"", bad[i]);
    ck_assert_msg(err[0], "no message for \"%s\"", bad[i]);
  }
}
END_TEST

START_TEST(join_words) {
  const char *argv[] = {"/bin/x", "a b", "it's", "", "--k=v", NULL};
  char *s = exec_join(argv, 200);
  ck_assert_str_eq(s, "/bin/x 'a b' 'it'\\''s' '' --k=v");
  /* what exec_join writes, exec_split reads back */
  char **back = NULL, err[128];
  ck_assert_int_eq(exec_split(s, &back, err, sizeof err), 0);
  for (size_t i = 0; argv[i]; i++)
    ck_assert_str_eq(back[i], argv[i]);
  free(back);
  free(s);
  s = exec_join(argv, 10);
  ck_assert_str_eq(s, "/bin/x ...");
  free(s);
}
END_TEST

/* ---- configuration errors ----------------------------------------------- */

/* The diagnostics of a config that must be rejected. */
static char *rejected(const char *opts) {
  char *c = config(opts), *errors = NULL;
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  if (pl && twi_pipeline_init(pl) == 0)
    ck_abort_msg("accepted: %s", opts);
  if (pl)
    th_free(pl);
  free(c);
  char *log = log_text();
  char *all = th_fmt("%s\n%s", errors ? errors : "", log);
  free(errors);
  free(log);
  return all;
}

START_TEST(config_errors) {
  static const struct {
    const char *opts, *want;
  } cases[] = {
      {"commands = (\"/bin/ps aux | grep x\");", "column 13: '|' is shell syntax"},
      {"commands = (\"/bin/echo 'oops\");", "column 11: unterminated single quote"},
      {"commands = (\"/bin/echo \\\"oops\");", "column 11: unterminated double quote"},
      {"commands = (\"/bin/echo $$HOME\");", "column 11: '$' is a shell expansion"},
      {"commands = (\"/bin/echo \\\"$$HOME\\\"\");", "'$' inside double quotes"},
      {"commands = (\"/tmp/collect_*.sh\");", "'*' is a glob"},
      {"commands = (\"/bin/echo ~/x\");", "home directory expansion"},
      {"commands = (\"/bin/echo x \\\\\");", "a backslash ends the command"},
      {"commands = (\"FOO=1 /bin/true\");", "use environment = [\"FOO=...\"]"},
      {"commands = (\"   \");", "the command is empty"},
      {"commands = ();", "commands is empty"},
      {"commands = ([]);", "commands[0] is an empty argv array"},
      {"commands = ([\"\"]);", "the program name is empty"},
      {"commands = (5);", "commands[0] must be a string or an argv array"},
      {"commands = 5;", "commands must be a list of commands"},
      {"commands = [\"/app/check.sh\", \"--fast\"];", "commands[1] = \"--fast\" looks like an "
                                                      "argument"},
      {"commands = (\"/bin/true\"); environment = [\"NOEQUALS\"];",
       "environment[0] = \"NOEQUALS\" must look like \"KEY=value\""},
      {"environment = [];", "option \"commands\" is required"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    ck_assert_int_eq(truncate(logpath, 0), 0);
    char *text = rejected(cases[i].opts);
    ck_assert_msg(strstr(text, cases[i].want), "case %zu (%s): want \"%s\" in:\n%s", i,
                  cases[i].opts, cases[i].want, text);
    ck_assert_msg(strstr(text, "tower.conf:2"), "case %zu: no file:line in:\n%s", i, text);
    free(text);
  }
}
END_TEST

/* ---- failures ----------------------------------------------------------- */

/* valgrind runs a vfork child as a forked one, so glibc's posix_spawn
 * cannot pass a failed exec's errno back: the child just exits with 127. */
static bool under_valgrind(void) {
  const char *p = getenv("LD_PRELOAD");
  return p && strstr(p, "vgpreload");
}

START_TEST(missing_program) {
  rig r;
  char *out = run("commands = (\"/nonexistent/x --flag\", [\"no-such-program-for-tower\"]);", &r);
  ck_assert_int_eq(r.errors, 2);
  ck_assert_str_eq(out, "");
  char *log = log_text();
  if (under_valgrind()) {
    assert_has(log, "command '/nonexistent/x --flag' exited with status");
    free(log);
    free(out);
    return;
  }
  assert_has(log, "cannot run '/nonexistent/x': No such file or directory (check the path)");
  assert_has(log, "cannot run 'no-such-program-for-tower': No such file or directory (not found "
                  "in tower's PATH)");
  free(log);
  free(out);
}
END_TEST

START_TEST(nonzero_exit) {
  rig r;
  char *o = th_fmt("commands = ([\"%s/fail.sh\"]);", scripts);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 1);
  ck_assert_str_eq(out, "");
  char *log = log_text();
  char *msg = th_fmt("E! [inputs.exec] command '%s/fail.sh' exited with status 3; its output is "
                     "not parsed (set ignore_error to parse it); last stderr line: something "
                     "broke\n",
                     scripts);
  assert_has(log, msg);
  assert_has(log, "W! [inputs.exec] command '");
  assert_has(log, "fail.sh': first problem\n");
  free(msg);
  free(log);
  free(out);
  free(o);
}
END_TEST

START_TEST(nonzero_exit_ignored) {
  rig r;
  char *o = th_fmt("commands = ([\"%s/fail.sh\"], [\"/bin/sh\", \"-c\", \"echo sig v=1i; kill -9 "
                   "$$\"]); ignore_error = true;",
                   scripts);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 0);
  assert_has(out, "partial v=1i ");
  assert_has(out, "sig v=1i ");
  free(out);
  free(o);
}
END_TEST

START_TEST(killed_by_signal) {
  rig r;
  char *out = run("commands = ([\"/bin/sh\", \"-c\", \"echo x v=1i; kill -9 $$\"]);", &r);
  ck_assert_int_eq(r.errors, 1);
  ck_assert_str_eq(out, "");
  char *log = log_text();
  assert_has(log, "-c 'echo x v=1i; kill -9 $$'' was killed by signal 9 (Killed)");
  free(log);
  free(out);
}
END_TEST

START_TEST(oversized_output) {
  rig r;
  char *o = th_fmt("commands = ([\"%s/big.sh\"], [\"%s/big.sh\", \"10\"]); max_output = \"1KiB\";",
                   scripts, scripts);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 1);
  /* only the small run is parsed: 10 lines of 9 bytes fit in 1 KiB */
  ck_assert_int_eq(count(out, "big v=1i "), 10);
  ck_assert_double_lt(r.seconds, 3.0);
  char *log = log_text();
  assert_has(log, "wrote more than max_output (1024 bytes) to stdout; it was killed and its "
                  "output discarded");
  free(log);
  free(out);
  free(o);
  ck_assert_int_eq(zombie_children(), 0);
}
END_TEST

START_TEST(stderr_flood) {
  rig r;
  char *o = th_fmt("commands = ([\"%s/flood.sh\"]);", scripts);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 0);
  assert_has(out, "flood v=1i ");
  ck_assert_double_lt(r.seconds, 10.0);
  char *log = log_text();
  /* 10 relayed (stderr_lines); the core's limiter prints 5 of them */
  int shown = count(log, "': noise on stderr\n");
  ck_assert_msg(shown >= 1 && shown <= 10, "%d noise lines in the log", shown);
  assert_has(log, "flood.sh': 99990 more stderr lines suppressed (stderr_lines = 10)\n");
  ck_assert_int_le(count(log, "\n"), 12);
  free(log);
  free(out);
  free(o);
}
END_TEST

START_TEST(stderr_levels) {
  rig r;
  char *o = th_fmt("commands = ([\"%s/levels.sh\"]);", scripts);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 0);
  assert_has(out, "lv v=1i ");
  char *log = log_text();
  assert_has(log, "levels.sh': an error\n");
  assert_has(log, " E! [inputs.exec] command '");
  assert_has(log, " I! [inputs.exec] command '");
  assert_has(log, "levels.sh': some info\n");
  assert_has(log, "levels.sh': plain warning\n");
  assert_lacks(log, "debug detail");
  free(log);
  free(out);
  free(o);
}
END_TEST

START_TEST(stderr_not_relayed) {
  rig r;
  char *o = th_fmt("commands = ([\"%s/fail.sh\"]); stderr_lines = 0;", scripts);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 1);
  char *log = log_text();
  assert_lacks(log, "': first problem");
  assert_has(log, "2 more stderr lines suppressed");
  assert_has(log, "last stderr line: something broke");
  free(log);
  free(out);
  free(o);
}
END_TEST

/* With SIGCHLD ignored the kernel reaps children itself: the run ends at
 * once (not at the timeout) and says that its status was lost. */
START_TEST(sigchld_ignored) {
  void (*old)(int) = signal(SIGCHLD, SIG_IGN);
  rig r;
  char *out = run("commands = (\"/bin/echo x v=1i\"); timeout = \"10s\";", &r);
  signal(SIGCHLD, old);
  ck_assert_int_eq(r.errors, 1);
  ck_assert_double_lt(r.seconds, 5.0);
  char *log = log_text();
  assert_has(log, "command '/bin/echo x v=1i': its exit status was lost");
  free(log);
  free(out);
}
END_TEST

/* ---- timeouts and process trees ----------------------------------------- */

/* A script and its sleeping child, killed at the timeout by SIGTERM on the
 * whole group: the gather takes about the timeout, not the 300 s sleep. */
START_TEST(timeout_kills_tree) {
  rig r;
  char *pids = th_fmt("%s/pids", dir);
  char *o = th_fmt("commands = ([\"%s/tree.sh\", \"%s\"]); timeout = \"1s\"; kill_grace = \"5s\";",
                   scripts, pids);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 1);
  ck_assert_str_eq(out, "");
  ck_assert_double_ge(r.seconds, 0.9);
  ck_assert_double_lt(r.seconds, 3.0);
  pid_t child, shell;
  read_pids(pids, &child, &shell);
  ck_assert_msg(dies(child), "background child %d survived", (int)child);
  ck_assert_msg(dies(shell), "script %d survived", (int)shell);
  ck_assert_int_eq(zombie_children(), 0);
  char *log = log_text();
  assert_has(log, "tree.sh ");
  assert_has(log, "' timed out after 1s; its process group was killed and its output discarded");
  free(log);
  free(out);
  free(o);
  free(pids);
}
END_TEST

/* Both processes ignore SIGTERM: SIGKILL after kill_grace ends them; the
 * gather takes timeout + grace. */
START_TEST(timeout_then_sigkill) {
  rig r;
  char *pids = th_fmt("%s/pids", dir);
  char *o = th_fmt("commands = ([\"%s/tree.sh\", \"%s\", \"ignore\"]); timeout = \"500ms\"; "
                   "kill_grace = \"500ms\";",
                   scripts, pids);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 1);
  ck_assert_double_ge(r.seconds, 0.95);
  ck_assert_double_lt(r.seconds, 2.5);
  pid_t child, shell;
  read_pids(pids, &child, &shell);
  ck_assert_msg(dies(child), "background child %d survived", (int)child);
  ck_assert_msg(dies(shell), "script %d survived", (int)shell);
  ck_assert_int_eq(zombie_children(), 0);
  free(out);
  free(o);
  free(pids);
}
END_TEST

/* The script exits at once but its background child keeps stdout open:
 * tower waits for EOF until the timeout, kills the group, keeps the
 * output (the script did finish) and reports the lingering processes. */
START_TEST(background_child_keeps_stdout) {
  rig r;
  char *pids = th_fmt("%s/pids", dir);
  char *o = th_fmt("commands = ([\"%s/linger.sh\", \"%s\"]); timeout = \"1s\";", scripts, pids);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 1);
  assert_has(out, "linger v=1i ");
  ck_assert_double_ge(r.seconds, 0.9);
  ck_assert_double_lt(r.seconds, 3.0);
  pid_t child, shell;
  read_pids(pids, &child, &shell);
  ck_assert_msg(dies(child), "background child %d survived", (int)child);
  ck_assert_int_eq(zombie_children(), 0);
  char *log = log_text();
  assert_has(log, "exited, but processes it started kept its stdout or stderr open until the 1s "
                  "timeout; they were killed");
  free(log);
  free(out);
  free(o);
  free(pids);
}
END_TEST

/* ---- processes that leave the process group ----------------------------- */

/* Runs escape.sh in MODE; returns the escaped pid, the log in *log. */
static pid_t run_escape(const char *mode, const char *extra, rig *r, char **out, char **log) {
  char *pids = th_fmt("%s/pids", dir);
  char *o = th_fmt("commands = ([\"%s/escape.sh\", \"%s\", \"%s\"]); timeout = \"1s\"; "
                   "kill_grace = \"200ms\"; %s",
                   scripts, pids, mode, extra);
  *out = run(o, r);
  pid_t esc, shell;
  read_pids(pids, &esc, &shell);
  *log = log_text();
  free(o);
  free(pids);
  return esc;
}

/* A process that double-forked into a session of its own keeps stdout
 * open after the script exits. With cgroup = false (the path that works
 * everywhere) SIGKILL to the group misses it: tower finds it through the
 * pipe it holds, kills it and says so. */
START_TEST(escaped_holder_found_by_pipe) {
  rig r;
  char *out, *log;
  pid_t esc = run_escape("held", "cgroup = false;", &r, &out, &log);
  ck_assert_int_eq(r.errors, 1);
  assert_has(out, "esc v=1i ");
  ck_assert_double_lt(r.seconds, 3.0);
  ck_assert_msg(dies(esc), "escaped process %d survived", (int)esc);
  char *want = th_fmt("e.g. >/dev/null 2>&1); 1 process that had left its process group (pid %d) "
                      "held its stdout or stderr and was killed too\n",
                      (int)esc);
  assert_has(log, want);
  ck_assert_int_eq(zombie_children(), 0);
  free(want);
  free(log);
  free(out);
}
END_TEST

/* The same with the default cgroup = true: where cgroups are usable the
 * process dies by cgroup.kill, else tower falls back to the pipe search.
 * Either way no cgroup of the instance is left behind. */
START_TEST(escaped_holder_default) {
  bool cg = cgroups_usable();
  fprintf(stderr, "escaped_holder_default: %s\n", containment_path(cg));
  rig r;
  char *out, *log;
  pid_t esc = run_escape("held", "", &r, &out, &log);
  ck_assert_int_eq(r.errors, 1);
  assert_has(out, "esc v=1i ");
  ck_assert_msg(dies(esc), "escaped process %d survived", (int)esc);
  char *want =
      th_fmt("1 process that had left its process group (pid %d) %s\n", (int)esc,
             cg ? "was killed through its cgroup" : "held its stdout or stderr and was killed too");
  assert_has(log, want);
  ck_assert_int_eq(leftover_cgroups(), 0);
  free(want);
  free(log);
  free(out);
}
END_TEST

/* A process in a session of its own with its output redirected, and a
 * script that times out. Only a cgroup reaches it: where cgroups are
 * usable it is killed and named; elsewhere it survives, and the message
 * claims no more than the truth (the process group was killed). */
START_TEST(escaped_quiet) {
  bool cg = cgroups_usable();
  fprintf(stderr, "escaped_quiet: %s\n", containment_path(cg));
  rig r;
  char *out, *log;
  pid_t esc = run_escape("quiet", "", &r, &out, &log);
  ck_assert_int_eq(r.errors, 1);
  ck_assert_str_eq(out, "");
  assert_has(log, "timed out after 1s; its process group was killed and its output discarded");
  if (cg) {
    ck_assert_msg(dies(esc), "escaped process %d survived its cgroup's kill", (int)esc);
    char *want = th_fmt("(raise timeout if it needs longer); 1 process that had left its process "
                        "group (pid %d) was killed through its cgroup\n",
                        (int)esc);
    assert_has(log, want);
    free(want);
  } else {
    ck_assert_msg(!dead(esc), "escaped process %d died: who killed it?", (int)esc);
    assert_lacks(log, "left its process group");
    kill_leftover(esc);
  }
  ck_assert_int_eq(leftover_cgroups(), 0);
  free(log);
  free(out);
}
END_TEST

/* cgroup = false: the process group is all tower kills; the escaped
 * process survives and is not claimed killed. */
START_TEST(escaped_quiet_without_cgroup) {
  rig r;
  char *out, *log;
  pid_t esc = run_escape("quiet", "cgroup = false;", &r, &out, &log);
  ck_assert_int_eq(r.errors, 1);
  ck_assert_msg(!dead(esc), "escaped process %d died without a cgroup", (int)esc);
  assert_has(log, "timed out after 1s; its process group was killed");
  assert_lacks(log, "left its process group");
  kill_leftover(esc);
  free(log);
  free(out);
}
END_TEST

/* A successful command's background daemon (output redirected) is left
 * running, as without cgroups; with them it is moved to our own cgroup so
 * that the command's cgroup can go. */
START_TEST(background_daemon_left_running) {
  bool cg = cgroups_usable();
  fprintf(stderr, "background_daemon_left_running: %s\n", containment_path(cg));
  rig r;
  char *bg = th_fmt("%s/bg", dir);
  char *o = th_fmt("commands = ([\"/bin/sh\", \"-c\", \"sleep 300 >/dev/null 2>&1 & echo $! > "
                   "%s; echo bg v=1i\"]);",
                   bg);
  rig_start(&r, o);
  char *out = rig_gather(&r);
  th_free(r.pl);
  ck_assert_int_eq(r.errors, 0);
  assert_has(out, "bg v=1i ");
  pid_t pid = pid_in(bg);
  ck_assert_int_gt(pid, 0);
  ck_assert_msg(!dead(pid), "the background daemon %d was killed", (int)pid);
  char mine[1024], its[1024];
  cgroup_of(getpid(), mine, sizeof mine);
  cgroup_of(pid, its, sizeof its);
  ck_assert_str_eq(its, mine);
  ck_assert_int_eq(leftover_cgroups(), 0);
  kill_leftover(pid);
  free(out);
  free(o);
  free(bg);
}
END_TEST

/* The empty cgroups of a tower that was killed without cleaning up (a
 * pid that no longer runs) are removed when an instance starts. */
START_TEST(stale_cgroups_removed) {
  if (!cgroups_usable()) {
    fprintf(stderr, "stale_cgroups_removed: no usable cgroup v2 here, nothing to test\n");
    return;
  }
  pid_t gone = fork();
  if (gone == 0)
    _exit(0);
  ck_assert_int_gt(gone, 0);
  ck_assert_int_eq(waitpid(gone, NULL, 0), gone);
  char *own = own_cgroup_dir();
  char *stale = th_fmt("%s/tower-exec.%d.1", own, (int)gone);
  char *cmd = th_fmt("%s/cmd0-0", stale);
  ck_assert_int_eq(mkdir(stale, 0755), 0);
  ck_assert_int_eq(mkdir(cmd, 0755), 0);
  rig r;
  char *out = run("commands = (\"/bin/echo x v=1i\");", &r);
  ck_assert_int_eq(r.errors, 0);
  bool removed = access(stale, F_OK) != 0;
  rmdir(cmd);
  rmdir(stale);
  ck_assert_msg(removed, "stale cgroup %s left", stale);
  free(out);
  free(cmd);
  free(stale);
  free(own);
}
END_TEST

/* In a child process moved to `unit` (a systemd-style cgroup), gathers a
 * command that prints its cgroup; returns that line protocol. */
static char *cgroup_seen_from(const char *unit) {
  char *path = th_fmt("%s/seen", dir);
  pid_t pid = fork();
  if (pid == 0) {
    char *procs = th_fmt("%s/cgroup.procs", unit);
    char *me = th_fmt("%d", (int)getpid());
    char *opts = th_fmt("commands = ([\"%s/cgroup.sh\"]);", scripts);
    rig r;
    char *out = th_write_file(procs, me) == 0 ? run(opts, &r) : NULL;
    _exit(out && th_write_file(path, out) == 0 ? 0 : 1);
  }
  int st = 0;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child in %s failed", unit);
  char *out = th_read_file(path);
  free(path);
  return out;
}

/* systemd lets a service divide its cgroup only with Delegate=yes, which
 * it marks with the trusted.delegate xattr: without it commands run in
 * the unit's cgroup, with it in their own. */
START_TEST(systemd_unit_needs_delegation) {
  if (!cgroups_usable()) {
    fprintf(stderr, "systemd_unit_needs_delegation: no usable cgroup v2 here, nothing to test\n");
    return;
  }
  char *own = own_cgroup_dir();
  char *unit = th_fmt("%s/tower-test-%d.service", own, (int)getpid());
  ck_assert_int_eq(mkdir(unit, 0755), 0);
  char *plain = cgroup_seen_from(unit);
  int rc = setxattr(unit, "trusted.delegate", "1", 1, 0);
  char *delegated = rc == 0 ? cgroup_seen_from(unit) : NULL;
  rmdir(unit);
  ck_assert_ptr_nonnull(plain);
  assert_has(plain, ".service\" ");
  assert_lacks(plain, "tower-exec.");
  ck_assert_msg(rc == 0, "cannot set trusted.delegate on %s", unit);
  assert_has(delegated, ".service/tower-exec.");
  free(plain);
  free(delegated);
  free(unit);
  free(own);
}
END_TEST

/* ---- parallelism, reuse, shutdown --------------------------------------- */

START_TEST(parallel_commands) {
  rig r;
  char *o = th_fmt("commands = ([\"%s/sleep1.sh\", \"1\"], [\"%s/sleep1.sh\", \"2\"], "
                   "[\"%s/sleep1.sh\", \"3\"]);",
                   scripts, scripts, scripts);
  char *out = run(o, &r);
  ck_assert_int_eq(r.errors, 0);
  assert_has(out, "par,n=1 v=1i ");
  assert_has(out, "par,n=2 v=1i ");
  assert_has(out, "par,n=3 v=1i ");
  ck_assert_double_ge(r.seconds, 0.95);
  ck_assert_double_lt(r.seconds, 1.8);
  free(out);
  free(o);
}
END_TEST

/* Many gathers of one instance: buffers and parsers are reused, every run
 * is reaped, failures of one gather do not leak into the next. */
START_TEST(repeated_gathers_no_zombies) {
  rig r;
  char *o = th_fmt("commands = ([\"%s/influx.sh\"], [\"%s/fail.sh\"], [\"%s/big.sh\", \"2000\"], "
                   "[\"/nonexistent\"]); max_output = \"8KiB\";",
                   scripts, scripts, scripts);
  rig_start(&r, o);
  for (int i = 0; i < 20; i++) {
    char *out = rig_gather(&r);
    ck_assert_int_eq(r.errors, 3);
    ck_assert_int_eq(count(out, "\n"), 2);
    free(out);
    ck_assert_int_eq(zombie_children(), 0);
  }
  th_free(r.pl);
  free(o);
}
END_TEST

static void *stop_soon(void *arg) {
  usleep(300000);
  atomic_store(&((tower_ctx *)arg)->stopping, true);
  return NULL;
}

/* A shutdown during a long gather ends the commands at once. */
START_TEST(stopping_kills_early) {
  rig r;
  char *pids = th_fmt("%s/pids", dir);
  char *o = th_fmt("commands = ([\"%s/tree.sh\", \"%s\"]); timeout = \"60s\";", scripts, pids);
  rig_start(&r, o);
  pthread_t t;
  pthread_create(&t, NULL, stop_soon, r.pl->inputs[0]);
  char *out = rig_gather(&r);
  pthread_join(t, NULL);
  ck_assert_int_eq(r.errors, 0);
  ck_assert_str_eq(out, "");
  ck_assert_double_lt(r.seconds, 2.0);
  pid_t child, shell;
  read_pids(pids, &child, &shell);
  ck_assert_msg(dies(child), "background child %d survived", (int)child);
  ck_assert_msg(dies(shell), "script %d survived", (int)shell);
  th_free(r.pl);
  ck_assert_int_eq(zombie_children(), 0);
  char *log = log_text();
  assert_has(log, "I! [inputs.exec] command '");
  assert_has(log, "' stopped: the input is shutting down");
  free(log);
  free(out);
  free(o);
  free(pids);
}
END_TEST

/* What stop_when_done waits for: the files the commands write, and the
 * exit of those that must have finished before the stop. */
typedef struct {
  tower_ctx *in;
  const char *files[3];
  bool must_exit[3];
} stop_plan;

static void *stop_when_done(void *arg) {
  stop_plan *p = arg;
  for (int i = 0; i < 3 && p->files[i]; i++) {
    if (!appears(p->files[i]))
      break;
    pid_t pid = pid_in(p->files[i]);
    for (int k = 0; p->must_exit[i] && k < 500 && !exited(pid); k++)
      usleep(10000);
  }
  atomic_store(&p->in->stopping, true);
  return NULL;
}

/* A reload or shutdown in the middle of a gather keeps what was complete:
 * a command that had printed everything and exited, and one that had
 * exited with its stdout closed while a background process still held its
 * stderr (that process is killed). A command still running is killed and
 * its partial output dropped. The gather returns at once. */
START_TEST(stop_keeps_finished_output) {
  char *fast = th_fmt("%s/fast", dir), *held = th_fmt("%s/held", dir),
       *slow = th_fmt("%s/slow", dir);
  char *o = th_fmt(
      "commands = ([\"/bin/sh\", \"-c\", \"echo fast x=1i; echo $$ > %s\"], "
      "[\"/bin/sh\", \"-c\", \"echo kept x=2i; sleep 300 >/dev/null & echo $$ $! > %s\"], "
      "[\"/bin/sh\", \"-c\", \"echo partial x=3i; echo $$ > %s.tmp; mv %s.tmp %s; exec sleep "
      "300\"]); timeout = \"60s\";",
      fast, held, slow, slow, slow);
  rig r;
  rig_start(&r, o);
  stop_plan plan = {r.pl->inputs[0], {fast, held, slow}, {true, true, false}};
  pthread_t t;
  pthread_create(&t, NULL, stop_when_done, &plan);
  char *out = rig_gather(&r);
  pthread_join(t, NULL);
  ck_assert_int_eq(r.errors, 0);
  assert_has(out, "fast x=1i ");
  assert_has(out, "kept x=2i ");
  assert_lacks(out, "partial");
  ck_assert_double_lt(r.seconds, 3.0);
  pid_t leader, bg;
  read_pids(held, &leader, &bg);
  ck_assert_msg(dies(bg), "the background process %d of a stopped command survived", (int)bg);
  pid_t slow_pid = pid_in(slow);
  ck_assert_msg(dies(slow_pid), "the running command %d survived the stop", (int)slow_pid);
  th_free(r.pl);
  ck_assert_int_eq(zombie_children(), 0);
  char *log = log_text();
  assert_has(log, "I! [inputs.exec] command '/bin/sh -c 'echo kept x=2i; sleep 300 >/dev/null & "
                  "echo $$ $! > ");
  assert_has(log, "' stopped: the input is shutting down; its output was complete and is kept\n");
  assert_has(log, "exec sleep 300'' stopped: the input is shutting down; it was killed and its "
                  "partial output discarded\n");
  assert_lacks(log, "echo fast x=1i; echo $$ > ");
  free(log);
  free(out);
  free(o);
  free(fast);
  free(held);
  free(slow);
}
END_TEST

/* A command that ignores SIGTERM and is already being killed with a long
 * kill_grace gets at most a second more once the agent stops. */
START_TEST(stopping_shortens_grace) {
  rig r;
  char *pids = th_fmt("%s/pids", dir);
  char *o = th_fmt("commands = ([\"%s/tree.sh\", \"%s\", \"ignore\"]); timeout = \"100ms\"; "
                   "kill_grace = \"30s\";",
                   scripts, pids);
  rig_start(&r, o);
  pthread_t t;
  pthread_create(&t, NULL, stop_soon, r.pl->inputs[0]);
  char *out = rig_gather(&r);
  pthread_join(t, NULL);
  ck_assert_double_lt(r.seconds, 2.5);
  pid_t child, shell;
  read_pids(pids, &child, &shell);
  ck_assert_msg(dies(child), "background child %d survived", (int)child);
  ck_assert_msg(dies(shell), "script %d survived", (int)shell);
  th_free(r.pl);
  ck_assert_int_eq(zombie_children(), 0);
  free(out);
  free(o);
  free(pids);
}
END_TEST

/* ---- --config-check ----------------------------------------------------- */

/* Builds the pipeline and runs init in check mode; returns the number of
 * plugins that refused, with the log in *log. */
static int check_only(const char *opts, char **log) {
  ck_assert_int_eq(truncate(logpath, 0), 0);
  char *c = config(opts), *errors = NULL;
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  ck_assert_msg(pl, "build failed: %s", errors ? errors : "");
  int failed = twi_pipeline_check(pl);
  th_free(pl);
  free(errors);
  free(c);
  *log = log_text();
  return failed;
}

/* A file in dir with `text` and `mode`; its path (malloc'd). */
static char *script(const char *name, const char *text, mode_t mode) {
  char *p = th_fmt("%s/%s", dir, name);
  ck_assert_int_eq(th_write_file(p, text), 0);
  ck_assert_int_eq(chmod(p, mode), 0);
  return p;
}

/* Commands that can start pass, and none of them is run. */
START_TEST(check_runs_nothing) {
  char *ran = th_fmt("%s/ran", dir);
  char *ok = script("ok.sh", "#!/bin/sh\necho m v=1i\n", 0755);
  char *opts =
      th_fmt("commands = ([\"/bin/touch\", \"%s\"], \"touch %s\", [\"%s\"], \"sh -c true\");", ran,
             ran, ok);
  char *log;
  ck_assert_msg(check_only(opts, &log) == 0, "log: %s", log);
  ck_assert_int_ne(access(ran, F_OK), 0);
  assert_lacks(log, "E!");
  free(log);
  free(opts);
  free(ok);
  free(ran);
}
END_TEST

START_TEST(check_missing_and_unrunnable) {
  char *plain = script("plain.sh", "#!/bin/sh\n", 0644);
  char *file = script("file", "x", 0644);
  char *opts = th_fmt("commands = ([\"%s/bin/check.sh\"], [\"%s\"], [\"%s/nope/x\"], [\"%s\"]);",
                      file, plain, dir, dir);
  char *log;
  ck_assert_int_eq(check_only(opts, &log), 1);
  char *want = th_fmt("commands[0] \"%s/bin/check.sh\": %s is not a directory (it is a regular "
                      "file); fix the path in commands, or install the program there",
                      file, file);
  assert_has(log, want);
  free(want);
  want = th_fmt("commands[1] \"%s\": %s is not executable by uid %ld (mode 0644, owner ", plain,
                plain, (long)geteuid());
  assert_has(log, want);
  assert_has(log, "make it executable (chmod +x)");
  free(want);
  want = th_fmt("commands[2] \"%s/nope/x\": %s/nope does not exist", dir, dir);
  assert_has(log, want);
  free(want);
  want = th_fmt("commands[3] \"%s\": %s is a directory, not a regular file", dir, dir);
  assert_has(log, want);
  free(want);
  assert_has(log, "tower.conf:2:");
  assert_has(log, "[inputs.exec] initialization failed; fix the error above");
  assert_lacks(log, "Invalid argument");
  free(log);
  free(opts);
  free(plain);
  free(file);
}
END_TEST

/* A relative path depends on the agent's working directory, which a check
 * run from a shell does not share: not found, it is a warning. */
START_TEST(check_relative_path) {
  char *log;
  ck_assert_int_eq(check_only("commands = ([\"tower-no-dir/check.sh\"]);", &log), 0);
  assert_has(log, "W! [inputs.exec] ");
  assert_has(log, "tower.conf:2: commands[0] \"tower-no-dir/check.sh\" is relative to tower's "
                  "working directory; from this check's (");
  assert_has(log, "): tower-no-dir does not exist; unless the agent runs elsewhere, give an "
                  "absolute path");
  assert_lacks(log, "E!");
  free(log);
}
END_TEST

/* A bare name is looked up in tower's PATH, which the message lists;
 * a PATH given in `environment` is not the one searched. */
START_TEST(check_not_in_path) {
  char *bin = th_fmt("%s/bin", dir);
  ck_assert_int_eq(mkdir(bin, 0755), 0);
  char *tool = script("bin/tower-test-tool", "#!/bin/sh\n", 0755);
  char *plain = script("bin/tower-plain-tool", "#!/bin/sh\n", 0644);
  char *old = strdup(getenv("PATH") ? getenv("PATH") : "");
  char *path = th_fmt("/nonexistent:%s", bin);
  setenv("PATH", path, 1);
  char *log;
  int failed = check_only("commands = (\"tower-test-tool --x\", \"tower-no-such-tool\", "
                          "[\"tower-plain-tool\"]); environment = [\"PATH=/elsewhere\"];",
                          &log);
  setenv("PATH", old, 1);
  ck_assert_int_eq(failed, 1);
  char *want = th_fmt("commands[1]: 'tower-no-such-tool' is not in PATH (%s) (programs are "
                      "looked up in tower's own PATH; the PATH set in `environment` is only the "
                      "command's); give the full path",
                      path);
  assert_has(log, want);
  free(want);
  want = th_fmt("commands[2]: 'tower-plain-tool' is not in PATH (%s); %s is not executable by",
                path, plain);
  assert_has(log, want);
  assert_lacks(log, "commands[0]");
  free(want);
  free(log);
  free(path);
  free(old);
  free(plain);
  free(tool);
  free(bin);
}
END_TEST

/* A script whose interpreter cannot run fails with ENOENT at run time,
 * as if the script itself were missing: the check names the interpreter. */
START_TEST(check_interpreters) {
  char *crlf = script("crlf.sh", "#!/bin/sh\r\necho m v=1i\r\n", 0755);
  char *py = script("py.sh", "#! /usr/bin/tower-python9 -u\n", 0755);
  char *bare = script("bare", "echo m v=1i\n", 0755);
  char *opts = th_fmt("commands = ([\"%s\"], [\"%s\"], [\"%s\"]);", crlf, py, bare);
  char *log;
  ck_assert_int_eq(check_only(opts, &log), 1);
  char *want = th_fmt("the #! line of %s ends in a carriage return (Windows line endings), so the "
                      "interpreter it names is \"/bin/sh\" plus a CR",
                      crlf);
  assert_has(log, want);
  free(want);
  want = th_fmt("commands[1] \"%s\": its #! line names the interpreter /usr/bin/tower-python9, "
                "which cannot run: /usr/bin/tower-python9 does not exist",
                py);
  assert_has(log, want);
  free(want);
  want = th_fmt("W! [inputs.exec] commands[2] \"%s\": %s has no #! line and is not an ELF binary",
                bare, bare);
  assert_has(log, want);
  free(want);
  free(log);
  free(opts);
  free(crlf);
  free(py);
  free(bare);
}
END_TEST

/* As an unprivileged user (tests/unprivileged.h), a directory it may not search is named with its
 * mode; root may search it, as the kernel lets root. */
START_TEST(check_unsearchable_directory) {
  ck_assert_int_eq(chmod(dir, 0755), 0);
  char *locked = th_fmt("%s/locked", dir);
  ck_assert_int_eq(mkdir(locked, 0755), 0);
  char *prog = script("locked/check.sh", "#!/bin/sh\n", 0755);
  ck_assert_int_eq(chmod(locked, 0000), 0);
  char *opts = th_fmt("commands = ([\"%s\"]);", prog);
  char *log;
  if (geteuid() == 0) {
    ck_assert_msg(check_only(opts, &log) == 0, "root: %s", log);
    free(log);
  }
  ck_assert_int_eq(truncate(logpath, 0), 0);
  char *c = config(opts);
  ck_assert_int_eq(th_config_check_unprivileged(c), 1);
  free(c);
  log = log_text();
  char *want = th_fmt("commands[0] \"%s\": %s is not searchable by uid %ld (mode 0000, owner ",
                      prog, locked, th_unprivileged_uid());
  assert_has(log, want);
  assert_has(log, "let the user tower runs as reach it (chmod)");
  free(want);
  free(log);
  chmod(locked, 0755);
  free(opts);
  free(prog);
  free(locked);
}
END_TEST

int main(void) {
  Suite *s = suite_create("inputs.exec");
  TCase *t = tcase_create("exec");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, influx_output);
  tcase_add_test(t, json_output);
  tcase_add_test(t, prometheus_output);
  tcase_add_test(t, value_output);
  tcase_add_test(t, garbage_output);
  tcase_add_test(t, json_parse_error);
  tcase_add_test(t, argv_array);
  tcase_add_test(t, string_split);
  tcase_add_test(t, string_array_and_path);
  tcase_add_test(t, shell_option);
  tcase_add_test(t, environment);
  tcase_add_test(t, child_environment);
  tcase_add_test(t, split_words);
  tcase_add_test(t, join_words);
  tcase_add_test(t, config_errors);
  tcase_add_test(t, missing_program);
  tcase_add_test(t, check_runs_nothing);
  tcase_add_test(t, check_missing_and_unrunnable);
  tcase_add_test(t, check_not_in_path);
  tcase_add_test(t, check_relative_path);
  tcase_add_test(t, check_interpreters);
  tcase_add_test(t, check_unsearchable_directory);
  tcase_add_test(t, nonzero_exit);
  tcase_add_test(t, nonzero_exit_ignored);
  tcase_add_test(t, killed_by_signal);
  tcase_add_test(t, oversized_output);
  tcase_add_test(t, stderr_flood);
  tcase_add_test(t, stderr_levels);
  tcase_add_test(t, stderr_not_relayed);
  tcase_add_test(t, sigchld_ignored);
  tcase_add_test(t, timeout_kills_tree);
  tcase_add_test(t, timeout_then_sigkill);
  tcase_add_test(t, background_child_keeps_stdout);
  tcase_add_test(t, escaped_holder_found_by_pipe);
  tcase_add_test(t, escaped_holder_default);
  tcase_add_test(t, escaped_quiet);
  tcase_add_test(t, escaped_quiet_without_cgroup);
  tcase_add_test(t, background_daemon_left_running);
  tcase_add_test(t, stale_cgroups_removed);
  tcase_add_test(t, systemd_unit_needs_delegation);
  tcase_add_test(t, parallel_commands);
  tcase_add_test(t, repeated_gathers_no_zombies);
  tcase_add_test(t, stopping_kills_early);
  tcase_add_test(t, stop_keeps_finished_output);
  tcase_add_test(t, stopping_shortens_grace);
  suite_add_tcase(s, t);
  return check_run(s);
}
