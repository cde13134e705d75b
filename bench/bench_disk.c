/* inputs.disk and inputs.diskio: the cost of one gather, in time and in
 * allocations, against what reading the same files (and, for disk, the
 * statfs calls) costs on its own.
 *
 * Usage: bench_disk [gathers per case, default 2000]
 *
 * Cases: this machine's mount table and /proc/diskstats, and written ones
 * of a crowded host (a Kubernetes node: 1000 mounts of which 980 are
 * ignored tmpfs and overlay, 20 are statted; 1000 block devices). A gather
 * is driven as the input thread drives it (accumulator, gather, commit);
 * the output is flushed after each, outside the timing.
 * Allocations are counted by wrapping malloc (tests/malloc_count.h) and
 * include the metrics' own; "allocs/metric" divides by the metrics.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "bench_util.h"
#include "malloc_count.h"

#ifdef NO_MALLOC_COUNT /* a sanitizer's allocator: nothing counted */
static const unsigned long nallocs = 0;
#endif

static char tmp[] = "/tmp/tower-bench-disk.XXXXXX";

static void write_file(const char *rel, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", tmp, rel);
  FILE *f = fopen(path, "w");
  if (!f || fputs(text, f) < 0 || fclose(f) != 0)
    bench_die("cannot write the bench's files");
}

static void report(const char *name, double secs, long gathers, unsigned long allocs,
                   unsigned long metrics) {
  double per = secs * 1e6 / (double)gathers;
  double ag = (double)allocs / (double)gathers, mg = (double)metrics / (double)gathers;
  printf("%-46s %9.1f %9.0f %9.1f %9.2f\n", name, per, mg, ag, mg > 0 ? ag / mg : 0.0);
}

/* One gather as the input thread makes it. */
static void gather_once(twi_pipeline *pl) {
  tower_ctx *in = pl->inputs[0];
  tower_acc *acc = twi_acc_new_input(in, pl, false);
  twi_acc_begin(acc, tower_now());
  if (in->plugin->desc.gather(in->state, acc) != 0)
    bench_die("gather failed");
  tower_acc_commit(acc);
  twi_acc_free(acc);
}

static void bench_plugin(const char *name, const char *block, long gathers) {
  char text[1024];
  snprintf(text, sizeof text,
           "agent = { omit_hostname = true; };\n"
           "inputs = ( { %s } );\n"
           "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; } );\n",
           block);
  twi_pipeline *pl = bench_pipeline(text);
  for (int i = 0; i < 20; i++) /* warm up: buffers, slots, threads */
    gather_once(pl);
  twi_output_flush_sync(pl->outputs[0]);
  double secs = 0;
  unsigned long allocs = 0;
  uint64_t m0 = pl->inputs[0]->stats.metrics;
  for (long i = 0; i < gathers; i++) {
    unsigned long a0 = nallocs;
    double t0 = bench_now();
    gather_once(pl);
    secs += bench_now() - t0;
    allocs += nallocs - a0;
    twi_output_flush_sync(pl->outputs[0]);
  }
  report(name, secs, gathers, allocs, (unsigned long)(pl->inputs[0]->stats.metrics - m0));
  twi_pipeline_free(pl);
}

/* The floor for disk: read the table, statfs every mount point. */
static void bench_raw_disk(const char *name, const char *table, long gathers) {
  static char buf[1 << 20];
  struct statfs st;
  double t0 = bench_now();
  unsigned long calls = 0;
  for (long g = 0; g < gathers; g++) {
    int fd = open(table, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
      close(fd);
    if (n <= 0)
      bench_die("cannot read the mount table");
    buf[n] = '\0';
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
      char point[512], fstype[64];
      const char *dash = strstr(line, " - ");
      if (!dash || sscanf(line, "%*s %*s %*s %*s %511s", point) != 1 ||
          sscanf(dash + 3, "%63s", fstype) != 1 || strcmp(fstype, "tmpfs") == 0 ||
          strcmp(fstype, "overlay") == 0)
        continue;
      statfs(point, &st);
      calls++;
    }
  }
  (void)calls;
  report(name, bench_now() - t0, gathers, 0, 0);
}

