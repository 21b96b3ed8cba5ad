/*
** thread.c -- threading.Thread: an OS thread running a Lua function in a
** Lua state of its own; and the module functions about threads
** (current_thread, main_thread, enumerate, active_count, get_ident,
** get_native_id, stack_size).
**
** Thread{target=f, args={...}, name=, daemon=} or Thread(f, ...) copies the
** target and its arguments into a blob when the object is made.  start()
** makes the thread's record (kernel tl_tstate), then runs on an OS thread
** (a new one, or one an ended thread left idle: kernel/osthread.c),
** which makes a fresh state, decodes the target, calls it, and keeps its
** results (a blob) or its error (a blob plus the traceback).  The thread
** then closes its state, leaves the runtime's alive list, marks itself DONE
** and wakes joiners.  The main thread's Thread object is made the first
** time somebody asks for it (main_thread(), current_thread() in the main
** thread, enumerate()), as Python's threading.py makes _MainThread.
**
** Locking: see thread.h.  'main_obj.mutex' guards the main thread's
** object; a leaf lock.  Joiners wait on 'done_cond' with the GIL released
** (kernel/wait.c).  The running thread holds one reference to its
** object, dropped as its very last action.  New threads block SIGINT
** while they are created, so Ctrl-C always lands in the main thread.
*/
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "thread.h"

/* Why a thread that never got a Lua state failed (t:result() raises it). */
static const char NO_STATE[] = "not enough memory to create the thread's Lua state";

static atomic_long thread_counter; /* for the default names "Thread-N" */
static atomic_long failed_count;   /* threads that ended with an uncaught error */

long tl_thread_failed_count(void) { return atomic_load(&failed_count); }

static tl_thread *check_thread(lua_State *L, int idx) {
  return (tl_thread *)tl_object_check(L, idx, &tl_thread_kind);
}

void tl_thread_destroy(tl_object *o) {
  tl_thread *t = (tl_thread *)o;
  tl_blob_free(t->target);
  tl_blob_free(t->result);
  tl_tstate_decref(t->ts);
  tl_state_inherit_free(&t->inherit);
  tl_preload_free(t->preload);
  free(t->traceback);
  free(t->name);
  pthread_mutex_destroy(&t->mutex);
  pthread_cond_destroy(&t->done_cond);
  free(t);
}

/* A new, not yet started thread of 'kind' in a zeroed block of 'size'
** bytes; the name may be NULL ("Thread-N").  Takes over 'target'; on out
** of memory frees it and raises. */
static tl_thread *new_thread(lua_State *L, const tl_kind *kind, size_t size, const char *name,
                             bool daemon, tl_blob *target) {
  tl_thread *t = calloc(1, size);
  char buf[32];
  if (name == NULL) {
    snprintf(buf, sizeof buf, "Thread-%ld", atomic_fetch_add(&thread_counter, 1) + 1);
    name = buf;
  }
  char *copy = t ? strdup(name) : NULL;
  if (copy == NULL) {
    free(t);
    tl_blob_free(target);
    luaL_error(L, "not enough memory");
  }
  tl_object_init(&t->obj, kind);
  tl_mutex_init(&t->mutex);
  tl_clock_cond_init(&t->done_cond);
  t->name = copy;
  t->daemon = daemon;
  t->target = target;
  t->state = TL_THREAD_NEW;
  return t;
}

/* Raises "bad argument #arg to 'Thread' (string expected for field
** 'name', got table)" for the field value on top of the stack. */
static void field_error(lua_State *L, int arg, const char *field, const char *expected) {
  luaL_argerror(L, arg, lua_pushfstring(L, "%s expected for field '%s', got %s", expected, field,
                                        luaL_typename(L, -1)));
}

static bool inherited_daemon(void) {
  tl_tstate *self = tl_tstate_self();
  return self != NULL && self->daemon;
}

