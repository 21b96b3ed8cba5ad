/*
** host.c -- the tlua command: a port of Lua's lua.c, a drop-in for the
** stock lua command (same options, arg table, LUA_INIT, REPL, messages and
** exit codes; messages start with argv[0], "tlua" when run from the PATH)
** whose states have the threading module built in.  What tlua adds (-X
** options, --trace, --stats, --compare...) is in options.c.
**
** TLUA_GIL=0|1|legacy in the environment does the same as -X gil (the option
** wins); -E ignores it, as it ignores LUA_INIT.  At the end of the main chunk, successful or not, tlua runs the
** atexit callbacks (executors finish their work) and waits for every
** non-daemon thread before it exits; daemon threads are abandoned.
**
** Locking: runs in the main thread only; the kernel does the cross-thread
** work.
*/
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"

static const char *progname = "tlua"; /* argv[0] once known, as lua.c does */

static tl_host_tools tools; /* tlua's own options (options.c) */

/* ---------------------------------------------------------------------- */
/* Messages                                                               */
/* ---------------------------------------------------------------------- */

static void print_usage(const char *badoption) {
  if (badoption[1] == 'e' || badoption[1] == 'l' || badoption[1] == 'X')
    fprintf(stderr, "%s: '%s' needs argument\n", progname, badoption);
  else
    fprintf(stderr, "%s: unrecognized option '%s'\n", progname, badoption);
  tl_host_print_usage(stderr, progname);
}

static void message(const char *pname, const char *msg) {
  if (pname) fprintf(stderr, "%s: ", pname);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}

/* Prints the error on top of the stack, if any; returns the status. */
static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    message(progname, lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return status;
}

/* Adds a traceback to the error message (or describes a non-string). */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Calls the function below its narg arguments with the message handler,
** Ctrl-C turned into an "interrupted!" error while it runs. */
static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  tl_interrupt_install(L);
  int status = lua_pcall(L, narg, nres, base);
  tl_interrupt_restore(); /* as lua.c's signal(SIGINT, SIG_DFL) */
  lua_remove(L, base);
  return status;
}

/* ---------------------------------------------------------------------- */
/* Arguments                                                              */
/* ---------------------------------------------------------------------- */

enum { HAS_ERROR = 1, HAS_I = 2, HAS_V = 4, HAS_E = 8, HAS_BIG_E = 16 };

/* Scans the options; sets *first to the script's index (or argc).
** Returns the flags, or HAS_ERROR with *first at the bad option. */
static int collect_args(char **argv, int *first) {
  int flags = 0;
  int i;
  for (i = 1; argv[i] != NULL; i++) {
    *first = i;
    if (argv[i][0] != '-') return flags; /* the script */
    switch (argv[i][1]) {
      case '-':
        if (argv[i][2] != '\0') return HAS_ERROR;
        *first = i + 1;
        return flags;
      case '\0': return flags; /* '-': stdin is the script */
      case 'E':
        if (argv[i][2] != '\0') return HAS_ERROR;
        flags |= HAS_BIG_E;
        break;
      case 'W':
        if (argv[i][2] != '\0') return HAS_ERROR;
        break;
      case 'i':
        flags |= HAS_I; /* -i implies -v */
        /* fall through */
      case 'v':
        if (argv[i][2] != '\0') return HAS_ERROR;
        flags |= HAS_V;
        break;
      case 'e':
        flags |= HAS_E;
        /* fall through */
      case 'l':
      case 'X':
        if (argv[i][2] == '\0') { /* the argument is the next word */
          i++;
          if (argv[i] == NULL || argv[i][0] == '-') return HAS_ERROR;
        }
        break;
      default: return HAS_ERROR;
    }
  }
  *first = i;
  return flags;
}

/* arg[0] is the script, arg[1..] its arguments, arg[-k] what precedes. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script) {
  if (script == argc) script = 0; /* no script: the program name is arg[0] */
  lua_createtable(L, argc - script - 1 >= 0 ? argc - script - 1 : 0, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = docall(L, 0, 0);
  return report(L, status);
}

static int dofile(lua_State *L, const char *name) { return dochunk(L, luaL_loadfile(L, name)); }

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -l mod or -l g=mod: global[g or mod] = require(mod). */
static int dolibrary(lua_State *L, char *spec) {
  const char *eq = strchr(spec, '=');
  const char *mod = eq ? eq + 1 : spec;
  size_t globlen = eq ? (size_t)(eq - spec) : strlen(spec);
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  int status = docall(L, 1, 1);
  if (status == LUA_OK) { /* globals[g] = result */
    lua_pushglobaltable(L);
    lua_pushlstring(L, spec, globlen);
    lua_pushvalue(L, -3);
    lua_settable(L, -3);
    lua_pop(L, 2);
  }
  return report(L, status);
}

