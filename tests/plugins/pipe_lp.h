/* For the tests of processors: line protocol in through a real pipeline
 * (the `lines` fixture input, the processors under test, the `record`
 * output), line protocol out. Static functions for the Check programs of
 * processors.rename, converter, enum and override.
 *
 * The config puts the processors at a known line: line 1 agent, line 2
 * inputs, line 3 "processors = (", line 4 on the processors' text. */
#ifndef TOWER_TESTS_PIPE_LP_H
#define TOWER_TESTS_PIPE_LP_H

#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "log_internal.h"

/* `lines` (NULL-terminated) as the body of a libconfig array of strings. */
static inline char *pipe_lp_array(const char *const *lines) {
  size_t len = 1;
  for (size_t i = 0; lines[i]; i++)
    len += 2 * strlen(lines[i]) + 4;
  char *out = calloc(1, len), *p = out;
  ck_assert_ptr_nonnull(out);
  for (size_t i = 0; lines[i]; i++) {
    if (i)
      *p++ = ',';
    *p++ = '"';
    for (const char *c = lines[i]; *c; c++) {
      if (*c == '"' || *c == '\\')
        *p++ = '\\';
      *p++ = *c;
    }
    *p++ = '"';
  }
  return out;
}

static inline char *pipe_lp_config(const char *dir, const char *const *lines, const char *procs) {
  char *array = pipe_lp_array(lines);
  char *c = th_fmt("agent = { omit_hostname = true; };\n"
                   "inputs = ( { plugin = \"lines\"; precision = \"1ns\"; lines = [%s]; } );\n"
                   "processors = (\n%s\n);\n"
                   "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                   array, procs, dir);
  free(array);
  return c;
}

/* One gather and flush. Returns what the output wrote (malloc'd); the
 * processors' errors are added up in *errors and the log is kept in *log
 * (malloc'd) when those are not NULL. */
static inline char *pipe_lp_run_logged(const char *dir, const char *const *lines, const char *procs,
                                       unsigned long *errors, char **log) {
  char *c = pipe_lp_config(dir, lines, procs);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  char *logpath = th_fmt("%s/log", dir);
  ck_assert_int_eq(twi_log_set_file(logpath), 0);
  th_gather(pl);
  twi_log_set_file(NULL);
  ck_assert_uint_eq(th_flush(pl), 0);
  if (errors) {
    *errors = 0;
    for (size_t i = 0; i < pl->nprocessors; i++)
      *errors += atomic_load(&pl->processors[i]->stats.errors);
  }
  th_free(pl);
  free(c);
  if (log) {
    *log = th_read_file(logpath);
    if (!*log)
      *log = strdup("");
  }
  remove(logpath);
  free(logpath);
  char *path = th_fmt("%s/out.lp", dir);
  char *text = th_read_file(path);
  remove(path);
  free(path);
  return text ? text : strdup("");
}

/* The same, checking that no processor reported an error. */
static inline char *pipe_lp_run(const char *dir, const char *const *lines, const char *procs) {
  unsigned long errors;
  char *log;
  char *out = pipe_lp_run_logged(dir, lines, procs, &errors, &log);
  ck_assert_msg(errors == 0, "%lu processor errors:\n%s", errors, log);
  free(log);
  return out;
}

/* Runs and compares the output with `want`. */
#define pipe_lp_check(dir, lines, procs, want)                                                     \
  do {                                                                                             \
    char *got_ = pipe_lp_run(dir, lines, procs);                                                   \
    ck_assert_msg(strcmp(got_, want) == 0, "processors:\n%s\ngot:\n%s\nwant:\n%s", procs, got_,    \
                  want);                                                                           \
    free(got_);                                                                                    \
  } while (0)

/* The config is refused when the pipeline is built (the core's validation
 * against the option table): the diagnostics say `what` at `line`. */
static inline void pipe_lp_build_error(const char *dir, const char *procs, unsigned line,
                                       const char *what) {
  static const char *const one[] = {"m v=1 1", NULL};
  char *c = pipe_lp_config(dir, one, procs);
  char *errors = NULL;
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  ck_assert_msg(pl == NULL, "accepted:\n%s", procs);
  ck_assert_ptr_nonnull(errors);
  char *where = th_fmt("/tower.conf:%u: ", line);
  ck_assert_msg(strstr(errors, where) && strstr(errors, what), "want %s... %s in:\n%s", where, what,
                errors);
  free(where);
  free(errors);
  free(c);
}

/* The config passes the core's validation, and the plugin's init refuses
 * it: its log says `what` at `line` (0: no file:line) for `instance`. */
static inline void pipe_lp_init_error(const char *dir, const char *procs, unsigned line,
                                      const char *instance, const char *what) {
  static const char *const one[] = {"m v=1 1", NULL};
  char *c = pipe_lp_config(dir, one, procs);
  char *errors = NULL;
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  ck_assert_msg(pl != NULL, "rejected at build: %s", errors ? errors : "?");
  free(errors);
  char *path = th_fmt("%s/log", dir);
  ck_assert_int_eq(twi_log_set_file(path), 0);
  int rc = twi_pipeline_init(pl);
  twi_log_set_file(NULL);
  ck_assert_int_ne(rc, 0);
  th_free(pl);
  free(c);
  char *log = th_read_file(path);
  ck_assert_ptr_nonnull(log);
  remove(path);
  free(path);
  char *where = line ? th_fmt("/tower.conf:%u: ", line) : strdup("");
  ck_assert_msg(strstr(log, where) && strstr(log, what) && strstr(log, instance),
                "want %s... [%s] %s in:\n%s", where, instance, what, log);
  free(where);
  free(log);
}

#endif
