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
** The four kinds share one struct.  Their items are copies of Lua values
** (numbers, booleans and strings kept inside the item, other values
** encoded into a blob), made before any lock is taken and pushed after
** it is released; an item that cannot be pushed (out of memory, a value
** the getter's state cannot decode) is put back where it was taken from
** before the error is raised, so it is not lost (queue_items.c).
**
** Two ends, two locks.  With the GIL off a producer and a consumer run
** on two cores; one lock for both made every item move the lock and the
** queue's fields from one core's cache to the other's and back.  So a
** Queue or SimpleQueue keeps its items in a ring whose tail producers use
** under 'put_lock' and whose head consumers use under 'get_lock'
** (tl_ring), each end's fields in cache lines of their own: a consumer
** learns that an item is there from its slot, a producer reads the
** consumers' count only when its last look says "full".  A PriorityQueue
** has the same ring for the items that come in order (each after the
** newest of the ring), which so stays sorted, and a heap for the others,
** which producers add to holding both locks; get takes the first of the
** ring's front and the heap's top.  A LifoQueue has one end, its stack,
** which producers and consumers take in turn under 'put_lock'.
**
** The ends' locks are spin locks (kernel/spinlock.c): each is held for a
** few dozen instructions.  As pthread mutexes (adaptive) they cost about
** a tenth of an item's time with the GIL on (where nobody contends) and a
** third with it off, and a LifoQueue's, taken by both sides at every item,
** made one operation in ten to fourteen call the kernel.
**
** The size is 'added - removed', two counters that only the put end and
** only the get end write.  A thread that must wait (empty, full, join)
** leaves the end's lock, releases the GIL (tl_wait_begin), counts itself
** in 'getters' or 'putters' and sleeps on a condition under 'wait_mutex'.
** The end that changes its counter then looks at that count, after
** leaving its lock, and signals only when it is not 0: both write (their
** counter; the waiter its count) and then read the other's, sequentially
** consistent atomics, so a waiter either sees the change or is counted
** when the changer looks: no lost wake-up.  So Ctrl-C still
** reaches a blocked main thread, and the deadlock detector sees the wait
** (kernel/wait.c).  Before sleeping, a get with the GIL off watches the
** queue a little while (spin_for_item, spin_for_size).
**
** unfinished_tasks is 'added - done', 'done' counting task_done() calls
** and the items dropped by shutdown(true).
**
** When tracing, each put and get records the queue's new size as a
** counter of the trace, named after the queue (kinds/spec.c), under
** 'wait_mutex' so that the recorded sizes follow one another.
**
** Locking: 'put_lock' guards the put end's fields (the ring's tail, the
** priority bookkeeping, a LifoQueue's stack); 'get_lock' the get end's
** (the ring's head, a PriorityQueue's heap, which producers change holding
** both); the ring's storage changes only with both held.  Order:
** put_lock, then get_lock; 'wait_mutex' is taken with neither held (a
** leaf lock, kernel.h rules).  Under the ends' locks: no Lua call, no
** wait, no object freed; growing the ring or a heap allocates; a consumer
** watches the ring's next slot for up to 16 us holding get_lock (see
** spin_for_item).
** Blobs are freed with no lock held, since freeing one may destroy the
** objects it references.
*/
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../kernel/spinlock.h"
#include "queue.h"
#include "queue_items.h"

