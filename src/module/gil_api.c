/*
** gil_api.c -- the GIL as the module shows it:
**
**   gil_enabled()            is it on?
**   set_gil(on)              only while a single thread is alive
**   setswitchinterval(s)     seconds a waiter lets the holder run
**   getswitchinterval()
**   gil_stats()              process-wide counts, and the calling thread's
**
** Locking: none of its own (kernel/gil.c).
*/
#include "module.h"

static int gil_enabled(lua_State *L) {
  lua_pushboolean(L, tl_gil_enabled());
  return 1;
}

static int set_gil(lua_State *L) {
  luaL_checkany(L, 1);
  bool on = lua_toboolean(L, 1);
  if (on != tl_gil_enabled() && tl_runtime_alive_count() > 1)
    return tl_error(L, "RuntimeError", "set_gil() needs a single thread alive (%d are)",
                    tl_runtime_alive_count());
  tl_gil_set_enabled(on);
  return 0;
}

static int setswitchinterval(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  if (!(s > 0)) return luaL_argerror(L, 1, "ValueError: switch interval must be strictly positive");
  tl_gil_set_interval(s);
  return 0;
}

static int getswitchinterval(lua_State *L) {
  lua_pushnumber(L, tl_gil_interval());
  return 1;
}

static int gil_stats(lua_State *L) {
  tl_gil_push_stats(L);
  return 1;
}

void tl_gil_api_open(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"gil_enabled", gil_enabled},
      {"set_gil", set_gil},
      {"setswitchinterval", setswitchinterval},
      {"getswitchinterval", getswitchinterval},
      {"gil_stats", gil_stats},
      {NULL, NULL},
  };
  luaL_setfuncs(L, fns, 0);
}
