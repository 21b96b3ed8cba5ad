/*
** runtime.c -- the process-wide part of the kernel: the main thread's
** record, the list of alive threads (start order), the count of
** non-daemon ones that the exit waits for, the stack size of new threads,
** and, for --stats, the record of every thread started, alive or ended.
**
** Locking: 'rt.mutex' guards the lists, the counts and the stack size; it
** is a leaf lock but for rule 4 of kernel.h ('fn' of tl_runtime_foreach
** runs under it and may take a record's own lock, or the tracked-object
** list's and an object's, in that order).  'rt.changed' is broadcast
** whenever a thread leaves the alive list.  'alive_count' is written under
** the mutex and read anywhere.
*/
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

static struct {
  pthread_mutex_t mutex;
  pthread_cond_t changed;
  tl_tstate *main;
  tl_tstate *alive, *alive_last;  /* started, not yet finished (not main) */
  atomic_int alive_count;          /* not main */
  int non_daemon_count;
  size_t stack_size;               /* 0: the system's default */
  atomic_bool keep_ended;          /* --stats */
  atomic_bool finalizing;          /* past the wait for non-daemon threads */
  tl_tstate *all, *all_last;       /* --stats: every thread started, a reference each */
} rt = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t rt_once = PTHREAD_ONCE_INIT;

static void runtime_init_once(void) {
  tl_clock_cond_init(&rt.changed);
  tl_gil_init();
  tl_switchpoint_install();
}

bool tl_runtime_init(lua_State *mainL) {
  pthread_once(&rt_once, runtime_init_once);
  pthread_mutex_lock(&rt.mutex);
  bool first = rt.main == NULL;
  if (first) {
    rt.main = tl_tstate_new("MainThread", false);
    if (rt.main == NULL) abort(); /* the very first allocation of the module */
    rt.main->is_main = true;
  }
  pthread_mutex_unlock(&rt.mutex);
  if (first) tl_tstate_bind(rt.main, mainL);
  return first;
}

tl_tstate *tl_runtime_main(void) { return rt.main; }

/* Appends ts to the list of first/last ('mutex' held). */
static void append(tl_tstate **first, tl_tstate **last, tl_tstate *ts) {
  ts->next = NULL;
  ts->prev = *last;
  if (*last) (*last)->next = ts;
  else *first = ts;
  *last = ts;
}

void tl_runtime_add(tl_tstate *ts) {
  pthread_mutex_lock(&rt.mutex);
  append(&rt.alive, &rt.alive_last, ts);
  rt.alive_count++;
  if (!ts->daemon) rt.non_daemon_count++;
  if (atomic_load(&rt.keep_ended)) {
    tl_tstate_incref(ts);
    ts->all_next = NULL;
    if (rt.all_last) rt.all_last->all_next = ts;
    else rt.all = ts;
    rt.all_last = ts;
  }
  pthread_mutex_unlock(&rt.mutex);
  tl_blocked_note_start();
  if (tl_sched_active()) { /* it runs when the scheduler picks it; now two can run */
    tl_sched_register(ts);
    tl_switchpoint_prepare_state(tl_tstate_running_state());
  }
}

static long long thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void tl_runtime_remove(tl_tstate *ts) {
  bool keep = atomic_load(&rt.keep_ended);
  if (keep) /* the ending thread's own clock, since it began this thread (OS threads are reused) */
    atomic_store(&ts->stats.cpu_ns, thread_cpu_ns() - atomic_load(&ts->stats.cpu_start_ns));
  pthread_mutex_lock(&rt.mutex);
  if (ts->prev) ts->prev->next = ts->next;
  else rt.alive = ts->next;
  if (ts->next) ts->next->prev = ts->prev;
  else rt.alive_last = ts->prev;
  ts->prev = ts->next = NULL;
  rt.alive_count--;
  if (!ts->daemon) rt.non_daemon_count--;
  atomic_store(&ts->ended, true);
  tl_wait_broadcast(&rt.changed);
  pthread_mutex_unlock(&rt.mutex);
  tl_blocked_note_exit();
}

int tl_runtime_alive_count(void) { return atomic_load(&rt.alive_count) + 1; }

void tl_runtime_foreach(void (*fn)(tl_tstate *ts, void *ud), void *ud) {
  pthread_mutex_lock(&rt.mutex);
  if (rt.main) fn(rt.main, ud);
  for (tl_tstate *ts = rt.alive; ts != NULL; ts = ts->next) fn(ts, ud);
  pthread_mutex_unlock(&rt.mutex);
}

void tl_runtime_keep_ended(void) {
  atomic_store(&rt.keep_ended, true);
}

/* Brings the CPU time of a thread that has not ended up to date ('mutex'
** held: a thread in the alive list, or main, has not exited). */
static void update_cpu(tl_tstate *ts) {
  clockid_t clock;
  struct timespec t;
  if (atomic_load(&ts->ended) || !atomic_load_explicit(&ts->bound, memory_order_acquire)) return;
  long long start = atomic_load(&ts->stats.cpu_start_ns);
  if (ts == tl_tstate_self()) atomic_store(&ts->stats.cpu_ns, thread_cpu_ns() - start);
  else if (pthread_getcpuclockid(ts->pthread, &clock) == 0 && clock_gettime(clock, &t) == 0)
    atomic_store(&ts->stats.cpu_ns, (long long)t.tv_sec * 1000000000LL + t.tv_nsec - start);
}

void tl_runtime_foreach_all(void (*fn)(tl_tstate *ts, void *ud), void *ud) {
  pthread_mutex_lock(&rt.mutex);
  if (rt.main) {
    update_cpu(rt.main);
    fn(rt.main, ud);
  }
  for (tl_tstate *ts = rt.all; ts != NULL; ts = ts->all_next) {
    update_cpu(ts);
    fn(ts, ud);
  }
  pthread_mutex_unlock(&rt.mutex);
}

void tl_runtime_finalize(void) { atomic_store(&rt.finalizing, true); }
bool tl_runtime_finalizing(void) { return atomic_load(&rt.finalizing); }

size_t tl_runtime_stack_size(void) {
  pthread_mutex_lock(&rt.mutex);
  size_t s = rt.stack_size;
  pthread_mutex_unlock(&rt.mutex);
  return s;
}

void tl_runtime_set_stack_size(size_t size) {
  pthread_mutex_lock(&rt.mutex);
  rt.stack_size = size;
  pthread_mutex_unlock(&rt.mutex);
}

void tl_runtime_wait_non_daemon(void) {
  tl_waiting w;
  tl_wait_begin(&w, "exit", NULL);
  pthread_mutex_lock(&rt.mutex);
  tl_deadline forever = tl_clock_forever();
  while (rt.non_daemon_count > 0) {
    tl_wait_result r = tl_wait_cond(&rt.changed, &rt.mutex, &forever);
    if (r == TL_WAIT_INTERRUPTED || r == TL_WAIT_ABORTED) break; /* (aborted: a deadlock under -X sched) */
  }
  pthread_mutex_unlock(&rt.mutex);
  tl_wait_end(&w);
  tl_interrupt_clear();
}
