/*
** roundtrip_floor.c roundtrip COUNT REPS: the floor under transfer.lua's
** round trip on this machine: the same 10,000-string table copied from one
** Lua state to another and back, COUNT times in each of REPS runs, with
** only the work no copy between two threads can skip.  Each way, the
** strings are read out of the sender's table into a buffer (length and
** bytes, as a message to another thread must hold them), then pushed into
** the receiver's state (lua_pushlstring, which interns each one) and set
** into a new table made at its final size.  Both states live in this one
** thread: no threads, no queue, no wake-ups, no format beyond the bytes.
** As in transfer.lua, the receiver keeps its copy until the next one
** arrives, and the sender's table is kept throughout.
** Prints the median milliseconds per round trip, as "round_trip_ms X".
** Built and run by scripts/bench/driver.lua (cc -O2, with the system's
** liblua5.4: the Lua tlua links).
*/
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>

#include "floor.h"

#define STRINGS 10000

typedef struct buffer {
  char *bytes;
  size_t len, cap;
} buffer;

static void put(buffer *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->bytes = realloc(b->bytes, b->cap);
    if (b->bytes == NULL) abort();
  }
  memcpy(b->bytes + b->len, p, n);
  b->len += n;
}

/* The table on top of 'from' into 'b': its length, then each string. */
static void encode(lua_State *from, buffer *b) {
  size_t n = (size_t)lua_rawlen(from, -1);
  b->len = 0;
  put(b, &n, sizeof n);
  for (size_t i = 1; i <= n; i++) {
    size_t len;
    lua_rawgeti(from, -1, (lua_Integer)i);
    const char *s = lua_tolstring(from, -1, &len);
    put(b, &len, sizeof len);
    put(b, s, len);
    lua_pop(from, 1);
  }
}

/* 'b' into a new table on top of 'to'. */
static void decode(lua_State *to, const buffer *b) {
  const char *p = b->bytes;
  size_t n, len;
  memcpy(&n, p, sizeof n);
  p += sizeof n;
  lua_createtable(to, (int)n, 0);
  for (size_t i = 1; i <= n; i++) {
    memcpy(&len, p, sizeof len);
    lua_pushlstring(to, p + sizeof len, len);
    lua_rawseti(to, -2, (lua_Integer)i);
    p += sizeof len + len;
  }
}

int main(int argc, char **argv) {
  int count = argc > 2 ? atoi(argv[2]) : 50, reps = argc > 3 ? atoi(argv[3]) : 3;
  if (argc < 2 || strcmp(argv[1], "roundtrip") != 0 || count < 1 || reps < 1 || reps > 100) {
    fprintf(stderr, "usage: roundtrip_floor roundtrip COUNT REPS\n");
    return 2;
  }
  lua_State *sender = luaL_newstate(), *echo = luaL_newstate();
  if (sender == NULL || echo == NULL) return 1;
  lua_createtable(sender, STRINGS, 0);
  for (int i = 1; i <= STRINGS; i++) {
    lua_pushfstring(sender, "string number %d", 100000 + i); /* 20 bytes, as transfer.lua's */
    lua_rawseti(sender, -2, i);
  }
  lua_pushnil(echo); /* the echo's copy, replaced at each arrival */
  lua_pushnil(sender); /* the copy that came back */
  lua_rotate(sender, -2, 1); /* the strings on top */
  buffer b = {NULL, 0, 0};
  double *times = malloc(sizeof(double) * (size_t)count * (size_t)reps);
  if (times == NULL) return 1;
  for (int r = 0; r < count * reps; r++) {
    double t0 = now();
    encode(sender, &b);
    lua_pop(echo, 1);
    decode(echo, &b);
    encode(echo, &b);
    decode(sender, &b);
    times[r] = now() - t0;
    lua_rotate(sender, -3, -1); /* drop the previous copy, keep the new one under the strings */
    lua_pop(sender, 1);
    lua_rotate(sender, -2, 1);
  }
  printf("round_trip_ms %g\n", median(times, count * reps) * 1e3);
  lua_close(sender);
  lua_close(echo);
  free(times);
  free(b.bytes);
  return 0;
}
