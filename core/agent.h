/* The agent's entry point for the tower command. */
#ifndef TOWER_AGENT_H
#define TOWER_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline.h"

typedef struct twi_agent_opts {
  const char *config_path;
  const char *plugin_dir; /* --plugin-dir or TOWER_PLUGIN_DIR; NULL: from the file */
  const char *pidfile;
  int log_level; /* -1: from the file */
  twi_mode mode;
  bool config_check;
  int64_t test_wait; /* how long service inputs run in --test/--once */

  /* Further --config files (NULL-terminated), and --config-directory, whose
   * *.conf files are drop-ins; both may be NULL. Read again at each reload. */
  const char *const *extra_configs;
  const char *config_dir;
} twi_agent_opts;

/* Runs the agent as the options say; returns the process exit status. */
int twi_agent_main(const twi_agent_opts *o);

#endif
