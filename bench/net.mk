# inputs.net and inputs.netstat: the cost of one gather and its
# allocations, on the recorded host tree, written trees (500 interfaces,
# 100,000 sockets), this machine, and 100,000 real sockets in a network
# namespace of its own when run as root (bench/bench_net.c). Included from
# bench/Makefile.inc.
if BUILD_PLUGIN_NET
if BUILD_PLUGIN_NETSTAT
noinst_PROGRAMS += bench/bench_net
BENCHMARKS += bench/bench_net
endif
endif

bench_bench_net_SOURCES = bench/bench_net.c bench/bench_util.c bench/bench_util.h \
	tests/malloc_count.h
bench_bench_net_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests -DTOP_SRCDIR='"$(abs_top_srcdir)"'
bench_bench_net_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_net_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
