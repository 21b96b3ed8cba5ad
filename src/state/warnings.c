/*
** warnings.c -- the warning function of every Lua state: off by default as
** in lua.c ("@on" / "@off" switch it), and whether this OS thread's state
** has warnings on, which a new thread inherits (inherit.c).
**
** Locking: none.  A state belongs to one OS thread; the switch is
** thread-local.
*/
#include <string.h>

#include "state.h"

static void warn_to_stderr(void *ud, const char *msg, int tocont);

/* Warnings off by default, as in lua.c ("@on" / "@off" control them).
** Even when off, a thread other than the main one reports errors raised
** in finalizers ("error in __gc metamethod ..."), which Lua turns into
** warnings: in a thread nobody would ever see them otherwise. */
static void warn_control(void *ud, const char *msg, int tocont) {
  static _Thread_local int reporting;
  lua_State *L = (lua_State *)ud;
  if (!reporting && !tocont && msg[0] == '@') {
    if (strcmp(msg, "@on") == 0) tl_state_setwarnf(L, true);
    return;
  }
  if (reporting || (!tl_tstate_is_main() && strncmp(msg, "error in ", 9) == 0)) {
    if (!reporting) fputs("Lua warning: ", stderr);
    fputs(msg, stderr);
    if (!tocont) fputs("\n", stderr);
    reporting = tocont;
  }
}

static void warn_to_stderr(void *ud, const char *msg, int tocont) {
  static _Thread_local int continuing;
  lua_State *L = (lua_State *)ud;
  if (!tocont && !continuing && msg[0] == '@') {
    if (strcmp(msg, "@off") == 0) tl_state_setwarnf(L, false);
    return;
  }
  if (!continuing) fputs("Lua warning: ", stderr);
  fputs(msg, stderr);
  if (!tocont) fputs("\n", stderr);
  continuing = tocont;
}

/* Whether this OS thread's state has warnings on (a state belongs to one
** OS thread; a new thread inherits it: inherit.c). */
static _Thread_local bool warnings_on;

void tl_state_setwarnf(lua_State *L, bool on) {
  lua_setwarnf(L, on ? warn_to_stderr : warn_control, L);
  warnings_on = on;
}

bool tl_state_warnings_on(void) { return warnings_on; }
