/*
** blocking_module.c -- tlua_test_blocking, a C module for the specs
** (tests/gil_fidelity_spec.lua): a call that blocks outside Lua, with and
** without releasing the GIL through tlua.h, the way a socket or file
** library's call would.
**
**   block(seconds)            waits until unblock() or the time is up;
**                             returns whether it was unblocked
**   block_releasing(seconds)  the same with the GIL released (tlua.h)
**   unblock(), reset(), waiting()
**
** Locking: the flags are atomics, shared by every state that loads it.
*/
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "lauxlib.h"
#include "tlua.h"

static atomic_bool unblocked, waiting;

static bool wait_until_unblocked(double seconds) {
  struct timespec tick = {0, 1000000};
  atomic_store(&waiting, true);
  for (double t = 0; t < seconds && !atomic_load(&unblocked); t += 0.001) nanosleep(&tick, NULL);
  atomic_store(&waiting, false);
  return atomic_load(&unblocked);
}

static int block(lua_State *L) {
  lua_pushboolean(L, wait_until_unblocked(luaL_checknumber(L, 1)));
  return 1;
}

static int block_releasing(lua_State *L) {
  double seconds = luaL_checknumber(L, 1);
  int released = tlua_gil_release(L, "test.block");
  bool got = wait_until_unblocked(seconds); /* no Lua API call in here */
  tlua_gil_acquire(L, released);
  lua_pushboolean(L, got);
  return 1;
}

static int unblock(lua_State *L) {
  (void)L;
  atomic_store(&unblocked, true);
  return 0;
}

static int reset(lua_State *L) {
  (void)L;
  atomic_store(&unblocked, false);
  atomic_store(&waiting, false);
  return 0;
}

static int is_waiting(lua_State *L) {
  lua_pushboolean(L, atomic_load(&waiting));
  return 1;
}

int luaopen_tlua_test_blocking(lua_State *L);

int luaopen_tlua_test_blocking(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"block", block},
      {"block_releasing", block_releasing},
      {"unblock", unblock},
      {"reset", reset},
      {"waiting", is_waiting},
      {NULL, NULL},
  };
  luaL_newlib(L, fns);
  return 1;
}
