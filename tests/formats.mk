# Data formats (core/format/: numfmt.c, timefmt.c, format_influx*.c, format_csv.c):
# Check unit tests. The fuzz targets and their corpus replays are in
# tests/fuzz/Makefile.inc. Included from tests/Makefile.inc.

if HAVE_CHECK
FORMAT_TESTS = \
	tests/unit/test_lineprotocol \
	tests/unit/test_numfmt \
	tests/unit/test_lp_roundtrip \
	tests/unit/test_timefmt \
	tests/unit/test_csv_format

check_PROGRAMS += $(FORMAT_TESTS)
TESTS += $(FORMAT_TESTS)

tests_unit_test_lineprotocol_SOURCES = tests/unit/test_lineprotocol.c tests/malloc_count.h
tests_unit_test_lineprotocol_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lineprotocol_LDADD = core/libtower.la $(CHECK_LIBS) $(LIBCONFIG_LIBS)

tests_unit_test_numfmt_SOURCES = tests/unit/test_numfmt.c
tests_unit_test_numfmt_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_numfmt_LDADD = core/libtower.la $(CHECK_LIBS)

# Differential: parse -> serialize -> parse over the fuzz corpus and
# generated metrics; the parser's and float formatter's fast paths against
# their general ones.
tests_unit_test_lp_roundtrip_SOURCES = tests/unit/test_lp_roundtrip.c
tests_unit_test_lp_roundtrip_CFLAGS = $(TEST_CFLAGS) \
	-DLP_CORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/lineprotocol"'
tests_unit_test_lp_roundtrip_LDADD = core/libtower.la $(CHECK_LIBS) -lm

tests_unit_test_timefmt_SOURCES = tests/unit/test_timefmt.c
tests_unit_test_timefmt_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_timefmt_LDADD = core/libtower.la $(CHECK_LIBS)

tests_unit_test_csv_format_SOURCES = tests/unit/test_csv_format.c
tests_unit_test_csv_format_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_csv_format_LDADD = core/libtower.la $(CHECK_LIBS) $(LIBCONFIG_LIBS)
endif
