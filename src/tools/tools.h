/*
** tools.h -- layer 5 of tlua: the instruments that watch the threads from
** outside: the deadlock watchdog and its report (deadlock.c), and the
** per-thread figures of --stats (stats.c).  The --trace recorder itself is
** in the kernel (it must be on every state change); its exporters are Lua
** (lua/threading/trace.lua).
**
** It calls the layers below.  Locking: see each file; the watchdog takes
** object mutexes only while every other thread is parked for good.
*/
#ifndef TLUA_TOOLS_H
#define TLUA_TOOLS_H

#include "../kinds/kinds.h"

/* What the run writes when it ends, however it ends (outputs.c). */
typedef struct tl_outputs {
  const char *trace_json, *trace_svg; /* --trace, --trace-svg */
  const char *rusage;                 /* --rusage: the run's CPU seconds */
  bool stats;                         /* --stats, on stderr */
  const char *progname;               /* messages start with it */
} tl_outputs;
/* Before the script runs: can every file be written?  (Else a message on
** stderr and false.) */
bool tl_outputs_check(const tl_outputs *o);
/* Before the script runs: starts the recording and arranges the writing
** at exit() (an atexit handler) as well. */
void tl_outputs_start(const tl_outputs *o);
bool tl_outputs_wanted(void);
/* Writes everything asked, once: the first caller writes, any later one
** waits for it.  Returns 0, or 1 if something could not be written (with
** a message on stderr).  No runtime or object mutex may be held. */
int tl_outputs_write(void);

/* The signals the tools answer (signals.c): once tl_outputs_start has
** asked for outputs, SIGTERM and a fatal SIGINT write them, then the
** process dies of that signal. */
void tl_signals_start(void);

/* Starts the watchdog thread once, unless reports are disabled
** (-X deadlock=off, TLUA_DEADLOCK=0: tl_blocked_set_enabled(false)). */
void tl_deadlock_start(void);

/* --stats: keep the figures of ended threads (call before any thread
** starts), and print them all, with the main thread's, on f. */
void tl_stats_keep(void);
void tl_stats_print(FILE *f);

#endif
