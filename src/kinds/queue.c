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
** The four kinds share one struct and differ only in how 'items' is read:
** a ring buffer used from the front (FIFO) or the back (LIFO), or a binary
** heap ordered by (priority, sequence number) so that equal priorities
** leave in insertion order.  A PriorityQueue item is a plain number or
** string (its own priority) or a table whose [1] is the priority; the
** priority is read in C at put time, before the item is encoded.  Numbers
** compare with numbers, strings with strings (byte order); putting a
** number into a queue holding strings (or the reverse) raises a TypeError.
**
** Items are copied: encoded into a blob before the mutex is taken, decoded
** after it is released; numbers and booleans are kept in the item itself
** (no blob to allocate in one thread and free in another).  A blocking
** put/get first tries with the GIL held; if it has to wait it releases
** the mutex, releases the GIL (tl_wait_begin), then waits on a
** condition (kernel/wait.c), so Ctrl-C reaches a blocked main thread.
**
** Locking: 'mutex' guards every field below it; it is a leaf lock (kernel.h
** rules).  Blobs are freed with no mutex held too, since freeing one may
** destroy the objects it references.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"

typedef enum { ORDER_FIFO, ORDER_LIFO, ORDER_PRIORITY } queue_order;

typedef enum { PRIO_NONE, PRIO_INT, PRIO_FLOAT, PRIO_STRING } priority_type;

typedef struct queue_item {
  tl_blob *blob; /* the item, copied; NULL for a number or boolean kept in 'value' */
  int value_type; /* LUA_TNUMBER or LUA_TBOOLEAN when blob is NULL */
  bool value_isint;
  union {
    lua_Integer i;
    lua_Number f;
    int b;
  } value;
  uint64_t seq; /* insertion order, for stable priorities */
  priority_type ptype;
  union {
    lua_Integer i;
    lua_Number f;
    struct {
      char *s; /* malloc'd copy */
      size_t len;
    } str;
  } p;
} queue_item;

typedef struct tl_queue {
  tl_object obj;
  pthread_mutex_t mutex;
  pthread_cond_t not_empty, not_full, all_done;
  queue_order order;
  lua_Integer maxsize; /* <= 0: unbounded */
  queue_item *items;   /* ring buffer of 'cap' slots (heap: head is 0) */
  size_t cap, head, count;
  size_t nstrings;     /* items with a string priority */
  uint64_t next_seq;
  lua_Integer unfinished;
  bool shutdown;
  int getters, putters; /* threads waiting in get / put */
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

static void item_free(queue_item *it) {
  tl_blob_free(it->blob);
  if (it->ptype == PRIO_STRING) free(it->p.str.s);
}

static void queue_destroy(tl_object *o) {
  tl_queue *q = (tl_queue *)o;
  for (size_t i = 0; i < q->count; i++) item_free(&q->items[(q->head + i) % q->cap]);
  free(q->items);
  pthread_mutex_destroy(&q->mutex);
  pthread_cond_destroy(&q->not_empty);
  pthread_cond_destroy(&q->not_full);
  pthread_cond_destroy(&q->all_done);
  free(q);
}

/* --- the container (mutex held; no Lua calls) ----------------------- */

static int cmp_priority(const queue_item *a, const queue_item *b) {
  if (a->ptype == PRIO_STRING) {
    size_t n = a->p.str.len < b->p.str.len ? a->p.str.len : b->p.str.len;
    int c = memcmp(a->p.str.s, b->p.str.s, n);
    if (c != 0) return c;
    return a->p.str.len < b->p.str.len ? -1 : a->p.str.len > b->p.str.len;
  }
  if (a->ptype == PRIO_INT && b->ptype == PRIO_INT) return (a->p.i > b->p.i) - (a->p.i < b->p.i);
  if (a->ptype == PRIO_FLOAT && b->ptype == PRIO_FLOAT) return (a->p.f > b->p.f) - (a->p.f < b->p.f);
  /* An integer against a float, exactly (no rounding of large integers). */
  bool swapped = a->ptype == PRIO_FLOAT;
  lua_Integer i = swapped ? b->p.i : a->p.i;
  lua_Number f = swapped ? a->p.f : b->p.f;
  int c; /* sign of i - f */
  if (f >= 9223372036854775808.0) c = -1;
  else if (f < -9223372036854775808.0) c = 1;
  else {
    lua_Number fl = floor(f);
    lua_Integer fi = (lua_Integer)fl;
    c = i < fi ? -1 : i > fi ? 1 : (f > fl ? -1 : 0);
  }
  return swapped ? -c : c;
}

static bool item_before(const queue_item *a, const queue_item *b) {
  int c = cmp_priority(a, b);
  return c < 0 || (c == 0 && a->seq < b->seq);
}

static queue_item *slot(tl_queue *q, size_t i) { return &q->items[(q->head + i) % q->cap]; }

static bool is_full(const tl_queue *q) { return q->maxsize > 0 && (lua_Integer)q->count >= q->maxsize; }

/* Makes room for one more item; false when out of memory. */
static bool reserve(tl_queue *q) {
  if (q->count < q->cap) return true;
  size_t cap = q->cap ? q->cap * 2 : 16;
  queue_item *items = malloc(cap * sizeof *items);
  if (items == NULL) return false;
  for (size_t i = 0; i < q->count; i++) items[i] = *slot(q, i);
  free(q->items);
  q->items = items;
  q->cap = cap;
  q->head = 0;
  return true;
}

static void heap_push(tl_queue *q, queue_item it) {
  size_t i = q->count++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!item_before(&it, &q->items[parent])) break;
    q->items[i] = q->items[parent];
    i = parent;
  }
  q->items[i] = it;
}

