/* Glob matching (core/glob.c): the compiled lists the selectors use, on
 * typical metric names, and the worst cases a hostile tag value can pose.
 *
 * Usage: bench_glob [seconds per case, default 0.5] [case-name substring]
 *
 * Each case repeats one match until the time is spent and prints ns per
 * match, matches per second and MB/s of the matched string. The worst cases
 * are strings of 'a' that a pattern such as `*a*b` almost matches: a
 * backtracking matcher is exponential in the number of `*` there, a linear
 * one reads the string about once per `*`.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "globs.h"

static double min_seconds = 0.5;
static const char *only;

struct bench_case {
  const char *name;
  const char *patterns[8];
  const char *separators;
  const char *subject; /* NULL: `len` bytes of 'a' */
  size_t len;
  bool want;
};

static const struct bench_case cases[] = {
    {"literal list, hit", {"cpu", "mem", "disk", "net"}, NULL, "disk", 0, true},
    {"literal list, miss", {"cpu", "mem", "disk", "net"}, NULL, "diskio", 0, false},
    {"prefix net_*", {"net_*"}, NULL, "net_bytes_recv", 0, true},
    {"suffix *_bytes", {"*_bytes"}, NULL, "net_recv_bytes", 0, true},
    {"class and ? disk[0-9]?_io", {"disk[0-9]?_io"}, NULL, "disk3a_io", 0, true},
    {"separator a.*.c (sep .)", {"a.*.c"}, ".", "a.bbb.c", 0, true},
    {"8 patterns, miss",
     {"cpu*", "mem_*", "disk[0-9]", "net_*_bytes", "*_errors", "sys?", "proc{s,esses}", "x"},
     NULL,
     "kernel_vmstat",
     0,
     false},
    {"worst *a*b vs 100 kB", {"*a*b"}, NULL, NULL, 100000, false},
    {"worst *a*a*b vs 20 kB", {"*a*a*b"}, NULL, NULL, 20000, false},
    {"worst *a*a*b vs 100 kB", {"*a*a*b"}, NULL, NULL, 100000, false},
    {"worst *a*a*a*a*a*b vs 100 kB", {"*a*a*a*a*a*b"}, NULL, NULL, 100000, false},
    {"worst *?*?*?*?*?*b vs 100 kB", {"*?*?*?*?*?*b"}, NULL, NULL, 100000, false},
    {"worst *a*a*b sep . vs 100 kB", {"*a*a*b"}, ".", NULL, 100000, false},
    {"worst *a64 b vs 100 kB",
     {"*aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"},
     NULL,
     NULL,
     100000,
     false},
};

static void run(const struct bench_case *c) {
  size_t n = 0;
  while (n < 8 && c->patterns[n])
    n++;
  const char *err;
  twi_globs *g = twi_globs_new(c->patterns, n, c->separators, &err);
  if (!g)
    bench_die(err);
  char *owned = NULL;
  const char *s = c->subject;
  if (!s) {
    if (!(owned = malloc(c->len + 1)))
      bench_die("out of memory");
    memset(owned, 'a', c->len);
    owned[c->len] = '\0';
    s = owned;
  }
  /* short subjects in batches, so that reading the clock does not count */
  int batch = strlen(s) < 1000 ? 1000 : 1;
  double start = bench_now(), t, ops = 0;
  do {
    for (int i = 0; i < batch; i++)
      if (twi_globs_match(g, s) != c->want) {
        fprintf(stderr, "bench_glob: %s: wrong result\n", c->name);
        exit(1);
      }
    ops += batch;
  } while ((t = bench_now() - start) < min_seconds);
  bench_report(c->name, t, ops, (double)strlen(s));
  free(owned);
  twi_globs_free(g);
}

int main(int argc, char **argv) {
  if (argc > 1)
    min_seconds = atof(argv[1]);
  if (!(min_seconds > 0))
    bench_die("usage: bench_glob [seconds per case] [case-name substring]");
  if (argc > 2)
    only = argv[2];
  setvbuf(stdout, NULL, _IOLBF, 0); /* a row at a time, even under `timeout` */
  bench_report_header();
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (!only || strstr(cases[i].name, only))
      run(&cases[i]);
  return 0;
}
