/*
** cnames.c -- the names C functions cross by.  A C function is sent as
** "lib.name" (blob_encode.c) and the receiver looks that name up in its
** own module 'lib' (blob_decode.c), so the name must be one every state
** has: the function's canonical name (print is "_G.print", string.format
** "string.format"), never an alias a script made (oldprint = print, or
** string.fmt = string.format), which the receiver does not have.
**
** The canonical names are those of a pristine state: once per process a
** scratch state opens the standard libraries and threading, and the names
** of their C functions are kept.  A sender's table of names gives each
** function its canonical name first; other names (aliases, a script's
** own fields in a library table) only to C functions that have none.
**
** Locking: 'canon.mutex' guards the one-time build (a leaf lock, no Lua
** call of the sender's state under it); the list is immutable once
** published through the atomic 'canon.list'.
*/
#include <stdlib.h>
#include <string.h>

#include "blob.h"

typedef struct canon_list {
  size_t n;
  struct {
    int lib;          /* -1: _G, else the built-in's index (tl_builtins_name) */
    const char *name; /* the field */
  } items[];
} canon_list;

static struct {
  pthread_mutex_t mutex;
  _Atomic(canon_list *) list; /* NULL until built */
} canon = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static const char *lib_name(int i) { return i < 0 ? LUA_GNAME : tl_builtins_name(i); }

/* In protected mode, in the scratch state: the libraries, threading, and
** the list of their C functions' names (light userdata 1: where to put
** it).  Names are copied into one block with the list. */
static int build(lua_State *L) {
  canon_list **out = (canon_list **)lua_touserdata(L, 1);
  luaL_openlibs(L);
  tl_builtins_require(L, TL_MODNAME); /* the process is initialised: no side effect */
  lua_pop(L, 1);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  int loaded = lua_gettop(L);
  size_t n = 0, bytes = 0;
  for (int pass = 0; pass < 2; pass++) { /* count, then fill */
    canon_list *list = NULL;
    char *text = NULL;
    if (pass == 1) {
      list = malloc(sizeof *list + n * sizeof list->items[0] + bytes);
      if (list == NULL) return luaL_error(L, "not enough memory");
      text = (char *)&list->items[n];
      list->n = 0;
    }
    for (int i = -1; lib_name(i) != NULL; i++) {
      if (lua_getfield(L, loaded, lib_name(i)) != LUA_TTABLE) {
        lua_pop(L, 1);
        continue;
      }
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        if (lua_iscfunction(L, -1) && lua_type(L, -2) == LUA_TSTRING) {
          size_t len;
          const char *name = lua_tolstring(L, -2, &len);
          if (pass == 0) {
            n++;
            bytes += len + 1;
          } else if (list->n < n) {
            memcpy(text, name, len + 1);
            list->items[list->n].lib = i;
            list->items[list->n].name = text;
            list->n++;
            text += len + 1;
          }
        }
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
    if (pass == 1) *out = list;
  }
  return 0;
}

/* The canonical names, built at the first call once the process's
** threading runtime exists (before that, as in C tests of this layer:
** NULL, and only the sender's own tables name C functions). */
static const canon_list *canonical(void) {
  canon_list *list = atomic_load_explicit(&canon.list, memory_order_acquire);
  if (list != NULL || tl_runtime_main() == NULL) return list;
  pthread_mutex_lock(&canon.mutex);
  list = atomic_load_explicit(&canon.list, memory_order_acquire);
  if (list == NULL) {
    lua_State *S = luaL_newstate();
    if (S != NULL) {
      lua_pushcfunction(S, build);
      lua_pushlightuserdata(S, &list);
      if (lua_pcall(S, 1, 0, 0) != LUA_OK) list = NULL; /* (out of memory: try again later) */
      lua_close(S);
    }
    atomic_store_explicit(&canon.list, list, memory_order_release);
  }
  pthread_mutex_unlock(&canon.mutex);
  return list;
}

/* names[f] = "lib.name" for the C function at lib[name] of L, unless f has
** a name already.  (names is an absolute index.) */
static void name_function(lua_State *L, int names, int lib) {
  if (!lua_iscfunction(L, -1)) return;
  lua_pushvalue(L, -1);
  if (lua_rawget(L, names) != LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
  lua_pushfstring(L, "%s.%s", lib_name(lib), lua_tostring(L, -3));
  lua_rawset(L, names);
}

void tl_cnames_fill(lua_State *L, int names) {
  names = lua_absindex(L, names);
  const canon_list *list = canonical();
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  int loaded = lua_gettop(L);
  /* The canonical names first (the first of several wins: each is valid). */
  int open = -2; /* the lib whose table is on top */
  for (size_t k = 0; list != NULL && k < list->n; k++) {
    int lib = list->items[k].lib;
    if (lib != open) {
      if (open != -2) lua_pop(L, 1);
      lua_getfield(L, loaded, lib_name(lib));
      open = lib;
    }
    if (!lua_istable(L, -1)) continue;
    lua_pushstring(L, list->items[k].name);
    lua_pushvalue(L, -1);
    lua_rawget(L, -3);
    name_function(L, names, lib);
    lua_pop(L, 2);
  }
  if (open != -2) lua_pop(L, 1);
  /* Then every other C function found in those tables, under the name it
  ** has there (a library extended by the script, an alias). */
  for (int i = -1; lib_name(i) != NULL; i++) {
    if (lua_getfield(L, loaded, lib_name(i)) == LUA_TTABLE) {
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        if (lua_type(L, -2) == LUA_TSTRING) name_function(L, names, i);
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}