tl_thread *tl_thread_from_args(lua_State *L, int first, const tl_kind *kind, size_t size) {
  const char *name = NULL;
  bool daemon = inherited_daemon();
  size_t memory_limit = 0;
  tl_blob *target;
  bool spec_form = lua_istable(L, first);
  if (spec_form && lua_getmetatable(L, first)) { /* a callable table is a target */
    lua_pop(L, 1);
    spec_form = false;
  }
  if (spec_form) {
    int spec = first;
    int base = lua_gettop(L);
    if (lua_getfield(L, spec, "name") != LUA_TNIL) {
      if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
        field_error(L, first, "name", "string");
      name = lua_tostring(L, -1);
      if (name[0] == '\0') name = NULL; /* "" gets the default name, as in Python */
    }
    if (lua_getfield(L, spec, "daemon") != LUA_TNIL) daemon = lua_toboolean(L, -1);
    if (lua_getfield(L, spec, "memory_limit") != LUA_TNIL) {
      int whole;
      lua_Integer m = lua_tointegerx(L, -1, &whole); /* 4 * 2^20 is a float, and fine */
      luaL_argcheck(L, whole && m >= 0, first, "'memory_limit' must be a non-negative integer (bytes)");
      memory_limit = (size_t)m;
    }
    lua_getfield(L, spec, "target");
    if (!lua_isnil(L, -1) && !tl_args_callable(L, -1)) field_error(L, first, "target", "function");
    int nargs = 0;
    if (lua_getfield(L, spec, "args") != LUA_TNIL) {
      if (!lua_istable(L, -1)) field_error(L, first, "args", "table");
      int args = lua_gettop(L);
      lua_Integer n = luaL_len(L, args);
      lua_getfield(L, args, "n"); /* table.pack style */
      if (lua_isinteger(L, -1)) n = lua_tointeger(L, -1);
      lua_pop(L, 1);
      if (n < 0 || n > 250) luaL_argerror(L, first, "too many arguments in 'args'");
      luaL_checkstack(L, (int)n, "too many arguments");
      for (lua_Integer i = 1; i <= n; i++) lua_geti(L, args, i);
      lua_remove(L, args);
      nargs = (int)n;
    } else {
      lua_pop(L, 1);
    }
    int tidx = lua_gettop(L) - nargs;
    if (lua_isnil(L, tidx)) {
      lua_settop(L, base);
      target = tl_blob_encode(L, 1, 0, "target");
    } else {
      target = tl_args_encode_call(L, tidx, nargs, "target");
    }
    lua_settop(L, base);
  } else {
    int top = lua_gettop(L);
    luaL_argexpected(L, tl_args_callable(L, first), first, "function or table");
    lua_settop(L, top);
    target = tl_args_encode_call(L, first, top - first, "target");
  }
  tl_thread *t = new_thread(L, kind, size, name, daemon, target);
  t->memory_limit = memory_limit;
  return t;
}

static void push_name(lua_State *L, tl_thread *t) {
  pthread_mutex_lock(&t->mutex);
  char *copy = strdup(t->name);
  pthread_mutex_unlock(&t->mutex);
  if (copy == NULL) luaL_error(L, "not enough memory");
  lua_pushstring(L, copy); /* (a memory error here would leak 'copy') */
  free(copy);
}

/* --- the main thread's object ------------------------------------------ */

static struct {
  pthread_mutex_t mutex;
  tl_thread *t;  /* made on first use, kept for the life of the process */
  bool stopped;  /* the main chunk has ended (tl_thread_shutdown) */
} main_obj = {.mutex = PTHREAD_MUTEX_INITIALIZER};

/* Pushes the main thread's Thread object, making it if need be. */
static void push_main_thread(lua_State *L) {
  tl_tstate *ts = tl_runtime_main();
  pthread_mutex_lock(&main_obj.mutex);
  tl_thread *t = main_obj.t;
  if (t == NULL) {
    char *name = tl_tstate_name(ts);
    t = calloc(1, sizeof *t);
    if (name == NULL || t == NULL) {
      pthread_mutex_unlock(&main_obj.mutex);
      free(name);
      free(t);
      luaL_error(L, "not enough memory");
    }
    tl_object_init(&t->obj, &tl_thread_kind); /* this reference: main_obj's */
    tl_mutex_init(&t->mutex);
    tl_clock_cond_init(&t->done_cond);
    t->name = name;
    t->state = main_obj.stopped ? TL_THREAD_DONE : TL_THREAD_STARTED;
    t->running = true;
    atomic_init(&t->progress, main_obj.stopped ? TL_THREAD_ENDED : TL_THREAD_RAN);
    t->ident = ts->ident;
    t->native_id = ts->native_id;
    tl_tstate_incref(ts);
    t->ts = ts;
    main_obj.t = t;
  }
  pthread_mutex_unlock(&main_obj.mutex);
  tl_object_push(L, &t->obj);
}

