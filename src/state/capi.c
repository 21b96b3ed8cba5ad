/*
** capi.c -- the C API of tlua.h for C modules: every state tlua makes
** (and stock lua's main state once threading is loaded) holds, in its
** registry, a pointer to the functions below, which release and take back
** the GIL around a C module's blocking call.
**
** Locking: none of its own (kernel/wait.c); the table is constant.
*/
#include "state.h"
#include "tlua.h"

/* The thread's waiting bracket, one level deep per thread: a C module
** does not nest blocking calls. */
static _Thread_local tl_waiting capi_waiting;

static int capi_release(const char *what) {
  if (!tl_gil_held()) return 0;
  tl_wait_begin(&capi_waiting, what ? what : "C call", NULL);
  return 1;
}

static void capi_acquire(int released) {
  if (released) tl_wait_end(&capi_waiting);
}

static const tlua_capi capi = {TLUA_CAPI_VERSION, capi_release, capi_acquire};

void tl_capi_open(lua_State *L) {
  lua_pushlightuserdata(L, (void *)&capi);
  lua_setfield(L, LUA_REGISTRYINDEX, TLUA_CAPI_KEY);
}
