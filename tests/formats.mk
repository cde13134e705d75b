# Data formats (core/numfmt.c, timefmt.c, format_influx*.c, format_csv.c):
# Check unit tests, and the replay of the line protocol fuzz corpus through
# the libFuzzer target (see tests/fuzz/fuzz_lineprotocol.c for running the
# real fuzzer). Included from tests/Makefile.inc.

FORMAT_TESTS = \
	tests/unit/test_lineprotocol \
	tests/unit/test_numfmt \
	tests/unit/test_timefmt \
	tests/unit/test_csv_format

check_PROGRAMS += $(FORMAT_TESTS) tests/fuzz/replay_lineprotocol
TESTS += $(FORMAT_TESTS) tests/fuzz/replay_lineprotocol

tests_unit_test_lineprotocol_SOURCES = tests/unit/test_lineprotocol.c tests/malloc_count.h
tests_unit_test_lineprotocol_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lineprotocol_LDADD = core/libtower.la $(CHECK_LIBS) $(LIBCONFIG_LIBS)

tests_unit_test_numfmt_SOURCES = tests/unit/test_numfmt.c
tests_unit_test_numfmt_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_numfmt_LDADD = core/libtower.la $(CHECK_LIBS)

tests_unit_test_timefmt_SOURCES = tests/unit/test_timefmt.c
tests_unit_test_timefmt_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_timefmt_LDADD = core/libtower.la $(CHECK_LIBS)

tests_unit_test_csv_format_SOURCES = tests/unit/test_csv_format.c
tests_unit_test_csv_format_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_csv_format_LDADD = core/libtower.la $(CHECK_LIBS) $(LIBCONFIG_LIBS)

tests_fuzz_replay_lineprotocol_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_lineprotocol.c \
	tests/fuzz/fuzz_util.h
tests_fuzz_replay_lineprotocol_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/lineprotocol"'
tests_fuzz_replay_lineprotocol_LDADD = core/libtower.la

EXTRA_DIST += tests/fuzz/corpus/lineprotocol tests/fuzz/lineprotocol.dict
