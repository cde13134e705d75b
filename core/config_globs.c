/* Glob lists read from a plugin's configuration: the config layer's use of
 * the glob primitives (glob.c), so that glob.c itself knows nothing of
 * configurations. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tower/config.h>
#include <tower/glob.h>

#include "globs.h"

int twi_globs_from_config(const tower_config *cfg, const char *key, const char *separators,
                          twi_globs **out, const char **why) {
  *out = NULL;
  *why = NULL;
  size_t n = tower_config_strings_len(cfg, key);
  if (n == 0 && !tower_config_isset(cfg, key))
    return 0;
  const char **pats = calloc(n ? n : 1, sizeof *pats);
  if (!pats)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++)
    pats[i] = tower_config_strings_at(cfg, key, i);
  *out = twi_globs_new(pats, n, separators, why);
  free(pats);
  if (*out)
    return 0;
  return *why && strcmp(*why, "out of memory") == 0 ? -ENOMEM : -EINVAL;
}

int tower_globs_from_config(const tower_config *cfg, const char *key, tower_globs **out) {
  const char *why;
  int rc = twi_globs_from_config(cfg, key, NULL, (twi_globs **)out, &why);
  if (rc == -EINVAL)
    return tower_config_error(cfg, tower_config_setting(cfg, key), "option \"%s\": a pattern %s",
                              key, why);
  return rc;
}

int tower_globs_from_setting(const tower_config *cfg, const tower_setting *s, tower_globs **out) {
  *out = NULL;
  tower_setting_type k = tower_setting_kind(s);
  bool one = k == TOWER_SETTING_STRING;
  if (!one && k != TOWER_SETTING_ARRAY && k != TOWER_SETTING_LIST)
    return tower_config_error(cfg, s, "\"%s\" must be a string or an array of strings",
                              tower_setting_name(s) ? tower_setting_name(s) : "value");
  size_t n = one ? 1 : tower_setting_len(s);
  const char **pats = calloc(n ? n : 1, sizeof *pats);
  if (!pats)
    return -ENOMEM;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++)
    if (!(pats[i] = tower_setting_string(one ? s : tower_setting_at(s, i))))
      rc = tower_config_error(cfg, s, "\"%s\" must hold strings only",
                              tower_setting_name(s) ? tower_setting_name(s) : "value");
  const char *why = NULL;
  if (rc == 0 && (rc = tower_globs_new(pats, n, out, &why)) == -EINVAL)
    rc = tower_config_error(cfg, s, "a pattern %s", why);
  free(pats);
  return rc;
}
