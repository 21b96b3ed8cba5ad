/*
** spinlock.c -- a spin lock for the few data structures whose critical
** sections are a few dozen instructions long and that two cores take in
** turn at every operation: a shared table's entries (kinds/shared.c), a
** queue's two ends (kinds/queue.c) and a Lock's core (kinds/lockcore.c).
**
** Why not a pthread mutex there.  A contended glibc mutex (adaptive or
** not) sleeps in the kernel after a short spin, and its unlock then calls
** the kernel to wake it: with a producer and a consumer taking a
** LifoQueue's mutex in turn on two cores, 14-20 thousand futex system
** calls per 100,000 items; under this lock about 10.  And uncontended,
** pthread_mutex_lock and unlock take about 55 instructions, with two
** locked operations, where a test-and-set takes a few and one: the ends
** of a Queue as spin locks moved 1.5x the items a second with the GIL off
** and 1.13x with it on (docs/benchmarks.md).
**
** The lock is a test-and-set word.  A thread that finds it taken spins,
** reading it (a read leaves the holder's cache line shared, where a failed
** exchange would take it away), and after SPINS pauses gives its core away
** at each look (sched_yield): the holder may have been preempted, or run
** on the same core.  There is no queue of waiters and no fairness: a
** critical section this short ends before a waiter's next look.
**
** Locking rules for its users: held for a few dozen instructions, with
** no Lua call, no wait and no object freed under it; allocating is allowed
** but rare (growing a ring or a stack).  A queue nests its two ends' locks
** in one order (put, then get) and is the one user that holds one longer:
** a consumer watches the ring's next slot for up to 16 us holding its get
** end's lock (kinds/queue.c, spin_for_item).  No pthread mutex is taken
** under a spin lock.
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
