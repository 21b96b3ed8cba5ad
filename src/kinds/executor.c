/*
** executor.c -- threading.ThreadPoolExecutor (concurrent.futures), one
** object shared by reference like every threading object: an executor
** passed to a task, put in a queue or collected in some thread is the same
** executor everywhere.  Its methods are written in Lua
** (lua/threading/executor.lua, the kind's lua_methods: submit, map,
** shutdown...); they call the primitives here for what must be atomic.
**
** Two objects:
**  - the executor (kind ThreadPoolExecutor), what scripts hold: boxes in
**    any state, blobs (a queue item, a task's argument);
**  - its work (kind _ExecutorWork), which the executor and its worker
**    threads share: the queue of tasks, the idle count, the shutdown flag,
**    the workers and their exits.
** Workers hold the work, not the executor.  So when the last reference to
** the executor goes (no box left in any state, no blob), its work is shut
** down without waiting, as Python's weakref callback does: the workers
** finish what is queued and end.  Collecting one box in one thread changes
** nothing.  The executor is shut down, waiting, by shutdown(), at the end
** of the thread that made it (threading._register_atexit, executor.lua),
** and -- every executor still open -- at the end of the process
** (tl_executor_shutdown_all, before the wait for non-daemon threads, as
** Python's _python_exit).
**
** A task is the future (a reference, kept apart) and a blob of the
** function and its arguments, decoded by the worker in protected mode: a
** task the worker cannot receive (a module it cannot load...) fails its
** future with that error, and the worker goes on.
**
** Primitives ('_' names; the rest is executor.lua):
**   threading._executor(max_workers, prefix) -> a new executor
**   threading._executor_is(v) -> whether v is an executor
**   ex:_put(future, f, ...) -> name | nil | false, message
**       queues f(...) for 'future' (f and the arguments are copied now);
**       returns the name of a worker to start when no worker is idle and
**       there are fewer than max_workers; false and the message once shut
**       down (or the process is); an argument that cannot cross: raises
**   ex:_start_failed()      that worker could not be started
**   ex:_work()              the work, for a worker to start with
**   ex:_shutdown([cancel]) -> futures: no new tasks (atomic with _put);
**       with cancel, the queued tasks are taken out and their futures
**       returned, to be cancelled
**   ex:_wait_workers() -> own, threads: waits until every worker but the
**       calling thread (if it is one of them) has ended
**   fields _max_workers, _shutdown, _threads (a list of the workers)
**   work:_worker_begin(), work:_worker_end()  a worker's first and last calls
**   work:_get(after_task) -> future, true, f, args... | future, false, error
**       | nothing once shut down and drained; blocks (GIL released);
**       after_task: the caller finished a task (an idle worker, counted as
**       Python's idle semaphore)
**
** Locking: a work's 'mutex' guards all its fields but max_workers and
** prefix, which never change; a leaf lock.  'all.mutex'
** guards the list of works and is taken before a work's mutex
** (tl_executor_shutdown_all), never after.  'live_workers' (every work's
** workers not yet ended) and 'finalizing' are atomics; 'all.cond' is
** broadcast, under 'all.mutex', when live_workers reaches 0.  Tasks are
** encoded before, decoded and freed after the mutex (freeing a task can
** destroy the executor it mentions, which takes its work's mutex).
** 'has_work' (atomic) repeats "a task is queued or the work is shut down"
** for an idle worker to watch without the mutex before it sleeps, with the
** GIL off (kernel/watch.c): a submit() and result() round trip on one
** worker took 42 us, 15 us with only the result watched.
*/
#include <stdlib.h>
#include <string.h>

#include "kinds.h"

typedef struct task {
  struct task *next;
  tl_object *future; /* a reference */
  tl_blob *call;     /* the function and its arguments */
} task;

typedef struct work {
  tl_object obj;
  pthread_mutex_t mutex;
  pthread_cond_t tasks_cond; /* a new task (signal), the shutdown (broadcast) */
  pthread_cond_t exit_cond;  /* a worker ended, or could not start */
  task *head, *tail;
  atomic_bool has_work;      /* head != NULL || shutdown (see publish) */
  int idle;                  /* tasks finished and not yet matched by a submit */
  bool shutdown;
  int max_workers;
  int nworkers;              /* started, or being started after _put */
  int nexited;
  int nnamed;                /* names given: PREFIX_0, PREFIX_1... */
  tl_object **threads;       /* the workers' Thread objects (references) */
  int nthreads, capthreads;
  char *prefix;
  struct work *prev, *next;  /* in all.list */
} work;

