/* Throughput of the built-in data formats: line protocol parse and
 * serialize, CSV serialize, float formatting.
 *
 * Usage: bench_formats [seconds per case, default 0.5] [case filter]
 *
 * With a filter, only the cases whose name holds it run (for example
 * "lp parse" under valgrind --tool=callgrind, where instructions per line
 * are the inclusive count of twi_influx_parse_line over its calls).
 *
 * Each case repeats its operation in batches until the time is spent and
 * prints ns per operation, operations per second and MB/s of line protocol
 * or CSV text. Parsing includes building each metric (its one allocation)
 * and freeing it in the sink, as an input plugin would pay; the "metric
 * alone" cases measure that part without parsing, so that the parse work
 * is the difference.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tower/format.h>

#include "metric_internal.h"
#include "bench_util.h"
#include "numfmt.h"

static double min_seconds = 0.5;
static const char *filter;

/* The case runs: no filter, or its name holds the filter. */
static int selected(const char *name) {
  return !filter || strstr(name, filter);
}

static const char short_line[] =
    "cpu,host=server01,region=us-west usage_idle=98.2,usage_user=1.3 1700000000000000000";

/* Telegraf's cpu input: two tags and ten computed usage_* fields. */
static const char cpu_line[] =
    "cpu,cpu=cpu-total,host=server01.example.com usage_guest=0,usage_guest_nice=0,"
    "usage_idle=97.23618090452261,usage_iowait=0.25125628140703515,usage_irq=0,"
    "usage_nice=0,usage_softirq=0.05025125628140704,usage_steal=0,"
    "usage_system=0.7537688442211056,usage_user=1.7085427135678393 1700000000000000000";

static const char escaped_line[] =
    "log\\ events,host=web\\ 01,path=/var/log/app\\,main,zone=eu\\=west "
    "code=503i,latency=0.25,level=\"warn\",msg=\"disk \\\"sda\\\" at 91% full, see "
    "C:\\\\temp\\\\log\",ok=false,size=18446744073709551615u 1700000000000000000";

static int free_sink(void *ctx, tower_metric *m) {
  (void)ctx;
  tower_metric_free(m);
  return 0;
}

static int keep_sink(void *ctx, tower_metric *m) {
  *(tower_metric **)ctx = m;
  return 0;
}

/* Parses `line` once into a metric. */
static tower_metric *parse_one(const char *line) {
  tower_parser *p;
  tower_metric *m = NULL;
  if (tower_parser_new_format(NULL, "influx", &p) < 0)
    bench_die("no influx parser");
  if (tower_parser_parse(p, line, strlen(line), keep_sink, &m) != 1 || !m)
    bench_die("benchmark line does not parse");
  tower_parser_free(p);
  return m;
}

#define LINES_PER_DOC 1000

static void bench_parse(const char *name, const char *line) {
  if (!selected(name))
    return;
  size_t llen = strlen(line), dlen = (llen + 1) * LINES_PER_DOC;
  char *doc = malloc(dlen);
  if (!doc)
    bench_die("out of memory");
  for (size_t i = 0; i < LINES_PER_DOC; i++) {
    memcpy(doc + i * (llen + 1), line, llen);
    doc[i * (llen + 1) + llen] = '\n';
  }
  tower_parser *p;
  if (tower_parser_new_format(NULL, "influx", &p) < 0)
    bench_die("no influx parser");
  double start = bench_now(), t;
  double lines = 0;
  do {
    if (tower_parser_parse(p, doc, dlen, free_sink, NULL) != LINES_PER_DOC)
      bench_die("parse failed");
    lines += LINES_PER_DOC;
  } while ((t = bench_now() - start) < min_seconds);
  bench_report(name, t, lines, (double)(llen + 1));
  tower_parser_free(p);
  free(doc);
}

/* The parts of a parsed line, as a parser hands them to the metric. */
#define MAX_PARTS 16
typedef struct line_parts {
  const char *name, *key[MAX_PARTS], *val[MAX_PARTS];
  size_t ntags, nfields, str_bytes, klen[MAX_PARTS], vlen[MAX_PARTS];
  tower_field_type type[MAX_PARTS];
  uint64_t raw[MAX_PARTS];
} line_parts;

