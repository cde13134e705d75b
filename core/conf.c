/* Loading the libconfig file: parse, resolve @include next to the file, then
 * substitute environment variables in every string value. */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

struct twi_conf {
  _Atomic int refs;
  config_t cfg;
  char *path;
  char *include_dir;
};

/* The directory to put before `file` in a message: libconfig names an
 * @include'd file as written (relative to the include directory), which
 * means nothing to someone reading the log from elsewhere. The main file
 * (the first libconfig read) keeps the name it was given. */
static const char *include_prefix(const config_t *cfg, const char *file) {
  if (!cfg || !cfg->include_dir || !file || file[0] == '/' ||
      (cfg->num_filenames > 0 && strcmp(cfg->filenames[0], file) == 0))
    return "";
  return cfg->include_dir;
}

const char *twi_setting_where(const config_setting_t *s, char *buf, size_t len) {
  const char *file = s ? config_setting_source_file(s) : NULL;
  unsigned line = s ? config_setting_source_line(s) : 0;
  const char *dir = include_prefix(s ? s->config : NULL, file);
  if (file && line)
    snprintf(buf, len, "%s%s%s:%u", dir, *dir ? "/" : "", file, line);
  else if (file)
    snprintf(buf, len, "%s%s%s", dir, *dir ? "/" : "", file);
  else
    snprintf(buf, len, "<config>");
  return buf;
}

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

/* Text quoted in a message, with line breaks and other control bytes
 * escaped (a message is one log line) and at most 100 bytes shown. */
static const char *quoted(const char *s, size_t n, char *buf, size_t len) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 8 < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (i == 100) {
      o += (size_t)snprintf(buf + o, len - o, "...");
      break;
    }
    if (c == '\n' || c == '\r' || c == '\t')
      o += (size_t)snprintf(buf + o, len - o, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
    else if (c < 0x20 || c == 0x7f)
      o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
    else
      buf[o++] = (char)c;
  }
  buf[o] = '\0';
  return buf;
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
    char q1[160], q2[160];
    if (!close) {
      snprintf(err, errlen, "\"${\" without a closing \"}\" in \"%s\" (write $${ for a literal ${)",
               quoted(in, strlen(in), q1, sizeof q1));
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
      snprintf(err, errlen, "bad variable reference \"%s\" in \"%s\"",
               quoted(d, (size_t)(close - d + 1), q1, sizeof q1),
               quoted(in, strlen(in), q2, sizeof q2));
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
      quoted(var, vlen, q1, sizeof q1);
      snprintf(err, errlen,
               "environment variable %s is not set; set it or give a default with ${%s:-value}", q1,
               q1);
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

/* Walks the tree substituting in every string (values and array/list
 * elements alike). */
static int subst_tree(config_setting_t *s, char *err, size_t errlen) {
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
    int rc = subst_tree(config_setting_get_elem(s, (unsigned)i), err, errlen);
    if (rc)
      return rc;
  }
  return 0;
}

static twi_conf *conf_new(const char *name, const char *include_dir) {
  twi_conf *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  atomic_init(&c->refs, 1);
  config_init(&c->cfg);
  c->path = strdup(name);
  c->include_dir = include_dir ? strdup(include_dir) : NULL;
  if (!c->path || (include_dir && !c->include_dir)) {
    twi_conf_unref(c);
    return NULL;
  }
  if (c->include_dir)
    config_set_include_dir(&c->cfg, c->include_dir);
  return c;
}

static twi_conf *finish(twi_conf *c, int ok, char *err, size_t errlen) {
  if (!ok) {
    const char *file = config_error_file(&c->cfg);
    if (config_error_type(&c->cfg) == CONFIG_ERR_FILE_IO)
      snprintf(err, errlen, "%s: cannot read the file: %s", c->path, strerror(errno));
    else if (file && *include_prefix(&c->cfg, file))
      snprintf(err, errlen, "%s/%s:%d: %s", c->include_dir, file, config_error_line(&c->cfg),
               config_error_text(&c->cfg));
    else
      snprintf(err, errlen, "%s:%d: %s", file ? file : c->path, config_error_line(&c->cfg),
               config_error_text(&c->cfg));
    twi_conf_unref(c);
    return NULL;
  }
  if (subst_tree(config_root_setting(&c->cfg), err, errlen)) {
    twi_conf_unref(c);
    return NULL;
  }
  return c;
}

twi_conf *twi_conf_load(const char *path, char *err, size_t errlen) {
  char *copy = strdup(path);
  if (!copy) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  twi_conf *c = conf_new(path, dirname(copy));
  free(copy);
  if (!c) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  errno = 0;
  return finish(c, config_read_file(&c->cfg, path), err, errlen);
}

twi_conf *twi_conf_load_string(const char *text, const char *name, const char *include_dir,
                               char *err, size_t errlen) {
  twi_conf *c = conf_new(name ? name : "<string>", include_dir);
  if (!c) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  return finish(c, config_read_string(&c->cfg, text), err, errlen);
}

twi_conf *twi_conf_ref(twi_conf *c) {
  atomic_fetch_add(&c->refs, 1);
  return c;
}

void twi_conf_unref(twi_conf *c) {
  if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
    return;
  config_destroy(&c->cfg);
  free(c->path);
  free(c->include_dir);
  free(c);
}

config_setting_t *twi_conf_root(const twi_conf *c) {
  return config_root_setting(&c->cfg);
}
const char *twi_conf_path(const twi_conf *c) {
  return c->path;
}
