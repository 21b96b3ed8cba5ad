/*
** preload.c -- a new thread inherits the package.preload loaders of the
** state that starts it, those that can cross: a module a script registers
** there (package.preload.name = function() ... end) can be required, and
** received as a value or upvalue, in its threads too.
**
** At start() the starting state's loaders written in Lua are copied, each
** into a blob of its own (the built-ins' loaders are C functions that every
** state has); one that cannot be sent is left out.  The new state decodes
** them into its package.preload before its target runs, each in protected
** mode: one that cannot be received there is left out too, and require
** then fails as it would have without it.
**
** Locking: none.  The list is written by the starting thread before the
** new thread exists, read by that thread, freed with the Thread object.
*/
#include <stdlib.h>
#include <string.h>

#include "kinds.h"

struct tl_preload {
  int n;
  struct {
    char *name;
    tl_blob *loader;
  } items[];
};

static int encode_loader(lua_State *L) {
  lua_pushlightuserdata(L, tl_blob_encode(L, 1, 1, "loader"));
  return 1;
}

static bool is_lua_loader(lua_State *L) {
  return lua_type(L, -2) == LUA_TSTRING && lua_isfunction(L, -1) && !lua_iscfunction(L, -1);
}

/* How many loaders of L's package.preload are Lua functions (no call that
** can raise: the common case, none, costs no protected call). */
static int count_lua_loaders(lua_State *L) {
  int n = 0;
  if (lua_getfield(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE) == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (is_lua_loader(L)) n++;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  return n;
}

/* In protected mode: the list of at most 'max' (integer 2) loaders (light
** userdata 1: where to put it). */
static int capture(lua_State *L) {
  tl_preload **out = (tl_preload **)lua_touserdata(L, 1);
  int max = (int)lua_tointeger(L, 2);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  int preload = lua_gettop(L);
  tl_preload *p = calloc(1, sizeof *p + (size_t)max * sizeof p->items[0]);
  if (p == NULL) return luaL_error(L, "not enough memory");
  *out = p; /* (freed by the caller, also after an error) */
  lua_pushnil(L);
  while (lua_next(L, preload)) {
    if (p->n < max && is_lua_loader(L)) {
      lua_pushcfunction(L, encode_loader);
      lua_pushvalue(L, -2);
      if (lua_pcall(L, 1, 1, 0) == LUA_OK) { /* else it cannot cross: left out */
        tl_blob *b = (tl_blob *)lua_touserdata(L, -1);
        char *name = strdup(lua_tostring(L, -3));
        if (name == NULL) {
          tl_blob_free(b);
          return luaL_error(L, "not enough memory");
        }
        p->items[p->n].name = name;
        p->items[p->n].loader = b;
        p->n++;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  return 0;
}

tl_preload *tl_preload_capture(lua_State *L) {
  tl_preload *p = NULL;
  int max = count_lua_loaders(L);
  if (max == 0) return NULL;
  lua_pushcfunction(L, capture);
  lua_pushlightuserdata(L, &p);
  lua_pushinteger(L, max);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    tl_preload_free(p);
    lua_error(L);
  }
  return p;
}

/* In protected mode: decodes loader 2 into package.preload[name 1]. */
static int apply_one(lua_State *L) {
  const tl_blob *b = (const tl_blob *)lua_touserdata(L, 2);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  tl_blob_decode(L, b);
  lua_setfield(L, -2, lua_tostring(L, 1));
  return 0;
}

void tl_preload_apply(lua_State *L, const tl_preload *p) {
  for (int i = 0; p != NULL && i < p->n; i++) {
    lua_pushcfunction(L, apply_one);
    lua_pushstring(L, p->items[i].name);
    lua_pushlightuserdata(L, p->items[i].loader);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) lua_pop(L, 1); /* cannot be received here: left out */
  }
}

void tl_preload_free(tl_preload *p) {
  if (p == NULL) return;
  for (int i = 0; i < p->n; i++) {
    free(p->items[i].name);
    tl_blob_free(p->items[i].loader);
  }
  free(p);
}