/* The thread has ended: joiners return. */
static void mark_done(tl_thread *t) {
  pthread_mutex_lock(&t->mutex);
  t->state = TL_THREAD_DONE;
  atomic_store_explicit(&t->progress, TL_THREAD_ENDED, memory_order_relaxed);
  tl_wait_broadcast(&t->done_cond);
  pthread_mutex_unlock(&t->mutex);
}

/* The main chunk has ended: the main thread is stopped (is_alive() is
** false, join() returns), as Python's _shutdown marks it. */
static void stop_main_thread(void) {
  pthread_mutex_lock(&main_obj.mutex);
  main_obj.stopped = true;
  tl_thread *t = main_obj.t;
  if (t != NULL) {
    mark_done(t);
  }
  pthread_mutex_unlock(&main_obj.mutex);
}

void tl_thread_shutdown(lua_State *L, bool run_atexit) {
  tl_atexit_shut_down();
  if (run_atexit) {
    tl_atexit_run(L);
    tl_executor_shutdown_all(); /* every executor still open finishes its work (Python's _python_exit) */
  }
  stop_main_thread();
  tl_runtime_wait_non_daemon();
  tl_runtime_finalize();
}

/* --- the running thread ------------------------------------------------ */

/* The thread is ready to run its target: start() may return.  (As in
** Python, start() waits for this, so a new thread has really begun when
** start() returns; with the GIL on it holds the GIL at that point.)
** Unlike mark_done, a plain broadcast: start() waits on the condition
** itself, outside the scheduler, and under -X sched tl_wait_broadcast
** would wake the joiners of this thread for nothing, a step that changes
** schedules. */
static void mark_running(tl_thread *t) {
  pthread_mutex_lock(&t->mutex);
  t->running = true;
  atomic_store_explicit(&t->progress, TL_THREAD_RAN, memory_order_relaxed);
  pthread_cond_broadcast(&t->done_cond);
  pthread_mutex_unlock(&t->mutex);
}

/* In protected mode: open the libraries, decode and call the target,
** keep its results. */
static int run_body(lua_State *L) {
  tl_thread *t = (tl_thread *)lua_touserdata(L, 1);
  lua_settop(L, 0);
  lua_gc(L, LUA_GCSTOP); /* no collection steps while the state is being set up */
  tl_state_open_thread(L);
  tl_state_inherit_apply(L, &t->inherit);
  tl_preload_apply(L, t->preload);
  /* Applied: dropped now rather than with the Thread, as its loaders may
  ** reference objects (a cycle through this Thread).  No lock: start()
  ** wrote it before this thread existed and nothing else reads it; if
  ** applying raised, tl_thread_destroy frees it. */
  tl_preload_free(t->preload);
  t->preload = NULL;
  tl_switchpoint_prepare_state(L);
  mark_running(t);
  if (t->prelude != NULL && !t->prelude(L, t)) return 0;
  lua_pushcfunction(L, tl_report_keep_traceback);
  pthread_mutex_lock(&t->mutex);
  tl_blob *target = t->target; /* dropped once decoded: no cycle through it */
  t->target = NULL;
  pthread_mutex_unlock(&t->mutex);
  int n = tl_blob_decode_release_once(L, target);
  if (n == 0) return 0; /* no target: nothing to run */
  lua_gc(L, LUA_GCRESTART);
  if (lua_pcall(L, n - 1, LUA_MULTRET, 1) != LUA_OK) return lua_error(L);
  tl_atexit_run(L);
  tl_blob *res = tl_blob_encode(L, 2, lua_gettop(L) - 1, "result");
  pthread_mutex_lock(&t->mutex);
  t->result = res;
  pthread_mutex_unlock(&t->mutex);
  return 0;
}

