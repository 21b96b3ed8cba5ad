/*
** kernel.h -- layer 1 of tlua: the per-thread record, the process-wide
** runtime, time and blocking waits, the GIL, Ctrl-C, the count of blocked
** threads and the trace log.  It knows nothing of Lua values, objects or
** kinds (Thread, Lock...): the layers above call it, never the reverse.
**
** The layers, bottom up (docs/design.md draws them; each folder of src/
** is one, and the build links each with only the ones below it):
**   kernel  state  value  kinds  tools  module  host
**
** Locking rules that hold everywhere (each file repeats the ones it uses):
**  1. The GIL (gil.c) is the outermost lock.  Nobody waits for the GIL while
**     holding any other lock: blocking calls release the GIL first, then
**     take the object's mutex.
**  2. Object mutexes are leaf locks.  No Lua API call that can allocate,
**     run a metamethod or raise an error is made while one is held (the GC
**     may run finalizers, i.e. arbitrary Lua code, at any allocation).
**  3. A blob may be built or decoded only with no mutex held (rule 2).
**  4. The tools (deadlock report, SIGQUIT dump) nest three locks, in this
**     order only: the runtime mutex (walking the threads), the list of
**     tracked objects, an object's own mutex (its 'describe').  Nothing
**     else takes two of them, and no one waits holding them.
**  5. What a watch (watch.c) reads without an object's mutex is an atomic
**     copy written with that mutex held; every decision is made again
**     under the mutex once the watch ends.
** The kernel's own mutexes (the runtime's, a record's, the GIL's internal
** one, the blocked count's) are leaves too, except where a file says so.
*/
#ifndef TLUA_KERNEL_H
#define TLUA_KERNEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <time.h>

#include "lua.h"

#define TL_VERSION "0.2.0"
#define TL_MODNAME "threading"

/* ------------------------------------------------------------------ */
/* The per-thread record (tstate.c)                                    */
/* ------------------------------------------------------------------ */

/* What a thread's wall time is spent on, for --stats (the shares). */
enum {
  TL_SHARE_LUA,      /* running Lua (holding the GIL when it is on) */
  TL_SHARE_GIL_WAIT, /* waiting for the GIL */
  TL_SHARE_BLOCKED,  /* blocked on a primitive, a join, blocking I/O... */
  TL_SHARE_SLEEP,    /* sleeping */
  TL_SHARES
};

/* GIL statistics of one thread (written by that thread only). */
typedef struct tl_tstate_stats {
  atomic_long gil_acquisitions;
  atomic_long gil_forced_switches; /* times this thread was made to drop it */
  atomic_llong gil_wait_ns;        /* time spent waiting for the GIL */
  atomic_llong gil_hold_ns;        /* time spent holding it */
  atomic_llong cpu_ns;             /* CPU time, set when the thread ends */
  atomic_llong cpu_start_ns;       /* its OS thread's CPU clock at bind (OS threads are reused) */
  /* --stats: wall time per share, counted at each state change (trace.c,
  ** tl_tstate_count) while counting is on; 'share' is the current one
  ** (TL_SHARES + 1 once ended, 0 before the first change: shares are
  ** stored plus one) since 'since_ns'. */
  atomic_llong share_ns[TL_SHARES];
  atomic_ullong first_ns, since_ns, end_ns;
  atomic_int share;
} tl_tstate_stats;

