/*
** condition.c -- threading.Condition([lock]): a condition variable bound
** to a Lock or an RLock (a new RLock by default, as in Python).
**
**   acquire(...), release(), with(fn, ...), hold()  -- the lock's
**   wait([timeout]) -> true if notified, false on timeout
**   wait_for(pred [, timeout]) -> pred's last value
**   notify([n=1]), notify_all()
**   c.lock           -- the Lock or RLock (Python's private _lock)
**
** wait, wait_for and notify need the calling thread to hold the lock:
** "RuntimeError: cannot wait on un-acquired lock" / "... notify on ...".
**
** Waiters queue in FIFO order.  Each waiter is a node on its own C stack
** with its own pthread condition and a 'notified' flag; notify(n) takes
** the first n nodes off the queue, sets their flag and signals them, so
** exactly n waiters (or all there are) return true and a waiter whose
** timeout expires is never counted as woken.  wait() queues itself
** *before* releasing the lock (every level of an RLock), so a notify
** from a thread that takes the lock next cannot be missed; it takes the
** lock back with the same level before returning, even on Ctrl-C.
** wait_for calls the predicate from Lua with the lock held and no C
** mutex held.
**
** With the GIL off, a waiter first watches its flag for up to 16 us
** (kernel/watch.c) before it sleeps: a notify() from a thread on another
** core is then seen in a microsecond (two threads passing a turn back
** and forth through one Condition: 23-25 us per hand-off before).
**
** Locking: 'mutex' guards the queue and the nodes' flags; it is a leaf
** lock and never held together with the lock core's locks (lockcore.h).
** A node's flag is atomic, for its watcher to read without 'mutex'; the
** waiter still takes 'mutex' before it returns, so a notifier is done
** with the node (on the waiter's stack) by then.
*/
#include <stdlib.h>
#include <string.h>

#include "lockcore.h"

typedef struct waiter {
  pthread_cond_t cond;
  atomic_bool notified; /* written with 'mutex' held */
  struct waiter *next;
} waiter;

typedef struct tl_condition {
  tl_object obj;
  tl_lockobj *lock; /* a reference */
  pthread_mutex_t mutex;
  waiter *head, *tail;
  long n_waiting;
} tl_condition;

static void condition_destroy(tl_object *o) {
  tl_condition *c = (tl_condition *)o;
  tl_object_decref(&c->lock->obj);
  pthread_mutex_destroy(&c->mutex);
  free(c);
}

static const tl_kind condition_kind;

static tl_condition *check_condition(lua_State *L) {
  return (tl_condition *)tl_object_check(L, 1, &condition_kind);
}

/* --- the waiter queue ('mutex' held) ---------------------------------- */

static void enqueue(tl_condition *c, waiter *w) {
  w->next = NULL;
  if (c->tail) c->tail->next = w;
  else c->head = w;
  c->tail = w;
  c->n_waiting++;
}

static void unlink_waiter(tl_condition *c, waiter *w) {
  waiter *prev = NULL;
  for (waiter *p = c->head; p != NULL; prev = p, p = p->next) {
    if (p != w) continue;
    if (prev) prev->next = w->next;
    else c->head = w->next;
    if (c->tail == w) c->tail = prev;
    c->n_waiting--;
    return;
  }
}

/* --- wait and notify ------------------------------------------------- */

static void check_owned(lua_State *L, tl_condition *c, const char *what) {
  if (tl_lock_owned_count(c->lock) == 0)
    tl_error(L, "RuntimeError", "cannot %s on un-acquired lock", what);
}

static bool is_notified(void *w) {
  return atomic_load_explicit(&((waiter *)w)->notified, memory_order_relaxed);
}

/* The body of wait(): the caller has checked that it holds the lock. */
static bool wait_notified(lua_State *L, tl_condition *c, const tl_deadline *d) {
  tl_lockobj *lock = c->lock;
  waiter w;
  tl_clock_cond_init(&w.cond);
  atomic_init(&w.notified, false);
  pthread_mutex_lock(&c->mutex);
  enqueue(c, &w);
  pthread_mutex_unlock(&c->mutex);
  long saved = tl_lock_release_save(lock);
  if (saved == 0) { /* a Lock released by another thread meanwhile */
    pthread_mutex_lock(&c->mutex);
    unlink_waiter(c, &w);
    pthread_mutex_unlock(&c->mutex);
    pthread_cond_destroy(&w.cond);
    tl_error(L, "RuntimeError", "cannot wait on un-acquired lock");
  }
  tl_waiting b;
  tl_wait_begin(&b, "Condition", &c->obj);
  if (tl_watch_allowed()) tl_watch(is_notified, &w, d);
  tl_wait_result r = TL_WAIT_OK;
  pthread_mutex_lock(&c->mutex);
  while (!atomic_load_explicit(&w.notified, memory_order_relaxed) && r == TL_WAIT_OK)
    r = tl_wait_cond(&w.cond, &c->mutex, d);
  bool notified = atomic_load_explicit(&w.notified, memory_order_relaxed);
  if (!notified) unlink_waiter(c, &w); /* notify() unlinks the ones it wakes */
  pthread_mutex_unlock(&c->mutex);
  bool back = tl_lock_acquire_restore(lock, saved);
  tl_wait_end(&b);
  pthread_cond_destroy(&w.cond);
  if (!back) tl_wait_check(L, TL_WAIT_ABORTED); /* (raises: an aborted threading.check run) */
  if (!notified) tl_wait_check(L, r);
  return notified;
}

