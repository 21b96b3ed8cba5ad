/*
** shared.h -- the inside of a shared table (threading.shared), for
** shared.c, which implements the table, and atomic.c, which adds
** threading.atomic's read-modify-write operations on it.
**
** A value is kept in its entry: nil (absent), booleans, numbers, strings
** of up to TL_SVALUE_SHORT bytes and threading objects need no blob, so
** reading one copies a few bytes and allocates nothing, and no memory
** allocated by one thread is freed by another; other values are blobs.
**
** The update gate: while a thread runs threading.atomic.update's function
** (Lua code), it "holds" the table: writes by other threads (s[k] = v and
** the atomic operations) wait, with the GIL released, until it is done;
** reads do not wait.  It is a lock with an owner and a count, as a lock
** core, kept in the table's own fields.
**
** Locking: 'lock' guards the entries and the gate's fields.  It is a spin
** lock (kernel/spinlock.c; CPython's free-threaded build guards a
** dict with a one-byte PyMutex): a read or a write of a key that is there
** holds it for a few dozen instructions, while pthread_mutex_lock and
** unlock take about 55 (adding or removing a key allocates or frees its
** entry, and growing the table its buckets, under it: rarer; pairs and #s
** hold it for a walk of the table).  It is
** a leaf lock (kernel.h rules): no Lua API call, no blob encoded or
** decoded, no object or blob released, no other lock taken and no wait
** while it is held (tl_svalue_release after unlocking).  Functions marked
** "(locked)" are called with it held and keep it.  'gate_mutex' and
** 'gate' serve only the threads waiting for the gate to open (a waiter
** holds gate_mutex while it takes 'lock' to look at the gate; whoever
** opens the gate releases 'lock' first, then broadcasts under gate_mutex).
*/
#ifndef TLUA_SHARED_H
#define TLUA_SHARED_H

#include "../kernel/spinlock.h"
#include "kinds.h"

#define TL_SVALUE_SHORT 32 /* strings kept in the entry itself */

typedef enum {
  TL_SV_NONE, /* absent (nil) */
  TL_SV_FALSE, TL_SV_TRUE, TL_SV_INT, TL_SV_FLOAT,
  TL_SV_STR,    /* u.s, 'len' bytes */
  TL_SV_OBJECT, /* u.obj, a reference */
  TL_SV_BLOB    /* u.blob, a reference: any other value, copied */
} tl_svalue_type;

typedef struct tl_svalue {
  unsigned char type; /* tl_svalue_type */
  unsigned char len;  /* TL_SV_STR: its length */
  union {
    lua_Integer i;
    lua_Number f;
    tl_object *obj;
    tl_blob *blob;
    char s[TL_SVALUE_SHORT];
  } u;
} tl_svalue;

/* A key in canonical bytes: a type byte ('s', 'i', 'f', 'T', 'F'), then
** the payload; a string key points into the Lua string. */
typedef struct tl_skey {
  char small[1 + sizeof(lua_Number) + sizeof(lua_Integer)];
  const char *bytes;
  size_t len;
  const char *str; /* for strings: the Lua string (owned by the state) */
  uint64_t hash;
} tl_skey;

typedef struct tl_sentry tl_sentry; /* an entry (shared.c) */

typedef struct tl_shared {
  tl_object obj;
  tl_spinlock lock;
  tl_sentry **buckets;
  size_t nbuckets, count;
  size_t keybytes;         /* the keys' bytes, all entries together (pairs) */
  tl_sentry *first, *last; /* insertion order */
  /* the update gate */
  long updates;          /* levels held (nested updates); 0: open */
  tl_tstate *updater;    /* a reference, or NULL (a thread tlua does not know) */
  pthread_t updater_id;  /* valid while updates > 0 */
  pthread_mutex_t gate_mutex;
  int gate_waiters;      /* guarded by gate_mutex */
  pthread_cond_t gate;   /* broadcast when the gate opens */
} tl_shared;

/* The table's spin lock (see Locking above). */
static inline void tl_shared_lock(tl_shared *s) { tl_spin_lock(&s->lock); }
static inline void tl_shared_unlock(tl_shared *s) { tl_spin_unlock(&s->lock); }

/* The shared table at idx, or a Lua error naming the argument. */
tl_shared *tl_shared_check(lua_State *L, int idx);

/* The key at idx; raises for nil, NaN and keys of other types (as an
** error of argument idx when 'arg', else as the table's own errors). */
void tl_shared_key(lua_State *L, int idx, tl_skey *k, bool arg);
/* A schedule point before an operation on key idx, named 'what' with
** 'access' after the key ("shared" "'n' write", "atomic.add" "'n'"). */
void tl_shared_sched_point_at(lua_State *L, int keyidx, const char *what, const char *access);
static inline void tl_shared_sched_point(lua_State *L, int keyidx, const char *what, const char *access) {
  if (tl_sched_active()) tl_shared_sched_point_at(L, keyidx, what, access);
}

/* Values.  set: the value at idx, encoded if it needs a blob ('what'
** names it in errors); the lock not held.  push_release: pushes it and drops
** its references (also when decoding raises).  release: drops them (the
** lock not held).  copy: *dst = *src with new references (locked: only
** atomic counts change). */
void tl_svalue_set(lua_State *L, int idx, tl_svalue *v, const char *what);
void tl_svalue_push_release(lua_State *L, tl_svalue *v);
void tl_svalue_release(tl_svalue *v);
void tl_svalue_copy(tl_svalue *dst, const tl_svalue *src);

/* Takes the lock for a write: waits first (GIL released) while another
** thread holds the update gate.  TL_WAIT_OK: the lock is held; else it
** is not (interrupted or aborted: tl_wait_check raises). */
tl_wait_result tl_shared_lock_write(tl_shared *s);
/* The update gate: begin waits as lock_write does, then holds the gate
** (nested levels allowed) and releases the lock; end gives a level back.
** Both take the lock themselves. */
tl_wait_result tl_shared_begin_update(tl_shared *s);
void tl_shared_end_update(tl_shared *s);

/* The value slot of key k, or NULL (locked). */
tl_svalue *tl_shared_find(tl_shared *s, const tl_skey *k);
/* Stores *v under k (TL_SV_NONE removes the key), taking over its
** references; the value it replaces is moved into *old, to release after
** unlocking.  False when out of memory (nothing changed; *v is the
** caller's still).  (locked) */
bool tl_shared_store(tl_shared *s, const tl_skey *k, tl_svalue *v, tl_svalue *old);

#endif
