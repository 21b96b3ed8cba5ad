/*
** compile_lua.c -- a build tool: compiles a Lua part (a .lua file under lua/threading)
** to bytecode with the very Lua library tlua links, so that the binaries
** embed bytecode and a state that requires a part loads it without
** parsing (cmake/embed_lua.cmake writes the C array).  Debug information
** is kept: tracebacks name lua/threading/<part>.lua and its lines.
**
**   compile_lua SOURCE CHUNKNAME OUTPUT
*/
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>

static int write_chunk(lua_State *L, const void *p, size_t size, void *out) {
  (void)L;
  return fwrite(p, 1, size, (FILE *)out) != size;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s SOURCE CHUNKNAME OUTPUT\n", argv[0]);
    return 2;
  }
  lua_State *L = luaL_newstate();
  if (L == NULL) return 1;
  FILE *in = fopen(argv[1], "rb");
  if (in == NULL) {
    perror(argv[1]);
    return 1;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  size_t n;
  char chunk[4096];
  while ((n = fread(chunk, 1, sizeof chunk, in)) > 0) luaL_addlstring(&b, chunk, n);
  fclose(in);
  luaL_pushresult(&b);
  size_t len;
  const char *src = lua_tolstring(L, -1, &len);
  if (luaL_loadbufferx(L, src, len, argv[2], "t") != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    return 1;
  }
  FILE *out = fopen(argv[3], "wb");
  if (out == NULL) {
    perror(argv[3]);
    return 1;
  }
  int failed = lua_dump(L, write_chunk, out, 0) != 0;
  failed |= fclose(out) != 0;
  lua_close(L);
  return failed;
}