static int pushargs(lua_State *L) {
  if (lua_getglobal(L, "arg") != LUA_TTABLE) luaL_error(L, "'arg' is not a table");
  int n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -n - 1);
  return n;
}

static int handle_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL; /* stdin */
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = pushargs(L);
    status = docall(L, n, LUA_MULTRET);
  }
  return report(L, status);
}

/* Runs -e, -l, -W and -X in order; returns false on the first error. */
static bool run_args(lua_State *L, char **argv, int n) {
  for (int i = 1; i < n; i++) {
    int option = argv[i][1];
    switch (option) {
      case 'e':
      case 'l':
      case 'X': {
        char *extra = argv[i] + 2;
        if (*extra == '\0') extra = argv[++i];
        if (option == 'X') {
          if (!tl_host_apply_x(L, extra)) {
            fprintf(stderr, "%s: invalid -X option '%s' (expected gil=0|1|legacy, switchinterval=SECONDS, checkinterval=N, switchpoints=cpython|line, sched=KIND[:SEED[:DEPTH]], quantum=N or deadlock=on|off)\n",
                    progname, extra);
            return false;
          }
        } else if ((option == 'e' ? dostring(L, extra, "=(command line)") : dolibrary(L, extra)) != LUA_OK) {
          return false;
        }
        break;
      }
      case 'W': tl_state_setwarnf(L, true); break;
    }
  }
  return true;
}

static int handle_luainit(lua_State *L) {
  const char *name = "=LUA_INIT_5_4";
  const char *init = getenv(name + 1);
  if (init == NULL) {
    name = "=LUA_INIT";
    init = getenv(name + 1);
  }
  if (init == NULL) return LUA_OK;
  if (init[0] == '@') return dofile(L, init + 1);
  return dostring(L, init, name);
}

/* ---------------------------------------------------------------------- */
/* The interactive loop                                                   */
/* ---------------------------------------------------------------------- */

#define REPL_MAX_INPUT 512

/* Pushes the prompt: _PROMPT / _PROMPT2 if set, else "> " / ">> ". */
static const char *push_prompt(lua_State *L, bool first) {
  if (lua_getglobal(L, first ? "_PROMPT" : "_PROMPT2") == LUA_TNIL) {
    lua_pop(L, 1);
    return lua_pushstring(L, first ? "> " : ">> ");
  }
  const char *p = luaL_tolstring(L, -1, NULL);
  lua_remove(L, -2);
  return p;
}

/* Reads one line into a string on the stack; false at end of input. */
/* Line editing as Debian's lua5.4 has it: GNU readline when the system
** has libreadline.so.8 (loaded at run time, so it is not a build
** dependency), else plain fgets. */
static struct {
  bool tried;
  char *(*readline)(const char *prompt);
  void (*add_history)(const char *line);
} rl;

static void load_readline(void) {
  rl.tried = true;
  void *lib = dlopen("libreadline.so.8", RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) return;
  *(void **)&rl.readline = dlsym(lib, "readline");
  *(void **)&rl.add_history = dlsym(lib, "add_history");
  if (rl.readline == NULL || rl.add_history == NULL) rl.readline = NULL;
}

/* Reads a line with the prompt into buf; false at end of input. */
static bool read_line(const char *prompt, char *buf, size_t size) {
  if (!rl.tried) load_readline();
  if (rl.readline != NULL) {
    char *line = rl.readline(prompt);
    if (line == NULL) return false;
    if (line[0] != '\0') rl.add_history(line);
    snprintf(buf, size, "%s", line);
    free(line);
    return true;
  }
  fputs(prompt, stdout);
  fflush(stdout);
  return fgets(buf, (int)size, stdin) != NULL;
}

static bool push_line(lua_State *L, bool first) {
  char buf[REPL_MAX_INPUT];
  const char *prompt = push_prompt(L, first);
  tl_waiting w;
  tl_wait_begin(&w, "input", NULL);
  bool got = read_line(prompt, buf, sizeof buf);
  tl_wait_end(&w);
  lua_pop(L, 1);
  if (!got) return false;
  size_t len = strlen(buf);
  if (len > 0 && buf[len - 1] == '\n') buf[--len] = '\0';
  if (first && buf[0] == '=') lua_pushfstring(L, "return %s", buf + 1); /* 5.2 habit */
  else lua_pushlstring(L, buf, len);
  return true;
}

static bool incomplete(lua_State *L, int status) {
  if (status != LUA_ERRSYNTAX) return false;
  size_t len;
  const char *msg = lua_tolstring(L, -1, &len);
  static const char eof[] = "<eof>";
  if (len >= sizeof eof - 1 && strcmp(msg + len - (sizeof eof - 1), eof) == 0) {
    lua_pop(L, 1);
    return true;
  }
  return false;
}

