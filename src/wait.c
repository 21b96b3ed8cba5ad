/*
** wait.c -- clocks, deadlines and the one way tlua blocks a thread.
**
** Every blocking call of every primitive goes through the same steps:
**     tl_blocking_begin(&b, "what");   -- releases the GIL
**     pthread_mutex_lock(&obj->mutex);
**     while (!ready) r = tl_cond_wait(&obj->cond, &obj->mutex, &deadline);
**     pthread_mutex_unlock(&obj->mutex);
**     tl_blocking_end(&b);              -- takes the GIL back
**     tl_check_interrupt(L, r);         -- "interrupted!" on Ctrl-C
** so the GIL is never awaited with an object mutex held (tlua.h rule 1).
**
** Condition variables use CLOCK_MONOTONIC, so a change of the wall clock
** never stretches or shortens a timeout.  In the main thread a wait is cut
** into slices of at most INTERRUPT_SLICE seconds so that Ctrl-C is seen
** even while it is blocked (signals do not wake condition variables);
** other threads sleep for the whole wait.
*/
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "thread.h"

#define INTERRUPT_SLICE 0.05

double tl_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct timespec timespec_after(double seconds) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  double whole = floor(seconds);
  ts.tv_sec += (time_t)whole;
  ts.tv_nsec += (long)((seconds - whole) * 1e9);
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec += 1;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

/* Timeouts longer than this are treated as infinite (no time_t overflow). */
#define MAX_TIMEOUT (100.0 * 365 * 24 * 3600)

tl_deadline tl_deadline_after(double seconds) {
  tl_deadline d;
  d.infinite = !(seconds >= 0) || seconds > MAX_TIMEOUT; /* NaN: infinite */
  d.at.tv_sec = 0;
  d.at.tv_nsec = 0;
  if (!d.infinite) d.at = timespec_after(seconds);
  return d;
}

double tl_deadline_remaining(const tl_deadline *d) {
  if (d->infinite) return -1;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  double r = (double)(d->at.tv_sec - now.tv_sec) + (double)(d->at.tv_nsec - now.tv_nsec) * 1e-9;
  return r > 0 ? r : 0;
}

static double check_timeout_number(lua_State *L, int idx) {
  double t = luaL_checknumber(L, idx);
  if (isnan(t)) luaL_argerror(L, idx, "ValueError: timeout must not be NaN");
  return t;
}

bool tl_check_blocking_timeout(lua_State *L, int idx, tl_deadline *d) {
  bool blocking = lua_isnoneornil(L, idx) ? true : (luaL_checktype(L, idx, LUA_TBOOLEAN), lua_toboolean(L, idx));
  double timeout = lua_isnoneornil(L, idx + 1) ? -1 : check_timeout_number(L, idx + 1);
  if (!blocking && timeout != -1)
    luaL_error(L, "ValueError: can't specify a timeout for a non-blocking call");
  if (timeout < 0 && timeout != -1)
    luaL_error(L, "ValueError: timeout value must be a non-negative number");
  *d = tl_deadline_after(blocking ? timeout : 0);
  return blocking;
}

tl_deadline tl_opt_timeout(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return tl_deadline_after(-1);
  double t = check_timeout_number(L, idx);
  return tl_deadline_after(t < 0 ? 0 : t);
}

void tl_cond_init(pthread_cond_t *cond) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(cond, &attr);
  pthread_condattr_destroy(&attr);
}

static bool before(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

tl_wait_result tl_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex, const tl_deadline *d) {
  if (d->infinite) tl_deadlock_note_blocked();
  if (tl_runtime_is_main_thread()) {
    if (tl_interrupt_pending()) return TL_WAIT_INTERRUPTED;
    struct timespec slice = timespec_after(INTERRUPT_SLICE);
    bool last = !d->infinite && before(&d->at, &slice);
    int rc = pthread_cond_timedwait(cond, mutex, last ? &d->at : &slice);
    if (tl_interrupt_pending()) return TL_WAIT_INTERRUPTED;
    return (rc == ETIMEDOUT && last) ? TL_WAIT_TIMEOUT : TL_WAIT_OK;
  }
  if (d->infinite) {
    pthread_cond_wait(cond, mutex);
    return TL_WAIT_OK;
  }
  return pthread_cond_timedwait(cond, mutex, &d->at) == ETIMEDOUT ? TL_WAIT_TIMEOUT : TL_WAIT_OK;
}

void tl_blocking_begin_on(tl_blocking *b, const char *what, tl_object *obj) {
  tl_thread *self = tl_self();
  if (self != NULL) { /* for deadlock reports (read after blocked_forever is set) */
    self->waiting_what = what;
    self->waiting_obj = obj;
    self->waiting_state = tl_self_state();
  }
  if (tl_trace_on()) tl_trace(strcmp(what, "sleep") == 0 ? TL_TRACE_SLEEP : TL_TRACE_BLOCKED, what);
  b->had_gil = tl_gil_held();
  if (b->had_gil) tl_gil_release();
}

void tl_blocking_begin(tl_blocking *b, const char *what) { tl_blocking_begin_on(b, what, NULL); }

void tl_blocking_end(tl_blocking *b) {
  tl_deadlock_note_unblocked();
  tl_trace(TL_TRACE_RUN, NULL);
  if (b->had_gil) tl_gil_acquire();
}

void tl_check_interrupt(lua_State *L, tl_wait_result r) {
  if (r == TL_WAIT_INTERRUPTED) {
    tl_interrupt_clear();
    luaL_error(L, "interrupted!");
  }
}

void tl_sleep(lua_State *L, double seconds) {
  tl_blocking b;
  tl_blocking_begin(&b, "sleep");
  tl_wait_result r = TL_WAIT_OK;
  if (seconds <= 0) {
    sched_yield();
  } else {
    tl_deadline d = tl_deadline_after(seconds);
    bool main = tl_runtime_is_main_thread();
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
  }
  tl_blocking_end(&b);
  tl_check_interrupt(L, r);
}
