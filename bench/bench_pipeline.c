/* Pipeline benchmarks:
 *  1. metrics/s from N concurrent inputs through a processor into two output
 *     buffers (build, add, select, rename/tags, process, pack, fan-out, push);
 *  2. heap bytes per buffered metric, for typical metric shapes.
 * Figures only; nothing here passes or fails. */
#include "config.h"

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tower/tower.h>

#include "bench_util.h"

/* A cpu-like metric: 2 tags, 10 float fields. */
static tower_metric *cpu_metric(int cpu, int64_t t) {
  static const char *const fields[] = {
      "usage_user", "usage_system",  "usage_idle",  "usage_nice",  "usage_iowait",
      "usage_irq",  "usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice"};
  char name[16];
  snprintf(name, sizeof name, "cpu%d", cpu);
  tower_metric *m = tower_metric_new("cpu", t);
  tower_metric_add_tag(m, "cpu", name);
  tower_metric_add_tag(m, "host", "web01.example.com");
  for (int i = 0; i < 10; i++)
    tower_metric_add_float(m, fields[i], (double)(i * 7 + cpu) * 0.37);
  return m;
}

typedef struct {
  twi_pipeline *pl;
  tower_ctx *in;
  long count;
} worker;

/* One input's thread: builds metrics and commits them in gathers of 64,
 * like a plugin gathering 64 series per interval. */
static void *produce(void *arg) {
  worker *w = arg;
  tower_acc *acc = twi_acc_new_input(w->in, w->pl, false);
  for (long i = 0; i < w->count;) {
    twi_acc_begin(acc, tower_now());
    for (int k = 0; k < 64 && i < w->count; k++, i++)
      tower_acc_add(acc, cpu_metric(k, TOWER_TIME_UNSET));
    tower_acc_commit(acc);
  }
  twi_acc_free(acc);
  return NULL;
}

static void throughput(int ninputs, long per_input) {
  char inputs[4096] = "";
  size_t len = 0;
  for (int i = 0; i < ninputs; i++)
    len += (size_t)snprintf(inputs + len, sizeof inputs - len,
                            "%s{ plugin = \"lines\"; lines = [\"x v=1\"]; }", i ? "," : "");
  char *text;
  if (asprintf(&text,
               "agent = { hostname = \"bench\"; metric_buffer_limit = 100000000; };\n"
               "global_tags = { dc = \"seoul\"; };\n"
               "inputs = ( %s );\n"
               "processors = ( { plugin = \"filter\"; default = \"pass\"; rules = ( { name = "
               "[\"mem\"]; action = \"drop\"; } ); } );\n"
               "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; },\n"
               "            { plugin = \"record\"; path = \"/dev/null\"; fieldexclude = "
               "[\"usage_guest*\"]; } );\n",
               inputs) < 0)
    exit(1);
  twi_pipeline *pl = bench_pipeline(text);
  free(text);
  pthread_t th[64];
  worker w[64];
  double t0 = bench_now();
  for (int i = 0; i < ninputs; i++) {
    w[i] = (worker){pl, pl->inputs[i], per_input};
    pthread_create(&th[i], NULL, produce, &w[i]);
  }
  for (int i = 0; i < ninputs; i++)
    pthread_join(th[i], NULL);
  double dt = bench_now() - t0;
  long total = per_input * ninputs;
  printf("  %2d inputs -> filter -> 2 output buffers: %9.0f metrics/s  (%.0f ns/metric, "
         "%ld metrics)\n",
         ninputs, (double)total / dt, dt * 1e9 / (double)total, total);
  twi_pipeline_free(pl);
}

/* Heap bytes per metric held in an output buffer (mallinfo2 delta). */
static void memory_per_metric(const char *label, tower_metric *(*make)(int, int64_t)) {
  twi_pipeline *pl =
      bench_pipeline("agent = { omit_hostname = true; metric_buffer_limit = 1000000; };\n"
                     "inputs = ( { plugin = \"lines\"; lines = [\"x v=1\"]; } );\n"
                     "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n");
  const long n = 200000;
  tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, false);
  malloc_trim(0);
  struct mallinfo2 before = mallinfo2();
  for (long i = 0; i < n; i++) {
    twi_acc_begin(acc, tower_now());
    tower_acc_add(acc, make((int)(i % 64), 1700000000000000000LL + i));
    if (i % 64 == 63)
      tower_acc_commit(acc);
  }
  tower_acc_commit(acc);
  struct mallinfo2 after = mallinfo2();
  size_t bytes = after.uordblks - before.uordblks;
  printf("  %-44s %6.0f bytes per buffered metric (Telegraf: ~2300)\n", label,
         (double)bytes / (double)n);
  twi_acc_free(acc);
  twi_pipeline_free(pl);
}

/* The "10 tags/fields" line of the format benchmarks: 5 tags, 5 fields. */
static tower_metric *wide_metric(int i, int64_t t) {
  tower_metric *m = tower_metric_new("http_requests", t);
  tower_metric_add_tag(m, "host", "web01.example.com");
  tower_metric_add_tag(m, "region", "ap-northeast-2");
  tower_metric_add_tag(m, "service", "checkout");
  tower_metric_add_tag(m, "method", i % 2 ? "GET" : "POST");
  tower_metric_add_tag(m, "status", "200");
  tower_metric_add_int(m, "count", i);
  tower_metric_add_float(m, "latency_p50", 12.5);
  tower_metric_add_float(m, "latency_p99", 250.75);
  tower_metric_add_int(m, "bytes", 123456);
  tower_metric_add_bool(m, "ok", true);
  return m;
}

static tower_metric *small_metric(int i, int64_t t) {
  tower_metric *m = tower_metric_new("mem", t);
  tower_metric_add_tag(m, "host", "web01");
  tower_metric_add_int(m, "used", i);
  tower_metric_add_int(m, "free", 1000 - i);
  tower_metric_add_float(m, "used_percent", 42.5);
  return m;
}

int main(void) {
  printf("pipeline throughput (cpu metric: 2 tags + global + host, 10 float fields):\n");
  throughput(1, 400000);
  throughput(2, 200000);
  throughput(4, 100000);
  throughput(8, 50000);
  printf("memory per buffered metric:\n");
  memory_per_metric("cpu (2 tags + host, 10 float fields)", cpu_metric);
  memory_per_metric("http_requests (5 tags, 5 fields)", wide_metric);
  memory_per_metric("mem (1 tag, 3 fields)", small_metric);
  return 0;
}
