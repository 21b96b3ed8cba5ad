/*
** switchpoint.c -- where a thread running Lua may be made to give up the
** GIL: the hooks the GIL's signal arms, and the legacy GIL's count hook.
**
** CPython checks its "eval breaker" (and so may drop the GIL on request)
** only at some instructions: in 3.11-3.13, at a backward jump
** (JUMP_BACKWARD), at the entry of a Python function (RESUME) and right
** after a call of a C function returns (CALL: CHECK_EVAL_BREAKER after the
** callee).  Attribute and subscript access, arithmetic and the return of
** a Python function do not check.  So `n += 1` and a read-modify-write
** over two statements are never split by a switch, while `n = abs(n) + 1`
** and a read, a function call, then the write, can be.
**
** tlua reaches the same points with Lua's debug hooks, which cost nothing
** until set: the GIL's signal handler (on_gil_signal, async-signal-safe:
** lua_sethook is made for that, as lua.c's Ctrl-C shows) arms a one-shot
** hook with the masks below on the state the thread runs; the hook
** switches at the first switch point it sees, then restores the hook that
** was there before.  With -X switchpoints=cpython (the default):
**
**   call event      the entry of a Lua function             switch
**   return event    a C function returns (not a metamethod:   switch
**                   __index and friends stand for attribute access)
**   line event      a backward jump in the same activation   switch
**                   (a line not after the last one seen there)
**   otherwise       remember the activation and its line      wait
**
** With -X switchpoints=line (tlua before 0.2): a line event, i.e. the
** start of any new line, a backward jump or a function entry.
**
** Under the deterministic scheduler (sched.c) the same points are its
** preemption points: a hook with those masks stays on every state while
** two threads or more are alive.
**
** The legacy GIL instead sets a count hook on every state, permanently:
** every N VM instructions (-X checkinterval, default 100) the holder
** releases and re-takes the GIL (gil.c).  That hook costs every
** instruction a function call while the legacy GIL is on.
**
** Locking: none; hooks and the thread-locals below belong to the thread
** that runs the state.
*/
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "kernel.h"

static atomic_int switchpoints; /* tl_switchpoints, default CPython */

/* The hook that was set before ours, restored when ours fires. */
static _Thread_local struct {
  lua_Hook hook;
  int mask, count;
} saved_hook __attribute__((tls_model("initial-exec")));

/* The activation (CallInfo, opaque) and line of the last line event. */
static _Thread_local struct {
  const void *activation;
  int line;
} last_line;

void tl_switchpoint_set_mode(tl_switchpoints mode) { atomic_store(&switchpoints, mode); }
tl_switchpoints tl_switchpoint_mode(void) { return (tl_switchpoints)atomic_load(&switchpoints); }

/* Is this hook event one of CPython's switch points? */
static bool at_cpython_point(lua_State *L, lua_Debug *ar) {
  switch (ar->event) {
    case LUA_HOOKCALL:
    case LUA_HOOKTAILCALL:
      last_line.activation = NULL;
      return lua_getinfo(L, "S", ar) && ar->what[0] != 'C'; /* a Lua function's entry */
    case LUA_HOOKRET:
      last_line.activation = NULL;
      return lua_getinfo(L, "Sn", ar) && ar->what[0] == 'C' &&
             (ar->namewhat == NULL || strcmp(ar->namewhat, "metamethod") != 0);
    case LUA_HOOKLINE:
      if (last_line.activation == (const void *)ar->i_ci && ar->currentline <= last_line.line)
        return true; /* back to a line already run: a backward jump */
      last_line.activation = (const void *)ar->i_ci;
      last_line.line = ar->currentline;
      return false;
    default: return false;
  }
}

static void restore_hook(lua_State *L) {
  lua_sethook(L, saved_hook.hook, saved_hook.mask, saved_hook.count);
}

/* The first line event after arming may be a false one: Lua updates the
** position it compares lines with (L->oldpc) only while a line hook is
** set, so the first traced instruction can look like a new line in the
** middle of one.  So a line event counts only after another event of the
** same arming (in CPython mode it then serves as the baseline). */
static void switch_hook(lua_State *L, lua_Debug *ar) {
  if (tl_switchpoint_mode() == TL_SWITCHPOINTS_CPYTHON) {
    if (!at_cpython_point(L, ar)) return;
  } else if (last_line.activation == NULL) {
    last_line.activation = (const void *)ar->i_ci; /* (line mode: any non-null mark) */
    return;
  }
  restore_hook(L);
  tl_gil_forced_switch();
}

/* Runs in the holder's thread: arm the one-shot hook on the state it runs. */
/* The hook events where a switch may happen: lines only, or CPython's
** points (calls, returns and lines: at_cpython_point). */
static int point_mask(void) {
  return tl_switchpoint_mode() == TL_SWITCHPOINTS_LINE ? LUA_MASKLINE : LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE;
}

static void on_gil_signal(int sig) {
  (void)sig;
  int saved_errno = errno;
  lua_State *L = tl_tstate_running_state();
  if (L != NULL && lua_gethook(L) != switch_hook) {
    saved_hook.hook = lua_gethook(L);
    saved_hook.mask = lua_gethookmask(L);
    saved_hook.count = lua_gethookcount(L);
    last_line.activation = NULL;
    lua_sethook(L, switch_hook, point_mask(), 0);
  }
  errno = saved_errno;
}

void tl_switchpoint_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_gil_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(TL_GIL_SIGNAL, &sa, NULL);
}

/* --- the legacy GIL's check --------------------------------------------- */

static void check_hook(lua_State *L, lua_Debug *ar) {
  (void)L;
  (void)ar;
  tl_gil_legacy_check();
}

/* --- the scheduler's preemption ------------------------------------------ */

/* Under a deterministic schedule, every switch point of Lua code is a
** schedule point (sched.c counts them against the quantum).  The hook
** stays while another thread lives; alone, a state takes it off itself. */
static void sched_hook(lua_State *L, lua_Debug *ar) {
  if (!tl_sched_active() || tl_sched_live_count() < 2) {
    lua_sethook(L, NULL, 0, 0);
    return;
  }
  bool point = tl_switchpoint_mode() == TL_SWITCHPOINTS_CPYTHON ? at_cpython_point(L, ar)
                                                                 : ar->event == LUA_HOOKLINE;
  if (point) tl_sched_preempt(L);
}

void tl_switchpoint_prepare_state(lua_State *L) {
  if (L == NULL) return;
  tl_gil_mode mode = tl_gil_get_mode();
  lua_Hook h = lua_gethook(L);
  bool ours = h == NULL || h == check_hook || h == sched_hook; /* never replace a user's hook */
  if (!ours) return;
  if (mode == TL_GIL_LEGACY) {
    if (h != check_hook) lua_sethook(L, check_hook, LUA_MASKCOUNT, (int)tl_gil_check_interval());
  } else if (mode == TL_GIL_SCHED && tl_sched_live_count() >= 2) {
    if (h != sched_hook) {
      last_line.activation = NULL;
      lua_sethook(L, sched_hook, point_mask(), 0);
    }
  } else if (h != NULL) {
    lua_sethook(L, NULL, 0, 0);
  }
}
