/* The tower command line. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "agent.h"
#include "loader.h"
#include "sample.h"

static void usage(FILE *f) {
  fprintf(f,
          "Usage: tower [OPTIONS]                  run the agent\n"
          "       tower plugins                    list the plugins that can be loaded\n"
          "       tower sample-config [PLUGIN...]  print a commented configuration; PLUGIN is\n"
          "                                        kind.name (inputs.cpu); none: every plugin\n"
          "\n"
          "Options:\n"
          "  -c, --config FILE      configuration file (default %s)\n"
          "      --test             gather once and print line protocol to stdout; outputs\n"
          "                         are not written\n"
          "      --once             gather once, write to the outputs and exit; the exit\n"
          "                         status is 1 when a metric could not be written\n"
          "      --test-wait DUR    how long service inputs run in --test/--once (default 0s)\n"
          "      --config-check     check the configuration and the plugins, then exit\n"
          "      --plugin-dir DIR   where plugins are found (default %s;\n"
          "                         also TOWER_PLUGIN_DIR)\n"
          "      --log-level LEVEL  error, warn, info, debug or trace\n"
          "      --pidfile FILE     write the process id to FILE\n"
          "  -V, --version          print the version\n"
          "  -h, --help             this help\n"
          "\n"
          "Signals: SIGHUP reloads the configuration, SIGUSR1 flushes the outputs now,\n"
          "SIGTERM/SIGINT stop after a final flush. See tower(1) and tower.conf(5).\n",
          TOWER_DEFAULT_CONFIG, TOWER_DEFAULT_PLUGIN_DIR);
}

static const char *plugin_dir(const char *cli) {
  if (cli)
    return cli;
  const char *env = getenv("TOWER_PLUGIN_DIR");
  return env && *env ? env : NULL;
}

/* ---- tower plugins ---- */

typedef struct {
  int failures;
} list_state;

static void print_plugin(void *ud, tower_plugin_kind kind, const char *path, const twi_plugin *p,
                         const char *err) {
  list_state *st = ud;
  if (!p) {
    printf("%-10s %-18s %-9s %s\n", twi_kind_word(kind), "(failed)", "-", err);
    st->failures++;
    return;
  }
  (void)path;
  printf("%-10s %-18s %-9s %s\n", twi_kind_word(kind), p->desc.name,
         p->desc.version ? p->desc.version : "-", p->desc.description ? p->desc.description : "");
}

static int cmd_plugins(const char *dir) {
  list_state st = {0};
  printf("%-10s %-18s %-9s %s\n", "KIND", "NAME", "VERSION", "DESCRIPTION");
  if (twi_plugins_scan(dir, print_plugin, &st)) {
    fprintf(stderr, "tower: plugin directory %s does not exist (set --plugin-dir)\n", dir);
    return 1;
  }
  return st.failures ? 1 : 0;
}

/* ---- tower sample-config ---- */

typedef struct {
  tower_plugin_kind kind;
  int count;
} sample_state;

static void sample_visit(void *ud, tower_plugin_kind kind, const char *path, const twi_plugin *p,
                         const char *err) {
  sample_state *st = ud;
  (void)path;
  if (kind != st->kind)
    return;
  if (!p) {
    fprintf(stderr, "tower: skipping a plugin: %s\n", err);
    return;
  }
  if (st->count++)
    fputs("\n", stdout); /* commented blocks need no separating comma */
  twi_sample_plugin(stdout, p, false);
  fputs("\n", stdout);
}

static int sample_all(const char *dir) {
  twi_sample_header(stdout);
  twi_sample_agent(stdout);
  puts("\n# Every plugin found in the plugin directory, commented out: uncomment the\n"
       "# blocks you want (separate blocks with commas).");
  for (int k = TOWER_INPUT; k <= TOWER_OUTPUT; k++) {
    sample_state st = {(tower_plugin_kind)k, 0};
    printf("\n%s = (\n", twi_kind_dir(st.kind));
    twi_plugins_scan(dir, sample_visit, &st);
    puts(");");
  }
  return 0;
}

