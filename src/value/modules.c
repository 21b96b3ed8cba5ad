/*
** modules.c -- which tables are modules.  A table in package.loaded
** (string, threading, threading.log, a script's own module) crosses by
** name, as a value or an upvalue: the receiver gets its own module of
** that name (blob_encode.c writes T_MODULE, blob_decode.c requires it).
**
** The encoder asks about every table it meets, so the answer must cost
** little: each state keeps the set of its loaded tables (pointer -> name)
** in a cache, a full userdata in its registry, made at the first question.
** A new module drops the cache: package.loaded gets a metatable whose
** __newindex stores the entry and drops it (require, luaL_requiref and
** package.loaded.x = t all set a new key with metamethods).  A hit is
** checked against package.loaded itself, so a module removed or replaced
** since is never sent by name; a table put under an existing key by hand
** (or with rawset) is sent as a copy until the next new module.  If a
** script gave package.loaded a metatable of its own, the set is made
** again for every encoding.
**
** Locking: none; a cache belongs to one state.
*/
#include <string.h>

#include "blob.h"

static const char CACHE_KEY = 'm';                   /* registry[&CACHE_KEY]: the cache */
static const char CACHE_META_KEY[] = "tlua.modules.meta";

typedef struct module_cache {
  tl_ptrmap map; /* table -> index of its name in the user value */
} module_cache;

static int cache_gc(lua_State *L) {
  module_cache *c = (module_cache *)lua_touserdata(L, 1);
  tl_ptrmap_free(&c->map);
  return 0;
}

/* package.loaded's __newindex (t, k, v): a new entry, a new module. */
static int loaded_newindex(lua_State *L) {
  lua_settop(L, 3);
  lua_rawset(L, 1);
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &CACHE_KEY);
  return 0;
}

/* Whether changes to the table on top (package.loaded) are seen: it has
** our metatable (given now if it has none). */
static bool watch_loaded(lua_State *L) {
  if (lua_getmetatable(L, -1)) {
    bool ours = lua_getfield(L, -1, "__newindex") == LUA_TFUNCTION && lua_tocfunction(L, -1) == loaded_newindex;
    lua_pop(L, 2);
    return ours;
  }
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, loaded_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_setmetatable(L, -2);
  return true;
}

void tl_modules_push_cache(lua_State *L) {
  luaL_checkstack(L, 8, "too many nested values");
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &CACHE_KEY) == LUA_TUSERDATA) return;
  lua_pop(L, 1);
  module_cache *c = (module_cache *)lua_newuserdatauv(L, sizeof *c, 1);
  memset(c, 0, sizeof *c);
  if (luaL_getsubtable(L, LUA_REGISTRYINDEX, CACHE_META_KEY) == 0) {
    lua_pushcfunction(L, cache_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  int cache = lua_gettop(L);
  lua_newtable(L); /* index -> name */
  int names = cache + 1;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  long n = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    if (lua_istable(L, -1) && lua_type(L, -2) == LUA_TSTRING) {
      if (!tl_ptrmap_put(&c->map, lua_topointer(L, -1), ++n)) luaL_error(L, "not enough memory");
      lua_pushvalue(L, -2);
      lua_rawseti(L, names, n);
    }
    lua_pop(L, 1);
  }
  bool watched = watch_loaded(L);
  lua_pop(L, 1);
  lua_setiuservalue(L, cache, 1);
  if (watched) {
    lua_pushvalue(L, cache);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &CACHE_KEY);
  }
}

const char *tl_modules_name(lua_State *L, int cache, int idx) {
  module_cache *c = (module_cache *)lua_touserdata(L, cache);
  long *i = tl_ptrmap_find(&c->map, lua_topointer(L, idx));
  if (i == NULL) return NULL;
  luaL_checkstack(L, 4, "too many nested values");
  idx = lua_absindex(L, idx);
  lua_getiuservalue(L, cache, 1);
  lua_rawgeti(L, -1, *i);
  lua_remove(L, -2);
  /* Still that module?  (A table removed from package.loaded, or put in
  ** the place of another by hand, is no module of that name.) */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushvalue(L, -2);
  lua_rawget(L, -2);
  bool same = lua_type(L, -3) == LUA_TSTRING && lua_rawequal(L, -1, idx);
  lua_pop(L, 2);
  if (!same) {
    lua_pop(L, 1);
    return NULL;
  }
  return lua_tostring(L, -1);
}
