/*
** dump.c -- what each thread is doing, in words: the sections of the
** deadlock report (deadlock.c) and of the SIGQUIT dump (signals.c), which
** keeps the process going, as Python's faulthandler.dump_traceback does:
**
**   thread MainThread (main):
**     waits for Lock created at bank.lua:12, held by worker (exited)
**     holds Lock "accounts"
**     stack traceback:
**           bank.lua:20: in main chunk
**
** Objects are named as tl_object_name says (the name given at creation,
** or where they were made); a holder whose thread has ended is marked
** "(exited)" (its record lives on while a lock refers to it).
**
** A thread's Lua stack can be read only while the thread leaves it alone:
** in a deadlock every thread is parked for good; for the SIGQUIT dump a
** thread parked in a wait is pinned (kernel/tstate.c) while its stack is
** read, and any other thread is shown as "running".
**
** Locking: the sections are written under the runtime mutex
** (tl_runtime_foreach); they take the tracking mutex and object mutexes
** inside it (rule 4), and nothing while a thread is pinned.  The text is
** written on stderr with one write().
*/
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools.h"

void tl_text_add(tl_text *t, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (t->buf && t->len + (size_t)n < t->cap) {
      t->len += (size_t)n;
      return;
    }
    size_t cap = (t->cap ? t->cap * 2 : 4096) + (size_t)n;
    char *nb = realloc(t->buf, cap);
    if (nb == NULL) return;
    t->buf = nb;
    t->cap = cap;
  }
}

/* (No fflush of stdout here: the SIGQUIT dump runs on the tools' signal
** thread, and a thread stuck writing to a full stdout pipe, a good reason
** to ask for a dump, holds that stream's lock.) */
void tl_text_write(tl_text *t) {
  for (size_t done = 0; t->buf && done < t->len;) {
    ssize_t n = write(STDERR_FILENO, t->buf + done, t->len - done);
    if (n <= 0) break;
    done += (size_t)n;
  }
  free(t->buf);
  t->buf = NULL;
  t->len = t->cap = 0;
}

void tl_dump_add_name(tl_text *t, tl_tstate *ts) {
  char *name = tl_tstate_name(ts);
  tl_text_add(t, "%s%s", name ? name : "?", atomic_load(&ts->ended) ? " (exited)" : "");
  free(name);
}

void tl_dump_wait_of(tl_tstate *ts, const char *what, tl_object *o, tl_dump_wait *w) {
  w->what = what ? what : "?";
  w->holder = NULL;
  w->object[0] = '\0';
  w->join = strcmp(w->what, "join") == 0;
  w->own = false;
  if (o == NULL) return;
  char name[sizeof w->object - 40];
  if (o->kind->describe != NULL) o->kind->describe(o, name, sizeof name, &w->holder);
  else tl_object_name(o, name, sizeof name);
  if (w->join) snprintf(w->object, sizeof w->object, "%s to end", name);
  else if (strcmp(w->what, o->kind->name) == 0) snprintf(w->object, sizeof w->object, "%s", name);
  else snprintf(w->object, sizeof w->object, "%s (%s)", name, w->what);
  if (w->holder == ts) { /* its own lock: no edge to another thread */
    tl_tstate_decref(w->holder);
    w->holder = NULL;
    w->own = true;
  }
}

void tl_dump_add_wait(tl_text *t, const tl_dump_wait *w) {
  if (w->object[0] == '\0') {
    if (strcmp(w->what, TL_SCHED_TURN) == 0) tl_text_add(t, "waits for its turn (-X sched runs one thread at a time)");
    else tl_text_add(t, strcmp(w->what, "sleep") == 0 ? "sleeps" : "waits in %s", w->what);
    return;
  }
  tl_text_add(t, "waits for %s", w->object);
  if (w->own) {
    tl_text_add(t, ", held by itself");
  } else if (w->holder != NULL && !w->join) {
    tl_text_add(t, ", held by ");
    tl_dump_add_name(t, w->holder);
  } else if (w->holder != NULL && atomic_load(&w->holder->ended)) {
    tl_text_add(t, " (it has exited)");
  }
}

typedef struct holder_scan {
  tl_text *t;
  tl_tstate *thread;
} holder_scan;

