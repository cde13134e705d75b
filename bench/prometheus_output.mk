# outputs.prometheus: scrape render time (plain and gzip), memory per series,
# write cost per metric, scrape latency under a concurrent writer
# (bench/bench_prometheus_output.c). Included from bench/Makefile.inc.
noinst_PROGRAMS += bench/bench_prometheus_output
BENCHMARKS += bench/bench_prometheus_output

bench_bench_prometheus_output_SOURCES = bench/bench_prometheus_output.c bench/bench_util.c \
	bench/bench_util.h
bench_bench_prometheus_output_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_prometheus_output_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
