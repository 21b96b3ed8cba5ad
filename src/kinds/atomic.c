/*
** atomic.c -- threading.atomic: read-modify-writes of one key of a shared
** table that no other thread's write can come between, the way to count,
** accumulate and flag without a Lock:
**
**   atomic.add(s, key [, n=1])        s[key] = (s[key] or 0) + n; returns it
**   atomic.update(s, key, f, ...)     s[key] = f(s[key], ...); returns it
**                                     (nil removes the key; f runs once)
**   atomic.compare_and_set(s, key, old, new)
**                                     if s[key] == old then s[key] = new:
**                                     returns whether it did
**
** Functions, not methods: a shared table answers every key through its
** __index, so a method s:add would hide a user's key "add".
**
** add and compare_and_set are done in C under the table's lock.  update
** runs Lua code (f), so it holds the table's update gate instead (shared.h):
** writes by other threads wait, with the GIL released, until f has
** returned or raised and its result is stored; reads go on.  Each
** operation is one schedule point, before it acts.
**
** Locking: the table's lock (shared.h), held for C work only: values are
** prepared before it, pushed and released after it; no lock is held
** while f runs (only the gate, which is no lock of the OS).
*/
#include <math.h>
#include <string.h>

#include "shared.h"

/* The key argument (2) after the table (1): both checked. */
static tl_shared *check_args(lua_State *L, tl_skey *k) {
  tl_shared *s = tl_shared_check(L, 1);
  tl_shared_key(L, 2, k, true);
  return s;
}

/* tl_shared_lock_write, raising when the wait was interrupted. */
static void lock_write(lua_State *L, tl_shared *s) {
  tl_wait_result r = tl_shared_lock_write(s);
  if (r != TL_WAIT_OK) tl_wait_check(L, r);
}

/* --- add ---------------------------------------------------------------------- */

static int atomic_add(lua_State *L) {
  tl_skey k;
  tl_shared *s = check_args(L, &k);
  bool isint = true; /* n: an integer ni, or a float nf */
  lua_Integer ni = 1;
  lua_Number nf = 0;
  int t = lua_type(L, 3);
  if (t == LUA_TNUMBER) {
    isint = lua_isinteger(L, 3);
    if (isint) ni = lua_tointeger(L, 3);
    else nf = lua_tonumber(L, 3);
  } else if (t != LUA_TNONE && t != LUA_TNIL) {
    luaL_typeerror(L, 3, "number");
  }
  tl_shared_sched_point(L, 2, "atomic.add", "");
  lock_write(L, s);
  tl_svalue *slot = tl_shared_find(s, &k);
  if (slot == NULL) { /* absent: 0 + n */
    tl_svalue v, old;
    v.type = isint ? TL_SV_INT : TL_SV_FLOAT;
    if (isint) v.u.i = ni;
    else v.u.f = (lua_Number)0 + nf; /* (0 + -0.0 is 0.0) */
    bool ok = tl_shared_store(s, &k, &v, &old);
    tl_shared_unlock(s);
    if (!ok) return luaL_error(L, "not enough memory");
  } else if (slot->type == TL_SV_INT && isint) { /* wraps around, as Lua's + */
    ni = slot->u.i = (lua_Integer)((lua_Unsigned)slot->u.i + (lua_Unsigned)ni);
    tl_shared_unlock(s);
  } else if (slot->type == TL_SV_INT || slot->type == TL_SV_FLOAT) {
    lua_Number a = slot->type == TL_SV_INT ? (lua_Number)slot->u.i : slot->u.f;
    nf = a + (isint ? (lua_Number)ni : nf);
    isint = false;
    slot->type = TL_SV_FLOAT;
    slot->u.f = nf;
    tl_shared_unlock(s);
  } else { /* not a number: raise, naming its type */
    tl_svalue v;
    tl_svalue_copy(&v, slot);
    tl_shared_unlock(s);
    tl_svalue_push_release(L, &v);
    const char *type = luaL_typename(L, -1);
    const char *q = lua_type(L, 2) == LUA_TSTRING ? "'" : "";
    return tl_error(L, "TypeError", "threading.atomic.add: the value of key %s%s%s is a %s, not a number", q,
                    luaL_tolstring(L, 2, NULL), q, type);
  }
  if (isint) lua_pushinteger(L, ni);
  else lua_pushnumber(L, nf);
  return 1;
}

/* --- update -------------------------------------------------------------------- */

typedef struct update_call {
  tl_shared *s;
  const tl_skey *k;
} update_call;

