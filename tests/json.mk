# JSON and value data formats (core/format/format_json*.c, core/format/format_value.c):
# Check unit tests. The fuzz targets and their corpus replays are in
# tests/fuzz/Makefile.inc. Included from tests/Makefile.inc.

if HAVE_CHECK
JSON_TESTS = \
	tests/unit/test_json_format \
	tests/unit/test_value_format

check_PROGRAMS += $(JSON_TESTS)
TESTS += $(JSON_TESTS)

tests_unit_test_json_format_SOURCES = tests/unit/test_json_format.c
tests_unit_test_json_format_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_json_format_LDADD = core/libtower.la $(CHECK_LIBS) $(LIBCONFIG_LIBS)

tests_unit_test_value_format_SOURCES = tests/unit/test_value_format.c
tests_unit_test_value_format_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_value_format_LDADD = core/libtower.la $(CHECK_LIBS) $(LIBCONFIG_LIBS)
endif
