# JSON and value formats: parse (MB/s, ns per object) and serialize (ns per
# metric) throughput (bench/bench_json.c). Included from bench/Makefile.inc;
# `make bench` runs everything listed in BENCHMARKS.
noinst_PROGRAMS += bench/bench_json
BENCHMARKS += bench/bench_json

bench_bench_json_SOURCES = bench/bench_json.c bench/bench_util.c bench/bench_util.h
bench_bench_json_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_json_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
