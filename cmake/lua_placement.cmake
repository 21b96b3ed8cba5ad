# cmake/lua_placement.cmake -- where Lua's own code sits in tlua.
#
# The speed of a CPU-bound Lua loop depends on where the interpreter's
# code lands relative to cache-line and page boundaries: the same
# instructions (callgrind counts them equal) ran fib(32) 8% slower in a
# tlua whose luaV_execute started on a 64-byte boundary than in Debian's
# lua5.4, and the loops kernel 4% faster.  Linked as is, Lua's code (the
# archive, linked first) sits right after the PLT, so every C function
# tlua starts to import moved it by 16 bytes.  tlua_place_lua() pins it:
# a padding section before .text puts luaV_execute at the page offset it
# has in the stock interpreter, TLUA_LUA_VM_PAGE_OFFSET (0x3a0 in Debian
# 12's lua5.4 5.4.4), whatever tlua's own code becomes, so that the
# single-thread figures compare the same placement of the same code.
#
# How: a probe links the archive with the padding section ending on a page
# boundary and reads luaV_execute's page offset there ('nm'); the padding
# then ends that much further on.  What precedes Lua's code in .text (the
# C runtime's start-up code, the archive's cold parts) is the same in the
# probe and in tlua, whose own code follows Lua's and has no cold or
# start-up sections (see add_compile_options in CMakeLists.txt).  Where
# the probe fails (another linker, a stripped archive), nothing is pinned.

set(TLUA_LUA_VM_PAGE_OFFSET 0x3a0 CACHE STRING
    "Page offset of luaV_execute in tlua (that of Debian's lua5.4); empty: not pinned")

function(tlua_place_lua target archive)
  if(TLUA_LUA_VM_PAGE_OFFSET STREQUAL "" OR NOT CMAKE_NM)
    return()
  endif()
  set(dir ${CMAKE_BINARY_DIR}/lua_placement)
  set(pad "SECTIONS\n{\n  .tlua_lua_place (READONLY) : { BYTE(0xcc); . = ALIGN(0x1000); . = . + PAD; }\n}\nINSERT BEFORE .text;\n")
  string(REPLACE "PAD" "0" probe_script "${pad}")
  file(WRITE ${dir}/probe.ld "${probe_script}")
  file(WRITE ${dir}/probe.c "int main(void) { return 0; }\n")
  set(libs -lm)
  foreach(lib ${CMAKE_DL_LIBS})
    list(APPEND libs -l${lib})
  endforeach()
  execute_process(
    COMMAND ${CMAKE_C_COMPILER} -O0 -o ${dir}/probe "-Wl,-T,${dir}/probe.ld"
            -Wl,--whole-archive ${archive} -Wl,--no-whole-archive ${dir}/probe.c ${libs}
    RESULT_VARIABLE failed OUTPUT_QUIET ERROR_QUIET)
  if(NOT failed)
    execute_process(COMMAND ${CMAKE_NM} ${dir}/probe OUTPUT_VARIABLE symbols RESULT_VARIABLE failed ERROR_QUIET)
  endif()
  if(failed OR NOT symbols MATCHES "([0-9a-f]+) [tT] luaV_execute\n")
    message(STATUS "Lua's code in tlua: not pinned (the probe link or nm failed)")
    return()
  endif()
  math(EXPR at "0x${CMAKE_MATCH_1} % 4096")
  math(EXPR shift "((${TLUA_LUA_VM_PAGE_OFFSET} - ${at}) % 4096 + 4096) % 4096" OUTPUT_FORMAT HEXADECIMAL)
  string(REPLACE "PAD" "${shift}" script "${pad}")
  file(WRITE ${dir}/place.ld "${script}")
  target_link_options(${target} PRIVATE "LINKER:-T,${dir}/place.ld")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${dir}/place.ld)
  message(STATUS "Lua's code in tlua: luaV_execute at page offset ${TLUA_LUA_VM_PAGE_OFFSET}")
endfunction()
