#include "actors/process_exit.hpp"

#include <doctest/doctest.h>

#include <csignal>

using namespace sup;
using sup::actors::classify_process_exit;
using sup::process::ProcessExit;

TEST_CASE("process exits map to TaskExit kinds with the reason kept") {
  auto completed = classify_process_exit({1, false, 0}, {}, 7);
  CHECK(completed.kind == TaskExit::Completed);
  CHECK(completed.at_unix_ms == 7);
  auto failed = classify_process_exit({1, false, 3}, {}, 0);
  CHECK(failed.kind == TaskExit::Failed);
  CHECK(failed.reason == "exit status 3");
  auto crashed = classify_process_exit({1, true, SIGSEGV}, {}, 0);
  CHECK(crashed.kind == TaskExit::Panicked);
  CHECK(crashed.reason.find("SIGSEGV") != std::string::npos);
}

TEST_CASE("exits the supervisor asked for are Cancelled or Killed") {
  auto stopped = classify_process_exit({1, true, SIGTERM}, {.stop_requested = true}, 0);
  CHECK(stopped.kind == TaskExit::Cancelled);
  CHECK(stopped.reason.find("SIGTERM") != std::string::npos);
  auto stopped_nonzero = classify_process_exit({1, false, 143}, {.stop_requested = true}, 0);
  CHECK(stopped_nonzero.kind == TaskExit::Cancelled);
  auto killed = classify_process_exit({1, true, SIGKILL}, {true, true}, 0);
  CHECK(killed.kind == TaskExit::Killed);
  auto foreign_kill = classify_process_exit({1, true, SIGKILL}, {}, 0);
  CHECK(foreign_kill.kind == TaskExit::Panicked);
}
