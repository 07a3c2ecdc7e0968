# Warnings and sanitizers for the project's own targets, through one
# interface target every target links (third-party headers stay -isystem).
add_library(sup_project_options INTERFACE)
target_compile_options(sup_project_options INTERFACE -Wall -Wextra -Werror)
# GCC 12 at -O3 reports std::string's own inlined memcpy as overlapping
# (GCC bug 105329, fixed in 13): a false positive in libstdc++, not ours.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(sup_project_options INTERFACE -Wno-restrict)
endif()
if(SUP_SANITIZE)
  target_compile_options(sup_project_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(sup_project_options INTERFACE -fsanitize=address,undefined)
endif()

# sup_add_unit_test(NAME SOURCES... LIBS ...): a doctest executable registered with ctest.
function(sup_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE sup_project_options sup_doctest_main ${ARG_LIBS})
  add_test(NAME ${name} COMMAND ${name})
  # tests/doctest_main.cpp exits 77 when a case was skipped by its decorator
  # and none failed: ctest shows the test skipped, never passed.
  set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77)
  if(ARG_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
endfunction()
