/*
** startjoin_floor.c COUNT REPS: the floor under startjoin.lua on this
** machine: the same protocol in plain C with no Lua at all.  start()
** creates an OS thread and waits (mutex + condition variable) until it
** runs, as threading.Thread.start does in tlua and CPython; then join()
** waits for it to end.  Prints the median microseconds per start+join
** over REPS batches of COUNT, as "us_per_thread X".
** Built and run by scripts/bench/driver.lua (cc -O2 -pthread).
*/
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "floor.h"

typedef struct started {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  bool running;
} started;

static void *nothing(void *arg) {
  started *s = arg;
  pthread_mutex_lock(&s->mutex);
  s->running = true;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->mutex);
  return NULL;
}

int main(int argc, char **argv) {
  int count = argc > 1 ? atoi(argv[1]) : 1000, reps = argc > 2 ? atoi(argv[2]) : 3;
  if (count < 1 || reps < 1 || reps > 100) return 2;
  double per[100];
  started s = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    for (int i = 0; i < count; i++) {
      pthread_t t;
      s.running = false;
      if (pthread_create(&t, NULL, nothing, &s) != 0) return 1;
      pthread_mutex_lock(&s.mutex);
      while (!s.running) pthread_cond_wait(&s.cond, &s.mutex);
      pthread_mutex_unlock(&s.mutex);
      pthread_join(t, NULL);
    }
    per[r] = (now() - t0) / count * 1e6;
  }
  printf("us_per_thread %g\n", median(per, reps));
  return 0;
}
