/*
** future.c -- threading.Future: the result of a call that runs elsewhere
** (concurrent.futures.Future), shared by reference between the thread that
** submitted the call and the worker that runs it.
**
**   Future()                   a new pending future (ThreadPoolExecutor makes them)
**   result([timeout])          the call's results; raises its error (with the
**                              worker's traceback text), "CancelledError",
**                              or "TimeoutError"
**   exception([timeout])       -> error value, traceback | nil
**   done(), running(), cancelled()
**   cancel()                   true if pending (now cancelled) or already
**                              cancelled; false if running or finished
**   add_done_callback(fn)      fn(future) when done: in the thread that
**                              completes it, or at once if already done
**   set_running_or_notify_cancel(), set_result(...), set_exception(err [, traceback])
**                              for executors (Python's names)
**   _add_waiter(queue)         puts the future into 'queue' when it completes;
**                              false if already done (wait(), as_completed())
**   _remove_waiter(queue)      takes it back (wait(), as_completed() returning
**                              before the future completes)
**   fields: _state ("pending"...), _failed
**
** Values are copied (blobs): the results once by the worker, decoded by
** every reader.  Callbacks are copied in when added and run in the state of
** the completing thread, each in protected mode; an error in one is written
** to stderr.  A failed future whose error was never read by result() or
** exception() reports it on stderr when its last reference goes.
**
** With the GIL off, a wait for the outcome first watches for it for up to
** 16 us (kernel/watch.c) before it sleeps.
**
** Locking: 'mutex' guards every field; a leaf lock (kernel.h rules).  The
** callback and waiter lists are taken out under the mutex at completion and
** run/notified after it is released.  'done' (atomic) repeats that the
** state is FINISHED or CANCELLED, for a watcher to read without the mutex.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"

typedef enum { F_PENDING, F_RUNNING, F_FINISHED, F_CANCELLED } future_state;

static const char *const state_names[] = {"pending", "running", "finished", "cancelled"};

/* A growable array of pointers (callback blobs or waiter queues). */
typedef struct ptr_list {
  void **items;
  size_t n, cap;
} ptr_list;

static bool ptr_list_push(ptr_list *l, void *p) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 4;
    void **items = realloc(l->items, cap * sizeof *items);
    if (items == NULL) return false;
    l->items = items;
    l->cap = cap;
  }
  l->items[l->n++] = p;
  return true;
}

typedef struct tl_future {
  tl_object obj;
  pthread_mutex_t mutex;
  pthread_cond_t done_cond; /* broadcast when finished or cancelled */
  future_state state;
  atomic_bool done;         /* state is FINISHED or CANCELLED; written with 'mutex' held */
  bool failed;              /* finished with an error */
  bool error_read;          /* result()/exception() saw the error */
  tl_blob *result;          /* the results, or the error value if failed */
  char *traceback;          /* if failed: message and traceback */
  ptr_list callbacks;       /* tl_blob * (one function each) */
  ptr_list waiters;         /* tl_object * (queues; a reference each) */
} tl_future;

static const tl_kind future_kind;

bool tl_future_is(const tl_object *o) { return o->kind == &future_kind; }

static tl_future *check_future(lua_State *L) { return (tl_future *)tl_object_check(L, 1, &future_kind); }

static bool is_done(future_state st) { return st == F_FINISHED || st == F_CANCELLED; }

static void free_lists(ptr_list *callbacks, ptr_list *waiters) {
  for (size_t i = 0; i < callbacks->n; i++) tl_blob_free(callbacks->items[i]);
  for (size_t i = 0; i < waiters->n; i++) tl_object_decref(waiters->items[i]);
  free(callbacks->items);
  free(waiters->items);
}

static void future_destroy(tl_object *o) {
  tl_future *f = (tl_future *)o;
  if (f->failed && !f->error_read)
    tl_report_write("Future exception was never retrieved", f->traceback ? f->traceback : "?");
  tl_blob_free(f->result);
  free(f->traceback);
  free_lists(&f->callbacks, &f->waiters);
  pthread_mutex_destroy(&f->mutex);
  pthread_cond_destroy(&f->done_cond);
  free(f);
}

/* --- completion ------------------------------------------------------- */

/* In protected mode: decodes callback 1 and calls it with the future 2. */
static int call_callback(lua_State *L) {
  const tl_blob *cb = (const tl_blob *)lua_touserdata(L, 1);
  tl_blob_decode(L, cb);
  lua_pushvalue(L, 2);
  lua_call(L, 1, 0);
  return 0;
}

