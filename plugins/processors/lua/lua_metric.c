/* processors.lua: tower metrics as Lua values (see lua_metric.h).
 *
 * The handle refers to the tower metric itself: reading a field converts
 * that one value, and nothing is copied into Lua tables, so a script that
 * touches two fields of a metric with thirty costs two conversions. The
 * metric given to process is valid during the call only; a handle kept in
 * `state` and used later raises an error telling to keep deepcopy(metric).
 *
 * Field types: Lua integers are int fields, floats float fields, strings and
 * booleans likewise. An unsigned field reads as an integer (as a float above
 * 2^63 - 1), and an integer >= 0 written over an unsigned field keeps it
 * unsigned, so `m.fields.n = m.fields.n + 1` does not change a counter's
 * type.
 */
#include "lua_metric.h"

#include <errno.h>
#include <lauxlib.h>
#include <stdint.h>
#include <string.h>

/* Two metatables for handles: only metrics made in Lua need a finalizer,
 * and an object with one costs the collector a call when it dies, which
 * the handle of every processed metric should not. */
#define MT_METRIC "tower.metric"
#define MT_OWNED "tower.metric.owned"
#define MT_TAGS "tower.tags"
#define MT_FIELDS "tower.fields"
#define UV_TAGS 1
#define UV_FIELDS 2

/* ---- handles ---------------------------------------------------------- */

static lm_box *push_box(lua_State *L, tower_metric *m, bool owned, bool cow) {
  lm_box *b = lua_newuserdatauv(L, sizeof *b, 2);
  *b = (lm_box){.m = m, .owned = owned, .cow = cow};
  luaL_setmetatable(L, owned ? MT_OWNED : MT_METRIC);
  return b;
}

int lm_push_borrowed(lua_State *L) {
  push_box(L, lua_touserdata(L, 1), false, lua_toboolean(L, 2));
  return 1;
}

lm_box *lm_test(lua_State *L, int idx) {
  lm_box *b = luaL_testudata(L, idx, MT_METRIC);
  return b ? b : luaL_testudata(L, idx, MT_OWNED);
}

tower_metric *lm_take(lm_box *b) {
  tower_metric *m = b->m;
  tower_metric_free(b->orig);
  b->m = b->orig = NULL;
  return m;
}

tower_metric *lm_restore(lm_box *b) {
  tower_metric *m = b->m;
  if (b->orig) {
    tower_metric_free(b->m);
    m = b->orig;
  }
  b->m = b->orig = NULL;
  return m;
}

static lm_box *check_box(lua_State *L) {
  lm_box *b = lm_test(L, 1);
  if (!b)
    luaL_typeerror(L, 1, "metric");
  return b;
}

static tower_metric *readable(lua_State *L, lm_box *b) {
  if (!b->m)
    luaL_error(L, "this metric was passed on or dropped when process returned; to keep a "
                  "metric across calls, keep deepcopy(metric)");
  return b->m;
}

/* The metric to change: on the first change of a copy-on-write handle, a
 * private copy (the original stays for lm_restore). */
static tower_metric *writable(lua_State *L, lm_box *b) {
  readable(L, b);
  if (b->cow && !b->orig) {
    tower_metric *copy = tower_metric_clone(b->m);
    if (!copy)
      luaL_error(L, "out of memory");
    b->orig = b->m;
    b->m = copy;
  }
  return b->m;
}

static void check_rc(lua_State *L, int rc, const char *what, const char *key) {
  if (rc == -EINVAL)
    luaL_error(L,
               "%s \"%s\": empty names, empty tag values and strings holding NUL are "
               "not allowed",
               what, key);
  if (rc < 0 && rc != -ENOENT)
    luaL_error(L, "%s \"%s\": %s", what, key, strerror(-rc));
}

/* ---- tags and fields -------------------------------------------------- */

static lm_box *view_box(lua_State *L, const char *mt) {
  return *(lm_box **)luaL_checkudata(L, 1, mt);
}