/* Calls threading.excepthook(info) in this thread's state (never raises
** but for memory errors: report.c). */
static void call_excepthook(lua_State *L, tl_thread *t, int errvalue, const char *tb) {
  lua_createtable(L, 0, 4);
  push_name(L, t);
  lua_setfield(L, -2, "thread_name");
  lua_pushvalue(L, errvalue);
  lua_setfield(L, -2, "error");
  lua_pushstring(L, tb);
  lua_setfield(L, -2, "traceback");
  tl_object_push(L, &t->obj);
  lua_setfield(L, -2, "thread");
  tl_report_call_excepthook(L, lua_gettop(L));
  lua_pop(L, 1);
}

static int encode_error_value(lua_State *L) {
  lua_pushlightuserdata(L, tl_blob_encode(L, 1, 1, "error"));
  return 1;
}

/* In protected mode, arguments (thread, error value): records the error
** (a copy of the value, or its text if it cannot cross) and reports it.
** The thread is marked failed already (thread_main). */
static int record_error(lua_State *L) {
  tl_thread *t = (tl_thread *)lua_touserdata(L, 1);
  tl_report_take_traceback(L);
  if (lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    tl_report_push_message(L, 2); /* (never raises but for memory) */
  }
  int tb = lua_gettop(L);
  lua_pushcfunction(L, encode_error_value);
  lua_pushvalue(L, 2);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) { /* it cannot cross: its text does */
    lua_pop(L, 1);
    lua_pushcfunction(L, encode_error_value);
    tl_report_push_message(L, 2);
    lua_call(L, 1, 1);
  }
  tl_blob *value = (tl_blob *)lua_touserdata(L, -1);
  char *traceback = strdup(lua_tostring(L, tb));
  pthread_mutex_lock(&t->mutex);
  t->result = value;
  t->traceback = traceback;
  pthread_mutex_unlock(&t->mutex);
  call_excepthook(L, t, 2, lua_tostring(L, tb));
  return 0;
}

/* Reports a failure of thread t without Lua (the name is copied under
** its mutex: another thread may rename it meanwhile). */
static void report_by_name(tl_thread *t, const char *what) {
  pthread_mutex_lock(&t->mutex);
  char *name = strdup(t->name);
  pthread_mutex_unlock(&t->mutex);
  char headline[256];
  snprintf(headline, sizeof headline, "Exception in thread %s:", name ? name : "?");
  tl_report_write(headline, what);
  free(name);
}

/* The error could not be recorded nor reported as usual (record_error
** itself failed: out of memory): says so, and what the reason was, on
** stderr and in what t:result() raises. */
static void record_failure(tl_thread *t, const char *why) {
  char text[256];
  snprintf(text, sizeof text, "(the thread failed, and its error could not be recorded: %s)",
           why ? why : "not enough memory");
  char *copy = strdup(text);
  pthread_mutex_lock(&t->mutex);
  if (t->traceback == NULL) {
    t->traceback = copy;
    copy = NULL;
  }
  pthread_mutex_unlock(&t->mutex);
  free(copy);
  report_by_name(t, text);
}

