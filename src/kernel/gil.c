/*
** gil.c -- the switchable global interpreter lock.
**
** Lua states in tlua are independent, so tlua needs no GIL for memory
** safety.  The GIL exists to *reproduce* CPython's scheduling: when it is
** on, at most one thread runs Lua code at any instant.  It is off by
** default; -X gil=1 (TLUA_GIL=1, threading.set_gil(true)) turns on the GIL
** of CPython >= 3.2, -X gil=legacy the one of CPython <= 3.1.
**
** The new GIL follows CPython's Python/ceval_gil.c:
**
**  - A thread that wants the GIL while another holds it waits on 'cond'
**    for at most one switch interval (default 5 ms).  If the interval
**    passes and no switch happened meanwhile, it sets 'drop_request' and
**    asks the holder to give the GIL up: it sends the holder's OS thread
**    TL_GIL_SIGNAL, whose handler arms a one-shot hook (switchpoint.c) that
**    calls tl_gil_forced_switch at the holder's next switch point (the
**    places where CPython checks its "eval breaker").  With no contention
**    no signal is sent and no hook is set: the single-threaded cost is 0.
**
**  - Forced switching: a holder that dropped the GIL on request waits
**    until another thread has actually taken it ('switch_number' changed)
**    before competing again; otherwise it would often win it straight
**    back and the waiter would starve (CPython's FORCE_SWITCHING).
**
** The legacy GIL is CPython 3.1's: every 'check interval' ticks (counted
** here in Lua VM instructions by a count hook, switchpoint.c) the holder
** releases the GIL and at once competes for it again, with no drop
** request and no forced hand-off: the OS decides who gets it, and on a
** multicore machine it is usually the thread that just released it.
**
** Blocking calls (sleep, join, every primitive's wait, blocking I/O in
** io/os) release the GIL around the wait in both modes (wait.c).
**
** Statistics: process-wide under 'mutex'; per thread in the record
** (tl_tstate_stats).  Traces: a thread records "waiting for the GIL"
** before it waits and "running" only once it holds the GIL, and a holder
** records its next state (blocked, waiting) *before* it lets the GIL go,
** so a GIL-on trace never shows two threads running Lua at once.
**
** Locking: 'mutex' guards every field of 'gil' except the atomics.  The
** GIL is the outermost lock of tlua: no thread waits for it while holding
** another lock.  pthread_kill on the holder is done under 'mutex', and a
** holder cannot exit without taking 'mutex' to release the GIL, so the
** target thread is alive.  Whether the calling thread holds the GIL is
** thread-local ('holding').
*/
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "kernel.h"

static struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;        /* signalled when the GIL is released */
  pthread_cond_t switch_cond; /* broadcast when a thread takes the GIL */
  bool locked;
  pthread_t holder;
  unsigned long switch_number; /* incremented at each acquisition */
  int waiting;                 /* threads waiting for it */
  long interval_ns;
  long check_interval;         /* legacy: VM instructions between checks */
  struct timespec released_at; /* when it was last released with waiters */
  bool handoff_pending;        /* ... and nobody has taken it since */
  tl_gil_stats stats;
} gil = {
    .mutex = PTHREAD_MUTEX_INITIALIZER,
    .interval_ns = 5000000,
    .check_interval = 100,
};

static atomic_int gil_mode; /* tl_gil_mode */
static atomic_bool drop_request;
static pthread_once_t gil_once = PTHREAD_ONCE_INIT;

static _Thread_local bool holding __attribute__((tls_model("initial-exec")));
static _Thread_local struct timespec held_since;

static void gil_init_once(void) {
  tl_clock_cond_init(&gil.cond);
  tl_clock_cond_init(&gil.switch_cond);
}

tl_gil_mode tl_gil_get_mode(void) { return (tl_gil_mode)atomic_load_explicit(&gil_mode, memory_order_relaxed); }
bool tl_gil_enabled(void) { return tl_gil_get_mode() != TL_GIL_OFF; }

/* Under a schedule the baton is the GIL: a registered thread runs Lua only
** while it holds it, and keeps it in blocking calls (sched.c). */
static bool scheduled(void) { return tl_gil_get_mode() == TL_GIL_SCHED; }

bool tl_gil_held(void) {
  if (scheduled()) return tl_tstate_self() != NULL && tl_tstate_self()->sched != NULL;
  return holding;
}

