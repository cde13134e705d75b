/* The tower command: the plugins, sample-config and import-telegraf
 * commands, and the dispatch of a parsed command line (cli.c) to them or to
 * the agent. */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tower/tower.h>

#include "agent.h"
#include "cli.h"
#include "loader.h"
#include "sample.h"

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
  for (int k = TOWER_INPUT; k <= TWI_KIND_LAST; k++) {
    sample_state st = {(tower_plugin_kind)k, 0};
    printf("\n%s = (\n", twi_kind_dir(st.kind));
    twi_plugins_scan(dir, sample_visit, &st);
    puts(");");
  }
  return 0;
}

static int cmd_sample(const char *dir, int argc, const char *const *argv) {
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
      fprintf(stderr, "tower: %s\n",
              kind ? err : "kind must be inputs, processors, aggregators or outputs");
      return 1;
    }
    n++;
  }
  twi_sample_header(stdout);
  twi_sample_agent(stdout);
  for (int k = TOWER_INPUT; k <= TWI_KIND_LAST; k++) {
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

/* ---- tower import-telegraf ---- */

/* The converter is a Python program installed next to tower (TOML is read
 * by Python's tomllib; libconfig cannot). It runs in tower's place, so its
 * output and exit status are the command's. TOWER_IMPORT_TELEGRAF names
 * another copy (the build tree's, in the tests). */
static int cmd_import(char **args) {
  const char *env = getenv("TOWER_IMPORT_TELEGRAF");
  const char *prog = env && *env ? env : TOWER_BINDIR "/tower-import-telegraf";
  size_t n = 0;
  while (args[n])
    n++;
  char **argv = calloc(n + 2, sizeof *argv);
  if (!argv) {
    fprintf(stderr, "tower: out of memory\n");
    return 1;
  }
  argv[0] = (char *)prog;
  memcpy(argv + 1, args, n * sizeof *argv);
  fflush(NULL);
  execv(prog, argv);
  int err = errno;
  free(argv);
  if (err == ENOENT && access(prog, F_OK) == 0) /* the #! interpreter is missing */
    fprintf(stderr,
            "tower: cannot run %s: python3 (3.11 or later) is not installed; install the "
            "python3 package (apt-get install python3)\n",
            prog);
  else if (err == ENOENT)
    fprintf(stderr,
            "tower: %s is missing; it is installed with tower (make install), or set "
            "TOWER_IMPORT_TELEGRAF to its path\n",
            prog);
  else
    fprintf(stderr, "tower: cannot run %s: %s\n", prog, strerror(err));
  return 1;
}

/* glibc gives each thread that allocates an arena of its own, up to eight
 * per core, and each keeps the pages it touched. tower runs a thread per
 * input and output that allocates little, and glibc's per-thread cache
 * takes most allocations without the arena lock, so two arenas cost no
 * throughput and save some 20-50 kB per thread (bench/host_vs_collectd.sh).
 * MALLOC_ARENA_MAX in the environment still decides. */
static void limit_malloc_arenas(void) {
#ifdef M_ARENA_MAX
  if (!getenv("MALLOC_ARENA_MAX"))
    mallopt(M_ARENA_MAX, 2);
#endif
}

int main(int argc, char **argv) {
  limit_malloc_arenas();
  twi_cli c;
  twi_cli_parse(&c, argc, argv);
  const char *dir = c.plugin_dir ? c.plugin_dir : TOWER_DEFAULT_PLUGIN_DIR;
  int rc = c.exit_status;
  switch (c.command) {
  case TWI_CLI_RUN:
    rc = twi_agent_main(&c.agent);
    break;
  case TWI_CLI_PLUGINS:
    rc = cmd_plugins(dir);
    break;
  case TWI_CLI_SAMPLE:
    rc = cmd_sample(dir, c.nnames, c.names);
    break;
  case TWI_CLI_IMPORT:
    rc = cmd_import(c.args);
    break;
  case TWI_CLI_EXIT:
    break;
  }
  twi_plugins_unload();
  return rc;
}
