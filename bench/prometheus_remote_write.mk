# outputs.prometheus_remote_write: encoder cost (ns and allocations per
# metric, bytes per sample) and end to end into a local Prometheus
# (samples/s, tower's CPU per million samples)
# (bench/bench_prometheus_remote_write.c). Included from bench/Makefile.inc.
if BUILD_PLUGIN_PROMETHEUS_REMOTE_WRITE
noinst_PROGRAMS += bench/bench_prometheus_remote_write
BENCHMARKS += bench/bench_prometheus_remote_write
endif

bench_bench_prometheus_remote_write_SOURCES = bench/bench_prometheus_remote_write.c \
	bench/bench_util.c bench/bench_util.h plugins/outputs/prometheus_remote_write/prw_encode.c
nodist_bench_bench_prometheus_remote_write_SOURCES = \
	plugins/outputs/prometheus_remote_write/remote.pb-c.c \
	plugins/outputs/prometheus_remote_write/remote.pb-c.h
bench_bench_prometheus_remote_write_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/plugins/outputs/prometheus_remote_write \
	-I$(top_builddir)/plugins/outputs/prometheus_remote_write
bench_bench_prometheus_remote_write_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(PRW_CFLAGS)
bench_bench_prometheus_remote_write_LDADD = core/libtower.la $(LIBCONFIG_LIBS) $(PRW_LIBS)
