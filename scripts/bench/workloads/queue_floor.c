/*
** queue_floor.c COUNT REPS: the same producer thread -> main thread
** transfer of COUNT integers as queue_items.lua, in plain C with no Lua
** at all, through the simplest blocking queue: a ring of items under one
** pthread mutex (adaptive, as tlua's), and a condition variable that the
** consumer sleeps on when the ring is empty (the producer signals only
** when someone sleeps).  Its producer puts an item every few nanoseconds,
** so it takes the mutex many times in a row while the mutex's cache line
** stays on its core; with work between two puts, as in Lua, each item
** moves the mutex and the ring's fields between the cores, which is why
** tlua's Queue, SimpleQueue and PriorityQueue have two ends, each with
** its own mutex (docs/design.md).
** Prints the median items per second of REPS runs, as "per_second X".
** Built and run by scripts/bench/driver.lua (cc -O2 -pthread).
*/
#define _GNU_SOURCE /* PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP: the mutex tlua's objects use */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "floor.h"

typedef struct fifo {
  pthread_mutex_t mutex;
  pthread_cond_t nonempty;
  long *items;
  size_t cap, head, count; /* a ring: items[head], ... count of them */
  int sleepers;            /* consumers waiting on 'nonempty' */
  long n;                  /* the producer's item count */
} fifo;

static void put(fifo *q, long item) {
  pthread_mutex_lock(&q->mutex);
  if (q->count == q->cap) { /* grow: unbounded, as queue.Queue() */
    size_t cap = q->cap * 2;
    long *items = malloc(cap * sizeof *items);
    if (items == NULL) abort();
    for (size_t i = 0; i < q->count; i++) items[i] = q->items[(q->head + i) % q->cap];
    free(q->items);
    q->items = items;
    q->cap = cap;
    q->head = 0;
  }
  q->items[(q->head + q->count) % q->cap] = item;
  q->count++;
  if (q->sleepers > 0) pthread_cond_signal(&q->nonempty);
  pthread_mutex_unlock(&q->mutex);
}

static long get(fifo *q) {
  pthread_mutex_lock(&q->mutex);
  while (q->count == 0) {
    q->sleepers++;
    pthread_cond_wait(&q->nonempty, &q->mutex);
    q->sleepers--;
  }
  long item = q->items[q->head];
  q->head = (q->head + 1) % q->cap;
  q->count--;
  pthread_mutex_unlock(&q->mutex);
  return item;
}

static void *produce(void *arg) {
  fifo *q = arg;
  for (long i = 1; i <= q->n; i++) put(q, i);
  return NULL;
}

int main(int argc, char **argv) {
  long count = argc > 1 ? atol(argv[1]) : 200000;
  int reps = argc > 2 ? atoi(argv[2]) : 3;
  if (count < 1 || reps < 1 || reps > 100) return 2;
  double rates[100];
  for (int r = 0; r < reps; r++) {
    fifo q = {PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP, PTHREAD_COND_INITIALIZER, malloc(64 * sizeof(long)), 64, 0, 0, 0, count};
    if (q.items == NULL) return 1;
    double t0 = now();
    pthread_t producer;
    if (pthread_create(&producer, NULL, produce, &q) != 0) return 1;
    long sum = 0;
    for (long i = 0; i < count; i++) sum += get(&q);
    pthread_join(producer, NULL);
    rates[r] = (double)count / (now() - t0);
    free(q.items);
    if (sum != count * (count + 1) / 2) return 1;
  }
  printf("per_second %g\n", median(rates, reps));
  return 0;
}
