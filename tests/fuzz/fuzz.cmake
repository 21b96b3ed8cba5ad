# libFuzzer targets (included by tests/tests.cmake with -DTLUA_FUZZ=ON).
# Needs clang.  scripts/fuzz configures a build-fuzz/ directory with
# CMAKE_C_FLAGS=-fsanitize=fuzzer-no-link,address so that the core objects
# are instrumented too; the target itself links libFuzzer's main.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "TLUA_FUZZ needs clang (configure with CC=clang)")
endif()

add_executable(fuzz_transfer ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_transfer.c
               ${TLUA_CORE_OBJECTS})
target_include_directories(fuzz_transfer PRIVATE ${LUA_INCLUDE_DIRS} ${CMAKE_SOURCE_DIR}/src)
target_compile_options(fuzz_transfer PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_options(fuzz_transfer PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(fuzz_transfer PRIVATE PkgConfig::LUA Threads::Threads m ${CMAKE_DL_LIBS})
