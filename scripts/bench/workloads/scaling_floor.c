/*
** scaling_floor.c N WORK REPS: what this machine gives a CPU-bound job
** right now, in plain C with no interpreter: the same experiment as
** scaling.lua (N units of WORK loop iterations in sequence, then N
** threads doing one unit each, alternating REPS times).  Prints the same
** keys: sequential, threaded, speedup (medians).  On a
** shared machine the cores other jobs take show here first; tlua's
** speedup is then read against this one.
** Built and run by scripts/bench/driver.lua (cc -O2 -pthread).
*/
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "floor.h"

static long work;

/* s = s + i % 7, as the Lua and Python units; volatile keeps the loop. */
static void *unit(void *arg) {
  volatile long s = 0;
  for (long i = 1; i <= work; i++) s = s + i % 7;
  return arg;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 2, reps = argc > 3 ? atoi(argv[3]) : 3;
  work = argc > 2 ? atol(argv[2]) : 100000000;
  if (n < 1 || n > 64 || reps < 1 || reps > 100 || work < 1) return 2;
  double seq[100], par[100], speedup[100];
  pthread_t ts[64];
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    for (int i = 0; i < n; i++) unit(NULL);
    seq[r] = now() - t0;
    t0 = now();
    for (int i = 0; i < n; i++)
      if (pthread_create(&ts[i], NULL, unit, NULL) != 0) return 1;
    for (int i = 0; i < n; i++) pthread_join(ts[i], NULL);
    par[r] = now() - t0;
    speedup[r] = seq[r] / par[r];
  }
  printf("sequential %g\nthreaded %g\nspeedup %g\n", median(seq, reps), median(par, reps),
         median(speedup, reps));
  return 0;
}