/* What both ends only read, then the put end's fields, the get end's, the
** waiters': each in cache lines of its own. */
typedef struct tl_queue {
  tl_object obj;
  const char *trace_name; /* its size's counter in the trace ("Queue \"jobs\": size"), or NULL */
  lua_Integer maxsize;    /* 0: unbounded (fixed at creation) */
  bool two_ends;          /* Queue, SimpleQueue, PriorityQueue: 'ring' (else a LifoQueue) */
  bool priority;          /* PriorityQueue */
  atomic_bool shutdown;   /* set with both ends' locks held */
  tl_ring ring;           /* (two ends) its storage changes with both ends' locks held */

  _Alignas(64) atomic_size_t added; /* items ever added; written under put_lock */
  tl_items stack;         /* (LifoQueue) under put_lock */
  _Alignas(64) tl_spinlock put_lock; /* the put end's, a line past 'added': in the line that
                          ** a LifoQueue's waiting consumers watch, its stack moved fewer items */
  size_t removed_seen;    /* a past value of 'removed' (<= it) */
  size_t tail;            /* (two ends) items ever written to the ring */
  size_t head_seen;       /* (two ends) a past value of 'head' (<= it) */
  uint64_t next_seq;      /* (priority) insertion order */
  bool prio_strings;      /* (priority) the priorities queued are strings */
  bool has_last;          /* (priority) 'last' is the newest item of the ring (its priority) */
  tl_item last;

  _Alignas(64) tl_spinlock get_lock; /* (two ends) the get end's */
  atomic_size_t removed;  /* items ever taken, less those put back; written under the get end's lock */
  atomic_size_t head;     /* (two ends) items ever taken from the ring, less those put back */
  tl_items heap;          /* (PriorityQueue) the items that came out of order, under
                          ** get_lock, added with both */

  _Alignas(64) pthread_mutex_t wait_mutex;
  atomic_int getters, putters; /* threads counted as waiting in get / put */
  atomic_size_t done;     /* task_done() calls, plus items dropped */
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
  tl_ring_clear(&q->ring, atomic_load(&q->head), q->tail);
  tl_items_clear(&q->stack);
  tl_items_clear(&q->heap);
  pthread_mutex_destroy(&q->wait_mutex);
  pthread_cond_destroy(&q->not_empty);
  pthread_cond_destroy(&q->not_full);
  pthread_cond_destroy(&q->all_done);
  free(q);
}

/* The get end's lock: a LifoQueue's one end is its put end.  Both ends:
** put, then get. */
static tl_spinlock *get_end_lock(tl_queue *q) { return q->two_ends ? &q->get_lock : &q->put_lock; }
static void lock_ends(tl_queue *q) {
  tl_spin_lock(&q->put_lock);
  if (q->two_ends) tl_spin_lock(&q->get_lock);
}
static void unlock_ends(tl_queue *q) {
  if (q->two_ends) tl_spin_unlock(&q->get_lock);
  tl_spin_unlock(&q->put_lock);
}

static size_t queue_size(tl_queue *q) {
  size_t removed = atomic_load(&q->removed); /* (first: 'added' only grows) */
  return atomic_load(&q->added) - removed;
}

static lua_Integer unfinished(tl_queue *q) {
  size_t done = atomic_load(&q->done);
  return (lua_Integer)(atomic_load(&q->added) - done);
}

static bool is_full(tl_queue *q) { return q->maxsize > 0 && queue_size(q) >= (size_t)q->maxsize; }

/* is_full(q) for a producer (the put end's lock held): the consumers' count is
** read only when the last one seen says the queue may be full. */
static bool full_for_put(tl_queue *q) {
  if (q->maxsize <= 0) return false;
  size_t added = atomic_load_explicit(&q->added, memory_order_relaxed); /* (ours) */
  if (added - q->removed_seen < (size_t)q->maxsize) return false;
  q->removed_seen = atomic_load(&q->removed);
  return added - q->removed_seen >= (size_t)q->maxsize;
}
static bool is_shut(tl_queue *q) { return atomic_load(&q->shutdown); }

/* --- waiting ------------------------------------------------------------- */

static bool can_put(tl_queue *q) { return is_shut(q) || !is_full(q); }
static bool can_get(tl_queue *q) { return is_shut(q) || queue_size(q) > 0; }
static bool all_done(tl_queue *q) { return unfinished(q) == 0; }