static int cmd_sample(const char *dir, int argc, char **argv) {
  if (argc == 0)
    return sample_all(dir);
  const twi_plugin *found[64];
  int n = 0;
  for (int i = 0; i < argc && n < 64; i++) {
    char kind_s[32], err[2048];
    const char *dot = strchr(argv[i], '.');
    if (!dot || (size_t)(dot - argv[i]) >= sizeof kind_s) {
      fprintf(stderr, "tower: \"%s\" is not kind.name (for example inputs.cpu)\n", argv[i]);
      return 2;
    }
    snprintf(kind_s, sizeof kind_s, "%.*s", (int)(dot - argv[i]), argv[i]);
    tower_plugin_kind kind = twi_kind_parse(kind_s);
    if (!kind || twi_plugin_get(dir, kind, dot + 1, &found[n], err, sizeof err)) {
      fprintf(stderr, "tower: %s\n", kind ? err : "kind must be inputs, processors or outputs");
      return 1;
    }
    n++;
  }
  twi_sample_header(stdout);
  twi_sample_agent(stdout);
  for (int k = TOWER_INPUT; k <= TOWER_OUTPUT; k++) {
    int shown = 0;
    for (int i = 0; i < n; i++) {
      if (found[i]->desc.kind != (uint32_t)k)
        continue;
      printf(shown++ ? ",\n" : "\n%s = (\n", twi_kind_dir((tower_plugin_kind)k));
      twi_sample_plugin(stdout, found[i], true);
    }
    if (shown)
      puts("\n);");
  }
  return 0;
}

/* ---- options ---- */

enum { OPT_TEST = 256, OPT_ONCE, OPT_TEST_WAIT, OPT_CHECK, OPT_PLUGIN_DIR, OPT_LOG, OPT_PID };

static const struct option long_opts[] = {
    {"config", required_argument, NULL, 'c'},
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

static int parse_options(int argc, char **argv, twi_agent_opts *o, const char **cli_dir) {
  int c;
  while ((c = getopt_long(argc, argv, "+c:Vh", long_opts, NULL)) != -1) {
    switch (c) {
    case 'c':
      o->config_path = optarg;
      break;
    case OPT_TEST:
      o->mode = TWI_TEST;
      break;
    case OPT_ONCE:
      o->mode = TWI_ONCE;
      break;
    case OPT_TEST_WAIT:
      if (tower_parse_duration(optarg, &o->test_wait)) {
        fprintf(stderr, "tower: --test-wait \"%s\" is not a duration such as \"5s\"\n", optarg);
        return 2;
      }
      break;
    case OPT_CHECK:
      o->config_check = true;
      break;
    case OPT_PLUGIN_DIR:
      *cli_dir = optarg;
      break;
    case OPT_LOG:
      if ((o->log_level = twi_log_parse_level(optarg)) < 0) {
        fprintf(stderr, "tower: --log-level must be error, warn, info, debug or trace\n");
        return 2;
      }
      break;
    case OPT_PID:
      o->pidfile = optarg;
      break;
    case 'V':
      printf("tower %s (plugin ABI %d.%d)\n", tower_version(), TOWER_ABI_MAJOR, TOWER_ABI_MINOR);
      return 0;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  return -1;
}

int main(int argc, char **argv) {
  twi_agent_opts o = {.config_path = TOWER_DEFAULT_CONFIG, .log_level = -1, .mode = TWI_RUN};
  const char *cli_dir = NULL;
  int rc = parse_options(argc, argv, &o, &cli_dir);
  if (rc >= 0)
    return rc;
  o.plugin_dir = plugin_dir(cli_dir);
  const char *dir = o.plugin_dir ? o.plugin_dir : TOWER_DEFAULT_PLUGIN_DIR;
  if (optind < argc) {
    const char *cmd = argv[optind];
    if (strcmp(cmd, "plugins") == 0)
      rc = cmd_plugins(dir);
    else if (strcmp(cmd, "sample-config") == 0)
      rc = cmd_sample(dir, argc - optind - 1, argv + optind + 1);
    else {
      fprintf(stderr, "tower: unknown command \"%s\" (plugins, sample-config)\n", cmd);
      usage(stderr);
      rc = 2;
    }
  } else {
    rc = twi_agent_main(&o);
  }
  twi_plugins_unload();
  return rc;
}
