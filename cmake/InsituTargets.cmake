# Project-wide conventions for our own targets (never applied to dependencies).
# Includes are rooted at the repository top: #include "drivers/linkam/codec.hpp".

# GCC is the compiler that gates (-Werror); clang builds only the fuzz and sanitizer presets, with its own flags.
function(insitu_warnings target)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wnon-virtual-dtor -Wshadow=local)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wnon-virtual-dtor)
  endif()
endfunction()

# insitu_library(NAME SOURCES ... [DEPS ...])
function(insitu_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  insitu_warnings(${name})
endfunction()

# insitu_simulator_library(NAME SOURCES ... [DEPS ...]): a simulated instrument. Marked INSITU_SIMULATOR, so that
# the dependency rules (cmake/DependencyRules.cmake) let only INSITU_SIMULATOR_LINKERS, tests and benches link it.
function(insitu_simulator_library name)
  insitu_library(${name} ${ARGN})
  set_target_properties(${name} PROPERTIES INSITU_SIMULATOR ON)
endfunction()

# insitu_executable(NAME SOURCES ... [DEPS ...])
function(insitu_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  insitu_warnings(${name})
endfunction()

# Sanitizer builds run 2-10x slower: their presets scale every test's TIMEOUT, the normal build keeps its own.
set(INSITU_TEST_TIMEOUT_FACTOR 1 CACHE STRING "Multiplier of every test's TIMEOUT (the sanitizer presets set 4)")

# insitu_scaled_timeout(OUT seconds): the TIMEOUT to give a test that needs `seconds` in the normal build.
function(insitu_scaled_timeout out seconds)
  math(EXPR scaled "${seconds} * ${INSITU_TEST_TIMEOUT_FACTOR}")
  set(${out} ${scaled} PARENT_SCOPE)
endfunction()

# insitu_test(NAME LABEL unit|sim|slow SOURCES ... [DEPS ...] [SERIAL])
# One GoogleTest binary per area; every TEST becomes its own ctest with the label. SERIAL: ctest runs nothing
# beside it (a whole experiment at accelerated time, whose timing a second busy test would distort).
function(insitu_test name)
  cmake_parse_arguments(ARG "SERIAL" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  set(run_serial FALSE)
  if(ARG_SERIAL)
    set(run_serial TRUE)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  insitu_scaled_timeout(ARG_TIMEOUT ${ARG_TIMEOUT})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    INSITU_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    INSITU_BINARY_DIR="${PROJECT_BINARY_DIR}")
  insitu_warnings(${name})
  gtest_discover_tests(${name}
    PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT} RUN_SERIAL ${run_serial}
    DISCOVERY_TIMEOUT 60)
endfunction()