/* One OS thread that runs Lua for tlua: the main thread, or one started
** by a Thread object (its 'owner', opaque here).  Reference counted: the
** thread itself, its owner and the locks it holds keep it alive, so a
** record outlives its thread and is never confused with a later one. */
typedef struct tl_tstate {
  atomic_int refs;
  pthread_mutex_t mutex;     /* guards 'name' */
  char *name;                /* malloc'd copy of the owner's name */
  bool is_main;
  bool daemon;               /* fixed before the thread starts */
  lua_Integer ident;         /* pthread_self() as an integer, set by bind */
  lua_Integer native_id;     /* the kernel's thread id, set by bind */
  void *owner;               /* the Thread object, or NULL (main, until asked for) */
  tl_tstate_stats stats;
  /* What the thread blocks on, written by the thread itself before it
  ** sets 'blocked_forever' (release), read by the deadlock watchdog after
  ** it sees the flag (acquire).  'waiting_obj' is a tl_object (value
  ** layer), opaque here. */
  const char *waiting_what;
  void *waiting_obj;
  lua_State *waiting_state;
  atomic_bool blocked_forever;
  /* Parked (wait.c): the thread is inside a wait and will not touch its
  ** Lua states until it unparks, so another thread may pin it and read
  ** 'waiting_state' meanwhile (the SIGQUIT dump).  0 running, 1 parked,
  ** 2 pinned by a reader (then unparking waits for the unpin). */
  atomic_int park;
  atomic_int trace_id;       /* trace.c: 0 until the thread's first event */
  pthread_t pthread;         /* set by bind, before 'bound' (release) */
  atomic_bool bound;
  atomic_bool ended;         /* its thread has left the runtime (runtime.c) */
  struct tl_tstate *prev, *next; /* the runtime's list of alive threads */
  struct tl_tstate *all_next;    /* --stats: every thread started, in order */
  /* sched.c: its slot while a schedule runs.  Written under the scheduler's
  ** mutex before the thread runs in the schedule and at the schedule's end,
  ** when it runs no more; read without a lock by the thread itself. */
  struct tl_sched_slot *sched;
} tl_tstate;

/* A new record, not yet bound to any OS thread (NULL on out of memory). */
tl_tstate *tl_tstate_new(const char *name, bool daemon);
void tl_tstate_incref(tl_tstate *ts);
void tl_tstate_decref(tl_tstate *ts);
/* The calling OS thread runs 'ts' with its main state L (thread-locals
** that the GIL's signal handler may read); records its ids.  unbind: it
** no longer does. */
void tl_tstate_bind(tl_tstate *ts, lua_State *L);
void tl_tstate_unbind(void);
/* The record of the calling thread (NULL for a thread tlua did not make). */
tl_tstate *tl_tstate_self(void);
bool tl_tstate_is_main(void); /* is the calling thread the main thread? */
/* The main state of the calling thread, and the state running now (a
** coroutine's while one is resumed: coroutine.c tells). */
lua_State *tl_tstate_self_state(void);
lua_State *tl_tstate_running_state(void);
/* Sets the running state (NULL: the thread's main state); returns the old. */
lua_State *tl_tstate_set_running(lua_State *L);
/* The thread's state is about to be closed: no signal handler may touch it. */
void tl_tstate_forget_state(void);
/* A malloc'd copy of the name (NULL on out of memory); renames it. */
char *tl_tstate_name(tl_tstate *ts);
bool tl_tstate_set_name(tl_tstate *ts, const char *name);
/* The calling thread parks (its Lua states left alone until it unparks),
** and unparks, waiting while a reader has it pinned.  tl_tstate_pin: if
** ts is parked, keeps it so until tl_tstate_unpin (which must follow
** soon, with no lock taken meanwhile) and returns true. */
void tl_tstate_park(void);
void tl_tstate_unpark(void);
bool tl_tstate_pin(tl_tstate *ts);
void tl_tstate_unpin(tl_tstate *ts);
/* --stats, by the thread itself: from 'now' on it spends its time on
** 'share' (a TL_SHARE_*, or -1: it has ended). */
void tl_tstate_count(tl_tstate *ts, int share, uint64_t now);
/* Forgets the shares counted so far (a schedule starts a new clock). */
void tl_tstate_count_reset(tl_tstate *ts);
/* The time of ts per share up to 'now' (or its end), into ns[TL_SHARES];
** returns its wall time (first change to end or now), 0 if never counted. */
uint64_t tl_tstate_shares(tl_tstate *ts, uint64_t now, uint64_t ns[TL_SHARES]);

/* ------------------------------------------------------------------ */
/* OS threads (osthread.c)                                             */
/* ------------------------------------------------------------------ */

/* Runs fn(arg) on an OS thread, detached: one left idle by an earlier
** thread with the same stack size (0: the system's default), or a new
** one.  Returns 0 or an error number. */
int tl_osthread_start(void *(*fn)(void *), void *arg, size_t stack_size);

/* ------------------------------------------------------------------ */
/* The runtime: which threads are alive (runtime.c)                    */
/* ------------------------------------------------------------------ */

