/* Selectors and modifiers. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_view.h"
#include "select.h"

static const config_setting_t *member(const tower_config *cfg, const char *key) {
  return (const config_setting_t *)(const void *)tower_config_setting(cfg, key);
}

/* Compiles a STRINGS option into globs (NULL when unset). */
static int compile_list(const tower_config *cfg, const char *key, const char *sep_key,
                        twi_globs **out, twi_diag *d) {
  const char *sep = sep_key ? tower_config_string(cfg, sep_key) : NULL, *why;
  int rc = twi_globs_from_config(cfg, key, sep, out, &why);
  if (rc == -EINVAL)
    twi_diag_error(d, member(cfg, key), "option \"%s\": a pattern %s", key, why);
  return rc;
}

/* tagpass = { key = "glob"; other = ["glob", "glob"]; } */
static int compile_tags(const tower_config *cfg, const char *key, twi_tagfilter **out, size_t *n,
                        twi_diag *d) {
  const config_setting_t *s = member(cfg, key);
  *out = NULL;
  *n = 0;
  if (!s)
    return 0;
  if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
    twi_diag_error(d, s, "option \"%s\" must be a group { key = [\"glob\", ...]; }", key);
    return -EINVAL;
  }
  int len = config_setting_length(s);
  *out = calloc(len ? (size_t)len : 1, sizeof **out);
  if (!*out)
    return -ENOMEM;
  for (int i = 0; i < len; i++) {
    const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
    int t = config_setting_type(e);
    int m = t == CONFIG_TYPE_STRING ? 1 : config_setting_length(e);
    const char *pats[256];
    bool ok =
        (t == CONFIG_TYPE_STRING || t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST) && m <= 256;
    for (int j = 0; ok && t != CONFIG_TYPE_STRING && j < m; j++) {
      const config_setting_t *v = config_setting_get_elem(e, (unsigned)j);
      ok = config_setting_type(v) == CONFIG_TYPE_STRING;
      if (ok)
        pats[j] = config_setting_get_string(v);
    }
    if (!ok) {
      twi_diag_error(d, e, "%s.%s must be a string or an array of strings", key,
                     config_setting_name(e));
      return -EINVAL;
    }
    if (t == CONFIG_TYPE_STRING)
      pats[0] = config_setting_get_string(e);
    const char *why;
    twi_tagfilter *f = &(*out)[(*n)++];
    f->key = strdup(config_setting_name(e));
    f->values = twi_globs_new(pats, (size_t)m, NULL, &why);
    if (!f->key || !f->values) {
      twi_diag_error(d, e, "%s.%s: a pattern %s", key, config_setting_name(e),
                     why ? why : "cannot be stored");
      return -EINVAL;
    }
  }
  return 0;
}

int twi_selector_init(twi_selector *s, const tower_config *cfg, twi_diag *d) {
  memset(s, 0, sizeof *s);
  unsigned before = d->errors;
  int rc = 0;
  rc |= compile_list(cfg, "namepass", "namepass_separator", &s->namepass, d);
  rc |= compile_list(cfg, "namedrop", "namedrop_separator", &s->namedrop, d);
  rc |= compile_tags(cfg, "tagpass", &s->tagpass, &s->ntagpass, d);
  rc |= compile_tags(cfg, "tagdrop", &s->tagdrop, &s->ntagdrop, d);
  rc |= compile_list(cfg, "fieldinclude", NULL, &s->fieldinclude, d);
  rc |= compile_list(cfg, "fieldexclude", NULL, &s->fieldexclude, d);
  rc |= compile_list(cfg, "taginclude", NULL, &s->taginclude, d);
  rc |= compile_list(cfg, "tagexclude", NULL, &s->tagexclude, d);
  if (rc || d->errors != before) {
    if (d->errors == before)
      twi_diag_error(d, NULL, "out of memory compiling selectors");
    twi_selector_free(s);
    return -EINVAL;
  }
  return 0;
}

static void free_tags(twi_tagfilter *f, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(f[i].key);
    twi_globs_free(f[i].values);
  }
  free(f);
}

void twi_selector_free(twi_selector *s) {
  twi_globs_free(s->namepass);
  twi_globs_free(s->namedrop);
  free_tags(s->tagpass, s->ntagpass);
  free_tags(s->tagdrop, s->ntagdrop);
  twi_globs_free(s->fieldinclude);
  twi_globs_free(s->fieldexclude);
  twi_globs_free(s->taginclude);
  twi_globs_free(s->tagexclude);
  memset(s, 0, sizeof *s);
}

/* Any filter's key present on the metric with a matching value. */
static bool tags_match(const twi_tagfilter *f, size_t n, const tower_metric *m) {
  for (size_t i = 0; i < n; i++) {
    const char *v = tower_metric_tag(m, f[i].key);
    if (v && twi_globs_match(f[i].values, v))
      return true;
  }
  return false;
}

bool twi_selector_select(const twi_selector *s, const tower_metric *m) {
  const char *name = tower_metric_name(m);
  if (s->namepass && !twi_globs_match(s->namepass, name))
    return false;
  if (s->namedrop && twi_globs_match(s->namedrop, name))
    return false;
  if (s->tagpass && !tags_match(s->tagpass, s->ntagpass, m))
    return false;
  if (s->tagdrop && tags_match(s->tagdrop, s->ntagdrop, m))
    return false;
  return true;
}

bool twi_selector_modifies(const twi_selector *s) {
  return s->fieldinclude || s->fieldexclude || s->taginclude || s->tagexclude;
}

static bool keep(const twi_globs *include, const twi_globs *exclude, const char *key) {
  if (include && !twi_globs_match(include, key))
    return false;
  return !(exclude && twi_globs_match(exclude, key));
}

bool twi_selector_would_modify(const twi_selector *s, const tower_metric *m) {
  if (!twi_selector_modifies(s))
    return false;
  for (size_t i = 0; i < tower_metric_field_count(m); i++)
    if (!keep(s->fieldinclude, s->fieldexclude, tower_metric_field_key(m, i)))
      return true;
  for (size_t i = 0; i < tower_metric_tag_count(m); i++)
    if (!keep(s->taginclude, s->tagexclude, tower_metric_tag_key(m, i)))
      return true;
  return false;
}

bool twi_selector_modify(const twi_selector *s, tower_metric *m) {
  if (!twi_selector_modifies(s))
    return tower_metric_field_count(m) > 0;
  /* Walk backwards so removals do not shift what is still to be seen. */
  for (size_t i = tower_metric_field_count(m); i-- > 0;) {
    const char *k = tower_metric_field_key(m, i);
    if (!keep(s->fieldinclude, s->fieldexclude, k))
      tower_metric_remove_field(m, k);
  }
  for (size_t i = tower_metric_tag_count(m); i-- > 0;) {
    const char *k = tower_metric_tag_key(m, i);
    if (!keep(s->taginclude, s->tagexclude, k))
      tower_metric_remove_tag(m, k);
  }
  return tower_metric_field_count(m) > 0;
}
