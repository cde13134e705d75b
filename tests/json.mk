# JSON and value data formats (core/format_json*.c, core/format_value.c):
# Check unit tests, and the replay of the JSON fuzz corpus through the
# libFuzzer target (see tests/fuzz/fuzz_json.c for running the real
# fuzzer). Included from tests/Makefile.inc.

JSON_TESTS = \
	tests/unit/test_json_format \
	tests/unit/test_value_format

check_PROGRAMS += $(JSON_TESTS)
TESTS += $(JSON_TESTS)
# The corpus replay checks each document against jansson's verdict.
if HAVE_JANSSON
check_PROGRAMS += tests/fuzz/replay_json
TESTS += tests/fuzz/replay_json
endif

tests_unit_test_json_format_SOURCES = tests/unit/test_json_format.c
tests_unit_test_json_format_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_json_format_LDADD = core/libtower.la $(CHECK_LIBS) $(LIBCONFIG_LIBS)

tests_unit_test_value_format_SOURCES = tests/unit/test_value_format.c
tests_unit_test_value_format_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_value_format_LDADD = core/libtower.la $(CHECK_LIBS) $(LIBCONFIG_LIBS)

tests_fuzz_replay_json_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_json.c \
	tests/fuzz/fuzz_util.h
tests_fuzz_replay_json_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS) \
	-DFUZZ_CORPUS_DIR='"$(abs_top_srcdir)/tests/fuzz/corpus/json"'
tests_fuzz_replay_json_LDADD = core/libtower.la $(JANSSON_LIBS)

EXTRA_DIST += tests/fuzz/corpus/json tests/fuzz/json.dict
