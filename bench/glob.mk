# Glob matching: typical selector lists and hostile worst cases
# (bench/bench_glob.c). Included from bench/Makefile.inc.
noinst_PROGRAMS += bench/bench_glob
BENCHMARKS += bench/bench_glob

bench_bench_glob_SOURCES = bench/bench_glob.c bench/bench_util.c bench/bench_util.h
bench_bench_glob_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_glob_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
