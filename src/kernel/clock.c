/*
** clock.c -- time for tlua: the monotonic clock and deadlines.
**
** Every timeout of every primitive becomes a tl_deadline: 'infinite', or
** an absolute CLOCK_MONOTONIC time, so that a change of the wall clock
** never stretches or shortens a wait: every condition variable is made
** on the same clock (tl_clock_cond_init).
**
** Under a deterministic schedule (sched.c) the clock is virtual: it
** starts at 0 and only the scheduler moves it, so every deadline, sleep
** and monotonic() reading is the same from run to run.  (The condition
** variables then never time out by themselves: the scheduler wakes.)
**
** Locking: none; the virtual clock is an atomic, moved only by the thread
** that holds the scheduler's baton.
*/
#include <math.h>

#include "kernel.h"

static atomic_bool virtual_on;
static atomic_llong virtual_ns;

void tl_clock_set_virtual(bool on) {
  atomic_store(&virtual_ns, 0);
  atomic_store(&virtual_on, on);
}

bool tl_clock_is_virtual(void) { return atomic_load_explicit(&virtual_on, memory_order_relaxed); }

void tl_clock_advance_to(long long ns) {
  if (ns > atomic_load(&virtual_ns)) atomic_store(&virtual_ns, ns);
}

void tl_clock_tick(long long ns) { atomic_fetch_add(&virtual_ns, ns); }

static struct timespec now(void) {
  struct timespec ts;
  if (tl_clock_is_virtual()) {
    long long ns = atomic_load_explicit(&virtual_ns, memory_order_relaxed);
    ts.tv_sec = (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
  } else {
    clock_gettime(CLOCK_MONOTONIC, &ts);
  }
  return ts;
}

double tl_clock_monotonic(void) {
  struct timespec ts = now();
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

long long tl_clock_now_ns(void) {
  struct timespec ts = now();
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct timespec add_seconds(struct timespec ts, double seconds) {
  double whole = floor(seconds);
  ts.tv_sec += (time_t)whole;
  ts.tv_nsec += (long)((seconds - whole) * 1e9);
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec += 1;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

struct timespec tl_clock_after(double seconds) { return add_seconds(now(), seconds); }

struct timespec tl_clock_after_real(double seconds) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return add_seconds(ts, seconds);
}

void tl_clock_cond_init(pthread_cond_t *cond) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(cond, &attr);
  pthread_condattr_destroy(&attr);
}

bool tl_clock_before(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

tl_deadline tl_clock_deadline(double seconds) {
  tl_deadline d;
  d.overflow = seconds > TL_TIMEOUT_MAX;
  d.infinite = !(seconds >= 0) || d.overflow; /* NaN: infinite */
  d.at.tv_sec = 0;
  d.at.tv_nsec = 0;
  if (!d.infinite) d.at = tl_clock_after(seconds);
  return d;
}

double tl_clock_remaining(const tl_deadline *d) {
  if (d->infinite) return -1;
  struct timespec t = now();
  double r = (double)(d->at.tv_sec - t.tv_sec) + (double)(d->at.tv_nsec - t.tv_nsec) * 1e-9;
  return r > 0 ? r : 0;
}
