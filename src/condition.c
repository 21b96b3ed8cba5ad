/*
** condition.c -- placeholder: this primitive is being written (issue tracker).
*/
#include "tlua.h"

void tl_open_condition(lua_State *L) { (void)L; }
