/*
** shared.c -- threading.shared([tbl]): a table shared by reference.
**
** Every thread that holds the object sees the same contents.  Keys are
** strings, numbers or booleans (a float with an integral value is the
** same key as the integer, as in Lua); values are stored as blobs, so a
** value read back is a fresh copy, except threading objects (including
** other shared tables), which stay references.  Each read or write of one
** key is atomic; s.n = s.n + 1 is a read then a write, so concurrent
** increments are lost without a lock, as in Python.
**
**   s[k], s[k] = v (nil removes), #s (a border, as Lua's #),
**   pairs(s) (a snapshot, in insertion order), ipairs(s)
**
** Locking: 'mutex' guards the hash table and the insertion list.  Blobs
** are encoded before and decoded after the mutex is held (kernel.h rule 3);
** readers take a reference to the value blob under the mutex.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kinds.h"

typedef struct entry {
  char key[1 + sizeof(lua_Integer) > 16 ? 1 + sizeof(lua_Integer) : 16]; /* scalar keys inline */
  size_t keylen;
  char *longkey; /* strings longer than 'key' can hold */
  uint64_t hash;
  tl_blob *value;
  struct entry *chain;      /* next in the bucket */
  struct entry *prev, *next; /* insertion order */
} entry;

typedef struct tl_shared {
  tl_object obj;
  pthread_mutex_t mutex;
  entry **buckets;
  size_t nbuckets, count;
  entry *first, *last;
} tl_shared;

/* A key in canonical bytes: a type byte, then the payload. */
typedef struct keybuf {
  char small[1 + sizeof(lua_Number) + sizeof(lua_Integer)];
  const char *bytes;
  size_t len;
  const char *str; /* for strings: the Lua string (owned by the state) */
  uint64_t hash;
} keybuf;

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

static bool is_nan_key(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TNUMBER || lua_isinteger(L, idx)) return false;
  lua_Number d = lua_tonumber(L, idx);
  return d != d;
}

/* The canonical bytes of the key at idx; raises for a key that cannot be
** stored (callers deal with nil and NaN first). */
static void make_key(lua_State *L, int idx, keybuf *k) {
  int t = lua_type(L, idx);
  size_t n;
  switch (t) {
    case LUA_TSTRING:
      k->str = lua_tolstring(L, idx, &n);
      k->small[0] = 's';
      k->bytes = k->str;
      k->len = n;
      k->hash = hash_bytes(k->str, n, hash_bytes("s", 1, 1469598103934665603ULL));
      return;
    case LUA_TNUMBER: {
      lua_Integer i = 0;
      if (lua_isinteger(L, idx) || float_is_integer(lua_tonumber(L, idx), &i)) {
        if (lua_isinteger(L, idx)) i = lua_tointeger(L, idx);
        k->small[0] = 'i';
        memcpy(k->small + 1, &i, sizeof i);
        k->len = 1 + sizeof i;
      } else {
        lua_Number d = lua_tonumber(L, idx);
        k->small[0] = 'f';
        memcpy(k->small + 1, &d, sizeof d);
        k->len = 1 + sizeof d;
      }
      break;
    }
    case LUA_TBOOLEAN:
      k->small[0] = lua_toboolean(L, idx) ? 'T' : 'F';
      k->len = 1;
      break;
    default:
      luaL_error(L, "shared table keys must be strings, numbers or booleans (got %s)", luaL_typename(L, idx));
  }
  k->str = NULL;
  k->bytes = k->small;
  k->hash = hash_bytes(k->small, k->len, 1469598103934665603ULL);
}

static const char *entry_key(const entry *e) { return e->longkey ? e->longkey : e->key; }

static bool key_matches(const entry *e, const keybuf *k) {
  if (e->hash != k->hash) return false;
  if (k->str) { /* string keys: 's' + bytes */
    const char *ek = entry_key(e);
    return e->keylen == k->len + 1 && ek[0] == 's' && memcmp(ek + 1, k->str, k->len) == 0;
  }
  return e->keylen == k->len && memcmp(entry_key(e), k->bytes, k->len) == 0;
}

static entry *find(tl_shared *s, const keybuf *k) {
  if (s->nbuckets == 0) return NULL;
  for (entry *e = s->buckets[k->hash & (s->nbuckets - 1)]; e != NULL; e = e->chain)
    if (key_matches(e, k)) return e;
  return NULL;
}

