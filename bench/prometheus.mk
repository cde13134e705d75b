# Prometheus text format throughput: parse MB/s and ns/line on a
# node_exporter-like exposition, serialize ns/metric, tower_prom_map
# ns/series (bench/bench_prometheus.c). Included from bench/Makefile.inc;
# `make bench` runs everything listed in BENCHMARKS.
noinst_PROGRAMS += bench/bench_prometheus
BENCHMARKS += bench/bench_prometheus

bench_bench_prometheus_SOURCES = bench/bench_prometheus.c bench/bench_util.c bench/bench_util.h
bench_bench_prometheus_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_prometheus_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
