# The "prometheus" data format (core/format/format_prometheus*.c, core/format/format_prom_map.c):
# Check unit tests (including the `promtool check metrics` run of the
# serializer's output). The fuzz target and its corpus replay are in
# tests/fuzz/Makefile.inc. Included from tests/Makefile.inc.

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_prometheus_format
TESTS += tests/unit/test_prometheus_format

tests_unit_test_prometheus_format_SOURCES = tests/unit/test_prometheus_format.c tests/malloc_count.h
tests_unit_test_prometheus_format_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_prometheus_format_LDADD = core/libtower.la $(CHECK_LIBS) $(LIBCONFIG_LIBS) -lm
endif
