/* inputs.exec overhead per command run: /bin/true run N times through the
 * plugin's gather (pipes, process group, poll loop, reaping, the core's
 * accumulator), against a bare posix_spawn + waitpid loop.
 *
 * Usage: bench_exec [runs, default 2000]
 *        bench_exec rss [lines, default 1000000]
 *
 * For each case it prints the wall time per run and tower's own CPU time
 * per run (getrusage(RUSAGE_SELF) user + system: the children's CPU is not
 * in it), so the difference between the rows is what the plugin adds.
 */
#include "config.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

extern char **environ;

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void report(const char *name, double wall, double cpu, long runs) {
  printf("%-44s %10.1f %10.1f\n", name, wall * 1e6 / (double)runs, cpu * 1e6 / (double)runs);
}

/* Gathers an exec input with `per_gather` /bin/true commands until `runs`
 * commands have run. */
static void bench_plugin(long runs, int per_gather) {
  char cmds[2048] = "";
  size_t len = 0;
  for (int i = 0; i < per_gather; i++)
    len += (size_t)snprintf(cmds + len, sizeof cmds - len, "%s[\"/bin/true\"]", i ? ", " : "");
  char text[4096];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; };\n"
           "inputs = ( { plugin = \"exec\"; commands = (%s); } );\n"
           "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
           cmds);
  twi_pipeline *pl = bench_pipeline(text);
  tower_ctx *in = pl->inputs[0];
  twi_input_run_once(in, pl, 0); /* warm up: buffers, page cache */
  long gathers = runs / per_gather, errors = 0;
  double w0 = bench_now(), c0 = cpu_seconds();
  for (long i = 0; i < gathers; i++)
    errors += twi_input_run_once(in, pl, 0);
  double wall = bench_now() - w0, cpu = cpu_seconds() - c0;
  twi_pipeline_free(pl);
  if (errors) {
    fprintf(stderr, "bench_exec: %ld gather errors\n", errors);
    exit(1);
  }
  char name[64];
  snprintf(name, sizeof name, "exec gather, %d x /bin/true per gather", per_gather);
  report(name, wall, cpu, gathers * per_gather);
}

static void spawn_wait(const posix_spawnattr_t *attr, const posix_spawn_file_actions_t *fa) {
  char *argv[] = {"/bin/true", NULL};
  pid_t pid;
  int st;
  if (posix_spawn(&pid, argv[0], fa, attr, argv, environ) != 0 || waitpid(pid, &st, 0) < 0) {
    perror("bench_exec: posix_spawn");
    exit(1);
  }
}

/* The floor: spawn and wait, nothing else. */
static void bench_raw(long runs) {
  for (int i = 0; i < 20; i++) /* warm up */
    spawn_wait(NULL, NULL);
  double w0 = bench_now(), c0 = cpu_seconds();
  for (long i = 0; i < runs; i++)
    spawn_wait(NULL, NULL);
  report("raw posix_spawn + waitpid", bench_now() - w0, cpu_seconds() - c0, runs);
}

/* What the plugin asks of posix_spawn: its own process group, signal mask
 * and dispositions reset, stdout/stderr on pipes, stdin /dev/null, the
 * other descriptors closed; the pipes are read to EOF. */
static void bench_raw_configured(long runs) {
  posix_spawnattr_t attr;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  double w0 = bench_now(), c0 = cpu_seconds();
  for (long i = 0; i < runs; i++) {
    int out[2], err[2];
    char buf[256];
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
      perror("bench_exec: pipe2");
      exit(1);
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, devnull, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    spawn_wait(&attr, &fa);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    while (read(out[0], buf, sizeof buf) > 0)
      ;
    while (read(err[0], buf, sizeof buf) > 0)
      ;
    close(out[0]);
    close(err[0]);
  }
  report("raw posix_spawn, configured as the plugin", bench_now() - w0, cpu_seconds() - c0, runs);
  close(devnull);
  posix_spawnattr_destroy(&attr);
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0)
      kib = atol(line + 6);
  if (f)
    fclose(f);
  return kib;
}

/* A file of `lines` 84-byte lines for the command to print. */
static void write_lines(const char *path, long lines) {
  FILE *f = fopen(path, "w");
  if (!f)
    bench_die("cannot write the lines file");
  for (long i = 0; i < lines; i++)
    fprintf(f, "cpu,host=server01,region=us-west usage_idle=98.2,usage_user=1.3 %019ld\n",
            1700000000000000000L + i);
  if (fclose(f))
    bench_die("cannot write the lines file");
}

static void bench_rss(long lines) {
  char path[] = "/tmp/bench_exec_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0)
    bench_die("mkstemp");
  close(fd);
  write_lines(path, lines);
  char text[1024];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; };\n"
           "inputs = ( { plugin = \"exec\"; commands = ([\"/bin/cat\", \"%s\"]);"
           " max_output = \"1GiB\"; } );\n"
           "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
           path);
  twi_pipeline *pl = bench_pipeline(text);
  long before = rss_kib();
  double w0 = bench_now();
  long errors = twi_input_run_once(pl->inputs[0], pl, 0);
  double wall = bench_now() - w0;
  long after = rss_kib();
  malloc_trim(0);
  long trimmed = rss_kib();
  twi_pipeline_free(pl);
  unlink(path);
  if (errors)
    bench_die("the gather failed");
  printf("exec gather of %ld lines (%.0f ms): VmRSS %ld KiB before, %ld KiB after (+%ld), "
         "%ld KiB after malloc_trim (+%ld)\n",
         lines, wall * 1e3, before, after, after - before, trimmed, trimmed - before);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "rss") == 0) {
    bench_rss(argc > 2 ? atol(argv[2]) : 1000000);
    return 0;
  }
  long runs = argc > 1 ? atol(argv[1]) : 2000;
  if (runs < 10)
    runs = 10;
  printf("%-44s %10s %10s\n", "case (/bin/true)", "wall us", "cpu us");
  bench_raw(runs);
  bench_raw_configured(runs);
  bench_plugin(runs, 1);
  bench_plugin(runs, 10);
  return 0;
}
