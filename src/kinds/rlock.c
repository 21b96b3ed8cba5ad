/*
** rlock.c -- threading.RLock: a re-entrant lock.  The thread that holds it
** may acquire it again; it is free once released as many times.
**
**   acquire([blocking=true [, timeout=-1]]) -> boolean
**   release()        -- by the owner only, else
**                       "RuntimeError: cannot release un-acquired lock"
**   locked()         -- held by any thread (Python 3.14 has it too)
**   _is_owned()      -- held by the calling thread
**   _recursion_count() -- the caller's recursion level (0 if not owner)
**   with(fn, ...), hold()  -- see context.c
**
** The work is done by the lock core shared with Lock (lockcore.c).
**
** Locking: the core's locks (lockcore.h), taken only inside the core
** functions.
*/
#include "lockcore.h"

static tl_lockobj *check_rlock(lua_State *L) {
  return (tl_lockobj *)tl_object_check(L, 1, &tl_rlock_kind);
}

static int rlock_acquire(lua_State *L) {
  lua_pushboolean(L, tl_lock_acquire(L, check_rlock(L), 2));
  return 1;
}

static int rlock_release(lua_State *L) {
  tl_lock_release(L, check_rlock(L));
  return 0;
}

static int rlock_locked(lua_State *L) {
  lua_pushboolean(L, tl_lock_locked(check_rlock(L)));
  return 1;
}

static int rlock_is_owned(lua_State *L) {
  lua_pushboolean(L, tl_lock_owned_count(check_rlock(L)) > 0);
  return 1;
}

static int rlock_recursion_count(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)tl_lock_owned_count(check_rlock(L)));
  return 1;
}

static int rlock_tostring(lua_State *L) {
  tl_lock_push_description(L, check_rlock(L));
  return 1;
}

static const luaL_Reg rlock_methods[] = {
    {"acquire", rlock_acquire},
    {"release", rlock_release},
    {"locked", rlock_locked},
    {"_is_owned", rlock_is_owned},
    {"_recursion_count", rlock_recursion_count},
    {"with", tl_context_with},
    {"hold", tl_context_hold},
    {"__tostring", rlock_tostring},
    {NULL, NULL},
};

const tl_kind tl_rlock_kind = {
    .name = "RLock",
    .destroy = tl_lockobj_destroy,
    .methods = rlock_methods,
    .describe = tl_lockobj_describe,
};

static int new_rlock(lua_State *L) {
  static const char *const fields[] = {NULL}; /* RLock{name = ...} */
  tl_lockobj_push_new(L, &tl_rlock_kind, tl_spec_unpack(L, fields) ? 1 : 0);
  return 1;
}

void tl_rlock_open(lua_State *L) {
  lua_pushcfunction(L, new_rlock);
  lua_setfield(L, -2, "RLock");
}
