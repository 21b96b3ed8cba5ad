/*
** barrier.c -- threading.Barrier(parties [, action [, timeout]]): 'parties'
** threads meet in wait(); the last to arrive runs 'action' (if any), then
** all of them go on.
**
**   wait([timeout]) -> an index 0..parties-1, distinct among the parties
**   reset()          -- back to the initial state; threads waiting now
**                       raise BrokenBarrierError
**   abort()          -- breaks it: waiting (now or later) raises
**   b.parties, b.n_waiting, b.broken
**
** "BrokenBarrierError: ..." is raised by wait() on a broken barrier, on a
** timeout (which breaks it, default: the constructor's timeout), after
** abort() or reset(), and in the other threads when 'action' fails; the
** thread that ran the failing action re-raises the action's own error.
**
** Python's state machine (Lib/threading.py), one addition: ACTION.  Python
** runs the action with the barrier's lock held; here the action is Lua
** code, which must not run under a C mutex, so the last thread marks the
** barrier ACTION and runs it with the mutex released.  Meanwhile newcomers
** wait as while DRAINING, waiters' timeouts do not count (in Python they
** could not take the lock back either), reset() changes nothing (as for a
** draining barrier) and abort() breaks the barrier at once.
**
** The action is a Lua function copied into a blob by the constructor and
** decoded (copied again, upvalues too) in the thread that runs it.
**
** With the GIL off, a party waiting for the last one first watches the
** barrier's changes for up to 16 us (kernel/watch.c) before it sleeps.
**
** Locking: 'mutex' guards 'state' and 'count'; it is a leaf lock (kernel.h
** rules).  'cond' is broadcast at every change of state.  Blocking waits
** release the GIL first; the action runs with the GIL and no mutex.
** 'changes' (atomic) counts the changes of state, written with 'mutex'
** held, for a watcher to read without it.
*/
#include <stdlib.h>
#include <string.h>

#include "kinds.h"

typedef enum { FILLING, ACTION, DRAINING, RESETTING, BROKEN } barrier_state;

typedef struct tl_barrier {
  tl_object obj;
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  lua_Integer parties;
  tl_blob *action;      /* NULL: none */
  bool has_timeout;     /* the default timeout of wait() */
  double timeout;
  barrier_state state;  /* changed by move_to only */
  atomic_uint changes;  /* of 'state' (see move_to) */
  lua_Integer count;    /* threads inside wait() past the entrance */
} tl_barrier;

static const tl_kind barrier_kind;

static void barrier_destroy(tl_object *o) {
  tl_barrier *br = (tl_barrier *)o;
  tl_blob_free(br->action);
  pthread_mutex_destroy(&br->mutex);
  pthread_cond_destroy(&br->cond);
  free(br);
}

static tl_barrier *check_barrier(lua_State *L) {
  return (tl_barrier *)tl_object_check(L, 1, &barrier_kind);
}

/* 'mutex' held. */
static void move_to(tl_barrier *br, barrier_state state) {
  br->state = state;
  atomic_fetch_add_explicit(&br->changes, 1, memory_order_relaxed);
}

static void set_state(tl_barrier *br, barrier_state state) {
  move_to(br, state);
  tl_wait_broadcast(&br->cond);
}

/* A thread leaves wait(): the last one out ends draining or resetting.
** 'mutex' held. */
static void leave(tl_barrier *br) {
  br->count--;
  if (br->count == 0 && (br->state == DRAINING || br->state == RESETTING)) set_state(br, FILLING);
}

typedef struct watched {
  tl_barrier *br;
  unsigned seen; /* 'changes' when the watch began */
} watched;

static bool has_changed(void *ud) {
  watched *w = (watched *)ud;
  return atomic_load_explicit(&w->br->changes, memory_order_relaxed) != w->seen;
}

/* Before a wait for the next change of state ('mutex' held, and held
** again on return): with the GIL off, watches for it without the mutex. */
static void watch_changes(tl_barrier *br, const tl_deadline *d) {
  if (!tl_watch_allowed()) return;
  watched w = {br, atomic_load_explicit(&br->changes, memory_order_relaxed)};
  pthread_mutex_unlock(&br->mutex);
  tl_watch(has_changed, &w, d);
  pthread_mutex_lock(&br->mutex);
}

