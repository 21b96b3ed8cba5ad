/*
** blob_decode.c -- making the values of a blob in a receiving state.
**
** The decoder reads what blob_encode.c wrote (format: blob.h) and pushes
** the values: tables at their final size, functions loaded from their
** bytecode with their upvalues set (shared ones joined again), modules and
** C functions looked up by name in the receiver (opened or required there
** if need be), objects as this state's box.  Tables and functions get ids
** in the order they are met, as the encoder gave them, so T_REF and
** T_UPREF find them.
**
** A closed function (no upvalue but _ENV holding the globals) received
** again is loaded once per state (LOADS_KEY, a weak table in the
** receiver's registry), never twice for one blob.  Blobs of nil, booleans
** and numbers ('plain') decode without a protected call: nothing in them
** allocates.  A corrupt blob raises an error, never reads out of bounds.
**
** Locking: none.  Callers decode with no mutex held (kernel.h rule 3).
*/
#include <limits.h>
#include <string.h>

#include "blob.h"

typedef struct decoder {
  lua_State *L;
  const tl_blob *b;
  const char *p, *end;
  int ids; /* stack index of id -> value */
  int next_id;
  /* The closed functions this blob already got from (or put in) the
  ** state's cache: two distinct functions of one blob stay distinct. */
  const void *closed[8];
  int nclosed;
  bool reuse; /* use the state's cache of loaded closed functions */
} decoder;

static void corrupt(decoder *d) { luaL_error(d->L, "threading: corrupt value blob"); }

static void get(decoder *d, void *out, size_t n) {
  if ((size_t)(d->end - d->p) < n) corrupt(d);
  memcpy(out, d->p, n);
  d->p += n;
}

static const char *get_string(decoder *d, size_t *len) {
  get(d, len, sizeof *len);
  if ((size_t)(d->end - d->p) < *len) corrupt(d);
  const char *s = d->p;
  d->p += *len;
  return s;
}

static void decode_value(decoder *d);

static int register_id(decoder *d) {
  int id = ++d->next_id;
  if (!d->b->has_refs) return id; /* nothing refers back: keep no ids */
  if (lua_isnil(d->L, d->ids)) { /* made at the first table or function */
    lua_newtable(d->L);
    lua_replace(d->L, d->ids);
  }
  lua_pushvalue(d->L, -1);
  lua_rawseti(d->L, d->ids, id);
  return id;
}

static void decode_table(decoder *d) {
  lua_State *L = d->L;
  if (!lua_checkstack(L, 8)) luaL_error(L, "stack overflow while receiving a value");
  size_t narr, npairs;
  get(d, &narr, sizeof narr);
  get(d, &npairs, sizeof npairs);
  size_t left = (size_t)(d->end - d->p); /* every value takes a byte at least */
  if (narr > left) narr = left; /* sizes are hints (#t is any border) */
  if (npairs > left) npairs = left;
  if (narr > (size_t)INT_MAX) narr = 0;
  if (npairs > (size_t)INT_MAX) npairs = 0;
  lua_createtable(L, (int)narr, (int)npairs);
  register_id(d);
  lua_Integer next_index = 1;
  for (;;) {
    if (d->p >= d->end) corrupt(d);
    if (*d->p == T_END) {
      d->p++;
      break;
    }
    if (*d->p == T_NEXT) {
      d->p++;
      lua_Integer i;
      if (d->end - d->p > (ptrdiff_t)sizeof i && *d->p == T_INT) { /* arrays of integers */
        memcpy(&i, d->p + 1, sizeof i);
        d->p += 1 + sizeof i;
        lua_pushinteger(L, i);
      } else if (d->end - d->p > (ptrdiff_t)sizeof(size_t) && *d->p == T_STR) { /* arrays of strings */
        size_t n;
        d->p++;
        const char *s = get_string(d, &n);
        lua_pushlstring(L, s, n);
      } else {
        decode_value(d);
      }
      lua_rawseti(L, -2, next_index++);
      continue;
    }
    decode_value(d);
    decode_value(d);
    if (lua_isnil(L, -2) || (lua_type(L, -2) == LUA_TNUMBER && lua_tonumber(L, -2) != lua_tonumber(L, -2)))
      corrupt(d);
    lua_rawset(L, -3);
  }
  decode_value(d); /* metatable or nil */
  if (lua_istable(L, -1)) lua_setmetatable(L, -2);
  else lua_pop(L, 1);
}

typedef struct chunk {
  const char *p;
  size_t n;
} chunk;

static const char *chunk_reader(lua_State *L, void *ud, size_t *size) {
  (void)L;
  chunk *c = (chunk *)ud;
  *size = c->n;
  c->n = 0;
  return *size ? c->p : NULL;
}

