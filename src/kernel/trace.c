/*
** trace.c -- what each thread did, and when: the data behind
** `tlua --trace FILE.json` (Chrome trace events, opened by Perfetto and
** chrome://tracing) and `tlua --trace-svg FILE.svg`.
**
** A thread's life is a sequence of states: running Lua, waiting for the
** GIL, blocked on a named primitive (Lock, Queue.get, join...), sleeping.
** Besides states, a thread records the user's events (threading.trace's
** marks, spans and counters) and, when a queue's size changes, a counter:
** their names are copies kept for the life of the trace (trace_names.c).
** The places where a thread changes state (wait.c, gil.c, thread.c)
** call tl_trace_event(); each call appends one fixed-size event to a global
** array.  Exporting (lua/threading/trace.lua) turns the events into spans.
**
** The same state changes are counted in each thread's record for --stats
** (tstate.c, tl_tstate_count), whether or not the trace is recorded.
**
** Cost: when neither is on, tl_trace_event is two relaxed atomic loads and
** branches.  When on, one atomic increment and a store per event.  The
** array is bounded (TRACE_MAX events, allocated when tracing starts);
** events past the end are counted as dropped, never written.
**
** Locking: the slot index is an atomic counter; each slot is written by
** the one thread that reserved it.  Export happens at exit (tools/
** outputs.c stops the trace first), while other threads may still run: an
** event still being written by one may be read half-made, so export
** skips slots whose 'state' is still zero (states start at 1; the array
** is zeroed).
*/
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

#define TRACE_MAX (1u << 20) /* events: 32 MiB at most */

typedef struct trace_event {
  uint64_t ns;         /* CLOCK_MONOTONIC */
  const char *detail;  /* a static string, or a name owned by the trace */
  double value;        /* a counter's */
  int32_t thread;      /* the thread's trace id */
  atomic_int state;    /* tl_trace_state; 0 = slot not written yet */
} trace_event;

static atomic_bool tracing;
static trace_event *events;
static atomic_size_t next_slot;
static atomic_long dropped;
static atomic_int next_thread_id;

bool tl_trace_on(void) { return atomic_load_explicit(&tracing, memory_order_relaxed); }

/* Real time, or the scheduler's virtual time: a deterministic schedule
** then gives the same trace, byte for byte. */
static uint64_t now_ns(void) { return (uint64_t)tl_clock_now_ns(); }

static void record_value(int32_t thread, tl_trace_state state, const char *detail, double value) {
  size_t slot = atomic_fetch_add_explicit(&next_slot, 1, memory_order_relaxed);
  if (slot >= TRACE_MAX) {
    atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
    return;
  }
  trace_event *e = &events[slot];
  e->ns = now_ns();
  e->detail = detail;
  e->value = value;
  e->thread = thread;
  atomic_store_explicit(&e->state, (int)state, memory_order_release);
}

static void record(int32_t thread, tl_trace_state state, const char *detail) {
  record_value(thread, state, detail, 0);
}

/* The calling thread's trace id, given at its first event. */
static int32_t self_id(void) {
  tl_tstate *t = tl_tstate_self();
  if (t == NULL) return 0;
  int id = atomic_load_explicit(&t->trace_id, memory_order_relaxed);
  if (id == 0) {
    id = atomic_fetch_add(&next_thread_id, 1) + 1;
    atomic_store(&t->trace_id, id);
    char *name = tl_tstate_name(t);
    record(id, TL_TRACE_NAME, name ? name : "?"); /* the name lives as long as the trace */
  }
  return id;
}

/* --stats: every state change is also counted in the thread's shares. */
static atomic_bool counting;

bool tl_trace_wanted(void) {
  return atomic_load_explicit(&tracing, memory_order_relaxed) || atomic_load_explicit(&counting, memory_order_relaxed);
}

uint64_t tl_trace_now_ns(void) { return now_ns(); }

