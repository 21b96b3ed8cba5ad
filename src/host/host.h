/*
** host.h -- layer 7 of tlua, the top: the tlua command.  host.c is a port
** of Lua's lua.c (options, arg table, LUA_INIT, REPL, messages, exit
** codes); options.c holds what tlua adds: the -X options and the tools
** (--trace, --trace-svg, --stats, --compare, --rusage).
**
** Locking: runs in the main thread only; the kernel does the
** cross-thread work.
*/
#ifndef TLUA_HOST_H
#define TLUA_HOST_H

#include "../module/module.h"

/* tlua's own long options, taken out of argv before lua's are read. */
typedef struct tl_host_tools {
  const char *trace_json, *trace_svg;
  const char *rusage; /* --rusage FILE: CPU seconds written at exit (for --compare) */
  const char *schedule_log; /* --schedule-log FILE ("-": stderr) */
  bool stats;
  bool help;          /* --help: the usage on stdout, then exit */
  int compare;        /* argv index of "--compare", 0 if absent */
  int explore;        /* argv index of "--explore", 0 if absent */
} tl_host_tools;

/* The usage text: lua's options, tlua's, the environment (usage.c). */
void tl_host_print_usage(FILE *f, const char *progname);
/* `tlua -v` and the REPL banner: "tlua 0.2.0 (Lua 5.4.4), GIL off" and
** lua's copyright line; the GIL as TLUA_GIL and the -X gil= options among
** argv[1..n) make it. */
void tl_host_print_version(char **argv, int n);

/* Takes --trace F, --trace-svg F, --stats, --compare, --explore,
** --schedule-log F, --rusage F, --help out of argv, wherever they stand among lua's options before the script;
** returns false (with a message on stderr) on a malformed one. */
bool tl_host_take_tools(int *argc, char **argv, const char *progname, tl_host_tools *tools);
/* Applies one -X option to the process and the main state L; false if it
** is not understood. */
bool tl_host_apply_x(lua_State *L, const char *opt);
/* Before anything runs: can the tools' files be written?  (Else a
** message on stderr and false.) */
bool tl_host_tools_check(const tl_host_tools *tools, const char *progname);
/* Before the script runs: starts what the tools record, and arranges for
** their outputs at every end of the run (tools/outputs.c, signals.c). */
void tl_host_tools_start(const tl_host_tools *tools, const char *progname);
/* At the normal end: writes what the tools recorded (unless an earlier end
** did).  Returns 0, or 1 if something could not be written. */
int tl_host_tools_finish(void);
/* tlua --compare / --explore: pushes threading.compare's (or explore's)
** main and its arguments (the words after the option, and this
** executable's path); returns how many arguments follow the function. */
int tl_host_push_runner(lua_State *L, int argc, char **argv, const tl_host_tools *tools);
/* Under a schedule: the command that replays this run (for reports). */
void tl_host_set_replay(char **argv, int argc, int script);

#endif
