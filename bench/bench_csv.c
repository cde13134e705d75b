/* outputs.csv benchmark: flushes of 10,000 metrics (3 tags, 8 fields: 6
 * floats, an integer and a boolean) through the real core into a csv output
 * writing to a temporary directory, in append mode (rows accumulate, one
 * write per file per batch), append with fsync, and snapshot mode (write a
 * temporary file, rename). Only the flush is timed; building the metrics
 * and handing them to the output buffer are not. Figures only. */
#include "config.h"

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <tower/tower.h>

#include "bench_util.h"

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

/* One gather of METRICS metrics into the output buffer. */
static void gather(twi_pipeline *pl, int64_t t) {
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, false);
  twi_acc_begin(acc, t);
  for (int i = 0; i < METRICS; i++)
    tower_acc_add(acc, metric(i, TOWER_TIME_UNSET));
  tower_acc_commit(acc);
  twi_acc_free(acc);
}

static long long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void run(const char *label, const char *opts) {
  bool quiet = label == NULL; /* a warm-up run */
  char dir[] = "/tmp/tower-bench-csv.XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    exit(1);
  }
  char *text, *file;
  if (asprintf(&text,
               "agent = { omit_hostname = true; metric_buffer_limit = 100000; };\n"
               "inputs = ( { plugin = \"lines\"; lines = [\"x v=1\"]; } );\n"
               "outputs = ( { plugin = \"csv\"; directory = \"%s\"; %s } );\n",
               dir, opts) < 0 ||
      asprintf(&file, "%s/net.csv", dir) < 0)
    exit(1);
  twi_pipeline *pl = bench_pipeline(text);
  double busy = 0;
  long long bytes = 0;
  for (int r = 0; r < ROUNDS; r++) {
    gather(pl, 1700000000000000000LL + r * 10000000000LL);
    long long before = strstr(opts, "snapshot") ? 0 : file_size(file);
    double t0 = bench_now();
    size_t left = twi_output_flush_sync(pl->outputs[0]);
    busy += bench_now() - t0;
    if (left) {
      fprintf(stderr, "%s: %zu metrics left unwritten\n", label ? label : "warm-up", left);
      exit(1);
    }
    bytes += file_size(file) - before;
  }
  double rows = (double)METRICS * ROUNDS;
  if (!quiet)
    printf("  %-34s %9.0f rows/s  %7.1f MB/s  (%.2f ms per flush of %d rows, %.0f bytes/row)\n",
           label, rows / busy, (double)bytes / busy / 1e6, busy * 1e3 / ROUNDS, METRICS,
           (double)bytes / rows);
  twi_pipeline_free(pl);
  nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(text);
  free(file);
}

int main(void) {
  printf("outputs.csv, flushes of %d metrics (3 tags, 8 fields), batches of 1000, %d flushes:\n",
         METRICS, ROUNDS);
  run(NULL, "mode = \"append\";"); /* page cache, allocator, plugin loaded */
  run("append", "mode = \"append\";");
  run("append, fsync = true", "mode = \"append\"; fsync = true;");
  run("append, rfc3339nano, ';'", "timestamp_format = \"rfc3339nano\"; separator = \";\";");
  run("snapshot", "mode = \"snapshot\";");
  run("snapshot, fsync = true", "mode = \"snapshot\"; fsync = true;");
  return 0;
}