static long long ns_between(const struct timespec *t0, const struct timespec *t1) {
  return (long long)(t1->tv_sec - t0->tv_sec) * 1000000000LL + (t1->tv_nsec - t0->tv_nsec);
}

static struct timespec interval_from_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_nsec += gil.interval_ns % 1000000000L;
  ts.tv_sec += gil.interval_ns / 1000000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

/* Takes the GIL; 'mutex' is held by the caller.  The new GIL asks the
** holder to drop it after an interval; the legacy one just waits. */
static void take_locked(void) {
  tl_tstate *self = tl_tstate_self();
  if (gil.locked) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    gil.stats.contended++;
    gil.waiting++;
    tl_trace_event(TL_TRACE_GIL_WAIT, NULL);
    while (gil.locked) {
      if (tl_gil_get_mode() == TL_GIL_LEGACY) {
        pthread_cond_wait(&gil.cond, &gil.mutex);
        continue;
      }
      unsigned long saved = gil.switch_number;
      struct timespec until = interval_from_now();
      int rc = pthread_cond_timedwait(&gil.cond, &gil.mutex, &until);
      if (rc == ETIMEDOUT && gil.locked && gil.switch_number == saved) {
        /* A whole interval without a switch: ask the holder to drop it. */
        atomic_store(&drop_request, true);
        gil.stats.drop_requests++;
        pthread_kill(gil.holder, TL_GIL_SIGNAL);
      }
    }
    gil.waiting--;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long waited = ns_between(&t0, &t1);
    gil.stats.wait_ns += waited;
    if (self != NULL) atomic_fetch_add_explicit(&self->stats.gil_wait_ns, waited, memory_order_relaxed);
  }
  gil.locked = true;
  gil.holder = pthread_self();
  gil.switch_number++;
  gil.stats.acquisitions++;
  clock_gettime(CLOCK_MONOTONIC, &held_since);
  if (gil.handoff_pending) { /* taken by a waiter after a release */
    long long latency = ns_between(&gil.released_at, &held_since);
    gil.stats.handoffs++;
    gil.stats.handoff_ns += latency;
    if (latency > gil.stats.handoff_max_ns) gil.stats.handoff_max_ns = latency;
    gil.handoff_pending = false;
  }
  atomic_store(&drop_request, false);
  pthread_cond_broadcast(&gil.switch_cond);
  holding = true;
  if (self != NULL) atomic_fetch_add_explicit(&self->stats.gil_acquisitions, 1, memory_order_relaxed);
  tl_trace_event(TL_TRACE_RUN, NULL);
}

/* Releases the GIL; 'mutex' is held.  The caller has recorded the
** thread's next state in the trace. */
static void drop_locked(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long long held = ns_between(&held_since, &now);
  gil.stats.hold_ns += held;
  tl_tstate *self = tl_tstate_self();
  if (self != NULL) atomic_fetch_add_explicit(&self->stats.gil_hold_ns, held, memory_order_relaxed);
  if (gil.waiting > 0 && !gil.handoff_pending) {
    gil.released_at = now;
    gil.handoff_pending = true;
  }
  gil.locked = false;
  holding = false;
  pthread_cond_signal(&gil.cond);
}

void tl_gil_acquire(void) {
  if (scheduled()) {
    tl_sched_enter(); /* (at once, unless the thread has not had a turn yet) */
    tl_trace_event(TL_TRACE_RUN, NULL);
    return;
  }
  if (!tl_gil_enabled() || holding) return;
  pthread_mutex_lock(&gil.mutex);
  take_locked();
  pthread_mutex_unlock(&gil.mutex);
}

void tl_gil_release(void) {
  if (scheduled() || !holding) return;
  pthread_mutex_lock(&gil.mutex);
  gil.stats.voluntary_releases++;
  drop_locked();
  pthread_mutex_unlock(&gil.mutex);
}

void tl_gil_enter(void) {
  if (tl_gil_enabled()) tl_gil_acquire();
  else tl_trace_event(TL_TRACE_RUN, NULL);
}

void tl_gil_leave(void) {
  if (scheduled()) tl_sched_exit();
  else tl_gil_release();
}

