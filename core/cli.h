/* The tower command line: what the user asked for, parsed and checked.
 *
 *   tower [OPTIONS]                         run (or --test, --once, --config-check)
 *   tower plugins [--plugin-dir DIR]        list the plugins
 *   tower sample-config [--plugin-dir DIR] [kind.name...]
 *   tower import-telegraf ARGS...           runs tower-import-telegraf ARGS
 *
 * A subcommand's options may come before or after it. A usage error is one
 * line on stderr naming the problem and the help to read, and exit 2.
 */
#ifndef TOWER_CLI_H
#define TOWER_CLI_H

#include "agent.h"

typedef enum twi_cli_command {
  TWI_CLI_RUN,
  TWI_CLI_PLUGINS,
  TWI_CLI_SAMPLE,
  TWI_CLI_IMPORT, /* tower import-telegraf: args are the words after it */
  TWI_CLI_EXIT,   /* done already (--help, --version, a usage error): exit_status */
} twi_cli_command;

#define TWI_CLI_MAX_CONFIGS 64

typedef struct twi_cli {
  twi_cli_command command;
  int exit_status;
  twi_agent_opts agent;
  const char *configs[TWI_CLI_MAX_CONFIGS + 1]; /* --config, in order; NULL-terminated */
  int nconfigs;
  const char *plugin_dir;                 /* --plugin-dir, else TOWER_PLUGIN_DIR, else NULL */
  const char *names[TWI_CLI_MAX_CONFIGS]; /* sample-config's kind.name arguments */
  int nnames;
  char **args; /* import-telegraf: its arguments, as given; NULL-terminated */
} twi_cli;

/* Parses argv. On TWI_CLI_EXIT the output (help, version or the error) is
 * printed already. Strings point into argv. */
void twi_cli_parse(twi_cli *c, int argc, char **argv);

#endif