/* For each tracked object: "holds X" if the thread of the scan holds it. */
static void add_if_held(tl_object *o, void *ud) {
  holder_scan *scan = (holder_scan *)ud;
  char what[200];
  tl_tstate *holder = NULL;
  o->kind->describe(o, what, sizeof what, &holder);
  if (holder == scan->thread) tl_text_add(scan->t, "  holds %s\n", what);
  tl_tstate_decref(holder);
}

void tl_dump_add_holdings(tl_text *t, tl_tstate *ts) {
  holder_scan scan = {t, ts};
  tl_object_foreach_tracked(add_if_held, &scan);
}

void tl_dump_add_traceback(tl_text *t, lua_State *L) {
  lua_Debug ar;
  tl_text_add(t, "  stack traceback:\n");
  for (int level = 0; level < 20 && lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "Sln", &ar)) break;
    if (ar.currentline > 0) tl_text_add(t, "\t%s:%d: in ", ar.short_src, ar.currentline);
    else tl_text_add(t, "\t%s: in ", ar.short_src);
    if (ar.name != NULL) tl_text_add(t, "%s '%s'\n", ar.namewhat, ar.name);
    else if (*ar.what == 'm') tl_text_add(t, "main chunk\n");
    else if (*ar.what == 'C') tl_text_add(t, "?\n");
    else tl_text_add(t, "function <%s:%d>\n", ar.short_src, ar.linedefined);
  }
}

void tl_dump_add_header(tl_text *t, tl_tstate *ts) {
  tl_text_add(t, "\nthread ");
  tl_dump_add_name(t, ts);
  tl_text_add(t, "%s:\n", ts->is_main ? " (main)" : "");
}

/* --- the SIGQUIT dump -------------------------------------------------- */

/* The dump being written, and the objects it still holds a reference to:
** dropped after the walk, not under the runtime mutex (the last reference
** runs the object's destroy, which must run with no lock held). */
typedef struct dump_ctx {
  tl_text text;
  tl_object **held;
  size_t nheld, capheld;
} dump_ctx;

static void release_later(dump_ctx *d, tl_object *o) {
  if (d->nheld == d->capheld) {
    size_t cap = d->capheld ? d->capheld * 2 : 8;
    tl_object **held = realloc(d->held, cap * sizeof *held);
    if (held == NULL) { /* (out of memory: dropped now, as before) */
      tl_object_decref(o);
      return;
    }
    d->held = held;
    d->capheld = cap;
  }
  d->held[d->nheld++] = o;
}

/* One thread: pinned while its stack is read, if it is parked in a wait. */
static void dump_thread(tl_tstate *ts, void *ud) {
  dump_ctx *d = (dump_ctx *)ud;
  tl_text *t = &d->text;
  tl_text stack = {NULL, 0, 0};
  tl_object *obj = NULL;
  const char *what = NULL;
  bool parked = tl_tstate_pin(ts);
  if (parked) { /* no lock may be taken here: the thread may hold one */
    what = ts->waiting_what;
    obj = (tl_object *)ts->waiting_obj;
    if (obj) tl_object_incref(obj); /* the waiter's reference keeps it alive until the unpin */
    if (ts->waiting_state != NULL) tl_dump_add_traceback(&stack, ts->waiting_state);
    tl_tstate_unpin(ts);
  }
  tl_dump_add_header(t, ts);
  if (parked) {
    tl_dump_wait w; /* the wait as it was while pinned */
    tl_dump_wait_of(ts, what, obj, &w);
    tl_text_add(t, "  ");
    tl_dump_add_wait(t, &w);
    tl_text_add(t, "\n");
    tl_tstate_decref(w.holder);
  } else {
    tl_text_add(t, "  running (its stack cannot be read while it runs)\n");
  }
  tl_dump_add_holdings(t, ts);
  if (stack.buf) tl_text_add(t, "%s", stack.buf);
  free(stack.buf);
  if (obj) release_later(d, obj);
}

void tl_dump_threads(void) {
  dump_ctx d = {{NULL, 0, 0}, NULL, 0, 0};
  tl_text_add(&d.text, "\nSIGQUIT: every thread, now (the process goes on)\n");
  tl_runtime_foreach(dump_thread, &d);
  for (size_t i = 0; i < d.nheld; i++) tl_object_decref(d.held[i]);
  free(d.held);
  tl_text_add(&d.text, "\n");
  tl_text_write(&d.text);
}
