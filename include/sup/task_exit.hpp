// How a child's incarnation ended.
//
// Every exit is recorded as one of six kinds with the reason kept verbatim
// (an exception's `what()`, a process's exit status or signal):
//
//   sup::TaskExit exit{sup::TaskExit::Failed, "exit status 3", now_ms};
//   log(to_string(exit.kind));  // "TaskExit::Failed"
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sup {

struct TaskExit {
  enum Kind : std::uint8_t {
    Completed,  // finished on its own, successfully
    Failed,     // finished with an error (reason says which)
    Panicked,   // threw an exception or crashed (reason keeps the message)
    Cancelled,  // stopped cooperatively on request
    TimedOut,   // exceeded a deadline (e.g. did not become ready in time)
    Killed,     // forcibly terminated (ignored cancellation, or a kill drill)
  };

  Kind kind = Completed;
  std::string reason;
  std::int64_t at_unix_ms = 0;

  // A failure in the restart sense: permanent *and* transient children are
  // restarted after one. Completed and Cancelled are normal exits.
  bool abnormal() const { return kind != Completed && kind != Cancelled; }
};

// "TaskExit::Failed" etc.: the spelling used in logs, journald and JSON.
std::string_view to_string(TaskExit::Kind kind);
std::optional<TaskExit::Kind> task_exit_kind_from_string(std::string_view text);

}  // namespace sup
