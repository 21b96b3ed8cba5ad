/*
** state.c -- the Lua states tlua runs: the main state, which opens every
** standard library as lua.c does, and the lean state of each new thread,
** whose libraries open the first time they are used (a thread's allocator,
** which also caps its memory, is alloc.c), and the panic handler.
**
** Lean thread states.  Opening all ten standard libraries was most of the
** cost of a new thread (measured with callgrind: 190k of 380k instructions
** per start+join; then base, package and string alone were still 83k of
** 222k).  A thread's state now opens only the base library.  Every other
** built-in module -- the standard libraries, threading and its Lua parts
** -- is opened on first use:
**
**  - reading a missing global such as `math`, `string`, `package` or
**    `require` (a metatable on _G, see lazy_global);
**  - indexing a string (`s:upper()`) or doing arithmetic on one: the
**    strings' first metatable is a stand-in that opens the string library,
**    which installs the real metatable, then repeats the operation;
**  - receiving a value that refers to a module (value/blob_decode.c and
**    the module call tl_builtins_require, which opens a built-in directly,
**    without opening package);
**  - require(name): opening package fills package.preload with every
**    built-in that is not open yet (builtins.c).
**
** getmetatable (and debug.getmetatable) open the string library before
** they show a string's metatable, so code that extends it sees the real
** one.  Visible differences from the main state, written down in
** docs/api-threads.md: pairs(_G) and package.loaded list a library only
** once it is open, and a script that replaces _G's metatable in a thread
** should first touch the libraries it needs.
**
** The base library opens first, before anything else is allocated.
** Opening it late, on the first read of a global, saved 0.8 KiB and 32k
** instructions per thread, but a CPU-bound loop that reads no global ran
** 9% slower in threads (not in the main state), reproducibly: the same
** instructions, another placement of the thread state's stack and call
** records, which the order of allocations decides.  (A first measurement
** said 12-15%; part of it was Lua's code moving with tlua's, since fixed
** in CMakeLists.txt.)
**
** Locking: none.  A state belongs to the one OS thread that runs it.
*/
#include <stdlib.h>
#include <string.h>

#include "state.h"

/* --- the lean state ---------------------------------------------------------- */

/* _G's __index: the name of a built-in library opens it and makes it a
** global; so does `require`, which belongs to package. */
static int lazy_global(lua_State *L) {
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  const char *key = lua_tostring(L, 2);
  bool is_require = strcmp(key, "require") == 0;
  const char *name = is_require ? LUA_LOADLIBNAME : key;
  if (!tl_builtins_is_library(name)) return 0; /* (threading is no global) */
  tl_builtins_require(L, name);
  lua_pushstring(L, name);
  lua_pushvalue(L, -2);
  lua_rawset(L, 1);
  if (is_require) lua_getfield(L, 1, "require"); /* set by luaopen_package */
  return 1;
}

/* The strings' stand-in metatable: every event opens the string library
** (which installs the real metatable) and repeats the operation with it.
** Upvalue: the event's name. */
static int lazy_string_event(lua_State *L) {
  int n = lua_gettop(L);
  tl_builtins_require(L, LUA_STRLIBNAME);
  lua_pop(L, 1);
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_getfield(L, -1, lua_tostring(L, lua_upvalueindex(1)));
  if (lua_istable(L, -1)) { /* __index */
    lua_pushvalue(L, 2);
    lua_gettable(L, -2);
    return 1;
  }
  lua_insert(L, 1);
  lua_settop(L, n + 1);
  if (lua_pcall(L, n, 1, 0) != LUA_OK) {
    /* The real metamethod blamed its caller, this function; blame ours. */
    if (lua_type(L, -1) == LUA_TSTRING) {
      luaL_where(L, 1);
      lua_insert(L, -2);
      lua_concat(L, 2);
    }
    return lua_error(L);
  }
  return 1;
}

static void set_lazy_string_metatable(lua_State *L) {
  static const char *const events[] = {"__index", "__add", "__sub", "__mul", "__mod",
                                       "__pow", "__div", "__idiv", "__unm", NULL};
  lua_pushliteral(L, "");
  lua_createtable(L, 0, 9);
  for (int i = 0; events[i] != NULL; i++) {
    lua_pushstring(L, events[i]);
    lua_pushcclosure(L, lazy_string_event, 1);
    lua_setfield(L, -2, events[i]);
  }
  lua_setmetatable(L, -2);
  lua_pop(L, 1);
}

/* getmetatable as the base library's, but a string's is the real one:
** code that extends the string metatable finds the string library. */
static int getmetatable_opening_string(lua_State *L) {
  luaL_checkany(L, 1);
  if (lua_type(L, 1) == LUA_TSTRING) {
    tl_builtins_require(L, LUA_STRLIBNAME);
    lua_pop(L, 1);
  }
  if (!lua_getmetatable(L, 1)) {
    lua_pushnil(L);
    return 1;
  }
  luaL_getmetafield(L, 1, "__metatable");
  return 1;
}

void tl_state_open_thread(lua_State *L) {
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  lua_pushcfunction(L, getmetatable_opening_string);
  lua_setfield(L, -2, "getmetatable");
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, lazy_global);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  lua_pop(L, 1);
  set_lazy_string_metatable(L);
  tl_blocking_io_open(L);
  tl_blocking_io_open_print(L);
}

void tl_state_seed_random(lua_State *L, int idx) {
  lua_Integer x, y;
  if (!tl_sched_random_seed(&x, &y)) return;
  idx = lua_absindex(L, idx);
  if (lua_getfield(L, idx, "randomseed") == LUA_TFUNCTION) {
    lua_pushinteger(L, x);
    lua_pushinteger(L, y);
    lua_call(L, 2, 0);
  } else {
    lua_pop(L, 1);
  }
}

/* --- the main state ------------------------------------------------------- */

/* package.preload.threading of the main state: the built-in. */
static int load_threading(lua_State *L) {
  tl_builtins_require(L, TL_MODNAME);
  return 1;
}

void tl_state_open_tool(lua_State *L) {
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, load_threading);
  lua_setfield(L, -2, TL_MODNAME);
  lua_pop(L, 1);
  tl_lua_parts_open(L);
}

void tl_state_open_main(lua_State *L) {
  tl_state_open_tool(L);
  tl_blocking_io_open(L);
  tl_blocking_io_open_print(L);
  tl_coroutine_open(L);
}

/* --- new states, panic (warnings: warnings.c) ------------------------------------ */

static int panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "tlua: PANIC: unprotected error in call to Lua API (%s)\n",
          msg ? msg : "error object is not a string");
  fflush(stderr);
  return 0; /* abort() follows */
}

lua_State *tl_state_new(void) {
  lua_State *L = luaL_newstate();
  if (L == NULL) return NULL;
  lua_atpanic(L, panic);
  tl_state_setwarnf(L, false);
  return L;
}

lua_State *tl_state_new_thread(size_t limit) {
  tl_arena *a;
  lua_State *L = tl_arena_newstate(limit, &a);
  if (L == NULL) return NULL;
  lua_atpanic(L, panic);
  tl_state_setwarnf(L, false);
  return L;
}

void tl_state_lift_limit(lua_State *L) {
  tl_arena *a;
  if (tl_arena_of(L, &a)) tl_arena_lift_limit(a);
}

void tl_state_close(lua_State *L) {
  tl_arena *a = NULL;
  bool arena = tl_arena_of(L, &a);
  lua_close(L);
  if (arena) tl_arena_free(a);
}

