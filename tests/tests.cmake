# Every test runs through ctest:
#   - C tests, a folder per layer (tests/c/LAYER/test_*.c, one executable each)
#   - the busted specs (tests/*_spec.lua) under tlua and under stock lua5.4
#     with threading.so, each with the GIL off and on.
find_program(BUSTED NAMES busted)

file(GLOB TLUA_C_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/c/*/test_*.c)
foreach(src IN LISTS TLUA_C_TESTS)
  get_filename_component(name ${src} NAME_WE)
  get_filename_component(dir ${src} DIRECTORY)
  get_filename_component(layer ${dir} NAME)
  add_executable(${name} ${src} ${TLUA_CORE_OBJECTS})
  target_include_directories(${name} PRIVATE ${LUA_INCLUDE_DIRS} ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(${name} PRIVATE PkgConfig::LUA Threads::Threads m ${CMAKE_DL_LIBS})
  add_test(NAME c/${layer}/${name} COMMAND ${name})
endforeach()

if(BUSTED)
  set(spec_env
      "LUA_CPATH=${CMAKE_BINARY_DIR}/?.so\;\;"
      "LUA_PATH=${CMAKE_SOURCE_DIR}/lua/?.lua\;${CMAKE_SOURCE_DIR}/tests/?.lua\;\;"
      "TLUA=$<TARGET_FILE:tlua>"
      "TLUA_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
  # A sanitized threading.so can be loaded into the uninstrumented lua5.4
  # only with the sanitizer runtime preloaded, and a preloaded runtime is
  # inherited by the shells the specs start, where it crashes: sanitizer
  # builds run the specs under (sanitized) tlua only.
  foreach(gil 0 1)
    add_test(NAME busted/tlua/gil=${gil}
             COMMAND $<TARGET_FILE:tlua> ${BUSTED} ${CMAKE_SOURCE_DIR}/tests
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(busted/tlua/gil=${gil} PROPERTIES
             ENVIRONMENT "${spec_env};TLUA_GIL=${gil};TLUA_HOST=tlua" TIMEOUT 600)
    if(TLUA_SANITIZE)
      continue()
    endif()
    add_test(NAME busted/lua5.4/gil=${gil}
             COMMAND ${LUA_INTERPRETER} ${BUSTED} ${CMAKE_SOURCE_DIR}/tests
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(busted/lua5.4/gil=${gil} PROPERTIES
             ENVIRONMENT "${spec_env};TLUA_GIL=${gil};TLUA_HOST=lua5.4" TIMEOUT 600)
  endforeach()
else()
  message(WARNING "busted not found: the Lua specs will not run")
endif()

# The libFuzzer target for value transfer (clang only): scripts/fuzz builds
# with -DTLUA_FUZZ=ON in its own build directory.
option(TLUA_FUZZ "Build the libFuzzer targets (needs clang)" OFF)
if(TLUA_FUZZ AND EXISTS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz.cmake)
  include(${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz.cmake)
endif()
