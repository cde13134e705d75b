/* Disk buffer benchmarks (buffer_strategy = "disk"), figures only:
 *  1. the buffer alone: metrics/s appended in commits of 1 and of 64
 *     metrics, and replayed (open, read, decode, acknowledge) after a
 *     close, for each buffer_fsync, beside the memory buffer; bytes on
 *     disk per metric;
 *  2. the pipeline: inputs -> one output buffer, memory against disk in
 *     each mode (the cost the disk adds to a commit), then the flush of
 *     that buffer into an output;
 *  3. tower against Fluent Bit on the same input and a dead output: each
 *     runs `cat` of the same N metrics (line protocol for tower's
 *     inputs.exec, JSON lines for Fluent Bit's in_exec), both in front of
 *     an InfluxDB output to a port nobody serves, tower with a disk buffer
 *     and Fluent Bit with storage.type filesystem: metrics/s from start to
 *     all N held on disk, and bytes on disk per metric. Runs when
 *     FLUENT_BIT names a fluent-bit binary (bench/README.md builds one).
 * The buffers live under $BENCH_DIR (default $TMPDIR or /tmp): put it on
 * the disk to measure. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tower/tower.h>

#include "bench_util.h"
#include "buffer.h"
#include "log_internal.h"
#include "../tests/loopback.h"

#define FIELDS 10

static const char *const cpu_fields[FIELDS] = {
    "usage_guest", "usage_guest_nice", "usage_idle",  "usage_iowait", "usage_irq",
    "usage_nice",  "usage_softirq",    "usage_steal", "usage_system", "usage_user"};

static char *base;

/* Telegraf's cpu metric: 2 tags, 10 float fields. */
static tower_metric *cpu_metric(long i) {
  char cpu[16];
  snprintf(cpu, sizeof cpu, "cpu%ld", i % 64);
  tower_metric *m = tower_metric_new("cpu", 1700000000000000000LL + i * 1000);
  tower_metric_add_tag(m, "cpu", cpu);
  tower_metric_add_tag(m, "host", "web01.example.com");
  for (int f = 0; f < FIELDS; f++)
    tower_metric_add_float(m, cpu_fields[f], (double)(i % 1000) * 0.37 + f);
  return m;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void rmrf(const char *path) {
  nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static uint64_t tree_bytes;

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)path;
  (void)ftw;
  if (flag == FTW_F)
    tree_bytes += (uint64_t)st->st_size;
  return 0;
}

/* Sum of the sizes of the files under `dir`. */
static uint64_t du(const char *dir) {
  tree_bytes = 0;
  nftw(dir, add_size, 16, FTW_PHYS);
  return tree_bytes;
}

static const char *fsync_name(twi_buffer_fsync f) {
  return f == TWI_FSYNC_COMMIT ? "commit" : f == TWI_FSYNC_INTERVAL ? "interval" : "never";
}

/* ---- 1. the buffer alone ---------------------------------------------- */

static twi_buffer *open_disk(const char *dir, twi_buffer_fsync f) {
  twi_buffer_conf c = {.disk = true,
                       .dir = (char *)dir,
                       .fsync = f,
                       .fsync_interval = 1000000000LL,
                       .max_bytes = 8ULL << 30};
  int err = 0;
  twi_buffer *b = twi_buffer_disk_open(&c, 100000000, NULL, &err);
  if (!b)
    bench_die("cannot open a disk buffer (see the log)");
  return b;
}

/* Appends n metrics in commits of `per`; returns the seconds. A tick per
 * simulated second of the flush thread is not modelled: "interval" syncs
 * once at the end. */
static double append(twi_buffer *b, long n, long per) {
  tower_metric **ms = malloc((size_t)per * sizeof *ms);
  double t0 = bench_now();
  for (long i = 0; i < n; i += per) {
    long k = n - i < per ? n - i : per;
    for (long j = 0; j < k; j++)
      ms[j] = cpu_metric(i + j);
    b->ops->push(b, ms, (size_t)k);
  }
  if (b->ops->tick)
    b->ops->tick(b);
  double dt = bench_now() - t0;
  free(ms);
  return dt;
}

