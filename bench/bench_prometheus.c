/* Throughput of the Prometheus text format: parsing a node_exporter-like
 * exposition, serializing its metrics, and the metric -> series mapping.
 *
 * Usage: bench_prometheus [seconds per case, default 0.5]
 *
 * The exposition is built here: per-CPU counters (16 CPUs x 8 modes),
 * unlabelled memory gauges, per-device filesystem and network series,
 * three histograms with 10 buckets (plus +Inf) over several label sets,
 * and Go runtime summaries, each family with HELP and TYPE, as
 * node_exporter writes them. Parsing includes building and freeing every
 * metric, as an input plugin pays.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/format.h>

#include "bench_util.h"

static double min_seconds = 0.5;

static void header(tower_buf *b, const char *name, const char *type) {
  tower_buf_printf(b, "# HELP %s Bench family %s.\n# TYPE %s %s\n", name, name, name, type);
}

static void counters(tower_buf *b) {
  static const char *const modes[] = {"idle",    "iowait", "irq",    "nice",
                                      "softirq", "steal",  "system", "user"};
  header(b, "node_cpu_seconds_total", "counter");
  for (int cpu = 0; cpu < 16; cpu++)
    for (int m = 0; m < 8; m++)
      tower_buf_printf(b, "node_cpu_seconds_total{cpu=\"%d\",mode=\"%s\"} %d.%02d\n", cpu, modes[m],
                       100000 + cpu * 977 + m * 131, (cpu * 7 + m) % 100);
  header(b, "node_network_receive_bytes_total", "counter");
  for (int d = 0; d < 6; d++)
    tower_buf_printf(b, "node_network_receive_bytes_total{device=\"eth%d\"} %.6e\n", d,
                     1.0345e10 + d * 12345.0);
}

static void gauges(tower_buf *b) {
  for (int i = 0; i < 40; i++) {
    char name[64];
    snprintf(name, sizeof name, "node_memory_Field%02d_bytes", i);
    header(b, name, "gauge");
    tower_buf_printf(b, "%s %.0f\n", name, 8.123456789e9 / (i + 1));
  }
  header(b, "node_filesystem_avail_bytes", "gauge");
  for (int i = 0; i < 10; i++)
    tower_buf_printf(b,
                     "node_filesystem_avail_bytes{device=\"/dev/nvme0n1p%d\",fstype=\"ext4\","
                     "mountpoint=\"/srv/data%d\"} %.0f\n",
                     i, i, 4.5e11 - i * 1e9);
  header(b, "node_load1", "gauge");
  tower_buf_append_str(b, "node_load1 0.21\n");
}

static void histograms(tower_buf *b) {
  static const char *const le[] = {"0.005", "0.01", "0.025", "0.05", "0.1",
                                   "0.25",  "0.5",  "1",     "2.5",  "5"};
  static const char *const handlers[] = {"/", "/api/v1/query", "/metrics", "/-/healthy"};
  for (int h = 0; h < 3; h++) {
    char name[64];
    snprintf(name, sizeof name, "http_request_duration_seconds_%d", h);
    header(b, name, "histogram");
    for (int s = 0; s < 4; s++) {
      int count = 0;
      for (int i = 0; i < 10; i++) {
        count += 10 + i * s;
        tower_buf_printf(b, "%s_bucket{code=\"200\",handler=\"%s\",le=\"%s\"} %d\n", name,
                         handlers[s], le[i], count);
      }
      tower_buf_printf(b, "%s_bucket{code=\"200\",handler=\"%s\",le=\"+Inf\"} %d\n", name,
                       handlers[s], count + 3);
      tower_buf_printf(b, "%s_sum{code=\"200\",handler=\"%s\"} %g\n", name, handlers[s],
                       count * 0.0731);
      tower_buf_printf(b, "%s_count{code=\"200\",handler=\"%s\"} %d\n", name, handlers[s],
                       count + 3);
    }
  }
}

static void summaries(tower_buf *b) {
  header(b, "go_gc_duration_seconds", "summary");
  static const char *const q[] = {"0", "0.25", "0.5", "0.75", "1"};
  for (int i = 0; i < 5; i++)
    tower_buf_printf(b, "go_gc_duration_seconds{quantile=\"%s\"} %g\n", q[i], 4.9351e-05 * (i + 1));
  tower_buf_append_str(b, "go_gc_duration_seconds_sum 0.178367553\n"
                          "go_gc_duration_seconds_count 1734\n");
  header(b, "rpc_latency_seconds", "summary");
  for (int s = 0; s < 3; s++) {
    for (int i = 0; i < 5; i++)
      tower_buf_printf(b, "rpc_latency_seconds{service=\"svc%d\",quantile=\"%s\"} %g\n", s, q[i],
                       0.001 * (i + 1) * (s + 1));
    tower_buf_printf(b, "rpc_latency_seconds_sum{service=\"svc%d\"} %g\n", s, 12.5 * (s + 1));
    tower_buf_printf(b, "rpc_latency_seconds_count{service=\"svc%d\"} %d\n", s, 1000 * (s + 1));
  }
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

static int free_sink(void *ctx, tower_metric *m) {
  (void)ctx;
  tower_metric_free(m);
  return 0;
}

typedef struct mlist {
  tower_metric **m;
  size_t n, cap;
} mlist;

static int keep_sink(void *ctx, tower_metric *m) {
  mlist *l = ctx;
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 256;
    l->m = realloc(l->m, l->cap * sizeof *l->m);
    if (!l->m)
      bench_die("out of memory");
  }
  l->m[l->n++] = m;
  return 0;
}

/* Parses doc until the time is spent; reports per line and MB/s. */
static void bench_parse(const char *name, const tower_buf *doc) {
  const char *text = tower_buf_data(doc);
  size_t len = tower_buf_len(doc), lines = count_lines(text);
  tower_parser *p;
  if (tower_parser_new_format(NULL, "prometheus", &p) < 0)
    bench_die("no prometheus parser");
  int per_doc = tower_parser_parse(p, text, len, free_sink, NULL);
  if (per_doc <= 0 || tower_parser_errors(p))
    bench_die("the exposition does not parse");
  double start = bench_now(), t, docs = 0;
  do {
    if (tower_parser_parse(p, text, len, free_sink, NULL) != per_doc)
      bench_die("parse failed");
    docs++;
  } while ((t = bench_now() - start) < min_seconds);
  bench_report(name, t, docs * (double)lines, (double)len / (double)lines);
  printf("%-44s %10.1f ns/metric, %zu lines -> %d metrics\n", "", t * 1e9 / (docs * per_doc), lines,
         per_doc);
  tower_parser_free(p);
}

