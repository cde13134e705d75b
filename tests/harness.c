/* Test harness; see harness.h. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tower/format.h>

#include "harness.h"

char *th_fmt(const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  ck_assert_ptr_nonnull(s);
  return s;
}

char *th_tmpdir(void) {
  const char *base = getenv("TMPDIR");
  char *tmpl = th_fmt("%s/tower-test.XXXXXX", base && *base ? base : "/tmp");
  ck_assert_msg(mkdtemp(tmpl) != NULL, "mkdtemp: %s", strerror(errno));
  return tmpl;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

void th_rmrf(const char *path) {
  if (path)
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *th_read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t len = 0, cap = 0, n;
  char chunk[4096];
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (len + n + 1 > cap) {
      cap = (len + n + 1) * 2;
      buf = realloc(buf, cap);
      ck_assert_ptr_nonnull(buf);
    }
    memcpy(buf + len, chunk, n);
    len += n;
  }
  fclose(f);
  if (!buf)
    buf = calloc(1, 1);
  else
    buf[len] = '\0';
  return buf;
}

int th_write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f)
    return -errno;
  fputs(text, f);
  return fclose(f) ? -errno : 0;
}

twi_pipeline *th_build(const char *text, twi_mode mode, char **errors) {
  char *dir = th_tmpdir();
  char *path = th_fmt("%s/tower.conf", dir);
  ck_assert_int_eq(th_write_file(path, text), 0);
  char err[4096];
  twi_pipeline *pl = NULL;
  twi_conf *conf = twi_conf_load(path, err, sizeof err);
  if (errors)
    *errors = NULL;
  if (!conf) {
    if (errors)
      *errors = strdup(err);
  } else {
    twi_diag d = {0};
    pl = twi_pipeline_build(conf, getenv("TOWER_PLUGIN_DIR"), mode, &d);
    if (errors && d.text)
      *errors = strdup(d.text);
    twi_diag_free(&d);
    twi_conf_unref(conf);
  }
  th_rmrf(dir);
  free(path);
  free(dir);
  return pl;
}

twi_pipeline *th_start(const char *text, twi_mode mode) {
  char *errors = NULL;
  twi_pipeline *pl = th_build(text, mode, &errors);
  ck_assert_msg(pl != NULL, "config rejected:\n%s\n--- config ---\n%s", errors ? errors : "?",
                text);
  free(errors);
  ck_assert_msg(twi_pipeline_init(pl) == 0, "a plugin failed to initialize");
  if (mode == TWI_TEST && !pl->test_out)
    pl->test_out = stdout;
  return pl;
}

int th_gather(twi_pipeline *pl) {
  int errors = 0;
  for (size_t i = 0; i < pl->ninputs; i++)
    errors += twi_input_run_once(pl->inputs[i], pl, 0);
  return errors;
}

size_t th_flush(twi_pipeline *pl) {
  size_t left = 0;
  for (size_t i = 0; i < pl->noutputs; i++)
    left += twi_output_flush_sync(pl->outputs[i]);
  return left;
}

void th_free(twi_pipeline *pl) {
  twi_pipeline_free(pl);
}

typedef struct {
  tower_metric **v;
  size_t n;
} collect;

static int collect_sink(void *ud, tower_metric *m) {
  collect *c = ud;
  c->v = realloc(c->v, (c->n + 1) * sizeof *c->v);
  ck_assert_ptr_nonnull(c->v);
  c->v[c->n++] = m;
  return 0;
}

size_t th_parse(const char *lines, tower_metric ***out) {
  tower_parser *p;
  ck_assert_int_eq(tower_parser_new_format(NULL, "influx", &p), 0);
  collect c = {0};
  int n = tower_parser_parse(p, lines, strlen(lines), collect_sink, &c);
  ck_assert_msg(tower_parser_errors(p) == 0, "fixture does not parse: %s",
                tower_parser_last_error(p));
  ck_assert_int_ge(n, 0);
  tower_parser_free(p);
  *out = c.v;
  return c.n;
}

void th_free_metrics(tower_metric **ms, size_t n) {
  for (size_t i = 0; i < n; i++)
    tower_metric_free(ms[i]);
  free(ms);
}