/* Sleeps until ready(q) or the deadline, counted in '*waiters' (no end's
** lock held; inside a tl_wait_begin bracket). */
static tl_wait_result wait_for(tl_queue *q, bool (*ready)(tl_queue *), pthread_cond_t *cond,
                               atomic_int *waiters, const tl_deadline *d) {
  tl_wait_result r = TL_WAIT_OK;
  pthread_mutex_lock(&q->wait_mutex);
  if (waiters) atomic_fetch_add(waiters, 1);
  while (!ready(q) && r == TL_WAIT_OK) r = tl_wait_cond(cond, &q->wait_mutex, d);
  if (waiters) atomic_fetch_sub(waiters, 1);
  pthread_mutex_unlock(&q->wait_mutex);
  return r;
}

/* After a change that may let a thread counted in '*waiters' go on (the
** end's lock released): wakes one, taking wait_mutex only when somebody
** waits. */
static void signal_waiter(tl_queue *q, pthread_cond_t *cond) {
  pthread_mutex_lock(&q->wait_mutex);
  tl_wait_signal(cond);
  pthread_mutex_unlock(&q->wait_mutex);
}

static inline void wake(tl_queue *q, atomic_int *waiters, pthread_cond_t *cond) {
  if (atomic_load(waiters) != 0) signal_waiter(q, cond);
}

static void broadcast(tl_queue *q, pthread_cond_t *cond) {
  pthread_mutex_lock(&q->wait_mutex);
  tl_wait_broadcast(cond);
  pthread_mutex_unlock(&q->wait_mutex);
}

/* Drops 'n' items from the unfinished tasks (not below 0). */
static void drop_unfinished(tl_queue *q, size_t n) {
  size_t done = atomic_load(&q->done);
  for (;;) {
    size_t left = atomic_load(&q->added) - done;
    if (left == 0) return;
    if (atomic_compare_exchange_weak(&q->done, &done, done + (n < left ? n : left))) break;
  }
  if (all_done(q)) broadcast(q, &q->all_done);
}

/* When tracing, a queue's size is a counter of the trace, at every put
** and get (no Lua, no lock inside: kernel/trace.c). */
static void record_size(tl_queue *q) {
  pthread_mutex_lock(&q->wait_mutex);
  tl_trace_user(TL_TRACE_COUNTER, q->trace_name, (double)queue_size(q));
  pthread_mutex_unlock(&q->wait_mutex);
}

static inline void trace_size(tl_queue *q) {
  if (q->trace_name != NULL && tl_trace_on()) record_size(q);
}

/* --- the two ends (each under its lock) ----------------------------------- */

/* Makes room in the ring for one more item (put_lock held); takes the
** get end's lock to grow it. */
static bool ring_room(tl_queue *q) {
  if (q->tail - q->head_seen < q->ring.cap) return true;
  q->head_seen = atomic_load(&q->head);
  if (q->tail - q->head_seen < q->ring.cap) return true;
  tl_spin_lock(&q->get_lock);
  q->head_seen = atomic_load(&q->head);
  bool ok = tl_ring_reserve(&q->ring, q->head_seen, q->tail);
  tl_spin_unlock(&q->get_lock);
  return ok;
}

/* Would 'it' mix number and string priorities (put_lock held)?  Python
** raises TypeError when heapq compares them.  An empty queue takes
** either; with put_lock held nothing can be added, so an empty queue
** stays empty. */
static bool mixes(tl_queue *q, const tl_item *it) {
  return q->priority && it->prio_string != q->prio_strings && queue_size(q) > 0; /* (the get end's count last) */
}

/* Does 'it' go to the ring of a priority queue (put_lock held)?  Those
** that come in order, each after the newest of the ring (equal
** priorities, rising timestamps), keep the ring sorted, and leave it as
** from a FIFO queue; the others go to the heap, with both locks. */
static bool in_order(tl_queue *q, const tl_item *it) {
  if (it->prio_string && it->len > TL_ITEM_INLINE) return false; /* (its string is freed with it: no 'last') */
  if (!q->has_last || tl_item_before(&q->last, it)) return true;
  q->head_seen = atomic_load(&q->head);
  return q->head_seen == q->tail; /* the ring is empty: a new run starts */
}

