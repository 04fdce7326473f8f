# cmake -DINSITU_SOURCE=<repo> -DWORK=<scratch dir> -DGENERATOR=<generator> -P dependency_rules_test.cmake
# Writes a small layered project that keeps the rules (it must configure) and the same project with one wrong include,
# two wrong links (one through a top-level helper) and one simulator linked from production (each must be named on
# its own line, and the configuration must fail), then checks the build-time script mode on the wrong include.
cmake_minimum_required(VERSION 3.25)

function(write path text)
  file(WRITE "${root}/${path}" "${text}\n")
endfunction()

function(write_fixture name wrong)
  set(root "${WORK}/${name}")
  file(REMOVE_RECURSE "${root}")
  foreach(source analysis/a/a.c drivers/d/d.c drivers/d/sim/s.c protocols/p/p.c daemon/x.c tests/t.c)
    write(${source} "int unused_${name};")
  endforeach()
  write(analysis/a/a.h "#pragma once\n#include \"analysis/a/b.h\"")
  write(analysis/a/b.h "#pragma once")
  write(drivers/d/d.h "#pragma once\n#include \"analysis/a/a.h\"")
  write(protocols/p/p.h "#pragma once\n#include \"drivers/d/d.h\"\n#include \"analysis/a/a.h\"")
  write(daemon/x.h "#pragma once\n#include \"protocols/p/p.h\"\n#include \"drivers/d/sim/s.h\"")
  write(drivers/d/sim/s.h "#pragma once\n#include \"drivers/d/d.h\"")
  write(tests/t.h "#pragma once\n#include \"daemon/x.h\"")
  write(analysis/CMakeLists.txt "insitu_library(fx_analysis SOURCES a/a.c)")
  write(drivers/CMakeLists.txt "insitu_library(fx_driver SOURCES d/d.c DEPS fx_analysis)\nadd_subdirectory(d/sim)")
  write(drivers/d/sim/CMakeLists.txt "insitu_simulator_library(fx_sim SOURCES s.c DEPS fx_driver)")
  write(protocols/CMakeLists.txt "insitu_library(fx_protocol SOURCES p/p.c DEPS fx_driver)")
  # fx_host starts the simulators (allowed); the executable links it.
  write(daemon/CMakeLists.txt "insitu_library(fx_daemon SOURCES x.c DEPS fx_protocol)
insitu_library(fx_host SOURCES x.c DEPS fx_sim)
insitu_executable(fx_exe SOURCES x.c DEPS fx_daemon fx_host)")
  write(tests/CMakeLists.txt "insitu_executable(fx_test SOURCES t.c DEPS fx_sim fx_daemon)")
  set(extra "")
  if(wrong)
    write(analysis/a/a.h "#pragma once\n#include \"analysis/a/b.h\"\n  #  include \"drivers/d/d.h\"  // wrong way")
    write(drivers/d/d.h "#pragma once\n#include <protocols/p/p.h>")
    file(APPEND "${root}/drivers/CMakeLists.txt" "insitu_library(fx_bad_driver SOURCES d/d.c DEPS fx_protocol)\n")
    file(APPEND "${root}/analysis/CMakeLists.txt" "insitu_library(fx_bad_analysis SOURCES a/a.c DEPS fx_helper)\n")
    file(APPEND "${root}/daemon/CMakeLists.txt" "insitu_library(fx_bad_daemon SOURCES x.c DEPS fx_daemon fx_sim)\n")
    set(extra "add_library(fx_helper INTERFACE)\ntarget_link_libraries(fx_helper INTERFACE fx_daemon)")
  endif()
  write(CMakeLists.txt "cmake_minimum_required(VERSION 3.25)
project(fixture LANGUAGES C)
include(\"${INSITU_SOURCE}/cmake/InsituTargets.cmake\")
include(\"${INSITU_SOURCE}/cmake/DependencyRules.cmake\")
${extra}
add_subdirectory(analysis)
add_subdirectory(drivers)
add_subdirectory(protocols)
add_subdirectory(daemon)
add_subdirectory(tests)
set(INSITU_SIMULATOR_LINKERS fx_host)
insitu_check_dependencies()")
endfunction()

function(configure name out_rc out_text)
  execute_process(COMMAND "${CMAKE_COMMAND}" -G "${GENERATOR}" -S "${WORK}/${name}" -B "${WORK}/${name}/build"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(${out_rc} ${rc} PARENT_SCOPE)
  set(${out_text} "${out}${err}" PARENT_SCOPE)
endfunction()

write_fixture(good OFF)
configure(good rc text)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the fixture that keeps the rules does not configure:\n${text}")
endif()

write_fixture(wrong ON)
configure(wrong rc text)
if(rc EQUAL 0)
  message(FATAL_ERROR "the fixture that breaks the rules configured:\n${text}")
endif()
string(REGEX MATCHALL "dependency rule: [^\n]*" lines "${text}")
set(expected
  "dependency rule: analysis/a/a.h:3: analysis/ must not include drivers/d/d.h"
  "dependency rule: drivers/d/d.h:2: drivers/ must not include protocols/p/p.h"
  "dependency rule: fx_bad_analysis → fx_helper → fx_daemon: analysis/ must not link daemon/ (analysis/CMakeLists.txt)"
  "dependency rule: fx_bad_driver → fx_protocol: drivers/ must not link protocols/ (drivers/CMakeLists.txt)"
  "dependency rule: fx_bad_daemon → fx_sim: fx_sim is a simulator, linked only by INSITU_SIMULATOR_LINKERS, simulators, tests and benches (daemon/CMakeLists.txt)")
list(SORT lines)
list(SORT expected)
if(NOT lines STREQUAL expected)
  string(REPLACE ";" "\n  " got "${lines}")
  string(REPLACE ";" "\n  " want "${expected}")
  message(FATAL_ERROR "the violations reported are\n  ${got}\nnot\n  ${want}\nfull output:\n${text}")
endif()
if(NOT text MATCHES "5 dependency rule violation")
  message(FATAL_ERROR "no count of the violations:\n${text}")
endif()

# The build-time check: the same rules on the includes, run as a script.
execute_process(COMMAND "${CMAKE_COMMAND}" "-DINSITU_ROOT=${WORK}/wrong" -P "${INSITU_SOURCE}/cmake/DependencyRules.cmake"
                RESULT_VARIABLE rc ERROR_VARIABLE text)
if(rc EQUAL 0 OR NOT text MATCHES "dependency rule: analysis/a/a.h:3: analysis/ must not include drivers/d/d.h")
  message(FATAL_ERROR "script mode did not fail on the wrong include (exit ${rc}):\n${text}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" "-DINSITU_ROOT=${WORK}/good" -P "${INSITU_SOURCE}/cmake/DependencyRules.cmake"
                RESULT_VARIABLE rc ERROR_VARIABLE text)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "script mode failed on the fixture that keeps the rules:\n${text}")
endif()
file(REMOVE_RECURSE "${WORK}")
