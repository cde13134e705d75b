/* inputs.processes and inputs.procstat with 1,000 extra processes running:
 * the bench starts 1,000 `sleep` processes, gathers through the real core
 * (the accumulator the input thread uses; metrics are buffered for the
 * record output on /dev/null) and
 * prints per gather the wall time, tower's CPU time and the allocations
 * (malloc family, counted by tests/malloc_count.h: the metrics' own
 * allocations are in the figure; the plugins allocate nothing else once
 * warm). The sleeps are killed before it exits.
 *
 * Usage: bench_procs [gathers, default 20]
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "malloc_count.h"

#define NSLEEP 1000
#define SLEEP_ARG "3600.4242"

static pid_t sleepers[NSLEEP];
static int nsleepers;

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void stop_sleepers(void) {
  for (int i = 0; i < nsleepers; i++)
    kill(sleepers[i], SIGKILL);
  for (int i = 0; i < nsleepers; i++)
    waitpid(sleepers[i], NULL, 0);
  nsleepers = 0;
}

static void start_sleepers(void) {
  for (int i = 0; i < NSLEEP; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      stop_sleepers();
      bench_die("fork failed");
    }
    if (pid == 0) {
      execlp("sleep", "sleep", SLEEP_ARG, (char *)NULL);
      _exit(127);
    }
    sleepers[nsleepers++] = pid;
  }
  usleep(300000); /* let the children exec, so the pattern sees them */
}

/* One gather as the input thread makes it (twi_input_run_once would
 * gather twice, half a second apart, for TWO_SAMPLES inputs). */
static long gather_once(twi_pipeline *pl, tower_ctx *in) {
  tower_acc *acc = twi_acc_new_input(in, pl, false);
  if (!acc)
    bench_die("out of memory");
  twi_acc_begin(acc, (int64_t)(bench_now() * 1e9));
  in->plugin->desc.gather(in->state, acc);
  tower_acc_commit(acc);
  long errors = (long)twi_acc_errors(acc);
  twi_acc_free(acc);
  return errors;
}

static void bench(const char *name, const char *input, long gathers) {
  char text[1024];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; };\n"
           "inputs = ( { %s } );\n"
           "outputs = ( { plugin = \"record\"; path = \"/dev/null\";\n"
           "              metric_buffer_limit = 1000000; } );\n",
           input);
  twi_pipeline *pl = bench_pipeline(text);
  tower_ctx *in = pl->inputs[0];
  gather_once(pl, in); /* warm: buffers grow, cpu samples exist */
  gather_once(pl, in);
  long errors = 0;
#ifndef NO_MALLOC_COUNT
  unsigned long a0 = nallocs;
#endif
  double w0 = bench_now(), c0 = cpu_seconds();
  for (long i = 0; i < gathers; i++)
    errors += gather_once(pl, in);
  double wall = bench_now() - w0, cpu = cpu_seconds() - c0;
#ifndef NO_MALLOC_COUNT
  double allocs = (double)(nallocs - a0) / (double)gathers;
#else
  double allocs = -1;
#endif
  twi_pipeline_free(pl);
  if (errors)
    fprintf(stderr, "bench_procs: %s: %ld gather errors\n", name, errors);
  printf("%-46s %10.0f %10.0f %12.0f\n", name, wall * 1e6 / (double)gathers,
         cpu * 1e6 / (double)gathers, allocs);
}

int main(int argc, char **argv) {
  long gathers = argc > 1 ? atol(argv[1]) : 20;
  if (gathers < 1)
    gathers = 1;
  start_sleepers();
  printf("%d sleep processes started\n", nsleepers);
  printf("%-46s %10s %10s %12s\n", "case (per gather)", "wall us", "cpu us", "allocations");
  bench("processes (every process)", "plugin = \"processes\";", gathers);
  bench("procstat pattern: 1000 processes, default",
        "plugin = \"procstat\"; pattern = \"^sleep " SLEEP_ARG "$\";", gathers);
  bench("procstat pattern: 1000 processes, cpu only",
        "plugin = \"procstat\"; pattern = \"^sleep " SLEEP_ARG "$\"; properties = [\"cpu\"];",
        gathers);
  char pf[64], input[128];
  snprintf(pf, sizeof pf, "/tmp/bench_procs.%d.pid", (int)getpid());
  FILE *f = fopen(pf, "w");
  if (f) {
    fprintf(f, "%d\n", (int)sleepers[0]);
    fclose(f);
    snprintf(input, sizeof input, "plugin = \"procstat\"; pid_file = \"%s\";", pf);
    bench("procstat pid_file: 1 process, default", input, gathers);
    unlink(pf);
  }
  stop_sleepers();
  return 0;
}
