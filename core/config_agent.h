/* The agent settings of a configuration of several files (twi_settings,
 * twi_settings_load and twi_settings_free are declared in pipeline.h). */
#ifndef TOWER_CONFIG_AGENT_H
#define TOWER_CONFIG_AGENT_H

#include "conf.h"
#include "diag.h"
#include "pipeline.h"

/* Reads agent and global_tags from the files of `conf` given to tower (not
 * the drop-in ones): a later file overrides, setting by setting, what an
 * earlier one set, with a warning that names both places. Problems go to
 * d; the settings are usable either way (defaults where a block is
 * invalid) unless -ENOMEM. */
int twi_settings_load_conf(twi_settings *s, const twi_conf *conf, twi_diag *d);

#endif
