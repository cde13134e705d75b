# The disk buffer (buffer_strategy = "disk"): the buffer alone in each
# buffer_fsync mode, its cost in the pipeline against the memory buffer,
# and tower against Fluent Bit's filesystem storage when FLUENT_BIT names
# a fluent-bit binary (bench/bench_buffer_disk.c, bench/README.md).
# Included from bench/Makefile.inc.
noinst_PROGRAMS += bench/bench_buffer_disk
BENCHMARKS += bench/bench_buffer_disk
bench_bench_buffer_disk_SOURCES = bench/bench_buffer_disk.c bench/bench_util.c bench/bench_util.h
bench_bench_buffer_disk_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_buffer_disk_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
