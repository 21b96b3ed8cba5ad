/*
** object.c -- reference-counted C objects shared by every thread.
**
** A tl_object (a Lock, a Queue, a Thread...) lives in C memory.  Each Lua
** state that sees it holds one "box": a full userdata containing the
** pointer, with the kind's metatable.  A box owns one reference; its __gc
** drops it.  Blobs (transfer.c) and running threads hold references too.
** The object is destroyed when the last reference goes, in whichever
** thread drops it.
**
** Every state keeps at most one box per object (a weak-valued cache in
** its registry), so the same lock received twice compares equal and can
** be used as a table key.  A box is recognised by the identity of its
** metatable (a registry table: metatable -> kind), so Lua code that
** edits a metatable cannot make other userdata pass for an object.
**
** Locking: reference counts are atomics; nothing here takes a mutex.
** 'destroy' runs with no lock held and must not call into Lua.
*/
#include <stdio.h>
#include <string.h>

#include "tlua.h"

static atomic_long live_objects;

static const char BOXES_KEY[] = "tlua.boxes"; /* registry: object -> box */
static const char KINDS_KEY = 'k'; /* registry[&KINDS_KEY]: metatable -> kind */

void tl_object_init(tl_object *o, const tl_kind *kind) {
  o->kind = kind;
  atomic_init(&o->refs, 1);
  atomic_fetch_add(&live_objects, 1);
  if (kind->describe != NULL) tl_deadlock_track(o);
}

void tl_object_incref(tl_object *o) {
  atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
}

void tl_object_decref(tl_object *o) {
  if (atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1) {
    atomic_fetch_sub(&live_objects, 1);
    if (o->kind->describe != NULL) tl_deadlock_untrack(o);
    o->kind->destroy(o);
  }
}

long tl_object_live_count(void) { return atomic_load(&live_objects); }

/* --- boxes -------------------------------------------------------- */

/* The kind of the box at idx, or NULL if the value is not a box.  A box
** is recognised by the identity of its metatable, never by a field in it:
** Lua code can reach and edit the metatable (getmetatable(lock)) and
** could otherwise make any userdata pass for any kind, or call __gc or
** __index with a foreign userdata. */
/* The fast way first: a kind's methods and metamethods are C closures
** whose upvalues are the kind's metatable and the kind itself, so when
** the running C function is one of them and the value has that very
** metatable, its kind is known without a registry lookup.  (Any other C
** function has other upvalues, or none: lua_upvalueindex then yields a
** value no metatable is raw-equal to.  Only the debug library could
** change these upvalues, as it could change any userdata's metatable.)
** The metatable is left on the stack either way. */
static const tl_kind *caller_kind(lua_State *L) {
  if (!lua_rawequal(L, -1, lua_upvalueindex(1))) return NULL;
  return (const tl_kind *)lua_touserdata(L, lua_upvalueindex(2));
}

static const tl_kind *box_kind(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) return NULL;
  const tl_kind *kind = caller_kind(L);
  if (kind != NULL) {
    lua_pop(L, 1);
    return kind;
  }
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &KINDS_KEY) == LUA_TTABLE) {
    lua_pushvalue(L, -2);
    lua_rawget(L, -2);
    kind = (const tl_kind *)lua_touserdata(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  return kind;
}

static int box_gc(lua_State *L) {
  if (box_kind(L, 1) == NULL) return 0; /* called by hand on something else */
  tl_object **box = (tl_object **)lua_touserdata(L, 1);
  if (*box != NULL) {
    tl_object *o = *box;
    *box = NULL;
    tl_object_decref(o);
  }
  return 0;
}

static tl_object *box_object(lua_State *L, int idx) {
  if (box_kind(L, idx) == NULL) luaL_typeerror(L, idx, "threading object");
  tl_object **box = (tl_object **)lua_touserdata(L, idx);
  if (*box == NULL) luaL_error(L, "threading object used after collection");
  return *box;
}

/* __index: methods first, then the kind's fields.  (A method is found
** without checking the box: every method checks its own 'self'.) */
static int box_index(lua_State *L) {
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  tl_object *o = box_object(L, 1);
  if (o->kind->getfield != NULL && lua_type(L, 2) == LUA_TSTRING &&
      o->kind->getfield(L, o, lua_tostring(L, 2)))
    return 1;
  lua_pushnil(L);
  return 1;
}

static int box_newindex(lua_State *L) {
  tl_object *o = box_object(L, 1);
  if (o->kind->setfield != NULL && lua_type(L, 2) == LUA_TSTRING &&
      o->kind->setfield(L, o, lua_tostring(L, 2), 3))
    return 0;
  return luaL_error(L, "cannot set field '%s' of a %s", luaL_tolstring(L, 2, NULL),
                    o->kind->name);
}

static int box_tostring(lua_State *L) {
  tl_object *o = box_object(L, 1);
  lua_pushfstring(L, "%s: %p", o->kind->name, (void *)o);
  return 1;
}

/* Pushes the metatable of 'kind', creating it in this state if needed. */
static void push_metatable(lua_State *L, const tl_kind *kind) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, kind) != LUA_TNIL) return;
  lua_pop(L, 1);
  lua_createtable(L, 0, 8);
  int mt = lua_gettop(L);
  /* Every C function of the kind is a closure over (metatable, kind): see caller_kind. */