static queue_item heap_pop(tl_queue *q) {
  queue_item top = q->items[0];
  queue_item last = q->items[--q->count];
  size_t i = 0, n = q->count;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && item_before(&q->items[child + 1], &q->items[child])) child++;
    if (!item_before(&q->items[child], &last)) break;
    q->items[i] = q->items[child];
    i = child;
  }
  if (n > 0) q->items[i] = last;
  return top;
}

/* Adds the item (room reserved).  */
static void push_item(tl_queue *q, queue_item it) {
  it.seq = q->next_seq++;
  if (it.ptype == PRIO_STRING) q->nstrings++;
  if (q->order == ORDER_PRIORITY) heap_push(q, it);
  else *slot(q, q->count++) = it;
}

static queue_item pop_item(tl_queue *q) {
  queue_item it;
  if (q->order == ORDER_PRIORITY) {
    it = heap_pop(q);
  } else if (q->order == ORDER_LIFO) {
    it = *slot(q, --q->count);
  } else {
    it = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
  }
  if (it.ptype == PRIO_STRING) q->nstrings--;
  return it;
}

/* --- waiting (mutex held on entry and exit) --------------------------- */

static bool can_put(const tl_queue *q) { return q->shutdown || !is_full(q); }
static bool can_get(const tl_queue *q) { return q->shutdown || q->count > 0; }
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
  tl_wait_begin(b, what, NULL);
  *waited = true;
  pthread_mutex_lock(&q->mutex);
  if (waiters) (*waiters)++;
  while (!ready(q) && r == TL_WAIT_OK) r = tl_wait_cond(cond, &q->mutex, d);
  if (waiters) (*waiters)--;
  return r;
}

/* --- put ---------------------------------------------------------------- */