/* Takes, acknowledges and frees everything; returns how many. */
static long drain(twi_buffer *b) {
  tower_metric *batch[1000];
  long total = 0;
  for (size_t n; (n = b->ops->take(b, batch, 1000)) > 0; total += (long)n) {
    b->ops->ack(b, n);
    for (size_t i = 0; i < n; i++)
      twi_buffer_release(batch[i], false);
  }
  return total;
}

static void buffer_alone(void) {
  printf("the buffer alone (cpu metric: 2 tags, 10 float fields):\n");
  printf("  %-28s %14s %14s %12s\n", "buffer", "append/s", "replay/s", "disk B/metric");
  const long n = 200000;
  twi_buffer *m = twi_buffer_mem_new((size_t)n);
  append(m, n, 64); /* warm-up: grows the heap to hold n metrics */
  drain(m);
  double ta = append(m, n, 64), t0 = bench_now();
  long got = drain(m);
  printf("  %-28s %14.0f %14.0f %12s\n", "memory, commits of 64", (double)n / ta,
         (double)got / (bench_now() - t0), "-");
  m->ops->destroy(m);
  twi_buffer_fsync modes[] = {TWI_FSYNC_COMMIT, TWI_FSYNC_INTERVAL, TWI_FSYNC_NEVER};
  long pers[] = {64, 1};
  for (size_t k = 0; k < 3; k++)
    for (size_t p = 0; p < 2; p++) {
      /* one metric per commit with an fdatasync each: fewer of them */
      long count = pers[p] == 1 && modes[k] == TWI_FSYNC_COMMIT ? 5000 : n;
      char *dir;
      if (asprintf(&dir, "%s/alone", base) < 0)
        bench_die("out of memory");
      twi_buffer *b = open_disk(dir, modes[k]);
      double dt = append(b, count, pers[p]);
      uint64_t bytes = du(dir);
      b->ops->destroy(b);
      t0 = bench_now();
      b = open_disk(dir, modes[k]);
      got = drain(b);
      double rt = bench_now() - t0;
      b->ops->destroy(b);
      char name[64];
      snprintf(name, sizeof name, "disk %s, commits of %ld", fsync_name(modes[k]), pers[p]);
      printf("  %-28s %14.0f %14.0f %12.1f\n", name, (double)count / dt, (double)got / rt,
             (double)bytes / (double)count);
      rmrf(dir);
      free(dir);
    }
}

/* ---- 2. the pipeline ---------------------------------------------------- */

static twi_pipeline *pipeline_with(const char *buffer) {
  char *text;
  if (asprintf(&text,
               "agent = { hostname = \"bench\"; metric_buffer_limit = 100000000; "
               "metric_batch_size = 1000; buffer_directory = \"%s/pipe\"; };\n"
               "inputs = ( { plugin = \"lines\"; lines = [\"x v=1\"]; } );\n"
               "outputs = ( { plugin = \"record\"; path = \"/dev/null\"; %s } );\n",
               base, buffer) < 0)
    bench_die("out of memory");
  twi_pipeline *pl = bench_pipeline(text);
  free(text);
  return pl;
}

static void pipeline_cost(void) {
  printf("the pipeline: one input, gathers of 64 cpu metrics -> one output buffer, then its "
         "flush:\n");
  printf("  %-28s %14s %12s %14s\n", "buffer", "commit metrics/s", "vs memory", "flush/s");
  const char *buffers[] = {"", "buffer_strategy = \"disk\"; buffer_fsync = \"commit\";",
                           "buffer_strategy = \"disk\"; buffer_fsync = \"interval\";",
                           "buffer_strategy = \"disk\"; buffer_fsync = \"never\";"};
  const char *names[] = {"memory", "disk commit", "disk interval", "disk never"};
  const long n = 200000;
  double memory = 0;
  /* a first memory run, not shown, grows the heap to hold n metrics: the
   * figures compare the buffers, not the first page faults */
  for (size_t run = 0; run < 5; run++) {
    size_t k = run ? run - 1 : 0;
    twi_pipeline *pl = pipeline_with(buffers[k]);
    tower_acc *acc = twi_acc_new_input(pl->inputs[0], pl, false);
    double t0 = bench_now();
    for (long i = 0; i < n;) {
      twi_acc_begin(acc, tower_now());
      for (int j = 0; j < 64 && i < n; j++, i++)
        tower_acc_add(acc, cpu_metric(i));
      tower_acc_commit(acc);
    }
    double dt = bench_now() - t0, rate = (double)n / dt;
    if (k == 0)
      memory = rate;
    t0 = bench_now();
    size_t left = twi_output_flush_sync(pl->outputs[0]);
    double ft = bench_now() - t0;
    char vs[32];
    snprintf(vs, sizeof vs, "%+.0f%% time", (memory / rate - 1) * 100);
    if (run)
      printf("  %-28s %14.0f %12s %14.0f%s\n", names[k], rate, k ? vs : "-",
             (double)(n - (long)left) / ft, left ? " (some left)" : "");
    twi_acc_free(acc);
    twi_pipeline_free(pl);
    char *dir;
    if (asprintf(&dir, "%s/pipe", base) >= 0)
      rmrf(dir);
    free(dir);
  }
}

