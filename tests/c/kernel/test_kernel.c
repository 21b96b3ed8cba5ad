/*
** test_kernel.c -- C tests of the kernel layer (src/kernel): the
** per-thread record, the runtime's list of threads, clocks and deadlines,
** a timed wait, watching before sleeping, and the mutual exclusion of a
** spin lock and of the GIL between OS threads.
**
** Locking: the test's threads share 'counter', guarded by the lock under
** test alone; everything else is single-threaded.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "kernel/spinlock.h"

static int passed, failed;

static void check(bool ok, const char *name) {
  if (ok) {
    passed++;
  } else {
    failed++;
    printf("FAIL %s\n", name);
  }
}

static void test_deadlines(void) {
  tl_deadline d = tl_clock_deadline(-1);
  check(d.infinite && tl_clock_remaining(&d) == -1, "a negative timeout is infinite");
  d = tl_clock_deadline(NAN);
  check(d.infinite, "NaN is infinite");
  d = tl_clock_deadline(1e300);
  check(d.infinite, "a timeout past a century is infinite");
  d = tl_clock_deadline(0);
  check(!d.infinite && tl_clock_remaining(&d) == 0, "a zero timeout has nothing left");
  d = tl_clock_deadline(30);
  double r = tl_clock_remaining(&d);
  check(!d.infinite && r > 20 && r <= 30, "30 s from now has up to 30 s left");
  struct timespec a = tl_clock_after(0), b = tl_clock_after(1);
  check(tl_clock_before(&a, &b) && !tl_clock_before(&b, &a), "tl_clock_before orders times");
  double t0 = tl_clock_monotonic(), t1 = tl_clock_monotonic();
  check(t1 >= t0, "the monotonic clock does not go back");
}

static void test_records(void) {
  tl_tstate *ts = tl_tstate_new("worker", true);
  check(ts != NULL && ts->daemon && !ts->is_main, "a new record keeps its daemon flag");
  char *name = tl_tstate_name(ts);
  check(name && strcmp(name, "worker") == 0, "a record keeps its name");
  free(name);
  check(tl_tstate_set_name(ts, "renamed"), "a record can be renamed");
  name = tl_tstate_name(ts);
  check(name && strcmp(name, "renamed") == 0, "the new name is read back");
  free(name);
  tl_tstate_incref(ts);
  tl_tstate_decref(ts);
  check(atomic_load(&ts->refs) == 1, "incref and decref balance");
  tl_tstate_decref(ts); /* freed: ASan checks */
}

static void count_visit(tl_tstate *ts, void *ud) {
  (void)ts;
  (*(int *)ud)++;
}

static void test_runtime(void) {
  check(tl_runtime_init(NULL), "the first init is the main thread's");
  check(!tl_runtime_init(NULL), "a second init does nothing");
  check(tl_tstate_is_main() && tl_tstate_self() == tl_runtime_main(), "the caller is the main thread");
  check(tl_runtime_alive_count() == 1, "only main is alive");
  tl_tstate *ts = tl_tstate_new("other", false);
  tl_runtime_add(ts);
  int n = 0;
  tl_runtime_foreach(count_visit, &n);
  check(tl_runtime_alive_count() == 2 && n == 2, "an added thread is alive and visited");
  tl_runtime_remove(ts);
  n = 0;
  tl_runtime_foreach(count_visit, &n);
  check(tl_runtime_alive_count() == 1 && n == 1, "a removed one is not");
  tl_tstate_decref(ts);
}

static void test_timed_wait(void) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t c;
  tl_clock_cond_init(&c);
  tl_deadline d = tl_clock_deadline(0.02);
  tl_waiting w;
  tl_wait_begin(&w, "test", NULL);
  pthread_mutex_lock(&m);
  tl_wait_result r = TL_WAIT_OK;
  while (r == TL_WAIT_OK) r = tl_wait_cond(&c, &m, &d);
  pthread_mutex_unlock(&m);
  tl_wait_end(&w);
  check(r == TL_WAIT_TIMEOUT && tl_clock_remaining(&d) == 0, "a timed wait times out at its deadline");
  pthread_cond_destroy(&c);
}

/* --- mutual exclusion: two OS threads increment a plain counter, each
** increment a read and a write with the lock released between
** increments; the lock (the GIL, a spin lock) is the only protection. */

enum { INCREMENTS = 20000 };
static long counter;

typedef struct guard {
  void (*lock)(void);
  void (*unlock)(void);
} guard;

static void *incrementer(void *arg) {
  const guard *g = arg;
  for (int i = 0; i < INCREMENTS; i++) {
    g->lock();
    long v = counter;
    counter = v + 1;
    g->unlock();
  }
  return NULL;
}

/* Runs two incrementers under 'g' from 0: true when no increment was lost. */
static bool none_lost(const guard *g) {
  counter = 0;
  pthread_t a, b;
  pthread_create(&a, NULL, incrementer, (void *)g);
  pthread_create(&b, NULL, incrementer, (void *)g);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  return counter == 2L * INCREMENTS;
}

static tl_spinlock spin;
static void spin_lock(void) { tl_spin_lock(&spin); }
static void spin_unlock(void) { tl_spin_unlock(&spin); }

static void test_spinlock(void) {
  atomic_init(&spin, false);
  check(none_lost(&(guard){spin_lock, spin_unlock}), "a spin lock lets one thread at a time in");
  check(!atomic_load(&spin), "and is free when they are done");
}

/* ready() for tl_watch: true at its third look. */
static bool third_look(void *looks) {
  return ++*(int *)looks == 3;
}

static bool never(void *looks) {
  ++*(int *)looks;
  return false;
}

static void test_watch(void) {
  int looks = 0;
  check(tl_watch(third_look, &looks, NULL) && looks == 3, "a watch ends at the first look that finds it ready");
  looks = 0;
  double t0 = tl_clock_monotonic();
  bool got = tl_watch(never, &looks, NULL);
  double took = tl_clock_monotonic() - t0;
  check(!got && looks >= 1, "a watch of what never comes returns false");
  check(took >= TL_WATCH_SECONDS && took < 1, "a watch lasts TL_WATCH_SECONDS");
  looks = 0;
  tl_deadline passed = tl_clock_deadline(0);
  check(!tl_watch(never, &looks, &passed) && looks == 1, "a watch past its deadline looks once");
  looks = 0;
  tl_deadline forever = tl_clock_forever();
  check(!tl_watch(never, &looks, &forever) && looks >= 1, "an infinite deadline leaves the watch its own length");
}

static void test_gil(void) {
  tl_gil_set_enabled(true);
  check(tl_gil_enabled() && tl_gil_held(), "turning the GIL on takes it");
  tl_gil_release();
  check(none_lost(&(guard){tl_gil_acquire, tl_gil_release}), "the GIL lets one thread at a time in");
  tl_gil_acquire();
  tl_gil_set_enabled(false);
  check(!tl_gil_enabled() && !tl_gil_held(), "turning it off drops it");
}

int main(void) {
  test_deadlines();
  test_records();
  test_runtime();
  test_timed_wait();
  test_watch();
  test_spinlock();
  test_gil();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
