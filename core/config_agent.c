/* The agent settings and global tags of a configuration.
 *
 * Several files given to tower may each set agent and global_tags: as
 * Telegraf does with several --config files, a later file overrides what an
 * earlier one set, setting by setting (and tag by tag), and keeps the rest.
 * Tower says so: each override is a warning that names both places, so
 * that two files disagreeing is never a surprise.
 *
 * An invalid agent block reads as the defaults (but its plugin_dir, when
 * that is a string, so the plugins are looked for where it says), so that
 * the errors of the plugin blocks are reported in the same pass. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_agent.h"
#include "config_view.h"
#include "log_internal.h"
#include "options.h"

/* The agent blocks, one view each (NULL: absent or invalid), and a view of
 * the defaults. */
typedef struct agents {
  const config_setting_t **blocks;
  tower_config **views;
  size_t n;
  tower_config *defaults;
} agents;

static const tower_option *const agent_tables[2] = {twi_agent_options, NULL};

/* The view to read `key` from: the last file that sets it, or the defaults. */
static const tower_config *pick(const agents *a, const char *key) {
  for (size_t i = a->n; i-- > 0;)
    if (a->views[i] && tower_config_isset(a->views[i], key))
      return a->views[i];
  return a->defaults;
}

static void warn_overrides(const agents *a, twi_diag *d) {
  char where[512];
  for (const tower_option *o = twi_agent_options; o->name; o++) {
    const config_setting_t *prev = NULL;
    for (size_t i = 0; i < a->n; i++) {
      const config_setting_t *s =
          a->views[i] ? config_setting_get_member(a->blocks[i], o->name) : NULL;
      if (s && prev)
        twi_diag_warn(d, s,
                      "agent.%s overrides the value set at %s (a later configuration file wins, "
                      "as in Telegraf)",
                      o->name, twi_setting_where(prev, where, sizeof where));
      prev = s ? s : prev;
    }
  }
}

/* The last plugin_dir written as a string, valid block or not. */
static char *raw_plugin_dir(const agents *a) {
  for (size_t i = a->n; i-- > 0;) {
    const char *dir = NULL;
    if (a->blocks[i] && config_setting_is_group(a->blocks[i]) &&
        config_setting_lookup_string(a->blocks[i], "plugin_dir", &dir))
      return strdup(dir);
  }
  return strdup(tower_config_string(a->defaults, "plugin_dir"));
}

static char *system_hostname(void) {
  char buf[256];
  if (gethostname(buf, sizeof buf) != 0)
    return strdup("localhost");
  buf[sizeof buf - 1] = '\0';
  return strdup(buf);
}

#define DURATION(key) tower_config_duration(pick(a, key), key)
#define INT(key) tower_config_int(pick(a, key), key)

static void read_agent(twi_settings *s, const agents *a, twi_diag *d) {
  s->interval = DURATION("interval");
  s->round_interval = tower_config_bool(pick(a, "round_interval"), "round_interval");
  s->jitter = DURATION("collection_jitter");
  s->offset = DURATION("collection_offset");
  s->precision = DURATION("precision");
  s->flush_interval = DURATION("flush_interval");
  s->flush_jitter = DURATION("flush_jitter");
  s->batch_size = INT("metric_batch_size");
  s->buffer_limit = INT("metric_buffer_limit");
  s->shutdown_timeout = DURATION("shutdown_timeout");
  s->backoff_min = DURATION("retry_backoff_min");
  s->backoff_max = DURATION("retry_backoff_max");
  s->log_level = twi_log_parse_level(tower_config_string(pick(a, "log_level"), "log_level"));
  s->logfile = strdup(tower_config_string(pick(a, "logfile"), "logfile"));
  s->plugin_dir = raw_plugin_dir(a);
  const char *bufdir = tower_config_string(pick(a, "buffer_directory"), "buffer_directory");
  s->buffer_directory = strdup(*bufdir ? bufdir : TOWER_DEFAULT_BUFFER_DIR);
  const char *host = tower_config_string(pick(a, "hostname"), "hostname");
  if (!tower_config_bool(pick(a, "omit_hostname"), "omit_hostname"))
    s->hostname = *host ? strdup(host) : system_hostname();
  if (s->backoff_max < s->backoff_min)
    twi_diag_error(d,
                   config_setting_get_member(twi_config_block(pick(a, "retry_backoff_max")),
                                             "retry_backoff_max"),
                   "agent: retry_backoff_max is below retry_backoff_min");
}

/* ---- global tags -------------------------------------------------------- */

/* Adds or overrides one tag; `from` holds where each tag was set. Only the
 * tags of earlier files can have its key (libconfig refuses a key twice in
 * a group): they are the first `earlier`. */
