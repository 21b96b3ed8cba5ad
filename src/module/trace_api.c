/*
** trace_api.c -- the kernel's user events, for threading.trace
** (lua/threading/trace.lua: mark, span, counter):
**
**   _trace_on()                  is this run traced (tlua --trace)?
**   _trace_mark(name)            an instant on the calling thread's track
**   _trace_span(name, begin)     a span of the user's begins (true) or ends
**   _trace_counter(name, value)  a counter's new value
**
** Each returns at once when the run is not traced; otherwise the name is
** copied for the life of the trace (kernel/trace_names.c), since the
** event outlives the Lua string.
**
** Locking: none of its own (kernel/trace.c).
*/
#include "module.h"

static int trace_on(lua_State *L) {
  lua_pushboolean(L, tl_trace_on());
  return 1;
}

/* Records kind for the name at index 1; raises on out of memory. */
static void user_event(lua_State *L, tl_trace_state kind, double value) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  const char *name = tl_trace_name(s, len);
  if (name == NULL) luaL_error(L, "not enough memory");
  tl_trace_user(kind, name, value);
}

static int trace_mark(lua_State *L) {
  if (tl_trace_on()) user_event(L, TL_TRACE_MARK, 0);
  return 0;
}

static int trace_span(lua_State *L) {
  if (tl_trace_on()) user_event(L, lua_toboolean(L, 2) ? TL_TRACE_SPAN_BEGIN : TL_TRACE_SPAN_END, 0);
  return 0;
}

static int trace_counter(lua_State *L) {
  if (tl_trace_on()) user_event(L, TL_TRACE_COUNTER, luaL_checknumber(L, 2));
  return 0;
}

void tl_trace_api_open(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"_trace_on", trace_on},
      {"_trace_mark", trace_mark},
      {"_trace_span", trace_span},
      {"_trace_counter", trace_counter},
      {NULL, NULL},
  };
  luaL_setfuncs(L, fns, 0);
}
