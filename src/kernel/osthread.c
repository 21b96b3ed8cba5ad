/*
** osthread.c -- OS threads for tlua's threads, kept for a moment after
** their work so that the next start() need not make a new one.
**
** Creating an OS thread (clone, a stack mapped and guarded, the kernel's
** task set up) and reaping it cost more than everything tlua does to
** start a thread.  So when a thread's work is done, its OS thread waits
** up to IDLE_SECONDS for the next start() to hand it work; only when none
** comes does it exit.  A thread asking for another stack size than the
** idle ones have gets a new OS thread.  An idle OS thread runs no Lua and
** is in no list of the runtime: it is invisible to scripts (a Thread's
** ident may repeat, as Python's idents do once a thread has ended).
**
** A worker that has just become idle first watches for its next job for
** a moment (watch.c) before it sleeps: a script that starts threads one
** after another hands the next one over within microseconds, and waking
** a sleeping OS thread cost more than all the rest of start+join.  One
** worker watches at a time, so that many threads ending together do not
** spin on every core.
**
** Locking: 'pool.mutex' guards the idle list, each idle worker's job and
** 'watching'; a leaf lock.  Each idle worker waits on its own condition;
** 'given' (atomic) tells a watching worker that its job is there.
*/
#include <errno.h>
#include <stdlib.h>

#include "kernel.h"

#define IDLE_SECONDS 0.5
#define MAX_IDLE 64

typedef struct worker {
  pthread_cond_t wake;
  void *(*fn)(void *);
  void *arg;
  atomic_bool given; /* its job is set (read without the mutex while it watches) */
  size_t stack_size;
  struct worker *next;
} worker;

static struct {
  pthread_mutex_t mutex;
  worker *idle;
  int nidle;
  bool watching; /* a worker is watching for its job */
} pool = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static bool is_given(void *w) {
  return atomic_load_explicit(&((worker *)w)->given, memory_order_relaxed);
}

/* Waits to be given work; false when none came in time (the worker is
** then off the idle list, and exits). */
static bool await_work(worker *w) {
  struct timespec until = tl_clock_after_real(IDLE_SECONDS);
  pthread_mutex_lock(&pool.mutex);
  if (pool.nidle >= MAX_IDLE) {
    pthread_mutex_unlock(&pool.mutex);
    return false;
  }
  w->fn = NULL;
  atomic_store_explicit(&w->given, false, memory_order_relaxed);
  w->next = pool.idle;
  pool.idle = w;
  pool.nidle++;
  if (!pool.watching) {
    pool.watching = true;
    pthread_mutex_unlock(&pool.mutex);
    tl_watch(is_given, w, NULL);
    pthread_mutex_lock(&pool.mutex);
    pool.watching = false;
  }
  while (w->fn == NULL) {
    if (pthread_cond_timedwait(&w->wake, &pool.mutex, &until) == ETIMEDOUT && w->fn == NULL) {
      worker **pp = &pool.idle; /* leave the list, unless taken meanwhile */
      while (*pp != w) pp = &(*pp)->next;
      *pp = w->next;
      pool.nidle--;
      break;
    }
  }
  bool got = w->fn != NULL;
  pthread_mutex_unlock(&pool.mutex);
  return got;
}

static void *worker_main(void *arg) {
  worker *w = (worker *)arg;
  do {
    w->fn(w->arg);
  } while (await_work(w));
  pthread_cond_destroy(&w->wake);
  free(w);
  return NULL;
}

int tl_osthread_start(void *(*fn)(void *), void *arg, size_t stack_size) {
  pthread_mutex_lock(&pool.mutex);
  worker **pp = &pool.idle;
  while (*pp != NULL && (*pp)->stack_size != stack_size) pp = &(*pp)->next;
  worker *w = *pp;
  if (w != NULL) {
    *pp = w->next;
    pool.nidle--;
    w->fn = fn;
    w->arg = arg;
    atomic_store_explicit(&w->given, true, memory_order_relaxed); /* (fn and arg: under the mutex) */
    pthread_cond_signal(&w->wake);
  }
  pthread_mutex_unlock(&pool.mutex);
  if (w != NULL) return 0;
  w = calloc(1, sizeof *w);
  if (w == NULL) return ENOMEM;
  tl_clock_cond_init(&w->wake);
  w->fn = fn;
  w->arg = arg;
  w->stack_size = stack_size;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (stack_size) pthread_attr_setstacksize(&attr, stack_size);
  pthread_t t;
  int rc = pthread_create(&t, &attr, worker_main, w);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    pthread_cond_destroy(&w->wake);
    free(w);
  }
  return rc;
}
