# outputs.influxdb: request body cost (serialize + gzip), the plugin's write
# path into a loopback sink, and end to end into a local influxd
# (bench/bench_influxdb.c). Included from bench/Makefile.inc.
if BUILD_PLUGIN_INFLUXDB
noinst_PROGRAMS += bench/bench_influxdb
BENCHMARKS += bench/bench_influxdb
endif

bench_bench_influxdb_SOURCES = bench/bench_influxdb.c bench/bench_util.c bench/bench_util.h
bench_bench_influxdb_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(CURL_CFLAGS)
bench_bench_influxdb_LDADD = core/libtower.la $(LIBCONFIG_LIBS) $(CURL_LIBS)
