/*
** sched.c -- the deterministic scheduler: -X sched=KIND[:SEED[:PARAM]],
** TLUA_SCHED, tlua --explore and threading.check.
**
** It replaces the GIL's arbitration by a baton: exactly one registered
** thread is RUNNING, and it hands the baton on only at *schedule points*,
** where the scheduler alone picks the next thread from those READY, with
** a seeded generator.  Everything a thread does between two points is
** run with the others parked, so the same script and seed give the same
** interleaving, output and trace on any machine, under any load
** (docs/design.md, "The scheduler"):
**
**   tl_sched_point     a threading operation (Lock.acquire, Queue.put, a
**                      shared table's read...), before it acts
**   tl_sched_preempt   a switch point in Lua code (switchpoint.c's hook,
**                      CPython's points), every 'quantum' of them
**   tl_sched_block     a wait (kernel/wait.c in sched mode): the thread is
**                      BLOCKED on a condition until tl_sched_wake names it,
**                      or until the virtual clock reaches its deadline
**   tl_sched_exit      a thread ends
**
** Kinds: random (a uniform pick among the READY threads at every point),
** pct (Probabilistic Concurrency Testing, Burckhardt et al. 2010: random
** distinct thread priorities, the highest READY one runs; at DEPTH-1
** change points, picked uniformly among the first HORIZON steps, the
** running thread's priority drops below all others) and rr (round robin
** in creation order, no seed).
**
** Virtual time: the clock (clock.c, made virtual here) starts at 0,
** advances 1 us per step, and jumps to the earliest deadline when every
** thread is blocked; sleeps and timeouts are deadlines of that clock.  When
** every thread is blocked and none has a deadline, that is a deadlock: the
** deadlock handler reports it (tools/deadlock.c: the who-waits-for-what
** report, then exit 3), or, in threading.check, the run is aborted: every
** thread's next schedule point or wait fails with "run aborted".
**
** Threads that tlua did not register (none but the deadlock watchdog) are
** outside the scheduler.  A thread in real I/O keeps the baton: nothing
** else runs meanwhile, so the interleaving stays the same; a read that
** waits for another thread's write never returns (documented).
**
** Locking: 'sched.mutex' guards every field of 'sched' and of the slots;
** it is a leaf lock, taken inside object mutexes (tl_sched_block is
** called with the caller's mutex held and releases that mutex once the
** thread is registered as blocked; tl_sched_wake with the signaller's
** mutex held).  Each slot's 'turn' condition is waited on with
** sched.mutex held, the thread parked (tstate.c) so that the SIGQUIT dump
** can read its stack; it unparks after letting go of sched.mutex (or,
** in a loop, before parking again).  'active' and 'live' are atomics
** read anywhere.
*/
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "kernel.h"

#define MAX_DEPTH 16

typedef enum { S_READY, S_RUNNING, S_BLOCKED, S_DONE } slot_state;

struct tl_sched_slot {
  tl_tstate *ts;          /* a reference */
  int id;                 /* creation order: 0 for the thread that began */
  slot_state state;
  const void *blocked_on; /* the condition it waits on (NULL: a sleep) */
  unsigned long block_seq;/* when it blocked: the first to block is woken first */
  bool has_deadline;
  long long deadline_ns;
  bool timed_out;
  bool aborted;
  uint64_t priority;      /* pct: the highest READY runs */
  pthread_cond_t turn;    /* signalled when it becomes RUNNING */
};

static struct {
  pthread_mutex_t mutex;
  tl_sched_config cfg;
  tl_sched_slot **slots;
  int n, cap;
  tl_sched_slot *current;
  uint64_t rng;
  long step;
  long preempts;
  unsigned long block_seq;
  long change_points[MAX_DEPTH];
  int nchanges, next_change;
  bool aborting;
  FILE *log;
  void (*on_deadlock)(void *ud);
  void *deadlock_ud;
  char replay[512];
} sched = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static atomic_bool active;
static atomic_int live; /* slots not ended */

static tl_sched_slot *slot_of(tl_tstate *ts) { return ts ? ts->sched : NULL; }

/* --- configuration ---------------------------------------------------------- */

static const char *const kind_names[] = {"off", "random", "pct", "rr"};

static atomic_long default_quantum = 1;

void tl_sched_set_quantum(long n) {
  atomic_store(&default_quantum, n < 1 ? 1 : n);
  pthread_mutex_lock(&sched.mutex);
  sched.cfg.quantum = n < 1 ? 1 : n;
  pthread_mutex_unlock(&sched.mutex);
}