/* Whether the upvalues that follow (count, then each) are all _ENV
** holding the globals, or none: such a function is "closed", it behaves
** the same wherever and however often it arrives. */
static bool closed_function_follows(const decoder *d) {
  if (d->p >= d->end) return false;
  size_t nups = (unsigned char)*d->p;
  if ((size_t)(d->end - d->p) <= nups) return false;
  for (size_t i = 1; i <= nups; i++)
    if (d->p[i] != T_GLOBALS) return false;
  return true;
}

/* Is the function on top still closed (nobody changed its upvalues with
** the debug library)? */
static bool still_closed(lua_State *L) {
  for (int i = 1; lua_getupvalue(L, -1, i) != NULL; i++) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    bool globals = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (!globals) return false;
  }
  return true;
}

/* Notes that this blob has the closed function on top; false if it has
** it already (or no more can be noted: then it is not cached). */
static bool note_closed(decoder *d) {
  const void *f = lua_topointer(d->L, -1);
  for (int i = 0; i < d->nclosed; i++)
    if (d->closed[i] == f) return false;
  if (d->nclosed == (int)(sizeof d->closed / sizeof d->closed[0])) return false;
  d->closed[d->nclosed++] = f;
  return true;
}

/* A closed function arriving again (an executor's task, a worker's
** target) is loaded once per state: it is looked up by its bytecode in a
** weak-valued table.  Pushes it and returns true if found (and not used
** by this blob already). */
static bool reuse_loaded(decoder *d, const char *bytes, size_t n) {
  lua_State *L = d->L;
  if (luaL_getsubtable(L, LUA_REGISTRYINDEX, LOADS_KEY) == 0) {
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
  }
  lua_pushlstring(L, bytes, n);
  if (lua_rawget(L, -2) == LUA_TFUNCTION && still_closed(L) && note_closed(d)) {
    lua_remove(L, -2);
    return true;
  }
  lua_pop(L, 2);
  return false;
}

static void remember_loaded(lua_State *L, const char *bytes, size_t n) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LOADS_KEY); /* made by reuse_loaded */
  lua_pushlstring(L, bytes, n);
  lua_pushvalue(L, -3);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

static void decode_lua_function(decoder *d) {
  lua_State *L = d->L;
  if (!lua_checkstack(L, 8)) luaL_error(L, "stack overflow while receiving a value");
  size_t n;
  chunk c;
  c.p = get_string(d, &n);
  c.n = n;
  bool closed = d->reuse && closed_function_follows(d);
  if (closed && reuse_loaded(d, c.p, n)) {
    register_id(d);
    d->p += 1 + (unsigned char)*d->p; /* the upvalues: all the globals */
    return;
  }
  if (lua_load(L, chunk_reader, &c, "=(sent function)", "b") != LUA_OK) lua_error(L);
  int f = lua_gettop(L);
  if (closed && note_closed(d)) remember_loaded(L, c.p, n);
  register_id(d);
  unsigned char nups;
  get(d, &nups, 1);
  for (int i = 1; i <= nups; i++) {
    if (d->p < d->end && *d->p == T_UPREF) {
      d->p++;
      unsigned int fid;
      unsigned char un;
      get(d, &fid, sizeof fid);
      get(d, &un, 1);
      if (lua_isnil(L, d->ids) || lua_rawgeti(L, d->ids, (lua_Integer)fid) != LUA_TFUNCTION) corrupt(d);
      lua_upvaluejoin(L, f, i, -1, un);
      lua_pop(L, 1);
    } else {
      decode_value(d);
      if (lua_setupvalue(L, f, i) == NULL) lua_pop(L, 1);
    }
  }
}

/* Pushes this state's module 'name' (opened or required now if this
** state has not loaded it yet). */
static void push_module(lua_State *L, const char *name, size_t n) {
  lua_pushlstring(L, name, n); /* a NUL-terminated copy */
  tl_builtins_require(L, lua_tostring(L, -1));
  lua_remove(L, -2);
}

static void decode_module(decoder *d) {
  size_t n;
  const char *name = get_string(d, &n);
  push_module(d->L, name, n);
}

/* A table sent as a call (blob_encode.c, encode_reduced): module name,
** function name, arguments; the result is the value. */
static void decode_reduced(decoder *d) {
  lua_State *L = d->L;
  size_t mn, fn;
  const char *module = get_string(d, &mn);
  const char *field = get_string(d, &fn);
  unsigned char nargs;
  get(d, &nargs, 1);
  if (!lua_checkstack(L, nargs + 8)) luaL_error(L, "stack overflow while receiving a value");
  push_module(L, module, mn);
  lua_pushlstring(L, field, fn);
  if (lua_type(L, -2) != LUA_TTABLE || lua_gettable(L, -2) != LUA_TFUNCTION)
    luaL_error(L, "cannot receive a value made by '%s': not a function in this thread",
               lua_pushfstring(L, "%s.%s", lua_pushlstring(L, module, mn), lua_pushlstring(L, field, fn)));
  lua_remove(L, -2);
  for (int i = 0; i < nargs; i++) decode_value(d);
  lua_call(L, nargs, 1);
  register_id(d);
}

