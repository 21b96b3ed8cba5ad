/*
** lock.c -- threading.Lock: a non-recursive lock that any thread may
** release (Python's semantics).
**
**   acquire([blocking=true [, timeout=-1]]) -> boolean
**   release()        -- "RuntimeError: release unlocked lock" if unlocked
**   locked()         -- boolean
**   with(fn, ...), hold()  -- see context.c
**
** The work is done by the lock core shared with RLock (lockcore.c).
**
** Locking: the core's locks (lockcore.h), taken only inside the core
** functions.
*/
#include "lockcore.h"

static tl_lockobj *check_lock(lua_State *L) {
  return (tl_lockobj *)tl_object_check(L, 1, &tl_lock_kind);
}

static int lock_acquire(lua_State *L) {
  lua_pushboolean(L, tl_lock_acquire(L, check_lock(L), 2));
  return 1;
}

static int lock_release(lua_State *L) {
  tl_lock_release(L, check_lock(L));
  return 0;
}

static int lock_locked(lua_State *L) {
  lua_pushboolean(L, tl_lock_locked(check_lock(L)));
  return 1;
}

static int lock_tostring(lua_State *L) {
  tl_lock_push_description(L, check_lock(L));
  return 1;
}

static const luaL_Reg lock_methods[] = {
    {"acquire", lock_acquire},
    {"release", lock_release},
    {"locked", lock_locked},
    {"with", tl_context_with},
    {"hold", tl_context_hold},
    {"__tostring", lock_tostring},
    {NULL, NULL},
};

const tl_kind tl_lock_kind = {
    .name = "Lock",
    .destroy = tl_lockobj_destroy,
    .methods = lock_methods,
    .describe = tl_lockobj_describe,
};

static int new_lock(lua_State *L) {
  static const char *const fields[] = {NULL}; /* Lock{name = ...} */
  tl_lockobj_push_new(L, &tl_lock_kind, tl_spec_unpack(L, fields) ? 1 : 0);
  return 1;
}

void tl_lock_open(lua_State *L) {
  lua_pushcfunction(L, new_lock);
  lua_setfield(L, -2, "Lock");
}
