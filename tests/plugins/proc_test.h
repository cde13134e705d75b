/* Shared by the Check programs of processors.regex, strings, dedup and
 * tag_limit: metrics go in as line protocol through the `lines` fixture
 * input, through the processor under test in the real core, and come out
 * as line protocol from the `record` fixture output. Every run is driven
 * synchronously (gather, flush), never by sleeping. */
#ifndef TOWER_TEST_PROC_TEST_H
#define TOWER_TEST_PROC_TEST_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "harness.h"
#include "log_internal.h"

static char *pt_dir;

static inline void pt_setup(void) {
  pt_dir = th_tmpdir();
}

static inline void pt_teardown(void) {
  th_rmrf(pt_dir);
  free(pt_dir);
}

/* `lines` (NULL-terminated) as the body of a libconfig string array. */
static inline char *pt_lines_array(const char *const *lines) {
  size_t len = 3;
  for (size_t i = 0; lines[i]; i++)
    len += 2 * strlen(lines[i]) + 4;
  char *out = calloc(1, len), *p = out;
  ck_assert_ptr_nonnull(out);
  for (size_t i = 0; lines[i]; i++) {
    *p++ = i ? ',' : '[';
    *p++ = '"';
    for (const char *c = lines[i]; *c; c++) {
      if (*c == '"' || *c == '\\')
        *p++ = '\\';
      *p++ = *c;
    }
    *p++ = '"';
  }
  if (p == out)
    *p++ = '[';
  *p++ = ']';
  return out;
}

/* Config: one `lines` input per element of `inputs` (each a NULL-terminated
 * list of lines, gathered in this order), the processors list body `procs`
 * (NULL: none) starting on line 4, the record output. */
static inline char *pt_config(const char *const *const *inputs, size_t ninputs, const char *procs) {
  char *list = strdup("");
  for (size_t i = 0; i < ninputs; i++) {
    char *arr = pt_lines_array(inputs[i]);
    char *more = th_fmt("%s%s{ plugin = \"lines\"; precision = \"1ns\"; lines = %s; }", list,
                        i ? ", " : "", arr);
    free(arr);
    free(list);
    list = more;
  }
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( %s );\n"
                   "%s%s%s"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                   list, procs ? "processors = (\n" : "", procs ? procs : "", procs ? "\n);\n" : "",
                   pt_dir);
  free(list);
  return c;
}

/* `gathers` rounds of every input gathering once, then one flush; returns
 * what the output wrote (malloc'd). */
static inline char *pt_run_rounds(const char *const *const *inputs, size_t ninputs,
                                  const char *procs, int gathers) {
  char *c = pt_config(inputs, ninputs, procs);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  for (int i = 0; i < gathers; i++)
    ck_assert_int_eq(th_gather(pl), 0);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  free(c);
  char *path = th_fmt("%s/out.lp", pt_dir);
  char *text = th_read_file(path);
  remove(path);
  free(path);
  return text ? text : strdup("");
}

static inline char *pt_run(const char *const *lines, const char *procs) {
  return pt_run_rounds(&lines, 1, procs, 1);
}

#define PT_LINES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The lines `in` through `procs` come out as `want` (line protocol). */
#define pt_expect(in, procs, want)                                                                 \
  do {                                                                                             \
    char *got_ = pt_run(in, procs);                                                                \
    ck_assert_msg(strcmp(got_, want) == 0, "processors:\n%s\ngot:\n%s\nwant:\n%s", procs, got_,    \
                  want);                                                                           \
    free(got_);                                                                                    \
  } while (0)

/* Builds `procs` (which must pass the core's validation) and runs init with
 * the log captured; init must succeed when `ok`, else fail. Returns the log
 * (malloc'd). */
static inline char *pt_init_log_ok(const char *procs, bool ok) {
  char *c = pt_config((const char *const *const[]){PT_LINES("x v=1")}, 1, procs);
  char *errors = NULL;
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  ck_assert_msg(pl != NULL, "rejected at build: %s", errors ? errors : "?");
  free(errors);
  char *path = th_fmt("%s/log", pt_dir);
  ck_assert_int_eq(twi_log_set_file(path), 0);
  int rc = twi_pipeline_init(pl);
  twi_log_set_file(NULL);
  ck_assert_msg((rc == 0) == ok, "init returned %d", rc);
  th_free(pl);
  free(c);
  char *log = th_read_file(path);
  ck_assert_ptr_nonnull(log);
  remove(path);
  free(path);
  return log;
}

/* The log of an init that must fail. */
static inline char *pt_init_log(const char *procs) {
  return pt_init_log_ok(procs, false);
}

/* init fails and the log says `what` at tower.conf:`line` for `instance`. */
static inline void pt_init_error(const char *procs, unsigned line, const char *instance,
                                 const char *what) {
  char *log = pt_init_log(procs);
  char *where = th_fmt("/tower.conf:%u: ", line);
  ck_assert_msg(strstr(log, where) && strstr(log, what) && strstr(log, instance),
                "want %s... %s ... %s in:\n%s", where, instance, what, log);
  free(where);
  free(log);
}

/* The core's validation refuses `procs` at build, saying `what`. */
static inline void pt_build_error(const char *procs, const char *what) {
  char *c = pt_config((const char *const *const[]){PT_LINES("x v=1")}, 1, procs);
  char *errors = NULL;
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  ck_assert_ptr_null(pl);
  ck_assert_ptr_nonnull(errors);
  ck_assert_msg(strstr(errors, what), "want %s in:\n%s", what, errors);
  free(errors);
  free(c);
}

#endif
