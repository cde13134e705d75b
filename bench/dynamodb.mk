# inputs.dynamodb: items/s scanned into metrics from dynalite (npm) and the
# memory high-water mark of a gather (bench/bench_dynamodb.c). Included
# from bench/Makefile.inc.
if BUILD_PLUGIN_DYNAMODB
noinst_PROGRAMS += bench/bench_dynamodb
BENCHMARKS += bench/bench_dynamodb
endif

bench_bench_dynamodb_SOURCES = bench/bench_dynamodb.c bench/bench_util.c bench/bench_util.h
bench_bench_dynamodb_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(DYNAMODB_CFLAGS)
bench_bench_dynamodb_LDADD = core/libtower.la $(LIBCONFIG_LIBS) $(DYNAMODB_LIBS)