/* Reads the priority of the item at idx (PriorityQueue only); a string
** priority is left pointing into the Lua string (copied later). */
static void read_priority(lua_State *L, int idx, queue_item *it) {
  int p = idx;
  if (lua_type(L, idx) == LUA_TTABLE) {
    lua_rawgeti(L, idx, 1);
    p = lua_gettop(L);
  }
  switch (lua_type(L, p)) {
    case LUA_TNUMBER:
      if (lua_isinteger(L, p)) {
        it->ptype = PRIO_INT;
        it->p.i = lua_tointeger(L, p);
      } else {
        it->ptype = PRIO_FLOAT;
        it->p.f = lua_tonumber(L, p);
        if (isnan(it->p.f)) tl_error(L, "ValueError", "PriorityQueue priority is NaN");
      }
      break;
    case LUA_TSTRING:
      it->ptype = PRIO_STRING;
      it->p.str.s = (char *)lua_tolstring(L, p, &it->p.str.len);
      break;
    default:
      if (p == idx)
        tl_error(L, "TypeError", "PriorityQueue items are numbers, strings or {priority, value} tables, not %s",
                   luaL_typename(L, idx));
      tl_error(L, "TypeError", "PriorityQueue priority (item[1]) must be a number or a string, not %s",
                 luaL_typename(L, p));
  }
}

typedef enum { PUT_OK, PUT_FULL, PUT_SHUTDOWN, PUT_MIXED, PUT_NOMEM } put_status;

/* The item's priority kind against those already queued (mutex held). */
static bool priority_mixes(const tl_queue *q, const queue_item *it) {
  if (it->ptype == PRIO_NONE) return false;
  bool string = it->ptype == PRIO_STRING;
  return string ? q->nstrings < q->count : q->nstrings > 0;
}

