# inputs.http_response: probes per second and tower's CPU time per probe
# against a local libmicrohttpd server in a child process, over HTTP and
# HTTPS, with libcurl alone as the floor (bench/bench_http_response.c).
# Included from bench/Makefile.inc; built with the plugin and
# libmicrohttpd.
if BUILD_PLUGIN_HTTP_RESPONSE
if HAVE_MICROHTTPD
noinst_PROGRAMS += bench/bench_http_response
BENCHMARKS += bench/bench_http_response
endif
endif

bench_bench_http_response_SOURCES = bench/bench_http_response.c bench/bench_util.c \
	bench/bench_util.h tests/fixtures/certs/certs.c tests/fixtures/certs/certs.h tests/loopback.h
bench_bench_http_response_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/tests $(LIBCONFIG_CFLAGS) \
	$(HTTP_RESPONSE_CFLAGS) $(MICROHTTPD_CFLAGS)
bench_bench_http_response_LDADD = core/libtower.la $(LIBCONFIG_LIBS) $(HTTP_RESPONSE_LIBS) \
	$(MICROHTTPD_LIBS)
