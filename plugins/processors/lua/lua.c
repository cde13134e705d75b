/* processors.lua: runs a user's Lua function on every metric, tower's
 * counterpart of Telegraf's processors.starlark.
 *
 * The script (inline `source` or a `script` file) defines
 * `function process(metric)`, which returns the metric, nil (drop it) or a
 * list of metrics (fan out; metrics made with Metric() or deepcopy()). The
 * global table `state` and every other global persist between calls.
 *
 * Threads: one lua_State per instance and no lock of our own. The core
 * never calls process of one instance concurrently (plugin.h; it holds the
 * instance's process lock), and a single state is what makes `state` mean
 * one thing: per-thread states would each see a part of the metrics.
 *
 * Failures (a Lua error, the instruction budget, memory_limit, a bad return
 * value) are one processor error each, logged with the script's file:line
 * and the metric's name; the metric then passes on as it came or is
 * dropped (`on_error`), and nothing else the call made goes on.
 */
#include <errno.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "lua_metric.h"
#include "lua_sandbox.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

typedef struct {
  tower_ctx *ctx;
  lua_State *L;
  lsb_limits limits;
  int process_ref; /* process() as the script defined it */
  bool pass_on_error;
} lua_proc;

static const tower_option options[] = {
    {.name = "source",
     .type = TOWER_OPT_STRING,
     .help = "the Lua script inline, defining function process(metric) (or give script)"},
    {.name = "script",
     .type = TOWER_OPT_STRING,
     .help = "path of a Lua file defining function process(metric) (or give source)"},
    {.name = "on_error",
     .type = TOWER_OPT_ENUM,
     .default_value = "pass",
     .choices = "pass|drop",
     .help = "what becomes of a metric whose call failed: passed on as it came, or dropped"},
    {.name = "max_instructions",
     .type = TOWER_OPT_INT,
     .default_value = "10000000",
     .min = "1000",
     .max = "2147483647",
     .help = "Lua instructions one call may run before it is aborted as an error"},
    {.name = "memory_limit",
     .type = TOWER_OPT_SIZE,
     .default_value = "64MiB",
     .min = "256KiB",
     .help = "memory the script's Lua state may hold; an allocation beyond fails the call"},
    TOWER_OPTION_END,
};

/* ---- one metric ---------------------------------------------------------- */

/* Whether the value at `idx` is a metric process may return; if not, says
 * why in `why`. */
static bool good_metric(lua_State *L, int idx, char *why, size_t size) {
  lm_box *b = lm_test(L, idx);
  if (!b)
    snprintf(why, size,
             "process returned a %s; return the metric, a list of metrics, or nil to drop it",
             luaL_typename(L, idx));
  else if (!b->m)
    snprintf(why, size,
             "process returned a metric that an earlier call passed on already; "
             "return deepcopy(metric) to send one twice");
  return b && b->m;
}

/* Whether process may return the value at `r`; if not, says why. */
static bool good_result(lua_State *L, int r, char *why, size_t size) {
  if (lua_isnil(L, r))
    return true;
  if (!lua_istable(L, r))
    return good_metric(L, r, why, size);
  bool good = true;
  lua_Integer n = (lua_Integer)lua_rawlen(L, r); /* raw: no metamethod runs here */
  for (lua_Integer i = 1; i <= n && good; i++) {
    lua_rawgeti(L, r, i);
    good = good_metric(L, lua_gettop(L), why, size);
    lua_pop(L, 1);
  }
  return good;
}

/* Hands on the metric of the handle at `idx` (a second mention of one
 * metric in the list finds its handle dead and adds nothing). */
static void hand_on(lua_State *L, int idx, tower_acc *next) {
  tower_metric *m = lm_take(lm_test(L, idx));
  if (m)
    tower_acc_add(next, m);
}

static void hand_on_result(lua_State *L, int r, tower_acc *next) {
  if (lm_test(L, r)) {
    hand_on(L, r, next);
    return;
  }
  if (lua_isnil(L, r))
    return;
  lua_Integer n = (lua_Integer)lua_rawlen(L, r);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, r, i);
    hand_on(L, lua_gettop(L), next);
    lua_pop(L, 1);
  }
}

/* The call failed: one error, and the metric as it came goes on or not. */
static int fail(lua_proc *s, tower_metric *m, tower_acc *next, const char *why) {
  tower_acc_error(next, "%s (metric \"%s\"); the metric was %s", why, tower_metric_name(m),
                  s->pass_on_error ? "passed on unchanged" : "dropped");
  if (s->pass_on_error)
    tower_acc_add(next, m);
  else
    tower_metric_free(m);
  return -EINVAL;
}

