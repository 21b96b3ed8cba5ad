/*
** env.c -- tlua's environment variables, read once per process by the
** first state that opens the module (tlua's main state unless -E, or stock
** lua5.4's first require "threading"):
**
**   TLUA_GIL=0|1|legacy        as -X gil= (an option given later wins)
**   TLUA_DEADLOCK=0|1|on|off   as -X deadlock=
**   TLUA_SCHED=random[:SEED]|pct[:SEED[:DEPTH]]|rr   as -X sched= (check.c)
**
** tl_env_check raises an error naming the variable for a value outside
** these, before the runtime starts (as CPython rejects a bad PYTHON_GIL);
** tl_env_apply then sets what they say:
**   invalid TLUA_GIL 'on' (expected 0, 1 or legacy)
** An empty variable counts as unset.
**
** Locking: none; runs once, before any other thread exists.
*/
#include <stdlib.h>
#include <string.h>

#include "module.h"

/* Is s one of the words of the NULL-ended list? */
static int word_index(const char *s, const char *const words[]) {
  for (int i = 0; words[i] != NULL; i++)
    if (strcmp(s, words[i]) == 0) return i;
  return -1;
}

/* The variable's value, NULL if unset or empty. */
static const char *variable(const char *name) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' ? v : NULL;
}

static void reject(lua_State *L, const char *name, const char *value, const char *expected) {
  luaL_error(L, "invalid %s '%s' (expected %s)", name, value, expected);
}

/* TLUA_SCHED: the scheduler's own grammar (kernel/sched.c), as -X sched=. */
bool tl_env_sched(const char *value) {
  tl_sched_config cfg;
  return tl_sched_parse(value, &cfg);
}

static const char *const gil_words[] = {"0", "1", "legacy", NULL};
static const char *const deadlock_words[] = {"0", "off", "1", "on", NULL};

void tl_env_check(lua_State *L) {
  const char *gil = variable("TLUA_GIL");
  const char *deadlock = variable("TLUA_DEADLOCK");
  const char *sched = variable("TLUA_SCHED");
  if (gil && word_index(gil, gil_words) < 0) reject(L, "TLUA_GIL", gil, "0, 1 or legacy");
  if (deadlock && word_index(deadlock, deadlock_words) < 0)
    reject(L, "TLUA_DEADLOCK", deadlock, "0, 1, on or off");
  if (sched && !tl_env_sched(sched)) reject(L, "TLUA_SCHED", sched, "random[:SEED], pct[:SEED[:DEPTH]] or rr");
}

void tl_env_apply(lua_State *L) {
  const char *gil = variable("TLUA_GIL");
  const char *deadlock = variable("TLUA_DEADLOCK");
  int g = gil ? word_index(gil, gil_words) : -1;
  if (deadlock && word_index(deadlock, deadlock_words) >= 0)
    tl_blocked_set_enabled(word_index(deadlock, deadlock_words) >= 2);
  if (g >= 0) tl_gil_set_mode(g == 0 ? TL_GIL_OFF : g == 1 ? TL_GIL_NEW : TL_GIL_LEGACY);
  tl_switchpoint_prepare_state(L);
  const char *sched = variable("TLUA_SCHED");
  if (sched != NULL) tl_module_schedule(L, sched); /* (checked by tl_env_check) */
}
