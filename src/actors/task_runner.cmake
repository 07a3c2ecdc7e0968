# sup_task_runner: runs incarnations of in-process children for the control
# loop (reactive tasks as CAF actors, blocking tasks on threads of their own)
# and builds the drills of SPEC §3. Included by this folder's CMakeLists.txt.
add_library(sup_task_runner STATIC
  ${CMAKE_CURRENT_LIST_DIR}/task_runner.cpp
  ${CMAKE_CURRENT_LIST_DIR}/drills.cpp)
target_link_libraries(sup_task_runner
  PUBLIC sup_common caf::core
  PRIVATE fmt::fmt sup_project_options)

sup_add_test(task_runner_test
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/task_runner_test.cpp LIBS sup_task_runner)
sup_add_test(drills_test
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/drills_test.cpp LIBS sup_task_runner)
