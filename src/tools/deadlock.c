/*
** deadlock.c -- reports a process in which every thread is blocked for
** good, instead of letting it hang (as Go's runtime does; Python hangs).
**
** The kernel counts the threads blocked for good (kernel/blocked.c: a
** wait with no timeout on a primitive, a queue, a join or the exit wait)
** and wakes this watchdog when that count reaches the number of alive
** threads.  Since a thread woken by a notify is still marked until it runs
** again, the watchdog waits a grace period (GRACE seconds) and reports
** only if nothing progressed meanwhile and all are still marked.  The
** report names each thread, what it waits for, the locks it holds and its
** Lua traceback; the process then exits with status 3.  The blocked
** threads' states are read without running them: they are parked in a
** wait.
**
** Locking: the report runs under the runtime mutex (tl_runtime_foreach)
** and takes the tracking mutex (value/object.c) and object mutexes inside
** it, which is safe only because every other thread is parked for good.
*/
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools.h"

#define GRACE 1.0 /* seconds without progress before reporting */

/* --- the report -------------------------------------------------------- */

typedef struct report {
  char *buf;
  size_t len, cap;
} report;

static void add(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(report *r, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->buf ? r->buf + r->len : NULL, r->buf ? r->cap - r->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (r->buf && r->len + (size_t)n < r->cap) {
      r->len += (size_t)n;
      return;
    }
    size_t cap = (r->cap ? r->cap * 2 : 4096) + (size_t)n;
    char *nb = realloc(r->buf, cap);
    if (nb == NULL) return;
    r->buf = nb;
    r->cap = cap;
  }
}

/* A Lua traceback of a parked state, read without running it. */
static void add_traceback(report *r, lua_State *L) {
  lua_Debug ar;
  for (int level = 0; level < 20 && lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "Sln", &ar)) break;
    if (ar.currentline > 0) add(r, "\t%s:%d: in ", ar.short_src, ar.currentline);
    else add(r, "\t%s: in ", ar.short_src);
    if (ar.name != NULL) add(r, "%s '%s'\n", ar.namewhat, ar.name);
    else if (*ar.what == 'm') add(r, "main chunk\n");
    else if (*ar.what == 'C') add(r, "?\n");
    else add(r, "function <%s:%d>\n", ar.short_src, ar.linedefined);
  }
}

static void describe(tl_object *o, char *buf, size_t size, tl_tstate **holder) {
  *holder = NULL;
  if (o->kind->describe != NULL) o->kind->describe(o, buf, size, holder);
  else snprintf(buf, size, "%s %p", o->kind->name, (void *)o);
}

/* Adds "name" of a record (its mutex is a leaf: free to take here). */
static void add_name(report *r, tl_tstate *ts) {
  char *name = tl_tstate_name(ts);
  add(r, "%s", name ? name : "?");
  free(name);
}

typedef struct holder_scan {
  report *r;
  tl_tstate *thread;
} holder_scan;

/* For each tracked object: "holds X" if the thread of the scan holds it. */
static void add_if_held(tl_object *o, void *ud) {
  holder_scan *scan = (holder_scan *)ud;
  char what[160];
  tl_tstate *holder = NULL;
  describe(o, what, sizeof what, &holder);
  if (holder == scan->thread) add(scan->r, "  holds %s\n", what);
}

static void report_thread(tl_tstate *t, void *ud) {
  report *r = (report *)ud;
  bool blocked = atomic_load_explicit(&t->blocked_forever, memory_order_acquire);
  add(r, "\nthread ");
  add_name(r, t);
  add(r, "%s:\n", t->is_main ? " (main)" : "");
  if (!blocked) {
    add(r, "  not blocked\n");
    return;
  }
  char what[160];
  tl_tstate *holder = NULL;
  if (t->waiting_obj != NULL) {
    describe((tl_object *)t->waiting_obj, what, sizeof what, &holder);
    add(r, "  waits for %s", what);
    if (holder == t) {
      add(r, ", held by itself");
    } else if (holder != NULL) {
      add(r, ", held by ");
      add_name(r, holder);
    }
    add(r, "\n");
  } else {
    add(r, "  waits in %s\n", t->waiting_what ? t->waiting_what : "?");
  }
  holder_scan scan = {r, t};
  tl_object_foreach_tracked(add_if_held, &scan);
  if (t->waiting_state != NULL) {
    add(r, "  stack traceback:\n");
    add_traceback(r, t->waiting_state);
  }
}

/* The report: every thread, what it waits for, what it holds. */
static void build_report(report *r) {
  add(r, "deadlock: all threads are blocked\n");
  tl_runtime_foreach(report_thread, r);
}

static void write_and_exit(report *r) {
  fflush(NULL); /* every stdio stream: what io.open'ed files hold too, as os.exit does */
  if (r->buf) {
    ssize_t ignored = write(STDERR_FILENO, r->buf, r->len);
    (void)ignored;
  }
  _exit(3);
}

static void report_and_exit(void) {
  report r = {NULL, 0, 0};
  build_report(&r);
  add(&r, "\n(tlua exits with status 3; -X deadlock=off or TLUA_DEADLOCK=0 disables this check)\n");
  write_and_exit(&r);
}

char *tl_deadlock_report_text(void) {
  report r = {NULL, 0, 0};
  build_report(&r);
  return r.buf;
}

/* Under a deterministic schedule the scheduler itself sees the deadlock,
** at once: the same report, with the schedule and how to replay it. */
static void report_scheduled_and_exit(void *ud) {
  (void)ud;
  report r = {NULL, 0, 0};
  build_report(&r);
  char spec[128], replay[512];
  tl_sched_describe(spec, sizeof spec);
  tl_sched_get_replay(replay, sizeof replay);
  add(&r, "\nschedule: %s (step %ld)\n", spec, tl_sched_steps());
  if (replay[0]) add(&r, "replay: %s\n", replay);
  add(&r, "(tlua exits with status 3)\n");
  write_and_exit(&r);
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
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* no signal is for the watchdog */
    started = pthread_create(&t, &attr, watchdog, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (started) tl_blocked_watch();
  }
  pthread_mutex_unlock(&start_mutex);
}
