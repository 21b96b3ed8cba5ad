/*
** ptrmap.c -- a map from pointers to numbers with open addressing, for
** the encoder's identity tables (which table or function was met first,
** which upvalue is shared), kept in C memory so that an encoding makes no
** Lua table.
**
** Locking: none; a map belongs to one encoding.
*/
#include <stdlib.h>

#include "blob.h"

static size_t slot(const void *key, size_t cap) {
  return ((uintptr_t)key >> 4) * 0x9E3779B97F4A7C15ULL & (cap - 1);
}

long *tl_ptrmap_find(tl_ptrmap *m, const void *key) {
  if (m->cap == 0) return NULL;
  size_t i = slot(key, m->cap);
  while (m->keys[i] != NULL) {
    if (m->keys[i] == key) return &m->vals[i];
    i = (i + 1) & (m->cap - 1);
  }
  return NULL;
}

/* Puts key into m, which has room (no check for duplicates). */
static void insert(tl_ptrmap *m, const void *key, long val) {
  size_t i = slot(key, m->cap);
  while (m->keys[i] != NULL) i = (i + 1) & (m->cap - 1);
  m->keys[i] = key;
  m->vals[i] = val;
  m->n++;
}

bool tl_ptrmap_put(tl_ptrmap *m, const void *key, long val) {
  if (2 * (m->n + 1) > m->cap) { /* keep it at most half full */
    tl_ptrmap bigger = {NULL, NULL, m->cap ? m->cap * 2 : 16, 0};
    bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
    bigger.vals = malloc(bigger.cap * sizeof *bigger.vals);
    if (bigger.keys == NULL || bigger.vals == NULL) {
      free(bigger.keys);
      free(bigger.vals);
      return false;
    }
    for (size_t i = 0; i < m->cap; i++)
      if (m->keys[i] != NULL) insert(&bigger, m->keys[i], m->vals[i]);
    tl_ptrmap_free(m);
    *m = bigger;
  }
  insert(m, key, val);
  return true;
}

void tl_ptrmap_free(tl_ptrmap *m) {
  free(m->keys);
  free(m->vals);
  m->keys = NULL;
  m->vals = NULL;
  m->cap = m->n = 0;
}