/* Once per process, by the first state that loads the module (the host's
** main state, or stock lua's): makes the main thread's record and binds
** it, and installs the GIL's signal handler.  Returns true for that first
** call. */
bool tl_runtime_init(lua_State *mainL);
tl_tstate *tl_runtime_main(void);
void tl_runtime_add(tl_tstate *ts);    /* at start(): counts it alive */
void tl_runtime_remove(tl_tstate *ts); /* by the ending thread itself */
int tl_runtime_alive_count(void);      /* main included */
/* Calls fn for the main thread and every alive thread (start order), with
** the runtime mutex held: fn must not take it, nor call Lua. */
void tl_runtime_foreach(void (*fn)(tl_tstate *ts, void *ud), void *ud);
/* --stats: keep the record of every thread started (before any starts),
** and visit main then them, in start order, alive or ended, with the
** runtime mutex held; each record's stats.cpu_ns is brought up to date
** first (from any thread). */
void tl_runtime_keep_ended(void);
void tl_runtime_foreach_all(void (*fn)(tl_tstate *ts, void *ud), void *ud);
/* Waits (GIL released) until no non-daemon thread but the caller is alive. */
void tl_runtime_wait_non_daemon(void);
/* The process is finalizing: no thread may start any more. */
void tl_runtime_finalize(void);
bool tl_runtime_finalizing(void);
size_t tl_runtime_stack_size(void);
void tl_runtime_set_stack_size(size_t size);

/* ------------------------------------------------------------------ */
/* Time (clock.c)                                                      */
/* ------------------------------------------------------------------ */

/* The largest timeout, in seconds: Python's threading.TIMEOUT_MAX on a
** 64-bit Linux.  A wait with a larger one fails with TL_WAIT_OVERFLOW
** when it would block (Python's OverflowError). */
#define TL_TIMEOUT_MAX 9223372036.0

double tl_clock_monotonic(void); /* seconds, CLOCK_MONOTONIC (or virtual) */
long long tl_clock_now_ns(void);  /* the same in nanoseconds (traces) */
/* A deadline: 'infinite' or an absolute CLOCK_MONOTONIC time; 'overflow'
** (and infinite) when made from more than TL_TIMEOUT_MAX seconds. */
typedef struct tl_deadline {
  bool infinite;
  bool overflow;
  struct timespec at;
} tl_deadline;
tl_deadline tl_clock_deadline(double seconds);       /* seconds < 0 or NaN: infinite */
static inline tl_deadline tl_clock_forever(void) {   /* tl_clock_deadline(-1), inline */
  return (tl_deadline){.infinite = true};
}
double tl_clock_remaining(const tl_deadline *d);      /* >= 0, or -1 if infinite */
struct timespec tl_clock_after(double seconds);       /* now + seconds */
struct timespec tl_clock_after_real(double seconds);  /* the same on the real clock, even under a schedule */
bool tl_clock_before(const struct timespec *a, const struct timespec *b);
void tl_clock_cond_init(pthread_cond_t *cond); /* a condition on CLOCK_MONOTONIC */
/* An object's mutex (wait.c): adaptive, it spins a little before sleeping,
** since the other side of a lock or an event on another core holds it for
** a few dozen instructions. */
void tl_mutex_init(pthread_mutex_t *mutex);
/* One pause of a spin-wait: tells the core that this thread is spinning
** (x86 'pause', ARM 'yield'); nothing elsewhere. */
static inline void tl_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}
/* Watching before sleeping (watch.c).  tl_watch looks at ready(ud)
** about once a microsecond, for up to TL_WATCH_SECONDS or until the
** deadline 'd' (NULL: none), on the real clock; true as soon as it is
** ready.  tl_watch_allowed: whether a wait on another Lua thread may
** watch (the GIL off, no schedule). */
#define TL_WATCH_SECONDS 16e-6
bool tl_watch(bool (*ready)(void *ud), void *ud, const tl_deadline *d);
bool tl_watch_allowed(void);
/* Virtual time (sched.c): while on, every function above reads a clock
** that only the scheduler moves, starting at 0. */
void tl_clock_set_virtual(bool on);
bool tl_clock_is_virtual(void);
void tl_clock_advance_to(long long ns); /* never backwards */
void tl_clock_tick(long long ns);

