/*
** spec.c -- the table form of the constructors of everything a thread can
** wait on, and the name each object is reported by.
**
**   Lock{name = "accounts"}           RLock{name = ...}
**   Condition{lock = l, name = ...}   Semaphore{value = 2, name = ...}
**   BoundedSemaphore{value =, name =} Event{name = ...}
**   Barrier{parties = 3, action = f, timeout = 5, name = ...}
**   Queue{maxsize = 10, name = ...}   (LifoQueue, PriorityQueue, SimpleQueue)
**
** take the positional arguments as fields, plus 'name'.  The name is for
** people: deadlock reports, SIGQUIT dumps and traces call the object
** `Lock "accounts"`; an object made without one is called after the place
** that made it, `Lock created at bank.lua:12`.
**
** Locking: none; runs in the constructor, before the object is shared.
*/
#include <stdlib.h>
#include <string.h>

#include "kinds.h"

bool tl_spec_unpack(lua_State *L, const char *const fields[]) {
  if (lua_type(L, 1) != LUA_TTABLE || lua_getmetatable(L, 1)) {
    if (lua_type(L, 1) == LUA_TTABLE) lua_pop(L, 1); /* a callable or an object: positional */
    return false;
  }
  lua_settop(L, 1);
  lua_pushnil(L);
  while (lua_next(L, 1)) { /* every key must be known */
    lua_pop(L, 1);
    bool known = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "name") == 0;
    for (int i = 0; !known && fields[i] != NULL; i++)
      known = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), fields[i]) == 0;
    if (!known) luaL_argerror(L, 1, lua_pushfstring(L, "unknown field '%s'", luaL_tolstring(L, -1, NULL)));
  }
  int type = lua_getfield(L, 1, "name");
  if (type != LUA_TNIL && type != LUA_TSTRING)
    luaL_argerror(L, 1, lua_pushfstring(L, "string expected for field 'name', got %s", luaL_typename(L, -1)));
  lua_pop(L, 1);
  int n = 0;
  for (; fields[n] != NULL; n++) lua_getfield(L, 1, fields[n]);
  lua_pushvalue(L, 1);
  lua_remove(L, 1); /* fields 1..n, then the table itself at n + 1 */
  return true;
}

/* "created at SRC:LINE", malloc'd; built by hand, as snprintf alone
** was two thirds of the label's cost (and a third of a Lock()'s). */
static char *site_label(const char *src, int line) {
  static const char prefix[] = "created at ";
  char digits[16];
  int nd = 0;
  unsigned u = line > 0 ? (unsigned)line : 0;
  do digits[nd++] = (char)('0' + u % 10); while ((u /= 10) != 0 && nd < (int)sizeof digits);
  size_t ls = strlen(src), lp = sizeof prefix - 1;
  char *label = malloc(lp + ls + 1 + (size_t)nd + 1);
  if (label == NULL) return NULL;
  char *p = label;
  memcpy(p, prefix, lp);
  p += lp;
  memcpy(p, src, ls);
  p += ls;
  *p++ = ':';
  while (nd > 0) *p++ = digits[--nd];
  *p = '\0';
  return label;
}

char *tl_spec_label(lua_State *L, int spec) {
  if (spec != 0 && lua_getfield(L, spec, "name") == LUA_TSTRING) {
    size_t len;
    const char *name = lua_tolstring(L, -1, &len);
    char *label = malloc(len + 3);
    if (label != NULL) {
      label[0] = '"';
      memcpy(label + 1, name, len);
      label[len + 1] = '"';
      label[len + 2] = '\0';
    }
    lua_pop(L, 1);
    return label;
  }
  if (spec != 0) lua_pop(L, 1);
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); level++) { /* the nearest Lua caller */
    if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0) continue;
    return site_label(ar.short_src, ar.currentline);
  }
  return NULL;
}
