/*
** runtime.c -- the process-wide part of tlua: which threads are alive,
** which state each OS thread runs, the excepthook, and the wait for
** non-daemon threads at exit.  (The states themselves: state.c.)
**
** Each OS thread knows its own record and state through thread-locals
** (initial-exec, so the GIL's signal handler may read them).
**
** Locking: 'rt.mutex' guards the alive list, the counts, the excepthook
** blob and the stack size.  It is a leaf lock except that it may be held
** while taking a thread's own mutex (thread.h).  'rt.changed' is
** broadcast whenever a thread leaves the alive list.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "lualib.h"
#include "thread.h"

static _Thread_local tl_thread *self_thread __attribute__((tls_model("initial-exec")));
static _Thread_local lua_State *self_state __attribute__((tls_model("initial-exec")));

static struct {
  pthread_mutex_t mutex;
  pthread_cond_t changed;
  tl_thread *main;
  tl_thread *alive;       /* started, not yet finished threads (not main), */
  tl_thread *alive_last;  /* in start order */
  atomic_int alive_count;  /* written under 'mutex', read anywhere */
  int non_daemon_count;
  tl_blob *excepthook;    /* NULL: the default hook */
  size_t stack_size;      /* 0: the system's default */
  bool keep_stats;        /* --stats: remember ended threads' figures */
  struct ended_stats *ended, **ended_tail;
} rt = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t rt_once = PTHREAD_ONCE_INIT;

/* The figures of an ended thread, for --stats. */
typedef struct ended_stats {
  struct ended_stats *next;
  char *name;
  long acquisitions, forced;
  long long wait_ns, cpu_ns;
} ended_stats;

tl_thread *tl_self(void) { return self_thread; }
lua_State *tl_self_state(void) { return self_state; }
tl_thread_stats *tl_self_stats(void) { return self_thread ? &self_thread->stats : NULL; }
tl_thread *tl_runtime_main_thread(void) { return rt.main; }
bool tl_runtime_is_main_thread(void) { return self_thread != NULL && self_thread == rt.main; }

void tl_runtime_bind_self(tl_thread *t, lua_State *L) {
  self_thread = t;
  self_state = L;
}

void tl_runtime_forget_state(void) { self_state = NULL; }

static void runtime_init_once(void) {
  tl_cond_init(&rt.changed);
  tl_gil_install_signal();
  const char *dl = getenv("TLUA_DEADLOCK");
  if (dl != NULL && strcmp(dl, "0") == 0) tl_deadlock_set_enabled(false);
}

/* Called by every luaopen_threading; only the first call in the process
** (from the main thread) sets the runtime up. */
bool tl_runtime_init(lua_State *mainL) {
  pthread_once(&rt_once, runtime_init_once);
  pthread_mutex_lock(&rt.mutex);
  bool first = rt.main == NULL;
  if (first) {
    rt.main = tl_thread_new(NULL, "MainThread", false, NULL);
    rt.main->is_main = true;
    rt.main->state = TL_THREAD_STARTED;
    rt.main->ident = (lua_Integer)(uintptr_t)pthread_self();
    rt.main->native_id = (lua_Integer)syscall(SYS_gettid);
  }
  pthread_mutex_unlock(&rt.mutex);
  if (first) {
    tl_runtime_bind_self(rt.main, mainL);
    const char *env = getenv("TLUA_GIL");
    if (env != NULL && strcmp(env, "1") == 0) tl_gil_set_enabled(true);
    tl_deadlock_start();
  }
  return first;
}

void tl_runtime_add(tl_thread *t) {
  pthread_mutex_lock(&rt.mutex);
  t->next = NULL; /* appended: enumerate() lists threads in start order */
  t->prev = rt.alive_last;
  if (rt.alive_last) rt.alive_last->next = t;
  else rt.alive = t;
  rt.alive_last = t;
  rt.alive_count++;
  if (!t->daemon) rt.non_daemon_count++;
  pthread_mutex_unlock(&rt.mutex);
}

static long long thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void tl_runtime_keep_stats(void) {
  pthread_mutex_lock(&rt.mutex);
  rt.keep_stats = true;
  if (rt.ended_tail == NULL) rt.ended_tail = &rt.ended;
  pthread_mutex_unlock(&rt.mutex);
}

/* Called by the ending thread itself (its CPU clock is read here). */
static ended_stats *snapshot_stats(tl_thread *t) {
  atomic_store(&t->stats.cpu_ns, thread_cpu_ns());
  ended_stats *e = malloc(sizeof *e);
  if (e == NULL) return NULL;
  pthread_mutex_lock(&t->mutex);
  e->name = strdup(t->name);
  pthread_mutex_unlock(&t->mutex);
  e->next = NULL;
  e->acquisitions = atomic_load(&t->stats.gil_acquisitions);
  e->forced = atomic_load(&t->stats.gil_forced_switches);
  e->wait_ns = atomic_load(&t->stats.gil_wait_ns);
  e->cpu_ns = atomic_load(&t->stats.cpu_ns);
  return e;
}