static uint64_t field_raw(const tower_metric *m, size_t i) {
  double d;
  switch (tower_metric_field_type(m, i)) {
  case TOWER_FIELD_FLOAT:
    d = tower_metric_field_float(m, i);
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits;
  case TOWER_FIELD_INT:
    return (uint64_t)tower_metric_field_int(m, i);
  case TOWER_FIELD_UINT:
    return tower_metric_field_uint(m, i);
  case TOWER_FIELD_BOOL:
    return tower_metric_field_bool(m, i);
  default:
    return 0;
  }
}

static void get_parts(const tower_metric *m, line_parts *lp) {
  memset(lp, 0, sizeof *lp);
  lp->name = tower_metric_name(m);
  lp->ntags = tower_metric_tag_count(m);
  lp->nfields = tower_metric_field_count(m);
  if (lp->ntags + lp->nfields > MAX_PARTS)
    bench_die("line has too many parts");
  for (size_t i = 0; i < lp->ntags; i++) {
    lp->key[i] = tower_metric_tag_key(m, i);
    lp->val[i] = tower_metric_tag_value(m, i);
  }
  for (size_t i = 0, j = lp->ntags; i < lp->nfields; i++, j++) {
    lp->key[j] = tower_metric_field_key(m, i);
    lp->type[j] = tower_metric_field_type(m, i);
    lp->raw[j] = field_raw(m, i);
    lp->val[j] = lp->type[j] == TOWER_FIELD_STRING ? tower_metric_field_string(m, i) : "";
  }
  for (size_t j = 0; j < lp->ntags + lp->nfields; j++) {
    lp->klen[j] = strlen(lp->key[j]);
    lp->vlen[j] = strlen(lp->val[j]);
    lp->str_bytes += lp->klen[j] + 1 +
                     (j < lp->ntags || lp->type[j] == TOWER_FIELD_STRING ? lp->vlen[j] + 1 : 0);
  }
}

/* What the metric costs in "lp parse" without any parsing: its one
 * allocation and free (with_parts 0), or that plus copying in the line's
 * tags and fields as the parser does (with_parts 1). "lp parse" minus this
 * is the parse work. */
static void bench_metric(const char *name, const char *line, int with_parts) {
  if (!selected(name))
    return;
  tower_metric *m = parse_one(line);
  line_parts lp;
  get_parts(m, &lp);
  size_t nlen = strlen(lp.name), n = 0;
  double start = bench_now(), t;
  do {
    for (int i = 0; i < 1000; i++) {
      tower_metric *b = twi_metric_new_sized(lp.name, nlen, 1700000000000000000, lp.ntags,
                                             lp.nfields, lp.str_bytes);
      if (!b)
        bench_die("out of memory");
      for (size_t j = 0; with_parts && j < lp.ntags; j++)
        twi_metric_append_tag(b, lp.key[j], lp.klen[j], lp.val[j], lp.vlen[j]);
      for (size_t j = lp.ntags; with_parts && j < lp.ntags + lp.nfields; j++)
        twi_metric_append_field(b, lp.key[j], lp.klen[j], lp.type[j], lp.raw[j], lp.val[j],
                                lp.vlen[j]);
      tower_metric_free(b);
    }
    n += 1000;
  } while ((t = bench_now() - start) < min_seconds);
  bench_report(name, t, (double)n, 0);
  tower_metric_free(m);
}

static void bench_lp_write(const char *name, const char *line, unsigned flags) {
  if (!selected(name))
    return;
  tower_metric *m = parse_one(line);
  tower_buf *b = tower_buf_new(1 << 20);
  double start = bench_now(), t, ops = 0, bytes = 0;
  do {
    tower_buf_reset(b);
    for (int i = 0; i < 1000; i++)
      if (tower_lp_write(m, b, flags, 1))
        bench_die("serialize failed");
    ops += 1000;
    bytes += (double)tower_buf_len(b);
  } while ((t = bench_now() - start) < min_seconds);
  bench_report(name, t, ops, bytes / ops);
  tower_buf_free(b);
  tower_metric_free(m);
}

