/*
** blob_encode.c -- copying Lua values out of a state into a blob.
**
** Values never move directly between two states (they belong to different
** threads).  The sender encodes them into a "blob", a flat byte string in
** C memory; any receiver decodes the blob into its own state, as often as
** it likes.  What a blob can hold (the contract, "Values that cross"):
**
**   nil, booleans, integers and floats (subtype kept), strings (any bytes);
**   tables, deeply, with cycles and shared sub-tables kept and metatables
**     copied;
**   Lua functions, as bytecode plus their upvalues; upvalues shared by
**     several functions of one blob stay shared; the upvalue _ENV (whatever
**     table it holds: the globals, a test runner's environment) becomes the
**     receiver's globals;
**   modules: a table in package.loaded (string, threading, threading.log,
**     a script's own module), as a value or an upvalue, by name: the
**     receiver gets its own module of that name, required there if need be;
**   the sender's global table, wherever it appears, as the receiver's;
**   C functions found in the standard library tables (_G included) and in
**     threading (and its sub-tables), by their canonical name
**     ("string.format", "threading.atomic.add", whatever aliases the sender
**     made: cnames.c), required in the receiver if need be;
**   threading objects, by reference (the blob holds a reference);
**   a table whose metatable has __reduce, as the call it names, made by
**     the receiver (threading.log's loggers: the receiver's of that name).
**
** Anything else raises an error naming the type and where it was found:
** "args[2].conn: cannot send userdata".
**
** Encoding runs in protected mode, so an error (or a memory error) frees
** the partial blob.  Tables and functions get ids in the order they are
** met; the decoder (blob_decode.c) numbers them the same way, so a later
** T_REF finds them.  A function sent again is dumped once (DUMPS_KEY, a
** weak table in the sender's registry).  The format: blob.h.
**
** Locking: none.  Callers encode with no mutex held (kernel.h rule 3).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"

/* Where a value sits, for error messages: a chain from leaf to root. */
typedef struct path {
  const struct path *parent;
  enum { P_ROOT, P_INDEX, P_KEY, P_UPVALUE, P_METATABLE, P_TABLEKEY, P_REDUCED } kind;
  int key;          /* P_KEY: stack index of the key; P_INDEX: the index */
  const char *name; /* P_ROOT: the root name; P_UPVALUE: upvalue name */
} path;

typedef struct encoder {
  lua_State *L;
  char *buf;
  size_t len, cap;
  tl_object **objs;
  size_t nobjs, capobjs;
  tl_ptrmap ids;    /* table/function (lua_topointer) -> id */
  tl_ptrmap upvals; /* upvalue (lua_upvalueid) -> func id * 256 + n */
  int modules;     /* stack index of the state's module cache (nil until needed) */
  int cnames;     /* stack index of the C function name table (nil until needed) */
  int kept;       /* stack index of a table keeping __reduce's results alive (nil until needed) */
  bool cnames_fresh; /* the name table was built by this encoding (not taken from the cache) */
  int next_id;
  const void *globals;
  int nvalues;
  bool numbered;  /* values named what[first_index], what[first_index+1]... */
  bool has_refs;  /* a T_REF or T_UPREF was written */
  int first_index;
} encoder;

static void grow(encoder *e, size_t extra) {
  if (e->len + extra <= e->cap && e->buf != NULL) return;
  size_t cap = e->cap ? e->cap * 2 : 256;
  while (cap < e->len + extra) cap *= 2;
  char *nb = realloc(e->buf, cap);
  if (nb == NULL) luaL_error(e->L, "not enough memory");
  e->buf = nb;
  e->cap = cap;
}

static void put(encoder *e, const void *p, size_t n) {
  if (e->len + n > e->cap) grow(e, n);
  memcpy(e->buf + e->len, p, n);
  e->len += n;
}

static void put_tag(encoder *e, unsigned char tag) {
  if (e->len + 1 > e->cap) grow(e, 1);
  e->buf[e->len++] = (char)tag;
}

static void put_size(encoder *e, size_t n) { put(e, &n, sizeof n); }

static void put_string(encoder *e, const char *s, size_t n) {
  put_size(e, n);
  put(e, s, n);
}

static bool is_identifier(const char *k, size_t n) {
  if (n == 0 || (k[0] >= '0' && k[0] <= '9')) return false;
  for (size_t i = 0; i < n; i++) {
    char c = k[i];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      return false;
  }
  return true;
}

