/*
** lock.c -- threading.Lock, and the lock core (sync.h) that Lock, RLock
** and Condition share.
**
** Lock: a non-recursive lock that any thread may release (Python's
** semantics).
**
**   acquire([blocking=true [, timeout=-1]]) -> boolean
**   release()        -- "RuntimeError: release unlocked lock" if unlocked
**   locked()         -- boolean
**   with(fn, ...), hold()  -- see context.c
**
** The uncontended path takes the mutex, sets the count and returns, with
** the GIL kept.  A contended acquire releases the GIL, then waits on
** 'cond' (wait.c).  The owner is remembered (with a reference) to say who
** holds the lock in tostring(), to let an RLock re-enter and to check
** that a Condition's user holds its lock.
**
** Locking: the core's 'mutex' guards every field; it is a leaf lock
** (tlua.h rules).  Thread records are released (decref) after it is
** dropped.
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "sync.h"

/* --- the core ------------------------------------------------------------ */

static void core_init(tl_lockcore *c, bool recursive) {
  pthread_mutex_init(&c->mutex, NULL);
  tl_cond_init(&c->cond);
  c->recursive = recursive;
}

static bool owned_by_caller(const tl_lockcore *c) {
  return c->count > 0 && pthread_equal(c->owner_id, pthread_self());
}

/* Takes the free lock for the calling thread; 'mutex' is held. */
static void take(tl_lockcore *c, long count) {
  c->count = count;
  c->owner_id = pthread_self();
  c->owner = tl_self();
  if (c->owner) tl_object_incref(&c->owner->obj);
}

/* Frees the lock; 'mutex' is held.  Returns the old owner's reference,
** which the caller drops once the mutex is released. */
static tl_thread *give_up(tl_lockcore *c) {
  tl_thread *owner = c->owner;
  c->count = 0;
  c->owner = NULL;
  if (c->waiters) pthread_cond_signal(&c->cond);
  return owner;
}

static void drop_owner(tl_thread *owner) {
  if (owner) tl_object_decref(&owner->obj);
}

bool tl_lock_acquire(lua_State *L, tl_lockobj *l, int idx) {
  tl_lockcore *c = &l->core;
  tl_deadline d;
  bool blocking = tl_check_blocking_timeout(L, idx, &d);
  pthread_mutex_lock(&c->mutex);
  if (c->count == 0) {
    take(c, 1);
    pthread_mutex_unlock(&c->mutex);
    return true;
  }
  if (c->recursive && owned_by_caller(c)) {
    bool room = c->count < LONG_MAX;
    if (room) c->count++;
    pthread_mutex_unlock(&c->mutex);
    if (!room) luaL_error(L, "OverflowError: RLock recursion count too large");
    return true;
  }
  pthread_mutex_unlock(&c->mutex);
  if (!blocking) return false;
  tl_blocking b;
  tl_blocking_begin_on(&b, c->recursive ? "RLock" : "Lock", &l->obj);
  tl_wait_result r = TL_WAIT_OK;
  pthread_mutex_lock(&c->mutex);
  c->waiters++;
  while (c->count > 0 && r == TL_WAIT_OK) r = tl_cond_wait(&c->cond, &c->mutex, &d);
  c->waiters--;
  bool got = c->count == 0;
  if (got) take(c, 1);
  pthread_mutex_unlock(&c->mutex);
  tl_blocking_end(&b);
  if (!got) tl_check_interrupt(L, r);
  return got;
}

void tl_lock_release(lua_State *L, tl_lockobj *l) {
  tl_lockcore *c = &l->core;
  pthread_mutex_lock(&c->mutex);
  const char *error = NULL;
  if (c->recursive && !owned_by_caller(c))
    error = "RuntimeError: cannot release un-acquired lock";
  else if (c->count == 0)
    error = "RuntimeError: release unlocked lock";
  tl_thread *old_owner = NULL;
  if (error == NULL && --c->count == 0) old_owner = give_up(c);
  pthread_mutex_unlock(&c->mutex);
  drop_owner(old_owner);
  if (error) luaL_error(L, "%s", error);
}

bool tl_lock_locked(tl_lockobj *l) {
  tl_lockcore *c = &l->core;
  pthread_mutex_lock(&c->mutex);
  bool locked = c->count > 0;
  pthread_mutex_unlock(&c->mutex);
  return locked;
}

long tl_lock_owned_count(tl_lockobj *l) {
  tl_lockcore *c = &l->core;
  pthread_mutex_lock(&c->mutex);
  long count = owned_by_caller(c) ? c->count : 0;
  pthread_mutex_unlock(&c->mutex);
  return count;
}

long tl_lock_release_save(tl_lockobj *l) {
  tl_lockcore *c = &l->core;
  pthread_mutex_lock(&c->mutex);
  long count = owned_by_caller(c) ? c->count : 0;
  tl_thread *old_owner = count ? give_up(c) : NULL;
  pthread_mutex_unlock(&c->mutex);
  drop_owner(old_owner);
  return count;
}

