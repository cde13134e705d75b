# processors.lua against the same change made by a C processor
# (bench/bench_lua.c, fixture bench/fixtures/rescale.c): ns and allocations
# per metric. Included from bench/Makefile.inc.
if BUILD_PLUGIN_LUA
noinst_PROGRAMS += bench/bench_lua
BENCHMARKS += bench/bench_lua
noinst_LTLIBRARIES += bench/fixtures/rescale.la
endif
bench_fixtures_rescale_la_SOURCES = bench/fixtures/rescale.c
bench_fixtures_rescale_la_CPPFLAGS = $(PLUGIN_CPP_FLAGS)
bench_fixtures_rescale_la_CFLAGS = $(PLUGIN_CC_FLAGS)
bench_fixtures_rescale_la_LDFLAGS = $(FIXTURE_LINK)
bench_fixtures_rescale_la_LIBADD = $(PLUGIN_LIBS)
bench_bench_lua_SOURCES = bench/bench_lua.c bench/bench_util.c bench/bench_util.h
bench_bench_lua_CPPFLAGS = $(AM_CPPFLAGS) \
	-DRESCALE_SO='"$(abs_top_builddir)/bench/fixtures/.libs/rescale.so"'
bench_bench_lua_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) -I$(top_srcdir)/tests
bench_bench_lua_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
# the fixture must exist when the benchmark runs
EXTRA_bench_bench_lua_DEPENDENCIES = bench/fixtures/rescale.la
