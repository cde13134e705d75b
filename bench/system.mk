# inputs.system and inputs.kernel: one gather's time and allocations on this
# machine, and system's on a built tree of 256 CPUs (bench/bench_system.c).
# Included from bench/Makefile.inc.
if BUILD_PLUGIN_SYSTEM
if BUILD_PLUGIN_KERNEL
noinst_PROGRAMS += bench/bench_system
BENCHMARKS += bench/bench_system
endif
endif

bench_bench_system_SOURCES = bench/bench_system.c bench/bench_util.c bench/bench_util.h
bench_bench_system_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_system_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