/* ------------------------------------------------------------------ */
/* Blocking waits (wait.c)                                             */
/* ------------------------------------------------------------------ */

typedef enum {
  TL_WAIT_OK = 0,
  TL_WAIT_TIMEOUT,
  TL_WAIT_INTERRUPTED, /* Ctrl-C in the main thread */
  TL_WAIT_OVERFLOW,    /* a deadline past TL_TIMEOUT_MAX */
  TL_WAIT_ABORTED,     /* threading.check aborted the run */
} tl_wait_result;

/* Waits on cond (mutex held by the caller, as pthread_cond_timedwait).
** May return TL_WAIT_OK spuriously: callers loop on their predicate.
** The caller must be inside a tl_wait_begin bracket (GIL released).
** In the main thread the wait is sliced so that Ctrl-C is noticed.  A
** deadline too far away returns TL_WAIT_OVERFLOW at once. */
tl_wait_result tl_wait_cond(pthread_cond_t *cond, pthread_mutex_t *mutex, const tl_deadline *d);

/* Waits on cond without a timeout and without noticing Ctrl-C (the
** lock taken back by Condition.wait); marks the thread blocked.  False
** only when a deterministic run was aborted meanwhile: the caller gives
** up (what it waits for may never come). */
bool tl_wait_cond_uninterruptible(pthread_cond_t *cond, pthread_mutex_t *mutex);
/* pthread_cond_signal / broadcast for every condition tl_wait_cond waits
** on (under a schedule, the scheduler wakes its blocked threads). */
void tl_wait_signal(pthread_cond_t *cond);
void tl_wait_broadcast(pthread_cond_t *cond);

/* The bracket around a blocking region: releases the GIL and records what
** the thread waits for ('what': a static string; 'obj': the tl_object
** waited for, or NULL), for traces and deadlock reports.  tl_wait_end
** takes the GIL back. */
typedef struct tl_waiting {
  bool had_gil;
} tl_waiting;
void tl_wait_begin(tl_waiting *w, const char *what, void *obj);
void tl_wait_end(tl_waiting *w);
/* After tl_wait_end: raises "interrupted!" (Ctrl-C), "OverflowError:
** timeout value is too large" or the aborted run's error if r says so. */
void tl_wait_check(lua_State *L, tl_wait_result r);
/* threading.sleep(seconds) body (seconds >= 0); raises on interrupt. */
void tl_wait_sleep(lua_State *L, double seconds);

/* ------------------------------------------------------------------ */
/* Ctrl-C (interrupt.c)                                                */
/* ------------------------------------------------------------------ */

void tl_interrupt_install(lua_State *mainL); /* SIGINT -> interrupt main thread */
bool tl_interrupt_pending(void);             /* in the main thread: Ctrl-C seen */
void tl_interrupt_clear(void);
/* After the Lua code that Ctrl-C interrupts has returned: a SIGINT now
** ends the process (lua.c's signal(SIGINT, SIG_DFL)). */
void tl_interrupt_restore(void);
/* A SIGINT that ends the process writes one byte ('I') to fd instead,
** once (the tools write their outputs, then end it); -1: it kills. */
void tl_interrupt_set_fatal_fd(int fd);

/* ------------------------------------------------------------------ */
/* Threads blocked for good (blocked.c), for the deadlock watchdog     */
/* ------------------------------------------------------------------ */

void tl_blocked_set_enabled(bool on);
bool tl_blocked_enabled(void);
/* tl_wait_cond: this thread now waits with no timeout. */
void tl_blocked_mark(void);
/* tl_wait_end: this thread runs again (progress). */
void tl_blocked_unmark(void);
/* The runtime: a thread started; one ended (the others may now all be
** blocked). */
void tl_blocked_note_start(void);
void tl_blocked_note_exit(void);
/* For the watchdog (tools/deadlock.c): waits until every alive thread is
** marked; the progress count; whether all are marked now. */
void tl_blocked_await_all(void);
unsigned long tl_blocked_progress(void);
bool tl_blocked_all(void);
/* The watchdog runs: suspicions are raised from now on. */
void tl_blocked_watch(void);

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
  /* Not states: the user's events (threading.trace) and counters, named
  ** by their detail. */
  TL_TRACE_MARK,       /* an instant */
  TL_TRACE_SPAN_BEGIN, /* a span of the user's, nested in the thread */
  TL_TRACE_SPAN_END,
  TL_TRACE_COUNTER,    /* a value: the user's, or a queue's size */
} tl_trace_state;

