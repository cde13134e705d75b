#!/bin/sh
# LOG_COMPILER for `make check` under valgrind (scripts/test): runs a test
# program through libtool (which resolves the uninstalled libtower) under
# memcheck; any error or definite leak fails the test.
case "$1" in
  *.sh) exec "${SHELL:-/bin/sh}" "$@" ;;
esac
# Tests with long randomized loops run a tenth of them under memcheck.
export TOWER_TEST_UNDER_VALGRIND=1
exec "$top_builddir/libtool" --mode=execute valgrind --quiet --error-exitcode=99 \
  --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
  --suppressions="$top_srcdir/tests/valgrind.supp" "$@"