/* Pushes a string key as ["..."], escaped like %q but on one line. */
static void push_quoted_key(lua_State *L, const char *k, size_t n) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "[\"");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)k[i];
    if (c == '"' || c == '\\') {
      luaL_addchar(&b, '\\');
      luaL_addchar(&b, (char)c);
    } else if (c < 32 || c == 127) {
      char esc[8];
      snprintf(esc, sizeof esc, "\\%d", c);
      luaL_addstring(&b, esc);
    } else {
      luaL_addchar(&b, (char)c);
    }
  }
  luaL_addstring(&b, "\"]");
  luaL_pushresult(&b);
}

/* Formats the path into a string on the stack, root first:
** args[2].conn, args[1]["a b"][3], target<upvalue co>, x<metatable>.__index,
** x<key> (a key that cannot cross), x[table key] (the value of such a key). */
static void push_path(lua_State *L, const path *p) {
  if (p == NULL) {
    lua_pushliteral(L, "");
    return;
  }
  push_path(L, p->parent);
  switch (p->kind) {
    case P_ROOT: lua_pushstring(L, p->name); break;
    case P_INDEX: lua_pushfstring(L, "[%d]", p->key); break;
    case P_KEY: {
      int t = lua_type(L, p->key);
      if (t == LUA_TSTRING) {
        size_t n;
        const char *k = lua_tolstring(L, p->key, &n);
        if (is_identifier(k, n)) lua_pushfstring(L, ".%s", k);
        else push_quoted_key(L, k, n);
      } else if (t == LUA_TNUMBER || t == LUA_TBOOLEAN) {
        luaL_tolstring(L, p->key, NULL);
        lua_pushfstring(L, "[%s]", lua_tostring(L, -1));
        lua_remove(L, -2);
      } else {
        lua_pushfstring(L, "[%s key]", luaL_typename(L, p->key));
      }
      break;
    }
    case P_UPVALUE: lua_pushfstring(L, "<upvalue %s>", p->name); break;
    case P_METATABLE: lua_pushliteral(L, "<metatable>"); break;
    case P_TABLEKEY: lua_pushliteral(L, "<key>"); break;
    case P_REDUCED: lua_pushliteral(L, "<__reduce>"); break;
  }
  lua_concat(L, 2);
}

static int fail(encoder *e, const path *p, const char *what) {
  push_path(e->L, p);
  return luaL_error(e->L, "%s: cannot send %s", lua_tostring(e->L, -1), what);
}

static void encode_value(encoder *e, int idx, const path *p, int depth);

static void remember(encoder *e, tl_ptrmap *m, const void *key, long val) {
  if (!tl_ptrmap_put(m, key, val)) luaL_error(e->L, "not enough memory");
}

/* Has this table/function been met already?  Then writes a T_REF and
** returns true.  (Pointers identify them: every value is alive while the
** encoding runs, held by the stack, by the values that hold it, or, for
** what __reduce returned, by 'kept'.) */
static bool write_ref(encoder *e, const void *key) {
  long *id = tl_ptrmap_find(&e->ids, key);
  if (id == NULL) return false;
  unsigned int ref = (unsigned int)*id;
  put_tag(e, T_REF);
  e->has_refs = true;
  put(e, &ref, sizeof ref);
  return true;
}

/* write_ref, or else gives the value at idx the next id. */
static bool encode_ref(encoder *e, int idx) {
  const void *key = lua_topointer(e->L, idx);
  if (write_ref(e, key)) return true;
  remember(e, &e->ids, key, ++e->next_id);
  return false;
}

/* Writes the value at idx if it is nil, a boolean, a number or a string
** (no identity, no path needed); returns false for any other type. */
static bool encode_scalar(encoder *e, int idx, int type) {
  lua_State *L = e->L;
  switch (type) {
    case LUA_TNIL: put_tag(e, T_NIL); return true;
    case LUA_TBOOLEAN: put_tag(e, lua_toboolean(L, idx) ? T_TRUE : T_FALSE); return true;
    case LUA_TNUMBER: {
      if (lua_isinteger(L, idx)) {
        lua_Integer i = lua_tointeger(L, idx);
        put_tag(e, T_INT);
        put(e, &i, sizeof i);
      } else {
        lua_Number n = lua_tonumber(L, idx);
        put_tag(e, T_FLOAT);
        put(e, &n, sizeof n);
      }
      return true;
    }
    case LUA_TSTRING: { /* the commonest value: one capacity check, then the bytes */
      size_t n;
      const char *s = lua_tolstring(L, idx, &n);
      if (e->len + 1 + sizeof n + n > e->cap) grow(e, 1 + sizeof n + n);
      char *out = e->buf + e->len;
      out[0] = (char)T_STR;
      memcpy(out + 1, &n, sizeof n);
      memcpy(out + 1 + sizeof n, s, n);
      e->len += 1 + sizeof n + n;
      return true;
    }
    default: return false;
  }
}

