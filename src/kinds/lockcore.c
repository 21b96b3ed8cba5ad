/*
** lockcore.c -- the lock core (lockcore.h) that Lock, RLock and Condition
** share, and the Lock and RLock objects' common parts (making, describing,
** destroying them).
**
** The uncontended path takes the core's spin lock, sets the count and
** returns, with the GIL kept.  (It was a pthread mutex, taken and given
** back twice per acquire/release pair: two locked instructions and about
** 55 others each time, a fifth of the pair's cost.)  A contended acquire
** releases the GIL, then sleeps on 'cond' under 'wait_mutex'
** (kernel/wait.c); with the GIL off it first watches the lock for up to
** 16 us (kernel/watch.c), since a lock is usually held for far less time
** than a sleep and a wake-up take (two threads adding to a counter under
** one Lock: 3.9-4.4M -> 5.2-5.4M increments/s, and 3,300 -> 31 context
** switches per 600,000 increments), and takes it at any of its first
** looks that finds it free (watch_and_take).  So does a Condition's wait
** taking its lock back.  The owner is remembered (with a reference to
** its record) to say who holds the lock in tostring(), to let an RLock
** re-enter and to check that a Condition's user holds its lock.
**
** No lost wake-up: a sleeper counts itself in 'waiters', then looks at
** 'held'; a releaser clears 'held', then looks at 'waiters' and signals
** when it is not 0; all four sequentially consistent, so either the
** sleeper sees the lock free or the releaser sees the sleeper, who holds
** 'wait_mutex' from its look until it sleeps.
**
** Locking: the spin lock 'lock' guards the count and the owner (no
** mutex, no allocation, no record released under it); 'wait_mutex' may be
** held while the spin lock is taken, never the reverse.  Records are
** released (decref) after both are dropped.
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockcore.h"


static void core_init(tl_lockcore *c, bool recursive) {
  atomic_init(&c->lock, false);
  atomic_init(&c->held, false);
  atomic_init(&c->waiters, 0);
  tl_mutex_init(&c->wait_mutex);
  tl_clock_cond_init(&c->cond);
  c->recursive = recursive;
}

/* Does the calling thread hold it?  ('lock' held.) */
static bool owned_by_caller(const tl_lockcore *c) {
  if (c->count == 0) return false;
  tl_tstate *self = tl_tstate_self();
  if (c->owner != NULL || self != NULL) return c->owner == self;
  return pthread_equal(c->owner_id, pthread_self());
}

/* Takes the free lock for the calling thread; 'lock' is held. */
static void take(tl_lockcore *c, long count) {
  c->count = count;
  atomic_store_explicit(&c->held, true, memory_order_relaxed);
  c->owner_id = pthread_self();
  c->owner = tl_tstate_self();
  if (c->owner) tl_tstate_incref(c->owner);
}

/* Frees the lock; 'lock' is held.  Returns the old owner's reference,
** which the caller drops once the lock is released, after wake_one. */
static tl_tstate *give_up(tl_lockcore *c) {
  tl_tstate *owner = c->owner;
  c->count = 0;
  atomic_store(&c->held, false); /* (then 'waiters' is read: see above) */
  c->owner = NULL;
  return owner;
}

/* After give_up, the spin lock released: wakes a sleeper if one is
** counted. */
static void wake_one(tl_lockcore *c) {
  if (atomic_load(&c->waiters) == 0) return;
  pthread_mutex_lock(&c->wait_mutex);
  tl_wait_signal(&c->cond);
  pthread_mutex_unlock(&c->wait_mutex);
}

/* Takes the lock with 'count' if it is free. */
static bool try_take(tl_lockcore *c, long count) {
  tl_spin_lock(&c->lock);
  bool got = c->count == 0;
  if (got) take(c, count);
  tl_spin_unlock(&c->lock);
  return got;
}

/* What a contended acquire watches for (no lock held; it then checks
** under the spin lock). */
static bool is_free(void *c) {
  return !atomic_load_explicit(&((tl_lockcore *)c)->held, memory_order_relaxed);
}

