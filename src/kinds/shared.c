/*
** shared.c -- threading.shared([tbl]): a table shared by reference.
**
** Every thread that holds the object sees the same contents.  Keys are
** strings, numbers or booleans (a float with an integral value is the
** same key as the integer, as in Lua); a value read back is a fresh copy,
** except threading objects (including other shared tables), which stay
** references.  Each read or write of one key is atomic; s.n = s.n + 1 is
** a read then a write, so concurrent increments are lost without a lock,
** as in Python (threading.atomic, atomic.c, has the operations that are
** not).
**
**   s[k], s[k] = v (nil removes), #s (a border, as Lua's #),
**   pairs(s) (a snapshot, in insertion order), ipairs(s)
**
** Values live in their entries (shared.h): booleans, numbers, short
** strings and threading objects inline, other values as blobs.  Writes
** wait while another thread holds the table's update gate (shared.h).
**
** Locking: 'lock', a spin lock (kernel/spinlock.c), guards the hash table, the
** insertion list and the gate.  Blobs are encoded before and decoded
** after it is held (kernel.h rule 3); readers copy the value under it
** (taking a reference to a blob or an object), and what a write replaces
** is released after it.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shared.h"

struct tl_sentry {
  char key[1 + sizeof(lua_Integer) > 16 ? 1 + sizeof(lua_Integer) : 16]; /* scalar keys inline */
  size_t keylen;
  char *longkey; /* strings longer than 'key' can hold */
  uint64_t hash;
  tl_svalue value;
  struct tl_sentry *chain;         /* next in the bucket */
  struct tl_sentry *prev, *next;   /* insertion order */
};
typedef struct tl_sentry entry;

static const tl_kind shared_kind;

tl_shared *tl_shared_check(lua_State *L, int idx) {
  return (tl_shared *)tl_object_check(L, idx, &shared_kind);
}

/* --- keys ----------------------------------------------------------------- */

#define HASH_SEED 1469598103934665603ULL

static uint64_t hash_bytes(const char *p, size_t n, uint64_t h) {
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

/* A float with an integral value in range is the integer key, as in Lua
** (lua_numbertointeger alone only checks the range: 1.5 would become 1). */
static bool float_is_integer(lua_Number d, lua_Integer *i) {
  return d == l_mathop(floor)(d) && lua_numbertointeger(d, i);
}

typedef enum { KEY_OK, KEY_NIL, KEY_NAN, KEY_BAD } key_status;

/* The canonical bytes of the key at idx, or why it cannot be one. */
static key_status read_key(lua_State *L, int idx, tl_skey *k) {
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t n;
      k->str = lua_tolstring(L, idx, &n);
      k->bytes = k->str;
      k->len = n;
      k->hash = hash_bytes(k->str, n, hash_bytes("s", 1, HASH_SEED));
      return KEY_OK;
    }
    case LUA_TNUMBER: {
      lua_Integer i = 0;
      if (lua_isinteger(L, idx)) {
        i = lua_tointeger(L, idx);
      } else {
        lua_Number d = lua_tonumber(L, idx);
        if (d != d) return KEY_NAN;
        if (!float_is_integer(d, &i)) {
          k->small[0] = 'f';
          memcpy(k->small + 1, &d, sizeof d);
          k->len = 1 + sizeof d;
          break;
        }
      }
      k->small[0] = 'i';
      memcpy(k->small + 1, &i, sizeof i);
      k->len = 1 + sizeof i;
      break;
    }
    case LUA_TBOOLEAN:
      k->small[0] = lua_toboolean(L, idx) ? 'T' : 'F';
      k->len = 1;
      break;
    case LUA_TNIL:
    case LUA_TNONE: return KEY_NIL;
    default: return KEY_BAD;
  }
  k->str = NULL;
  k->bytes = k->small;
  k->hash = hash_bytes(k->small, k->len, HASH_SEED);
  return KEY_OK;
}