typedef struct executor {
  tl_object obj;
  work *work; /* a reference */
} executor;

static struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond; /* live_workers reached 0 */
  work *list;
} all = {.mutex = PTHREAD_MUTEX_INITIALIZER, .list = NULL};
static pthread_once_t all_once = PTHREAD_ONCE_INIT;
static atomic_int live_workers;
static atomic_bool finalizing;

static void init_all(void) { tl_clock_cond_init(&all.cond); }

static const tl_kind executor_kind, work_kind;

static executor *check_executor(lua_State *L) {
  return (executor *)tl_object_check(L, 1, &executor_kind);
}

static work *check_work(lua_State *L) { return (work *)tl_object_check(L, 1, &work_kind); }

static void free_tasks(task *t) {
  while (t != NULL) {
    task *next = t->next;
    tl_object_decref(t->future);
    tl_blob_free(t->call);
    free(t);
    t = next;
  }
}

/* A worker has ended (or could not start): one live worker fewer. */
static void worker_gone(void) {
  if (atomic_fetch_sub(&live_workers, 1) == 1) {
    pthread_once(&all_once, init_all);
    pthread_mutex_lock(&all.mutex);
    tl_wait_broadcast(&all.cond);
    pthread_mutex_unlock(&all.mutex);
  }
}

/* After a change of head or shutdown ('mutex' held): what a watching
** worker reads. */
static void publish(work *w) {
  atomic_store_explicit(&w->has_work, w->head != NULL || w->shutdown, memory_order_relaxed);
}

static bool has_work(void *w) {
  return atomic_load_explicit(&((work *)w)->has_work, memory_order_relaxed);
}

/* No new tasks; the workers finish what is queued and end. */
static void shut_down(work *w) {
  pthread_mutex_lock(&w->mutex);
  w->shutdown = true;
  publish(w);
  tl_wait_broadcast(&w->tasks_cond);
  pthread_mutex_unlock(&w->mutex);
}

static void work_destroy(tl_object *o) {
  work *w = (work *)o;
  pthread_mutex_lock(&all.mutex);
  if (w->prev) w->prev->next = w->next;
  else all.list = w->next;
  if (w->next) w->next->prev = w->prev;
  pthread_mutex_unlock(&all.mutex);
  free_tasks(w->head);
  for (int i = 0; i < w->nthreads; i++) tl_object_decref(w->threads[i]);
  free(w->threads);
  free(w->prefix);
  pthread_mutex_destroy(&w->mutex);
  pthread_cond_destroy(&w->tasks_cond);
  pthread_cond_destroy(&w->exit_cond);
  free(w);
}

/* The last reference to the executor is gone: its work is shut down,
** without waiting (destructors never wait, nor call Lua). */
static void executor_destroy(tl_object *o) {
  executor *x = (executor *)o;
  shut_down(x->work);
  tl_object_decref(&x->work->obj);
  free(x);
}

/* --- submitting --------------------------------------------------------- */

static int executor_put(lua_State *L) {
  executor *x = check_executor(L);
  tl_object *fut = tl_object_test(L, 2, NULL);
  luaL_argexpected(L, fut != NULL && tl_future_is(fut), 2, "Future");
  luaL_checkany(L, 3);
  tl_sched_point(L, "ThreadPoolExecutor.submit", NULL);
  work *w = x->work;
  tl_blob *call = tl_args_encode_call(L, 3, lua_gettop(L) - 3, "f");
  task *t = malloc(sizeof *t);
  if (t == NULL) {
    tl_blob_free(call);
    return luaL_error(L, "not enough memory");
  }
  tl_object_incref(fut);
  t->future = fut;
  t->call = call;
  t->next = NULL;
  const char *refused = NULL;
  int start = -1; /* the number of the worker to start */
  pthread_mutex_lock(&w->mutex);
  if (atomic_load(&finalizing)) {
    refused = "RuntimeError: cannot schedule new futures after interpreter shutdown";
  } else if (w->shutdown) {
    refused = "RuntimeError: cannot schedule new futures after shutdown";
  } else {
    if (w->tail) w->tail->next = t;
    else w->head = t;
    w->tail = t;
    publish(w);
    tl_wait_signal(&w->tasks_cond);
    if (w->idle > 0) {
      w->idle--;
    } else if (w->nworkers < w->max_workers) {
      w->nworkers++;
      start = w->nnamed++;
      atomic_fetch_add(&live_workers, 1);
    }
  }
  pthread_mutex_unlock(&w->mutex);
  if (refused != NULL) {
    free_tasks(t);
    lua_pushboolean(L, 0);
    lua_pushstring(L, refused);
    return 2;
  }
  if (start < 0) return 0;
  lua_pushfstring(L, "%s_%d", w->prefix, start);
  return 1;
}

