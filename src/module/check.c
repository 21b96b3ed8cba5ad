/*
** check.c -- deterministic schedules as the module shows them:
**
**   threading.check(fn, {runs=N, sched="pct"|"random"|"rr", depth=D,
**                        seed=S, quantum=Q, replay="pct:41:3"})
**       runs fn N times (default 100) in this process, each run under its
**       own schedule (seeds S, S+1, ...; default 1); fn starts threads and
**       joins them.  A run fails when fn raises, a thread ends with an
**       uncaught error, every thread blocks for good (a deadlock), or
**       threads are left alive when fn returns.  The first failing run
**       raises an error with that run's own message, its schedule and the
**       call that replays it: threading.check(fn, {replay = "pct:41:3"}).
**       Returns the number of runs.  (shuttle's check_random / check_pct /
**       replay, for Lua.)
**   threading.schedule()
**       the running schedule ("pct:41:3"), or nil
**
** and tl_module_schedule, which puts the whole process under one schedule
** (tlua -X sched=SPEC, TLUA_SCHED).
**
** Locking: 'dead.mutex' guards the deadlock report of the current run (a
** leaf lock); the rest runs in the calling thread, the only one alive
** between runs.
*/
#include <stdlib.h>
#include <string.h>

#include "module.h"

/* The current run's deadlock report, set by the scheduler's handler. */
static struct {
  pthread_mutex_t mutex;
  char *text;
} dead = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static void on_run_deadlock(void *ud) {
  (void)ud;
  char *text = tl_deadlock_report_text();
  pthread_mutex_lock(&dead.mutex);
  free(dead.text);
  dead.text = text;
  pthread_mutex_unlock(&dead.mutex);
}

static char *take_deadlock(void) {
  pthread_mutex_lock(&dead.mutex);
  char *text = dead.text;
  dead.text = NULL;
  pthread_mutex_unlock(&dead.mutex);
  return text;
}

/* Seeds this state's math.random from the schedule (if math is open). */
static void seed_math(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, LUA_MATHLIBNAME) == LUA_TTABLE) tl_state_seed_random(L, -1);
  lua_pop(L, 2);
}

bool tl_module_schedule(lua_State *L, const char *spec) {
  tl_sched_config cfg;
  if (!tl_sched_parse(spec, &cfg)) return false;
  tl_gil_schedule_end(); /* (one from TLUA_SCHED, replaced by -X sched) */
  if (!tl_gil_schedule_begin(&cfg)) return false;
  tl_trace_restart(); /* its times are the virtual clock's from now on */
  tl_deadlock_watch_schedules();
  seed_math(L);
  return true;
}

static int schedule(lua_State *L) {
  if (!tl_sched_active()) return 0;
  char spec[128];
  tl_sched_describe(spec, sizeof spec);
  lua_pushstring(L, spec);
  return 1;
}

/* --- threading.check -------------------------------------------------- */

typedef struct run_result {
  bool failed;
  long steps;
} run_result;

/* Runs fn (at index 1) once under cfg.  On failure pushes the message. */
static run_result run_once(lua_State *L, const tl_sched_config *cfg) {
  run_result res = {false, 0};
  long failures = tl_thread_failed_count();
  tl_report_capture();
  tl_sched_set_deadlock_handler(on_run_deadlock, NULL);
  if (!tl_gil_schedule_begin(cfg)) {
    free(tl_report_take_captured());
    luaL_error(L, "threading.check: cannot start a schedule");
  }
  seed_math(L);
  int base = lua_gettop(L);
  lua_pushcfunction(L, tl_report_traceback);
  lua_pushvalue(L, 1);
  int status = lua_pcall(L, 0, 0, base + 1);
  const char *err = status == LUA_OK ? NULL : lua_tostring(L, -1);
  bool left = tl_sched_others_alive();
  if (left) tl_sched_abort();
  tl_sched_drain();
  res.steps = tl_sched_steps();
  tl_gil_schedule_end();
  char *reports = tl_report_take_captured();
  char *deadlock = take_deadlock();
  long thread_errors = tl_thread_failed_count() - failures;
  /* the message: the deadlock first, then fn's error, then the threads' */
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  if (deadlock) luaL_addstring(&b, deadlock);
  else if (status != LUA_OK) {
    luaL_addstring(&b, err ? err : "(error object is not a string)");
    luaL_addchar(&b, '\n');
  }
  if (thread_errors > 0 && reports) luaL_addstring(&b, reports);
  if (left && !deadlock) luaL_addstring(&b, "threads were left alive at the end of the run (join them in fn)\n");
  res.failed = deadlock || status != LUA_OK || thread_errors > 0 || left;
  free(reports);
  free(deadlock);
  luaL_pushresult(&b);
  lua_replace(L, base + 1);
  lua_settop(L, base + (res.failed ? 1 : 0)); /* the message, if it failed */
  return res;
}