/* Adds 'it' (the put end's lock held): false when out of memory.  Counted
** first, then written: a consumer that finds the item finds it counted
** ('removed' never passes 'added', task_done() knows it); on a stack,
** whose consumers take the same lock, the other way round.  Waiters read
** the count without the lock: sequentially consistent. */
static bool add_item(tl_queue *q, tl_item *it) {
  if (!q->two_ends) {
    if (!tl_items_add(&q->stack, it)) return false;
    atomic_fetch_add(&q->added, 1);
    return true;
  }
  if (q->priority) {
    it->seq = q->next_seq++;
    q->prio_strings = it->prio_string;
    if (!in_order(q, it)) {
      tl_spin_lock(&q->get_lock);
      bool ok = tl_items_add(&q->heap, it);
      if (ok) atomic_fetch_add(&q->added, 1);
      tl_spin_unlock(&q->get_lock);
      return ok;
    }
  }
  if (!ring_room(q)) return false;
  atomic_fetch_add(&q->added, 1);
  tl_ring_write(&q->ring, q->tail++, it);
  if (q->priority) {
    q->last = *it; /* (its priority: a number or a string inside the item) */
    q->has_last = true;
  }
  return true;
}

/* take_item for a queue with two ends: the ring's front, or for a
** priority queue the first of it and the heap's top. */
static bool take_front(tl_queue *q, tl_item *it) {
  size_t head = atomic_load_explicit(&q->head, memory_order_relaxed); /* (ours) */
  bool front = tl_ring_read(&q->ring, head, it);
  if (q->priority && tl_items_count(&q->heap) > 0 &&
      (!front || tl_item_before(tl_items_front(&q->heap), it))) {
    *it = tl_items_take(&q->heap);
    return true;
  }
  if (front) atomic_store_explicit(&q->head, head + 1, memory_order_release); /* frees the slot */
  return front;
}

/* Takes the next item into '*it' (the get end's lock held): false when
** there is none. */
static bool take_item(tl_queue *q, tl_item *it) {
  size_t removed = atomic_load_explicit(&q->removed, memory_order_relaxed); /* (ours) */
  if (!q->two_ends) {
    if (tl_items_count(&q->stack) == 0) return false;
    *it = tl_items_take(&q->stack);
  } else if (!take_front(q, it)) {
    return false;
  }
  /* Only a bounded queue has producers that may be waiting for this, and
  ** wake() reads 'putters' after this store: sequentially consistent. */
  atomic_store_explicit(&q->removed, removed + 1, q->maxsize > 0 ? memory_order_seq_cst : memory_order_release);
  return true;
}

/* Puts back an item just taken (both ends' locks held): at the front
** of the ring, on top of the stack, in the heap at its place (its own
** 'seq': it leaves before its equals again).  False, not put back, when
** out of memory or (priority) when its priority no longer fits those
** queued. */
static bool put_item_back(tl_queue *q, tl_item *it) {
  if (q->priority) {
    if (mixes(q, it) || !tl_items_add(&q->heap, it)) return false;
  } else if (q->two_ends) {
    size_t head = atomic_load(&q->head);
    if (!tl_ring_reserve(&q->ring, head, q->tail)) return false;
    tl_ring_write(&q->ring, head - 1, it);
    atomic_store(&q->head, head - 1);
    q->head_seen = head - 1;
  } else if (!tl_items_add(&q->stack, it)) {
    return false;
  }
  size_t removed = atomic_load(&q->removed) - 1;
  atomic_store(&q->removed, removed);
  if (q->removed_seen > removed) q->removed_seen = removed;
  return true;
}

static bool put_back(tl_queue *q, tl_item *it) {
  lock_ends(q);
  bool back = put_item_back(q, it);
  unlock_ends(q);
  if (back) wake(q, &q->getters, &q->not_empty);
  return back;
}

/* --- put ---------------------------------------------------------------- */

typedef enum { PUT_OK, PUT_FULL, PUT_SHUTDOWN, PUT_MIXED, PUT_NOMEM } put_status;