/* Runs one callback for the future at index 'fut'; reports its error. */
static void run_callback(lua_State *L, int fut, tl_blob *cb) {
  int top = lua_gettop(L);
  lua_pushcfunction(L, tl_report_traceback);
  lua_pushcfunction(L, call_callback);
  lua_pushlightuserdata(L, cb);
  lua_pushvalue(L, fut);
  if (lua_pcall(L, 2, 0, top + 1) != LUA_OK) {
    const char *tb = lua_tostring(L, -1);
    lua_pushfstring(L, "exception calling callback for %s:", luaL_tolstring(L, fut, NULL));
    tl_report_write(lua_tostring(L, -1), tb ? tb : "?");
  }
  lua_settop(L, top);
}

/* Moves the future to 'st' (FINISHED or CANCELLED) with its outcome, then
** notifies waiters and runs callbacks in L; the future's box is at index 1.
** Takes over 'result' and 'traceback'.  False if it was already done. */
static bool complete(lua_State *L, tl_future *f, future_state st, bool failed, tl_blob *result,
                     char *traceback) {
  ptr_list callbacks = {0}, waiters = {0};
  pthread_mutex_lock(&f->mutex);
  bool ok = !is_done(f->state);
  if (ok) {
    f->state = st;
    atomic_store_explicit(&f->done, true, memory_order_relaxed);
    f->failed = failed;
    f->result = result;
    f->traceback = traceback;
    callbacks = f->callbacks;
    waiters = f->waiters;
    memset(&f->callbacks, 0, sizeof f->callbacks);
    memset(&f->waiters, 0, sizeof f->waiters);
    tl_wait_broadcast(&f->done_cond);
  }
  pthread_mutex_unlock(&f->mutex);
  if (!ok) {
    tl_blob_free(result);
    free(traceback);
    return false;
  }
  if (waiters.n > 0) {
    lua_pushvalue(L, 1);
    tl_blob *self = tl_blob_encode(L, -1, 1, "future");
    lua_pop(L, 1);
    for (size_t i = 0; i < waiters.n; i++) {
      tl_blob_incref(self);
      tl_queue_offer(waiters.items[i], self);
    }
    tl_blob_free(self);
  }
  for (size_t i = 0; i < callbacks.n; i++) run_callback(L, 1, callbacks.items[i]);
  free_lists(&callbacks, &waiters);
  return true;
}

static bool has_outcome(void *f) {
  return atomic_load_explicit(&((tl_future *)f)->done, memory_order_relaxed);
}

/* Waits until done or the deadline (GIL released); returns the state. */
static future_state wait_done(lua_State *L, tl_future *f, const tl_deadline *d) {
  pthread_mutex_lock(&f->mutex);
  future_state st = f->state;
  pthread_mutex_unlock(&f->mutex);
  if (is_done(st)) return st;
  tl_waiting b;
  tl_wait_begin(&b, "Future", NULL);
  if (tl_watch_allowed()) tl_watch(has_outcome, f, d);
  tl_wait_result r = TL_WAIT_OK;
  pthread_mutex_lock(&f->mutex);
  while (!is_done(f->state) && r == TL_WAIT_OK) r = tl_wait_cond(&f->done_cond, &f->mutex, d);
  st = f->state;
  pthread_mutex_unlock(&f->mutex);
  tl_wait_end(&b);
  if (!is_done(st)) tl_wait_check(L, r);
  return st;
}

/* The outcome of a done future, with a reference to the result blob. */
typedef struct outcome {
  future_state state;
  bool failed;
  tl_blob *result;
  char *traceback; /* a copy */
} outcome;

/* Waits (timeout at index 2), then reads the outcome, marking a failure as
** read.  Raises "TimeoutError" or "CancelledError". */
static outcome wait_outcome(lua_State *L, tl_future *f) {
  tl_deadline d = tl_args_timeout(L, 2);
  outcome o;
  o.state = wait_done(L, f, &d);
  if (o.state == F_CANCELLED) tl_error(L, "CancelledError", NULL);
  if (o.state != F_FINISHED) tl_error(L, "TimeoutError", NULL);
  pthread_mutex_lock(&f->mutex);
  o.failed = f->failed;
  o.result = f->result;
  if (o.result) tl_blob_incref(o.result);
  o.traceback = (o.failed && f->traceback) ? strdup(f->traceback) : NULL;
  if (o.failed) f->error_read = true;
  pthread_mutex_unlock(&f->mutex);
  return o;
}

/* --- methods ------------------------------------------------------------ */

