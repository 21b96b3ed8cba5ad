/*
** tlua.h -- the internal interface shared by every C file of tlua.
**
** tlua runs one lua_State per OS thread.  States never touch each other:
** everything that crosses between threads is either *copied* (a "blob",
** see transfer.c) or is a reference-counted C object (a "tl_object", see
** object.c) that every state reaches through a small userdata box.
**
** Locking rules that hold everywhere (each file repeats the ones it uses):
**  1. The GIL (gil.c) is the outermost lock.  Nobody waits for the GIL while
**     holding any other lock: blocking calls release the GIL first, then
**     take the object's mutex.
**  2. Object mutexes are leaf locks.  No Lua API call that can allocate,
**     run a metamethod or raise an error is made while one is held (the GC
**     may run finalizers, i.e. arbitrary Lua code, at any allocation).
**  3. A blob may be built or decoded only with no mutex held (rule 2).
*/
#ifndef TLUA_H
#define TLUA_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "lua.h"
#include "lauxlib.h"

#define TL_VERSION "0.1.0"
#define TL_MODNAME "threading"

/* ------------------------------------------------------------------ */
/* Objects shared by reference (object.c)                              */
/* ------------------------------------------------------------------ */

typedef struct tl_object tl_object;
struct tl_thread;

/* Describes one kind of shared object (Lock, Queue, Thread...). */
typedef struct tl_kind {
  const char *name;              /* "Lock": also the metatable name "threading.Lock" */
  void (*destroy)(tl_object *o); /* frees the object; called with no lock held */
  const luaL_Reg *methods;       /* methods and metamethods (__tostring...) */
  /* Optional: field access for userdata (t.name...).  Called after the
  ** method lookup failed; pushes a value and returns 1, or returns 0. */
  int (*getfield)(lua_State *L, tl_object *o, const char *key);
  /* Optional: t.key = value; returns 1 if handled, else raises. */
  int (*setfield)(lua_State *L, tl_object *o, const char *key, int validx);
  /* Optional, for deadlock reports (deadlock.c): writes a short
  ** description ("Lock 0x5581...") and the thread that holds the object,
  ** if any (no reference taken).  Called with no lock held; takes only
  ** the object's own mutex.  Kinds that have it are tracked while alive. */
  void (*describe)(tl_object *o, char *buf, size_t size, struct tl_thread **holder);
} tl_kind;

struct tl_object {
  const tl_kind *kind;
  atomic_long refs;
};

/* Initialises the header with one reference (held by the caller). */
void tl_object_init(tl_object *o, const tl_kind *kind);
void tl_object_incref(tl_object *o);
void tl_object_decref(tl_object *o);
/* Pushes the box for 'o' in L (one box per object per state, so '=='
** and table keys work); takes a new reference for the box. */
void tl_push_object(lua_State *L, tl_object *o);
/* Same, but steals the caller's reference. */
void tl_push_new_object(lua_State *L, tl_object *o);
/* Argument checks: the object at idx, of this kind, or a clear error. */
tl_object *tl_check_object(lua_State *L, int idx, const tl_kind *kind);
tl_object *tl_test_object(lua_State *L, int idx, const tl_kind *kind);
/* Any threading object (NULL if the value is not one). */
tl_object *tl_to_any_object(lua_State *L, int idx);
/* Live object count by kind name, for leak checks (threading._objects()). */
long tl_object_live_count(void);

/* ------------------------------------------------------------------ */
/* Value transfer (transfer.c)                                         */
/* ------------------------------------------------------------------ */

/* An immutable, self-contained copy of some Lua values.  Owns a reference
** to every tl_object it mentions.  Reference counted so that several
** readers can decode the same blob (shared tables, futures). */
typedef struct tl_blob tl_blob;

