# inputs.x509_cert cost per source: PEM files and TLS handshakes against a
# local openssl s_server, with a bare OpenSSL handshake as the floor
# (bench/bench_x509_cert.c). Included from bench/Makefile.inc; built only
# with the plugin (it needs OpenSSL and the openssl command).
if BUILD_PLUGIN_X509_CERT
noinst_PROGRAMS += bench/bench_x509_cert
BENCHMARKS += bench/bench_x509_cert
endif

bench_bench_x509_cert_SOURCES = bench/bench_x509_cert.c bench/bench_util.c bench/bench_util.h
bench_bench_x509_cert_CPPFLAGS = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
bench_bench_x509_cert_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(OPENSSL_CFLAGS)
bench_bench_x509_cert_LDADD = core/libtower.la $(LIBCONFIG_LIBS) $(OPENSSL_LIBS)