static int add_tag(twi_settings *s, const config_setting_t **from, size_t earlier,
                   const config_setting_t *e, twi_diag *d) {
  const char *key = config_setting_name(e), *v = config_setting_get_string(e);
  char where[512];
  if (!v || !*v) {
    twi_diag_error(d, e, "global_tags.%s must be a non-empty string", key);
    return 0;
  }
  size_t i = 0;
  while (i < earlier && strcmp(s->global_keys[i], key) != 0)
    i++;
  if (i == earlier)
    i = s->nglobal;
  char *value = strdup(v);
  if (!value)
    return -ENOMEM;
  if (i < s->nglobal) {
    twi_diag_warn(d, e,
                  "global_tags.%s overrides the value set at %s (a later configuration file "
                  "wins, as in Telegraf)",
                  key, twi_setting_where(from[i], where, sizeof where));
    free(s->global_values[i]);
  } else if (!(s->global_keys[i] = strdup(key))) {
    free(value);
    return -ENOMEM;
  } else {
    s->nglobal++;
  }
  s->global_values[i] = value;
  from[i] = e;
  return 0;
}

static int read_global_tags(twi_settings *s, const config_setting_t *const *groups, size_t n,
                            twi_diag *d) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++)
    if (groups[i] && config_setting_type(groups[i]) == CONFIG_TYPE_GROUP)
      total += (size_t)config_setting_length(groups[i]);
    else if (groups[i])
      twi_diag_error(d, groups[i], "global_tags must be a group { key = \"value\"; }");
  s->global_keys = calloc(total + 1, sizeof(char *));
  s->global_values = calloc(total + 1, sizeof(char *));
  const config_setting_t **from = calloc(total + 1, sizeof *from);
  int rc = s->global_keys && s->global_values && from ? 0 : -ENOMEM;
  for (size_t i = 0; i < n && rc == 0; i++) {
    size_t earlier = s->nglobal;
    for (int k = 0; groups[i] && config_setting_type(groups[i]) == CONFIG_TYPE_GROUP &&
                    k < config_setting_length(groups[i]) && rc == 0;
         k++)
      rc = add_tag(s, from, earlier, config_setting_get_elem(groups[i], (unsigned)k), d);
  }
  free(from);
  return rc;
}

/* ---- entry points ------------------------------------------------------- */

static int settings_from(twi_settings *s, const config_setting_t *const *roots, size_t n,
                         twi_diag *d) {
  static const config_setting_t empty = {.type = CONFIG_TYPE_GROUP};
  memset(s, 0, sizeof *s);
  twi_diag scratch = {0}; /* the empty block is valid */
  agents a = {calloc(n + 1, sizeof *a.blocks), calloc(n + 1, sizeof *a.views), n,
              twi_config_new(&empty, agent_tables, "agent", NULL, &scratch)};
  const config_setting_t **tags = calloc(n + 1, sizeof *tags);
  twi_diag_free(&scratch);
  int rc = a.blocks && a.views && a.defaults && tags ? 0 : -ENOMEM;
  for (size_t i = 0; i < n && rc == 0; i++) {
    a.blocks[i] = config_setting_get_member(roots[i], "agent");
    a.views[i] = a.blocks[i] ? twi_config_new(a.blocks[i], agent_tables, "agent", NULL, d) : NULL;
    tags[i] = config_setting_get_member(roots[i], "global_tags");
  }
  if (rc == 0) {
    warn_overrides(&a, d);
    read_agent(s, &a, d);
    rc = read_global_tags(s, tags, n, d);
  }
  for (size_t i = 0; a.views && i < n; i++)
    twi_config_free(a.views[i]);
  twi_config_free(a.defaults);
  free(a.views);
  free(a.blocks);
  free(tags);
  if (rc == -ENOMEM || !s->logfile || !s->plugin_dir || !s->buffer_directory) {
    twi_diag_error(d, NULL, "out of memory reading the agent settings");
    return -ENOMEM;
  }
  return 0;
}

int twi_settings_load(twi_settings *s, const config_setting_t *root, twi_diag *d) {
  unsigned before = d->errors;
  int rc = settings_from(s, &root, 1, d);
  return rc ? rc : d->errors != before ? -EINVAL : 0;
}

int twi_settings_load_conf(twi_settings *s, const twi_conf *conf, twi_diag *d) {
  size_t n = 0, files = twi_conf_files(conf);
  const config_setting_t **roots = calloc(files + 1, sizeof *roots);
  if (!roots) {
    memset(s, 0, sizeof *s);
    twi_diag_error(d, NULL, "out of memory reading the agent settings");
    return -ENOMEM;
  }
  for (size_t i = 0; i < files; i++)
    if (!twi_conf_file_is_drop_in(conf, i))
      roots[n++] = twi_conf_file_root(conf, i);
  unsigned before = d->errors;
  int rc = settings_from(s, roots, n, d);
  free(roots);
  return rc ? rc : d->errors != before ? -EINVAL : 0;
}

void twi_settings_free(twi_settings *s) {
  for (size_t i = 0; i < s->nglobal; i++) {
    free(s->global_keys[i]);
    free(s->global_values[i]);
  }
  free(s->global_keys);
  free(s->global_values);
  free(s->hostname);
  free(s->logfile);
  free(s->plugin_dir);
  free(s->buffer_directory);
  memset(s, 0, sizeof *s);
}
