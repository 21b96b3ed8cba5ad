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

/* --stats: keep the figures of ended threads (call before any thread
** starts), and print them all, with the main thread's, on f. */
void tl_stats_keep(void);
void tl_stats_print(FILE *f);

#endif