static void unlink_entry(tl_shared *s, entry *e) {
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

static void free_entry(entry *e) {
  tl_blob_free(e->value);
  free(e->longkey);
  free(e);
}

static void shared_destroy(tl_object *o) {
  tl_shared *s = (tl_shared *)o;
  entry *e = s->first;
  while (e != NULL) {
    entry *next = e->next;
    free_entry(e);
    e = next;
  }
  free(s->buckets);
  pthread_mutex_destroy(&s->mutex);
  free(s);
}

static const tl_kind shared_kind;

static tl_shared *check_shared(lua_State *L) { return (tl_shared *)tl_object_check(L, 1, &shared_kind); }

/* Replaces the value of an existing key; false if the key is absent. */
static bool replace(tl_shared *s, const keybuf *k, tl_blob *v) {
  pthread_mutex_lock(&s->mutex);
  entry *e = find(s, k);
  tl_blob *old = e ? e->value : NULL;
  if (e) e->value = v;
  pthread_mutex_unlock(&s->mutex);
  tl_blob_free(old);
  return e != NULL;
}

/* Stores value blob v (NULL removes) under key k; frees what it replaces. */
static void store(lua_State *L, tl_shared *s, const keybuf *k, tl_blob *v) {
  /* The common case, a key that is there already, needs no new entry. */
  if (v != NULL && replace(s, k, v)) return;
  entry *fresh = NULL;
  if (v != NULL) { /* allocate before locking (the key may appear meanwhile) */
    fresh = calloc(1, sizeof *fresh);
    size_t klen = k->str ? k->len + 1 : k->len;
    if (fresh && klen > sizeof fresh->key) {
      fresh->longkey = malloc(klen);
      if (fresh->longkey == NULL) {
        free(fresh);
        fresh = NULL;
      }
    }
    if (fresh == NULL) {
      tl_blob_free(v);
      luaL_error(L, "not enough memory");
    }
    char *dst = fresh->longkey ? fresh->longkey : fresh->key;
    if (k->str) {
      dst[0] = 's';
      memcpy(dst + 1, k->str, k->len);
    } else {
      memcpy(dst, k->bytes, k->len);
    }
    fresh->keylen = klen;
    fresh->hash = k->hash;
    fresh->value = v;
  }
  tl_blob *old = NULL;
  entry *gone = NULL;
  bool nomem = false;
  pthread_mutex_lock(&s->mutex);
  entry *e = find(s, k);
  if (e != NULL && v != NULL) {
    old = e->value;
    e->value = v;
    gone = fresh; /* not needed */
    gone->value = NULL;
  } else if (e != NULL) {
    unlink_entry(s, e);
    gone = e;
  } else if (v != NULL) {
    if (s->count >= s->nbuckets && !grow(s)) {
      nomem = true;
      gone = fresh;
    } else {
      fresh->chain = s->buckets[fresh->hash & (s->nbuckets - 1)];
      s->buckets[fresh->hash & (s->nbuckets - 1)] = fresh;
      fresh->prev = s->last;
      fresh->next = NULL;
      if (s->last) s->last->next = fresh;
      else s->first = fresh;
      s->last = fresh;
      s->count++;
    }
  }
  pthread_mutex_unlock(&s->mutex);
  tl_blob_free(old);
  if (gone) free_entry(gone);
  if (nomem) luaL_error(L, "not enough memory");
}

/* Pushes the value of key k (nil if absent). */
static void load(lua_State *L, tl_shared *s, const keybuf *k) {
  pthread_mutex_lock(&s->mutex);
  entry *e = find(s, k);
  tl_blob *v = e ? e->value : NULL;
  if (v) tl_blob_incref(v);
  pthread_mutex_unlock(&s->mutex);
  if (v == NULL) {
    lua_pushnil(L);
    return;
  }
  tl_blob_decode_release(L, v);
}

/* A schedule point naming the key: "shared 'n' read", "shared [3] write". */
static void sched_point(lua_State *L, const char *access) {
  if (!tl_sched_active()) return;
  char detail[96];
  if (lua_type(L, 2) == LUA_TSTRING) snprintf(detail, sizeof detail, "'%.64s' %s", lua_tostring(L, 2), access);
  else if (lua_type(L, 2) == LUA_TNUMBER && lua_isinteger(L, 2))
    snprintf(detail, sizeof detail, "[%lld] %s", (long long)lua_tointeger(L, 2), access);
  else snprintf(detail, sizeof detail, "%s", access);
  tl_sched_point(L, "shared", detail);
}

static int shared_index(lua_State *L) {
  tl_shared *s = check_shared(L);
  keybuf k;
  sched_point(L, "read");
  if (lua_isnil(L, 2) || is_nan_key(L, 2)) { /* never stored: nil, as Lua */
    lua_pushnil(L);
    return 1;
  }
  make_key(L, 2, &k);
  load(L, s, &k);
  return 1;
}

static int shared_newindex(lua_State *L) {
  tl_shared *s = check_shared(L);
  if (lua_isnil(L, 2)) return luaL_error(L, "shared table index is nil");
  if (is_nan_key(L, 2)) return luaL_error(L, "shared table index is NaN");
  sched_point(L, "write");
  keybuf k;
  make_key(L, 2, &k);
  tl_blob *v = lua_isnil(L, 3) ? NULL : tl_blob_encode(L, 3, 1, "value");
  store(L, s, &k, v);
  return 0;
}

static bool has_index(tl_shared *s, lua_Integer i) {
  keybuf k;
  k.str = NULL;
  k.small[0] = 'i';
  memcpy(k.small + 1, &i, sizeof i);
  k.len = 1 + sizeof i;
  k.bytes = k.small;
  k.hash = hash_bytes(k.small, k.len, 1469598103934665603ULL);
  return find(s, &k) != NULL;
}

/* #s: a border, found as Lua's own unbound search does. */
static int shared_len(lua_State *L) {
  tl_shared *s = check_shared(L);
  tl_sched_point(L, "shared", "length");
  pthread_mutex_lock(&s->mutex);
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
  pthread_mutex_unlock(&s->mutex);
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
    char *key;
    size_t len;
    tl_blob *v;
  } *items;
} snapshot;

