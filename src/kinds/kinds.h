/*
** kinds.h -- layer 4 of tlua: the kinds of threading objects (one file
** each: Thread, Timer, Lock, RLock, Condition, Semaphore, Event, Barrier,
** the queues, Future, shared tables and threading.atomic) and what they
** share: argument checks, Python's errors and a call encoded to send
** (args.c), the table form of constructors and objects' names (spec.c),
** the hint about globals (hint.c), error reports on stderr and the
** excepthook (report.c), holding a lock for a scope (context.c), a
** thread's package.preload (preload.c), and the functions a thread runs
** when its work ends (atexit.c).  ThreadPoolExecutor's C core is
** executor.c.
**
** It calls the layers below (value, state, kernel).  Locking: every object
** has its own mutex, a leaf lock (kernel.h rules 1-3); each file states
** what its mutex guards, and which atomic copies of its fields a waiter
** watches without it (rule 5).
*/
#ifndef TLUA_KINDS_H
#define TLUA_KINDS_H

#include "../value/value.h"

/* --- arguments and errors (args.c) ---------------------------------- */


/* Raises "<exception>: <message>" with the caller's position, as
** luaL_error does ("RuntimeError: release unlocked lock"); fmt NULL: the
** exception's name alone ("TimeoutError"). */
int tl_error(lua_State *L, const char *exception, const char *fmt, ...);
/* A function, or a value with a __call metamethod. */
bool tl_args_callable(lua_State *L, int idx);
void tl_args_check_callable(lua_State *L, int idx); /* else "function expected" */
/* One parser per Python signature, each into a deadline:
**   lock:      acquire(blocking=true, timeout=-1)      Lock, RLock, Condition
**   semaphore: acquire(blocking=true, timeout=None)    Semaphore
**   queue:     put/get(block=true, timeout=None)       the queues
** Each returns 'blocking' (false: try once); a non-blocking call gets a
** deadline of 0. */
bool tl_args_lock_timeout(lua_State *L, int idx, tl_deadline *d);
bool tl_args_semaphore_timeout(lua_State *L, int idx, tl_deadline *d);
bool tl_args_queue_timeout(lua_State *L, int idx, tl_deadline *d);
/*   timeout=None: nil waits forever, a negative number is 0             join,
**   wait, result, exception... */
tl_deadline tl_args_timeout(lua_State *L, int idx);
/* A number that is not NaN ("ValueError: <what> must not be NaN"). */
double tl_args_number(lua_State *L, int idx, const char *what);
/* Raises the OverflowError of a timeout (or sleep length: 'what') above
** TL_TIMEOUT_MAX; returns t.  (Python's Lock.acquire and time.sleep check
** at once; its other waits only when they would block: a deadline then
** fails the wait, kernel/wait.c.) */
double tl_args_check_overflow(lua_State *L, double t, const char *what);
/* Encodes the function at idx and the nargs values after it, numbered as
** the user counts them (args[1]...); an error in the function itself,
** which the numbering calls args[0], is reported under 'fname'
** ("target: cannot send...", Thread; "f...", the executor's submit). */
tl_blob *tl_args_encode_call(lua_State *L, int idx, int nargs, const char *fname);

/* --- the table form of constructors, and names (spec.c) --------------- */

/* Kind{field = ..., name = ...}: if argument 1 is a plain table, replaces
** the arguments with its fields, in the order of 'fields' (NULL-ended),
** nil where absent, and puts the table after them (at #fields + 1);
** raises on an unknown field or a 'name' that is not a string.  Returns
** whether it did. */
bool tl_spec_unpack(lua_State *L, const char *const fields[]);
/* The label of a new object (tl_object_set_label): the 'name' of the
** table at index spec (0: none) in quotes, else "created at FILE:LINE"
** of the nearest Lua caller; malloc'd, NULL if neither. */
char *tl_spec_label(lua_State *L, int spec);

/* --- the hint about globals (hint.c) ---------------------------------- */

/* The main thread starts a thread: note the names of its globals. */
void tl_hint_note_globals(lua_State *L);
/* If the error message at idx says "a nil value (global 'X')" in a thread
** other than the main one, and X is a global of the main state, appends
** the hint to it (in place); returns whether it did. */
bool tl_hint_add(lua_State *L, int idx);
void tl_hint_open(lua_State *L); /* threading._hint(msg) */

