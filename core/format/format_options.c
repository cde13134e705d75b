/* The data format options of a block: which apply (see format_options.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "format_options.h"
#include "options.h"

const tower_option *twi_format_table(const tower_option *const *tables, bool *parser) {
  const tower_option *p = twi_parser_common_options(), *s = twi_serializer_common_options();
  for (size_t i = 0; tables[i]; i++)
    if (tables[i] == p || tables[i] == s) {
      *parser = tables[i] == p;
      return tables[i];
    }
  return NULL;
}

const twi_format *twi_format_chosen(const tower_option *table, const config_setting_t *block) {
  const char *name = NULL;
  if (!block || !config_setting_lookup_string(block, "data_format", &name))
    name = NULL;
  const twi_format *f = name ? twi_format_find(name) : NULL;
  if (!f) {
    const tower_option *o = twi_option_find(table, "data_format");
    f = o ? twi_format_find(o->default_value) : NULL;
  }
  return f;
}

const tower_option *twi_format_options(const twi_format *f, bool parser) {
  return f ? (parser ? f->parser_options : f->serializer_options) : NULL;
}

void twi_format_valid_options(const tower_option *const *tables, const config_setting_t *block,
                              char *buf, size_t len) {
  bool parser;
  const tower_option *table = twi_format_table(tables, &parser);
  buf[0] = '\0';
  if (!table)
    return;
  const twi_format *f = twi_format_chosen(table, block);
  const tower_option *o = twi_format_options(f, parser);
  size_t n = (size_t)snprintf(buf, len, "data_format");
  if (o && o->name && n < len)
    n += (size_t)snprintf(buf + n, len - n, " and, for data_format \"%s\", ", f->name);
  for (size_t i = 0; o && o[i].name && n < len; i++)
    n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", o[i].name);
}

/* The format whose options on this side hold `key`, or NULL. */
static const twi_format *owner_of(const char *key, bool parser) {
  for (size_t i = 0; twi_format_at(i); i++)
    if (twi_option_find(twi_format_options(twi_format_at(i), parser), key))
      return twi_format_at(i);
  return NULL;
}

void twi_format_check_block(const tower_option *const *tables, const config_setting_t *block,
                            const char *what, twi_diag *d) {
  bool parser;
  const tower_option *table = twi_format_table(tables, &parser);
  if (!table)
    return;
  const twi_format *chosen = twi_format_chosen(table, block);
  const tower_option *own = twi_format_options(chosen, parser);
  for (int i = 0; i < config_setting_length(block); i++) {
    const config_setting_t *s = config_setting_get_elem(block, (unsigned)i);
    const char *key = config_setting_name(s);
    const twi_format *owner = owner_of(key, parser);
    if (!owner || owner == chosen || (own && twi_option_find(own, key)))
      continue;
    twi_diag_warn(d, s,
                  "%s: option \"%s\" has no effect with data_format = \"%s\" (it is an option of "
                  "data_format \"%s\")",
                  what, key, chosen ? chosen->name : "?", owner->name);
  }
}

const twi_block_rules twi_format_rules = {
    .valid_options = twi_format_valid_options,
    .check_block = twi_format_check_block,
};
