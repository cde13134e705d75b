/* A loaded configuration: the libconfig trees of its files after @include,
 * integer and environment variable handling, shared (reference counted) by
 * every instance built from it, because their tower_config views point
 * into it.
 *
 * Its files, in order: each file given to tower, each followed by the
 * drop-in files its pattern @includes name (the "*.conf" of conf.d, in name
 * order), then the *.conf files of the configuration directory (in name
 * order). The pipeline appends the inputs, processors and outputs of every
 * file; only the files given to tower may set agent and global_tags. */
#ifndef TOWER_CONF_H
#define TOWER_CONF_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct twi_conf twi_conf;

/* Loads `main_path`, then each of `extra_files` (NULL-terminated; may be
 * NULL: further --config files), then every *.conf file of `dir` (NULL: no
 * directory; --config-directory). Plain @include paths are relative to the
 * including file's directory (libconfig's rule: the main file's), pattern
 * @includes too. On error returns NULL and writes "file:line: what" into
 * err. */
twi_conf *twi_conf_load_many(const char *main_path, const char *const *extra_files, const char *dir,
                             char *err, size_t errlen);
/* twi_conf_load_many(path, NULL, NULL, ...). */
twi_conf *twi_conf_load(const char *path, char *err, size_t errlen);
/* Same for text in memory (tests); `name` stands for the file in messages and
 * `include_dir` resolves @include (may be NULL). */
twi_conf *twi_conf_load_string(const char *text, const char *name, const char *include_dir,
                               char *err, size_t errlen);

twi_conf *twi_conf_ref(twi_conf *c);
void twi_conf_unref(twi_conf *c);

/* The first file's root and path. */
config_setting_t *twi_conf_root(const twi_conf *c);
const char *twi_conf_path(const twi_conf *c);

/* The files, in order (see above). */
size_t twi_conf_files(const twi_conf *c);
config_setting_t *twi_conf_file_root(const twi_conf *c, size_t i);
const char *twi_conf_file_path(const twi_conf *c, size_t i);
/* A drop-in file: named by a pattern @include or found in the directory. */
bool twi_conf_file_is_drop_in(const twi_conf *c, size_t i);

/* Substitutes $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?msg}
 * and ${VAR?msg} in `in` (Telegraf's forms; see conf_env.c); "$$" before a
 * name or "{" stands for a literal "$". Returns a malloc'd string, or NULL with a message in
 * err (unset variable without default, unterminated ${). */
char *twi_env_subst(const char *in, char *err, size_t errlen);

/* "file:line" of a setting for messages, into buf. */
const char *twi_setting_where(const config_setting_t *s, char *buf, size_t len);

#endif
