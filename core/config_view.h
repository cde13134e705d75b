/* tower_config: a validated view of one config block. */
#ifndef TOWER_CONFIG_VIEW_H
#define TOWER_CONFIG_VIEW_H

#include <libconfig.h>

#include <tower/config.h>
#include <tower/log.h>
#include <tower/option.h>

#include "diag.h"

#define TWI_MAX_TABLES 6

/* Validates `block` (a group) against `tables` (NULL-terminated, at most
 * TWI_MAX_TABLES; searched in order, the first is the plugin's own and is the
 * one listed in "valid options" messages). `what` names the block in messages
 * ("inputs.cpu"). Keys in `ignore` (NULL-terminated, may be NULL) are
 * skipped (the "plugin" key). Every problem goes to `d`; returns NULL when
 * there was any. The view points into the block: keep the tree alive. */
tower_config *twi_config_new(const config_setting_t *block, const tower_option *const *tables,
                             const char *what, const char *const *ignore, twi_diag *d);

/* What a layer above adds to the validation of a block without the config
 * layer knowing it (the data formats: format_options.h). */
typedef struct twi_block_rules {
  /* Text added to the valid options of an "unknown option" message. */
  void (*valid_options)(const tower_option *const *tables, const config_setting_t *block, char *buf,
                        size_t len);
  /* Problems of the block as a whole (an option with no effect). */
  void (*check_block)(const tower_option *const *tables, const config_setting_t *block,
                      const char *what, twi_diag *d);
} twi_block_rules;

/* twi_config_new, with `rules` (may be NULL) applied too. */
tower_config *twi_config_new_ruled(const config_setting_t *block, const tower_option *const *tables,
                                   const char *what, const char *const *ignore,
                                   const twi_block_rules *rules, twi_diag *d);
void twi_config_free(tower_config *c);

const config_setting_t *twi_config_block(const tower_config *c);
/* Sets the instance whose log lines tower_config_error() writes. */
void twi_config_set_ctx(tower_config *c, const tower_ctx *ctx);

/* Canonical text of the block (group members sorted), malloc'd: equal
 * texts mean equal configuration. */
char *twi_config_fingerprint(const tower_config *c);
/* The same, leaving out the block's top-level settings named in `skip`
 * (NULL-terminated): those a reload applies in place. */
char *twi_config_fingerprint_except(const tower_config *c, const char *const *skip);

/* Closest name to `key` among the tables (NULL when nothing is close). */
const char *twi_options_suggest(const tower_option *const *tables, const char *key);

#endif
