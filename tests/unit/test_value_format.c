/* The "value" data format (core/format/format_value.c): every data_type, the
 * word taken, white space, errors; options through real config blocks. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/format.h>

#include "conf.h"
#include "config_view.h"
#include "format_internal.h"
#include "check_run.h"

/* The parser configured with `opts` (inside a data_format = "value"
 * block), or NULL when validation refuses them (*why then says why). */
static tower_parser *parser_of(const char *opts, char *why, size_t whylen) {
  char text[512], err[256];
  snprintf(text, sizeof text, "block = { data_format = \"value\"; %s };", opts);
  twi_conf *conf = twi_conf_load_string(text, "test.conf", NULL, err, sizeof err);
  ck_assert_msg(conf != NULL, "%s", err);
  config_setting_t *block = config_setting_get_member(twi_conf_root(conf), "block");
  const tower_option *tables[] = {twi_parser_common_options(), NULL};
  twi_diag d = {0};
  tower_config *cfg = twi_config_new(block, tables, "inputs.exec", NULL, &d);
  tower_parser *p = NULL;
  if (cfg)
    ck_assert_int_eq(tower_parser_new(NULL, cfg, &p), 0);
  else
    snprintf(why, whylen, "%s", d.text ? d.text : "");
  twi_config_free(cfg);
  twi_diag_free(&d);
  twi_conf_unref(conf);
  return p;
}

/* The one metric a parse gave, described as "name field=<type>:<value>". */
typedef struct got {
  int n;
  char text[256];
} got;

static int describe(void *ctx, tower_metric *m) {
  got *g = ctx;
  ck_assert_int_eq(tower_metric_field_count(m), 1);
  ck_assert_int_eq(tower_metric_tag_count(m), 0);
  ck_assert(tower_metric_time(m) == TOWER_TIME_UNSET);
  const char *name = tower_metric_name(m), *key = tower_metric_field_key(m, 0);
  char *t = g->text;
  size_t cap = sizeof g->text;
  switch (tower_metric_field_type(m, 0)) {
  case TOWER_FIELD_INT:
    snprintf(t, cap, "%s %s=int:%lld", name, key, (long long)tower_metric_field_int(m, 0));
    break;
  case TOWER_FIELD_FLOAT:
    snprintf(t, cap, "%s %s=float:%.17g", name, key, tower_metric_field_float(m, 0));
    break;
  case TOWER_FIELD_BOOL:
    snprintf(t, cap, "%s %s=bool:%s", name, key, tower_metric_field_bool(m, 0) ? "true" : "false");
    break;
  case TOWER_FIELD_STRING:
    snprintf(t, cap, "%s %s=string:%s", name, key, tower_metric_field_string(m, 0));
    break;
  default:
    ck_abort_msg("unexpected field type");
  }
  g->n++;
  tower_metric_free(m);
  return 0;
}

static const struct {
  const char *type; /* data_type, "" for the default */
  const char *in;   /* input (NUL bytes written as \0 with an explicit length) */
  size_t len;       /* 0: strlen(in) */
  const char *want; /* the metric, "" for none */
  const char *error;
} cases[] = {
    /* integer, the default (Go's strconv.Atoi) */
    {"", "42", 0, "value value=int:42"},
    {"integer", "  42\n", 0, "value value=int:42"},
    {"int", "+5", 0, "value value=int:5"},
    {"int", "-9223372036854775808", 0, "value value=int:-9223372036854775808"},
    {"int", "9223372036854775808", 0, "",
     "cannot read \"9223372036854775808\" as integer: value "
     "out of range"},
    {"int", "1.5", 0, "", "cannot read \"1.5\" as integer: invalid syntax"},
    {"int", "0x10", 0, "", "invalid syntax"},
    {"int", "1_000", 0, "", "invalid syntax"},
    {"int", "-", 0, "", "invalid syntax"},
    /* the last word of the input */
    {"int", "entropy: 3712\n", 0, "value value=int:3712"},
    {"int", "1 2 3\n4\n", 0, "value value=int:4"},
    {"int", "a\nb  xyz", 0, "", "line 2, column 4: cannot read \"xyz\" as integer"},
    /* NULs at the ends, then Unicode white space */
    {"int", "\0\0 17 \0", 7, "value value=int:17"},
    {"int", "\xc2\xa0 42 \xe3\x80\x80\xc2\x85", 0, "value value=int:42"},
    {"int",
     "1\xe2\x80\x8a"
     "2",
     0, "value value=int:2"},
    /* nothing: no metric, no error */
    {"int", "", 0, ""},
    {"int", " \n\t ", 0, ""},
    {"string", "\0\0", 2, ""},
    /* float and long (Go's strconv.ParseFloat) */
    {"float", "3.14", 0, "value value=float:3.1400000000000001"},
    {"float", "1e3", 0, "value value=float:1000"},
    {"float", ".5", 0, "value value=float:0.5"},
    {"float", "5.", 0, "value value=float:5"},
    {"float", "-2.5E-3", 0, "value value=float:-0.0025000000000000001"},
    {"long", "+7", 0, "value value=float:7"},
    {"float", "0x1p-2", 0, "value value=float:0.25"},
    {"float", "-0X1.8P1", 0, "value value=float:-3"},
    {"float", "Infinity", 0, "value value=float:inf"},
    {"float", "-inf", 0, "value value=float:-inf"},
    {"float", "+INF", 0, "value value=float:inf"},
    {"float", "NaN", 0, "value value=float:nan"},
    {"float", "+nan", 0, "", "cannot read \"+nan\" as float: invalid syntax"},
    {"float", "infinit", 0, "", "invalid syntax"},
    {"float", "0x1", 0, "", "invalid syntax"},
    {"float", "1e400", 0, "", "value out of range"},
    {"float", "1,5", 0, "", "invalid syntax"},
    {"float", "abc", 0, "", "cannot read \"abc\" as float"},
    /* string: all of it */
    {"string", "  hello world\n", 0, "value value=string:hello world"},
    {"str", "two\nlines\n", 0, "value value=string:two\nlines"},
    {"string", "a\0b", 3, "", "holds a NUL byte"},
    /* boolean (Go's strconv.ParseBool) */
    {"boolean", "true", 0, "value value=bool:true"},
    {"bool", "T", 0, "value value=bool:true"},
    {"bool", "1", 0, "value value=bool:true"},
    {"bool", "True", 0, "value value=bool:true"},
    {"bool", "FALSE", 0, "value value=bool:false"},
    {"bool", "f", 0, "value value=bool:false"},
    {"bool", "0", 0, "value value=bool:false"},
    {"bool", "yes", 0, "", "cannot read \"yes\" as boolean: invalid syntax"},
    {"bool", "tRuE", 0, "", "invalid syntax"},
    /* auto: the number when it reads as one, else the word as a string */
    {"auto_integer", "42", 0, "value value=int:42"},
    {"auto_integer", "4.2", 0, "value value=string:4.2"},
    {"auto_integer", "status: degraded", 0, "value value=string:degraded"},
    {"auto_float", "4.2", 0, "value value=float:4.2000000000000002"},
    {"auto_float", "up", 0, "value value=string:up"},
};