static int executor_start_failed(lua_State *L) {
  work *w = check_executor(L)->work;
  pthread_mutex_lock(&w->mutex);
  w->nworkers--;
  tl_wait_broadcast(&w->exit_cond);
  pthread_mutex_unlock(&w->mutex);
  worker_gone();
  return 0;
}

static int executor_work(lua_State *L) {
  tl_object_push(L, &check_executor(L)->work->obj);
  return 1;
}

/* --- shutting down -------------------------------------------------------- */

static int executor_shutdown(lua_State *L) {
  work *w = check_executor(L)->work;
  bool cancel = lua_toboolean(L, 2);
  tl_sched_point(L, "ThreadPoolExecutor.shutdown", NULL);
  task *taken = NULL;
  pthread_mutex_lock(&w->mutex);
  w->shutdown = true;
  if (cancel) {
    taken = w->head;
    w->head = w->tail = NULL;
  }
  publish(w);
  tl_wait_broadcast(&w->tasks_cond);
  pthread_mutex_unlock(&w->mutex);
  lua_newtable(L);
  int n = 0;
  for (task *t = taken; t != NULL; t = t->next) {
    tl_object_push(L, t->future);
    lua_rawseti(L, -2, ++n);
  }
  free_tasks(taken); /* (no mutex held: it may free the executor of a task's arguments) */
  return 1;
}

/* Whether 'o' is among the workers (mutex held). */
static bool is_worker(const work *w, const tl_object *o) {
  for (int i = 0; o != NULL && i < w->nthreads; i++)
    if (w->threads[i] == o) return true;
  return false;
}

static int executor_wait_workers(lua_State *L) {
  work *w = check_executor(L)->work;
  tl_tstate *self = tl_tstate_self();
  tl_object *me = self != NULL && !self->is_main ? (tl_object *)self->owner : NULL;
  tl_deadline forever = tl_clock_forever();
  tl_wait_result r = TL_WAIT_OK;
  tl_waiting b;
  bool waited = false;
  pthread_mutex_lock(&w->mutex);
  bool own = is_worker(w, me);
  if (w->nexited < w->nworkers - own) {
    pthread_mutex_unlock(&w->mutex);
    tl_wait_begin(&b, "ThreadPoolExecutor.shutdown", NULL);
    waited = true;
    pthread_mutex_lock(&w->mutex);
    while (w->nexited < w->nworkers - own && r == TL_WAIT_OK) r = tl_wait_cond(&w->exit_cond, &w->mutex, &forever);
  }
  int n = 0;
  tl_object **others = malloc(sizeof *others * (size_t)(w->nthreads + 1));
  for (int i = 0; others != NULL && i < w->nthreads; i++) {
    if (w->threads[i] == me) continue;
    tl_object_incref(w->threads[i]);
    others[n++] = w->threads[i];
  }
  pthread_mutex_unlock(&w->mutex);
  if (waited) tl_wait_end(&b);
  if (r != TL_WAIT_OK || others == NULL) {
    for (int i = 0; i < n; i++) tl_object_decref(others[i]);
    free(others);
    if (others == NULL) return luaL_error(L, "not enough memory");
    tl_wait_check(L, r);
  }
  lua_pushboolean(L, own);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    tl_object_push_new(L, others[i]);
    lua_rawseti(L, -2, i + 1);
  }
  free(others);
  return 2;
}

/* --- fields ------------------------------------------------------------------ */

