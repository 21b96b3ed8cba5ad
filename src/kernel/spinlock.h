/*
** spinlock.h -- a spin lock for critical sections of a few dozen
** instructions that two cores take in turn (spinlock.c says why and
** when, and its users' rules): no Lua call, no wait, no pthread mutex
** and no object freed while it is held.
**
** Locking: this is the lock.
*/
#ifndef TLUA_SPINLOCK_H
#define TLUA_SPINLOCK_H

#include <stdatomic.h>
#include <stdbool.h>

typedef atomic_bool tl_spinlock;

void tl_spin_lock_contended(tl_spinlock *lock);

static inline void tl_spin_lock(tl_spinlock *lock) {
  if (atomic_exchange_explicit(lock, true, memory_order_acquire)) tl_spin_lock_contended(lock);
}

static inline void tl_spin_unlock(tl_spinlock *lock) { atomic_store_explicit(lock, false, memory_order_release); }

#endif
