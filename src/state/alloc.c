/*
** alloc.c -- the memory allocator of threads' Lua states.
**
** A thread's state makes and frees a few hundred small blocks in its short
** life.  Through glibc's malloc that cost as much as making the state
** itself (callgrind: ~60k of ~140k instructions per start+join), and a
** thread's first malloc attaches it to an arena that its exit then
** cleans up.  So each thread state gets its own arena: small blocks (up to
** SMALL_MAX bytes) come from size classes of 16 bytes carved out of
** CHUNK-byte chunks, and a freed block goes onto its class's free list
** for the next allocation of that size.  Lua always tells the old size of
** a block (lua_Alloc's osize), so a block's class is known without a
** header, and blocks are packed tightly (less memory per thread, too).
** Larger blocks go to malloc.  When the state closes, its chunks go back
** to a process-wide cache (up to CACHE_MAX of them) for the next thread.
**
** The same arena counts bytes and enforces Thread{memory_limit}.
**
** Locking: an arena belongs to the one thread that runs its state (a
** state is never used by two threads, so neither is its allocator).
** 'cache.mutex' guards the chunk cache; a leaf lock.
*/
#include <stdlib.h>
#include <string.h>

#include "state.h"

#define GRAIN 16
#define SMALL_MAX 512                  /* larger blocks: malloc */
#define NCLASSES (SMALL_MAX / GRAIN)
#define CHUNK 4096
#define CACHE_MAX 256                  /* cached chunks: 2 MiB */

typedef struct chunk {
  struct chunk *next;
  max_align_t align[]; /* the blocks */
} chunk;

typedef struct free_block {
  struct free_block *next;
} free_block;

struct tl_arena {
  free_block *free[NCLASSES];
  char *cur, *end;        /* the unused part of the newest chunk */
  chunk *chunks;          /* every chunk of this arena */
  size_t used, limit;     /* bytes in use; limit 0: none */
};

static struct {
  pthread_mutex_t mutex;
  chunk *free;
  int n;
} cache = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static chunk *chunk_get(void) {
  pthread_mutex_lock(&cache.mutex);
  chunk *c = cache.free;
  if (c) {
    cache.free = c->next;
    cache.n--;
  }
  pthread_mutex_unlock(&cache.mutex);
  return c ? c : malloc(CHUNK);
}

static void chunks_put(chunk *list) {
  while (list) {
    chunk *next = list->next;
    pthread_mutex_lock(&cache.mutex);
    bool keep = cache.n < CACHE_MAX;
    if (keep) {
      list->next = cache.free;
      cache.free = list;
      cache.n++;
    }
    pthread_mutex_unlock(&cache.mutex);
    if (!keep) free(list);
    list = next;
  }
}

static size_t class_of(size_t size) { return (size + GRAIN - 1) / GRAIN - 1; }

static void *small_alloc(tl_arena *a, size_t cls) {
  free_block *b = a->free[cls];
  if (b) {
    a->free[cls] = b->next;
    return b;
  }
  size_t size = (cls + 1) * GRAIN;
  if ((size_t)(a->end - a->cur) < size) {
    chunk *c = chunk_get();
    if (c == NULL) return NULL;
    c->next = a->chunks;
    a->chunks = c;
    a->cur = (char *)c->align;
    a->end = (char *)c + CHUNK;
  }
  void *p = a->cur;
  a->cur += size;
  return p;
}

static void small_free(tl_arena *a, void *p, size_t cls) {
  free_block *b = (free_block *)p;
  b->next = a->free[cls];
  a->free[cls] = b;
}

/* The lua_Alloc of an arena state. */
static void *arena_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  tl_arena *a = (tl_arena *)ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    if (ptr) {
      if (old <= SMALL_MAX) small_free(a, ptr, class_of(old));
      else free(ptr);
      a->used -= old;
    }
    return NULL;
  }
  if (a->limit != 0 && nsize > old && a->used - old + nsize > a->limit) return NULL;
  void *p;
  if (ptr != NULL && old <= SMALL_MAX && nsize <= SMALL_MAX && class_of(old) == class_of(nsize)) {
    p = ptr; /* the same class: the block fits already */
  } else if (ptr != NULL && old > SMALL_MAX && nsize > SMALL_MAX) {
    p = realloc(ptr, nsize);
  } else {
    p = nsize <= SMALL_MAX ? small_alloc(a, class_of(nsize)) : malloc(nsize);
    if (p != NULL && ptr != NULL) {
      memcpy(p, ptr, old < nsize ? old : nsize);
      if (old <= SMALL_MAX) small_free(a, ptr, class_of(old));
      else free(ptr);
    }
  }
  if (p != NULL) a->used = a->used - old + nsize;
  return p;
}

lua_State *tl_arena_newstate(size_t limit, tl_arena **arena) {
  tl_arena *a = calloc(1, sizeof *a);
  if (a == NULL) return NULL;
  a->limit = limit;
  lua_State *L = lua_newstate(arena_alloc, a);
  if (L == NULL) {
    chunks_put(a->chunks);
    free(a);
    return NULL;
  }
  *arena = a;
  return L;
}

bool tl_arena_of(lua_State *L, tl_arena **arena) {
  void *ud;
  if (lua_getallocf(L, &ud) != arena_alloc) return false;
  *arena = (tl_arena *)ud;
  return true;
}

void tl_arena_lift_limit(tl_arena *a) { a->limit = 0; }

void tl_arena_free(tl_arena *a) {
  chunks_put(a->chunks);
  free(a);
}
