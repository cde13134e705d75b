/* processors.lua against the same change in C (bench/fixtures/rescale.c):
 * rename the field "used" to "used_kb" and multiply it by 1024, on metrics
 * of 1 tag and 4 fields committed in gathers of 64. Each variant runs
 * through the real core (add, processor, pack, fan-out); the output takes
 * nothing (namepass matches no metric), so that the processor's share is
 * the difference to the run without a processor. Prints ns and heap
 * allocations per metric, and the ratio of the processors' own costs.
 * Figures only. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <tower/tower.h>

#include "bench_util.h"
#include "malloc_count.h"

#define N 400000L

typedef struct {
  double ns;
  double allocs;
} cost;

/* CPU seconds of this thread: the commits run on it (TWI_ONCE), and on a
 * shared machine CPU time is steadier than wall time. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static tower_metric *mem_metric(long i) {
  tower_metric *m = tower_metric_new("mem", TOWER_TIME_UNSET);
  tower_metric_add_tag(m, "host", "web01.example.com");
  tower_metric_add_int(m, "used", i);
  tower_metric_add_int(m, "free", 1000000 - i);
  tower_metric_add_int(m, "total", 1000000);
  tower_metric_add_float(m, "used_percent", (double)i / 10000.0);
  return m;
}

static cost run(const char *label, const char *procs) {
  char *text;
  if (asprintf(&text,
               "agent = { omit_hostname = true; };\n"
               "inputs = ( { plugin = \"lines\"; lines = [\"x v=1\"]; } );\n"
               "processors = ( %s );\n"
               "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; namepass = [\"none\"]; } "
               ");\n",
               procs) < 0)
    bench_die("out of memory");
  twi_pipeline *pl = bench_pipeline(text);
  free(text);
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, false);
#ifndef NO_MALLOC_COUNT
  unsigned long a0 = nallocs;
#endif
  double t0 = cpu_now();
  for (long i = 0; i < N;) {
    twi_acc_begin(acc, tower_now());
    for (int k = 0; k < 64 && i < N; k++, i++)
      tower_acc_add(acc, mem_metric(i));
    tower_acc_commit(acc);
  }
  double dt = cpu_now() - t0;
  cost c = {.ns = dt * 1e9 / (double)N, .allocs = -1};
#ifndef NO_MALLOC_COUNT
  c.allocs = (double)(nallocs - a0) / (double)N;
#endif
  if (c.allocs < 0)
    printf("  %-36s %8.0f ns (CPU)/metric  (allocations not counted under ASan)\n", label, c.ns);
  else
    printf("  %-36s %8.0f ns (CPU)/metric  %6.2f allocations/metric\n", label, c.ns, c.allocs);
  twi_acc_free(acc);
  twi_pipeline_free(pl);
  return c;
}

/* The fixture lives in the build tree: a plugin directory of its own in
 * front of TOWER_PLUGIN_DIR. */
static char *fixture_dir(void) {
  char tmpl[] = "/tmp/tower-bench-lua.XXXXXX";
  if (!mkdtemp(tmpl))
    bench_die("mkdtemp");
  char *dir = strdup(tmpl), *sub, *link, *path;
  if (asprintf(&sub, "%s/processors", dir) < 0 || asprintf(&link, "%s/rescale.so", sub) < 0)
    bench_die("out of memory");
  if (mkdir(sub, 0700) || symlink(RESCALE_SO, link))
    bench_die("cannot lay out the fixture's plugin directory");
  const char *old = getenv("TOWER_PLUGIN_DIR");
  if (asprintf(&path, "%s%s%s", dir, old ? ":" : "", old ? old : "") < 0)
    bench_die("out of memory");
  setenv("TOWER_PLUGIN_DIR", path, 1);
  free(path);
  free(link);
  free(sub);
  return dir;
}

#define SCRIPT                                                                                     \
  "source = \"function process(m) local f = m.fields; f.used_kb = f.used * 1024; f.used = nil; "   \
  "return m end\";"

int main(void) {
  char *dir = fixture_dir();
  printf("processors: rename used -> used_kb, x 1024 (%ld metrics, 1 tag, 4 fields)\n", N);
  cost none = run("no processor (baseline)", "");
  cost c = run("C processor (bench/fixtures/rescale)", "{ plugin = \"rescale\"; }");
  cost pass = run("processors.lua, on_error = \"pass\"", "{ plugin = \"lua\"; " SCRIPT " }");
  cost drop = run("processors.lua, on_error = \"drop\"",
                  "{ plugin = \"lua\"; on_error = \"drop\"; " SCRIPT " }");
  cost noop = run("processors.lua, return m (no change)",
                  "{ plugin = \"lua\"; source = \"function process(m) return m end\"; }");
  double cp = c.ns - none.ns;
  printf("  processor's own cost: C %.0f ns, Lua %.0f ns (pass), %.0f ns (drop), %.0f ns "
         "(no change); Lua/C %.1fx (pass), %.1fx (drop)\n",
         cp, pass.ns - none.ns, drop.ns - none.ns, noop.ns - none.ns, (pass.ns - none.ns) / cp,
         (drop.ns - none.ns) / cp);
  char *sub;
  if (asprintf(&sub, "%s/processors/rescale.so", dir) >= 0) {
    unlink(sub);
    free(sub);
  }
  if (asprintf(&sub, "%s/processors", dir) >= 0) {
    rmdir(sub);
    free(sub);
  }
  rmdir(dir);
  free(dir);
  return 0;
}
