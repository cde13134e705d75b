# aggregators.basicstats, minmax and quantile with 100,000 series
# (bench/bench_aggregators.c): ns and allocations per added value, heap
# bytes per series, push time. Included from bench/Makefile.inc.
if BUILD_PLUGIN_QUANTILE
noinst_PROGRAMS += bench/bench_aggregators
BENCHMARKS += bench/bench_aggregators
endif
bench_bench_aggregators_SOURCES = bench/bench_aggregators.c bench/bench_util.c bench/bench_util.h
bench_bench_aggregators_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) -I$(top_srcdir)/tests
bench_bench_aggregators_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
