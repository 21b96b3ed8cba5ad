/*
** options.c -- what the tlua command adds to lua's: the -X options
**
**   -X gil=0|1|legacy      GIL off (default, threads run in parallel), on
**                          (CPython >= 3.2's) or CPython <= 3.1's
**   -X switchinterval=S    seconds a waiter lets the holder run (0.005)
**   -X checkinterval=N     legacy GIL: VM instructions between checks (100)
**   -X switchpoints=cpython|line  where a forced switch may happen
**   -X sched=KIND[:SEED[:DEPTH]]   a deterministic schedule (random, pct, rr)
**   -X quantum=N           under a schedule: preempt every Nth switch point
**   -X deadlock=off|on     the deadlock report (tools/deadlock.c)
**
** and the tools, given anywhere before the script:
**
**   --trace FILE.json      record what every thread did (kernel/trace.c),
**                          written in Chrome's trace-event format
**   --trace-svg FILE.svg   the same timeline as a picture
**   --stats                per-thread CPU time and GIL figures on stderr
**   --compare ...          run a script with the GIL on and off and compare
**                          (lua/threading/compare.lua)
**   --rusage FILE          CPU seconds of the run (compare.lua's children)
**   --help                 the usage (usage.c), on stdout
**
** Locking: runs in the main thread only.
*/
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"

bool tl_host_take_tools(int *argc, char **argv, const char *progname, tl_host_tools *tools) {
  int out = 1, i = 1;
  for (; i < *argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--compare") == 0 || strcmp(a, "--explore") == 0) {
      *(a[2] == 'c' ? &tools->compare : &tools->explore) = out;
      argv[out++] = argv[i];
      for (i++; i < *argc; i++) argv[out++] = argv[i];
      break;
    } else if (strcmp(a, "--trace") == 0 || strcmp(a, "--trace-svg") == 0 || strcmp(a, "--rusage") == 0 ||
               strcmp(a, "--schedule-log") == 0) {
      if (i + 1 >= *argc) {
        fprintf(stderr, "%s: '%s' needs a file name\n", progname, a);
        return false;
      }
      const char **slot = a[2] == 'r' ? &tools->rusage : a[2] == 's' ? &tools->schedule_log
                          : a[7] ? &tools->trace_svg : &tools->trace_json;
      *slot = argv[++i];
    } else if (strcmp(a, "--stats") == 0) {
      tools->stats = true;
    } else if (strcmp(a, "--help") == 0) {
      tools->help = true;
    } else if (a[0] == '-' && strchr("elX", a[1]) != NULL && a[1] != '\0' && a[2] == '\0') {
      argv[out++] = argv[i]; /* a lua option whose argument is the next word */
      if (i + 1 < *argc) argv[out++] = argv[++i];
    } else if (a[0] == '-' && a[1] != '\0' && strcmp(a, "--") != 0) {
      argv[out++] = argv[i]; /* another lua option */
    } else {
      break; /* the script (or "-", "--"): the rest is the script's */
    }
  }
  for (; i < *argc; i++) argv[out++] = argv[i];
  argv[out] = NULL;
  *argc = out;
  return true;
}

