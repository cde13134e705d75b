/* processors.enum: reading mapped values and value_mappings from the
 * config, and looking values up. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enum_value.h"

static const char *kind_name(tower_setting_type k) {
  switch (k) {
  case TOWER_SETTING_GROUP:
    return "a group";
  case TOWER_SETTING_ARRAY:
    return "an array";
  case TOWER_SETTING_LIST:
    return "a list";
  default:
    return "not a scalar";
  }
}

/* The text of a scalar setting, owned by the caller; NULL on no memory or
 * for a non-scalar. */
static char *scalar_text(const tower_setting *s) {
  char buf[40];
  switch (tower_setting_kind(s)) {
  case TOWER_SETTING_STRING:
    return strdup(tower_setting_string(s));
  case TOWER_SETTING_INT:
    snprintf(buf, sizeof buf, "%" PRId64, tower_setting_int(s));
    return strdup(buf);
  case TOWER_SETTING_BOOL:
    return strdup(tower_setting_bool(s) ? "true" : "false");
  case TOWER_SETTING_FLOAT: {
    tower_buf *b = tower_buf_new(32);
    char *t = NULL;
    if (b && tower_format_float(b, tower_setting_float(s)) == 0)
      t = strndup(tower_buf_data(b), tower_buf_len(b));
    tower_buf_free(b);
    return t;
  }
  default:
    return NULL;
  }
}

int enum_value_read(const tower_config *c, const tower_setting *s, const char *what,
                    enum_value *out) {
  memset(out, 0, sizeof *out);
  switch (tower_setting_kind(s)) {
  case TOWER_SETTING_STRING:
    out->type = TOWER_FIELD_STRING;
    break;
  case TOWER_SETTING_INT:
    out->type = TOWER_FIELD_INT;
    out->u.i = tower_setting_int(s);
    break;
  case TOWER_SETTING_FLOAT:
    out->type = TOWER_FIELD_FLOAT;
    out->u.f = tower_setting_float(s);
    break;
  case TOWER_SETTING_BOOL:
    out->type = TOWER_FIELD_BOOL;
    out->u.b = tower_setting_bool(s);
    break;
  default:
    return tower_config_error(c, s, "%s must be a string, an integer, a float or a boolean, not %s",
                              what, kind_name(tower_setting_kind(s)));
  }
  return (out->text = scalar_text(s)) ? 0 : -ENOMEM;
}

void enum_value_clear(enum_value *v) {
  free(v->text);
  v->text = NULL;
}

int enum_value_add_field(tower_metric *m, const char *key, const enum_value *v) {
  switch (v->type) {
  case TOWER_FIELD_INT:
    return tower_metric_add_int(m, key, v->u.i);
  case TOWER_FIELD_FLOAT:
    return tower_metric_add_float(m, key, v->u.f);
  case TOWER_FIELD_BOOL:
    return tower_metric_add_bool(m, key, v->u.b);
  default:
    return tower_metric_add_string(m, key, v->text);
  }
}

/* ---- the table ----------------------------------------------------------- */

static int by_key(const void *a, const void *b) {
  return strcmp(((const enum_entry *)a)->key, ((const enum_entry *)b)->key);
}

/* Entry `e` of a list of pairs: ("key", value). */
static int read_pair(const tower_config *c, const tower_setting *e, size_t i, enum_entry *out) {
  tower_setting_type k = tower_setting_kind(e);
  if ((k != TOWER_SETTING_LIST && k != TOWER_SETTING_ARRAY) || tower_setting_len(e) != 2)
    return tower_config_error(c, e, "value_mappings[%zu] must be a pair (\"value\", mapped value)",
                              i);
  const tower_setting *key = tower_setting_at(e, 0);
  tower_setting_type kk = tower_setting_kind(key);
  if (kk != TOWER_SETTING_STRING && kk != TOWER_SETTING_INT && kk != TOWER_SETTING_BOOL)
    return tower_config_error(c, key,
                              "value_mappings[%zu]: the value to map must be a string, an integer "
                              "or a boolean",
                              i);
  if (!(out->key = scalar_text(key)))
    return -ENOMEM;
  return enum_value_read(c, tower_setting_at(e, 1), "value_mappings", &out->value);
}

static int read_member(const tower_config *c, const tower_setting *e, enum_entry *out) {
  if (!(out->key = strdup(tower_setting_name(e))))
    return -ENOMEM;
  return enum_value_read(c, e, "value_mappings", &out->value);
}

static int check_unique(const tower_config *c, const tower_setting *s, const enum_entry *t,
                        size_t n) {
  for (size_t i = 1; i < n; i++)
    if (strcmp(t[i - 1].key, t[i].key) == 0)
      return tower_config_error(c, s, "value_mappings maps \"%s\" twice; keep one", t[i].key);
  return 0;
}

int enum_table_read(const tower_config *c, const tower_setting *s, enum_entry **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (!s)
    return 0;
  tower_setting_type k = tower_setting_kind(s);
  if (k != TOWER_SETTING_GROUP && k != TOWER_SETTING_LIST)
    return tower_config_error(c, s,
                              "value_mappings must be a group { value = mapped; ... } or a list "
                              "of pairs ( (\"value\", mapped), ... )");
  size_t len = tower_setting_len(s);
  enum_entry *t = len ? calloc(len, sizeof *t) : NULL;
  if (len && !t)
    return -ENOMEM;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < len; i++) {
    const tower_setting *e = tower_setting_at(s, i);
    rc = k == TOWER_SETTING_GROUP ? read_member(c, e, &t[i]) : read_pair(c, e, i, &t[i]);
  }
  if (rc == 0) {
    qsort(t, len, sizeof *t, by_key);
    rc = check_unique(c, s, t, len);
  }
  if (rc) {
    enum_table_free(t, len);
    return rc;
  }
  *out = t;
  *n = len;
  return 0;
}

const enum_entry *enum_table_find(const enum_entry *t, size_t n, const char *key) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int cmp = strcmp(key, t[mid].key);
    if (cmp == 0)
      return &t[mid];
    if (cmp < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

void enum_table_free(enum_entry *t, size_t n) {
  for (size_t i = 0; t && i < n; i++) {
    free(t[i].key);
    enum_value_clear(&t[i].value);
  }
  free(t);
}