static void set_tag(lua_State *L, tower_metric *m, const char *key, int v) {
  if (lua_isnil(L, v)) {
    check_rc(L, tower_metric_remove_tag(m, key), "tag", key);
    return;
  }
  if (lua_type(L, v) != LUA_TSTRING && lua_type(L, v) != LUA_TNUMBER)
    luaL_error(L, "tag \"%s\": a %s cannot be a tag value (give a string)", key,
               luaL_typename(L, v));
  size_t len;
  const char *value = lua_tolstring(L, v, &len);
  check_rc(L, tower_metric_add_tag_n(m, key, strlen(key), value, len), "tag", key);
}

static int set_number(lua_State *L, tower_metric *m, const char *key, int v) {
  if (!lua_isinteger(L, v))
    return tower_metric_add_float(m, key, lua_tonumber(L, v));
  lua_Integer i = lua_tointeger(L, v);
  ptrdiff_t at = tower_metric_field_index(m, key);
  if (i >= 0 && at >= 0 && tower_metric_field_type(m, (size_t)at) == TOWER_FIELD_UINT)
    return tower_metric_add_uint(m, key, (uint64_t)i);
  return tower_metric_add_int(m, key, i);
}

static void set_field(lua_State *L, tower_metric *m, const char *key, int v) {
  int rc;
  size_t len;
  const char *s;
  switch (lua_type(L, v)) {
  case LUA_TNIL:
    rc = tower_metric_remove_field(m, key);
    break;
  case LUA_TBOOLEAN:
    rc = tower_metric_add_bool(m, key, lua_toboolean(L, v));
    break;
  case LUA_TNUMBER:
    rc = set_number(L, m, key, v);
    break;
  case LUA_TSTRING:
    s = lua_tolstring(L, v, &len);
    rc = tower_metric_add_string_n(m, key, strlen(key), s, len);
    break;
  default:
    return (void)luaL_error(L,
                            "field \"%s\": a %s cannot be a field value (give an integer, "
                            "a float, a string or a boolean)",
                            key, luaL_typename(L, v));
  }
  check_rc(L, rc, "field", key);
}

static void push_field(lua_State *L, const tower_metric *m, size_t i) {
  switch (tower_metric_field_type(m, i)) {
  case TOWER_FIELD_FLOAT:
    lua_pushnumber(L, tower_metric_field_float(m, i));
    break;
  case TOWER_FIELD_INT:
    lua_pushinteger(L, tower_metric_field_int(m, i));
    break;
  case TOWER_FIELD_UINT: {
    uint64_t u = tower_metric_field_uint(m, i);
    if (u <= INT64_MAX)
      lua_pushinteger(L, (lua_Integer)u);
    else
      lua_pushnumber(L, (lua_Number)u);
    break;
  }
  case TOWER_FIELD_BOOL:
    lua_pushboolean(L, tower_metric_field_bool(m, i));
    break;
  default:
    lua_pushstring(L, tower_metric_field_string(m, i));
  }
}

static int tags_index(lua_State *L) {
  tower_metric *m = readable(L, view_box(L, MT_TAGS));
  const char *v = tower_metric_tag(m, luaL_checkstring(L, 2));
  if (v)
    lua_pushstring(L, v);
  else
    lua_pushnil(L);
  return 1;
}

static int tags_newindex(lua_State *L) {
  lm_box *b = view_box(L, MT_TAGS);
  set_tag(L, writable(L, b), luaL_checkstring(L, 2), 3);
  return 0;
}

static int tags_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)tower_metric_tag_count(readable(L, view_box(L, MT_TAGS))));
  return 1;
}

