/*
** report.c -- errors that nobody catches, written on stderr: a thread's
** uncaught error (through threading.excepthook), an excepthook that
** fails, a Future callback that fails, an atexit callback that fails, a
** failed Future whose error was never read.  Each report is one piece,
** "headline\ntext\n", written with the stdio lock held and the GIL
** released, so reports from threads never mix.
**
** Also the message handler that makes the tracebacks of those reports,
** and the process-wide excepthook.
**
** threading.check can capture the reports of a run instead (they make the
** run fail, and its error shows them).
**
** Locking: 'hook.mutex' guards the excepthook blob, 'capture.mutex' the
** capture; leaf locks.  Writing takes stderr's stdio lock
** (state/blocking_io.c).
*/
#include <stdlib.h>
#include <string.h>

#include "kinds.h"

/* threading.check's capture of the reports of a run. */
static struct {
  pthread_mutex_t mutex;
  bool on;
  char *buf;
  size_t len;
} capture = {.mutex = PTHREAD_MUTEX_INITIALIZER};

void tl_report_capture(void) {
  pthread_mutex_lock(&capture.mutex);
  capture.on = true;
  pthread_mutex_unlock(&capture.mutex);
}

char *tl_report_take_captured(void) {
  pthread_mutex_lock(&capture.mutex);
  char *text = capture.buf;
  capture.buf = NULL;
  capture.len = 0;
  capture.on = false;
  pthread_mutex_unlock(&capture.mutex);
  return text;
}

/* Appends "headline\ntext\n" to the capture, if on; false if off. */
static bool captured(const char *headline, const char *text) {
  pthread_mutex_lock(&capture.mutex);
  bool on = capture.on;
  if (on) {
    size_t hl = strlen(headline), tl = strlen(text);
    char *nb = realloc(capture.buf, capture.len + hl + tl + 3);
    if (nb != NULL) {
      capture.buf = nb;
      capture.len += (size_t)snprintf(nb + capture.len, hl + tl + 3, "%s\n%s\n", headline, text);
    }
  }
  pthread_mutex_unlock(&capture.mutex);
  return on;
}

void tl_report_write(const char *headline, const char *text) {
  if (captured(headline, text)) return;
  size_t hl = strlen(headline), tl = strlen(text);
  char *buf = malloc(hl + tl + 2);
  if (buf == NULL) { /* two writes rather than none */
    tl_blocking_io_write_whole(stderr, headline, hl);
    tl_blocking_io_write_whole(stderr, "\n", 1);
    tl_blocking_io_write_whole(stderr, text, tl);
    tl_blocking_io_write_whole(stderr, "\n", 1);
    return;
  }
  memcpy(buf, headline, hl);
  buf[hl] = '\n';
  memcpy(buf + hl + 1, text, tl);
  buf[hl + 1 + tl] = '\n';
  tl_blocking_io_write_whole(stderr, buf, hl + tl + 2);
  free(buf);
}

/* --- tracebacks ---------------------------------------------------------- */

static const char TRACEBACK_KEY[] = "tlua.traceback";

/* In protected mode: the __tostring of value 1, or nil if it gives no string. */
static int call_tostring(lua_State *L) {
  if (!luaL_callmeta(L, 1, "__tostring") || lua_type(L, -1) != LUA_TSTRING) lua_pushnil(L);
  return 1;
}

const char *tl_report_push_message(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TSTRING) {
    lua_pushvalue(L, idx);
    return lua_tostring(L, -1);
  }
  /* A __tostring that raises or returns no string must not turn the report
  ** of an error into another error (or into "error in error handling"). */
  if (luaL_getmetafield(L, idx, "__tostring") != LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushcfunction(L, call_tostring);
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) return lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  return lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, idx));
}

int tl_report_traceback(lua_State *L) {
  const char *msg = tl_report_push_message(L, 1);
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int tl_report_keep_traceback(lua_State *L) {
  tl_hint_add(L, 1); /* a global of the main thread used in this one */
  tl_report_traceback(L);
  lua_setfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY);
  lua_settop(L, 1);
  return 1;
}

void tl_report_take_traceback(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, TRACEBACK_KEY);
}

/* --- the excepthook ------------------------------------------------------ */

static struct {
  pthread_mutex_t mutex;
  tl_blob *blob; /* NULL: the default hook */
} hook = {.mutex = PTHREAD_MUTEX_INITIALIZER};

/* The default: "Exception in thread NAME:" and the traceback. */
static int default_excepthook(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "thread_name");
  lua_getfield(L, 1, "traceback");
  const char *name = lua_tostring(L, -2);
  const char *tb = lua_tostring(L, -1);
  if (name != NULL) lua_pushfstring(L, "Exception in thread %s:", name);
  else /* called by hand without a thread: named by the caller's id, as Python */
    lua_pushfstring(L, "Exception in thread %I:", (lua_Integer)(uintptr_t)pthread_self());
  tl_report_write(lua_tostring(L, -1), tb ? tb : "?");
  return 0;
}

void tl_report_push_excepthook(lua_State *L) {
  pthread_mutex_lock(&hook.mutex);
  tl_blob *b = hook.blob;
  if (b) tl_blob_incref(b);
  pthread_mutex_unlock(&hook.mutex);
  if (b == NULL) {
    lua_pushcfunction(L, default_excepthook);
    return;
  }
  int n = tl_blob_decode_release(L, b);
  if (n != 1) {
    lua_pop(L, n);
    lua_pushcfunction(L, default_excepthook);
  }
}

/* In protected mode: pushes the hook (decoding it can fail). */
static int push_excepthook_protected(lua_State *L) {
  tl_report_push_excepthook(L);
  return 1;
}

/* Writes the error on top (a message from tl_report_traceback) under
** 'headline' and pops it. */
void tl_report_top(lua_State *L, const char *headline) {
  const char *text = lua_tostring(L, -1);
  tl_report_write(headline, text ? text : "(error object is not a string)");
  lua_pop(L, 1);
}

void tl_report_call_excepthook(lua_State *L, int info) {
  info = lua_absindex(L, info);
  lua_pushcfunction(L, tl_report_traceback);
  int handler = lua_gettop(L);
  lua_pushcfunction(L, push_excepthook_protected);
  if (lua_pcall(L, 0, 1, handler) != LUA_OK) {
    /* Set in another thread, it may need what this one cannot load: say
    ** why, then report the error as the default hook does, so that it is
    ** not lost. */
    tl_report_top(L, "Exception in threading.excepthook (it cannot be received in this thread):");
    lua_pushcfunction(L, default_excepthook);
  }
  lua_pushvalue(L, info);
  if (lua_pcall(L, 1, 0, handler) != LUA_OK) tl_report_top(L, "Exception in threading.excepthook:");
  lua_pop(L, 1); /* the handler */
}

void tl_report_set_excepthook(lua_State *L, int idx) {
  tl_blob *b = NULL; /* NULL: the default hook (also when it is assigned back) */
  if (!lua_isnil(L, idx) && lua_tocfunction(L, idx) != default_excepthook) {
    luaL_checktype(L, idx, LUA_TFUNCTION);
    b = tl_blob_encode(L, idx, 1, "excepthook");
  }
  pthread_mutex_lock(&hook.mutex);
  tl_blob *old = hook.blob;
  hook.blob = b;
  pthread_mutex_unlock(&hook.mutex);
  tl_blob_free(old);
}