/* Encodes the n values at L[first..first+n-1].  'what' names the root of
** the values in error messages ("args", "item", ...); for n > 1 the
** values are called what[1], what[2], ...  On failure raises a Lua error
** such as "args[2].conn: cannot send userdata" (nothing is leaked). */
tl_blob *tl_blob_encode(lua_State *L, int first, int n, const char *what);
/* Pushes the values; returns how many.  Raises on failure (e.g. a module
** an upvalue needs cannot be required in this state). */
int tl_blob_decode(lua_State *L, const tl_blob *b);
/* Same, then drops the caller's reference to b, also when decoding raises
** (for a reference taken under a mutex just to read the blob). */
int tl_blob_decode_release(lua_State *L, tl_blob *b);
/* Same, for values a state receives once (a thread's target and its
** arguments): closed functions are not kept for reuse. */
int tl_blob_decode_release_once(lua_State *L, tl_blob *b);
int tl_blob_count(const tl_blob *b);     /* number of values */
size_t tl_blob_size(const tl_blob *b);   /* bytes, for statistics */
void tl_blob_incref(tl_blob *b);
void tl_blob_free(tl_blob *b);           /* drops one reference */
/* Compares the encodings of two blobs byte by byte (shared-table keys). */
bool tl_blob_equal(const tl_blob *a, const tl_blob *b);
uint64_t tl_blob_hash(const tl_blob *b);
/* As tl_blob_encode, but the values are always numbered, the first one
** what[first_index]: Thread(f, a, b) encodes f, a, b as args[0], args[1],
** args[2], so that errors name the arguments as the user counts them. */
tl_blob *tl_blob_encode_numbered(lua_State *L, int first, int n, const char *what,
                                 int first_index);

/* ------------------------------------------------------------------ */
/* Time and blocking waits (wait.c)                                    */
/* ------------------------------------------------------------------ */

double tl_monotonic(void);                  /* seconds, CLOCK_MONOTONIC */
/* A deadline: 'infinite' or an absolute CLOCK_MONOTONIC time. */
typedef struct tl_deadline {
  bool infinite;
  struct timespec at;
} tl_deadline;
tl_deadline tl_deadline_after(double seconds); /* seconds < 0: infinite */
double tl_deadline_remaining(const tl_deadline *d); /* >= 0, or -1 if infinite */

/* Python-style (blocking=true, timeout=-1) arguments at idx, idx+1 into a
** deadline.  Returns false for a non-blocking call.  Errors as Python:
** "ValueError: can't specify a timeout for a non-blocking call",
** "ValueError: timeout value must be a non-negative number". */
bool tl_check_blocking_timeout(lua_State *L, int idx, tl_deadline *d);
/* An optional timeout in seconds at idx (nil: infinite; negative: 0). */
tl_deadline tl_opt_timeout(lua_State *L, int idx);

typedef enum { TL_WAIT_OK = 0, TL_WAIT_TIMEOUT, TL_WAIT_INTERRUPTED } tl_wait_result;

/* Waits on cond (mutex held by the caller, as pthread_cond_timedwait).
** May return TL_WAIT_OK spuriously: callers loop on their predicate.
** The caller must already have released the GIL (tl_blocking_begin).
** In the main thread the wait is sliced so that Ctrl-C is noticed. */
tl_wait_result tl_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex,
                            const tl_deadline *d);
void tl_cond_init(pthread_cond_t *cond); /* a CLOCK_MONOTONIC condition */

/* Bracket for a blocking region: releases the GIL and records what the
** thread waits for ('what' is a static or object-owned description used
** by traces and deadlock reports).  tl_blocking_end re-acquires the GIL. */
typedef struct tl_blocking {
  bool had_gil;
} tl_blocking;
void tl_blocking_begin(tl_blocking *b, const char *what);
/* The same, naming the object waited for (deadlock reports, traces). */
void tl_blocking_begin_on(tl_blocking *b, const char *what, tl_object *obj);
void tl_blocking_end(tl_blocking *b);
/* After tl_blocking_end: raises "interrupted!" if r says so. */
void tl_check_interrupt(lua_State *L, tl_wait_result r);