START_TEST(test_values) {
  char opts[128], why[256];
  if (*cases[_i].type)
    snprintf(opts, sizeof opts, "data_type = \"%s\";", cases[_i].type);
  else
    opts[0] = '\0';
  tower_parser *p = parser_of(opts, why, sizeof why);
  ck_assert_msg(p != NULL, "%s", why);
  got g = {0};
  size_t len = cases[_i].len ? cases[_i].len : strlen(cases[_i].in);
  int n = tower_parser_parse(p, cases[_i].in, len, describe, &g);
  ck_assert_int_eq(n, g.n);
  if (*cases[_i].want) {
    ck_assert_int_eq(g.n, 1);
    ck_assert_str_eq(g.text, cases[_i].want);
  } else {
    ck_assert_int_eq(g.n, 0);
  }
  if (cases[_i].error) {
    ck_assert_int_eq(tower_parser_errors(p), 1);
    const char *e = tower_parser_last_error(p);
    ck_assert_msg(e && strstr(e, cases[_i].error), "error \"%s\" lacks \"%s\"", e ? e : "",
                  cases[_i].error);
  } else {
    ck_assert_int_eq(tower_parser_errors(p), 0);
  }
  tower_parser_free(p);
}
END_TEST

/* The plugin's name, the field name, and a long value quoted short. */
START_TEST(test_names_and_options) {
  char why[256];
  tower_parser *p =
      parser_of("value_field_name = \"entropy\"; data_type = \"integer\";", why, sizeof why);
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(tower_parser_set_default_name(p, "exec"), 0);
  got g = {0};
  ck_assert_int_eq(tower_parser_parse(p, "3712\n", 5, describe, &g), 1);
  ck_assert_str_eq(g.text, "exec entropy=int:3712");
  char big[200];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  ck_assert_int_eq(tower_parser_parse(p, big, strlen(big), describe, &g), 0);
  ck_assert_ptr_nonnull(strstr(tower_parser_last_error(p), "xxx...\" as integer"));
  tower_parser_free(p);
  /* an empty field name means "value", as in Telegraf */
  p = parser_of("value_field_name = \"\";", why, sizeof why);
  ck_assert_int_eq(tower_parser_parse(p, "1", 1, describe, &g), 1);
  ck_assert_str_eq(g.text, "value value=int:1");
  tower_parser_free(p);
  /* feeds are buffered: the value is the whole input */
  p = parser_of("data_type = \"string\";", why, sizeof why);
  ck_assert_int_eq(tower_parser_feed(p, "ab", 2, describe, &g), 0);
  ck_assert_int_eq(tower_parser_feed(p, "\ncd", 3, describe, &g), 0);
  ck_assert_int_eq(tower_parser_end(p, describe, &g), 1);
  ck_assert_str_eq(g.text, "value value=string:ab\ncd");
  tower_parser_free(p);
}
END_TEST

START_TEST(test_bad_options) {
  char why[256] = "";
  ck_assert_ptr_null(parser_of("data_type = \"number\";", why, sizeof why));
  ck_assert_ptr_nonnull(strstr(why, "data_type"));
  /* parser only: no serializer */
  tower_serializer *s = NULL;
  ck_assert_int_eq(tower_serializer_new_format(NULL, "value", &s), -EINVAL);
  ck_assert_ptr_null(s);
  /* defaults without a config block */
  tower_parser *p = NULL;
  ck_assert_int_eq(tower_parser_new_format(NULL, "value", &p), 0);
  got g = {0};
  ck_assert_int_eq(tower_parser_parse(p, "7", 1, describe, &g), 1);
  ck_assert_str_eq(g.text, "value value=int:7");
  tower_parser_free(p);
}
END_TEST

static Suite *value_suite(void) {
  Suite *s = suite_create("value_format");
  TCase *tc = tcase_create("parser");
  tcase_add_loop_test(tc, test_values, 0, sizeof cases / sizeof cases[0]);
  tcase_add_test(tc, test_names_and_options);
  tcase_add_test(tc, test_bad_options);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return check_run(value_suite());
}