/* The floor for diskio: read /proc/diskstats. */
static void bench_raw_read(const char *name, const char *path, long gathers) {
  static char buf[1 << 20];
  double t0 = bench_now();
  for (long g = 0; g < gathers; g++) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && read(fd, buf, sizeof buf) > 0)
      ;
    if (fd >= 0)
      close(fd);
  }
  report(name, bench_now() - t0, gathers, 0, 0);
}

/* A Kubernetes node's table: 20 real mounts (all "/" here, so statfs
 * answers), 980 tmpfs and overlay mounts of pods. */
static void write_crowded_host(void) {
  size_t cap = 1 << 20, len = 0;
  char *t = malloc(cap);
  if (!t)
    bench_die("out of memory");
  for (int i = 0; i < 1000; i++) {
    if (i % 50 == 0)
      len += (size_t)snprintf(t + len, cap - len, "%d 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n",
                              100 + i);
    else
      len += (size_t)snprintf(
          t + len, cap - len,
          "%d 1 0:%d / /var/lib/kubelet/pods/%08d-aaaa-bbbb-cccc-%012d/volumes/"
          "kubernetes.io~projected/kube-api-access-%05d rw,relatime - %s %s rw,size=1024k\n",
          100 + i, 100 + i, i, i, i, i % 2 ? "tmpfs" : "overlay", i % 2 ? "tmpfs" : "overlay");
  }
  write_file("proc/1/mountinfo", t);
  len = 0;
  for (int i = 0; i < 1000; i++)
    len += (size_t)snprintf(t + len, cap - len,
                            " 259 %7d nvme%dn1 %d 20 %d 300 %d 40 %d 500 0 600 700 0 0 0 0 0 0\n",
                            i, i, 1000 + i, 80000 + i, 2000 + i, 160000 + i);
  write_file("proc/diskstats", t);
  free(t);
}

int main(int argc, char **argv) {
  long gathers = argc > 1 ? atol(argv[1]) : 2000;
  if (gathers < 100)
    gathers = 100;
#ifdef NO_MALLOC_COUNT
  printf("(allocations are not counted in this build)\n");
#endif
  if (!mkdtemp(tmp))
    bench_die("mkdtemp");
  char path[600];
  snprintf(path, sizeof path, "%s/proc", tmp);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/proc/1", tmp);
  mkdir(path, 0755);
  write_crowded_host();

  printf("%-46s %9s %9s %9s %9s\n", "case (per gather)", "us", "metrics", "allocs",
         "allocs/metric");
  bench_raw_disk("raw: /proc/1/mountinfo + statfs each", "/proc/1/mountinfo", gathers);
  bench_plugin("disk, this machine", "plugin = \"disk\";", gathers);
  bench_plugin("diskio, this machine", "plugin = \"diskio\";", gathers);
  bench_plugin("diskio, this machine, serial + udev stat",
               "plugin = \"diskio\"; skip_serial_number = false;", gathers);
  bench_raw_read("raw: read /proc/diskstats", "/proc/diskstats", gathers);

  snprintf(path, sizeof path, "%s/proc", tmp);
  setenv("HOST_PROC", path, 1);
  snprintf(path, sizeof path, "%s/proc/1/mountinfo", tmp);
  bench_raw_disk("raw: 1000-mount table + 20 statfs", path, gathers / 10);
  bench_plugin("disk, 1000 mounts, 20 statted", "plugin = \"disk\";", gathers / 10);
  bench_plugin("diskio, 1000 devices", "plugin = \"diskio\";", gathers / 10);
  bench_plugin("diskio, 1000 devices, 1 selected", "plugin = \"diskio\"; devices = [\"nvme7n1\"];",
               gathers / 10);
  snprintf(path, sizeof path, "%s/proc/diskstats", tmp);
  bench_raw_read("raw: read a 1000-device diskstats", path, gathers / 10);

  snprintf(path, sizeof path, "rm -rf '%s'", tmp);
  return system(path) == 0 ? 0 : 1;
}