bool tl_sched_parse(const char *spec, tl_sched_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->quantum = atomic_load(&default_quantum);
  cfg->depth = 3;
  cfg->seed = 1;
  char kind[16];
  size_t k = strcspn(spec, ":");
  if (k == 0 || k >= sizeof kind) return false;
  memcpy(kind, spec, k);
  kind[k] = '\0';
  if (strcmp(kind, "random") == 0) cfg->kind = TL_SCHED_RANDOM;
  else if (strcmp(kind, "pct") == 0) cfg->kind = TL_SCHED_PCT;
  else if (strcmp(kind, "rr") == 0) cfg->kind = TL_SCHED_RR;
  else return false;
  const char *p = spec + k;
  long long fields[3] = {0, 0, 0};
  int nfields = 0;
  while (*p == ':' && nfields < 3) {
    char *end;
    long long v = strtoll(p + 1, &end, 10);
    if (end == p + 1 || v < 0) return false;
    fields[nfields++] = v;
    p = end;
  }
  if (*p != '\0') return false;
  if (nfields >= 1) cfg->seed = (uint64_t)fields[0];
  if (nfields >= 2) {
    if (cfg->kind != TL_SCHED_PCT || fields[1] < 1 || fields[1] > MAX_DEPTH) return false;
    cfg->depth = (int)fields[1];
  }
  if (nfields >= 3) {
    if (cfg->kind != TL_SCHED_PCT || fields[2] < 1) return false;
    cfg->horizon = (long)fields[2];
  }
  return true;
}

void tl_sched_format(const tl_sched_config *cfg, char *buf, size_t size) {
  if (cfg->kind == TL_SCHED_RR) snprintf(buf, size, "rr");
  else if (cfg->kind == TL_SCHED_PCT && cfg->horizon > 0)
    snprintf(buf, size, "pct:%" PRIu64 ":%d:%ld", cfg->seed, cfg->depth, cfg->horizon);
  else if (cfg->kind == TL_SCHED_PCT) snprintf(buf, size, "pct:%" PRIu64 ":%d", cfg->seed, cfg->depth);
  else snprintf(buf, size, "%s:%" PRIu64, kind_names[cfg->kind], cfg->seed);
}

bool tl_sched_active(void) { return atomic_load_explicit(&active, memory_order_relaxed); }
int tl_sched_live_count(void) { return atomic_load_explicit(&live, memory_order_relaxed); }

void tl_sched_set_log(FILE *f) {
  pthread_mutex_lock(&sched.mutex);
  sched.log = f;
  pthread_mutex_unlock(&sched.mutex);
}

void tl_sched_set_deadlock_handler(void (*fn)(void *ud), void *ud) {
  pthread_mutex_lock(&sched.mutex);
  sched.on_deadlock = fn;
  sched.deadlock_ud = ud;
  pthread_mutex_unlock(&sched.mutex);
}

void tl_sched_set_replay(const char *text) {
  pthread_mutex_lock(&sched.mutex);
  snprintf(sched.replay, sizeof sched.replay, "%s", text ? text : "");
  pthread_mutex_unlock(&sched.mutex);
}

void tl_sched_get_replay(char *buf, size_t size) {
  pthread_mutex_lock(&sched.mutex);
  snprintf(buf, size, "%s", sched.replay);
  pthread_mutex_unlock(&sched.mutex);
}

void tl_sched_describe(char *buf, size_t size) {
  pthread_mutex_lock(&sched.mutex);
  tl_sched_format(&sched.cfg, buf, size);
  pthread_mutex_unlock(&sched.mutex);
}

bool tl_sched_random_seed(lua_Integer *x, lua_Integer *y) {
  tl_sched_slot *s = slot_of(tl_tstate_self());
  if (!tl_sched_active() || s == NULL) return false;
  pthread_mutex_lock(&sched.mutex);
  *x = (lua_Integer)sched.cfg.seed;
  *y = s->id;
  pthread_mutex_unlock(&sched.mutex);
  return true;
}

long tl_sched_steps(void) {
  pthread_mutex_lock(&sched.mutex);
  long s = sched.step;
  pthread_mutex_unlock(&sched.mutex);
  return s;
}

/* --- the generator: splitmix64 ------------------------------------------------- */

