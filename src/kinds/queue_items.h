/*
** queue_items.h -- what queue.c needs from queue_items.c: the items of a
** queue (copies of Lua values) and the containers that order them: a
** ring with two ends, and a stack or a heap.
**
** Locking: none here.  A container belongs to one queue, which says
** which of its mutexes the caller holds around each call (queue.c);
** tl_item_* calls (making an item from a Lua value, pushing it back,
** freeing it) run with no mutex held, as they may allocate, raise or
** free objects.
*/
#ifndef TLUA_QUEUE_ITEMS_H
#define TLUA_QUEUE_ITEMS_H

#include <stdatomic.h>

#include "kinds.h"

typedef enum { TL_ITEMS_LIFO, TL_ITEMS_PRIORITY } tl_items_order;

#define TL_ITEM_INLINE 16 /* strings up to this length live inside the item */
#define TL_ITEM_MAX_STRING UINT32_MAX /* longer ones go in a blob (40-byte items, 48-byte slots) */

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
  tl_blob *blob;    /* the value, encoded; NULL when it is 'v' */
  uint64_t seq;     /* insertion order: equal priorities leave in it */
  uint32_t len;     /* the length of a string in 'v' (at most TL_ITEM_MAX_STRING) */
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

/* The ring of a queue with two ends (Queue and SimpleQueue: every item; a
** PriorityQueue: the items that came in order), made for a producer and
** a consumer that do not share a mutex.  Positions are counters that only
** grow, kept by the queue: the item written k-th (from 0) sits in slot
** k mod 'cap' until it is taken.  Producers write the slot at the count
** of items added, consumers read the one at the count of items removed,
** so the two ends touch different slots; a slot says by itself whether
** its item has been written ('ready'), so a consumer need not read the
** producers' count.  Only growing (and putting an item back at the
** front) needs both ends at once. */
typedef struct tl_ring_slot {
  atomic_size_t ready; /* 1 + the position of the item it holds, once written */
  tl_item item;
} tl_ring_slot;

typedef struct tl_ring {
  tl_ring_slot *slots;
  size_t cap; /* 0 or a power of two */
} tl_ring;

static inline tl_ring_slot *tl_ring_at(const tl_ring *r, size_t pos) { return &r->slots[pos & (r->cap - 1)]; }
/* Writes the item of position 'pos' (there must be room). */
static inline void tl_ring_write(tl_ring *r, size_t pos, const tl_item *it) {
  tl_ring_slot *slot = tl_ring_at(r, pos);
  slot->item = *it;
  atomic_store_explicit(&slot->ready, pos + 1, memory_order_release);
}
/* Reads the item of position 'pos' into '*it': false when it has not
** been written yet. */
static inline bool tl_ring_read(const tl_ring *r, size_t pos, tl_item *it) {
  if (r->cap == 0) return false;
  tl_ring_slot *slot = tl_ring_at(r, pos);
  if (atomic_load_explicit(&slot->ready, memory_order_acquire) != pos + 1) return false;
  *it = slot->item;
  return true;
}
/* Makes room for one more item after the 'added - removed' items from
** position 'removed' (both ends held): false when out of memory. */
bool tl_ring_reserve(tl_ring *r, size_t removed, size_t added);
/* Frees the items from position 'removed' to 'added' and the storage. */
void tl_ring_clear(tl_ring *r, size_t removed, size_t added);

/* Does 'a' leave a priority queue before 'b'?  (priority, then insertion
** order: 'seq') */
bool tl_item_before(const tl_item *a, const tl_item *b);

/* The items of a LifoQueue (a stack) or those of a PriorityQueue that came
** out of order (a binary heap; queue.c keeps those that came in order in
** a ring). */
typedef struct tl_items {
  tl_item *slots; /* 'n' of 'cap' used (these two first: a LifoQueue keeps them beside its mutex) */
  size_t n, cap;
  tl_items_order order;
} tl_items;

void tl_items_init(tl_items *c, tl_items_order order);
static inline size_t tl_items_count(const tl_items *c) { return c->n; }
/* Adds 'it' (the container now owns what it holds): on top of the stack,
** or in the heap at its place (its 'seq' set by the caller); false,
** nothing added, when out of memory.  An item taken and added back is
** where it was again. */
bool tl_items_add(tl_items *c, const tl_item *it);
/* The item tl_items_take would take (the container must not be empty). */
static inline const tl_item *tl_items_front(const tl_items *c) {
  return c->order == TL_ITEMS_LIFO ? &c->slots[c->n - 1] : &c->slots[0];
}
/* Takes the next item out (the container must not be empty). */
tl_item tl_items_take(tl_items *c);
/* Moves every item out of 'c' into 'out' (for freeing after unlocking),
** leaving 'c' empty. */
void tl_items_move(tl_items *c, tl_items *out);
/* Frees every item and the storage. */
void tl_items_clear(tl_items *c);

#endif
