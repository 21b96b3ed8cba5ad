/*
** time_api.c -- time as the module shows it:
**
**   sleep(seconds)    blocks this thread (GIL released); Ctrl-C ends it in
**                     the main thread
**   monotonic()       seconds of a clock that never goes back (a float)
**
** Locking: none (kernel/wait.c, kernel/clock.c).
*/
#include "module.h"

static int sleep_fn(lua_State *L) {
  double s = tl_args_number(L, 1, "sleep length");
  if (s < 0) return luaL_argerror(L, 1, "ValueError: sleep length must be non-negative");
  tl_args_check_overflow(L, s, "sleep length");
  tl_wait_sleep(L, s);
  return 0;
}

static int monotonic(lua_State *L) {
  lua_pushnumber(L, tl_clock_monotonic());
  return 1;
}

void tl_time_api_open(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"sleep", sleep_fn},
      {"monotonic", monotonic},
      {NULL, NULL},
  };
  luaL_setfuncs(L, fns, 0);
}