static void *thread_main(void *arg) {
  tl_thread *t = (tl_thread *)arg;
  tl_tstate *ts = t->ts;
  lua_State *L = tl_state_new_thread(t->memory_limit);
  tl_tstate_bind(ts, L);
  pthread_mutex_lock(&t->mutex);
  t->native_id = ts->native_id;
  t->ident = ts->ident; /* before any Lua code reads it */
  t->bound = true;
  pthread_cond_broadcast(&t->done_cond); /* (start() under a schedule) */
  pthread_mutex_unlock(&t->mutex);
  tl_gil_enter();
  if (L == NULL) {
    pthread_mutex_lock(&t->mutex);
    t->failed = true; /* with no result: t:result() raises NO_STATE */
    pthread_mutex_unlock(&t->mutex);
    report_by_name(t, NO_STATE);
  } else {
    lua_pushcfunction(L, run_body);
    lua_pushlightuserdata(L, t);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
      tl_state_lift_limit(L); /* reporting needs memory, even after a memory error */
      atomic_fetch_add(&failed_count, 1);
      pthread_mutex_lock(&t->mutex);
      t->failed = true; /* whatever happens next, t:result() raises */
      pthread_mutex_unlock(&t->mutex);
      lua_pushcfunction(L, record_error);
      lua_pushlightuserdata(L, t);
      lua_pushvalue(L, -3);
      if (lua_pcall(L, 2, 0, 0) != LUA_OK) record_failure(t, lua_tostring(L, -1));
    }
    tl_tstate_forget_state(); /* no GIL signal may touch it while it closes */
    tl_state_close(L);
    tl_state_inherit_apply(NULL, NULL);
  }
  /* Ended, joiners woken, and only then the GIL (or the scheduler's baton)
  ** given up, so a schedule sees the end before it picks the next thread. */
  tl_trace_event(TL_TRACE_END, NULL);
  tl_runtime_remove(ts);
  ts->owner = NULL; /* read only by this thread (current_thread) and under the runtime mutex */
  mark_done(t);
  tl_gil_leave();
  tl_tstate_unbind();
  tl_object_decref(&t->obj);
  return NULL;
}

/* What start() and join() watch for (kernel/watch.c) before they sleep,
** with the GIL off: a new thread runs within microseconds of start(),
** and one that does little ends as soon. */
static bool has_run(void *t) {
  return atomic_load_explicit(&((tl_thread *)t)->progress, memory_order_relaxed) >= TL_THREAD_RAN;
}

static bool has_ended(void *t) {
  return atomic_load_explicit(&((tl_thread *)t)->progress, memory_order_relaxed) == TL_THREAD_ENDED;
}

static void start(lua_State *L, tl_thread *t) {
  /* What the thread inherits from this state, as it is now (issue 13, #12). */
  tl_preload *preload = tl_preload_capture(L);
  tl_inherit inherit;
  if (!tl_state_inherit_capture(L, &inherit)) {
    tl_preload_free(preload);
    luaL_error(L, "not enough memory");
  }
  pthread_mutex_lock(&t->mutex);
  bool fresh = t->state == TL_THREAD_NEW && t->ts == NULL;
  if (fresh) t->state = TL_THREAD_STARTED;
  char *name = fresh ? strdup(t->name) : NULL;
  pthread_mutex_unlock(&t->mutex);
  if (fresh) { /* (a start that failed before may have left its own) */
    tl_state_inherit_free(&t->inherit);
    tl_preload_free(t->preload);
    t->inherit = inherit;
    t->preload = preload;
  } else {
    tl_state_inherit_free(&inherit);
    tl_preload_free(preload);
    tl_error(L, "RuntimeError", "threads can only be started once");
  }
  if (tl_runtime_finalizing()) {
    free(name);
    pthread_mutex_lock(&t->mutex);
    t->state = TL_THREAD_NEW;
    pthread_mutex_unlock(&t->mutex);
    tl_error(L, "RuntimeError", "can't create new thread at interpreter shutdown");
  }
  tl_tstate *ts = name ? tl_tstate_new(name, t->daemon) : NULL;
  free(name);
  if (ts != NULL && tl_tstate_is_main()) tl_hint_note_globals(L); /* hint.c */
  if (ts == NULL) {
    pthread_mutex_lock(&t->mutex);
    t->state = TL_THREAD_NEW;
    pthread_mutex_unlock(&t->mutex);
    luaL_error(L, "not enough memory");
  }
  ts->owner = &t->obj;
  pthread_mutex_lock(&t->mutex);
  t->ts = ts; /* the object's reference */
  pthread_mutex_unlock(&t->mutex);
  /* The new thread must not take Ctrl-C: block SIGINT while creating it
  ** (an OS thread kept from an earlier thread has it blocked already). */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  tl_object_incref(&t->obj); /* the running thread's reference */
  tl_runtime_add(ts);
  int rc = tl_osthread_start(thread_main, t, tl_runtime_stack_size());
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    tl_sched_cancel(ts);
    tl_runtime_remove(ts);
    pthread_mutex_lock(&t->mutex);
    t->state = TL_THREAD_NEW;
    t->ts = NULL;
    pthread_mutex_unlock(&t->mutex);
    tl_tstate_decref(ts);
    tl_object_decref(&t->obj);
    tl_error(L, "RuntimeError", "can't start new thread (%s)", strerror(rc));
  }
  /* Wait until the thread runs (or has already ended), GIL released.
  ** Under a schedule it runs only when picked: wait until it is bound. */
  bool scheduled = tl_sched_active();
  tl_waiting w;
  tl_wait_begin(&w, "start", &t->obj);
  if (tl_watch_allowed()) tl_watch(has_run, t, NULL);
  pthread_mutex_lock(&t->mutex);
  while (!(scheduled ? t->bound : t->running) && t->state != TL_THREAD_DONE) {
    pthread_cond_wait(&t->done_cond, &t->mutex); /* short: no interrupt slicing needed */
  }
  pthread_mutex_unlock(&t->mutex);
  tl_wait_end(&w);
  tl_sched_point(L, "Thread.start", NULL);
}

