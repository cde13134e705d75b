# inputs.disk and inputs.diskio: time and allocations of one gather, on this
# machine and on a crowded host's tables, against reading the same files
# (bench/bench_disk.c). Included from bench/Makefile.inc.
if BUILD_PLUGIN_DISK
if BUILD_PLUGIN_DISKIO
noinst_PROGRAMS += bench/bench_disk
BENCHMARKS += bench/bench_disk
endif
endif
bench_bench_disk_SOURCES = bench/bench_disk.c bench/bench_util.c bench/bench_util.h \
	tests/malloc_count.h
bench_bench_disk_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
bench_bench_disk_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_disk_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
