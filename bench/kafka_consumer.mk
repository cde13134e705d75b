# inputs.kafka_consumer throughput from librdkafka's mock cluster into an
# output buffer, against a bare librdkafka consumer (bench/
# bench_kafka_consumer.c). Included from bench/Makefile.inc.
if BUILD_PLUGIN_KAFKA_CONSUMER
noinst_PROGRAMS += bench/bench_kafka_consumer
BENCHMARKS += bench/bench_kafka_consumer
endif
bench_bench_kafka_consumer_SOURCES = bench/bench_kafka_consumer.c bench/bench_util.c \
	bench/bench_util.h
bench_bench_kafka_consumer_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(RDKAFKA_CFLAGS)
bench_bench_kafka_consumer_LDADD = core/libtower.la $(LIBCONFIG_LIBS) $(RDKAFKA_LIBS)
