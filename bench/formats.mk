# Data format throughput: line protocol parse/serialize, CSV, floats
# (bench/bench_formats.c). Included from bench/Makefile.inc; `make bench`
# runs everything listed in BENCHMARKS.
noinst_PROGRAMS += bench/bench_formats
BENCHMARKS += bench/bench_formats

bench_bench_formats_SOURCES = bench/bench_formats.c bench/bench_util.c bench/bench_util.h
bench_bench_formats_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_formats_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
