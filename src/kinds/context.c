/*
** context.c -- the two ways to hold any lock-like object for a scope:
**
**   obj:with(fn, ...)        acquires, calls fn(...), releases (also when
**                            fn raises, then re-raises); returns fn's results
**   local _ <close> = obj:hold()
**                            acquires now, releases when the variable
**                            goes out of scope (also on error)
**
** Both call the object's own "acquire" and "release" methods, so they
** work for Lock, RLock, Condition, Semaphore and BoundedSemaphore alike.
**
** Locking: none of its own.
*/
#include "lockcore.h"

static void call_method(lua_State *L, int obj, const char *name, int nresults) {
  if (lua_getfield(L, obj, name) != LUA_TFUNCTION)
    luaL_typeerror(L, 1, "lock-like object (with acquire and release)");
  lua_pushvalue(L, obj);
  lua_call(L, 1, nresults);
}

int tl_context_with(lua_State *L) {
  tl_lockobj *lock = tl_lockobj_test(L, 1); /* Lock and RLock: no method lookups */
  if (lock == NULL && tl_object_test(L, 1, NULL) == NULL) luaL_typeerror(L, 1, "threading object");
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (lock != NULL) tl_lock_acquire(L, lock, lua_gettop(L) + 1); /* no arguments: block */
  else call_method(L, 1, "acquire", 0);
  int base = 1; /* fn and its arguments start at 2 */
  int status = lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 0);
  if (lock != NULL) tl_lock_release(L, lock);
  else call_method(L, 1, "release", 0);
  if (status != LUA_OK) return lua_error(L);
  return lua_gettop(L) - base;
}

static int guard_close(lua_State *L) {
  lua_getiuservalue(L, 1, 1);
  if (lua_isnil(L, -1)) return 0;
  lua_pushnil(L);
  lua_setiuservalue(L, 1, 1); /* release once only */
  call_method(L, lua_gettop(L), "release", 0);
  return 0;
}

int tl_context_hold(lua_State *L) {
  if (tl_object_test(L, 1, NULL) == NULL) luaL_typeerror(L, 1, "threading object");
  lua_newuserdatauv(L, 0, 1); /* made first: no failure after acquiring */
  int guard = lua_gettop(L);
  if (luaL_newmetatable(L, "threading.Held")) {
    lua_pushcfunction(L, guard_close);
    lua_setfield(L, -2, "__close");
  }
  lua_setmetatable(L, guard);
  call_method(L, 1, "acquire", 0);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, guard, 1);
  lua_settop(L, guard);
  return 1;
}