/* "lib.name" (or "lib.table.name"): the function 'name' of this state's
** module 'lib' (or of its field 'table'). */
static void decode_c_function(decoder *d) {
  lua_State *L = d->L;
  size_t n;
  const char *name = get_string(d, &n);
  const char *dot = memchr(name, '.', n);
  if (dot == NULL) corrupt(d);
  push_module(L, name, (size_t)(dot - name));
  while (dot != NULL && lua_type(L, -1) == LUA_TTABLE) {
    const char *field = dot + 1;
    dot = memchr(field, '.', n - (size_t)(field - name));
    lua_pushlstring(L, field, dot ? (size_t)(dot - field) : n - (size_t)(field - name));
    lua_gettable(L, -2);
    lua_remove(L, -2);
  }
  if (dot != NULL || lua_type(L, -1) != LUA_TFUNCTION)
    luaL_error(L, "cannot receive C function '%s': not available in this thread",
               lua_pushlstring(L, name, n));
}

static void decode_value(decoder *d) {
  lua_State *L = d->L;
  unsigned char tag;
  get(d, &tag, 1);
  switch (tag) {
    case T_NIL: lua_pushnil(L); break;
    case T_FALSE: lua_pushboolean(L, 0); break;
    case T_TRUE: lua_pushboolean(L, 1); break;
    case T_INT: {
      lua_Integer i;
      get(d, &i, sizeof i);
      lua_pushinteger(L, i);
      break;
    }
    case T_FLOAT: {
      lua_Number n;
      get(d, &n, sizeof n);
      lua_pushnumber(L, n);
      break;
    }
    case T_STR: {
      size_t n;
      const char *s = get_string(d, &n);
      lua_pushlstring(L, s, n);
      break;
    }
    case T_TABLE: decode_table(d); break;
    case T_REF: {
      unsigned int id;
      get(d, &id, sizeof id);
      if (id == 0 || (int)id > d->next_id || lua_isnil(L, d->ids)) corrupt(d);
      lua_rawgeti(L, d->ids, (lua_Integer)id);
      break;
    }
    case T_LFUNC: decode_lua_function(d); break;
    case T_CFUNC: decode_c_function(d); break;
    case T_OBJECT: {
      unsigned int k;
      get(d, &k, sizeof k);
      if (k >= d->b->nobjs) corrupt(d);
      tl_object_push(L, d->b->objs[k]);
      break;
    }
    case T_GLOBALS: lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS); break;
    case T_MODULE: decode_module(d); break;
    case T_REDUCED: decode_reduced(d); break;
    default: corrupt(d);
  }
}

/* 'reuse': look closed functions up in (and add them to) the state's
** cache of loaded functions; not worth it for what a state receives once. */
static int decode(lua_State *L, const tl_blob *b, bool reuse) {
  decoder d;
  d.L = L;
  d.b = b;
  d.p = b->data;
  d.end = b->data + b->len;
  d.next_id = 0;
  d.nclosed = 0;
  d.reuse = reuse;
  luaL_checkstack(L, b->nvalues + 8, "too many values received");
  lua_pushnil(L); /* id -> value, made at the first table or function */
  d.ids = lua_gettop(L);
  for (int i = 0; i < b->nvalues; i++) decode_value(&d);
  lua_remove(L, d.ids);
  return b->nvalues;
}

int tl_blob_decode(lua_State *L, const tl_blob *b) { return decode(L, b, true); }

static int decode_protected(lua_State *L) {
  const tl_blob *b = (const tl_blob *)lua_touserdata(L, 1);
  bool reuse = lua_toboolean(L, 2);
  lua_settop(L, 0);
  return decode(L, b, reuse);
}

static int decode_release(lua_State *L, tl_blob *b, bool reuse) {
  int top = lua_gettop(L);
  if (!lua_checkstack(L, b->plain ? b->nvalues + 8 : 3)) {
    tl_blob_free(b);
    luaL_error(L, "stack overflow while receiving a value");
  }
  if (b->plain) { /* numbers and the like: nothing can fail, no protected call */
    int n = tl_blob_decode(L, b);
    tl_blob_free(b);
    return n;
  }
  lua_pushcfunction(L, decode_protected);
  lua_pushlightuserdata(L, b);
  lua_pushboolean(L, reuse);
  int status = lua_pcall(L, 2, LUA_MULTRET, 0);
  tl_blob_free(b);
  if (status != LUA_OK) lua_error(L);
  return lua_gettop(L) - top;
}

int tl_blob_decode_release(lua_State *L, tl_blob *b) { return decode_release(L, b, true); }

int tl_blob_decode_release_once(lua_State *L, tl_blob *b) { return decode_release(L, b, false); }