/* --- methods ---------------------------------------------------------- */

static int thread_start(lua_State *L) {
  start(L, check_thread(L, 1));
  lua_settop(L, 1);
  return 1;
}

static int thread_join(lua_State *L) {
  tl_thread *t = check_thread(L, 1);
  tl_deadline d = tl_args_timeout(L, 2);
  tl_sched_point(L, "Thread.join", NULL);
  pthread_mutex_lock(&t->mutex);
  tl_thread_state st = t->state;
  bool self = t->ts != NULL && t->ts == tl_tstate_self();
  pthread_mutex_unlock(&t->mutex);
  if (self) return tl_error(L, "RuntimeError", "cannot join current thread");
  if (st == TL_THREAD_NEW) return tl_error(L, "RuntimeError", "cannot join thread before it is started");
  tl_waiting w;
  tl_wait_begin(&w, "join", &t->obj);
  if (tl_watch_allowed()) tl_watch(has_ended, t, &d);
  tl_wait_result r = TL_WAIT_OK;
  pthread_mutex_lock(&t->mutex);
  while (t->state != TL_THREAD_DONE && r == TL_WAIT_OK) r = tl_wait_cond(&t->done_cond, &t->mutex, &d);
  bool done = t->state == TL_THREAD_DONE;
  pthread_mutex_unlock(&t->mutex);
  tl_wait_end(&w);
  if (!done) tl_wait_check(L, r);
  lua_pushboolean(L, done);
  return 1;
}

static int thread_is_alive(lua_State *L) {
  tl_thread *t = check_thread(L, 1);
  tl_sched_point(L, "Thread.is_alive", NULL);
  pthread_mutex_lock(&t->mutex);
  bool alive = t->state == TL_THREAD_STARTED;
  pthread_mutex_unlock(&t->mutex);
  lua_pushboolean(L, alive);
  return 1;
}

/* t:result() -> the target's results, or raises its error. */
static int thread_result(lua_State *L) {
  tl_thread *t = check_thread(L, 1);
  pthread_mutex_lock(&t->mutex);
  tl_thread_state st = t->state;
  tl_blob *res = t->result;
  if (res) tl_blob_incref(res);
  bool failed = t->failed;
  char *tb = (failed && t->traceback) ? strdup(t->traceback) : NULL;
  pthread_mutex_unlock(&t->mutex);
  if (st != TL_THREAD_DONE) {
    tl_blob_free(res);
    free(tb);
    return tl_error(L, "RuntimeError", "thread has not finished (join it first)");
  }
  lua_settop(L, 0);
  if (tb != NULL) { /* on the stack, so that a raising decode cannot leak it */
    lua_pushstring(L, tb);
    free(tb);
  }
  if (res == NULL) { /* nothing returned, or failed without a state (or a record) */
    if (!failed) return 0;
    if (lua_gettop(L) == 0) lua_pushstring(L, NO_STATE);
    return lua_error(L);
  }
  int n = tl_blob_decode_release(L, res); /* (frees it, even if decoding raises) */
  if (!failed) return n;
  /* A string error is raised as its message plus traceback. */
  if (lua_type(L, -1) == LUA_TSTRING && lua_gettop(L) == 2) lua_settop(L, 1);
  return lua_error(L);
}

