/*
** queue.c -- threading.Queue, LifoQueue, PriorityQueue and SimpleQueue:
** multi-producer, multi-consumer queues shared by reference (Python's
** queue module, with Python 3.13's shutdown()).
**
**   Queue([maxsize=0]) / Queue{maxsize=n}   maxsize <= 0: unbounded
**   put(item [, block=true [, timeout]])  -> true | nil, "full"
**                                            raises "ShutDown" once shut down
**   get([block=true [, timeout]])         -> item | nil, "empty"
**                                            | nil, "shutdown" (shut down and drained)
**   put_nowait(item), get_nowait(), qsize(), empty(), full()
**   task_done(), join([timeout]) -> true | false on timeout
**   shutdown([immediate=false]), items() -- iterator ending at shutdown+drained
**   fields: maxsize, unfinished_tasks, is_shutdown
** SimpleQueue() has put/put_nowait/get/get_nowait/qsize/empty only.
**
** The four kinds share one struct and differ only in the order of their
** items: the container and the items (copies of Lua values; numbers,
** booleans and strings kept inside the item, other values encoded into a
** blob) are queue_items.c.  Items are made before the mutex is taken and
** pushed back after it is released; an item that cannot be pushed (out
** of memory, a value the getter's state cannot decode) is put back where
** it was taken from before the error is raised, so it is not lost.  A blocking put/get first tries with
** the GIL held; if it has to wait it releases the mutex, releases the GIL
** (tl_wait_begin), then waits on a condition (kernel/wait.c), so Ctrl-C
** reaches a blocked main thread.
**
** When tracing, each put and get records the queue's new size as a
** counter of the trace, named after the queue (kinds/spec.c).
**
** Locking: 'mutex' guards every field below it ('trace_name' is fixed at
** creation); it is a leaf lock (kernel.h rules).  Blobs are freed with no mutex held too, since freeing one may
** destroy the objects it references.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "queue_items.h"

/* What put and get touch comes first, next to the mutex: with the GIL
** off each item moves these lines between the producer's core and the
** consumer's; the conditions are touched only when someone waits. */
typedef struct tl_queue {
  tl_object obj;
  pthread_mutex_t mutex;
  tl_items items;
  lua_Integer maxsize; /* <= 0: unbounded */
  lua_Integer unfinished;
  int getters, putters; /* threads waiting in get / put */
  bool shutdown;
  const char *trace_name; /* its size's counter in the trace ("Queue \"jobs\": size"), or NULL */
  pthread_cond_t not_empty, not_full, all_done;
} tl_queue;

static const tl_kind queue_kind, lifo_kind, priority_kind, simple_kind;

bool tl_queue_is(const tl_object *o) {
  return o->kind == &queue_kind || o->kind == &lifo_kind || o->kind == &priority_kind ||
         o->kind == &simple_kind;
}

static tl_queue *check_queue(lua_State *L) {
  tl_object *o = tl_object_test(L, 1, NULL);
  if (o == NULL || !tl_queue_is(o)) luaL_typeerror(L, 1, "Queue");
  return (tl_queue *)o;
}

static void queue_destroy(tl_object *o) {
  tl_queue *q = (tl_queue *)o;
  tl_items_clear(&q->items);
  pthread_mutex_destroy(&q->mutex);
  pthread_cond_destroy(&q->not_empty);
  pthread_cond_destroy(&q->not_full);
  pthread_cond_destroy(&q->all_done);
  free(q);
}

static bool is_full(const tl_queue *q) {
  return q->maxsize > 0 && (lua_Integer)tl_items_count(&q->items) >= q->maxsize;
}

/* --- waiting (mutex held on entry and exit) --------------------------- */

static bool can_put(const tl_queue *q) { return q->shutdown || !is_full(q); }
static bool can_get(const tl_queue *q) { return q->shutdown || tl_items_count(&q->items) > 0; }
static bool all_done(const tl_queue *q) { return q->unfinished == 0; }

