/*
** args.c -- the argument checks the kinds share, and Python's exceptions
** raised one way.
**
** Python's threading, queue and concurrent.futures take timeouts in three
** signatures, each with its own rules; each has one parser here, used by
** every kind with that signature:
**
**   lock       acquire(blocking=true, timeout=-1)   a timeout other than
**              -1 with blocking=false, or a negative one other than -1:
**              ValueError (Lock, RLock, Condition)
**   semaphore  acquire(blocking=true, timeout=None) a timeout with
**              blocking=false: ValueError; negative: do not wait
**   queue      put/get(block=true, timeout=None)    negative: ValueError;
**              ignored when block=false
**   timeout    wait/join/result(timeout=None)        nil: forever;
**              negative: do not wait
**
** A NaN timeout is a ValueError everywhere.  One above TL_TIMEOUT_MAX is an
** OverflowError: at once for the lock signature (as Python's C lock), else
** when the call would block (kernel/wait.c), as Python's other waits.  Exceptions are raised as Lua
** errors whose message starts with the exception's name, with the
** position of the caller: "file.lua:3: RuntimeError: release unlocked lock".
**
** Locking: none.
*/
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "kinds.h"

int tl_error(lua_State *L, const char *exception, const char *fmt, ...) {
  luaL_where(L, 1);
  if (fmt == NULL) { /* the exception alone, as Python's TimeoutError() */
    lua_pushstring(L, exception);
    lua_concat(L, 2);
    return lua_error(L);
  }
  va_list ap;
  lua_pushfstring(L, "%s: ", exception);
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_concat(L, 3);
  return lua_error(L);
}

bool tl_args_callable(lua_State *L, int idx) {
  if (lua_isfunction(L, idx)) return true;
  bool has_call = luaL_getmetafield(L, idx, "__call") != LUA_TNIL;
  if (has_call) lua_pop(L, 1);
  return has_call;
}

void tl_args_check_callable(lua_State *L, int idx) {
  if (!tl_args_callable(L, idx)) luaL_typeerror(L, idx, "function");
}

double tl_args_number(lua_State *L, int idx, const char *what) {
  double x = luaL_checknumber(L, idx);
  if (isnan(x)) luaL_argerror(L, idx, lua_pushfstring(L, "ValueError: %s must not be NaN", what));
  return x;
}

double tl_args_check_overflow(lua_State *L, double t, const char *what) {
  if (t > TL_TIMEOUT_MAX) tl_error(L, "OverflowError", "%s is too large", what);
  return t;
}

/* An optional boolean at idx (none or nil: true). */
static bool opt_blocking(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return true;
  luaL_checktype(L, idx, LUA_TBOOLEAN);
  return lua_toboolean(L, idx);
}

bool tl_args_lock_timeout(lua_State *L, int idx, tl_deadline *d) {
  if (lua_gettop(L) < idx) { /* no arguments (the common case): block, no timeout */
    *d = (tl_deadline){.infinite = true};
    return true;
  }
  bool blocking = opt_blocking(L, idx);
  double timeout = lua_isnoneornil(L, idx + 1) ? -1 : tl_args_number(L, idx + 1, "timeout");
  tl_args_check_overflow(L, timeout, "timeout value");
  if (!blocking && timeout != -1) tl_error(L, "ValueError", "can't specify a timeout for a non-blocking call");
  if (timeout < 0 && timeout != -1) tl_error(L, "ValueError", "timeout value must be a non-negative number");
  *d = tl_clock_deadline(blocking ? timeout : 0);
  return blocking;
}

bool tl_args_semaphore_timeout(lua_State *L, int idx, tl_deadline *d) {
  bool blocking = opt_blocking(L, idx);
  if (!blocking && !lua_isnoneornil(L, idx + 1))
    tl_error(L, "ValueError", "can't specify timeout for non-blocking acquire");
  *d = tl_args_timeout(L, idx + 1);
  return blocking;
}

bool tl_args_queue_timeout(lua_State *L, int idx, tl_deadline *d) {
  if (lua_gettop(L) < idx) { /* the common call: q:put(item), q:get() */
    *d = tl_clock_forever();
    return true;
  }
  bool block = opt_blocking(L, idx);
  double timeout = -1;
  if (!lua_isnoneornil(L, idx + 1)) {
    timeout = tl_args_number(L, idx + 1, "timeout");
    if (timeout < 0) tl_error(L, "ValueError", "'timeout' must be a non-negative number");
  }
  *d = tl_clock_deadline(block ? timeout : 0);
  return block;
}

tl_deadline tl_args_timeout(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return tl_clock_forever();
  double t = tl_args_number(L, idx, "timeout");
  return tl_clock_deadline(t < 0 ? 0 : t);
}

/* --- a function and its arguments, to send ----------------------------- */

static int encode_call_protected(lua_State *L) {
  lua_pushlightuserdata(L, tl_blob_encode_numbered(L, 1, lua_gettop(L), "args", 0));
  return 1;
}

tl_blob *tl_args_encode_call(lua_State *L, int idx, int nargs, const char *fname) {
  luaL_checkstack(L, nargs + 2, "too many arguments");
  lua_pushcfunction(L, encode_call_protected);
  for (int i = 0; i <= nargs; i++) lua_pushvalue(L, idx + i);
  if (lua_pcall(L, nargs + 1, 1, 0) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg != NULL && strncmp(msg, "args[0]", 7) == 0) lua_pushfstring(L, "%s%s", fname, msg + 7);
    lua_error(L);
  }
  tl_blob *b = (tl_blob *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return b;
}