static void bench_serialize(const char *name, const mlist *l, const char *format) {
  tower_serializer *s;
  if (tower_serializer_new_format(NULL, format, &s) < 0)
    bench_die("no serializer");
  tower_buf *b = tower_buf_new(1 << 20);
  double start = bench_now(), t, ops = 0, bytes = 0;
  do {
    tower_buf_reset(b);
    for (size_t i = 0; i < l->n; i++)
      if (tower_serialize(s, l->m[i], b))
        bench_die("serialize failed");
    ops += (double)l->n;
    bytes += (double)tower_buf_len(b);
  } while ((t = bench_now() - start) < min_seconds);
  bench_report(name, t, ops, bytes / ops);
  tower_buf_free(b);
  tower_serializer_free(s);
}

static int count_series(void *ud, const tower_prom_series *s) {
  (void)s;
  ++*(size_t *)ud;
  return 0;
}

static void bench_map(const char *name, const mlist *l) {
  size_t series = 0;
  double start = bench_now(), t;
  do {
    for (size_t i = 0; i < l->n; i++)
      if (tower_prom_map(l->m[i], 0, count_series, &series) < 0)
        bench_die("map failed");
  } while ((t = bench_now() - start) < min_seconds);
  bench_report(name, t, (double)series, 0);
}

int main(int argc, char **argv) {
  if (argc > 1)
    min_seconds = atof(argv[1]);
  if (!(min_seconds > 0))
    bench_die("usage: bench_prometheus [seconds per case]");
  tower_buf *all = tower_buf_new(0), *c = tower_buf_new(0), *g = tower_buf_new(0),
            *h = tower_buf_new(0), *s = tower_buf_new(0);
  counters(c);
  gauges(g);
  histograms(h);
  summaries(s);
  tower_buf_append(all, tower_buf_data(c), tower_buf_len(c));
  tower_buf_append(all, tower_buf_data(g), tower_buf_len(g));
  tower_buf_append(all, tower_buf_data(h), tower_buf_len(h));
  tower_buf_append(all, tower_buf_data(s), tower_buf_len(s));
  printf("exposition: %zu bytes, %zu lines (node_exporter-like)\n\n", tower_buf_len(all),
         count_lines(tower_buf_data(all)));
  bench_report_header();
  bench_parse("parse: whole exposition (per line)", all);
  bench_parse("parse: counters (per line)", c);
  bench_parse("parse: gauges (per line)", g);
  bench_parse("parse: histograms (per line)", h);
  bench_parse("parse: summaries (per line)", s);

  mlist l = {0};
  tower_parser *p;
  if (tower_parser_new_format(NULL, "prometheus", &p) < 0 ||
      tower_parser_parse(p, tower_buf_data(all), tower_buf_len(all), keep_sink, &l) <= 0)
    bench_die("the exposition does not parse");
  tower_parser_free(p);
  bench_serialize("serialize prometheus (per metric)", &l, "prometheus");
  bench_serialize("serialize influx, same metrics", &l, "influx");
  bench_map("tower_prom_map (per series)", &l);

  for (size_t i = 0; i < l.n; i++)
    tower_metric_free(l.m[i]);
  free(l.m);
  tower_buf_free(all);
  tower_buf_free(c);
  tower_buf_free(g);
  tower_buf_free(h);
  tower_buf_free(s);
  return 0;
}
