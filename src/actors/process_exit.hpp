// Turns how an external process ended into a TaskExit, taking into account
// what the supervisor had asked of it (a cooperative stop, or a kill).
//
//   TaskExit exit = classify_process_exit(ProcessExit{pid, true, SIGSEGV},
//                                         {.stop_requested = false}, now_ms);
//   // exit.kind == TaskExit::Panicked, exit.reason == "killed by signal SIGSEGV (...)"
#pragma once

#include <cstdint>

#include "process/process_reactor.hpp"
#include "sup/task_exit.hpp"

namespace sup::actors {

struct StopRequests {
  bool stop_requested = false;  // SIGTERM was sent
  bool kill_requested = false;  // SIGKILL was sent
};

TaskExit classify_process_exit(const process::ProcessExit& exit, StopRequests requests,
                               std::int64_t at_unix_ms);

}  // namespace sup::actors
