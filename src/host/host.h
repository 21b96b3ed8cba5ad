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
  int compare;        /* argv index of "--compare", 0 if absent */
  int explore;        /* argv index of "--explore", 0 if absent */
} tl_host_tools;

/* Takes --trace F, --trace-svg F, --stats, --compare, --rusage F out of
** argv, wherever they stand among lua's options before the script;
** returns false (with a message on stderr) on a malformed one. */
bool tl_host_take_tools(int *argc, char **argv, const char *progname, tl_host_tools *tools);
/* Applies one -X option to the process and the main state L; false if it
** is not understood. */
bool tl_host_apply_x(lua_State *L, const char *opt);
/* Before the script runs: starts what the tools record. */
void tl_host_tools_start(const tl_host_tools *tools);
/* At exit: writes what the tools recorded.  Returns LUA_OK, or an error
** status with the message on top of L (the caller reports it). */
int tl_host_tools_finish(lua_State *L, const tl_host_tools *tools);
/* tlua --compare / --explore: pushes threading.compare's (or explore's)
** main and its arguments (the words after the option, and this
** executable's path); returns how many arguments follow the function. */
int tl_host_push_runner(lua_State *L, int argc, char **argv, const tl_host_tools *tools);
/* Under a schedule: the command that replays this run (for reports). */
void tl_host_set_replay(char **argv, int argc, int script);

#endif
