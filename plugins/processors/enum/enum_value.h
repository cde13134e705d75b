/* processors.enum: the values of a mapping (typed as written in the
 * config) and its lookup table. */
#ifndef TOWER_ENUM_VALUE_H
#define TOWER_ENUM_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tower/tower.h>

/* A mapped value: the field it becomes and the text a tag gets. */
typedef struct {
  tower_field_type type; /* FLOAT, INT, BOOL or STRING */
  union {
    double f;
    int64_t i;
    bool b;
  } u;
  char *text; /* owned; also the value of a STRING */
} enum_value;

typedef struct {
  char *key; /* owned */
  enum_value value;
} enum_entry;

/* Reads the scalar setting `s` (named `what` in errors) into `out`. 0,
 * -EINVAL after reporting a non-scalar at the setting's file:line, -ENOMEM. */
int enum_value_read(const tower_config *c, const tower_setting *s, const char *what,
                    enum_value *out);
void enum_value_clear(enum_value *v);
/* Adds `v` to `m` as field `key`, with its type. */
int enum_value_add_field(tower_metric *m, const char *key, const enum_value *v);

/* Reads value_mappings: a group { key = value; ... } or a list of pairs
 * ( ("key", value), ... ) whose keys may be strings, integers or booleans
 * (a key libconfig cannot write as a name: "200", "true", "a.b"). NULL
 * gives an empty table. The table comes back sorted; a key given twice is
 * an error. The caller frees with enum_table_free(). */
int enum_table_read(const tower_config *c, const tower_setting *s, enum_entry **out, size_t *n);
const enum_entry *enum_table_find(const enum_entry *t, size_t n, const char *key);
void enum_table_free(enum_entry *t, size_t n);

#endif
