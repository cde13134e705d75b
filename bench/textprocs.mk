# processors regex, strings, dedup, tag_limit: ns and allocations per
# metric through the core (bench/bench_textprocs.c). Included from
# bench/Makefile.inc.
if BUILD_PLUGIN_REGEX
if BUILD_PLUGIN_STRINGS
if BUILD_PLUGIN_DEDUP
if BUILD_PLUGIN_TAG_LIMIT
noinst_PROGRAMS += bench/bench_textprocs
BENCHMARKS += bench/bench_textprocs
endif
endif
endif
endif
bench_bench_textprocs_SOURCES = bench/bench_textprocs.c bench/bench_util.c bench/bench_util.h \
	tests/malloc_count.h
bench_bench_textprocs_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
bench_bench_textprocs_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_textprocs_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
