/*
** blocking_io.c -- the standard library's I/O, made thread-aware.
**
** In every state tlua makes (and in stock lua's main state once threading
** is loaded) these functions are wrapped:
**
**   print                   builds the whole line first and writes it with
**                           one locked fwrite, so lines from threads never mix
**   io.write, file:write,   hold the FILE's stdio lock for the whole call, so
**   io.flush, file:flush    one call's output is never split by another
**                           thread; release the GIL (a full pipe blocks)
**   io.read, file:read,     release the GIL: each of these can block
**   io.lines, file:lines    (a read, a FIFO's open(2), a pipe's pclose
**   (and their iterators),  waiting for the child, a seek on a slow
**   io.open, io.popen,      device...); with the GIL on, another thread
**   io.close, file:close,   runs meanwhile, as CPython releases its GIL
**   file:__gc, __close,     around every blocking system call
**   io.input, io.output,
**   file:seek, file:setvbuf,
**   io.tmpfile, os.execute,
**   os.remove, os.rename,
**   os.tmpname, loadfile,
**   dofile (the loading;
**   the chunk runs with the
**   GIL), package.loadlib,
**   package.searchpath,
**   package.searchers[2..4]
**   (require's file searchers)
**
** A wrapper that releases the GIL records what the thread does ("io.read",
** "os.execute"...) in the trace, so a timeline draws it as blocked, not
** running.  The wrapped function then runs in protected mode, so an error
** cannot skip re-taking the GIL or unlocking the FILE; since it was called
** from C, its message lacks what lua5.4 would show (the caller's position,
** the function's name in "bad argument" errors), which the wrapper puts
** back from its own frame (raise_as_caller).  While the GIL is released
** the collector is stopped, so that no finalizer runs Lua without it.
** With the GIL off and no
** trace, a wrapper calls the C function directly in its own frame, exactly
** as lua5.4 would.
**
** tl_blocking_io_write_whole is the one-piece write for C code (the error
** reports of kinds/report.c).
**
** Locking: stdio's own FILE locks (flockfile), always taken with the GIL
** released (kernel.h rule 1).
*/
#include <stdio.h>
#include <string.h>

#include "state.h"

typedef enum {
  IO_BLOCKS,        /* may block: GIL released */
  IO_WRITES,        /* writes the default output: its lock held, GIL released */
  IO_WRITES_SELF,   /* writes the file that is argument 1 */
} io_mode;

/* One wrapped function: how it is called, and what the trace calls it. */
typedef struct io_call {
  const char *field;
  io_mode mode;
  const char *what;   /* "io.read" */
  bool returns_lines; /* returns an iterator, wrapped in turn */
} io_call;

static const io_call io_calls[] = {
    {"write", IO_WRITES, "io.write", false},
    {"flush", IO_WRITES, "io.flush", false},
    {"read", IO_BLOCKS, "io.read", false},
    {"lines", IO_BLOCKS, "io.lines", true},
    {"open", IO_BLOCKS, "io.open", false},
    {"popen", IO_BLOCKS, "io.popen", false},
    {"close", IO_BLOCKS, "io.close", false},
    {"input", IO_BLOCKS, "io.input", false},
    {"output", IO_BLOCKS, "io.output", false},
    {"tmpfile", IO_BLOCKS, "io.tmpfile", false},
    {NULL, IO_BLOCKS, NULL, false},
};

static const io_call file_calls[] = {
    {"write", IO_WRITES_SELF, "file:write", false},
    {"flush", IO_WRITES_SELF, "file:flush", false},
    {"read", IO_BLOCKS, "file:read", false},
    {"lines", IO_BLOCKS, "file:lines", true},
    {"close", IO_BLOCKS, "file:close", false},
    {"seek", IO_BLOCKS, "file:seek", false},
    {"setvbuf", IO_BLOCKS, "file:setvbuf", false}, /* flushes what the buffer holds */
    {NULL, IO_BLOCKS, NULL, false},
};

