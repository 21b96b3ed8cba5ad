/*
** interrupt.c -- Ctrl-C (SIGINT) for the main thread.
**
** Like the stock lua command, a SIGINT sets a "stop" hook on the main
** state, so running Lua code raises "interrupted!" at its next
** instruction.  tlua also sets a flag, which blocking waits in the main
** thread check (wait.c slices them), so a main thread blocked in join,
** acquire, get, wait or sleep is interrupted too.
**
** Inside the stock lua5.4 interpreter it is lua.c's own handler that runs
** and sets its stop hook (call|return|count=1); tl_interrupt_pending
** recognises that hook on the main state as a pending interrupt.
**
** Threads other than the main one block SIGINT (thread.c), so the
** signal always lands in the main thread.
**
** Locking: the flag is an atomic; the handler only touches the flag and
** the main state's hook, which is what lua.c does too.
*/
#include <signal.h>
#include <string.h>

#include "lauxlib.h"
#include "kernel.h"

static lua_State *interrupt_state; /* the main state, set once */
static atomic_bool interrupt_flag;

#define STOP_MASK (LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT) /* as lua.c */

static void stop_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  atomic_store(&interrupt_flag, false);
  luaL_error(L, "interrupted!");
}

static void on_sigint(int sig) {
  signal(sig, SIG_DFL); /* a second Ctrl-C kills the process, as in lua */
  atomic_store(&interrupt_flag, true);
  if (interrupt_state != NULL) lua_sethook(interrupt_state, stop_hook, STOP_MASK, 1);
}

void tl_interrupt_install(lua_State *mainL) {
  interrupt_state = mainL;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
}

/* A stop hook set by us or by lua.c: call|return(|line)|count, count 1. */
static bool stop_hook_set(lua_State *L) {
  const int needed = LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT;
  return L != NULL && lua_gethook(L) != NULL && (lua_gethookmask(L) & needed) == needed &&
         lua_gethookcount(L) == 1;
}

bool tl_interrupt_pending(void) {
  if (atomic_load_explicit(&interrupt_flag, memory_order_relaxed)) return true;
  return stop_hook_set(tl_tstate_self_state());
}

void tl_interrupt_clear(void) {
  atomic_store(&interrupt_flag, false);
  lua_State *L = tl_tstate_self_state();
  if (stop_hook_set(L)) lua_sethook(L, NULL, 0, 0);
}
