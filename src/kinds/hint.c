/*
** hint.c -- a hint for the commonest mistake with threads that have
** states of their own: using, in a thread, a global set by the main
** thread.  The thread's state has no such global, so the error is
**
**   attempt to index a nil value (global 'config')
**
** and, when the main state does have a global 'config', tlua appends
**
**   (config is a global of the main thread; each thread has its own
**   globals: pass it as an argument or use threading.shared)
**
** (the same words stand in docs/common-mistakes.md).  Any "... a nil value
** (global 'X')" error raised in a thread other than the main one gets it:
** a Thread's target (thread.c's message handler) or an executor's task
** (threading._hint, lua/threading/executor.lua).
**
** The main state's global names are noted when the main thread starts a
** thread (tl_hint_note_globals: a walk over _G, hashing each string key
** into a process-wide set, which only grows), at most once per 20 ms: a
** walk costs about 12k instructions (a start and join about 150k), and a
** loop of starts then pays it once, not at each.  A name set later and
** never seen at a start gets no hint.
**
** Locking: 'names.mutex' guards the set; a leaf lock, held over Lua
** calls that neither allocate nor raise (lua_next over _G) only.
*/
#include <stdlib.h>
#include <string.h>

#include "kinds.h"

static struct {
  pthread_mutex_t mutex;
  uint64_t *slots; /* open addressing; 0 = empty (a hash of 0 is stored as 1) */
  size_t cap, count;
} names = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static uint64_t hash(const char *s, size_t len) {
  uint64_t h = 14695981039346656037u; /* FNV-1a */
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211u;
  return h ? h : 1;
}

/* Adds h ('mutex' held); false on out of memory. */
static bool add(uint64_t h) {
  if (2 * (names.count + 1) > names.cap) {
    size_t cap = names.cap ? names.cap * 2 : 256;
    uint64_t *slots = calloc(cap, sizeof *slots);
    if (slots == NULL) return false;
    for (size_t i = 0; i < names.cap; i++) {
      if (names.slots[i] == 0) continue;
      size_t k = names.slots[i] & (cap - 1);
      while (slots[k] != 0) k = (k + 1) & (cap - 1);
      slots[k] = names.slots[i];
    }
    free(names.slots);
    names.slots = slots;
    names.cap = cap;
  }
  size_t k = h & (names.cap - 1);
  while (names.slots[k] != 0 && names.slots[k] != h) k = (k + 1) & (names.cap - 1);
  if (names.slots[k] == 0) {
    names.slots[k] = h;
    names.count++;
  }
  return true;
}

static bool known(uint64_t h) {
  pthread_mutex_lock(&names.mutex);
  bool found = false;
  if (names.cap > 0) {
    size_t k = h & (names.cap - 1);
    while (names.slots[k] != 0 && !found) {
      found = names.slots[k] == h;
      k = (k + 1) & (names.cap - 1);
    }
  }
  pthread_mutex_unlock(&names.mutex);
  return found;
}

#define NOTE_EVERY 0.02 /* seconds: at most one walk over _G per 20 ms of starts */

void tl_hint_note_globals(lua_State *L) {
  static double last_walk = -1; /* (the main thread's only) */
  double now = tl_clock_monotonic();
  if (last_walk >= 0 && now - last_walk < NOTE_EVERY) return;
  last_walk = now;
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  lua_pushnil(L);
  /* (lua_next, lua_type and lua_tolstring of a string neither allocate nor
  ** raise: the mutex may be held over them) */
  pthread_mutex_lock(&names.mutex);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) continue;
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (!add(hash(s, len))) {
      lua_pop(L, 1);
      break;
    }
  }
  pthread_mutex_unlock(&names.mutex);
  lua_pop(L, 1);
}

/* The hint's text, or NULL: msg holds "a nil value (global 'X')" with X a
** global of the main state. */
static const char *hint_for(lua_State *L, const char *msg) {
  static const char marker[] = "a nil value (global '";
  const char *at = strstr(msg, marker);
  if (at == NULL || tl_tstate_is_main()) return NULL;
  const char *name = at + sizeof marker - 1;
  const char *end = strchr(name, '\'');
  if (end == NULL || end[1] != ')' || !known(hash(name, (size_t)(end - name)))) return NULL;
  return lua_pushfstring(L, " (%s is a global of the main thread; each thread has its own globals: pass it "
                            "as an argument or use threading.shared)", lua_pushlstring(L, name, (size_t)(end - name)));
}

bool tl_hint_add(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TSTRING) return false;
  int top = lua_gettop(L);
  const char *hint = hint_for(L, lua_tostring(L, idx));
  if (hint == NULL) {
    lua_settop(L, top);
    return false;
  }
  lua_pushvalue(L, idx);
  lua_pushstring(L, hint);
  lua_concat(L, 2);
  lua_replace(L, idx);
  lua_settop(L, top);
  return true;
}

/* threading._hint(msg) -> msg, with the hint if it applies. */
static int hint_fn(lua_State *L) {
  lua_settop(L, 1);
  tl_hint_add(L, 1);
  return 1;
}

void tl_hint_open(lua_State *L) {
  lua_pushcfunction(L, hint_fn);
  lua_setfield(L, -2, "_hint");
}
