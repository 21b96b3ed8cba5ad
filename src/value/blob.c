/*
** blob.c -- a blob's life: references, size, and comparison (shared
** tables use blobs of their keys).  Making one: blob_encode.c; reading
** one: blob_decode.c.
**
** Locking: the reference count is atomic; dropping the last reference
** drops the blob's references to objects, which may destroy them (so it
** happens with no mutex held).
*/
#include <stdlib.h>
#include <string.h>

#include "blob.h"

int tl_blob_count(const tl_blob *b) { return b->nvalues; }
size_t tl_blob_size(const tl_blob *b) { return b->len; }

void tl_blob_incref(tl_blob *b) { atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed); }

void tl_blob_free(tl_blob *b) {
  if (b == NULL) return;
  if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1) return;
  for (size_t i = 0; i < b->nobjs; i++) tl_object_decref(b->objs[i]);
  free(b->objs);
  free(b);
}

bool tl_blob_equal(const tl_blob *a, const tl_blob *b) {
  if (a->len != b->len || a->nobjs != b->nobjs) return false;
  for (size_t i = 0; i < a->nobjs; i++)
    if (a->objs[i] != b->objs[i]) return false;
  return memcmp(a->data, b->data, a->len) == 0;
}

uint64_t tl_blob_hash(const tl_blob *b) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (size_t i = 0; i < b->len; i++) {
    h ^= (unsigned char)b->data[i];
    h *= 1099511628211ULL;
  }
  for (size_t i = 0; i < b->nobjs; i++) {
    h ^= (uint64_t)(uintptr_t)b->objs[i];
    h *= 1099511628211ULL;
  }
  return h;
}