/* threading.sleep(seconds) body; raises on interrupt. */
void tl_sleep(lua_State *L, double seconds);

/* ------------------------------------------------------------------ */
/* Ctrl-C (interrupt.c)                                                */
/* ------------------------------------------------------------------ */

void tl_interrupt_install(lua_State *mainL); /* SIGINT -> interrupt main thread */
bool tl_interrupt_pending(void);             /* in the main thread: Ctrl-C seen */
void tl_interrupt_clear(void);

/* ------------------------------------------------------------------ */
/* Deadlock detection (deadlock.c)                                     */
/* ------------------------------------------------------------------ */

/* Starts the watchdog thread once, unless disabled (-X deadlock=off,
** TLUA_DEADLOCK=0). */
void tl_deadlock_start(void);
void tl_deadlock_set_enabled(bool on);
/* tl_cond_wait: this thread now waits with no timeout. */
void tl_deadlock_note_blocked(void);
/* tl_blocking_end: this thread runs again (progress). */
void tl_deadlock_note_unblocked(void);
/* A thread ended: the others may now all be blocked. */
void tl_deadlock_note_exit(void);
/* Objects with a 'describe' are tracked while alive (object.c). */
void tl_deadlock_track(tl_object *o);
void tl_deadlock_untrack(tl_object *o);

/* ------------------------------------------------------------------ */
/* Timelines for --trace (trace.c)                                     */
/* ------------------------------------------------------------------ */

typedef enum {
  TL_TRACE_NAME = 1, /* detail: the thread's name (first event of a thread) */
  TL_TRACE_RUN,      /* runs Lua (holds the GIL when it is on) */
  TL_TRACE_GIL_WAIT, /* waits for the GIL */
  TL_TRACE_BLOCKED,  /* detail: what it blocks on ("Lock", "join"...) */
  TL_TRACE_SLEEP,
  TL_TRACE_FORCED,   /* an instant: made to drop the GIL */
  TL_TRACE_END,      /* the thread ended */
} tl_trace_state;

bool tl_trace_on(void);
/* Records a state change of the calling thread (a branch when off). */
void tl_trace(tl_trace_state state, const char *detail);
void tl_trace_start(void);
int tl_trace_push_events(lua_State *L); /* threading._trace_events() */

/* ------------------------------------------------------------------ */
/* The GIL (gil.c)                                                     */
/* ------------------------------------------------------------------ */

bool tl_gil_enabled(void);
/* Acquire/release for the calling thread (no-ops while the GIL is off). */
void tl_gil_acquire(void);
void tl_gil_release(void);
bool tl_gil_held(void);                 /* does this thread hold it? */
/* Turns it on or off; only while one thread is alive (caller checks). */
void tl_gil_set_enabled(bool on);
void tl_gil_set_interval(double seconds);
double tl_gil_interval(void);
void tl_gil_install_signal(void);       /* the forced-switch signal handler */
void tl_gil_push_stats(lua_State *L);   /* threading.gil_stats() table */
/* coroutine.resume/wrap that tell the GIL which state runs (gil.c). */
void tl_gil_open_coroutines(lua_State *L);          /* if coroutine is open */
void tl_gil_wrap_coroutine_lib(lua_State *L, int idx); /* the table at idx */

/* ------------------------------------------------------------------ */
/* Threads and the runtime (runtime.c, thread.c)                       */
/* ------------------------------------------------------------------ */

typedef struct tl_thread tl_thread;

/* Per-thread GIL statistics (written only by the owning thread). */
typedef struct tl_thread_stats {
  atomic_long gil_acquisitions;
  atomic_long gil_forced_switches;     /* times this thread was made to drop it */
  atomic_llong gil_wait_ns;             /* time spent waiting for the GIL */
  atomic_llong cpu_ns;                  /* CPU time, set when the thread ends */
} tl_thread_stats;

