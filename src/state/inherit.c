/*
** inherit.c -- what a new thread's state inherits from the state that
** starts it: package.path and package.cpath as they are at start(), and
** whether warnings are on (warn("@on"), -W).  (Its package.preload
** loaders are values and cross as such: kinds/thread.c.)
**
** The starting state's settings are copied into the Thread object at
** start() (tl_state_inherit_capture; a path equal to the default is not);
** the new thread keeps a pointer to that copy (a thread-local: the state
** belongs to that OS thread) and applies the paths when its package
** library opens (states of threads open it on first use: state.c), the
** warning switch at once.  A state that never opened package passes on
** what it inherited.
**
** Stock lua5.4 gives no way to ask whether warnings are on, and lua.c
** turns them on (-W, warn("@on")) before threading loads: when threading
** loads into lua5.4's main state, tl_state_adopt_warnings asks by sending
** one warning into a pipe in place of stderr (only the main thread runs
** then), and installs tlua's warning function with that setting.
**
** Locking: none.  A capture is written by the starting thread before the
** new thread exists and only read afterwards; the defaults are computed
** once (pthread_once) and never change.
*/
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"

/* What this OS thread's state inherited (its thread's Thread object holds
** it; a state belongs to the one OS thread that runs it). */
static _Thread_local const tl_inherit *inherited;

/* The paths every state's package library starts with (from LUA_PATH and
** LUA_CPATH, the same for the whole process), computed once in a scratch
** state: a path equal to its default is not copied. */
static struct {
  pthread_once_t once;
  char *path, *cpath;
} defaults = {.once = PTHREAD_ONCE_INIT};

static void find_defaults(void) {
  lua_State *S = luaL_newstate();
  if (S == NULL) return; /* (then every path is copied) */
  luaL_requiref(S, LUA_LOADLIBNAME, luaopen_package, 0);
  if (lua_getfield(S, -1, "path") == LUA_TSTRING) defaults.path = strdup(lua_tostring(S, -1));
  if (lua_getfield(S, -2, "cpath") == LUA_TSTRING) defaults.cpath = strdup(lua_tostring(S, -1));
  lua_close(S);
}

/* A copy of s (NULL stays NULL); clears *ok if memory runs out. */
static char *copy_string(const char *s, bool *ok) {
  char *copy = s ? strdup(s) : NULL;
  if (s != NULL && copy == NULL) *ok = false;
  return copy;
}

/* package[field] if it is not the default, copied. */
static char *copy_path(lua_State *L, int package, const char *field, const char *def, bool *ok) {
  const char *path = lua_getfield(L, package, field) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  char *copy = (path == NULL || (def != NULL && strcmp(path, def) == 0)) ? NULL : copy_string(path, ok);
  lua_pop(L, 1);
  return copy;
}

bool tl_state_inherit_capture(lua_State *L, tl_inherit *in) {
  bool ok = true;
  in->path = in->cpath = NULL;
  in->warnings = tl_state_warnings_on();
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, LUA_LOADLIBNAME) == LUA_TTABLE) {
    pthread_once(&defaults.once, find_defaults);
    in->path = copy_path(L, -1, "path", defaults.path, &ok);
    in->cpath = copy_path(L, -1, "cpath", defaults.cpath, &ok);
  } else if (inherited != NULL) { /* a thread that has not opened package: what it got */
    in->path = copy_string(inherited->path, &ok);
    in->cpath = copy_string(inherited->cpath, &ok);
  }
  lua_pop(L, 2);
  if (!ok) tl_state_inherit_free(in);
  return ok;
}

void tl_state_inherit_apply(lua_State *L, const tl_inherit *in) {
  inherited = in;
  if (L != NULL && in != NULL && in->warnings) tl_state_setwarnf(L, true);
}

void tl_state_inherit_package(lua_State *L, int package) {
  const tl_inherit *in = inherited;
  if (in == NULL) return;
  package = lua_absindex(L, package);
  if (in->path != NULL) {
    lua_pushstring(L, in->path);
    lua_setfield(L, package, "path");
  }
  if (in->cpath != NULL) {
    lua_pushstring(L, in->cpath);
    lua_setfield(L, package, "cpath");
  }
}

void tl_state_inherit_free(tl_inherit *in) {
  free(in->path);
  free(in->cpath);
  in->path = in->cpath = NULL;
}

/* Whether lua.c's warning function (the state's, before threading loads)
** writes a warning: it is sent with stderr redirected to a pipe. */
static bool warnings_written(lua_State *L) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  bool on = false;
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  if (saved >= 0 && dup2(fds[1], STDERR_FILENO) >= 0) {
    lua_warning(L, "tlua: are warnings on?", 0);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    char c;
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    on = read(fds[0], &c, 1) == 1;
  }
  if (saved >= 0) close(saved);
  close(fds[0]);
  close(fds[1]);
  return on;
}

void tl_state_adopt_warnings(lua_State *L) { tl_state_setwarnf(L, warnings_written(L)); }
