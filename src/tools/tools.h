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

/* Starts the watchdog thread once, unless reports are disabled
** (-X deadlock=off, TLUA_DEADLOCK=0: tl_blocked_set_enabled(false)). */
void tl_deadlock_start(void);
/* The report, as text (malloc'd; NULL on out of memory).  Every thread it
** names must be parked (the watchdog's or the scheduler's verdict). */
char *tl_deadlock_report_text(void);
/* Makes a deadlock under a deterministic schedule report and exit 3, with
** the schedule and how to replay it. */
void tl_deadlock_watch_schedules(void);

/* --stats: keep the figures of ended threads (call before any thread
** starts), and print them all, with the main thread's, on f. */
void tl_stats_keep(void);
void tl_stats_print(FILE *f);

#endif