/* Decodes and calls the action (in protected mode, argument: the barrier). */
static int call_action(lua_State *L) {
  tl_barrier *br = (tl_barrier *)lua_touserdata(L, 1);
  lua_settop(L, 0);
  int n = tl_blob_decode(L, br->action);
  lua_call(L, n - 1, 0);
  return 0;
}

/* The last thread to arrive: runs the action and releases the others.
** Called with 'mutex' held and the GIL released; returns with neither
** (raising the action's error if it failed). */
static void release_parties(lua_State *L, tl_barrier *br, tl_waiting *b) {
  if (br->action == NULL) {
    set_state(br, DRAINING);
    leave(br);
    pthread_mutex_unlock(&br->mutex);
    tl_wait_end(b);
    return;
  }
  move_to(br, ACTION);
  pthread_mutex_unlock(&br->mutex);
  tl_wait_end(b);
  lua_pushcfunction(L, call_action);
  lua_pushlightuserdata(L, br);
  int status = lua_pcall(L, 1, 0, 0);
  pthread_mutex_lock(&br->mutex); /* brief: never waits for the GIL under it */
  if (status != LUA_OK) set_state(br, BROKEN);
  else if (br->state == ACTION) set_state(br, DRAINING);
  /* else abort() came during the action: stays broken */
  leave(br);
  pthread_mutex_unlock(&br->mutex);
  if (status != LUA_OK) lua_error(L);
}

static tl_deadline default_deadline(tl_barrier *br) {
  return tl_clock_deadline(!br->has_timeout ? -1 : br->timeout < 0 ? 0 : br->timeout);
}

static int barrier_wait(lua_State *L) {
  tl_barrier *br = check_barrier(L);
  tl_deadline d = lua_isnoneornil(L, 2) ? default_deadline(br) : tl_args_timeout(L, 2);
  tl_sched_point(L, "Barrier.wait", NULL);
  tl_deadline forever = tl_clock_forever();
  tl_waiting b;
  tl_wait_begin(&b, "Barrier", &br->obj);
  tl_wait_result r = TL_WAIT_OK;
  pthread_mutex_lock(&br->mutex);
  /* The entrance: wait while the previous round drains or resets. */
  if (br->state == ACTION || br->state == DRAINING || br->state == RESETTING) watch_changes(br, &forever);
  while ((br->state == ACTION || br->state == DRAINING || br->state == RESETTING) &&
         r == TL_WAIT_OK)
    r = tl_wait_cond(&br->cond, &br->mutex, &forever);
  const char *error = NULL;
  if (r != TL_WAIT_OK) {
    error = "interrupted!";
  } else if (br->state == BROKEN) {
    error = "BrokenBarrierError: the barrier is broken";
  } else {
    lua_Integer index = br->count++;
    if (index + 1 == br->parties) {
      release_parties(L, br, &b);
      lua_pushinteger(L, index);
      return 1;
    }
    /* Wait for the last party; the timeout does not run out during the
    ** action (Python's waiters need the lock the action holds). */
    if (br->state == FILLING) watch_changes(br, &d);
    for (;;) {
      if (br->state != FILLING && br->state != ACTION) break;
      if (r == TL_WAIT_INTERRUPTED || r == TL_WAIT_OVERFLOW || r == TL_WAIT_ABORTED ||
          (r == TL_WAIT_TIMEOUT && br->state == FILLING))
        break;
      r = tl_wait_cond(&br->cond, &br->mutex, br->state == ACTION ? &forever : &d);
    }
    switch (br->state) {
      case DRAINING: break;
      case RESETTING: error = "BrokenBarrierError: the barrier was reset"; break;
      case BROKEN: error = "BrokenBarrierError: the barrier is broken"; break;
      default: /* FILLING or ACTION: Ctrl-C or a timeout */
        if (r == TL_WAIT_INTERRUPTED || r == TL_WAIT_OVERFLOW || r == TL_WAIT_ABORTED) {
          /* as Python: leaves without breaking it (tl_wait_check raises) */
          error = "interrupted!";
        } else {
          set_state(br, BROKEN);
          error = "BrokenBarrierError: wait timed out (the barrier is now broken)";
        }
    }
    leave(br);
    if (error == NULL) {
      pthread_mutex_unlock(&br->mutex);
      tl_wait_end(&b);
      lua_pushinteger(L, index);
      return 1;
    }
  }
  pthread_mutex_unlock(&br->mutex);
  tl_wait_end(&b);
  tl_wait_check(L, r);
  return luaL_error(L, "%s", error);
}

