/*
** deadlock.c -- reports a process in which every thread is blocked for
** good, instead of letting it hang (as Go's runtime does; Python hangs).
**
** The kernel counts the threads blocked for good (kernel/blocked.c: a
** wait with no timeout on a primitive, a queue, a join or the exit wait)
** and wakes this watchdog when that count reaches the number of alive
** threads.  Since a thread woken by a notify is still marked until it runs
** again, the watchdog waits a grace period (GRACE seconds) and reports
** only if nothing progressed meanwhile and all are still marked.
**
** The report opens with one line: the cycle of waits if there is one
** ("Thread-1 holds Lock created at bank.lua:3 and waits for Lock created
** at bank.lua:4 held by Thread-2, which waits for Lock created at
** bank.lua:3 held by Thread-1"; a join is a wait for the joined thread),
** else what each thread waits for.  Then each thread in the words of
** dump.c: what it waits for and who holds it, the locks it holds, its Lua
** traceback.  The outputs asked for (--trace, --stats: outputs.c) are
** written, and the process exits with status 3.  The blocked threads'
** states are read without running them: they are parked in a wait, and
** each is pinned while its stack is read (tstate.c).
**
** Locking: the threads are collected under the runtime mutex
** (tl_runtime_foreach), describing their objects inside it (object
** mutexes, kernel.h rule 4); the rest runs while every other thread is
** parked for good, and takes no lock while a thread is pinned.
*/
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools.h"

#define GRACE 1.0 /* seconds without progress before reporting */

/* --- the report -------------------------------------------------------- */

/* Every thread and what it waits for, collected under the runtime mutex. */
typedef struct node {
  tl_tstate *ts;
  tl_dump_wait w;
  bool blocked;
} node;

typedef struct graph {
  node *nodes;
  int n, cap;
} graph;

static void collect(tl_tstate *ts, void *ud) {
  graph *g = (graph *)ud;
  if (g->n == g->cap) {
    int cap = g->cap ? g->cap * 2 : 16;
    node *nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
    if (nodes == NULL) return;
    g->nodes = nodes;
    g->cap = cap;
  }
  node *x = &g->nodes[g->n++];
  x->ts = ts;
  x->blocked = atomic_load_explicit(&ts->blocked_forever, memory_order_acquire);
  tl_dump_wait_of(ts, x->blocked ? ts->waiting_what : NULL, x->blocked ? (tl_object *)ts->waiting_obj : NULL, &x->w);
}

/* The node whose thread holds what node i waits for, or -1. */
static int next_of(const graph *g, int i) {
  if (!g->nodes[i].blocked || g->nodes[i].w.holder == NULL) return -1;
  for (int j = 0; j < g->n; j++)
    if (g->nodes[j].ts == g->nodes[i].w.holder) return j;
  return -1;
}

/* A cycle of waits, into cycle[] (its length returned, 0 if none). */
static int find_cycle(const graph *g, int *cycle) {
  int *seen_at = malloc((size_t)g->n * sizeof *seen_at);
  if (seen_at == NULL) return 0;
  int len = 0;
  for (int start = 0; start < g->n && len == 0; start++) {
    for (int i = 0; i < g->n; i++) seen_at[i] = -1;
    int steps = 0;
    for (int i = start; i >= 0; i = next_of(g, i)) {
      if (seen_at[i] >= 0) { /* back to a thread of this walk: the cycle runs from there */
        for (int j = 0; j < g->n; j++)
          if (seen_at[j] >= seen_at[i]) cycle[seen_at[j] - seen_at[i]] = j;
        len = steps - seen_at[i];
        break;
      }
      seen_at[i] = steps++;
    }
  }
  free(seen_at);
  return len;
}

/* The one-line summary: the cycle, "Thread-1 holds Lock A and waits for
** Lock B held by Thread-2, which waits for Lock A held by Thread-1";
** else what each thread waits for. */
static void add_summary(tl_text *t, const graph *g) {
  int *cycle = malloc((size_t)(g->n ? g->n : 1) * sizeof *cycle);
  int len = cycle ? find_cycle(g, cycle) : 0;
  if (len > 0) {
    int first = 0; /* start where the wait into it is for something held, if any */
    for (int k = 0; k < len; k++)
      if (!g->nodes[cycle[(k + len - 1) % len]].w.join) {
        first = k;
        break;
      }
    const node *start = &g->nodes[cycle[first]];
    const node *last = &g->nodes[cycle[(first + len - 1) % len]];
    tl_dump_add_name(t, start->ts);
    if (!last->w.join) tl_text_add(t, " holds %s and", last->w.object);
    for (int k = 0; k < len; k++) {
      const node *x = &g->nodes[cycle[(first + k) % len]];
      const node *next = &g->nodes[cycle[(first + k + 1) % len]];
      tl_text_add(t, "%s waits for %s", k == 0 ? "" : ", which", x->w.object);
      if (!x->w.join) {
        tl_text_add(t, " held by ");
        tl_dump_add_name(t, next->ts);
      }
    }
    tl_text_add(t, "\n");
  } else {
    bool own = false;
    for (int i = 0; i < g->n && !own; i++) {
      if (!g->nodes[i].w.own) continue;
      own = true;
      tl_dump_add_name(t, g->nodes[i].ts);
      tl_text_add(t, " waits for %s, which it holds itself\n", g->nodes[i].w.object);
    }
    for (int i = 0; i < g->n && !own; i++) {
      tl_text_add(t, "%s", i == 0 ? "no thread can wake another: " : "; ");
      tl_dump_add_name(t, g->nodes[i].ts);
      tl_text_add(t, " ");
      tl_dump_add_wait(t, &g->nodes[i].w);
      if (i == g->n - 1) tl_text_add(t, "\n");
    }
  }
  free(cycle);
}