static lua_Integer opt_integer_field(lua_State *L, int t, const char *k, lua_Integer def, lua_Integer min) {
  lua_getfield(L, t, k);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return def;
  }
  int whole;
  lua_Integer v = lua_tointegerx(L, -1, &whole);
  if (!whole || v < min)
    luaL_error(L, "threading.check: '%s' must be an integer >= %d", k, (int)min);
  lua_pop(L, 1);
  return v;
}

static int check(lua_State *L) {
  tl_args_check_callable(L, 1);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  else {
    lua_settop(L, 1);
    lua_newtable(L);
  }
  lua_settop(L, 2);
  if (tl_sched_active()) return luaL_error(L, "threading.check: already under a schedule");
  if (tl_runtime_alive_count() > 1)
    return tl_error(L, "RuntimeError", "threading.check needs a single thread alive (%d are)", tl_runtime_alive_count());
  tl_sched_config cfg;
  lua_Integer runs, first_seed;
  bool learn_horizon = false;
  if (lua_getfield(L, 2, "replay") != LUA_TNIL) {
    const char *spec = luaL_checkstring(L, -1);
    if (!tl_sched_parse(spec, &cfg)) return luaL_error(L, "threading.check: bad replay '%s'", spec);
    runs = 1;
    first_seed = (lua_Integer)cfg.seed;
  } else {
    lua_getfield(L, 2, "sched");
    const char *kind = luaL_optstring(L, -1, "pct");
    if (!tl_sched_parse(kind, &cfg) || strchr(kind, ':') != NULL)
      return luaL_error(L, "threading.check: 'sched' must be \"random\", \"pct\" or \"rr\", not '%s'", kind);
    lua_pop(L, 1);
    runs = opt_integer_field(L, 2, "runs", 100, 1);
    first_seed = opt_integer_field(L, 2, "seed", 1, 0);
    cfg.depth = (int)opt_integer_field(L, 2, "depth", 3, 1);
    if (cfg.depth > 16) return luaL_error(L, "threading.check: 'depth' must be 16 at most");
    learn_horizon = cfg.kind == TL_SCHED_PCT;
  }
  lua_pop(L, 1);
  cfg.quantum = (long)opt_integer_field(L, 2, "quantum", cfg.quantum, 1);
  lua_settop(L, 1);
  long horizon = 0;
  for (lua_Integer i = 0; i < runs; i++) {
    cfg.seed = (uint64_t)(first_seed + i);
    if (learn_horizon && horizon > 0) cfg.horizon = horizon; /* the longest run so far, as shuttle */
    run_result r = run_once(L, &cfg);
    if (r.steps > horizon) horizon = r.steps;
    if (r.failed) {
      char spec[128];
      tl_sched_format(&cfg, spec, sizeof spec);
      return luaL_error(L,
                        "threading.check: run %d of %d failed (schedule %s, %d steps):\n%s"
                        "replay: threading.check(fn, {replay = \"%s\"})",
                        (int)(i + 1), (int)runs, spec, (int)r.steps, lua_tostring(L, -1), spec);
    }
  }
  lua_pushinteger(L, runs);
  return 1;
}

void tl_check_open(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"check", check},
      {"schedule", schedule},
      {NULL, NULL},
  };
  luaL_setfuncs(L, fns, 0);
}