static void encode_table(encoder *e, int idx, const path *p, int depth) {
  lua_State *L = e->L;
  if (!lua_checkstack(L, 8)) luaL_error(L, "stack overflow while copying a value");
  if (encode_ref(e, idx)) return;
  /* T_TABLE, the sizes (so the receiver makes the table at its final size),
  ** then the entries in traversal order, then T_END.  The array part comes
  ** out of lua_next as 1, 2, 3...: such an entry is written as T_NEXT and
  ** its value, without the key. */
  put_tag(e, T_TABLE);
  size_t narr = (size_t)lua_rawlen(L, idx);
  size_t at = e->len;
  put_size(e, narr);
  put_size(e, 0); /* other pairs, patched below */
  size_t npairs = 0;
  lua_Integer next_index = 1;
  lua_pushnil(L);
  int k = lua_gettop(L), v = k + 1; /* where lua_next leaves each pair */
  while (lua_next(L, idx)) {
    /* (an integral float is never a key; "1", a string, is not index 1) */
    if (lua_isinteger(L, k) && lua_tointegerx(L, k, NULL) == next_index) {
      put_tag(e, T_NEXT);
      next_index++;
    } else {
      path kp = {p, P_TABLEKEY, 0, NULL};
      encode_value(e, k, &kp, depth + 1);
      npairs++;
    }
    /* the common values directly (deeper than the limit: encode_value's error) */
    if (depth >= MAX_DEPTH || !encode_scalar(e, v, lua_type(L, v))) {
      path vp = {p, P_KEY, k, NULL};
      encode_value(e, v, &vp, depth + 1);
    }
    lua_pop(L, 1);
  }
  memcpy(e->buf + at + sizeof(size_t), &npairs, sizeof npairs);
  put_tag(e, T_END);
  if (lua_getmetatable(L, idx)) {
    path mp = {p, P_METATABLE, 0, NULL};
    encode_value(e, lua_gettop(L), &mp, depth + 1);
    lua_pop(L, 1);
  } else {
    put_tag(e, T_NIL);
  }
}

static int dump_writer(lua_State *L, const void *b, size_t size, void *ud) {
  (void)L;
  put((encoder *)ud, b, size);
  return 0;
}

/* A table in package.loaded (a module: string, threading, threading.log, a
** script's own) is sent by name (modules.c): the receiver gets its own
** module of that name, required there if need be. */
static bool encode_module(encoder *e, int idx) {
  lua_State *L = e->L;
  if (!lua_isuserdata(L, e->modules)) { /* in its reserved slot, as cnames */
    tl_modules_push_cache(L);
    lua_replace(L, e->modules);
  }
  const char *name = tl_modules_name(L, e->modules, idx);
  if (name == NULL) return false;
  size_t n = lua_rawlen(L, -1);
  put_tag(e, T_MODULE);
  put_string(e, name, n);
  lua_pop(L, 1);
  return true;
}

