/*
** semaphore.c -- threading.Semaphore([value=1]) and
** threading.BoundedSemaphore([value=1]): a counter that acquire()
** decrements, waiting while it is 0, and release() increments.
**
**   acquire([blocking=true [, timeout]]) -> boolean
**   release([n=1])   -- n < 1: "ValueError: n must be one or more";
**                       bounded and above the initial value:
**                       "ValueError: Semaphore released too many times"
**   with(fn, ...), hold()  -- see context.c
**
** As in Python a negative timeout means "do not wait", and the initial
** value must be >= 0 ("ValueError: semaphore initial value must be >= 0").
** The uncontended path keeps the GIL; a waiting acquire releases it.
** release(n) wakes up to n waiters; a waiter takes a unit only if one is
** left when it runs (others may have taken it first: no FIFO promise,
** as in Python).
**
** With the GIL off, a waiting acquire first watches for a unit for up to
** 16 us (kernel/watch.c) before it sleeps.
**
** Locking: 'mutex' guards every field; it is a leaf lock (kernel.h rules).
** 'available' (atomic) repeats value > 0 for a watcher to read without it.
*/
#include <stdlib.h>

#include "kinds.h"

typedef struct tl_semaphore {
  tl_object obj;
  pthread_mutex_t mutex;
  pthread_cond_t cond;   /* signalled when 'value' grows */
  lua_Integer value;
  atomic_bool available; /* value > 0, written with 'mutex' held */
  lua_Integer bound;     /* BoundedSemaphore: the initial value; else -1 */
  int waiters;
} tl_semaphore;

static const tl_kind semaphore_kind, bounded_semaphore_kind;

static void semaphore_destroy(tl_object *o) {
  tl_semaphore *s = (tl_semaphore *)o;
  pthread_mutex_destroy(&s->mutex);
  pthread_cond_destroy(&s->cond);
  free(s);
}

static tl_semaphore *check_semaphore(lua_State *L) {
  return (tl_semaphore *)tl_object_check(L, 1, &semaphore_kind); /* or a bounded one */
}

/* Sets 'value' ('mutex' held). */
static void set_value(tl_semaphore *s, lua_Integer value) {
  s->value = value;
  atomic_store_explicit(&s->available, value > 0, memory_order_relaxed);
}

/* Takes a unit if there is one ('mutex' held). */
static bool take_unit(tl_semaphore *s) {
  if (s->value == 0) return false;
  set_value(s, s->value - 1);
  return true;
}

static bool is_available(void *s) {
  return atomic_load_explicit(&((tl_semaphore *)s)->available, memory_order_relaxed);
}

static int semaphore_acquire(lua_State *L) {
  tl_semaphore *s = check_semaphore(L);
  tl_deadline d;
  bool blocking = tl_args_semaphore_timeout(L, 2, &d);
  tl_sched_point(L, "Semaphore.acquire", NULL);
  pthread_mutex_lock(&s->mutex);
  bool got = take_unit(s);
  pthread_mutex_unlock(&s->mutex);
  if (got || !blocking) {
    lua_pushboolean(L, got);
    return 1;
  }
  tl_waiting b;
  tl_wait_begin(&b, "Semaphore", &s->obj);
  if (tl_watch_allowed()) tl_watch(is_available, s, &d);
  tl_wait_result r = TL_WAIT_OK;
  pthread_mutex_lock(&s->mutex);
  s->waiters++;
  while (s->value == 0 && r == TL_WAIT_OK) r = tl_wait_cond(&s->cond, &s->mutex, &d);
  s->waiters--;
  got = take_unit(s);
  pthread_mutex_unlock(&s->mutex);
  tl_wait_end(&b);
  if (!got) tl_wait_check(L, r);
  lua_pushboolean(L, got);
  return 1;
}

static int semaphore_release(lua_State *L) {
  tl_semaphore *s = check_semaphore(L);
  lua_Integer n = luaL_optinteger(L, 2, 1);
  if (n < 1) return tl_error(L, "ValueError", "n must be one or more");
  tl_sched_point(L, "Semaphore.release", NULL);
  const char *error = NULL;
  pthread_mutex_lock(&s->mutex);
  if (s->bound >= 0 && (n > s->bound || s->value > s->bound - n))
    error = "ValueError: Semaphore released too many times";
  else if (s->value > LUA_MAXINTEGER - n)
    error = "OverflowError: semaphore value too large";
  if (error == NULL) {
    set_value(s, s->value + n);
    if (s->waiters > 0 && n == 1) tl_wait_signal(&s->cond);
    else if (s->waiters > 0) tl_wait_broadcast(&s->cond);
  }
  pthread_mutex_unlock(&s->mutex);
  if (error) return luaL_error(L, "%s", error);
  return 0;
}

static int semaphore_tostring(lua_State *L) {
  tl_semaphore *s = check_semaphore(L);
  pthread_mutex_lock(&s->mutex);
  lua_Integer value = s->value, bound = s->bound;
  pthread_mutex_unlock(&s->mutex);
  if (bound >= 0) lua_pushfstring(L, "BoundedSemaphore(value %I/%I)", value, bound);
  else lua_pushfstring(L, "Semaphore(value %I)", value);
  return 1;
}

static const luaL_Reg semaphore_methods[] = {
    {"acquire", semaphore_acquire},
    {"release", semaphore_release},
    {"with", tl_context_with},
    {"hold", tl_context_hold},
    {"__tostring", semaphore_tostring},
    {NULL, NULL},
};

static const tl_kind semaphore_kind = {
    .name = "Semaphore",
    .destroy = semaphore_destroy,
    .methods = semaphore_methods,
};

static const tl_kind bounded_semaphore_kind = {
    .name = "BoundedSemaphore",
    .destroy = semaphore_destroy,
    .base = &semaphore_kind, /* the same methods; the bound is in the object */
};

static int new_semaphore_of(lua_State *L, const tl_kind *kind) {
  static const char *const fields[] = {"value", NULL}; /* Semaphore{value = n, name = ...} */
  int spec = tl_spec_unpack(L, fields) ? 2 : 0;
  lua_Integer value = luaL_optinteger(L, 1, 1);
  if (value < 0) return tl_error(L, "ValueError", "semaphore initial value must be >= 0");
  char *label = tl_spec_label(L, spec);
  tl_semaphore *s = calloc(1, sizeof *s);
  if (s == NULL) {
    free(label);
    return luaL_error(L, "not enough memory");
  }
  tl_object_init(&s->obj, kind);
  tl_object_set_label(&s->obj, label);
  tl_mutex_init(&s->mutex);
  tl_clock_cond_init(&s->cond);
  set_value(s, value);
  s->bound = kind == &bounded_semaphore_kind ? value : -1;
  tl_object_push_new(L, &s->obj);
  return 1;
}

static int new_semaphore(lua_State *L) { return new_semaphore_of(L, &semaphore_kind); }
static int new_bounded_semaphore(lua_State *L) {
  return new_semaphore_of(L, &bounded_semaphore_kind);
}

void tl_semaphore_open(lua_State *L) {
  lua_pushcfunction(L, new_semaphore);
  lua_setfield(L, -2, "Semaphore");
  lua_pushcfunction(L, new_bounded_semaphore);
  lua_setfield(L, -2, "BoundedSemaphore");
}
