# inputs.processes and inputs.procstat per gather with 1,000 sleep processes
# running (bench/bench_procs.c): wall and CPU time, allocations. Included
# from bench/Makefile.inc.
if BUILD_PLUGIN_PROCSTAT
noinst_PROGRAMS += bench/bench_procs
BENCHMARKS += bench/bench_procs
endif
bench_bench_procs_SOURCES = bench/bench_procs.c bench/bench_util.c bench/bench_util.h
bench_bench_procs_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) -I$(top_srcdir)/tests
bench_bench_procs_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
