# The "prometheus" data format (core/format_prometheus*.c, core/prom.c):
# Check unit tests (including the `promtool check metrics` run of the
# serializer's output), and the replay of the fuzz corpus through the
# libFuzzer target (see tests/fuzz/fuzz_prometheus.c for running the real
# fuzzer). Included from tests/Makefile.inc.

check_PROGRAMS += tests/unit/test_prometheus_format tests/fuzz/replay_prometheus
TESTS += tests/unit/test_prometheus_format tests/fuzz/replay_prometheus

tests_unit_test_prometheus_format_SOURCES = tests/unit/test_prometheus_format.c tests/malloc_count.h
tests_unit_test_prometheus_format_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_prometheus_format_LDADD = core/libtower.la $(CHECK_LIBS) $(LIBCONFIG_LIBS) -lm

tests_fuzz_replay_prometheus_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_prometheus.c \
	tests/fuzz/fuzz_util.h
tests_fuzz_replay_prometheus_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/prometheus"'
tests_fuzz_replay_prometheus_LDADD = core/libtower.la

EXTRA_DIST += tests/fuzz/corpus/prometheus tests/fuzz/prometheus.dict
