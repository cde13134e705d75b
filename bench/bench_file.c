/* outputs.file benchmark: flushes of 10,000 metrics (3 tags, 8 fields)
 * through the real core into a file output writing a temporary file, as
 * influx and json, metric by metric and in the batch format, with and
 * without size rotation. Only the flush is timed (building the metrics and
 * handing them to the buffer are not); allocations are counted during the
 * flush by wrapping malloc (tests/malloc_count.h). Figures only. */
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tower/tower.h>

#include "bench_util.h"
#include "malloc_count.h"

#ifdef NO_MALLOC_COUNT /* a sanitizer's allocator: nothing counted */
static const unsigned long nallocs = 0;
#endif

#define METRICS 10000
#define ROUNDS 20

static tower_metric *metric(int i, int64_t t) {
  static const char *const fields[] = {"rx_bytes",  "tx_bytes", "rx_errors",
                                       "tx_errors", "latency",  "jitter"};
  char v[32];
  tower_metric *m = tower_metric_new("net", t);
  snprintf(v, sizeof v, "eth%d", i % 64);
  tower_metric_add_tag(m, "interface", v);
  tower_metric_add_tag(m, "host", "web01.example.com");
  snprintf(v, sizeof v, "rack-%d", i / 64);
  tower_metric_add_tag(m, "rack", v);
  for (int k = 0; k < 6; k++)
    tower_metric_add_float(m, fields[k], (double)(i * 31 + k) * 0.173);
  tower_metric_add_int(m, "count", i);
  tower_metric_add_bool(m, "up", i % 7 != 0);
  return m;
}

static void gather(twi_pipeline *pl, int64_t t) {
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, false);
  twi_acc_begin(acc, t);
  for (int i = 0; i < METRICS; i++)
    tower_acc_add(acc, metric(i, TOWER_TIME_UNSET));
  tower_acc_commit(acc);
  twi_acc_free(acc);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void run(const char *label, const char *opts) {
  char dir[] = "/tmp/tower-bench-file.XXXXXX";
  if (!mkdtemp(dir))
    bench_die("mkdtemp");
  char *text;
  if (asprintf(&text,
               "agent = { omit_hostname = true; metric_buffer_limit = 100000; };\n"
               "inputs = ( { plugin = \"lines\"; lines = [\"x v=1\"]; } );\n"
               "outputs = ( { plugin = \"file\"; files = [\"%s/m.out\"]; "
               "rotation_max_archives = 2; %s } );\n",
               dir, opts) < 0)
    bench_die("out of memory");
  twi_pipeline *pl = bench_pipeline(text);
  double busy = 0;
  unsigned long allocs = 0;
  for (int r = 0; r < ROUNDS; r++) {
    gather(pl, 1700000000000000000LL + r * 10000000000LL);
    unsigned long a0 = nallocs;
    double t0 = bench_now();
    size_t left = twi_output_flush_sync(pl->outputs[0]);
    busy += bench_now() - t0;
    allocs += nallocs - a0;
    if (left)
      bench_die("metrics left unwritten");
  }
  double n = (double)METRICS * ROUNDS;
  if (label)
    printf("  %-36s %7.0f ns/metric  %9.0f metrics/s  %.3f allocations/metric\n", label,
           busy * 1e9 / n, n / busy, (double)allocs / n);
  twi_pipeline_free(pl);
  nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(text);
}

int main(void) {
  printf("outputs.file, flushes of %d metrics (3 tags, 8 fields), batches of 1000, %d flushes:\n",
         METRICS, ROUNDS);
  run(NULL, "data_format = \"influx\";"); /* warm-up: page cache, allocator */
  run("influx", "data_format = \"influx\";");
  run("json", "data_format = \"json\";");
  run("json, use_batch_format", "data_format = \"json\"; use_batch_format = true;");
  run("influx, rotation_max_size = 1MiB", "rotation_max_size = \"1MiB\";");
  return 0;
}
