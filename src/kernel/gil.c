/*
** gil.c -- the switchable global interpreter lock.
**
** Lua states in tlua are independent, so tlua needs no GIL for memory
** safety.  The GIL exists to *reproduce* CPython's scheduling: when it is
** on, at most one thread runs Lua code at any instant.  It is off by
** default (-X gil=1 or TLUA_GIL=1 turns it on; threading.set_gil at run
** time while only one thread is alive).
**
** The design follows CPython's "new GIL" (Python/ceval_gil.c):
**
**  - A thread that wants the GIL while another holds it waits on 'cond'
**    for at most one switch interval (default 5 ms).  If the interval
**    passes and no switch happened meanwhile, it sets 'drop_request' and
**    asks the holder to give the GIL up.
**
**  - CPython's holder polls an "eval breaker" between bytecodes.  Lua has
**    no such poll, and a permanent count hook would double the cost of
**    every instruction (measured: 2.07x on a loop).  So tlua interrupts
**    the holder the way lua.c handles Ctrl-C: it sends the holder's OS
**    thread GIL_SIGNAL, whose handler sets a one-shot hook on the state
**    that thread runs.  The hook restores whatever hook was there before,
**    and drops the GIL.  It is a *line* hook, so the switch happens where
**    CPython's would: at the start of a new line, a backward jump (each
**    loop iteration) or the entry of a Lua function -- never between the
**    read and the write of `s.n = s.n + 1` written on one line, which in
**    CPython is not interrupted either (its eval breaker is checked only
**    at backward jumps and calls).  With no
**    contention no hook is ever set: the single-threaded cost is zero.
**
**  - Forced switching: a holder that dropped the GIL on request waits
**    until another thread has actually taken it ('switch_number' changed)
**    before competing again; otherwise it would often win it straight
**    back and the waiter would starve (CPython's FORCE_SWITCHING).
**
**  - Blocking calls (sleep, join, every primitive's wait, blocking I/O in
**    io/os) release the GIL around the wait (wait.c, state/blocking_io.c).
**
**  - Inside a coroutine the hook must be armed on the coroutine's state:
**    coroutine.resume and wrap tell the record which state runs
**    (state/coroutine.c, tl_tstate_set_running).
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

#define GIL_SIGNAL SIGURG /* ignored by default: harmless if it strays */

static struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;        /* signalled when the GIL is released */
  pthread_cond_t switch_cond; /* broadcast when a thread takes the GIL */
  bool locked;
  pthread_t holder;
  unsigned long switch_number; /* incremented at each acquisition */
  long interval_ns;
  /* statistics, under 'mutex' */
  long acquisitions, contended, forced_switches, drop_requests;
  long long wait_ns;
} gil = {
    .mutex = PTHREAD_MUTEX_INITIALIZER,
    .interval_ns = 5000000,
};

static atomic_bool gil_on;
static atomic_bool drop_request;
static pthread_once_t gil_once = PTHREAD_ONCE_INIT;

static _Thread_local bool holding __attribute__((tls_model("initial-exec")));

/* The hook that was set before ours, restored when ours fires. */
static _Thread_local struct {
  lua_Hook hook;
  int mask, count;
} saved_hook __attribute__((tls_model("initial-exec")));

static void gil_init_once(void) {
  tl_clock_cond_init(&gil.cond);
  tl_clock_cond_init(&gil.switch_cond);
}

bool tl_gil_enabled(void) { return atomic_load_explicit(&gil_on, memory_order_relaxed); }
bool tl_gil_held(void) { return holding; }

static long long elapsed_ns(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (long long)(t1.tv_sec - t0->tv_sec) * 1000000000LL + (t1.tv_nsec - t0->tv_nsec);
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

/* Takes the GIL; 'mutex' is held by the caller. */
static void take_locked(void) {
  if (gil.locked) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    gil.contended++;
    tl_trace_event(TL_TRACE_GIL_WAIT, NULL);
    while (gil.locked) {
      unsigned long saved = gil.switch_number;
      struct timespec until = interval_from_now();
      int rc = pthread_cond_timedwait(&gil.cond, &gil.mutex, &until);
      if (rc == ETIMEDOUT && gil.locked && gil.switch_number == saved) {
        /* A whole interval without a switch: ask the holder to drop it. */
        atomic_store(&drop_request, true);
        gil.drop_requests++;
        pthread_kill(gil.holder, GIL_SIGNAL);
      }
    }
    tl_trace_event(TL_TRACE_RUN, NULL);
    long long waited = elapsed_ns(&t0);
    gil.wait_ns += waited;
    tl_tstate *self = tl_tstate_self();
    if (self != NULL) atomic_fetch_add_explicit(&self->stats.gil_wait_ns, waited, memory_order_relaxed);
  }
  gil.locked = true;
  gil.holder = pthread_self();
  gil.switch_number++;
  gil.acquisitions++;
  atomic_store(&drop_request, false);
  pthread_cond_broadcast(&gil.switch_cond);
  holding = true;
  tl_tstate *self = tl_tstate_self();
  if (self != NULL) atomic_fetch_add_explicit(&self->stats.gil_acquisitions, 1, memory_order_relaxed);
}

