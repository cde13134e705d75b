# inputs.prometheus: the parsers on a 100k-series exposition, whole gathers
# through the core against a loopback target, and the same target scraped
# by a real Prometheus in the same run (bench/bench_prometheus_input.c).
# Included from bench/Makefile.inc.
if BUILD_PLUGIN_PROMETHEUS_INPUT
noinst_PROGRAMS += bench/bench_prometheus_input
BENCHMARKS += bench/bench_prometheus_input
endif

bench_bench_prometheus_input_SOURCES = bench/bench_prometheus_input.c bench/bench_util.c \
	bench/bench_util.h
bench_bench_prometheus_input_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(PROMETHEUS_INPUT_CFLAGS) \
	-I$(top_srcdir)/tests
bench_bench_prometheus_input_LDADD = core/libtower.la $(LIBCONFIG_LIBS) $(PROMETHEUS_INPUT_LIBS) \
	-lpthread
