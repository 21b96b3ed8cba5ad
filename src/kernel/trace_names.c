/*
** trace_names.c -- the names that trace events carry (trace.c): a mark's,
** a span's or a counter's name given by the user, a queue's.  An event
** outlives the Lua string it was named with, so the name is copied; the
** copies are kept for the life of the process, and the same text gives
** the same copy, so a mark made a million times costs one copy.
**
** Used only while tracing (callers check tl_trace_on() first).
**
** Locking: 'names.mutex' guards the table; a leaf lock.
*/
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

typedef struct name_entry {
  struct name_entry *next;
  size_t len;
  char text[]; /* len bytes and a '\0' */
} name_entry;

static struct {
  pthread_mutex_t mutex;
  name_entry **buckets;
  size_t nbuckets, count;
} names = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static size_t hash(const char *s, size_t len) {
  size_t h = 14695981039346656037u; /* FNV-1a */
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211u;
  return h;
}

/* Doubles the table ('mutex' held); on out of memory it stays as it is. */
static void grow(void) {
  size_t n = names.nbuckets ? names.nbuckets * 2 : 256;
  name_entry **b = calloc(n, sizeof *b);
  if (b == NULL) return;
  for (size_t i = 0; i < names.nbuckets; i++) {
    for (name_entry *e = names.buckets[i], *next; e != NULL; e = next) {
      next = e->next;
      size_t k = hash(e->text, e->len) & (n - 1);
      e->next = b[k];
      b[k] = e;
    }
  }
  free(names.buckets);
  names.buckets = b;
  names.nbuckets = n;
}

const char *tl_trace_name(const char *s, size_t len) {
  size_t h = hash(s, len);
  const char *found = NULL;
  pthread_mutex_lock(&names.mutex);
  if (names.count >= names.nbuckets) grow();
  if (names.buckets != NULL) {
    size_t k = h & (names.nbuckets - 1);
    for (name_entry *e = names.buckets[k]; e != NULL && found == NULL; e = e->next)
      if (e->len == len && memcmp(e->text, s, len) == 0) found = e->text;
    name_entry *e = found ? NULL : malloc(sizeof *e + len + 1);
    if (e != NULL) {
      e->len = len;
      memcpy(e->text, s, len);
      e->text[len] = '\0';
      e->next = names.buckets[k];
      names.buckets[k] = e;
      names.count++;
      found = e->text;
    }
  }
  pthread_mutex_unlock(&names.mutex);
  return found;
}