static void drop_locked(void) {
  gil.locked = false;
  holding = false;
  pthread_cond_signal(&gil.cond);
}

void tl_gil_acquire(void) {
  if (!tl_gil_enabled() || holding) return;
  pthread_mutex_lock(&gil.mutex);
  take_locked();
  pthread_mutex_unlock(&gil.mutex);
}

void tl_gil_release(void) {
  if (!holding) return;
  pthread_mutex_lock(&gil.mutex);
  drop_locked();
  pthread_mutex_unlock(&gil.mutex);
}

/* The holder was asked to drop the GIL: hand it over and wait until
** somebody else has it before asking for it again. */
static void forced_switch(void) {
  if (!holding || !atomic_load(&drop_request)) return;
  pthread_mutex_lock(&gil.mutex);
  if (atomic_load(&drop_request)) {
    unsigned long saved = gil.switch_number;
    tl_trace_event(TL_TRACE_FORCED, NULL);
    drop_locked();
    gil.forced_switches++;
    tl_tstate *self = tl_tstate_self();
    if (self != NULL) atomic_fetch_add_explicit(&self->stats.gil_forced_switches, 1, memory_order_relaxed);
    while (gil.switch_number == saved && tl_gil_enabled())
      pthread_cond_wait(&gil.switch_cond, &gil.mutex);
    take_locked();
  }
  pthread_mutex_unlock(&gil.mutex);
}

static void gil_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, saved_hook.hook, saved_hook.mask, saved_hook.count);
  forced_switch();
}

/* Runs in the holder's thread: arm the one-shot hook on the state it runs. */
static void on_gil_signal(int sig) {
  (void)sig;
  int saved_errno = errno;
  lua_State *L = tl_tstate_running_state();
  if (L != NULL && lua_gethook(L) != gil_hook) {
    saved_hook.hook = lua_gethook(L);
    saved_hook.mask = lua_gethookmask(L);
    saved_hook.count = lua_gethookcount(L);
    lua_sethook(L, gil_hook, LUA_MASKLINE, 0); /* at the next safe point */
  }
  errno = saved_errno;
}

void tl_gil_install_signal(void) {
  pthread_once(&gil_once, gil_init_once);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_gil_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(GIL_SIGNAL, &sa, NULL);
}

void tl_gil_set_enabled(bool on) {
  pthread_once(&gil_once, gil_init_once);
  if (on == tl_gil_enabled()) return;
  if (on) {
    atomic_store(&gil_on, true);
    tl_gil_acquire();
  } else {
    tl_gil_release();
    atomic_store(&gil_on, false);
  }
}

void tl_gil_set_interval(double seconds) {
  pthread_mutex_lock(&gil.mutex);
  gil.interval_ns = (long)(seconds * 1e9);
  if (gil.interval_ns < 1000) gil.interval_ns = 1000;
  pthread_mutex_unlock(&gil.mutex);
}

double tl_gil_interval(void) {
  pthread_mutex_lock(&gil.mutex);
  double s = (double)gil.interval_ns * 1e-9;
  pthread_mutex_unlock(&gil.mutex);
  return s;
}

static void set_integer(lua_State *L, const char *k, long long v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, k);
}

void tl_gil_push_stats(lua_State *L) {
  pthread_mutex_lock(&gil.mutex);
  long acq = gil.acquisitions, cont = gil.contended, forced = gil.forced_switches,
       req = gil.drop_requests;
  long long wait = gil.wait_ns;
  double interval = (double)gil.interval_ns * 1e-9;
  pthread_mutex_unlock(&gil.mutex);
  lua_createtable(L, 0, 8);
  lua_pushboolean(L, tl_gil_enabled());
  lua_setfield(L, -2, "enabled");
  lua_pushnumber(L, interval);
  lua_setfield(L, -2, "switch_interval");
  set_integer(L, "acquisitions", acq);
  set_integer(L, "contended", cont);
  set_integer(L, "forced_switches", forced);
  set_integer(L, "drop_requests", req);
  lua_pushnumber(L, (double)wait * 1e-9);
  lua_setfield(L, -2, "wait_seconds");
  tl_tstate *self = tl_tstate_self();
  if (self != NULL) {
    lua_createtable(L, 0, 3);
    set_integer(L, "acquisitions", atomic_load(&self->stats.gil_acquisitions));
    set_integer(L, "forced_switches", atomic_load(&self->stats.gil_forced_switches));
    lua_pushnumber(L, (double)atomic_load(&self->stats.gil_wait_ns) * 1e-9);
    lua_setfield(L, -2, "wait_seconds");
    lua_setfield(L, -2, "thread");
  }
}
