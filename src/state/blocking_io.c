/*
** blocking_io.c -- the standard library's I/O, made thread-aware.
**
** In every state tlua makes (and in stock lua's main state once threading
** is loaded) these functions are wrapped:
**
**   print                 builds the whole line first and writes it with one
**                         locked fwrite, so lines from threads never mix
**   io.write, file:write  hold the FILE's stdio lock for the whole call, so
**                         one call's output is never split by another thread
**   io.read, file:read,   release the GIL while they may block
**   io.lines, file:lines,
**   os.execute
**
** tl_blocking_io_write_whole is the same one-piece write for C code (the
** error reports of kinds/report.c).
**
** Every wrapper releases the GIL (when this thread holds it) before taking
** a stdio lock or blocking, and takes it back afterwards (kernel.h rule 1).
** The wrapped function runs in protected mode meanwhile, so an error
** cannot skip the re-acquisition.  With the GIL off, reads are called
** directly and writes only add the stdio lock.
**
** Locking: stdio's own FILE locks (flockfile); nothing else.
*/
#include <stdio.h>
#include <string.h>

#include "state.h"

enum { IO_READ, IO_WRITE_DEFAULT, IO_WRITE_SELF, IO_LINES };

static FILE *stream_of(lua_State *L, int idx) {
  luaL_Stream *p = (luaL_Stream *)luaL_testudata(L, idx, LUA_FILEHANDLE);
  return (p != NULL && p->closef != NULL) ? p->f : NULL;
}

static FILE *default_output(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, "_IO_output");
  FILE *f = stream_of(L, -1);
  lua_pop(L, 1);
  return f;
}

static int wrap_reader(lua_State *L, int idx);

static int blocking_call(lua_State *L) {
  int mode = (int)lua_tointeger(L, lua_upvalueindex(2));
  FILE *f = mode == IO_WRITE_DEFAULT ? default_output(L) : mode == IO_WRITE_SELF ? stream_of(L, 1) : NULL;
  int nargs = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  bool gil = tl_gil_held();
  if (!gil && f == NULL) {
    lua_call(L, nargs, LUA_MULTRET);
  } else {
    if (gil) tl_gil_release();
    if (f) flockfile(f);
    int status = lua_pcall(L, nargs, LUA_MULTRET, 0);
    if (f) funlockfile(f);
    if (gil) tl_gil_acquire();
    if (status != LUA_OK) return lua_error(L);
  }
  if (mode == IO_LINES && lua_gettop(L) >= 1 && lua_isfunction(L, 1)) wrap_reader(L, 1);
  return lua_gettop(L);
}

/* Replaces the function at idx by its wrapper. */
static void wrap_at(lua_State *L, int idx, int mode) {
  idx = lua_absindex(L, idx);
  lua_pushvalue(L, idx);
  lua_pushinteger(L, mode);
  lua_pushcclosure(L, blocking_call, 2);
  lua_replace(L, idx);
}

static int wrap_reader(lua_State *L, int idx) {
  wrap_at(L, idx, IO_READ);
  return 0;
}

static void wrap_field(lua_State *L, int table, const char *name, int mode) {
  if (lua_getfield(L, table, name) == LUA_TFUNCTION) {
    wrap_at(L, -1, mode);
    lua_setfield(L, table, name);
  } else {
    lua_pop(L, 1);
  }
}

void tl_blocking_io_write_whole(FILE *f, const char *s, size_t len) {
  bool had = tl_gil_held();
  if (had) tl_gil_release();
  flockfile(f);
  fwrite(s, 1, len, f);
  fflush(f);
  funlockfile(f);
  if (had) tl_gil_acquire();
}

/* print: the whole line is formatted first, then written in one piece. */
static int atomic_print(lua_State *L) {
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; i++) {
    if (i > 1) luaL_addchar(&b, '\t');
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_addchar(&b, '\n');
  luaL_pushresult(&b);
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  tl_blocking_io_write_whole(stdout, s, len);
  return 0;
}

void tl_blocking_io_wrap_io(lua_State *L, int io) {
  io = lua_absindex(L, io);
  int top = lua_gettop(L);
  wrap_field(L, io, "write", IO_WRITE_DEFAULT);
  wrap_field(L, io, "read", IO_READ);
  wrap_field(L, io, "lines", IO_LINES);
  if (luaL_getmetatable(L, LUA_FILEHANDLE) == LUA_TTABLE && lua_getfield(L, -1, "__index") == LUA_TTABLE) {
    int methods = lua_gettop(L);
    wrap_field(L, methods, "write", IO_WRITE_SELF);
    wrap_field(L, methods, "read", IO_READ);
    wrap_field(L, methods, "lines", IO_LINES);
  }
  lua_settop(L, top);
}

void tl_blocking_io_wrap_os(lua_State *L, int os) { wrap_field(L, lua_absindex(L, os), "execute", IO_READ); }

/* print, and io and os if they are open already. */
void tl_blocking_io_open(lua_State *L) {
  lua_pushcfunction(L, atomic_print);
  lua_setglobal(L, "print");
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, LUA_IOLIBNAME) == LUA_TTABLE) tl_blocking_io_wrap_io(L, -1);
  lua_pop(L, 1);
  if (lua_getfield(L, -1, LUA_OSLIBNAME) == LUA_TTABLE) tl_blocking_io_wrap_os(L, -1);
  lua_pop(L, 2);
}
