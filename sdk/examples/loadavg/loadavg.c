/* loadavg: an example out-of-tree tower input plugin.
 *
 * Reads /proc/loadavg and emits Telegraf's `system` load fields:
 *   system,host=... load1=0.5,load5=0.3,load15=0.2,n_cpus=4i,n_running=1i,n_processes=312i
 *
 * It shows the whole plugin contract in one file: an option table the core
 * validates, init building per-instance state from the config, gather adding
 * metrics to the accumulator, destroy freeing the state, and the one exported
 * symbol. Build it with the Makefile next to it (pkg-config only).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tower/tower.h>

/* Everything an instance needs lives here: two instances of the plugin
 * (two config blocks) never share state. */
typedef struct loadavg {
  tower_ctx *ctx;   /* borrowed until destroy: for logging */
  const char *path; /* borrowed from the config until destroy */
  bool per_cpu;
} loadavg;

/* The core validates every block against this table before init runs, fills
 * the defaults, and prints it in `tower sample-config inputs.loadavg`. */
static const tower_option options[] = {
    {.name = "path",
     .type = TOWER_OPT_STRING,
     .default_value = "/proc/loadavg",
     .help = "file to read (a test can point it elsewhere)"},
    {.name = "per_cpu",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "also emit load1_per_cpu (load1 divided by the number of CPUs)"},
    TOWER_OPTION_END,
};

static int loadavg_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  loadavg *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->path = tower_config_string(cfg, "path");
  s->per_cpu = tower_config_bool(cfg, "per_cpu");
  if (access(s->path, R_OK) != 0) {
    int err = errno;
    /* tower_config_error logs "file:line: [inputs.loadavg] ..." */
    tower_config_error(cfg, tower_config_setting(cfg, "path"), "cannot read %s: %s", s->path,
                       strerror(err));
    free(s); /* on failure destroy is not called: free what init made */
    return -err;
  }
  *state = s;
  return 0;
}

static void loadavg_destroy(void *state) {
  free(state);
}

static int loadavg_gather(void *state, tower_acc *acc) {
  loadavg *s = state;
  FILE *f = fopen(s->path, "r");
  if (!f) {
    tower_acc_error(acc, "cannot open %s: %s", s->path, strerror(errno));
    return -EIO;
  }
  double l1, l5, l15;
  long running, total;
  int n = fscanf(f, "%lf %lf %lf %ld/%ld", &l1, &l5, &l15, &running, &total);
  fclose(f);
  if (n != 5) {
    tower_acc_error(acc, "%s does not look like /proc/loadavg", s->path);
    return -EINVAL;
  }
  /* TOWER_TIME_UNSET: the core stamps the metric with the gather's time. */
  tower_metric *m = tower_metric_new("system", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  tower_metric_set_type(m, TOWER_GAUGE);
  tower_metric_add_float(m, "load1", l1);
  tower_metric_add_float(m, "load5", l5);
  tower_metric_add_float(m, "load15", l15);
  tower_metric_add_int(m, "n_cpus", cpus);
  tower_metric_add_int(m, "n_running", running);
  tower_metric_add_int(m, "n_processes", total);
  if (s->per_cpu && cpus > 0)
    tower_metric_add_float(m, "load1_per_cpu", l1 / (double)cpus);
  /* The accumulator takes the metric over, even when it fails. */
  return tower_acc_add(acc, m);
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .name = "loadavg", /* must match the file name: inputs/loadavg.so */
    .description = "load averages from /proc/loadavg (example plugin)",
    .version = "1.0.0",
    .options = options,
    .init = loadavg_init,
    .destroy = loadavg_destroy,
    .gather = loadavg_gather,
};

/* The plugin's only exported symbol. */
TOWER_PLUGIN_ENTRY(plugin)
