/* Shared by the benchmarks; see bench_util.h. */
#include "config.h"

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