static const io_call file_metamethods[] = {
    {"__gc", IO_BLOCKS, "file:close", false}, /* closing a popen waits for the child */
    {"__close", IO_BLOCKS, "file:close", false},
    {NULL, IO_BLOCKS, NULL, false},
};

static const io_call os_calls[] = {
    {"execute", IO_BLOCKS, "os.execute", false},
    {"remove", IO_BLOCKS, "os.remove", false},
    {"rename", IO_BLOCKS, "os.rename", false},
    {"tmpname", IO_BLOCKS, "os.tmpname", false},
    {NULL, IO_BLOCKS, NULL, false},
};

/* package's functions that open files (a FIFO's open(2) blocks) and the
** searchers require calls (2: Lua files, 3 and 4: C libraries). */
static const io_call package_calls[] = {
    {"loadlib", IO_BLOCKS, "package.loadlib", false},
    {"searchpath", IO_BLOCKS, "package.searchpath", false},
    {NULL, IO_BLOCKS, NULL, false},
};

static const io_call searcher_call = {"", IO_BLOCKS, "require", false};

static const io_call lines_iterator = {"", IO_BLOCKS, "io.lines", false};

/* loadfile and dofile: wrapped in every state by light C functions (no
** closure to make for each new thread), which call the base library's
** own, found once in a scratch state (the same in every state). */
static const io_call loadfile_call = {"loadfile", IO_BLOCKS, "loadfile", false};
static const io_call dofile_call = {"dofile", IO_BLOCKS, "dofile", false};
static struct {
  pthread_once_t once;
  lua_CFunction loadfile, dofile; /* NULL: not found (then not wrapped) */
} base = {.once = PTHREAD_ONCE_INIT};

static void find_base(void) {
  lua_State *S = luaL_newstate();
  if (S == NULL) return;
  luaL_requiref(S, LUA_GNAME, luaopen_base, 0);
  lua_getfield(S, -1, "loadfile");
  lua_getfield(S, -2, "dofile");
  base.loadfile = lua_tocfunction(S, -2);
  base.dofile = lua_tocfunction(S, -1);
  lua_close(S);
}

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

/* --- error messages, as lua5.4 would write them ------------------------- */

/* Pushes "mod.name" if the running function is a field of a loaded module
** (as lauxlib's pushglobalfuncname: "_G.print" is "print"). */
static bool push_global_name(lua_State *L, lua_Debug *ar) {
  int top = lua_gettop(L);
  lua_getinfo(L, "f", ar);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1)) {
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_rawequal(L, -1, top + 1)) {
          const char *mod = lua_tostring(L, -4), *name = lua_tostring(L, -2);
          if (strcmp(mod, LUA_GNAME) == 0) lua_pushstring(L, name);
          else lua_pushfstring(L, "%s.%s", mod, name);
          lua_replace(L, top + 1);
          lua_settop(L, top + 1);
          return true;
        }
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
  }
  lua_settop(L, top);
  return false;
}

/* The error on top came from the wrapped function, called from this C
** function: adds the position of this function's caller, and rewrites
** "bad argument #N to '?' (...)" with this function's name and the
** argument count the caller sees (a method's self is not counted). */
static int raise_as_caller(lua_State *L) {
  if (lua_type(L, -1) != LUA_TSTRING) return lua_error(L);
  const char *msg = lua_tostring(L, -1);
  static const char bad[] = "bad argument #";
  const char *to = strstr(msg, " to '?' (");
  int arg = 0;
  luaL_where(L, 1);
  lua_Debug ar;
  if (strncmp(msg, bad, sizeof bad - 1) == 0 && to != NULL && sscanf(msg + sizeof bad - 1, "%d", &arg) == 1 &&
      lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar)) {
    const char *detail = to + 8; /* "(...)" */
    if (ar.namewhat != NULL && strcmp(ar.namewhat, "method") == 0) arg--;
    const char *name = ar.name;
    if (name == NULL) name = push_global_name(L, &ar) ? lua_tostring(L, -1) : "?";
    if (arg == 0) lua_pushfstring(L, "calling '%s' on bad self %s", name, detail);
    else lua_pushfstring(L, "bad argument #%d to '%s' %s", arg, name, detail);
    if (name != ar.name && strcmp(name, "?") != 0) lua_remove(L, -2);
  } else {
    lua_pushvalue(L, -2);
  }
  lua_concat(L, 2);
  return lua_error(L);
}