/* One try at adding 'it'. */
static put_status try_put(tl_queue *q, tl_item *it) {
  put_status st;
  tl_spin_lock(&q->put_lock);
  if (is_shut(q)) st = PUT_SHUTDOWN;
  else if (full_for_put(q)) st = PUT_FULL;
  else if (mixes(q, it)) st = PUT_MIXED;
  else st = add_item(q, it) ? PUT_OK : PUT_NOMEM;
  tl_spin_unlock(&q->put_lock);
  if (st == PUT_OK) {
    wake(q, &q->getters, &q->not_empty);
    trace_size(q);
  }
  return st;
}

/* What a put on a full queue watches for (no lock held: the counts are
** atomic). */
static bool room_or_shutdown(void *q) { return can_put((tl_queue *)q); }

static int do_put(lua_State *L, tl_queue *q, bool blocking, const tl_deadline *d) {
  if (lua_isnoneornil(L, 2))
    return tl_error(L, "ValueError", "cannot put nil into a %s", q->obj.kind->name);
  tl_sched_point(L, "Queue.put", NULL);
  tl_item it;
  memset(&it, 0, sizeof it);
  tl_item_make(L, 2, q->obj.kind == &priority_kind, &it);
  tl_waiting b;
  bool waited = false;
  tl_wait_result r = TL_WAIT_OK;
  put_status st;
  bool watch = blocking && tl_watch_allowed();
  while ((st = try_put(q, &it)) == PUT_FULL && blocking && r == TL_WAIT_OK) {
    if (watch) { /* (once) a consumer on another core makes room within microseconds */
      watch = false;
      if (tl_watch(room_or_shutdown, q, d)) continue;
    }
    if (!waited) tl_wait_begin(&b, "Queue.put", &q->obj);
    waited = true;
    r = wait_for(q, can_put, &q->not_full, &q->putters, d);
  }
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
  bool ok = q->obj.kind != &priority_kind && try_put(q, &it) == PUT_OK;
  if (!ok) tl_blob_free(item);
  return ok;
}

/* --- get ---------------------------------------------------------------- */

typedef enum { GET_OK, GET_EMPTY, GET_SHUTDOWN } get_status;

/* With the GIL off the producer, on another core, usually puts the next
** item within a microsecond, where falling asleep and being woken takes
** tens, and a consumer that sleeps at every item makes its producer call
** the kernel at every item.  So a blocking get on a queue with two ends
** first watches the next slot of the ring for a while (kernel/watch.c,
** up to TL_WATCH_SECONDS: 16 us), holding the get end's lock (so that
** the ring cannot grow under it): the slot's cache line is the one the
** producer writes anyway (watching the producers' count made every put
** slower).  Producers take that lock only to grow the ring (not full while
** a consumer finds nothing, but a new queue's has no slots yet) and to add
** an item that came out of order to a PriorityQueue's heap: they, and
** other consumers, may spin that long (yielding their core) for each
** consumer that finds the queue empty (once per get).  A LifoQueue's get
** watches the count instead, holding nothing (its one lock is its
** producers' too), then takes the lock again.  Not with the GIL on (its
** holder would keep the producer from running) nor under -X sched
** (tl_watch_allowed). */
typedef struct watched {
  tl_queue *q;
  tl_item *it; /* where a taken item goes; NULL: only watch the size */
  bool took;
} watched;

static bool item_or_shutdown(void *ud) {
  watched *w = (watched *)ud;
  if (w->it != NULL && (w->took = take_item(w->q, w->it))) return true;
  if (w->it == NULL && queue_size(w->q) > 0) return true;
  return is_shut(w->q);
}

/* A queue with two ends (the get end's lock held): takes an item into
** '*it' when one comes before the deadline. */
static bool spin_for_item(tl_queue *q, tl_item *it, const tl_deadline *d) {
  watched w = {q, it, false};
  tl_watch(item_or_shutdown, &w, d);
  return w.took;
}