static int future_result(lua_State *L) {
  tl_future *f = check_future(L);
  tl_sched_point(L, "Future.result", NULL);
  outcome o = wait_outcome(L, f);
  lua_settop(L, 0);
  if (o.traceback != NULL) {
    lua_pushstring(L, o.traceback);
    free(o.traceback);
  }
  int n = o.result ? tl_blob_decode_release(L, o.result) : 0;
  if (!o.failed) return n;
  /* A string error is raised as the worker's message plus traceback. */
  if (lua_type(L, -1) == LUA_TSTRING && lua_gettop(L) == 2) lua_settop(L, 1);
  return lua_error(L);
}

/* exception([timeout]) -> the error value and the traceback text, or nil. */
static int future_exception(lua_State *L) {
  tl_future *f = check_future(L);
  tl_sched_point(L, "Future.exception", NULL);
  outcome o = wait_outcome(L, f);
  if (!o.failed) {
    tl_blob_free(o.result);
    lua_pushnil(L);
    return 1;
  }
  lua_settop(L, 0);
  lua_pushstring(L, o.traceback);
  free(o.traceback);
  tl_blob_decode_release(L, o.result);
  lua_insert(L, 1);
  return 2;
}

static future_state get_state(tl_future *f) {
  pthread_mutex_lock(&f->mutex);
  future_state st = f->state;
  pthread_mutex_unlock(&f->mutex);
  return st;
}

static int future_done(lua_State *L) {
  tl_sched_point(L, "Future.done", NULL);
  lua_pushboolean(L, is_done(get_state(check_future(L))));
  return 1;
}

static int future_running(lua_State *L) {
  lua_pushboolean(L, get_state(check_future(L)) == F_RUNNING);
  return 1;
}

static int future_cancelled(lua_State *L) {
  lua_pushboolean(L, get_state(check_future(L)) == F_CANCELLED);
  return 1;
}

static int future_cancel(lua_State *L) {
  tl_future *f = check_future(L);
  tl_sched_point(L, "Future.cancel", NULL);
  lua_settop(L, 1);
  future_state st = get_state(f);
  if (st == F_PENDING && complete(L, f, F_CANCELLED, false, NULL, NULL)) st = F_PENDING;
  else st = get_state(f); /* lost a race: someone else moved it on */
  lua_pushboolean(L, st == F_PENDING || st == F_CANCELLED);
  return 1;
}

static int future_add_done_callback(lua_State *L) {
  tl_future *f = check_future(L);
  tl_args_check_callable(L, 2);
  lua_settop(L, 2);
  tl_blob *cb = tl_blob_encode(L, 2, 1, "callback");
  pthread_mutex_lock(&f->mutex);
  bool done = is_done(f->state);
  bool added = !done && ptr_list_push(&f->callbacks, cb);
  pthread_mutex_unlock(&f->mutex);
  if (added) return 0;
  if (!done) {
    tl_blob_free(cb);
    return luaL_error(L, "not enough memory");
  }
  run_callback(L, 1, cb);
  tl_blob_free(cb);
  return 0;
}

/* set_running_or_notify_cancel() -> true if it moved from pending to
** running, false if it was cancelled. */
static int future_set_running(lua_State *L) {
  tl_future *f = check_future(L);
  tl_sched_point(L, "Future.set_running_or_notify_cancel", NULL);
  pthread_mutex_lock(&f->mutex);
  future_state st = f->state;
  if (st == F_PENDING) f->state = F_RUNNING;
  pthread_mutex_unlock(&f->mutex);
  if (st != F_PENDING && st != F_CANCELLED)
    return tl_error(L, "RuntimeError", "Future in unexpected state (%s)", state_names[st]);
  lua_pushboolean(L, st == F_PENDING);
  return 1;
}

static int future_set_result(lua_State *L) {
  tl_future *f = check_future(L);
  tl_sched_point(L, "Future.set_result", NULL);
  tl_blob *res = tl_blob_encode(L, 2, lua_gettop(L) - 1, "result");
  lua_settop(L, 1);
  if (!complete(L, f, F_FINISHED, false, res, NULL))
    return tl_error(L, "InvalidStateError", "the future is already done");
  return 0;
}

static int encode_error(lua_State *L) {
  lua_pushlightuserdata(L, tl_blob_encode(L, 1, 1, "error"));
  return 1;
}