static uint64_t next_random(void) {
  uint64_t z = (sched.rng += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

static uint64_t random_below(uint64_t n) { return n ? next_random() % n : 0; }

/* --- slots ------------------------------------------------------------------------ */

/* A new slot for ts (sched.mutex held); NULL on out of memory. */
static tl_sched_slot *add_slot(tl_tstate *ts, slot_state state) {
  if (sched.n == sched.cap) {
    int cap = sched.cap ? sched.cap * 2 : 16;
    tl_sched_slot **slots = realloc(sched.slots, (size_t)cap * sizeof *slots);
    if (slots == NULL) return NULL;
    sched.slots = slots;
    sched.cap = cap;
  }
  tl_sched_slot *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  tl_clock_cond_init(&s->turn);
  tl_tstate_incref(ts);
  s->ts = ts;
  s->id = sched.n;
  s->state = state;
  /* pct: distinct random priorities above the change points' 1..DEPTH-1 */
  s->priority = ((next_random() >> 8) | (1ULL << 54)) + (uint64_t)s->id;
  ts->sched = s;
  sched.slots[sched.n++] = s;
  atomic_fetch_add(&live, 1);
  return s;
}

static void free_slots(void) {
  for (int i = 0; i < sched.n; i++) {
    tl_sched_slot *s = sched.slots[i];
    s->ts->sched = NULL;
    tl_tstate_decref(s->ts);
    pthread_cond_destroy(&s->turn);
    free(s);
  }
  free(sched.slots);
  sched.slots = NULL;
  sched.n = sched.cap = 0;
  atomic_store(&live, 0);
}

/* --- decisions ------------------------------------------------------------------ */

/* One step of the scheduler: the clock ticks; a pct change point lowers
** the running thread's priority. */
static void count_step(void) {
  sched.step++;
  tl_clock_tick(1000); /* 1 us per step */
  if (sched.cfg.kind == TL_SCHED_PCT && sched.next_change < sched.nchanges &&
      sched.step == sched.change_points[sched.next_change]) {
    if (sched.current) sched.current->priority = (uint64_t)(sched.nchanges - sched.next_change);
    sched.next_change++;
  }
}

/* The blocked threads whose deadline has come (at or before the virtual
** time now) time out: they are made READY (sched.mutex held). */
static void expire_deadlines(void) {
  long long t = tl_clock_now_ns();
  for (int i = 0; i < sched.n; i++) {
    tl_sched_slot *s = sched.slots[i];
    if (s->state == S_BLOCKED && s->has_deadline && s->deadline_ns <= t) {
      s->state = S_READY;
      s->timed_out = true;
    }
  }
}

/* No thread is READY: the clock jumps to the earliest deadline, whose
** threads time out.  False if no blocked thread has a deadline. */
static bool advance_clock(void) {
  bool any = false;
  long long earliest = 0;
  for (int i = 0; i < sched.n; i++) {
    tl_sched_slot *s = sched.slots[i];
    if (s->state == S_BLOCKED && s->has_deadline && (!any || s->deadline_ns < earliest)) {
      earliest = s->deadline_ns;
      any = true;
    }
  }
  if (!any) return false;
  tl_clock_advance_to(earliest);
  expire_deadlines();
  return true;
}

/* The next thread to run, among the READY ones and 'self' (if it may go
** on); NULL when none can run (a deadlock).  The threads whose deadline
** has passed are READY first (else one that sleeps would starve while
** others run); the clock jumps only when none is.  sched.mutex held. */
static tl_sched_slot *choose(tl_sched_slot *self) {
  count_step();
  expire_deadlines();
  tl_sched_slot *cand[64], **c = cand;
  int n = 0, cap = 64;
  for (int pass = 0; pass < 2 && n == 0; pass++) {
    if (pass == 1 && (self != NULL || !advance_clock())) break;
    for (int i = 0; i < sched.n; i++) {
      tl_sched_slot *s = sched.slots[i];
      if (s->state != S_READY && s != self) continue;
      if (n == cap) { /* more than 64 candidates: grow on the heap */
        tl_sched_slot **more = malloc(sizeof *more * (size_t)cap * 2);
        if (more == NULL) break;
        memcpy(more, c, sizeof *more * (size_t)n);
        if (c != cand) free(c);
        c = more;
        cap *= 2;
      }
      c[n++] = s;
    }
  }
  tl_sched_slot *pick = NULL;
  if (n > 0) {
    switch (sched.cfg.kind) {
      case TL_SCHED_RANDOM: pick = c[random_below((uint64_t)n)]; break;
      case TL_SCHED_PCT:
        pick = c[0];
        for (int i = 1; i < n; i++)
          if (c[i]->priority > pick->priority) pick = c[i];
        break;
      default: { /* rr: the next id after the current one, cyclically */
        int after = sched.current ? sched.current->id : -1;
        pick = c[0];
        for (int i = 0; i < n; i++)
          if (c[i]->id > after) {
            pick = c[i];
            break;
          }
      }
    }
  }
  if (c != cand) free(c);
  return pick;
}

/* The source position of the innermost Lua function of L ("race.lua:7"). */
static void where(lua_State *L, char *buf, size_t size) {
  lua_Debug ar;
  buf[0] = '\0';
  for (int level = 0; L != NULL && lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0) continue;
    snprintf(buf, size, " (%s:%d)", ar.short_src, ar.currentline);
    return;
  }
}

/* One line per context switch, when logging (sched.mutex held). */
static void log_switch(tl_sched_slot *from, tl_sched_slot *to, const char *what, const char *pos) {
  if (sched.log == NULL || from == to) return;
  char *a = from ? tl_tstate_name(from->ts) : NULL, *b = to ? tl_tstate_name(to->ts) : NULL;
  fprintf(sched.log, "step %ld: %s -> %s at %s%s\n", sched.step, a ? a : "(ended)", b ? b : "?", what,
          pos ? pos : "");
  fflush(sched.log);
  free(a);
  free(b);
}

/* Gives the baton to 'to' (sched.mutex held). */
static void hand_to(tl_sched_slot *to) {
  sched.current = to;
  if (to != NULL) {
    to->state = S_RUNNING;
    pthread_cond_signal(&to->turn);
  }
}

/* What the SIGQUIT dump says of a thread that waits for its turn: that,
** and the stack of 'L' (or none). */
static void mark_turn_wait(lua_State *L) {
  tl_tstate *ts = tl_tstate_self();
  ts->waiting_what = TL_SCHED_TURN;
  ts->waiting_obj = NULL;
  ts->waiting_state = L;
}

/* Waits until 'self' runs again (sched.mutex held).  Meanwhile the thread
** is parked (tstate.c): the SIGQUIT dump may read its Lua stack.  The
** caller unparks it once it has let go of sched.mutex (a dump that pinned
** it is not kept waiting on that mutex by the wait, nor the other way). */
static void await_turn(tl_sched_slot *self) {
  tl_tstate_park();
  while (sched.current != self) pthread_cond_wait(&self->turn, &sched.mutex);
}

/* The run is aborted: every blocked thread is made ready, to fail with
** TL_WAIT_ABORTED (sched.mutex held). */
static void abort_blocked(void) {
  sched.aborting = true;
  for (int i = 0; i < sched.n; i++) {
    tl_sched_slot *s = sched.slots[i];
    if (s->state == S_BLOCKED) {
      s->state = S_READY;
      s->aborted = true;
    }
  }
}

/* Every thread is blocked for good.  sched.mutex is held on entry and on
** return.  The handler reports (and, outside threading.check, exits);
** then the run is aborted: every blocked thread is woken to fail. */
static void deadlocked(void) {
  void (*fn)(void *) = sched.on_deadlock;
  void *ud = sched.deadlock_ud;
  pthread_mutex_unlock(&sched.mutex);
  if (fn != NULL) fn(ud);
  pthread_mutex_lock(&sched.mutex);
  abort_blocked();
}

/* --- the life of the scheduler ---------------------------------------------------- */

bool tl_sched_begin(const tl_sched_config *cfg) {
  tl_tstate *self = tl_tstate_self();
  if (self == NULL || tl_sched_active()) return false;
  pthread_mutex_lock(&sched.mutex);
  sched.cfg = *cfg;
  sched.rng = cfg->seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
  sched.step = sched.preempts = 0;
  sched.block_seq = 0;
  sched.aborting = false;
  sched.nchanges = sched.next_change = 0;
  tl_clock_set_virtual(true);
  if (cfg->kind == TL_SCHED_PCT) {
    /* The horizon: given, else one of 16, 64, 256, 1024, 4096 steps, by the seed. */
    long horizon = cfg->horizon > 0 ? cfg->horizon : 16L << (2 * random_below(5));
    sched.nchanges = cfg->depth - 1;
    for (int i = 0; i < sched.nchanges; i++) sched.change_points[i] = 1 + (long)random_below((uint64_t)horizon);
    for (int i = 1; i < sched.nchanges; i++) /* sorted */
      for (int j = i; j > 0 && sched.change_points[j] < sched.change_points[j - 1]; j--) {
        long t = sched.change_points[j];
        sched.change_points[j] = sched.change_points[j - 1];
        sched.change_points[j - 1] = t;
      }
  }
  tl_sched_slot *s = add_slot(self, S_RUNNING);
  sched.current = s;
  pthread_mutex_unlock(&sched.mutex);
  if (s == NULL) {
    tl_clock_set_virtual(false);
    return false;
  }
  atomic_store(&active, true);
  return true;
}

void tl_sched_end(void) {
  if (!tl_sched_active()) return;
  atomic_store(&active, false);
  pthread_mutex_lock(&sched.mutex);
  free_slots();
  sched.current = NULL;
  sched.aborting = false;
  pthread_mutex_unlock(&sched.mutex);
  tl_clock_set_virtual(false);
}

/* --- threads ------------------------------------------------------------------------ */

void tl_sched_register(tl_tstate *ts) {
  pthread_mutex_lock(&sched.mutex);
  if (sched.current != NULL && add_slot(ts, S_READY) == NULL) abort(); /* (a few bytes) */
  pthread_mutex_unlock(&sched.mutex);
}

void tl_sched_cancel(tl_tstate *ts) {
  pthread_mutex_lock(&sched.mutex);
  tl_sched_slot *s = slot_of(ts);
  if (s != NULL && s->state == S_READY) {
    s->state = S_DONE;
    atomic_fetch_sub(&live, 1);
  }
  pthread_mutex_unlock(&sched.mutex);
}

void tl_sched_enter(void) {
  tl_sched_slot *self = slot_of(tl_tstate_self());
  if (self == NULL) return;
  pthread_mutex_lock(&sched.mutex);
  mark_turn_wait(NULL);
  await_turn(self);
  pthread_mutex_unlock(&sched.mutex);
  tl_tstate_unpark();
}

void tl_sched_exit(void) {
  tl_sched_slot *self = slot_of(tl_tstate_self());
  if (self == NULL) return;
  pthread_mutex_lock(&sched.mutex);
  self->state = S_DONE;
  atomic_fetch_sub(&live, 1);
  tl_sched_slot *next = choose(NULL);
  if (next == NULL && !sched.aborting) {
    bool others = false;
    for (int i = 0; i < sched.n; i++) others = others || sched.slots[i]->state == S_BLOCKED;
    if (others) {
      deadlocked();
      next = choose(NULL);
    }
  }
  log_switch(self, next, "thread end", NULL);
  hand_to(next);
  pthread_mutex_unlock(&sched.mutex);
}

/* --- points ---------------------------------------------------------------------- */

/* A point where the running thread may be switched out. */
static void yield_at(lua_State *L, const char *what, const char *detail) {
  tl_sched_slot *self = slot_of(tl_tstate_self());
  if (self == NULL) return;
  pthread_mutex_lock(&sched.mutex);
  if (sched.aborting) {
    pthread_mutex_unlock(&sched.mutex);
    luaL_error(L, "threading.check: run aborted (a deadlock, or threads left at its end)");
  }
  tl_sched_slot *next = choose(self);
  if (next != self) {
    if (sched.log) {
      char pos[256], text[160];
      where(L, pos, sizeof pos);
      snprintf(text, sizeof text, "%s%s%s", what, detail ? " " : "", detail ? detail : "");
      log_switch(self, next, text, pos);
    }
    self->state = S_READY;
    tl_trace_event(TL_TRACE_GIL_WAIT, NULL);
    mark_turn_wait(L);
    hand_to(next);
    await_turn(self);
    tl_trace_event(TL_TRACE_RUN, NULL);
  }
  pthread_mutex_unlock(&sched.mutex);
  tl_tstate_unpark();
}

void tl_sched_point(lua_State *L, const char *what, const char *detail) {
  if (tl_sched_active()) yield_at(L, what, detail);
}

void tl_sched_preempt(lua_State *L) {
  if (!tl_sched_active()) return;
  pthread_mutex_lock(&sched.mutex);
  bool due = ++sched.preempts % (sched.cfg.quantum > 0 ? sched.cfg.quantum : 1) == 0;
  pthread_mutex_unlock(&sched.mutex);
  if (due) yield_at(L, "preemption", NULL);
}

tl_wait_result tl_sched_block(const void *cond, const tl_deadline *d, pthread_mutex_t *mutex) {
  tl_tstate *ts = tl_tstate_self();
  tl_sched_slot *self = slot_of(ts);
  if (self == NULL) return TL_WAIT_OK; /* (a thread outside the scheduler: spurious) */
  pthread_mutex_lock(&sched.mutex);
  if (sched.aborting) { /* fails at once, but lets the others (which unwind) run first */
    if (mutex) pthread_mutex_unlock(mutex);
    tl_sched_slot *next = choose(self);
    if (next != self && next != NULL) {
      if (sched.log) log_switch(self, next, "wait (run aborted)", NULL);
      self->state = S_READY;
      hand_to(next);
      await_turn(self);
      pthread_mutex_unlock(&sched.mutex);
      tl_tstate_unpark();
    } else {
      pthread_mutex_unlock(&sched.mutex);
    }
    if (mutex) pthread_mutex_lock(mutex);
    return TL_WAIT_ABORTED;
  }
  self->state = S_BLOCKED;
  self->blocked_on = cond;
  self->block_seq = ++sched.block_seq;
  self->has_deadline = !d->infinite;
  self->deadline_ns = d->infinite ? 0 : (long long)d->at.tv_sec * 1000000000LL + d->at.tv_nsec;
  self->timed_out = self->aborted = false;
  if (d->infinite) atomic_store_explicit(&ts->blocked_forever, true, memory_order_release);
  if (mutex) pthread_mutex_unlock(mutex);
  tl_sched_slot *next = choose(NULL);
  if (next == NULL) {
    deadlocked();
    next = choose(NULL);
  }
  char pos[256], text[160];
  if (sched.log) {
    where(ts->waiting_state, pos, sizeof pos);
    snprintf(text, sizeof text, "%s (blocks)", ts->waiting_what ? ts->waiting_what : "wait");
    log_switch(self, next, text, pos);
  }
  hand_to(next);
  await_turn(self);
  atomic_store_explicit(&ts->blocked_forever, false, memory_order_relaxed);
  tl_wait_result r = self->aborted ? TL_WAIT_ABORTED : self->timed_out ? TL_WAIT_TIMEOUT : TL_WAIT_OK;
  self->blocked_on = NULL;
  pthread_mutex_unlock(&sched.mutex);
  tl_tstate_unpark();
  if (mutex) pthread_mutex_lock(mutex);
  return r;
}

void tl_sched_wake(const void *cond, bool all) {
  if (!tl_sched_active()) return;
  pthread_mutex_lock(&sched.mutex);
  tl_sched_slot *first = NULL;
  for (int i = 0; i < sched.n; i++) {
    tl_sched_slot *s = sched.slots[i];
    if (s->state != S_BLOCKED || s->blocked_on != cond) continue;
    if (all) s->state = S_READY;
    else if (first == NULL || s->block_seq < first->block_seq) first = s;
  }
  if (first != NULL) first->state = S_READY;
  pthread_mutex_unlock(&sched.mutex);
}

bool tl_sched_others_alive(void) {
  pthread_mutex_lock(&sched.mutex);
  bool any = false;
  for (int i = 0; i < sched.n; i++)
    any = any || (sched.slots[i] != sched.current && sched.slots[i]->state != S_DONE);
  pthread_mutex_unlock(&sched.mutex);
  return any;
}

void tl_sched_abort(void) {
  pthread_mutex_lock(&sched.mutex);
  abort_blocked();
  pthread_mutex_unlock(&sched.mutex);
}

void tl_sched_drain(void) {
  tl_sched_slot *self = slot_of(tl_tstate_self());
  if (self == NULL) return;
  pthread_mutex_lock(&sched.mutex);
  for (;;) {
    bool others = false;
    for (int i = 0; i < sched.n; i++)
      others = others || (sched.slots[i] != self && sched.slots[i]->state != S_DONE);
    if (!others) break;
    tl_sched_slot *next = choose(NULL); /* someone else, first */
    if (next == NULL) {                 /* all of them blocked: fail them */
      abort_blocked();
      continue;
    }
    self->state = S_READY;
    mark_turn_wait(tl_tstate_running_state());
    hand_to(next);
    await_turn(self);
    tl_tstate_unpark(); /* (before parking again: a pin is never overwritten) */
  }
  pthread_mutex_unlock(&sched.mutex);
}
