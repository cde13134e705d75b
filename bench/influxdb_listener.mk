# inputs.influxdb_listener: lines accepted per CPU-second, side by side with
# influxd 1.x receiving the same batches, plain and gzip
# (bench/bench_influxdb_listener.c). Included from bench/Makefile.inc.
if BUILD_PLUGIN_INFLUXDB_LISTENER
noinst_PROGRAMS += bench/bench_influxdb_listener
BENCHMARKS += bench/bench_influxdb_listener
endif

bench_bench_influxdb_listener_SOURCES = bench/bench_influxdb_listener.c bench/bench_util.c \
	bench/bench_util.h
bench_bench_influxdb_listener_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(MICROHTTPD_CFLAGS)
bench_bench_influxdb_listener_LDADD = core/libtower.la $(LIBCONFIG_LIBS) $(MICROHTTPD_LIBS)