static int thread_tostring(lua_State *L) {
  tl_thread *t = check_thread(L, 1);
  pthread_mutex_lock(&t->mutex);
  const char *st = t->state == TL_THREAD_NEW ? "initial" : t->state == TL_THREAD_DONE ? "stopped" : "started";
  bool daemon = t->daemon;
  lua_Integer ident = t->ident;
  pthread_mutex_unlock(&t->mutex);
  push_name(L, t);
  const char *kind = t->obj.kind->name;
  if (ident) lua_pushfstring(L, "%s(%s, %s%s %I)", kind, lua_tostring(L, -1), st, daemon ? " daemon" : "", ident);
  else lua_pushfstring(L, "%s(%s, %s%s)", kind, lua_tostring(L, -1), st, daemon ? " daemon" : "");
  return 1;
}

int tl_thread_getfield(lua_State *L, tl_object *o, const char *key) {
  tl_thread *t = (tl_thread *)o;
  if (strcmp(key, "name") == 0) {
    push_name(L, t);
    return 1;
  }
  pthread_mutex_lock(&t->mutex);
  lua_Integer ident = t->ident, native = t->native_id;
  bool daemon = t->daemon;
  pthread_mutex_unlock(&t->mutex);
  if (strcmp(key, "daemon") == 0) lua_pushboolean(L, daemon);
  else if (strcmp(key, "ident") == 0) ident ? lua_pushinteger(L, ident) : lua_pushnil(L);
  else if (strcmp(key, "native_id") == 0) native ? lua_pushinteger(L, native) : lua_pushnil(L);
  else return 0;
  return 1;
}

int tl_thread_setfield(lua_State *L, tl_object *o, const char *key, int v) {
  tl_thread *t = (tl_thread *)o;
  if (strcmp(key, "name") == 0) {
    const char *name = luaL_tolstring(L, v, NULL);
    char *copy = strdup(name);
    if (copy == NULL) return luaL_error(L, "not enough memory");
    pthread_mutex_lock(&t->mutex);
    free(t->name);
    t->name = copy;
    tl_tstate *ts = t->ts;
    bool renamed = ts == NULL || tl_tstate_set_name(ts, name); /* (its record's mutex: a leaf) */
    pthread_mutex_unlock(&t->mutex);
    if (!renamed) return luaL_error(L, "not enough memory");
    return 1;
  }
  if (strcmp(key, "daemon") == 0) {
    pthread_mutex_lock(&t->mutex);
    bool ok = t->state == TL_THREAD_NEW;
    if (ok) t->daemon = lua_toboolean(L, v);
    pthread_mutex_unlock(&t->mutex);
    if (!ok) return tl_error(L, "RuntimeError", "cannot set daemon status of active thread");
    return 1;
  }
  return 0;
}

/* For deadlock reports: "worker" and, while it runs, its record (the
** thread a joiner waits for), with a reference. */
void tl_thread_describe(tl_object *o, char *buf, size_t size, tl_tstate **holder) {
  tl_thread *t = (tl_thread *)o;
  pthread_mutex_lock(&t->mutex);
  snprintf(buf, size, "%s", t->name);
  *holder = t->state == TL_THREAD_STARTED ? t->ts : NULL;
  if (*holder) tl_tstate_incref(*holder);
  pthread_mutex_unlock(&t->mutex);
}

static const luaL_Reg thread_methods[] = {
    {"start", thread_start},
    {"join", thread_join},
    {"is_alive", thread_is_alive},
    {"result", thread_result},
    {"__tostring", thread_tostring},
    {NULL, NULL},
};

const tl_kind tl_thread_kind = {
    .name = "Thread",
    .destroy = tl_thread_destroy,
    .methods = thread_methods,
    .getfield = tl_thread_getfield,
    .setfield = tl_thread_setfield,
    .describe = tl_thread_describe,
    .untracked = true,
};

/* --- module functions --------------------------------------------------- */

