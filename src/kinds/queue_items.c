/*
** queue_items.c -- the items of the queues and the containers that order
** them (see queue_items.h; the queues themselves are queue.c).
**
** An item is a copy of a Lua value.  Numbers, booleans and strings -- most
** items -- are kept in the item itself (strings of up to TL_ITEM_INLINE
** bytes inside it, longer ones as one malloc'd copy): no encoder, no blob
** to allocate in one thread and free in another, no protected call to
** decode it.  Other values are encoded into a blob (value/blob_encode.c).
**
** Priorities compare as Python's heapq would compare them: numbers with
** numbers (an integer against a float exactly), strings with strings by
** bytes, ties in insertion order.
**
** Locking: none; see queue_items.h.
*/
#include <math.h>
#include <stdint.h> /* SIZE_MAX */
#include <stdlib.h>
#include <string.h>

#include "queue_items.h"

/* --- items ------------------------------------------------------------- */

static const char *item_string(const tl_item *it) {
  return it->len <= TL_ITEM_INLINE ? it->v.inl : it->v.s;
}

void tl_item_free(tl_item *it) {
  tl_blob_free(it->blob);
  it->blob = NULL;
  if (it->vtype == LUA_TSTRING && it->len > TL_ITEM_INLINE) free(it->v.s);
  it->vtype = LUA_TNIL;
}

/* Copies the number, boolean or string at idx into it->v (the caller has
** checked the type); false when out of memory. */
static bool copy_scalar(lua_State *L, int idx, tl_item *it) {
  switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
      it->visint = lua_isinteger(L, idx);
      if (it->visint) it->v.i = lua_tointeger(L, idx);
      else it->v.f = lua_tonumber(L, idx);
      break;
    case LUA_TBOOLEAN:
      it->v.b = lua_toboolean(L, idx);
      break;
    default: { /* LUA_TSTRING */
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      it->len = (uint32_t)len; /* (the caller checked: at most TL_ITEM_MAX_STRING) */
      if (it->len <= TL_ITEM_INLINE) {
        memcpy(it->v.inl, s, it->len);
      } else {
        it->v.s = malloc(it->len);
        if (it->v.s == NULL) return false;
        memcpy(it->v.s, s, it->len);
      }
    }
  }
  it->vtype = (uint8_t)lua_type(L, idx);
  return true;
}

/* The priority at idx, checked: a number that is not NaN, or a string. */
static void check_priority(lua_State *L, int idx, int item) {
  int type = lua_type(L, idx);
  if (type == LUA_TNUMBER && isnan(lua_tonumber(L, idx)))
    tl_error(L, "ValueError", "PriorityQueue priority is NaN");
  if (type == LUA_TSTRING && lua_rawlen(L, idx) > TL_ITEM_MAX_STRING)
    tl_error(L, "ValueError", "PriorityQueue priority is a string of more than 4 GiB");
  if (type == LUA_TNUMBER || type == LUA_TSTRING) return;
  if (idx == item)
    tl_error(L, "TypeError", "PriorityQueue items are numbers, strings or {priority, value} tables, not %s",
             luaL_typename(L, idx));
  tl_error(L, "TypeError", "PriorityQueue priority (item[1]) must be a number or a string, not %s",
           luaL_typename(L, idx));
}

void tl_item_make(lua_State *L, int idx, bool priority, tl_item *it) {
  int type = lua_type(L, idx);
  if (priority && type != LUA_TTABLE) check_priority(L, idx, idx);
  if (type == LUA_TNUMBER || type == LUA_TBOOLEAN ||
      (type == LUA_TSTRING && lua_rawlen(L, idx) <= TL_ITEM_MAX_STRING)) {
    if (!copy_scalar(L, idx, it)) luaL_error(L, "not enough memory");
    it->prio_string = type == LUA_TSTRING;
    return;
  }
  if (!priority) {
    it->blob = tl_blob_encode(L, idx, 1, "item");
    return;
  }
  lua_rawgeti(L, idx, 1); /* a {priority, value} table */
  check_priority(L, -1, idx);
  it->blob = tl_blob_encode(L, idx, 1, "item");
  if (!copy_scalar(L, -1, it)) {
    tl_item_free(it);
    luaL_error(L, "not enough memory");
  }
  lua_pop(L, 1);
  it->prio_string = it->vtype == LUA_TSTRING;
}

/* (protected) Pushes the value of the item at 1: a string too long to be
** inside the item, or a blob, decoded without dropping it. */
static int push_protected(lua_State *L) {
  const tl_item *it = (const tl_item *)lua_touserdata(L, 1);
  if (it->blob != NULL) return tl_blob_decode(L, it->blob);
  lua_pushlstring(L, item_string(it), it->len);
  return 1;
}

/* What may raise (allocating a long string, decoding a blob: out of
** memory, a module the receiving state cannot require, a __reduce that
** fails here) runs in protected mode, and the item is freed only once its
** value is pushed: on failure the caller still has it, to put it back. */
int tl_item_push(lua_State *L, tl_item *it) {
  if (it->blob != NULL || (it->vtype == LUA_TSTRING && it->len > TL_ITEM_INLINE)) {
    lua_pushcfunction(L, push_protected); /* (a C function with no upvalues: allocates nothing) */
    lua_pushlightuserdata(L, it);
    int status = lua_pcall(L, 1, 1, 0);
    if (status == LUA_OK) tl_item_free(it); /* (a priority copied beside the blob, too) */
    return status;
  }
  if (it->vtype == LUA_TSTRING) lua_pushlstring(L, it->v.inl, it->len);
  else if (it->vtype == LUA_TBOOLEAN) lua_pushboolean(L, it->v.b);
  else if (it->visint) lua_pushinteger(L, it->v.i);
  else lua_pushnumber(L, it->v.f);
  return LUA_OK;
}

