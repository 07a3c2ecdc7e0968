// In-process tasks built into the daemon, which its config can name with
// `"kind": "task", "task": "<name>"`.
//
//   sup::TaskRegistry tasks;
//   sup::daemon::register_builtin_tasks(tasks);  // "heartbeat"
#pragma once

#include "sup/task.hpp"

namespace sup::daemon {

// "heartbeat": ready at once, heartbeats every second until cancelled. The
// demo's liveness example, and a canary: when it goes stale, the worker
// pool is starved.
void register_builtin_tasks(TaskRegistry& tasks);

// Names of the built-in tasks, for error messages: "heartbeat".
const char* builtin_task_names();

}  // namespace sup::daemon