/* ---- 3. tower against Fluent Bit -------------------------------------- */

/* The same n cpu metrics as line protocol and as JSON lines. */
static void write_inputs(long n, const char *lp, const char *json) {
  FILE *a = fopen(lp, "w"), *b = fopen(json, "w");
  if (!a || !b)
    bench_die("cannot write the input files");
  for (long i = 0; i < n; i++) {
    long ts = 1700000000L + i / 1000;
    fprintf(a, "cpu,cpu=cpu%ld,host=web01.example.com", i % 64);
    fprintf(b, "{\"measurement\":\"cpu\",\"cpu\":\"cpu%ld\",\"host\":\"web01.example.com\"",
            i % 64);
    for (int f = 0; f < FIELDS; f++) {
      double v = (double)(i % 1000) * 0.37 + f;
      fprintf(a, "%c%s=%.2f", f ? ',' : ' ', cpu_fields[f], v);
      fprintf(b, ",\"%s\":%.2f", cpu_fields[f], v);
    }
    fprintf(a, " %ld%09ld\n", ts, (i % 1000) * 1000L);
    fprintf(b, ",\"time\":%ld}\n", ts);
  }
  fclose(a);
  fclose(b);
}

typedef struct run {
  double seconds;
  uint64_t bytes;
} run;

static run run_tower(const char *mode, const char *lp, long n) {
  unsigned dead = loopback_unused_port();
  char *text, *dir;
  if (asprintf(&dir, "%s/tower", base) < 0 ||
      asprintf(&text,
               "agent = { omit_hostname = true; metric_buffer_limit = %ld; "
               "buffer_directory = \"%s\"; };\n"
               "inputs = ( { plugin = \"exec\"; commands = ( [\"/bin/cat\", \"%s\"] ); "
               "data_format = \"influx\"; max_output = \"1GiB\"; timeout = \"120s\"; } );\n"
               "outputs = ( { plugin = \"influxdb\"; urls = [\"http://127.0.0.1:%u\"]; "
               "database = \"bench\"; buffer_strategy = \"disk\"; buffer_fsync = \"%s\"; "
               "buffer_max_bytes = \"8GiB\"; } );\n",
               2 * n, dir, lp, dead, mode) < 0)
    bench_die("out of memory");
  double t0 = bench_now();
  twi_pipeline *pl = bench_pipeline(text);
  twi_input_run_once(pl->inputs[0], pl, 0); /* cat, parse, commit into the buffer */
  run r = {bench_now() - t0, 0};
  if (twi_output_buffered(pl->outputs[0]) != (size_t)n)
    bench_die("tower did not buffer every metric");
  r.bytes = du(dir);
  twi_pipeline_free(pl);
  rmrf(dir);
  free(dir);
  free(text);
  return r;
}

/* Fluent Bit's input record count, from its HTTP API (-1: no answer). */
static long fluent_records(unsigned port) {
  char cmd[256], out[8192];
  snprintf(cmd, sizeof cmd, "curl -s -m 1 http://127.0.0.1:%u/api/v1/metrics", port);
  FILE *p = popen(cmd, "r");
  size_t len = p ? fread(out, 1, sizeof out - 1, p) : 0;
  if (p)
    pclose(p);
  out[len] = '\0';
  const char *r = strstr(out, "\"records\":");
  return r ? strtol(r + 10, NULL, 10) : -1;
}