static void push_threads(lua_State *L, work *w) {
  pthread_mutex_lock(&w->mutex);
  int n = w->nthreads;
  tl_object **list = malloc(sizeof *list * (size_t)(n + 1));
  for (int i = 0; list != NULL && i < n; i++) {
    tl_object_incref(w->threads[i]);
    list[i] = w->threads[i];
  }
  pthread_mutex_unlock(&w->mutex);
  if (list == NULL) luaL_error(L, "not enough memory");
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    tl_object_push_new(L, list[i]);
    lua_rawseti(L, -2, i + 1);
  }
  free(list);
}

static int executor_getfield(lua_State *L, tl_object *o, const char *key) {
  work *w = ((executor *)o)->work;
  if (strcmp(key, "_max_workers") == 0) {
    lua_pushinteger(L, w->max_workers);
  } else if (strcmp(key, "_shutdown") == 0) {
    pthread_mutex_lock(&w->mutex);
    bool down = w->shutdown;
    pthread_mutex_unlock(&w->mutex);
    lua_pushboolean(L, down);
  } else if (strcmp(key, "_threads") == 0) {
    push_threads(L, w);
  } else {
    return 0;
  }
  return 1;
}

static int executor_tostring(lua_State *L) {
  work *w = check_executor(L)->work;
  pthread_mutex_lock(&w->mutex);
  int n = w->nworkers;
  bool down = w->shutdown;
  pthread_mutex_unlock(&w->mutex);
  lua_pushfstring(L, "ThreadPoolExecutor(max_workers=%d, threads=%d%s)", w->max_workers, n,
                  down ? ", shutdown" : "");
  return 1;
}

/* --- the workers' side -------------------------------------------------------- */

static int work_worker_begin(lua_State *L) {
  work *w = check_work(L);
  tl_tstate *self = tl_tstate_self();
  tl_object *me = self != NULL && !self->is_main ? (tl_object *)self->owner : NULL;
  if (me == NULL) return luaL_error(L, "a worker runs in a thread of its own");
  pthread_mutex_lock(&w->mutex);
  bool ok = true;
  if (w->nthreads == w->capthreads) {
    int cap = w->capthreads ? w->capthreads * 2 : 4;
    tl_object **threads = realloc(w->threads, sizeof *threads * (size_t)cap);
    if (threads != NULL) {
      w->threads = threads;
      w->capthreads = cap;
    }
    ok = threads != NULL;
  }
  if (ok) {
    tl_object_incref(me);
    w->threads[w->nthreads++] = me;
  }
  pthread_mutex_unlock(&w->mutex);
  if (!ok) return luaL_error(L, "not enough memory");
  return 0;
}

static int work_worker_end(lua_State *L) {
  work *w = check_work(L);
  pthread_mutex_lock(&w->mutex);
  w->nexited++;
  tl_wait_broadcast(&w->exit_cond);
  pthread_mutex_unlock(&w->mutex);
  worker_gone();
  return 0;
}

/* In protected mode: decodes the call (light userdata 1), freeing it. */
static int decode_call(lua_State *L) {
  tl_blob *call = (tl_blob *)lua_touserdata(L, 1);
  lua_settop(L, 0);
  return tl_blob_decode_release(L, call);
}

static int work_get(lua_State *L) {
  work *w = check_work(L);
  bool after_task = lua_toboolean(L, 2);
  tl_sched_point(L, "ThreadPoolExecutor.worker", NULL);
  /* The stack is made ready before a task is taken: taken, a task must
  ** reach its future.  (Boxing the future could still fail when out of
  ** memory; a protected call per task for that was 2.6% of a task.) */
  lua_settop(L, 0); /* (the worker's Lua code holds the work) */
  luaL_checkstack(L, 4, "too many results");
  tl_deadline forever = tl_clock_forever();
  tl_wait_result r = TL_WAIT_OK;
  tl_waiting b;
  bool waited = false;
  pthread_mutex_lock(&w->mutex);
  if (after_task) w->idle++;
  if (w->head == NULL && !w->shutdown) {
    pthread_mutex_unlock(&w->mutex);
    tl_wait_begin(&b, "ThreadPoolExecutor worker", NULL);
    waited = true;
    if (tl_watch_allowed()) tl_watch(has_work, w, NULL);
    pthread_mutex_lock(&w->mutex);
    while (w->head == NULL && !w->shutdown && r == TL_WAIT_OK) r = tl_wait_cond(&w->tasks_cond, &w->mutex, &forever);
  }
  task *t = w->head;
  if (t != NULL) {
    w->head = t->next;
    if (w->head == NULL) w->tail = NULL;
    publish(w);
  }
  pthread_mutex_unlock(&w->mutex);
  if (waited) tl_wait_end(&b);
  if (t == NULL) {
    tl_wait_check(L, r); /* (a run of threading.check aborted) */
    return 0;            /* shut down and drained */
  }
  tl_blob *call = t->call;
  tl_object *future = t->future;
  free(t);
  tl_object_push_new(L, future);
  lua_pushcfunction(L, decode_call);
  lua_pushlightuserdata(L, call);
  bool ok = lua_pcall(L, 1, LUA_MULTRET, 0) == LUA_OK; /* the blob is freed either way */
  lua_pushboolean(L, ok);
  lua_insert(L, 2);
  return lua_gettop(L);
}

