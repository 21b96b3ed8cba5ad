/*
** object.c -- reference-counted C objects shared by every thread.
**
** A tl_object (a Lock, a Queue, a Thread...) lives in C memory.  Each Lua
** state that sees it holds one "box": a full userdata containing the
** pointer, with the kind's metatable.  A box owns one reference; its __gc
** drops it.  Blobs (blob_encode.c) and running threads hold references too.
** The object is destroyed when the last reference goes, in whichever
** thread drops it.
**
** Every state keeps at most one box per object (a weak-valued cache in
** its registry), so the same lock received twice compares equal and can
** be used as a table key.  A box is recognised by its size and a tag
** word Lua code cannot write (see 'box'), never by its metatable, which
** Lua code can reach and edit.
**
** Objects whose kind can describe itself are also kept in a list, which
** the deadlock report walks to say which locks each thread holds.  An
** object may have a label, given by its maker (kinds/spec.c: the name
** given, or where it was made), by which reports and traces name it.
**
** Locking: reference counts are atomics.  'track.mutex' guards the list
** of describable objects; under it, tl_object_foreach_tracked's callback
** may take an object's own mutex, and it may itself be taken under the
** runtime mutex (kernel.h rule 4), nothing else.  'destroy' runs with no
** lock held and must not call into Lua.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

static atomic_long live_objects;

/* --- tracked objects: those a deadlock report can describe ------------- */

static struct {
  pthread_mutex_t mutex;
  tl_object **items;
  size_t n, cap;
} track = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static void track_add(tl_object *o) {
  pthread_mutex_lock(&track.mutex);
  if (track.n == track.cap) {
    size_t cap = track.cap ? track.cap * 2 : 64;
    tl_object **items = realloc(track.items, cap * sizeof *items);
    if (items == NULL) { /* untracked: only a deadlock report is poorer */
      pthread_mutex_unlock(&track.mutex);
      return;
    }
    track.items = items;
    track.cap = cap;
  }
  track.items[track.n++] = o;
  pthread_mutex_unlock(&track.mutex);
}

static void track_remove(tl_object *o) {
  pthread_mutex_lock(&track.mutex);
  for (size_t i = track.n; i-- > 0;) {
    if (track.items[i] == o) {
      track.items[i] = track.items[--track.n];
      break;
    }
  }
  pthread_mutex_unlock(&track.mutex);
}

void tl_object_foreach_tracked(void (*fn)(tl_object *o, void *ud), void *ud) {
  pthread_mutex_lock(&track.mutex);
  for (size_t i = 0; i < track.n; i++) fn(track.items[i], ud);
  pthread_mutex_unlock(&track.mutex);
}

/* --- reference counts ---------------------------------------------------- */

static const char BOXES_KEY[] = "tlua.boxes"; /* registry: object -> box */

void tl_object_init(tl_object *o, const tl_kind *kind) {
  o->kind = kind;
  o->label = NULL;
  atomic_init(&o->refs, 1);
  atomic_fetch_add(&live_objects, 1);
  if (kind->describe != NULL && !kind->untracked) track_add(o);
}

void tl_object_incref(tl_object *o) {
  atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
}

void tl_object_decref(tl_object *o) {
  if (atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1) {
    atomic_fetch_sub(&live_objects, 1);
    if (o->kind->describe != NULL && !o->kind->untracked) track_remove(o);
    free(o->label);
    o->kind->destroy(o);
  }
}

void tl_object_set_label(tl_object *o, char *label) {
  free(o->label);
  o->label = label;
}

void tl_object_name(const tl_object *o, char *buf, size_t size) {
  if (o->label != NULL) snprintf(buf, size, "%s %s", o->kind->name, o->label);
  else snprintf(buf, size, "%s %p", o->kind->name, (const void *)o);
}

long tl_object_live_count(void) { return atomic_load(&live_objects); }

/* --- boxes -------------------------------------------------------- */

/* A box is a full userdata of exactly this size whose first word is the
** address of BOX_TAG.  Lua code cannot make a userdata at all, nor write
** into one, and the size is checked before any field is read, so a
** foreign userdata (an io file, another library's object) never passes
** for a box, whatever its metatable says: a metatable is reachable and
** editable from Lua (getmetatable(lock)), so it is never trusted.
** Recognising a box costs two API calls, not a registry lookup. */
static const char BOX_TAG = 'b';

