/*
** lockcore.h -- the lock core shared by Lock (lock.c), RLock (rlock.c) and
** Condition (condition.c); lockcore.c implements it.
**
** A tl_lockcore is a lock with an owner and a count: 0 means unlocked; a
** Lock is held with count 1; an RLock counts its recursion levels.  The
** owner is the thread's record (kernel tl_tstate, a reference), so a
** record is never confused with a later thread's, even one that reuses
** the pthread id; a thread tlua does not know is told by its pthread id.
**
** Locking: 'lock', a spin lock (kernel/spinlock.c), guards the count and
** the owner; 'held' (atomic) repeats count > 0 for a contended acquire to
** watch without it (kernel/watch.c).  A thread that must sleep counts
** itself in 'waiters' and sleeps on 'cond' under 'wait_mutex' (a leaf
** lock, kernel.h rules), which it holds while it tries the spin lock,
** never the reverse.  The tl_lock_* functions below take and drop them
** themselves; the caller holds no mutex when calling them.
*/
#ifndef TLUA_LOCKCORE_H
#define TLUA_LOCKCORE_H

#include "../kernel/spinlock.h"
#include "kinds.h"

typedef struct tl_lockcore {
  tl_spinlock lock;    /* guards count, owner, owner_id */
  bool recursive;      /* RLock: re-entrant, owner-only release */
  long count;          /* 0: unlocked; else the recursion level */
  atomic_bool held;    /* count > 0, written under 'lock' */
  tl_tstate *owner;    /* a reference, or NULL (a thread tlua does not know) */
  pthread_t owner_id;  /* valid while count > 0 */
  atomic_int waiters;  /* threads counted as sleeping in an acquire */
  pthread_mutex_t wait_mutex;
  pthread_cond_t cond; /* under wait_mutex: signalled when the lock becomes free */
} tl_lockcore;

/* A Lock or an RLock object. */
typedef struct tl_lockobj {
  tl_object obj;
  tl_lockcore core;
} tl_lockobj;

extern const tl_kind tl_lock_kind, tl_rlock_kind;

/* Makes a Lock or RLock (per 'kind') and pushes it on L. */
tl_lockobj *tl_lockobj_push_new(lua_State *L, const tl_kind *kind, int spec);
/* The kinds' 'destroy' and 'describe' (deadlock reports). */
void tl_lockobj_destroy(tl_object *o);
void tl_lockobj_describe(tl_object *o, char *buf, size_t size, tl_tstate **holder);
/* The Lock or RLock at idx, or NULL. */
tl_lockobj *tl_lockobj_test(lua_State *L, int idx);

/* acquire([blocking=true [, timeout=-1]]) with those arguments at idx:
** returns whether the lock was taken (blocks with the GIL released;
** raises "interrupted!" on Ctrl-C in the main thread). */
bool tl_lock_acquire(lua_State *L, tl_lockobj *l, int idx);
/* release(): raises the RuntimeError Python raises when the caller may
** not release it (unlocked; for an RLock, not owned by the caller). */
void tl_lock_release(lua_State *L, tl_lockobj *l);
bool tl_lock_locked(tl_lockobj *l);
/* How many levels the calling thread holds (0: it does not hold it). */
long tl_lock_owned_count(tl_lockobj *l);
/* Pushes the description used by tostring: "Lock(locked by worker)",
** "RLock(owned by MainThread, count 2)", "RLock(unlocked)"... */
void tl_lock_push_description(lua_State *L, tl_lockobj *l);

/* For Condition.wait: releases every level held by the calling thread
** and returns how many (0, doing nothing, if it does not hold it). */
long tl_lock_release_save(tl_lockobj *l);
/* Takes it back with 'count' levels.  Blocks without a timeout and
** without noticing Ctrl-C (a pending one is raised afterwards); the
** caller is inside a tl_wait_begin bracket (GIL released).  False, not
** taken, when a deterministic run was aborted meanwhile. */
bool tl_lock_acquire_restore(tl_lockobj *l, long count);

#endif