static int condition_wait(lua_State *L) {
  tl_condition *c = check_condition(L);
  tl_deadline d = tl_args_timeout(L, 2);
  check_owned(L, c, "wait");
  tl_sched_point(L, "Condition.wait", NULL);
  lua_pushboolean(L, wait_notified(L, c, &d));
  return 1;
}

/* wait_for(pred [, timeout]): as Python, calls pred() first, then waits
** and calls it again after each wake-up until it returns a true value or
** the time is up; returns its last value. */
static int condition_wait_for(lua_State *L) {
  tl_condition *c = check_condition(L);
  tl_args_check_callable(L, 2);
  tl_deadline d = tl_args_timeout(L, 3);
  check_owned(L, c, "wait");
  tl_sched_point(L, "Condition.wait_for", NULL);
  lua_settop(L, 2);
  for (;;) {
    lua_pushvalue(L, 2);
    lua_call(L, 0, 1);
    if (lua_toboolean(L, -1) || tl_clock_remaining(&d) == 0) return 1;
    lua_pop(L, 1);
    wait_notified(L, c, &d);
  }
}

static void notify(lua_State *L, tl_condition *c, lua_Integer n) {
  check_owned(L, c, "notify");
  pthread_mutex_lock(&c->mutex);
  for (; n > 0 && c->head != NULL; n--) {
    waiter *w = c->head;
    c->head = w->next;
    if (c->head == NULL) c->tail = NULL;
    c->n_waiting--;
    atomic_store_explicit(&w->notified, true, memory_order_relaxed);
    tl_wait_signal(&w->cond); /* w is destroyed only after 'mutex' is free */
  }
  pthread_mutex_unlock(&c->mutex);
}

static int condition_notify(lua_State *L) {
  tl_condition *c = check_condition(L);
  lua_Integer n = luaL_optinteger(L, 2, 1);
  if (n < 0) return luaL_argerror(L, 2, "ValueError: n must be a non-negative integer");
  tl_sched_point(L, "Condition.notify", NULL);
  notify(L, c, n);
  return 0;
}

static int condition_notify_all(lua_State *L) {
  tl_sched_point(L, "Condition.notify_all", NULL);
  notify(L, check_condition(L), LUA_MAXINTEGER);
  return 0;
}

/* --- the lock's methods ---------------------------------------------- */

static int condition_acquire(lua_State *L) {
  lua_pushboolean(L, tl_lock_acquire(L, check_condition(L)->lock, 2));
  return 1;
}

static int condition_release(lua_State *L) {
  tl_lock_release(L, check_condition(L)->lock);
  return 0;
}

static int condition_tostring(lua_State *L) {
  tl_condition *c = check_condition(L);
  pthread_mutex_lock(&c->mutex);
  long n = c->n_waiting;
  pthread_mutex_unlock(&c->mutex);
  tl_lock_push_description(L, c->lock);
  lua_pushfstring(L, "Condition(%s, %I waiting)", lua_tostring(L, -1), (lua_Integer)n);
  return 1;
}

static const luaL_Reg condition_methods[] = {
    {"acquire", condition_acquire},
    {"release", condition_release},
    {"wait", condition_wait},
    {"wait_for", condition_wait_for},
    {"notify", condition_notify},
    {"notify_all", condition_notify_all},
    {"with", tl_context_with},
    {"hold", tl_context_hold},
    {"__tostring", condition_tostring},
    {NULL, NULL},
};

/* c.lock: the Lock or RLock it uses. */
static int condition_getfield(lua_State *L, tl_object *o, const char *key) {
  if (strcmp(key, "lock") != 0) return 0;
  tl_object_push(L, &((tl_condition *)o)->lock->obj);
  return 1;
}

static const tl_kind condition_kind = {
    .name = "Condition",
    .destroy = condition_destroy,
    .methods = condition_methods,
    .getfield = condition_getfield,
};

static int new_condition(lua_State *L) {
  static const char *const fields[] = {"lock", NULL}; /* Condition{lock = l, name = ...} */
  int spec = tl_spec_unpack(L, fields) ? 2 : 0;
  tl_lockobj *lock;
  if (lua_isnoneornil(L, 1)) {
    lock = tl_lockobj_push_new(L, &tl_rlock_kind, 0);
  } else {
    lock = tl_lockobj_test(L, 1);
    if (lock == NULL) luaL_typeerror(L, 1, "Lock or RLock");
  }
  char *label = tl_spec_label(L, spec);
  tl_condition *c = calloc(1, sizeof *c);
  if (c == NULL) {
    free(label);
    return luaL_error(L, "not enough memory");
  }
  tl_object_init(&c->obj, &condition_kind);
  tl_object_set_label(&c->obj, label);
  tl_mutex_init(&c->mutex);
  tl_object_incref(&lock->obj);
  c->lock = lock;
  tl_object_push_new(L, &c->obj);
  return 1;
}

void tl_condition_open(lua_State *L) {
  lua_pushcfunction(L, new_condition);
  lua_setfield(L, -2, "Condition");
}