typedef struct box {
  const char *tag;      /* &BOX_TAG */
  const tl_kind *kind;
  tl_object *obj;       /* NULL once __gc has run (by hand, or before a resurrection) */
  unsigned lookups;     /* methods looked up through box_index (see "own metatable") */
} box;

static box *to_box(lua_State *L, int idx) {
  box *b = (box *)lua_touserdata(L, idx);
  if (b == NULL || lua_rawlen(L, idx) != sizeof *b || b->tag != &BOX_TAG) return NULL;
  return b;
}

static int box_gc(lua_State *L) {
  box *b = to_box(L, 1);
  if (b == NULL) return 0; /* called by hand on something else */
  if (b->obj != NULL) {
    tl_object *o = b->obj;
    b->obj = NULL;
    tl_object_decref(o);
  }
  return 0;
}

static tl_object *box_object(lua_State *L, int idx) {
  box *b = to_box(L, idx);
  if (b == NULL) luaL_typeerror(L, idx, "threading object");
  if (b->obj == NULL) luaL_error(L, "threading object used after collection");
  return b->obj;
}

/* --- a metatable of its own for a busy box -------------------------------
**
** A kind with fields (a Queue's maxsize, a Thread's name...) cannot make
** its methods table the __index of its boxes: reading a field needs the
** box, and a function at the end of an __index chain is given the table
** before it, not the box.  So its __index is box_index, a C call per
** method lookup, about 200 instructions: a fifth of the 2,090 that a
** queue's put and get cost together.  A box whose methods were looked up
** OWN_AFTER times gets a metatable of its own: it holds the methods and
** metamethods and is its own __index (a method lookup is a table read),
** it holds the box under the key &OWN_BOX, and its metatable's __index,
** own_fields, reads a field through that box.  A box used a few times (the queue a thread
** waits on once) keeps the shared metatable and costs no memory; an own
** one is about 1 KiB.  getmetatable(box) answers the kind's shared
** metatable either way (__metatable). */
#define OWN_AFTER 32

static const char OWN_BOX = 'o';

/* __index of an own metatable ('own', key): the box's field, or nil. */
static int own_fields(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_rawgetp(L, 1, &OWN_BOX) != LUA_TUSERDATA)
    return luaL_argerror(L, 1, "not the metatable of a threading object");
  tl_object *o = box_object(L, lua_gettop(L));
  if (o->kind->getfield != NULL && lua_type(L, 2) == LUA_TSTRING &&
      o->kind->getfield(L, o, lua_tostring(L, 2)))
    return 1;
  lua_pushnil(L);
  return 1;
}

/* Gives the box at 'idx' (absolute) its own metatable, from its shared one
** and the methods table 'methods' (box_index's upvalue).  Only if that
** shared metatable is its kind's (box_index may be called by hand, from
** getmetatable(q).__index, on another kind's box). */
static void give_own_metatable(lua_State *L, int idx, int methods, const tl_kind *kind) {
  if (!lua_checkstack(L, 8)) return; /* keep the shared one */
  lua_getmetatable(L, idx);
  int shared = lua_gettop(L);
  lua_rawgetp(L, LUA_REGISTRYINDEX, kind);
  bool its_own = lua_rawequal(L, shared, -1) && lua_getfield(L, shared, "__index") == LUA_TFUNCTION &&
                 lua_getupvalue(L, -1, 1) != NULL && lua_rawequal(L, -1, methods);
  lua_settop(L, shared);
  if (!its_own) {
    lua_pop(L, 1);
    return;
  }
  lua_createtable(L, 0, 24);
  int own = shared + 1;
  const int sources[2] = {shared, methods};
  for (int i = 0; i < 2; i++) {
    lua_pushnil(L);
    while (lua_next(L, sources[i])) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, own);
    }
  }
  lua_pushvalue(L, own);
  lua_setfield(L, own, "__index");
  lua_pushvalue(L, shared);
  lua_setfield(L, own, "__metatable");
  lua_pushvalue(L, idx);
  lua_rawsetp(L, own, &OWN_BOX);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &OWN_BOX) == LUA_TNIL) { /* one per state */
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, own_fields);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &OWN_BOX);
  }
  lua_setmetatable(L, own);
  lua_setmetatable(L, idx);
  lua_settop(L, shared - 1);
}