static void add_thread(tl_text *t, const node *x) {
  tl_dump_add_header(t, x->ts);
  if (!x->blocked) {
    tl_text_add(t, "  not blocked\n");
    return;
  }
  tl_text_add(t, "  ");
  tl_dump_add_wait(t, &x->w);
  tl_text_add(t, "\n");
  tl_dump_add_holdings(t, x->ts);
  /* Pinned, as dump.c does: a Ctrl-C may wake the main thread meanwhile. */
  if (tl_tstate_pin(x->ts)) {
    if (x->ts->waiting_state != NULL) tl_dump_add_traceback(t, x->ts->waiting_state);
    tl_tstate_unpin(x->ts);
  }
}

/* The report: the summary line, then every thread, what it waits for,
** what it holds. */
static void build_report(tl_text *t) {
  graph g = {NULL, 0, 0};
  tl_runtime_foreach(collect, &g);
  tl_text_add(t, "deadlock: all threads are blocked\n");
  add_summary(t, &g);
  for (int i = 0; i < g.n; i++) add_thread(t, &g.nodes[i]);
  for (int i = 0; i < g.n; i++) tl_tstate_decref(g.nodes[i].w.holder);
  free(g.nodes);
}

static void write_and_exit(tl_text *t) {
  fflush(NULL); /* every stdio stream: what io.open'ed files hold too, as os.exit does */
  tl_text_write(t);
  tl_outputs_write(); /* --trace, --stats...: the trace shows who blocked on what */
  _exit(3);
}

static void report_and_exit(void) {
  tl_text t = {NULL, 0, 0};
  build_report(&t);
  tl_text_add(&t, "\n(tlua exits with status 3; -X deadlock=off or TLUA_DEADLOCK=0 disables this check)\n");
  write_and_exit(&t);
}

char *tl_deadlock_report_text(void) {
  tl_text t = {NULL, 0, 0};
  build_report(&t);
  return t.buf;
}

/* Under a deterministic schedule the scheduler itself sees the deadlock,
** at once: the same report, with the schedule and how to replay it. */
static void report_scheduled_and_exit(void *ud) {
  (void)ud;
  tl_text t = {NULL, 0, 0};
  build_report(&t);
  char spec[128], replay[512];
  tl_sched_describe(spec, sizeof spec);
  tl_sched_get_replay(replay, sizeof replay);
  tl_text_add(&t, "\nschedule: %s (step %ld)\n", spec, tl_sched_steps());
  if (replay[0]) tl_text_add(&t, "replay: %s\n", replay);
  tl_text_add(&t, "(tlua exits with status 3)\n");
  write_and_exit(&t);
}

void tl_deadlock_watch_schedules(void) { tl_sched_set_deadlock_handler(report_scheduled_and_exit, NULL); }

/* --- the watchdog thread --------------------------------------------- */

static void *watchdog(void *arg) {
  (void)arg;
  for (;;) {
    tl_blocked_await_all();
    unsigned long before = tl_blocked_progress();
    struct timespec grace = {(time_t)GRACE, (long)((GRACE - (double)(time_t)GRACE) * 1e9)};
    while (nanosleep(&grace, &grace) == -1 && errno == EINTR) { /* real time, even under a schedule */
    }
    /* (A suspicion raised during the grace period stays set: if this check
    ** fails because of progress, the loop checks again at once.) */
    if (tl_blocked_enabled() && tl_blocked_progress() == before && tl_blocked_all()) report_and_exit();
  }
  return NULL;
}

void tl_deadlock_start(void) {
  static pthread_mutex_t start_mutex = PTHREAD_MUTEX_INITIALIZER;
  static bool started;
  if (!tl_blocked_enabled()) return;
  pthread_mutex_lock(&start_mutex);
  if (!started) {
    started = tl_signals_thread(watchdog);
    if (started) tl_blocked_watch();
  }
  pthread_mutex_unlock(&start_mutex);
}
