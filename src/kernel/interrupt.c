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
** A SIGINT that would kill the process (the second Ctrl-C, or one while
** no Lua code runs: tl_interrupt_restore) kills it as in lua, unless the
** tools asked to write their outputs first (tools/signals.c): then its
** handler only writes one byte to the tools' pipe, and the next SIGINT
** kills.
**
** Locking: the flag and the fd are atomics; the handlers only touch them,
** the disposition, the pipe and the main state's hook, which is what
** lua.c does too.
*/
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

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

/* Where a fatal SIGINT writes its byte (tl_interrupt_set_fatal_fd), or -1. */
static atomic_int fatal_fd = -1;

static void on_fatal_sigint(int sig) {
  int saved = errno;
  signal(sig, SIG_DFL); /* the next Ctrl-C kills at once */
  char byte = 'I';
  ssize_t n = write(atomic_load(&fatal_fd), &byte, 1);
  (void)n;
  errno = saved;
}

/* What the next SIGINT does: kill the process (as in lua), or hand the
** end over to whoever reads the fatal fd. */
static void set_fatal(int sig) {
  signal(sig, atomic_load(&fatal_fd) >= 0 ? on_fatal_sigint : SIG_DFL);
}

static void on_sigint(int sig) {
  set_fatal(sig); /* a second Ctrl-C ends the process, as in lua */
  atomic_store(&interrupt_flag, true);
  if (interrupt_state != NULL) lua_sethook(interrupt_state, stop_hook, STOP_MASK, 1);
}

void tl_interrupt_set_fatal_fd(int fd) { atomic_store(&fatal_fd, fd); }

void tl_interrupt_restore(void) { set_fatal(SIGINT); }

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
