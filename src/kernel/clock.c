/*
** clock.c -- time for tlua: the monotonic clock and deadlines.
**
** Every timeout of every primitive becomes a tl_deadline: 'infinite', or
** an absolute CLOCK_MONOTONIC time, so that a change of the wall clock
** never stretches or shortens a wait: every condition variable is made
** on the same clock (tl_clock_cond_init).
**
** Locking: none; pure functions of the clock.
*/
#include <math.h>

#include "kernel.h"

double tl_clock_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct timespec tl_clock_after(double seconds) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  double whole = floor(seconds);
  ts.tv_sec += (time_t)whole;
  ts.tv_nsec += (long)((seconds - whole) * 1e9);
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec += 1;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
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
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  double r = (double)(d->at.tv_sec - now.tv_sec) + (double)(d->at.tv_nsec - now.tv_nsec) * 1e-9;
  return r > 0 ? r : 0;
}
