/*
** timer.c -- threading.Timer(interval, f, ...): a Thread whose run first
** waits 'interval' seconds (GIL released) and then calls f(...), unless
** cancel() was called first.  Its own kind, extending Thread (name,
** daemon, start, join, is_alive, result), plus cancel().
**
** Locking: 'cancelled' and the wait use the thread's own mutex and its
** done_cond (thread.h); cancel() may come from any thread.
*/
#include <math.h>

#include "thread.h"

typedef struct tl_timer {
  tl_thread thread; /* first: a Timer is a Thread */
  bool cancelled;
  double interval;
} tl_timer;

static const tl_kind timer_kind;

/* The prelude of the timer's thread: waits for the interval; false if it
** was cancelled.  An interval past TL_TIMEOUT_MAX raises OverflowError in
** the timer's thread, as Python's Timer does. */
static bool timer_wait(lua_State *L, tl_thread *t) {
  tl_timer *tm = (tl_timer *)t;
  tl_waiting w;
  tl_wait_begin(&w, "Timer", NULL);
  pthread_mutex_lock(&t->mutex);
  tl_deadline d = tl_clock_deadline(tm->interval);
  tl_wait_result r = TL_WAIT_OK;
  while (!tm->cancelled && (r == TL_WAIT_OK || r == TL_WAIT_INTERRUPTED))
    r = tl_wait_cond(&t->done_cond, &t->mutex, &d);
  bool run = !tm->cancelled;
  tm->cancelled = true; /* cancel() after this point is a no-op */
  pthread_mutex_unlock(&t->mutex);
  tl_wait_end(&w);
  if (run) tl_wait_check(L, r == TL_WAIT_OVERFLOW || r == TL_WAIT_ABORTED ? r : TL_WAIT_OK);
  return run;
}

static int timer_cancel(lua_State *L) {
  tl_timer *tm = (tl_timer *)tl_object_check(L, 1, &timer_kind);
  tl_sched_point(L, "Timer.cancel", NULL);
  pthread_mutex_lock(&tm->thread.mutex);
  tm->cancelled = true;
  tl_wait_broadcast(&tm->thread.done_cond);
  pthread_mutex_unlock(&tm->thread.mutex);
  return 0;
}

static const luaL_Reg timer_methods[] = {
    {"cancel", timer_cancel},
    {NULL, NULL},
};

static const tl_kind timer_kind = {
    .name = "Timer",
    .destroy = tl_thread_destroy,
    .methods = timer_methods,
    .base = &tl_thread_kind,
    .getfield = tl_thread_getfield,
    .setfield = tl_thread_setfield,
    .describe = tl_thread_describe,
    .untracked = true,
};

static int new_timer(lua_State *L) {
  double interval = luaL_checknumber(L, 1);
  if (isnan(interval) || interval < 0)
    return luaL_argerror(L, 1, "ValueError: interval must be a non-negative number");
  tl_timer *tm = (tl_timer *)tl_thread_from_args(L, 2, &timer_kind, sizeof(tl_timer));
  tm->thread.prelude = timer_wait;
  tm->interval = interval;
  tl_object_push_new(L, &tm->thread.obj);
  return 1;
}

void tl_timer_open(lua_State *L) {
  lua_pushcfunction(L, new_timer);
  lua_setfield(L, -2, "Timer");
}
