/* A loaded configuration file: the libconfig tree after @include and ${VAR}
 * substitution, shared (reference counted) by every instance built from it,
 * because their tower_config views point into it. */
#ifndef TOWER_CONF_H
#define TOWER_CONF_H

#include <libconfig.h>
#include <stddef.h>

typedef struct twi_conf twi_conf;

/* Loads `path`. @include paths are relative to the file's directory.
 * On error returns NULL and writes "file:line: what" into err. */
twi_conf *twi_conf_load(const char *path, char *err, size_t errlen);
/* Same for text in memory (tests); `name` stands for the file in messages and
 * `include_dir` resolves @include (may be NULL). */
twi_conf *twi_conf_load_string(const char *text, const char *name, const char *include_dir,
                               char *err, size_t errlen);

twi_conf *twi_conf_ref(twi_conf *c);
void twi_conf_unref(twi_conf *c);

config_setting_t *twi_conf_root(const twi_conf *c);
const char *twi_conf_path(const twi_conf *c);

/* Substitutes $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?msg}
 * and ${VAR?msg} in `in` (Telegraf's forms; see conf_env.c); "$$" stands
 * for a literal "$". Returns a malloc'd string, or NULL with a message in
 * err (unset variable without default, unterminated ${). */
char *twi_env_subst(const char *in, char *err, size_t errlen);

/* "file:line" of a setting for messages, into buf. */
const char *twi_setting_where(const config_setting_t *s, char *buf, size_t len);

#endif
