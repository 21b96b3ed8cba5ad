/*
** atexit.c -- threading._register_atexit(fn): fn runs when this state's
** thread ends its work: for the main thread, at the end of the main chunk,
** before the wait for non-daemon threads (Python's
** threading._register_atexit, which ThreadPoolExecutor uses to finish
** queued work); for another thread, when its target returns.  Last
** registered, first run; each once, in protected mode, its error reported
** on stderr.  Once the process has begun to shut down, registering raises
** "RuntimeError: can't register atexit after shutdown", as in Python.
**
** Locking: none; the list lives in the state's registry; 'shutting_down'
** is an atomic.
*/
#include "kinds.h"

static const char ATEXIT_KEY[] = "tlua.atexit";

static atomic_bool shutting_down;

int tl_atexit_register(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  if (atomic_load(&shutting_down)) return tl_error(L, "RuntimeError", "can't register atexit after shutdown");
  luaL_getsubtable(L, LUA_REGISTRYINDEX, ATEXIT_KEY);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  return 0;
}

void tl_atexit_shut_down(void) { atomic_store(&shutting_down, true); }

/* Writes the error on top (a string from tl_report_traceback, unless
** memory ran out) and pops it. */
static int run_all(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, ATEXIT_KEY) != LUA_TTABLE) return 0;
  int list = lua_gettop(L);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, ATEXIT_KEY); /* run once */
  lua_pushcfunction(L, tl_report_traceback); /* the message, whatever the error value */
  int handler = lua_gettop(L);
  for (lua_Integer i = (lua_Integer)lua_rawlen(L, list); i >= 1; i--) {
    lua_rawgeti(L, list, i);
    if (lua_pcall(L, 0, 0, handler) != LUA_OK) tl_report_top(L, "Exception in threading atexit callback:");
  }
  return 0;
}

void tl_atexit_run(lua_State *L) {
  lua_pushcfunction(L, run_all);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) tl_report_top(L, "Exception in threading atexit callback:"); /* (out of memory before any callback ran) */
}
