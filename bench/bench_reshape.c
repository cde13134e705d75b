/* processors.rename, converter, enum and override: ns and allocations per
 * metric through the real core. Each case commits the same metrics (a
 * cpu-like metric: 3 tags, 8 fields) through a pipeline with the processor
 * and through the same pipeline without it; the difference is the
 * processor's cost (its process call and what its changes cost the metric:
 * growing it, packing it again). Allocations are counted with
 * tests/malloc_count.h (libtower's included); the metrics' own are in the
 * totals. Figures only; nothing here passes or fails.
 *
 * Usage: bench_reshape [metrics per case, default 500000]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <tower/tower.h>

#include "bench_util.h"
#include "log_internal.h"
#include "malloc_count.h"

static tower_metric *make_metric(long i) {
  static const char *const fields[] = {"usage_user",   "usage_system", "usage_idle",
                                       "usage_iowait", "usage_irq",    "usage_steal"};
  tower_metric *m = tower_metric_new("cpu", 1700000000000000000LL + i);
  tower_metric_add_tag(m, "cpu", "cpu3");
  tower_metric_add_tag(m, "host", "web01.example.com");
  tower_metric_add_tag(m, "port", "8080");
  for (int k = 0; k < 6; k++)
    tower_metric_add_float(m, fields[k], (double)(k * 7 + i % 100) * 0.37);
  tower_metric_add_string(m, "status", i % 3 ? "green" : "amber");
  tower_metric_add_string(m, "count", "12345");
  return m;
}

typedef struct {
  double ns, allocs;
} cost;

/* Commits `n` metrics, 64 per commit, through a pipeline with `procs`
 * (a processors list body, or "" for none). */
static cost run(const char *procs, long n) {
  char *text;
  if (asprintf(&text,
               "agent = { omit_hostname = true; metric_buffer_limit = 4096; };\n"
               "inputs = ( { plugin = \"lines\"; lines = [\"x v=1\"]; } );\n"
               "processors = ( %s );\n"
               "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
               procs) < 0)
    bench_die("out of memory");
  twi_pipeline *pl = bench_pipeline(text);
  free(text);
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, false);
  for (long i = 0; i < 8192; i++) { /* warm: buffers grow, the ring fills */
    twi_acc_begin(acc, 0);
    tower_acc_add(acc, make_metric(i));
    if (i % 64 == 63)
      tower_acc_commit(acc);
  }
#ifndef NO_MALLOC_COUNT
  unsigned long a0 = nallocs;
#endif
  double t0 = bench_now();
  for (long i = 0; i < n; i++) {
    if (i % 64 == 0)
      twi_acc_begin(acc, 0);
    tower_acc_add(acc, make_metric(i));
    if (i % 64 == 63)
      tower_acc_commit(acc);
  }
  tower_acc_commit(acc);
  cost c = {(bench_now() - t0) * 1e9 / (double)n, -1};
#ifndef NO_MALLOC_COUNT
  c.allocs = (double)(nallocs - a0) / (double)n;
#endif
  twi_acc_free(acc);
  /* the record output never flushes here: its overflow report is noise */
  twi_log_set_file("/dev/null");
  twi_pipeline_free(pl);
  twi_log_set_file(NULL);
  return c;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 500000;
  if (n < 64)
    n = 64;
  static const struct {
    const char *name, *procs;
  } cases[] = {
      {"rename: measurement, tag, 2 fields",
       "{ plugin = \"rename\"; replace = ( { measurement = \"cpu\"; dest = \"processor\"; },"
       " { tag = \"host\"; dest = \"hostname\"; }, { field = \"usage_user\"; dest = \"user\"; },"
       " { field = \"status\"; dest = \"state\"; } ); }"},
      {"rename: rules that match nothing",
       "{ plugin = \"rename\"; replace = ( { measurement = \"mem\"; dest = \"x\"; },"
       " { tag = \"nope\"; dest = \"x\"; } ); }"},
      {"converter: tag->int, 6 floats->int, str->int",
       "{ plugin = \"converter\"; tag_conversions = { integer = [\"port\"]; };"
       " fields = { integer = [\"usage_*\", \"count\"]; }; }"},
      {"converter: field->tag, string->float",
       "{ plugin = \"converter\"; fields = { tag = [\"status\"]; float = [\"count\"]; }; }"},
      {"enum: one string field to an int dest",
       "{ plugin = \"enum\"; mapping = ( { fields = [\"status\"]; dest = \"code\";"
       " value_mappings = { green = 1; amber = 2; red = 3; }; } ); }"},
      {"override: name_prefix and 2 tags",
       "{ plugin = \"override\"; name_prefix = \"host_\"; tags = { dc = \"seoul\"; "
       "host = \"h\"; }; }"},
      {"override: name_override only", "{ plugin = \"override\"; name_override = \"processor\"; }"},
  };
  cost base = run("", n);
  printf("%-46s %10s %10s %12s %12s\n", "case (per metric)", "ns", "+ns", "allocations",
         "+allocations");
  printf("%-46s %10.0f %10s %12.2f %12s\n", "no processor (baseline)", base.ns, "", base.allocs,
         "");
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    cost c = run(cases[i].procs, n);
    printf("%-46s %10.0f %10.0f %12.2f %12.2f\n", cases[i].name, c.ns, c.ns - base.ns, c.allocs,
           c.allocs - base.allocs);
  }
  return 0;
}
