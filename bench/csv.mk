# outputs.csv: rows/s and MB/s for append and snapshot mode (bench/bench_csv.c).
if BUILD_PLUGIN_CSV
noinst_PROGRAMS += bench/bench_csv
BENCHMARKS += bench/bench_csv
endif
bench_bench_csv_SOURCES = bench/bench_csv.c bench/bench_util.c bench/bench_util.h
bench_bench_csv_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_csv_LDADD = core/libtower.la $(LIBCONFIG_LIBS)
