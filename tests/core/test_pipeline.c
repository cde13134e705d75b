/* The pipeline, driven synchronously: input-side transforms, selectors,
 * processors in order, fan-out to outputs, buffers, batches, retries. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "harness.h"
#include "check_run.h"

static char *dir;

static void setup(void) {
  dir = th_tmpdir();
}
static void teardown(void) {
  th_rmrf(dir);
  free(dir);
}

/* A config with one lines input (body `in`), processors `procs` and record
 * outputs writing to <dir>/<name>.lp. */
static char *conf(const char *agent, const char *in, const char *procs, const char *outs) {
  return th_fmt("agent = { %s %s };\n"
                "inputs = ( { plugin = \"lines\"; %s } );\n"
                "%s%s%s\n"
                "outputs = ( %s );\n",
                strstr(agent, "omit_hostname") ? "" : "omit_hostname = true;", agent, in,
                procs ? "processors = ( " : "", procs ? procs : "", procs ? " );" : "", outs);
}

static char *record(const char *name, const char *extra) {
  return th_fmt("{ plugin = \"record\"; path = \"%s/%s.lp\"; %s }", dir, name, extra);
}

static char *output_of(const char *name) {
  char *path = th_fmt("%s/%s.lp", dir, name);
  char *text = th_read_file(path);
  free(path);
  return text ? text : strdup("");
}

/* Runs one gather and one flush with the given config; returns what output
 * "out" wrote. */
static char *run(const char *agent, const char *in, const char *procs, const char *extra) {
  char *o = record("out", extra ? extra : "");
  char *c = conf(agent, in, procs, o);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  th_gather(pl);
  th_flush(pl);
  th_free(pl);
  free(c);
  free(o);
  return output_of("out");
}

START_TEST(agent_tags_and_precision) {
  char *got = run("hostname = \"h\"; omit_hostname = false; precision = \"1s\";",
                  "lines = ["
                  "\"m,host=own v=1i 1700000000499999999\""
                  ", "
                  "\"n v=2i 1700000000500000000\""
                  "];"
                  " tags = { role = \"db\"; host = \"ignored\"; };",
                  NULL, NULL);
  /* a tag the metric has wins over instance tags, instance tags over host */
  ck_assert_str_eq(got, "m,host=own,role=db v=1i 1700000000000000000\n"
                        "n,host=ignored,role=db v=2i 1700000001000000000\n");
  free(got);
}
END_TEST

START_TEST(global_tags_and_host) {
  char *o = record("out", "");
  char *c =
      th_fmt("agent = { hostname = \"web1\"; };\nglobal_tags = { dc = \"seoul\"; host = \"g\"; };\n"
             "inputs = ( { plugin = \"lines\"; lines = [\"m v=1i 5\"]; precision = \"1ns\"; } );\n"
             "outputs = ( %s );\n",
             o);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  th_gather(pl);
  th_flush(pl);
  th_free(pl);
  char *got = output_of("out");
  /* global tags first, then host when not set: global host wins */
  ck_assert_str_eq(got, "m,dc=seoul,host=g v=1i 5\n");
  free(got);
  free(c);
  free(o);
}
END_TEST

START_TEST(renames) {
  char *got = run("",
                  "lines = ["
                  "\"m v=1i 5\""
                  "];"
                  " precision = \"1ns\"; name_prefix = \"p_\"; "
                  "name_suffix = \"_s\";",
                  NULL, "name_override = \"o\";");
  /* the input renames to p_m_s, the output overrides the name */
  ck_assert_str_eq(got, "o v=1i 5\n");
  free(got);
}
END_TEST