/* With the GIL off, before sleeping: watches the lock and takes it when
** it looks free, up to TAKE_TRIES times (its holder, on another core,
** often takes it back first: a thread adding to a counter under the lock
** releases it and asks again within a microsecond).  Sleeping at the
** first lost race made every release signal a sleeper: 30-38k futex calls
** per 600,000 increments by two threads, 4.3-5.2M increments/s; with the
** retries 8-11k calls and 5.3-6.0M/s.  Takes it with 'count'; false:
** sleep. */
#define TAKE_TRIES 8
static bool watch_and_take(tl_lockcore *c, const tl_deadline *d, long count) {
  for (int tries = 0; tries < TAKE_TRIES && tl_watch(is_free, c, d); tries++)
    if (try_take(c, count)) return true;
  return false;
}

/* Sleeps until the lock is taken with 'count' (true), or the wait ends
** first: '*r' says why (a timeout, Ctrl-C; 'interruptible' false: only an
** aborted deterministic run).  Inside a tl_wait_begin bracket. */
static bool sleep_and_take(tl_lockcore *c, const tl_deadline *d, long count, bool interruptible,
                           tl_wait_result *r) {
  bool got;
  while (!(got = try_take(c, count)) && *r == TL_WAIT_OK) {
    pthread_mutex_lock(&c->wait_mutex);
    atomic_fetch_add(&c->waiters, 1);
    if (atomic_load(&c->held)) { /* (else freed meanwhile: try again) */
      if (interruptible) *r = tl_wait_cond(&c->cond, &c->wait_mutex, d);
      else if (!tl_wait_cond_uninterruptible(&c->cond, &c->wait_mutex)) *r = TL_WAIT_ABORTED;
    }
    atomic_fetch_sub(&c->waiters, 1);
    pthread_mutex_unlock(&c->wait_mutex);
  }
  return got;
}

static void drop_owner(tl_tstate *owner) {
  if (owner) tl_tstate_decref(owner);
}

bool tl_lock_acquire(lua_State *L, tl_lockobj *l, int idx) {
  tl_lockcore *c = &l->core;
  tl_deadline d;
  bool blocking = tl_args_lock_timeout(L, idx, &d);
  tl_sched_point(L, c->recursive ? "RLock.acquire" : "Lock.acquire", NULL);
  tl_spin_lock(&c->lock);
  if (c->count == 0) {
    take(c, 1);
    tl_spin_unlock(&c->lock);
    return true;
  }
  if (c->recursive && owned_by_caller(c)) {
    bool room = c->count < LONG_MAX;
    if (room) c->count++;
    tl_spin_unlock(&c->lock);
    if (!room) tl_error(L, "OverflowError", "RLock recursion count too large");
    return true;
  }
  tl_spin_unlock(&c->lock);
  if (!blocking) return false;
  tl_waiting w;
  tl_wait_begin(&w, c->recursive ? "RLock" : "Lock", &l->obj);
  tl_wait_result r = TL_WAIT_OK;
  bool got = (tl_watch_allowed() && watch_and_take(c, &d, 1)) || sleep_and_take(c, &d, 1, true, &r);
  tl_wait_end(&w);
  if (!got) tl_wait_check(L, r);
  return got;
}

void tl_lock_release(lua_State *L, tl_lockobj *l) {
  tl_lockcore *c = &l->core;
  tl_sched_point(L, c->recursive ? "RLock.release" : "Lock.release", NULL);
  tl_spin_lock(&c->lock);
  const char *error = NULL;
  if (c->recursive && !owned_by_caller(c))
    error = "cannot release un-acquired lock";
  else if (c->count == 0)
    error = "release unlocked lock";
  bool freed = error == NULL && --c->count == 0;
  tl_tstate *old_owner = freed ? give_up(c) : NULL;
  tl_spin_unlock(&c->lock);
  if (freed) wake_one(c);
  drop_owner(old_owner);
  if (error) tl_error(L, "RuntimeError", "%s", error);
}

bool tl_lock_locked(tl_lockobj *l) {
  return atomic_load(&l->core.held); /* (count > 0, written under the spin lock) */
}

