/*
** trace.c -- what each thread did, and when: the data behind
** `tlua --trace FILE.json` (Chrome trace events, opened by Perfetto and
** chrome://tracing) and `tlua --trace-svg FILE.svg`.
**
** A thread's life is a sequence of states: running Lua, waiting for the
** GIL, blocked on a named primitive (Lock, Queue.get, join...), sleeping.
** The places where a thread changes state (wait.c, gil.c, thread.c)
** call tl_trace_event(); each call appends one fixed-size event to a global
** array.  Exporting (lua/threading/trace.lua) turns the events into spans.
**
** Cost: when tracing is off, tl_trace_event is one relaxed atomic load and a
** branch.  When on, one atomic increment and a store per event.  The
** array is bounded (TRACE_MAX events, allocated when tracing starts);
** events past the end are counted as dropped, never written.
**
** Locking: the slot index is an atomic counter; each slot is written by
** the one thread that reserved it.  Export happens at exit in the main
** thread after the others are joined; an event still being written by an
** abandoned daemon thread may be read half-made, so export skips slots
** whose 'state' is still zero (states start at 1; the array is zeroed).
*/
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

#define TRACE_MAX (1u << 20) /* events: 24 MiB at most */

typedef struct trace_event {
  uint64_t ns;         /* CLOCK_MONOTONIC */
  const char *detail;  /* a static string, or a name owned by the trace */
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

static void record(int32_t thread, tl_trace_state state, const char *detail) {
  size_t slot = atomic_fetch_add_explicit(&next_slot, 1, memory_order_relaxed);
  if (slot >= TRACE_MAX) {
    atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
    return;
  }
  trace_event *e = &events[slot];
  e->ns = now_ns();
  e->detail = detail;
  e->thread = thread;
  atomic_store_explicit(&e->state, (int)state, memory_order_release);
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

void tl_trace_event(tl_trace_state state, const char *detail) {
  if (!tl_trace_on()) return;
  record(self_id(), state, detail);
}

void tl_trace_restart(void) {
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

/* threading._trace_events() -> {dropped = n, {ns, thread, state, detail}...} */
int tl_trace_push_events(lua_State *L) {
  size_t n = atomic_load(&next_slot);
  if (n > TRACE_MAX) n = TRACE_MAX;
  lua_createtable(L, events ? (int)n : 0, 1);
  lua_pushinteger(L, atomic_load(&dropped));
  lua_setfield(L, -2, "dropped");
  if (events == NULL) return 1;
  lua_Integer k = 0;
  for (size_t i = 0; i < n; i++) {
    trace_event *e = &events[i];
    int state = atomic_load_explicit(&e->state, memory_order_acquire);
    if (state == 0) continue;
    lua_createtable(L, 4, 0);
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
    lua_rawseti(L, -2, ++k);
  }
  return 1;
}