/* pairs(): the position is the closure's upvalue, the view its state. */
static int tags_next(lua_State *L) {
  tower_metric *m = readable(L, view_box(L, MT_TAGS));
  lua_Integer i = lua_tointeger(L, lua_upvalueindex(1));
  if (i < 0 || (size_t)i >= tower_metric_tag_count(m))
    return 0;
  lua_pushinteger(L, i + 1);
  lua_replace(L, lua_upvalueindex(1));
  lua_pushstring(L, tower_metric_tag_key(m, (size_t)i));
  lua_pushstring(L, tower_metric_tag_value(m, (size_t)i));
  return 2;
}

static int fields_index(lua_State *L) {
  tower_metric *m = readable(L, view_box(L, MT_FIELDS));
  ptrdiff_t i = tower_metric_field_index(m, luaL_checkstring(L, 2));
  if (i < 0)
    lua_pushnil(L);
  else
    push_field(L, m, (size_t)i);
  return 1;
}

static int fields_newindex(lua_State *L) {
  lm_box *b = view_box(L, MT_FIELDS);
  set_field(L, writable(L, b), luaL_checkstring(L, 2), 3);
  return 0;
}

static int fields_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)tower_metric_field_count(readable(L, view_box(L, MT_FIELDS))));
  return 1;
}

static int fields_next(lua_State *L) {
  tower_metric *m = readable(L, view_box(L, MT_FIELDS));
  lua_Integer i = lua_tointeger(L, lua_upvalueindex(1));
  if (i < 0 || (size_t)i >= tower_metric_field_count(m))
    return 0;
  lua_pushinteger(L, i + 1);
  lua_replace(L, lua_upvalueindex(1));
  lua_pushstring(L, tower_metric_field_key(m, (size_t)i));
  push_field(L, m, (size_t)i);
  return 2;
}

static int view_pairs(lua_State *L, lua_CFunction next) {
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, next, 1);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

static int tags_pairs(lua_State *L) {
  view_box(L, MT_TAGS);
  return view_pairs(L, tags_next);
}

static int fields_pairs(lua_State *L) {
  view_box(L, MT_FIELDS);
  return view_pairs(L, fields_next);
}

/* m.tags and m.fields: one view each per handle, made on first use and
 * kept in the handle's user values (the view keeps the handle alive). */
static void push_view(lua_State *L, int box, int uv, const char *mt) {
  if (lua_getiuservalue(L, box, uv) != LUA_TNIL)
    return;
  lua_pop(L, 1);
  lm_box **v = lua_newuserdatauv(L, sizeof *v, 1);
  *v = lua_touserdata(L, box);
  luaL_setmetatable(L, mt);
  lua_pushvalue(L, box);
  lua_setiuservalue(L, -2, 1);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, box, uv);
}

/* ---- the metric handle ------------------------------------------------ */

static int metric_index(lua_State *L) {
  lm_box *b = check_box(L);
  const char *key = luaL_checkstring(L, 2);
  const tower_metric *m = readable(L, b);
  if (strcmp(key, "name") == 0)
    lua_pushstring(L, tower_metric_name(m));
  else if (strcmp(key, "time") == 0)
    lua_pushinteger(L, tower_metric_time(m));
  else if (strcmp(key, "tags") == 0)
    push_view(L, 1, UV_TAGS, MT_TAGS);
  else if (strcmp(key, "fields") == 0)
    push_view(L, 1, UV_FIELDS, MT_FIELDS);
  else
    return luaL_error(L, "a metric has no member \"%s\" (name, time, tags, fields)", key);
  return 1;
}

static int metric_newindex(lua_State *L) {
  lm_box *b = check_box(L);
  const char *key = luaL_checkstring(L, 2);
  if (strcmp(key, "name") == 0) {
    const char *name = luaL_checkstring(L, 3);
    check_rc(L, tower_metric_set_name(writable(L, b), name), "name", name);
  } else if (strcmp(key, "time") == 0) {
    int isint;
    lua_Integer t = lua_tointegerx(L, 3, &isint);
    if (!isint)
      return luaL_error(L, "time must be an integer (ns since the Unix epoch)");
    tower_metric_set_time(writable(L, b), t);
  } else if (strcmp(key, "tags") == 0 || strcmp(key, "fields") == 0) {
    return luaL_error(L, "metric.%s cannot be replaced; assign its members instead", key);
  } else {
    return luaL_error(L, "a metric has no member \"%s\" (name, time, tags, fields)", key);
  }
  return 0;
}

