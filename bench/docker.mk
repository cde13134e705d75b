# inputs.docker: JSON -> metrics per container, and whole gathers against a
# fake engine on a unix socket (and a real daemon with
# DOCKER_BENCH_ENDPOINT=unix:///...) (bench/bench_docker.c). Included from
# bench/Makefile.inc.
if BUILD_PLUGIN_DOCKER
noinst_PROGRAMS += bench/bench_docker
BENCHMARKS += bench/bench_docker
endif

bench_bench_docker_SOURCES = bench/bench_docker.c bench/bench_util.c bench/bench_util.h \
	tests/plugins/docker/fake_engine.c tests/plugins/docker/fake_engine.h $(DOCKER_PARTS)
bench_bench_docker_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(DOCKER_CFLAGS) \
	-I$(top_srcdir)/plugins/inputs/docker -DDOCKER_PAYLOADS='"$(abs_top_srcdir)/tests/plugins/docker"'
bench_bench_docker_LDADD = plugins/common/curl/libcurl_common.la core/libtower.la \
	$(LIBCONFIG_LIBS) $(DOCKER_LIBS)