/* The record of the calling thread (NULL for a thread tlua did not make
** and that never called into the module). */
tl_thread *tl_self(void);
/* The lua_State the calling thread runs (its main state). */
lua_State *tl_self_state(void);
tl_thread_stats *tl_self_stats(void);

/* The calling thread's state is about to be closed: from now on the GIL's
** signal handler and the interrupt check must not touch it. */
void tl_runtime_forget_state(void);
/* Runtime initialisation: once per process, from the first state that
** loads the module (the host's main state, or stock lua's). */
/* Returns true for the first call in the process (the main thread). */
bool tl_runtime_init(lua_State *mainL);
bool tl_runtime_is_main_thread(void);
/* Opens the standard libraries, the blocking-I/O wrappers and makes
** 'threading' requirable (the main state). */
void tl_open_state(lua_State *L);
/* The same for a new thread's state, leaner: the base library now, the
** other built-in modules when first used (state.c). */
void tl_open_thread_state(lua_State *L);
/* Pushes this state's module 'name': package.loaded[name], else a
** built-in (standard library, threading) opened now, else require(name). */
void tl_state_require(lua_State *L, const char *name);
/* Creates a fresh state for a new thread (NULL on out of memory). */
lua_State *tl_new_state(void);
/* The same with a cap on its memory in bytes (0: none); close it with
** tl_close_state.  tl_state_lift_limit removes the cap (to report). */
lua_State *tl_new_state_limited(size_t limit);
void tl_state_lift_limit(lua_State *L);
void tl_close_state(lua_State *L);
/* Lua warnings (warn()) to stderr, off until "@on" as in lua.c. */
void tl_state_setwarnf(lua_State *L, bool on);
/* Waits (GIL released) until no non-daemon thread but the caller is alive. */
void tl_runtime_wait_non_daemon(void);
/* --stats: keep the figures of ended threads, print them all at exit. */
void tl_runtime_keep_stats(void);
void tl_runtime_print_stats(FILE *f);
int tl_runtime_alive_count(void);
/* Pushes the excepthook of this process into L (a function). */
void tl_runtime_push_excepthook(lua_State *L);
void tl_runtime_set_excepthook(lua_State *L, int idx);
/* Prints "Exception in thread NAME:" plus traceback on stderr, whole. */
void tl_report_thread_error(const char *name, const char *traceback);

/* Writes the buffer to f in one piece (stdio lock held), releasing the GIL. */
void tl_write_whole(FILE *f, const char *s, size_t len);

/* ------------------------------------------------------------------ */
/* Module parts: each file adds its functions to the table on top.     */
/* ------------------------------------------------------------------ */

int luaopen_threading(lua_State *L);
void tl_open_thread(lua_State *L);
void tl_open_timer(lua_State *L);
void tl_open_shared(lua_State *L);
void tl_open_lock(lua_State *L);
void tl_open_rlock(lua_State *L);
void tl_open_condition(lua_State *L);
void tl_open_semaphore(lua_State *L);
void tl_open_event(lua_State *L);
void tl_open_barrier(lua_State *L);
void tl_open_queue(lua_State *L);
void tl_open_future(lua_State *L);
void tl_open_blocking_io(lua_State *L); /* wraps print, and io/os if open */
void tl_wrap_io_lib(lua_State *L, int idx); /* the io table at idx */
void tl_wrap_os_lib(lua_State *L, int idx); /* the os table at idx */
void tl_open_lua_parts(lua_State *L);   /* package.preload of lua/ files */
/* Runs (once) the functions given to threading._register_atexit in L. */
void tl_run_atexit(lua_State *L);

/* Methods every lock-like kind lists: obj:with(fn, ...) and obj:hold().
** They call the object's own "acquire" and "release" methods (context.c). */
int tl_ctx_with(lua_State *L);
int tl_ctx_hold(lua_State *L);

/* Raises "RuntimeError: ..." style errors with the position. */
int tl_error(lua_State *L, const char *exc, const char *fmt, ...);

#endif