/* A LifoQueue (no lock held): true when an item may have come. */
static bool spin_for_size(tl_queue *q, const tl_deadline *d) {
  watched w = {q, NULL, false};
  return tl_watch(item_or_shutdown, &w, d) && !is_shut(q);
}

/* One try at taking an item into '*it'; 'spin': see spin_for_item, until
** the deadline 'd' at most. */
static get_status try_get(tl_queue *q, tl_item *it, bool spin, const tl_deadline *d) {
  tl_spin_lock(get_end_lock(q));
  bool took = take_item(q, it);
  if (!took && spin) took = spin_for_item(q, it, d);
  /* Read under the end's lock, which shutdown() holds to set the flag:
  ** every put came (and was written) before it, so an empty end now is
  ** drained for good.  Read after unlocking, a shutdown that came with
  ** items in between looked like an empty queue shut down (items lost). */
  bool shut = !took && is_shut(q);
  tl_spin_unlock(get_end_lock(q));
  if (!took) return shut ? GET_SHUTDOWN : GET_EMPTY;
  if (q->maxsize > 0) wake(q, &q->putters, &q->not_full);
  trace_size(q);
  return GET_OK;
}

/* Pushes the item and returns GET_OK, or pushes nothing. */
static get_status do_get(lua_State *L, tl_queue *q, bool blocking, const tl_deadline *d) {
  tl_sched_point(L, "Queue.get", NULL);
  tl_waiting b;
  bool waited = false;
  tl_wait_result r = TL_WAIT_OK;
  tl_item it;
  get_status st;
  bool spin = blocking && tl_watch_allowed();
  while ((st = try_get(q, &it, spin && !waited && q->two_ends, d)) == GET_EMPTY && blocking && r == TL_WAIT_OK) {
    if (!waited && spin && !q->two_ends && spin_for_size(q, d)) {
      spin = false; /* (once) */
      continue;
    }
    if (!waited) tl_wait_begin(&b, "Queue.get", &q->obj);
    else if (queue_size(q) > 0) sched_yield(); /* counted, not yet written: its producer is at it */
    waited = true;
    r = wait_for(q, can_get, &q->not_empty, &q->getters, d);
  }
  if (waited) tl_wait_end(&b);
  if (st != GET_OK) {
    if (st == GET_EMPTY) tl_wait_check(L, r);
    return st;
  }
  if (tl_item_push(L, &it) == LUA_OK) return GET_OK;
  /* It could not be received here (out of memory, a value this state
  ** cannot decode): it goes back where it was, still unfinished, and the
  ** error is raised. */
  if (put_back(q, &it)) {
    trace_size(q);
  } else {
    drop_unfinished(q, 1); /* lost after all: not left counted */
    tl_item_free(&it);     /* (no lock held: it may free objects) */
  }
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
  tl_deadline d = tl_clock_forever();
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
  lua_pushinteger(L, (lua_Integer)queue_size(q));
  return 1;
}

static int queue_empty(lua_State *L) {
  tl_queue *q = check_queue(L);
  tl_sched_point(L, "Queue.empty", NULL);
  lua_pushboolean(L, queue_size(q) == 0);
  return 1;
}

static int queue_full(lua_State *L) {
  tl_queue *q = check_queue(L);
  tl_sched_point(L, "Queue.full", NULL);
  lua_pushboolean(L, is_full(q));
  return 1;
}

static int queue_task_done(lua_State *L) {
  tl_queue *q = check_queue(L);
  tl_sched_point(L, "Queue.task_done", NULL);
  size_t done = atomic_load(&q->done);
  do {
    if (done >= atomic_load(&q->added)) return tl_error(L, "ValueError", "task_done() called too many times");
  } while (!atomic_compare_exchange_weak(&q->done, &done, done + 1));
  if (all_done(q)) broadcast(q, &q->all_done);
  return 0;
}