static void bench_format_write(const char *name, const char *format, const char *line) {
  if (!selected(name))
    return;
  tower_metric *m = parse_one(line);
  tower_serializer *s;
  if (tower_serializer_new_format(NULL, format, &s) < 0)
    bench_die("no serializer");
  bench_serializer(name, s, m, min_seconds);
  tower_serializer_free(s);
  tower_metric_free(m);
}

#define NVALUES 4096

/* Formats a table of values round-robin; use_printf compares with
 * snprintf("%.17g"), which is not even the shortest form. */
static void bench_floats(const char *name, const double *v, int use_printf) {
  if (!selected(name))
    return;
  char buf[64];
  double start = bench_now(), t, ops = 0;
  size_t sink = 0;
  do {
    for (int i = 0; i < NVALUES; i++)
      sink +=
          use_printf ? (size_t)snprintf(buf, sizeof buf, "%.17g", v[i]) : twi_fmt_double(buf, v[i]);
    ops += NVALUES;
  } while ((t = bench_now() - start) < min_seconds);
  if (sink == 0)
    bench_die("nothing formatted");
  bench_report(name, t, ops, 0);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545f4914f6cdd1dull;
}

static void float_benches(void) {
  static double few[NVALUES], ratio[NVALUES], ints[NVALUES], wide[NVALUES];
  for (int i = 0; i < NVALUES; i++) {
    few[i] = (double)(rnd() % 100000) / 10.0;                                   /* 98.2 */
    ratio[i] = 100.0 * (double)(rnd() % 100000) / (double)(1 + rnd() % 100000); /* 17 digits */
    ints[i] = (double)(rnd() % 10000000000ull);                                 /* counters */
    uint64_t bits = rnd() & ~(0x7ffull << 52);
    bits |= (uint64_t)(1 + rnd() % 2046) << 52; /* any finite exponent */
    memcpy(&wide[i], &bits, sizeof bits);
  }
  bench_floats("float: 1 decimal (98.2)", few, 0);
  bench_floats("float: computed ratio (17 digits)", ratio, 0);
  bench_floats("float: integral (1234567890)", ints, 0);
  bench_floats("float: any exponent (slow path)", wide, 0);
  bench_floats("snprintf %.17g, computed ratio", ratio, 1);
}

int main(int argc, char **argv) {
  if (argc > 1)
    min_seconds = atof(argv[1]);
  if (argc > 2)
    filter = argv[2];
  if (!(min_seconds > 0) || argc > 3)
    bench_die("usage: bench_formats [seconds per case] [case filter]");
  tower_metric *m = parse_one(cpu_line);
  printf("lines: short %zu B, cpu %zu B, escaped %zu B; parsed cpu metric: %zu B on the heap\n\n",
         sizeof short_line, sizeof cpu_line, sizeof escaped_line, twi_metric_bytes(m));
  tower_metric_free(m);
  bench_report_header();
  bench_parse("lp parse: short line", short_line);
  bench_parse("lp parse: cpu, 2 tags + 10 fields", cpu_line);
  bench_parse("lp parse: escapes and strings", escaped_line);
  bench_metric("metric alone: new_sized + free (short)", short_line, 0);
  bench_metric("metric alone: build + free (short)", short_line, 1);
  bench_lp_write("lp write: short line", short_line, 0);
  bench_lp_write("lp write: cpu, 2 tags + 10 fields", cpu_line, 0);
  bench_lp_write("lp write: escapes and strings", escaped_line, TOWER_LP_UINT);
  bench_format_write("csv write: short line", "csv", short_line);
  bench_format_write("csv write: cpu, 2 tags + 10 fields", "csv", cpu_line);
  bench_format_write("csv write: escapes and strings", "csv", escaped_line);
  float_benches();
  return 0;
}