/* --- priorities ----------------------------------------------------------- */

/* The sign of a - b for an integer and a float, exactly (no rounding of
** large integers). */
static int cmp_int_float(lua_Integer i, lua_Number f) {
  if (f >= 9223372036854775808.0) return -1;
  if (f < -9223372036854775808.0) return 1;
  lua_Number fl = floor(f);
  lua_Integer fi = (lua_Integer)fl;
  return i < fi ? -1 : i > fi ? 1 : (f > fl ? -1 : 0);
}

static int cmp_priority(const tl_item *a, const tl_item *b) {
  if (a->prio_string) {
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(item_string(a), item_string(b), n);
    if (c != 0) return c;
    return a->len < b->len ? -1 : a->len > b->len;
  }
  if (a->visint && b->visint) return (a->v.i > b->v.i) - (a->v.i < b->v.i);
  if (!a->visint && !b->visint) return (a->v.f > b->v.f) - (a->v.f < b->v.f);
  return a->visint ? cmp_int_float(a->v.i, b->v.f) : -cmp_int_float(b->v.i, a->v.f);
}

/* Does 'a' leave before 'b'? */
static inline bool before(const tl_item *a, const tl_item *b) {
  if (a->visint && b->visint && !a->prio_string) /* the common case, inline */
    return a->v.i < b->v.i || (a->v.i == b->v.i && a->seq < b->seq);
  int c = cmp_priority(a, b);
  return c < 0 || (c == 0 && a->seq < b->seq);
}

bool tl_item_before(const tl_item *a, const tl_item *b) { return before(a, b); }

/* --- the ring of a FIFO queue ---------------------------------------------- */

/* Growing doubles the storage in place (realloc: a large ring is remapped,
** not copied, and its pages are not touched again).  Position p sits in
** slot p mod cap; with twice the slots it sits in slot p mod 2cap, which
** is the same slot when p's bit 'cap' is clear and the slot 'cap' higher
** when it is set: those items (one contiguous run of the ring) move up.
** A slot left behind keeps its old 'ready', the position of an item now
** elsewhere, which no position that maps to it can equal: it reads as not
** yet written.  The new slots start with no position at all. */
bool tl_ring_reserve(tl_ring *r, size_t removed, size_t added) {
  if (added - removed < r->cap) return true;
  size_t old = r->cap, cap = old ? old * 2 : 16;
  if (cap > SIZE_MAX / sizeof *r->slots) return false;
  tl_ring_slot *slots = realloc(r->slots, cap * sizeof *slots);
  if (slots == NULL) return false;
  for (size_t i = old; i < cap; i++) atomic_init(&slots[i].ready, 0); /* (no position + 1) */
  tl_ring grown = {slots, cap};
  for (size_t pos = removed; pos != added; pos++) {
    if ((pos & old) == 0) continue;
    tl_item it = slots[pos & (old - 1)].item;
    tl_ring_write(&grown, pos, &it);
  }
  *r = grown;
  return true;
}

void tl_ring_clear(tl_ring *r, size_t removed, size_t added) {
  for (size_t pos = removed; pos != added; pos++) tl_item_free(&tl_ring_at(r, pos)->item);
  free(r->slots);
  r->slots = NULL;
  r->cap = 0;
}

/* --- the stack or heap ------------------------------------------------------ */

static bool reserve(tl_items *c) {
  if (c->n < c->cap) return true;
  size_t cap = c->cap ? c->cap * 2 : 16;
  tl_item *slots = realloc(c->slots, cap * sizeof *slots);
  if (slots == NULL) return false;
  c->slots = slots;
  c->cap = cap;
  return true;
}

static void heap_push(tl_items *c, const tl_item *it) {
  tl_item *heap = c->slots;
  size_t i = c->n++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(it, &heap[parent])) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = *it;
}

/* Bottom-up (Floyd's) removal of the top: the hole left at the root goes
** down to a leaf along the smaller children, one comparison per level,
** and the last item goes up from there (rarely far: it came from the
** bottom).  Half the comparisons of sifting the last item down. */
static tl_item heap_take(tl_items *c) {
  tl_item *heap = c->slots;
  tl_item top = heap[0];
  size_t n = --c->n;
  if (n == 0) return top;
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && before(&heap[child + 1], &heap[child])) child++;
    heap[i] = heap[child];
    i = child;
  }
  const tl_item *last = &heap[n];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(last, &heap[parent])) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = *last;
  return top;
}

void tl_items_init(tl_items *c, tl_items_order order) {
  memset(c, 0, sizeof *c);
  c->order = order;
}

bool tl_items_add(tl_items *c, const tl_item *it) {
  if (!reserve(c)) return false;
  if (c->order == TL_ITEMS_LIFO) c->slots[c->n++] = *it;
  else heap_push(c, it);
  return true;
}

tl_item tl_items_take(tl_items *c) {
  if (c->order == TL_ITEMS_LIFO) return c->slots[--c->n];
  return heap_take(c);
}

void tl_items_move(tl_items *c, tl_items *out) {
  *out = *c;
  tl_items_init(c, out->order);
}

void tl_items_clear(tl_items *c) {
  for (size_t i = 0; i < c->n; i++) tl_item_free(&c->slots[i]);
  free(c->slots);
  tl_items_init(c, c->order);
}