/* __index: methods first, then the kind's fields.  (A method is found
** without checking the box: every method checks its own 'self'.) */
static int box_index(lua_State *L) {
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) {
    box *b = to_box(L, 1);
    if (b != NULL && ++b->lookups == OWN_AFTER) give_own_metatable(L, 1, lua_upvalueindex(1), b->kind);
    return 1;
  }
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

/* The metamethods that make a box a box: never taken from Lua methods. */
static bool box_owned(const char *field) {
  return strcmp(field, "__gc") == 0 || strcmp(field, "__index") == 0 || strcmp(field, "__newindex") == 0;
}

/* The functions of module(name)._methods into the metatable (-2) and
** the methods table (-1) being made, as the C ones. */
static void add_lua_methods(lua_State *L, const char *name) {
  tl_builtins_require(L, name);
  if (lua_getfield(L, -1, "_methods") == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_type(L, -2) == LUA_TSTRING && lua_isfunction(L, -1) && !box_owned(lua_tostring(L, -2))) {
        const char *field = lua_tostring(L, -2);
        lua_pushvalue(L, -2);
        lua_insert(L, -2); /* key, key, value */
        lua_rawset(L, strncmp(field, "__", 2) == 0 ? -7 : -6);
      } else {
        lua_pop(L, 1);
      }
    }
  }
  lua_pop(L, 2);
}

/* Pushes the metatable of 'kind', creating it in this state if needed. */
static void push_metatable(lua_State *L, const tl_kind *kind) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, kind) != LUA_TNIL) return;
  lua_pop(L, 1);
  lua_createtable(L, 0, 8);
  lua_pushfstring(L, TL_MODNAME ".%s", kind->name);
  lua_setfield(L, -2, "__name");
  lua_pushcfunction(L, box_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, box_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushcfunction(L, box_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_newtable(L); /* methods */
  lua_pushvalue(L, -1);
  if (kind->getfield != NULL) /* methods, then fields */
    lua_pushcclosure(L, box_index, 1);
  /* else the methods table itself: no C call per method lookup */
  lua_setfield(L, -3, "__index");
  /* The kind's own entries (after its base's); its metamethods override
  ** the defaults. */
  const luaL_Reg *lists[2] = {kind->base ? kind->base->methods : NULL, kind->methods};
  for (int k = 0; k < 2; k++) {
    for (const luaL_Reg *r = lists[k]; r != NULL && r->name != NULL; r++) {
      lua_pushcfunction(L, r->func);
      if (strncmp(r->name, "__", 2) == 0)
        lua_setfield(L, -3, r->name);
      else
        lua_setfield(L, -2, r->name);
    }
  }
  if (kind->lua_methods != NULL) add_lua_methods(L, kind->lua_methods);
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, kind);
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
  box *b = (box *)lua_newuserdatauv(L, sizeof *b, 0);
  b->tag = &BOX_TAG;
  b->kind = o->kind;
  b->obj = NULL; /* no reference yet: an allocation error below leaks nothing */
  b->lookups = 0;
  push_metatable(L, o->kind);
  lua_setmetatable(L, -2);
  if (!steal) tl_object_incref(o);
  b->obj = o;
  lua_pushvalue(L, -1);
  lua_rawsetp(L, -3, o);
  lua_remove(L, -2);
}

void tl_object_push(lua_State *L, tl_object *o) { push_box(L, o, false); }

/* (If making the box raises a memory error, the stolen reference leaks:
** the state is out of memory and the object stays alive, never freed twice.) */
void tl_object_push_new(lua_State *L, tl_object *o) { push_box(L, o, true); }

static inline tl_object *test_object(lua_State *L, int idx, const tl_kind *kind) {
  box *b = to_box(L, idx);
  if (b == NULL || (kind != NULL && b->kind != kind && b->kind->base != kind)) return NULL;
  if (b->obj == NULL) luaL_error(L, "threading object used after collection");
  return b->obj;
}

tl_object *tl_object_test(lua_State *L, int idx, const tl_kind *kind) { return test_object(L, idx, kind); }

/* (test_object inlined: every method of every kind starts here) */
tl_object *tl_object_check(lua_State *L, int idx, const tl_kind *kind) {
  tl_object *o = test_object(L, idx, kind);
  if (o == NULL) luaL_typeerror(L, idx, kind->name); /* (pushing first would shift a missing idx) */
  return o;
}

