/*
** wait.c -- the one way tlua blocks a thread.
**
** Every blocking call of every primitive goes through the same steps:
**     tl_wait_begin(&w, "what", obj);    -- releases the GIL
**     pthread_mutex_lock(&obj->mutex);
**     while (!ready) r = tl_wait_cond(&obj->cond, &obj->mutex, &deadline);
**     pthread_mutex_unlock(&obj->mutex);
**     tl_wait_end(&w);                    -- takes the GIL back
**     tl_wait_check(L, r);                -- "interrupted!" on Ctrl-C
** so the GIL is never awaited with an object mutex held (kernel.h rule 1).
**
** Condition variables use CLOCK_MONOTONIC (tl_clock_cond_init).  In the main thread
** a wait is cut into slices of at most INTERRUPT_SLICE seconds so that
** Ctrl-C is seen even while it is blocked (signals do not wake condition
** variables); other threads sleep for the whole wait.  A wait with no
** timeout marks the thread as blocked for good (blocked.c) until it runs
** again.  Under a deterministic schedule a wait is the scheduler's
** (sched.c): the thread gives the baton on instead of sleeping in the OS,
** and signals go to the scheduler (tl_wait_signal, tl_wait_broadcast).
**
** While it waits on the condition or sleeps, the thread is parked
** (tstate.c): the SIGQUIT dump may read its Lua stack meanwhile.
**
** Locking: none of its own; the caller's mutex around tl_wait_cond.  The
** record's waiting fields are written by the thread itself before it is
** marked blocked (blocked.c publishes them).
*/
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "lauxlib.h"
#include "kernel.h"

#define INTERRUPT_SLICE 0.05

/* Two threads on two cores that meet in one object's mutex at every item
** (a producer and a consumer, a counter's Lock) hold it for a few dozen
** instructions each time.  glibc's default mutex makes the second one
** sleep in the kernel at once and the first one wake it on unlock: two
** system calls per meeting, which cost 40% of the GIL-off queue rates.
** An adaptive mutex spins a bounded while (glibc's backoff) first.  (The
** queues' ends have since moved to spin locks, spinlock.c, which a
** condition cannot wait on: these mutexes remain for the objects that
** sleep on one.) */
void tl_mutex_init(pthread_mutex_t *mutex) {
#ifdef __GLIBC__
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
  pthread_mutex_init(mutex, &attr);
  pthread_mutexattr_destroy(&attr);
#else /* (a glibc extension: elsewhere the default mutex) */
  pthread_mutex_init(mutex, NULL);
#endif
}

tl_wait_result tl_wait_cond(pthread_cond_t *cond, pthread_mutex_t *mutex, const tl_deadline *d) {
  if (d->overflow) return TL_WAIT_OVERFLOW;
  if (tl_sched_active()) return tl_sched_block(cond, d, mutex);
  if (d->infinite) tl_blocked_mark();
  if (tl_tstate_is_main()) {
    if (tl_interrupt_pending()) return TL_WAIT_INTERRUPTED;
    struct timespec slice = tl_clock_after(INTERRUPT_SLICE);
    bool last = !d->infinite && tl_clock_before(&d->at, &slice);
    tl_tstate_park();
    int rc = pthread_cond_timedwait(cond, mutex, last ? &d->at : &slice);
    tl_tstate_unpark();
    if (tl_interrupt_pending()) return TL_WAIT_INTERRUPTED;
    return (rc == ETIMEDOUT && last) ? TL_WAIT_TIMEOUT : TL_WAIT_OK;
  }
  tl_tstate_park();
  int rc = d->infinite ? pthread_cond_wait(cond, mutex) : pthread_cond_timedwait(cond, mutex, &d->at);
  tl_tstate_unpark();
  return (rc == ETIMEDOUT && !d->infinite) ? TL_WAIT_TIMEOUT : TL_WAIT_OK;
}

bool tl_wait_cond_uninterruptible(pthread_cond_t *cond, pthread_mutex_t *mutex) {
  if (tl_sched_active()) {
    tl_deadline forever = tl_clock_forever();
    /* (an aborted run: the lock's holder may never give it back) */
    return tl_sched_block(cond, &forever, mutex) != TL_WAIT_ABORTED;
  }
  tl_blocked_mark(); /* tl_wait_end clears it */
  pthread_cond_wait(cond, mutex);
  return true;
}

void tl_wait_signal(pthread_cond_t *cond) {
  if (tl_sched_active()) tl_sched_wake(cond, false);
  else pthread_cond_signal(cond);
}

void tl_wait_broadcast(pthread_cond_t *cond) {
  if (tl_sched_active()) tl_sched_wake(cond, true);
  else pthread_cond_broadcast(cond);
}

void tl_wait_begin(tl_waiting *w, const char *what, void *obj) {
  tl_tstate *self = tl_tstate_self();
  if (self != NULL) { /* for deadlock reports (read after blocked_forever is set) */
    self->waiting_what = what;
    self->waiting_obj = obj;
    self->waiting_state = tl_tstate_running_state();
  }
  if (tl_trace_wanted())
    tl_trace_event(strcmp(what, "sleep") == 0 ? TL_TRACE_SLEEP : TL_TRACE_BLOCKED, what);
  w->had_gil = tl_gil_held();
  if (w->had_gil) tl_gil_release();
}

void tl_wait_end(tl_waiting *w) {
  tl_blocked_unmark();
  if (w->had_gil) tl_gil_acquire(); /* records "running" once it has the GIL */
  else tl_trace_event(TL_TRACE_RUN, NULL);
}

void tl_wait_check(lua_State *L, tl_wait_result r) {
  if (r == TL_WAIT_INTERRUPTED) {
    tl_interrupt_clear();
    luaL_error(L, "interrupted!");
  }
  if (r == TL_WAIT_OVERFLOW) luaL_error(L, "OverflowError: timeout value is too large");
  if (r == TL_WAIT_ABORTED) luaL_error(L, "threading.check: run aborted (a deadlock, or threads left at its end)");
}

void tl_wait_sleep(lua_State *L, double seconds) {
  if (tl_sched_active()) { /* the virtual clock's sleep: a schedule point, or a deadline */
    tl_sched_point(L, "sleep", NULL);
    if (seconds <= 0) return;
    tl_waiting w;
    tl_wait_begin(&w, "sleep", NULL);
    tl_deadline d = tl_clock_deadline(seconds);
    tl_wait_result r = tl_sched_block(NULL, &d, NULL);
    tl_wait_end(&w);
    tl_wait_check(L, r == TL_WAIT_TIMEOUT ? TL_WAIT_OK : r);
    return;
  }
  tl_waiting w;
  tl_wait_begin(&w, "sleep", NULL);
  tl_wait_result r = TL_WAIT_OK;
  if (seconds <= 0) {
    sched_yield();
  } else {
    tl_deadline d = tl_clock_deadline(seconds);
    bool main = tl_tstate_is_main();
    tl_tstate_park();
    for (;;) {
      if (main && tl_interrupt_pending()) {
        r = TL_WAIT_INTERRUPTED;
        break;
      }
      if (d.infinite) {
        pause(); /* only a signal ends an infinite sleep */
        continue;
      }
      int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &d.at, NULL);
      if (rc != EINTR) break;
    }
    tl_tstate_unpark();
  }
  tl_wait_end(&w);
  tl_wait_check(L, r);
}
