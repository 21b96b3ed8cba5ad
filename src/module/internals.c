/*
** internals.c -- the module's underscore functions: process-wide helpers
** for the Lua parts (lua/threading/executor.lua, log.lua) and for the
** tools and tests.
**
**   _cpu_count()       the number of online processors
**   _counter()         0, 1, 2... across the whole process
**   _time()            wall-clock seconds since the epoch
**   _once(key, v)      a process-wide value, made once (log.lua's config)
**   _live_objects()    how many threading objects are alive (leak checks)
**   _trace_events()    the raw events of --trace (lua/threading/trace.lua)
**   _register_atexit(fn)  see kinds/atexit.c
**
** Locking: 'once_mutex' guards the registry of _once; a leaf lock.
*/
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "module.h"

/* threading._cpu_count() -> the number of online processors. */
static int cpu_count(lua_State *L) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  lua_pushinteger(L, n > 0 ? n : 1);
  return 1;
}

/* threading._counter() -> 0, 1, 2... across the whole process. */
static int counter(lua_State *L) {
  static atomic_long next;
  lua_pushinteger(L, atomic_fetch_add(&next, 1));
  return 1;
}

/* threading._time() -> wall-clock seconds since the epoch, as a float. */
static int wall_time(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
  return 1;
}

/* The registry of _once: key -> value, kept for the life of the process. */
typedef struct once_entry {
  char *key;
  tl_blob *value;
  struct once_entry *next;
} once_entry;

static pthread_mutex_t once_mutex = PTHREAD_MUTEX_INITIALIZER;
static once_entry *once_entries;

/* Returns the value stored under key with a new reference, or NULL. */
static tl_blob *once_find(const char *key) {
  tl_blob *b = NULL;
  pthread_mutex_lock(&once_mutex);
  for (once_entry *e = once_entries; e != NULL && b == NULL; e = e->next)
    if (strcmp(e->key, key) == 0) b = e->value;
  if (b) tl_blob_incref(b);
  pthread_mutex_unlock(&once_mutex);
  return b;
}

/* threading._once(key, value_or_maker) -> the process-wide value for key:
** the first call stores its value (a function is called to make it, only
** when the key is new); every later call, in any thread, gets a copy of
** it.  With a threading object (a shared table) all threads share it. */
static int once(lua_State *L) {
  const char *key = luaL_checkstring(L, 1);
  luaL_checkany(L, 2);
  lua_settop(L, 2);
  tl_blob *b = once_find(key);
  if (b == NULL) {
    if (lua_isfunction(L, 2)) lua_call(L, 0, 1);
    tl_blob *mine = tl_blob_encode(L, -1, 1, "value");
    once_entry *e = malloc(sizeof *e);
    char *k = strdup(key);
    if (e == NULL || k == NULL) {
      free(e);
      free(k);
      tl_blob_free(mine);
      return luaL_error(L, "not enough memory");
    }
    pthread_mutex_lock(&once_mutex);
    for (once_entry *o = once_entries; o != NULL && b == NULL; o = o->next)
      if (strcmp(o->key, key) == 0) b = o->value;
    if (b == NULL) { /* we won: store ours */
      e->key = k;
      e->value = b = mine;
      e->next = once_entries;
      once_entries = e;
      mine = NULL;
      e = NULL;
      k = NULL;
    }
    tl_blob_incref(b);
    pthread_mutex_unlock(&once_mutex);
    free(e);
    free(k);
    tl_blob_free(mine);
  }
  lua_settop(L, 0);
  return tl_blob_decode_release(L, b);
}


static int live_objects(lua_State *L) {
  lua_pushinteger(L, tl_object_live_count());
  return 1;
}

static int trace_events(lua_State *L) { return tl_trace_push_events(L); }

void tl_internals_open(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"_cpu_count", cpu_count},
      {"_counter", counter},
      {"_time", wall_time},
      {"_once", once},
      {"_live_objects", live_objects},
      {"_trace_events", trace_events},
      {"_register_atexit", tl_atexit_register},
      {NULL, NULL},
  };
  luaL_setfuncs(L, fns, 0);
}
