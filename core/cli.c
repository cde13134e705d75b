/* Parsing the tower command line (see cli.h).
 *
 * getopt_long parses the options before the first word, then, when that
 * word is a subcommand, the options after it. Each option records where it
 * was seen, so that one that does not apply to the command in the end
 * (tower --test plugins) is an error naming both, instead of being ignored.
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "cli.h"

enum {
  OPT_TEST = 256,
  OPT_ONCE,
  OPT_TEST_WAIT,
  OPT_CHECK,
  OPT_PLUGIN_DIR,
  OPT_LOG,
  OPT_PID,
  OPT_CONFIG_DIR,
};

static const struct option long_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"config-directory", required_argument, NULL, OPT_CONFIG_DIR},
    {"test", no_argument, NULL, OPT_TEST},
    {"once", no_argument, NULL, OPT_ONCE},
    {"test-wait", required_argument, NULL, OPT_TEST_WAIT},
    {"config-check", no_argument, NULL, OPT_CHECK},
    {"plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR},
    {"log-level", required_argument, NULL, OPT_LOG},
    {"pidfile", required_argument, NULL, OPT_PID},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void usage_run(FILE *f) {
  fprintf(f,
          "Usage: tower [OPTIONS]                  run the agent\n"
          "       tower plugins                    list the plugins that can be loaded\n"
          "       tower sample-config [PLUGIN...]  print a commented configuration; PLUGIN is\n"
          "                                        kind.name (inputs.cpu); none: every plugin\n"
          "       tower import-telegraf FILE|DIR...\n"
          "                                        print the tower configuration of a Telegraf\n"
          "                                        one (telegraf.conf, telegraf.d)\n"
          "  (tower COMMAND --help: that command's options)\n"
          "\n"
          "Options:\n"
          "  -c, --config FILE      configuration file (default %s); may be\n"
          "                         given several times: all are read, in order\n"
          "      --config-directory DIR\n"
          "                         also read every DIR/*.conf, in name order\n"
          "      --test             gather once and print line protocol to stdout; outputs\n"
          "                         are not written and no source is acknowledged\n"
          "      --once             gather once, write to the outputs and exit; the exit\n"
          "                         status is 1 when a metric could not be written\n"
          "      --test-wait DUR    how long service inputs run in --test/--once (default 0s)\n"
          "      --config-check     check the configuration and the plugins, then exit\n"
          "      --plugin-dir DIR   where plugins are found (default %s;\n"
          "                         also TOWER_PLUGIN_DIR)\n"
          "      --log-level LEVEL  error, warn, info, debug or trace\n"
          "      --pidfile FILE     write the process id to FILE and lock it\n"
          "  -V, --version          print the version\n"
          "  -h, --help             this help\n"
          "\n"
          "--test, --once and --config-check exclude each other.\n"
          "Signals: SIGHUP reloads the configuration, SIGUSR1 flushes the outputs now,\n"
          "SIGTERM/SIGINT stop after a final flush. See tower(1) and tower.conf(5).\n",
          TOWER_DEFAULT_CONFIG, TOWER_DEFAULT_PLUGIN_DIR);
}

static void usage_plugins(FILE *f) {
  fprintf(f,
          "Usage: tower plugins [--plugin-dir DIR]\n"
          "\n"
          "Lists every plugin found in the plugin path (default %s; also\n"
          "TOWER_PLUGIN_DIR) with its kind, name, version and description; files that\n"
          "cannot be loaded are listed with the reason, and the exit status is then 1.\n",
          TOWER_DEFAULT_PLUGIN_DIR);
}

static void usage_sample(FILE *f) {
  fprintf(f, "Usage: tower sample-config [--plugin-dir DIR] [kind.name...]\n"
             "\n"
             "Prints a commented configuration generated from the plugins' option tables:\n"
             "the agent block and a block for each plugin named (inputs.cpu outputs.csv ...)\n"
             "with every option and its default. Without names, every plugin found is\n"
             "printed commented out. Example: tower sample-config inputs.cpu outputs.csv\n");
}

typedef void (*usage_fn)(FILE *);

static const struct {
  const char *name;
  twi_cli_command command;
  usage_fn usage;
} commands[] = {
    {"plugins", TWI_CLI_PLUGINS, usage_plugins},
    {"sample-config", TWI_CLI_SAMPLE, usage_sample},
    {"import-telegraf", TWI_CLI_IMPORT, NULL}, /* the tool prints its own help */
};

