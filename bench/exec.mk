# inputs.exec overhead per command run against a raw posix_spawn + waitpid
# loop (bench/bench_exec.c). Included from bench/Makefile.inc.
noinst_PROGRAMS += bench/bench_exec
BENCHMARKS += bench/bench_exec

bench_bench_exec_SOURCES = bench/bench_exec.c bench/bench_util.c bench/bench_util.h
bench_bench_exec_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_exec_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