/* --- kinds and the constructor --------------------------------------------------- */

static const luaL_Reg executor_methods[] = {
    {"_put", executor_put},
    {"_start_failed", executor_start_failed},
    {"_work", executor_work},
    {"_shutdown", executor_shutdown},
    {"_wait_workers", executor_wait_workers},
    {"__tostring", executor_tostring},
    {NULL, NULL},
};

static const tl_kind executor_kind = {
    .name = "ThreadPoolExecutor",
    .destroy = executor_destroy,
    .methods = executor_methods,
    .getfield = executor_getfield,
    .lua_methods = "threading.executor",
};

static const luaL_Reg work_methods[] = {
    {"_get", work_get},
    {"_worker_begin", work_worker_begin},
    {"_worker_end", work_worker_end},
    {NULL, NULL},
};

static const tl_kind work_kind = {
    .name = "_ExecutorWork",
    .destroy = work_destroy,
    .methods = work_methods,
};

static int new_executor(lua_State *L) {
  lua_Integer max = luaL_checkinteger(L, 1);
  const char *prefix = luaL_checkstring(L, 2);
  luaL_argcheck(L, max > 0 && max <= 1 << 20, 1, "max_workers out of range");
  work *w = calloc(1, sizeof *w);
  executor *x = calloc(1, sizeof *x);
  char *copy = strdup(prefix);
  if (w == NULL || x == NULL || copy == NULL) {
    free(w);
    free(x);
    free(copy);
    return luaL_error(L, "not enough memory");
  }
  tl_object_init(&w->obj, &work_kind); /* the executor's reference */
  tl_mutex_init(&w->mutex);
  tl_clock_cond_init(&w->tasks_cond);
  tl_clock_cond_init(&w->exit_cond);
  w->max_workers = (int)max;
  w->prefix = copy;
  pthread_mutex_lock(&all.mutex);
  w->next = all.list;
  if (all.list) all.list->prev = w;
  all.list = w;
  pthread_mutex_unlock(&all.mutex);
  tl_object_init(&x->obj, &executor_kind);
  x->work = w;
  tl_object_push_new(L, &x->obj);
  return 1;
}

static int executor_is(lua_State *L) {
  lua_pushboolean(L, tl_object_test(L, 1, &executor_kind) != NULL);
  return 1;
}

void tl_executor_shutdown_all(void) {
  pthread_once(&all_once, init_all);
  atomic_store(&finalizing, true);
  pthread_mutex_lock(&all.mutex);
  for (work *w = all.list; w != NULL; w = w->next) shut_down(w);
  pthread_mutex_unlock(&all.mutex);
  if (atomic_load(&live_workers) == 0) return;
  tl_deadline forever = tl_clock_forever();
  tl_wait_result r = TL_WAIT_OK;
  tl_waiting b;
  tl_wait_begin(&b, "ThreadPoolExecutor shutdown at exit", NULL);
  pthread_mutex_lock(&all.mutex);
  while (atomic_load(&live_workers) > 0 && r == TL_WAIT_OK) r = tl_wait_cond(&all.cond, &all.mutex, &forever);
  pthread_mutex_unlock(&all.mutex);
  tl_wait_end(&b); /* (an interrupt stops the wait: the process ends) */
}

void tl_executor_open(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"_executor", new_executor},
      {"_executor_is", executor_is},
      {NULL, NULL},
  };
  luaL_setfuncs(L, fns, 0);
}
