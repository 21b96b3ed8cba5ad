/*
** watch.c -- watching before sleeping: a thread about to block on
** something that another core will very likely do within microseconds
** first looks at it for a moment, then sleeps only if it has not come.
**
** Falling asleep on a futex and being woken costs tens of microseconds
** on the machines tlua runs on (the waker's system call, then, when the
** sleeper's core went idle, rousing that core: on a virtual machine an
** interrupt through the hypervisor), where the other side often acts
** within one or two.  Measured with scripts/bench (docs/benchmarks.md):
** a Queue whose consumer slept at every item made its producer call the
** kernel at every item; a thread start+join that slept at each of its
** three hand-offs took 50 us, 18 us once the idle OS thread watched for
** its next start() and 10 us once start() and join() watched as well; two
** threads adding to a counter under a Lock, 4.3-4.7M -> 5.2-5.5M a second.
**
** A watch looks every WATCH_GAP pauses (a look makes the watched cache
** line shared: looking less often lets the other side write several
** times meanwhile) and ends at the first look that finds it ready, after
** TL_WATCH_SECONDS, or at the caller's deadline, on the real clock.  Every
** YIELD_EVERY looks it gives its core away (sched_yield) for as long as
** another thread there is runnable: with more threads than cores, the
** thread it waits for may be waiting for that very core.  Without it, an
** executor's two workers watching for tasks while the main thread
** submitted them ran at 0.6x the tasks/s in one run out of two; yielding
** at every look instead made the looks so frequent that a contended Lock
** slowed down (5.4M -> 4.5M increments/s).
**
** Who watches: waits whose other side is a thread that runs meanwhile: a
** queue's get (and put when full), a thread's start() and join(), a
** contended Lock or RLock acquire, a Condition's wait (its notification,
** then its lock), a Semaphore's acquire, an Event's wait, a Barrier's
** wait, a Future's result and an idle executor worker.  Each looks at an
** atomic copy of what its object's mutex guards, written under that
** mutex, and checks under the mutex as before once the watch ends.  Not
** with the GIL on (the watcher would have given the GIL up to the very
** thread it watches, which then needs a core more than a spinner does)
** nor under -X sched (one thread runs at a time): tl_watch_allowed.
** The idle OS threads of osthread.c watch for work in every mode: they
** hold no GIL and no baton.
**
** Locking: none of its own; 'ready' runs with whatever the caller holds.
*/
#include <sched.h>

#include "kernel.h"

#define WATCH_GAP 40  /* pauses between two looks: about 1 us (25 ns each on AMD EPYC) */
#define YIELD_EVERY 4 /* looks */

bool tl_watch_allowed(void) {
  return !tl_gil_enabled() && !tl_sched_active();
}

static struct timespec real_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t;
}

bool tl_watch(bool (*ready)(void *ud), void *ud, const tl_deadline *d) {
  struct timespec until = tl_clock_after_real(TL_WATCH_SECONDS);
  if (d != NULL && !d->infinite && tl_clock_before(&d->at, &until)) until = d->at;
  for (unsigned looks = 1;; looks++) {
    for (int i = 0; i < WATCH_GAP; i++) tl_cpu_relax();
    if (looks % YIELD_EVERY == 0) sched_yield();
    if (ready(ud)) return true;
    struct timespec now = real_now();
    if (!tl_clock_before(&now, &until)) return false;
  }
}
