/* tower SDK: reading a plugin's configuration block.
 *
 * init() receives a `const tower_config *`: the plugin's block, already
 * validated against its option table, with defaults filled in and ${VAR}
 * substituted. Every pointer returned here is borrowed from the core and
 * stays valid until the plugin's destroy() returns, so a plugin may keep them
 * in its state without copying.
 *
 * The scalar getters return the configured value, else the option's default,
 * else 0 / false / NULL. Asking for a key that is not in the plugin's option
 * table (or with the getter of another type) is a plugin bug: the getter logs
 * it and returns 0 / false / NULL.
 */
#ifndef TOWER_CONFIG_H
#define TOWER_CONFIG_H

#include <tower/types.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* True when `key` is written in the block (defaults do not count). */
bool tower_config_isset(const tower_config *c, const char *key);

bool tower_config_bool(const tower_config *c, const char *key);
int64_t tower_config_int(const tower_config *c, const char *key);
double tower_config_float(const tower_config *c, const char *key);
/* STRING and ENUM options; borrowed until destroy returns. */
const char *tower_config_string(const tower_config *c, const char *key);
/* DURATION options, in nanoseconds. */
int64_t tower_config_duration(const tower_config *c, const char *key);
/* SIZE options, in bytes. */
uint64_t tower_config_size(const tower_config *c, const char *key);

/* STRINGS options: number of elements and element i (borrowed until
 * destroy returns). */
size_t tower_config_strings_len(const tower_config *c, const char *key);
const char *tower_config_strings_at(const tower_config *c, const char *key, size_t i);

/* TABLE options: number of entries and entry i (key and value borrowed
 * until destroy returns). */
size_t tower_config_table_len(const tower_config *c, const char *key);
const char *tower_config_table_key(const tower_config *c, const char *key, size_t i);
const char *tower_config_table_value(const tower_config *c, const char *key, size_t i);

/* ---- raw settings, for GROUPS, GROUP and ANY options ------------------ */

typedef enum tower_setting_type {
  TOWER_SETTING_NONE = 0,
  TOWER_SETTING_GROUP = 1,
  TOWER_SETTING_INT = 2,
  TOWER_SETTING_FLOAT = 3,
  TOWER_SETTING_STRING = 4,
  TOWER_SETTING_BOOL = 5,
  TOWER_SETTING_ARRAY = 6, /* [ scalars of one type ] */
  TOWER_SETTING_LIST = 7,  /* ( anything ) */
} tower_setting_type;

/* The setting written for `key`, or NULL when it is absent. Settings, and
 * every setting and string reached from them, are borrowed until destroy
 * returns. */
const tower_setting *tower_config_setting(const tower_config *c, const char *key);

tower_setting_type tower_setting_kind(const tower_setting *s);
/* Key of a group member, NULL for list/array elements (borrowed). */
const char *tower_setting_name(const tower_setting *s);
/* Elements of a group, list or array (0 for scalars); borrowed. */
size_t tower_setting_len(const tower_setting *s);
const tower_setting *tower_setting_at(const tower_setting *s, size_t i);
/* Member `key` of a group, or NULL; borrowed. */
const tower_setting *tower_setting_member(const tower_setting *s, const char *key);
/* Scalar values; NULL / 0 / false for another kind. The string is
 * borrowed until destroy returns. */
const char *tower_setting_string(const tower_setting *s);
int64_t tower_setting_int(const tower_setting *s);
double tower_setting_float(const tower_setting *s);
bool tower_setting_bool(const tower_setting *s);
/* Where it was written: file name (borrowed until destroy returns) and
 * 1-based line (0 when unknown). */
const char *tower_setting_file(const tower_setting *s);
unsigned tower_setting_line(const tower_setting *s);

/* For a GROUP(S) option with `children`: the group `s` seen as a config
 * block of its own, with the children's defaults; NULL for any other
 * setting. Borrowed until destroy returns, like the block itself. */
const tower_config *tower_setting_config(const tower_setting *s);

/* Logs a configuration error at `s` ("file:line: [inputs.exec] message") and
 * returns -EINVAL, so that init can `return tower_config_error(...)`. `s` may
 * be NULL for the block as a whole. Nothing is kept after the call. */
int tower_config_error(const tower_config *c, const tower_setting *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- units ------------------------------------------------------------ */

/* Parses "1h30m", "10s", "500ms", "250us", "100ns" (also "0") into ns.
 * Returns 0 or -EINVAL / -ERANGE. `text` is only read during the call. */
int tower_parse_duration(const char *text, int64_t *out_ns);
/* Parses "512", "64kB", "16MiB", "1GB" ... into bytes (k/M/G/T are powers of
 * 1000, Ki/Mi/Gi/Ti of 1024; a trailing B is optional). 0 or -EINVAL/-ERANGE. */
int tower_parse_size(const char *text, uint64_t *out_bytes);

#ifdef __cplusplus
}
#endif

#endif