void tl_runtime_print_stats(FILE *f) {
  ended_stats *mainstats = snapshot_stats(rt.main);
  flockfile(f);
  fprintf(f, "\n%-24s %10s %10s %12s %8s\n", "thread", "CPU s", "GIL wait s", "GIL acquired", "forced");
  pthread_mutex_lock(&rt.mutex);
  ended_stats *list[2] = {mainstats, rt.ended};
  for (int k = 0; k < 2; k++) {
    for (ended_stats *e = list[k]; e != NULL; e = k ? e->next : NULL) {
      fprintf(f, "%-24s %10.3f %10.3f %12ld %8ld\n", e->name ? e->name : "?", (double)e->cpu_ns * 1e-9,
              (double)e->wait_ns * 1e-9, e->acquisitions, e->forced);
    }
  }
  pthread_mutex_unlock(&rt.mutex);
  fprintf(f, "GIL %s, switch interval %.3f s\n", tl_gil_enabled() ? "on" : "off", tl_gil_interval());
  funlockfile(f);
  if (mainstats) {
    free(mainstats->name);
    free(mainstats);
  }
}

void tl_runtime_remove(tl_thread *t) {
  ended_stats *e = rt.keep_stats ? snapshot_stats(t) : NULL;
  pthread_mutex_lock(&rt.mutex);
  if (e != NULL) {
    *rt.ended_tail = e;
    rt.ended_tail = &e->next;
  }
  if (t->prev) t->prev->next = t->next;
  else rt.alive = t->next;
  if (t->next) t->next->prev = t->prev;
  else rt.alive_last = t->prev;
  t->prev = t->next = NULL;
  rt.alive_count--;
  if (!t->daemon) rt.non_daemon_count--;
  pthread_cond_broadcast(&rt.changed);
  pthread_mutex_unlock(&rt.mutex);
  tl_deadlock_note_exit();
}

int tl_runtime_alive_count(void) { return atomic_load(&rt.alive_count) + 1; }

void tl_runtime_foreach(void (*fn)(tl_thread *t, void *ud), void *ud) {
  pthread_mutex_lock(&rt.mutex);
  if (rt.main) fn(rt.main, ud);
  for (tl_thread *t = rt.alive; t != NULL; t = t->next) fn(t, ud);
  pthread_mutex_unlock(&rt.mutex);
}

void tl_runtime_push_alive(lua_State *L) {
  /* Take references under the lock, push boxes after (rule 2). */
  pthread_mutex_lock(&rt.mutex);
  int n = rt.alive_count + 1;
  tl_thread **list = malloc(sizeof(tl_thread *) * (size_t)n);
  int k = 0;
  if (list != NULL) {
    list[k++] = rt.main;
    for (tl_thread *t = rt.alive; t != NULL; t = t->next) list[k++] = t;
    for (int i = 0; i < k; i++) tl_object_incref(&list[i]->obj);
  }
  pthread_mutex_unlock(&rt.mutex);
  if (list == NULL) luaL_error(L, "not enough memory");
  lua_createtable(L, k, 0);
  for (int i = 0; i < k; i++) {
    tl_push_new_object(L, &list[i]->obj);
    lua_rawseti(L, -2, i + 1);
  }
  free(list);
}

bool tl_runtime_inherited_daemon(void) {
  tl_thread *t = self_thread;
  return t != NULL && t->daemon;
}

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
  tl_blocking b;
  tl_blocking_begin(&b, "exit");
  pthread_mutex_lock(&rt.mutex);
  tl_deadline forever = tl_deadline_after(-1);
  while (rt.non_daemon_count > 0) {
    if (tl_cond_wait(&rt.changed, &rt.mutex, &forever) == TL_WAIT_INTERRUPTED) break;
  }
  pthread_mutex_unlock(&rt.mutex);
  tl_blocking_end(&b);
  tl_interrupt_clear();
}

/* --- errors in threads -------------------------------------------------- */

void tl_write_whole(FILE *f, const char *s, size_t len) {
  bool had = tl_gil_held();
  if (had) tl_gil_release();
  flockfile(f);
  fwrite(s, 1, len, f);
  fflush(f);
  funlockfile(f);
  if (had) tl_gil_acquire();
}

void tl_report_thread_error(const char *name, const char *traceback) {
  size_t len = strlen(name) + strlen(traceback) + 32;
  char *buf = malloc(len);
  if (buf == NULL) return;
  int n = snprintf(buf, len, "Exception in thread %s:\n%s\n", name, traceback);
  if (n > 0) tl_write_whole(stderr, buf, (size_t)n < len ? (size_t)n : len - 1);
  free(buf);
}

static int default_excepthook(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "thread_name");
  lua_getfield(L, 1, "traceback");
  const char *name = lua_tostring(L, -2);
  const char *tb = lua_tostring(L, -1);
  tl_report_thread_error(name ? name : "?", tb ? tb : "?");
  return 0;
}

void tl_runtime_push_excepthook(lua_State *L) {
  pthread_mutex_lock(&rt.mutex);
  tl_blob *b = rt.excepthook;
  if (b) tl_blob_incref(b);
  pthread_mutex_unlock(&rt.mutex);
  if (b == NULL) {
    lua_pushcfunction(L, default_excepthook);
    return;
  }
  int n = tl_blob_decode_release(L, b);
  if (n != 1) {
    lua_pop(L, n);
    lua_pushcfunction(L, default_excepthook);
  }
}

void tl_runtime_set_excepthook(lua_State *L, int idx) {
  tl_blob *b = NULL; /* NULL: the default hook (also when it is assigned back) */
  if (!lua_isnil(L, idx) && lua_tocfunction(L, idx) != default_excepthook) {
    luaL_checktype(L, idx, LUA_TFUNCTION);
    b = tl_blob_encode(L, idx, 1, "excepthook");
  }
  pthread_mutex_lock(&rt.mutex);
  tl_blob *old = rt.excepthook;
  rt.excepthook = b;
  pthread_mutex_unlock(&rt.mutex);
  if (old) tl_blob_free(old);
}
