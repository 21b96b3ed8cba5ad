/*
** fuzz_transfer.c -- libFuzzer target for the value-transfer layer
** (src/value: tl_blob_encode / tl_blob_decode).
**
** The input bytes are a little program run in a fresh state A: each
** instruction pushes a value into a pool (integers, floats with NaN and
** -0.0, binary strings, tables, Lua closures with upvalues and shared
** upvalues made by load()ing small templates, standard C functions, the
** globals, modules, threading objects, and values that may not cross:
** coroutines, io.stdout, light userdata, unknown C functions and C
** closures) or links pool values (t[k] = v, setmetatable, cycles).  The
** last few pool values are then encoded in A and decoded in a fresh state
** B, and the harness checks:
**   - encoding fails exactly when something unsendable is reachable (by
**     the contract's rules), and then with a message saying "cannot send";
**   - otherwise decoding succeeds and B's values are structurally equal to
**     A's: same types, same numbers (bit for bit), same strings, same
**     sharing and cycles (a bijection between A's and B's tables,
**     functions and upvalues), same metatables, same bytecode, the same
**     threading objects, and _ENV / the globals / modules mapped to B's;
**   - B's values encode again and decode back in A equal to the originals;
**   - no threading object reference is leaked (live count back to start).
** Any mismatch aborts, which libFuzzer reports as a crash with the input.
**
** Locking: single-threaded; no mutex of its own.  The garbage collector
** is stopped in A and B while a program runs so that weak tables built by
** the program (a metatable with __mode) cannot lose entries mid-check.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module/module.h"

#define MAX_POOL 96   /* values a program may create */
#define MAX_NODES 80  /* tables + functions: keeps nesting far below 200 */
#define MAX_ROOTS 4

/* ------------------------------------------------------------------ */
/* Reading the program                                                 */
/* ------------------------------------------------------------------ */

typedef struct input {
  const uint8_t *p, *end;
} input;

static bool more(const input *in) { return in->p < in->end; }
static uint8_t byte(input *in) { return more(in) ? *in->p++ : 0; }

static uint64_t bytes64(input *in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)byte(in) << (8 * i);
  return v;
}

static void fail_check(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_transfer: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort();
}

/* ------------------------------------------------------------------ */
/* Building values in A                                                */
/* ------------------------------------------------------------------ */

/* A program's state: the pool is a Lua table at stack index POOL of A;
** 'owned[i]' says pool value i is a table the program made (only those
** may be written to: never the globals or a module). */
enum { POOL = 1 };
typedef struct program {
  lua_State *A;
  int n;           /* pool size */
  int nodes;       /* tables and functions made */
  bool owned[MAX_POOL + 1];
} program;

/* Pops the value on top of A into the pool; false if the pool is full
** (the value is dropped). */
static bool pool_add(program *pr, bool owned) {
  if (pr->n >= MAX_POOL) {
    lua_pop(pr->A, 1);
    return false;
  }
  pr->n++;
  pr->owned[pr->n] = owned;
  lua_rawseti(pr->A, POOL, pr->n);
  return true;
}

static int pool_pick(program *pr, input *in) { return pr->n ? 1 + byte(in) % pr->n : 0; }

#define WORD(s) {s, sizeof(s) - 1}
static const struct {
  const char *s;
  size_t len;
} dictionary[] = {
    WORD(""),        WORD("k"),           WORD("v"),      WORD("kv"),         WORD("x"),
    WORD("_ENV"),    WORD("__index"),     WORD("__gc"),   WORD("__mode"),     WORD("__close"),
    WORD("__name"),  WORD("__metatable"), WORD("__call"), WORD("__tostring"), WORD("a\0b"),
    WORD("\xff\xfe"), WORD("1"),           WORD("-0"),     WORD("nan"),
};

static void push_string(program *pr, input *in) {
  uint8_t how = byte(in);
  if (how < 128) {
    size_t i = how % (sizeof dictionary / sizeof dictionary[0]);
    lua_pushlstring(pr->A, dictionary[i].s, dictionary[i].len);
    return;
  }
  char buf[64];
  size_t len = byte(in) % sizeof buf;
  for (size_t i = 0; i < len; i++) buf[i] = (char)byte(in);
  lua_pushlstring(pr->A, buf, len);
}

static void push_integer(program *pr, input *in) {
  static const lua_Integer special[] = {0, 1, -1, 2, LUA_MAXINTEGER, LUA_MININTEGER, 255, 256,
                                        1 << 30, (lua_Integer)1 << 53};
  uint8_t how = byte(in);
  if (how < 128) lua_pushinteger(pr->A, special[how % (sizeof special / sizeof special[0])]);
  else lua_pushinteger(pr->A, (lua_Integer)bytes64(in));
}

static void push_float(program *pr, input *in) {
  static const double special[] = {0.0, -0.0, 0.5, 1.0, -1.0, 1e308, 5e-324, 2.0e63};
  uint8_t how = byte(in);
  double d;
  switch (how % 6) {
    case 0: d = NAN; break;
    case 1: d = -NAN; break;
    case 2: d = (how & 8) ? INFINITY : -INFINITY; break;
    case 3: {
      uint64_t bits = bytes64(in); /* any bits: NaN payloads, denormals */
      memcpy(&d, &bits, sizeof d);
      break;
    }
    default: d = special[(how >> 3) % (sizeof special / sizeof special[0])]; break;
  }
  lua_pushnumber(pr->A, d);
}

