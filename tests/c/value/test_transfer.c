/*
** test_transfer.c -- C tests of value transfer (src/value: blob_encode.c, blob_decode.c).
**
** Two Lua states made as tlua makes a thread's state (tl_state_new +
** tl_state_open_main): values are encoded in the sender, decoded in the
** receiver and checked there by a small Lua function.  Also checks the
** exact error messages for values that cannot cross, and that threading
** objects cross by reference without leaking references.
**
** Locking: single-threaded; no mutex of its own.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module/module.h"

static int passed, failed;

static void report(bool ok, const char *name, const char *detail) {
  if (ok) {
    passed++;
  } else {
    failed++;
    printf("FAIL %s%s%s\n", name, detail ? ": " : "", detail ? detail : "");
  }
}

static lua_State *new_thread_state(void) {
  lua_State *L = tl_state_new();
  if (L == NULL) {
    fprintf(stderr, "cannot create a Lua state\n");
    exit(2);
  }
  tl_state_open_main(L);
  tl_builtins_set_threading(luaopen_threading); /* as the host does */
  return L;
}

/* Runs 'code' in L; it must succeed.  Leaves its results on the stack. */
static int run(lua_State *L, const char *code) {
  int top = lua_gettop(L);
  if (luaL_loadstring(L, code) != LUA_OK || lua_pcall(L, 0, LUA_MULTRET, 0) != LUA_OK) {
    fprintf(stderr, "setup code failed: %s\n%s\n", lua_tostring(L, -1), code);
    exit(2);
  }
  return lua_gettop(L) - top;
}

/* --- encoding in protected mode ------------------------------------------ */

typedef struct encode_args {
  int first, n;
  const char *what;
  tl_blob *blob;
} encode_args;

