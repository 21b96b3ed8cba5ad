/*
** spinlock.c -- a spin lock for the few data structures whose critical
** sections are a few dozen instructions long and that two cores take in
** turn at every operation: a shared table's entries (kinds/shared.c) and
** a LifoQueue's stack (kinds/queue.c).
**
** Why not a pthread mutex there.  A contended glibc mutex (adaptive or
** not) sleeps in the kernel after a short spin, and its unlock then calls
** the kernel to wake it: with a producer and a consumer taking a
** LifoQueue's mutex in turn on two cores, 14-20 thousand futex system
** calls per 100,000 items; under this lock about 10.  In the runs where
** the two cores hand cache lines over slowly (most, on the machine of
** docs/benchmarks.md) that took the queue from 2.1-2.3M to 2.3-3.5M
** items a second; in the others both move 6-11M.
** pthread_mutex_lock and unlock also take about 55 instructions where a
** test-and-set takes a few.
**
** The lock is a test-and-set word.  A thread that finds it taken spins,
** reading it (a read leaves the holder's cache line shared, where a failed
** exchange would take it away), and after SPINS pauses gives its core away
** at each look (sched_yield): the holder may have been preempted, or run
** on the same core.  There is no queue of waiters and no fairness: a
** critical section this short ends before a waiter's next look.
**
** Locking rules for its users: a leaf lock (kernel.h rules).  Nothing
** that can wait, call Lua, take another lock or free an object while it is
** held; allocating is allowed but rare (growing a stack).
*/
#include <sched.h>

#include "kernel.h" /* tl_cpu_relax */
#include "spinlock.h"

#define SPINS 100 /* pauses before yielding at each look (a few microseconds) */

void tl_spin_lock_contended(tl_spinlock *lock) {
  for (unsigned n = 0;; n++) {
    if (!atomic_load_explicit(lock, memory_order_relaxed) &&
        !atomic_exchange_explicit(lock, true, memory_order_acquire))
      return;
    if (n < SPINS) tl_cpu_relax();
    else sched_yield();
  }
}