/* In protected mode: the keys and values of the snapshot as two lists. */
static int push_snapshot(lua_State *L) {
  const snapshot *snap = (const snapshot *)lua_touserdata(L, 1);
  lua_createtable(L, (int)snap->n, 0);
  lua_createtable(L, (int)snap->n, 0);
  for (size_t i = 0; i < snap->n; i++) {
    push_key(L, snap->items[i].key, snap->items[i].len);
    lua_rawseti(L, -3, (lua_Integer)i + 1);
    tl_blob_decode(L, snap->items[i].v);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 2;
}

/* pairs(s): a snapshot of the keys and values, in insertion order.  The
** entries are copied under the mutex, decoded after it (rule 3). */
static int shared_pairs(lua_State *L) {
  tl_shared *s = check_shared(L);
  tl_sched_point(L, "shared", "pairs");
  snapshot snap = {0, NULL};
  bool nomem = false;
  pthread_mutex_lock(&s->mutex);
  size_t cap = s->count;
  snap.items = cap ? malloc(cap * sizeof *snap.items) : NULL;
  if (cap && snap.items == NULL) nomem = true;
  for (entry *e = s->first; !nomem && e != NULL; e = e->next) {
    struct snapshot_item *it = &snap.items[snap.n];
    it->key = malloc(e->keylen);
    if (it->key == NULL) {
      nomem = true;
      break;
    }
    memcpy(it->key, entry_key(e), e->keylen);
    it->len = e->keylen;
    it->v = e->value;
    tl_blob_incref(e->value);
    snap.n++;
  }
  pthread_mutex_unlock(&s->mutex);
  int status = LUA_OK;
  if (!nomem) {
    lua_pushcfunction(L, push_snapshot);
    lua_pushlightuserdata(L, &snap);
    status = lua_pcall(L, 1, 2, 0);
  }
  for (size_t i = 0; i < snap.n; i++) {
    free(snap.items[i].key);
    tl_blob_free(snap.items[i].v);
  }
  free(snap.items);
  if (nomem) return luaL_error(L, "not enough memory");
  if (status != LUA_OK) return lua_error(L);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, snapshot_next, 3);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

static int shared_tostring(lua_State *L) {
  tl_shared *s = check_shared(L);
  pthread_mutex_lock(&s->mutex);
  size_t n = s->count;
  pthread_mutex_unlock(&s->mutex);
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
};

static int new_shared(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TTABLE);
  tl_shared *s = calloc(1, sizeof *s);
  if (s == NULL) return luaL_error(L, "not enough memory");
  tl_object_init(&s->obj, &shared_kind);
  pthread_mutex_init(&s->mutex, NULL);
  tl_object_push_new(L, &s->obj);
  if (lua_istable(L, 1)) {
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      keybuf k;
      make_key(L, -2, &k);
      store(L, s, &k, tl_blob_encode(L, -1, 1, "value"));
      lua_pop(L, 1);
    }
  }
  return 1;
}

void tl_shared_open(lua_State *L) {
  lua_pushcfunction(L, new_shared);
  lua_setfield(L, -2, "shared");
}
