/*
** timer.c -- threading.Timer(interval, f, ...): a Thread whose run first
** waits 'interval' seconds (GIL released) and then calls f(...), unless
** cancel() was called first.  A Timer is a Thread in every other respect
** (name, daemon, start, join, is_alive, result).
**
** Locking: 'cancelled' and the wait use the thread's own mutex and its
** done_cond (thread.c's timer_wait); cancel() may come from any thread.
*/
#include <math.h>

#include "thread.h"

static int new_timer(lua_State *L) {
  double interval = luaL_checknumber(L, 1);
  if (isnan(interval) || interval < 0)
    return luaL_argerror(L, 1, "ValueError: interval must be a non-negative number");
  tl_thread *t = tl_thread_from_args(L, 2);
  t->is_timer = true;
  t->interval = interval;
  tl_push_new_object(L, &t->obj);
  return 1;
}

int tl_timer_cancel(lua_State *L) {
  tl_thread *t = tl_check_thread(L, 1);
  if (!t->is_timer) return luaL_error(L, "AttributeError: only a Timer can be cancelled");
  pthread_mutex_lock(&t->mutex);
  t->cancelled = true;
  pthread_cond_broadcast(&t->done_cond);
  pthread_mutex_unlock(&t->mutex);
  return 0;
}

void tl_open_timer(lua_State *L) {
  lua_pushcfunction(L, new_timer);
  lua_setfield(L, -2, "Timer");
}
