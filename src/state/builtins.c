/*
** builtins.c -- the one table of the modules built into every state: the
** standard libraries, package and threading.  States open them on first
** use (state.c), received values name them (value/blob_encode.c sends C
** functions as "lib.name"), and opening package makes them all
** requirable through package.preload.
**
** The threading module lives in a layer above this one; the module layer
** hands its opener over (tl_builtins_set_threading) before any state can
** ask for it.
**
** Locking: the table is constant; the threading opener is an atomic
** pointer, set once per process (the same value each time).
*/
#include <string.h>

#include "state.h"

static int open_package(lua_State *L);
static void open_string_too(lua_State *L, int idx);

typedef struct builtin {
  const char *name;
  lua_CFunction open; /* NULL: the threading module, see 'threading_open' */
  void (*wrap)(lua_State *L, int idx); /* tlua's wrappers, if any */
} builtin;

static const builtin builtins[] = {
    {LUA_STRLIBNAME, luaopen_string, NULL},
    {LUA_TABLIBNAME, luaopen_table, NULL},
    {LUA_MATHLIBNAME, luaopen_math, tl_state_seed_random},
    {LUA_IOLIBNAME, luaopen_io, tl_blocking_io_wrap_io},
    {LUA_OSLIBNAME, luaopen_os, tl_blocking_io_wrap_os},
    {LUA_COLIBNAME, luaopen_coroutine, tl_coroutine_wrap_lib},
    {LUA_UTF8LIBNAME, luaopen_utf8, NULL},
    {LUA_DBLIBNAME, luaopen_debug, open_string_too}, /* debug.getmetatable("") */
    {LUA_LOADLIBNAME, open_package, tl_blocking_io_wrap_package},
    {TL_MODNAME, NULL, NULL},
    {NULL, NULL, NULL},
};

static _Atomic(lua_CFunction) threading_open;

void tl_builtins_set_threading(lua_CFunction open) { atomic_store(&threading_open, open); }

const char *tl_builtins_name(int i) {
  return (i >= 0 && i < (int)(sizeof builtins / sizeof builtins[0])) ? builtins[i].name : NULL;
}

static const builtin *find_builtin(const char *name) {
  for (const builtin *b = builtins; b->name != NULL; b++)
    if (strcmp(name, b->name) == 0) return b;
  return NULL;
}

bool tl_builtins_is_library(const char *name) {
  const builtin *b = find_builtin(name);
  return b != NULL && b->open != NULL;
}

/* Pushes the opened built-in b (not yet recorded in package.loaded). */
static void open_builtin(lua_State *L, const builtin *b) {
  lua_CFunction open = b->open ? b->open : atomic_load(&threading_open);
  if (open == NULL) luaL_error(L, "module '%s' is not available", b->name);
  lua_pushcfunction(L, open);
  lua_pushstring(L, b->name);
  lua_call(L, 1, 1);
  if (b->wrap != NULL) b->wrap(L, -1);
}

/* A built-in's loader, as package.preload holds it (upvalue: the entry). */
static int load_builtin(lua_State *L) {
  open_builtin(L, (const builtin *)lua_touserdata(L, lua_upvalueindex(1)));
  return 1;
}

/* The package library, then every built-in in package.preload so that
** require finds the ones not open yet. */
static int open_package(lua_State *L) {
  luaopen_package(L);
  tl_state_inherit_package(L, -1); /* a thread's: the paths of the state that started it */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const builtin *b = builtins; b->name != NULL; b++) {
    if (b->open == open_package) continue;
    lua_pushlightuserdata(L, (void *)b);
    lua_pushcclosure(L, load_builtin, 1);
    lua_setfield(L, -2, b->name);
  }
  lua_pop(L, 1);
  tl_lua_parts_open(L);
  return 1;
}

static void open_string_too(lua_State *L, int idx) {
  (void)idx;
  tl_builtins_require(L, LUA_STRLIBNAME);
  lua_pop(L, 1);
}

void tl_builtins_require(lua_State *L, const char *name) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, name) != LUA_TNIL) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 2);
  const builtin *b = find_builtin(name);
  if (b != NULL) {
    open_builtin(L, b);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
    return;
  }
  lua_getglobal(L, "require"); /* opens package if need be */
  lua_pushstring(L, name);
  lua_call(L, 1, 1);
}