void tl_shared_key(lua_State *L, int idx, tl_skey *k, bool arg) {
  const char *msg;
  switch (read_key(L, idx, k)) {
    case KEY_OK: return;
    case KEY_NIL: msg = "shared table index is nil"; break;
    case KEY_NAN: msg = "shared table index is NaN"; break;
    default:
      msg = lua_pushfstring(L, "shared table keys must be strings, numbers or booleans (got %s)",
                            luaL_typename(L, idx));
  }
  if (arg) luaL_argerror(L, idx, msg);
  luaL_error(L, "%s", msg);
}

static const char *entry_key(const entry *e) { return e->longkey ? e->longkey : e->key; }

static bool key_matches(const entry *e, const tl_skey *k) {
  if (e->hash != k->hash) return false;
  if (k->str) { /* string keys: 's' + bytes */
    const char *ek = entry_key(e);
    return e->keylen == k->len + 1 && ek[0] == 's' && memcmp(ek + 1, k->str, k->len) == 0;
  }
  return e->keylen == k->len && memcmp(entry_key(e), k->bytes, k->len) == 0;
}

/* A schedule point naming the key: "shared 'n' read", "shared [3] write". */
void tl_shared_sched_point_at(lua_State *L, int keyidx, const char *what, const char *access) {
  char detail[96];
  const char *sep = access[0] ? " " : "";
  if (lua_type(L, keyidx) == LUA_TSTRING)
    snprintf(detail, sizeof detail, "'%.64s'%s%s", lua_tostring(L, keyidx), sep, access);
  else if (lua_type(L, keyidx) == LUA_TNUMBER && lua_isinteger(L, keyidx))
    snprintf(detail, sizeof detail, "[%lld]%s%s", (long long)lua_tointeger(L, keyidx), sep, access);
  else snprintf(detail, sizeof detail, "%s", access);
  tl_sched_point(L, what, detail[0] ? detail : NULL);
}

/* --- values ---------------------------------------------------------------- */

void tl_svalue_set(lua_State *L, int idx, tl_svalue *v, const char *what) {
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
    case LUA_TNONE: v->type = TL_SV_NONE; return;
    case LUA_TBOOLEAN: v->type = lua_toboolean(L, idx) ? TL_SV_TRUE : TL_SV_FALSE; return;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        v->type = TL_SV_INT;
        v->u.i = lua_tointeger(L, idx);
      } else {
        v->type = TL_SV_FLOAT;
        v->u.f = lua_tonumber(L, idx);
      }
      return;
    case LUA_TSTRING: {
      size_t n;
      const char *str = lua_tolstring(L, idx, &n);
      if (n <= TL_SVALUE_SHORT) {
        v->type = TL_SV_STR;
        v->len = (unsigned char)n;
        memcpy(v->u.s, str, n);
        return;
      }
      break;
    }
    case LUA_TUSERDATA: {
      tl_object *o = tl_object_test(L, idx, NULL);
      if (o != NULL) {
        tl_object_incref(o);
        v->type = TL_SV_OBJECT;
        v->u.obj = o;
        return;
      }
      break; /* the encoder names it */
    }
    default: break;
  }
  v->u.blob = tl_blob_encode(L, idx, 1, what);
  v->type = TL_SV_BLOB;
}

/* Pushes v, keeping its references. */
static void push_value(lua_State *L, const tl_svalue *v) {
  switch (v->type) {
    case TL_SV_NONE: lua_pushnil(L); break;
    case TL_SV_FALSE: lua_pushboolean(L, 0); break;
    case TL_SV_TRUE: lua_pushboolean(L, 1); break;
    case TL_SV_INT: lua_pushinteger(L, v->u.i); break;
    case TL_SV_FLOAT: lua_pushnumber(L, v->u.f); break;
    case TL_SV_STR: lua_pushlstring(L, v->u.s, v->len); break;
    case TL_SV_OBJECT: tl_object_push(L, v->u.obj); break;
    default: tl_blob_decode(L, v->u.blob); break;
  }
}

