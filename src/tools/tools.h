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

/* The signals the tools answer (signals.c): SIGQUIT dumps every thread
** (dump.c) and the process goes on; once tl_outputs_start has asked for
** outputs, SIGTERM and a fatal SIGINT write them, then the process dies of
** that signal. */
void tl_signals_start(void);
/* Starts body in a detached thread of the tools' own (the watchdog, the
** signals' thread): all signals blocked, a 1 MiB stack. */
bool tl_signals_thread(void *(*body)(void *));

/* --- what threads are doing, in words (dump.c) ------------------------ */

/* A growing text, written on stderr in one write() (and freed). */
typedef struct tl_text {
  char *buf;
  size_t len, cap;
} tl_text;
void tl_text_add(tl_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tl_text_write(tl_text *t); /* on stderr, with write(2); frees the text */
/* What a thread waits for, from its record's 'waiting_what' and
** 'waiting_obj' (read while it is parked): the object's name ("Lock
** created at x.lua:3", "worker to end" for a join, "Queue \"jobs\"
** (Queue.get)"; empty without one) and its holder, with a reference
** (drop it); 'own': the thread holds it itself. */
typedef struct tl_dump_wait {
  const char *what;
  char object[240];
  tl_tstate *holder;
  bool join, own;
} tl_dump_wait;
void tl_dump_wait_of(tl_tstate *ts, const char *what, tl_object *o, tl_dump_wait *w);
/* "waits for X, held by Y (exited)", "sleeps", "waits in exit"... */
void tl_dump_add_wait(tl_text *t, const tl_dump_wait *w);
/* The thread's name, "(exited)" if it has ended. */
void tl_dump_add_name(tl_text *t, tl_tstate *ts);
/* "\nthread NAME (main):\n" */
void tl_dump_add_header(tl_text *t, tl_tstate *ts);
/* "  holds X" for every tracked object ts holds. */
void tl_dump_add_holdings(tl_text *t, tl_tstate *ts);
/* The Lua traceback of a state nobody runs meanwhile. */
void tl_dump_add_traceback(tl_text *t, lua_State *L);
/* SIGQUIT: every thread, on stderr; the process goes on. */
void tl_dump_threads(void);

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
