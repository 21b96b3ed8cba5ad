/*
** stats.c -- `tlua --stats`: for the main thread and every thread that
** ran, its CPU time, its time waiting for the GIL, how often it took the
** GIL and how often it was made to drop it, printed at exit.
**
** The kernel keeps the records of ended threads once asked to
** (tl_runtime_keep_ended); their figures are written by each thread
** itself (kernel.h, tl_tstate_stats).
**
** Locking: the print walks the records under the runtime mutex and takes
** each record's own mutex for its name (a leaf).
*/
#include <stdlib.h>

#include "tools.h"

void tl_stats_keep(void) { tl_runtime_keep_ended(); }

static void print_one(tl_tstate *ts, void *ud) {
  FILE *f = (FILE *)ud;
  char *name = tl_tstate_name(ts);
  fprintf(f, "%-24s %10.3f %10.3f %10.3f %12ld %8ld\n", name ? name : "?",
          (double)atomic_load(&ts->stats.cpu_ns) * 1e-9, (double)atomic_load(&ts->stats.gil_hold_ns) * 1e-9,
          (double)atomic_load(&ts->stats.gil_wait_ns) * 1e-9, atomic_load(&ts->stats.gil_acquisitions),
          atomic_load(&ts->stats.gil_forced_switches));
  free(name);
}

void tl_stats_print(FILE *f) {
  flockfile(f);
  fprintf(f, "\n%-24s %10s %10s %10s %12s %8s\n", "thread", "CPU s", "GIL held s", "GIL wait s",
          "GIL acquired", "forced");
  tl_runtime_foreach_ended(print_one, f);
  tl_gil_stats s = tl_gil_get_stats();
  static const char *const modes[] = {"off", "on", "legacy"};
  fprintf(f, "GIL %s, switch interval %.3f s", modes[tl_gil_get_mode()], tl_gil_interval());
  if (tl_gil_get_mode() == TL_GIL_LEGACY)
    fprintf(f, ", check interval %ld: %ld checks, %ld releases, %ld switches", tl_gil_check_interval(),
            s.checks, s.check_releases, s.check_switches);
  fprintf(f, "\nGIL: %ld acquisitions, %ld voluntary releases, %ld forced switches; hand-off latency %.3f ms mean, %.3f ms max\n",
          s.acquisitions, s.voluntary_releases, s.forced_switches,
          s.handoffs ? (double)s.handoff_ns / (double)s.handoffs * 1e-6 : 0.0, (double)s.handoff_max_ns * 1e-6);
  funlockfile(f);
}