void tl_svalue_push_release(lua_State *L, tl_svalue *v) {
  switch (v->type) {
    case TL_SV_OBJECT: tl_object_push_new(L, v->u.obj); break; /* hands our reference over */
    case TL_SV_BLOB: tl_blob_decode_release(L, v->u.blob); break;
    default: push_value(L, v); break;
  }
  v->type = TL_SV_NONE;
}

void tl_svalue_release(tl_svalue *v) {
  if (v->type == TL_SV_OBJECT) tl_object_decref(v->u.obj);
  else if (v->type == TL_SV_BLOB) tl_blob_free(v->u.blob);
  v->type = TL_SV_NONE;
}

void tl_svalue_copy(tl_svalue *dst, const tl_svalue *src) {
  if (src->type == TL_SV_STR) { /* only the bytes in use */
    dst->type = TL_SV_STR;
    dst->len = src->len;
    memcpy(dst->u.s, src->u.s, src->len);
    return;
  }
  *dst = *src;
  if (src->type == TL_SV_OBJECT) tl_object_incref(src->u.obj);
  else if (src->type == TL_SV_BLOB) tl_blob_incref(src->u.blob);
}

/* --- the hash table (locked) ------------------------------------------------ */

static entry *find(tl_shared *s, const tl_skey *k) {
  if (s->nbuckets == 0) return NULL;
  for (entry *e = s->buckets[k->hash & (s->nbuckets - 1)]; e != NULL; e = e->chain)
    if (key_matches(e, k)) return e;
  return NULL;
}

tl_svalue *tl_shared_find(tl_shared *s, const tl_skey *k) {
  entry *e = find(s, k);
  return e ? &e->value : NULL;
}

static void unlink_entry(tl_shared *s, entry *e) {
  s->keybytes -= e->keylen;
  entry **pp = &s->buckets[e->hash & (s->nbuckets - 1)];
  while (*pp != e) pp = &(*pp)->chain;
  *pp = e->chain;
  if (e->prev) e->prev->next = e->next;
  else s->first = e->next;
  if (e->next) e->next->prev = e->prev;
  else s->last = e->prev;
  s->count--;
}

static bool grow(tl_shared *s) {
  size_t n = s->nbuckets ? s->nbuckets * 2 : 8;
  entry **nb = calloc(n, sizeof *nb);
  if (nb == NULL) return false;
  for (entry *e = s->first; e != NULL; e = e->next) {
    e->chain = nb[e->hash & (n - 1)];
    nb[e->hash & (n - 1)] = e;
  }
  free(s->buckets);
  s->buckets = nb;
  s->nbuckets = n;
  return true;
}

/* A new entry for key k holding nothing yet, or NULL (out of memory). */
static entry *new_entry(const tl_skey *k) {
  entry *e = calloc(1, sizeof *e);
  size_t klen = k->str ? k->len + 1 : k->len;
  if (e && klen > sizeof e->key) {
    e->longkey = malloc(klen);
    if (e->longkey == NULL) {
      free(e);
      return NULL;
    }
  }
  if (e == NULL) return NULL;
  char *dst = e->longkey ? e->longkey : e->key;
  if (k->str) {
    dst[0] = 's';
    memcpy(dst + 1, k->str, k->len);
  } else {
    memcpy(dst, k->bytes, k->len);
  }
  e->keylen = klen;
  e->hash = k->hash;
  return e;
}

static void free_entry(entry *e) {
  free(e->longkey);
  free(e);
}

bool tl_shared_store(tl_shared *s, const tl_skey *k, tl_svalue *v, tl_svalue *old) {
  entry *e = find(s, k);
  old->type = TL_SV_NONE;
  if (e != NULL) {
    *old = e->value;
    if (v->type != TL_SV_NONE) {
      e->value = *v;
    } else {
      unlink_entry(s, e);
      free_entry(e);
    }
    return true;
  }
  if (v->type == TL_SV_NONE) return true;
  if (s->count >= s->nbuckets && !grow(s)) return false;
  e = new_entry(k);
  if (e == NULL) return false;
  e->value = *v;
  e->chain = s->buckets[e->hash & (s->nbuckets - 1)];
  s->buckets[e->hash & (s->nbuckets - 1)] = e;
  e->prev = s->last;
  e->next = NULL;
  if (s->last) s->last->next = e;
  else s->first = e;
  s->last = e;
  s->count++;
  s->keybytes += e->keylen;
  return true;
}

