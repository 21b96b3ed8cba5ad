/*
** tlua.h -- the C API that tlua offers to C modules (installed as
** include/tlua.h).  Header-only: a module built with it needs no tlua
** library to link, and loads into stock lua5.4 (with or without
** threading.so) as into tlua.
**
** Releasing the GIL around a blocking call, as CPython's
** Py_BEGIN_ALLOW_THREADS / Py_END_ALLOW_THREADS do:
**
**     int released = tlua_gil_release(L, "socket.receive");
**     n = recv(fd, buf, size, 0);      -- no Lua API call in between
**     tlua_gil_acquire(L, released);
**
** With the GIL off, or in a state tlua did not make, both are no-ops.
** Between the two calls the thread must not touch its Lua state (another
** thread may run Lua meanwhile; this state is still this thread's alone).
** 'what' names the call in --trace timelines (a static string).
**
** From Lua, threading.blocking(f, ...) does the same around any function.
*/
#ifndef TLUA_PUBLIC_H
#define TLUA_PUBLIC_H

#include "lua.h"

#define TLUA_CAPI_KEY "tlua.capi" /* registry: light userdata -> tlua_capi */
#define TLUA_CAPI_VERSION 1

typedef struct tlua_capi {
  int version;
  int (*gil_release)(const char *what); /* returns whether it released it */
  void (*gil_acquire)(int released);
} tlua_capi;

static inline const tlua_capi *tlua_capi_of(lua_State *L) {
  const tlua_capi *api = NULL;
  if (lua_getfield(L, LUA_REGISTRYINDEX, TLUA_CAPI_KEY) == LUA_TLIGHTUSERDATA)
    api = (const tlua_capi *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return (api != NULL && api->version >= TLUA_CAPI_VERSION) ? api : NULL;
}

static inline int tlua_gil_release(lua_State *L, const char *what) {
  const tlua_capi *api = tlua_capi_of(L);
  return api ? api->gil_release(what) : 0;
}

static inline void tlua_gil_acquire(lua_State *L, int released) {
  const tlua_capi *api = tlua_capi_of(L);
  if (api && released) api->gil_acquire(released);
}

#endif