bool tl_trace_on(void);
/* Are state changes wanted at all: tracing, or counting the shares of
** --stats?  (Callers that must compute the detail check it first.) */
bool tl_trace_wanted(void);
/* Records a state change of the calling thread (a branch when off), in
** the trace and in the thread's shares. */
void tl_trace_event(tl_trace_state state, const char *detail);
/* --stats: count every thread's shares from now on (the caller runs Lua). */
void tl_trace_count(void);
uint64_t tl_trace_now_ns(void); /* the clock of events and shares */
void tl_trace_start(void);
void tl_trace_stop(void); /* at the end of the run: no more events */
/* A name events may carry: a copy of s[0..len) kept as long as the trace
** (the same text gives the same copy); NULL on out of memory. */
const char *tl_trace_name(const char *s, size_t len);
/* Records a mark, span begin or end, or counter (kind) named 'name' (from
** tl_trace_name) for the calling thread, when tracing. */
void tl_trace_user(tl_trace_state kind, const char *name, double value);
/* Starts the trace again from nothing (a schedule begins: the clock is
** virtual from now on).  Only while one thread is alive. */
void tl_trace_restart(void);
int tl_trace_push_events(lua_State *L); /* threading._trace_events() */

/* ------------------------------------------------------------------ */
/* The GIL (gil.c)                                                     */
/* ------------------------------------------------------------------ */

typedef enum {
  TL_GIL_OFF = 0, /* threads run Lua in parallel */
  TL_GIL_NEW,     /* CPython >= 3.2: drop requests after a switch interval */
  TL_GIL_LEGACY,  /* CPython <= 3.1: release and re-take every N ticks */
  TL_GIL_SCHED,   /* the deterministic scheduler holds the baton (sched.c) */
} tl_gil_mode;

#define TL_GIL_SIGNAL SIGURG /* asks the holder to drop it; ignored by default */

/* Process-wide figures (threading.gil_stats()). */
typedef struct tl_gil_stats {
  long acquisitions, contended, forced_switches, drop_requests;
  long voluntary_releases; /* released to block, sleep or do I/O */
  long checks, check_releases, check_switches; /* legacy GIL */
  long handoffs;           /* released with waiters, then taken by one */
  long long wait_ns, hold_ns, handoff_ns, handoff_max_ns;
} tl_gil_stats;

void tl_gil_init(void);
tl_gil_mode tl_gil_get_mode(void);
bool tl_gil_enabled(void);              /* new or legacy */
/* Acquire/release for the calling thread (no-ops while the GIL is off).
** Acquiring records "running" in the trace; a caller that releases has
** recorded the thread's next state first. */
void tl_gil_acquire(void);
void tl_gil_release(void);
/* Takes the GIL if it is on; either way the thread now runs Lua. */
void tl_gil_enter(void);
/* The thread stops running Lua for good (it ends). */
void tl_gil_leave(void);
bool tl_gil_held(void);                 /* does this thread hold it? */
/* Sets the mode; only while one thread is alive (callers check). */
void tl_gil_set_mode(tl_gil_mode mode);
void tl_gil_set_enabled(bool on);       /* new GIL or off */
void tl_gil_set_interval(double seconds);
double tl_gil_interval(void);
void tl_gil_set_check_interval(long ticks);
long tl_gil_check_interval(void);
tl_gil_stats tl_gil_get_stats(void);
/* At a switch point (switchpoint.c): drop the GIL if asked to (new GIL),
** or the legacy GIL's periodic release. */
void tl_gil_forced_switch(void);
void tl_gil_legacy_check(void);

/* ------------------------------------------------------------------ */
/* Switch points (switchpoint.c)                                       */
/* ------------------------------------------------------------------ */

typedef enum {
  TL_SWITCHPOINTS_CPYTHON = 0, /* backward jumps, Lua function entry, after a C call */
  TL_SWITCHPOINTS_LINE,        /* any new line, as tlua 0.1 did */
} tl_switchpoints;

