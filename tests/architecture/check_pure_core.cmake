# The functional core takes no threads, no clocks and no actor or I/O
# framework: time comes in as an argument, effects go out as values. This
# script enforces that on the source text.
#
#   cmake -DROOT=<repo> -DDIRS="src/supervisor" [-DRULES=pure] -P check_pure_core.cmake
#   cmake -DROOT=<repo> -DDIRS="src/dag;src/store" -DRULES=frameworks -P check_pure_core.cmake
#
# RULES=pure (default) forbids everything below; RULES=frameworks forbids only
# CAF and Asio (for folders that may own a thread, like the store's writer,
# but must stay free of the actor and socket layers).
#
# Checked: every .hpp/.cpp under DIRS, and every project header they include
# with quotes (followed transitively through ROOT/include and ROOT/src), so a
# header of ours cannot smuggle the forbidden things in. Standard headers are
# not followed: libstdc++ headers include each other (<memory> reaches the
# atomics), which is no concern of the core.
#
# Forbidden:
#   - includes of CAF (caf/...), Asio (asio.hpp, asio/..., boost/asio...)
#   - includes of <thread>, <mutex>, <shared_mutex>, <condition_variable>,
#     <future>, <stop_token>, <semaphore>, <latch>, <barrier>
#   - include of the runtime's clock helpers (common/clock.hpp)
#   - reading a clock: std::chrono::system_clock / steady_clock /
#     high_resolution_clock / utc_clock / file_clock / ... (any *_clock),
#     spelled with or without the std::chrono:: prefix
# Allowed: <chrono> durations (a duration is a value, not a clock read).
# Folders in DIRS that do not exist yet are skipped by name in the output.
cmake_minimum_required(VERSION 3.25)
if(NOT RULES)
  set(RULES pure)
endif()

if(NOT ROOT OR NOT DIRS)
  message(FATAL_ERROR "usage: cmake -DROOT=<repo> -DDIRS=<dir;dir> -P check_pure_core.cmake")
endif()

set(framework_includes "caf/.*|asio|asio\\.hpp|asio/.*|boost/asio.*")
if(NOT RULES OR RULES STREQUAL "pure")
  set(forbidden_include_regex
      "^(${framework_includes}|thread|mutex|shared_mutex|condition_variable|future|stop_token|semaphore|latch|barrier|common/clock\\.hpp)$")
  set(clock_regex "(^|[^A-Za-z0-9_])([a-z_]+_clock)([^A-Za-z0-9_]|$)")
elseif(RULES STREQUAL "frameworks")
  set(forbidden_include_regex "^(${framework_includes})$")
  set(clock_regex "")
else()
  message(FATAL_ERROR "RULES must be pure or frameworks, not ${RULES}")
endif()

set(queue "")
foreach(dir IN LISTS DIRS)
  if(NOT IS_DIRECTORY "${ROOT}/${dir}")
    message(STATUS "not present (skipped): ${dir}")
    continue()
  endif()
  file(GLOB_RECURSE sources "${ROOT}/${dir}/*.hpp" "${ROOT}/${dir}/*.cpp" "${ROOT}/${dir}/*.h")
  list(APPEND queue ${sources})
endforeach()

set(seen "")
set(violations 0)
while(queue)
  list(POP_FRONT queue file)
  if(file IN_LIST seen)
    continue()
  endif()
  list(APPEND seen "${file}")
  file(RELATIVE_PATH shown "${ROOT}" "${file}")
  file(STRINGS "${file}" lines)
  set(line_number 0)
  foreach(line IN LISTS lines)
    math(EXPR line_number "${line_number} + 1")
    # Comments may name what is forbidden (they explain why).
    string(REGEX REPLACE "//.*$" "" code "${line}")
    if(code MATCHES "^[ \t]*#[ \t]*include[ \t]*([<\"])([^>\"]+)[>\"]")
      set(kind "${CMAKE_MATCH_1}")
      set(header "${CMAKE_MATCH_2}")
      if(header MATCHES "${forbidden_include_regex}")
        message("${shown}:${line_number}: includes <${header}>")
        math(EXPR violations "${violations} + 1")
      elseif(kind STREQUAL "\"")
        foreach(base "${ROOT}/include" "${ROOT}/src")
          if(EXISTS "${base}/${header}")
            list(APPEND queue "${base}/${header}")
          endif()
        endforeach()
      endif()
    elseif(clock_regex AND code MATCHES "${clock_regex}")
      message("${shown}:${line_number}: reads a clock (${CMAKE_MATCH_2})")
      math(EXPR violations "${violations} + 1")
    endif()
  endforeach()
endwhile()

list(LENGTH seen checked)
if(violations GREATER 0)
  message(FATAL_ERROR "architecture check (${RULES}): ${violations} violation(s) in ${checked} file(s)")
endif()
message(STATUS "architecture check (${RULES}): ${checked} file(s) clean")
