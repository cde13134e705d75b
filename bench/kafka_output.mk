# outputs.kafka: metrics/s and messages/s into librdkafka's mock cluster,
# batch_format off and on, with and without lz4, and the cost of librdkafka's
# produce call with and without copying (bench/bench_kafka_output.c).
# Included from bench/Makefile.inc.
if BUILD_PLUGIN_KAFKA
noinst_PROGRAMS += bench/bench_kafka_output
BENCHMARKS += bench/bench_kafka_output
endif

bench_bench_kafka_output_SOURCES = bench/bench_kafka_output.c bench/bench_util.c bench/bench_util.h
bench_bench_kafka_output_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(RDKAFKA_CFLAGS)
bench_bench_kafka_output_LDADD = core/libtower.la $(LIBCONFIG_LIBS) $(RDKAFKA_LIBS)