/* --- reports on stderr, the excepthook (report.c) --------------------- */

/* Writes "headline\ntext\n" to stderr in one piece (GIL released). */
void tl_report_write(const char *headline, const char *text);
/* tl_report_write of the error message on top of the stack, popped. */
void tl_report_top(lua_State *L, const char *headline);
/* Pushes the message of the error value at idx: the string, its
** __tostring, or "(error object is a X value)" (also when __tostring
** raises or gives no string: only a memory error can escape). */
const char *tl_report_push_message(lua_State *L, int idx);
/* Message handlers for lua_pcall.  traceback: returns message plus
** traceback.  keep_traceback: returns the error value untouched and keeps
** message plus traceback for tl_report_take_traceback (so both survive
** the unwinding). */
int tl_report_traceback(lua_State *L);
int tl_report_keep_traceback(lua_State *L);
/* Pushes the traceback kept by keep_traceback (or nil), forgetting it. */
void tl_report_take_traceback(lua_State *L);
/* threading.excepthook: pushes it (a function), or sets it from idx
** (nil: the default hook, which calls tl_report_write). */
void tl_report_push_excepthook(lua_State *L);
void tl_report_set_excepthook(lua_State *L, int idx);
/* Calls threading.excepthook(info table at idx) in protected mode: a hook
** that raises is reported ("Exception in threading.excepthook:" and its
** traceback); one that cannot be received in this state is reported with
** the reason, and the default hook reports the error instead.  Raises
** only memory errors. */
void tl_report_call_excepthook(lua_State *L, int info);
/* threading.check: while capturing, reports are kept (in order) instead of
** written; take returns them (malloc'd, NULL if none) and stops. */
void tl_report_capture(void);
char *tl_report_take_captured(void);

/* --- a thread's package.preload (preload.c) --------------------------- */

/* The loaders of L's package.preload that can be sent (NULL: none); raises
** only memory errors.  apply decodes them into the new state's
** package.preload (those it cannot receive are left out). */
typedef struct tl_preload tl_preload;
tl_preload *tl_preload_capture(lua_State *L);
void tl_preload_apply(lua_State *L, const tl_preload *p);
void tl_preload_free(tl_preload *p);

/* --- a thread's end of work (atexit.c) -------------------------------- */

/* threading._register_atexit(fn) (a lua_CFunction), and running them:
** once, last registered first, each in protected mode (errors reported;
** tl_atexit_run never raises).  After tl_atexit_shut_down, registering
** raises RuntimeError. */
int tl_atexit_register(lua_State *L);
void tl_atexit_run(lua_State *L);
void tl_atexit_shut_down(void);

/* --- the end of the process (thread.c) --------------------------------- */

/* How many threads have ended with an uncaught error, ever. */
long tl_thread_failed_count(void);

/* Python's threading._shutdown, at the end of the main chunk (L: the main
** state): no more atexit registrations, the main thread's atexit
** callbacks (if 'run_atexit'), the main thread marked stopped (its
** joiners return), the wait for every non-daemon thread; then threads can
** no longer be started ("can't create new thread at interpreter
** shutdown").  Never raises. */
void tl_thread_shutdown(lua_State *L, bool run_atexit);
/* Every executor still open is shut down, and its queued tasks finish: no
** new task anywhere after this (executor.c).  Waits with the GIL released. */
void tl_executor_shutdown_all(void);

/* --- the kinds: each adds its constructors to the table on top ---------- */

void tl_thread_open(lua_State *L);
void tl_timer_open(lua_State *L);
void tl_shared_open(lua_State *L);
void tl_atomic_open(lua_State *L); /* threading.atomic (atomic.c) */
void tl_lock_open(lua_State *L);
void tl_rlock_open(lua_State *L);
void tl_condition_open(lua_State *L);
void tl_semaphore_open(lua_State *L);
void tl_event_open(lua_State *L);
void tl_barrier_open(lua_State *L);
void tl_queue_open(lua_State *L);
void tl_future_open(lua_State *L);
void tl_executor_open(lua_State *L);
/* Is 'o' a Future? (future.c) */
bool tl_future_is(const tl_object *o);

/* Methods every lock-like kind lists: obj:with(fn, ...) and obj:hold().
** They call the object's own "acquire" and "release" methods (context.c). */
int tl_context_with(lua_State *L);
int tl_context_hold(lua_State *L);

#endif
