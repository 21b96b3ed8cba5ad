/*
** floor.h: what the C workloads of scripts/bench (startjoin_floor.c,
** scaling_floor.c) share: a monotonic clock and the median.
*/
#ifndef TLUA_BENCH_FLOOR_H
#define TLUA_BENCH_FLOOR_H

#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sorts xs[0..n-1] and returns their median. */
static double median(double *xs, int n) {
  qsort(xs, (size_t)n, sizeof xs[0], by_value);
  return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

#endif