void tl_gil_forced_switch(void) {
  if (!holding || !atomic_load(&drop_request)) return;
  pthread_mutex_lock(&gil.mutex);
  if (atomic_load(&drop_request)) {
    unsigned long saved = gil.switch_number;
    tl_trace_event(TL_TRACE_FORCED, NULL);
    tl_trace_event(TL_TRACE_GIL_WAIT, NULL); /* not running from now on */
    drop_locked();
    gil.stats.forced_switches++;
    tl_tstate *self = tl_tstate_self();
    if (self != NULL) atomic_fetch_add_explicit(&self->stats.gil_forced_switches, 1, memory_order_relaxed);
    while (gil.switch_number == saved && tl_gil_enabled())
      pthread_cond_wait(&gil.switch_cond, &gil.mutex);
    take_locked();
  }
  pthread_mutex_unlock(&gil.mutex);
}

void tl_gil_legacy_check(void) {
  if (!holding || tl_gil_get_mode() != TL_GIL_LEGACY) return;
  pthread_mutex_lock(&gil.mutex);
  gil.stats.checks++;
  if (gil.waiting > 0) { /* CPython 3.1 released it at every check; with */
    unsigned long saved = gil.switch_number; /* nobody waiting, that is a no-op */
    gil.stats.check_releases++;
    tl_trace_event(TL_TRACE_GIL_WAIT, NULL);
    drop_locked();
    pthread_mutex_unlock(&gil.mutex); /* the OS decides who gets it now */
    pthread_mutex_lock(&gil.mutex);
    take_locked();
    if (gil.switch_number != saved + 1) gil.stats.check_switches++; /* another took it meanwhile */
  }
  pthread_mutex_unlock(&gil.mutex);
}

void tl_gil_init(void) { pthread_once(&gil_once, gil_init_once); }

void tl_gil_set_mode(tl_gil_mode mode) {
  tl_gil_init();
  if (mode == tl_gil_get_mode()) return;
  if (tl_gil_enabled()) tl_gil_release();
  atomic_store(&gil_mode, mode);
  if (mode != TL_GIL_OFF) tl_gil_acquire();
}

/* A schedule replaces the GIL by its baton (sched.c): the mode is off while
** the scheduler sets up or tears down, TL_GIL_SCHED while it runs, and
** what it was before afterwards.  'before_schedule' is written only with
** a single thread alive (the callers' rule for every mode change). */
static tl_gil_mode before_schedule;

bool tl_gil_schedule_begin(const tl_sched_config *cfg) {
  if (tl_sched_active()) return false;
  tl_gil_mode previous = tl_gil_get_mode();
  tl_gil_set_mode(TL_GIL_OFF);
  if (!tl_sched_begin(cfg)) {
    tl_gil_set_mode(previous);
    return false;
  }
  before_schedule = previous;
  tl_gil_set_mode(TL_GIL_SCHED);
  return true;
}

void tl_gil_schedule_end(void) {
  if (!tl_sched_active()) return;
  tl_gil_set_mode(TL_GIL_OFF);
  tl_sched_end();
  tl_gil_set_mode(before_schedule);
}

void tl_gil_set_enabled(bool on) { tl_gil_set_mode(on ? TL_GIL_NEW : TL_GIL_OFF); }

void tl_gil_set_interval(double seconds) {
  pthread_mutex_lock(&gil.mutex);
  /* (callers refuse what is out of range; this only keeps the conversion defined) */
  gil.interval_ns = !(seconds >= 1e-6) ? 1000 : seconds >= 9.2e9 ? 9200000000000000000L : (long)(seconds * 1e9);
  pthread_mutex_unlock(&gil.mutex);
}

double tl_gil_interval(void) {
  pthread_mutex_lock(&gil.mutex);
  double s = (double)gil.interval_ns * 1e-9;
  pthread_mutex_unlock(&gil.mutex);
  return s;
}

void tl_gil_set_check_interval(long ticks) {
  pthread_mutex_lock(&gil.mutex);
  gil.check_interval = ticks < 1 ? 1 : ticks;
  pthread_mutex_unlock(&gil.mutex);
}

long tl_gil_check_interval(void) {
  pthread_mutex_lock(&gil.mutex);
  long n = gil.check_interval;
  pthread_mutex_unlock(&gil.mutex);
  return n;
}

tl_gil_stats tl_gil_get_stats(void) {
  pthread_mutex_lock(&gil.mutex);
  tl_gil_stats s = gil.stats;
  pthread_mutex_unlock(&gil.mutex);
  return s;
}
