# inputs.kafka_lag: the cost of one gather for 100 consumer groups x 100
# partitions on librdkafka's mock cluster (bench/bench_kafka_lag.c).
# Included from bench/Makefile.inc.
if BUILD_PLUGIN_KAFKA_LAG
noinst_PROGRAMS += bench/bench_kafka_lag
BENCHMARKS += bench/bench_kafka_lag
endif
bench_bench_kafka_lag_SOURCES = bench/bench_kafka_lag.c bench/bench_util.c bench/bench_util.h
bench_bench_kafka_lag_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(RDKAFKA_ADMIN_CFLAGS)
bench_bench_kafka_lag_LDADD = core/libtower.la $(LIBCONFIG_LIBS) $(RDKAFKA_ADMIN_LIBS)
