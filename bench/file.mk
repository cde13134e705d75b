# outputs.file: ns and allocations per metric of a flush, influx and json
# (bench/bench_file.c). Included from bench/Makefile.inc.
if BUILD_PLUGIN_FILE
noinst_PROGRAMS += bench/bench_file
BENCHMARKS += bench/bench_file
endif
bench_bench_file_SOURCES = bench/bench_file.c bench/bench_util.c bench/bench_util.h \
	tests/malloc_count.h
bench_bench_file_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
bench_bench_file_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_file_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
