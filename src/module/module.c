/*
** module.c -- luaopen_threading: assembles the module table from the
** kinds and the other files of this layer, and the excepthook field.
**
** The same function serves the tlua host (where the module is built in
** and opened on first use in every state) and threading.so inside stock
** lua5.4.  The first state in the process to open the module makes its
** thread the main thread (kernel/runtime.c), reads the environment and
** starts the deadlock watchdog; inside stock lua that state also gets the
** blocking-I/O wrappers and a finalizer that waits for non-daemon threads
** when lua5.4 closes it at exit.  (The host does the same through
** tl_module_init_host before it runs anything.)
**
** Parts written in Lua (ThreadPoolExecutor, logging...) are loaded the
** first time their name is read from the module table (lazy_parts), so a
** new thread's state stays lean.
**
** Locking: none of its own; the excepthook is kinds/report.c's.
*/
#include <stdlib.h>
#include <string.h>

#include "module.h"

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
    {"trace", "threading.trace", NULL},
    {NULL, NULL, NULL},
};

static int module_index(lua_State *L) {
  const char *key = lua_tostring(L, 2);
  if (key == NULL) return 0;
  if (strcmp(key, "excepthook") == 0) {
    tl_report_push_excepthook(L);
    return 1;
  }
  for (int i = 0; lazy_parts[i].name != NULL; i++) {
    if (strcmp(key, lazy_parts[i].name) != 0) continue;
    tl_builtins_require(L, lazy_parts[i].module);
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
    tl_report_set_excepthook(L, 3);
    return 0;
  }
  lua_rawset(L, 1);
  return 0;
}

/* At the close of stock lua's main state: atexit callbacks, then wait for
** non-daemon threads. */
static int wait_at_exit(lua_State *L) {
  tl_thread_shutdown(L, true);
  tl_tstate_forget_state(); /* lua5.4 frees this state next */
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

/* Once per process, by the first state that opens the module: the runtime
** (this thread is the main thread), the environment (env.c: checked
** first, so a bad value raises before anything starts), the watchdog.
** Returns whether this call did it. */
static bool init_process(lua_State *L, bool use_env) {
  tl_builtins_set_threading(luaopen_threading);
  if (use_env && tl_runtime_main() == NULL) tl_env_check(L);
  if (!tl_runtime_init(L)) return false;
  if (use_env) tl_env_apply(L);
  tl_deadlock_start();
  return true;
}

void tl_module_init_host(lua_State *L, bool use_env) { init_process(L, use_env); }

/* The main thread of L's state: require may run in a coroutine, which the
** runtime must not take for the main state (it is freed when collected). */
static lua_State *main_thread_of(lua_State *L) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  lua_State *main = lua_tothread(L, -1);
  lua_pop(L, 1);
  return main != NULL ? main : L;
}

int luaopen_threading(lua_State *L) {
  if (init_process(main_thread_of(L), true)) { /* the main state of stock lua5.4 */
    tl_state_adopt_warnings(L);
    tl_lua_parts_open(L);
    tl_blocking_io_open(L);
    tl_blocking_io_open_print(L);
    tl_coroutine_open(L);
    install_exit_wait(L);
  }
  lua_createtable(L, 0, 48); /* every field below, and the parts when first read */
  tl_thread_open(L);
  tl_timer_open(L);
  tl_shared_open(L);
  tl_atomic_open(L);
  tl_lock_open(L);
  tl_rlock_open(L);
  tl_condition_open(L);
  tl_semaphore_open(L);
  tl_event_open(L);
  tl_barrier_open(L);
  tl_queue_open(L);
  tl_future_open(L);
  tl_executor_open(L);
  tl_gil_api_open(L);
  tl_time_api_open(L);
  tl_internals_open(L);
  tl_trace_api_open(L);
  tl_hint_open(L);
  tl_check_open(L);
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