/* --- the update gate ------------------------------------------------------- */

/* May the calling thread write?  (locked) */
static bool gate_open(const tl_shared *s) {
  if (s->updates == 0) return true;
  tl_tstate *self = tl_tstate_self();
  if (s->updater != NULL || self != NULL) return s->updater == self;
  return pthread_equal(s->updater_id, pthread_self());
}

static bool gate_looks_open(tl_shared *s) {
  tl_shared_lock(s);
  bool open = gate_open(s);
  tl_shared_unlock(s);
  return open;
}

/* Waits (GIL released, no lock held on entry or return) until the gate
** looks open. */
static tl_wait_result wait_gate(tl_shared *s) {
  tl_waiting w;
  tl_wait_begin(&w, "shared table (atomic.update)", &s->obj);
  tl_deadline forever = tl_clock_forever();
  tl_wait_result r = TL_WAIT_OK;
  pthread_mutex_lock(&s->gate_mutex);
  s->gate_waiters++;
  while (!gate_looks_open(s) && r == TL_WAIT_OK) r = tl_wait_cond(&s->gate, &s->gate_mutex, &forever);
  s->gate_waiters--;
  pthread_mutex_unlock(&s->gate_mutex);
  tl_wait_end(&w);
  return r;
}

tl_wait_result tl_shared_lock_write(tl_shared *s) {
  for (;;) {
    tl_shared_lock(s);
    if (gate_open(s)) return TL_WAIT_OK;
    tl_shared_unlock(s);
    tl_wait_result r = wait_gate(s);
    if (r != TL_WAIT_OK) return r;
  }
}

tl_wait_result tl_shared_begin_update(tl_shared *s) {
  tl_wait_result r = tl_shared_lock_write(s);
  if (r != TL_WAIT_OK) return r;
  if (s->updates++ == 0) {
    s->updater_id = pthread_self();
    s->updater = tl_tstate_self();
    if (s->updater) tl_tstate_incref(s->updater);
  }
  tl_shared_unlock(s);
  return TL_WAIT_OK;
}

void tl_shared_end_update(tl_shared *s) {
  tl_shared_lock(s);
  bool opened = --s->updates == 0;
  tl_tstate *old = opened ? s->updater : NULL;
  if (opened) s->updater = NULL;
  tl_shared_unlock(s);
  if (!opened) return;
  if (old) tl_tstate_decref(old);
  pthread_mutex_lock(&s->gate_mutex);
  if (s->gate_waiters) tl_wait_broadcast(&s->gate);
  pthread_mutex_unlock(&s->gate_mutex);
}

/* --- the table's operations ------------------------------------------------ */

static void shared_destroy(tl_object *o) {
  tl_shared *s = (tl_shared *)o;
  entry *e = s->first;
  while (e != NULL) {
    entry *next = e->next;
    tl_svalue_release(&e->value);
    free_entry(e);
    e = next;
  }
  free(s->buckets);
  if (s->updater) tl_tstate_decref(s->updater);
  pthread_mutex_destroy(&s->gate_mutex);
  pthread_cond_destroy(&s->gate);
  free(s);
}

/* For deadlock reports: "shared table 0x..." and the thread running an
** atomic.update on it, if any. */
static void shared_describe(tl_object *o, char *buf, size_t size, tl_tstate **holder) {
  tl_shared *s = (tl_shared *)o;
  tl_shared_lock(s);
  *holder = s->updates > 0 ? s->updater : NULL;
  if (*holder) tl_tstate_incref(*holder); /* (the caller drops it: value.h) */
  tl_shared_unlock(s);
  snprintf(buf, size, "shared table %p", (void *)o);
}