static int new_thread_fn(lua_State *L) {
  tl_object_push_new(L, &tl_thread_from_args(L, 1, &tl_thread_kind, sizeof(tl_thread))->obj);
  return 1;
}

static int current_thread(lua_State *L) {
  tl_tstate *ts = tl_tstate_self();
  if (ts == NULL) return luaL_error(L, "threading: this OS thread is not known to tlua");
  if (ts->is_main) push_main_thread(L);
  else tl_object_push(L, (tl_object *)ts->owner);
  return 1;
}

static int main_thread(lua_State *L) {
  push_main_thread(L);
  return 1;
}

/* The alive threads' objects, each with a reference (main first). */
typedef struct alive_list {
  tl_object **items;
  int n, cap;
  tl_object *main;
} alive_list;

static void collect_alive(tl_tstate *ts, void *ud) {
  alive_list *a = (alive_list *)ud;
  tl_object *o = ts->is_main ? a->main : (tl_object *)ts->owner;
  if (o == NULL || a->n == a->cap) return;
  tl_object_incref(o);
  a->items[a->n++] = o;
}

static int enumerate(lua_State *L) {
  push_main_thread(L); /* made before the list is read (no allocation under its mutex) */
  alive_list a = {NULL, 0, tl_runtime_alive_count() + 16, tl_object_test(L, -1, NULL)};
  lua_pop(L, 1);
  a.items = malloc(sizeof *a.items * (size_t)a.cap);
  if (a.items == NULL) return luaL_error(L, "not enough memory");
  tl_runtime_foreach(collect_alive, &a); /* (threads started meanwhile past 'cap' are left out) */
  lua_createtable(L, a.n, 0);
  for (int i = 0; i < a.n; i++) {
    tl_object_push_new(L, a.items[i]);
    lua_rawseti(L, -2, i + 1);
  }
  free(a.items);
  return 1;
}

static int active_count(lua_State *L) {
  lua_pushinteger(L, tl_runtime_alive_count());
  return 1;
}

static int get_ident(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)(uintptr_t)pthread_self());
  return 1;
}

static int get_native_id(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)syscall(SYS_gettid));
  return 1;
}

/* The smallest stack a thread gets.  Lua stops nested C calls at its
** C-stack limit (LUAI_MAXCCALLS, 200 levels, a tenth more for error
** handlers), with "C stack overflow"; the stack must hold that many
** levels of the C function with the largest frame.  Measured (issue 13,
** #5; string.gsub callbacks, __tostring through string.format or print,
** table.concat through __index, error handlers, a value copied 200 levels
** deep at the bottom): up to 464 KiB, 592 KiB under AddressSanitizer,
** 1.2 MiB under ThreadSanitizer (its runtime's own frames).  The floor
** doubles the worst, for C modules with larger frames. */
#if defined(__SANITIZE_THREAD__)
#define STACK_FLOOR ((lua_Integer)2 << 20)
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STACK_FLOOR ((lua_Integer)2 << 20)
#endif
#endif
#ifndef STACK_FLOOR
#define STACK_FLOOR ((lua_Integer)1 << 20)
#endif

/* stack_size([size]): Python's range (0, or 32 KiB up to 2^40 here); a
** size below the floor is rounded up to it (and reported so). */
static int stack_size(lua_State *L) {
  size_t old = tl_runtime_stack_size();
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer size = luaL_checkinteger(L, 1);
    if (size != 0 && (size < 32768 || size > ((lua_Integer)1 << 40)))
      return tl_error(L, "ValueError", "size not valid: %I bytes (0, or 32768 to 2^40)", size);
    if (size != 0 && size < STACK_FLOOR) size = STACK_FLOOR;
    tl_runtime_set_stack_size((size_t)size);
  }
  lua_pushinteger(L, (lua_Integer)old);
  return 1;
}

void tl_thread_open(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"Thread", new_thread_fn},
      {"current_thread", current_thread},
      {"main_thread", main_thread},
      {"enumerate", enumerate},
      {"active_count", active_count},
      {"get_ident", get_ident},
      {"get_native_id", get_native_id},
      {"stack_size", stack_size},
      {NULL, NULL},
  };
  luaL_setfuncs(L, fns, 0);
}