/* A table whose metatable has a __reduce function crosses as a call the
** receiver makes (Python's __reduce__): __reduce(t) returns a module
** name, the name of a function of that module and its arguments, and the
** receiver gets require(module)[name](arguments...).  threading.log's
** loggers cross so, as the receiver's logger of the same name.  Its id is
** taken after its arguments', as the decoder registers it after the call. */
static bool encode_reduced(encoder *e, int idx, const path *p, int depth) {
  lua_State *L = e->L;
  if (!lua_getmetatable(L, idx)) return false;
  lua_pushliteral(L, "__reduce");
  if (lua_rawget(L, -2) != LUA_TFUNCTION) {
    lua_pop(L, 2);
    return false;
  }
  lua_remove(L, -2);
  const void *key = lua_topointer(L, idx);
  if (write_ref(e, key)) { /* met before: the same value */
    lua_pop(L, 1);
    return true;
  }
  int top = lua_gettop(L) - 1;
  lua_pushvalue(L, idx);
  lua_call(L, 1, LUA_MULTRET);
  int n = lua_gettop(L) - top;
  if (n < 2 || lua_type(L, top + 1) != LUA_TSTRING || lua_type(L, top + 2) != LUA_TSTRING || n - 2 > 250) {
    push_path(L, p);
    luaL_error(L, "%s: cannot send a table whose __reduce does not return a module name, a function name "
               "and at most 250 arguments", lua_tostring(L, -1));
  }
  if (!lua_checkstack(L, 8)) luaL_error(L, "stack overflow while copying a value");
  put_tag(e, T_REDUCED);
  for (int i = 1; i <= 2; i++) {
    size_t len;
    const char *s = lua_tolstring(L, top + i, &len);
    put_string(e, s, len);
  }
  unsigned char nargs = (unsigned char)(n - 2);
  put(e, &nargs, 1);
  path rp = {p, P_REDUCED, 0, NULL};
  for (int i = 3; i <= n; i++) encode_value(e, top + i, &rp, depth + 1);
  remember(e, &e->ids, key, ++e->next_id);
  /* The results now have ids by address: they must outlive the encoding,
  ** or a later value could take one's address (and its T_REF). */
  if (!lua_istable(L, e->kept)) { /* in its reserved slot, as cnames */
    lua_newtable(L);
    lua_replace(L, e->kept);
  }
  for (int i = 3; i <= n; i++) {
    lua_pushvalue(L, top + i);
    lua_rawseti(L, e->kept, (lua_Integer)lua_rawlen(L, e->kept) + 1);
  }
  lua_settop(L, top);
  return true;
}

static void encode_lua_function(encoder *e, int idx, const path *p, int depth) {
  lua_State *L = e->L;
  if (!lua_checkstack(L, 8)) luaL_error(L, "stack overflow while copying a value");
  if (encode_ref(e, idx)) return;
  int func_id = e->next_id;
  put_tag(e, T_LFUNC);
  size_t at = e->len;
  put_size(e, 0); /* the dump's length, patched below */
  /* A function sent again (an executor task...) is dumped once: the
  ** bytecode is kept in a weak table of this state. */
  if (luaL_getsubtable(L, LUA_REGISTRYINDEX, DUMPS_KEY) == 0) {
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
  }
  lua_pushvalue(L, idx);
  if (lua_rawget(L, -2) == LUA_TSTRING) {
    size_t n;
    const char *bytes = lua_tolstring(L, -1, &n);
    put(e, bytes, n);
    lua_pop(L, 2);
  } else {
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    lua_dump(L, dump_writer, e, 0);
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    lua_pushlstring(L, e->buf + at + sizeof(size_t), e->len - at - sizeof(size_t));
    lua_rawset(L, -3);
    lua_pop(L, 1);
  }
  size_t dumped = e->len - at - sizeof(size_t);
  memcpy(e->buf + at, &dumped, sizeof dumped);
  unsigned char nups = 0;
  while (lua_getupvalue(L, idx, nups + 1) != NULL) {
    lua_pop(L, 1);
    nups++;
  }
  put(e, &nups, 1);
  for (int n = 1; n <= nups; n++) {
    void *uid = lua_upvalueid(L, idx, n);
    long *shared = tl_ptrmap_find(&e->upvals, uid);
    if (shared != NULL) { /* shared with an earlier function */
      long where = *shared;
      unsigned int fid = (unsigned int)(where >> 8);
      unsigned char un = (unsigned char)(where & 0xff);
      put_tag(e, T_UPREF);
      e->has_refs = true;
      put(e, &fid, sizeof fid);
      put(e, &un, 1);
      continue;
    }
    remember(e, &e->upvals, uid, (long)func_id * 256 + n);
    const char *name = lua_getupvalue(L, idx, n);
    int v = lua_gettop(L);
    path up = {p, P_UPVALUE, 0, (name && *name) ? name : "?"};
    if (name != NULL && strcmp(name, "_ENV") == 0 && lua_type(L, v) == LUA_TTABLE)
      put_tag(e, T_GLOBALS); /* whatever environment it had (busted's, a sandbox) */
    else
      encode_value(e, v, &up, depth + 1);
    lua_pop(L, 1);
  }
}