#define PUSH_KIND_CLOSURE(f) \
  (lua_pushvalue(L, mt), lua_pushlightuserdata(L, (void *)kind), lua_pushcclosure(L, (f), 2))
  lua_pushfstring(L, TL_MODNAME ".%s", kind->name);
  lua_setfield(L, -2, "__name");
  PUSH_KIND_CLOSURE(box_gc);
  lua_setfield(L, -2, "__gc");
  PUSH_KIND_CLOSURE(box_tostring);
  lua_setfield(L, -2, "__tostring");
  PUSH_KIND_CLOSURE(box_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_newtable(L); /* methods */
  lua_pushvalue(L, -1);
  if (kind->getfield != NULL) /* methods, then fields */
    lua_pushcclosure(L, box_index, 1);
  /* else the methods table itself: no C call per method lookup */
  lua_setfield(L, -3, "__index");
  /* The kind's own entries; its metamethods override the defaults. */
  for (const luaL_Reg *r = kind->methods; r != NULL && r->name != NULL; r++) {
    PUSH_KIND_CLOSURE(r->func);
    if (strncmp(r->name, "__", 2) == 0)
      lua_setfield(L, -3, r->name);
    else
      lua_setfield(L, -2, r->name);
  }
#undef PUSH_KIND_CLOSURE
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, kind);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &KINDS_KEY) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &KINDS_KEY);
  }
  lua_pushvalue(L, -2);
  lua_pushlightuserdata(L, (void *)kind);
  lua_rawset(L, -3); /* kinds[metatable] = kind */
  lua_pop(L, 1);
}

static void push_boxes(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, BOXES_KEY) != LUA_TNIL) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "v");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, BOXES_KEY);
}

/* Pushes the box of 'o'; 'steal' says whether the caller's reference
** is handed over (else a new one is taken when a box is made). */
static void push_box(lua_State *L, tl_object *o, bool steal) {
  push_boxes(L);
  if (lua_rawgetp(L, -1, o) == LUA_TUSERDATA) {
    lua_remove(L, -2);
    if (steal) tl_object_decref(o); /* the existing box holds one already */
    return;
  }
  lua_pop(L, 1);
  tl_object **box = (tl_object **)lua_newuserdatauv(L, sizeof(tl_object *), 0);
  *box = NULL; /* no reference yet: an allocation error below leaks nothing */
  push_metatable(L, o->kind);
  lua_setmetatable(L, -2);
  if (!steal) tl_object_incref(o);
  *box = o;
  lua_pushvalue(L, -1);
  lua_rawsetp(L, -3, o);
  lua_remove(L, -2);
}

void tl_push_object(lua_State *L, tl_object *o) { push_box(L, o, false); }

/* (If making the box raises a memory error, the stolen reference leaks:
** the state is out of memory and the object stays alive, never freed twice.) */
void tl_push_new_object(lua_State *L, tl_object *o) { push_box(L, o, true); }

/* The object of a box already recognised. */
static tl_object *box_pointer(lua_State *L, int idx) {
  tl_object *o = *(tl_object **)lua_touserdata(L, idx);
  if (o == NULL) luaL_error(L, "threading object used after collection");
  return o;
}

tl_object *tl_test_object(lua_State *L, int idx, const tl_kind *kind) {
  if (kind != NULL) { /* the hot path: is its metatable that kind's own? */
    if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) return NULL;
    if (caller_kind(L) == kind) { /* a method of the kind checking its 'self' */
      lua_pop(L, 1);
      return box_pointer(L, idx);
    }
    lua_rawgetp(L, LUA_REGISTRYINDEX, kind);
    bool same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (!same) return NULL;
  } else if (box_kind(L, idx) == NULL) {
    return NULL;
  }
  return box_pointer(L, idx);
}

tl_object *tl_check_object(lua_State *L, int idx, const tl_kind *kind) {
  tl_object *o = tl_test_object(L, idx, kind);
  if (o == NULL) luaL_typeerror(L, idx, kind->name); /* (pushing first would shift a missing idx) */
  return o;
}

tl_object *tl_to_any_object(lua_State *L, int idx) { return tl_test_object(L, idx, NULL); }
