/* processors.lua: a Lua state that a script cannot escape or stall.
 *
 * - Libraries: base, string, table, math, utf8 only. No io, os, package,
 *   require or debug: a metric script has no business with files,
 *   processes or the interpreter's internals. From base, dofile and
 *   loadfile (files), collectgarbage (a script could stop the collector
 *   and defeat memory_limit's recovery) are removed, and load accepts
 *   text chunks only: precompiled bytecode is not verified by Lua and can
 *   corrupt memory. string.dump goes too, since it only makes bytecode.
 * - Memory: every allocation goes through lsb_alloc, which refuses to grow
 *   the state beyond memory_limit; Lua turns that into a "not enough
 *   memory" error of the call, which the processor reports.
 * - Finalizers: setmetatable refuses a metatable with __gc (see there).
 * - Time: a count hook raises an error after max_instructions VM
 *   instructions of one call. Once raised, the hook fires on every
 *   instruction, so a script that catches the error with pcall cannot
 *   keep running: the next instruction raises it again.
 */
#include "lua_sandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_metric.h"

static void *lsb_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  lsb_limits *lim = ud;
  size_t old = ptr ? osize : 0; /* without ptr, osize is the object's kind */
  if (nsize == 0) {
    free(ptr);
    lim->used -= old;
    return NULL;
  }
  if (nsize > old && nsize - old > lim->limit - lim->used)
    return NULL;
  void *p = realloc(ptr, nsize);
  if (p)
    lim->used = lim->used - old + nsize;
  return p;
}

static lsb_limits *limits_of(lua_State *L) {
  return *(lsb_limits **)lua_getextraspace(L);
}

/* The budget is spent: raise an error at the script's current line, and
 * keep raising it on every instruction until the call has unwound. */
static void budget_hook(lua_State *L, lua_Debug *ar) {
  lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
  lua_getinfo(L, "Sl", ar);
  lua_pushfstring(L, "%s:%d: the call ran more than %I Lua instructions (max_instructions)",
                  ar->short_src, ar->currentline, (lua_Integer)limits_of(L)->max_instructions);
  lua_error(L);
}

void lsb_arm(lua_State *L) {
  int64_t n = limits_of(L)->max_instructions;
  lua_sethook(L, budget_hook, LUA_MASKCOUNT, n > INT32_MAX ? INT32_MAX : (int)n);
}

/* The error object as text in `why`, formatted in C: after a memory error
 * there may be no room in the state for a new string, and running a
 * __tostring metamethod would meet the spent budget. */
static void describe_error(lua_State *L, int status, char *why, size_t size) {
  if (status == LUA_ERRMEM)
    snprintf(why, size, "the script needed more than memory_limit (%zu bytes)",
             limits_of(L)->limit);
  else if (lua_type(L, -1) == LUA_TSTRING)
    snprintf(why, size, "%s", lua_tostring(L, -1));
  else
    snprintf(why, size, "error(...) was called with a %s value, not a message",
             luaL_typename(L, -1));
}

int lsb_call(lua_State *L, int nargs, int nresults, char *why, size_t size) {
  lsb_arm(L);
  int status = lua_pcall(L, nargs, nresults, 0);
  /* Armed afresh rather than removed: Lua code that runs between calls
   * (a metamethod reached from C) stays bounded too. */
  lsb_arm(L);
  if (status != LUA_OK) {
    describe_error(L, status, why, size);
    lua_pop(L, 1);
    if (status == LUA_ERRMEM) /* give the next call the memory back */
      lua_gc(L, LUA_GCCOLLECT);
  }
  return status;
}

/* load(chunk [, chunkname [, mode [, env]]]) with mode forced to "t". */
static int safe_load(lua_State *L) {
  int n = lua_gettop(L);
  lua_settop(L, 4);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_pushliteral(L, "t");
  if (n >= 4) /* an explicit nil env is not the same as none */
    lua_pushvalue(L, 4);
  lua_call(L, n >= 4 ? 4 : 3, LUA_MULTRET);
  return lua_gettop(L) - 4;
}

/* setmetatable refusing __gc: a finalizer would run at some later
 * collection, outside any call (at the latest in lua_close when the
 * instance is destroyed), where an endless one would hang the agent. Lua
 * 5.4 marks an object for finalization only when its metatable has __gc
 * as it is set, so checking here is enough. */
static int safe_setmetatable(lua_State *L) {
  lua_pushliteral(L, "__gc");
  if (lua_istable(L, 2) && lua_rawget(L, 2) != LUA_TNIL)
    return luaL_error(L, "setmetatable: __gc (finalizers) is not available to processors.lua "
                         "scripts");
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, 1);
  return 1;
}

/* print(...): one info line in the agent's log, values separated by tabs. */
static int log_print(lua_State *L) {
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; i++) {
    if (i > 1)
      luaL_addchar(&b, '\t');
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  tower_info(limits_of(L)->ctx, "print: %s", lua_tostring(L, -1));
  return 0;
}

static void open_libs(lua_State *L) {
  static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
                                  {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
                                  {LUA_UTF8LIBNAME, luaopen_utf8}, {NULL, NULL}};
  for (const luaL_Reg *lib = libs; lib->func; lib++) {
    luaL_requiref(L, lib->name, lib->func, 1);
    lua_pop(L, 1);
  }
}

/* Removes or replaces what a script must not reach (see the top). */
static void restrict_globals(lua_State *L) {
  static const char *const removed[] = {"dofile", "loadfile", "collectgarbage", NULL};
  for (const char *const *name = removed; *name; name++) {
    lua_pushnil(L);
    lua_setglobal(L, *name);
  }
  lua_getglobal(L, "load");
  lua_pushcclosure(L, safe_load, 1);
  lua_setglobal(L, "load");
  lua_getglobal(L, "setmetatable");
  lua_pushcclosure(L, safe_setmetatable, 1);
  lua_setglobal(L, "setmetatable");
  lua_pushcfunction(L, log_print);
  lua_setglobal(L, "print");
  lua_getglobal(L, LUA_STRLIBNAME);
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  lua_pop(L, 1);
}

static int setup(lua_State *L) {
  open_libs(L);
  restrict_globals(L);
  lm_open(L);
  lua_newtable(L);
  lua_setglobal(L, "state");
  return 0;
}

lua_State *lsb_new(lsb_limits *limits) {
  lua_State *L = lua_newstate(lsb_alloc, limits);
  if (!L)
    return NULL;
  *(lsb_limits **)lua_getextraspace(L) = limits;
  /* Short-lived objects (a handle per metric) suit the generational mode. */
  lua_gc(L, LUA_GCGEN, 0, 0);
  lua_pushcfunction(L, setup);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    lua_close(L);
    return NULL;
  }
  return L;
}