void tl_lock_acquire_restore(tl_lockobj *l, long count) {
  tl_lockcore *c = &l->core;
  pthread_mutex_lock(&c->mutex);
  c->waiters++;
  if (c->count > 0) tl_deadlock_note_blocked(); /* tl_blocking_end clears it */
  while (c->count > 0) pthread_cond_wait(&c->cond, &c->mutex);
  c->waiters--;
  take(c, count);
  pthread_mutex_unlock(&c->mutex);
}

void tl_lock_push_description(lua_State *L, tl_lockobj *l) {
  tl_lockcore *c = &l->core;
  pthread_mutex_lock(&c->mutex);
  long count = c->count;
  tl_thread *owner = c->owner;
  if (owner) tl_object_incref(&owner->obj);
  pthread_mutex_unlock(&c->mutex);
  const char *kind = c->recursive ? "RLock" : "Lock";
  if (count == 0) {
    lua_pushfstring(L, "%s(unlocked)", kind);
    return;
  }
  if (owner) {
    tl_push_new_object(L, &owner->obj); /* hands the reference to a box */
    tl_thread_push_name(L, owner);
    lua_remove(L, -2);
  } else {
    lua_pushliteral(L, "an unknown thread");
  }
  if (c->recursive)
    lua_pushfstring(L, "RLock(owned by %s, count %I)", lua_tostring(L, -1), (lua_Integer)count);
  else
    lua_pushfstring(L, "Lock(locked by %s)", lua_tostring(L, -1));
  lua_remove(L, -2);
}

/* --- Lock and RLock objects ------------------------------------------------ */

/* For deadlock reports: "Lock 0x...", "RLock 0x... (count 2)" and the owner. */
void tl_lockobj_describe(tl_object *o, char *buf, size_t size, tl_thread **holder) {
  tl_lockcore *c = &((tl_lockobj *)o)->core;
  pthread_mutex_lock(&c->mutex);
  long count = c->count;
  *holder = count > 0 ? c->owner : NULL;
  pthread_mutex_unlock(&c->mutex);
  if (c->recursive && count > 0) snprintf(buf, size, "RLock %p (count %ld)", (void *)o, count);
  else snprintf(buf, size, "%s %p", c->recursive ? "RLock" : "Lock", (void *)o);
}

void tl_lockobj_destroy(tl_object *o) {
  tl_lockobj *l = (tl_lockobj *)o;
  drop_owner(l->core.owner);
  pthread_mutex_destroy(&l->core.mutex);
  pthread_cond_destroy(&l->core.cond);
  free(l);
}

tl_lockobj *tl_lockobj_push_new(lua_State *L, const tl_kind *kind) {
  tl_lockobj *l = calloc(1, sizeof *l);
  if (l == NULL) luaL_error(L, "not enough memory");
  tl_object_init(&l->obj, kind);
  core_init(&l->core, kind == &tl_rlock_kind);
  tl_push_new_object(L, &l->obj);
  return l;
}

tl_lockobj *tl_lockobj_test(lua_State *L, int idx) {
  tl_object *o = tl_test_object(L, idx, &tl_lock_kind);
  if (o == NULL) o = tl_test_object(L, idx, &tl_rlock_kind);
  return (tl_lockobj *)o;
}

static tl_lockobj *check_lock(lua_State *L) {
  return (tl_lockobj *)tl_check_object(L, 1, &tl_lock_kind);
}

static int lock_acquire(lua_State *L) {
  lua_pushboolean(L, tl_lock_acquire(L, check_lock(L), 2));
  return 1;
}

static int lock_release(lua_State *L) {
  tl_lock_release(L, check_lock(L));
  return 0;
}

static int lock_locked(lua_State *L) {
  lua_pushboolean(L, tl_lock_locked(check_lock(L)));
  return 1;
}

static int lock_tostring(lua_State *L) {
  tl_lock_push_description(L, check_lock(L));
  return 1;
}

static const luaL_Reg lock_methods[] = {
    {"acquire", lock_acquire},
    {"release", lock_release},
    {"locked", lock_locked},
    {"with", tl_ctx_with},
    {"hold", tl_ctx_hold},
    {"__tostring", lock_tostring},
    {NULL, NULL},
};

const tl_kind tl_lock_kind = {
    .name = "Lock",
    .destroy = tl_lockobj_destroy,
    .methods = lock_methods,
    .describe = tl_lockobj_describe,
};

static int new_lock(lua_State *L) {
  tl_lockobj_push_new(L, &tl_lock_kind);
  return 1;
}

void tl_open_lock(lua_State *L) {
  lua_pushcfunction(L, new_lock);
  lua_setfield(L, -2, "Lock");
}
