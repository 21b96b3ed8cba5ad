/*
** stats.c -- `tlua --stats`: at the end of the run, for the main thread
** and every thread started (in start order, alive or ended), its wall time
** and how it was spent -- running Lua, waiting for the GIL, blocked,
** sleeping, as shares of that wall time -- then its CPU time, how often
** it took the GIL and how often it was made to drop it; then the
** process-wide GIL figures.  Printed on stderr.
**
** The kernel keeps every record once asked to (tl_runtime_keep_ended) and
** counts the shares at each state change (kernel/trace.c, tstate.c),
** traced or not.  A thread's wall time runs from its first state change
** (it holds a state of its own) to its end, or to now.
**
** Locking: the print walks the records under the runtime mutex and takes
** each record's own mutex for its name (a leaf).
*/
#include <stdlib.h>
#include <string.h>

#include "tools.h"

void tl_stats_keep(void) {
  tl_runtime_keep_ended();
  tl_trace_count();
}

typedef struct print_ctx {
  FILE *f;
  int width;    /* of the name column */
  uint64_t now;
} print_ctx;

static void measure(tl_tstate *ts, void *ud) {
  print_ctx *p = (print_ctx *)ud;
  char *name = tl_tstate_name(ts);
  int len = name ? (int)strlen(name) : 1;
  if (len > p->width) p->width = len;
  free(name);
}

static void print_one(tl_tstate *ts, void *ud) {
  print_ctx *p = (print_ctx *)ud;
  uint64_t ns[TL_SHARES];
  uint64_t wall = tl_tstate_shares(ts, p->now, ns);
  char *name = tl_tstate_name(ts);
  fprintf(p->f, "%-*s %8.3f", p->width, name ? name : "?", (double)wall * 1e-9);
  for (int k = 0; k < TL_SHARES; k++)
    fprintf(p->f, " %8.1f%%", wall ? 100.0 * (double)ns[k] / (double)wall : 0.0);
  fprintf(p->f, " %8.3f %9ld %7ld\n", (double)atomic_load(&ts->stats.cpu_ns) * 1e-9,
          atomic_load(&ts->stats.gil_acquisitions), atomic_load(&ts->stats.gil_forced_switches));
  free(name);
}

void tl_stats_print(FILE *f) {
  print_ctx p = {f, 6, tl_trace_now_ns()};
  tl_runtime_foreach_all(measure, &p);
  flockfile(f);
  fprintf(f, "\n%-*s %8s %9s %9s %9s %9s %8s %9s %7s\n", p.width, "thread", "wall s", "Lua", "GIL wait",
          "blocked", "sleeping", "CPU s", "GIL taken", "forced");
  tl_runtime_foreach_all(print_one, &p);
  tl_gil_stats s = tl_gil_get_stats();
  static const char *const modes[] = {"off", "on", "legacy", "scheduled"};
  fprintf(f, "(Lua, GIL wait, blocked, sleeping: shares of the thread's wall time)\n");
  if (tl_clock_is_virtual())
    fprintf(f, "(-X sched: wall times and shares are the scheduler's virtual time, which moves only at\n"
               " sleeps and timeouts and by 1 us per schedule point; \"GIL wait\" is waiting for its turn.\n"
               " The GIL figures below count nothing: the scheduler, not the GIL, picks who runs)\n");
  fprintf(f, "GIL %s, switch interval %.3f s", modes[tl_gil_get_mode()], tl_gil_interval());
  if (tl_gil_get_mode() == TL_GIL_LEGACY)
    fprintf(f, ", check interval %ld: %ld checks, %ld releases, %ld switches", tl_gil_check_interval(),
            s.checks, s.check_releases, s.check_switches);
  fprintf(f, "\nGIL: %ld acquisitions, %ld voluntary releases, %ld forced switches; hand-off latency %.3f ms mean, %.3f ms max\n",
          s.acquisitions, s.voluntary_releases, s.forced_switches,
          s.handoffs ? (double)s.handoff_ns / (double)s.handoffs * 1e-6 : 0.0, (double)s.handoff_max_ns * 1e-6);
  funlockfile(f);
}