static int lua_process(void *state, tower_metric *m, tower_acc *next) {
  lua_proc *s = state;
  lua_State *L = s->L;
  char why[512];
  lua_pushcfunction(L, lm_push_borrowed);
  lua_pushlightuserdata(L, m);
  lua_pushboolean(L, s->pass_on_error);
  if (lsb_call(L, 2, 1, why, sizeof why) != LUA_OK)
    return fail(s, m, next, why);
  /* The handle stays on the stack below the call, so the collector keeps
   * it until the result is handed on. */
  int base = lua_gettop(L);
  lm_box *in = lm_test(L, base);
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->process_ref);
  lua_pushvalue(L, base);
  int rc = 0;
  if (lsb_call(L, 1, 1, why, sizeof why) != LUA_OK) {
    rc = fail(s, lm_restore(in), next, why);
  } else if (!good_result(L, base + 1, why, sizeof why)) {
    rc = fail(s, lm_restore(in), next, why);
  } else {
    hand_on_result(L, base + 1, next);
    tower_metric_free(lm_take(in)); /* not returned: dropped */
  }
  lua_settop(L, base - 1);
  return rc;
}

/* ---- configuration --------------------------------------------------------- */

/* Loads inline source (protected; the setting is argument 1) so that Lua's
 * line numbers are the config file's: the chunk is named after the file
 * and starts on the line of `source`. */
static int load_source(lua_State *L) {
  const tower_setting *set = lua_touserdata(L, 1);
  const char *src = tower_setting_string(set);
  unsigned line = tower_setting_line(set);
  size_t pad = line > 1 ? line - 1 : 0, len = strlen(src);
  luaL_Buffer b;
  char *text = luaL_buffinitsize(L, &b, pad + len);
  memset(text, '\n', pad);
  memcpy(text + pad, src, len);
  luaL_pushresultsize(&b, pad + len);
  lua_pushfstring(L, "@%s", tower_setting_file(set));
  size_t n;
  const char *chunk = lua_tolstring(L, -2, &n);
  if (luaL_loadbufferx(L, chunk, n, lua_tostring(L, -1), "t") != LUA_OK)
    return lua_error(L);
  return 1;
}

/* Loads the script file (protected; the setting is argument 1). */
static int load_file(lua_State *L) {
  const tower_setting *set = lua_touserdata(L, 1);
  if (luaL_loadfilex(L, tower_setting_string(set), "t") != LUA_OK)
    return lua_error(L);
  return 1;
}

/* Finds process() and keeps a reference to it (protected: it allocates). */
static int find_process(lua_State *L) {
  if (lua_getglobal(L, "process") != LUA_TFUNCTION)
    return luaL_error(L, "the script defines no function process(metric)");
  lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
  return 1;
}

/* Compiles and runs the script, then finds its process function. */
static int load_script(lua_proc *s, const tower_config *cfg) {
  const tower_setting *src = tower_config_setting(cfg, "source");
  const tower_setting *file = tower_config_setting(cfg, "script");
  if (!src == !file)
    return tower_config_error(cfg, src ? file : NULL,
                              "give either source (the script inline) or script (a file)%s",
                              src ? ", not both" : "");
  const tower_setting *at = src ? src : file;
  lua_State *L = s->L;
  char why[512];
  lua_pushcfunction(L, src ? load_source : load_file);
  lua_pushlightuserdata(L, (void *)at);
  int status = lsb_call(L, 1, 1, why, sizeof why);
  if (status == LUA_OK)
    status = lsb_call(L, 0, 0, why, sizeof why);
  if (status == LUA_OK) {
    lua_pushcfunction(L, find_process);
    status = lsb_call(L, 0, 1, why, sizeof why);
  }
  if (status != LUA_OK)
    return tower_config_error(cfg, at, "%s", why);
  s->process_ref = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return 0;
}

static void lua_destroy(void *state) {
  lua_proc *s = state;
  if (!s)
    return;
  if (s->L)
    lua_close(s->L);
  free(s);
}

static int lua_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  lua_proc *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->pass_on_error = strcmp(tower_config_string(cfg, "on_error"), "pass") == 0;
  s->limits = (lsb_limits){.ctx = ctx,
                           .limit = tower_config_size(cfg, "memory_limit"),
                           .max_instructions = tower_config_int(cfg, "max_instructions")};
  s->L = lsb_new(&s->limits);
  int rc = s->L ? load_script(s, cfg)
                : tower_config_error(cfg, tower_config_setting(cfg, "memory_limit"),
                                     "cannot create a Lua state within memory_limit");
  if (rc) {
    lua_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_PROCESSOR),
    .name = "lua",
    .description = "run a Lua function on every metric: change, drop or fan out",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = lua_init,
    .destroy = lua_destroy,
    .process = lua_process,
};

TOWER_PLUGIN_ENTRY(plugin)
