/*
** state.h -- layer 2 of tlua: the Lua states it runs.  The main state
** opens every standard library as lua.c does; a new thread's state opens
** only the base library and the rest on first use.  Also the table of
** built-in modules, the coroutine functions that tell the kernel which
** state runs, the thread-aware standard I/O, and the Lua parts of the
** module embedded in the binary.
**
** It calls only the kernel.  Locking: none of its own but stdio's FILE
** locks (blocking_io.c): a state belongs to the one OS thread that runs
** it, and the tables here are constant once set up.
*/
#ifndef TLUA_STATE_H
#define TLUA_STATE_H

#include "lauxlib.h"
#include "lualib.h"
#include "../kernel/kernel.h"

/* --- states (state.c) ----------------------------------------------- */

/* A fresh state (the main one, the tools'); NULL on out of memory.  Close
** it with tl_state_close. */
lua_State *tl_state_new(void);
/* A thread's state, on an arena of its own (alloc.c), with a cap on its
** memory in bytes (0: none).  lift_limit removes the cap (reporting an
** error needs memory, even after a memory error). */
lua_State *tl_state_new_thread(size_t limit);
void tl_state_close(lua_State *L);
void tl_state_lift_limit(lua_State *L);
/* Lua warnings (warn()) to stderr, off until "@on" as in lua.c. */
void tl_state_setwarnf(lua_State *L, bool on);
/* Opens the standard libraries, the blocking-I/O wrappers and makes
** 'threading' requirable (the main state). */
void tl_state_open_main(lua_State *L);
/* The same without the GIL-aware wrappers of print, io, os and coroutine:
** a state of the tools' own (tools/outputs.c), which runs Lua outside the
** GIL's rules, e.g. while the process ends. */
void tl_state_open_tool(lua_State *L);
/* The same for a new thread's state, leaner: the base library now, the
** other built-in modules when first used. */
void tl_state_open_thread(lua_State *L);

/* Whether warnings are on in this OS thread's state (warn("@on"), -W). */
bool tl_state_warnings_on(void);

/* --- what a new thread inherits (inherit.c) ------------------------------- */

typedef struct tl_inherit {
  char *path, *cpath; /* package.path and package.cpath; NULL: the defaults */
  bool warnings;      /* warnings on */
} tl_inherit;
/* In the starting state L: its settings now (false: out of memory). */
bool tl_state_inherit_capture(lua_State *L, tl_inherit *in);
/* In the new thread, before any Lua code of its state L runs ('in' must
** outlive L); tl_state_inherit_apply(NULL, NULL) once L is closed. */
void tl_state_inherit_apply(lua_State *L, const tl_inherit *in);
/* When L's package library (the table at idx) opens: the inherited paths. */
void tl_state_inherit_package(lua_State *L, int idx);
void tl_state_inherit_free(tl_inherit *in);
/* Stock lua5.4's main state, when threading loads into it: tlua's warning
** function, on if lua.c's was. */
void tl_state_adopt_warnings(lua_State *L);

/* --- the allocator of thread states (alloc.c) --------------------------- */

typedef struct tl_arena tl_arena;
lua_State *tl_arena_newstate(size_t limit, tl_arena **arena);
bool tl_arena_of(lua_State *L, tl_arena **arena); /* false: not an arena state */
void tl_arena_lift_limit(tl_arena *a);
void tl_arena_free(tl_arena *a);                  /* after lua_close */

/* --- built-in modules (builtins.c) ------------------------------------ */

/* The module layer hands over luaopen_threading before any state needs it
** (the state layer cannot name it: it lives above). */
void tl_builtins_set_threading(lua_CFunction open);
/* Pushes this state's module 'name': package.loaded[name], else a
** built-in (standard library, threading) opened now, else require(name). */
void tl_builtins_require(lua_State *L, const char *name);
/* The i-th built-in's name (0-based), NULL past the last: the standard
** libraries in lua.c's order, then package and threading. */
const char *tl_builtins_name(int i);
/* The built-in named 'name' that is not the threading module, if any. */
bool tl_builtins_is_library(const char *name);

/* Under a deterministic schedule, seeds math.random of L (the table at
** idx is the math library) from the schedule: the same numbers each run. */
void tl_state_seed_random(lua_State *L, int idx);

/* --- coroutines (coroutine.c) ---------------------------------------- */

/* Replaces resume and wrap in the coroutine table at idx; opens them in
** L's coroutine library if it is loaded. */
void tl_coroutine_wrap_lib(lua_State *L, int idx);
void tl_coroutine_open(lua_State *L);

/* --- standard I/O (blocking_io.c) ------------------------------------ */

void tl_blocking_io_open(lua_State *L); /* wraps io/os/package if open; C API */
void tl_blocking_io_open_print(lua_State *L); /* print: whole lines; loadfile, dofile */
void tl_blocking_io_wrap_io(lua_State *L, int idx); /* the io table at idx */
void tl_blocking_io_wrap_os(lua_State *L, int idx); /* the os table at idx */
void tl_blocking_io_wrap_package(lua_State *L, int idx); /* the package table at idx */
/* Writes the buffer to f in one piece (stdio lock held), GIL released. */
void tl_blocking_io_write_whole(FILE *f, const char *s, size_t len);

/* --- the C API for C modules (capi.c, tlua.h) --------------------------- */

void tl_capi_open(lua_State *L); /* the registry entry C modules look up */

/* --- the module's Lua parts (lua_parts.c) ----------------------------- */

void tl_lua_parts_open(lua_State *L); /* package.preload of lua/ files */

#endif