/* Stores the value at validx under key k (nil removes). */
static void store_value(lua_State *L, tl_shared *s, const tl_skey *k, int validx) {
  tl_svalue v, old;
  tl_svalue_set(L, validx, &v, "value");
  tl_wait_result r = tl_shared_lock_write(s);
  if (r != TL_WAIT_OK) {
    tl_svalue_release(&v);
    tl_wait_check(L, r);
    return;
  }
  bool ok = tl_shared_store(s, k, &v, &old);
  tl_shared_unlock(s);
  tl_svalue_release(&old);
  if (!ok) {
    tl_svalue_release(&v);
    luaL_error(L, "not enough memory");
  }
}

static int shared_index(lua_State *L) {
  tl_shared *s = tl_shared_check(L, 1);
  tl_shared_sched_point(L, 2, "shared", "read");
  tl_skey k;
  tl_svalue v;
  key_status ks = read_key(L, 2, &k);
  if (ks != KEY_OK) { /* nil and NaN are never stored: nil, as Lua */
    if (ks == KEY_BAD) tl_shared_key(L, 2, &k, false); /* raises */
    lua_pushnil(L);
    return 1;
  }
  tl_shared_lock(s);
  entry *e = find(s, &k);
  if (e) tl_svalue_copy(&v, &e->value);
  else v.type = TL_SV_NONE;
  tl_shared_unlock(s);
  tl_svalue_push_release(L, &v);
  return 1;
}

static int shared_newindex(lua_State *L) {
  tl_shared *s = tl_shared_check(L, 1);
  tl_skey k;
  if (read_key(L, 2, &k) != KEY_OK) tl_shared_key(L, 2, &k, false); /* raises */
  tl_shared_sched_point(L, 2, "shared", "write");
  store_value(L, s, &k, 3);
  return 0;
}

static bool has_index(tl_shared *s, lua_Integer i) {
  tl_skey k;
  k.str = NULL;
  k.small[0] = 'i';
  memcpy(k.small + 1, &i, sizeof i);
  k.len = 1 + sizeof i;
  k.bytes = k.small;
  k.hash = hash_bytes(k.small, k.len, HASH_SEED);
  return find(s, &k) != NULL;
}

/* #s: a border, found as Lua's own unbound search does. */
static int shared_len(lua_State *L) {
  tl_shared *s = tl_shared_check(L, 1);
  tl_sched_point(L, "shared", "length");
  tl_shared_lock(s);
  lua_Integer i = 0, j = 1;
  while (has_index(s, j)) {
    i = j;
    if (j > LUA_MAXINTEGER / 2) break;
    j *= 2;
  }
  while (j - i > 1) {
    lua_Integer m = i + (j - i) / 2;
    if (has_index(s, m)) i = m;
    else j = m;
  }
  tl_shared_unlock(s);
  lua_pushinteger(L, i);
  return 1;
}

static void push_key(lua_State *L, const char *k, size_t len) {
  switch (k[0]) {
    case 's': lua_pushlstring(L, k + 1, len - 1); break;
    case 'i': {
      lua_Integer i;
      memcpy(&i, k + 1, sizeof i);
      lua_pushinteger(L, i);
      break;
    }
    case 'f': {
      lua_Number d;
      memcpy(&d, k + 1, sizeof d);
      lua_pushnumber(L, d);
      break;
    }
    default: lua_pushboolean(L, k[0] == 'T'); break;
  }
}

static int snapshot_next(lua_State *L) {
  lua_Integer i = lua_tointeger(L, lua_upvalueindex(3)) + 1;
  lua_pushinteger(L, i);
  lua_replace(L, lua_upvalueindex(3));
  if (lua_rawgeti(L, lua_upvalueindex(1), i) == LUA_TNIL) return 1;
  lua_rawgeti(L, lua_upvalueindex(2), i);
  return 2;
}

typedef struct snapshot {
  size_t n;
  struct snapshot_item {
    const char *key; /* into 'keys' */
    size_t len;
    tl_svalue v;
  } *items;
  char *keys; /* every key's bytes */
} snapshot;

