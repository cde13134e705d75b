/* A plugin built against the frozen ABI 1.1 headers loads into this core
 * (ABI 1.2) and runs in a pipeline next to an aggregator, a kind 1.1 did
 * not know. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "harness.h"
#include "loader.h"

static char *fixture(const char *name) {
  const char *top = getenv("top_builddir");
  ck_assert_msg(top != NULL, "top_builddir is not set (run through make check)");
  return th_fmt("%s/tests/abi/v1_1/.libs/%s.so", top, name);
}

static char *so_path(void) {
  return fixture("v1_1");
}

START_TEST(descriptor_of_1_1_loads) {
  char *path = so_path(), err[2048] = "";
  twi_plugin *p = NULL;
  ck_assert_msg(twi_plugin_open(path, TOWER_PROCESSOR, "v1_1", &p, err, sizeof err) == 0, "%s",
                err);
  ck_assert_uint_eq(p->desc.abi_minor, 1);
  /* shorter than this core's descriptor: the 1.2 fields read as absent */
  ck_assert_uint_lt(p->desc.struct_size, sizeof(tower_plugin));
  ck_assert_ptr_null(p->desc.add);
  ck_assert_ptr_null(p->desc.push);
  ck_assert_ptr_null(p->desc.reset);
  ck_assert_ptr_nonnull(p->desc.process);
  twi_plugin_close(p);
  free(path);
}
END_TEST

START_TEST(aggregator_of_1_1_refused) {
  char *path = fixture("v1_1_aggr"), err[2048] = "";
  twi_plugin *p = NULL;
  ck_assert_int_lt(twi_plugin_open(path, TOWER_AGGREGATOR, "v1_1_aggr", &p, err, sizeof err), 0);
  ck_assert_ptr_null(p);
  ck_assert_msg(strstr(err, "aggregators need ABI 1.2: rebuild it against this tower's SDK"), "%s",
                err);
  ck_assert_msg(strstr(err, path), "%s", err);
  free(path);
}
END_TEST

START_TEST(runs_beside_an_aggregator) {
  char *dir = th_tmpdir(), *procs = th_fmt("%s/processors", dir), *so = so_path();
  char *link = th_fmt("%s/v1_1.so", procs);
  ck_assert_int_eq(mkdir(procs, 0700), 0);
  ck_assert_int_eq(symlink(so, link), 0);
  const char *old = getenv("TOWER_PLUGIN_DIR");
  char *search = th_fmt("%s:%s", dir, old ? old : "");
  setenv("TOWER_PLUGIN_DIR", search, 1);
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"lines\"; precision = \"1ns\";"
                   "  lines = [\"m v=1 1000000000\", \"m v=3 2000000000\"]; } );\n"
                   "processors = ( { plugin = \"v1_1\"; greeting = \"hi\"; } );\n"
                   "aggregators = ( { plugin = \"minmax\"; period = \"10s\"; } );\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                   dir);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  twi_aggr_set_window(pl->aggregators[0], 0);
  ck_assert_int_eq(th_gather(pl), 0);
  twi_aggr_push(pl->aggregators[0], pl);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  char *out_path = th_fmt("%s/out.lp", dir);
  char *out = th_read_file(out_path);
  ck_assert_ptr_nonnull(out);
  ck_assert_str_eq(out, "m,abi=1.1,greeting=hi v=1 1000000000\n"
                        "m,abi=1.1,greeting=hi v=3 2000000000\n"
                        "m,abi=1.1,greeting=hi v_max=3,v_min=1 10000000000\n");
  if (old)
    setenv("TOWER_PLUGIN_DIR", old, 1);
  free(out);
  free(out_path);
  free(c);
  free(search);
  th_rmrf(dir);
  free(link);
  free(so);
  free(procs);
  free(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("abi_1_1");
  TCase *tc = tcase_create("v1_1");
  tcase_add_test(tc, descriptor_of_1_1_loads);
  tcase_add_test(tc, aggregator_of_1_1_refused);
  tcase_add_test(tc, runs_beside_an_aggregator);
  suite_add_tcase(s, tc);
  return check_run(s);
}
