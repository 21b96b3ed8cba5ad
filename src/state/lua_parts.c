/*
** lua_parts.c -- the modules written in Lua (the .lua files under
** lua/threading), built into the binary by CMake as bytecode
** (cmake/compile_lua.c compiles each with the Lua library tlua links,
** cmake/embed_lua.cmake generates lua_parts_data.c) and made requirable
** through package.preload in every state.  Loading bytecode skips the
** parser: a thread that requires threading.executor pays a fifth of
** what compiling its source cost.
**
** Locking: none; the parts are constant data.
*/
#include "state.h"

typedef struct tl_lua_part {
  const char *module;    /* "threading.log" */
  const char *chunkname; /* "@lua/threading/log.lua" */
  const char *bytecode;  /* with debug information: tracebacks show lines */
  size_t length;
} tl_lua_part;

extern const tl_lua_part tl_lua_parts[]; /* ends with a NULL module */

static int load_part(lua_State *L) {
  const tl_lua_part *p = (const tl_lua_part *)lua_touserdata(L, lua_upvalueindex(1));
  if (luaL_loadbufferx(L, p->bytecode, p->length, p->chunkname, "b") != LUA_OK) return lua_error(L);
  lua_pushstring(L, p->module);
  lua_call(L, 1, 1);
  return 1;
}

void tl_lua_parts_open(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const tl_lua_part *p = tl_lua_parts; p->module != NULL; p++) {
    lua_pushlightuserdata(L, (void *)p);
    lua_pushcclosure(L, load_part, 1);
    lua_setfield(L, -2, p->module);
  }
  lua_pop(L, 1);
}