static run run_fluent(const char *fb, const char *sync, const char *json, long n) {
  char *dir, *conf, *parsers;
  unsigned port = loopback_unused_port(), dead = loopback_unused_port();
  if (asprintf(&dir, "%s/fluent", base) < 0 || asprintf(&conf, "%s/fluent-bit.conf", base) < 0 ||
      asprintf(&parsers, "%s/parsers.conf", base) < 0)
    bench_die("out of memory");
  FILE *f = fopen(parsers, "w");
  fprintf(f, "[PARSER]\n    Name json\n    Format json\n    Time_Key time\n"
             "    Time_Format %%s\n");
  fclose(f);
  f = fopen(conf, "w");
  fprintf(f,
          "[SERVICE]\n    Flush 1\n    Log_Level error\n    Parsers_File %s\n"
          "    HTTP_Server On\n    HTTP_Listen 127.0.0.1\n    HTTP_Port %u\n"
          "    storage.path %s\n    storage.sync %s\n\n"
          "[INPUT]\n    Name exec\n    Command cat %s\n    Parser json\n    Oneshot true\n"
          "    Buf_Size 1mb\n    storage.type filesystem\n\n"
          "[OUTPUT]\n    Name influxdb\n    Match *\n    Host 127.0.0.1\n    Port %u\n"
          "    Retry_Limit False\n",
          parsers, port, dir, sync, json, dead);
  fclose(f);
  double t0 = bench_now();
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(fb, fb, "-c", conf, (char *)NULL);
    _exit(127);
  }
  run r = {0, 0};
  long seen = 0;
  while ((seen = fluent_records(port)) < n && bench_now() - t0 < 300) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid)
      bench_die("fluent-bit exited (run it by hand with this configuration to see why)");
    usleep(2000);
  }
  r.seconds = bench_now() - t0;
  usleep(300000); /* let it settle its chunk files */
  r.bytes = du(dir);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  if (seen < n)
    bench_die("fluent-bit did not take every record in 300s");
  rmrf(dir);
  free(dir);
  free(conf);
  free(parsers);
  return r;
}

static void versus_fluent_bit(void) {
  const char *fb = getenv("FLUENT_BIT");
  if (!fb || !*fb) {
    printf("tower vs Fluent Bit: skipped (set FLUENT_BIT to a fluent-bit binary; see "
           "bench/README.md)\n");
    return;
  }
  const long n = 200000;
  char *lp, *json;
  if (asprintf(&lp, "%s/input.lp", base) < 0 || asprintf(&json, "%s/input.json", base) < 0)
    bench_die("out of memory");
  write_inputs(n, lp, json);
  printf("tower vs Fluent Bit (%s): `cat` of %ld cpu metrics into a disk buffer, output down\n", fb,
         n);
  printf("  %-44s %14s %14s\n", "agent", "metrics/s", "disk B/metric");
  const char *tmodes[] = {"never", "interval", "commit"};
  for (int k = 0; k < 3; k++) {
    run r = run_tower(tmodes[k], lp, n);
    char name[64];
    snprintf(name, sizeof name, "tower, buffer_fsync = %s", tmodes[k]);
    printf("  %-44s %14.0f %14.1f\n", name, (double)n / r.seconds, (double)r.bytes / (double)n);
  }
  const char *fmodes[] = {"normal", "full"};
  for (int k = 0; k < 2; k++) {
    run r = run_fluent(fb, fmodes[k], json, n);
    char name[64];
    snprintf(name, sizeof name, "Fluent Bit, storage.sync = %s", fmodes[k]);
    printf("  %-44s %14.0f %14.1f\n", name, (double)n / r.seconds, (double)r.bytes / (double)n);
  }
  unlink(lp);
  unlink(json);
  free(lp);
  free(json);
}

int main(void) {
  const char *dir = getenv("BENCH_DIR");
  if (!dir || !*dir)
    dir = getenv("TMPDIR");
  if (asprintf(&base, "%s/tower-bench-disk.XXXXXX", dir && *dir ? dir : "/tmp") < 0 ||
      !mkdtemp(base))
    bench_die("cannot make a directory for the buffers");
  twi_log_set_file("/dev/null"); /* "N metrics kept for the next start" and the like */
  buffer_alone();
  pipeline_cost();
  versus_fluent_bit();
  rmrf(base);
  free(base);
  return 0;
}