static int barrier_reset(lua_State *L) {
  tl_barrier *br = check_barrier(L);
  tl_sched_point(L, "Barrier.reset", NULL);
  pthread_mutex_lock(&br->mutex);
  if (br->count == 0) set_state(br, FILLING);
  else if (br->state == FILLING || br->state == BROKEN) set_state(br, RESETTING);
  pthread_mutex_unlock(&br->mutex);
  return 0;
}

static int barrier_abort(lua_State *L) {
  tl_barrier *br = check_barrier(L);
  tl_sched_point(L, "Barrier.abort", NULL);
  pthread_mutex_lock(&br->mutex);
  set_state(br, BROKEN);
  pthread_mutex_unlock(&br->mutex);
  return 0;
}

/* A consistent snapshot of the public fields. */
typedef struct barrier_view {
  lua_Integer parties, n_waiting;
  bool broken;
} barrier_view;

static barrier_view view(tl_barrier *br) {
  pthread_mutex_lock(&br->mutex);
  barrier_view v = {
      .parties = br->parties,
      .n_waiting = (br->state == FILLING || br->state == ACTION) ? br->count : 0,
      .broken = br->state == BROKEN,
  };
  pthread_mutex_unlock(&br->mutex);
  return v;
}

static int barrier_getfield(lua_State *L, tl_object *o, const char *key) {
  barrier_view v = view((tl_barrier *)o);
  if (strcmp(key, "parties") == 0) lua_pushinteger(L, v.parties);
  else if (strcmp(key, "n_waiting") == 0) lua_pushinteger(L, v.n_waiting);
  else if (strcmp(key, "broken") == 0) lua_pushboolean(L, v.broken);
  else return 0;
  return 1;
}

static int barrier_tostring(lua_State *L) {
  barrier_view v = view(check_barrier(L));
  if (v.broken) lua_pushfstring(L, "Barrier(parties %I, broken)", v.parties);
  else lua_pushfstring(L, "Barrier(parties %I, waiting %I)", v.parties, v.n_waiting);
  return 1;
}

static const luaL_Reg barrier_methods[] = {
    {"wait", barrier_wait},
    {"reset", barrier_reset},
    {"abort", barrier_abort},
    {"__tostring", barrier_tostring},
    {NULL, NULL},
};

static const tl_kind barrier_kind = {
    .name = "Barrier",
    .destroy = barrier_destroy,
    .methods = barrier_methods,
    .getfield = barrier_getfield,
};

static int new_barrier(lua_State *L) {
  static const char *const fields[] = {"parties", "action", "timeout", NULL}; /* Barrier{parties = n, ...} */
  int spec = tl_spec_unpack(L, fields) ? 4 : 0;
  lua_Integer parties = luaL_checkinteger(L, 1);
  if (parties < 1) return tl_error(L, "ValueError", "parties must be > 0");
  bool has_action = !lua_isnoneornil(L, 2);
  if (has_action) tl_args_check_callable(L, 2);
  bool has_timeout = !lua_isnoneornil(L, 3);
  double timeout = has_timeout ? tl_args_number(L, 3, "timeout") : -1;
  if (spec) lua_replace(L, 3); /* the table, kept for its name */
  lua_settop(L, 3);
  tl_blob *action = has_action ? tl_blob_encode(L, 2, 1, "action") : NULL;
  char *label = tl_spec_label(L, spec ? 3 : 0);
  tl_barrier *br = calloc(1, sizeof *br);
  if (br == NULL) {
    tl_blob_free(action);
    free(label);
    return luaL_error(L, "not enough memory");
  }
  tl_object_init(&br->obj, &barrier_kind);
  tl_object_set_label(&br->obj, label);
  tl_mutex_init(&br->mutex);
  tl_clock_cond_init(&br->cond);
  br->parties = parties;
  br->action = action;
  br->has_timeout = has_timeout;
  br->timeout = timeout;
  move_to(br, FILLING);
  tl_object_push_new(L, &br->obj);
  return 1;
}

void tl_barrier_open(lua_State *L) {
  lua_pushcfunction(L, new_barrier);
  lua_setfield(L, -2, "Barrier");
}
