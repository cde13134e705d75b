/* Loading plugin shared objects and checking their descriptors. */
#ifndef TOWER_LOADER_H
#define TOWER_LOADER_H

#include <stddef.h>

#include <tower/plugin.h>

typedef struct twi_plugin {
  char *path;
  void *handle;
  tower_plugin desc;     /* copy, zero past the plugin's struct_size */
  tower_option *options; /* normalized copy of the plugin's table */
  struct twi_plugin *next;
} twi_plugin;

/* The highest tower_plugin_kind this core knows. */
#define TWI_KIND_LAST TOWER_AGGREGATOR

/* "inputs", "processors", "outputs", "aggregators" (the directory) / "input"... (a word). */
const char *twi_kind_dir(tower_plugin_kind kind);
const char *twi_kind_word(tower_plugin_kind kind);
/* Kind from "inputs"/"input"; 0 when unknown. */
tower_plugin_kind twi_kind_parse(const char *s);

/* Loads and checks one file. expect_kind / expect_name (0 / NULL: no
 * expectation) come from where the file was found. On failure returns a
 * negative errno and writes an actionable message into err. */
int twi_plugin_open(const char *path, tower_plugin_kind expect_kind, const char *expect_name,
                    twi_plugin **out, char *err, size_t errlen);
void twi_plugin_close(twi_plugin *p);

/* The plugin `name` of `kind` from the search path `dirs` (directories
 * separated by ':'; the first <dir>/<kind>s/<name>.so found wins), loaded
 * once per process and kept until twi_plugins_unload(). Thread-safe. */
int twi_plugin_get(const char *dir, tower_plugin_kind kind, const char *name,
                   const twi_plugin **out, char *err, size_t errlen);
void twi_plugins_unload(void);

/* Calls fn with the name of every <dir>/<kind>s/<name>.so of the search
 * path (sorted per directory), without loading any. */
void twi_plugin_names(const char *dirs, tower_plugin_kind kind,
                      void (*fn)(void *ud, const char *name), void *ud);

/* Calls fn for every *.so under <dir>/{inputs,processors,outputs} of each
 * directory of the search path, sorted, with the loaded plugin or the reason
 * it failed. -ENOENT when no directory of the path exists. */
typedef void (*twi_plugin_visit)(void *ud, tower_plugin_kind kind, const char *path,
                                 const twi_plugin *p, const char *err);
int twi_plugins_scan(const char *dir, twi_plugin_visit fn, void *ud);

/* The option tables a block of this plugin is validated against, in lookup
 * order: the plugin's own (`own`), the data format options when its flags ask
 * for them, the kind's options, the renames (not for processors), the common
 * options; NULL-terminated (at most TWI_BLOCK_TABLES - 1 entries + NULL).
 * The tables after the first are reserved: the plugin's own table may not
 * redeclare their names. */
#define TWI_BLOCK_TABLES 8
void twi_block_tables(const tower_plugin *desc, const tower_option *own,
                      const tower_option *tables[TWI_BLOCK_TABLES]);

#endif
