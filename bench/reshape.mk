# processors regex, strings, dedup, tag_limit: ns and allocations per
# metric through the core (bench/bench_reshape.c). Included from
# bench/Makefile.inc.
if BUILD_PLUGIN_REGEX
if BUILD_PLUGIN_STRINGS
if BUILD_PLUGIN_DEDUP
if BUILD_PLUGIN_TAG_LIMIT
noinst_PROGRAMS += bench/bench_reshape
BENCHMARKS += bench/bench_reshape
endif
endif
endif
endif
bench_bench_reshape_SOURCES = bench/bench_reshape.c bench/bench_util.c bench/bench_util.h \
	tests/malloc_count.h
bench_bench_reshape_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
bench_bench_reshape_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_reshape_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
