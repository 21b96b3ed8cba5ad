/*
** blob.h -- the inside of a blob, shared by blob.c, blob_encode.c and
** blob_decode.c only: the byte format, the caches kept in each state's
** registry, and the identity map the encoder uses.
**
** The format: the values one after another, each a tag byte then its
** payload (sizes and numbers in native byte order: a blob never leaves
** the process).  Tables list their entries and end with T_END, then their
** metatable (or T_NIL); functions are lua_dump bytecode plus their
** upvalues; objects are indexes into 'objs'.
**
** Locking: none; a blob is immutable once built, its count atomic.
*/
#ifndef TLUA_BLOB_H
#define TLUA_BLOB_H

#include "value.h"

#define MAX_DEPTH 200 /* nesting refused beyond this (no C stack overflow) */

enum {
  T_NIL, T_FALSE, T_TRUE, T_INT, T_FLOAT, T_STR, T_TABLE, T_END, T_REF,
  T_LFUNC, T_UPREF, T_CFUNC, T_OBJECT, T_GLOBALS, T_MODULE,
  T_NEXT, /* in a table: the value of the next index (previous one + 1) */
  T_REDUCED /* a table sent as a call made by the receiver (its metatable's __reduce) */
};

struct tl_blob {
  atomic_int refs;
  int nvalues;
  size_t len;
  size_t nobjs;
  tl_object **objs;
  bool has_refs; /* some value is met twice (T_REF, T_UPREF): the decoder keeps ids */
  bool plain;    /* only nil, booleans and numbers: decoding allocates nothing */
  char data[];   /* 'len' bytes */
};

/* The encoder's buffer starts with room for the blob's header, so that the
** finished buffer becomes the blob without copying its bytes again. */
#define HEADER offsetof(tl_blob, data)

/* Registry caches of a state (weak tables). */
#define DUMPS_KEY "tlua.dumps" /* function -> its bytecode (sender) */
#define LOADS_KEY "tlua.loads" /* bytecode -> function, closed ones (receiver) */

/* Fills the table at 'names' with C function -> "lib.name" for the C
** functions of L's standard libraries and threading: canonical names
** first, aliases only for functions without one (cnames.c). */
void tl_cnames_fill(lua_State *L, int names);

/* Pushes L's cache of its modules (modules.c).  tl_modules_name: if the
** table at idx is a module, pushes and returns its name, else NULL. */
void tl_modules_push_cache(lua_State *L);
const char *tl_modules_name(lua_State *L, int cache, int idx);

/* An identity map in C memory (ptrmap.c): no Lua table per encode. */
typedef struct tl_ptrmap {
  const void **keys;
  long *vals;
  size_t cap, n;
} tl_ptrmap;

long *tl_ptrmap_find(tl_ptrmap *m, const void *key); /* NULL if absent */
bool tl_ptrmap_put(tl_ptrmap *m, const void *key, long val); /* false: out of memory */
void tl_ptrmap_free(tl_ptrmap *m);

#endif