/* Names of the C functions that may cross: those of the standard
** libraries and of threading, as "module.name" ("_G.print"), canonical
** names before aliases (cnames.c). */
/* The state keeps its table of names (weak keys) in its registry: building
** it walks every library (about 500k instructions).  A function it does
** not name (a new alias, a function set since) makes this encoding build
** it afresh, once; a name it still has for a function replaced since is
** that function's own name, which the receiver resolves in its state. */
static const char CNAMES_KEY = 'n';

static void make_cnames(encoder *e, bool fresh) {
  lua_State *L = e->L;
  if (!fresh && lua_istable(L, e->cnames)) return;
  /* Put in the slot reserved by encode_protected: pushing it on top of
  ** the stack would break an enclosing lua_next traversal. */
  if (!fresh && lua_rawgetp(L, LUA_REGISTRYINDEX, &CNAMES_KEY) == LUA_TTABLE) {
    lua_replace(L, e->cnames);
    return;
  }
  if (!fresh) lua_pop(L, 1);
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &CNAMES_KEY);
  lua_replace(L, e->cnames);
  tl_cnames_fill(L, e->cnames);
  e->cnames_fresh = true;
}

static void encode_c_function(encoder *e, int idx, const path *p) {
  lua_State *L = e->L;
  make_cnames(e, false);
  lua_pushvalue(L, idx);
  if (lua_rawget(L, e->cnames) != LUA_TSTRING && !e->cnames_fresh) { /* named since? */
    lua_pop(L, 1);
    make_cnames(e, true);
    lua_pushvalue(L, idx);
    lua_rawget(L, e->cnames);
  }
  if (lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    fail(e, p, "C function (only those of the standard libraries and threading can cross)");
  }
  size_t n;
  const char *name = lua_tolstring(L, -1, &n);
  put_tag(e, T_CFUNC);
  put_string(e, name, n);
  lua_pop(L, 1);
}

static void encode_value(encoder *e, int idx, const path *p, int depth) {
  lua_State *L = e->L;
  if (depth > MAX_DEPTH) {
    push_path(L, p);
    luaL_error(L, "%s: cannot send a value nested more than %d levels deep",
               lua_tostring(L, -1), MAX_DEPTH);
  }
  int type = lua_type(L, idx);
  if (encode_scalar(e, idx, type)) return;
  switch (type) {
    case LUA_TTABLE:
      if (lua_topointer(L, idx) == e->globals) put_tag(e, T_GLOBALS);
      else if (!encode_module(e, idx) && !encode_reduced(e, idx, p, depth)) encode_table(e, idx, p, depth);
      break;
    case LUA_TFUNCTION:
      if (lua_iscfunction(L, idx)) encode_c_function(e, idx, p);
      else encode_lua_function(e, idx, p, depth);
      break;
    case LUA_TUSERDATA: {
      tl_object *o = tl_object_test(L, idx, NULL);
      if (o == NULL) fail(e, p, "userdata");
      if (e->nobjs == e->capobjs) {
        size_t cap = e->capobjs ? e->capobjs * 2 : 4;
        tl_object **no = realloc(e->objs, cap * sizeof *no);
        if (no == NULL) luaL_error(L, "not enough memory");
        e->objs = no;
        e->capobjs = cap;
      }
      tl_object_incref(o);
      e->objs[e->nobjs] = o;
      unsigned int k = (unsigned int)e->nobjs++;
      put_tag(e, T_OBJECT);
      put(e, &k, sizeof k);
      break;
    }
    case LUA_TTHREAD: fail(e, p, "coroutine"); break;
    case LUA_TLIGHTUSERDATA: fail(e, p, "light userdata"); break;
    default: fail(e, p, luaL_typename(L, idx)); break;
  }
}

/* Runs in protected mode: upvalue 1 is the encoder, arguments the values,
** upvalue 2 the root name.  A single value is named by the root alone,
** unless the caller asked for numbered names. */
static int encode_protected(lua_State *L) {
  encoder *e = (encoder *)lua_touserdata(L, lua_upvalueindex(1));
  const char *what = lua_tostring(L, lua_upvalueindex(2));
  int n = lua_gettop(L);
  e->L = L;
  if (!lua_checkstack(L, 4)) luaL_error(L, "stack overflow while copying a value");
  lua_pushnil(L); /* the C function names, made when needed */
  e->cnames = lua_gettop(L);
  lua_pushnil(L); /* the module cache, fetched when needed */
  e->modules = lua_gettop(L);
  lua_pushnil(L); /* __reduce's results, kept when there are any */
  e->kept = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  e->globals = lua_topointer(L, -1);
  lua_pop(L, 1);
  for (int i = 1; i <= n; i++) {
    path root = {NULL, P_ROOT, 0, what};
    path item = {&root, P_INDEX, e->first_index + i - 1, NULL};
    encode_value(e, i, (n > 1 || e->numbered) ? &item : &root, 0);
  }
  grow(e, 0); /* the header's room, even for no values */
  e->nvalues = n;
  return 0;
}