/* Closures made by load()ing templates: (source, number of arguments). */
static const struct {
  const char *src;
  int nargs;
} templates[] = {
    {"return function() return 1 end", 0},
    {"local u = ... return function() return u end", 1},
    {"local a, b = ... return function() return a, b end", 2},
    {"local a = ... return function() return a end, function(x) a = x end", 1},
    {"local f; f = function() return f end return f", 0},
    {"return function() return print, tostring, x end", 0},
    {"local s = string return function() return s.len end", 0},
    {"local G = _G return function() return G end", 0},
    {"local a = ... local function g() return a end return function() return g, a end", 1},
    {"local m = require 'threading' return function() return m end", 0},
    {"local a, b, c = ... local function g() return b end\n"
     "return function() return a, g end, function() return c, b end", 3},
    {"local _ENV = {} return function() return y end", 0},
    {"return load(string.dump(function() return u end, true))", 0},
    {"return load('return ...')", 0},
};

static void push_function(program *pr, input *in) {
  lua_State *A = pr->A;
  int t = byte(in) % (int)(sizeof templates / sizeof templates[0]);
  int top = lua_gettop(A);
  if (luaL_loadstring(A, templates[t].src) != LUA_OK) fail_check("template", lua_tostring(A, -1));
  for (int i = 0; i < templates[t].nargs; i++) {
    int k = pool_pick(pr, in);
    if (k) lua_rawgeti(A, POOL, k);
    else lua_pushnil(A);
  }
  if (lua_pcall(A, templates[t].nargs, LUA_MULTRET, 0) != LUA_OK)
    fail_check("template call", lua_tostring(A, -1));
  int made = lua_gettop(A) - top;
  for (int i = top + 1; i <= top + made; i++) {
    lua_pushvalue(A, i);
    pool_add(pr, false);
    pr->nodes++;
  }
  lua_settop(A, top);
}

