# inputs.mem and inputs.swap: one gather's time and allocations on this
# machine's /proc (bench/bench_mem.c). Included from bench/Makefile.inc.
if BUILD_PLUGIN_MEM
if BUILD_PLUGIN_SWAP
noinst_PROGRAMS += bench/bench_mem
BENCHMARKS += bench/bench_mem
endif
endif

bench_bench_mem_SOURCES = bench/bench_mem.c bench/bench_util.c bench/bench_util.h
bench_bench_mem_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_mem_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