static int metric_gc(lua_State *L) {
  lm_box *b = check_box(L);
  if (b->owned)
    tower_metric_free(b->m);
  b->m = NULL;
  return 0;
}

static int metric_tostring(lua_State *L) {
  lm_box *b = check_box(L);
  if (b->m)
    lua_pushfstring(L, "metric %s (%I tags, %I fields)", tower_metric_name(b->m),
                    (lua_Integer)tower_metric_tag_count(b->m),
                    (lua_Integer)tower_metric_field_count(b->m));
  else
    lua_pushliteral(L, "metric (passed on)");
  return 1;
}

/* ---- constructors ----------------------------------------------------- */

/* Assigns every key = value of the table at `t` with `set`. */
static void fill(lua_State *L, tower_metric *m, int t,
                 void (*set)(lua_State *, tower_metric *, const char *, int)) {
  if (lua_isnoneornil(L, t))
    return;
  luaL_checktype(L, t, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "tag and field names must be strings");
    set(L, m, lua_tostring(L, -2), lua_gettop(L));
    lua_pop(L, 1);
  }
}

/* Metric(name [, tags [, fields [, time]]]): a new metric owned by Lua
 * until process returns it; without time it gets the gather's time. */
static int metric_new(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_Integer t = luaL_optinteger(L, 4, TOWER_TIME_UNSET);
  tower_metric *m = tower_metric_new(name, t);
  if (!m)
    return luaL_error(L, "Metric(\"%s\"): a metric needs a non-empty name", name);
  lm_box *b = push_box(L, m, true, false); /* the collector frees m on an error below */
  fill(L, b->m, 2, set_tag);
  fill(L, b->m, 3, set_field);
  return 1;
}

static int metric_deepcopy(lua_State *L) {
  lm_box *src = lm_test(L, 1);
  if (!src)
    return luaL_error(L, "deepcopy: a metric is expected, got a %s", luaL_typename(L, 1));
  tower_metric *copy = tower_metric_clone(readable(L, src));
  if (!copy)
    return luaL_error(L, "out of memory");
  push_box(L, copy, true, false);
  return 1;
}

static void new_metatable(lua_State *L, const char *name, const luaL_Reg *fns) {
  luaL_newmetatable(L, name);
  luaL_setfuncs(L, fns, 0);
  lua_pushliteral(L, "locked");
  lua_setfield(L, -2, "__metatable"); /* getmetatable() cannot reach the C functions */
  lua_pop(L, 1);
}

void lm_open(lua_State *L) {
  static const luaL_Reg metric_fns[] = {{"__index", metric_index},
                                        {"__newindex", metric_newindex},
                                        {"__tostring", metric_tostring},
                                        {NULL, NULL}};
  static const luaL_Reg tags_fns[] = {{"__index", tags_index},
                                      {"__newindex", tags_newindex},
                                      {"__len", tags_len},
                                      {"__pairs", tags_pairs},
                                      {NULL, NULL}};
  static const luaL_Reg fields_fns[] = {{"__index", fields_index},
                                        {"__newindex", fields_newindex},
                                        {"__len", fields_len},
                                        {"__pairs", fields_pairs},
                                        {NULL, NULL}};
  new_metatable(L, MT_METRIC, metric_fns);
  new_metatable(L, MT_OWNED, metric_fns);
  luaL_getmetatable(L, MT_OWNED);
  lua_pushcfunction(L, metric_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  new_metatable(L, MT_TAGS, tags_fns);
  new_metatable(L, MT_FIELDS, fields_fns);
  lua_register(L, "Metric", metric_new);
  lua_register(L, "deepcopy", metric_deepcopy);
}
