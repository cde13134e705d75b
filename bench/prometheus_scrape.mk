# outputs.prometheus scrapes of the tower daemon: 10k and 100k series, 1 and
# 8 kept-alive scrapers, plain and gzip: p50/p99, agent CPU per scrape, RSS,
# beside a memcpy of the same bytes; optionally the plugin of another build
# (BENCH_PROM_BEFORE) and Fluent Bit (FLUENT_BIT)
# (bench/bench_prometheus_scrape.c). Included from bench/Makefile.inc.
noinst_PROGRAMS += bench/bench_prometheus_scrape
BENCHMARKS += bench/bench_prometheus_scrape

bench_bench_prometheus_scrape_SOURCES = bench/bench_prometheus_scrape.c bench/bench_util.c \
	bench/bench_util.h
bench_bench_prometheus_scrape_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS)
bench_bench_prometheus_scrape_LDADD = core/libtower.la $(LIBCONFIG_LIBS) -lpthread
