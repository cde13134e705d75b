# processors.rename, converter, enum, override: ns and allocations per
# metric through the core, against the same pipeline without a processor
# (bench/bench_reshape.c). Included from bench/Makefile.inc.
if BUILD_PLUGIN_RENAME
noinst_PROGRAMS += bench/bench_reshape
BENCHMARKS += bench/bench_reshape
endif
bench_bench_reshape_SOURCES = bench/bench_reshape.c bench/bench_util.c bench/bench_util.h
bench_bench_reshape_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) -I$(top_srcdir)/tests
bench_bench_reshape_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
