/* processors.lua: tower metrics as Lua values.
 *
 * A metric is a userdata with the members name, time, tags and fields
 * (read and write); tags and fields are views that index, assign (nil
 * removes), iterate with pairs() and count with #. The globals
 * Metric(name [, tags [, fields [, time]]]) and deepcopy(metric) make new
 * metrics owned by Lua until a call of process returns them.
 */
#ifndef TOWER_LUA_METRIC_H
#define TOWER_LUA_METRIC_H

#include <lua.h>
#include <stdbool.h>

#include <tower/tower.h>

typedef struct lm_box {
  tower_metric *m;    /* NULL once handed on or given back: the handle is dead */
  tower_metric *orig; /* copy on write: the untouched metric, kept for errors */
  bool owned;         /* made in Lua: the collector frees m */
  bool cow;           /* change a private copy, keep the original in orig */
} lm_box;

/* Registers the metatables and the globals Metric and deepcopy. */
void lm_open(lua_State *L);

/* A lua_CFunction (call it protected: it allocates): pushes a handle on
 * the metric given as light userdata (argument 1), which stays the
 * caller's (the metric given to process). With argument 2 true the first
 * change makes a private copy, so that lm_restore() can give back the
 * metric as it came. */
int lm_push_borrowed(lua_State *L);

/* The handle at `idx`, or NULL when that is not a metric. */
lm_box *lm_test(lua_State *L, int idx);

/* Takes the metric out of a live handle (which dies) to hand it on; the
 * original kept for errors is freed. NULL when the handle is dead. */
tower_metric *lm_take(lm_box *b);

/* After a failed call: the metric as it came (the changed copy is freed);
 * the handle dies. NULL when the handle is dead. */
tower_metric *lm_restore(lm_box *b);

#endif
