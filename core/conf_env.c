/* Environment variables in configuration strings: ${VAR}, ${VAR:-default}
 * (unset or empty) and ${VAR-default} (unset); "$${" is a literal "${". An
 * unset variable without a default is an error, never an empty string. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_env.h"

/* Appends n bytes to the growing string *out. */
static int put(char **out, size_t *len, size_t *cap, const char *s, size_t n) {
  if (*len + n + 1 > *cap) {
    size_t c = *cap ? *cap * 2 : 64;
    while (c < *len + n + 1)
      c *= 2;
    char *p = realloc(*out, c);
    if (!p)
      return -ENOMEM;
    *out = p;
    *cap = c;
  }
  memcpy(*out + *len, s, n);
  *len += n;
  (*out)[*len] = '\0';
  return 0;
}

char *twi_env_subst(const char *in, char *err, size_t errlen) {
  char *out = NULL;
  size_t len = 0, cap = 0;
  if (put(&out, &len, &cap, "", 0))
    goto nomem;
  for (const char *p = in; *p;) {
    const char *d = strstr(p, "${");
    if (!d) {
      if (put(&out, &len, &cap, p, strlen(p)))
        goto nomem;
      break;
    }
    if (d > p && d[-1] == '$') { /* "$${" is a literal "${" */
      if (put(&out, &len, &cap, p, (size_t)(d - p) - 1) || put(&out, &len, &cap, "${", 2))
        goto nomem;
      p = d + 2;
      continue;
    }
    if (put(&out, &len, &cap, p, (size_t)(d - p)))
      goto nomem;
    const char *close = strchr(d, '}');
    if (!close) {
      snprintf(err, errlen, "\"${\" without a closing \"}\" in \"%s\" (write $${ for a literal ${)",
               in);
      free(out);
      return NULL;
    }
    /* NAME, NAME:-default (unset or empty) or NAME-default (unset). */
    const char *name = d + 2, *end = close, *def = NULL;
    bool empty_uses_default = false;
    const char *dash = memchr(name, '-', (size_t)(close - name));
    if (dash) {
      end = dash;
      def = dash + 1;
      if (dash > name && dash[-1] == ':') {
        end = dash - 1;
        empty_uses_default = true;
      }
    }
    char var[256];
    size_t vlen = (size_t)(end - name);
    if (vlen == 0 || vlen >= sizeof var) {
      snprintf(err, errlen, "bad variable reference \"%.*s\" in \"%s\"", (int)(close - d + 1), d,
               in);
      free(out);
      return NULL;
    }
    memcpy(var, name, vlen);
    var[vlen] = '\0';
    const char *val = getenv(var);
    if (val && !*val && empty_uses_default)
      val = NULL;
    if (val) {
      if (put(&out, &len, &cap, val, strlen(val)))
        goto nomem;
    } else if (def) {
      if (put(&out, &len, &cap, def, (size_t)(close - def)))
        goto nomem;
    } else {
      snprintf(err, errlen,
               "environment variable %s is not set; set it or give a default with ${%s:-value}",
               var, var);
      free(out);
      return NULL;
    }
    p = close + 1;
  }
  return out;
nomem:
  free(out);
  snprintf(err, errlen, "out of memory");
  return NULL;
}

int twi_env_subst_tree(config_setting_t *s, char *err, size_t errlen) {
  if (config_setting_type(s) == CONFIG_TYPE_STRING) {
    const char *v = config_setting_get_string(s);
    if (!strstr(v, "${"))
      return 0;
    char msg[512];
    char *nv = twi_env_subst(v, msg, sizeof msg);
    if (!nv) {
      char where[256];
      snprintf(err, errlen, "%s: %s", twi_setting_where(s, where, sizeof where), msg);
      return -EINVAL;
    }
    int ok = config_setting_set_string(s, nv);
    free(nv);
    return ok ? 0 : -ENOMEM;
  }
  int n = config_setting_is_aggregate(s) ? config_setting_length(s) : 0;
  for (int i = 0; i < n; i++) {
    int rc = twi_env_subst_tree(config_setting_get_elem(s, (unsigned)i), err, errlen);
    if (rc)
      return rc;
  }
  return 0;
}
