/*
** outputs.c -- what the tools write when a run ends, however it ends:
** --trace FILE.json and --trace-svg FILE.svg (the exporters of
** lua/threading/trace.lua), --stats (stats.c, on stderr) and --rusage FILE
** (the run's CPU seconds, for tlua --compare's children).
**
** A run ends at the host's normal end (tl_outputs_write after the wait for
** non-daemon threads, also after an uncaught error), at exit() called
** anywhere (os.exit in any thread, with or without closing its state: an
** atexit handler), at a deadlock report (deadlock.c, before _exit(3)), or
** at SIGTERM or a fatal SIGINT (signals.c, before the process dies of it).
** The first of these writes; any other waits for it and writes nothing.
**
** The exporters are Lua, and at none of these ends is there a Lua state
** the writer may use: the calling thread's is in the middle of a call, or
** closed, or belongs to a parked thread.  So the writer makes a state of
** its own (the standard libraries and threading, without the GIL-aware
** wrappers: it runs no code of the user and needs no GIL).  The trace is
** stopped first, so it ends where the run ended: a thread blocked in a
** deadlock shows blocked up to the end.
**
** The paths are checked before the script runs (tl_outputs_check): each
** is opened for appending, and a file made by the check is removed again,
** so a bad path fails at once, not after the run.
**
** Locking: 'out.mutex' makes the writing happen once; the writer takes the
** runtime mutex inside it (stats.c), and nobody calls tl_outputs_write
** with the runtime mutex or an object mutex held.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "tools.h"

static struct {
  pthread_mutex_t mutex;
  tl_outputs cfg;       /* set before any thread starts, then read-only */
  atomic_bool active;   /* something to write */
  bool done;
  int status;           /* 0, or 1 if something could not be written */
} out = {.mutex = PTHREAD_MUTEX_INITIALIZER};

/* Can path be written?  Checked without changing an existing file. */
static bool check_writable(const char *path, const char *what, const char *progname) {
  struct stat st;
  bool existed = stat(path, &st) == 0;
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd < 0) {
    fprintf(stderr, "%s: cannot write %s: %s: %s\n", progname, what, path, strerror(errno));
    fflush(stderr);
    return false;
  }
  close(fd);
  if (!existed) unlink(path);
  return true;
}

bool tl_outputs_check(const tl_outputs *o) {
  return (o->trace_json == NULL || check_writable(o->trace_json, "the trace", o->progname)) &&
         (o->trace_svg == NULL || check_writable(o->trace_svg, "the trace", o->progname)) &&
         (o->rusage == NULL || check_writable(o->rusage, "the CPU time", o->progname));
}

static void at_exit(void) {
  /* The thread calling exit() may hold the GIL and have a state that is
  ** closed (os.exit(code, true)): let the GIL go, so no switch request
  ** points a signal handler at that state. */
  tl_tstate_forget_state();
  tl_gil_release();
  tl_outputs_write();
}

void tl_outputs_start(const tl_outputs *o) {
  out.cfg = *o;
  bool any = o->trace_json || o->trace_svg || o->rusage || o->stats;
  if (o->trace_json || o->trace_svg) tl_trace_start();
  if (o->stats) tl_stats_keep();
  if (any) {
    atomic_store(&out.active, true);
    atexit(at_exit);
  }
}

bool tl_outputs_wanted(void) { return atomic_load(&out.active); }

/* In protected mode, in the writer's own state: threading.trace's spans,
** written by its writers. */
static int write_trace(lua_State *L) {
  tl_builtins_require(L, "threading.trace");
  int mod = lua_gettop(L);
  lua_getfield(L, mod, "spans");
  lua_call(L, 0, 1);
  int spans = lua_gettop(L);
  const char *paths[2] = {out.cfg.trace_json, out.cfg.trace_svg};
  const char *writers[2] = {"write_json", "write_svg"};
  for (int k = 0; k < 2; k++) {
    if (paths[k] == NULL) continue;
    lua_getfield(L, mod, writers[k]);
    lua_pushstring(L, paths[k]);
    lua_pushvalue(L, spans);
    lua_call(L, 2, 0);
  }
  return 0;
}

/* Returns false (with a message on stderr) if the trace was not written. */
static bool write_traces(void) {
  lua_State *L = tl_state_new();
  if (L == NULL) {
    fprintf(stderr, "%s: cannot write the trace: not enough memory\n", out.cfg.progname);
    return false;
  }
  tl_state_open_tool(L);
  lua_pushcfunction(L, tl_report_traceback);
  lua_pushcfunction(L, write_trace);
  bool ok = lua_pcall(L, 0, 0, -2) == LUA_OK;
  if (!ok) fprintf(stderr, "%s: %s\n", out.cfg.progname, lua_tostring(L, -1));
  tl_state_close(L);
  return ok;
}

static bool write_rusage(void) {
  struct rusage ru;
  FILE *f = fopen(out.cfg.rusage, "w");
  bool ok = f != NULL && getrusage(RUSAGE_SELF, &ru) == 0 &&
            fprintf(f, "%.6f\n", (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                                     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6) > 0;
  if (ok && tl_sched_active()) ok = fprintf(f, "steps %ld\n", tl_sched_steps()) > 0; /* (--explore) */
  if (f != NULL && fclose(f) != 0) ok = false;
  if (!ok) fprintf(stderr, "%s: cannot write the CPU time: %s: %s\n", out.cfg.progname, out.cfg.rusage, strerror(errno));
  return ok;
}

static int write_all(void) {
  bool ok = true;
  tl_trace_stop();
  fflush(stdout); /* the script's output first */
  if (out.cfg.stats) tl_stats_print(stderr);
  if (out.cfg.trace_json || out.cfg.trace_svg) ok = write_traces() && ok;
  if (out.cfg.rusage) ok = write_rusage() && ok;
  fflush(stderr);
  return ok ? 0 : 1;
}

int tl_outputs_write(void) {
  if (!atomic_load(&out.active)) return 0;
  pthread_mutex_lock(&out.mutex);
  if (!out.done) {
    out.done = true;
    out.status = write_all();
  }
  int status = out.status;
  pthread_mutex_unlock(&out.mutex);
  return status;
}