/* --- the wrapper ---------------------------------------------------------- */

static void wrap_at(lua_State *L, int idx, const io_call *call);

/* Calls the wrapped function with the arguments on the stack: 'direct' if
** it is a C function without upvalues (then, with the GIL off and no trace,
** in this very frame), else the function at upvalue 1. */
static int call_blocking(lua_State *L, const io_call *call, lua_CFunction direct) {
  int nargs = lua_gettop(L);
  tl_sched_point(L, call->what, NULL);
  if (direct != NULL && call->mode == IO_BLOCKS && !tl_gil_held() && !tl_trace_wanted()) {
    int n = direct(L); /* lua5.4's own call, in this frame: its messages are exact */
    if (call->returns_lines && n >= 1 && lua_isfunction(L, -n)) wrap_at(L, lua_gettop(L) - n + 1, &lines_iterator);
    return n;
  }
  FILE *f = call->mode == IO_WRITES ? default_output(L) : call->mode == IO_WRITES_SELF ? stream_of(L, 1) : NULL;
  if (direct != NULL) lua_pushcfunction(L, direct);
  else lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  /* No finalizer may run Lua while the GIL is released: the collector
  ** waits until this thread holds it again. */
  bool stop_gc = tl_gil_held() && lua_gc(L, LUA_GCISRUNNING);
  if (stop_gc) lua_gc(L, LUA_GCSTOP);
  tl_waiting w;
  tl_wait_begin(&w, call->what, NULL);
  if (f) flockfile(f);
  int status = lua_pcall(L, nargs, LUA_MULTRET, 0);
  if (f) funlockfile(f);
  tl_wait_end(&w);
  if (stop_gc) lua_gc(L, LUA_GCRESTART);
  if (status == LUA_ERRRUN) return raise_as_caller(L);
  if (status != LUA_OK) return lua_error(L);
  int n = lua_gettop(L);
  if (call->returns_lines && n >= 1 && lua_isfunction(L, 1)) wrap_at(L, 1, &lines_iterator);
  return n;
}

/* Upvalues: the wrapped function, the io_call (light userdata). */
static int blocking_call(lua_State *L) {
  const io_call *call = (const io_call *)lua_touserdata(L, lua_upvalueindex(2));
  lua_CFunction direct = lua_tocfunction(L, lua_upvalueindex(1));
  if (direct != NULL && lua_getupvalue(L, lua_upvalueindex(1), 1) != NULL) { /* a C closure */
    lua_pop(L, 1);
    direct = NULL;
  }
  return call_blocking(L, call, direct);
}

static int blocking_loadfile(lua_State *L) { return call_blocking(L, &loadfile_call, base.loadfile); }

static int dofile_continue(lua_State *L, int status, lua_KContext below) {
  (void)status;
  return lua_gettop(L) - (int)below;
}

/* dofile: loadfile's part with the GIL released, then the chunk's call
** with it held, as lbaselib.c's (a load error raised as it is). */
static int blocking_dofile(lua_State *L) {
  if (!tl_gil_held() && !tl_trace_wanted()) return call_blocking(L, &dofile_call, base.dofile);
  luaL_optstring(L, 1, NULL);
  lua_settop(L, 1);
  int n = call_blocking(L, &dofile_call, base.loadfile); /* chunk | nil, message */
  if (lua_isnil(L, -n)) return lua_error(L);
  int below = lua_gettop(L) - 1; /* (the chunk is on top) */
  lua_callk(L, 0, LUA_MULTRET, below, dofile_continue);
  return dofile_continue(L, LUA_OK, below);
}

