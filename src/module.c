/*
** module.c -- luaopen_threading: assembles the module table from the
** parts in the other files, plus the GIL controls and the excepthook.
**
** The same function serves the tlua host (where the module is built in
** and preloaded in every state) and threading.so inside stock lua5.4.
** The first state in the process to open the module makes its thread the
** main thread (runtime.c); inside stock lua that state also gets the
** blocking-I/O wrappers and a finalizer that waits for non-daemon threads
** when lua5.4 closes it at exit.
**
** Parts written in Lua (ThreadPoolExecutor, logging...) are loaded the
** first time their name is read from the module table (lazy_parts), so a
** new thread's state stays lean.
**
** Locking: none of its own; excepthook storage is runtime.c's.
*/
#include <string.h>

#include "tlua.h"

static int gil_enabled(lua_State *L) {
  lua_pushboolean(L, tl_gil_enabled());
  return 1;
}

static int set_gil(lua_State *L) {
  luaL_checkany(L, 1);
  bool on = lua_toboolean(L, 1);
  if (on != tl_gil_enabled() && tl_runtime_alive_count() > 1)
    return luaL_error(L, "RuntimeError: set_gil() needs a single thread alive (%d are)",
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

static int trace_events(lua_State *L) { return tl_trace_push_events(L); }

static int live_objects(lua_State *L) {
  lua_pushinteger(L, tl_object_live_count());
  return 1;
}

/* name -> module that defines it (the field of the same name, or the
** whole module when 'field' is NULL). */
static const struct {
  const char *name, *module, *field;
} lazy_parts[] = {
    {"ThreadPoolExecutor", "threading.executor", "ThreadPoolExecutor"},
    {"as_completed", "threading.executor", "as_completed"},
    {"wait", "threading.executor", "wait"},
    {"FIRST_COMPLETED", "threading.executor", "FIRST_COMPLETED"},
    {"FIRST_EXCEPTION", "threading.executor", "FIRST_EXCEPTION"},
    {"ALL_COMPLETED", "threading.executor", "ALL_COMPLETED"},
    {"log", "threading.log", NULL},
    {NULL, NULL, NULL},
};

static int module_index(lua_State *L) {
  const char *key = lua_tostring(L, 2);
  if (key == NULL) return 0;
  if (strcmp(key, "excepthook") == 0) {
    tl_runtime_push_excepthook(L);
    return 1;
  }
  for (int i = 0; lazy_parts[i].name != NULL; i++) {
    if (strcmp(key, lazy_parts[i].name) != 0) continue;
    tl_state_require(L, lazy_parts[i].module);
    if (lazy_parts[i].field != NULL) lua_getfield(L, -1, lazy_parts[i].field);
    lua_pushvalue(L, -1);
    lua_setfield(L, 1, key); /* cache it (rawset: key is absent) */
    return 1;
  }
  return 0;
}

static int module_newindex(lua_State *L) {
  const char *key = lua_tostring(L, 2);
  if (key != NULL && strcmp(key, "excepthook") == 0) {
    tl_runtime_set_excepthook(L, 3);
    return 0;
  }
  lua_rawset(L, 1);
  return 0;
}

static const char ATEXIT_KEY[] = "tlua.atexit";

/* threading._register_atexit(fn): fn runs when this state's thread ends
** its work: for the main thread, at the end of the main chunk, before the
** wait for non-daemon threads (Python's threading._register_atexit, which
** ThreadPoolExecutor uses to finish queued work); for another thread, when
** its target returns.  Last registered, first run. */
static int register_atexit(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, ATEXIT_KEY);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  return 0;
}

void tl_run_atexit(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, ATEXIT_KEY) != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  int list = lua_gettop(L);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, ATEXIT_KEY); /* run once */
  for (lua_Integer i = (lua_Integer)lua_rawlen(L, list); i >= 1; i--) {
    lua_rawgeti(L, list, i);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
      lua_pushfstring(L, "Exception in threading atexit callback:\n%s\n", luaL_tolstring(L, -1, NULL));
      size_t len;
      const char *m = lua_tolstring(L, -1, &len);
      tl_write_whole(stderr, m, len);
      lua_pop(L, 3);
    }
  }
  lua_pop(L, 1);
}

/* At the close of stock lua's main state: atexit callbacks, then wait for
** non-daemon threads. */
static int wait_at_exit(lua_State *L) {
  tl_run_atexit(L);
  tl_runtime_wait_non_daemon();
  tl_runtime_forget_state(); /* lua5.4 frees this state next */
  return 0;
}

static void install_exit_wait(lua_State *L) {
  lua_newuserdatauv(L, 0, 0);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, wait_at_exit);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, "tlua.exitwait");
}

int luaopen_threading(lua_State *L) {
  if (tl_runtime_init(L)) { /* the main state of stock lua5.4 */
    tl_open_lua_parts(L);
    tl_open_blocking_io(L);
    tl_gil_open_coroutines(L);
    install_exit_wait(L);
  }
  static const luaL_Reg fns[] = {
      {"gil_enabled", gil_enabled},
      {"set_gil", set_gil},
      {"setswitchinterval", setswitchinterval},
      {"getswitchinterval", getswitchinterval},
      {"gil_stats", gil_stats},
      {"_live_objects", live_objects},
      {"_trace_events", trace_events},
      {"_register_atexit", register_atexit},
      {NULL, NULL},
  };
  luaL_newlib(L, fns);
  tl_open_thread(L);
  tl_open_timer(L);
  tl_open_shared(L);
  tl_open_lock(L);
  tl_open_rlock(L);
  tl_open_condition(L);
  tl_open_semaphore(L);
  tl_open_event(L);
  tl_open_barrier(L);
  tl_open_queue(L);
  tl_open_future(L);
  lua_pushliteral(L, TL_VERSION);
  lua_setfield(L, -2, "_VERSION");
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, module_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, module_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_setmetatable(L, -2);
  return 1;
}