/* In protected mode: the keys and values of the snapshot as two lists. */
static int push_snapshot(lua_State *L) {
  const snapshot *snap = (const snapshot *)lua_touserdata(L, 1);
  lua_createtable(L, (int)snap->n, 0);
  lua_createtable(L, (int)snap->n, 0);
  for (size_t i = 0; i < snap->n; i++) {
    push_key(L, snap->items[i].key, snap->items[i].len);
    lua_rawseti(L, -3, (lua_Integer)i + 1);
    push_value(L, &snap->items[i].v);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 2;
}

/* Copies the entries into snap (locked), if its room (n items, nkeys
** bytes of keys) is enough; else returns false. */
static bool take_snapshot(tl_shared *s, snapshot *snap, size_t n, size_t nkeys) {
  if (s->count > n || s->keybytes > nkeys) return false;
  char *key = snap->keys;
  for (entry *e = s->first; e != NULL; e = e->next) {
    struct snapshot_item *it = &snap->items[snap->n++];
    memcpy(key, entry_key(e), e->keylen);
    it->key = key;
    it->len = e->keylen;
    key += e->keylen;
    tl_svalue_copy(&it->v, &e->value);
  }
  return true;
}

/* pairs(s): a snapshot of the keys and values, in insertion order.  The
** entries are copied under the lock into memory allocated before it, and
** decoded after it (rule 3). */
static int shared_pairs(lua_State *L) {
  tl_shared *s = tl_shared_check(L, 1);
  tl_sched_point(L, "shared", "pairs");
  snapshot snap = {0, NULL, NULL};
  for (;;) {
    tl_shared_lock(s);
    size_t n = s->count, nkeys = s->keybytes;
    tl_shared_unlock(s);
    snap.items = malloc(n * sizeof *snap.items + 1);
    snap.keys = malloc(nkeys + 1);
    if (snap.items == NULL || snap.keys == NULL) {
      free(snap.items);
      free(snap.keys);
      return luaL_error(L, "not enough memory");
    }
    tl_shared_lock(s);
    bool taken = take_snapshot(s, &snap, n, nkeys);
    tl_shared_unlock(s);
    if (taken) break;
    free(snap.items); /* it grew meanwhile: again */
    free(snap.keys);
  }
  lua_pushcfunction(L, push_snapshot);
  lua_pushlightuserdata(L, &snap);
  int status = lua_pcall(L, 1, 2, 0);
  for (size_t i = 0; i < snap.n; i++) tl_svalue_release(&snap.items[i].v);
  free(snap.items);
  free(snap.keys);
  if (status != LUA_OK) return lua_error(L);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, snapshot_next, 3);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

static int shared_tostring(lua_State *L) {
  tl_shared *s = tl_shared_check(L, 1);
  tl_shared_lock(s);
  size_t n = s->count;
  tl_shared_unlock(s);
  lua_pushfstring(L, "shared(%d keys): %p", (int)n, (void *)s);
  return 1;
}

static const luaL_Reg shared_methods[] = {
    {"__index", shared_index},
    {"__newindex", shared_newindex},
    {"__len", shared_len},
    {"__pairs", shared_pairs},
    {"__tostring", shared_tostring},
    {NULL, NULL},
};

static const tl_kind shared_kind = {
    .name = "shared",
    .destroy = shared_destroy,
    .methods = shared_methods,
    .describe = shared_describe,
};

static int new_shared(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TTABLE);
  tl_shared *s = calloc(1, sizeof *s);
  if (s == NULL) return luaL_error(L, "not enough memory");
  atomic_init(&s->lock, false);
  tl_mutex_init(&s->gate_mutex);
  tl_clock_cond_init(&s->gate);
  tl_object_init(&s->obj, &shared_kind);
  tl_object_push_new(L, &s->obj);
  if (lua_istable(L, 1)) {
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      tl_skey k;
      tl_shared_key(L, -2, &k, false);
      store_value(L, s, &k, -1);
      lua_pop(L, 1);
    }
  }
  return 1;
}

void tl_shared_open(lua_State *L) {
  lua_pushcfunction(L, new_shared);
  lua_setfield(L, -2, "shared");
}
