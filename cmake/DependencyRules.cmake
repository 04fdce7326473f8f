# Dependencies point one way, and the build says so:
#
#   analysis/  <-  drivers/  <-  protocols/  <-  daemon/  <-  tests/, bench/, fuzz/
#
# - Includes: a file under one of the four production folders includes project headers ("layer/...") of its own
#   layer or of the layers to its left only; analysis/ includes nothing of the project but analysis/.
# - Links: a target defined under a folder links targets of its own layer or of the layers to its left only.
#   Targets defined at the top level (insitu_asio, insitu_hdf5: helpers of no layer) are walked through, so a helper
#   cannot carry a link the wrong way.
# - Simulators (insitu_simulator_library: property INSITU_SIMULATOR) are linked only by the targets named in
#   INSITU_SIMULATOR_LINKERS, by other simulators, and by targets under tests/
#   and bench/. A target reached through an allowed linker is not walked further: `insitu` may link the one library
#   that starts the simulators.
#
# insitu_check_dependencies(), called at the end of the top-level CMakeLists, fails the configuration with one line
# per violation ("dependency rule: FILE:LINE: ..." for an include, "dependency rule: A → B: ..." for a link). It also
# adds the target insitu_dependency_rules, which every layered target depends on: it checks the includes again
# whenever a source changes, by running this file as a script:
#   cmake -DINSITU_ROOT=<source dir> -P cmake/DependencyRules.cmake

set(_insitu_rules_file "${CMAKE_CURRENT_LIST_FILE}")
set(_insitu_production_layers analysis drivers protocols daemon)

# The rank of a top-level folder: 0 analysis … 3 daemon, 4 tests and bench; "" for anything else.
function(_insitu_layer_rank folder out_var)
  list(FIND _insitu_production_layers "${folder}" rank)
  if(rank EQUAL -1)
    if(folder STREQUAL "tests" OR folder STREQUAL "bench" OR folder STREQUAL "fuzz")
      set(rank 4)
    else()
      set(rank "")
    endif()
  endif()
  set(${out_var} "${rank}" PARENT_SCOPE)
endfunction()

# The sources and headers of the production folders, relative to root.
function(_insitu_layered_files root out_var)
  set(patterns "")
  foreach(layer IN LISTS _insitu_production_layers)
    foreach(ext IN ITEMS h hpp cpp cc)
      list(APPEND patterns "${root}/${layer}/*.${ext}")
    endforeach()
  endforeach()
  if(CMAKE_SCRIPT_MODE_FILE)
    file(GLOB_RECURSE files LIST_DIRECTORIES false RELATIVE "${root}" ${patterns})
  else()
    # CONFIGURE_DEPENDS: a new file is seen by the next build, not only by the next configuration.
    file(GLOB_RECURSE files LIST_DIRECTORIES false CONFIGURE_DEPENDS RELATIVE "${root}" ${patterns})
  endif()
  list(SORT files)
  set(${out_var} "${files}" PARENT_SCOPE)
endfunction()

# 1-based line of the first occurrence of `text` in the file.
function(_insitu_line_of file text out_var)
  file(READ "${file}" content)
  string(FIND "${content}" "${text}" offset)
  string(SUBSTRING "${content}" 0 ${offset} before)
  string(REGEX REPLACE "[^\n]" "" newlines "${before}")
  string(LENGTH "${newlines}" count)
  math(EXPR line "${count} + 1")
  set(${out_var} ${line} PARENT_SCOPE)
endfunction()

# One "FILE:LINE: ..." line per #include "layer/..." that points to a layer above the file's.
function(insitu_include_violations root out_var)
  set(problems "")
  _insitu_layered_files("${root}" files)
  set(layer_alternatives "analysis|drivers|protocols|daemon|tests|bench")
  foreach(file IN LISTS files)
    string(REGEX MATCH "^[^/]+" layer "${file}")
    _insitu_layer_rank(${layer} rank)
    file(STRINGS "${root}/${file}" includes ENCODING UTF-8
         REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<](${layer_alternatives})/")
    foreach(include IN LISTS includes)
      string(REGEX MATCH "[\"<]((${layer_alternatives})/[^\">]*)" unused "${include}")
      set(included "${CMAKE_MATCH_1}")
      _insitu_layer_rank(${CMAKE_MATCH_2} included_rank)
      if(included_rank GREATER rank)
        _insitu_line_of("${root}/${file}" "${include}" line)
        list(APPEND problems "${file}:${line}: ${layer}/ must not include ${included}")
      endif()
    endforeach()
  endforeach()
  set(${out_var} "${problems}" PARENT_SCOPE)
endfunction()

function(_insitu_targets_below dir out_var)
  get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirectories DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(subdirectory IN LISTS subdirectories)
    _insitu_targets_below("${subdirectory}" more)
    list(APPEND targets ${more})
  endforeach()
  set(${out_var} "${targets}" PARENT_SCOPE)
endfunction()

# The rank of the folder a target is defined in ("" at the top level) and that folder, relative to the project.
function(_insitu_target_layer target rank_var folder_var)
  get_target_property(dir ${target} SOURCE_DIR)
  file(RELATIVE_PATH folder "${PROJECT_SOURCE_DIR}" "${dir}")
  string(REGEX MATCH "^[^/]+" layer "${folder}")
  _insitu_layer_rank("${layer}" rank)
  set(${rank_var} "${rank}" PARENT_SCOPE)
  set(${folder_var} "${folder}" PARENT_SCOPE)
