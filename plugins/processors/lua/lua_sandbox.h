/* processors.lua: the sandboxed Lua state of one processor instance. */
#ifndef TOWER_LUA_SANDBOX_H
#define TOWER_LUA_SANDBOX_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#include <tower/tower.h>

/* What the allocator and the hooks need; lives as long as the state. */
typedef struct lsb_limits {
  tower_ctx *ctx;           /* for print() */
  size_t used;              /* bytes the state holds now */
  size_t limit;             /* memory_limit */
  int64_t max_instructions; /* per call */
} lsb_limits;

/* A new state with only base (load restricted to text chunks; no dofile,
 * loadfile, collectgarbage), string (no dump), table, math and utf8, the
 * metric API (lua_metric.h), a global table `state`, and print() logging at
 * info level. NULL when even that does not fit in limits->limit. */
lua_State *lsb_new(lsb_limits *limits);

/* Sets the instruction budget for the next call (lua_pcall) on L. */
void lsb_arm(lua_State *L);

/* Calls the function below `nargs` arguments on the stack under the budget,
 * like lua_pcall(L, nargs, nresults, 0). On failure nothing is left on the
 * stack and `why` holds the message (with the script's file:line where Lua
 * knows it). Every Lua allocation outside a protected call could end the
 * process on a memory error, so the plugin makes them all through here.
 * Returns the lua_pcall status. */
int lsb_call(lua_State *L, int nargs, int nresults, char *why, size_t size);

#endif
