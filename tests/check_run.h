/* The main() every Check suite shares: run the suite (in Check's default
 * fork mode, so a crashing test fails alone; CK_FORK=no under valgrind) and
 * turn the result into the exit status the automake harness reads. */
#ifndef TOWER_TEST_CHECK_RUN_H
#define TOWER_TEST_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

static inline int check_run(Suite *s) {
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
