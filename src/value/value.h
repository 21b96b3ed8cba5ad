/*
** value.h -- layer 3 of tlua: what crosses between states.  Threading
** objects are shared by reference: C structs with a reference count that
** every state reaches through a small userdata box (object.c).  Every
** other value is copied into a "blob" by the sender and decoded by each
** receiver (blob_encode.c, blob_decode.c, as Lua's ldump.c and lundump.c).
**
** It calls the kernel and the state layer.  Locking: reference counts are
** atomics; the list of describable objects has its own leaf mutex
** (object.c); blobs are immutable.  A blob is built or decoded only with
** no mutex held (kernel.h rule 3).
*/
#ifndef TLUA_VALUE_H
#define TLUA_VALUE_H

#include "../state/state.h"

/* ------------------------------------------------------------------ */
/* Objects shared by reference (object.c)                              */
/* ------------------------------------------------------------------ */

typedef struct tl_object tl_object;

/* Describes one kind of shared object (Lock, Queue, Thread...). */
typedef struct tl_kind {
  const char *name;              /* "Lock": also the metatable name "threading.Lock" */
  void (*destroy)(tl_object *o); /* frees the object; called with no lock held */
  const luaL_Reg *methods;       /* methods and metamethods (__tostring...) */
  /* Optional: a kind this one extends (Timer extends Thread): its methods
  ** come first, this kind's override them, and a check for the base kind
  ** accepts this one too. */
  const struct tl_kind *base;
  /* Optional: field access for userdata (t.name...).  Called after the
  ** method lookup failed; pushes a value and returns 1, or returns 0. */
  int (*getfield)(lua_State *L, tl_object *o, const char *key);
  /* Optional: t.key = value; returns 1 if handled, else raises. */
  int (*setfield)(lua_State *L, tl_object *o, const char *key, int validx);
  /* Optional, for deadlock reports (tools/deadlock.c): writes a short
  ** description ("Lock created at bank.lua:12", see tl_object_name) and
  ** the thread that holds the object, if any, with a reference the caller
  ** drops.  Called by the tools under the runtime and tracked-object locks
  ** (kernel.h rule 4); takes only the object's own mutex.
  ** Kinds that have it are tracked while alive, unless 'untracked'. */
  void (*describe)(tl_object *o, char *buf, size_t size, tl_tstate **holder);
  /* The 'holder' of describe is whom a waiter waits for, not one that
  ** holds the object (a Thread, joined): the reports never say it "holds"
  ** it, and objects of the kind are not tracked. */
  bool untracked;
  /* Optional: methods written in Lua.  The module of that name (required
  ** in each state when the kind's metatable is made there) has a field
  ** '_methods', a table whose functions the box's metatable gets too
  ** (metamethods such as __close included, but not __gc, __index and
  ** __newindex, which make the box), after the C ones: the
  ** ThreadPoolExecutor keeps its logic in lua/threading/executor.lua and
  ** calls its C primitives for the parts that must be atomic. */
  const char *lua_methods;
} tl_kind;

struct tl_object {
  const tl_kind *kind;
  atomic_long refs;
  char *label; /* how reports name it after its kind (malloc'd, or NULL):
               ** "\"accounts\"", "created at bank.lua:12"; fixed once shared */
};

/* Initialises the header with one reference (held by the caller). */
void tl_object_init(tl_object *o, const tl_kind *kind);
/* Gives the new object its label (taking the malloc'd string), before
** any other thread can see it. */
void tl_object_set_label(tl_object *o, char *label);
/* "Lock created at bank.lua:12", "Queue \"jobs\"", or "Event 0x55..."
** when it has no label. */
void tl_object_name(const tl_object *o, char *buf, size_t size);
void tl_object_incref(tl_object *o);
void tl_object_decref(tl_object *o);
/* Pushes the box for 'o' in L (one box per object per state, so '=='
** and table keys work); takes a new reference for the box. */
void tl_object_push(lua_State *L, tl_object *o);
/* Same, but steals the caller's reference. */
void tl_object_push_new(lua_State *L, tl_object *o);
/* The object at idx if it is of this kind (or extends it), else NULL /
** a clear error.  kind NULL: any threading object. */
tl_object *tl_object_test(lua_State *L, int idx, const tl_kind *kind);
tl_object *tl_object_check(lua_State *L, int idx, const tl_kind *kind);
/* Live object count, for leak checks (threading._live_objects()). */
long tl_object_live_count(void);
/* Calls fn for every alive object whose kind can 'describe' itself, with
** the tracking mutex held (fn may take the object's own mutex only). */
void tl_object_foreach_tracked(void (*fn)(tl_object *o, void *ud), void *ud);

/* ------------------------------------------------------------------ */
/* Value transfer (blob.c, blob_encode.c, blob_decode.c)               */
/* ------------------------------------------------------------------ */

/* An immutable, self-contained copy of some Lua values.  Owns a reference
** to every tl_object it mentions.  Reference counted so that several
** readers can decode the same blob (shared tables, futures). */
typedef struct tl_blob tl_blob;

/* Encodes the n values at L[first..first+n-1].  'what' names the root of
** the values in error messages ("args", "item", ...); for n > 1 the
** values are called what[1], what[2], ...  On failure raises a Lua error
** such as "args[2].conn: cannot send userdata" (nothing is leaked). */
tl_blob *tl_blob_encode(lua_State *L, int first, int n, const char *what);
/* As tl_blob_encode, but the values are always numbered, the first one
** what[first_index]: Thread(f, a, b) encodes f, a, b as args[0], args[1],
** args[2], so that errors name the arguments as the user counts them. */
tl_blob *tl_blob_encode_numbered(lua_State *L, int first, int n, const char *what,
                                 int first_index);
/* Pushes the values; returns how many.  Raises on failure (e.g. a module
** an upvalue needs cannot be required in this state). */
int tl_blob_decode(lua_State *L, const tl_blob *b);
/* Same, then drops the caller's reference to b, also when decoding raises
** (for a reference taken under a mutex just to read the blob). */
int tl_blob_decode_release(lua_State *L, tl_blob *b);
/* Same, for values a state receives once (a thread's target and its
** arguments): closed functions are not kept for reuse. */
int tl_blob_decode_release_once(lua_State *L, tl_blob *b);
int tl_blob_count(const tl_blob *b);     /* number of values */
size_t tl_blob_size(const tl_blob *b);   /* bytes, for statistics */
void tl_blob_incref(tl_blob *b);
void tl_blob_free(tl_blob *b);           /* drops one reference */
/* Compares the encodings of two blobs byte by byte (shared-table keys). */
bool tl_blob_equal(const tl_blob *a, const tl_blob *b);
uint64_t tl_blob_hash(const tl_blob *b);

#endif