static int do_put(lua_State *L, tl_queue *q, bool blocking, const tl_deadline *d) {
  if (lua_isnoneornil(L, 2))
    return tl_error(L, "ValueError", "cannot put nil into a %s", q->obj.kind->name);
  tl_sched_point(L, "Queue.put", NULL);
  queue_item it;
  memset(&it, 0, sizeof it);
  if (q->order == ORDER_PRIORITY) read_priority(L, 2, &it);
  it.value_type = lua_type(L, 2);
  if (it.value_type == LUA_TNUMBER) {
    it.value_isint = lua_isinteger(L, 2);
    if (it.value_isint) it.value.i = lua_tointeger(L, 2);
    else it.value.f = lua_tonumber(L, 2);
  } else if (it.value_type == LUA_TBOOLEAN) {
    it.value.b = lua_toboolean(L, 2);
  } else {
    it.blob = tl_blob_encode(L, 2, 1, "item");
  }
  if (it.ptype == PRIO_STRING) {
    char *copy = malloc(it.p.str.len + 1);
    if (copy == NULL) {
      tl_blob_free(it.blob);
      return luaL_error(L, "not enough memory");
    }
    memcpy(copy, it.p.str.s, it.p.str.len + 1);
    it.p.str.s = copy;
  }
  tl_waiting b;
  bool waited = false;
  tl_wait_result r = TL_WAIT_OK;
  put_status st;
  pthread_mutex_lock(&q->mutex);
  if (blocking) r = wait_until(q, can_put, &q->not_full, &q->putters, d, &b, &waited, "Queue.put");
  if (q->shutdown) st = PUT_SHUTDOWN;
  else if (is_full(q)) st = PUT_FULL;
  else if (priority_mixes(q, &it)) st = PUT_MIXED;
  else if (!reserve(q)) st = PUT_NOMEM;
  else {
    st = PUT_OK;
    push_item(q, it);
    q->unfinished++;
    if (q->getters) tl_wait_signal(&q->not_empty);
  }
  pthread_mutex_unlock(&q->mutex);
  if (waited) tl_wait_end(&b);
  if (st == PUT_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  item_free(&it);
  switch (st) {
    case PUT_SHUTDOWN: return luaL_error(L, "ShutDown");
    case PUT_MIXED:
      return tl_error(L, "TypeError", "'<' not supported between a %s priority and the %s priorities queued",
                        it.ptype == PRIO_STRING ? "string" : "number",
                        it.ptype == PRIO_STRING ? "number" : "string");
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
  queue_item it;
  memset(&it, 0, sizeof it);
  it.blob = item;
  bool ok = false;
  if (q->order != ORDER_PRIORITY) {
    pthread_mutex_lock(&q->mutex);
    ok = !q->shutdown && !is_full(q) && reserve(q);
    if (ok) {
      push_item(q, it);
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
  queue_item it;
  memset(&it, 0, sizeof it);
  get_status st;
  pthread_mutex_lock(&q->mutex);
  if (blocking) r = wait_until(q, can_get, &q->not_empty, &q->getters, d, &b, &waited, "Queue.get");
  if (q->count > 0) {
    st = GET_OK;
    it = pop_item(q);
    if (q->putters) tl_wait_signal(&q->not_full);
  } else {
    st = q->shutdown ? GET_SHUTDOWN : GET_EMPTY;
  }
  pthread_mutex_unlock(&q->mutex);
  if (waited) tl_wait_end(&b);
  if (st != GET_OK) {
    if (st == GET_EMPTY) tl_wait_check(L, r);
    return st;
  }
  if (it.ptype == PRIO_STRING) free(it.p.str.s);
  if (it.blob != NULL) tl_blob_decode_release(L, it.blob);
  else if (it.value_type == LUA_TBOOLEAN) lua_pushboolean(L, it.value.b);
  else if (it.value_type != LUA_TNUMBER) lua_pushnil(L); /* (never queued) */
  else if (it.value_isint) lua_pushinteger(L, it.value.i);
  else lua_pushnumber(L, it.value.f);
  return GET_OK;
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
  size_t n = q->count;
  pthread_mutex_unlock(&q->mutex);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

static int queue_empty(lua_State *L) {
  tl_queue *q = check_queue(L);
  tl_sched_point(L, "Queue.empty", NULL);
  pthread_mutex_lock(&q->mutex);
  bool empty = q->count == 0;
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
  queue_item *drained = NULL;
  size_t ndrained = 0, cap = 0, head = 0;
  pthread_mutex_lock(&q->mutex);
  q->shutdown = true;
  if (immediate && q->count > 0) {
    /* Take the whole container; its items are freed after unlocking. */
    drained = q->items;
    ndrained = q->count;
    cap = q->cap;
    head = q->head;
    q->unfinished -= q->unfinished < (lua_Integer)ndrained ? q->unfinished : (lua_Integer)ndrained;
    q->items = NULL;
    q->cap = q->count = q->head = q->nstrings = 0;
  }
  if (immediate) tl_wait_broadcast(&q->all_done);
  tl_wait_broadcast(&q->not_empty);
  tl_wait_broadcast(&q->not_full);
  pthread_mutex_unlock(&q->mutex);
  for (size_t i = 0; i < ndrained; i++) item_free(&drained[(head + i) % cap]);
  free(drained);
  return 0;
}

static int queue_tostring(lua_State *L) {
  tl_queue *q = check_queue(L);
  pthread_mutex_lock(&q->mutex);
  size_t n = q->count;
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
  if (o->kind == &simple_kind) return 0;
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
static const tl_kind simple_kind = {
    .name = "SimpleQueue", .destroy = queue_destroy, .methods = simple_methods, .getfield = queue_getfield};

static int new_queue(lua_State *L, const tl_kind *kind, queue_order order) {
  lua_Integer maxsize = 0;
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
  tl_queue *q = calloc(1, sizeof *q);
  if (q == NULL) return luaL_error(L, "not enough memory");
  tl_object_init(&q->obj, kind);
  pthread_mutex_init(&q->mutex, NULL);
  tl_clock_cond_init(&q->not_empty);
  tl_clock_cond_init(&q->not_full);
  tl_clock_cond_init(&q->all_done);
  q->order = order;
  q->maxsize = maxsize > 0 ? maxsize : 0;
  tl_object_push_new(L, &q->obj);
  return 1;
}

static int new_fifo(lua_State *L) { return new_queue(L, &queue_kind, ORDER_FIFO); }
static int new_lifo(lua_State *L) { return new_queue(L, &lifo_kind, ORDER_LIFO); }
static int new_priority(lua_State *L) { return new_queue(L, &priority_kind, ORDER_PRIORITY); }
static int new_simple(lua_State *L) { return new_queue(L, &simple_kind, ORDER_FIFO); }

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
