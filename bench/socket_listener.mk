# inputs.socket_listener: lines/s and lines per CPU-second over TCP and UDP
# on loopback (bench/bench_socket_listener.c). Included from
# bench/Makefile.inc.
if BUILD_PLUGIN_SOCKET_LISTENER
noinst_PROGRAMS += bench/bench_socket_listener
BENCHMARKS += bench/bench_socket_listener
endif
bench_bench_socket_listener_SOURCES = bench/bench_socket_listener.c bench/bench_util.c \
	bench/bench_util.h
bench_bench_socket_listener_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_socket_listener_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