static void count(tl_trace_state state) {
  static const signed char shares[] = {
      [TL_TRACE_RUN] = TL_SHARE_LUA,         [TL_TRACE_GIL_WAIT] = TL_SHARE_GIL_WAIT,
      [TL_TRACE_BLOCKED] = TL_SHARE_BLOCKED, [TL_TRACE_SLEEP] = TL_SHARE_SLEEP,
      [TL_TRACE_END] = -1,
  };
  tl_tstate *t = tl_tstate_self();
  if (t == NULL || state == TL_TRACE_NAME || state == TL_TRACE_FORCED || (size_t)state >= sizeof shares) return;
  tl_tstate_count(t, shares[state], now_ns());
}

void tl_trace_count(void) {
  atomic_store(&counting, true);
  count(TL_TRACE_RUN);
}

void tl_trace_event(tl_trace_state state, const char *detail) {
  if (atomic_load_explicit(&counting, memory_order_relaxed)) count(state);
  if (!tl_trace_on()) return;
  record(self_id(), state, detail);
}

void tl_trace_restart(void) {
  if (atomic_load(&counting) && tl_tstate_self() != NULL) { /* the shares too: a new clock */
    tl_tstate_count_reset(tl_tstate_self());
    count(TL_TRACE_RUN);
  }
  if (!tl_trace_on()) return;
  atomic_store(&next_slot, 0);
  atomic_store(&next_thread_id, 0);
  tl_tstate *self = tl_tstate_self();
  if (self != NULL) atomic_store(&self->trace_id, 0);
  memset(events, 0, TRACE_MAX * sizeof *events);
  tl_trace_event(TL_TRACE_RUN, NULL);
}

void tl_trace_start(void) {
  if (tl_trace_on()) return;
  events = calloc(TRACE_MAX, sizeof *events);
  if (events == NULL) return;
  atomic_store(&tracing, true);
  tl_trace_event(TL_TRACE_RUN, NULL);
}

/* A user's event (threading.trace) or a queue's size: 'name' was made by
** tl_trace_name, so it lives as long as the trace. */
void tl_trace_user(tl_trace_state kind, const char *name, double value) {
  if (!tl_trace_on()) return;
  record_value(self_id(), kind, name, value);
}

/* The end of the trace: events stop being recorded; the time is kept as
** the end of every span still open (a thread blocked when a deadlock
** report or a signal ends the process). */
static atomic_ullong stopped_at;

void tl_trace_stop(void) {
  if (!atomic_exchange(&tracing, false)) return;
  atomic_store(&stopped_at, now_ns());
}

/* threading._trace_events() -> {dropped = n, stop = ns or nil,
** {ns, thread, state, detail [, value]}...} */
int tl_trace_push_events(lua_State *L) {
  size_t n = atomic_load(&next_slot);
  if (n > TRACE_MAX) n = TRACE_MAX;
  lua_createtable(L, events ? (int)n : 0, 2);
  lua_pushinteger(L, atomic_load(&dropped));
  lua_setfield(L, -2, "dropped");
  if (atomic_load(&stopped_at) != 0) {
    lua_pushinteger(L, (lua_Integer)atomic_load(&stopped_at));
    lua_setfield(L, -2, "stop");
  }
  if (events == NULL) return 1;
  lua_Integer k = 0;
  for (size_t i = 0; i < n; i++) {
    trace_event *e = &events[i];
    int state = atomic_load_explicit(&e->state, memory_order_acquire);
    if (state == 0) continue;
    lua_createtable(L, state == TL_TRACE_COUNTER ? 5 : 4, 0);
    lua_pushinteger(L, (lua_Integer)e->ns);
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, e->thread);
    lua_rawseti(L, -2, 2);
    lua_pushinteger(L, state);
    lua_rawseti(L, -2, 3);
    if (e->detail) {
      lua_pushstring(L, e->detail);
      lua_rawseti(L, -2, 4);
    }
    if (state == TL_TRACE_COUNTER) {
      lua_pushnumber(L, e->value);
      lua_rawseti(L, -2, 5);
    }
    lua_rawseti(L, -2, ++k);
  }
  return 1;
}
