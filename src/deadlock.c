/*
** deadlock.c -- reports a process in which every thread is blocked for
** good, instead of letting it hang (as Go's runtime does; Python hangs).
**
** A thread counts as "blocked for good" while it waits with no timeout on
** a threading primitive, queue, join or the exit wait (tl_cond_wait with
** an infinite deadline marks it; tl_blocking_end clears the mark and
** counts as progress).  Sleeping, blocking I/O, waiting for the GIL and
** waiting with a timeout (a pending Timer, say) do not count: such a
** thread may still make progress.
**
** When the number of marked threads reaches the number of alive threads
** (main included), the thread that noticed wakes the watchdog.  Since a
** thread woken by a notify is still marked until it runs again, the
** watchdog waits a grace period (GRACE seconds) and reports only if
** nothing progressed meanwhile and all are still marked.  The report
** names each thread, what it waits for, the locks it holds and its Lua
** traceback; the process then exits with status 3.  The blocked threads'
** states are read without running them: they are parked in a wait.
**
** Locking: counts and marks are atomics.  'dl.mutex' guards 'suspect'
** and the watchdog's wake-up; it is a leaf lock, taken inside object
** mutexes (tl_cond_wait).  'track.mutex' guards the set of describable
** objects; it is a leaf lock too.  The report runs under the runtime
** mutex (tl_runtime_foreach) and takes object mutexes inside it, which
** is safe only because every other thread is parked for good.
*/
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thread.h"

#define GRACE 1.0 /* seconds without progress before reporting */

static struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  bool suspect;
  atomic_bool started;
} dl = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static atomic_bool enabled = true;
static atomic_int blocked_count;
static atomic_ulong progress;

void tl_deadlock_set_enabled(bool on) { atomic_store(&enabled, on); }

static void check_all_blocked(void) {
  if (!atomic_load(&enabled) || !dl.started) return;
  if (atomic_load(&blocked_count) < tl_runtime_alive_count()) return;
  pthread_mutex_lock(&dl.mutex);
  dl.suspect = true;
  pthread_cond_signal(&dl.cond);
  pthread_mutex_unlock(&dl.mutex);
}

void tl_deadlock_note_blocked(void) {
  tl_thread *self = tl_self();
  if (self == NULL || atomic_load_explicit(&self->blocked_forever, memory_order_relaxed)) return;
  atomic_store_explicit(&self->blocked_forever, true, memory_order_release);
  atomic_fetch_add(&blocked_count, 1);
  check_all_blocked();
}

void tl_deadlock_note_unblocked(void) {
  tl_thread *self = tl_self();
  atomic_fetch_add(&progress, 1);
  if (self != NULL && atomic_load_explicit(&self->blocked_forever, memory_order_relaxed)) {
    atomic_store(&self->blocked_forever, false);
    atomic_fetch_sub(&blocked_count, 1);
  }
}

void tl_deadlock_note_exit(void) {
  atomic_fetch_add(&progress, 1);
  check_all_blocked();
}

/* --- the objects that can be held (for "holds ...") ------------------- */

static struct {
  pthread_mutex_t mutex;
  tl_object **items;
  size_t n, cap;
} track = {.mutex = PTHREAD_MUTEX_INITIALIZER};

void tl_deadlock_track(tl_object *o) {
  pthread_mutex_lock(&track.mutex);
  if (track.n == track.cap) {
    size_t cap = track.cap ? track.cap * 2 : 64;
    tl_object **items = realloc(track.items, cap * sizeof *items);
    if (items == NULL) { /* untracked: only the report is poorer */
      pthread_mutex_unlock(&track.mutex);
      return;
    }
    track.items = items;
    track.cap = cap;
  }
  track.items[track.n++] = o;
  pthread_mutex_unlock(&track.mutex);
}

void tl_deadlock_untrack(tl_object *o) {
  pthread_mutex_lock(&track.mutex);
  for (size_t i = track.n; i-- > 0;) {
    if (track.items[i] == o) {
      track.items[i] = track.items[--track.n];
      break;
    }
  }
  pthread_mutex_unlock(&track.mutex);
}

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

static void describe(tl_object *o, char *buf, size_t size, tl_thread **holder) {
  *holder = NULL;
  if (o->kind->describe != NULL) o->kind->describe(o, buf, size, holder);
  else snprintf(buf, size, "%s %p", o->kind->name, (void *)o);
}

static void report_thread(tl_thread *t, void *ud) {
  report *r = (report *)ud;
  bool blocked = atomic_load_explicit(&t->blocked_forever, memory_order_acquire);
  add(r, "\nthread %s%s:\n", t->name, t->is_main ? " (main)" : "");
  if (!blocked) {
    add(r, "  not blocked\n");
    return;
  }
  char what[160];
  tl_thread *holder = NULL;
  if (t->waiting_obj != NULL) {
    describe(t->waiting_obj, what, sizeof what, &holder);
    add(r, "  waits for %s", what);
    if (holder != NULL) add(r, ", held by %s", holder == t ? "itself" : holder->name);
    add(r, "\n");
  } else {
    add(r, "  waits in %s\n", t->waiting_what ? t->waiting_what : "?");
  }
  pthread_mutex_lock(&track.mutex);
  for (size_t i = 0; i < track.n; i++) {
    describe(track.items[i], what, sizeof what, &holder);
    if (holder == t) add(r, "  holds %s\n", what);
  }
  pthread_mutex_unlock(&track.mutex);
  if (t->waiting_state != NULL) {
    add(r, "  stack traceback:\n");
    add_traceback(r, t->waiting_state);
  }
}

static void report_and_exit(void) {
  report r = {NULL, 0, 0};
  add(&r, "deadlock: all threads are blocked\n");
  tl_runtime_foreach(report_thread, &r);
  add(&r, "\n(tlua exits with status 3; -X deadlock=off or TLUA_DEADLOCK=0 disables this check)\n");
  fflush(stdout);
  if (r.buf) {
    ssize_t ignored = write(STDERR_FILENO, r.buf, r.len);
    (void)ignored;
  }
  _exit(3);
}

/* --- the watchdog thread --------------------------------------------- */

static void *watchdog(void *arg) {
  (void)arg;
  pthread_mutex_lock(&dl.mutex);
  for (;;) {
    while (!dl.suspect) pthread_cond_wait(&dl.cond, &dl.mutex);
    dl.suspect = false;
    unsigned long before = atomic_load(&progress);
    tl_deadline grace = tl_deadline_after(GRACE);
    while (pthread_cond_timedwait(&dl.cond, &dl.mutex, &grace.at) == 0) {
    }
    /* (A suspicion raised during the grace period stays set: if this check
    ** fails because of progress, the loop checks again at once.) */
    if (atomic_load(&enabled) && atomic_load(&progress) == before &&
        atomic_load(&blocked_count) >= tl_runtime_alive_count()) {
      pthread_mutex_unlock(&dl.mutex);
      report_and_exit();
    }
  }
  return NULL;
}

void tl_deadlock_start(void) {
  if (!atomic_load(&enabled)) return;
  pthread_mutex_lock(&dl.mutex);
  if (!dl.started) {
    tl_cond_init(&dl.cond);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* no signal is for the watchdog */
    dl.started = pthread_create(&t, &attr, watchdog, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
  }
  pthread_mutex_unlock(&dl.mutex);
}