static void free_maps(encoder *e) {
  tl_ptrmap_free(&e->ids);
  tl_ptrmap_free(&e->upvals);
}

static void free_encoder(encoder *e) {
  free_maps(e);
  for (size_t i = 0; i < e->nobjs; i++) tl_object_decref(e->objs[i]);
  free(e->objs);
  free(e->buf);
}

/* Values that are all nil, booleans, numbers or strings need no Lua
** tables, no protected call and no path: the common case of queue items
** and arguments.  Returns NULL if some value is of another type. */
static tl_blob *encode_scalars(lua_State *L, int first, int n) {
  size_t size = 0;
  bool plain = true;
  for (int i = 0; i < n; i++) {
    switch (lua_type(L, first + i)) {
      case LUA_TNIL: case LUA_TBOOLEAN: size += 1; break;
      case LUA_TNUMBER: size += 1 + sizeof(lua_Integer); break;
      case LUA_TSTRING:
        size += 1 + sizeof(size_t) + lua_rawlen(L, first + i);
        plain = false;
        break;
      default: return NULL;
    }
  }
  tl_blob *b = malloc(HEADER + size);
  if (b == NULL) luaL_error(L, "not enough memory");
  char *w = b->data;
  for (int i = 0; i < n; i++) {
    int idx = first + i;
    switch (lua_type(L, idx)) {
      case LUA_TNIL: *w++ = T_NIL; break;
      case LUA_TBOOLEAN: *w++ = lua_toboolean(L, idx) ? T_TRUE : T_FALSE; break;
      case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
          lua_Integer v = lua_tointeger(L, idx);
          *w++ = T_INT;
          memcpy(w, &v, sizeof v);
          w += sizeof v;
        } else {
          lua_Number v = lua_tonumber(L, idx);
          *w++ = T_FLOAT;
          memcpy(w, &v, sizeof v);
          w += sizeof v;
        }
        break;
      default: {
        size_t len;
        const char *str = lua_tolstring(L, idx, &len);
        *w++ = T_STR;
        memcpy(w, &len, sizeof len);
        w += sizeof len;
        memcpy(w, str, len);
        w += len;
      }
    }
  }
  atomic_init(&b->refs, 1);
  b->nvalues = n;
  b->len = size;
  b->nobjs = 0;
  b->objs = NULL;
  b->has_refs = false;
  b->plain = plain;
  return b;
}

static tl_blob *encode_values(lua_State *L, int first, int n, const char *what,
                              bool numbered, int first_index) {
  first = lua_absindex(L, first);
  tl_blob *fast = encode_scalars(L, first, n);
  if (fast != NULL) return fast;
  encoder e;
  memset(&e, 0, sizeof e);
  e.len = HEADER;
  e.numbered = numbered;
  e.first_index = first_index;
  luaL_checkstack(L, n + 4, "too many values to send");
  lua_pushlightuserdata(L, &e);
  lua_pushstring(L, what ? what : "value");
  lua_pushcclosure(L, encode_protected, 2);
  for (int i = 0; i < n; i++) lua_pushvalue(L, first + i);
  if (lua_pcall(L, n, 0, 0) != LUA_OK) {
    free_encoder(&e);
    lua_error(L);
  }
  free_maps(&e);
  tl_blob *b = realloc(e.buf, e.len); /* only shrinks: the bytes stay put */
  if (b == NULL) b = (tl_blob *)e.buf;
  atomic_init(&b->refs, 1);
  b->nvalues = n;
  b->len = e.len - HEADER;
  b->nobjs = e.nobjs;
  b->objs = e.objs;
  b->has_refs = e.has_refs;
  b->plain = false;
  return b;
}

tl_blob *tl_blob_encode(lua_State *L, int first, int n, const char *what) {
  return encode_values(L, first, n, what, false, 1);
}

tl_blob *tl_blob_encode_numbered(lua_State *L, int first, int n, const char *what,
                                 int first_index) {
  return encode_values(L, first, n, what, true, first_index);
}