/* Waits until ready(q) or the deadline.  Only when it must wait does it
** drop the mutex to release the GIL; '*b' then needs tl_wait_end
** after the caller unlocks ('*waited' says so). */
static tl_wait_result wait_until(tl_queue *q, bool (*ready)(const tl_queue *), pthread_cond_t *cond,
                                 int *waiters, const tl_deadline *d, tl_waiting *b, bool *waited,
                                 const char *what) {
  tl_wait_result r = TL_WAIT_OK;
  *waited = false;
  if (ready(q)) return r;
  pthread_mutex_unlock(&q->mutex);
  tl_wait_begin(b, what, &q->obj);
  *waited = true;
  pthread_mutex_lock(&q->mutex);
  if (waiters) (*waiters)++;
  while (!ready(q) && r == TL_WAIT_OK) r = tl_wait_cond(cond, &q->mutex, d);
  if (waiters) (*waiters)--;
  return r;
}

/* When tracing, a queue's size is a counter of the trace, at every put
** and get; recorded with the mutex held (no Lua, no lock: kernel/trace.c)
** so that the events come in the order of the changes. */
static void trace_size(tl_queue *q, size_t n) {
  if (q->trace_name != NULL && tl_trace_on()) tl_trace_user(TL_TRACE_COUNTER, q->trace_name, (double)n);
}

/* --- put ---------------------------------------------------------------- */

typedef enum { PUT_OK, PUT_FULL, PUT_SHUTDOWN, PUT_MIXED, PUT_NOMEM } put_status;