/* Replaces the function at idx by its wrapper. */
static void wrap_at(lua_State *L, int idx, const io_call *call) {
  idx = lua_absindex(L, idx);
  lua_pushvalue(L, idx);
  lua_pushlightuserdata(L, (void *)call);
  lua_pushcclosure(L, blocking_call, 2);
  lua_replace(L, idx);
}

static void wrap_fields(lua_State *L, int table, const io_call *calls) {
  for (const io_call *c = calls; c->field != NULL; c++) {
    if (lua_getfield(L, table, c->field) == LUA_TFUNCTION) {
      wrap_at(L, -1, c);
      lua_setfield(L, table, c->field);
    } else {
      lua_pop(L, 1);
    }
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
  tl_sched_point(L, "print", NULL);
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
  wrap_fields(L, io, io_calls);
  if (luaL_getmetatable(L, LUA_FILEHANDLE) == LUA_TTABLE) {
    int meta = lua_gettop(L);
    wrap_fields(L, meta, file_metamethods);
    if (lua_getfield(L, meta, "__index") == LUA_TTABLE) wrap_fields(L, lua_gettop(L), file_calls);
  }
  lua_settop(L, top);
}

void tl_blocking_io_wrap_os(lua_State *L, int os) { wrap_fields(L, lua_absindex(L, os), os_calls); }

void tl_blocking_io_wrap_package(lua_State *L, int package) {
  package = lua_absindex(L, package);
  wrap_fields(L, package, package_calls);
  if (lua_getfield(L, package, "searchers") == LUA_TTABLE) {
    for (int i = 2; i <= 4; i++) {
      if (lua_rawgeti(L, -1, i) == LUA_TFUNCTION) {
        wrap_at(L, -1, &searcher_call);
        lua_rawseti(L, -2, i);
      } else {
        lua_pop(L, 1);
      }
    }
  }
  lua_pop(L, 1);
}

/* _G.name = wrapper if _G.name is the base library's function (a script
** may have replaced it in stock lua's main state: then it is left alone). */
static void wrap_base(lua_State *L, int g, const char *name, lua_CFunction original, lua_CFunction wrapper) {
  lua_getfield(L, g, name);
  bool found = original != NULL && lua_tocfunction(L, -1) == original;
  lua_pop(L, 1);
  if (found) {
    lua_pushcfunction(L, wrapper);
    lua_setfield(L, g, name);
  }
}

/* print, whole lines, and loadfile and dofile, which release the GIL; set
** after the base library opens (it sets its own). */
void tl_blocking_io_open_print(lua_State *L) {
  lua_pushcfunction(L, atomic_print);
  lua_setglobal(L, "print");
  pthread_once(&base.once, find_base);
  if (base.loadfile == NULL || base.dofile == NULL) return;
  lua_pushglobaltable(L);
  wrap_base(L, lua_gettop(L), "loadfile", base.loadfile, blocking_loadfile);
  wrap_base(L, lua_gettop(L), "dofile", base.dofile, blocking_dofile);
  lua_pop(L, 1);
}

/* io, os and package if they are open already; and the C API for C modules
** (which release the GIL around their own blocking calls).  (package is
** looked for only in a state whose io is open: a main state, where all
** are; a thread's state opens each later, through builtins.c's wrappers.) */
void tl_blocking_io_open(lua_State *L) {
  tl_capi_open(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  bool io = lua_getfield(L, -1, LUA_IOLIBNAME) == LUA_TTABLE;
  if (io) tl_blocking_io_wrap_io(L, -1);
  lua_pop(L, 1);
  if (lua_getfield(L, -1, LUA_OSLIBNAME) == LUA_TTABLE) tl_blocking_io_wrap_os(L, -1);
  lua_pop(L, 1);
  if (io && lua_getfield(L, -1, LUA_LOADLIBNAME) == LUA_TTABLE) tl_blocking_io_wrap_package(L, -1);
  lua_settop(L, lua_gettop(L) - (io ? 2 : 1));
}
