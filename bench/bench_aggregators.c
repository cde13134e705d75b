/* aggregators.basicstats and aggregators.quantile with 100,000 series:
 * metrics (one tag id, one float field) are offered to the aggregator the
 * way a commit offers them (twi_aggr_add: selectors, the window, the
 * plugin's add under the aggregator's lock), in rounds of one value per
 * series. Printed: ns per added value (CPU time of the thread, and wall), allocations per added
 * value after the first round (which creates the series), heap bytes per series held (mallinfo2
 * before and after), and the CPU time of one push of every series (100,000 summary metrics into the
 * output's buffer).
 *
 * Usage: bench_aggregators [rounds, default 20]
 */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"
#include "malloc_count.h"

#define NSERIES 100000

static tower_metric **make_metrics(void) {
  tower_metric **ms = calloc(NSERIES, sizeof *ms);
  if (!ms)
    bench_die("out of memory");
  for (size_t i = 0; i < NSERIES; i++) {
    char id[16];
    snprintf(id, sizeof id, "%zu", i);
    ms[i] = tower_metric_new("latency", 1000000000LL);
    if (!ms[i] || tower_metric_add_tag(ms[i], "host", "web01") ||
        tower_metric_add_tag(ms[i], "id", id) || tower_metric_add_float(ms[i], "value", 1))
      bench_die("out of memory");
  }
  return ms;
}

/* New values for round r (outside the timing): a spread per series. */
static void set_values(tower_metric **ms, long r) {
  for (size_t i = 0; i < NSERIES; i++)
    tower_metric_add_float(ms[i], "value", (double)((i * 31 + (size_t)r * 7919) % 1000));
}

/* CPU seconds of this thread: the machine may be shared, and the wall
 * clock would count the time other processes ran. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

static void bench(const char *name, const char *aggregator, tower_metric **ms, long rounds) {
  char text[1024];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; };\n"
           "inputs = ( { plugin = \"lines\"; lines = [\"x v=1\"]; } );\n"
           "aggregators = ( { %s period = \"1h\"; drop_original = true; } );\n"
           "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; metric_buffer_limit = "
           "1000000; metric_batch_size = 100000; } );\n",
           aggregator);
  twi_pipeline *pl = bench_pipeline(text);
  tower_ctx *a = pl->aggregators[0];
  twi_aggr_set_window(a, 0);
  size_t heap0 = heap_in_use();
  set_values(ms, 0);
  for (size_t i = 0; i < NSERIES; i++)
    twi_aggr_add(a, ms[i]);
  size_t per_series = (heap_in_use() - heap0) / NSERIES;
  double secs = 0, cpu = 0;
  unsigned long allocs = 0;
  for (long r = 1; r < rounds; r++) {
    set_values(ms, r);
#ifndef NO_MALLOC_COUNT
    unsigned long allocs0 = nallocs;
#endif
    double t0 = bench_now(), c0 = cpu_now();
    for (size_t i = 0; i < NSERIES; i++)
      twi_aggr_add(a, ms[i]);
    secs += bench_now() - t0;
    cpu += cpu_now() - c0;
#ifndef NO_MALLOC_COUNT
    allocs += nallocs - allocs0;
#endif
  }
  size_t held = heap_in_use() - heap0;
  double c0 = cpu_now();
  twi_aggr_push(a, pl);
  double push = cpu_now() - c0;
  double values = (double)NSERIES * (double)(rounds - 1);
  printf("%-28s %6.0f ns/value CPU (%6.0f wall)  %5.3f allocs/value  %4zu B/series (1 value)  "
         "%4zu B/series (%ld values)  push %5.0f ms CPU\n",
         name, cpu / values * 1e9, secs / values * 1e9, (double)allocs / values, per_series,
         held / NSERIES, rounds, push * 1e3);
  twi_output_flush_sync(pl->outputs[0]);
  twi_pipeline_free(pl);
}

int main(int argc, char **argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 20;
  if (rounds < 2)
    rounds = 2;
  tower_metric **ms = make_metrics();
  printf("aggregators, %d series (latency,host,id value=...), %ld values per series\n", NSERIES,
         rounds);
  bench("basicstats (default stats)", "plugin = \"basicstats\";", ms, rounds);
  bench("basicstats (all 14 stats)",
        "plugin = \"basicstats\"; stats = [\"count\", \"min\", \"max\", \"mean\", \"stdev\", "
        "\"s2\", \"sum\", \"diff\", \"non_negative_diff\", \"rate\", \"non_negative_rate\", "
        "\"percent_change\", \"interval\", \"last\"];",
        ms, rounds);
  bench("minmax", "plugin = \"minmax\";", ms, rounds);
  bench("quantile (t-digest, 100)", "plugin = \"quantile\";", ms, rounds);
  bench("quantile (exact R7)", "plugin = \"quantile\"; algorithm = \"exact R7\";", ms, rounds);
  for (size_t i = 0; i < NSERIES; i++)
    tower_metric_free(ms[i]);
  free(ms);
  return 0;
}