static int do_put(lua_State *L, tl_queue *q, bool blocking, const tl_deadline *d) {
  if (lua_isnoneornil(L, 2))
    return tl_error(L, "ValueError", "cannot put nil into a %s", q->obj.kind->name);
  tl_sched_point(L, "Queue.put", NULL);
  tl_item it;
  memset(&it, 0, sizeof it);
  tl_item_make(L, 2, q->items.order == TL_ITEMS_PRIORITY, &it);
  tl_waiting b;
  bool waited = false;
  tl_wait_result r = TL_WAIT_OK;
  put_status st;
  pthread_mutex_lock(&q->mutex);
  if (blocking) r = wait_until(q, can_put, &q->not_full, &q->putters, d, &b, &waited, "Queue.put");
  if (q->shutdown) st = PUT_SHUTDOWN;
  else if (is_full(q)) st = PUT_FULL;
  else if (tl_items_mixes(&q->items, &it)) st = PUT_MIXED;
  else if (!tl_items_add(&q->items, &it)) st = PUT_NOMEM;
  else {
    st = PUT_OK;
    q->unfinished++;
    if (q->getters) tl_wait_signal(&q->not_empty);
  }
  if (st == PUT_OK) trace_size(q, tl_items_count(&q->items)); /* (under the mutex: in the order of changes) */
  pthread_mutex_unlock(&q->mutex);
  if (waited) tl_wait_end(&b);
  if (st == PUT_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  tl_item_free(&it);
  switch (st) {
    case PUT_SHUTDOWN: return luaL_error(L, "ShutDown");
    case PUT_MIXED:
      return tl_error(L, "TypeError", "'<' not supported between a %s priority and the %s priorities queued",
                        it.prio_string ? "string" : "number", it.prio_string ? "number" : "string");
    case PUT_NOMEM: return luaL_error(L, "not enough memory");
    default:
      tl_wait_check(L, r);
      lua_pushnil(L);
      lua_pushliteral(L, "full");
      return 2;
  }
}

static int queue_put(lua_State *L) {
  tl_queue *q = check_queue(L);
  tl_deadline d;
  bool blocking = tl_args_queue_timeout(L, 3, &d);
  return do_put(L, q, blocking, &d);
}

static int queue_put_nowait(lua_State *L) {
  tl_queue *q = check_queue(L);
  tl_deadline d = tl_clock_deadline(0);
  lua_settop(L, 2);
  return do_put(L, q, false, &d);
}

bool tl_queue_offer(tl_object *o, tl_blob *item) {
  tl_queue *q = (tl_queue *)o;
  tl_item it;
  memset(&it, 0, sizeof it);
  it.blob = item;
  bool ok = false;
  if (q->items.order != TL_ITEMS_PRIORITY) {
    pthread_mutex_lock(&q->mutex);
    ok = !q->shutdown && !is_full(q) && tl_items_add(&q->items, &it);
    if (ok) {
      q->unfinished++;
      if (q->getters) tl_wait_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->mutex);
  }
  if (!ok) tl_blob_free(item);
  return ok;
}

/* --- get ---------------------------------------------------------------- */

typedef enum { GET_OK, GET_EMPTY, GET_SHUTDOWN } get_status;

/* Pushes the item and returns GET_OK, or pushes nothing. */
static get_status do_get(lua_State *L, tl_queue *q, bool blocking, const tl_deadline *d) {
  tl_sched_point(L, "Queue.get", NULL);
  tl_waiting b;
  bool waited = false;
  tl_wait_result r = TL_WAIT_OK;
  tl_item it;
  get_status st;
  pthread_mutex_lock(&q->mutex);
  if (blocking) r = wait_until(q, can_get, &q->not_empty, &q->getters, d, &b, &waited, "Queue.get");
  if (tl_items_count(&q->items) > 0) {
    st = GET_OK;
    it = tl_items_take(&q->items);
    if (q->putters) tl_wait_signal(&q->not_full);
  } else {
    st = q->shutdown ? GET_SHUTDOWN : GET_EMPTY;
  }
  if (st == GET_OK) trace_size(q, tl_items_count(&q->items));
  pthread_mutex_unlock(&q->mutex);
  if (waited) tl_wait_end(&b);
  if (st != GET_OK) {
    if (st == GET_EMPTY) tl_wait_check(L, r);
    return st;
  }
  if (tl_item_push(L, &it) == LUA_OK) return GET_OK;
  /* It could not be received here (out of memory, a value this state
  ** cannot decode): it goes back where it was, still unfinished, and the
  ** error is raised. */
  pthread_mutex_lock(&q->mutex);
  bool back = tl_items_put_back(&q->items, &it);
  if (back) {
    if (q->getters) tl_wait_signal(&q->not_empty);
    trace_size(q, tl_items_count(&q->items));
  } else if (q->unfinished > 0 && --q->unfinished == 0) { /* lost after all: not left counted */
    tl_wait_broadcast(&q->all_done);
  }
  pthread_mutex_unlock(&q->mutex);
  if (!back) tl_item_free(&it); /* (no mutex held: it may free objects) */
  lua_error(L);
  return GET_EMPTY; /* (not reached) */
}

static int push_get_result(lua_State *L, get_status st) {
  if (st == GET_OK) return 1;
  lua_pushnil(L);
  if (st == GET_EMPTY) lua_pushliteral(L, "empty");
  else lua_pushliteral(L, "shutdown");
  return 2;
}

static int queue_get(lua_State *L) {
  tl_queue *q = check_queue(L);
  tl_deadline d;
  bool blocking = tl_args_queue_timeout(L, 2, &d);
  return push_get_result(L, do_get(L, q, blocking, &d));
}

static int queue_get_nowait(lua_State *L) {
  tl_queue *q = check_queue(L);
  tl_deadline d = tl_clock_deadline(0);
  return push_get_result(L, do_get(L, q, false, &d));
}

static int items_next(lua_State *L) {
  tl_queue *q = (tl_queue *)tl_object_test(L, lua_upvalueindex(1), NULL);
  tl_deadline d = tl_clock_deadline(-1);
  if (do_get(L, q, true, &d) == GET_OK) return 1;
  return 0; /* shut down and drained: the loop ends */
}

/* for item in q:items() do ... end */
static int queue_items(lua_State *L) {
  check_queue(L);
  lua_settop(L, 1);
  lua_pushcclosure(L, items_next, 1);
  return 1;
}

/* --- sizes, tasks, shutdown --------------------------------------------- */

static int queue_qsize(lua_State *L) {
  tl_queue *q = check_queue(L);
  tl_sched_point(L, "Queue.qsize", NULL);
  pthread_mutex_lock(&q->mutex);
  size_t n = tl_items_count(&q->items);
  pthread_mutex_unlock(&q->mutex);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

static int queue_empty(lua_State *L) {
  tl_queue *q = check_queue(L);
  tl_sched_point(L, "Queue.empty", NULL);
  pthread_mutex_lock(&q->mutex);
  bool empty = tl_items_count(&q->items) == 0;
  pthread_mutex_unlock(&q->mutex);
  lua_pushboolean(L, empty);
  return 1;
}

static int queue_full(lua_State *L) {
  tl_queue *q = check_queue(L);
  tl_sched_point(L, "Queue.full", NULL);
  pthread_mutex_lock(&q->mutex);
  bool full = is_full(q);
  pthread_mutex_unlock(&q->mutex);
  lua_pushboolean(L, full);
  return 1;
}

static int queue_task_done(lua_State *L) {
  tl_queue *q = check_queue(L);
  tl_sched_point(L, "Queue.task_done", NULL);
  pthread_mutex_lock(&q->mutex);
  bool ok = q->unfinished > 0;
  if (ok && --q->unfinished == 0) tl_wait_broadcast(&q->all_done);
  pthread_mutex_unlock(&q->mutex);
  if (!ok) return tl_error(L, "ValueError", "task_done() called too many times");
  return 0;
}

/* join([timeout]) -> true when every item put has been task_done(). */
static int queue_join(lua_State *L) {
  tl_queue *q = check_queue(L);
  tl_deadline d = tl_args_timeout(L, 2);
  tl_sched_point(L, "Queue.join", NULL);
  tl_waiting b;
  bool waited;
  pthread_mutex_lock(&q->mutex);
  tl_wait_result r = wait_until(q, all_done, &q->all_done, NULL, &d, &b, &waited, "Queue.join");
  bool done = all_done(q);
  pthread_mutex_unlock(&q->mutex);
  if (waited) tl_wait_end(&b);
  if (!done) tl_wait_check(L, r);
  lua_pushboolean(L, done);
  return 1;
}

static int queue_shutdown(lua_State *L) {
  tl_queue *q = check_queue(L);
  bool immediate = lua_toboolean(L, 2);
  tl_sched_point(L, "Queue.shutdown", NULL);
  tl_items drained;
  tl_items_init(&drained, q->items.order);
  pthread_mutex_lock(&q->mutex);
  q->shutdown = true;
  if (immediate) {
    /* Take every item; they are freed after unlocking. */
    lua_Integer n = (lua_Integer)tl_items_count(&q->items);
    q->unfinished -= q->unfinished < n ? q->unfinished : n;
    tl_items_move(&q->items, &drained);
  }
  if (immediate) tl_wait_broadcast(&q->all_done);
  tl_wait_broadcast(&q->not_empty);
  tl_wait_broadcast(&q->not_full);
  pthread_mutex_unlock(&q->mutex);
  tl_items_clear(&drained);
  return 0;
}

static int queue_tostring(lua_State *L) {
  tl_queue *q = check_queue(L);
  pthread_mutex_lock(&q->mutex);
  size_t n = tl_items_count(&q->items);
  bool shut = q->shutdown;
  pthread_mutex_unlock(&q->mutex);
  if (q->obj.kind == &simple_kind)
    lua_pushfstring(L, "SimpleQueue(size %I)", (lua_Integer)n);
  else
    lua_pushfstring(L, "%s(size %I, maxsize %I%s)", q->obj.kind->name, (lua_Integer)n,
                    q->maxsize > 0 ? q->maxsize : 0, shut ? ", shutdown" : "");
  return 1;
}

static int queue_getfield(lua_State *L, tl_object *o, const char *key) {
  tl_queue *q = (tl_queue *)o;
  if (strcmp(key, "maxsize") == 0) {
    lua_pushinteger(L, q->maxsize > 0 ? q->maxsize : 0); /* never changes */
    return 1;
  }
  pthread_mutex_lock(&q->mutex);
  lua_Integer unfinished = q->unfinished;
  bool shut = q->shutdown;
  pthread_mutex_unlock(&q->mutex);
  if (strcmp(key, "unfinished_tasks") == 0) lua_pushinteger(L, unfinished);
  else if (strcmp(key, "is_shutdown") == 0) lua_pushboolean(L, shut);
  else return 0;
  return 1;
}

/* --- kinds and constructors ------------------------------------------- */

#define COMMON_METHODS                                                              \
  {"put", queue_put}, {"put_nowait", queue_put_nowait}, {"get", queue_get},         \
      {"get_nowait", queue_get_nowait}, {"qsize", queue_qsize}, {"empty", queue_empty}, \
      {"__tostring", queue_tostring}

static const luaL_Reg queue_methods[] = {
    COMMON_METHODS,
    {"full", queue_full},
    {"task_done", queue_task_done},
    {"join", queue_join},
    {"shutdown", queue_shutdown},
    {"items", queue_items},
    {NULL, NULL},
};

static const luaL_Reg simple_methods[] = {COMMON_METHODS, {NULL, NULL}};

static const tl_kind queue_kind = {
    .name = "Queue", .destroy = queue_destroy, .methods = queue_methods, .getfield = queue_getfield};
static const tl_kind lifo_kind = {
    .name = "LifoQueue", .destroy = queue_destroy, .methods = queue_methods, .getfield = queue_getfield};
static const tl_kind priority_kind = {
    .name = "PriorityQueue", .destroy = queue_destroy, .methods = queue_methods, .getfield = queue_getfield};
/* No fields: its __index is the method table itself, no C call per lookup. */
static const tl_kind simple_kind = {
    .name = "SimpleQueue", .destroy = queue_destroy, .methods = simple_methods};

static int new_queue(lua_State *L, const tl_kind *kind, tl_items_order order) {
  lua_Integer maxsize = 0;
  bool spec = lua_type(L, 1) == LUA_TTABLE; /* Queue{maxsize = n, name = ...} */
  if (spec) {
    if (lua_getfield(L, 1, "name") != LUA_TNIL && lua_type(L, -1) != LUA_TSTRING)
      luaL_argerror(L, 1, lua_pushfstring(L, "string expected for field 'name', got %s", luaL_typename(L, -1)));
    lua_pop(L, 1);
  }
  if (kind != &simple_kind) {
    if (lua_type(L, 1) == LUA_TTABLE) {
      if (lua_getfield(L, 1, "maxsize") != LUA_TNIL) {
        int whole;
        maxsize = lua_tointegerx(L, -1, &whole);
        if (!whole)
          luaL_argerror(L, 1, lua_pushfstring(L, "integer expected for field 'maxsize', got %s",
                                              luaL_typename(L, -1)));
      }
    } else {
      maxsize = luaL_optinteger(L, 1, 0);
    }
  }
  char *label = tl_spec_label(L, spec ? 1 : 0);
  tl_queue *q = calloc(1, sizeof *q);
  if (q == NULL) {
    free(label);
    return luaL_error(L, "not enough memory");
  }
  tl_object_init(&q->obj, kind);
  tl_object_set_label(&q->obj, label);
  if (tl_trace_on()) {
    char name[256];
    tl_object_name(&q->obj, name, sizeof name - 8);
    strcat(name, ": size");
    q->trace_name = tl_trace_name(name, strlen(name));
  }
  tl_mutex_init(&q->mutex);
  tl_clock_cond_init(&q->not_empty);
  tl_clock_cond_init(&q->not_full);
  tl_clock_cond_init(&q->all_done);
  tl_items_init(&q->items, order);
  q->maxsize = maxsize > 0 ? maxsize : 0;
  tl_object_push_new(L, &q->obj);
  return 1;
}

static int new_fifo(lua_State *L) { return new_queue(L, &queue_kind, TL_ITEMS_FIFO); }
static int new_lifo(lua_State *L) { return new_queue(L, &lifo_kind, TL_ITEMS_LIFO); }
static int new_priority(lua_State *L) { return new_queue(L, &priority_kind, TL_ITEMS_PRIORITY); }
static int new_simple(lua_State *L) { return new_queue(L, &simple_kind, TL_ITEMS_FIFO); }

void tl_queue_open(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"Queue", new_fifo},
      {"LifoQueue", new_lifo},
      {"PriorityQueue", new_priority},
      {"SimpleQueue", new_simple},
      {NULL, NULL},
  };
  luaL_setfuncs(L, fns, 0);
}