/* join([timeout]) -> true when every item put has been task_done(). */
static int queue_join(lua_State *L) {
  tl_queue *q = check_queue(L);
  tl_deadline d = tl_args_timeout(L, 2);
  tl_sched_point(L, "Queue.join", NULL);
  tl_wait_result r = TL_WAIT_OK;
  if (!all_done(q)) {
    tl_waiting b;
    tl_wait_begin(&b, "Queue.join", &q->obj);
    r = wait_for(q, all_done, &q->all_done, NULL, &d);
    tl_wait_end(&b);
  }
  bool done = all_done(q);
  if (!done) tl_wait_check(L, r);
  lua_pushboolean(L, done);
  return 1;
}

static int queue_shutdown(lua_State *L) {
  tl_queue *q = check_queue(L);
  bool immediate = lua_toboolean(L, 2);
  tl_sched_point(L, "Queue.shutdown", NULL);
  tl_ring ring = {NULL, 0};
  tl_items stack, heap;
  tl_items_init(&stack, TL_ITEMS_LIFO);
  tl_items_init(&heap, TL_ITEMS_PRIORITY);
  size_t head = 0, tail = 0, dropped = 0;
  lock_ends(q);
  atomic_store(&q->shutdown, true);
  if (immediate) { /* every item is taken, and freed after unlocking */
    size_t added = atomic_load(&q->added);
    dropped = added - atomic_load(&q->removed);
    atomic_store(&q->removed, added);
    q->removed_seen = added;
    head = atomic_load(&q->head);
    tail = q->tail;
    ring = q->ring;
    q->ring = (tl_ring){NULL, 0};
    atomic_store(&q->head, tail);
    q->head_seen = tail;
    tl_items_move(&q->stack, &stack);
    tl_items_move(&q->heap, &heap);
  }
  unlock_ends(q);
  if (immediate) drop_unfinished(q, dropped);
  broadcast(q, &q->not_empty);
  broadcast(q, &q->not_full);
  tl_ring_clear(&ring, head, tail);
  tl_items_clear(&stack);
  tl_items_clear(&heap);
  return 0;
}

static int queue_tostring(lua_State *L) {
  tl_queue *q = check_queue(L);
  size_t n = queue_size(q);
  bool shut = is_shut(q);
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
  if (strcmp(key, "unfinished_tasks") == 0) lua_pushinteger(L, unfinished(q));
  else if (strcmp(key, "is_shutdown") == 0) lua_pushboolean(L, is_shut(q));
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

static int new_queue(lua_State *L, const tl_kind *kind) {
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
  tl_queue *q = aligned_alloc(_Alignof(tl_queue), sizeof *q); /* (its lines apart) */
  if (q != NULL) memset(q, 0, sizeof *q);
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
  pthread_mutex_init(&q->wait_mutex, NULL);
  atomic_init(&q->shutdown, false);
  atomic_init(&q->added, 0);
  atomic_init(&q->put_lock, false);
  atomic_init(&q->get_lock, false);
  atomic_init(&q->removed, 0);
  atomic_init(&q->head, 0);
  atomic_init(&q->done, 0);
  atomic_init(&q->getters, 0);
  atomic_init(&q->putters, 0);
  tl_clock_cond_init(&q->not_empty);
  tl_clock_cond_init(&q->not_full);
  tl_clock_cond_init(&q->all_done);
  q->two_ends = kind != &lifo_kind;
  q->priority = kind == &priority_kind;
  tl_items_init(&q->stack, TL_ITEMS_LIFO);    /* (each empty but in its kind) */
  tl_items_init(&q->heap, TL_ITEMS_PRIORITY);
  q->maxsize = maxsize > 0 ? maxsize : 0;
  tl_object_push_new(L, &q->obj);
  return 1;
}

static int new_fifo(lua_State *L) { return new_queue(L, &queue_kind); }
static int new_lifo(lua_State *L) { return new_queue(L, &lifo_kind); }
static int new_priority(lua_State *L) { return new_queue(L, &priority_kind); }
static int new_simple(lua_State *L) { return new_queue(L, &simple_kind); }

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
