/* Shared by the benchmarks; see bench_util.h. */
#include "config.h"

#include <errno.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

twi_pipeline *bench_pipeline(const char *text) {
  char path[] = "/tmp/tower-bench.XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0 || write(fd, text, strlen(text)) < 0) {
    perror("mkstemp");
    exit(1);
  }
  close(fd);
  char err[2048];
  twi_conf *conf = twi_conf_load(path, err, sizeof err);
  unlink(path);
  if (!conf) {
    fprintf(stderr, "%s\n", err);
    exit(1);
  }
  twi_diag d = {0};
  twi_pipeline *pl = twi_pipeline_build(conf, getenv("TOWER_PLUGIN_DIR"), TWI_ONCE, &d);
  twi_conf_unref(conf);
  if (!pl || twi_pipeline_init(pl)) {
    fprintf(stderr, "bench config rejected:\n%s\n", d.text ? d.text : "(init failed)");
    exit(1);
  }
  twi_diag_free(&d);
  return pl;
}

void bench_die(const char *what) {
  fprintf(stderr, "%s: %s\n", program_invocation_short_name, what);
  exit(1);
}

void bench_report_header(void) {
  printf("%-44s %10s %14s %10s\n", "case", "ns/op", "ops/s", "MB/s");
  printf("%-44s %10s %14s %10s\n", "----", "-----", "-----", "----");
}

void bench_report(const char *name, double seconds, double ops, double bytes_per_op) {
  double ns = seconds * 1e9 / ops;
  if (bytes_per_op > 0)
    printf("%-44s %10.1f %14.0f %10.1f\n", name, ns, ops / seconds,
           bytes_per_op * ops / seconds / 1e6);
  else
    printf("%-44s %10.1f %14.0f %10s\n", name, ns, ops / seconds, "-");
}

void bench_serializer(const char *name, tower_serializer *s, const tower_metric *m,
                      double min_seconds) {
  tower_buf *b = tower_buf_new(1 << 20);
  if (!b)
    bench_die("out of memory");
  double start = bench_now(), t, ops = 0, bytes = 0;
  do {
    tower_buf_reset(b);
    for (int i = 0; i < 1000; i++)
      if (tower_serialize(s, m, b))
        bench_die("serialize failed");
    ops += 1000;
    bytes += (double)tower_buf_len(b);
  } while ((t = bench_now() - start) < min_seconds);
  bench_report(name, t, ops, bytes / ops);
  tower_buf_free(b);
}