START_TEST(selectors_on_input) {
  const char *lines = "lines = ["
                      "\"cpu,cpu=cpu0 a=1i,b=2i 5\""
                      ", "
                      "\"cpu,cpu=cpu1 a=1i 5\""
                      ", "
                      "\"mem a=1i 5\""
                      ", "
                      "\"disk,dev=sda a=1i 5\""
                      "];"
                      " precision = \"1ns\";";
  struct {
    const char *sel, *want;
  } cases[] = {
      {"namepass = [\"c*\"];", "cpu,cpu=cpu0 a=1i,b=2i 5\ncpu,cpu=cpu1 a=1i 5\n"},
      {"namedrop = [\"cpu\", \"disk\"];", "mem a=1i 5\n"},
      {"tagpass = { cpu = [\"cpu1\"]; dev = \"sd?\"; };",
       "cpu,cpu=cpu1 a=1i 5\ndisk,dev=sda a=1i 5\n"},
      {"tagdrop = { cpu = [\"*\"]; };", "mem a=1i 5\ndisk,dev=sda a=1i 5\n"},
      {"fieldinclude = [\"b\"];", "cpu,cpu=cpu0 b=2i 5\n"}, /* metrics left without fields go */
      {"fieldexclude = [\"a\"];", "cpu,cpu=cpu0 b=2i 5\n"},
      {"taginclude = [\"dev\"];", "cpu a=1i,b=2i 5\ncpu a=1i 5\nmem a=1i 5\ndisk,dev=sda a=1i 5\n"},
      {"tagexclude = [\"cpu\"]; namepass = [\"{cpu,disk}\"];",
       "cpu a=1i,b=2i 5\ncpu a=1i 5\ndisk,dev=sda a=1i 5\n"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *in = th_fmt("%s %s", lines, cases[i].sel);
    char *got = run("", in, NULL, NULL);
    ck_assert_msg(strcmp(got, cases[i].want) == 0, "selector %s\nwant:\n%sgot:\n%s", cases[i].sel,
                  cases[i].want, got);
    free(got);
    free(in);
    char *path = th_fmt("%s/out.lp", dir);
    remove(path);
    free(path);
  }
}
END_TEST

START_TEST(namepass_separator) {
  char *got = run("",
                  "lines = ["
                  "\"a.b v=1i 5\""
                  ", "
                  "\"a.b.c v=1i 5\""
                  "];"
                  " precision = \"1ns\"; "
                  "namepass = [\"a.*\"]; namepass_separator = \".\";",
                  NULL, NULL);
  ck_assert_str_eq(got, "a.b v=1i 5\n");
  free(got);
}
END_TEST

START_TEST(processors_in_order_with_bypass) {
  /* file order b, a, c; order puts a (1) after those without order... */
  const char *procs = "{ plugin = \"mark\"; mark = \"b\"; },"
                      "{ plugin = \"mark\"; mark = \"a\"; order = 2; },"
                      "{ plugin = \"mark\"; mark = \"c\"; order = 1; namepass = [\"x\"]; },"
                      "{ plugin = \"mark\"; mark = \"d\"; }";
  char *got = run("",
                  "lines = ["
                  "\"x v=1i 5\""
                  ", "
                  "\"y v=1i 5\""
                  "];"
                  " precision = \"1ns\";",
                  procs, NULL);
  /* without order (0): b, d in file order; then c (1), then a (2); c only
   * handles x, y bypasses it unchanged */
  ck_assert_str_eq(got, "x,path=b.d.c.a v=1i 5\ny,path=b.d.a v=1i 5\n");
  free(got);
}
END_TEST

START_TEST(processor_drops_and_adds) {
  char *got = run("",
                  "lines = ["
                  "\"x v=1i 5\""
                  "];"
                  " precision = \"1ns\";",
                  "{ plugin = \"mark\"; extra = true; }, { plugin = \"mark\"; drop = true; "
                  "namepass = [\"x\"]; }",
                  NULL);
  /* x is marked and then dropped; the extra metric bypasses the dropping
   * processor (namepass) and carries the gather's time */
  long long t = 0;
  ck_assert_msg(sscanf(got, "extra from=\"x\" %lld\n", &t) == 1 && !strchr(got, ',') &&
                    strchr(got, '\n') == got + strlen(got) - 1,
                "got: %s", got);
  ck_assert_int_gt(t, 1700000000000000000LL); /* gather time, not the input line's 5 */
  free(got);
}
END_TEST

START_TEST(outputs_see_their_own_copy) {
  char *a = record("a", "fieldexclude = [\"secret\"]; tags = { out = \"a\"; };");
  char *b = record("b", "namepass = [\"keep\"];");
  char *outs = th_fmt("%s, %s", a, b);
  char *c = conf("",
                 "lines = ["
                 "\"keep secret=1i,v=2i 5\""
                 ", "
                 "\"other v=3i 5\""
                 "];"
                 " precision = \"1ns\";",
                 NULL, outs);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  th_gather(pl);
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_assert_uint_eq(atomic_load(&pl->outputs[1]->stats.filtered), 1);
  th_free(pl);
  char *ga = output_of("a"), *gb = output_of("b");
  ck_assert_str_eq(ga, "keep,out=a v=2i 5\nother,out=a v=3i 5\n");
  ck_assert_str_eq(gb, "keep secret=1i,v=2i 5\n");
  free(ga);
  free(gb);
  free(c);
  free(outs);
  free(a);
  free(b);
}
END_TEST

START_TEST(buffer_drops_oldest) {
  char *o = record("out", "metric_buffer_limit = 3;");
  char *c = conf("",
                 "lines = ["
                 "\"m v=1i 1\""
                 ", "
                 "\"m v=2i 2\""
                 ", "
                 "\"m v=3i 3\""
                 ", "
                 "\"m v=4i 4\""
                 ", "
                 "\"m v=5i 5\""
                 "];"
                 " precision = \"1ns\";",
                 NULL, o);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  th_gather(pl);
  ck_assert_uint_eq(atomic_load(&pl->outputs[0]->stats.dropped), 2);
  ck_assert_uint_eq(twi_output_buffered(pl->outputs[0]), 3);
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_assert_uint_eq(atomic_load(&pl->outputs[0]->stats.written), 3);
  th_free(pl);
  char *got = output_of("out");
  ck_assert_str_eq(got, "m v=3i 3\nm v=4i 4\nm v=5i 5\n");
  free(got);
  free(c);
  free(o);
}
END_TEST

START_TEST(retry_keeps_batch_without_duplicates) {
  char *o = record("out", "fail_writes = 1;");
  char *c = conf("",
                 "lines = ["
                 "\"m v=1i 1\""
                 ", "
                 "\"m v=2i 2\""
                 "];"
                 " precision = \"1ns\";",
                 NULL, o);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  th_gather(pl);
  ck_assert_uint_eq(th_flush(pl), 2); /* first write fails: both kept */
  ck_assert_uint_eq(twi_output_buffered(pl->outputs[0]), 2);
  th_gather(pl);
  ck_assert_uint_eq(th_flush(pl), 0);
  ck_assert_uint_eq(atomic_load(&pl->outputs[0]->stats.errors), 1);
  ck_assert_uint_eq(atomic_load(&pl->outputs[0]->stats.written), 4);
  th_free(pl);
  char *got = output_of("out");
  ck_assert_str_eq(got, "m v=1i 1\nm v=2i 2\nm v=1i 1\nm v=2i 2\n");
  free(got);
  free(c);
  free(o);
}
END_TEST

START_TEST(retry_with_full_buffer_drops_oldest_of_batch) {
  /* limit 2, batch 2: the failed batch goes back in front; metrics added
   * meanwhile push the oldest out */
  char *o = record("out", "fail_writes = 1; metric_buffer_limit = 2; metric_batch_size = 2;");
  char *c = conf("",
                 "lines = ["
                 "\"m v=1i 1\""
                 ", "
                 "\"m v=2i 2\""
                 "];"
                 " precision = \"1ns\";",
                 NULL, o);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  th_gather(pl);
  ck_assert_uint_eq(th_flush(pl), 2);
  th_gather(pl); /* the two new ones push the two old ones out */
  ck_assert_uint_eq(atomic_load(&pl->outputs[0]->stats.dropped), 2);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  char *got = output_of("out");
  ck_assert_str_eq(got, "m v=1i 1\nm v=2i 2\n");
  free(got);
  free(c);
  free(o);
}
END_TEST

START_TEST(drop_and_partial_writes_are_counted) {
  char *a = record("a", "drop = true;"), *b = record("b", "reject = 1;");
  char *outs = th_fmt("%s, %s", a, b);
  char *c = conf("",
                 "lines = ["
                 "\"m v=1i 1\""
                 ", "
                 "\"m v=2i 2\""
                 ", "
                 "\"m v=3i 3\""
                 "];"
                 " precision = \"1ns\";",
                 NULL, outs);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  th_gather(pl);
  ck_assert_uint_eq(th_flush(pl), 3 + 1); /* 3 dropped by a, 1 rejected by b */
  ck_assert_uint_eq(atomic_load(&pl->outputs[0]->stats.dropped), 3);
  ck_assert_uint_eq(twi_output_buffered(pl->outputs[0]), 0);
  ck_assert_uint_eq(atomic_load(&pl->outputs[1]->stats.rejected), 1);
  ck_assert_uint_eq(atomic_load(&pl->outputs[1]->stats.written), 2);
  th_free(pl);
  char *gb = output_of("b");
  ck_assert_str_eq(gb, "m v=2i 2\nm v=3i 3\n");
  free(gb);
  free(c);
  free(outs);
  free(a);
  free(b);
}
END_TEST

START_TEST(batches_and_flush_end) {
  char *extra = th_fmt("metric_batch_size = 2; batches = \"%s/batches\";", dir);
  char *got = run("",
                  "lines = ["
                  "\"m v=1i 1\""
                  ", "
                  "\"m v=2i 2\""
                  ", "
                  "\"m v=3i 3\""
                  ", "
                  "\"m v=4i 4\""
                  ", "
                  "\"m v=5i 5\""
                  "];"
                  " precision = \"1ns\";",
                  NULL, extra);
  ck_assert_str_eq(got, "m v=1i 1\nm v=2i 2\nm v=3i 3\nm v=4i 4\nm v=5i 5\n");
  char *path = th_fmt("%s/batches", dir);
  char *batches = th_read_file(path);
  ck_assert_str_eq(batches, "2 0\n2 0\n1 1\n");
  free(batches);
  free(path);
  free(got);
  free(extra);
}
END_TEST

START_TEST(gather_ids_group_commits) {
  char *extra = th_fmt("ids = \"%s/ids\";", dir);
  char *o = record("out", extra);
  char *c = conf("",
                 "lines = ["
                 "\"a v=1i 1\""
                 ", "
                 "\"b v=1i 1\""
                 "];",
                 NULL, o);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  th_gather(pl);
  th_gather(pl);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  char *path = th_fmt("%s/ids", dir);
  char *text = th_read_file(path);
  unsigned long long id[4];
  ck_assert_int_eq(sscanf(text, "%llu %llu %llu %llu", &id[0], &id[1], &id[2], &id[3]), 4);
  ck_assert_uint_ne(id[0], 0);
  ck_assert_uint_eq(id[0], id[1]); /* one gather, one id */
  ck_assert_uint_eq(id[2], id[3]);
  ck_assert_uint_ne(id[0], id[2]); /* the next gather differs */
  free(text);
  free(path);
  free(c);
  free(o);
  free(extra);
}
END_TEST

START_TEST(gather_errors_counted) {
  char *o = record("out", "");
  char *c = conf("",
                 "lines = ["
                 "\"m v=1i\""
                 "];"
                 " fail = true;",
                 NULL, o);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  ck_assert_int_eq(th_gather(pl), 1);
  /* reported with tower_acc_error and returned -EIO: one error (test_callbacks.c) */
  ck_assert_uint_eq(atomic_load(&pl->inputs[0]->stats.errors), 1);
  ck_assert_uint_eq(atomic_load(&pl->inputs[0]->stats.metrics), 1);
  th_free(pl);
  free(c);
  free(o);
}
END_TEST

int main(void) {
  Suite *s = suite_create("pipeline");
  TCase *t = tcase_create("pipeline");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, agent_tags_and_precision);
  tcase_add_test(t, global_tags_and_host);
  tcase_add_test(t, renames);
  tcase_add_test(t, selectors_on_input);
  tcase_add_test(t, namepass_separator);
  tcase_add_test(t, processors_in_order_with_bypass);
  tcase_add_test(t, processor_drops_and_adds);
  tcase_add_test(t, outputs_see_their_own_copy);
  tcase_add_test(t, buffer_drops_oldest);
  tcase_add_test(t, retry_keeps_batch_without_duplicates);
  tcase_add_test(t, retry_with_full_buffer_drops_oldest_of_batch);
  tcase_add_test(t, drop_and_partial_writes_are_counted);
  tcase_add_test(t, batches_and_flush_end);
  tcase_add_test(t, gather_ids_group_commits);
  tcase_add_test(t, gather_errors_counted);
  suite_add_tcase(s, t);
  return check_run(s);
}
