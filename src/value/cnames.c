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
** of their C functions are kept (threading's sub-tables too:
** "threading.atomic.add").  A sender's table of names gives each function
** its canonical name first; other names (aliases, a script's own fields in
** a library table) only to C functions that have none.
**
** Locking: 'canon.mutex' guards the one-time build; the scratch state
** made under it opens threading, which takes the runtime mutex (so
** canon.mutex comes first; no Lua call of the sender's state under it); the list is immutable once
** published through the atomic 'canon.list'.
*/
#include <stdlib.h>
#include <string.h>

#include "blob.h"

typedef struct canon_list {
  size_t n;
  struct {
    int lib;          /* -1: _G, else the built-in's index (tl_builtins_name) */
    const char *name; /* the field: "add", or in a sub-table "atomic.add" */
  } items[];
} canon_list;

static struct {
  pthread_mutex_t mutex;
  _Atomic(canon_list *) list; /* NULL until built */
} canon = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static const char *lib_name(int i) { return i < 0 ? LUA_GNAME : tl_builtins_name(i); }

/* How deep a library's sub-tables hold C functions that cross by name:
** threading's one level (threading.atomic), the others none. */
static int lib_depth(int i) { return i >= 0 && strcmp(tl_builtins_name(i), TL_MODNAME) == 0 ? 1 : 0; }

/* Calls fn(L, key, ud) for every C function of the table on top, with
** value on top and key 'prefix.key' ("atomic.add") or the key itself,
** looking into sub-tables down to 'depth' levels. */
static void each_c_function(lua_State *L, const char *prefix, int depth,
                            void (*fn)(lua_State *L, const char *key, void *ud), void *ud) {
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    if (lua_type(L, -2) == LUA_TSTRING) {
      const char *key = prefix ? lua_pushfstring(L, "%s.%s", prefix, lua_tostring(L, -2)) : lua_tostring(L, -2);
      if (prefix) lua_insert(L, -2); /* key, full key, value */
      if (lua_iscfunction(L, -1)) fn(L, key, ud);
      else if (depth > 0 && lua_istable(L, -1)) each_c_function(L, key, depth - 1, fn, ud);
      if (prefix) lua_remove(L, -2);
    }
    lua_pop(L, 1);
  }
}

/* Counting, then filling the list (names copied after it, in one block). */
typedef struct builder {
  canon_list *list;
  int lib;
  size_t n, bytes;
  char *text;
} builder;

static void note_name(lua_State *L, const char *key, void *ud) {
  (void)L;
  builder *b = (builder *)ud;
  size_t len = strlen(key);
  if (b->list == NULL) {
    b->n++;
    b->bytes += len + 1;
  } else if (b->list->n < b->n) {
    memcpy(b->text, key, len + 1);
    b->list->items[b->list->n].lib = b->lib;
    b->list->items[b->list->n].name = b->text;
    b->list->n++;
    b->text += len + 1;
  }
}

/* In protected mode, in the scratch state: the libraries, threading, and
** the list of their C functions' names (light userdata 1: where to put
** it). */
static int build(lua_State *L) {
  canon_list **out = (canon_list **)lua_touserdata(L, 1);
  luaL_openlibs(L);
  tl_builtins_require(L, TL_MODNAME); /* the process is initialised: no side effect */
  lua_pop(L, 1);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  int loaded = lua_gettop(L);
  builder b = {NULL, 0, 0, 0, NULL};
  for (int pass = 0; pass < 2; pass++) { /* count, then fill */
    if (pass == 1) {
      b.list = malloc(sizeof *b.list + b.n * sizeof b.list->items[0] + b.bytes);
      if (b.list == NULL) return luaL_error(L, "not enough memory");
      b.text = (char *)&b.list->items[b.n];
      b.list->n = 0;
    }
    for (int i = -1; lib_name(i) != NULL; i++) {
      b.lib = i;
      if (lua_getfield(L, loaded, lib_name(i)) == LUA_TTABLE) each_c_function(L, NULL, lib_depth(i), note_name, &b);
      lua_pop(L, 1);
    }
  }
  *out = b.list;
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

/* names[f] = "lib.name" for the C function f on top of L, unless f has a
** name already.  (names is an absolute index.) */
static void name_function(lua_State *L, int names, int lib, const char *name) {
  if (!lua_iscfunction(L, -1)) return;
  lua_pushvalue(L, -1);
  if (lua_rawget(L, names) != LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
  lua_pushfstring(L, "%s.%s", lib_name(lib), name);
  lua_rawset(L, names);
}

typedef struct aliases {
  int names, lib;
} aliases;

static void name_alias(lua_State *L, const char *key, void *ud) {
  aliases *a = (aliases *)ud;
  name_function(L, a->names, a->lib, key);
}

/* Pushes lib[name], following one dot into a sub-table ("atomic.add"). */
static void push_field(lua_State *L, const char *name) {
  const char *dot = strchr(name, '.');
  if (dot == NULL) {
    lua_getfield(L, -1, name);
    return;
  }
  lua_pushlstring(L, name, (size_t)(dot - name));
  if (lua_rawget(L, -2) == LUA_TTABLE) lua_getfield(L, -1, dot + 1);
  else lua_pushnil(L);
  lua_remove(L, -2);
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
    push_field(L, list->items[k].name);
    name_function(L, names, lib, list->items[k].name);
    lua_pop(L, 1);
  }
  if (open != -2) lua_pop(L, 1);
  /* Then every other C function found in those tables, under the name it
  ** has there (a library extended by the script, an alias). */
  for (int i = -1; lib_name(i) != NULL; i++) {
    aliases a = {names, i};
    if (lua_getfield(L, loaded, lib_name(i)) == LUA_TTABLE) each_c_function(L, NULL, lib_depth(i), name_alias, &a);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}
