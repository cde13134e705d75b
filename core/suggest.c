/* What to write instead of a plugin name that does not exist. It gets, in
 * this order: Telegraf's name for a tower plugin (operators
 * bring their Telegraf files), a plugin of that name of another kind (an
 * input put under outputs), the closest installed name of the kind. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "closest.h"
#include "loader.h"
#include "suggest.h"

/* ---- plugins ------------------------------------------------------------ */

/* Telegraf plugins that tower has under another name, or not at all. */
typedef struct telegraf_name {
  tower_plugin_kind kind;
  const char *telegraf, *tower; /* tower: NULL when there is no equivalent */
  const char *hint;
} telegraf_name;

static const telegraf_name telegraf_names[] = {
    {TOWER_OUTPUT, "prometheus_client", "prometheus",
     "Telegraf's prometheus_client output is tower's prometheus output: write plugin = "
     "\"prometheus\";"},
    {TOWER_OUTPUT, "influxdb_v2", "influxdb",
     "Telegraf's influxdb_v2 output is tower's influxdb output with api = \"v2\": write plugin = "
     "\"influxdb\"; api = \"v2\"; (token, organization and bucket as in Telegraf)"},
    {TOWER_INPUT, "execd", "exec",
     "Telegraf's execd keeps one program running; tower's exec input runs commands every "
     "interval: write plugin = \"exec\";"},
};

typedef struct finder {
  const char *name;
  bool found;
  char best[64]; /* the closest other name, or "" */
  size_t best_d;
} finder;

static void visit_name(void *ud, const char *name) {
  finder *f = ud;
  size_t d;
  if (strcmp(name, f->name) == 0)
    f->found = true;
  else if (strlen(name) < sizeof f->best && twi_is_close(f->name, name, &d) && d < f->best_d) {
    snprintf(f->best, sizeof f->best, "%s", name);
    f->best_d = d;
  }
}

static finder find(const char *dirs, tower_plugin_kind kind, const char *name) {
  finder f = {.name = name, .best_d = (size_t)-1};
  twi_plugin_names(dirs, kind, visit_name, &f);
  return f;
}

/* The hint after "no output plugin \"x\"", or "" when there is none. */
static void plugin_hint(const char *dirs, tower_plugin_kind kind, const char *name, char *buf,
                        size_t len) {
  buf[0] = '\0';
  for (size_t i = 0; i < sizeof telegraf_names / sizeof *telegraf_names; i++) {
    const telegraf_name *t = &telegraf_names[i];
    if (t->kind != kind || strcmp(t->telegraf, name) != 0)
      continue;
    snprintf(buf, len, "%s", t->hint);
    if (t->tower && !find(dirs, kind, t->tower).found)
      snprintf(buf + strlen(buf), len - strlen(buf), " (%s is not installed in the plugin path)",
               t->tower);
    return;
  }
  for (int k = TOWER_INPUT; k <= TWI_KIND_LAST; k++)
    if (k != (int)kind && find(dirs, (tower_plugin_kind)k, name).found) {
      snprintf(buf, len, "%s is %s %s plugin: move its block into %s = ( ... );", name,
               k == TOWER_PROCESSOR ? "a" : "an", twi_kind_word((tower_plugin_kind)k),
               twi_kind_dir((tower_plugin_kind)k));
      return;
    }
  finder f = find(dirs, kind, name);
  if (f.best[0])
    snprintf(buf, len, "did you mean \"%s\"? (`tower plugins` lists those installed)", f.best);
}

void twi_suggest_plugin(const char *dirs, tower_plugin_kind kind, const char *name, char *buf,
                        size_t len) {
  char hint[512];
  plugin_hint(dirs, kind, name, hint, sizeof hint);
  if (hint[0])
    snprintf(buf, len, "no %s plugin \"%s\"; %s", twi_kind_word(kind), name, hint);
  else
    snprintf(buf, len,
             "no %s plugin \"%s\": no %s/%s.so in the plugin path %s (run `tower plugins` to list "
             "those installed, or set --plugin-dir)",
             twi_kind_word(kind), name, twi_kind_dir(kind), name, dirs);
}