long tl_lock_owned_count(tl_lockobj *l) {
  tl_lockcore *c = &l->core;
  tl_spin_lock(&c->lock);
  long count = owned_by_caller(c) ? c->count : 0;
  tl_spin_unlock(&c->lock);
  return count;
}

long tl_lock_release_save(tl_lockobj *l) {
  tl_lockcore *c = &l->core;
  tl_spin_lock(&c->lock);
  long count = owned_by_caller(c) ? c->count : 0;
  tl_tstate *old_owner = count ? give_up(c) : NULL;
  tl_spin_unlock(&c->lock);
  if (count) wake_one(c);
  drop_owner(old_owner);
  return count;
}

bool tl_lock_acquire_restore(tl_lockobj *l, long count) {
  tl_lockcore *c = &l->core;
  if (tl_watch_allowed() && watch_and_take(c, NULL, count)) return true;
  tl_deadline forever = tl_clock_forever();
  tl_wait_result r = TL_WAIT_OK;
  return sleep_and_take(c, &forever, count, false, &r);
}

void tl_lock_push_description(lua_State *L, tl_lockobj *l) {
  tl_lockcore *c = &l->core;
  tl_spin_lock(&c->lock);
  long count = c->count;
  tl_tstate *owner = count > 0 ? c->owner : NULL;
  if (owner) tl_tstate_incref(owner);
  tl_spin_unlock(&c->lock);
  char *name = owner ? tl_tstate_name(owner) : NULL; /* (its record's mutex: not under the spin lock) */
  drop_owner(owner);
  const char *kind = c->recursive ? "RLock" : "Lock";
  if (count == 0) {
    lua_pushfstring(L, "%s(unlocked)", kind);
    return;
  }
  lua_pushstring(L, name ? name : "an unknown thread"); /* (a memory error would leak 'name') */
  free(name);
  if (c->recursive)
    lua_pushfstring(L, "RLock(owned by %s, count %I)", lua_tostring(L, -1), (lua_Integer)count);
  else
    lua_pushfstring(L, "Lock(locked by %s)", lua_tostring(L, -1));
  lua_remove(L, -2);
}

/* --- the Lock and RLock objects' common parts -------------------------------- */

/* For deadlock reports: "Lock created at x.lua:3", "RLock \"a\" (count 2)"
** and the owner, with a reference. */
void tl_lockobj_describe(tl_object *o, char *buf, size_t size, tl_tstate **holder) {
  tl_lockcore *c = &((tl_lockobj *)o)->core;
  tl_spin_lock(&c->lock);
  long count = c->count;
  *holder = count > 0 ? c->owner : NULL;
  if (*holder) tl_tstate_incref(*holder);
  tl_spin_unlock(&c->lock);
  tl_object_name(o, buf, size);
  size_t len = strlen(buf);
  if (c->recursive && count > 1 && len < size) snprintf(buf + len, size - len, " (count %ld)", count);
}

void tl_lockobj_destroy(tl_object *o) {
  tl_lockobj *l = (tl_lockobj *)o;
  drop_owner(l->core.owner);
  pthread_mutex_destroy(&l->core.wait_mutex);
  pthread_cond_destroy(&l->core.cond);
  free(l);
}

tl_lockobj *tl_lockobj_push_new(lua_State *L, const tl_kind *kind, int spec) {
  char *label = tl_spec_label(L, spec);
  tl_lockobj *l = calloc(1, sizeof *l);
  if (l == NULL) {
    free(label);
    luaL_error(L, "not enough memory");
    return NULL; /* (not reached) */
  }
  tl_object_init(&l->obj, kind);
  tl_object_set_label(&l->obj, label);
  core_init(&l->core, kind == &tl_rlock_kind);
  tl_object_push_new(L, &l->obj);
  return l;
}

tl_lockobj *tl_lockobj_test(lua_State *L, int idx) {
  tl_object *o = tl_object_test(L, idx, &tl_lock_kind);
  if (o == NULL) o = tl_object_test(L, idx, &tl_rlock_kind);
  return (tl_lockobj *)o;
}

