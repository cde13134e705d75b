/* Environment variables in configuration strings (twi_env_subst, declared
 * in conf.h, does one string). */
#ifndef TOWER_CONF_ENV_H
#define TOWER_CONF_ENV_H

#include <libconfig.h>
#include <stddef.h>

/* Substitutes in every string under `s` (values and array or list elements
 * alike). 0, or a negative errno with "file:line: what" in err. */
int twi_env_subst_tree(config_setting_t *s, char *err, size_t errlen);

#endif
