/*
** thread.h -- the Thread object, for thread.c and timer.c (a Timer is a
** Thread that waits first).
**
** Locking: 'mutex' guards name, state, running, ident, native_id, ts,
** bound and the results; a leaf lock.  'progress' (atomic) repeats
** running and state DONE for start() and join() to watch without it.  Fields set before start() and never
** changed after (daemon once started, target, memory_limit, prelude,
** inherit, written by start() before the thread exists) need no lock;
** 'preload' is written by start() too, and freed by the thread itself
** once applied (nothing else reads it until the Thread is destroyed).
*/
#ifndef TLUA_THREAD_H
#define TLUA_THREAD_H

#include "kinds.h"

typedef enum { TL_THREAD_NEW, TL_THREAD_STARTED, TL_THREAD_DONE } tl_thread_state;
enum { TL_THREAD_RAN = 1, TL_THREAD_ENDED = 2 }; /* tl_thread.progress */

typedef struct tl_thread {
  tl_object obj;
  pthread_mutex_t mutex;
  pthread_cond_t done_cond;  /* broadcast when 'state' becomes DONE or 'running' true */
  char *name;                /* malloc'd */
  bool daemon;
  tl_thread_state state;
  bool running;              /* has begun running (start() waits for it) */
  atomic_int progress;       /* TL_THREAD_RAN once running, TL_THREAD_ENDED once DONE */
  bool bound;                /* its record is bound, its ids known (under a schedule,
                                start() waits for this only: the thread runs when picked) */
  lua_Integer ident;         /* pthread_self() as an integer, 0 before start */
  lua_Integer native_id;     /* the kernel's thread id, 0 before start */
  tl_tstate *ts;             /* its record from start() on (a reference) */
  tl_blob *target;           /* the function and its arguments */
  tl_blob *result;           /* the results, or the error value if 'failed' */
  char *traceback;           /* message and traceback if 'failed' */
  bool failed;
  size_t memory_limit;       /* bytes for its Lua state, 0: no limit */
  tl_inherit inherit;        /* from the starting state, at start(): paths, warnings */
  tl_preload *preload;       /* from the starting state, at start(): package.preload */
  /* Run in the new thread before the target (a Timer's wait); returning
  ** false skips the target; may raise.  NULL for a plain Thread. */
  bool (*prelude)(lua_State *L, struct tl_thread *t);
} tl_thread;

extern const tl_kind tl_thread_kind;

/* Reads Thread{...} or Thread(f, ...) arguments starting at 'first' and
** makes a thread of 'kind' in a zeroed block of 'size' bytes (a Timer's
** struct starts with a tl_thread). */
tl_thread *tl_thread_from_args(lua_State *L, int first, const tl_kind *kind, size_t size);
/* The kind functions a Timer shares. */
void tl_thread_destroy(tl_object *o);
int tl_thread_getfield(lua_State *L, tl_object *o, const char *key);
/* Deadlock reports: the name, and the record of the thread while it runs
** (whom a joiner waits for), with a reference. */
void tl_thread_describe(tl_object *o, char *buf, size_t size, tl_tstate **holder);
int tl_thread_setfield(lua_State *L, tl_object *o, const char *key, int validx);

#endif