/* Tries the line as an expression ("return line"). */
static int add_return(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *ret = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  if (status == LUA_OK) lua_remove(L, -2);
  else lua_pop(L, 2);
  return status;
}

static int multiline(lua_State *L) {
  for (;;) {
    size_t len;
    const char *line = lua_tolstring(L, 1, &len);
    int status = luaL_loadbuffer(L, line, len, "=stdin");
    if (!incomplete(L, status) || !push_line(L, false)) return status;
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

/* Reads a whole statement and compiles it; -1 at end of input. */
static int load_line(lua_State *L) {
  lua_settop(L, 0);
  if (!push_line(L, true)) return -1;
  int status = add_return(L);
  if (status != LUA_OK) status = multiline(L);
  lua_remove(L, 1);
  return status;
}

static void print_results(lua_State *L) {
  int n = lua_gettop(L);
  if (n > 0) {
    luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
    lua_getglobal(L, "print");
    lua_insert(L, 1);
    if (lua_pcall(L, n, 0, 0) != LUA_OK)
      message(progname, lua_pushfstring(L, "error calling 'print' (%s)", lua_tostring(L, -1)));
  }
}

static void do_repl(lua_State *L) {
  const char *old = progname;
  progname = NULL;
  int status;
  while ((status = load_line(L)) != -1) {
    if (status == LUA_OK) status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK) print_results(L);
    else report(L, status);
  }
  lua_settop(L, 0);
  fputs("\n", stdout);
  fflush(stdout);
  progname = old;
}

/* ---------------------------------------------------------------------- */
/* main                                                                   */
/* ---------------------------------------------------------------------- */

/* tlua --compare ... / --explore ...: runs the tool (lua/threading/compare.lua,
** explore.lua) with the arguments that follow. */
static int run_compare(lua_State *L, int argc, char **argv) {
  tl_state_open_main(L);
  tl_module_init_host(L, true);
  int status = docall(L, tl_host_push_runner(L, argc, argv, &tools), 1);
  if (report(L, status) != LUA_OK) return 0;
  lua_pushboolean(L, lua_toboolean(L, -1));
  return 1;
}

static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  if (argv[0] && argv[0][0]) progname = argv[0]; /* as lua.c: messages start with argv[0] */
  if (tools.compare || tools.explore) return run_compare(L, argc, argv);
  int script = argc;
  int flags = collect_args(argv, &script);
  luaL_checkversion(L);
  if (flags == HAS_ERROR) {
    print_usage(argv[script]);
    return 0;
  }
  if (flags & HAS_BIG_E) {
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  tl_state_open_main(L);
  tl_module_init_host(L, !(flags & HAS_BIG_E)); /* -E: no TLUA_* either */
  if (flags & HAS_V) tl_host_print_version(argv, script);
  tl_host_tools_start(&tools, progname);
  create_arg_table(L, argv, argc, script);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (!(flags & HAS_BIG_E) && handle_luainit(L) != LUA_OK) return 0;
  if (!run_args(L, argv, script)) return 0;
  tl_host_set_replay(argv, argc, script);
  if (script < argc && handle_script(L, argv + script) != LUA_OK) return 0;
  if (flags & HAS_I) {
    do_repl(L);
  } else if (script == argc && !(flags & (HAS_E | HAS_V))) {
    if (isatty(0)) {
      tl_host_print_version(argv, script);
      do_repl(L);
    } else {
      dofile(L, NULL);
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}



int main(int argc, char **argv) {
  if (!tl_host_take_tools(&argc, argv, progname, &tools))
    return EXIT_FAILURE;
  if (argv[0] && argv[0][0]) progname = argv[0];
  if (tools.help) {
    tl_host_print_usage(stdout, progname);
    return EXIT_SUCCESS;
  }
  if (!tools.compare && !tools.explore && !tl_host_tools_check(&tools, progname)) return EXIT_FAILURE;
  lua_State *L = tl_state_new();
  if (L == NULL) {
    message(argv[0], "cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  lua_gc(L, LUA_GCSTOP);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  lua_gc(L, LUA_GCRESTART);
  int status = lua_pcall(L, 2, 1, 0);
  int ok = lua_toboolean(L, -1);
  report(L, status);
  /* Like Python: atexit callbacks (executors finish their work), then the
  ** process lives until its non-daemon threads end. */
  lua_settop(L, 0);
  tl_thread_shutdown(L, status == LUA_OK);
  bool written = tl_host_tools_finish() == 0;
  tl_tstate_forget_state();
  lua_close(L);
  return (ok && status == LUA_OK && written) ? EXIT_SUCCESS : EXIT_FAILURE;
}