endfunction()

# The project targets a target links ($<LINK_ONLY:x> unwrapped; imported targets and plain library names left out).
function(_insitu_linked_targets target project_targets out_var)
  get_target_property(direct ${target} LINK_LIBRARIES)
  get_target_property(interface ${target} INTERFACE_LINK_LIBRARIES)
  set(linked "")
  foreach(item IN LISTS direct interface)
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" item "${item}")
    if(item IN_LIST project_targets AND NOT item IN_LIST linked)
      list(APPEND linked ${item})
    endif()
  endforeach()
  set(${out_var} "${linked}" PARENT_SCOPE)
endfunction()

function(_insitu_may_link_simulators target rank out_var)
  get_target_property(simulator ${target} INSITU_SIMULATOR)
  if(simulator OR rank EQUAL 4 OR target IN_LIST INSITU_SIMULATOR_LINKERS)
    set(${out_var} TRUE PARENT_SCOPE)
  else()
    set(${out_var} FALSE PARENT_SCOPE)
  endif()
endfunction()

# One "A → B: ..." line per link the wrong way, named by the target that owns it.
function(insitu_link_violations out_var)
  set(problems "")
  _insitu_targets_below("${PROJECT_SOURCE_DIR}" targets)
  foreach(target IN LISTS targets)
    _insitu_target_layer(${target} rank folder)
    get_target_property(type ${target} TYPE)
    if(rank STREQUAL "" OR type STREQUAL "UTILITY")
      continue()  # a top-level helper is walked through from the targets that link it; a custom target links nothing
    endif()
    _insitu_may_link_simulators(${target} ${rank} may_link_simulators)
    string(REGEX MATCH "^[^/]+" layer "${folder}")
    _insitu_linked_targets(${target} "${targets}" queue)
    set(seen "")
    foreach(linked IN LISTS queue)
      set(_insitu_path_${linked} "${target} → ${linked}")
    endforeach()
    while(NOT queue STREQUAL "")
      list(POP_FRONT queue linked)
      if(linked IN_LIST seen)
        continue()
      endif()
      list(APPEND seen ${linked})
      _insitu_target_layer(${linked} linked_rank linked_folder)
      get_target_property(linked_is_simulator ${linked} INSITU_SIMULATOR)
      if(linked_rank STREQUAL "")
        _insitu_linked_targets(${linked} "${targets}" next)
        foreach(n IN LISTS next)
          set(_insitu_path_${n} "${_insitu_path_${linked}} → ${n}")
        endforeach()
        list(APPEND queue ${next})
      elseif(linked_rank GREATER rank)
        string(REGEX MATCH "^[^/]+" linked_layer "${linked_folder}")
        list(APPEND problems
             "${_insitu_path_${linked}}: ${layer}/ must not link ${linked_layer}/ (${folder}/CMakeLists.txt)")
      elseif(linked_is_simulator AND NOT may_link_simulators)
        string(CONCAT problem "${_insitu_path_${linked}}: ${linked} is a simulator, linked only by "
               "INSITU_SIMULATOR_LINKERS, simulators, tests and benches (${folder}/CMakeLists.txt)")
        list(APPEND problems "${problem}")
      endif()
    endwhile()
  endforeach()
  set(${out_var} "${problems}" PARENT_SCOPE)
endfunction()

function(_insitu_report problems)
  list(LENGTH problems count)
  if(count EQUAL 0)
    return()
  endif()
  foreach(problem IN LISTS problems)
    message(NOTICE "dependency rule: ${problem}")
  endforeach()
  message(FATAL_ERROR "${count} dependency rule violation(s), listed above (rules: cmake/DependencyRules.cmake)")
endfunction()

function(insitu_check_dependencies)
  insitu_include_violations("${PROJECT_SOURCE_DIR}" include_problems)
  insitu_link_violations(link_problems)
  set(problems ${include_problems} ${link_problems})
  _insitu_report("${problems}")

  _insitu_layered_files("${PROJECT_SOURCE_DIR}" files)
  list(TRANSFORM files PREPEND "${PROJECT_SOURCE_DIR}/")
  set(stamp "${PROJECT_BINARY_DIR}/insitu_dependency_rules.stamp")
  add_custom_command(OUTPUT "${stamp}"
    COMMAND "${CMAKE_COMMAND}" "-DINSITU_ROOT=${PROJECT_SOURCE_DIR}" -P "${_insitu_rules_file}"
    COMMAND "${CMAKE_COMMAND}" -E touch "${stamp}"
    DEPENDS ${files} "${_insitu_rules_file}"
    COMMENT "Checking that includes point one way (cmake/DependencyRules.cmake)"
    VERBATIM)
  add_custom_target(insitu_dependency_rules ALL DEPENDS "${stamp}")
  _insitu_targets_below("${PROJECT_SOURCE_DIR}" targets)
  foreach(target IN LISTS targets)
    _insitu_target_layer(${target} rank folder)
    if(NOT rank STREQUAL "")
      add_dependencies(${target} insitu_dependency_rules)
    endif()
  endforeach()
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  if(NOT INSITU_ROOT)
    message(FATAL_ERROR "usage: cmake -DINSITU_ROOT=<source dir> -P ${CMAKE_CURRENT_LIST_FILE}")
  endif()
  insitu_include_violations("${INSITU_ROOT}" problems)
  _insitu_report("${problems}")
endif()
