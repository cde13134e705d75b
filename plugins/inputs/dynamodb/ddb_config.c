/* Options that need more than a getter: the tables, where to send requests
 * and the Scan request every page repeats (README.md,
 * "Options"). Mistakes are configuration errors that name file:line, so
 * that they show at start instead of as a ValidationException every
 * interval. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamodb.h"

/* ---- tables ---------------------------------------------------------------------- */

/* DynamoDB table names: 3 to 255 of [a-zA-Z0-9_.-]. */
static bool table_name_ok(const char *s) {
  size_t n = strlen(s);
  if (n < 3 || n > 255)
    return false;
  return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* A table ARN (arn:<partition>:dynamodb:<region>:<account>:table/<name>,
 * accepted as TableName since 2024): its name, or NULL. */
static const char *arn_table_name(const char *s) {
  const char *t = strstr(s, ":table/");
  if (strncmp(s, "arn:", 4) != 0 || !strstr(s, ":dynamodb:") || !t || strlen(s) > 1024)
    return NULL;
  return table_name_ok(t + 7) ? t + 7 : NULL;
}

static int check_table(ddb_state *s, const tower_config *cfg, size_t i) {
  const char *name = tower_config_strings_at(cfg, "tables", i);
  const tower_setting *at = tower_config_setting(cfg, "tables");
  const char *m = table_name_ok(name) ? name : arn_table_name(name);
  if (!m)
    return tower_config_error(cfg, at,
                              "tables[%zu] = \"%s\" is not a DynamoDB table name (3 to 255 of "
                              "a-z A-Z 0-9 _ . -) or table ARN",
                              i, name);
  for (size_t j = 0; j < i; j++)
    if (strcmp(s->tables[j].name, name) == 0)
      return tower_config_error(cfg, at, "table \"%s\" is listed twice in tables", name);
  s->tables[i] = (ddb_table){.name = name, .measurement = m};
  return 0;
}

int ddb_config_tables(ddb_state *s, const tower_config *cfg) {
  s->ntables = tower_config_strings_len(cfg, "tables");
  if (s->ntables == 0)
    return tower_config_error(cfg, tower_config_setting(cfg, "tables"),
                              "tables is empty; name at least one table, e.g. tables = "
                              "[\"orders\"];");
  s->tables = calloc(s->ntables, sizeof *s->tables);
  if (!s->tables)
    return -ENOMEM;
  for (size_t i = 0; i < s->ntables; i++) {
    int rc = check_table(s, cfg, i);
    if (rc)
      return rc;
  }
  return 0;
}

/* ---- expression attribute values ------------------------------------------------------ */

static bool valid_av(const json_t *av) {
  tower_buf *b = tower_buf_new(256);
  bool ok = b && ddb_plain_json(av, b) == 0;
  tower_buf_free(b);
  return ok;
}

static json_t *typed(const char *type, json_t *v) {
  return v ? json_pack("{so}", type, v) : NULL;
}

static json_t *from_json_text(const char *text, char *err, size_t err_size) {
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  if (!j) {
    snprintf(err, err_size, "is not valid JSON (%s, column %d)", je.text, je.column);
    return NULL;
  }
  if (!valid_av(j)) {
    json_decref(j);
    snprintf(err, err_size,
             "is not a DynamoDB AttributeValue such as {\"S\": \"text\"}, "
             "{\"N\": \"42\"} or {\"SS\": [\"a\", \"b\"]}");
    return NULL;
  }
  return j;
}

static json_t *from_float(double d, char *err, size_t err_size) {
  tower_buf *b = tower_buf_new(32);
  json_t *j = NULL;
  if (b && isfinite(d) && tower_format_float(b, d) == 0)
    j = typed("N", json_string(tower_buf_data(b)));
  else
    snprintf(err, err_size, "is not a finite number");
  tower_buf_free(b);
  return j;
}

json_t *ddb_attribute_value(const tower_setting *v, char *err, size_t err_size) {
  char num[32];
  const char *s;
  switch (tower_setting_kind(v)) {
  case TOWER_SETTING_STRING:
    s = tower_setting_string(v);
    s += strspn(s, " \t\n");
    if (*s == '{')
      return from_json_text(s, err, err_size);
    return typed("S", json_string(tower_setting_string(v)));
  case TOWER_SETTING_INT:
    snprintf(num, sizeof num, "%lld", (long long)tower_setting_int(v));
    return typed("N", json_string(num));
  case TOWER_SETTING_FLOAT:
    return from_float(tower_setting_float(v), err, err_size);
  case TOWER_SETTING_BOOL:
    return typed("BOOL", json_boolean(tower_setting_bool(v)));
  default:
    snprintf(err, err_size,
             "must be a string, number or boolean; write lists, sets and maps as "
             "DynamoDB JSON, e.g. \"{\\\"SS\\\": [\\\"a\\\", \\\"b\\\"]}\"");
    return NULL;
  }
}

/* ---- the request template --------------------------------------------------------------- */

/* True when `name` occurs in `expr` as a whole placeholder (":v" does not
 * match ":v2"). */
static bool uses(const char *expr, const char *name) {
  size_t n = strlen(name);
  for (const char *p = expr ? strstr(expr, name) : NULL; p; p = strstr(p + 1, name)) {
    char next = p[n];
    if (!isalnum((unsigned char)next) && next != '_')
      return true;
  }
  return false;
}

/* libconfig names may hold '-' and '*', placeholders may not. */
static bool placeholder_ok(const char *name) {
  return *name && strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
                      strlen(name);
}

static int add_value(json_t *values, const tower_config *cfg, const tower_setting *v,
                     const char *filter) {
  char err[512], key[300];
  const char *name = tower_setting_name(v);
  if (!placeholder_ok(name))
    return tower_config_error(cfg, v,
                              "expression_attribute_values: \"%s\" cannot be a placeholder "
                              "name (letters, digits and _ only)",
                              name);
  snprintf(key, sizeof key, ":%s", name);
  if (!uses(filter, key))
    return tower_config_error(cfg, v,
                              "expression_attribute_values.%s: filter_expression does not "
                              "use %s (DynamoDB refuses unused values)",
                              name, key);
  json_t *av = ddb_attribute_value(v, err, sizeof err);
  if (!av)
    return tower_config_error(cfg, v, "expression_attribute_values.%s %s", name, err);
  return json_object_set_new(values, key, av) ? -ENOMEM : 0;
}

static int expression_values(json_t *req, const tower_config *cfg, const char *filter) {
  const tower_setting *g = tower_config_setting(cfg, "expression_attribute_values");
  if (!g)
    return 0;
  if (tower_setting_kind(g) != TOWER_SETTING_GROUP)
    return tower_config_error(cfg, g,
                              "expression_attribute_values must be a group such as "
                              "{ status = \"active\"; min = 5; } (used as :status, :min)");
  json_t *values = json_object();
  int rc = values ? 0 : -ENOMEM;
  for (size_t i = 0; rc == 0 && i < tower_setting_len(g); i++)
    rc = add_value(values, cfg, tower_setting_at(g, i), filter);
  if (rc == 0 && json_object_size(values) > 0)
    return json_object_set_new(req, "ExpressionAttributeValues", values) ? -ENOMEM : 0;
  json_decref(values);
  return rc;
}

static int expression_names(json_t *req, const tower_config *cfg, const char *filter,
                            const char *projection) {
  const tower_setting *at = tower_config_setting(cfg, "expression_attribute_names");
  size_t n = tower_config_table_len(cfg, "expression_attribute_names");
  json_t *names = json_object();
  int rc = names ? 0 : -ENOMEM;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    const char *k = tower_config_table_key(cfg, "expression_attribute_names", i);
    char key[300];
    snprintf(key, sizeof key, "#%s", k);
    if (!placeholder_ok(k) || !(uses(filter, key) || uses(projection, key)))
      rc = tower_config_error(cfg, at, "expression_attribute_names.%s: %s", k,
                              placeholder_ok(k) ? "neither filter_expression nor "
                                                  "projection_expression uses it"
                                                : "not a placeholder name (letters, digits, _)");
    else if (json_object_set_new(
                 names, key,
                 json_string(tower_config_table_value(cfg, "expression_attribute_names", i))))
      rc = -ENOMEM;
  }
  if (rc == 0 && n > 0)
    return json_object_set_new(req, "ExpressionAttributeNames", names) ? -ENOMEM : 0;
  json_decref(names);
  return rc;
}

static int set_string(json_t *req, const char *key, const char *value) {
  if (!value || !*value)
    return 0;
  return json_object_set_new(req, key, json_string(value)) ? -ENOMEM : 0;
}

int ddb_config_request(ddb_state *s, const tower_config *cfg) {
  const char *filter = tower_config_string(cfg, "filter_expression");
  const char *projection = tower_config_string(cfg, "projection_expression");
  if (!(s->request = json_object()))
    return -ENOMEM;
  int rc = 0;
  if (tower_config_bool(cfg, "consistent_read"))
    rc = json_object_set_new(s->request, "ConsistentRead", json_true()) ? -ENOMEM : 0;
  if (rc == 0)
    rc = set_string(s->request, "ProjectionExpression", projection);
  if (rc == 0)
    rc = set_string(s->request, "FilterExpression", filter);
  if (rc == 0)
    rc = expression_values(s->request, cfg, filter);
  if (rc == 0)
    rc = expression_names(s->request, cfg, filter, projection);
  return rc;
}
