/*
** queue_items.h -- what queue.c needs from queue_items.c: the items of a
** queue (copies of Lua values) and the container that keeps them in
** FIFO, LIFO or priority order.
**
** Locking: none here.  A container belongs to one queue, whose mutex the
** caller holds around every tl_items_* call; tl_item_* calls (making an
** item from a Lua value, pushing it back, freeing it) run with no mutex
** held, as they may allocate, raise or free objects.
*/
#ifndef TLUA_QUEUE_ITEMS_H
#define TLUA_QUEUE_ITEMS_H

#include "kinds.h"

typedef enum { TL_ITEMS_FIFO, TL_ITEMS_LIFO, TL_ITEMS_PRIORITY } tl_items_order;

#define TL_ITEM_INLINE 16 /* strings up to this length live inside the item */

/* An item.  'v' holds the value itself when it is a number, boolean or
** string ('blob' NULL); for a value in a blob ({priority, value} tables
** and everything else) it holds the item's priority, if any.  So the
** priority of a PriorityQueue item is always read from 'v'. */
typedef struct tl_item {
  union {
    lua_Integer i;
    lua_Number f;
    int b;
    char *s;                     /* a string longer than TL_ITEM_INLINE: malloc'd */
    char inl[TL_ITEM_INLINE];    /* a shorter one */
  } v;
  size_t len;       /* the length of a string in 'v' */
  tl_blob *blob;    /* the value, encoded; NULL when it is 'v' */
  uint64_t seq;     /* insertion order: equal priorities leave in it */
  uint8_t vtype;    /* what 'v' holds: LUA_TNUMBER, LUA_TBOOLEAN, LUA_TSTRING, or LUA_TNIL */
  bool visint;
  bool prio_string; /* (PriorityQueue) the priority is a string */
} tl_item;

/* Fills 'it' (zeroed by the caller) with a copy of the value at idx; with
** 'priority', the value must be a number, a string or a {priority, value}
** table.  Raises for what cannot cross or be a priority, having allocated
** nothing. */
void tl_item_make(lua_State *L, int idx, bool priority, tl_item *it);
/* Pushes the item's value and frees what the item held: LUA_OK.  When
** that fails (out of memory, a blob that cannot be decoded in this state)
** pushes the error instead and returns its status, the item untouched
** (the caller may put it back: tl_items_put_back). */
int tl_item_push(lua_State *L, tl_item *it);
void tl_item_free(tl_item *it);

/* The container: a ring buffer, plus a heap in priority order.  A
** PriorityQueue keeps items that arrive in order (each one after the
** newest item of the ring: equal priorities, rising timestamps) in the
** ring, where adding and taking cost the same as in a FIFO queue; the
** others go to the heap, and taking compares the two fronts. */
typedef struct tl_items {
  tl_items_order order;
  tl_item *ring;      /* 'ring_cap' slots, 'ring_n' used from 'ring_head' */
  size_t ring_cap, ring_head, ring_n;
  tl_item *heap;      /* binary heap of 'heap_n' items ('heap_cap' slots) */
  size_t heap_cap, heap_n;
  size_t nstrings;    /* items with a string priority */
  uint64_t next_seq;
} tl_items;

void tl_items_init(tl_items *c, tl_items_order order);
static inline size_t tl_items_count(const tl_items *c) { return c->ring_n + c->heap_n; }
/* Would 'it' mix number and string priorities in 'c'? (Python: TypeError) */
bool tl_items_mixes(const tl_items *c, const tl_item *it);
/* Adds 'it' (the container now owns what it holds); false, nothing added,
** when out of memory. */
bool tl_items_add(tl_items *c, tl_item *it);
/* Takes the next item out (the container must not be empty). */
tl_item tl_items_take(tl_items *c);
/* Puts back an item just taken by tl_items_take, where it was taken
** from: the front of a FIFO queue, the top of a LIFO one, its place in
** priority order (with its original seq) in a PriorityQueue.  False,
** nothing added, when out of memory or (PriorityQueue) when its priority
** no longer matches those queued since. */
bool tl_items_put_back(tl_items *c, tl_item *it);
/* Moves every item out of 'c' into 'out' (for freeing after unlocking),
** leaving 'c' empty. */
void tl_items_move(tl_items *c, tl_items *out);
/* Frees every item and the storage. */
void tl_items_clear(tl_items *c);

#endif