bool tl_host_apply_x(lua_State *L, const char *opt) {
  if (strcmp(opt, "gil=1") == 0 || strcmp(opt, "gil=new") == 0) tl_gil_set_mode(TL_GIL_NEW);
  else if (strcmp(opt, "gil=0") == 0 || strcmp(opt, "gil=off") == 0) tl_gil_set_mode(TL_GIL_OFF);
  else if (strcmp(opt, "gil=legacy") == 0) tl_gil_set_mode(TL_GIL_LEGACY);
  else if (strncmp(opt, "switchinterval=", 15) == 0) {
    char *end;
    double s = strtod(opt + 15, &end);
    if (*end != '\0' || !(s > 0) || s > TL_TIMEOUT_MAX) return false;
    tl_gil_set_interval(s);
  } else if (strncmp(opt, "checkinterval=", 14) == 0) {
    char *end;
    long n = strtol(opt + 14, &end, 10);
    if (*end != '\0' || opt[14] == '\0' || n < 1 || n > 0x7fffffff) return false;
    tl_gil_set_check_interval(n);
  } else if (strncmp(opt, "sched=", 6) == 0) {
    if (!tl_module_schedule(L, opt + 6)) return false;
  } else if (strncmp(opt, "quantum=", 8) == 0) {
    char *end;
    long n = strtol(opt + 8, &end, 10);
    if (*end != '\0' || opt[8] == '\0' || n < 1) return false;
    tl_sched_set_quantum(n);
  } else if (strcmp(opt, "switchpoints=cpython") == 0) {
    tl_switchpoint_set_mode(TL_SWITCHPOINTS_CPYTHON);
  } else if (strcmp(opt, "switchpoints=line") == 0) {
    tl_switchpoint_set_mode(TL_SWITCHPOINTS_LINE);
  } else if (strcmp(opt, "deadlock=off") == 0 || strcmp(opt, "deadlock=0") == 0) {
    tl_blocked_set_enabled(false);
  } else if (strcmp(opt, "deadlock=on") == 0 || strcmp(opt, "deadlock=1") == 0) {
    tl_blocked_set_enabled(true);
  } else
    return false;
  tl_switchpoint_prepare_state(L); /* the legacy GIL's check, or none */
  return true;
}

/* The outputs of the tools, as tools/outputs.c takes them. */
static tl_outputs outputs_of(const tl_host_tools *tools, const char *progname) {
  tl_outputs o = {tools->trace_json, tools->trace_svg, tools->rusage, tools->stats, progname};
  return o;
}

bool tl_host_tools_check(const tl_host_tools *tools, const char *progname) {
  tl_outputs o = outputs_of(tools, progname);
  return tl_outputs_check(&o);
}

void tl_host_tools_start(const tl_host_tools *tools, const char *progname) {
  tl_outputs o = outputs_of(tools, progname);
  tl_outputs_start(&o);
  tl_signals_start();
  if (tools->schedule_log) {
    bool to_stderr = strcmp(tools->schedule_log, "-") == 0;
    FILE *f = to_stderr ? stderr : fopen(tools->schedule_log, "w");
    if (f == NULL) fprintf(stderr, "tlua: cannot write the schedule log '%s'\n", tools->schedule_log);
    else tl_sched_set_log(f); /* (closed by the exit) */
  }
}

int tl_host_tools_finish(void) { return tl_outputs_write(); }

void tl_host_set_replay(char **argv, int argc, int script) {
  if (!tl_sched_active()) return;
  char spec[128], buf[1024];
  tl_sched_describe(spec, sizeof spec);
  size_t n = (size_t)snprintf(buf, sizeof buf, "tlua -X sched=%s", spec);
  for (int i = 1; i < script && n < sizeof buf; i++) { /* the other -X options shape the run too */
    const char *a = argv[i];
    bool takes_next = a[0] == '-' && strchr("elX", a[1]) != NULL && a[1] != '\0' && a[2] == '\0';
    const char *value = takes_next ? (i + 1 < script ? argv[++i] : "") : a + 2;
    if (a[0] == '-' && a[1] == 'X' && strncmp(value, "sched=", 6) != 0)
      n += (size_t)snprintf(buf + n, sizeof buf - n, " -X %s", value);
  }
  for (int i = script; i < argc && n < sizeof buf; i++) n += (size_t)snprintf(buf + n, sizeof buf - n, " %s", argv[i]);
  tl_sched_set_replay(buf);
}

int tl_host_push_runner(lua_State *L, int argc, char **argv, const tl_host_tools *tools) {
  int at = tools->compare ? tools->compare : tools->explore;
  tl_builtins_require(L, tools->compare ? "threading.compare" : "threading.explore");
  lua_getfield(L, -1, "main");
  lua_remove(L, -2);
  lua_createtable(L, argc, 0);
  for (int i = at + 1; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - at);
  }
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = '\0';
  lua_pushstring(L, n > 0 ? exe : "tlua");
  return 2;
}