static int encode_in_protected_mode(lua_State *L) {
  encode_args *a = (encode_args *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  a->blob = tl_blob_encode(L, a->first, a->n, a->what);
  return 0;
}

/* Encodes the results of 'code' run in L.  Returns NULL and leaves the
** error message in errbuf if encoding fails. */
static tl_blob *encode_code(lua_State *L, const char *code, const char *what, char *errbuf,
                            size_t errlen) {
  int base = lua_gettop(L);
  int n = run(L, code);
  encode_args a = {base + 1, n, what, NULL};
  lua_pushcfunction(L, encode_in_protected_mode);
  lua_insert(L, base + 1);
  lua_pushlightuserdata(L, &a);
  int status = lua_pcall(L, n + 1, 0, 0);
  if (status != LUA_OK) {
    snprintf(errbuf, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "(no message)");
    lua_settop(L, base);
    return NULL;
  }
  lua_settop(L, base);
  return a.blob;
}

/* --- decoding and checking ------------------------------------------------- */

typedef struct decode_args {
  const tl_blob *blob;
  const char *checker;
} decode_args;

/* Protected: decodes the blob, then calls the checker chunk with the
** values; the checker raises (assert) on a mismatch. */
static int decode_and_check(lua_State *L) {
  decode_args *a = (decode_args *)lua_touserdata(L, 1);
  lua_settop(L, 0);
  if (luaL_loadstring(L, a->checker) != LUA_OK) return lua_error(L);
  int n = tl_blob_decode(L, a->blob);
  lua_call(L, n, 0);
  return 0;
}

/* Sends the results of 'sender_code' from A to B and runs 'checker' on
** them in B (the values are the chunk's ...). */
static void roundtrip(const char *name, lua_State *A, lua_State *B, const char *sender_code,
                      const char *checker) {
  char err[512];
  tl_blob *b = encode_code(A, sender_code, "value", err, sizeof err);
  if (b == NULL) {
    report(false, name, err);
    return;
  }
  decode_args a = {b, checker};
  lua_pushcfunction(B, decode_and_check);
  lua_pushlightuserdata(B, &a);
  if (lua_pcall(B, 1, 0, 0) != LUA_OK) {
    report(false, name, lua_tostring(B, -1));
    lua_pop(B, 1);
  } else {
    report(true, name, NULL);
  }
  tl_blob_free(b);
}

/* Encoding the results of 'code' (named 'what') must fail with exactly
** 'expected'. */
static void refused(const char *name, lua_State *A, const char *code, const char *what,
                    const char *expected) {
  char err[1024];
  tl_blob *b = encode_code(A, code, what, err, sizeof err);
  if (b != NULL) {
    tl_blob_free(b);
    report(false, name, "encoding succeeded, an error was expected");
    return;
  }
  if (strcmp(err, expected) != 0) {
    char detail[2200];
    snprintf(detail, sizeof detail, "got \"%s\", expected \"%s\"", err, expected);
    report(false, name, detail);
    return;
  }
  report(true, name, NULL);
}

/* Decoding in B must fail with an error containing 'expected'. */
static void refused_on_receipt(const char *name, lua_State *A, lua_State *B,
                               const char *sender_code, const char *expected) {
  char err[512];
  tl_blob *b = encode_code(A, sender_code, "value", err, sizeof err);
  if (b == NULL) {
    report(false, name, err);
    return;
  }
  decode_args a = {b, "return"};
  lua_pushcfunction(B, decode_and_check);
  lua_pushlightuserdata(B, &a);
  if (lua_pcall(B, 1, 0, 0) == LUA_OK) {
    report(false, name, "decoding succeeded, an error was expected");
  } else {
    const char *msg = lua_tostring(B, -1);
    report(msg != NULL && strstr(msg, expected) != NULL, name, msg);
    lua_pop(B, 1);
  }
  tl_blob_free(b);
}

/* --- the tests ----------------------------------------------------------- */

static void test_scalars(lua_State *A, lua_State *B) {
  roundtrip("nil and booleans", A, B, "return nil, true, false",
            "local a, b, c = ... assert(select('#', ...) == 3)\n"
            "assert(a == nil and b == true and c == false)");
  roundtrip("integers stay integers", A, B,
            "return 0, -1, math.maxinteger, math.mininteger, 2^53 // 1 | 0",
            "local z, m, hi, lo, big = ...\n"
            "for _, v in ipairs{z, m, hi, lo, big} do assert(math.type(v) == 'integer') end\n"
            "assert(z == 0 and m == -1 and hi == math.maxinteger and lo == math.mininteger)\n"
            "assert(big == 9007199254740992)");
  roundtrip("floats stay floats", A, B, "return 1.0, 0.5, -0.0, 1/0, -1/0, 0/0, 2^63, 1e-300",
            "local one, half, nz, inf, ninf, nan, big, tiny = ...\n"
            "for i = 1, select('#', ...) do assert(math.type((select(i, ...))) == 'float', i) end\n"
            "assert(one == 1 and half == 0.5)\n"
            "assert(nz == 0 and 1/nz == -1/0, 'negative zero kept')\n"
            "assert(inf == math.huge and ninf == -math.huge)\n"
            "assert(nan ~= nan)\n"
            "assert(big == 2^63 and tiny == 1e-300)");
  roundtrip("binary strings", A, B, "return 'a\\0b\\0', '', '\\255\\1\\0\\n'",
            "local s, e, bin = ...\n"
            "assert(#s == 4 and s == 'a\\0b\\0')\n"
            "assert(e == '')\n"
            "assert(bin == '\\255\\1\\0\\n')");
  roundtrip("a 1 MB string", A, B,
            "local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end\n"
            "return string.rep(table.concat(t), 4096)",
            "local s = ...\n"
            "assert(#s == 1024 * 1024)\n"
            "local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end\n"
            "assert(s == string.rep(table.concat(t), 4096))");
  roundtrip("no values", A, B, "return", "assert(select('#', ...) == 0)");
}

static void test_tables(lua_State *A, lua_State *B) {
  roundtrip("plain table", A, B,
            "return {1, 2, 3, x = 'y', [true] = false, [1.5] = 'f', nested = {deep = {4}}}",
            "local t = ...\n"
            "assert(#t == 3 and t[1] == 1 and t[3] == 3 and t.x == 'y')\n"
            "assert(t[true] == false and t[1.5] == 'f' and t.nested.deep[1] == 4)\n"
            "local n = 0 for _ in pairs(t) do n = n + 1 end assert(n == 7)");
  roundtrip("cycles", A, B, "local t = {name = 't'} t.self = t t.inner = {up = t} return t",
            "local t = ...\n"
            "assert(t.self == t and t.inner.up == t and t.name == 't')");
  roundtrip("shared sub-tables keep their identity", A, B,
            "local s = {1} local t = {a = s, b = s, [s] = s} return t, s",
            "local t, s = ...\n"
            "assert(t.a == t.b and t.a == s and t[s] == s)");
  roundtrip("tables as keys", A, B, "local k = {} return {[k] = 'v', k = k}",
            "local t = ... assert(t[t.k] == 'v')");
  roundtrip("metatables are copied", A, B,
            "local mt = {__index = function(t, k) return k .. '!' end}\n"
            "mt.__name = 'Bang'\n"
            "return setmetatable({}, mt), setmetatable({x = 1}, mt)",
            "local a, b = ...\n"
            "assert(a.foo == 'foo!' and b.x == 1 and b.y == 'y!')\n"
            "assert(getmetatable(a) == getmetatable(b), 'shared metatable kept')\n"
            "assert(getmetatable(a).__name == 'Bang')");
  roundtrip("metatable with __gc and __close", A, B,
            "local mt = {__close = function() end, __gc = function() end}\n"
            "return setmetatable({}, mt)",
            "local a = ... assert(type(getmetatable(a).__close) == 'function')");
  roundtrip("100 levels of nesting", A, B,
            "local t = {} local cur = t\n"
            "for i = 1, 99 do cur.next = {level = i} cur = cur.next end\n"
            "return t",
            "local t = ... local n = 0\n"
            "while t.next do t = t.next n = n + 1 end\n"
            "assert(n == 99 and t.level == 99)");
  /* 1000 levels: a clean error naming the place, no crash. */
  char err[4096];
  tl_blob *b = encode_code(A,
                           "local t = {} local cur = t\n"
                           "for i = 1, 999 do cur[1] = {} cur = cur[1] end\n"
                           "return t",
                           "value", err, sizeof err);
  report(b == NULL && strncmp(err, "value[1][1]", 11) == 0 &&
             strstr(err, ": cannot send a value nested more than") != NULL,
         "1000 levels of nesting: clean error", b ? "encoded" : err);
  if (b) tl_blob_free(b);
  /* A deep chain of functions through upvalues fails cleanly too. */
  b = encode_code(A,
                  "local f = function() return 0 end\n"
                  "for i = 1, 1000 do local g = f f = function() return g() + 1 end end\n"
                  "return f",
                  "target", err, sizeof err);
  report(b == NULL && strstr(err, "target<upvalue g><upvalue g>") == err &&
             strstr(err, "nested more than") != NULL,
         "1000 nested closures: clean error", b ? "encoded" : err);
  if (b) tl_blob_free(b);
  roundtrip("a wide table", A, B,
            "local t = {} for i = 1, 100000 do t[i] = i * 2 end t.s = 'x' return t",
            "local t = ... assert(#t == 100000 and t[77777] == 155554 and t.s == 'x')");
}

static void test_functions(lua_State *A, lua_State *B) {
  roundtrip("plain function", A, B, "return function(a, b) return a + b, 'x' end",
            "local f = ... local s, x = f(2, 3) assert(s == 5 and x == 'x')");
  roundtrip("upvalues are copied, shared upvalues stay shared", A, B,
            "local n = 10\n"
            "local function inc() n = n + 1 return n end\n"
            "local function get() return n end\n"
            "return inc, get",
            "local inc, get = ...\n"
            "assert(get() == 10)\n"
            "inc() inc()\n"
            "assert(get() == 12, 'inc and get share n')");
  roundtrip("upvalue shared through a table", A, B,
            "local state = {count = 0}\n"
            "local api = {}\n"
            "function api.bump() state.count = state.count + 1 end\n"
            "function api.read() return state.count end\n"
            "return api",
            "local api = ... api.bump() api.bump() assert(api.read() == 2)");
  roundtrip("recursive local function", A, B,
            "local function fact(n) if n <= 1 then return 1 end return n * fact(n - 1) end\n"
            "return fact",
            "local fact = ... assert(fact(10) == 3628800)");
  roundtrip("mutually recursive functions", A, B,
            "local is_even, is_odd\n"
            "function is_even(n) if n == 0 then return true end return is_odd(n - 1) end\n"
            "function is_odd(n) if n == 0 then return false end return is_even(n - 1) end\n"
            "return is_even",
            "local is_even = ... assert(is_even(10) and not is_even(7))");
  run(A, "marker = 'sender'");
  run(B, "marker = 'receiver'");
  roundtrip("_ENV becomes the receiver's globals", A, B,
            "return function() return marker end, function(v) written = v end",
            "local read, write = ...\n"
            "assert(read() == 'receiver')\n"
            "write(42) assert(written == 42)");
  roundtrip("any _ENV (a sandbox, a test runner's) becomes the receiver's globals", A, B,
            "local _ENV = setmetatable({marker = 'sandbox'}, {__index = _G})\n"
            "return function() return marker end",
            "local f = ... assert(f() == 'receiver', f())");
  roundtrip("the sender's _G becomes the receiver's", A, B,
            "local G = _G return function() return G.marker end, _G",
            "local f, G = ... assert(f() == 'receiver' and G == _G)");
  roundtrip("an upvalue holding a standard module arrives as the receiver's own", A, B,
            "local string, fmt = string, string.format\n"
            "return function() return string, fmt end",
            "local f = ... local s, fmt = f()\n"
            "assert(s == string and fmt == string.format)");
  roundtrip("an upvalue holding threading arrives as the receiver's own", A, B,
            "local threading = require 'threading'\n"
            "return function() return threading end",
            "local f = ... assert(f() == require 'threading')");
  run(A, "package.loaded.tt_mod = {where = 'sender'}");
  run(B, "package.preload.tt_mod = function() return {where = 'required by receiver'} end");
  roundtrip("a module the receiver has not loaded is required there", A, B,
            "local m = require 'tt_mod' return function() return m.where end",
            "local f = ... assert(f() == 'required by receiver', f())");
  run(A, "package.loaded.tt_missing = {}");
  refused_on_receipt("a module the receiver cannot require: clean error on receipt", A, B,
                     "local m = require 'tt_missing' return function() return m end",
                     "module 'tt_missing' not found");
  roundtrip("standard C functions cross by name", A, B,
            "return print, string.format, table.concat, math.floor, io.write, os.time, pcall",
            "local p, f, c, fl, w, t, pc = ...\n"
            "assert(p == print and f == string.format and c == table.concat)\n"
            "assert(fl == math.floor and w == io.write and t == os.time and pc == pcall)");
  roundtrip("threading C functions cross, even before the receiver requires threading", A, B,
            "local threading = require 'threading' return threading.Lock, threading.get_ident",
            "local Lock, get_ident = ...\n"
            "assert(Lock == require('threading').Lock and get_ident == require('threading').get_ident)");
  roundtrip("functions keep their debug information", A, B,
            "return function() error('boom') end",
            "local f = ... local ok, e = pcall(f)\n"
            "assert(not ok and e:find('boom') and e:find(':%d+:'), e)");
  roundtrip("stripped functions cross", A, B,
            "local x = 5 return load(string.dump(function() return 1 end, true))",
            "local f = ... assert(f() == 1)");
  roundtrip("the same function twice is one function", A, B,
            "local f = function() end return f, {f}",
            "local f, t = ... assert(t[1] == f)");
  roundtrip("varargs and many upvalues", A, B,
            "local a, b, c, d, e = 1, 2, 3, 4, 5\n"
            "return function(...) return a + b + c + d + e + select('#', ...) end",
            "local f = ... assert(f(1, 2, 3) == 18)");
}

static int unknown_c_function(lua_State *L) {
  (void)L;
  return 0;
}

static void test_refused(lua_State *A) {
  refused("coroutine", A, "return coroutine.create(print)", "value",
          "value: cannot send coroutine");
  refused("foreign userdata", A, "return io.stdout", "item", "item: cannot send userdata");
  lua_pushlightuserdata(A, A);
  lua_setglobal(A, "a_light_userdata");
  refused("light userdata", A, "return a_light_userdata", "value",
          "value: cannot send light userdata");
  /* (Not a global: a C function found in _G crosses by its name.) */
  lua_newtable(A);
  lua_pushcfunction(A, unknown_c_function);
  lua_setfield(A, -2, "f");
  lua_setglobal(A, "holder");
  refused("unknown C function", A, "return holder.f", "value",
          "value: cannot send C function (only those of the standard libraries and threading "
          "can cross)");
  refused("C closure of a standard function", A, "return string.gmatch('a', 'a')", "value",
          "value: cannot send C function (only those of the standard libraries and threading "
          "can cross)");
  refused("second of several values", A, "return 1, {conn = io.stdout}", "args",
          "args[2].conn: cannot send userdata");
  refused("single value is named by the root", A, "return {conn = io.stdout}", "args",
          "args.conn: cannot send userdata");
  refused("identifier keys with underscores and digits", A,
          "return {_private = {x9 = {io.stdout}}}", "v", "v._private.x9[1]: cannot send userdata");
  refused("string keys that are not identifiers", A,
          "return {['a b'] = {['9x'] = {[''] = io.stdout}}}", "v",
          "v[\"a b\"][\"9x\"][\"\"]: cannot send userdata");
  refused("quotes and control characters in keys are escaped", A,
          "return {['say \"hi\"\\n'] = io.stdout}", "v",
          "v[\"say \\\"hi\\\"\\10\"]: cannot send userdata");
  refused("integer, float and boolean keys", A,
          "return {[3] = {[2.5] = {[true] = {[-1] = io.stdout}}}}", "v",
          "v[3][2.5][true][-1]: cannot send userdata");
  refused("value under a table key", A, "return {[{}] = io.stdout}", "v",
          "v[table key]: cannot send userdata");
  refused("a key that cannot cross", A, "return {[io.stdout] = 1}", "v",
          "v<key>: cannot send userdata");
  refused("inside a metatable", A, "return setmetatable({}, {__index = io.stdout})", "v",
          "v<metatable>.__index: cannot send userdata");
  refused("upvalue", A, "local conn = io.stdout return function() return conn end", "target",
          "target<upvalue conn>: cannot send userdata");
  refused("upvalue of a function in a table", A,
          "local co = coroutine.create(print)\n"
          "return 1, {handler = function() return co end}",
          "args", "args[2].handler<upvalue co>: cannot send coroutine");
  refused("thread object of the coroutine library inside a list", A,
          "return {1, 2, coroutine.running()}", "item", "item[3]: cannot send coroutine");
}

static void test_blob_api(lua_State *A) {
  char err[256];
  tl_blob *x = encode_code(A, "return 'k', 1", "v", err, sizeof err);
  tl_blob *y = encode_code(A, "return 'k', 1", "v", err, sizeof err);
  tl_blob *z = encode_code(A, "return 'k', 1.0", "v", err, sizeof err);
  if (x == NULL || y == NULL || z == NULL) {
    report(false, "blob api", err);
    return;
  }
  report(tl_blob_count(x) == 2, "tl_blob_count", NULL);
  report(tl_blob_size(x) > 0, "tl_blob_size", NULL);
  report(tl_blob_equal(x, y) && tl_blob_hash(x) == tl_blob_hash(y), "equal blobs", NULL);
  report(!tl_blob_equal(x, z), "integer and float encodings differ", NULL);
  tl_blob_incref(x);
  tl_blob_free(x); /* still one reference */
  report(tl_blob_equal(x, y), "incref keeps the blob alive", NULL);
  tl_blob_free(x);
  tl_blob_free(y);
  tl_blob_free(z);
}

/* Threading objects cross by reference; every reference is returned. */
static void test_objects(void) {
  long start = tl_object_live_count();
  lua_State *C = new_thread_state();
  lua_State *D = new_thread_state();
  run(C, "threading = require 'threading'");
  run(D, "threading = require 'threading'");
  char err[256];
  tl_blob *b = encode_code(C,
                           "lock = threading.Lock() ev = threading.Event()\n"
                           "sh = threading.shared{n = 1}\n"
                           "local ev = ev\n"
                           "return lock, {lock = lock, ev = ev, sh = sh}, function() return ev end",
                           "v", err, sizeof err);
  if (b == NULL) {
    report(false, "objects: encode", err);
    lua_close(C);
    lua_close(D);
    return;
  }
  report(tl_object_live_count() == start + 3, "objects: three live objects", NULL);
  decode_args a = {b,
                   "lock, t, f = ...\n"
                   "assert(lock == t.lock, 'one box per object per state')\n"
                   "assert(f() == t.ev)\n"
                   "assert(lock:acquire(false))\n"
                   "t.ev:set()\n"
                   "t.sh.n = t.sh.n + 1"};
  lua_pushcfunction(D, decode_and_check);
  lua_pushlightuserdata(D, &a);
  bool ok = lua_pcall(D, 1, 0, 0) == LUA_OK;
  report(ok, "objects: decoded and used in the receiver", ok ? NULL : lua_tostring(D, -1));
  if (!ok) lua_pop(D, 1);
  /* The sender sees what the receiver did: same lock, event, table. */
  run(C, "assert(lock:locked() and ev:is_set() and sh.n == 2)");
  report(true, "objects: the sender sees the same objects", NULL);
  /* A second decode of the same blob gives the same boxes. */
  a.checker = "local l = ... assert(l == lock)";
  lua_pushcfunction(D, decode_and_check);
  lua_pushlightuserdata(D, &a);
  ok = lua_pcall(D, 1, 0, 0) == LUA_OK;
  report(ok, "objects: decoding twice gives the same box", ok ? NULL : lua_tostring(D, -1));
  if (!ok) lua_pop(D, 1);
  /* A failed encode after an object drops the reference it took. */
  refused("objects: failed encode", C, "return {lock, io.stdout}", "v",
          "v[2]: cannot send userdata");
  tl_blob_free(b);
  lua_close(C);
  report(tl_object_live_count() > start, "objects: alive while the receiver holds them", NULL);
  lua_close(D);
  char detail[64];
  snprintf(detail, sizeof detail, "%ld live, %ld at the start", tl_object_live_count(), start);
  report(tl_object_live_count() == start, "objects: every reference returned", detail);
}

/* Values stored in one state and decoded many times stay independent. */
static void test_decode_twice(lua_State *A, lua_State *B) {
  char err[256];
  tl_blob *b = encode_code(A, "return {list = {1, 2}}", "v", err, sizeof err);
  if (b == NULL) {
    report(false, "decode twice", err);
    return;
  }
  decode_args a = {b, "first = ..."};
  lua_pushcfunction(B, decode_and_check);
  lua_pushlightuserdata(B, &a);
  lua_call(B, 1, 0);
  a.checker = "local second = ... assert(second ~= first and second.list ~= first.list)\n"
              "assert(second.list[2] == 2)";
  lua_pushcfunction(B, decode_and_check);
  lua_pushlightuserdata(B, &a);
  bool ok = lua_pcall(B, 1, 0, 0) == LUA_OK;
  report(ok, "each decode makes new tables", ok ? NULL : lua_tostring(B, -1));
  if (!ok) lua_pop(B, 1);
  tl_blob_free(b);
}

int main(void) {
  lua_State *A = new_thread_state();
  lua_State *B = new_thread_state();
  run(A, "require 'threading'"); /* A's thread becomes the main thread */
  test_scalars(A, B);
  test_tables(A, B);
  test_functions(A, B);
  test_refused(A);
  test_blob_api(A);
  test_decode_twice(A, B);
  test_objects();
  lua_close(B);
  lua_close(A);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
