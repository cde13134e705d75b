/* The block's choices that need more than a getter: the namespaces, the
 * statistics (statistic_include minus statistic_exclude, in the block and
 * per `metrics` group) and the `metrics` groups with their dimensions.
 * Mistakes are configuration errors that name file:line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudwatch.h"

const char *const cw_stat_field[CW_NSTATS] = {"average", "maximum", "minimum", "sample_count",
                                              "sum"};
const char *const cw_stat_api[CW_NSTATS] = {"Average", "Maximum", "Minimum", "SampleCount", "Sum"};

static int stat_index(const char *name) {
  for (int i = 0; i < CW_NSTATS; i++)
    if (strcmp(name, cw_stat_field[i]) == 0)
      return i;
  return -1;
}

/* Bits of the statistics a list names; -1 after a configuration error. */
static int stat_bits(const tower_config *cfg, const char *key, unsigned *out) {
  size_t n = tower_config_strings_len(cfg, key);
  *out = 0;
  for (size_t i = 0; i < n; i++) {
    const char *v = tower_config_strings_at(cfg, key, i);
    int k = stat_index(v);
    if (k < 0)
      return tower_config_error(cfg, tower_config_setting(cfg, key),
                                "unknown statistic \"%s\" in %s: use average, maximum, minimum, "
                                "sample_count or sum",
                                v, key);
    *out |= 1u << k;
  }
  return 0;
}

/* statistic_include (default: `inherit`) minus statistic_exclude. */
static int stats_of(const tower_config *cfg, unsigned inherit, unsigned *out) {
  unsigned inc = inherit, exc = 0;
  int rc = 0;
  if (tower_config_isset(cfg, "statistic_include"))
    rc = stat_bits(cfg, "statistic_include", &inc);
  if (rc == 0)
    rc = stat_bits(cfg, "statistic_exclude", &exc);
  *out = inc & ~exc;
  if (rc == 0 && !*out)
    rc = tower_config_error(cfg, tower_config_setting(cfg, "statistic_exclude"),
                            "no statistic left to query: statistic_include minus "
                            "statistic_exclude is empty");
  return rc < 0 ? rc : 0;
}

static int load_dims(const tower_config *cfg, cw_filter *f) {
  const tower_setting *list = tower_config_setting(cfg, "dimensions");
  f->ndims = list ? tower_setting_len(list) : 0;
  if (f->ndims && !(f->dims = calloc(f->ndims, sizeof *f->dims)))
    return -ENOMEM;
  for (size_t i = 0; i < f->ndims; i++) {
    const tower_config *d = tower_setting_config(tower_setting_at(list, i));
    const char *name = tower_config_string(d, "name"), *value = tower_config_string(d, "value");
    f->dims[i].name = strdup(name);
    f->dims[i].value = strdup(value ? value : "*");
    if (!f->dims[i].name || !f->dims[i].value)
      return -ENOMEM;
    f->wildcard |= strpbrk(f->dims[i].value, "*?[") != NULL;
  }
  return 0;
}

static int load_filter(cw_state *s, const tower_config *g, cw_filter *f) {
  f->nnames = tower_config_strings_len(g, "names");
  if (f->nnames && !(f->names = calloc(f->nnames, sizeof *f->names)))
    return -ENOMEM;
  for (size_t i = 0; i < f->nnames; i++)
    f->names[i] = tower_config_strings_at(g, "names", i);
  int rc = stats_of(g, s->stats, &f->stats);
  return rc ? rc : load_dims(g, f);
}

static int load_filters(cw_state *s, const tower_config *cfg) {
  const tower_setting *list = tower_config_setting(cfg, "metrics");
  s->nfilters = list ? tower_setting_len(list) : 0;
  if (s->nfilters && !(s->filters = calloc(s->nfilters, sizeof *s->filters)))
    return -ENOMEM;
  for (size_t i = 0; i < s->nfilters; i++) {
    int rc = load_filter(s, tower_setting_config(tower_setting_at(list, i)), &s->filters[i]);
    if (rc)
      return rc;
  }
  return 0;
}

/* namespaces, or Telegraf's older single `namespace`. */
static int load_namespaces(cw_state *s, const tower_config *cfg) {
  size_t n = tower_config_strings_len(cfg, "namespaces");
  const char *one = tower_config_string(cfg, "namespace");
  s->nns = n ? n : one && *one ? 1 : 0;
  if (!s->nns)
    return tower_config_error(cfg, NULL,
                              "no namespace to read: set namespaces = [\"AWS/EC2\"]; (or "
                              "namespace)");
  s->namespaces = calloc(s->nns, sizeof *s->namespaces);
  s->measurements = calloc(s->nns, sizeof *s->measurements);
  if (!s->namespaces || !s->measurements)
    return -ENOMEM;
  for (size_t i = 0; i < s->nns; i++) {
    s->namespaces[i] = n ? tower_config_strings_at(cfg, "namespaces", i) : one;
    char *snake = cw_snake(s->namespaces[i]);
    size_t len = snake ? strlen(snake) + sizeof "cloudwatch_" : 0;
    if (!snake || !(s->measurements[i] = malloc(len))) {
      free(snake);
      return -ENOMEM;
    }
    snprintf(s->measurements[i], len, "cloudwatch_%s", snake);
    free(snake);
  }
  return 0;
}

int cw_config_load(cw_state *s, const tower_config *cfg) {
  int rc = load_namespaces(s, cfg);
  if (rc == 0)
    rc = stats_of(cfg, (1u << CW_NSTATS) - 1, &s->stats);
  if (rc == 0)
    rc = load_filters(s, cfg);
  if (rc == 0 && *s->recently_active && strcmp(s->recently_active, "PT3H") != 0)
    rc = tower_config_error(cfg, tower_config_setting(cfg, "recently_active"),
                            "recently_active = \"%s\": CloudWatch takes only \"PT3H\"; use \"\" "
                            "to list every metric",
                            s->recently_active);
  if (rc == 0 && s->period_ns % NS_PER_S != 0)
    rc = tower_config_error(cfg, tower_config_setting(cfg, "period"),
                            "period must be whole seconds (CloudWatch periods are 1, 5, 10, 30 "
                            "or a multiple of 60 seconds)");
  return rc;
}

void cw_config_free(cw_state *s) {
  for (size_t i = 0; i < s->nfilters; i++) {
    for (size_t k = 0; k < s->filters[i].ndims; k++) {
      free(s->filters[i].dims[k].name);
      free(s->filters[i].dims[k].value);
    }
    free(s->filters[i].dims);
    free(s->filters[i].names);
  }
  free(s->filters);
  for (size_t i = 0; s->measurements && i < s->nns; i++)
    free(s->measurements[i]);
  free(s->measurements);
  free(s->namespaces);
}
