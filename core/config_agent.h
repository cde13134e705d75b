/* The agent settings: the agent block and global_tags, resolved, from a
 * configuration of one or several files (config_agent.c). */
#ifndef TOWER_CONFIG_AGENT_H
#define TOWER_CONFIG_AGENT_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "diag.h"

/* The agent block, resolved. */
typedef struct twi_settings {
  int64_t interval, precision, jitter, offset;
  bool round_interval;
  int64_t flush_interval, flush_jitter;
  int64_t batch_size, buffer_limit;
  int64_t shutdown_timeout, backoff_min, backoff_max;
  char *hostname; /* NULL when omit_hostname */
  int log_level;
  char *logfile;
  char *plugin_dir;
  char *buffer_directory; /* resolved: never empty */
  size_t nglobal;
  char **global_keys, **global_values;
} twi_settings;

/* Reads agent and global_tags from one root. Problems go to d. */
int twi_settings_load(twi_settings *s, const config_setting_t *root, twi_diag *d);
void twi_settings_free(twi_settings *s);

/* Reads agent and global_tags from the files of `conf` given to tower (not
 * the drop-in ones): a later file overrides, setting by setting, what an
 * earlier one set, with a warning that names both places. Problems go to
 * d; the settings are usable either way (defaults where a block is
 * invalid) unless -ENOMEM. */
int twi_settings_load_conf(twi_settings *s, const twi_conf *conf, twi_diag *d);

#endif
