/*
** usage.c -- what tlua says about itself: the usage text (`tlua --help` on
** stdout, or after a bad option on stderr as lua does) and the version
** line of `tlua -v` and of the REPL's banner:
**
**   tlua 0.2.0 (Lua 5.4.4), GIL off
**   Lua 5.4.4  Copyright (C) 1994-2022 Lua.org, PUC-Rio
**
** (the second line is lua's own: Lua's test suite looks for "PUC-Rio").
** tlua's options are one table, TLUA_OPTIONS: a new option adds a row.
**
** Locking: runs in the main thread only.
*/
#include <string.h>

#include "host.h"

/* lua's options, as lua.c lists them. */
static const char LUA_OPTIONS[] =
    "  -e stat   execute string 'stat'\n"
    "  -i        enter interactive mode after executing 'script'\n"
    "  -l mod    require library 'mod' into global 'mod'\n"
    "  -l g=mod  require library 'mod' into global 'g'\n"
    "  -v        show version information\n"
    "  -E        ignore environment variables\n"
    "  -W        turn warnings on\n"
    "  --        stop handling options\n"
    "  -         stop handling options and execute stdin\n";

/* tlua's own, given anywhere before the script. */
static const char TLUA_OPTIONS[] =
    "  -X gil=0|1|legacy     no GIL (default), CPython's GIL, or CPython 3.1's\n"
    "  -X switchinterval=S   GIL switch interval in seconds (default 0.005)\n"
    "  -X switchpoints=cpython|line  where a forced GIL switch may happen\n"
    "  -X checkinterval=N    legacy GIL: VM instructions between checks (100)\n"
    "  -X sched=KIND[:SEED[:DEPTH]]  a deterministic schedule: random, pct or rr\n"
    "  -X quantum=N          under a schedule: preempt every Nth switch point (1)\n"
    "  -X deadlock=on|off    report (and exit 3 on) a deadlock of all threads (on)\n"
    "  --trace FILE.json     record what every thread did (Chrome trace events)\n"
    "  --trace-svg FILE.svg  the same timeline as a picture, with a summary\n"
    "  --stats               per-thread time shares and GIL figures on stderr\n"
    "  --schedule-log FILE   under a schedule: a line per context switch ('-': stderr)\n"
    "  --compare ...         run a script with the GIL off and on, and compare\n"
    "                        (tlua --compare --help lists its options)\n"
    "  --explore N ...       run a script under N schedules, tabulate the outcomes\n"
    "  --help                show this help\n";

static const char ENVIRONMENT[] =
    "Environment (ignored with -E): LUA_INIT, LUA_PATH, LUA_CPATH as for lua;\n"
    "  TLUA_GIL=0|1|legacy, TLUA_DEADLOCK=0|1|on|off, TLUA_SCHED=KIND[:SEED...]\n"
    "  (an -X option wins).\n"
    "SIGQUIT (Ctrl-\\) prints every thread's stack and what it waits for.\n";

void tl_host_print_usage(FILE *f, const char *progname) {
  fprintf(f, "usage: %s [options] [script [args]]\nAvailable options are:\n%s", progname, LUA_OPTIONS);
  fprintf(f, "tlua's own options:\n%s%s", TLUA_OPTIONS, ENVIRONMENT);
  fflush(f);
}

/* The GIL the run will have: the last -X gil= among argv[1..n), else the
** mode set so far (TLUA_GIL). */
static tl_gil_mode gil_after_options(char **argv, int n) {
  tl_gil_mode mode = tl_gil_get_mode();
  for (int i = 1; i < n; i++) {
    const char *x = NULL;
    if (strcmp(argv[i], "-X") == 0 && i + 1 < n) x = argv[++i];
    else if (strncmp(argv[i], "-X", 2) == 0) x = argv[i] + 2;
    else if ((strcmp(argv[i], "-e") == 0 || strcmp(argv[i], "-l") == 0) && i + 1 < n) i++;
    if (x == NULL || strncmp(x, "gil=", 4) != 0) continue;
    if (strcmp(x + 4, "1") == 0 || strcmp(x + 4, "new") == 0) mode = TL_GIL_NEW;
    else if (strcmp(x + 4, "0") == 0 || strcmp(x + 4, "off") == 0) mode = TL_GIL_OFF;
    else if (strcmp(x + 4, "legacy") == 0) mode = TL_GIL_LEGACY;
  }
  return mode;
}

void tl_host_print_version(char **argv, int n) {
  static const char *const modes[] = {"off", "on", "legacy", "scheduled"};
  printf("tlua " TL_VERSION " (" LUA_RELEASE "), GIL %s\n" LUA_COPYRIGHT "\n", modes[gil_after_options(argv, n)]);
  fflush(stdout);
}
