/*
** event.c -- threading.Event(): a flag that threads can wait for.
**
**   set(), clear(), is_set() -> boolean
**   wait([timeout]) -> the flag on exit: true unless the wait timed out
**
** As in Python, set() wakes every thread waiting at that moment, and
** their wait() returns true even if clear() came before they ran: set()
** bumps a generation count that waiters compare with the one they saw on
** entry.  A negative timeout means "do not wait".
**
** With the GIL off, a wait first watches the generation count for up to
** 16 us (kernel/watch.c) before it sleeps: a set() from a thread on
** another core is then seen in a microsecond, not after a wake-up.
**
** Locking: 'mutex' guards every field; it is a leaf lock (kernel.h rules).
** 'sets' is atomic so that a watcher may read it without the mutex; it is
** written with the mutex held.
*/
#include <stdlib.h>

#include "kinds.h"

typedef struct tl_event {
  tl_object obj;
  pthread_mutex_t mutex;
  pthread_cond_t cond; /* broadcast by set() */
  bool flag;
  atomic_ulong sets;   /* how many times set() raised the flag */
} tl_event;

static const tl_kind event_kind;

static void event_destroy(tl_object *o) {
  tl_event *e = (tl_event *)o;
  pthread_mutex_destroy(&e->mutex);
  pthread_cond_destroy(&e->cond);
  free(e);
}

static tl_event *check_event(lua_State *L) {
  return (tl_event *)tl_object_check(L, 1, &event_kind);
}

static int event_set(lua_State *L) {
  tl_event *e = check_event(L);
  tl_sched_point(L, "Event.set", NULL);
  pthread_mutex_lock(&e->mutex);
  if (!e->flag) {
    e->flag = true;
    atomic_fetch_add_explicit(&e->sets, 1, memory_order_relaxed);
    tl_wait_broadcast(&e->cond);
  }
  pthread_mutex_unlock(&e->mutex);
  return 0;
}

static int event_clear(lua_State *L) {
  tl_event *e = check_event(L);
  tl_sched_point(L, "Event.clear", NULL);
  pthread_mutex_lock(&e->mutex);
  e->flag = false;
  pthread_mutex_unlock(&e->mutex);
  return 0;
}

static int event_is_set(lua_State *L) {
  tl_event *e = check_event(L);
  tl_sched_point(L, "Event.is_set", NULL);
  pthread_mutex_lock(&e->mutex);
  bool flag = e->flag;
  pthread_mutex_unlock(&e->mutex);
  lua_pushboolean(L, flag);
  return 1;
}

typedef struct watched {
  tl_event *e;
  unsigned long seen; /* 'sets' when the wait began */
} watched;

static bool was_set(void *ud) {
  watched *w = (watched *)ud;
  return atomic_load_explicit(&w->e->sets, memory_order_relaxed) != w->seen;
}

static int event_wait(lua_State *L) {
  tl_event *e = check_event(L);
  tl_deadline d = tl_args_timeout(L, 2);
  tl_sched_point(L, "Event.wait", NULL);
  pthread_mutex_lock(&e->mutex);
  bool flag = e->flag;
  unsigned long seen = atomic_load_explicit(&e->sets, memory_order_relaxed);
  pthread_mutex_unlock(&e->mutex);
  if (flag || tl_clock_remaining(&d) == 0) {
    lua_pushboolean(L, flag);
    return 1;
  }
  tl_waiting b;
  tl_wait_begin(&b, "Event", &e->obj);
  if (tl_watch_allowed()) tl_watch(was_set, &(watched){e, seen}, &d);
  tl_wait_result r = TL_WAIT_OK;
  pthread_mutex_lock(&e->mutex);
  while (!e->flag && atomic_load_explicit(&e->sets, memory_order_relaxed) == seen && r == TL_WAIT_OK)
    r = tl_wait_cond(&e->cond, &e->mutex, &d);
  flag = e->flag || atomic_load_explicit(&e->sets, memory_order_relaxed) != seen;
  pthread_mutex_unlock(&e->mutex);
  tl_wait_end(&b);
  if (!flag) tl_wait_check(L, r);
  lua_pushboolean(L, flag);
  return 1;
}

static int event_tostring(lua_State *L) {
  tl_event *e = check_event(L);
  pthread_mutex_lock(&e->mutex);
  bool flag = e->flag;
  pthread_mutex_unlock(&e->mutex);
  lua_pushstring(L, flag ? "Event(set)" : "Event(unset)");
  return 1;
}

static const luaL_Reg event_methods[] = {
    {"set", event_set},
    {"clear", event_clear},
    {"is_set", event_is_set},
    {"wait", event_wait},
    {"__tostring", event_tostring},
    {NULL, NULL},
};

static const tl_kind event_kind = {
    .name = "Event",
    .destroy = event_destroy,
    .methods = event_methods,
};

static int new_event(lua_State *L) {
  static const char *const fields[] = {NULL}; /* Event{name = ...} */
  char *label = tl_spec_label(L, tl_spec_unpack(L, fields) ? 1 : 0);
  tl_event *e = calloc(1, sizeof *e);
  if (e == NULL) {
    free(label);
    return luaL_error(L, "not enough memory");
  }
  tl_object_init(&e->obj, &event_kind);
  tl_object_set_label(&e->obj, label);
  tl_mutex_init(&e->mutex);
  tl_clock_cond_init(&e->cond);
  tl_object_push_new(L, &e->obj);
  return 1;
}

void tl_event_open(lua_State *L) {
  lua_pushcfunction(L, new_event);
  lua_setfield(L, -2, "Event");
}
