/* Loading the libconfig file: check and scan the text (conf_scan.c), parse
 * (libconfig reads every @include from the main file's directory), give the
 * integers their written values, then substitute environment variables in
 * every string (conf_env.c). */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_env.h"
#include "conf_scan.h"

struct twi_conf {
  _Atomic int refs;
  config_t cfg;
  char *path;
  char *include_dir;
};

const char *twi_setting_where(const config_setting_t *s, char *buf, size_t len) {
  const char *file = s ? config_setting_source_file(s) : NULL;
  unsigned line = s ? config_setting_source_line(s) : 0;
  if (file && line)
    snprintf(buf, len, "%s:%u", file, line);
  else if (file)
    snprintf(buf, len, "%s", file);
  else
    snprintf(buf, len, "<config>");
  return buf;
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

/* libconfig leaves the file of settings read from a string unnamed: name
 * them after the text, so that every message says where. The struct is
 * public and the name outlives the tree (both belong to c). */
static void name_settings(config_setting_t *s, const char *name) {
  if (!s->file)
    s->file = name;
  int n = config_setting_is_aggregate(s) ? config_setting_length(s) : 0;
  for (int i = 0; i < n; i++)
    name_settings(config_setting_get_elem(s, (unsigned)i), name);
}

static twi_conf *finish(twi_conf *c, const twi_scan *sc, int ok, char *err, size_t errlen) {
  if (!ok) {
    const char *file = config_error_file(&c->cfg);
    const char *explained = twi_syntax_problem(sc->syntax);
    if (config_error_type(&c->cfg) == CONFIG_ERR_FILE_IO)
      snprintf(err, errlen, "%s: cannot read the file: %s", c->path, strerror(errno));
    else if (explained)
      snprintf(err, errlen, "%s", explained);
    else
      snprintf(err, errlen, "%s:%d: %s", file ? file : c->path, config_error_line(&c->cfg),
               config_error_text(&c->cfg));
    twi_conf_unref(c);
    return NULL;
  }
  config_setting_t *root = config_root_setting(&c->cfg);
  name_settings(root, c->path);
  if (twi_scan_fix_integers(sc, root, c->path, err, errlen) ||
      twi_env_subst_tree(root, err, errlen)) {
    twi_conf_unref(c);
    return NULL;
  }
  return c;
}

twi_conf *twi_conf_load(const char *path, char *err, size_t errlen) {
  char *copy = strdup(path);
  twi_conf *c = copy ? conf_new(path, dirname(copy)) : NULL;
  free(copy);
  if (!c) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  twi_scan sc = {.include_dir = c->include_dir, .err = err, .errlen = errlen};
  char *text = NULL;
  size_t len = 0;
  int rc = twi_scan_read(&sc, path, path, &text, &len);
  if (rc == 0)
    rc = twi_scan_text(&sc, path, text, len);
  free(text);
  if (rc == 0) {
    errno = 0;
    c = finish(c, &sc, config_read_file(&c->cfg, path), err, errlen);
  } else {
    twi_conf_unref(c);
    c = NULL;
  }
  twi_scan_free(&sc);
  return c;
}

twi_conf *twi_conf_load_string(const char *text, const char *name, const char *include_dir,
                               char *err, size_t errlen) {
  twi_conf *c = conf_new(name ? name : "<string>", include_dir);
  if (!c) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  twi_scan sc = {
      .include_dir = c->include_dir, .bytes = strlen(text), .err = err, .errlen = errlen};
  int rc = -EFBIG;
  if (sc.bytes > TWI_CONF_MAX_BYTES)
    snprintf(err, errlen, "%s: the text is larger than %u MiB", c->path, TWI_CONF_MAX_BYTES >> 20);
  else
    rc = twi_scan_text(&sc, c->path, text, sc.bytes);
  if (rc == 0) {
    c = finish(c, &sc, config_read_string(&c->cfg, text), err, errlen);
  } else {
    twi_conf_unref(c);
    c = NULL;
  }
  twi_scan_free(&sc);
  return c;
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