/* One line naming the problem and where to read more; exit status 2. */
static void usage_error(twi_cli *c, const char *help, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void usage_error(twi_cli *c, const char *help, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("tower: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "; try %s --help\n", help);
  c->command = TWI_CLI_EXIT;
  c->exit_status = 2;
}

/* Options that only make sense for running the agent, as the user wrote
 * them, so that a subcommand can name the one that does not apply. */
typedef struct seen {
  const char *run_only; /* the first of them */
  const char *mode;     /* --test, --once or --config-check */
} seen;

static void set_mode(twi_cli *c, seen *s, const char *flag, twi_mode mode, bool check) {
  if (s->mode && strcmp(s->mode, flag) != 0) {
    usage_error(c, "tower", "%s and %s cannot be used together", s->mode, flag);
    return;
  }
  s->mode = flag;
  c->agent.mode = mode;
  c->agent.config_check = check;
}

static void add_config(twi_cli *c, const char *value) {
  if (c->nconfigs == TWI_CLI_MAX_CONFIGS) {
    usage_error(c, "tower", "more than %d --config options", TWI_CLI_MAX_CONFIGS);
    return;
  }
  c->configs[c->nconfigs++] = value;
}

/* Applies one option (`written` as the user wrote it); returns false after a
 * usage error or an early exit. */
static bool apply(twi_cli *c, seen *s, int opt, const char *help, const char *written) {
  const char *arg = optarg;
  const char *run_only = NULL;
  switch (opt) {
  case 'c':
    add_config(c, arg);
    run_only = "--config";
    break;
  case OPT_CONFIG_DIR:
    if (c->agent.config_dir && strcmp(c->agent.config_dir, arg) != 0)
      usage_error(c, "tower", "--config-directory given twice (%s, %s): give one",
                  c->agent.config_dir, arg);
    c->agent.config_dir = arg;
    run_only = "--config-directory";
    break;
  case OPT_TEST:
    set_mode(c, s, "--test", TWI_TEST, false);
    run_only = "--test";
    break;
  case OPT_ONCE:
    set_mode(c, s, "--once", TWI_ONCE, false);
    run_only = "--once";
    break;
  case OPT_CHECK:
    set_mode(c, s, "--config-check", TWI_RUN, true);
    run_only = "--config-check";
    break;
  case OPT_TEST_WAIT:
    if (tower_parse_duration(arg, &c->agent.test_wait))
      usage_error(c, help, "--test-wait \"%s\" is not a duration such as \"5s\"", arg);
    run_only = "--test-wait";
    break;
  case OPT_PLUGIN_DIR:
    c->plugin_dir = arg;
    break;
  case OPT_LOG:
    if ((c->agent.log_level = twi_log_parse_level(arg)) < 0)
      usage_error(c, help, "--log-level \"%s\": use error, warn, info, debug or trace", arg);
    run_only = "--log-level";
    break;
  case OPT_PID:
    c->agent.pidfile = arg;
    run_only = "--pidfile";
    break;
  case 'V':
    printf("tower %s (plugin ABI %d.%d)\n", tower_version(), TOWER_ABI_MAJOR, TOWER_ABI_MINOR);
    c->command = TWI_CLI_EXIT;
    return false;
  default: /* '?': unknown option or missing argument */
    if (optopt == 'c')
      usage_error(c, help, "%s needs a value", written);
    else if (optopt && optopt < 256)
      usage_error(c, help, "unknown option -%c", optopt);
    else if (optopt)
      usage_error(c, help, "%s needs a value", written);
    else
      usage_error(c, help, "unknown option %s", written);
    return false;
  }
  if (run_only && !s->run_only)
    s->run_only = run_only;
  return c->command != TWI_CLI_EXIT;
}

/* Parses options from argv[optind] up to the first word (or the end).
 * Returns false when parsing must stop (help, version, error). */
static bool parse_opts(twi_cli *c, seen *s, int argc, char **argv, const char *help,
                       usage_fn usage) {
  int opt;
  opterr = 0;
  for (;;) {
    int at = optind;
    optopt = 0;
    if ((opt = getopt_long(argc, argv, "+c:Vh", long_opts, NULL)) == -1)
      return true;
    if (opt == 'h') {
      usage(stdout);
      c->command = TWI_CLI_EXIT;
      return false;
    }
    if (!apply(c, s, opt, help, argv[at < argc ? at : argc - 1]))
      return false;
  }
}

static int find_command(const char *word) {
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (strcmp(word, commands[i].name) == 0)
      return (int)i;
  return -1;
}

/* After a subcommand: its options, then (sample-config only) names. */
static void parse_command(twi_cli *c, seen *s, int argc, char **argv, int k) {
  char help[64];
  snprintf(help, sizeof help, "tower %s", commands[k].name);
  c->command = commands[k].command;
  for (;;) {
    if (!parse_opts(c, s, argc, argv, help, commands[k].usage))
      return;
    if (optind >= argc)
      break;
    if (c->command != TWI_CLI_SAMPLE || c->nnames == TWI_CLI_MAX_CONFIGS) {
      usage_error(c, help, "unexpected argument \"%s\"", argv[optind]);
      return;
    }
    c->names[c->nnames++] = argv[optind++];
  }
  if (s->run_only)
    usage_error(c, help, "%s does not apply to the %s command", s->run_only, commands[k].name);
}

/* import-telegraf is another program (tower-import-telegraf): the words
 * after the command are its own, passed on as they are. */
static void parse_import(twi_cli *c, const seen *s, char **rest) {
  if (s->run_only) {
    usage_error(c, "tower", "%s does not apply to the import-telegraf command", s->run_only);
    return;
  }
  c->command = TWI_CLI_IMPORT;
  c->args = rest;
}

void twi_cli_parse(twi_cli *c, int argc, char **argv) {
  memset(c, 0, sizeof *c);
  c->agent.log_level = -1;
  c->agent.mode = TWI_RUN;
  seen s = {0};
  optind = 1;
  if (!parse_opts(c, &s, argc, argv, "tower", usage_run))
    return;
  if (optind < argc) {
    const char *word = argv[optind];
    int k = find_command(word);
    if (k < 0) {
      usage_error(c, "tower",
                  "unknown command \"%s\" (commands: plugins, sample-config, import-telegraf)",
                  word);
      return;
    }
    optind++;
    if (commands[k].command == TWI_CLI_IMPORT) {
      parse_import(c, &s, argv + optind);
      return;
    }
    parse_command(c, &s, argc, argv, k);
  } else {
    c->command = TWI_CLI_RUN;
  }
  const char *env = getenv("TOWER_PLUGIN_DIR");
  if (!c->plugin_dir && env && *env)
    c->plugin_dir = env;
  c->agent.plugin_dir = c->plugin_dir;
  /* The first --config is the main file; the others load after it. */
  c->agent.config_path = c->nconfigs ? c->configs[0] : TOWER_DEFAULT_CONFIG;
  c->agent.extra_configs = c->nconfigs > 1 ? c->configs + 1 : NULL;
}
