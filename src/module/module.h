/*
** module.h -- layer 6 of tlua: the `threading` module as Lua sees it,
** assembled from the kinds (module.c), its environment variables
** (env.c), plus the functions that belong to no kind: the GIL controls
** (gil_api.c), sleep and the clock (time_api.c), the internal helpers of
** the Lua parts (internals.c) and the user's trace events (trace_api.c).
**
** It calls the layers below; only the host is above it.  Locking: none of
** its own but the registry of threading._once (internals.c, a leaf).
*/
#ifndef TLUA_MODULE_H
#define TLUA_MODULE_H

#include "../tools/tools.h"

int luaopen_threading(lua_State *L);
/* The tlua host's start: the runtime with L as the main state, the
** settings of the environment (TLUA_GIL, TLUA_DEADLOCK) unless use_env is
** false (-E), the deadlock watchdog.  (Inside stock lua5.4 the first
** luaopen_threading does the same.) */
void tl_module_init_host(lua_State *L, bool use_env);

/* The environment (env.c): check raises "invalid TLUA_GIL 'on' (expected
** 0, 1 or legacy)" for a bad TLUA_GIL, TLUA_DEADLOCK or TLUA_SCHED;
** apply sets what they say.  tl_env_sched: is the value a schedule? */
void tl_env_check(lua_State *L);
void tl_env_apply(lua_State *L);
bool tl_env_sched(const char *value);

/* Each adds its functions to the module table on top. */
void tl_gil_api_open(lua_State *L);
void tl_time_api_open(lua_State *L);
void tl_internals_open(lua_State *L);
void tl_trace_api_open(lua_State *L);
void tl_check_open(lua_State *L);
/* Puts the whole process under one deterministic schedule ("pct:41:3":
** -X sched, TLUA_SCHED); false if the spec is bad.  L: the main state. */
bool tl_module_schedule(lua_State *L, const char *spec);

#endif