/* Standard C functions that cross by name; harmless if a program makes
** one a __gc metamethod (it runs at lua_close). */
static void push_c_function(program *pr, input *in) {
  static const char *const names[][2] = {
      {"_G", "type"},      {"_G", "tostring"},    {"_G", "rawequal"}, {"_G", "next"},
      {"string", "len"},   {"string", "format"},  {"math", "floor"},  {"table", "concat"},
      {"_G", "pcall"},     {"threading", "Lock"}, {"threading", "get_ident"},
  };
  int i = byte(in) % (int)(sizeof names / sizeof names[0]);
  luaL_getsubtable(pr->A, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(pr->A, -1, names[i][0]);
  lua_getfield(pr->A, -1, names[i][1]);
  lua_replace(pr->A, -3);
  lua_pop(pr->A, 1);
}

static int unknown_c_function(lua_State *L) {
  (void)L;
  return 0;
}

static int light_userdata_anchor;

/* Values that may not cross. */
static void push_refused(program *pr, input *in) {
  lua_State *A = pr->A;
  switch (byte(in) % 5) {
    case 0: lua_newthread(A); break;
    case 1:
      luaL_getsubtable(A, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
      lua_getfield(A, -1, "io");
      lua_getfield(A, -1, "stdout");
      lua_replace(A, -3);
      lua_pop(A, 1);
      break;
    case 2: lua_pushlightuserdata(A, &light_userdata_anchor); break;
    case 3: lua_pushcfunction(A, unknown_c_function); break;
    default: /* a C closure of a standard function */
      if (luaL_dostring(A, "return string.gmatch('ab', '.')") != LUA_OK)
        fail_check("gmatch", lua_tostring(A, -1));
      break;
  }
}

/* Threading objects: cross by reference. */
static void push_object(program *pr, input *in) {
  static const char *const makers[] = {
      "return require('threading').Lock()",    "return require('threading').Event()",
      "return require('threading').RLock()",   "return require('threading').Queue(2)",
      "return require('threading').shared()",  "return require('threading').Semaphore(3)",
      "return require('threading').shared{1, x = 'y', [2.5] = {true}}",
      "return require('threading').ThreadPoolExecutor(1)", /* shared by reference too, never started */
      "return require('threading').Future()",
  };
  int i = byte(in) % (int)(sizeof makers / sizeof makers[0]);
  if (luaL_dostring(pr->A, makers[i]) != LUA_OK) fail_check("object", lua_tostring(pr->A, -1));
}

/* The globals, or a module as a value: it crosses by name, as the
** receiver's module of that name (a standard library, threading, one of
** its Lua parts, or a script's own module that every state has). */
static void push_library_value(program *pr, input *in) {
  static const char *const modules[] = {"string", "threading", "utf8", "threading.log", "fuzz_module"};
  lua_State *A = pr->A;
  uint8_t how = byte(in);
  if (how % 6 == 0) {
    if (how & 64) { /* a logger: crosses as the receiver's of that name (its __reduce) */
      if (luaL_dostring(A, "return require('threading.log').getLogger('fuzz')") != LUA_OK)
        fail_check("logger", lua_tostring(A, -1));
      return;
    }
    lua_rawgeti(A, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    return;
  }
  luaL_getsubtable(A, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(A, -1, modules[how % 6 - 1]);
  lua_remove(A, -2);
}

static bool is_nan_key(lua_State *L, int idx) {
  return lua_type(L, idx) == LUA_TNUMBER && lua_tonumber(L, idx) != lua_tonumber(L, idx);
}

/* t[k] = v for pool values (t one of the program's tables). */
static void link_values(program *pr, input *in, bool self_cycle) {
  lua_State *A = pr->A;
  int t = pool_pick(pr, in), k = pool_pick(pr, in), v = self_cycle ? t : pool_pick(pr, in);
  if (!t || !k || !pr->owned[t]) return;
  lua_rawgeti(A, POOL, t);
  lua_rawgeti(A, POOL, k);
  lua_rawgeti(A, POOL, v);
  if (lua_isnil(A, -2) || is_nan_key(A, -2)) lua_pop(A, 3);
  else {
    lua_rawset(A, -3);
    lua_pop(A, 1);
  }
}

static void set_metatable(program *pr, input *in) {
  lua_State *A = pr->A;
  int t = pool_pick(pr, in), mt = pool_pick(pr, in);
  if (!t || !mt || !pr->owned[t] || !pr->owned[mt]) return;
  lua_rawgeti(A, POOL, t);
  lua_rawgeti(A, POOL, mt);
  lua_setmetatable(A, -2);
  lua_pop(A, 1);
}

/* Runs the program; leaves the roots on A's stack, returns how many. */
static int run_program(program *pr, input *in) {
  lua_State *A = pr->A;
  while (more(in)) {
    uint8_t op = byte(in);
    switch (op % 16) {
      case 0: lua_pushnil(A); pool_add(pr, false); break;
      case 1: lua_pushboolean(A, op & 16); pool_add(pr, false); break;
      case 2: push_integer(pr, in); pool_add(pr, false); break;
      case 3: push_float(pr, in); pool_add(pr, false); break;
      case 4: push_string(pr, in); pool_add(pr, false); break;
      case 5:
      case 6:
        if (pr->nodes >= MAX_NODES || pr->n >= MAX_POOL) break;
        lua_newtable(A);
        pool_add(pr, true);
        pr->nodes++;
        break;
      case 7:
      case 8: link_values(pr, in, false); break;
      case 9: link_values(pr, in, true); break;
      case 10: set_metatable(pr, in); break;
      case 11:
        if (pr->nodes + 3 > MAX_NODES || pr->n + 3 > MAX_POOL) break;
        push_function(pr, in);
        break;
      case 12: push_c_function(pr, in); pool_add(pr, false); break;
      case 13:
        if (op & 0x80) push_object(pr, in);
        else push_refused(pr, in);
        pool_add(pr, false);
        break;
      case 14: push_library_value(pr, in); pool_add(pr, false); break;
      default: { /* duplicate a value (more sharing) */
        int k = pool_pick(pr, in);
        if (k) {
          lua_rawgeti(A, POOL, k);
          pool_add(pr, pr->owned[k]);
        }
        break;
      }
    }
  }
  int roots = pr->n < MAX_ROOTS ? pr->n : MAX_ROOTS;
  for (int i = pr->n - roots + 1; i <= pr->n; i++) lua_rawgeti(A, POOL, i);
  return roots;
}

/* ------------------------------------------------------------------ */
/* The oracle: may these values cross?  (The contract's rules, written  */
/* independently of the encoder.)                                       */
/* ------------------------------------------------------------------ */

/* Is the table at idx a loaded module (package.loaded[string])? */
static bool is_module(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  bool found = false;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushnil(L);
  while (!found && lua_next(L, -2)) {
    found = lua_type(L, -2) == LUA_TSTRING && lua_rawequal(L, -1, idx);
    lua_pop(L, 1);
  }
  if (found) lua_pop(L, 1); /* the key */
  lua_pop(L, 1);
  return found;
}

static bool is_globals(lua_State *L, int idx);

/* If the table at idx has a metatable with a __reduce function: pushes
** what __reduce(t) returns, then their number, and returns true.  (A
** __reduce that raises pushes nothing but the count 0.) */
static bool call_reduce(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  int type = luaL_getmetafield(L, idx, "__reduce"); /* (a raw read) */
  if (type != LUA_TFUNCTION) {
    if (type != LUA_TNIL) lua_pop(L, 1);
    return false;
  }
  int top = lua_gettop(L) - 1;
  lua_pushvalue(L, idx);
  if (lua_pcall(L, 1, LUA_MULTRET, 0) != LUA_OK) lua_settop(L, top);
  lua_pushinteger(L, lua_gettop(L) - top);
  return true;
}

/* If the table at idx is a module, pushes its name and returns true. */
static bool push_module_name(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (is_globals(L, idx)) return false;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_rawequal(L, -1, idx)) {
      lua_pop(L, 1);
      lua_remove(L, -2);
      return true;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return false;
}

static bool is_globals(lua_State *L, int idx) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  bool g = lua_rawequal(L, -1, idx);
  lua_pop(L, 1);
  return g;
}

/* Is this C function a field of a standard library or of threading? */
static bool is_library_c_function(lua_State *L, int idx) {
  static const char *const libs[] = {"_G", "string", "table", "math", "io", "os",
                                     "coroutine", "utf8", "debug", "package", "threading"};
  idx = lua_absindex(L, idx);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
    if (lua_getfield(L, -1, libs[i]) == LUA_TTABLE) {
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_rawequal(L, -1, idx)) {
          lua_pop(L, 4);
          return true;
        }
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return false;
}

/* 'seen' (stack index) holds the tables and functions already checked. */
static bool sendable(lua_State *L, int idx, int seen) {
  idx = lua_absindex(L, idx);
  luaL_checkstack(L, 10, "sendable");
  switch (lua_type(L, idx)) {
    case LUA_TNIL: case LUA_TBOOLEAN: case LUA_TNUMBER: case LUA_TSTRING: return true;
    case LUA_TUSERDATA: return tl_object_test(L, idx, NULL) != NULL;
    case LUA_TTABLE: case LUA_TFUNCTION: break;
    default: return false; /* coroutines, light userdata */
  }
  if (lua_iscfunction(L, idx)) return is_library_c_function(L, idx);
  if (lua_istable(L, idx) && (is_globals(L, idx) || is_module(L, idx))) return true;
  lua_pushvalue(L, idx);
  if (lua_rawget(L, seen) != LUA_TNIL) {
    lua_pop(L, 1);
    return true;
  }
  lua_pop(L, 1);
  if (lua_istable(L, idx) && call_reduce(L, idx)) { /* sent as the call __reduce names */
    int n = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    bool ok = n >= 2 && n - 2 <= 250 && lua_type(L, -n) == LUA_TSTRING && lua_type(L, -n + 1) == LUA_TSTRING;
    for (int i = 3; ok && i <= n; i++) ok = sendable(L, -n + i - 1, seen);
    lua_pop(L, n);
    return ok;
  }
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, seen);
  if (lua_istable(L, idx)) {
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      if (!sendable(L, -2, seen) || !sendable(L, -1, seen)) {
        lua_pop(L, 2);
        return false;
      }
      lua_pop(L, 1);
    }
    if (lua_getmetatable(L, idx)) {
      bool ok = sendable(L, -1, seen);
      lua_pop(L, 1);
      return ok;
    }
    return true;
  }
  const char *name;
  for (int i = 1; (name = lua_getupvalue(L, idx, i)) != NULL; i++) {
    bool ok = (strcmp(name, "_ENV") == 0 && lua_istable(L, -1)) || sendable(L, -1, seen);
    lua_pop(L, 1);
    if (!ok) return false;
  }
  return true;
}

/* ------------------------------------------------------------------ */
/* Structural equality between values of two states                    */
/* ------------------------------------------------------------------ */

/* A short signature of a value, the same in both states for equal
** values (entries sorted, bounded depth): pairs keys that are tables or
** functions, whose iteration order differs between states. */
static const char SIGNATURE[] =
    "local objid = ...\n"
    "local function sig(v, depth, upvalue)\n"
    "  local t = type(v)\n"
    "  if t == 'nil' or t == 'boolean' then return tostring(v) end\n"
    "  if math.type(v) == 'integer' then return 'i' .. v end\n"
    "  if t == 'number' then return 'f' .. string.pack('<d', v) end\n"
    "  if t == 'string' then return 's' .. #v .. ':' .. v end\n"
    "  if t == 'userdata' then return 'o' .. tostring(objid(v)) end\n"
    "  if rawequal(v, _G) then return 'G' end\n"
    "  if t == 'table' then\n"
    "    for name, m in next, package.loaded do if rawequal(m, v) then return 'M' .. name end end\n"
    "    local mt = getmetatable(v)\n"
    "    if type(mt) == 'table' and type(rawget(mt, '__reduce')) == 'function' then\n"
    "      local parts = {'R'}\n"
    "      for _, x in ipairs(table.pack(pcall(rawget(mt, '__reduce'), v))) do parts[#parts + 1] = sig(x, 1) end\n"
    "      return table.concat(parts, '\\0')\n"
    "    end\n"
    "  end\n"
    "  if depth == 0 then return t:sub(1, 2) end\n"
    "  if t == 'function' then\n"
    "    if debug.getinfo(v, 'S').what == 'C' then return 'C' .. tostring(objid(v)) end\n"
    "    local parts = {'F', string.dump(v, true)}\n"
    "    for i = 1, 255 do\n"
    "      local name, u = debug.getupvalue(v, i)\n"
    "      if not name then break end\n"
    "      if name == '_ENV' and type(u) == 'table' then u = _G end\n"
    "      parts[#parts + 1] = sig(u, depth - 1, true)\n"
    "    end\n"
    "    return table.concat(parts, '\\0')\n"
    "  end\n"
    "  local parts = {}\n"
    "  for k, x in next, v do parts[#parts + 1] = sig(k, depth - 1) .. '=' .. sig(x, depth - 1) end\n"
    "  table.sort(parts)\n"
    "  return '{' .. table.concat(parts, ',') .. '|' .. sig(getmetatable(v), depth - 1) .. '}'\n"
    "end\n"
    "return sig\n";

/* objid(v): the threading object or C function behind v, as an integer
** (the same in every state), or nil. */
static int objid(lua_State *L) {
  tl_object *o = lua_type(L, 1) == LUA_TUSERDATA ? tl_object_test(L, 1, NULL) : NULL;
  if (o != NULL) lua_pushinteger(L, (lua_Integer)(uintptr_t)o);
  else if (lua_iscfunction(L, 1)) lua_pushinteger(L, (lua_Integer)(uintptr_t)lua_tocfunction(L, 1));
  else lua_pushnil(L);
  return 1;
}

/* One side of the comparison: a state plus its bookkeeping tables. */
typedef struct side {
  lua_State *L;
  int ids;    /* table/function -> id */
  int byid;   /* id -> table/function */
  int upids;  /* upvalue id (light userdata) -> id */
  int sig;    /* the signature function */
} side;

typedef struct compare {
  side a, b;
  int next_id;
  char path[512];
} compare;

static void side_open(side *s) {
  lua_State *L = s->L;
  luaL_checkstack(L, 8, "side_open");
  lua_newtable(L);
  s->ids = lua_gettop(L);
  lua_newtable(L);
  s->byid = lua_gettop(L);
  lua_newtable(L);
  s->upids = lua_gettop(L);
  if (luaL_loadstring(L, SIGNATURE) != LUA_OK) fail_check("signature", lua_tostring(L, -1));
  lua_pushcfunction(L, objid);
  lua_call(L, 1, 1);
  s->sig = lua_gettop(L);
}

static void mismatch(compare *c, const char *why) {
  char msg[768];
  snprintf(msg, sizeof msg, "%s at %s", why, c->path[0] ? c->path : "(root)");
  fail_check("values differ after transfer", msg);
}

/* Appends to the path while comparing below it; restored by the caller. */
static size_t path_push(compare *c, const char *fmt, const char *arg) {
  size_t len = strlen(c->path);
  if (len < sizeof c->path - 1) snprintf(c->path + len, sizeof c->path - len, fmt, arg);
  return len;
}

static void path_key(compare *c, lua_State *L, int k, size_t *saved) {
  char buf[64];
  if (lua_type(L, k) == LUA_TSTRING) snprintf(buf, sizeof buf, "%.40s", lua_tostring(L, k));
  else if (lua_type(L, k) == LUA_TNUMBER) snprintf(buf, sizeof buf, "%.17g", lua_tonumber(L, k));
  else snprintf(buf, sizeof buf, "<%s>", luaL_typename(L, k));
  *saved = path_push(c, "[%s]", buf);
}

/* The signature of L[idx] as a C string (kept on L's stack). */
static const char *signature(side *s, int idx, int depth, size_t *len) {
  lua_State *L = s->L;
  idx = lua_absindex(L, idx);
  lua_pushvalue(L, s->sig);
  lua_pushvalue(L, idx);
  lua_pushinteger(L, depth);
  lua_call(L, 2, 1);
  return lua_tolstring(L, -1, len);
}

/* Pushes the signature of the entry k = v (both on s's stack). */
static void push_entry_signature(side *s, int k, int v) {
  lua_State *L = s->L;
  k = lua_absindex(L, k);
  v = lua_absindex(L, v);
  signature(s, k, 3, NULL);
  lua_pushliteral(L, "\1");
  signature(s, v, 3, NULL);
  lua_concat(L, 3);
}

static void equal(compare *c, int ia, int ib);

/* If A's table at ia is sent as a call (__reduce), pushes onto B what B's
** call gives (the arguments the oracle knows how to copy: scalars) and
** returns true. */
static bool push_reduced(compare *c, int ia) {
  lua_State *A = c->a.L, *B = c->b.L;
  if (!call_reduce(A, ia)) return false;
  int n = (int)lua_tointeger(A, -1);
  lua_pop(A, 1);
  if (n < 2) mismatch(c, "a table whose __reduce failed was sent");
  int base = lua_gettop(A) - n;
  luaL_getsubtable(B, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(B, -1, lua_tostring(A, base + 1));
  lua_getfield(B, -1, lua_tostring(A, base + 2));
  for (int i = 3; i <= n; i++) {
    switch (lua_type(A, base + i)) {
      case LUA_TSTRING: lua_pushstring(B, lua_tostring(A, base + i)); break;
      case LUA_TNUMBER: lua_pushnumber(B, lua_tonumber(A, base + i)); break;
      case LUA_TBOOLEAN: lua_pushboolean(B, lua_toboolean(A, base + i)); break;
      default: lua_pushnil(B); break;
    }
  }
  if (lua_pcall(B, n - 2, 1, 0) != LUA_OK) mismatch(c, "the receiver's __reduce call fails");
  lua_replace(B, -3);
  lua_pop(B, 1);
  lua_settop(A, base);
  return true;
}

/* Pushes onto B the key matching A's key at ka, or returns false when it
** is a table/function not met yet (paired later by signature). */
static bool push_matching_key(compare *c, int ka) {
  lua_State *A = c->a.L, *B = c->b.L;
  switch (lua_type(A, ka)) {
    case LUA_TBOOLEAN: lua_pushboolean(B, lua_toboolean(A, ka)); return true;
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(A, ka, &n);
      lua_pushlstring(B, s, n);
      return true;
    }
    case LUA_TNUMBER:
      if (lua_isinteger(A, ka)) lua_pushinteger(B, lua_tointeger(A, ka));
      else lua_pushnumber(B, lua_tonumber(A, ka));
      return true;
    case LUA_TUSERDATA: {
      tl_object *o = tl_object_test(A, ka, NULL);
      if (o == NULL) mismatch(c, "a foreign userdata key was sent");
      tl_object_push(B, o);
      return true;
    }
    default: break;
  }
  if (lua_iscfunction(A, ka)) {
    lua_pushcfunction(B, lua_tocfunction(A, ka));
    return true;
  }
  if (is_globals(A, ka)) {
    lua_rawgeti(B, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    return true;
  }
  if (lua_istable(A, ka) && push_reduced(c, ka)) return true;
  if (lua_istable(A, ka) && push_module_name(A, ka)) { /* B's module of that name */
    luaL_getsubtable(B, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(B, -1, lua_tostring(A, -1));
    lua_remove(B, -2);
    lua_pop(A, 1);
    return true;
  }
  lua_pushvalue(A, ka);
  if (lua_rawget(A, c->a.ids) == LUA_TNUMBER) {
    lua_rawgeti(B, c->b.byid, lua_tointeger(A, -1));
    lua_pop(A, 1);
    return true;
  }
  lua_pop(A, 1);
  return false;
}

static int count_entries(lua_State *L, int t) {
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    n++;
  }
  return n;
}

static bool is_reference(lua_State *L, int idx) {
  int t = lua_type(L, idx);
  if (t == LUA_TTABLE && call_reduce(L, idx)) {
    lua_pop(L, 1 + (int)lua_tointeger(L, -1));
    return false;
  }
  return (t == LUA_TTABLE && !is_globals(L, idx) && !is_module(L, idx)) ||
         (t == LUA_TFUNCTION && !lua_iscfunction(L, idx));
}

static void equal_tables(compare *c, int ta, int tb) {
  lua_State *A = c->a.L, *B = c->b.L;
  if (count_entries(A, ta) != count_entries(B, tb)) mismatch(c, "entry counts differ");
  /* Keys that are tables/functions met for the first time here: matched
  ** afterwards, by signature, among B's keys not matched otherwise. */
  lua_newtable(A);
  int pending_a = lua_gettop(A);
  lua_newtable(B);
  int matched_b = lua_gettop(B);
  lua_pushnil(A);
  while (lua_next(A, ta)) {
    int ka = lua_gettop(A) - 1, va = ka + 1;
    if (push_matching_key(c, ka)) {
      int kb = lua_gettop(B);
      lua_pushvalue(B, kb);
      lua_pushboolean(B, 1);
      lua_rawset(B, matched_b);
      lua_pushvalue(B, kb);
      if (lua_rawget(B, tb) == LUA_TNIL) mismatch(c, "a key is missing");
      size_t saved;
      path_key(c, A, ka, &saved);
      equal(c, va, lua_gettop(B));
      c->path[saved] = '\0';
      lua_pop(B, 2);
    } else {
      lua_pushvalue(A, ka);
      lua_pushvalue(A, va);
      lua_rawset(A, pending_a);
    }
    lua_pop(A, 1);
  }
  /* B's unmatched reference keys, each with the signature of the entry. */
  lua_newtable(B);
  int cand_b = lua_gettop(B);
  lua_pushnil(B);
  while (lua_next(B, tb)) {
    int kb = lua_gettop(B) - 1;
    lua_pushvalue(B, kb);
    if (lua_rawget(B, matched_b) == LUA_TNIL && is_reference(B, kb)) {
      lua_pushvalue(B, kb);
      push_entry_signature(&c->b, kb, kb + 1);
      lua_rawset(B, cand_b); /* cand_b[key] = signature */
    }
    lua_pop(B, 2);
  }
  lua_newtable(A); /* signatures shared by several entries */
  int ambiguous = lua_gettop(A);
  lua_pushnil(A);
  while (lua_next(A, pending_a)) {
    int ka = lua_gettop(A) - 1, va = ka + 1;
    size_t na;
    push_entry_signature(&c->a, ka, va);
    const char *sa = lua_tolstring(A, -1, &na);
    int found = 0;
    lua_pushnil(B);
    while (lua_next(B, cand_b)) { /* keeps a copy of the first match below */
      size_t nb;
      const char *sb = lua_tolstring(B, -1, &nb);
      bool match = na == nb && memcmp(sa, sb, na) == 0;
      lua_pop(B, 1);
      if (match && found++ == 0) {
        lua_pushvalue(B, -1);
        lua_insert(B, -2);
      }
    }
    if (found == 0) mismatch(c, "no entry of B matches an entry with a table/function key");
    if (found > 1) { /* the first of its group sees every candidate */
      lua_pushvalue(A, -1);
      lua_pushboolean(A, 1);
      lua_rawset(A, ambiguous);
    }
    lua_pushvalue(A, -1);
    bool unique = lua_rawget(A, ambiguous) == LUA_TNIL;
    lua_pop(A, 1);
    int kb = lua_gettop(B);
    lua_pushvalue(B, kb);
    lua_rawget(B, tb);
    /* Entries that look the same to depth 3 cannot be told apart: their
    ** signatures matched, that is all we check; a unique one: deeply. */
    if (unique) {
      size_t saved = path_push(c, "[%s]", "<table key>");
      equal(c, ka, kb);
      equal(c, va, kb + 1);
      c->path[saved] = '\0';
    }
    lua_pushvalue(B, kb);
    lua_pushnil(B);
    lua_rawset(B, cand_b);
    lua_pop(B, 2);
    lua_pop(A, 2); /* signature and value */
  }
  lua_pop(B, 2);
  lua_pop(A, 2);
  /* Metatables */
  bool ma = lua_getmetatable(A, ta), mb = lua_getmetatable(B, tb);
  if (ma != mb) mismatch(c, "metatable present on one side only");
  if (ma) {
    size_t saved = path_push(c, "%s", "<metatable>");
    equal(c, lua_gettop(A), lua_gettop(B));
    c->path[saved] = '\0';
    lua_pop(A, 1);
    lua_pop(B, 1);
  }
}

static int dump_writer(lua_State *L, const void *p, size_t n, void *ud) {
  (void)L;
  luaL_addlstring((luaL_Buffer *)ud, (const char *)p, n);
  return 0;
}

/* Pushes the stripped bytecode of the function at idx. */
static void push_bytecode(lua_State *L, int idx) {
  luaL_Buffer b;
  lua_pushvalue(L, idx);
  luaL_buffinit(L, &b);
  lua_dump(L, dump_writer, &b, 1);
  luaL_pushresult(&b);
  lua_remove(L, -2);
}

/* Both upvalues on top of their stacks (named 'name'). */
static void equal_upvalue_values(compare *c, const char *name) {
  lua_State *A = c->a.L, *B = c->b.L;
  int ua = lua_gettop(A), ub = lua_gettop(B);
  if (strcmp(name, "_ENV") == 0 && lua_istable(A, ua)) {
    if (!is_globals(B, ub)) mismatch(c, "_ENV did not become the receiver's globals");
    return;
  }
  equal(c, ua, ub);
}

static void equal_functions(compare *c, int fa, int fb) {
  lua_State *A = c->a.L, *B = c->b.L;
  push_bytecode(A, fa);
  push_bytecode(B, fb);
  size_t la, lb;
  const char *da = lua_tolstring(A, -1, &la), *db = lua_tolstring(B, -1, &lb);
  if (la != lb || memcmp(da, db, la) != 0) mismatch(c, "bytecode differs");
  lua_pop(A, 1);
  lua_pop(B, 1);
  for (int i = 1;; i++) {
    const char *na = lua_getupvalue(A, fa, i), *nb = lua_getupvalue(B, fb, i);
    if (na == NULL || nb == NULL) {
      if (na != NULL || nb != NULL) mismatch(c, "upvalue counts differ");
      if (na) lua_pop(A, 1);
      if (nb) lua_pop(B, 1);
      break;
    }
    if (strcmp(na, nb) != 0) mismatch(c, "upvalue names differ");
    size_t saved = path_push(c, "<upvalue %s>", na);
    /* Shared upvalues: a bijection between A's and B's upvalue ids. */
    lua_pushlightuserdata(A, lua_upvalueid(A, fa, i));
    int ida = lua_rawget(A, c->a.upids) == LUA_TNUMBER ? (int)lua_tointeger(A, -1) : 0;
    lua_pop(A, 1);
    lua_pushlightuserdata(B, lua_upvalueid(B, fb, i));
    int idb = lua_rawget(B, c->b.upids) == LUA_TNUMBER ? (int)lua_tointeger(B, -1) : 0;
    lua_pop(B, 1);
    if (ida != idb) mismatch(c, "upvalue sharing differs");
    if (ida == 0) {
      int id = ++c->next_id;
      lua_pushlightuserdata(A, lua_upvalueid(A, fa, i));
      lua_pushinteger(A, id);
      lua_rawset(A, c->a.upids);
      lua_pushlightuserdata(B, lua_upvalueid(B, fb, i));
      lua_pushinteger(B, id);
      lua_rawset(B, c->b.upids);
      equal_upvalue_values(c, na);
    }
    c->path[saved] = '\0';
    lua_pop(A, 1);
    lua_pop(B, 1);
  }
}

static void equal(compare *c, int ia, int ib) {
  lua_State *A = c->a.L, *B = c->b.L;
  ia = lua_absindex(A, ia);
  ib = lua_absindex(B, ib);
  luaL_checkstack(A, 20, "equal");
  luaL_checkstack(B, 20, "equal");
  int t = lua_type(A, ia);
  bool ga = t == LUA_TTABLE && is_globals(A, ia);
  if (ga != (lua_type(B, ib) == LUA_TTABLE && is_globals(B, ib)))
    mismatch(c, "the globals did not become the receiver's globals");
  if (ga) return;
  if (t == LUA_TTABLE && push_module_name(A, ia)) { /* A's module: B's module of that name */
    luaL_getsubtable(B, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(B, -1, lua_tostring(A, -1));
    if (!lua_rawequal(B, -1, ib)) mismatch(c, "a module did not become the receiver's module");
    lua_pop(B, 2);
    lua_pop(A, 1);
    return;
  }
  if (t == LUA_TTABLE && push_reduced(c, ia)) {
    if (!lua_rawequal(B, -1, ib)) mismatch(c, "a table with __reduce is not the receiver's call's value");
    lua_pop(B, 1);
    return;
  }
  if (t != lua_type(B, ib)) mismatch(c, "types differ");
  switch (t) {
    case LUA_TNIL: return;
    case LUA_TBOOLEAN:
      if (lua_toboolean(A, ia) != lua_toboolean(B, ib)) mismatch(c, "booleans differ");
      return;
    case LUA_TNUMBER: {
      if (lua_isinteger(A, ia) != lua_isinteger(B, ib)) mismatch(c, "number subtypes differ");
      if (lua_isinteger(A, ia)) {
        if (lua_tointeger(A, ia) != lua_tointeger(B, ib)) mismatch(c, "integers differ");
      } else {
        lua_Number x = lua_tonumber(A, ia), y = lua_tonumber(B, ib);
        if (memcmp(&x, &y, sizeof x) != 0) mismatch(c, "floats differ (bits)");
      }
      return;
    }
    case LUA_TSTRING: {
      size_t la, lb;
      const char *sa = lua_tolstring(A, ia, &la), *sb = lua_tolstring(B, ib, &lb);
      if (la != lb || memcmp(sa, sb, la) != 0) mismatch(c, "strings differ");
      return;
    }
    case LUA_TUSERDATA:
      if (tl_object_test(A, ia, NULL) == NULL || tl_object_test(A, ia, NULL) != tl_object_test(B, ib, NULL))
        mismatch(c, "not the same threading object");
      return;
    case LUA_TTABLE: case LUA_TFUNCTION: break;
    default: mismatch(c, "a value that cannot cross was received"); return;
  }
  if (lua_iscfunction(A, ia) || lua_iscfunction(B, ib)) {
    if (!lua_iscfunction(A, ia) || !lua_iscfunction(B, ib) ||
        lua_tocfunction(A, ia) != lua_tocfunction(B, ib))
      mismatch(c, "not the same C function");
    return;
  }
  lua_pushvalue(A, ia);
  int ida = lua_rawget(A, c->a.ids) == LUA_TNUMBER ? (int)lua_tointeger(A, -1) : 0;
  lua_pop(A, 1);
  lua_pushvalue(B, ib);
  int idb = lua_rawget(B, c->b.ids) == LUA_TNUMBER ? (int)lua_tointeger(B, -1) : 0;
  lua_pop(B, 1);
  if (ida != idb) mismatch(c, "sharing or cycles differ");
  if (ida != 0) return;
  int id = ++c->next_id;
  lua_pushvalue(A, ia);
  lua_pushinteger(A, id);
  lua_rawset(A, c->a.ids);
  lua_pushvalue(B, ib);
  lua_pushinteger(B, id);
  lua_rawset(B, c->b.ids);
  lua_pushvalue(B, ib);
  lua_rawseti(B, c->b.byid, id);
  if (t == LUA_TTABLE) equal_tables(c, ia, ib);
  else equal_functions(c, ia, ib);
}

/* Compares n values at A[fa..] and B[fb..]. */
static void compare_values(lua_State *A, int fa, lua_State *B, int fb, int n) {
  compare c;
  memset(&c, 0, sizeof c);
  c.a.L = A;
  c.b.L = B;
  int topa = lua_gettop(A), topb = lua_gettop(B);
  side_open(&c.a);
  side_open(&c.b);
  for (int i = 0; i < n; i++) {
    snprintf(c.path, sizeof c.path, "value[%d]", i + 1);
    equal(&c, fa + i, fb + i);
  }
  lua_settop(A, topa);
  lua_settop(B, topb);
}

/* ------------------------------------------------------------------ */
/* Encoding and decoding in protected mode                             */
/* ------------------------------------------------------------------ */

typedef struct transfer {
  int first, n;
  tl_blob *blob;
} transfer;

static int encode_protected(lua_State *L) {
  transfer *t = (transfer *)lua_touserdata(L, lua_upvalueindex(1));
  t->blob = tl_blob_encode(L, 1, lua_gettop(L), "value");
  return 0;
}

/* Encodes A[first..first+n-1]; NULL with the message on A's stack. */
static tl_blob *encode(lua_State *L, int first, int n) {
  transfer t = {first, n, NULL};
  lua_pushlightuserdata(L, &t);
  lua_pushcclosure(L, encode_protected, 1);
  for (int i = 0; i < n; i++) lua_pushvalue(L, first + i);
  if (lua_pcall(L, n, 0, 0) != LUA_OK) return NULL;
  return t.blob;
}

static int decode_protected(lua_State *L) {
  const tl_blob *b = (const tl_blob *)lua_touserdata(L, 1);
  lua_pop(L, 1);
  return tl_blob_decode(L, b);
}

/* Pushes the decoded values on L; fails the check if decoding raises. */
static void decode(lua_State *L, const tl_blob *b) {
  lua_pushcfunction(L, decode_protected);
  lua_pushlightuserdata(L, (void *)b);
  if (lua_pcall(L, 1, LUA_MULTRET, 0) != LUA_OK) fail_check("decoding failed", lua_tostring(L, -1));
}

static lua_State *new_state(void) {
  lua_State *L = tl_state_new();
  if (L == NULL) fail_check("tl_state_new", "out of memory");
  tl_state_open_main(L);
  tl_builtins_set_threading(luaopen_threading);
  /* threading, one of its Lua parts, and a script's own module that every
  ** state has (modules cross by name). */
  if (luaL_dostring(L, "require 'threading' require 'threading.log' package.loaded.fuzz_module = {x = 1}") != LUA_OK)
    fail_check("require", lua_tostring(L, -1));
  lua_gc(L, LUA_GCSTOP);
  lua_settop(L, 0);
  return L;
}

static lua_State *main_state; /* the process's first state: the "main thread" */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  setenv("TLUA_DEADLOCK", "0", 0);
  main_state = new_state();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  long live_at_start = tl_object_live_count();
  lua_State *A = new_state(), *B = new_state();
  lua_settop(A, 0);
  lua_newtable(A); /* POOL */
  program pr;
  memset(&pr, 0, sizeof pr);
  pr.A = A;
  input in = {data, data + size};
  int nroots = run_program(&pr, &in);
  int first = lua_gettop(A) - nroots + 1;

  lua_newtable(A);
  bool expect_ok = true;
  for (int i = 0; i < nroots && expect_ok; i++) expect_ok = sendable(A, first + i, lua_gettop(A));
  lua_pop(A, 1);

  tl_blob *blob = encode(A, first, nroots);
  if (blob == NULL) {
    const char *msg = lua_tostring(A, -1);
    if (expect_ok) fail_check("encoding failed for sendable values", msg);
    if (msg == NULL || strstr(msg, "cannot send") == NULL)
      fail_check("encoding error without \"cannot send\"", msg);
    lua_pop(A, 1);
  } else {
    if (!expect_ok) fail_check("encoding succeeded for values that cannot cross", NULL);
    if (tl_blob_count(blob) != nroots) fail_check("wrong value count in the blob", NULL);
    int fb = lua_gettop(B) + 1;
    decode(B, blob);
    if (lua_gettop(B) - fb + 1 != nroots) fail_check("wrong number of decoded values", NULL);
    compare_values(A, first, B, fb, nroots);
    /* Again from B to a third state: received values cross like any. */
    tl_blob *back = encode(B, fb, nroots);
    if (back == NULL) fail_check("re-encoding the received values failed", lua_tostring(B, -1));
    lua_State *C = new_state();
    decode(C, back);
    compare_values(B, fb, C, 1, nroots);
    lua_close(C);
    tl_blob_free(back);
    tl_blob_free(blob);
  }
  lua_close(B);
  lua_close(A);
  if (tl_object_live_count() != live_at_start) {
    char detail[64];
    snprintf(detail, sizeof detail, "%ld live objects, %ld before", tl_object_live_count(),
             live_at_start);
    fail_check("threading objects leaked", detail);
  }
  return 0;
}
