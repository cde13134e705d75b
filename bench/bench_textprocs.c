/* processors regex, strings, dedup and tag_limit: ns and allocations per
 * metric through the real core (lines input -> processor -> record output
 * to /dev/null), each against the same pipeline without a processor; the
 * difference is the processor's cost. Figures only. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <tower/tower.h>

#include "bench_util.h"
#include "malloc_count.h"

static tower_metric *request(long i) {
  tower_metric *m = tower_metric_new("nginx_requests", TOWER_TIME_UNSET);
  tower_metric_add_tag(m, "host", "web01.example.com");
  tower_metric_add_tag(m, "method", "GET");
  tower_metric_add_tag(m, "resp_code", i % 2 ? "200" : "404");
  tower_metric_add_tag(m, "region", "ap-northeast-2");
  tower_metric_add_tag(m, "zone", "b");
  tower_metric_add_string(m, "request", "/api/search/?category=plugins&q=regex");
  tower_metric_add_int(m, "bytes", 270 + (i % 8));
  return m;
}

/* Seconds and allocations for n metrics through `procs`. */
static void run(const char *procs, long n, double *seconds, double *allocs) {
  char *text;
  if (asprintf(&text,
               /* the buffer holds every metric of the run: nothing is flushed
                * in the run, and an overflow would time the dropping */
               "agent = { omit_hostname = true; metric_buffer_limit = %ld; };\n"
               "inputs = ( { plugin = \"lines\"; lines = [\"x v=1\"]; } );\n"
               "%s%s%s"
               "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
               n, procs ? "processors = ( " : "", procs ? procs : "", procs ? " );\n" : "") < 0)
    exit(1);
  twi_pipeline *pl = bench_pipeline(text);
  free(text);
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, false);
  /* metrics are built outside the count; what is counted is the trip */
  tower_metric **ms = malloc((size_t)n * sizeof *ms);
  for (long i = 0; i < n; i++)
    ms[i] = request(i);
#ifndef NO_MALLOC_COUNT
  unsigned long a0 = nallocs;
#endif
  double t0 = bench_now();
  twi_acc_begin(acc, tower_now());
  for (long i = 0; i < n; i++) {
    tower_acc_add(acc, ms[i]);
    if (i % 64 == 63) {
      tower_acc_commit(acc);
      twi_acc_begin(acc, tower_now());
    }
  }
  tower_acc_commit(acc);
  *seconds = bench_now() - t0;
#ifndef NO_MALLOC_COUNT
  *allocs = (double)(nallocs - a0) / (double)n;
#else
  *allocs = -1;
#endif
  free(ms);
  /* written to /dev/null outside the count, so that none is reported lost */
  twi_output_flush_sync(pl->outputs[0]);
  twi_acc_free(acc);
  twi_pipeline_free(pl);
}

int main(void) {
  const long n = 200000;
  const struct {
    const char *name, *procs;
  } cases[] = {
      {"regex (tag value + field to new field)",
       "{ plugin = \"regex\"; tag_values = ( { key = \"resp_code\"; pattern = "
       "\"^(\\\\d)\\\\d\\\\d$\"; replacement = \"$1xx\"; } ); fields = ( { key = \"request\"; "
       "pattern = \".*category=(\\\\w+).*\"; replacement = \"$1\"; result_key = \"cat\"; } ); }"},
      {"strings (lowercase tag keys, replace a field)",
       "{ plugin = \"strings\"; lowercase = ( { tag_key = \"*\"; } ); replace = ( { field = "
       "\"request\"; old = \"/\"; new = \"_\"; } ); }"},
      {"dedup (16 series, most metrics dropped)", "{ plugin = \"dedup\"; }"},
      {"tag_limit (5 tags -> 3)", "{ plugin = \"tag_limit\"; limit = 3; keep = [\"host\"]; }"},
  };
  double base_s, base_a;
  run(NULL, n, &base_s, &base_a);
  printf("processors, %ld metrics (5 tags, 2 fields) each; cost = pipeline - pipeline without:\n",
         n);
  printf("  %-48s %8.0f ns/metric %6.2f allocs/metric (baseline)\n", "no processor",
         base_s * 1e9 / (double)n, base_a);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    double s, a;
    run(cases[i].procs, n, &s, &a);
    printf("  %-48s %8.0f ns/metric %+6.2f allocs/metric\n", cases[i].name,
           (s - base_s) * 1e9 / (double)n, a - base_a);
  }
  return 0;
}