/* set_exception(err [, traceback]): an error that cannot be copied is kept
** as its text; any value is taken (its text is "(error object is a table
** value)" if its __tostring gives none). */
static int future_set_exception(lua_State *L) {
  tl_future *f = check_future(L);
  tl_sched_point(L, "Future.set_exception", NULL);
  luaL_checkany(L, 2);
  lua_settop(L, 3);
  const char *tb = lua_type(L, 3) == LUA_TSTRING ? (lua_pushvalue(L, 3), lua_tostring(L, -1))
                                                 : tl_report_push_message(L, 2);
  lua_pushcfunction(L, encode_error);
  lua_pushvalue(L, 2);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    lua_pushcfunction(L, encode_error);
    lua_pushvalue(L, 4); /* the text */
    lua_call(L, 1, 1);
  }
  tl_blob *err = (tl_blob *)lua_touserdata(L, -1);
  char *copy = strdup(tb);
  if (copy == NULL) {
    tl_blob_free(err);
    return luaL_error(L, "not enough memory");
  }
  lua_settop(L, 1);
  if (!complete(L, f, F_FINISHED, true, err, copy))
    return tl_error(L, "InvalidStateError", "the future is already done");
  return 0;
}

/* _add_waiter(queue) -> true, or false if the future is already done. */
static int future_add_waiter(lua_State *L) {
  tl_future *f = check_future(L);
  tl_object *q = tl_object_test(L, 2, NULL);
  luaL_argexpected(L, q != NULL && tl_queue_is(q), 2, "Queue");
  tl_object_incref(q);
  pthread_mutex_lock(&f->mutex);
  bool done = is_done(f->state);
  bool added = !done && ptr_list_push(&f->waiters, q);
  pthread_mutex_unlock(&f->mutex);
  if (!added) tl_object_decref(q);
  if (!done && !added) return luaL_error(L, "not enough memory");
  lua_pushboolean(L, added);
  return 1;
}

/* _remove_waiter(queue) -> whether it was there: wait() and as_completed()
** take their queue back from the futures still pending when they return. */
static int future_remove_waiter(lua_State *L) {
  tl_future *f = check_future(L);
  tl_object *q = tl_object_test(L, 2, NULL);
  luaL_argexpected(L, q != NULL && tl_queue_is(q), 2, "Queue");
  bool found = false;
  pthread_mutex_lock(&f->mutex);
  for (size_t i = 0; i < f->waiters.n && !found; i++) {
    if (f->waiters.items[i] != q) continue;
    f->waiters.items[i] = f->waiters.items[--f->waiters.n];
    found = true;
  }
  pthread_mutex_unlock(&f->mutex);
  if (found) tl_object_decref(q); /* (the caller's box holds another) */
  lua_pushboolean(L, found);
  return 1;
}

static int future_tostring(lua_State *L) {
  tl_future *f = check_future(L);
  pthread_mutex_lock(&f->mutex);
  future_state st = f->state;
  bool failed = f->failed;
  pthread_mutex_unlock(&f->mutex);
  lua_pushfstring(L, "Future(%s%s)", state_names[st], failed ? ", raised" : "");
  return 1;
}

static int future_getfield(lua_State *L, tl_object *o, const char *key) {
  tl_future *f = (tl_future *)o;
  pthread_mutex_lock(&f->mutex);
  future_state st = f->state;
  bool failed = f->failed;
  pthread_mutex_unlock(&f->mutex);
  if (strcmp(key, "_state") == 0) lua_pushstring(L, state_names[st]);
  else if (strcmp(key, "_failed") == 0) lua_pushboolean(L, failed);
  else return 0;
  return 1;
}

static const luaL_Reg future_methods[] = {
    {"result", future_result},
    {"exception", future_exception},
    {"done", future_done},
    {"running", future_running},
    {"cancelled", future_cancelled},
    {"cancel", future_cancel},
    {"add_done_callback", future_add_done_callback},
    {"set_running_or_notify_cancel", future_set_running},
    {"set_result", future_set_result},
    {"set_exception", future_set_exception},
    {"_add_waiter", future_add_waiter},
    {"_remove_waiter", future_remove_waiter},
    {"__tostring", future_tostring},
    {NULL, NULL},
};

static const tl_kind future_kind = {
    .name = "Future",
    .destroy = future_destroy,
    .methods = future_methods,
    .getfield = future_getfield,
};

static int new_future(lua_State *L) {
  tl_future *f = calloc(1, sizeof *f);
  if (f == NULL) return luaL_error(L, "not enough memory");
  tl_object_init(&f->obj, &future_kind);
  tl_mutex_init(&f->mutex);
  tl_clock_cond_init(&f->done_cond);
  f->state = F_PENDING;
  tl_object_push_new(L, &f->obj);
  return 1;
}

void tl_future_open(lua_State *L) {
  lua_pushcfunction(L, new_future);
  lua_setfield(L, -2, "Future");
}
