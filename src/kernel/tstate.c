/*
** tstate.c -- the per-thread record (tl_tstate): everything the kernel
** knows of one OS thread that runs Lua for tlua.  CPython calls the same
** thing a PyThreadState.
**
** The record is made by whoever starts the thread (a Thread object's
** start(), or the runtime for the main thread) and bound by the thread
** itself to thread-locals: its record, its main lua_State and the state
** running now (a coroutine's, while one is resumed).  The thread-locals are
** initial-exec so that the GIL's and Ctrl-C's signal handlers may read
** them.
**
** It also keeps the shares of --stats: how much of its wall time the
** thread spent running Lua, waiting for the GIL, blocked and sleeping,
** counted by the thread itself at each state change (trace.c sees them
** all) and read by the stats at exit from any thread.
**
** A thread parked in a wait (wait.c) may be pinned by another, which then
** reads its Lua stack: the thread cannot unpark (and run Lua) until it is
** unpinned.
**
** Locking: 'refs' is atomic; 'mutex' guards 'name' only (a leaf lock).
** The shares are relaxed atomics written by the thread only: a reader may
** see one change half-counted, a few nanoseconds off.  The other fields
** follow the rules written beside them in kernel.h.  The
** record is freed by the last tl_tstate_decref, in whichever thread.
*/
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "kernel.h"

static _Thread_local tl_tstate *self_ts __attribute__((tls_model("initial-exec")));
static _Thread_local lua_State *self_state __attribute__((tls_model("initial-exec")));
static _Thread_local lua_State *running_state __attribute__((tls_model("initial-exec")));

tl_tstate *tl_tstate_new(const char *name, bool daemon) {
  tl_tstate *ts = calloc(1, sizeof *ts);
  char *copy = ts ? strdup(name) : NULL;
  if (copy == NULL) {
    free(ts);
    return NULL;
  }
  atomic_init(&ts->refs, 1);
  pthread_mutex_init(&ts->mutex, NULL);
  ts->name = copy;
  ts->daemon = daemon;
  return ts;
}

void tl_tstate_incref(tl_tstate *ts) { atomic_fetch_add_explicit(&ts->refs, 1, memory_order_relaxed); }

void tl_tstate_decref(tl_tstate *ts) {
  if (ts == NULL || atomic_fetch_sub_explicit(&ts->refs, 1, memory_order_acq_rel) != 1) return;
  pthread_mutex_destroy(&ts->mutex);
  free(ts->name);
  free(ts);
}

void tl_tstate_bind(tl_tstate *ts, lua_State *L) {
  if (ts != NULL) {
    ts->ident = (lua_Integer)(uintptr_t)pthread_self();
    ts->native_id = (lua_Integer)syscall(SYS_gettid);
    ts->pthread = pthread_self();
    struct timespec cpu;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
      atomic_store(&ts->stats.cpu_start_ns, (long long)cpu.tv_sec * 1000000000LL + cpu.tv_nsec);
    atomic_store_explicit(&ts->bound, true, memory_order_release);
  }
  self_ts = ts;
  self_state = L;
  running_state = NULL;
}

void tl_tstate_unbind(void) { tl_tstate_bind(NULL, NULL); }

tl_tstate *tl_tstate_self(void) { return self_ts; }
bool tl_tstate_is_main(void) { return self_ts != NULL && self_ts->is_main; }
lua_State *tl_tstate_self_state(void) { return self_state; }
lua_State *tl_tstate_running_state(void) { return running_state ? running_state : self_state; }

lua_State *tl_tstate_set_running(lua_State *L) {
  lua_State *old = running_state;
  running_state = L;
  return old;
}

void tl_tstate_forget_state(void) {
  self_state = NULL;
  running_state = NULL;
}

char *tl_tstate_name(tl_tstate *ts) {
  pthread_mutex_lock(&ts->mutex);
  char *copy = strdup(ts->name);
  pthread_mutex_unlock(&ts->mutex);
  return copy;
}

bool tl_tstate_set_name(tl_tstate *ts, const char *name) {
  char *copy = strdup(name);
  if (copy == NULL) return false;
  pthread_mutex_lock(&ts->mutex);
  char *old = ts->name;
  ts->name = copy;
  pthread_mutex_unlock(&ts->mutex);
  free(old);
  return true;
}

/* --- parking: a thread's states read by another (the SIGQUIT dump) ---- */

void tl_tstate_park(void) {
  if (self_ts != NULL) atomic_store_explicit(&self_ts->park, 1, memory_order_release);
}

void tl_tstate_unpark(void) {
  if (self_ts == NULL) return;
  for (;;) {
    int expected = 1;
    if (atomic_compare_exchange_weak_explicit(&self_ts->park, &expected, 0, memory_order_acquire,
                                              memory_order_relaxed) || expected == 0)
      return;
    sched_yield(); /* pinned: a reader walks this thread's stack, briefly */
  }
}

bool tl_tstate_pin(tl_tstate *ts) {
  int expected = 1;
  return atomic_compare_exchange_strong_explicit(&ts->park, &expected, 2, memory_order_acquire, memory_order_relaxed);
}

void tl_tstate_unpin(tl_tstate *ts) { atomic_store_explicit(&ts->park, 1, memory_order_release); }

/* --- the shares of --stats ------------------------------------------- */

void tl_tstate_count(tl_tstate *ts, int share, uint64_t now) {
  tl_tstate_stats *st = &ts->stats;
  int old = atomic_load_explicit(&st->share, memory_order_relaxed);
  if (old > TL_SHARES) return; /* ended */
  if (old == 0) {
    atomic_store_explicit(&st->first_ns, now, memory_order_relaxed);
  } else {
    uint64_t since = atomic_load_explicit(&st->since_ns, memory_order_relaxed);
    if (now > since) atomic_fetch_add_explicit(&st->share_ns[old - 1], (long long)(now - since), memory_order_relaxed);
  }
  if (share < 0) atomic_store_explicit(&st->end_ns, now, memory_order_relaxed);
  atomic_store_explicit(&st->since_ns, now, memory_order_relaxed);
  atomic_store_explicit(&st->share, share < 0 ? TL_SHARES + 1 : share + 1, memory_order_release);
}

void tl_tstate_count_reset(tl_tstate *ts) {
  tl_tstate_stats *st = &ts->stats;
  for (int k = 0; k < TL_SHARES; k++) atomic_store_explicit(&st->share_ns[k], 0, memory_order_relaxed);
  atomic_store_explicit(&st->share, 0, memory_order_release);
}

uint64_t tl_tstate_shares(tl_tstate *ts, uint64_t now, uint64_t ns[TL_SHARES]) {
  tl_tstate_stats *st = &ts->stats;
  int share = atomic_load_explicit(&st->share, memory_order_acquire);
  for (int k = 0; k < TL_SHARES; k++) ns[k] = (uint64_t)atomic_load_explicit(&st->share_ns[k], memory_order_relaxed);
  if (share == 0) return 0;
  uint64_t first = atomic_load_explicit(&st->first_ns, memory_order_relaxed);
  uint64_t end = share > TL_SHARES ? atomic_load_explicit(&st->end_ns, memory_order_relaxed) : now;
  if (share <= TL_SHARES) { /* the current share, still open */
    uint64_t since = atomic_load_explicit(&st->since_ns, memory_order_relaxed);
    if (now > since) ns[share - 1] += now - since;
  }
  return end > first ? end - first : 0;
}
