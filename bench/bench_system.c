/* inputs.system and inputs.kernel: the cost of one gather on this machine
 * (and of system on a built tree of 256 CPUs, to see how it grows with
 * them), in microseconds and in allocations, against what the metrics
 * themselves cost to build (the same metrics built again field by field):
 * the difference is what the plugin allocates, 0 once its buffers are warm.
 *
 * Usage: bench_system [gathers, default 5000]
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ---- a machine of 256 CPUs (128 cores with two threads each) ------------- */

#define NCPU 256

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f || fputs(text, f) < 0 || fclose(f))
    bench_die(path);
}

static void make_dirs(char *path) {
  for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
    *s = '\0';
    if (mkdir(path, 0755) && errno != EEXIST)
      bench_die(path);
    *s = '/';
  }
}

/* An x86 cpuinfo block per CPU (with a flags line of a real one's length)
 * and a sysfs topology; the load and uptime files. Returns the tree. */
static char *big_tree(void) {
  static char root[] = "/tmp/tower-bench-system.XXXXXX";
  if (!mkdtemp(root))
    bench_die("mkdtemp");
  char path[4096], *info = malloc(NCPU * 2048), *p = info;
  if (!info)
    bench_die("out of memory");
  for (int i = 0; i < NCPU; i++) {
    p += sprintf(p,
                 "processor\t: %d\nvendor_id\t: GenuineIntel\nphysical id\t: %d\n"
                 "core id\t\t: %d\ncpu cores\t: 64\nflags\t\t:",
                 i, i / 128, i % 64);
    for (int k = 0; k < 120; k++)
      p += sprintf(p, " flag%03d", k);
    p += sprintf(p, "\n\n");
    snprintf(path, sizeof path, "%s/sys/devices/system/cpu/cpu%d/topology/core_cpus_list", root, i);
    make_dirs(path);
    char list[32];
    snprintf(list, sizeof list, "%d,%d\n", i % 128, i % 128 + 128);
    write_file(path, list);
  }
  snprintf(path, sizeof path, "%s/proc/cpuinfo", root);
  make_dirs(path);
  write_file(path, info);
  free(info);
  snprintf(path, sizeof path, "%s/sys/devices/system/cpu/present", root);
  write_file(path, "0-255\n");
  snprintf(path, sizeof path, "%s/proc/loadavg", root);
  write_file(path, "12.50 11.25 10.00 3/1200 4242\n");
  snprintf(path, sizeof path, "%s/proc/uptime", root);
  write_file(path, "350735.47 234388.90\n");
  return root;
}

static void remove_tree(const char *root) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  if (system(cmd) != 0)
    fprintf(stderr, "bench_system: could not remove %s\n", root);
}

int main(int argc, char **argv) {
  long gathers = argc > 1 ? atol(argv[1]) : 5000;
  if (gathers <= 0)
    bench_die("usage: bench_system [gathers]");
  unsetenv("HOST_PROC");
  unsetenv("HOST_SYS");
  header();
  bench_input("system, legacy (this machine)", CONF("plugin = \"system\";"), gathers);
  bench_input("system, load and uptime only",
              CONF("plugin = \"system\"; include = [\"load\", \"uptime\"];"), gathers);
  bench_input("kernel (/proc/stat, entropy)", CONF("plugin = \"kernel\";"), gathers);
  if (access("/sys/kernel/mm/ksm", F_OK) == 0 && access("/proc/pressure", F_OK) == 0)
    bench_input("kernel, collect ksm and psi",
                CONF("plugin = \"kernel\"; collect = [\"ksm\", \"psi\"];"), gathers);
  char *root = big_tree(), proc[4200], sys[4200];
  snprintf(proc, sizeof proc, "%s/proc", root);
  snprintf(sys, sizeof sys, "%s/sys", root);
  setenv("HOST_PROC", proc, 1);
  setenv("HOST_SYS", sys, 1);
  bench_input("system, legacy, 256 CPUs (built tree)", CONF("plugin = \"system\";"),
              gathers / 10 + 1);
  remove_tree(root);
  return 0;
}
