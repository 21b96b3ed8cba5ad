/*
** blocked.c -- counts the threads blocked for good, so that the deadlock
** watchdog (tools/deadlock.c) learns when every thread is.
**
** A thread counts as "blocked for good" while it waits with no timeout on
** a threading primitive, queue, join or the exit wait (tl_wait_cond with
** an infinite deadline marks it; tl_wait_end clears the mark and counts
** as progress).  Sleeping, blocking I/O, waiting for the GIL and waiting
** with a timeout do not count: such a thread may still make progress.
** When the number of marked threads reaches the number of alive threads
** (main included; the runtime tells when one starts and ends), the thread
** that noticed raises a suspicion, which wakes the watchdog.
**
** Locking: counts, marks and 'progress' are atomics.  'watch.mutex'
** guards 'suspect'; it is a leaf lock, taken inside object mutexes
** (tl_wait_cond marks with the caller's mutex held).
*/
#include "kernel.h"

static struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  bool suspect;
  atomic_bool watching;
} watch = {.mutex = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static atomic_bool enabled = true;
static atomic_int alive_count = 1; /* the main thread, and those the runtime adds */
static atomic_int blocked_count;
static atomic_ulong progress;

void tl_blocked_set_enabled(bool on) { atomic_store(&enabled, on); }
bool tl_blocked_enabled(void) { return atomic_load(&enabled); }

bool tl_blocked_all(void) { return atomic_load(&blocked_count) >= atomic_load(&alive_count); }

unsigned long tl_blocked_progress(void) { return atomic_load(&progress); }

static void check_all_blocked(void) {
  if (!atomic_load(&enabled) || !atomic_load(&watch.watching) || !tl_blocked_all()) return;
  pthread_mutex_lock(&watch.mutex);
  watch.suspect = true;
  pthread_cond_signal(&watch.cond);
  pthread_mutex_unlock(&watch.mutex);
}

void tl_blocked_mark(void) {
  tl_tstate *self = tl_tstate_self();
  if (self == NULL || atomic_load_explicit(&self->blocked_forever, memory_order_relaxed)) return;
  atomic_store_explicit(&self->blocked_forever, true, memory_order_release);
  atomic_fetch_add(&blocked_count, 1);
  check_all_blocked();
}

void tl_blocked_unmark(void) {
  tl_tstate *self = tl_tstate_self();
  atomic_fetch_add(&progress, 1);
  if (self != NULL && atomic_load_explicit(&self->blocked_forever, memory_order_relaxed)) {
    atomic_store(&self->blocked_forever, false);
    atomic_fetch_sub(&blocked_count, 1);
  }
}

void tl_blocked_note_start(void) { atomic_fetch_add(&alive_count, 1); }

void tl_blocked_note_exit(void) {
  atomic_fetch_sub(&alive_count, 1);
  atomic_fetch_add(&progress, 1);
  check_all_blocked();
}

void tl_blocked_watch(void) { atomic_store(&watch.watching, true); }

void tl_blocked_await_all(void) {
  pthread_mutex_lock(&watch.mutex);
  while (!watch.suspect) pthread_cond_wait(&watch.cond, &watch.mutex);
  watch.suspect = false;
  pthread_mutex_unlock(&watch.mutex);
}
