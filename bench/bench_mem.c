/* inputs.mem and inputs.swap: the cost of one gather on this machine's
 * /proc, in microseconds and in allocations, against what the metrics
 * themselves cost to build (the same metrics built again field by field):
 * the difference is what the plugin allocates, 0 once its buffer is warm.
 *
 * Usage: bench_mem [gathers, default 20000]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "../tests/malloc_count.h"

/* ---- shared by bench_mem.c and bench_system.c (each keeps its copy) ------ */

static unsigned long allocs(void) {
#ifdef NO_MALLOC_COUNT
  return 0;
#else
  return nallocs;
#endif
}

typedef struct {
  const tower_metric **v;
  size_t n;
} kept;

static tower_write_result keep(void *state, const tower_batch *b) {
  kept *k = state;
  for (size_t i = 0; i < tower_batch_len(b); i++) {
    const tower_metric **v = realloc(k->v, (k->n + 1) * sizeof *v);
    if (!v)
      bench_die("out of memory");
    k->v = v;
    k->v[k->n++] = tower_metric_retain(tower_batch_at(b, i));
  }
  return TOWER_WRITE_OK;
}

/* The metrics one gather of `in` gives, through the pipeline's output. */
static kept sample(twi_pipeline *pl, tower_ctx *in) {
  kept k = {0};
  tower_ctx *o = pl->outputs[0];
  twi_plugin fake = *o->plugin;
  const twi_plugin *real = o->plugin;
  void *real_state = o->state;
  fake.desc.write = keep;
  o->plugin = &fake;
  o->state = &k;
  if (twi_input_run_once(in, pl, 0))
    bench_die("the sample gather failed");
  twi_output_flush_sync(o);
  o->plugin = real;
  o->state = real_state;
  return k;
}

/* Allocations to build `m` again with the public API, field by field: what
 * the metrics themselves cost, whoever builds them. */
static unsigned long metric_cost(const tower_metric *m) {
  unsigned long a0 = allocs();
  tower_metric *c = tower_metric_new(tower_metric_name(m), TOWER_TIME_UNSET);
  tower_metric_set_type(c, tower_metric_type(m));
  for (size_t i = 0; i < tower_metric_tag_count(m); i++)
    tower_metric_add_tag(c, tower_metric_tag_key(m, i), tower_metric_tag_value(m, i));
  for (size_t i = 0; i < tower_metric_field_count(m); i++) {
    const char *k = tower_metric_field_key(m, i);
    switch (tower_metric_field_type(m, i)) {
    case TOWER_FIELD_FLOAT:
      tower_metric_add_float(c, k, tower_metric_field_float(m, i));
      break;
    case TOWER_FIELD_INT:
      tower_metric_add_int(c, k, tower_metric_field_int(m, i));
      break;
    case TOWER_FIELD_UINT:
      tower_metric_add_uint(c, k, tower_metric_field_uint(m, i));
      break;
    case TOWER_FIELD_BOOL:
      tower_metric_add_bool(c, k, tower_metric_field_bool(m, i));
      break;
    default:
      tower_metric_add_string(c, k, tower_metric_field_string(m, i));
    }
  }
  tower_metric_free(c);
  return allocs() - a0;
}

/* Times `gathers` warm gathers of the single input of `conf` (metrics
 * dropped at the accumulator, as --test's first sample is) and prints one
 * row: µs per gather, metrics, allocations per gather, and how many of them
 * the metrics themselves account for. */
static void bench_input(const char *name, const char *conf, long gathers) {
  twi_pipeline *pl = bench_pipeline(conf);
  tower_ctx *in = pl->inputs[0];
  kept k = sample(pl, in);
  unsigned long cost = 0;
  for (size_t i = 0; i < k.n; i++)
    cost += metric_cost(k.v[i]);
  tower_acc *acc = twi_acc_new_input(in, pl, false);
  twi_acc_set_discard(acc, true);
  for (int i = 0; i < 3; i++) { /* warm: buffers reach their size */
    twi_acc_begin(acc, tower_now());
    in->plugin->desc.gather(in->state, acc);
    tower_acc_commit(acc);
  }
  unsigned long a0 = allocs();
  double t0 = bench_now();
  for (long i = 0; i < gathers; i++) {
    twi_acc_begin(acc, tower_now());
    in->plugin->desc.gather(in->state, acc);
    tower_acc_commit(acc);
  }
  double secs = bench_now() - t0;
  double per = (double)(allocs() - a0) / (double)gathers;
  if (twi_acc_errors(acc))
    bench_die("gather errors");
#ifdef NO_MALLOC_COUNT /* AddressSanitizer's allocator: nothing counted */
  (void)per;
  (void)cost;
  printf("%-40s %10.1f %8zu %10s %10s\n", name, secs * 1e6 / (double)gathers, k.n, "n/a", "n/a");
#else
  printf("%-40s %10.1f %8zu %10.1f %10lu\n", name, secs * 1e6 / (double)gathers, k.n, per, cost);
#endif
  twi_acc_free(acc);
  for (size_t i = 0; i < k.n; i++)
    tower_metric_release(k.v[i]);
  free(k.v);
  twi_pipeline_free(pl);
}

static void header(void) {
  printf("%-40s %10s %8s %10s %10s\n", "case", "us/gather", "metrics", "allocs", "of metrics");
  printf("%-40s %10s %8s %10s %10s\n", "----", "---------", "-------", "------", "----------");
}

#define CONF(input)                                                                                \
  "agent = { omit_hostname = true; };\ninputs = ( { " input " } );\n"                              \
  "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n"

int main(int argc, char **argv) {
  long gathers = argc > 1 ? atol(argv[1]) : 20000;
  if (gathers <= 0)
    bench_die("usage: bench_mem [gathers]");
  unsetenv("HOST_PROC");
  header();
  bench_input("mem (/proc/meminfo)", CONF("plugin = \"mem\";"), gathers);
  bench_input("mem, collect_extended", CONF("plugin = \"mem\"; collect_extended = true;"), gathers);
  bench_input("swap (/proc/meminfo, /proc/vmstat)", CONF("plugin = \"swap\";"), gathers);
  return 0;
}
