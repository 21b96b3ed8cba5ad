/*
** lock.c -- threading.Lock: a non-recursive lock that any thread may
** release (Python's semantics).
**
**   acquire([blocking=true [, timeout=-1]]) -> boolean
**   release()        -- "RuntimeError: release unlocked lock" if unlocked
**   locked()         -- boolean
**   with(fn, ...), hold()  -- see context.c
**
** The uncontended path takes the mutex, flips 'locked' and returns, with
** the GIL kept.  A contended acquire releases the GIL, then waits on
** 'cond' (wait.c).  The owner is remembered (with a reference) only to
** say who holds the lock in tostring() and deadlock reports.
**
** Locking: 'mutex' guards every field; it is a leaf lock (tlua.h rules).
*/
#include <stdlib.h>

#include "thread.h"

typedef struct tl_lock {
  tl_object obj;
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  bool locked;
  int waiters;
  tl_thread *owner; /* who acquired it (a reference), or NULL */
} tl_lock;

static void lock_destroy(tl_object *o) {
  tl_lock *l = (tl_lock *)o;
  if (l->owner) tl_object_decref(&l->owner->obj);
  pthread_mutex_destroy(&l->mutex);
  pthread_cond_destroy(&l->cond);
  free(l);
}

static const tl_kind lock_kind;

static tl_lock *check_lock(lua_State *L) { return (tl_lock *)tl_check_object(L, 1, &lock_kind); }

/* Takes the lock for the calling thread; 'mutex' is held. */
static void take(tl_lock *l) {
  l->locked = true;
  l->owner = tl_self();
  if (l->owner) tl_object_incref(&l->owner->obj);
}

static int lock_acquire(lua_State *L) {
  tl_lock *l = check_lock(L);
  tl_deadline d;
  bool blocking = tl_check_blocking_timeout(L, 2, &d);
  pthread_mutex_lock(&l->mutex);
  if (!l->locked) {
    take(l);
    pthread_mutex_unlock(&l->mutex);
    lua_pushboolean(L, 1);
    return 1;
  }
  pthread_mutex_unlock(&l->mutex);
  if (!blocking) {
    lua_pushboolean(L, 0);
    return 1;
  }
  tl_blocking b;
  tl_blocking_begin(&b, "Lock");
  tl_wait_result r = TL_WAIT_OK;
  pthread_mutex_lock(&l->mutex);
  l->waiters++;
  while (l->locked && r == TL_WAIT_OK) r = tl_cond_wait(&l->cond, &l->mutex, &d);
  l->waiters--;
  bool got = !l->locked;
  if (got) take(l);
  pthread_mutex_unlock(&l->mutex);
  tl_blocking_end(&b);
  if (!got) tl_check_interrupt(L, r);
  lua_pushboolean(L, got);
  return 1;
}

static int lock_release(lua_State *L) {
  tl_lock *l = check_lock(L);
  pthread_mutex_lock(&l->mutex);
  if (!l->locked) {
    pthread_mutex_unlock(&l->mutex);
    return luaL_error(L, "RuntimeError: release unlocked lock");
  }
  tl_thread *owner = l->owner;
  l->locked = false;
  l->owner = NULL;
  if (l->waiters) pthread_cond_signal(&l->cond);
  pthread_mutex_unlock(&l->mutex);
  if (owner) tl_object_decref(&owner->obj);
  return 0;
}

static int lock_locked(lua_State *L) {
  tl_lock *l = check_lock(L);
  pthread_mutex_lock(&l->mutex);
  bool locked = l->locked;
  pthread_mutex_unlock(&l->mutex);
  lua_pushboolean(L, locked);
  return 1;
}

static int lock_tostring(lua_State *L) {
  tl_lock *l = check_lock(L);
  pthread_mutex_lock(&l->mutex);
  bool locked = l->locked;
  tl_thread *owner = l->owner;
  if (owner) tl_object_incref(&owner->obj);
  pthread_mutex_unlock(&l->mutex);
  if (!locked) {
    lua_pushliteral(L, "Lock(unlocked)");
  } else if (owner == NULL) {
    lua_pushliteral(L, "Lock(locked)");
  } else {
    tl_push_new_object(L, &owner->obj); /* hands the reference to a box */
    tl_thread_push_name(L, owner);
    lua_pushfstring(L, "Lock(locked by %s)", lua_tostring(L, -1));
  }
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

static const tl_kind lock_kind = {
    .name = "Lock",
    .destroy = lock_destroy,
    .methods = lock_methods,
};

static int new_lock(lua_State *L) {
  tl_lock *l = calloc(1, sizeof *l);
  if (l == NULL) return luaL_error(L, "not enough memory");
  tl_object_init(&l->obj, &lock_kind);
  pthread_mutex_init(&l->mutex, NULL);
  tl_cond_init(&l->cond);
  tl_push_new_object(L, &l->obj);
  return 1;
}

void tl_open_lock(lua_State *L) {
  lua_pushcfunction(L, new_lock);
  lua_setfield(L, -2, "Lock");
}
