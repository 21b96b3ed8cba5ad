/*
** coroutine.c -- coroutine.resume and coroutine.wrap as the standard ones,
** which also tell the kernel which lua_State runs (tl_tstate_set_running)
** while a coroutine is resumed.  The GIL's forced-switch hook must be armed
** on the state that is actually executing, which inside a coroutine is the
** coroutine's (kernel/gil.c); so must a deadlock report read its stack.
**
** Every state tlua makes gets them (builtins.c wraps the coroutine library
** when it opens, state.c the main state's).
**
** Locking: none; the running state is a thread-local of the kernel.
*/
#include "state.h"

/* Resumes co with the narg values on top of L; as auxresume in lcorolib.c:
** returns the number of results moved to L, or -1 with the error on L. */
static int resume_tracked(lua_State *L, lua_State *co, int narg) {
  if (!lua_checkstack(co, narg)) {
    lua_pushliteral(L, "too many arguments to resume");
    return -1;
  }
  if (lua_status(co) == LUA_OK && lua_gettop(co) == 0) {
    lua_pushliteral(L, "cannot resume dead coroutine");
    return -1;
  }
  lua_xmove(L, co, narg);
  tl_switchpoint_prepare_state(co); /* (a coroutine made before the legacy GIL) */
  lua_State *outer = tl_tstate_set_running(co);
  int nres;
  int status = lua_resume(co, L, narg, &nres);
  tl_tstate_set_running(outer);
  if (status == LUA_OK || status == LUA_YIELD) {
    if (!lua_checkstack(L, nres + 1)) {
      lua_pop(co, nres);
      lua_pushliteral(L, "too many results to resume");
      return -1;
    }
    lua_xmove(co, L, nres);
    return nres;
  }
  lua_xmove(co, L, 1); /* the error */
  return -1;
}

static lua_State *check_coroutine(lua_State *L, int idx) {
  lua_State *co = lua_tothread(L, idx);
  luaL_argexpected(L, co, idx, "thread"); /* (lcorolib says so too) */
  return co;
}

static int tracked_resume(lua_State *L) {
  lua_State *co = check_coroutine(L, 1);
  int r = resume_tracked(L, co, lua_gettop(L) - 1);
  if (r < 0) {
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -(r + 1));
  return r + 1;
}

static int tracked_wrap_call(lua_State *L) {
  lua_State *co = lua_tothread(L, lua_upvalueindex(1));
  int r = resume_tracked(L, co, lua_gettop(L));
  if (r >= 0) return r;
  int stat = lua_status(co);
  if (stat != LUA_OK && stat != LUA_YIELD) { /* an error in the coroutine */
    stat = lua_resetthread(co);                /* close its variables */
    lua_xmove(co, L, 1);
  }
  if (stat != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) { /* add position */
    luaL_where(L, 1);
    lua_insert(L, -2);
    lua_concat(L, 2);
  }
  return lua_error(L);
}

static int tracked_wrap(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_State *co = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  lua_pushcclosure(L, tracked_wrap_call, 1);
  return 1;
}

void tl_coroutine_wrap_lib(lua_State *L, int co) {
  co = lua_absindex(L, co);
  lua_pushcfunction(L, tracked_resume);
  lua_setfield(L, co, "resume");
  lua_pushcfunction(L, tracked_wrap);
  lua_setfield(L, co, "wrap");
}

void tl_coroutine_open(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, LUA_COLIBNAME) == LUA_TTABLE) tl_coroutine_wrap_lib(L, -1);
  lua_pop(L, 2);
}
