# inputs.mysql: the cost of one gather against a local MariaDB server
# (started by bench/bench_mysql.c through tests/plugins/mysql/mariadb.sh),
# and with 1,000 statement digests. Included from bench/Makefile.inc.
if BUILD_PLUGIN_MYSQL
noinst_PROGRAMS += bench/bench_mysql
BENCHMARKS += bench/bench_mysql
endif
bench_bench_mysql_SOURCES = bench/bench_mysql.c bench/bench_util.c bench/bench_util.h
bench_bench_mysql_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(LIBMARIADB_CFLAGS) \
	-DMARIADB_SH='"$(abs_top_srcdir)/tests/plugins/mysql/mariadb.sh"'
bench_bench_mysql_LDADD = core/libtower.la $(LIBCONFIG_LIBS) $(LIBMARIADB_LIBS)
