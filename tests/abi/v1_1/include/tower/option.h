/* tower SDK: option tables.
 *
 * A plugin declares every configuration key it accepts in a static table.
 * The core validates each config block against it before init is called
 * (unknown key, wrong type, out of range, missing required option: an error
 * with file:line and the valid keys), fills the defaults, redacts secrets in
 * logs, and generates `tower plugins`, `tower sample-config` and the docs from
 * the same table. A plugin therefore never parses or validates scalar options
 * itself; it reads them with the tower_config_* accessors (config.h).
 *
 * Tables are terminated by an entry whose name is NULL ({0} or
 * TOWER_OPTION_END). The entry layout only ever grows at the end; the loader
 * reads entries with the stride the plugin was compiled with
 * (tower_plugin.option_size).
 */
#ifndef TOWER_OPTION_H
#define TOWER_OPTION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tower_option_type {
  TOWER_OPT_BOOL = 1,           /* true / false */
  TOWER_OPT_INT = 2,            /* 64-bit integer */
  TOWER_OPT_FLOAT = 3,          /* double; integers are accepted */
  TOWER_OPT_STRING = 4,         /* string; ${VAR} substituted */
  TOWER_OPT_DURATION = 5,       /* string such as "500ms", "10s", "1h30m"; read as ns */
  TOWER_OPT_SIZE = 6,           /* string such as "16MiB", "64kB", "512"; read as bytes */
  TOWER_OPT_ENUM = 7,           /* string, one of `choices` ("append|snapshot") */
  TOWER_OPT_STRINGS = 8,        /* array of strings: ["a", "b"]; a lone string is a
                                   one-element list */
  TOWER_OPT_TABLE = 9,          /* group of string values: { key = "value"; } */
  TOWER_OPT_GROUPS = 10,        /* list of groups: ( { ... }, { ... } ); each group is
                                   validated against `children` */
  TOWER_OPT_GROUP = 11,         /* one group { ... } validated against `children` */
  TOWER_OPT_ANY = 12,           /* any setting; the plugin validates it (reach it with
                                   tower_config_setting()) */
  TOWER_OPT_STRINGS_TABLE = 13, /* group of strings or string arrays:
                                   { key = "a"; other = ["b", "c"]; } (read it
                                   with tower_config_setting()) */
} tower_option_type;

/* Option flags. */
#define TOWER_OPT_REQUIRED 0x1u   /* init is not called without it */
#define TOWER_OPT_SECRET 0x2u     /* never printed; redacted in logs and dumps */
#define TOWER_OPT_DEPRECATED 0x4u /* accepted with a warning naming `help` */
#define TOWER_OPT_GLOB                                                                             \
  0x8u /* the strings are globs (see glob.h): a malformed                                          \
          pattern is a configuration error */

typedef struct tower_option {
  const char *name; /* key in the config block; NULL ends the table */
  uint32_t type;    /* tower_option_type */
  uint32_t flags;   /* TOWER_OPT_REQUIRED | ... */
  /* Default in the option's own syntax ("true", "5", "10s", "4MiB",
   * "append", comma-separated for TOWER_OPT_STRINGS), or NULL for none. */
  const char *default_value;
  /* Inclusive bounds in the option's own syntax ("1ms", "0", "64MiB"), or
   * NULL for unbounded. Only for INT, FLOAT, DURATION and SIZE. */
  const char *min;
  const char *max;
  const char *choices; /* TOWER_OPT_ENUM: "a|b|c" */
  const char *help;    /* one line, shown in sample configs and errors */
  /* TOWER_OPT_GROUPS / TOWER_OPT_GROUP: the table for each group. */
  const struct tower_option *children;
} tower_option;

#define TOWER_OPTION_END                                                                           \
  { 0 }

#ifdef __cplusplus
}
#endif

#endif