/* In protected mode, with the gate held: 1 the call's record, 2 f, then
** f's extra arguments.  Calls f(old, ...) and stores its first result,
** which it returns. */
static int update_protected(lua_State *L) {
  const update_call *c = (const update_call *)lua_touserdata(L, 1);
  tl_svalue old;
  tl_shared_lock(c->s);
  tl_svalue *slot = tl_shared_find(c->s, c->k);
  if (slot) tl_svalue_copy(&old, slot);
  else old.type = TL_SV_NONE;
  tl_shared_unlock(c->s);
  tl_svalue_push_release(L, &old);
  lua_insert(L, 3);
  lua_call(L, lua_gettop(L) - 2, 1);
  tl_svalue v, replaced;
  tl_svalue_set(L, -1, &v, "value");
  tl_shared_lock(c->s); /* (the gate is ours: no wait) */
  bool ok = tl_shared_store(c->s, c->k, &v, &replaced);
  tl_shared_unlock(c->s);
  tl_svalue_release(&replaced);
  if (!ok) {
    tl_svalue_release(&v);
    return luaL_error(L, "not enough memory");
  }
  return 1;
}

static int atomic_update(lua_State *L) {
  tl_skey k;
  tl_shared *s = check_args(L, &k);
  tl_args_check_callable(L, 3);
  int top = lua_gettop(L);
  update_call c = {s, &k};
  lua_pushcfunction(L, update_protected);
  lua_pushlightuserdata(L, &c);
  for (int i = 3; i <= top; i++) lua_pushvalue(L, i);
  tl_shared_sched_point(L, 2, "atomic.update", "");
  tl_wait_check(L, tl_shared_begin_update(s));
  int status = lua_pcall(L, top - 1, 1, 0);
  tl_shared_end_update(s);
  if (status != LUA_OK) return lua_error(L);
  return 1;
}

/* --- compare_and_set ------------------------------------------------------------ */

/* Lua's == between a stored value (NULL: absent) and the expected one. */
static bool matches(const tl_svalue *stored, const tl_svalue *expected) {
  int t = stored ? stored->type : TL_SV_NONE;
  lua_Integer i;
  switch (expected->type) {
    case TL_SV_INT:
      if (t == TL_SV_FLOAT)
        return stored->u.f == l_mathop(floor)(stored->u.f) && lua_numbertointeger(stored->u.f, &i) &&
               i == expected->u.i;
      return t == TL_SV_INT && stored->u.i == expected->u.i;
    case TL_SV_FLOAT:
      if (t == TL_SV_INT)
        return expected->u.f == l_mathop(floor)(expected->u.f) && lua_numbertointeger(expected->u.f, &i) &&
               i == stored->u.i;
      return t == TL_SV_FLOAT && stored->u.f == expected->u.f;
    case TL_SV_STR:
      return t == TL_SV_STR && stored->len == expected->len && memcmp(stored->u.s, expected->u.s, stored->len) == 0;
    case TL_SV_OBJECT: return t == TL_SV_OBJECT && stored->u.obj == expected->u.obj;
    case TL_SV_BLOB: /* a long string */
      return t == TL_SV_BLOB && tl_blob_equal(stored->u.blob, expected->u.blob);
    default: return t == expected->type; /* nil, false, true */
  }
}

static int atomic_compare_and_set(lua_State *L) {
  tl_skey k;
  tl_shared *s = check_args(L, &k);
  int t = lua_type(L, 3);
  if (t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TTHREAD || t == LUA_TLIGHTUSERDATA ||
      (t == LUA_TUSERDATA && tl_object_test(L, 3, NULL) == NULL))
    return luaL_typeerror(L, 3, "nil, boolean, number, string or threading object");
  luaL_checkany(L, 4);
  tl_shared_sched_point(L, 2, "atomic.compare_and_set", "");
  /* new first: its errors (a value that cannot be sent) leave nothing
  ** behind; encoding a long 'old' can fail only for want of memory. */
  tl_svalue expected, v, replaced;
  tl_svalue_set(L, 4, &v, "new");
  tl_svalue_set(L, 3, &expected, "old");
  tl_wait_result r = tl_shared_lock_write(s);
  bool done = false, ok = true;
  replaced.type = TL_SV_NONE;
  if (r == TL_WAIT_OK) {
    if (matches(tl_shared_find(s, &k), &expected)) {
      ok = tl_shared_store(s, &k, &v, &replaced);
      done = ok;
    }
    tl_shared_unlock(s);
  }
  tl_svalue_release(&replaced);
  tl_svalue_release(&expected);
  if (!done) tl_svalue_release(&v);
  tl_wait_check(L, r);
  if (!ok) return luaL_error(L, "not enough memory");
  lua_pushboolean(L, done);
  return 1;
}

static const luaL_Reg atomic_functions[] = {
    {"add", atomic_add},
    {"update", atomic_update},
    {"compare_and_set", atomic_compare_and_set},
    {NULL, NULL},
};

void tl_atomic_open(lua_State *L) {
  luaL_newlib(L, atomic_functions);
  lua_setfield(L, -2, "atomic");
}
