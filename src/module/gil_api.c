/*
** gil_api.c -- the GIL as the module shows it:
**
**   gil_enabled()            is it on (new or legacy)?
**   gil_mode()               "off", "new" or "legacy"; "scheduled" under -X sched
**   set_gil(on)              true/1/"new", "legacy", false/0/"off"; only
**                            while a single thread is alive
**   setswitchinterval(s)     seconds a waiter lets the holder run
**   getswitchinterval()
**   setcheckinterval(n)      legacy GIL: VM instructions between checks
**   getcheckinterval()
**   gil_stats()              process-wide counts, and the calling thread's
**   blocking(f, ...)         calls f(...) with the GIL released, as a C
**                            extension's Py_BEGIN_ALLOW_THREADS does
**
** Locking: none of its own (kernel/gil.c).
*/
#include <string.h>

#include "module.h"

static int gil_enabled(lua_State *L) {
  lua_pushboolean(L, tl_gil_enabled());
  return 1;
}

static const char *const mode_names[] = {"off", "new", "legacy", NULL}; /* what set_gil takes */

/* The name of the GIL's mode now: one of mode_names, or "scheduled". */
static const char *mode_name(void) {
  tl_gil_mode m = tl_gil_get_mode();
  return m == TL_GIL_SCHED ? "scheduled" : mode_names[m];
}

static int gil_mode(lua_State *L) {
  lua_pushstring(L, mode_name());
  return 1;
}

/* set_gil(on): a boolean (or 0/1), or "off", "new", "legacy". */
static int set_gil(lua_State *L) {
  luaL_checkany(L, 1);
  tl_gil_mode mode;
  if (lua_type(L, 1) == LUA_TSTRING) mode = (tl_gil_mode)luaL_checkoption(L, 1, NULL, mode_names);
  else if (lua_type(L, 1) == LUA_TNUMBER) mode = lua_tonumber(L, 1) != 0 ? TL_GIL_NEW : TL_GIL_OFF;
  else mode = lua_toboolean(L, 1) ? TL_GIL_NEW : TL_GIL_OFF;
  if (tl_sched_active())
    return tl_error(L, "RuntimeError", "set_gil() cannot change the GIL under a deterministic schedule");
  if (mode != tl_gil_get_mode() && tl_runtime_alive_count() > 1)
    return tl_error(L, "RuntimeError", "set_gil() needs a single thread alive (%d are)",
                    tl_runtime_alive_count());
  tl_gil_set_mode(mode);
  tl_switchpoint_prepare_state(L);
  return 0;
}

static int setswitchinterval(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  if (!(s > 0)) return luaL_argerror(L, 1, "ValueError: switch interval must be strictly positive");
  if (s > TL_TIMEOUT_MAX) return tl_error(L, "OverflowError", "switch interval is too large");
  tl_gil_set_interval(s);
  return 0;
}

static int getswitchinterval(lua_State *L) {
  lua_pushnumber(L, tl_gil_interval());
  return 1;
}

static int setcheckinterval(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 1 || n > 0x7fffffff) return luaL_argerror(L, 1, "ValueError: check interval must be 1 to 2^31-1");
  tl_gil_set_check_interval((long)n);
  tl_switchpoint_prepare_state(L);
  return 0;
}

static int getcheckinterval(lua_State *L) {
  lua_pushinteger(L, tl_gil_check_interval());
  return 1;
}

static void set_integer(lua_State *L, const char *k, long long v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, k);
}

static void set_seconds(lua_State *L, const char *k, long long ns) {
  lua_pushnumber(L, (double)ns * 1e-9);
  lua_setfield(L, -2, k);
}

static int gil_stats(lua_State *L) {
  tl_gil_stats s = tl_gil_get_stats();
  lua_createtable(L, 0, 20);
  lua_pushboolean(L, tl_gil_enabled());
  lua_setfield(L, -2, "enabled");
  lua_pushstring(L, mode_name());
  lua_setfield(L, -2, "mode");
  lua_pushstring(L, tl_switchpoint_mode() == TL_SWITCHPOINTS_LINE ? "line" : "cpython");
  lua_setfield(L, -2, "switchpoints");
  lua_pushnumber(L, tl_gil_interval());
  lua_setfield(L, -2, "switch_interval");
  set_integer(L, "check_interval", tl_gil_check_interval());
  set_integer(L, "acquisitions", s.acquisitions);
  set_integer(L, "contended", s.contended);
  set_integer(L, "forced_switches", s.forced_switches);
  set_integer(L, "drop_requests", s.drop_requests);
  set_integer(L, "voluntary_releases", s.voluntary_releases);
  set_integer(L, "checks", s.checks);
  set_integer(L, "check_releases", s.check_releases);
  set_integer(L, "check_switches", s.check_switches);
  set_integer(L, "handoffs", s.handoffs);
  set_seconds(L, "wait_seconds", s.wait_ns);
  set_seconds(L, "hold_seconds", s.hold_ns);
  set_seconds(L, "handoff_seconds", s.handoff_ns);
  set_seconds(L, "handoff_max_seconds", s.handoff_max_ns);
  tl_tstate *self = tl_tstate_self();
  if (self != NULL) {
    lua_createtable(L, 0, 4);
    set_integer(L, "acquisitions", atomic_load(&self->stats.gil_acquisitions));
    set_integer(L, "forced_switches", atomic_load(&self->stats.gil_forced_switches));
    set_seconds(L, "wait_seconds", atomic_load(&self->stats.gil_wait_ns));
    set_seconds(L, "hold_seconds", atomic_load(&self->stats.gil_hold_ns));
    lua_setfield(L, -2, "thread");
  }
  return 1;
}

/* blocking(f, ...) -> f's results; f runs with the GIL released, so it
** must not touch what other threads' Lua code may touch at the same time
** (it runs in this thread's own state, so Lua values are safe; what it
** shares through C libraries is its own business, as in CPython). */
static int blocking(lua_State *L) {
  luaL_checkany(L, 1);
  bool stop_gc = tl_gil_held() && lua_gc(L, LUA_GCISRUNNING); /* no finalizer without the GIL */
  if (stop_gc) lua_gc(L, LUA_GCSTOP);
  tl_waiting w;
  tl_wait_begin(&w, "blocking", NULL);
  int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  tl_wait_end(&w);
  if (stop_gc) lua_gc(L, LUA_GCRESTART);
  if (status != LUA_OK) return lua_error(L);
  return lua_gettop(L);
}

void tl_gil_api_open(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"gil_enabled", gil_enabled},
      {"gil_mode", gil_mode},
      {"set_gil", set_gil},
      {"setswitchinterval", setswitchinterval},
      {"getswitchinterval", getswitchinterval},
      {"setcheckinterval", setcheckinterval},
      {"getcheckinterval", getcheckinterval},
      {"gil_stats", gil_stats},
      {"blocking", blocking},
      {NULL, NULL},
  };
  luaL_setfuncs(L, fns, 0);
  lua_pushnumber(L, TL_TIMEOUT_MAX);
  lua_setfield(L, -2, "TIMEOUT_MAX");
}
