/*
** thread.h -- the Thread object, shared by thread.c, timer.c and runtime.c.
**
** Locking: 'mutex' guards name, state, results and the timer fields; the
** runtime mutex (runtime.c) guards the alive list links.  Order: the
** runtime mutex may be taken before a thread's mutex, never after.
** Fields set before start() and never changed after (daemon once
** started, is_main, target) need no lock.
*/
#ifndef TLUA_THREAD_H
#define TLUA_THREAD_H

#include "tlua.h"

typedef enum { TL_THREAD_NEW, TL_THREAD_STARTED, TL_THREAD_DONE } tl_thread_state;

struct tl_thread {
  tl_object obj;
  pthread_mutex_t mutex;
  pthread_cond_t done_cond;  /* broadcast when state becomes DONE */
  char *name;                /* malloc'd */
  bool daemon;
  bool is_main;
  tl_thread_state state;
  bool running;              /* has begun running (start() waits for it) */
  lua_Integer ident;         /* pthread_self() as an integer, 0 before start */
  lua_Integer native_id;     /* the kernel's thread id, 0 before start */
  tl_blob *target;           /* the function and its arguments */
  tl_blob *result;           /* the results, or the error value if 'failed' */
  char *traceback;           /* message and traceback if 'failed' */
  bool failed;
  size_t memory_limit;       /* bytes for its Lua state, 0: no limit */
  /* Timer (timer.c): waits 'interval' on done_cond unless cancelled. */
  bool is_timer;
  bool cancelled;
  double interval;
  pthread_t pthread;
  tl_thread_stats stats;
  /* What the thread blocks on, written by the thread itself before it
  ** sets 'blocked_forever' (release), read by the deadlock watchdog after
  ** it sees the flag (acquire). */
  const char *waiting_what;
  tl_object *waiting_obj;
  lua_State *waiting_state;
  atomic_bool blocked_forever;
  atomic_int trace_id;       /* trace.c: 0 until the thread's first event */
  tl_thread *prev, *next;    /* the runtime's list of alive threads */
};

extern const tl_kind tl_thread_kind;
tl_thread *tl_check_thread(lua_State *L, int idx);
int tl_timer_cancel(lua_State *L); /* timer.c: t:cancel() */

/* Makes a new, not yet started thread; the name may be NULL ("Thread-N"). */
tl_thread *tl_thread_new(lua_State *L, const char *name, bool daemon, tl_blob *target);
/* Reads Thread{...} or Thread(f, ...) arguments starting at 'first' and
** makes the thread (used by Thread and Timer). */
tl_thread *tl_thread_from_args(lua_State *L, int first);
/* start(): raises if already started or pthread_create fails. */
void tl_thread_start(lua_State *L, tl_thread *t);
/* Copies the name into a Lua string (under the thread's mutex). */
void tl_thread_push_name(lua_State *L, tl_thread *t);

/* runtime.c: registration of running threads. */
tl_thread *tl_runtime_main_thread(void);
void tl_runtime_add(tl_thread *t);    /* at start(): counts it alive */
void tl_runtime_remove(tl_thread *t); /* at the end of its run */
void tl_runtime_bind_self(tl_thread *t, lua_State *L); /* thread-locals */
/* Calls fn for the main thread and every alive thread, with the runtime
** mutex held (fn must not take it, nor call Lua). */
void tl_runtime_foreach(void (*fn)(tl_thread *t, void *ud), void *ud);
/* Pushes the alive threads as a list (main first). */
void tl_runtime_push_alive(lua_State *L);
bool tl_runtime_inherited_daemon(void);
size_t tl_runtime_stack_size(void);
void tl_runtime_set_stack_size(size_t size);

#endif