void tl_switchpoint_install(void); /* the TL_GIL_SIGNAL handler */
void tl_switchpoint_set_mode(tl_switchpoints mode);
tl_switchpoints tl_switchpoint_mode(void);
/* A state about to run Lua in this thread: the legacy GIL's count hook
** when it is on, the scheduler's preemption hook under a schedule with
** another thread alive (and neither otherwise). */
void tl_switchpoint_prepare_state(lua_State *L);

/* ------------------------------------------------------------------ */
/* The deterministic scheduler (sched.c)                               */
/* ------------------------------------------------------------------ */

typedef enum { TL_SCHED_OFF = 0, TL_SCHED_RANDOM, TL_SCHED_PCT, TL_SCHED_RR } tl_sched_kind;

typedef struct tl_sched_config {
  tl_sched_kind kind;
  uint64_t seed;
  int depth;      /* pct: 1 + the number of priority change points (default 3) */
  long horizon;   /* pct: the steps change points fall in (0: by the seed) */
  long quantum;   /* preemption at every Nth switch point in Lua code (1) */
} tl_sched_config;

typedef struct tl_sched_slot tl_sched_slot;

/* "random[:SEED]", "pct[:SEED[:DEPTH[:HORIZON]]]", "rr"; false if bad. */
bool tl_sched_parse(const char *spec, tl_sched_config *cfg);
/* -X quantum=N: preempt at every Nth switch point (this schedule's and the
** next ones'). */
void tl_sched_set_quantum(long n);
void tl_sched_format(const tl_sched_config *cfg, char *buf, size_t size);
bool tl_sched_active(void);
/* The calling thread (the only one alive) starts a schedule, and runs;
** false if one runs already.  Called by the two below, which switch the
** GIL's mode around the schedule (gil.c). */
bool tl_sched_begin(const tl_sched_config *cfg);
void tl_sched_end(void);
/* What a thread waits for (its record's waiting_what) while another has
** the scheduler's baton: its turn. */
#define TL_SCHED_TURN "turn"
/* Starts a schedule: the GIL's mode is TL_GIL_SCHED until
** tl_gil_schedule_end puts back the mode before.  Call these, not the
** two above. */
bool tl_gil_schedule_begin(const tl_sched_config *cfg);
void tl_gil_schedule_end(void);
void tl_sched_describe(char *buf, size_t size); /* the running schedule, as parsed */
void tl_sched_set_log(FILE *f);                  /* a line per context switch */
/* Called (outside any lock) when every thread is blocked for good; if it
** returns, the run is aborted. */
void tl_sched_set_deadlock_handler(void (*fn)(void *ud), void *ud);
void tl_sched_set_replay(const char *text);      /* how to replay this run */
void tl_sched_get_replay(char *buf, size_t size);
long tl_sched_steps(void);
/* The seeds of the calling thread's math.random under a schedule (from
** the schedule's seed and the thread's creation number); false if none. */
bool tl_sched_random_seed(lua_Integer *x, lua_Integer *y);
/* The runtime: a thread starts (READY) -- it runs only when picked. */
void tl_sched_register(tl_tstate *ts);
void tl_sched_enter(void);  /* the new thread waits for its first turn */
void tl_sched_exit(void);   /* the running thread ends: the turn goes on */
void tl_sched_cancel(tl_tstate *ts); /* a registered thread that could not start */
int tl_sched_live_count(void); /* registered threads not ended */
/* Schedule points: a threading operation ('what', optional 'detail'),
** and a switch point in Lua code (switchpoint.c's hook).  Raise when the
** run is being aborted. */
void tl_sched_point(lua_State *L, const char *what, const char *detail);
void tl_sched_preempt(lua_State *L);
/* tl_wait_cond under a schedule: the thread blocks on 'cond' ('mutex' is
** released meanwhile, as pthread_cond_wait does) until woken, timed out
** on the virtual clock, or aborted. */
tl_wait_result tl_sched_block(const void *cond, const tl_deadline *d, pthread_mutex_t *mutex);
void tl_sched_wake(const void *cond, bool all);
/* threading.check's end of a run: are other threads left?  Fail them
** all; run the others until they have ended. */
bool tl_sched_others_alive(void);
void tl_sched_abort(void);
void tl_sched_drain(void);

#endif
